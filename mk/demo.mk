# mk/demo.mk — `make bench-demo` (and `make bench-thesis`, below): the `make demo` pipeline (tools/demo.sh)
# with its wall time per step, alignment accuracy and CER/WER appended to
# bench/RESULTS.md.  Uses a fresh directory ($(BUILD)/bench-demo) so every
# step is measured, not skipped.
.PHONY: bench-demo
bench-demo: all
	rm -rf $(BUILD)/bench-demo
	BINDIR=$(BINDIR) DEMO_DIR=$(BUILD)/bench-demo DEMO_BENCH=1 sh tools/demo.sh

# `make bench-thesis`: the thesis table (tools/demo.sh step 7) for amh and tam
# at 300 s of training per run on a larger corpus (tools/thesis.sh; ~45 min on
# 2 cores), appended to bench/RESULTS.md.  A re-run resumes in the same
# directory; rm -rf $(BUILD)/bench-thesis for a fresh measurement.
.PHONY: bench-thesis
bench-thesis: all
	BINDIR=$(BINDIR) THESIS_DIR=$(BUILD)/bench-thesis sh tools/thesis.sh
