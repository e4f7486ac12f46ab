#!/bin/sh
# tests/mpi_train.sh — data-parallel training under `mpirun -np 2
# --oversubscribe` (lib/base/dist.c, lib/train/trainer_dist.c) against one process:
# 2 ranks x --accum k reach the same weights and Adam moments, bit for bit,
# as one process with --accum 2k (train_state.bin compared after its
# header), for the adapters and for top:1 with dropout and LayerDrop; the
# same train/dev metrics; one train_runs row and one runs row written (rank
# 0 only); a rank killed with -9 stops the job and --resume under mpirun
# continues to the uninterrupted result; an error on the ranks ends the job
# (no hang); `train lm`, `prep relabel` and `db` are refused under mpirun.
# Prints "# mpi_train.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins TRAIN=train PREP=prep MK=mkmodel
require_cmds mpirun espeak-ng sqlite3
mpi_setup
scratch mpi-train

"$MK" --out model --preset tiny --seed 3 >/dev/null 2>&1
tst_corpus 12

# small buckets (3 s): several micro-batches per step, 3 dev buckets
COMMON="--manifest data.db --model model --lang tst --lr 3e-3 --batch-seconds 3 --seed 5 --quiet"
HDR=144   # train_state.bin header: step counters, run id; weights and moments follow
metrics() { q "SELECT step, split, loss, cer, wer, skipped FROM train_metrics WHERE train_run_id = $1 ORDER BY step, split"; }

expect "one process, --accum 2" 0 "$TRAIN" $COMMON --out one --steps 6 --eval-every 3 --accum 2
run1=$(q "SELECT max(id) FROM train_runs")
expect "mpirun -np 2, --accum 1" 0 $MPIRUN "$TRAIN" $COMMON --out two --steps 6 --eval-every 3 --accum 1
run2=$(q "SELECT max(id) FROM train_runs")
contains "rank 0 reports the communication share" "$T/out" "2 ranks; rank 0 spent"
same "one summary (rank 0 prints)" "$(grep -c '^train: .* steps' "$T/out")" 1
if cmp -s -i $HDR one/train_state.bin two/train_state.bin; then ok "2 ranks x accum 1 = 1 process x accum 2, bit for bit"
else ko "2 ranks x accum 1 = 1 process x accum 2, bit for bit"; fi
same "one train_runs row for the mpirun run" "$((run2 - run1))" 1
same "train and dev metrics equal" "$(metrics $run2)" "$(metrics $run1)"
same "8 metric rows (6 train + 2 dev), written once" "$(q "SELECT count(*) FROM train_metrics WHERE train_run_id = $run2")" 8
same "one runs row per invocation" "$(q "SELECT count(*) FROM runs WHERE stage = 'train'")" 2
for f in adapter.tst.safetensors vocab.json config.json model.safetensors; do
	if cmp -s "one/$f" "two/$f"; then ok "same $f"; else ko "same $f"; fi
done

# k = 2 per rank, trained top layer (base gradient block), dropout + LayerDrop
REG="--freeze top:1 --dropout 0.1 --layerdrop 0.3"
expect "one process, --accum 4, top:1 + dropout" 0 "$TRAIN" $COMMON $REG --out one4 --steps 4 --eval-every 2 --accum 4
expect "mpirun -np 2, --accum 2, top:1 + dropout" 0 $MPIRUN "$TRAIN" $COMMON $REG --out two4 --steps 4 --eval-every 2 --accum 2
if cmp -s -i $HDR one4/train_state.bin two4/train_state.bin; then ok "2 ranks x accum 2 = 1 process x accum 4 (top:1, dropout)"
else ko "2 ranks x accum 2 = 1 process x accum 4 (top:1, dropout)"; fi
# the comparison can fail: the per-rank accumulation is not a global one
if cmp -s -i $HDR one/train_state.bin one4/train_state.bin; then ko "different runs differ"; else ok "different runs differ"; fi

# a rank killed with -9: mpirun stops the job; --resume under mpirun continues
expect "uninterrupted reference, one process" 0 "$TRAIN" $COMMON --out ref --steps 16 --eval-every 0 --save-every 1 --accum 2
$MPIRUN "$TRAIN" $COMMON --out killed --steps 16 --eval-every 0 --save-every 1 --accum 1 >/dev/null 2>&1 &
mp=$!
n=0
while [ ! -s killed/train_state.bin ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
# the rank-1 process: a descendant of this mpirun (timeout -> mpirun ->
# ranks) whose environment says OMPI_COMM_WORLD_RANK=1
desc() { for c in $(pgrep -P "$1"); do echo "$c"; desc "$c"; done; }
victim=""
for p in $(desc $mp); do
	tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
if [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null; then
	wait $mp; st=$?
	[ $st -ne 0 ] && ok "killing rank 1 ends the job (exit $st)" || ko "killing rank 1 ends the job (exit 0)"
else
	wait $mp
	ko "rank 1 found and killed mid-run"
fi
steps=$(q "SELECT steps_done FROM train_runs ORDER BY id DESC LIMIT 1")
[ "$steps" -lt 16 ] && ok "killed before the end (step $steps)" || ko "killed before the end (step $steps)"
expect "mpirun --resume after the kill" 0 $MPIRUN "$TRAIN" $COMMON --out killed --steps 16 --eval-every 0 --save-every 1 --accum 1 --resume
if cmp -s -i $HDR ref/train_state.bin killed/train_state.bin; then ok "kill -9 of a rank + resume = uninterrupted"
else ko "kill -9 of a rank + resume = uninterrupted"; fi

# errors end the whole job instead of leaving ranks waiting
expect_fail "missing model under mpirun fails" $MPIRUN "$TRAIN" $COMMON --model nomodel --out bad --steps 2
contains "the error is reported" "$T/err" "nomodel"
[ ! -e bad/train_state.bin ] && ok "nothing written on error" || ko "nothing written on error"
expect "train lm is refused under mpirun" 2 $MPIRUN "$TRAIN" lm --manifest data.db --lang tst --out lm.arpa
contains "lm refusal explains" "$T/err" "not under mpirun"

# prep relabel and db are one-process tools: refused rather than run twice on one manifest
expect "prep relabel is refused under mpirun" 2 $MPIRUN "$PREP" relabel --manifest data.db --lang tst
contains "prep refusal explains" "$T/err" "not under mpirun"
expect "db is refused under mpirun" 2 $MPIRUN "$(dirname "$TRAIN")/db" --manifest data.db stats
same "the refused runs wrote nothing" "$(q "SELECT count(*) FROM runs WHERE stage LIKE 'prep%' OR stage = 'relabel'")" 1

echo "# mpi_train.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
