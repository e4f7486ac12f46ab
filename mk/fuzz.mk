# mk/fuzz.mk — libFuzzer harnesses of the readers of untrusted files (issue
# 19): ARPA models, Common Voice TSV / LJSpeech CSV, Kaldi data directories,
# NeMo JSONL, config.json / vocab.json (flat and MMS-nested), safetensors
# checkpoints, and the audio decode path through audio_read_span.  Not part
# of `make test`.
#   make fuzz [FUZZ_SECONDS=60]   every harness for a while
#   make fuzz-NAME                one of them (NAME: $(FUZZ_TARGETS))
#   make fuzz-smoke               each of them for 30 s, two at a time (what
#                                 .ci/run does: about 2.5 minutes on 2 cores)
# The library sources they need are compiled once with clang
# -fsanitize=fuzzer-no-link,address,undefined into $(BUILD)/fuzz/libfuzz.a.
# Each run keeps its growing corpus in $(BUILD)/fuzz/corpus-NAME (seeds:
# tests/fuzz/seeds/NAME), crashes in $(BUILD)/fuzz/, and a log whose last
# line ("Done N runs in S second(s)") gives the execution count.
# clang + its runtimes (libFuzzer) for `make fuzz`; .ci/run smoke-runs them.
DEB_PKGS += clang libclang-rt-14-dev
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60

FUZZ_TARGETS := arpa corpus_tsv corpus_kaldi corpus_nemo modelcfg safetensors audio
FUZZ_SEEDS_arpa := arpa
FUZZ_SEEDS_corpus_tsv := tsv
FUZZ_SEEDS_corpus_kaldi := kaldi
FUZZ_SEEDS_corpus_nemo := nemo
FUZZ_SEEDS_modelcfg := modelcfg
FUZZ_SEEDS_safetensors := safetensors
FUZZ_SEEDS_audio := audio
FUZZ_LIB_SRC := lib/base/err.c lib/base/fsutil.c lib/base/tsv.c $(wildcard lib/prep/corpus*.c) lib/decode/arpa.c \
                lib/model/vocab.c lib/model/w2v_config.c lib/model/safetensors.c lib/audio/audio.c
FUZZ_PKGS := jansson libcrypto sndfile soxr
FUZZ_LIB_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -std=gnu11 \
                  -Ilib $(shell pkg-config --cflags $(FUZZ_PKGS))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:lib/%.c=$(BUILD)/fuzz/lib/%.o)

.PHONY: fuzz fuzz-smoke fuzz-available $(FUZZ_TARGETS:%=fuzz-%)
fuzz: $(FUZZ_TARGETS:%=fuzz-%)

$(BUILD)/fuzz/lib/%.o: lib/%.c $(wildcard lib/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_LIB_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/libfuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_corpus.h $(BUILD)/fuzz/libfuzz.a
	$(FUZZ_CC) $(FUZZ_LIB_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzz.a \
	  $(shell pkg-config --libs $(FUZZ_PKGS)) -lm

# fuzz-NAME: run one harness for FUZZ_SECONDS; fails on a crash or a leak.
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(BUILD)/fuzz/fuzz_%
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $(BUILD)/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	  -artifact_prefix=$(BUILD)/fuzz/$*- -print_final_stats=1 \
	  $(BUILD)/fuzz/corpus-$* tests/fuzz/seeds/$(FUZZ_SEEDS_$*) > $(BUILD)/fuzz/$*.log 2>&1 \
	  || { tail -40 $(BUILD)/fuzz/$*.log; exit 1; }
	@echo "fuzz-$*: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' $(BUILD)/fuzz/$*.log)"

fuzz-smoke:
	@$(MAKE) --no-print-directory -j2 FUZZ_SECONDS=30 fuzz

# 1 when $(FUZZ_CC) links a libFuzzer harness (used by .ci/run).
fuzz-available:
	@mkdir -p $(BUILD); printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }\n' > $(BUILD)/fuzz-probe.c 2>/dev/null \
	  && $(FUZZ_CC) -fsanitize=fuzzer -o $(BUILD)/fuzz-probe $(BUILD)/fuzz-probe.c 2>/dev/null && echo 1 || echo 0; \
	  rm -f $(BUILD)/fuzz-probe $(BUILD)/fuzz-probe.c
