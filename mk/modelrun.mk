# modelrun: the inference benchmark (bench/, not part of `make test`).
# `make bench-infer` builds $(BINDIR)/bench_infer and runs bench/bench_infer.sh.
.PHONY: bench-infer

bench-infer: $(BINDIR)/bench_infer
	BINDIR=$(BINDIR) sh bench/bench_infer.sh

# `make bench-int8-accuracy`: int8 and bf16 emissions against fp32 on the
# shipped base model's test split (CER, word boundaries); needs base-work/
# from `make base-model` (bench/bench_int8_accuracy.sh).
.PHONY: bench-int8-accuracy
bench-int8-accuracy: all
	BINDIR=$(BINDIR) sh bench/bench_int8_accuracy.sh
