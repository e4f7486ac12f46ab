# mk/align_formats.mk — the real readers tests/align_formats.sh checks the
# alignment exports with: Praat (TextGrid), NIST sctk (ctmValidator, sclite:
# CTM), webvtt-py and python3-srt (subtitles).
DEB_PKGS += praat sctk python3-webvtt python3-srt

# `make bench-align-file`: `align file` against `align run` on one long
# recording with an mms-300m-shaped random model (bench/bench_align_file.sh;
# appends to bench/RESULTS.md).  BENCH_ALIGN_FILE_MIN sets the minutes of
# audio (default 10), BENCH_ALIGN_FILE_PRESET the model shape.
BENCH_ALIGN_FILE_MIN ?= 10
BENCH_ALIGN_FILE_PRESET ?= mms-300m
.PHONY: bench-align-file
bench-align-file: $(BINDIR)/align $(BINDIR)/prep $(BINDIR)/mkmodel $(BINDIR)/db
	BINDIR=$(BINDIR) sh bench/bench_align_file.sh $(BENCH_ALIGN_FILE_MIN) $(BENCH_ALIGN_FILE_PRESET)

# `make bench-align-run`: `align run` end to end over 96 clips of 5 s (mms-300m
# shape, fp32/bf16/int8): the share of the wall time that is not emissions
# (bench/bench_align_run.sh, appended to bench/RESULTS.md).
.PHONY: bench-align-run
bench-align-run: $(BINDIR)/align $(BINDIR)/prep $(BINDIR)/mkmodel $(BINDIR)/db
	BINDIR=$(BINDIR) sh bench/bench_align_run.sh
