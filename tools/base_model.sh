#!/bin/sh
# tools/base_model.sh — `make base-model`: rebuild models/accent-base, the
# project's own multilingual wav2vec2 CTC base, from nothing: synthesize a
# 12-language corpus (espeak-ng, sentences composed from Debian word lists,
# data/text/SOURCES.md), ingest it, split it speaker- and sentence-disjoint,
# train the model in two phases, evaluate every language on held-out
# speakers saying held-out sentences, and write the Hugging Face directory.
# docs/BASE_MODEL.md says why each choice below was made, with the curves.
#
#   1. synth    12 languages x BASE_SPEAKERS voices x BASE_UTTS sentences
#   2. ingest   -> $BASE_WORK/data.db; db split --distinct-text
#   3. init     vocabulary (every character of the 12 languages, one shared
#               head) and a random model of the shape below (mkmodel)
#   4. phase 1  every weight trains, the conv feature encoder included
#               (full+conv), BASE_P1_STEPS steps
#   5. phase 2  the conv feature encoder frozen (HF's freeze_feature_encoder,
#               what MMS fine-tuning does), the rest trains: BASE_P2_STEPS
#               steps (a step costs ~25% less without the conv backward)
#   6. export   models/accent-base: config.json, model.safetensors,
#               preprocessor_config.json, nested vocab.json, and one
#               adapter.<lang>.safetensors per base language (the trained
#               adapters + shared head: what transformers' target_lang loads)
#   7. eval     greedy CER/WER per language on the test split (the exported
#               model, as a user loads it)
#
# Resumable: every step whose output exists is skipped, and a killed
# training phase continues from its train_state.bin (train --resume), so
# re-running the command after a kill finishes the same model.  Seeded: the
# same settings give the same corpus, splits and initial weights (training
# with 2 OpenMP threads is deterministic up to float summation order).
#
# Environment (all optional): BINDIR (bin), BASE_WORK (base-work), BASE_OUT
# (models/accent-base), BASE_SEED (11), BASE_SPEAKERS (20), BASE_UTTS (24),
# BASE_P1_STEPS (4000), BASE_P2_STEPS (6000), BASE_LR (1.5e-3),
# BASE_BATCH_SECONDS (16), BASE_PRECISION (bf16 where it pays, else fp32).
set -u

BINDIR=${BINDIR:-bin}
W=${BASE_WORK:-base-work}
OUT=${BASE_OUT:-models/accent-base}
SEED=${BASE_SEED:-11}
SPEAKERS=${BASE_SPEAKERS:-20}
UTTS=${BASE_UTTS:-24}
P1=${BASE_P1_STEPS:-4000}
P2=${BASE_P2_STEPS:-6000}
LR=${BASE_LR:-1.5e-3}
BS=${BASE_BATCH_SECONDS:-16}
PREC=${BASE_PRECISION:-bf16}
# the base languages: 7 Latin, 3 Cyrillic, 1 Devanagari, 1 Greek.  Held out
# (never synthesized here): amh (Ethiopic) and tam (Tamil), for the demo's
# adapters.
LANGS=spa,ita,por,deu,pol,ces,ron,rus,bul,ukr,hin,ell
SHAPE="--conv-dim 64 --hidden 256 --layers 6 --ffn 1024 --heads 4 --adapter-dim 32 --init-range 0.0625"
ROOT=$(pwd)

die() { printf 'base-model: error: %s\n' "$*" >&2; exit 1; }
say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
[ -f data/text/spa.txt ] || die "run me from the repository root"
for b in synth prep db mkmodel train; do
	[ -x "$BINDIR/$b" ] || die "$BINDIR/$b is not built (run 'make')"
done
BIN=$(cd "$BINDIR" && pwd)
mkdir -p "$W" || die "cannot create $W"
W=$(cd "$W" && pwd)
DB=$W/data.db
T0=$(date +%s)
say "accent base model: $LANGS, $SPEAKERS speakers x $UTTS utterances each, seed $SEED, work dir $W"

# 1. corpus
if [ ! -s "$W/corpus/_truth/words.tsv" ]; then
	say "1/7 synth"
	rm -rf "$W/corpus" "$DB" "$DB-wal" "$DB-shm"
	"$BIN/synth" --out "$W/corpus" --layout kaldi --langs "$LANGS" --speakers "$SPEAKERS" \
		--utts-per-speaker "$UTTS" --seed "$SEED" --text-dir "$ROOT/data/text" -q || die "synth failed"
fi

# 2. manifest
if [ ! -f "$W/.ingested" ]; then
	say "2/7 ingest + split"
	rm -f "$DB" "$DB-wal" "$DB-shm"
	"$BIN/prep" ingest --manifest "$DB" "$W/corpus" > "$W/ingest.txt" || die "prep ingest failed (see $W/ingest.txt)"
	# dev: one speaker per language is enough to pick the best checkpoint;
	# test: two held-out speakers per language, sentences not in train
	"$BIN/db" --manifest "$DB" split --train 0.85 --dev 0.05 --test 0.1 --seed "$SEED" --distinct-text \
		> "$W/split.txt" || die "db split failed"
	touch "$W/.ingested"
fi
"$BIN/db" --manifest "$DB" query "SELECT lang, split, count(*) AS utterances,
	round(sum(duration_s) / 3600.0, 2) AS hours FROM utterances GROUP BY lang, split ORDER BY lang, split" \
	> "$W/splits.txt" 2>&1 || true

# 3. initial model
if [ ! -f "$W/init/config.json" ]; then
	say "3/7 vocabulary + initial model"
	rm -rf "$W/init" "$W/init.tmp"
	mkdir -p "$W/init.tmp"
	V=$(DB_BIN="$BIN/db" sh tools/demo-vocab.sh "$DB" "$W/vocab.json" $(echo "$LANGS" | tr , ' ')) ||
		die "cannot build the vocabulary"
	"$BIN/mkmodel" --out "$W/init.tmp/m" --preset tiny $SHAPE --langs "$LANGS" --vocab-size "$V" --seed "$SEED" \
		> /dev/null || die "mkmodel failed"
	cp "$W/vocab.json" "$W/init.tmp/m/vocab.json"
	mv "$W/init.tmp/m" "$W/init" && rm -rf "$W/init.tmp"
fi

# 4-5. training (each phase resumes after a kill; a finished phase is kept)
phase() {   # phase NAME FROM STEPS FREEZE WARMUP
	name=$1 from=$2 steps=$3 freeze=$4 warm=$5
	[ -f "$W/$name/.done" ] && return 0
	resume=""
	[ -f "$W/$name/train_state.bin" ] && resume=--resume
	say "$name: $steps steps, --freeze $freeze, lr $LR, $BS s batches, $PREC $resume"
	# one run for all 12 languages (--data-lang all) under one vocabulary key:
	# vocab.json[spa] is the shared union vocabulary, so the adapter it writes
	# (adapter.spa) is the shared adapters + head that step 6 gives every language
	"$BIN/train" run --manifest "$DB" --model "$from" --lang spa --data-lang all --freeze "$freeze" \
		--include-flagged --steps "$steps" --lr "$LR" --warmup "$warm" --batch-seconds "$BS" \
		--eval-every 500 --seed "$SEED" --precision "$PREC" --out "$W/$name" $resume --quiet ||
		die "training ($name) failed; run 'make base-model' again to resume"
	touch "$W/$name/.done"
}
say "4/7 phase 1"
phase p1 "$W/init" "$P1" full+conv "$((P1 / 10))"
say "5/7 phase 2"
phase p2 "$W/p1" "$P2" full "$((P2 / 50))"

# 7. export
say "6/7 export to $OUT"
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp" || die "cannot create $OUT.tmp"
for f in config.json model.safetensors preprocessor_config.json; do
	cp "$W/p2/$f" "$OUT.tmp/" || die "missing $W/p2/$f"
done
cp "$W/vocab.json" "$OUT.tmp/vocab.json"
for l in $(echo "$LANGS" | tr , ' '); do
	cp "$W/p2/adapter.spa.safetensors" "$OUT.tmp/adapter.$l.safetensors" || die "no trained adapter"
done
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
# 6. evaluation on held-out speakers and sentences
say "7/7 eval (greedy, test split)"
for l in $(echo "$LANGS" | tr , ' '); do
	"$BIN/train" eval --manifest "$DB" --model "$OUT" --lang "$l" --split test --precision fp32 \
		> "$W/eval-$l.txt" 2>&1 || die "eval $l failed (see $W/eval-$l.txt)"
done

say "done in $(( $(date +%s) - T0 )) s: $OUT ($(du -sh "$OUT" | cut -f1))"
