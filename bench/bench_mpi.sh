#!/bin/sh
# bench/bench_mpi.sh — scale-out on one machine: 2 MPI ranks x 1 OpenMP
# thread against 1 process x 2 threads, for adapter training (the same
# global batch: --accum 1 per rank against --accum 2, which also checks
# that both end with the same train_state.bin) and for alignment
# emissions (`align run`).  Reports audio seconds per second, the ratio,
# and the communication share of a training step (rank 0's time inside MPI
# calls over its step time, printed by `train` under mpirun; waiting for
# the slower rank counts as communication).  Appends a section to
# bench/RESULTS.md.  Not a test; docs/SCALING.md uses its figures.
#
#   make bench-mpi                                   (mms-300m shape, about 10 min on 2 cores)
#   PRESET=tiny STEPS=4 sh bench/bench_mpi.sh        (a quick check of the script)
#
# Settings: PRESET (mkmodel preset, default mms-300m), STEPS (optimizer
# steps, default 8), BSEC (padded audio seconds per micro-batch, default
# 20), SPEAKERS x UTTS (synthesized corpus, default 4 x 12), ALIGN_LIMIT
# (clips aligned, default 16), RESULTS.
set -u
BINDIR=${BINDIR:-bin}
PRESET=${PRESET:-mms-300m}
STEPS=${STEPS:-8}
BSEC=${BSEC:-20}
SPEAKERS=${SPEAKERS:-4}
UTTS=${UTTS:-12}
ALIGN_LIMIT=${ALIGN_LIMIT:-16}
OUT=${RESULTS:-bench/RESULTS.md}
abs() { echo "$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")"; }
TRAIN=$(abs "$BINDIR/train"); ALIGN=$(abs "$BINDIR/align"); PREP=$(abs "$BINDIR/prep")
SYNTH=$(abs "$BINDIR/synth"); MK=$(abs "$BINDIR/mkmodel")
OUT=$(abs "$OUT")
ROOT=$(pwd)
TEXT_DIR=$ROOT/data/text
BINDIR_ABS=$(cd "$BINDIR" && pwd)
for b in "$TRAIN" "$ALIGN" "$PREP" "$SYNTH" "$MK"; do
	[ -x "$b" ] || { echo "error: $b is not built (make)" >&2; exit 1; }
done
command -v mpirun >/dev/null || { echo "error: mpirun missing (make deps installs openmpi-bin)" >&2; exit 1; }
# Open MPI refuses root unless told (benchmark machines often run as root)
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/accent-bench-mpi-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

echo "== corpus ($SPEAKERS speakers x $UTTS clips, espeak-ng) and a random $PRESET model" >&2
"$SYNTH" --out corpus --layout kaldi --langs eng --speakers "$SPEAKERS" --utts-per-speaker "$UTTS" --seed 7 \
	--text-dir "$TEXT_DIR" --quiet >/dev/null 2>&1 ||
	{ echo "error: synth failed" >&2; exit 1; }
"$PREP" ingest --manifest data.db corpus >/dev/null 2>&1 || { echo "error: prep ingest failed" >&2; exit 1; }
# almost everything trains; 2 dev clips keep the final evaluation short
sqlite3 data.db "UPDATE utterances SET split = 'train'; UPDATE utterances SET split = 'dev'
  WHERE id IN (SELECT id FROM utterances WHERE status = 'ok' ORDER BY id LIMIT 2)"
# the corpus' characters as the vocabulary, so that every clip aligns
V=$(DB_BIN="$BINDIR_ABS/db" sh "$ROOT/tools/demo-vocab.sh" data.db vocab.json eng) || { echo "error: vocabulary" >&2; exit 1; }
"$MK" --out model --preset "$PRESET" --langs eng --vocab-size "$V" --seed 1 >/dev/null || { echo "error: mkmodel failed" >&2; exit 1; }
cp vocab.json model/vocab.json
audio=$(sqlite3 data.db "SELECT printf('%.0f', sum(end_s - start_s)) FROM utterances WHERE status = 'ok'")

T="--manifest data.db --model model --lang eng --steps $STEPS --batch-seconds $BSEC --eval-every 0 --seed 3 --quiet"
rate() { sed -n 's/.*(\([0-9.]*\) audio s\/s.*/\1/p' "$1" | head -1; }
echo "== train: 1 process x 2 threads, --accum 2" >&2
OMP_NUM_THREADS=2 "$TRAIN" $T --out t1 --accum 2 > train1.txt 2>&1; cat train1.txt >&2
echo "== train: mpirun -np 2 x 1 thread, --accum 1 per rank" >&2
OMP_NUM_THREADS=1 mpirun -np 2 --bind-to core -x OMP_NUM_THREADS "$TRAIN" $T --out t2 --accum 1 > train2.txt 2>&1
cat train2.txt >&2
tr1=$(rate train1.txt); tr2=$(rate train2.txt)
comm=$(sed -n 's/.*in MPI calls (\([0-9.]*\)%).*/\1/p' train2.txt | head -1)
if cmp -s -i 144 t1/train_state.bin t2/train_state.bin; then same="identical"; else same="DIFFERENT"; fi

echo "== align run: 1 process x 2 threads, then mpirun -np 2 x 1 thread" >&2
cp data.db a1.db; cp data.db a2.db
OMP_NUM_THREADS=2 "$ALIGN" run --lang eng --model model --manifest a1.db --limit "$ALIGN_LIMIT" > align1.txt 2>&1; cat align1.txt >&2
OMP_NUM_THREADS=1 mpirun -np 2 --bind-to core -x OMP_NUM_THREADS "$ALIGN" run --lang eng --model model \
	--manifest a2.db --limit "$ALIGN_LIMIT" > align2.txt 2>&1
cat align2.txt >&2
ar1=$(rate align1.txt); ar2=$(rate align2.txt)
q() { sqlite3 "$1" "SELECT u.utt_key, a.status, a.frames, a.mean_logp, a.chars FROM alignments a
  JOIN utterances u ON u.id = a.utterance_id ORDER BY 1"; }
if [ "$(q a1.db)" = "$(q a2.db)" ]; then asame="identical"; else asame="DIFFERENT"; fi

echo "== the reduction alone (bench_dist, 2 ranks)" >&2
if [ -x "$BINDIR_ABS/bench_dist" ]; then
	OMP_NUM_THREADS=1 mpirun -np 2 --bind-to core "$BINDIR_ABS/bench_dist" 7 > dist.txt 2>&1 || : > dist.txt
else
	: > dist.txt
fi
cat dist.txt >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
{
	echo
	echo "## bench_mpi.sh — $(date -u +%Y-%m-%d\ %H:%M) UTC, $PRESET shape, $(nproc) CPUs ($cpu), $(mpirun --version | head -1)"
	echo
	echo "Corpus: $SPEAKERS x $UTTS espeak-ng clips, ${audio} s. Training: $STEPS adapter steps, $BSEC s micro-batches,"
	echo "global batch 2 micro-batches (1 process --accum 2 = 2 ranks --accum 1; weights after the run: $same)."
	echo "Alignment: the first $ALIGN_LIMIT clips (rows of the two runs: $asame)."
	echo
	echo "| work | 1 rank x 2 threads (audio s/s) | 2 ranks x 1 thread (audio s/s) | ratio | communication share |"
	echo "|---|---|---|---|---|"
	echo "| adapter training | ${tr1:-n/a} | ${tr2:-n/a} | $(ratio "$tr2" "$tr1") | ${comm:-n/a}% of rank 0's step time in MPI calls |"
	echo "| align run (emissions + Viterbi) | ${ar1:-n/a} | ${ar2:-n/a} | $(ratio "$ar2" "$ar1") | |"
	if [ -s dist.txt ]; then
		echo
		echo "The step's reduction alone (\`mpirun -np 2 bench_dist\`: floats, bytes, median s, 2 x bytes / s in GB/s):"
		echo
		echo '```'
		cat dist.txt
		echo '```'
	fi
} >> "$OUT"
tail -n 20 "$OUT"
