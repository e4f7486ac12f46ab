# mk/ci.mk — the checks .ci/run adds to the README's `make test` (which
# stays the one test command):
#   make werror       every binary and test compiled with -Werror, in
#                     $(BUILD) (run it before `make test` on a clean tree:
#                     `make test` then reuses those objects)
#   make asan-quick   AddressSanitizer + UBSan over the fastest tests that
#                     exercise the parsers (corpus layouts, ARPA, vocab,
#                     text), the manifest and the align core, plus
#                     tests/db_cli.sh through the db binary; about 3 minutes
#                     on 2 cores, in build-asan/ (the objects `make asan`
#                     uses too)
ASAN_QUICK_C  := test_err test_fsutil test_cliopt test_corpus test_arpa test_vocab test_textnorm \
                 test_manifest test_ctc test_align_label test_align_stage
ASAN_QUICK_SH := tests/db_cli.sh
.PHONY: werror asan-quick

werror:
	@$(MAKE) --no-print-directory -j2 EXTRA_CFLAGS=-Werror all-tests

asan-quick:
	@$(MAKE) --no-print-directory -j2 $(ASAN_VARS) build-asan/bin/db $(ASAN_QUICK_C:%=build-asan/tests/%)
	@SH_TESTS="$(ASAN_QUICK_SH)" BUILD=build-asan BINDIR=build-asan/bin sh tests/run.sh $(ASAN_QUICK_C:%=build-asan/tests/%)
