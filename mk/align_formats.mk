# mk/align_formats.mk — the real readers tests/align_formats.sh checks the
# alignment exports with: Praat (TextGrid), NIST sctk (ctmValidator, sclite:
# CTM), webvtt-py and python3-srt (subtitles).
DEB_PKGS += praat sctk python3-webvtt python3-srt
