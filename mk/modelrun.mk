# modelrun: the inference benchmark (bench/, not part of `make test`).
# `make bench-infer` builds $(BINDIR)/bench_infer and runs bench/bench_infer.sh.
.PHONY: bench-infer
$(BINDIR)/bench_infer: bench/bench_infer.c $(LIB) | $(BINDIR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/bench_infer.c $(LIB) $(LDLIBS)

bench-infer: $(BINDIR)/bench_infer
	BINDIR=$(BINDIR) sh bench/bench_infer.sh
