#!/bin/sh
# tests/readme.sh — the README's commands run as written.  Every line of the
# README's ```sh blocks (except `make ...` and the PATH line: this test puts
# $BINDIR on PATH itself) runs in order in a scratch directory and must
# exit 0; every query of its ```sql block runs on the resulting manifest.
# Substitutions, so that it runs in seconds without downloads (each keeps
# the command's options as written):
#   ~/cv-corpus-17.0/cy   -> a synthesized Common Voice corpus (cv/)
#   models/mms-1b-all, DIR -> tiny/, the README's own `mkmodel --out /tmp/tiny
#                            ... --vocab-from data.db` (run where first needed)
#   /tmp/...              -> the scratch directory
#   --preset mms-300m     -> --preset tiny (a 1.2 GB random model is not the point)
#   --utts-per-speaker 20 --long 2 -> 2 and 1 (the 16 speakers stay)
#   --steps 2000 --eval-every 200 -> --steps 2 --eval-every 1 (and 2 steps for bf16)
#   train ... --out out/amh -> + --include-flagged: the stand-in's random weights
#                            make align flag every utterance (train says so)
#   spk1/utt42            -> the first amh utterance of the manifest
#   clip1.wav clip2.flac  -> two clips of the corpus
#   talk.wav talk.txt     -> an English clip of the corpus and its transcript
# (the ```cluster block, for several machines, is not an `sh` block: the mpi
# tests run its commands with mpirun -np 2)
# Prints "# readme.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
BIN=$(dirname "$(abs "$BINDIR/prep")")
require_bins readme.sh "$BIN/synth" "$BIN/prep" "$BIN/align" "$BIN/train" "$BIN/db" "$BIN/mkmodel" "$BIN/transcribe"
require_cmds espeak-ng sqlite3 sox
scratch readme
README="$ROOT/README.md"
# commands run in w/: check.sh keeps each command's output in $T/out and $T/err
mkdir "$T/w" && cd "$T/w" || exit 1
# synth's sentence files as in the source tree (found next to bin/synth there;
# $BINDIR may be elsewhere, e.g. build-asan/bin): tests/firsthour.sh checks the lookup
ln -s "$ROOT/data" data
PATH="$BIN:$PATH"; export PATH
ACCENT_NO_PROGRESS=1; export ACCENT_NO_PROGRESS

# the README's shell lines, comments and blank lines dropped
awk '/^```sh/ { f = 1; next } /^```/ { f = 0 } f' "$README" | sed 's/[[:space:]]#.*$//; s/^#.*$//; s/[[:space:]]*$//' |
	grep -v '^[[:space:]]*$' > lines
awk '/^```sql/ { f = 1; next } /^```/ { f = 0 } f' "$README" > queries.sql
[ -s lines ] && ok "README has shell blocks" || ko "README has shell blocks"
[ -s queries.sql ] && ok "README has a SQL block" || ko "README has a SQL block"

# the stand-ins named above
expect "a Common Voice corpus for ~/cv-corpus-17.0/cy" 0 synth --out cv --layout commonvoice --langs eng \
	--speakers 2 --utts-per-speaker 2 --seed 3
subst() {
	printf '%s\n' "$1" | sed -e "s|~/cv-corpus-17.0/cy|cv|g; s|models/mms-1b-all|tiny|g; s| DIR | tiny |g" \
		-e "s|/tmp/|./|g; s|--preset mms-300m|--preset tiny|" \
		-e "s|--utts-per-speaker 20 --long 2|--utts-per-speaker 2 --long 1|" \
		-e "s|--steps 2000 --eval-every 200|--steps 2 --eval-every 1|; s|--precision bf16\$|--precision bf16 --steps 2|" \
		-e "s|spk1/utt42|$UTT|; s|^\(train --model .* --out out/amh .*\)\$|\1 --include-flagged|"
}
UTT=none
made_model=0
n=0
while IFS= read -r line; do
	case $line in
		make\ *|export\ PATH=*) continue ;;
		mkmodel\ *) continue ;;   # run where the model is first needed
	esac
	if [ $made_model = 0 ] && printf '%s' "$line" | grep -q 'models/mms-1b-all\| DIR '; then
		made_model=1
		grep '^mkmodel ' lines > mk.lines
		while IFS= read -r mk; do
			expect "README: $mk" 0 sh -c "$(subst "$mk")"
		done < mk.lines
	fi
	case $line in
		align\ show*) UTT=$(sqlite3 data.db "SELECT utt_key FROM utterances u JOIN alignments a ON a.utterance_id = u.id WHERE u.lang = 'amh' AND a.status = 'ok' ORDER BY u.id LIMIT 1") ;;
		align\ file*)
			f=$(sqlite3 data.db "SELECT r.path FROM recordings r JOIN utterances u ON u.recording_id = r.id WHERE u.lang = 'eng' AND u.status = 'ok' ORDER BY u.id LIMIT 1")
			sqlite3 data.db "SELECT u.text_raw FROM recordings r JOIN utterances u ON u.recording_id = r.id WHERE u.lang = 'eng' AND u.status = 'ok' ORDER BY u.id LIMIT 1" > talk.txt
			sox "corpus/$f" talk.wav ;;
		transcribe\ *)
			f=$(sqlite3 data.db "SELECT r.path FROM recordings r JOIN utterances u ON u.recording_id = r.id WHERE u.lang = 'amh' ORDER BY r.id LIMIT 1")
			cp "corpus/$f" clip1.wav && sox clip1.wav clip2.flac ;;
	esac
	expect "README: $line" 0 sh -c "$(subst "$line")"
	n=$((n + 1))
done < lines
[ $made_model = 1 ] && ok "README's mkmodel lines ran" || ko "README's mkmodel lines ran"
want=$(grep -cv '^make \|^export PATH=\|^mkmodel ' lines)
same "ran every README command ($n)" "$n" "$want"
# what the substitutions must not hide: the model aligned Amharic, cy became cym
same "Amharic aligned with the README's model" "$(sqlite3 data.db "SELECT count(*) > 0 FROM alignments WHERE lang = 'amh' AND status = 'ok'")" 1
same "Common Voice 'cy' stored as 'cym'" "$(sqlite3 data.db "SELECT count(*) > 0 FROM utterances WHERE lang = 'cym'")" 1
if sqlite3 -bail data.db < queries.sql > sql.out 2> sql.err; then ok "README's SQL queries run"; else ko "README's SQL queries run"; sed 's/^/    /' sql.err | head -5; fi

echo "# readme.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
