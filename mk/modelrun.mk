# modelrun: the inference benchmark (bench/, not part of `make test`).
# `make bench-infer` builds $(BINDIR)/bench_infer and runs bench/bench_infer.sh.
.PHONY: bench-infer

bench-infer: $(BINDIR)/bench_infer
	BINDIR=$(BINDIR) sh bench/bench_infer.sh
