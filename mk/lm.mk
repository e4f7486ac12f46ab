# mk/lm.mk — decoding benchmark of the lm/eval part (not part of `make test`).
# `make bench-decode` builds $(BINDIR)/bench_decode and appends its Markdown
# section to bench/RESULTS.md.
.PHONY: bench-decode

bench-decode: $(BINDIR)/bench_decode
	OMP_NUM_THREADS=1 $(BINDIR)/bench_decode | tee -a bench/RESULTS.md
