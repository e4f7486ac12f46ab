#!/bin/sh
# tests/pipeline.sh — the `make demo` pipeline, reduced, inside `make test`:
# a synthesized corpus (Spanish clips of 12 speakers, a few Amharic clips,
# one MMS-style long Amharic recording) -> prep ingest -> a small base model
# trained from scratch on Spanish (`train run --freeze full+conv`, ~1.5 min
# on 2 cores) -> Amharic adapters (mechanics) -> align run (+ segmentation)
# -> exports -> alignment accuracy against the synthesizer's truth
# (aligneval) -> n-gram LM and greedy/beam evaluation (train lm/eval).
#
# Accuracy is asserted on held-out speakers saying held-out sentences: CER
# of the trained base and its word-boundary error (thresholds justified
# below).  Without `train run` the model stays random and only the mechanics
# are asserted.
# Prints "# pipeline.sh: N passed, N failed".  BINDIR: the binaries.
BINDIR=${BINDIR:-bin}
ROOT=$(pwd)
BIN=$(cd "$BINDIR" 2>/dev/null && pwd)
. "$(dirname "$0")/check.sh"
finish() { echo "# pipeline.sh: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
run() {   # run "name" cmd... : must exit 0
	name=$1; shift
	if "$@" >"$T/out" 2>"$T/err"; then ok "$name"; else ko "$name (exit $?)"; sed 's/^/    /' "$T/err" | tail -5; fi
}
true_() { if [ "$2" = 1 ]; then ok "$1"; else ko "$1 (got '$2')"; fi; }
jq_() { sqlite3 :memory: "$1"; }   # SQLite's JSON functions read the JSON files

for b in synth prep db mkmodel align aligneval; do
	if [ -z "$BIN" ] || [ ! -x "$BIN/$b" ]; then ko "$BINDIR/$b is built"; finish; fi
done
if ! command -v sqlite3 >/dev/null; then ko "sqlite3 is installed (make deps)"; finish; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/accent-pipeline-XXXXXX") || { ko "mktemp"; finish; }
trap 'rm -rf "$T"' EXIT
HAVE_EVAL=0; HAVE_TRAIN=0
if [ -x "$BIN/train" ]; then
	"$BIN/train" eval --help >/dev/null 2>&1 && HAVE_EVAL=1
	"$BIN/train" run --help >/dev/null 2>&1 && HAVE_TRAIN=1
fi

# ---- 1. corpus: 12 Spanish speakers x 50 clips (enough for a base model to
# learn in ~1,200 steps), 4 Amharic speakers x 3 clips, one long amh recording
run "synth clips (kaldi, spa)" "$BIN/synth" --out "$T/clips" --layout kaldi --langs spa --speakers 12 \
	--utts-per-speaker 50 --seed 3 --text-dir "$ROOT/data/text" --quiet
run "synth clips (kaldi, amh)" "$BIN/synth" --out "$T/clipsa" --layout kaldi --langs amh --speakers 4 \
	--utts-per-speaker 3 --seed 3 --text-dir "$ROOT/data/text" --quiet
run "synth long recording (longform, amh)" "$BIN/synth" --out "$T/long" --layout longform --langs amh --speakers 1 \
	--long 1 --utts-per-long 5 --seed 4 --text-dir "$ROOT/data/text" --quiet
n_truth=$(($(wc -l < "$T/clips/_truth/utterances.tsv") + $(wc -l < "$T/clipsa/_truth/utterances.tsv") - 2))
same "truth: 612 clip utterances" "$n_truth" 612

# ---- 2. prep
run "prep ingest clips (spa)" "$BIN/prep" ingest --manifest "$T/data.db" --quiet "$T/clips"
run "prep ingest clips (amh)" "$BIN/prep" ingest --manifest "$T/data.db" --quiet "$T/clipsa"
run "prep ingest long (--lang amh)" "$BIN/prep" ingest --manifest "$T/data.db" --lang amh --quiet "$T/long"
same "every clip is an utterance" "$(q "SELECT count(*) FROM utterances WHERE status = 'ok'")" "$n_truth"
same "no rejects" "$(q "SELECT count(*) FROM rejects")" 0
same "16 speakers with utterances" "$(q "SELECT count(DISTINCT speaker_id) FROM utterances WHERE status = 'ok'")" 16
true_ "long recording awaits alignment" "$(q "SELECT count(*) > 0 FROM utterances WHERE status = 'needs_align' AND lang = 'amh'")"
true_ "its 5 text lines stored" "$(q "SELECT count(*) = 5 FROM long_texts")"
true_ "every usable utterance has a split" "$(q "SELECT count(*) = 0 FROM utterances WHERE status = 'ok' AND split IS NULL")"
true_ "held-out test speakers in both languages" \
	"$(q "SELECT count(DISTINCT lang) = 2 FROM utterances WHERE split = 'test' AND status = 'ok'")"
run "db stats" "$BIN/db" --manifest "$T/data.db" stats --speakers 0

# ---- 3. the model
MODEL=$T/model
V=$(DB_BIN="$BIN/db" sh "$ROOT/tools/demo-vocab.sh" "$T/data.db" "$T/vocab.json" spa amh)
true_ "vocabulary from the transcripts (Ethiopic + Latin, > 40 tokens)" "$([ "${V:-0}" -gt 40 ] && echo 1)"
# the demo's base shape (tools/demo.sh), 0.7 M parameters
run "mkmodel (random weights, corpus vocabulary)" "$BIN/mkmodel" --out "$MODEL" --preset tiny --conv-dim 64 \
	--hidden 128 --layers 4 --ffn 256 --heads 4 --adapter-dim 32 --langs spa,amh --vocab-size "$V" --seed 5
cp "$T/vocab.json" "$MODEL/vocab.json"
# Training: `train run` when built, from scratch on Spanish, PIPELINE_STEPS
# (default 1200) steps of 8 s batches at lr 2e-3 — the demo's recipe, shorter.
STEPS=${PIPELINE_STEPS:-1200}
TRAINED=0
if [ $HAVE_TRAIN = 1 ]; then
	run "train run --freeze full+conv ($STEPS steps, spa)" "$BIN/train" run --manifest "$T/data.db" --model "$MODEL" \
		--lang spa --data-lang spa --freeze full+conv --include-flagged --steps "$STEPS" --batch-seconds 8 --lr 2e-3 \
		--warmup "$((STEPS / 20))" --eval-every "$(((STEPS + 3) / 4))" --out "$T/trained" --quiet
	if [ -f "$T/trained/model.safetensors" ]; then
		ok "full checkpoint written"
		same "train_runs row done" "$(q "SELECT strategy || ':' || status || ':' || steps_done FROM train_runs")" "full+conv:done:$STEPS"
		same "a train metric per step" "$(q "SELECT count(*) FROM train_metrics WHERE split = 'train'")" "$STEPS"
		true_ "dev evaluations with CER" "$(q "SELECT count(*) >= 1 AND min(cer) >= 0 FROM train_metrics WHERE split = 'dev'")"
		# a random head spreads probability over ~200 tokens (CTC loss ~15
		# per target character); collapsing onto the blank and the frequent
		# letters gets it under 3 within 60 steps: the mean of the last 10
		# steps under a third of the first means the gradients and AdamW work
		true_ "training loss under a third of the first" "$(q "SELECT (SELECT avg(loss) FROM (SELECT loss FROM train_metrics WHERE split = 'train' ORDER BY step DESC LIMIT 10))
			< (SELECT loss FROM train_metrics WHERE split = 'train' ORDER BY step LIMIT 1) / 3")"
		cp "$MODEL/adapter.amh.safetensors" "$T/trained/"
		MODEL=$T/trained
		TRAINED=1
		# the MMS recipe on top: a new amh adapter + head, base frozen, balanced sampling
		run "train run --freeze adapters (amh, balanced)" "$BIN/train" run --manifest "$T/data.db" --model "$MODEL" \
			--lang amh --data-lang amh --freeze adapters --sampling balanced --include-flagged --steps 5 \
			--batch-seconds 8 --eval-every 5 --out "$T/adapted" --quiet
		true_ "adapter.amh written" "$([ -f "$T/adapted/adapter.amh.safetensors" ] && echo 1)"
		same "adapter run recorded" "$(q "SELECT strategy || ':' || sampling FROM train_runs WHERE lang = 'amh'")" "adapters:balanced"
	fi
else
	echo "# note: train run is not built: random model, mechanics only"
fi

# ---- 4. align
for l in spa amh; do
	run "align run --lang $l" "$BIN/align" run --manifest "$T/data.db" --model "$MODEL" --lang "$l"
done
same "every usable utterance aligned" "$(q "SELECT count(*) FROM utterances u JOIN alignments a ON a.utterance_id = u.id WHERE u.status = 'ok'")" \
	"$(q "SELECT count(*) FROM utterances WHERE status = 'ok'")"
same "no failed alignment (finite emissions)" "$(q "SELECT count(*) FROM alignments WHERE status != 'ok'")" 0
same "one align_words row per word" "$(q "SELECT count(*) FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE u.status = 'ok'")" \
	"$(q "SELECT sum(length(text_norm) - length(replace(text_norm, ' ', '')) + 1) FROM utterances WHERE status = 'ok'")"
true_ "long recording segmented" "$(q "SELECT count(*) > 0 FROM utterances WHERE status = 'segmented'")"
true_ "segments cover the 5 lines" "$(q "SELECT min(line_first) = 0 AND max(line_last) = 4 FROM align_segments")"
true_ "words inside their utterance" "$(q "SELECT count(*) = 0 FROM align_words w JOIN utterances u ON u.id = w.utterance_id
	WHERE w.start_s < u.start_s - 1e-9 OR w.end_s > u.end_s + 0.02 OR w.end_s <= w.start_s")"
run "align run again" "$BIN/align" run --manifest "$T/data.db" --model "$MODEL" --lang amh
true_ "second run aligns nothing" "$(grep -c ' 0 aligned' "$T/out")"

# ---- exports parse
run "export ctm" "$BIN/align" export --manifest "$T/data.db" --format ctm --out "$T/exp"
run "export json" "$BIN/align" export --manifest "$T/data.db" --format json --out "$T/exp"
run "export textgrid" "$BIN/align" export --manifest "$T/data.db" --format textgrid --out "$T/exp/tg"
same "CTM: one 6-field line per word, numeric times" \
	"$(awk 'NF == 6 && $3 ~ /^[0-9.]+$/ && $4 ~ /^[0-9.]+$/ && $4 > 0' "$T/exp/alignments.ctm" | wc -l | tr -d ' ')" \
	"$(q "SELECT count(*) FROM align_words w JOIN alignments a USING (utterance_id) WHERE a.status = 'ok' AND coalesce(w.label, 'x') != ''")"
true_ "JSON export is valid JSON" "$(jq_ "SELECT json_valid(readfile('$T/exp/alignments.json'))")"
same "one TextGrid per aligned utterance" "$(ls "$T/exp/tg" | grep -c '\.TextGrid$')" \
	"$(q "SELECT count(*) FROM alignments WHERE status = 'ok'")"

# ---- 5. alignment accuracy against the truth
run "aligneval" "$BIN/aligneval" --manifest "$T/data.db" --truth "$T/clips/_truth" --truth "$T/clipsa/_truth" \
	--truth "$T/long/_truth" --json
cp "$T/out" "$T/ae.json"
J="json(readfile('$T/ae.json'))"
true_ "aligneval JSON valid, 3 rows (amh, spa, all)" "$(jq_ "SELECT json_array_length($J, '\$.langs') = 3")"
# the truth's words, normalized, must find their aligned counterparts: this
# checks the join (paths, text normalization), whatever the model
true_ ">= 95% of the truth words matched" \
	"$(jq_ "SELECT json_extract($J, '\$.langs[2].matched_words') >= 0.95 * json_extract($J, '\$.langs[2].ref_words')")"
true_ "boundaries scored, a mean error reported" \
	"$(jq_ "SELECT json_extract($J, '\$.langs[2].boundaries') > 50 AND json_type($J, '\$.langs[2].mean_ms') = 'real'")"

# ---- 6. LM and evaluation
if [ $HAVE_EVAL = 1 ]; then
	run "train lm (amh, order 3)" "$BIN/train" lm --manifest "$T/data.db" --lang amh --order 3 --out "$T/amh.arpa"
	true_ "ARPA written" "$(grep -c '^\\data\\' "$T/amh.arpa")"
	run "train eval (greedy + beam with LM)" "$BIN/train" eval --manifest "$T/data.db" --model "$MODEL" --lang amh \
		--split test --lm "$T/amh.arpa" --beam 8
	same "eval_runs: greedy and beam" "$(q "SELECT group_concat(decoder) FROM (SELECT decoder FROM eval_runs ORDER BY decoder)")" "beam,greedy"
	same "one eval row per test utterance and decoder" "$(q "SELECT count(*) FROM eval_utterances")" \
		"$(q "SELECT 2 * count(*) FROM utterances WHERE split = 'test' AND lang = 'amh' AND status = 'ok'")"
else
	echo "# note: train lm/eval are not built: no decoding checks"
fi

# ---- accuracy of the trained base on held-out speakers and sentences (the
# default 1,200 steps; `make asan` runs the pipeline with 60 for speed)
if [ $TRAINED = 1 ] && [ $HAVE_EVAL = 1 ] && [ "$STEPS" -ge 1200 ]; then
	same "held-out sentences: no spa test sentence in train" \
		"$(q "SELECT count(*) FROM utterances t WHERE t.lang = 'spa' AND t.split = 'test' AND t.text_norm IN
		      (SELECT text_norm FROM utterances WHERE lang = 'spa' AND split = 'train')")" 0
	run "train eval spa (held-out speakers)" "$BIN/train" eval --manifest "$T/data.db" --model "$MODEL" --lang spa --split test
	cer=$(q "SELECT cer FROM eval_runs WHERE lang = 'spa' AND decoder = 'greedy' ORDER BY id DESC LIMIT 1")
	echo "# held-out spa greedy CER: $cer"
	# 0.85: emitting nothing scores CER 1.0 and a random-weight model scores
	# above 1 (insertions); this recipe measured 0.72 (a loaded machine, same
	# steps).  Below 0.85 the model maps unseen speakers' audio of unseen
	# sentences to their characters; the margin covers run-to-run variation
	# of a 1,200-step from-scratch model.
	true_ "greedy CER on held-out spa speakers < 0.85 (got $cer)" "$(awk -v c="${cer:-9}" 'BEGIN { print (c < 0.85) }')"
	mean=$(jq_ "SELECT json_extract(value, '\$.mean_ms') FROM json_each($J, '\$.langs') WHERE json_extract(value, '\$.lang') = 'spa'")
	echo "# spa mean word-boundary error: $mean ms"
	# 300 ms: a random-weight model's boundaries are off by ~930 ms
	# (measured on the earlier English demo corpus); this recipe measured
	# 205 ms.  Below 300 ms the CTC emissions localize the words; the
	# 20 ms-grid accuracy of a well-trained model (bench/RESULTS.md, make
	# demo) is beyond what 1,200 steps reach.
	true_ "spa word-boundary error < 300 ms on clean synthetic speech (got $mean)" \
		"$(awk -v m="${mean:-9999}" 'BEGIN { print (m < 300) }')"
fi
finish
