#!/bin/sh
# tests/transcribe.sh — the `transcribe` CLI: usage errors and exit codes,
# one output line per file, windowed inference of a file longer than the
# window, a missing vocabulary language, an unreadable file.
# Uses a random tiny model written by mkmodel and tones made with sox.
BINDIR=${BINDIR:-bin}
T=${TMPDIR:-/tmp}/accent-transcribe-$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

TR=$BINDIR/transcribe
"$BINDIR/mkmodel" --out "$T/m" --preset tiny --langs eng,amh >/dev/null 2>&1
check "mkmodel wrote a model" "[ -f '$T/m/model.safetensors' ]"
sox -n -r 16000 -c 1 -b 16 "$T/a.wav" synth 2.5 sine 300 2>/dev/null
sox -n -r 16000 -c 1 -b 16 "$T/b.wav" synth 7 sine 500 2>/dev/null
check "sox made audio" "[ -f '$T/a.wav' ] && [ -f '$T/b.wav' ]"

"$TR" --help >/dev/null; check "--help exits 0" "[ $? -eq 0 ]"
"$TR" --version | grep -q accent; check "--version names accent" "[ $? -eq 0 ]"
"$TR" "$T/a.wav" 2>/dev/null; check "no --model: usage error 2" "[ $? -eq 2 ]"
"$TR" --model "$T/m" --window -1 "$T/a.wav" 2>/dev/null; check "bad --window: 2" "[ $? -eq 2 ]"
"$TR" --model "$T/m" 2>/dev/null; check "no input: 2" "[ $? -eq 2 ]"
"$TR" --model "$T/m" "$T/a.wav" 2>"$T/err"; rc=$?
check "nested vocab without --lang fails with a hint" "[ $rc -ne 0 ] && grep -q 'hint:' '$T/err'"
"$TR" --model "$T/m" --lang xyz "$T/a.wav" 2>/dev/null; check "unknown language fails" "[ $? -ne 0 ]"

"$TR" --model "$T/m" --lang eng "$T/a.wav" "$T/b.wav" >"$T/out" 2>"$T/err"; rc=$?
check "two files: exit 0" "[ $rc -eq 0 ]"
check "one line per file, in order" "[ \$(wc -l < '$T/out') -eq 2 ] && head -1 '$T/out' | grep -q '^$T/a.wav	' && tail -1 '$T/out' | grep -q '^$T/b.wav	'"
check "summary on stderr" "grep -q 'audio s per s' '$T/err'"
# a 7 s file in 1 s windows with 3 s of context each side: every window sees
# the whole file, so the text equals the single-window text
"$TR" --model "$T/m" --lang eng --window 1 --context 3 "$T/b.wav" >"$T/w1" 2>/dev/null
"$TR" --model "$T/m" --lang eng --window 30 "$T/b.wav" >"$T/w30" 2>/dev/null
check "windowed text equals the full pass" "cmp -s '$T/w1' '$T/w30'"
"$TR" --model "$T/m" --lang amh --bf16 "$T/a.wav" >/dev/null 2>&1; check "bf16 with adapter language: 0" "[ $? -eq 0 ]"
"$TR" --model "$T/m" --lang eng "$T/missing.wav" >/dev/null 2>"$T/err"; rc=$?
check "missing file: error naming it" "[ $rc -ne 0 ] && grep -q 'missing.wav' '$T/err'"
printf 'not audio' > "$T/bad.wav"
"$TR" --model "$T/m" --lang eng "$T/bad.wav" >/dev/null 2>&1; check "corrupt file: exit 3" "[ $? -eq 3 ]"

echo "# transcribe.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
