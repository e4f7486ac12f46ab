#!/bin/sh
# test_prep_kill.sh — `prep ingest` killed with SIGKILL at several moments
# leaves a consistent manifest (integrity ok, no recording without its
# utterances, no duplicate keys), and the next run completes it with exactly
# one row per file.  Audio is generated with sox (a Debian dependency).
BINDIR=${BINDIR:-bin}
PREP=$BINDIR/prep
. "$(dirname "$0")/check.sh"   # kill_at (its q is redefined below)
check() { # description, then a shell condition
	d=$1; shift
	if eval "$@"; then pass=$((pass + 1)); echo "ok - $d"; else fail=$((fail + 1)); echo "not ok - $d"; fi
}
finish() { echo "# test_prep_kill.sh: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
if ! command -v sox >/dev/null || ! command -v sqlite3 >/dev/null || [ ! -x "$PREP" ]; then
	echo "not ok - needs sox, sqlite3 and $PREP"; fail=1; finish
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/accent-kill-XXXXXX")
trap 'rm -rf "$T"' EXIT
N=0
for s in 1 2 3 4 5; do
	mkdir -p "$T/c/spk$s"
	for u in $(seq 1 40); do
		# distinct content per file (else duplicate_audio), mixed rates
		rate=44100; [ $((u % 3)) -eq 0 ] && rate=22050; [ $((u % 5)) -eq 0 ] && rate=48000
		sox -n -r $rate "$T/c/spk$s/u$u.wav" synth 2 sine $((120 + s * 50 + u * 7)) vol 0.3 || exit 1
		echo "utterance $u of speaker $s" > "$T/c/spk$s/u$u.txt"
		N=$((N + 1))
	done
done
DB=$T/d.db
q() { sqlite3 "$DB" "$1"; }
consistent() {
	[ "$(q 'PRAGMA integrity_check')" = ok ] || return 1
	# killed before the schema's transaction committed: an empty database
	[ "$(q "SELECT count(*) FROM sqlite_master WHERE name = 'utterances'")" = 1 ] || return 0
	[ "$(q 'SELECT count(*) FROM recordings r WHERE NOT EXISTS (SELECT 1 FROM utterances u WHERE u.recording_id = r.id)')" = 0 ] &&
	[ "$(q 'SELECT count(*) - count(DISTINCT utt_key) FROM utterances')" = 0 ] &&
	[ "$(q 'SELECT count(*) - count(DISTINCT sha256) FROM recordings')" = 0 ]
}
killed=0; partial=0
# one kill at a fixed early moment (maybe before the schema exists), then
# kills when the committed utterances reach each target (polling the WAL),
# so they land mid-run however loaded the machine is
for target in early 8 40 90 150 185; do
	kill_at $target utterances "$PREP" ingest --quiet --threads 1 --batch 4 --manifest "$DB" "$T/c"
	[ -f "$DB" ] || continue
	n=$(q 'SELECT count(*) FROM utterances' 2>/dev/null); n=${n:-0}
	check "consistent after kill -9 at $target ($n of $N)" consistent
	[ "$n" -gt 0 ] && [ "$n" -lt $N ] && partial=$((partial + 1))
done
check "at least one run was killed mid-way" '[ $killed -ge 1 ] && [ $partial -ge 1 ]'
check "killed runs have no end time" '[ "$(q "SELECT count(*) FROM runs WHERE ended_at IS NULL")" -ge 1 ]'
"$PREP" ingest --quiet --manifest "$DB" "$T/c" >/dev/null 2>&1
check "resume exits 0" '[ $? -eq 0 ]'
check "resume completes: $N utterances" '[ "$(q "SELECT count(*) FROM utterances")" = $N ]'
check "one recording per file" '[ "$(q "SELECT count(*) FROM recordings")" = $N ]'
check "no rejects" '[ "$(q "SELECT count(*) FROM rejects")" = 0 ]'
check "consistent at the end" consistent
check "every utterance has a split" '[ "$(q "SELECT count(*) FROM utterances WHERE split IS NULL")" = 0 ]'
"$PREP" ingest --quiet --manifest "$DB" "$T/c" >/dev/null 2>&1
check "another run adds nothing" '[ "$(q "SELECT count(*) FROM utterances")" = $N ] && [ "$(q "SELECT counts FROM runs ORDER BY id DESC LIMIT 1" | grep -c "\"utterances_added\":0")" = 1 ]'
finish
