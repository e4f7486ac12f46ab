#!/bin/sh
# bench_align_run.sh — `align run` end to end over a manifest of 5 s
# utterances with a random-weight model of the mms-300m shape, in fp32, bf16
# and int8: audio s/s of the whole command (model load, audio decode,
# tokens, emissions, Viterbi, SQLite) next to the emissions alone (the
# run's own emit_s), and the share of the wall time that is not emissions.
# Target (issue 18): everything besides emissions <= 5% of the wall time.
#
# usage: bench/bench_align_run.sh [CLIPS] [PRESET]   (defaults 96, mms-300m;
#        run from the repo root)
# needs: $BINDIR/{align,prep,mkmodel}, espeak-ng, sox
# Appends a section to bench/RESULTS.md (not with NO_RECORD=1).  Work files
# in bench/out/align-run/.
set -e
BINDIR=${BINDIR:-bin}
N=${1:-96}
PRESET=${2:-mms-300m}
OUT=bench/out/align-run
C=$OUT/corpus-$N/s1
mkdir -p "$OUT"
# N clips of exactly 5 s: an English sentence of data/text read by espeak-ng,
# sped up when it is longer than 4.6 s, padded with silence to 5 s
if [ ! -f "$C/$N.wav" ]; then
	mkdir -p "$C"
	L=$(wc -l < data/text/eng.txt)
	i=1
	while [ $i -le "$N" ]; do
		line=$(sed -n "$(( (i - 1) % L + 1 ))p" data/text/eng.txt)
		espeak-ng -w "$OUT/raw.wav" "$line"
		d=$(soxi -D "$OUT/raw.wav")
		tempo=$(echo "if ($d > 4.6) $d / 4.6 else 1" | bc -l)
		sox "$OUT/raw.wav" -r 16000 -c 1 "$C/$i.wav" tempo "$tempo" pad 0 5 trim 0 5
		printf '%s\n' "$line" > "$C/$i.txt"
		i=$((i + 1))
	done
	rm -f "$OUT/raw.wav"
fi
DB=$OUT/bench-$N.db
if [ ! -f "$DB" ]; then
	"$BINDIR/prep" ingest --quiet --layout folder --lang eng --no-balance --manifest "$DB" "$OUT/corpus-$N" > /dev/null
fi
M=$OUT/$PRESET
if [ ! -f "$M/config.json" ]; then
	NV=$(BINDIR=$BINDIR sh tools/demo-vocab.sh "$DB" "$OUT/vocab.json" eng)
	"$BINDIR/mkmodel" --preset "$PRESET" --langs eng --vocab-size "$NV" --out "$M" > /dev/null
	cp "$OUT/vocab.json" "$M/vocab.json"
fi
rows=""
for p in fp32 bf16 int8; do
	echo "align run --precision $p over $N clips ..." >&2
	t0=$(date +%s.%N)
	"$BINDIR/align" run --lang eng --model "$M" --manifest "$DB" --precision "$p" --redo --json > "$OUT/$p.json"
	t1=$(date +%s.%N)
	# the process's wall time (the run's own wall_s starts after the model is loaded)
	rows="$rows$(/usr/bin/python3 - "$OUT/$p.json" "$p" "$(echo "$t1 - $t0" | bc -l)" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
p, proc = sys.argv[2], float(sys.argv[3])
a, e, v, w = j["audio_s"], j["emit_s"], j["viterbi_s"], j["wall_s"]
print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.3f | %.1f%% | %.1f%% | %.2f | %.2f |" % (
    p, j["aligned"], a, proc, w, e, v, 100 * (w - e) / w, 100 * (proc - e) / proc, a / proc, a / e))
PY
)
"
done
RES=$(cat <<MD

## align run end to end: emissions vs everything else ($(date -u '+%Y-%m-%d %H:%M UTC'), $PRESET shape)

Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average at the end:
$(cut -d' ' -f1-3 /proc/loadavg). \`bench/bench_align_run.sh $N $PRESET\`: $N clips of 5 s (espeak-ng, English),
random weights (timing only), \`align run --redo --precision P\` over the whole manifest.
"run wall" is the run's own clock (from the first utterance to the last commit); "process" adds
starting up and loading the model. "other" = wall minus emissions: audio decode, tokens, Viterbi,
labels and SQLite.

| precision | aligned | audio s | process s | run wall s | emissions s | Viterbi s | other / run wall | other / process | audio s/s (process) | audio s/s (emissions only) |
|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s' "$rows")

Target: everything besides emissions <= 5% of the wall time.
MD
)
echo "$RES"
[ -n "$NO_RECORD" ] || echo "$RES" >> bench/RESULTS.md
