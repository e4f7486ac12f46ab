# train: the training benchmark (bench/, not part of `make test`).
# `make bench-train` builds $(BINDIR)/bench_train and runs the mms-300m adapter step
# in fp32 and in bf16 (bf16 operands, fp32 accumulation), side by side.
.PHONY: bench-train
$(BINDIR)/bench_train: bench/bench_train.c $(LIB) | $(BINDIR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/bench_train.c $(LIB) $(LDLIBS)

bench-train: $(BINDIR)/bench_train
	$(BINDIR)/bench_train --preset mms-300m --batch 4 --seconds 5 --steps 3 --gflop-per-step 1370 --precision fp32
	$(BINDIR)/bench_train --preset mms-300m --batch 4 --seconds 5 --steps 3 --gflop-per-step 1370 --precision bf16
