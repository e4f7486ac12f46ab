#!/bin/sh
# bench_align_file.sh — `align file` on one long recording (default 10
# minutes) with a random-weight model of the mms-300m shape: wall time and
# peak RSS (/usr/bin/time -v), next to the same audio and transcript through
# `align run` (a folder corpus holding that one clip, ingested first; the
# ingest is not timed).  Target: align file no slower than align run.
#
# usage: bench/bench_align_file.sh [MINUTES] [PRESET]   (defaults 10, mms-300m;
#        run from the repo root)
# needs: $BINDIR/{align,prep,mkmodel}, espeak-ng, sox, /usr/bin/time
# Appends a section to bench/RESULTS.md (not with NO_RECORD=1).  Work files in
# bench/out/align-file/.
set -e
BINDIR=${BINDIR:-bin}
MIN=${1:-10}
PRESET=${2:-mms-300m}
OUT=bench/out/align-file
mkdir -p "$OUT"
# a long recording: English sentences of data/text read by espeak-ng, joined
C=$OUT/corpus-$MIN/s1
if [ ! -f "$C/long.wav" ]; then
	mkdir -p "$C" "$OUT/parts"
	: > "$C/long.txt"
	i=0
	total=0
	while [ "$(echo "$total < $MIN * 60" | bc)" = 1 ]; do
		i=$((i + 1))
		line=$(sed -n "$(( (i - 1) % $(wc -l < data/text/eng.txt) + 1 ))p" data/text/eng.txt)
		espeak-ng -w "$OUT/parts/$i.wav" "$line"
		printf '%s\n' "$line" >> "$C/long.txt"
		total=$(echo "$total + $(soxi -D "$OUT/parts/$i.wav")" | bc -l)
	done
	sox $(ls "$OUT"/parts/*.wav | sort -t/ -k4 -n) -r 16000 -c 1 "$C/long.wav"
	rm -rf "$OUT/parts"
fi
DUR=$(soxi -D "$C/long.wav")
# the clip in a manifest for align run (ingest not timed); its characters
# make the model's vocabulary (tools/demo-vocab.sh)
rm -f "$OUT/bench.db" "$OUT/bench.db-wal" "$OUT/bench.db-shm"
"$BINDIR/prep" ingest --quiet --layout folder --lang eng --max-dur 100000 --no-balance --manifest "$OUT/bench.db" \
	"$OUT/corpus-$MIN" > /dev/null
M=$OUT/$PRESET-$MIN
if [ ! -f "$M/config.json" ]; then
	NV=$(BINDIR=$BINDIR sh tools/demo-vocab.sh "$OUT/bench.db" "$OUT/vocab.json" eng)
	"$BINDIR/mkmodel" --preset "$PRESET" --langs eng --vocab-size "$NV" --out "$M" > /dev/null
	cp "$OUT/vocab.json" "$M/vocab.json"
fi

echo "align file: $DUR s of audio ..."
/usr/bin/time -v "$BINDIR/align" file "$C/long.wav" "$C/long.txt" --model "$M" --lang eng --format ctm \
	--out "$OUT/file.ctm" --quiet 2> "$OUT/time-file.txt"
echo "align run on the same clip ..."
/usr/bin/time -v "$BINDIR/align" run --lang eng --model "$M" --manifest "$OUT/bench.db" --star-edges --quiet \
	2> "$OUT/time-run.txt"
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
WF=$(wall "$OUT/time-file.txt"); WR=$(wall "$OUT/time-run.txt")
RF=$(rss "$OUT/time-file.txt"); RR=$(rss "$OUT/time-run.txt")
WORDS=$(wc -l < "$OUT/file.ctm")
RES=$(cat <<MD

## align file vs align run ($(date -u +%Y-%m-%d), $PRESET shape, $(nproc) CPUs)

\`bench/bench_align_file.sh $MIN $PRESET\`: one recording of $(printf '%.0f' "$DUR") s (espeak-ng, English),
$WORDS words; random weights (timing only). \`align run\` aligns the same file ingested as one clip
(\`--star-edges\`, as \`align file\` does beyond 30 s); ingest not timed.

| command | wall (s) | peak RSS (MiB) | audio s per wall s |
|---|---|---|---|
| align file | $WF | $RF | $(echo "$DUR / $WF" | bc -l | xargs printf '%.2f') |
| align run | $WR | $RR | $(echo "$DUR / $WR" | bc -l | xargs printf '%.2f') |

align file / align run wall time: $(echo "$WF / $WR" | bc -l | xargs printf '%.2f') (target <= 1).
MD
)
echo "$RES"
[ -n "$NO_RECORD" ] || echo "$RES" >> bench/RESULTS.md
