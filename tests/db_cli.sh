#!/bin/sh
# tests/db_cli.sh — the `db` binary end to end: --help/--version of every
# command, usage errors (exit 2), a manifest populated through `db query`,
# split/weights/export/stats, and `db check` failing (exit 3) after a corpus
# file is modified or removed.  Prints "# db_cli.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins DB=db
scratch dbcli

expect "db --help" 0 "$DB" --help
contains "db --help lists commands" "$T/out" "export"
expect "db --version" 0 "$DB" --version
contains "db --version prints it" "$T/out" "db "
expect "db without a command" 2 "$DB"
expect "db unknown command" 2 "$DB" frobnicate
for c in stats check query split weights export; do
	expect "db $c --help" 0 "$DB" "$c" --help
	contains "db $c --help usage" "$T/out" "usage: db $c"
	expect "db $c --version" 0 "$DB" "$c" --version
done
expect "missing manifest fails" 4 "$DB" stats
contains "missing manifest says so" "$T/err" "does not exist"
contains "missing manifest gives a hint" "$T/err" "hint:"

# A manifest: an empty file becomes one on first open.
: > data.db
mkdir -p corpus/a corpus/b
i=0
for f in a/1 a/2 a/3 b/1 b/2 b/3; do
	head -c $((300 + i)) /dev/urandom > "corpus/$f.wav"; i=$((i + 7))
done
sql="INSERT INTO corpora(id, root, layout) VALUES (1, '$T/corpus', 'folder');"
sql="$sql INSERT INTO speakers(id, corpus_id, label, gender, lang) VALUES (1, 1, 'a', 'female', 'eng'), (2, 1, 'b', 'male', 'eng'), (3, 1, 'c', NULL, 'eng');"
n=0
for f in a/1 a/2 a/3 b/1 b/2 b/3; do
	n=$((n + 1))
	sha=$(sha256sum "corpus/$f.wav" | cut -d' ' -f1)
	size=$(stat -c %s "corpus/$f.wav")
	mt=$(stat -c %.9Y "corpus/$f.wav")
	spk=1; case $f in b/*) spk=2;; esac
	[ $n = 6 ] && spk=3
	sql="$sql INSERT INTO recordings(id, corpus_id, path, sha256, size_bytes, mtime, sample_rate, channels, duration_s) VALUES ($n, 1, '$f.wav', '$sha', $size, $mt, 16000, 1, 3.0);"
	sql="$sql INSERT INTO utterances(corpus_id, utt_key, recording_id, speaker_id, start_s, end_s, text_raw, text_norm, lang) VALUES (1, 'u$n', $n, $spk, 0, $n * 0.4, 'Text $n, \"q\"', 'text $n', 'eng');"
done
expect "db query refuses writes" 2 "$DB" query "$sql"
expect "db query --write inserts" 0 "$DB" query --write "$sql"
expect "db query csv" 0 "$DB" query --format csv "SELECT count(*) AS n FROM utterances"
printf 'n\n6\n' > "$T/want"
if cmp -s "$T/out" "$T/want"; then ok "db query csv output"; else ko "db query csv output"; cat "$T/out"; fi
expect "db query json" 0 "$DB" query --format json "SELECT utt_key, end_s FROM utterances WHERE id = 1"
contains "db query json output" "$T/out" '"utt_key":"u1","end_s":0.4'
expect "db query table" 0 "$DB" query "SELECT label FROM speakers ORDER BY id"
contains "db query table rows" "$T/out" "(3 rows)"
expect "db query bad SQL" 4 "$DB" query "SELECT nope"
expect "db query bad format" 2 "$DB" query --format xml "SELECT 1"
expect "db query two arguments" 2 "$DB" query "SELECT 1" "SELECT 2"

expect "db split" 0 "$DB" split --seed 3 --train 1 --dev 1 --test 1
"$DB" query --format csv "SELECT utt_key, split FROM utterances ORDER BY id" > "$T/s1"
expect "db split again" 0 "$DB" split --seed 3 --train 1 --dev 1 --test 1
"$DB" query --format csv "SELECT utt_key, split FROM utterances ORDER BY id" > "$T/s2"
if cmp -s "$T/s1" "$T/s2"; then ok "db split is deterministic"; else ko "db split is deterministic"; fi
expect "db split one speaker per split" 0 "$DB" query --format csv "SELECT count(DISTINCT split) FROM utterances"
contains "db split three splits" "$T/out" "3"
expect "db split bad proportion" 2 "$DB" split --train x

expect "db weights" 0 "$DB" weights --alpha 0
contains "db weights summary" "$T/out" "weighted 6 utterances of 3 speakers"
expect "db weights mean 1" 0 "$DB" query --format csv "SELECT round(avg(weight), 9) AS m FROM utterances"
contains "db weights mean is 1" "$T/out" "1.0"
expect "db weights bad alpha" 2 "$DB" weights --alpha 2
expect "db weights impossible cap" 2 "$DB" weights --cap 0.1

expect "db stats" 0 "$DB" stats
contains "db stats totals" "$T/out" "== Totals =="
expect "db stats json" 0 "$DB" stats --format json --speakers -1
contains "db stats json object" "$T/out" '"totals": ['

mkdir -p elsewhere
expect "--manifest after the command" 0 sh -c "cd elsewhere && '$DB' stats --manifest ../data.db"
expect "--manifest= before the command" 0 sh -c "cd elsewhere && '$DB' --manifest=../data.db query 'SELECT 1'"

expect "db export kaldi" 0 "$DB" export --format kaldi --out exp
for f in wav.scp segments text utt2spk spk2utt; do
	if [ -s "exp/train/$f" ]; then ok "kaldi train/$f"; else ko "kaldi train/$f"; fi
done
contains "kaldi wav.scp absolute" exp/train/wav.scp " $T/corpus/"
expect "db export nemo" 0 "$DB" export --format nemo --out exp --split test
contains "nemo manifest" exp/test_manifest.json '"audio_filepath":"'"$T"'/corpus/'
expect "db export needs --out" 2 "$DB" export --format nemo
expect "db export bad format" 2 "$DB" export --format espnet --out exp
expect "db export nothing" 3 "$DB" export --format nemo --out exp --lang xxx
expect "runs recorded" 0 "$DB" query --format csv "SELECT count(*) FROM runs WHERE exit_code = 0 AND stage IN ('db split', 'db weights', 'db export')"
contains "runs count" "$T/out" "5"

expect "db check clean" 0 "$DB" check
contains "db check clean says ok" "$T/out" "ok: no problems found"
printf 'X' | dd of=corpus/a/2.wav bs=1 seek=5 conv=notrunc 2>/dev/null
touch -d @1600000000 corpus/a/2.wav
rm corpus/b/1.wav
expect "db check after damage" 3 "$DB" check
contains "db check content_changed" "$T/out" "content_changed: 1"
contains "db check missing_file" "$T/out" "missing_file: 1"
contains "db check names the file" "$T/out" "corpus/b/1.wav"
expect "db check --no-files" 0 "$DB" check --no-files

# issue 19 #12: a read-only manifest is read (stats, query, check) and a
# write says so.  As root, permissions do not bind: run as nobody.
AS=""
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 "$T"
fi
chmod a-w data.db "$T"
expect "read-only manifest: db stats" 0 $AS "$DB" stats
expect "read-only manifest: db query" 0 $AS "$DB" query --format csv "SELECT count(*) FROM utterances"
contains "read-only manifest: query rows" "$T/out" "6"
expect "read-only manifest: db check" 0 $AS "$DB" check --no-files
if [ -n "$AS" ] || [ "$(id -u)" != 0 ]; then
	expect "read-only manifest: db split fails" 4 $AS "$DB" split --seed 3
	contains "read-only manifest: says read-only" "$T/err" "read-only"
fi
chmod u+w data.db "$T"

echo "# db_cli.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
