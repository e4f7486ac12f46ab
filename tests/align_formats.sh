#!/bin/sh
# tests/align_formats.sh — alignment exports read back by the tools users
# have: Praat reads the TextGrids, webvtt-py and python3-srt the subtitles
# (with "-->", "&" and tags in the transcript), NIST's ctmValidator accepts
# the CTM and sclite scores it against an STM of the recordings' segments
# (recording ids and times from the recording's start: a segmented long
# recording); labels are the words as written; `--oov romanize` keeps the
# transcript's words in every format, also for long recordings.  Tiny
# random-weight MMS model (tests/data/hf-wav2vec2/mms-tiny), espeak-ng audio.
# Prints "# align_formats.sh: N passed, N failed".
PY=/usr/bin/python3
SCTK=/usr/lib/sctk/bin
. "$(dirname "$0")/check.sh"
bins ALIGN=align PREP=prep
require_cmds espeak-ng sqlite3 praat "$SCTK/sclite" "$SCTK/ctmValidator.pl"
if ! $PY -c 'import webvtt, srt' 2>/dev/null; then
	echo "not ok - python3-webvtt and python3-srt are needed (make deps)"
	echo "# align_formats.sh: 0 passed, 1 failed"
	exit 1
fi
scratch alignfmt

tiny_mms model amh

# clips (one with markup-like text) and a long recording cut into segments
mkdir -p clips/s1 long
espeak-ng -w clips/s1/u1.wav "a bad cafe" && printf 'A bad cafe!\n' > clips/s1/u1.txt
espeak-ng -w clips/s1/u2.wav "dad fed a bee, add a face" &&
	printf 'Dad fed a bee --> <b>add</b> & "face"\n' > clips/s1/u2.txt
printf 'A bad cafe.\nFaced a bead cab!\nDeaf dad fed a bee.\nAdd a face.\n' > long/talk.txt
espeak-ng -w long/talk.wav "a bad cafe. faced a bead cab. deaf dad fed a bee. add a face."
expect "prep ingest clips" 0 "$PREP" ingest --layout folder --lang amh --manifest data.db --no-balance clips
expect "prep ingest long recording" 0 "$PREP" ingest --layout longform --lang amh --manifest data.db --no-balance long
expect "align run" 0 "$ALIGN" run --lang amh --model model --manifest data.db
same "long recording segmented into several utterances" "$(q "SELECT count(*) > 1 FROM utterances u JOIN recordings r ON r.id = u.recording_id WHERE r.path = 'talk.wav' AND u.status = 'ok'")" 1
for f in ctm textgrid srt vtt json; do
	expect "export $f" 0 "$ALIGN" export --format "$f" --out "exp-$f" --manifest data.db
done

# a long recording's lines cut inside a line keep the words as written
expect "prep ingest long recording (short pieces)" 0 "$PREP" ingest --layout longform --lang amh --manifest seg.db --no-balance long
expect "align run --seg-max 0.2" 0 "$ALIGN" run --lang amh --model model --manifest seg.db --seg-max 0.2 --seg-min 0.01
same "pieces of lines exist" "$(sqlite3 seg.db "SELECT count(*) > 0 FROM utterances WHERE status = 'ok' AND utt_key GLOB '*@*.*-*.*'")" 1
same "pieces of lines: text_raw as written" "$(sqlite3 seg.db "SELECT count(*) > 0 FROM utterances WHERE status = 'ok' AND utt_key GLOB '*@*.*-*.*' AND lower(replace(replace(text_raw, '.', ''), '!', '')) = text_norm AND text_raw GLOB '*[A-Z.!]*'")" 1

# labels as written
same "labels keep case and punctuation" "$(q "SELECT group_concat(label, '|') FROM (SELECT w.label FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE u.utt_key = 's1/u1' ORDER BY w.idx)")" "A|bad|cafe!"
same "normalized words stay in word" "$(q "SELECT group_concat(word, '|') FROM (SELECT w.word FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE u.utt_key = 's1/u1' ORDER BY w.idx)")" "a|bad|cafe"

# WebVTT / SRT: the real readers parse every file and give the text back
cat > subs.py <<'PY'
import glob, html, re, sys, webvtt, srt
kind, want = sys.argv[1], sys.argv[2]
found = 0
for path in sorted(glob.glob("exp-%s/*.%s" % (kind, kind))):
    if kind == "vtt":
        cues = [(c.start, c.end, html.unescape(c.text)) for c in webvtt.read(path)]
    else:
        cues = [(str(c.start), str(c.end), c.content.replace("\u2039", "<").replace("\u203a", ">"))
                for c in srt.parse(open(path, encoding="utf-8").read())]
    assert cues, path
    text = " ".join(c[2].replace("\n", " ") for c in cues)
    found += text == want
    for c in cues:
        lines = c[2].split("\n")
        assert len(lines) <= 2 and all(len(l) <= 42 or " " not in l for l in lines), (path, c)
print(found)
PY
raw2='Dad fed a bee --> <b>add</b> & "face"'
same "webvtt-py reads every cue, text as written" "$($PY subs.py vtt "$raw2" 2>&1)" 1
same "python3-srt reads every cue, text as written" "$($PY subs.py srt "$raw2" 2>&1)" 1
contains "WebVTT escapes" exp-vtt/s1%2Fu2.wav.vtt '--&gt; &lt;b&gt;add&lt;/b&gt; &amp;'

# Praat reads every TextGrid; the words tier holds the labels
cat > tg.praat <<'PR'
form Read
	sentence file x
endform
Read from file: file$
n = Get number of intervals: 1
out$ = ""
for i to n
	lab$ = Get label of interval: 1, i
	if lab$ <> ""
		out$ = out$ + lab$ + "|"
	endif
endfor
writeInfoLine: out$
PR
same "praat reads the TextGrid labels" "$(praat --run tg.praat exp-textgrid/s1%2Fu2.TextGrid 2>&1)" 'Dad|fed|a|bee -->|<b>add</b> &|"face"|'
ntg=0
for f in exp-textgrid/*.TextGrid; do praat --run tg.praat "$f" >/dev/null 2>&1 && ntg=$((ntg + 1)); done
same "praat reads every TextGrid" "$ntg" "$(ls exp-textgrid | wc -l | tr -d ' ')"

# CTM: NIST's validator, then sclite against the segments as an STM
# (its English token rule wants bare words: --labels norm; the labels as
# written pass its format checks for any other language)
expect "ctmValidator accepts the CTM of labels as written" 0 "$SCTK/ctmValidator.pl" -l amharic -i exp-ctm/alignments.ctm
expect "export ctm --labels norm" 0 "$ALIGN" export --format ctm --labels norm --out exp-ctm-norm --manifest data.db
expect "ctmValidator (English rules) accepts the normalized CTM" 0 "$SCTK/ctmValidator.pl" -i exp-ctm-norm/alignments.ctm
contains "normalized CTM words" exp-ctm-norm/alignments.ctm "s1_u1 1 0.320 0.740 cafe "
contains "recording id of the long recording" exp-ctm/alignments.ctm "talk 1 "
q "SELECT r.path, s.label, printf('%.3f', u.start_s), printf('%.3f', u.end_s),
          (SELECT group_concat(replace(coalesce(w.label, w.word), ' ', '_'), ' ') FROM
             (SELECT * FROM align_words WHERE utterance_id = u.id AND coalesce(label, word) != '' ORDER BY idx) AS w)
   FROM utterances u JOIN recordings r ON r.id = u.recording_id LEFT JOIN speakers s ON s.id = u.speaker_id
   JOIN alignments a ON a.utterance_id = u.id AND a.status = 'ok'
   ORDER BY r.path, u.start_s" |
	awk -F'|' '{ id = $1; sub(/\.[A-Za-z0-9]+$/, "", id); gsub(/[\/.]/, "_", id);
	             printf "%s 1 %s %s %s %s\n", id, ($2 == "" ? "spk" : $2), $3, $4, $5 }' | sort -k1,1 -k4,4n > ref.stm
same "STM has the segments of the long recording" "$(grep -c '^talk ' ref.stm)" "$(q "SELECT count(*) FROM utterances u JOIN recordings r ON r.id = u.recording_id JOIN alignments a ON a.utterance_id = u.id AND a.status = 'ok' WHERE r.path = 'talk.wav'")"
"$SCTK/sclite" -r ref.stm stm -h exp-ctm/alignments.ctm ctm -o sum stdout > sclite.out 2>&1
nref=$(q "SELECT count(*) FROM align_words WHERE coalesce(label, word) != ''")
# "| Sum/Avg | <#snt> <#wrd> | <corr> <sub> <del> <ins> <err> <s.err> |"
same "sclite: every word in its segment, recording times" "$(awk '/Sum\/Avg/ { gsub(/\|/, " "); print $3, $4, $8 }' sclite.out)" "$nref 100.0 0.0"

# --oov romanize: the transcript's words everywhere, romanized form as extra
mkdir -p rclips/s9 rlong
espeak-ng -w rclips/s9/e1.wav "gabarew dabdabe safa" && printf 'ገበሬው ደብዳቤ ጻፈ\n' > rclips/s9/e1.txt
printf 'ገበሬው ደብዳቤ ጻፈ።\nልጁ ቤት ሄደ።\n' > rlong/story.txt
espeak-ng -w rlong/story.wav "gabarew dabdabe safa. lidju bet hede."
expect "prep ingest Ethiopic" 0 "$PREP" ingest --layout folder --lang amh --manifest rom.db --no-balance rclips
expect "prep ingest Ethiopic long recording" 0 "$PREP" ingest --layout longform --lang amh --manifest rom.db --no-balance rlong
expect "align run --oov romanize" 0 "$ALIGN" run --lang amh --model model --manifest rom.db --oov romanize
rq() { sqlite3 rom.db "$1"; }
same "align_words.word: the transcript's words" "$(rq "SELECT group_concat(word, ' ') FROM (SELECT w.word FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE u.utt_key = 's9/e1' ORDER BY w.idx)")" "ገበሬው ደብዳቤ ጻፈ"
same "romanized form in its own column" "$(rq "SELECT count(*) FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE u.utt_key = 's9/e1' AND w.romanized GLOB '*[a-z]*' AND w.romanized != w.word")" 3
same "segments of the long recording keep the Ethiopic text" "$(rq "SELECT count(*) FROM utterances u JOIN recordings r ON r.id = u.recording_id WHERE r.path = 'story.wav' AND u.status = 'ok' AND u.text_norm GLOB '*[a-zA-Z]*'")" 0
same "segments aligned with Ethiopic labels" "$(rq "SELECT count(*) FROM align_words w JOIN utterances u ON u.id = w.utterance_id JOIN recordings r ON r.id = u.recording_id WHERE r.path = 'story.wav' AND (w.label GLOB '*[a-zA-Z]*' OR w.word GLOB '*[a-zA-Z]*')")" 0
for f in ctm textgrid json; do
	expect "romanize: export $f" 0 "$ALIGN" export --format "$f" --out "rom-$f" --manifest rom.db
done
same "CTM words are the transcript's" "$(grep '^s9_e1 ' rom-ctm/alignments.ctm | awk '{ printf "%s ", $5 }')" "ገበሬው ደብዳቤ ጻፈ "
contains "TextGrid label is the transcript's" rom-textgrid/s9%2Fe1.TextGrid 'text = "ደብዳቤ"'
same "JSON: text as written, romanized as a field" "$($PY -c '
import json, sys
u = [x for x in json.load(open("rom-json/alignments.json")) if x["key"] == "s9/e1"][0]
print(" ".join(w["text"] for w in u["words"]), all(w["romanized"] != w["text"] for w in u["words"]))')" "ገበሬው ደብዳቤ ጻፈ True"
ethctm=$(awk '$1 ~ /^story/ && $5 ~ /[a-zA-Z]/' rom-ctm/alignments.ctm | wc -l | tr -d ' ')
same "long recording: no romanized CTM word" "$ethctm" 0

# align file: one recording, no manifest; the same alignment as align run
mkdir -p one && cd one || exit 1
expect "align file --help" 0 "$ALIGN" file --help
contains "align file usage" "$T/out" "usage: align file"
expect "align file without a transcript" 2 "$ALIGN" file ../clips/s1/u2.wav --model ../model --lang amh
expect "align file bad format" 2 "$ALIGN" file ../clips/s1/u2.wav ../clips/s1/u2.txt --model ../model --lang amh --format doc
expect "align file ctm" 0 "$ALIGN" file ../clips/s1/u2.wav ../clips/s1/u2.txt --model ../model --lang amh --format ctm
cp "$T/out" file.ctm
same "align file = align run (words and times)" "$(awk '{ print $3, $4, $5 }' file.ctm)" "$(awk '$1 == "s1_u2" { print $3, $4, $5 }' ../exp-ctm/alignments.ctm)"
contains "align file summary" "$T/err" "6 words"
expect "align file vtt from standard input" 0 sh -c "'$ALIGN' file ../clips/s1/u2.wav - --model ../model --lang amh --format vtt --out f.vtt < ../clips/s1/u2.txt"
expect "align file srt" 0 "$ALIGN" file ../clips/s1/u2.wav ../clips/s1/u2.txt --model ../model --lang amh --format srt --out f.srt --max-chars 12
expect "align file textgrid" 0 "$ALIGN" file ../clips/s1/u2.wav ../clips/s1/u2.txt --model ../model --lang amh --format textgrid --out f.TextGrid
expect "align file json" 0 "$ALIGN" file ../clips/s1/u2.wav ../clips/s1/u2.txt --model ../model --lang amh --out f.json
same "nothing left behind" "$(ls | tr '\n' ' ')" "f.TextGrid f.json f.srt f.vtt file.ctm "
same "webvtt-py reads align file's cues" "$($PY -c 'import webvtt, html; print(" ".join(html.unescape(c.text).replace("\n", " ") for c in webvtt.read("f.vtt")))')" "$raw2"
same "python3-srt reads align file's cues, lines <= 12" "$($PY -c '
import srt
cs = list(srt.parse(open("f.srt", encoding="utf-8").read()))
print(len(cs) > 1 and all(len(l) <= 12 or " " not in l for c in cs for l in c.content.split("\n")))')" True
same "praat reads align file's TextGrid" "$(praat --run ../tg.praat "$T/one/f.TextGrid" 2>&1)" 'Dad|fed|a|bee -->|<b>add</b> &|"face"|'
same "JSON words" "$($PY -c 'import json; print(len(json.load(open("f.json"))["words"]))')" 6
expect "align file: transcript too long is exit 3" 3 sh -c "yes 'a bad cafe' | head -100 | '$ALIGN' file ../clips/s1/u1.wav - --model ../model --lang amh"
contains "says why" "$T/err" "too long for the audio"
expect "align file: missing audio" 3 "$ALIGN" file nope.wav ../clips/s1/u2.txt --model ../model --lang amh
# long audio (over the 40 s window): emissions windowed, edge stars
for i in 1 2 3 4 5 6 7 8 9 10 11; do echo ../long/talk.wav; done > list
sox $(cat list) long.wav 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10 11; do cat ../long/talk.txt; done > long.txt
expect "align file on $(soxi -D long.wav 2>/dev/null | cut -d. -f1) s of audio" 0 "$ALIGN" file long.wav long.txt --model ../model --lang amh --format ctm --quiet
same "every word of the long text" "$(wc -l < "$T/out" | tr -d ' ')" 165
cd "$T" || exit 1

# scripts without spaces: ICU word units in the word tier (espeak-ng voices
# cmn, ja, th; the vocabulary lacks their letters: <unk> per character)
mkdir -p cjk && cd cjk || exit 1
cp -r ../model model
tiny_vocab model cmn jpn tha
for l in cmn jpn tha; do cp model/adapter.amh.safetensors "model/adapter.$l.safetensors"; done
espeak-ng -v cmn -w cmn.wav "你好世界今天天气很好" && printf '你好世界，今天天气很好。\n' > cmn.txt
espeak-ng -v ja -w jpn.wav "私は日本語を話します" && printf '私は日本語を話します。\n' > jpn.txt
espeak-ng -v th -w tha.wav "สวัสดีครับวันนี้อากาศดีมาก" && printf 'สวัสดีครับวันนี้อากาศดีมาก\n' > tha.txt
for l in cmn:世界 jpn:日本語 tha:สวัสดี; do
	lang=${l%%:*} word=${l#*:}
	expect "align file $lang" 0 "$ALIGN" file "$lang.wav" "$lang.txt" --model model --lang "$lang" --format textgrid --out "$lang.TextGrid"
	words=$(praat --run ../tg.praat "$T/cjk/$lang.TextGrid" 2>&1)
	same "$lang: several words, together the text" "$(echo "$words" | awk -F'|' '{ print (NF - 1 > 2) }')$(echo "$words" | tr -d '|\n')" "1$(sed -e 's/，//g' -e 's/。//g' -e 's/ //g' "$lang.txt" | tr -d '\n')"
	case "$words" in *"|$word|"*|"$word|"*) ok "$lang: ICU's word '$word' is one word" ;; *) ko "$lang: '$word' not a word in '$words'" ;; esac
done
cd "$T" || exit 1

echo "# align_formats.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
