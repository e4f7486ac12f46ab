#!/bin/sh
# test_prep_cli.sh — the `prep` command line: help/version, layout
# detection, usage errors, --strict and --json, exit codes.
BINDIR=${BINDIR:-bin}
PREP=$BINDIR/prep
case $PREP in /*) ;; *) PREP=$(pwd)/$PREP ;; esac
pass=0; fail=0
check() {
	d=$1; shift
	if eval "$@"; then pass=$((pass + 1)); echo "ok - $d"; else fail=$((fail + 1)); echo "not ok - $d"; fi
}
finish() { echo "# test_prep_cli.sh: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
[ -x "$PREP" ] || { echo "not ok - $PREP missing"; fail=1; finish; }
T=$(mktemp -d "${TMPDIR:-/tmp}/accent-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
check "--help" '"$PREP" --help | grep -q "prep <command>"'
check "ingest --help" '"$PREP" ingest --help | grep -q -- "--manifest PATH"'
check "--version" '"$PREP" --version | grep -Eq "^prep [0-9]+\.[0-9]+"'
check "ingest --version" '"$PREP" ingest --version | grep -Eq "^prep [0-9]"'
"$PREP" ingest --bogus "$T" >/dev/null 2>&1; rc=$?
check "unknown option exits 2" '[ $rc -eq 2 ]'
"$PREP" frobnicate >/dev/null 2>&1; rc=$?
check "unknown command exits 2" '[ $rc -eq 2 ]'
"$PREP" ingest "$T/nope" >"$T/out" 2>"$T/err"; rc=$?
check "missing corpus fails with a message" '[ $rc -ne 0 ] && grep -q "^error: .*nope" "$T/err"'
mkdir -p "$T/empty"
"$PREP" ingest --manifest "$T/x.db" "$T/empty" >/dev/null 2>"$T/err"; rc=$?
check "unknown layout: error and hint" '[ $rc -ne 0 ] && grep -q "^hint: " "$T/err"'
# a LJSpeech corpus with the real clips and one row naming a missing file
mkdir -p "$T/lj/wavs"
cp tests/data/speech/LJ002-0020.wav tests/data/speech/LJ002-0035.wav "$T/lj/wavs/"
printf 'LJ002-0020|In 1813|In eighteen thirteen\nLJ002-0035|eight the press yard|\nLJ009-0001|gone|gone\n' > "$T/lj/metadata.csv"
check "detect" '[ "$("$PREP" detect "$T/lj")" = ljspeech ]'
( cd "$T" && "$PREP" ingest lj >out 2>err ); rc=$?
check "ingest into ./data.db exits 0 despite a reject" '[ $rc -eq 0 ] && [ -f "$T/data.db" ]'
check "summary counts utterances and rejects" 'grep -q "utterances:  2 added" "$T/out" && grep -q "missing_file *1" "$T/out"'
check "no progress bar when stderr is not a terminal" '[ ! -s "$T/err" ]'
"$PREP" ingest --strict --manifest "$T/s.db" "$T/lj" >/dev/null 2>"$T/err"; rc=$?
check "--strict exits 3 on rejects" '[ $rc -eq 3 ] && grep -q "rejected" "$T/err"'
"$PREP" ingest --json --manifest "$T/s.db" "$T/lj" >"$T/j" 2>/dev/null
check "--json summary" 'grep -q "\"utterances_present\":2" "$T/j" && grep -q "\"missing_file\":1" "$T/j"'
"$PREP" ingest --split 0.5,x --manifest "$T/s.db" "$T/lj" >/dev/null 2>&1; rc=$?
check "bad --split exits 2" '[ $rc -eq 2 ]'
"$PREP" ingest --vad-max 50 --manifest "$T/s.db" "$T/lj" >/dev/null 2>&1; rc=$?
check "inconsistent bounds exit 2" '[ $rc -eq 2 ]'
check "runs row with the command line" '[ "$(sqlite3 "$T/s.db" "SELECT count(*) FROM runs WHERE command_line LIKE '"'"'%--strict%'"'"'")" = 1 ]'
finish
