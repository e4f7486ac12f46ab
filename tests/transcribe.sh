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

# word timestamps (--words / --format), read back by the real readers
PY=/usr/bin/python3
"$TR" --model "$T/m" --lang eng "$T/a.wav" "$T/b.wav" 2>/dev/null | cut -f2 > "$T/plain"
"$TR" --model "$T/m" --lang eng --words "$T/a.wav" "$T/b.wav" >"$T/words.jsonl" 2>/dev/null
check "--words: one JSON object per file" "[ \$(wc -l < '$T/words.jsonl') -eq 2 ]"
cat > "$T/words.py" <<'PY'
import json, sys
ok = True
for line, plain in zip(open(sys.argv[1]), open(sys.argv[2])):
    u = json.loads(line)
    ws, cs = u["words"], u["chars"]
    ok &= " ".join(w["text"] for w in ws) == u["text"] == plain.rstrip("\n")
    ok &= all(0 <= w["start"] < w["end"] <= u["duration"] + 0.02 and 0 < w["score"] <= 1 for w in ws + cs)
    ok &= all(a["end"] <= b["start"] for a, b in zip(ws, ws[1:]))
    ok &= "".join(c["text"] for c in cs) == u["text"].replace(" ", "")
print(ok)
PY
check "--words: words are the text, times ordered, chars inside" "[ \"\$($PY '$T/words.py' '$T/words.jsonl' '$T/plain' 2>&1)\" = True ]"
"$TR" --model "$T/m" --lang eng --format ctm "$T/a.wav" "$T/b.wav" >"$T/w.ctm" 2>/dev/null
check "--format ctm: one line per word" "[ \$(wc -l < '$T/w.ctm') -eq \$(cat '$T/plain' | wc -w) ]"
check "--format ctm: NIST ctmValidator accepts it" "/usr/lib/sctk/bin/ctmValidator.pl -l any -i '$T/w.ctm' >/dev/null"
"$TR" --model "$T/m" --lang eng --format vtt --max-chars 8 "$T/b.wav" >"$T/w.vtt" 2>/dev/null
check "--format vtt: webvtt-py reads it" "$PY -c 'import webvtt, sys; assert len(webvtt.read(sys.argv[1])) >= 1' '$T/w.vtt'"
"$TR" --model "$T/m" --lang eng --format srt "$T/b.wav" >"$T/w.srt" 2>/dev/null
check "--format srt: python3-srt reads it" "$PY -c 'import srt, sys; assert list(srt.parse(open(sys.argv[1]).read()))' '$T/w.srt'"
"$TR" --model "$T/m" --lang eng --format srt "$T/a.wav" "$T/b.wav" >/dev/null 2>&1; check "subtitles of two files: 2" "[ $? -eq 2 ]"
"$TR" --model "$T/m" --lang eng --format doc "$T/a.wav" >/dev/null 2>&1; check "unknown format: 2" "[ $? -eq 2 ]"
# beam search with an LM: the hypothesis' words timed by forced alignment
printf '\\data\\\nngram 1=5\n\n\\1-grams:\n-1.0\t<s>\n-1.0\t</s>\n-0.5\tbe\n-0.7\tge\n-0.9\tbeg\n\n\\end\\\n' > "$T/t.arpa"
"$TR" --model "$T/m" --lang eng --lm "$T/t.arpa" "$T/a.wav" "$T/b.wav" 2>/dev/null | cut -f2 > "$T/beam"
"$TR" --model "$T/m" --lang eng --lm "$T/t.arpa" --words "$T/a.wav" "$T/b.wav" >"$T/beam.jsonl" 2>"$T/err"
check "--lm: beam search named in the summary" "grep -q 'beam search' '$T/err'"
check "--lm --words: the beam hypothesis' words, timed" "[ \"\$($PY '$T/words.py' '$T/beam.jsonl' '$T/beam' 2>&1)\" = True ]"
"$TR" --model "$T/m" --lang eng --lm "$T/missing.arpa" "$T/a.wav" >/dev/null 2>&1; check "missing LM fails" "[ $? -ne 0 ]"

echo "# transcribe.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
