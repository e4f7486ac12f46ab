#!/bin/sh
# tools/demo.sh — `make demo`: the whole accent pipeline end to end on a
# synthesized corpus, with measured accuracy.
#
# Default: the project's own multilingual base, models/accent-base (a
# wav2vec2 CTC model trained by `make base-model` on 12 synthesized
# languages; DEMO_BASE=DIR uses another one), and adapters that teach it two
# languages it never heard, in scripts it never saw: Amharic (Ethiopic) and
# Tamil.  Speakers are new (corpus seed 7, the base's is 11) and
# `db split --distinct-text` keeps every test and dev sentence out of the
# train split, so the test measures held-out speakers saying held-out
# sentences.
#
#   1. synthesize spa + rus (base languages) and amh + tam (held out), kaldi
#      layout, plus MMS-style long recordings (long-spa, long-amh)
#   2. prep ingest -> $DEMO_DIR/data.db, db split --distinct-text, weights
#   3. the base: which model, its languages and size (no training)
#   4. align run for spa and rus with the base; exports
#   5. adapters + head for amh and for tam on the frozen base
#      (train run --freeze adapters --time-budget $DEMO_ADAPTER_SECONDS),
#      merged into $DEMO_DIR/adapted (the base + both adapters)
#   6. 3-gram LMs, greedy + LM beam CER/WER on the test split for all four
#      languages, align amh and tam with $DEMO_DIR/adapted, alignment accuracy
#      against the synthesizer's truth (aligneval)
#   7. the thesis table: amh at one wall-clock budget trained four ways —
#      (a) adapters + head on the frozen base (step 5's run), (b) + the top 2
#      layers, (c) full fine-tuning of the base, (d) the same shape from
#      scratch — greedy CER/WER on the test split, trainable parameters,
#      checkpoint bytes per language, wall seconds ($DEMO_DIR/thesis.tsv)
#   and last, the wall time per step, the SQL to try next and db report:
#   everything on one HTML page, $DEMO_DIR/report.html (the last line printed)
# Sized for 10 minutes on 2 cores: ~2 min of synth/ingest/align/eval and five
# training runs of DEMO_ADAPTER_SECONDS (75 s) each.
#
# DEMO_FROM_SCRATCH=1: the former demo, no shipped base needed — spa + amh
# only; step 3 trains a small wav2vec2 on Spanish from scratch (every weight,
# the conv front end included), step 5 trains amh adapters for
# DEMO_ADAPTER_STEPS steps, no step 7.  DEMO_MODEL=<HF dir> (e.g. mms-1b-all,
# with spa and amh in its vocab.json): the same, with that checkpoint as the
# base (step 3 skipped).
#
# Re-runnable: a step whose output is present and made with the same
# settings (a stamp file in $DEMO_DIR/.stamps) is skipped; align, eval and
# the reports are incremental or cheap and always run.  Wall time of each
# step is printed and written to $DEMO_DIR/timings.tsv; with DEMO_BENCH=1
# (`make bench-demo`) a section is appended to bench/RESULTS.md.
#
# Environment (all optional):
#   BINDIR          binaries (default bin)          DEMO_DIR  output (default demo)
#   DEMO_BASE       the base model directory (default models/accent-base)
#   DEMO_FROM_SCRATCH  1: train the base from scratch (see above)
#   DEMO_MODEL      an existing Hugging Face/MMS model directory with spa and
#                   amh in its vocab.json: the from-scratch path without step 3
#   DEMO_SPEAKERS   speakers per language (default 12; from scratch 16)
#   DEMO_UTTS       clips per speaker (default 30; from scratch 50)
#   DEMO_SEED       corpus seed (default 7)
#   DEMO_ADAPTER_SECONDS  wall seconds of each adapter training (default 75)
#   DEMO_ADAPTER_LR       adapter learning rate (3e-3)
#   DEMO_EVAL_EVERY       dev evaluations every N steps within a budget (500;
#                         the last step is always evaluated)
#   DEMO_THESIS     0: no step 7          DEMO_THESIS_LANGS  its languages (amh)
#   DEMO_THESIS_SECONDS   the budget of each step 7 run (DEMO_ADAPTER_SECONDS)
#   DEMO_THESIS_LR_TOP, DEMO_THESIS_LR_FULL, DEMO_THESIS_LR_SCRATCH
#                   learning rates of (b), (c), (d) (1e-3, 5e-4, 2e-3)
#   DEMO_BENCH      1: append the results to $DEMO_RESULTS (bench/RESULTS.md)
# From scratch only:
#   DEMO_BASE_STEPS, DEMO_BASE_LR        full training of the base (5000, 2e-3)
#   DEMO_ADAPTER_STEPS                   amh adapter training steps (1500)
#   DEMO_MODEL_SHAPE  mkmodel options of the base (default below)
#   DEMO_BASE_FREEZE  what trains in step 3 (default full+conv)
# (training batches: 8 s of audio; small batches = many updates, which is
# what a few minutes of training on 2 cores needs)
# Runs from the repository root (for data/text); writes only under DEMO_DIR
# (and $DEMO_RESULTS with DEMO_BENCH=1).  tools/thesis.sh runs it with a
# larger corpus and 300 s budgets for amh and tam (`make bench-thesis`).
set -u

BINDIR=${BINDIR:-bin}
DEMO_DIR=${DEMO_DIR:-demo}
ROOT=$(pwd)
TEXT_DIR=$ROOT/data/text
# which base: the shipped one (default), one trained here from scratch, or the user's
if [ -n "${DEMO_MODEL:-}" ]; then MODE=user
elif [ "${DEMO_FROM_SCRATCH:-0}" = 1 ]; then MODE=scratch
else MODE=base
fi
if [ $MODE = base ]; then
	SPEAKERS=${DEMO_SPEAKERS:-12}
	UTTS=${DEMO_UTTS:-30}
	BASE_LANGS="spa rus"      # in the base's training languages (new speakers, new sentences)
	NEW_LANGS="amh tam"       # never seen by the base (Ethiopic, Tamil script)
	NSTEPS=7
else
	SPEAKERS=${DEMO_SPEAKERS:-16}
	UTTS=${DEMO_UTTS:-50}
	BASE_LANGS=spa
	NEW_LANGS=amh
	NSTEPS=6
fi
ALL_LANGS="$BASE_LANGS $NEW_LANGS"
SEED=${DEMO_SEED:-7}
BASE_STEPS=${DEMO_BASE_STEPS:-5000}
BASE_LR=${DEMO_BASE_LR:-2e-3}
ADAPTER_STEPS=${DEMO_ADAPTER_STEPS:-1500}
ADAPTER_SECONDS=${DEMO_ADAPTER_SECONDS:-75}
ADAPTER_LR=${DEMO_ADAPTER_LR:-3e-3}
EVAL_EVERY=${DEMO_EVAL_EVERY:-500}
MAX_STEPS=1000000       # a time-budgeted run's upper bound: the budget decides
THESIS=${DEMO_THESIS:-1}
THESIS_LANGS=${DEMO_THESIS_LANGS:-amh}
THESIS_SECONDS=${DEMO_THESIS_SECONDS:-$ADAPTER_SECONDS}
LR_TOP=${DEMO_THESIS_LR_TOP:-1e-3}
LR_FULL=${DEMO_THESIS_LR_FULL:-5e-4}
LR_SCRATCH=${DEMO_THESIS_LR_SCRATCH:-2e-3}
RESULTS=${DEMO_RESULTS:-$ROOT/bench/RESULTS.md}
# the from-scratch base's shape (bin/mkmodel; 0.7 M parameters) and what trains of it
MODEL_SHAPE=${DEMO_MODEL_SHAPE:---conv-dim 64 --hidden 128 --layers 4 --ffn 256 --heads 4 --adapter-dim 32}
BASE_FREEZE=${DEMO_BASE_FREEZE:-full+conv}

die() { printf '\ndemo: error: %s\n' "$*" >&2; exit 1; }
abspath() { (cd "$1" 2>/dev/null && pwd); }
commas() { echo $* | tr ' ' ,; }

BIN=$(abspath "$BINDIR") || die "no binary directory '$BINDIR' (run 'make' first)"
for b in synth prep db mkmodel align aligneval; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is not built (run 'make BINDIR=$BINDIR all')"
done
for l in $ALL_LANGS; do
	[ -f "$TEXT_DIR/$l.txt" ] || die "run me from the repository root (data/text/$l.txt missing)"
done
if [ $MODE = base ]; then
	BASE_DIR=${DEMO_BASE:-$ROOT/models/accent-base}
	[ -f "$BASE_DIR/config.json" ] && [ -f "$BASE_DIR/model.safetensors" ] && [ -f "$BASE_DIR/vocab.json" ] ||
		die "no base model in $BASE_DIR (config.json, model.safetensors, vocab.json): 'make base-model' builds it; DEMO_BASE=DIR names another; DEMO_FROM_SCRATCH=1 trains a small one here"
	BASE_DIR=$(abspath "$BASE_DIR")
fi
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
sqlstr() { printf "'%s'" "$(printf %s "$1" | sed "s/'/''/g")"; }           # an SQL string literal
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

step() {   # step N "headline"
	STEP=$1
	STEP_T0=$(date +%s.%N)
	printf '\n==> [%s/%s] %s\n' "$1" "$NSTEPS" "$2"
}
step_done() {   # step_done label status
	t=$(elapsed "$STEP_T0")
	printf '    [%s/%s] %s: %s s (%s)\n' "$STEP" "$NSTEPS" "$1" "$t" "$2"
	printf '%s\t%s\t%s\t%s\n' "$STEP" "$1" "$t" "$2" >> "$TIMES"
}
stamp_ok() { [ -f "$ST/$1" ] && [ "$(cat "$ST/$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" > "$ST/$1.tmp" && mv "$ST/$1.tmp" "$ST/$1"; }
banner() {
	printf '\n  ************************************************************************\n'
	while [ $# -gt 0 ]; do printf '  *  %-68s*\n' "$1"; shift; done
	printf '  ************************************************************************\n'
}
# a model directory's identity for stamps: path, size and time of its weights
model_id() { printf '%s %s' "$1" "$(stat -c '%s %Y' "$1/model.safetensors" "$1/config.json" 2>/dev/null | tr '\n' ' ')"; }
# parameters in a safetensors file: the product of each tensor's shape, summed
# (the JSON header: 8 bytes of little-endian length, then the text)
st_params() {
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	head -c "$((8 + n))" "$1" | tail -c "$n" | grep -o '"shape" *: *\[[0-9, ]*\]' |
		awk -F '[][]' '{ p = 1; k = split($2, a, ","); for (i = 1; i <= k; i++) if (a[i] != "") p *= a[i]; s += p }
		               END { printf "%.0f\n", s }'
}
vocab_langs() { grep -o '"[^"]*" *: *{' "$1" | sed 's/^"\([^"]*\)".*/\1/' | tr '\n' ' ' | sed 's/ $//'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
# train run with its output kept in LOG and its wall seconds in LOG.wall;
# returns train's status
train_logged() {   # LOG args...
	log=$1; shift
	t0=$(date +%s.%N)
	{ "$BIN/train" run "$@"; echo $? > "$log.rc"; } 2>&1 | tee "$log" | sed 's/^/    /'
	elapsed "$t0" > "$log.wall"
	return "$(cat "$log.rc")"
}

# train's abilities: the subcommands `lm`/`eval` and, when built, adapter and
# full training (`train run`).  Probed, not assumed.
HAVE_TRAIN=0; HAVE_EVAL=0
if [ -x "$BIN/train" ]; then
	"$BIN/train" eval --help >/dev/null 2>&1 && "$BIN/train" lm --help >/dev/null 2>&1 && HAVE_EVAL=1
	"$BIN/train" run --help > "$D/.train-help" 2>&1 && HAVE_TRAIN=1
fi
[ $MODE = base ] && [ $HAVE_TRAIN = 0 ] && die "the demo on the shipped base needs 'train run' (bin/train)"

printf 'accent demo: %s speakers x %s clips per language (%s), seed %s, in %s\n' "$SPEAKERS" "$UTTS" "$(commas $ALL_LANGS)" "$SEED" "$D"
printf 'cores: %s, binaries: %s\n' "$(nproc 2>/dev/null || echo '?')" "$BIN"

# ---------------------------------------------------------------------------
step 1 "Synthesize the corpus (espeak-ng, ground-truth word timings in */_truth/)"
# clips: kaldi layout, every language, N speakers each, plus one long
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
synth_one clips --layout kaldi --langs "$(commas $ALL_LANGS)" --speakers "$SPEAKERS" --utts-per-speaker "$UTTS" --long 1 --utts-per-long 8 --seed "$SEED"
synth_one long-spa --layout longform --langs spa --speakers 2 --long 1 --utts-per-long 8 --seed "$((SEED + 1))"
synth_one long-amh --layout longform --langs amh --speakers 2 --long 1 --utts-per-long 8 --seed "$((SEED + 2))"
if [ $SYNTH_RAN = 1 ]; then
	# a new corpus invalidates everything made from the old one
	rm -f "$DB" "$DB-wal" "$DB-shm" "$ST"/ingest-* "$ST/model" "$ST"/adapt-* "$ST"/thesis-* "$D"/lm.*.arpa
fi
step_done synth "$([ $SYNTH_RAN = 1 ] && echo ran || echo skipped)"

# ---------------------------------------------------------------------------
step 2 "Ingest into the manifest ($DB)"
INGEST_RAN=0
ingest_one() {   # name [--lang L]
	name=$1; shift
	want="$(cat "$ST/synth-$name") $*"
	if [ -f "$DB" ] && stamp_ok "ingest-$name" "$want" &&
	   [ "$(qv "SELECT count(*) FROM corpora WHERE root = $(sqlstr "$D/corpus/$name")")" = 1 ]; then
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
MODEL_KIND=""
if [ $MODE = base ]; then
	step 3 "The base model (trained by make base-model; nothing is trained here)"
	MODEL=$BASE_DIR
	MODEL_KIND=shipped
	BASE_VOCAB=$(vocab_langs "$MODEL/vocab.json")
	NPAR=$(st_params "$MODEL/model.safetensors")
	NADP=0; ADP_BYTES=0; NADP_FILES=0
	for f in "$MODEL"/adapter.*.safetensors; do
		[ -f "$f" ] || continue
		[ $NADP_FILES = 0 ] && NADP=$(st_params "$f")
		NADP_FILES=$((NADP_FILES + 1))
		ADP_BYTES=$((ADP_BYTES + $(wc -c < "$f")))
	done
	MODEL_BYTES=$(wc -c < "$MODEL/model.safetensors")
	BASE_DESC="$MODEL: $(echo $BASE_VOCAB | wc -w) languages ($(commas $BASE_VOCAB)); $NPAR parameters in model.safetensors ($(mb "$MODEL_BYTES")) + $NADP per language adapter + head ($NADP_FILES adapter files, $(mb "$ADP_BYTES"))"
	printf '%s\n' "$BASE_DESC" > "$D/base.txt"
	echo "  base:       $MODEL"
	echo "  languages:  $BASE_VOCAB (vocab.json)"
	echo "  parameters: $NPAR in model.safetensors ($(mb "$MODEL_BYTES")), $NADP per language in adapter.<lang>.safetensors"
	echo "              ($NADP_FILES adapter files, $(mb "$ADP_BYTES") together)"
	for l in $BASE_LANGS; do
		case " $BASE_VOCAB " in *" $l "*) ;; *) die "the base's vocab.json has no '$l'" ;; esac
		[ -f "$MODEL/adapter.$l.safetensors" ] || die "the base has no adapter.$l.safetensors"
	done
	for l in $NEW_LANGS; do
		case " $BASE_VOCAB " in *" $l "*) echo "  note: the base's vocab.json knows '$l': it is not held out" ;; esac
	done
	[ "$SEED" = 11 ] && echo "  note: DEMO_SEED=11 is the seed of the base's own corpus: its speakers are not new"
	step_done model "shipped base"
elif [ $MODE = user ]; then
	step 3 "The base model"
	MODEL=$(abspath "$DEMO_MODEL") || die "DEMO_MODEL=$DEMO_MODEL is not a directory"
	[ -f "$MODEL/config.json" ] || die "$MODEL has no config.json (a Hugging Face model directory is needed)"
	echo "  using your checkpoint $MODEL (DEMO_MODEL): no base training"
	MODEL_KIND=user
	step_done model "user checkpoint"
else
	step 3 "The base model: a small wav2vec2 trained from scratch on Spanish"
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

# The adapters of step 5 (one stamp per language; each language's run starts
# from $D/adapted as the languages before it left it, so the vocab.json that
# train writes already merges them all).
if [ $MODE = base ]; then
	ADAPT_SPEC="budget=${ADAPTER_SECONDS}s lr=$ADAPTER_LR eval-every=$EVAL_EVERY"
	ADAPT_OPTS="--time-budget $ADAPTER_SECONDS --steps $MAX_STEPS --eval-every $EVAL_EVERY"
else
	ADAPT_SPEC="steps=$ADAPTER_STEPS lr=$ADAPTER_LR"
	ADAPT_OPTS="--steps $ADAPTER_STEPS --warmup $((ADAPTER_STEPS / 10)) --eval-every $((ADAPTER_STEPS / 3))"
fi
ADAPT_KEY="$(model_id "$MODEL") $MODEL_KIND $(cat "$ST/model" 2>/dev/null) $ADAPT_SPEC"
adapt_want() {   # LANG: the stamp of its adapter (the languages trained before it included)
	w="$ADAPT_KEY langs:"
	for a in $NEW_LANGS; do
		w="$w $a"
		[ "$a" = "$1" ] && break
	done
	printf '%s' "$w"
}
adapted_ok() {   # every new language's adapter is in $D/adapted, made with these settings
	for a in $NEW_LANGS; do
		stamp_ok "adapt-$a" "$(adapt_want "$a")" && [ -f "$D/adapted/adapter.$a.safetensors" ] || return 1
	done
}

# ---------------------------------------------------------------------------
step 4 "Forced alignment (align run) and segmentation of the long recordings"
# The base languages with the base.  The new languages with the adapted
# model when a previous run trained it (else every re-run would align them
# twice); from scratch, the base's untrained amh adapter aligns amh now; the
# shipped base has no vocabulary for them: step 6 aligns them.
NEW_ALIGNED=0
for l in $BASE_LANGS; do
	"$BIN/align" run --manifest "$DB" --model "$MODEL" --lang "$l" || die "align run --lang $l failed"
done
if [ $HAVE_TRAIN = 1 ] && adapted_ok; then
	for l in $NEW_LANGS; do
		"$BIN/align" run --manifest "$DB" --model "$D/adapted" --lang "$l" || die "align run --lang $l failed"
	done
	NEW_ALIGNED=1
elif [ $MODE != base ]; then
	for l in $NEW_LANGS; do
		"$BIN/align" run --manifest "$DB" --model "$MODEL" --lang "$l" || die "align run --lang $l failed"
	done
else
	echo "  $(commas $NEW_LANGS): aligned in step 6, with their adapters (the base has no vocabulary for them)"
fi
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
export_alignments() {
	rm -rf "$D/exports"
	mkdir -p "$D/exports"
	"$BIN/align" export --manifest "$DB" --format ctm --out "$D/exports" >/dev/null &&
	"$BIN/align" export --manifest "$DB" --format textgrid --out "$D/exports/textgrid" >/dev/null &&
	"$BIN/align" export --manifest "$DB" --format json --out "$D/exports" >/dev/null ||
		die "align export failed"
	echo "  exports: $D/exports/alignments.ctm ($(wc -l < "$D/exports/alignments.ctm") words), alignments.json," \
	     "$(ls "$D/exports/textgrid" | wc -l) TextGrids"
}
export_alignments
step_done align ran

# ---------------------------------------------------------------------------
step 5 "Adapters + head for $(commas $NEW_LANGS) on the frozen base, speaker-balanced sampling"
ADAPTED=0
if [ $HAVE_TRAIN = 0 ]; then
	echo "  SKIPPED: \`train run\` (adapter training) is not available in this build."
	note "step 5: no adapter training (train run not available); evaluation uses the base model's amh adapter as is"
	step_done adapters "not available"
elif adapted_ok; then
	ADAPTED=1; echo "  $D/adapted ($(commas $NEW_LANGS)): present (skipped)"; step_done adapters skipped
else
	# The MMS recipe: a new adapter in every layer + its LM head, the base
	# frozen; batches drawn by the manifest's speaker-balance weights.
	# Flagged utterances are included: nothing has aligned these languages
	# with a model that knows them yet, so flags say nothing about the
	# transcripts.  A language absent from the base's vocab.json gets its
	# vocabulary from its train transcripts.  Each run writes adapt.<lang>/,
	# a complete HF directory: the base's weights once (f32, config.json with
	# the new head's size), adapter.<lang>.safetensors (adapters + head: all
	# that trained) and vocab.json (the model's vocabularies + the new one).
	# $D/adapted is the base as shipped + each adapter file + the last
	# vocab.json (each run starts from $D/adapted, so it merges them all).
	redo=0 status=trained
	for l in $NEW_LANGS; do
		want=$(adapt_want "$l")
		if [ $redo = 0 ] && stamp_ok "adapt-$l" "$want" && [ -f "$D/adapted/adapter.$l.safetensors" ]; then
			echo "  $l: present (skipped)"; continue
		fi
		if [ $redo = 0 ]; then
			# this language and every one after it train again, from the
			# base + the adapters kept before it
			redo=1
			rm -rf "$D/adapted"
			cp -r "$MODEL" "$D/adapted" || die "cannot copy the base to $D/adapted"
			for a in $NEW_LANGS; do
				[ "$a" = "$l" ] && break
				cp "$D/adapt.$a/adapter.$a.safetensors" "$D/adapt.$a/vocab.json" "$D/adapted/" ||
					die "cannot merge $D/adapt.$a"
			done
		fi
		rm -f "$ST/adapt-$l" "$D/adapted/adapter.$l.safetensors"
		rm -rf "$D/adapt.$l"
		echo "  $l: train run --freeze adapters --sampling balanced, lr $ADAPTER_LR, $ADAPT_SPEC"
		if train_logged "$D/adapt.$l.log" --manifest "$DB" --model "$D/adapted" --lang "$l" --data-lang "$l" \
			--freeze adapters --sampling balanced --include-flagged $ADAPT_OPTS --lr "$ADAPTER_LR" \
			--batch-seconds 8 --out "$D/adapt.$l" &&
		   cp "$D/adapt.$l/adapter.$l.safetensors" "$D/adapt.$l/vocab.json" "$D/adapted/"; then
			stamp_set "adapt-$l" "$want"
		else
			note "step 5: adapter training for $l failed (see above)"
			status=failed
			break
		fi
	done
	adapted_ok && ADAPTED=1
	step_done adapters "$status"
fi
EVAL_MODEL=$MODEL
[ $ADAPTED = 1 ] && EVAL_MODEL=$D/adapted

# ---------------------------------------------------------------------------
step 6 "Evaluation: greedy and LM beam decoding (CER/WER), alignment accuracy"
EVAL_SQL="SELECT lang, decoder, beam, alpha, beta, utterances, round(audio_s, 1) AS audio_s,
       round(100 * cer, 2) AS cer_pct, round(100 * wer, 2) AS wer_pct
FROM eval_runs WHERE id IN (SELECT max(id) FROM eval_runs WHERE split = 'test' AND condition = 'clean'
                            AND subset = 'all' AND model_dir NOT LIKE '%/thesis/%' GROUP BY lang, decoder)
ORDER BY lang, decoder DESC"
CURVE_SQL="SELECT r.id AS run, r.lang, r.strategy, m.step, round(m.loss, 3) AS dev_loss,
       round(100 * m.cer, 1) AS cer_pct, round(100 * m.wer, 1) AS wer_pct
FROM train_metrics AS m JOIN train_runs AS r ON r.id = m.train_run_id
WHERE m.split = 'dev' AND r.status != 'failed' ORDER BY r.id, m.step"
if [ $ADAPTED = 1 ] && [ $NEW_ALIGNED = 0 ]; then
	# first, so that the long recordings' utterances are in the test split
	# the evaluations decode.  The adapted model is another model: its
	# alignments replace the base's (align re-aligns what an older model
	# produced).
	echo "  aligning $(commas $NEW_LANGS) with the adapted model:"
	for l in $NEW_LANGS; do
		"$BIN/align" run --manifest "$DB" --model "$D/adapted" --lang "$l" || die "align run (adapted, $l) failed"
	done
	export_alignments
	echo
fi
if [ $HAVE_EVAL = 1 ]; then
	for l in $ALL_LANGS; do
		if [ ! -s "$D/lm.$l.arpa" ] || [ $INGEST_RAN = 1 ]; then
			"$BIN/train" lm --manifest "$DB" --lang "$l" --order 3 --out "$D/lm.$l.arpa" --ppl ||
				die "train lm --lang $l failed"
		else
			echo "  lm.$l.arpa: present (skipped)"
		fi
	done
	for l in $ALL_LANGS; do
		# the base languages with the base, the new ones with their adapters
		m=$MODEL
		case " $NEW_LANGS " in *" $l "*) m=$EVAL_MODEL ;; esac
		[ $MODE = base ] && [ "$m" = "$MODEL" ] && case " $NEW_LANGS " in *" $l "*)
			echo "  $l: no adapter was trained: not evaluated"; continue ;; esac
		echo
		echo "  --- $l, test split (held-out speakers), $m ---"
		"$BIN/train" eval --manifest "$DB" --model "$m" --lang "$l" --split test \
			--lm "$D/lm.$l.arpa" --beam 16 --worst 3 > "$D/eval.$l.txt" 2>&1 || {
			cat "$D/eval.$l.txt"; die "train eval --lang $l failed"; }
		grep -A3 'worst utterances' "$D/eval.$l.txt" | head -4
	done
	echo
	echo "  CER/WER on the test split (latest evaluation of each language and decoder):"
	q "$EVAL_SQL"
	echo "  (full reports with per-speaker/gender/duration tables: $D/eval.<lang>.txt)"
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
aligneval_truth() {
	"$BIN/aligneval" --manifest "$DB" --truth "$D/corpus/clips/_truth" --truth "$D/corpus/long-spa/_truth" \
		--truth "$D/corpus/long-amh/_truth" "$@"
}
echo
echo "  alignment accuracy against the synthesizer's word timings:"
aligneval_truth | sed 's/^/    /' || die "aligneval failed"
aligneval_truth --json > "$D/aligneval.json" 2>/dev/null
echo "    (published: MFA 21-27 ms, torchaudio MMS aligner 37-48 ms mean on TIMIT/Buckeye)"
[ "$MODEL_KIND" = random ] && echo "    RANDOM MODEL: these errors measure nothing but the plumbing."
step_done eval ran

# ---------------------------------------------------------------------------
# Step 7: the thesis table.  One held-out language, one wall-clock budget,
# four ways to spend it; each run's greedy CER/WER on the test split
# (held-out speakers saying held-out sentences), trainable parameters (from
# train's summary line), the checkpoint bytes a user keeps per language (the
# files the run writes for it: the adapter file alone for (a), the adapter +
# the whole model.safetensors for (b)-(d)), the floor of 4 bytes per
# trainable parameter, and the run's wall seconds.
THESIS_TSV=$D/thesis.tsv
THESIS_MD=$D/thesis.md
thesis_row() {   # ID SETUP FREEZE OUT LOG LANG: evaluate OUT, write OUT.row
	id=$1 setup=$2 fr=$3 out=$4 log=$5 l=$6
	# the adapter-only checkpoint is loaded over the base's weights
	[ -f "$out/model.safetensors" ] || ln -sf "$MODEL/model.safetensors" "$out/model.safetensors"
	"$BIN/train" eval --manifest "$DB" --model "$out" --lang "$l" --split test --worst 0 > "$out.eval.txt" 2>&1 || {
		cat "$out.eval.txt"; return 1; }
	cw=$(qv "SELECT round(100 * cer, 2) || ' ' || round(100 * wer, 2) FROM eval_runs WHERE model_dir = $(sqlstr "$out")
	         AND lang = $(sqlstr "$l") AND split = 'test' AND decoder = 'greedy' AND condition = 'clean'
	         AND subset = 'all' ORDER BY id DESC LIMIT 1")
	sn=$(qv "SELECT steps_done || ' ' || n_train FROM train_runs WHERE out_dir = $(sqlstr "$out") ORDER BY id DESC LIMIT 1")
	trainable=$(sed -n 's/^train: \([0-9]*\) trainable parameters.*/\1/p' "$log" | tail -1)
	bytes=$(wc -c < "$out/adapter.$l.safetensors")
	[ "$fr" = adapters ] || bytes=$((bytes + $(wc -c < "$out/model.safetensors")))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$l" "$id" "$setup" "$fr" "${trainable:-?}" "$bytes" \
		"$(( ${trainable:-0} * 4 ))" "$(cat "$log.wall")" "${sn% *}" "${sn#* }" "${cw% *}" "${cw#* }" > "$out.row"
}
thesis_run() {   # ID SETUP FREEZE LR FROM LANG
	id=$1 setup=$2 fr=$3 lr=$4 from=$5 l=$6
	out=$D/thesis/$id.$l
	want="$(model_id "$MODEL") $(cat "$ST/synth-clips") from=$(model_id "$from") freeze=$fr lr=$lr budget=${THESIS_SECONDS}s eval-every=$EVAL_EVERY"
	if stamp_ok "thesis-$id-$l" "$want" && [ -s "$out.row" ]; then
		echo "  ($id) $l: present (skipped)"; return 0
	fi
	rm -rf "$out" "$out.row"
	echo "  ($id) $l, $setup: train run --freeze $fr, lr $lr, ${THESIS_SECONDS} s"
	train_logged "$out.log" --manifest "$DB" --model "$from" --lang "$l" --data-lang "$l" --freeze "$fr" \
		--sampling balanced --include-flagged --time-budget "$THESIS_SECONDS" --steps "$MAX_STEPS" \
		--eval-every "$EVAL_EVERY" --lr "$lr" --batch-seconds 8 --out "$out" &&
	thesis_row "$id" "$setup" "$fr" "$out" "$out.log" "$l" || { note "step 7: run ($id) for $l failed"; return 1; }
	stamp_set "thesis-$id-$l" "$want"
}
# (d)'s starting point: a random model of the base's shape (config.json)
scratch_init() {
	init=$D/thesis/scratch-init
	cfg=$(tr -d ' \t\n' < "$MODEL/config.json")
	cv() { printf '%s' "$cfg" | sed -n "s/.*\"$1\":\[*\([0-9.eE+-]*\).*/\1/p"; }
	shape="--conv-dim $(cv conv_dim) --hidden $(cv hidden_size) --layers $(cv num_hidden_layers) --ffn $(cv intermediate_size) --heads $(cv num_attention_heads) --adapter-dim $(cv adapter_attn_dim) --init-range $(cv initializer_range) --vocab-size $(cv vocab_size)"
	want="$(model_id "$MODEL") $shape seed=$SEED"
	if stamp_ok thesis-init "$want" && [ -f "$init/model.safetensors" ]; then return 0; fi
	rm -rf "$init"
	# one placeholder language (not a thesis language): train builds the new
	# language's vocabulary from its train transcripts, as for (a)-(c)
	echo "  (d) initial model: mkmodel --preset tiny $shape"
	"$BIN/mkmodel" --out "$init" --preset tiny $shape --langs "${BASE_LANGS%% *}" --seed "$SEED" > /dev/null ||
		die "mkmodel (the base's shape) failed"
	stamp_set thesis-init "$want"
}

if [ $MODE = base ] && [ "$THESIS" != 0 ]; then
	step 7 "The thesis table: $(commas $THESIS_LANGS) at ${THESIS_SECONDS} s of training each, four ways"
	mkdir -p "$D/thesis"
	scratch_init
	for l in $THESIS_LANGS; do
		# (a) is step 5's run when the budget is the same
		if [ "$THESIS_SECONDS" = "$ADAPTER_SECONDS" ] && [ $ADAPTED = 1 ] &&
		   case " $NEW_LANGS " in *" $l "*) true ;; *) false ;; esac; then
			want="reuse $(cat "$ST/adapt-$l")"
			if stamp_ok "thesis-a-$l" "$want" && [ -s "$D/adapt.$l.row" ]; then
				echo "  (a) $l: present (skipped)"
			else
				echo "  (a) $l: step 5's run"
				thesis_row a "adapters + head, frozen base" adapters "$D/adapt.$l" "$D/adapt.$l.log" "$l" &&
					stamp_set "thesis-a-$l" "$want" || note "step 7: evaluation of (a) for $l failed"
			fi
			cp "$D/adapt.$l.row" "$D/thesis/a.$l.row" 2>/dev/null
		else
			thesis_run a "adapters + head, frozen base" adapters "$ADAPTER_LR" "$MODEL" "$l"
		fi
		thesis_run b "adapters + head + top 2 layers" top:2 "$LR_TOP" "$MODEL" "$l"
		thesis_run c "full fine-tuning of the base" full "$LR_FULL" "$MODEL" "$l"
		thesis_run d "same shape from scratch" full+conv "$LR_SCRATCH" "$D/thesis/scratch-init" "$l"
	done
	printf 'lang\tid\tsetup\tfreeze\ttrainable\tckpt_bytes\tmin_bytes\twall_s\tsteps\ttrain_utts\tcer_pct\twer_pct\n' > "$THESIS_TSV"
	for l in $THESIS_LANGS; do
		for id in a b c d; do
			[ -s "$D/thesis/$id.$l.row" ] && cat "$D/thesis/$id.$l.row" >> "$THESIS_TSV"
		done
	done
	{
		printf '| lang | setup | --freeze | trainable | checkpoint bytes / lang | min (4 B x trainable) | wall s | steps | train utts | greedy CER %% | WER %% |\n'
		printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
		awk -F '\t' 'NR > 1 { printf "| %s | (%s) %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }' "$THESIS_TSV"
	} > "$THESIS_MD"
	echo
	echo "  $(commas $THESIS_LANGS), ${THESIS_SECONDS} s of training per run; greedy CER/WER on the test split:"
	awk -F '\t' 'NR == 1 { printf "  %-4s  %-48s %9s %11s %11s %7s %6s %6s %7s %7s\n", "lang", "setup (--freeze)", "trainable",
	                        "ckpt bytes", "min bytes", "wall s", "steps", "utts", "CER %", "WER %"; next }
	             { printf "  %-4s  %-48s %9s %11s %11s %7s %6s %6s %7s %7s\n", $1, "(" $2 ") " $3 " (" $4 ")", $5, $6, $7, $8, $9, $10, $11, $12 }' "$THESIS_TSV"
	echo "  ($THESIS_TSV; ckpt bytes: what the run writes for the language, adapter.<lang>.safetensors"
	echo "   for (a), + model.safetensors for (b)-(d); min bytes: 4 per trainable parameter; utts: train"
	echo "   utterances (step 5's run (a) trained before the long recordings were cut into utterances))"
	step_done thesis ran
fi

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
  SELECT id, lang, strategy, steps_done, round(100 * best_dev_cer, 1) AS dev_cer FROM train_runs;
  SELECT * FROM eval_by_speaker;                                    -- CER/WER per held-out speaker
  SELECT * FROM eval_worst LIMIT 10;
EOF

if [ "${DEMO_BENCH:-0}" = 1 ]; then
	{
		printf '\n## make demo (tools/demo.sh, %s base) — %s\n\n' "$MODEL_KIND" "$(date -u '+%Y-%m-%d %H:%M UTC')"
		printf 'Machine: %s, %s cores.  Corpus: %s speakers x %s clips per language (%s) + long recordings, %s h of audio.  Base model: %s.\n\n' \
			"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" "$SPEAKERS" "$UTTS" \
			"$(commas $ALL_LANGS)" "$(qv "SELECT round(sum(duration_s) / 3600, 3) FROM recordings")" \
			"$([ $MODE = base ] && cat "$D/base.txt" || echo "$MODEL_KIND")"
		printf '| step | stage | wall s | status |\n|---|---|---|---|\n'
		awk -F '\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$TIMES"
		printf '\nAlignment accuracy (bin/aligneval vs the synthesizer truth):\n\n```\n'
		aligneval_truth
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
		if [ $MODE = base ] && [ "$THESIS" != 0 ] && [ -s "$THESIS_MD" ]; then
			printf '\nThe thesis table (%s s of training per run, greedy on the test split):\n\n' "$THESIS_SECONDS"
			cat "$THESIS_MD"
		fi
		[ "$MODEL_KIND" = random ] && printf '\nThe base model was RANDOM (no training available): accuracy figures measure nothing.\n'
	} >> "$RESULTS"
	echo "appended the results to $RESULTS"
fi
# ---------------------------------------------------------------------------
# The report: corpus, alignment, learning curves and evaluation on one
# self-contained page (db report; cheap, always written).
"$BIN/db" --manifest "$DB" report --out "$D/report.html" > /dev/null || die "db report failed"
REPORT=$D/report.html
case "$REPORT" in "$ROOT"/*) REPORT=${REPORT#"$ROOT"/} ;; esac
printf '\n==> Report (open it in any browser, it needs no network):\n%s\n' "$REPORT"
exit 0
