#!/bin/sh
# tests/mpi_ingest.sh — `mpirun -np 2 --oversubscribe prep ingest` against
# one process on synthesized corpora in three layouts (Common Voice with
# mixed formats and rates, a folder, an MMS-style long recording cut at
# pauses), each with broken items (corrupt file, empty transcript, missing
# file, duplicate audio): every table ingest writes (corpora, recordings,
# speakers, utterances with text, durations, weights and splits, rejects,
# long_texts) compared with SQL by natural keys, ids aside; one runs row per
# ingest (rank 0 writes); mpirun killed with -9 mid-run (the ranks, rank 0
# the writer among them, die with it) and the ingest rerun under mpirun:
# the same manifest, nothing duplicated.
# Skipped (counted as passed, with a note) only where mpirun is absent.
# Prints "# mpi_ingest.sh: N passed, N failed".
BINDIR=${BINDIR:-bin}
. "$(dirname "$0")/check.sh"
B=$(cd "$BINDIR" 2>/dev/null && pwd)
PREP=$B/prep SYNTH=$B/synth TEXTS="$(pwd)/data/text"
require_bins mpi_ingest.sh "$PREP" "$SYNTH"
if ! command -v mpirun >/dev/null; then
	echo "ok - skipped: mpirun is absent (make deps installs openmpi-bin)"
	echo "# mpi_ingest.sh: 1 passed, 0 failed"
	exit 0
fi
if ! command -v espeak-ng >/dev/null || ! command -v sqlite3 >/dev/null; then
	echo "not ok - espeak-ng and sqlite3 are needed (make deps)"
	echo "# mpi_ingest.sh: 0 passed, 1 failed"
	exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No leak checks for the ranks under AddressSanitizer: Open MPI's own
# MPI_Init + MPI_Finalize leave allocations behind (see tests/mpi_align.sh).
MPIRUN="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 300 mpirun -np 2 --oversubscribe"
T=$(mktemp -d "${TMPDIR:-/tmp}/accent-mpi-ingest-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

S="$SYNTH --text-dir $TEXTS --jobs 1 -q --with-bad"
expect "synth commonvoice" 0 $S --out cv --layout cv --langs eng --speakers 4 --utts-per-speaker 6 --mix-formats --seed 3
expect "synth folder" 0 $S --out fold --layout folder --langs amh --speakers 2 --utts-per-speaker 4 --seed 4
expect "synth long recording" 0 $SYNTH --text-dir "$TEXTS" --jobs 1 -q --out long --layout mms-long --langs eng \
	--speakers 1 --long 1 --utts-per-long 8 --seed 5

# every row ingest writes, by natural keys (no ids, run ids or times)
rows() {
	sqlite3 "$1" "SELECT root, layout FROM corpora ORDER BY root;
	SELECT c.root, r.path, r.sha256, r.size_bytes, r.mtime, r.container, r.codec, r.sample_rate, r.channels,
	  r.duration_declared, r.duration_s, r.peak, r.rms, r.clip_ratio, r.silence_ratio
	  FROM recordings r JOIN corpora c ON c.id = r.corpus_id ORDER BY 1, 2;
	SELECT c.root, s.label, s.gender, s.age, s.accent, s.lang, s.n_utterances, s.total_duration_s, s.weight
	  FROM speakers s JOIN corpora c ON c.id = s.corpus_id ORDER BY 1, 2;
	SELECT c.root, u.utt_key, r.path, s.label, u.channel, u.start_s, u.end_s, u.text_raw, u.text_norm,
	  u.norm_profile, u.norm_version, u.lang, u.flags, u.split, u.weight, u.status, u.source
	  FROM utterances u JOIN corpora c ON c.id = u.corpus_id JOIN recordings r ON r.id = u.recording_id
	  LEFT JOIN speakers s ON s.id = u.speaker_id ORDER BY 1, 2;
	SELECT c.root, j.source, j.reason, j.message FROM rejects j JOIN corpora c ON c.id = j.corpus_id ORDER BY 1, 2, 3;
	SELECT r.path, l.line_no, l.text_raw, l.text_norm, l.norm_profile, l.norm_version, l.lang, l.flags, l.source
	  FROM long_texts l JOIN recordings r ON r.id = l.recording_id ORDER BY 1, 2;"
}

for c in cv fold long; do
	expect "one process: $c" 0 "$PREP" ingest --manifest one.db --threads 1 --batch 4 --vad-max 6 $c
done
cp "$T/out" one.out
for c in cv fold long; do
	expect "mpirun -np 2: $c" 0 $MPIRUN "$PREP" ingest --manifest two.db --threads 2 --batch 4 --vad-max 6 $c
done
same "one summary (rank 0 prints)" "$(grep -c '^ingest: ' "$T/out")" 1
same "same summary lines" "$(grep -v 'decoded in' "$T/out")" "$(grep -v 'decoded in' one.out)"
same "one runs row per ingest (rank 0 writes)" \
	"$(sqlite3 two.db "SELECT count(*) FROM runs WHERE stage = 'prep ingest' OR command_line LIKE '%ingest%'")" 3
for t in corpora recordings speakers utterances rejects long_texts; do
	n=$(sqlite3 one.db "SELECT count(*) FROM $t")
	same "$t: same count ($n)" "$(sqlite3 two.db "SELECT count(*) FROM $t")" "$n"
done
same "rejects of every kind" "$(sqlite3 two.db "SELECT group_concat(DISTINCT reason) FROM
	(SELECT reason FROM rejects ORDER BY reason)")" "corrupt_audio,duplicate_audio,empty_text,missing_file"
n=$(sqlite3 two.db "SELECT count(*) FROM utterances WHERE status = 'needs_align'")
[ "$n" -gt 1 ] && ok "the long recording is cut into pieces ($n)" || ko "the long recording is cut into pieces ($n)"
n=$(sqlite3 two.db "SELECT count(*) FROM utterances WHERE split IS NOT NULL AND weight IS NOT NULL")
[ "$n" -gt 0 ] && ok "weights and splits computed ($n utterances)" || ko "weights and splits computed"
if [ "$(rows one.db)" = "$(rows two.db)" ]; then ok "same rows as one process"; else
	ko "same rows as one process"; rows one.db > a; rows two.db > b; diff a b | head -10 | sed 's/^/    /'; fi
expect "rerun under mpirun adds nothing" 0 $MPIRUN "$PREP" ingest --manifest two.db --threads 1 --vad-max 6 cv
contains "everything already there" "$T/out" "recordings:  0 added"
if [ "$(rows one.db)" = "$(rows two.db)" ]; then ok "rerun: same rows"; else ko "rerun: same rows"; fi

# kill -9 mpirun mid-run (one item per batch): its ranks lose their
# launcher and die wherever they are, rank 0 maybe inside a transaction;
# then rerun under mpirun
$MPIRUN "$PREP" ingest --manifest "$T/three.db" --threads 1 --batch 1 --vad-max 6 --quiet cv >/dev/null 2>&1 &
tp=$!   # timeout, whose child is mpirun
n=0
while [ "$(sqlite3 three.db "SELECT count(*) FROM recordings" 2>/dev/null || echo 0)" -lt 3 ] && [ $n -lt 600 ]; do
	sleep 0.02; n=$((n + 1))
done
pkill -KILL -P "$tp"
wait $tp; st=$?
n=0
while pgrep -f "$T/three.db" >/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
same "the ranks end with mpirun" "$(pgrep -f "$T/three.db" | wc -l)" 0
got=$(sqlite3 three.db "SELECT count(*) FROM recordings")
if [ $st -ne 0 ]; then ok "killed mpirun ends the job (exit $st, $got recordings stored)"
else ok "finished before the kill (rerun still checked)"; fi
for c in cv fold long; do
	expect "rerun after the kill: $c" 0 $MPIRUN "$PREP" ingest --manifest three.db --threads 1 --batch 4 --vad-max 6 $c
done
if [ "$(rows one.db)" = "$(rows three.db)" ]; then ok "kill + rerun = one process"; else
	ko "kill + rerun = one process"; rows one.db > a; rows three.db > b; diff a b | head -10 | sed 's/^/    /'; fi
same "no duplicate rejects" "$(sqlite3 three.db "SELECT count(*) FROM (SELECT corpus_id, source, reason FROM rejects
	GROUP BY 1, 2, 3 HAVING count(*) > 1)")" 0

expect "prep relabel is refused under mpirun" 2 $MPIRUN "$PREP" relabel --manifest one.db --lang eng
contains "refusal explains" "$T/err" "not under mpirun"

echo "# mpi_ingest.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
