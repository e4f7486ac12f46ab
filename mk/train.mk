# train: the training benchmark (bench/, not part of `make test`).
# `make bench-train` builds $(BINDIR)/bench_train and runs bench/bench_train.sh:
# the mms-300m adapter step in fp32 and bf16 next to the PyTorch reference,
# appended to bench/RESULTS.md.
.PHONY: bench-train

bench-train: $(BINDIR)/bench_train $(BINDIR)/bench_infer
	BINDIR=$(BINDIR) sh bench/bench_train.sh

# `make bench-train-small`: small-model training (the demo's and the base
# model's shapes), share of the matmul peak, PyTorch at the demo's shape and
# a per-op profile (bench/bench_train_small.sh), appended to bench/RESULTS.md.
.PHONY: bench-train-small
bench-train-small: bench-deps $(BINDIR)/bench_train $(BINDIR)/bench_infer $(BINDIR)/mkmodel
	BINDIR=$(BINDIR) sh bench/bench_train_small.sh

# `make bench-profile`: per-op profile of the mms-300m adapter step, accent
# (oneDNN verbose + perf) next to PyTorch (torch.profiler), fp32 and bf16
# (bench/profile_train.py), appended to bench/RESULTS.md.
.PHONY: bench-profile
bench-profile: bench-deps $(BINDIR)/bench_train
	BINDIR=$(BINDIR) /usr/bin/python3 bench/profile_train.py

# `make bench-mem-1b`: training memory at the mms-1b shape with 20 s batches,
# with and without --recompute, next to PyTorch (bench/bench_mem_1b.sh).
.PHONY: bench-mem-1b
bench-mem-1b: bench-deps $(BINDIR)/bench_train
	BINDIR=$(BINDIR) sh bench/bench_mem_1b.sh
