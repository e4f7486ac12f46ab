#!/bin/sh
# tests/firsthour.sh — what a new user meets in the first hour, through the
# binaries: a Kaldi corpus whose wav.scp lists absolute paths trains; train
# uses --lang's utterances unless --data-lang says otherwise; "nothing to
# train on" names the real cause (language, flags); a run without dev
# utterances warns; plain progress lines when stderr is not a terminal; the
# README's exit statuses (0/2/3/4) for missing manifests, languages, adapters
# and an align run where every utterance failed; the checks at model load
# (pad_token_id against <pad>, sampling_rate 16000); transcribe and align
# saying "no adapter" alike.
# Prints "# firsthour.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
SRC=$ROOT
bins TRAIN=train PREP=prep MK=mkmodel ALIGN=align DB=db TR=transcribe SYNTH=synth
require_cmds espeak-ng sqlite3
scratch first
unset ACCENT_NO_PROGRESS ACCENT_PROGRESS_SECONDS

# --- a Kaldi data dir whose wav.scp names the audio by absolute paths,
#     kept outside the data dir (as Kaldi recipes do)
"$MK" --out model --preset tiny --seed 3 --langs tst >/dev/null 2>&1
mkdir -p audio kaldi
: > kaldi/wav.scp; : > kaldi/text; : > kaldi/utt2spk
i=0
for t in "bad cafe" "a bead faced a cab" "deaf dad fed a bee" "add a face" "cage bag" "a bag" \
         "fade a cab" "dead bee" "faced a cage" "a bad bed"; do
	i=$((i + 1)); s=s$((i % 3 + 1)); u="$s-u$i"
	espeak-ng -w "audio/$u.wav" "$t"
	echo "$u $T/audio/$u.wav" >> kaldi/wav.scp
	echo "$u $t" >> kaldi/text
	echo "$u $s" >> kaldi/utt2spk
done
expect "prep ingest kaldi (absolute wav.scp paths)" 0 "$PREP" ingest --layout kaldi --lang tst --manifest data.db --no-balance kaldi
same "recordings keep the absolute paths" "$(q "SELECT count(*) FROM recordings WHERE substr(path, 1, 1) = '/'")" 10
# a second language in the same manifest, which train --lang tst must leave out
mkdir -p other
for t in "abc" "bad dog" "a cab"; do
	i=$((i + 1)); espeak-ng -w "other/e$i.wav" "$t" && echo "$t" > "other/e$i.txt"
done
expect "prep ingest a second language" 0 "$PREP" ingest --layout folder --lang eng --manifest data.db --no-balance other
q "UPDATE utterances SET split = CASE WHEN lang = 'tst' AND id % 4 = 0 THEN 'dev' ELSE 'train' END, weight = 1.0"

COMMON="--manifest data.db --model model --lang tst --lr 3e-3 --batch-seconds 6 --seed 5"
expect "train on absolute audio paths" 0 "$TRAIN" $COMMON --out out1 --steps 2 --eval-every 1
same "train_runs row done" "$(q "SELECT status, steps_done FROM train_runs ORDER BY id DESC LIMIT 1")" "done|2"
ntst=$(q "SELECT count(*) FROM utterances WHERE lang = 'tst' AND split = 'train'")
ndev=$(q "SELECT count(*) FROM utterances WHERE lang = 'tst' AND split = 'dev'")
contains "train --lang tst trains on tst only (data language defaults to --lang)" "$T/out" "$ntst train / $ndev dev utterances"
contains "summary in percent" "$T/out" "%"
# plain progress lines off a terminal: one per evaluation by default ...
same "one plain progress line per evaluation" "$(grep -c '^train: [0-9]*/2 steps' "$T/err")" 2
contains "progress line shows the dev CER" "$T/err" "dev CER"
# ... and every update at ACCENT_PROGRESS_SECONDS=0; none with --quiet
ACCENT_PROGRESS_SECONDS=0 "$TRAIN" $COMMON --out out2 --steps 3 --eval-every 0 >"$T/out" 2>"$T/err"
for k in 1 2 3; do contains "progress line at step $k of 3 (period 0)" "$T/err" "train: $k/3 steps"; done
"$TRAIN" $COMMON --out out3 --steps 2 --eval-every 1 --quiet >"$T/out" 2>"$T/err"
same "--quiet: no progress line" "$(grep -c 'steps/s' "$T/err")" 0
expect "--data-lang all trains on every language" 0 "$TRAIN" $COMMON --out out4 --steps 1 --data-lang all --quiet
contains "all languages counted" "$T/out" "$(q "SELECT count(*) FROM utterances WHERE split = 'train'") train"

# --- nothing to train on: the message names the real cause
expect "train --lang with no utterances: exit 3" 3 "$TRAIN" --manifest data.db --model model --lang xyz --out o5 --steps 1
contains "names the missing language" "$T/err" "no utterances of language 'xyz'"
contains "lists the languages there are" "$T/err" "tst 10, eng 3"
# every tst utterance flagged by align (a threshold above any confidence flags all)
expect "align run flags everything" 0 "$ALIGN" run --lang tst --model model --manifest data.db --low-conf 1 --quiet
same "all flagged" "$(q "SELECT count(*) FROM alignments WHERE flags != 0")" 10
expect "train with everything flagged: exit 3" 3 "$TRAIN" $COMMON --out o6 --steps 1
contains "names the flags" "$T/err" "are flagged by \`align run\`"
contains "hints --include-flagged" "$T/err" "--include-flagged"
expect "--include-flagged trains" 0 "$TRAIN" $COMMON --out o7 --steps 1 --include-flagged --quiet
# no dev utterances: a warning
q "UPDATE utterances SET split = 'train' WHERE split = 'dev'"
expect "train without dev" 0 "$TRAIN" $COMMON --out o8 --steps 1 --include-flagged --quiet
contains "warns about 0 dev utterances" "$T/err" "warning: no usable dev utterances"

# --- exit statuses as the README documents them
expect "db stats without a manifest: 4" 4 "$DB" stats --manifest nope.db
expect "train without a manifest: 4" 4 "$TRAIN" --manifest nope.db --model model --lang tst --out o9
# a model for language 'imp' (the tst adapter under another name)
cp -r model model2
cp model/adapter.tst.safetensors model2/adapter.imp.safetensors
sed 's/"tst"/"imp"/' model/vocab.json > model2/vocab.json
expect "align run for a language with no utterances: 3" 3 "$ALIGN" run --lang imp --model model2 --manifest data.db --quiet
contains "align names the languages there are" "$T/err" "(it has: tst 10, eng 3)"
# a transcript far too long for its audio cannot be aligned: every utterance fails
mkdir -p long
for n in 1 2; do
	espeak-ng -w "long/l$n.wav" "a bad cafe number $n"
	awk 'BEGIN { for (i = 0; i < 60; i++) printf "abcdefg "; print "" }' > "long/l$n.txt"
done
expect "prep ingest impossible transcripts" 0 "$PREP" ingest --layout folder --lang imp --manifest data.db --no-balance long
expect "align run where every utterance fails: 3" 3 "$ALIGN" run --lang imp --model model2 --manifest data.db --quiet
contains "says every utterance failed" "$T/err" "all 2 utterances aligned in this run failed"
expect "transcribe --lang missing from the vocabulary: 3" 3 "$TR" --model model --lang xyz audio/s2-u1.wav

# --- transcribe and align: the same words for a missing adapter
mkdir -p noad
cp model/config.json model/model.safetensors noad/
sed 's/"tst"/"amh"/' model/vocab.json | sed 's/^{/{"tst": {"<pad>": 0, "<s>": 1, "<\/s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6, "c": 7, "d": 8, "e": 9, "f": 10, "g": 11}, /' > noad/vocab.json
cp model/adapter.tst.safetensors noad/adapter.tst.safetensors
expect "transcribe without the adapter: 3" 3 "$TR" --model noad --lang amh audio/s2-u1.wav
contains "transcribe: no adapter" "$T/err" "has no adapter for language 'amh'"
cp "$T/err" tr.err
expect "align without the adapter: 3" 3 "$ALIGN" run --model noad --lang amh --manifest data.db
contains "align: no adapter" "$T/err" "has no adapter for language 'amh'"
same "transcribe and align say the same" "$(grep '^error' tr.err)" "$(grep '^error' "$T/err")"

# --- checks at load: the CTC blank and the sampling rate
cp -r model badpad
sed 's/"pad_token_id": *0/"pad_token_id": 4/' model/config.json > badpad/config.json
expect "pad_token_id != <pad>: 3" 3 "$TR" --model badpad --lang tst audio/s2-u1.wav
contains "names both blanks" "$T/err" "pad_token_id 4"
contains "names <pad>" "$T/err" "<pad> = 0"
cp -r model badrate
if [ -f model/preprocessor_config.json ]; then
	sed 's/"sampling_rate": *16000/"sampling_rate": 8000/' model/preprocessor_config.json > badrate/preprocessor_config.json
else
	echo '{"sampling_rate": 8000}' > badrate/preprocessor_config.json
fi
expect "sampling_rate 8000 refused: 3" 3 "$TR" --model badrate --lang tst audio/s2-u1.wav
contains "names the sampling rate" "$T/err" "sampling_rate 8000"
expect "train refuses it too" 3 "$TRAIN" --manifest data.db --model badrate --lang tst --out o10 --steps 1 --include-flagged

# --- synth finds its sentence files from anywhere: next to bin/ of the source
#     tree, and in an installed prefix (the layout `make install` writes)
mkdir -p elsewhere inst/bin inst/share/accent/text tree/bin tree/data/text
cp "$SYNTH" tree/bin/synth && cp "$SRC/data/text/"*.txt tree/data/text/
expect "bin/synth of a source tree run outside the tree" 0 sh -c "cd elsewhere && ../tree/bin/synth --out c --layout folder --langs eng --speakers 1 --utts-per-speaker 1 --quiet"
cp "$SYNTH" inst/bin/synth
expect "an installed synth without its texts: 3" 3 sh -c "cd elsewhere && ../inst/bin/synth --out c2 --layout folder --langs eng --speakers 1 --utts-per-speaker 1 --quiet"
contains "says where it looked" "$T/err" "inst/bin/../share/accent/text"
cp "$SRC/data/text/"*.txt inst/share/accent/text/
expect "an installed synth finds PREFIX/share/accent/text" 0 sh -c "cd elsewhere && ../inst/bin/synth --out c3 --layout folder --langs eng --speakers 1 --utts-per-speaker 1 --quiet"

# --- the other commands name the languages there are
expect "train lm for a missing language: 3" 3 "$TRAIN" lm --manifest data.db --lang en --out x.arpa
contains "train lm lists the languages" "$T/err" "the manifest has: tst"
expect "db export for a missing language: 3" 3 "$DB" export --manifest data.db --format nemo --out exp --lang en
contains "db export lists the languages" "$T/err" "the manifest has: tst"
expect "transcribe --manifest for a missing language: 3" 3 "$TR" --model model2 --lang imp --manifest data.db --split dev
contains "transcribe lists the languages" "$T/err" "the manifest has: tst"

# --- prep ingest: text options, 2-letter codes to ISO 639-3; prep relabel
mkdir -p txt
espeak-ng -w txt/a1.wav "cafe naive words" && printf 'Café NAÏVE 123 words\n' > txt/a1.txt
espeak-ng -w txt/a2.wav "katab al walad" && printf '\331\203\331\216\330\252\331\216\330\250\331\216 \330\247\331\204\331\210\331\204\330\257\331\217\n' > txt/a2.txt
expect "prep ingest with text options" 0 "$PREP" ingest --layout folder --lang cy --manifest t.db --no-balance \
	--strip-diacritics --drop-digit-tokens --strip-harakat txt
contains "says how the code was mapped" "$T/err" "language: 'cy' is ISO 639-3 'cym'"
same "2-letter code stored as ISO 639-3" "$(sqlite3 t.db "SELECT DISTINCT lang FROM utterances")" cym
same "diacritics stripped, digit token dropped" "$(sqlite3 t.db "SELECT text_norm FROM utterances WHERE utt_key LIKE '%a1'")" "cafe naive words"
same "harakat removed" "$(sqlite3 t.db "SELECT text_norm FROM utterances WHERE utt_key LIKE '%a2'")" "$(printf '\331\203\330\252\330\250 \330\247\331\204\331\210\331\204\330\257')"
same "the profile names the options" "$(sqlite3 t.db "SELECT DISTINCT norm_profile LIKE '%+strip%' AND norm_profile LIKE '%+dropdigits%' AND norm_profile LIKE '%+harakat%' FROM utterances")" 1
mkdir -p tur/spk
espeak-ng -w tur/spk/t1.wav "irmak" && printf 'IRMAK KIYI\n' > tur/spk/t1.txt
expect "prep ingest --lang en" 0 "$PREP" ingest --layout folder --lang en --manifest t.db --no-balance tur
same "English lowercasing" "$(sqlite3 t.db "SELECT lang || ' ' || text_norm FROM utterances WHERE utt_key LIKE '%t1'")" "eng irmak kiyi"
expect "prep relabel --help" 0 "$PREP" relabel --help
expect "prep relabel without --lang: usage" 2 "$PREP" relabel --manifest t.db --from eng
expect "prep relabel to Turkish" 0 "$PREP" relabel --manifest t.db --from eng --lang tr
contains "relabel summary" "$T/out" "1 relabeled, 1 with a new normalized text"
same "relabeled and normalized again (Turkish dotless i)" "$(sqlite3 t.db "SELECT lang || ' ' || text_norm || ' ' || norm_profile FROM utterances WHERE utt_key LIKE '%t1'")" "tur ırmak kıyı default-tur"
same "the speaker follows" "$(sqlite3 t.db "SELECT lang FROM speakers WHERE id = (SELECT speaker_id FROM utterances WHERE utt_key LIKE '%t1')")" tur
same "other languages untouched" "$(sqlite3 t.db "SELECT count(*) FROM utterances WHERE lang = 'cym'")" 2
same "a runs row" "$(sqlite3 t.db "SELECT count(*) FROM runs WHERE stage = 'relabel' AND exit_code = 0")" 1
expect "prep relabel with nothing selected: 3" 3 "$PREP" relabel --manifest t.db --from eng --lang tr
contains "names the languages there are" "$T/err" "the manifest has: cym 2, tur 1"
# against a model's languages: a macrolanguage becomes the individual language it has
"$MK" --out mms --preset tiny --seed 3 --langs pes,prs,cym >/dev/null 2>&1
expect "prep relabel --model" 0 "$PREP" relabel --manifest t.db --from cym --lang fa --model mms
contains "says what was chosen" "$T/err" "'fa' is ISO 639-3 'fas', a macrolanguage; the model has its individual language 'pes' (also: prs)"
same "labelled with the model's code" "$(sqlite3 t.db "SELECT count(*) FROM utterances WHERE lang = 'pes'")" 2
expect "prep relabel --corpus (a relative path)" 0 "$PREP" relabel --manifest t.db --corpus ./txt/ --lang cy
same "only that corpus relabeled" "$(sqlite3 t.db "SELECT group_concat(lang, ',') FROM (SELECT DISTINCT lang FROM utterances ORDER BY lang)")" "cym,tur"

echo "# firsthour.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
