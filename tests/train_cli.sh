#!/bin/sh
# tests/train_cli.sh — `train` (adapter training) end to end through the
# binaries: a random tiny model (mkmodel), a corpus of espeak-ng clips
# ingested with prep, splits set in SQL; --help/--version, usage errors, a
# short run with metrics in the manifest and an HF checkpoint, --stop-after
# + --resume, a resume with other options refused, and a real kill -9 in the
# middle of a run followed by --resume reaching the same weights and Adam
# moments as an uninterrupted run (train_state.bin compared after its header).
# Prints "# train_cli.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins TRAIN=train PREP=prep MK=mkmodel
require_cmds espeak-ng sqlite3
scratch train

expect "train --help" 0 "$TRAIN" --help
expect "train run --help" 0 "$TRAIN" run --help
contains "help lists --freeze" "$T/out" "--freeze"
expect "train run --version" 0 "$TRAIN" run --version
expect "missing --out is a usage error" 2 "$TRAIN" run --model m --lang tst
expect "bad --freeze is a usage error" 2 "$TRAIN" run --model m --lang tst --out o --freeze some
expect "--freeze top:K needs a whole K" 2 "$TRAIN" run --model m --lang tst --out o --freeze top:3x
expect "a non-finite --lr is a usage error" 2 "$TRAIN" run --model m --lang tst --out o --lr nan

"$MK" --out model --preset tiny --seed 3 >/dev/null 2>&1
tst_corpus 10

COMMON="--manifest data.db --model model --lang tst --lr 3e-3 --batch-seconds 6 --seed 5 --quiet"
expect "train 6 steps" 0 "$TRAIN" $COMMON --out out1 --steps 6 --eval-every 3
contains "summary" "$T/out" "best dev CER"
for f in adapter.tst.safetensors vocab.json config.json model.safetensors train_state.bin; do
	[ -s "out1/$f" ] && ok "writes $f" || ko "writes $f"
done
contains "vocab has the language" out1/vocab.json '"tst"'
same "train_runs row done" "$(q "SELECT status, steps_done FROM train_runs ORDER BY id DESC LIMIT 1")" "done|6"
same "metrics: 6 train + 2 dev rows" "$(q "SELECT count(*), sum(split = 'dev') FROM train_metrics WHERE train_run_id = (SELECT max(id) FROM train_runs)")" "8|2"
same "runs row for the invocation" "$(q "SELECT count(*) FROM runs WHERE stage = 'train' AND exit_code = 0")" 1

expect "stop after 3" 0 "$TRAIN" $COMMON --out out2 --steps 6 --eval-every 3 --stop-after 3
same "stopped status" "$(q "SELECT status, steps_done FROM train_runs ORDER BY id DESC LIMIT 1")" "stopped|3"
expect "resume" 0 "$TRAIN" $COMMON --out out2 --steps 6 --eval-every 3 --resume
same "resumed run finished" "$(q "SELECT status, steps_done FROM train_runs ORDER BY id DESC LIMIT 1")" "done|6"
HDR=144
if cmp -s -i $HDR out1/train_state.bin out2/train_state.bin; then ok "stop + resume = uninterrupted"; else ko "stop + resume = uninterrupted"; fi
expect "resume with another lr is refused" 2 "$TRAIN" $COMMON --out out2 --steps 6 --eval-every 3 --resume --lr 1e-2
contains "refusal explains" "$T/err" "other options"

# --time-budget: the run ends at the step that crosses the budget, finished
# like a run of that many steps (status done, last step evaluated), and the
# schedule warmed up to the peak and decayed to near 0 over the steps that fit
expect "time budget 4 s" 0 "$TRAIN" $COMMON --out budget --steps 1000000 --eval-every 0 --time-budget 4
same "budget run done" "$(q "SELECT status FROM train_runs ORDER BY id DESC LIMIT 1")" "done"
BUD=$(q "SELECT steps_done > 2 AND steps_done < 1000000 FROM train_runs ORDER BY id DESC LIMIT 1")
same "budget stops between 3 steps and --steps" "$BUD" 1
same "budget's last step evaluated" "$(q "SELECT count(*) FROM train_metrics WHERE split = 'dev' AND train_run_id = (SELECT max(id) FROM train_runs)")" 1
# the schedule is planned over the steps that fit, so it warms up and then
# decays: the last step's lr is below the run's peak (how many steps fit
# depends on the machine's load; this holds for any number >= 3)
LRS=$(q "SELECT max(lr) > 0, (SELECT lr FROM train_metrics WHERE split = 'train' AND train_run_id = m.train_run_id ORDER BY step DESC LIMIT 1) < max(lr) FROM train_metrics AS m WHERE split = 'train' AND train_run_id = (SELECT max(id) FROM train_runs)")
same "budget schedule: warmed up, decaying at the end" "$LRS" "1|1"
expect "a negative --time-budget is refused" 2 "$TRAIN" $COMMON --out budget2 --time-budget -1

# regularization (dropout, LayerDrop, feature masks): stop + resume stays exact
REG="--dropout 0.1 --attention-dropout 0.1 --activation-dropout 0.1 --final-dropout 0.1 --layerdrop 0.3 --mask-feature-prob 0.3 --mask-feature-length 4"
expect "regularized train" 0 "$TRAIN" $COMMON $REG --out reg1 --steps 6 --eval-every 3
expect "regularized stop after 3" 0 "$TRAIN" $COMMON $REG --out reg2 --steps 6 --eval-every 3 --stop-after 3
expect "regularized resume" 0 "$TRAIN" $COMMON $REG --out reg2 --steps 6 --eval-every 3 --resume
if cmp -s -i $HDR reg1/train_state.bin reg2/train_state.bin; then ok "regularized stop + resume = uninterrupted"; else ko "regularized stop + resume = uninterrupted"; fi
if cmp -s -i $HDR out1/train_state.bin reg1/train_state.bin; then ko "regularization changes training"; else ok "regularization changes training"; fi
expect "bad --layerdrop is a usage error" 2 "$TRAIN" run --model m --lang tst --out o --layerdrop 1.5
expect "time masking without masked_spec_embed is refused" 2 "$TRAIN" $COMMON --out reg3 --steps 2 --mask-time-prob 0.1
contains "masked_spec_embed refusal explains" "$T/err" "masked_spec_embed"

# a real kill -9 in the middle of a run, then --resume
expect "uninterrupted 24 steps" 0 "$TRAIN" $COMMON --out ref --steps 24 --eval-every 0 --save-every 1
"$TRAIN" $COMMON --out killed --steps 24 --eval-every 0 --save-every 1 >/dev/null 2>&1 &
pid=$!
n=0
while [ ! -s killed/train_state.bin ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.3
kill -9 $pid 2>/dev/null && killed=1 || killed=0
wait $pid 2>/dev/null
[ $killed = 1 ] && ok "run killed mid-way" || ok "run finished before the kill (resume still checked)"
expect "resume after kill -9" 0 "$TRAIN" $COMMON --out killed --steps 24 --eval-every 0 --save-every 1 --resume
if cmp -s -i $HDR ref/train_state.bin killed/train_state.bin; then ok "kill -9 + resume = uninterrupted"; else ko "kill -9 + resume = uninterrupted"; fi
# issue 19 #14: a run killed and started again without --resume (its row
# left 'running', as the kill leaves it) is marked interrupted
q "UPDATE train_runs SET status = 'running' WHERE id = (SELECT min(id) FROM train_runs WHERE out_dir = 'out1')"
expect "fresh run into a killed run's directory" 0 "$TRAIN" $COMMON --out out1 --steps 1 --eval-every 0
same "the killed run is marked interrupted" \
	"$(q "SELECT status FROM train_runs WHERE id = (SELECT min(id) FROM train_runs WHERE out_dir = 'out1')")" interrupted
same "no train_runs row left running" "$(q "SELECT count(*) FROM train_runs WHERE status = 'running'")" 0
echo "# train_cli.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
