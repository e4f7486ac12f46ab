# mk/manifest.mk — extra rules of the manifest/db part (included by the Makefile).

# The tests built on the synthetic manifest fixture rebuild when it changes.
$(BUILD)/tests/test_manifest $(BUILD)/tests/test_balance $(BUILD)/tests/test_export \
$(BUILD)/tests/test_dbtools: tests/manifest_fixture.h

# Benchmark: 1,000,000-utterance manifest, per-speaker hours view timing;
# appends to bench/RESULTS.md.
.PHONY: bench-manifest
bench-manifest: $(BINDIR)/db
	BINDIR=$(BINDIR) sh bench/bench_manifest.sh
