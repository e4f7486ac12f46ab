#!/bin/sh
# tools/demo.sh — `make demo`: the whole accent pipeline end to end on a
# synthesized two-language corpus (Spanish + Amharic), with measured accuracy.
#
# Why Spanish for the base model: with no pretrained MMS weights to download,
# step 3 trains a small wav2vec2 from scratch, and a character CTC model learns
# a language whose spelling follows its sound (Spanish) from the few tens of
# minutes of audio a 15-minute demo can synthesize and train on; English
# spelling would need far more.  The sentences are composed from word lists
# (tools/text/compose_spa.py) so that held-out speakers say held-out
# sentences: after ingest, `db split --distinct-text` keeps every test and dev
# sentence out of the train split.
#
#   1. synthesize the corpus (espeak-ng voices, ground-truth word timings)
#   2. prep ingest -> $DEMO_DIR/data.db, db stats
#   3. the base model: full training from scratch when `train` can do it,
#      else a RANDOM-weight model (said loudly), or DEMO_MODEL=<HF dir>
#   4. align run (both languages); long recordings segmented; exports
#   5. adapter training for Amharic on the frozen base (when `train` can)
#   6. n-gram LM, greedy + LM beam evaluation (CER/WER), alignment accuracy
#      against the synthesizer's truth (aligneval), the SQL to try next
#   and last, db report: everything above on one HTML page,
#   $DEMO_DIR/report.html, whose path is the last line printed
#
# Re-runnable: a step whose output is present and made with the same
# settings (a stamp file in $DEMO_DIR/.stamps) is skipped; align, eval and
# the reports are incremental or cheap and always run.  Wall time of each
# step is printed and written to $DEMO_DIR/timings.tsv; with DEMO_BENCH=1
# (`make bench-demo`) a section is appended to bench/RESULTS.md.
#
# Environment (all optional):
#   BINDIR          binaries (default bin)          DEMO_DIR  output (default demo)
#   DEMO_MODEL      an existing Hugging Face/MMS model directory with spa and
#                   amh in its vocab.json (e.g. mms-1b-all): step 3 is skipped
#   DEMO_SPEAKERS   speakers per language (default 16)
#   DEMO_UTTS       clips per speaker (default 50)
#   DEMO_SEED       corpus seed (default 7)
#   DEMO_BASE_STEPS, DEMO_BASE_LR        full training of the base (5000, 2e-3)
#   DEMO_ADAPTER_STEPS, DEMO_ADAPTER_LR  amh adapter training (1500, 3e-3)
#   DEMO_MODEL_SHAPE  mkmodel options of the base (default below)
#   DEMO_BASE_FREEZE  what trains in step 3 (default full+conv)
# (training batches: 8 s of audio; small batches = many updates, which is
# what gets a from-scratch CTC model off its all-blank plateau quickly)
#   DEMO_BENCH      1: append the results to bench/RESULTS.md
# Runs from the repository root (for data/text); writes only under DEMO_DIR.
set -u

BINDIR=${BINDIR:-bin}
DEMO_DIR=${DEMO_DIR:-demo}
SPEAKERS=${DEMO_SPEAKERS:-16}
UTTS=${DEMO_UTTS:-50}
SEED=${DEMO_SEED:-7}
BASE_STEPS=${DEMO_BASE_STEPS:-5000}
BASE_LR=${DEMO_BASE_LR:-2e-3}
ADAPTER_STEPS=${DEMO_ADAPTER_STEPS:-1500}
ADAPTER_LR=${DEMO_ADAPTER_LR:-3e-3}
# the base model's shape (bin/mkmodel; 0.7 M parameters) and what trains of it
MODEL_SHAPE=${DEMO_MODEL_SHAPE:---conv-dim 64 --hidden 128 --layers 4 --ffn 256 --heads 4 --adapter-dim 32}
BASE_FREEZE=${DEMO_BASE_FREEZE:-full+conv}
ROOT=$(pwd)
TEXT_DIR=$ROOT/data/text

die() { printf '\ndemo: error: %s\n' "$*" >&2; exit 1; }
abspath() { (cd "$1" 2>/dev/null && pwd); }

BIN=$(abspath "$BINDIR") || die "no binary directory '$BINDIR' (run 'make' first)"
for b in synth prep db mkmodel align aligneval; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is not built (run 'make BINDIR=$BINDIR all')"
done
[ -f "$TEXT_DIR/spa.txt" ] && [ -f "$TEXT_DIR/amh.txt" ] || die "run me from the repository root (data/text missing)"
mkdir -p "$DEMO_DIR/.stamps" || die "cannot create $DEMO_DIR"
D=$(abspath "$DEMO_DIR")
DB=$D/data.db
ST=$D/.stamps
TIMES=$D/timings.tsv
: > "$TIMES"
DEMO_T0=$(date +%s.%N)
NOTES=""   # what this run did NOT do, repeated at the end

note() { NOTES="$NOTES
  - $*"; }
q() { "$BIN/db" --manifest "$DB" query "$@"; }
qv() { "$BIN/db" --manifest "$DB" query --format csv "$1" | sed -n 2p; }   # one value
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

step() {   # step N "headline"
	STEP=$1
	STEP_T0=$(date +%s.%N)
	printf '\n==> [%s/6] %s\n' "$1" "$2"
}
step_done() {   # step_done label status
	t=$(elapsed "$STEP_T0")
	printf '    [%s/6] %s: %s s (%s)\n' "$STEP" "$1" "$t" "$2"
	printf '%s\t%s\t%s\t%s\n' "$STEP" "$1" "$t" "$2" >> "$TIMES"
}
stamp_ok() { [ -f "$ST/$1" ] && [ "$(cat "$ST/$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" > "$ST/$1.tmp" && mv "$ST/$1.tmp" "$ST/$1"; }
banner() {
	printf '\n  ************************************************************************\n'
	while [ $# -gt 0 ]; do printf '  *  %-68s*\n' "$1"; shift; done
	printf '  ************************************************************************\n'
}

# train's abilities: the subcommands `lm`/`eval` and, when built, adapter and
# full training (`train run`).  Probed, not assumed.
HAVE_TRAIN=0; HAVE_EVAL=0
if [ -x "$BIN/train" ]; then
	"$BIN/train" eval --help >/dev/null 2>&1 && "$BIN/train" lm --help >/dev/null 2>&1 && HAVE_EVAL=1
	"$BIN/train" run --help > "$D/.train-help" 2>&1 && HAVE_TRAIN=1
fi

printf 'accent demo: %s speakers x %s clips per language (spa, amh), seed %s, in %s\n' "$SPEAKERS" "$UTTS" "$SEED" "$D"
printf 'cores: %s, binaries: %s\n' "$(nproc 2>/dev/null || echo '?')" "$BIN"

# ---------------------------------------------------------------------------
step 1 "Synthesize the corpus (espeak-ng, ground-truth word timings in */_truth/)"
# clips: kaldi layout, both languages, N speakers each, plus one long
# recording per language described by kaldi segments; long-<lang>: MMS-style
# long recordings (one audio + one text line per sentence) that `prep` cuts at
# pauses and `align` segments.
synth_one() {   # name args...
	name=$1; shift
	want="$*"
	if stamp_ok "synth-$name" "$want" && [ -s "$D/corpus/$name/_truth/words.tsv" ]; then
		echo "  $name: present (skipped)"; return 0
	fi
	rm -rf "$D/corpus/$name"
	"$BIN/synth" --out "$D/corpus/$name" --text-dir "$TEXT_DIR" "$@" || die "synth $name failed"
	stamp_set "synth-$name" "$want"
	SYNTH_RAN=1
}
SYNTH_RAN=0
mkdir -p "$D/corpus"
synth_one clips --layout kaldi --langs spa,amh --speakers "$SPEAKERS" --utts-per-speaker "$UTTS" --long 1 --utts-per-long 8 --seed "$SEED"
synth_one long-spa --layout longform --langs spa --speakers 2 --long 1 --utts-per-long 8 --seed "$((SEED + 1))"
synth_one long-amh --layout longform --langs amh --speakers 2 --long 1 --utts-per-long 8 --seed "$((SEED + 2))"
if [ $SYNTH_RAN = 1 ]; then
	# a new corpus invalidates everything made from the old one
	rm -f "$DB" "$DB-wal" "$DB-shm" "$ST"/ingest-* "$ST/model" "$ST/adapters" "$D"/lm.*.arpa
fi
step_done synth "$([ $SYNTH_RAN = 1 ] && echo ran || echo skipped)"

# ---------------------------------------------------------------------------
step 2 "Ingest into the manifest ($DB)"
INGEST_RAN=0
ingest_one() {   # name [--lang L]
	name=$1; shift
	want="$(cat "$ST/synth-$name") $*"
	if [ -f "$DB" ] && stamp_ok "ingest-$name" "$want" &&
	   [ "$(qv "SELECT count(*) FROM corpora WHERE root = '$(printf %s "$D/corpus/$name" | sed "s/'/''/g")'")" = 1 ]; then
		echo "  $name: already ingested (skipped)"; return 0
	fi
	echo "  prep ingest corpus/$name $*"
	"$BIN/prep" ingest --manifest "$DB" "$@" "$D/corpus/$name" || die "prep ingest $name failed"
	stamp_set "ingest-$name" "$want"
	INGEST_RAN=1
}
ingest_one clips
ingest_one long-spa --lang spa
ingest_one long-amh --lang amh
if [ $INGEST_RAN = 1 ]; then
	# Held-out speakers must also say held-out sentences (else the test
	# measures memorized sentences and the train-split LM knows them): a
	# sentence of a test or dev speaker leaves the train split; the balance
	# weights are then recomputed over what remains.
	echo "  db split --distinct-text; db weights"
	"$BIN/db" --manifest "$DB" split --distinct-text > "$D/split.txt" || die "db split failed"
	"$BIN/db" --manifest "$DB" weights > /dev/null || die "db weights failed"
	sed 's/^/    /' "$D/split.txt"
fi
echo
"$BIN/db" --manifest "$DB" stats --speakers 6 || die "db stats failed"
step_done ingest "$([ $INGEST_RAN = 1 ] && echo ran || echo skipped)"

# ---------------------------------------------------------------------------
step 3 "The base model"
MODEL_KIND=""
if [ -n "${DEMO_MODEL:-}" ]; then
	MODEL=$(abspath "$DEMO_MODEL") || die "DEMO_MODEL=$DEMO_MODEL is not a directory"
	[ -f "$MODEL/config.json" ] || die "$MODEL has no config.json (a Hugging Face model directory is needed)"
	echo "  using your checkpoint $MODEL (DEMO_MODEL): no base training"
	MODEL_KIND=user
	step_done model "user checkpoint"
else
	MODEL=$D/model
	want="$(cat "$ST"/synth-*) train=$HAVE_TRAIN seed=$SEED steps=$BASE_STEPS lr=$BASE_LR shape=$MODEL_SHAPE"
	if stamp_ok model "$want" && [ -f "$MODEL/config.json" ] && [ -f "$MODEL/vocab.json" ]; then
		MODEL_KIND=$(cat "$ST/model-kind")
		echo "  $MODEL: present ($MODEL_KIND; skipped)"
		step_done model skipped
	else
		rm -rf "$MODEL" "$D/model.tmp"
		# the corpus' characters, one set shared by spa and amh (tools/demo-vocab.sh)
		V=$(DB_BIN="$BIN/db" sh "$ROOT/tools/demo-vocab.sh" "$DB" "$D/vocab.json" spa amh) ||
			die "cannot build the vocabulary"
		echo "  vocabulary: $V tokens (characters of the spa + amh transcripts, shared)"
		echo "  model: mkmodel --preset tiny $MODEL_SHAPE"
		"$BIN/mkmodel" --out "$D/model.tmp" --preset tiny $MODEL_SHAPE --langs spa,amh --vocab-size "$V" --seed "$SEED" ||
			die "mkmodel failed"
		cp "$D/vocab.json" "$D/model.tmp/vocab.json"
		MODEL_KIND=random
		if [ $HAVE_TRAIN = 1 ]; then
			# From scratch: every weight trained (--freeze $BASE_FREEZE) on the
			# Spanish train split; flagged utterances included because nothing
			# has been aligned by a trustworthy model yet.
			echo "  full training from scratch on spa: $BASE_STEPS steps, lr $BASE_LR (train run --freeze $BASE_FREEZE)"
			rm -rf "$D/model.train"
			if "$BIN/train" run --manifest "$DB" --model "$D/model.tmp" --lang spa --data-lang spa \
				--freeze "$BASE_FREEZE" --include-flagged --steps "$BASE_STEPS" --lr "$BASE_LR" --batch-seconds 8 \
				--warmup "$((BASE_STEPS / 20))" --eval-every "$((BASE_STEPS / 10))" --out "$D/model.train"; then
				# the amh adapter and vocabulary of the random init stay: step 5
				# replaces the adapter by a trained one
				cp "$D/model.tmp/adapter.amh.safetensors" "$D/model.train/" 2>/dev/null
				rm -rf "$D/model.tmp"
				mv "$D/model.train" "$D/model.tmp"
				MODEL_KIND=trained
			else
				echo "  demo: full training failed; continuing with the random model"
				note "step 3: full training failed (see above)"
			fi
		fi
		mv "$D/model.tmp" "$MODEL"
		printf '%s\n' "$MODEL_KIND" > "$ST/model-kind"
		stamp_set model "$want"
		step_done model "$MODEL_KIND"
	fi
	if [ "$MODEL_KIND" = random ]; then
		banner "NO BASE MODEL WAS TRAINED: \`train\` cannot train yet in this build." \
		       "Step 3 wrote a RANDOM-WEIGHT model (bin/mkmodel, 'tiny' shape, the" \
		       "corpus' characters as vocabulary).  Every number below measures the" \
		       "MECHANICS (rows, exports, decoding), NOT accuracy.  With a real MMS" \
		       "checkpoint:  make demo DEMO_MODEL=/path/to/mms-1b-all"
		note "step 3: base model is RANDOM (mkmodel), not trained: accuracy figures are meaningless"
	fi
fi

# ---------------------------------------------------------------------------
step 4 "Forced alignment (align run) and segmentation of the long recordings"
# amh with the adapted model when a previous run trained it (else every
# re-run would re-align amh with the base, then again in step 6)
AMH_MODEL=$MODEL
if [ $HAVE_TRAIN = 1 ] && [ -f "$D/adapted/adapter.amh.safetensors" ] &&
   stamp_ok adapters "$MODEL $MODEL_KIND $(cat "$ST/model" 2>/dev/null) $ADAPTER_STEPS $ADAPTER_LR"; then
	AMH_MODEL=$D/adapted
fi
"$BIN/align" run --manifest "$DB" --model "$MODEL" --lang spa || die "align run --lang spa failed"
"$BIN/align" run --manifest "$DB" --model "$AMH_MODEL" --lang amh || die "align run --lang amh failed"
echo
q "SELECT lang, aligned, flagged, impossible, low_confidence, rate, edge, oov, error FROM align_flag_counts"
echo "  long recordings cut into utterances:"
q "SELECT r.path, count(*) AS utterances, round(min(u.end_s - u.start_s), 2) AS shortest_s,
          round(max(u.end_s - u.start_s), 2) AS longest_s
   FROM align_segments AS g JOIN recordings AS r ON r.id = g.recording_id JOIN utterances AS u ON u.id = g.utterance_id
   GROUP BY r.id ORDER BY r.path"
nfail=$(qv "SELECT count(*) FROM alignments WHERE status != 'ok'")
nall=$(qv "SELECT count(*) FROM alignments")
if [ "$nall" -gt 0 ] && [ "$nfail" = "$nall" ]; then
	q "SELECT message, count(*) AS n FROM alignments GROUP BY message ORDER BY n DESC LIMIT 3"
	die "every alignment failed (see the messages above)"
fi
rm -rf "$D/exports"
mkdir -p "$D/exports"
"$BIN/align" export --manifest "$DB" --format ctm --out "$D/exports" >/dev/null &&
"$BIN/align" export --manifest "$DB" --format textgrid --out "$D/exports/textgrid" >/dev/null &&
"$BIN/align" export --manifest "$DB" --format json --out "$D/exports" >/dev/null ||
	die "align export failed"
echo "  exports: $D/exports/alignments.ctm ($(wc -l < "$D/exports/alignments.ctm") words), alignments.json," \
     "$(ls "$D/exports/textgrid" | wc -l) TextGrids"
step_done align ran

# ---------------------------------------------------------------------------
step 5 "Amharic adapters on the frozen base, speaker-balanced sampling"
ADAPTED=0
if [ $HAVE_TRAIN = 0 ]; then
	echo "  SKIPPED: \`train run\` (adapter training) is not available in this build."
	note "step 5: no adapter training (train run not available); evaluation uses the base model's amh adapter as is"
	step_done adapters "not available"
elif stamp_ok adapters "$MODEL $MODEL_KIND $(cat "$ST/model" 2>/dev/null) $ADAPTER_STEPS $ADAPTER_LR" && [ -f "$D/adapted/adapter.amh.safetensors" ]; then
	ADAPTED=1; echo "  $D/adapted: present (skipped)"; step_done adapters skipped
else
	rm -rf "$D/adapted"
	cp -r "$MODEL" "$D/adapted"
	# The MMS recipe: a new amh adapter in every layer + its LM head, the base
	# frozen; batches drawn by the manifest's speaker-balance weights.  Flagged
	# utterances are included: step 4 aligned amh with the base's untrained
	# amh adapter, so its flags say nothing about the transcripts yet.
	echo "  adapter training: $ADAPTER_STEPS steps, lr $ADAPTER_LR (train run --freeze adapters --sampling balanced)"
	rm -f "$D/adapted/adapter.amh.safetensors"
	rm -rf "$D/adapted.out"
	if "$BIN/train" run --manifest "$DB" --model "$D/adapted" --lang amh --data-lang amh --freeze adapters \
		--sampling balanced --include-flagged --steps "$ADAPTER_STEPS" --lr "$ADAPTER_LR" --batch-seconds 8 \
		--warmup "$((ADAPTER_STEPS / 10))" --eval-every "$((ADAPTER_STEPS / 3))" --out "$D/adapted.out" &&
	   cp "$D/adapted.out"/* "$D/adapted/" && rm -rf "$D/adapted.out"; then
		ADAPTED=1
		stamp_set adapters "$MODEL $MODEL_KIND $(cat "$ST/model" 2>/dev/null) $ADAPTER_STEPS $ADAPTER_LR"
		step_done adapters trained
	else
		note "step 5: adapter training failed (see above)"
		step_done adapters failed
	fi
fi
EVAL_MODEL=$MODEL
[ $ADAPTED = 1 ] && EVAL_MODEL=$D/adapted

# ---------------------------------------------------------------------------
step 6 "Evaluation: greedy and LM beam decoding (CER/WER), alignment accuracy"
EVAL_SQL="SELECT lang, decoder, beam, alpha, beta, utterances, round(audio_s, 1) AS audio_s,
       round(100 * cer, 2) AS cer_pct, round(100 * wer, 2) AS wer_pct
FROM eval_runs WHERE id IN (SELECT max(id) FROM eval_runs WHERE split = 'test' AND condition = 'clean'
                            AND subset = 'all' GROUP BY lang, decoder)
ORDER BY lang, decoder DESC"
CURVE_SQL="SELECT r.id AS run, r.lang, r.strategy, m.step, round(m.loss, 3) AS dev_loss,
       round(100 * m.cer, 1) AS cer_pct, round(100 * m.wer, 1) AS wer_pct
FROM train_metrics AS m JOIN train_runs AS r ON r.id = m.train_run_id
WHERE m.split = 'dev' AND r.status != 'failed' ORDER BY r.id, m.step"
if [ $HAVE_EVAL = 1 ]; then
	for l in amh spa; do
		if [ ! -s "$D/lm.$l.arpa" ] || [ $INGEST_RAN = 1 ]; then
			"$BIN/train" lm --manifest "$DB" --lang "$l" --order 3 --out "$D/lm.$l.arpa" --ppl ||
				die "train lm --lang $l failed"
		else
			echo "  lm.$l.arpa: present (skipped)"
		fi
	done
	for l in amh spa; do
		echo
		echo "  --- $l, test split (held-out speakers) ---"
		"$BIN/train" eval --manifest "$DB" --model "$EVAL_MODEL" --lang "$l" --split test \
			--lm "$D/lm.$l.arpa" --beam 16 --worst 3 > "$D/eval.$l.txt" 2>&1 || {
			cat "$D/eval.$l.txt"; die "train eval --lang $l failed"; }
		grep -A3 'worst utterances' "$D/eval.$l.txt" | head -4
	done
	echo
	echo "  CER/WER on the test split (latest evaluation of each language and decoder):"
	q "$EVAL_SQL"
	echo "  (full reports with per-speaker/gender/duration tables: $D/eval.amh.txt, $D/eval.spa.txt)"
else
	echo "  SKIPPED: train lm/eval are not built"
	note "step 6: no LM / CER-WER evaluation (train lm/eval not built)"
fi
if [ "$(qv "SELECT count(*) FROM sqlite_master WHERE name = 'train_metrics'")" = 1 ] &&
   [ "$(qv "SELECT count(*) FROM train_metrics WHERE split = 'dev'")" != 0 ]; then
	echo
	echo "  learning curves (dev split, from the manifest's train_metrics):"
	q "$CURVE_SQL"
fi
if [ $ADAPTED = 1 ] && [ "$AMH_MODEL" != "$D/adapted" ]; then
	# the adapted model is another model: its amh alignments replace the
	# base's (align re-aligns what an older model produced)
	echo
	echo "  re-aligning amh with the adapted model:"
	"$BIN/align" run --manifest "$DB" --model "$D/adapted" --lang amh || die "align run (adapted) failed"
fi
echo
echo "  alignment accuracy against the synthesizer's word timings:"
"$BIN/aligneval" --manifest "$DB" --truth "$D/corpus/clips/_truth" --truth "$D/corpus/long-spa/_truth" \
	--truth "$D/corpus/long-amh/_truth" | sed 's/^/    /' || die "aligneval failed"
"$BIN/aligneval" --manifest "$DB" --truth "$D/corpus/clips/_truth" --truth "$D/corpus/long-spa/_truth" \
	--truth "$D/corpus/long-amh/_truth" --json > "$D/aligneval.json" 2>/dev/null
echo "    (published: MFA 21-27 ms, torchaudio MMS aligner 37-48 ms mean on TIMIT/Buckeye)"
[ "$MODEL_KIND" = random ] && echo "    RANDOM MODEL: these errors measure nothing but the plumbing."
step_done eval ran

# ---------------------------------------------------------------------------
TOTAL=$(elapsed "$DEMO_T0")
printf 'total\ttotal\t%s\t-\n' "$TOTAL" >> "$TIMES"
printf '\n==> Done in %s s.  Wall time per step:\n' "$TOTAL"
awk -F '\t' '{ printf "    %-9s %8s s  %s\n", $2, $3, $4 }' "$TIMES"
[ -n "$NOTES" ] && printf '\nWhat this run did NOT do:%s\n' "$NOTES"

DBREL=$DB
case "$DB" in "$ROOT"/*) DBREL=${DB#"$ROOT"/} ;; esac
cat <<EOF

==> Try next (sqlite3 $DBREL, or bin/db --manifest $DBREL query "..."):
  SELECT * FROM hours_by_lang_split;
  SELECT label, lang, gender, hours FROM hours_by_speaker ORDER BY hours DESC LIMIT 10;
  SELECT utt_key, min_window_logp, flag_names, text_norm FROM align_quality
    WHERE lang = 'amh' ORDER BY min_window_logp LIMIT 10;          -- worst transcripts
  SELECT * FROM align_flag_counts;
  SELECT word, round(start_s, 2), round(end_s, 2), round(score, 3) FROM align_words
    WHERE utterance_id = (SELECT min(utterance_id) FROM align_segments) ORDER BY idx;
  SELECT step, loss, cer, wer FROM train_metrics                   -- learning curve of the last run
    WHERE train_run_id = (SELECT max(id) FROM train_runs) AND split = 'dev' ORDER BY step;
  SELECT * FROM eval_by_speaker;                                    -- CER/WER per held-out speaker
  SELECT * FROM eval_worst LIMIT 10;
EOF

if [ "${DEMO_BENCH:-0}" = 1 ]; then
	RES=$ROOT/bench/RESULTS.md
	{
		printf '\n## make demo (tools/demo.sh, helper demo) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
		printf 'Machine: %s, %s cores.  Corpus: %s speakers x %s clips per language (spa, amh) + long recordings, %s h of audio.  Base model: %s.\n\n' \
			"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" "$SPEAKERS" "$UTTS" \
			"$(qv "SELECT round(sum(duration_s) / 3600, 3) FROM recordings")" "$MODEL_KIND"
		printf '| step | stage | wall s | status |\n|---|---|---|---|\n'
		awk -F '\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$TIMES"
		printf '\nAlignment accuracy (bin/aligneval vs the synthesizer truth):\n\n```\n'
		"$BIN/aligneval" --manifest "$DB" --truth "$D/corpus/clips/_truth" --truth "$D/corpus/long-spa/_truth" \
			--truth "$D/corpus/long-amh/_truth"
		printf '```\n'
		if [ $HAVE_EVAL = 1 ]; then
			printf '\nCER/WER on the test split (held-out speakers):\n\n```\n'
			q "$EVAL_SQL"
			printf '```\n'
		fi
		if [ "$(qv "SELECT count(*) FROM sqlite_master WHERE name = 'train_metrics'")" = 1 ]; then
			printf '\nLearning curves (dev):\n\n```\n'
			q "$CURVE_SQL"
			printf '```\n'
		fi
		[ "$MODEL_KIND" = random ] && printf '\nThe base model was RANDOM (no training available): accuracy figures measure nothing.\n'
	} >> "$RES"
	echo "appended the results to bench/RESULTS.md"
fi
# ---------------------------------------------------------------------------
# The report: corpus, alignment, learning curves and evaluation on one
# self-contained page (db report; cheap, always written).
"$BIN/db" --manifest "$DB" report --out "$D/report.html" > /dev/null || die "db report failed"
REPORT=$D/report.html
case "$REPORT" in "$ROOT"/*) REPORT=${REPORT#"$ROOT"/} ;; esac
printf '\n==> Report (open it in any browser, it needs no network):\n%s\n' "$REPORT"
exit 0
