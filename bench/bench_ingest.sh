#!/bin/sh
# bench_ingest.sh — `prep ingest` throughput (audio hours per wall minute)
# on a generated corpus of mixed formats and sample rates, next to the bare
# decode + resample-to-16 kHz cost of the same files with sox (run with as
# many parallel sox processes as CPUs, in the same run), plus the ingest's
# peak memory (/usr/bin/time -v).  Target: ingest >= 0.8x the sox rate.
#
# usage: bench/bench_ingest.sh [HOURS]      (default 2; run from the repo root)
# needs: $BINDIR/prep, $BINDIR/synth (espeak-ng corpora), sox, /usr/bin/time
# Appends a section to bench/RESULTS.md (not with NO_RECORD=1).  Work files in bench/out/ingest/.
set -e
BINDIR=${BINDIR:-bin}
HOURS=${1:-2}
OUT=bench/out/ingest
NPROC=$(nproc)
mkdir -p "$OUT"
C=$OUT/corpus-$HOURS
if [ ! -d "$C" ]; then
	echo "generating a ${HOURS} h corpus (synth --mix-formats) ..."
	"$BINDIR/synth" --out "$C.tmp" --layout folder --mix-formats --hours "$HOURS" --text-dir data/text -q
	# sox has no Opus decoder: leave Opus out so both sides read the same files
	find "$C.tmp" -name '*.opus' | while read -r f; do rm -f "$f" "${f%.opus}.txt"; done
	mv "$C.tmp" "$C"
fi
find "$C" -type f \( -name '*.wav' -o -name '*.flac' -o -name '*.mp3' -o -name '*.ogg' \) | LC_ALL=C sort > "$OUT/files"
NFILES=$(wc -l < "$OUT/files")
FORMATS=$(sed 's/.*\.//' "$OUT/files" | sort | uniq -c | awk '{printf "%s%s %s", (NR>1?", ":""), $1, $2}')

# page cache warm for both sides
cat $(cat "$OUT/files") > /dev/null

echo "sox: decode + resample to 16 kHz mono, $NPROC parallel processes ..."
t0=$(date +%s.%N)
xargs -P "$NPROC" -I{} sox {} -c 1 -r 16000 -t f32 /dev/null < "$OUT/files"
t1=$(date +%s.%N)
SOX_S=$(echo "$t1 - $t0" | bc -l)

echo "prep ingest ..."
rm -f "$OUT/bench.db" "$OUT/bench.db-wal" "$OUT/bench.db-shm"
/usr/bin/time -v "$BINDIR/prep" ingest --quiet --manifest "$OUT/bench.db" "$C" 2> "$OUT/time.txt"
ING_S=$(grep 'Elapsed (wall clock)' "$OUT/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
RSS_KB=$(grep 'Maximum resident set size' "$OUT/time.txt" | awk '{print $NF}')
AUDIO_H=$(sqlite3 "$OUT/bench.db" "SELECT sum(duration_s) / 3600.0 FROM recordings")
NUTT=$(sqlite3 "$OUT/bench.db" "SELECT count(*) FROM utterances")
NREJ=$(sqlite3 "$OUT/bench.db" "SELECT count(*) FROM rejects")

SOX_RATE=$(echo "$AUDIO_H / ($SOX_S / 60)" | bc -l)
ING_RATE=$(echo "$AUDIO_H / ($ING_S / 60)" | bc -l)
RATIO=$(echo "$ING_RATE / $SOX_RATE" | bc -l)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
printf 'files %s (%s), audio %.3f h, %s utterances, %s rejects\n' "$NFILES" "$FORMATS" "$AUDIO_H" "$NUTT" "$NREJ"
printf 'sox         %7.1f s  %6.2f h/min\n' "$SOX_S" "$SOX_RATE"
printf 'prep ingest %7.1f s  %6.2f h/min  (%.2fx sox), peak RSS %.1f MiB\n' "$ING_S" "$ING_RATE" "$RATIO" "$(echo "$RSS_KB / 1024" | bc -l)"

[ -n "$NO_RECORD" ] && exit 0   # trial runs: do not append to RESULTS.md
{
	echo
	echo "## prep ingest throughput (bench/bench_ingest.sh) — $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Machine: $CPU, $NPROC CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo). Corpus: synth --mix-formats, $NFILES files ($FORMATS; 16/22.05/44.1/48 kHz, mono and stereo, 16/24-bit), $(printf '%.3f' "$AUDIO_H") h (Opus files removed: sox has no Opus decoder)."
	echo
	echo "| what | wall s | audio h / wall min | vs sox | peak RSS |"
	echo "|---|---|---|---|---|"
	printf '| sox decode + resample to 16 kHz (%s parallel) | %.1f | %.2f | 1.00x | - |\n' "$NPROC" "$SOX_S" "$SOX_RATE"
	printf '| prep ingest (hash, decode, resample, stats, VAD frames, textnorm, SQLite, balance) | %.1f | %.2f | %.2fx | %.1f MiB |\n' "$ING_S" "$ING_RATE" "$RATIO" "$(echo "$RSS_KB / 1024" | bc -l)"
	echo
	echo "Target: ingest >= 0.8x sox. $NUTT utterances, $NREJ rejects."
} >> bench/RESULTS.md
