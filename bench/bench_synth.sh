#!/bin/sh
# Synthesis speed of tools/synth: audio seconds generated per wall second,
# for a corpus of H hours (default 0.2) of mixed formats and rates (the
# ingest benchmark's input), and for plain 16 kHz WAV.
#   sh bench/bench_synth.sh [HOURS]        (BINDIR defaults to bin)
set -e
H=${1:-0.2}
BINDIR=${BINDIR:-bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%F)"
ACCENT_NO_PROGRESS=1 "$BINDIR/synth" --out "$T/mixed" --layout kaldi --langs eng,amh --speakers 8 --hours "$H" --mix-formats
ACCENT_NO_PROGRESS=1 "$BINDIR/synth" --out "$T/wav" --layout folder --langs eng,amh --speakers 8 --hours "$H" --format wav
