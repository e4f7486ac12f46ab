#!/bin/sh
# tests/train_opts.sh — `train run --init-from LANG` and `--sampling
# weighted-loss` end to end through the binaries, on a tiny random model
# (mkmodel --langs src) and a tiny espeak-ng corpus (synth, prep ingest):
#   --init-from: the adapter a run starts from is the source language's.
#     train refuses --lr 0 and --steps 0, so the run takes one step at
#     --lr 1e-300: every update is below float resolution and the saved
#     adapter_layer tensors equal adapter.src's (weights bit for bit; zero
#     biases may come back as -0.0 from the rounded update, so values are
#     compared with the sign of zero ignored).  Without --init-from they
#     differ (fresh adapter), and a missing source language is an error.
#   --precision bf16: trains; warns with the measured bf16/fp32 rate and a
#     hint when bf16 would be slower on this CPU (fp32 runs never do).
#   --sampling: uniform and weighted-loss draw buckets by count, balanced by
#     the manifest weights (one utterance weighted 20x), so weighted-loss
#     draws exactly uniform's utterances (train_metrics.audio_s per step),
#     balanced draws the heavy one more often; weighted-loss scales the
#     loss by the weight (step 1: same parameters, loss ratio = the drawn
#     utterance's weight); train_runs.sampling and runs.command_line record
#     the mode.
# Prints "# train_opts.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins TRAIN=train PREP=prep MK=mkmodel SYNTH=synth
require_cmds sqlite3
scratch trainopts

# ---- safetensors: header JSON (read with SQLite's JSON functions) and tensor bytes ----
st_hlen() { od -An -t u8 -N8 "$1" | tr -d ' '; }
st_sql() {   # st_sql FILE SQL: SQL over the header's entries (key, value) as table h
	n=$(st_hlen "$1"); head -c $((8 + n)) "$1" | tail -c "$n" >"$T/hdr.json"
	sqlite3 -separator ' ' :memory: "WITH h AS (SELECT key, value FROM json_each(CAST(readfile('$T/hdr.json') AS TEXT))
		WHERE key != '__metadata__') $2"
}
# tensor names matching a GLOB pattern
st_names() { st_sql "$1" "SELECT key FROM h WHERE key GLOB '$2' ORDER BY key"; }
# dtype, shape, begin and end offset of a tensor
st_info() { st_sql "$1" "SELECT json_extract(value, '\$.dtype'), json_extract(value, '\$.shape'),
	json_extract(value, '\$.data_offsets[0]'), json_extract(value, '\$.data_offsets[1]') FROM h WHERE key = '$2'"; }
# st_hex FILE NAME: dtype, shape, then the tensor's 32-bit words in hex, one
# per line, with -0.0 written as 0.0
st_hex() {
	set -- "$1" $(st_info "$1" "$2")
	echo "$2 $3"
	[ -n "$5" ] || return 0
	od -An -v -t x4 -w4 -j $((8 + $(st_hlen "$1") + $4)) -N $(($5 - $4)) "$1" | tr -d ' ' | sed 's/^80000000$/00000000/'
}
# st_same_bits A B NAME: same dtype, shape and bytes
st_same_bits() {
	set -- "$1" "$2" $(st_info "$1" "$3") $(st_info "$2" "$3")
	[ -n "$6" ] && [ -n "${10}" ] && [ "$3 $4" = "$7 $8" ] && [ $(($6 - $5)) -eq $((${10} - $9)) ] &&
		cmp -s -i $((8 + $(st_hlen "$1") + $5)):$((8 + $(st_hlen "$2") + $9)) -n $(($6 - $5)) "$1" "$2"
}

# ---- data: a model with an adapter for 'src', 8 utterances ----
"$MK" --out model --preset tiny --seed 3 --langs src >/dev/null 2>&1
[ -s model/adapter.src.safetensors ] && ok "mkmodel writes adapter.src" || ko "mkmodel writes adapter.src"
expect "synth corpus" 0 "$SYNTH" --out corpus --layout folder --langs eng --speakers 2 --utts-per-speaker 4 \
	--seed 4 --jobs 1 --quiet --text-dir "$ROOT/data/text"
expect "prep ingest" 0 "$PREP" ingest --layout folder --lang eng --manifest data.db --no-balance corpus
same "8 utterances" "$(q "SELECT count(*) FROM utterances WHERE status = 'ok'")" 8
# 6 train / 2 dev; one heavy train utterance (the longest), distinct weights
HEAVY=$(q "SELECT id FROM utterances WHERE id % 4 != 0 ORDER BY duration_s DESC LIMIT 1")
q "UPDATE utterances SET split = CASE WHEN id % 4 = 0 THEN 'dev' ELSE 'train' END,
   weight = CASE WHEN id = $HEAVY THEN 20.0 ELSE 1.0 + id / 8.0 END"
# every train utterance is told apart by its duration (audio_s of a one-utterance bucket)
same "train durations distinct" "$(q "SELECT count(*) FROM utterances a JOIN utterances b ON a.id < b.id
	WHERE a.split = 'train' AND b.split = 'train' AND abs(a.duration_s - b.duration_s) < 0.002")" 0

# --batch-seconds 1: every bucket holds one utterance
COMMON="--manifest data.db --model model --lang tst --data-lang eng --batch-seconds 1 --seed 5 --quiet"

# ---- --init-from ----
expect "train --init-from src" 0 "$TRAIN" run $COMMON --out init --init-from src --lr 1e-300 --steps 1 --eval-every 1
expect "train without --init-from" 0 "$TRAIN" run $COMMON --out fresh --lr 1e-300 --steps 1 --eval-every 1
if grep -q "bf16" "$T/err"; then ko "an fp32 run says nothing about bf16"; else ok "an fp32 run says nothing about bf16"; fi
# --precision bf16 measures the CPU first (w2v_precision_bf16_pays_off): where bf16
# would be slower it warns with the measured ratio and a hint, and trains.
expect "train --precision bf16" 0 "$TRAIN" run $COMMON --out bf16 --lr 1e-300 --steps 1 --eval-every 1 --precision bf16
if grep -q "^warning: " "$T/err"; then
	if grep -Eq "^warning: (bf16 dot products run at [0-9]+\.[0-9]+x the fp32 FMA rate|this CPU has no (AVX-512|AVX512_BF16))" "$T/err" &&
	   grep -q "^hint: --precision fp32 trains faster here" "$T/err"; then
		ok "bf16 slowdown warning: measured ratio and hint"
	else
		ko "bf16 slowdown warning: measured ratio and hint"; sed 's/^/    /' "$T/err" | head -5
	fi
else
	ok "no bf16 warning (bf16 pays off on this CPU)"
fi
SRC=model/adapter.src.safetensors
n=0; bits=0; vals=0; fresh=0
for k in $(st_names $SRC '*.adapter_layer.*'); do
	n=$((n + 1))
	st_same_bits $SRC init/adapter.tst.safetensors "$k" && bits=$((bits + 1))
	[ "$(st_hex $SRC "$k")" = "$(st_hex init/adapter.tst.safetensors "$k")" ] && vals=$((vals + 1))
done
# (norms start at 1 / 0 and biases at 0 in any initialization: compare the linear weights)
nl=0
for k in $(st_names $SRC '*.adapter_layer.linear*weight'); do
	nl=$((nl + 1))
	[ "$(st_hex $SRC "$k")" = "$(st_hex fresh/adapter.tst.safetensors "$k")" ] && fresh=$((fresh + 1))
done
[ "$n" -ge 4 ] && ok "source adapter has adapter_layer tensors ($n)" || ko "source adapter has adapter_layer tensors ($n)"
same "--init-from: every adapter_layer tensor starts as the source's" $vals $n
nw=$(st_names $SRC '*.adapter_layer.*weight' | wc -l)
bw=0
for k in $(st_names $SRC '*.adapter_layer.*weight'); do
	st_same_bits $SRC init/adapter.tst.safetensors "$k" && bw=$((bw + 1))
done
same "--init-from: adapter weights bit for bit" $bw $nw
[ "$nl" -ge 2 ] && [ "$fresh" -eq 0 ] && ok "without --init-from: a fresh adapter (0 of $nl linear weights equal)" ||
	ko "without --init-from: a fresh adapter ($fresh of $nl linear weights equal)"
same "init run recorded" "$(q "SELECT status, steps_done FROM train_runs WHERE out_dir LIKE '%init'")" "done|1"
expect_fail "--init-from a missing language fails" "$TRAIN" run $COMMON --out nope --init-from nope --lr 1e-3 --steps 1
contains "missing source named" "$T/err" "adapter.nope.safetensors"
same "failed run's exit code in runs" "$(q "SELECT exit_code != 0 FROM runs WHERE command_line LIKE '%--init-from nope%'")" 1
[ ! -e nope/adapter.tst.safetensors ] && ok "no checkpoint after the failure" || ko "no checkpoint after the failure"

# ---- sampling ----
SAMP="$COMMON --lr 1e-3 --steps 6 --eval-every 0"
for s in uniform weighted-loss balanced; do
	expect "train --sampling $s" 0 "$TRAIN" run $SAMP --out "s_$s" --sampling $s
done
rid() { q "SELECT id FROM train_runs WHERE out_dir LIKE '%s_$1'"; }
U=$(rid uniform); W=$(rid weighted-loss); BAL=$(rid balanced)
same "train_runs.sampling records each mode" "$(q "SELECT sampling FROM train_runs WHERE id IN ($U, $W, $BAL) ORDER BY id" | tr '\n' ' ')" \
	"uniform weighted-loss balanced "
q "SELECT command_line FROM runs WHERE stage = 'train' AND exit_code = 0" >"$T/cmds"
contains "runs.command_line has the mode" "$T/cmds" "--sampling weighted-loss"
draws() { q "SELECT group_concat(printf('%.4f', audio_s), ' ') FROM (SELECT audio_s FROM train_metrics WHERE train_run_id = $1 AND split = 'train' ORDER BY step)"; }
same "6 train steps each" "$(q "SELECT count(*) FROM train_metrics WHERE train_run_id IN ($U, $W, $BAL) AND split = 'train'")" 18
same "weighted-loss draws the same utterances as uniform" "$(draws $W)" "$(draws $U)"
heavy() { q "SELECT count(*) FROM train_metrics WHERE train_run_id = $1 AND split = 'train'
	AND abs(audio_s - (SELECT duration_s FROM utterances WHERE id = $HEAVY)) < 0.001"; }
hb=$(heavy $BAL); hw=$(heavy $W)
[ "$hb" -gt "$hw" ] && [ "$hb" -ge 3 ] && ok "balanced draws the heavy utterance more often ($hb vs $hw of 6)" ||
	ko "balanced draws the heavy utterance more often ($hb vs $hw of 6)"
[ "$(draws $BAL)" != "$(draws $W)" ] && ok "balanced and weighted-loss draws differ" || ko "balanced and weighted-loss draws differ"
# step 1 starts from the same parameters in both runs: the loss ratio is the weight
step1=$(q "SELECT printf('%.5f %.5f', w.loss / u.loss, x.weight), abs(w.loss / u.loss - x.weight) < 1e-4 * x.weight
	FROM train_metrics u JOIN train_metrics w ON w.step = u.step AND w.split = u.split
	JOIN utterances x ON x.split = 'train' AND abs(x.duration_s - u.audio_s) < 0.001
	WHERE u.train_run_id = $U AND w.train_run_id = $W AND u.step = 1 AND u.split = 'train'")
same "weighted-loss scales step 1's loss by the utterance's weight (ratio, weight: ${step1%|*})" "${step1#*|}" 1
echo "# train_opts.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
