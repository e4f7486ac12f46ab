# mk/golden.mk — regenerate the Hugging Face golden fixtures (not part of
# `make test`, which only reads them from tests/data/hf-wav2vec2).
#
# `make golden` needs transformers, torch, torchaudio and safetensors for
# python3 (pip; Debian packages only torch).  It writes every case into a
# fresh $(GOLDEN_OUT), copies them over tests/data/hf-wav2vec2 and re-derives
# the float64-CTC reference (tools/fixtures/derive_ctc64.py).  Review the
# diff with `git status` before committing.
#
# `make golden-eps` needs only Debian's python3-torch: it derives the
# layer_norm_eps != 1e-5 variants ({mms,base}-tiny-eps) from torch's own
# modules after checking the derivation against transformers' fixtures
# (tools/fixtures/derive_eps_variant.py).
GOLDEN_OUT ?= $(BUILD)/golden
PYTHON     ?= /usr/bin/python3
.PHONY: golden golden-eps
golden:
	@$(PYTHON) -c 'import transformers, torch, torchaudio, safetensors' 2>/dev/null || { \
	  echo "error: make golden needs transformers, torch, torchaudio and safetensors for $(PYTHON)" >&2; \
	  echo "hint: pip install transformers torch torchaudio safetensors (in a virtualenv), or PYTHON=/path/to/venv/bin/python" >&2; \
	  exit 2; }
	GOLDEN_OUT=$(GOLDEN_OUT) $(PYTHON) tools/fixtures/gen_fixtures.py
	cp -r $(GOLDEN_OUT)/. tests/data/hf-wav2vec2/
	$(PYTHON) tools/fixtures/derive_ctc64.py

golden-eps:
	$(PYTHON) tools/fixtures/derive_eps_variant.py
