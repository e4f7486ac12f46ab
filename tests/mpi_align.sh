#!/bin/sh
# tests/mpi_align.sh — `mpirun -np 2 --oversubscribe align run` against one
# process on copies of the same manifest (mms-tiny fixture, espeak-ng
# clips + one MMS-style long recording): the same alignments, word timings,
# segments and new utterances, compared with SQL by utterance key; one runs
# row (rank 0 writes); a rank killed with -9 mid-run ends the job, and a
# rerun under mpirun completes it to the same rows, nothing duplicated.
# Prints "# mpi_align.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins ALIGN=align PREP=prep
require_cmds mpirun espeak-ng sqlite3
mpi_setup
scratch mpi-align

tiny_mms model amh
mkdir -p clips/s1 clips/s2 clips/s3 long
i=0
for t in "bad cafe" "a bead faced a cab" "deaf dad fed a bee" "add a face" "cage bag" "a bag" \
         "fade a cab" "dead bee" "faced a cage" "a bad bed" "a big zebra" "bead face"; do
	for s in 1 2 3; do
		i=$((i + 1))
		espeak-ng -s $((140 + 20 * s)) -w "clips/s$s/u$i.wav" "$t" && echo "$t" > "clips/s$s/u$i.txt"
	done
done
printf 'a bad cafe\nfaced a bead cab\ndeaf dad fed a bee\nadd a face\n' > long/talk.txt
espeak-ng -w long/talk.wav "a bad cafe. faced a bead cab. deaf dad fed a bee. add a face."
expect "prep ingest clips" 0 "$PREP" ingest --layout folder --lang amh --manifest data.db --no-balance clips
expect "prep ingest long recording" 0 "$PREP" ingest --layout longform --lang amh --manifest data.db --no-balance long
cp data.db one.db; cp data.db two.db; cp data.db three.db

# one fixed precision: `--precision auto` measures the CPU in every process
# (and rank), and under load two runs can choose differently (int8/bf16)

# everything align writes, by utterance key (run ids and times aside)
rows() {
	sqlite3 "$1" "SELECT u.utt_key, a.lang, a.model_id, a.align_hash, a.status, a.frames, a.tokens, a.mean_logp,
	  a.min_window_logp, a.chars_per_s, a.lead_s, a.trail_s, a.oov, a.flags, a.message, a.chars
	  FROM alignments a JOIN utterances u ON u.id = a.utterance_id ORDER BY u.utt_key;
	SELECT u.utt_key, w.idx, w.word, w.start_s, w.end_s, w.mean_logp, w.score
	  FROM align_words w JOIN utterances u ON u.id = w.utterance_id ORDER BY 1, 2;
	SELECT utt_key, status, start_s, end_s, text_norm FROM utterances ORDER BY utt_key;
	SELECT count(*) FROM align_segments;"
}

expect "one process" 0 "$ALIGN" run --lang amh --model model --precision fp32 --manifest one.db --batch 4
expect "mpirun -np 2" 0 $MPIRUN "$ALIGN" run --lang amh --model model --precision fp32 --manifest two.db --batch 4
contains "rank 0 prints the summary" "$T/out" "38 utterances, 0 already current, 38 aligned"
same "one summary" "$(grep -c '^align amh:' "$T/out")" 1
n1=$(sqlite3 one.db "SELECT count(*) FROM alignments")
[ "$n1" -eq 38 ] && ok "every clip aligned ($n1 rows)" || ko "every clip aligned ($n1 rows)"
if [ "$(rows one.db)" = "$(rows two.db)" ]; then ok "same rows as one process"; else ko "same rows as one process"; fi
same "one runs row (rank 0)" "$(sqlite3 two.db "SELECT count(*) FROM runs WHERE stage = 'align'")" 1
expect "rerun under mpirun: all current" 0 $MPIRUN "$ALIGN" run --lang amh --model model --precision fp32 --manifest two.db
contains "nothing realigned" "$T/out" "38 already current, 0 aligned"

# kill rank 1 mid-run (batches of 1), then rerun
$MPIRUN "$ALIGN" run --lang amh --model model --precision fp32 --manifest three.db --batch 1 --quiet >/dev/null 2>&1 &
mp=$!
n=0
while [ "$(sqlite3 three.db "SELECT count(*) FROM alignments" 2>/dev/null || echo 0)" -lt 2 ] && [ $n -lt 600 ]; do
	sleep 0.05; n=$((n + 1))
done
desc() { for c in $(pgrep -P "$1"); do echo "$c"; desc "$c"; done; }
victim=""
for p in $(desc $mp); do
	tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
wait $mp; st=$?
got=$(sqlite3 three.db "SELECT count(*) FROM alignments")
if [ $st -ne 0 ]; then ok "killed rank 1 ends the job (exit $st, $got of $n1 stored)"; else ok "finished before the kill (rerun still checked)"; fi
expect "rerun after the kill" 0 $MPIRUN "$ALIGN" run --lang amh --model model --precision fp32 --manifest three.db --batch 4
if [ "$(rows one.db)" = "$(rows three.db)" ]; then ok "kill + rerun = one process"; else ko "kill + rerun = one process"; fi
same "no duplicate words" "$(sqlite3 three.db "SELECT count(*) FROM (SELECT utterance_id, idx FROM align_words GROUP BY 1, 2 HAVING count(*) > 1)")" 0

expect "align export is refused under mpirun" 2 $MPIRUN "$ALIGN" export --manifest one.db --format ctm --out ex
contains "refusal explains" "$T/err" "not under mpirun"

echo "# mpi_align.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
