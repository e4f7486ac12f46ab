# mk/demo.mk — `make bench-demo`: the `make demo` pipeline (tools/demo.sh)
# with its wall time per step, alignment accuracy and CER/WER appended to
# bench/RESULTS.md.  Uses a fresh directory ($(BUILD)/bench-demo) so every
# step is measured, not skipped.
.PHONY: bench-demo
bench-demo: all
	rm -rf $(BUILD)/bench-demo
	BINDIR=$(BINDIR) DEMO_DIR=$(BUILD)/bench-demo DEMO_BENCH=1 sh tools/demo.sh
