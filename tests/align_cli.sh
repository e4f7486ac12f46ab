#!/bin/sh
# tests/align_cli.sh — `align` end to end with a real (tiny, random-weight)
# MMS model: the mms-tiny fixture with its amh adapter, over a small corpus
# synthesized with espeak-ng (clips + one long recording in MMS style).
# Checks that the alignment path runs and the rows are stored (not
# accuracy: the weights are random), long-recording segmentation, staleness
# and resuming, exports, `show`, --help/--version and the fault cases
# (no adapter for the language, language missing from the vocabulary).
# Prints "# align_cli.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins ALIGN=align PREP=prep
require_cmds espeak-ng sqlite3
scratch align

expect "align --help" 0 "$ALIGN" --help
contains "align --help lists commands" "$T/out" "export"
expect "align --version" 0 "$ALIGN" --version
expect "align without a command" 2 "$ALIGN"
for c in run export show; do
	expect "align $c --help" 0 "$ALIGN" "$c" --help
	contains "align $c --help usage" "$T/out" "usage: align $c"
	expect "align $c --version" 0 "$ALIGN" "$c" --version
done
expect "align run without --model" 2 "$ALIGN" run --lang amh
expect "align run bad --oov" 2 "$ALIGN" run --lang amh --model x --oov drop
expect "align export without --out" 2 "$ALIGN" export --format ctm

# the model: mms-tiny (vocabulary of 12: the amh adapter's lm_head) with a
# nested vocab.json naming a second language that has no adapter
tiny_mms model amh fra

# a corpus of clips and a long recording with its lines
mkdir -p clips/s1 clips/s2 long
i=0
for t in "bad cafe" "a bead faced a cab" "deaf dad fed a bee" "add a face" "cage bag"; do
	i=$((i + 1))
	espeak-ng -w "clips/s1/u$i.wav" "$t" && echo "$t" > "clips/s1/u$i.txt"
done
espeak-ng -w clips/s2/v1.wav "a big zebra" && echo "a big zebra" > clips/s2/v1.txt
printf 'a bad cafe\nfaced a bead cab\ndeaf dad fed a bee\nadd a face\n' > long/talk.txt
espeak-ng -w long/talk.wav "a bad cafe. faced a bead cab. deaf dad fed a bee. add a face."
expect "prep ingest clips" 0 "$PREP" ingest --layout folder --lang amh --manifest data.db --no-balance clips
expect "prep ingest long recording" 0 "$PREP" ingest --layout longform --lang amh --manifest data.db --no-balance long
same "one piece awaits alignment" "$(q "SELECT count(*) > 0 FROM utterances WHERE status = 'needs_align'")" 1

expect "align run" 0 "$ALIGN" run --lang amh --model model --manifest data.db
contains "summary" "$T/out" "aligned"
contains "missing characters reported" "$T/out" "'z'x1"
same "long recording segmented" "$(q "SELECT count(*) FROM utterances WHERE status = 'segmented'")" \
	"$(q "SELECT count(*) FROM utterances WHERE utt_key LIKE 'talk#%'")"
same "segments link recording and lines" "$(q "SELECT count(*) > 0 AND min(line_first) = 0 AND max(line_last) = 3 FROM align_segments")" 1
same "every usable utterance has an alignment" "$(q "SELECT count(*) FROM utterances WHERE status = 'ok'")" \
	"$(q "SELECT count(*) FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE u.status = 'ok'")"
same "all aligned (random weights, but possible)" "$(q "SELECT count(*) FROM alignments WHERE status != 'ok'")" 0
same "word rows" "$(q "SELECT count(*) FROM align_words")" \
	"$(q "SELECT sum(length(text_norm) - length(replace(text_norm, ' ', '')) + 1) FROM utterances WHERE status = 'ok'")"
same "oov flag on the zebra" "$(q "SELECT a.flags & 16 FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE utt_key = 's2/v1'")" 16
same "words inside their utterance" "$(q "SELECT count(*) FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE w.start_s < u.start_s - 1e-9 OR w.end_s > u.end_s + 0.02 OR w.end_s <= w.start_s")" 0
same "quality view per speaker" "$(q "SELECT count(*) FROM align_quality WHERE speaker = 's1'")" 5
same "run recorded" "$(q "SELECT count(*) FROM runs WHERE stage = 'align' AND exit_code = 0")" 1

expect "second run" 0 "$ALIGN" run --lang amh --model model --manifest data.db
contains "nothing stale" "$T/out" " 0 aligned"
# resume: forget the alignments, align 3, then the rest; nothing twice
total=$(q "SELECT count(*) FROM alignments")
q "DELETE FROM alignments"
expect "run --limit 3" 0 "$ALIGN" run --lang amh --model model --manifest data.db --limit 3 --json
contains "3 aligned" "$T/out" '"aligned":3'
expect "run the rest" 0 "$ALIGN" run --lang amh --model model --manifest data.db --json
contains "the rest only" "$T/out" "\"current\":3,\"aligned\":$((total - 3))"

expect "align show" 0 "$ALIGN" show --manifest data.db s1/u2
contains "show prints words" "$T/out" "faced"
expect "align show unknown" 3 "$ALIGN" show --manifest data.db nope

for f in ctm textgrid srt vtt json; do
	expect "export $f" 0 "$ALIGN" export --format "$f" --out "exp-$f" --manifest data.db
done
same "CTM: one line per word, 6 fields" "$(awk 'NF == 6' exp-ctm/alignments.ctm | wc -l | tr -d ' ')" "$(q "SELECT count(*) FROM align_words")"
contains "TextGrid chars tier" exp-textgrid/s1%2Fu2.TextGrid 'name = "chars"'
contains "TextGrid words" exp-textgrid/s1%2Fu2.TextGrid 'text = "faced"'
contains "WebVTT header" exp-vtt/talk.wav.vtt "WEBVTT"
contains "SRT cue" exp-srt/s1%2Fu1.wav.srt "00:00:00,"
contains "JSON" exp-json/alignments.json '"words"'
expect "export unknown format" 2 "$ALIGN" export --format doc --out x --manifest data.db

# faults: a language without an adapter, a language the vocabulary lacks
expect "no adapter for the language" 3 "$ALIGN" run --lang fra --model model --manifest data.db
contains "names the adapter" "$T/err" "adapter.fra.safetensors"
expect "language missing from the vocabulary" 3 "$ALIGN" run --lang xyz --model model --manifest data.db
contains "lists the languages" "$T/err" "amh, fra"
expect "missing manifest" 4 "$ALIGN" run --lang amh --model model --manifest nope.db

# issue 19 #11: keys 'x/y' and 'x_y' (and non-ASCII keys) once shared one export file
mkdir -p coll/x
i=0
for k in x/y x_y ገበ ደብ; do   # distinct audio (a duplicate file would be a reject)
	i=$((i + 1))
	t=$(echo "a bad cafe|add a face|deaf dad fed a bee|cage bag" | cut -d'|' -f$i)
	espeak-ng -w "coll/$k.wav" "$t" && echo "$t" > "coll/$k.txt"
done
expect "prep ingest colliding keys" 0 "$PREP" ingest --layout folder --lang amh --manifest coll.db --no-balance coll
expect "align colliding keys" 0 "$ALIGN" run --lang amh --model model --manifest coll.db
expect "export colliding keys" 0 "$ALIGN" export --format textgrid --out exp-coll --manifest coll.db
same "one TextGrid per key" "$(ls exp-coll | grep -c '\.TextGrid$')" "$(sqlite3 coll.db "SELECT count(*) FROM alignments WHERE status = 'ok'")"
same "every key aligned" "$(sqlite3 coll.db "SELECT count(*) FROM alignments WHERE status = 'ok'")" 4

echo "# align_cli.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
