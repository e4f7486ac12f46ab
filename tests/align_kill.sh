#!/bin/sh
# tests/align_kill.sh — `align run` killed with SIGKILL at several moments
# (issue 19: prep and train had a kill test, align none) leaves a sound
# manifest (integrity_check ok, no alignment without its words), and the
# next run completes it to exactly the rows of an uninterrupted run.  Model:
# the mms-tiny fixture (random weights) with its amh adapter; audio from
# espeak-ng.  Prints "# align_kill.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins ALIGN=align PREP=prep
require_cmds espeak-ng sqlite3
scratch alkill

mkdir -p clips
tiny_mms model amh
i=0
for s in 1 2 3; do
	mkdir -p clips/s$s
	for t in "bad cafe" "a bead faced a cab" "deaf dad fed a bee" "add a face" "cage bag" "a deaf cab" \
		 "fade a bag" "bead face" "a dab of egg" "feed a dog bag"; do
		i=$((i + 1))
		espeak-ng -s $((140 + s * 15)) -w "clips/s$s/u$i.wav" "$t" && echo "$t" > "clips/s$s/u$i.txt"
	done
done
expect "prep ingest" 0 "$PREP" ingest --layout folder --lang amh --manifest data.db clips
N=$(q "SELECT count(*) FROM utterances WHERE status = 'ok'")
cp data.db ref.db
expect "reference align run" 0 "$ALIGN" run --lang amh --model model --manifest ref.db --batch 2
rows() {
	sqlite3 "$1" "SELECT u.utt_key, a.status, a.flags, w.word, printf('%.6f %.6f', w.start_s, w.end_s)
		FROM utterances u JOIN alignments a ON a.utterance_id = u.id
		LEFT JOIN align_words w ON w.utterance_id = u.id ORDER BY u.utt_key, w.start_s, w.word"
}
rows ref.db > ref.rows
same "reference aligned every utterance" "$(sqlite3 ref.db 'SELECT count(*) FROM alignments')" "$N"

sound() {
	[ "$(q 'PRAGMA integrity_check')" = ok ] &&
	[ "$(q "SELECT count(*) FROM alignments a WHERE a.status = 'ok' AND NOT EXISTS (SELECT 1 FROM align_words w WHERE w.utterance_id = a.utterance_id)")" = 0 ]
}
killed=0; partial=0
# kill when the committed alignments reach each target (polling the WAL),
# so the kills land mid-run whatever the machine's speed
for target in 2 9 17 25; do
	kill_at $target alignments "$ALIGN" run --lang amh --model model --manifest data.db --batch 2
	n=$(q 'SELECT count(*) FROM alignments' 2>/dev/null); n=${n:-0}
	if sound; then ok "sound after kill -9 at >= $target aligned ($n of $N)"; else ko "sound after kill -9 at $target"; fi
	[ "$n" -gt 0 ] && [ "$n" -lt "$N" ] && partial=$((partial + 1))
done
if [ $killed -ge 2 ] && [ $partial -ge 2 ]; then ok "a run was killed mid-way ($killed killed, $partial partial)"
else ko "no run was killed mid-way ($killed killed, $partial partial)"; fi
expect "resume exits 0" 0 "$ALIGN" run --lang amh --model model --manifest data.db --batch 2
rows data.db > got.rows
if cmp -s ref.rows got.rows; then ok "resumed rows equal the uninterrupted run's"
else ko "resumed rows differ"; diff ref.rows got.rows | head -5; fi
if sound; then ok "sound at the end"; else ko "sound at the end"; fi

echo "# align_kill.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
