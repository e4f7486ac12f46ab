# mk/align.mk — the align stage's benchmark (not part of `make test`).
# `make bench-align` builds $(BINDIR)/bench_align, writes an mms-300m-shaped
# random checkpoint (bin/mkmodel) under $(BUILD)/bench-align and appends the
# Markdown section to bench/RESULTS.md.  BENCH_ALIGN_EMIT_S sets the seconds
# of audio whose emission time is measured (default 120).
BENCH_ALIGN_EMIT_S ?= 120
.PHONY: bench-align

bench-align: $(BINDIR)/bench_align $(BINDIR)/mkmodel
	test -f $(BUILD)/bench-align/mms-300m/config.json || \
	  $(BINDIR)/mkmodel --preset mms-300m --langs eng --out $(BUILD)/bench-align/mms-300m
	$(BINDIR)/bench_align --model $(BUILD)/bench-align/mms-300m --lang eng \
	  --emit-seconds $(BENCH_ALIGN_EMIT_S) | tee -a bench/RESULTS.md
