#!/bin/sh
# bench/bench_train_small.sh — training throughput of SMALL models (issue 14):
# the demo's from-scratch shape (hidden 128, 4 layers, FFN 256, conv 64) and
# models/accent-base's shape (hidden 256, 6 layers, FFN 1024, conv 64), each
# step timed by bench_train (forward + CTC + backward + AdamW on random audio),
# the step's FLOPs as a share of the fp32 oneDNN matmul ceiling measured in
# the same run (bench_infer --matmul), the PyTorch reference at the demo's
# shape (../shared/bench/torch_ref, its "train" mode: adapters + head), and a
# per-op profile of the demo-shape full+conv step (perf, when installed).
# Appends a section to bench/RESULTS.md.  Not a test.
#
#   make bench-train-small
#   BINDIR=bin BASELINE=/path/to/old/bench_train sh bench/bench_train_small.sh
# BASELINE: an older bench_train (same --model/--freeze options) run in the
# same rounds, for the before/after ratio.
set -u
BINDIR=${BINDIR:-bin}
B=$BINDIR/bench_train
TORCH=${TORCH_REF:-../shared/bench/torch_ref}
OUT=${RESULTS:-bench/RESULTS.md}
ROUNDS=${ROUNDS:-3}
BASELINE=${BASELINE:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$B" ] && [ -x "$BINDIR/mkmodel" ] && [ -x "$BINDIR/bench_infer" ] ||
	{ echo "error: build bench_train, bench_infer and mkmodel first (make bench-train-small)" >&2; exit 1; }
DEMO_SHAPE="--conv-dim 64 --hidden 128 --layers 4 --ffn 256 --heads 4 --adapter-dim 32 --vocab-size 60"
BASE_SHAPE="--conv-dim 64 --hidden 256 --layers 6 --ffn 1024 --heads 4 --adapter-dim 32 --vocab-size 256"
"$BINDIR/mkmodel" --out "$TMP/demo" --preset tiny $DEMO_SHAPE > /dev/null || exit 1
"$BINDIR/mkmodel" --out "$TMP/base" --preset tiny $BASE_SHAPE > /dev/null || exit 1

echo "== the fp32 / bf16 matmul ceilings (bench_infer --matmul)" >&2
"$BINDIR/bench_infer" --matmul > "$TMP/matmul.txt" 2>&1 || :
cat "$TMP/matmul.txt" >&2
PEAK=$(sed -n 's/^matmul 2048^3 fp32: median \([0-9.]*\) GFLOP.*/\1/p' "$TMP/matmul.txt")
[ -n "$PEAK" ] || PEAK=0

# one bench_train row: binary model freeze precision batch seconds (the
# baseline, an older bench_train, without the FLOP count it may not know)
row() {
	pk="--peak-gflops $PEAK"
	[ "$1" = "$BASELINE" ] && pk=""
	"$1" --model "$TMP/$2" --freeze "$3" --precision "$4" --batch "$5" --seconds "$6" --steps 10 \
		$pk 2> /dev/null | sed "s|$TMP/||"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }
rate() { awk -F'|' '{ gsub(/ /, "", $8); print $8 }'; }

{
	printf '\n## Small-model training throughput (bench/bench_train_small.sh) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'Machine: %s, %s cores (%s).  fp32 matmul ceiling: %s GFLOP/s (oneDNN 2048^3, same run).\n' \
		"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
		"$(grep -o -m1 'avx512_bf16' /proc/cpuinfo > /dev/null && echo AVX512_BF16 || echo no AVX512_BF16)" "$PEAK"
	printf 'Random weights; batch B x S s of random audio; median step of 10 after a warm-up; %s rounds, the\n' "$ROUNDS"
	printf 'median round shown.  audio s/s counts padded audio.  GFLOP: matmuls and convolutions of the forward, x3\n'
	printf 'where the backward runs (input + weight gradients).\n\n'
	printf '| model | step | precision | batch | steps | median s | audio s/s | split | FLOP | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n'
} > "$TMP/section.md"

for cfg in "demo full+conv fp32 1 8" "demo full+conv fp32 2 8" "demo full fp32 2 8" "demo adapters fp32 4 5" \
           "base full+conv fp32 2 8" "base full+conv bf16 2 8" "base full bf16 2 8"; do
	set -- $cfg
	for i in $(seq "$ROUNDS"); do
		row "$B" "$@" > "$TMP/r$i.txt"
		[ -n "$BASELINE" ] && row "$BASELINE" "$@" > "$TMP/old$i.txt"
	done
	m=$(cat "$TMP"/r*.txt | rate | median)
	grep -h "| $m |" "$TMP"/r*.txt | head -1 | sed 's/| demo |/| demo (128x4) |/; s/| base |/| base (256x6) |/' >> "$TMP/section.md"
	if [ -n "$BASELINE" ]; then
		bm=$(cat "$TMP"/old*.txt | rate | median)
		echo "$*: accent $m audio s/s, baseline $bm" >> "$TMP/baseline.txt"
	fi
	rm -f "$TMP"/r[0-9]*.txt "$TMP"/old[0-9]*.txt
done

if [ -n "$BASELINE" ]; then
	printf '\nBefore/after (the same rounds; BASELINE=%s):\n\n```\n' "$BASELINE" >> "$TMP/section.md"
	awk -F'[ ,]+' '{ r = ($(NF) > 0) ? $(NF - 4) / $(NF) : 0; printf "%s  ratio %.2f\n", $0, r }' "$TMP/baseline.txt" \
		>> "$TMP/section.md"
	printf '```\n' >> "$TMP/section.md"
fi

if [ -f "$TORCH/bench.py" ]; then
	echo "== PyTorch reference at the demo's shape (adapters + head; OpenBLAS AVX-512 kernels pinned)" >&2
	(cd "$TORCH" && OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench.py --configs mms-300m --modes train \
		--precisions fp32 --batch 4 --seconds 5 --max-reps 5 --target-timed 10 \
		--override hidden_size=128,num_hidden_layers=4,num_attention_heads=4,intermediate_size=256,conv_dim=64 \
		--json "$TMP/torch.json") > "$TMP/torch.log" 2>&1 || :
	/usr/bin/python3 - "$TMP/torch.json" >> "$TMP/section.md" <<'PY' || :
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("\nPyTorch reference: no result (%s)" % e); sys.exit()
for r in d.get("results", []):
    if r.get("status") == "ok":
        print("\nPyTorch %s (torch_ref, demo shape, train = adapters + head, fp32, batch 4 x 5 s): %.2f audio s/s, "
              "median step %.3f s." % (r.get("torch_version", ""), r["audio_s_per_s"], r["median_s"]))
PY
fi

if command -v perf > /dev/null 2>&1; then
	echo "== per-op profile (perf) of the demo-shape full+conv step" >&2
	perf record -F 999 -g -o "$TMP/perf.data" "$B" --model "$TMP/demo" --freeze full+conv --batch 2 --seconds 8 \
		--steps 60 > /dev/null 2>&1 &&
	perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio -g none 2> /dev/null |
	awk '/%/ && !/^#/ {
		p = $1; sub(/%/, "", p); dso = $2; sym = $4
		if (dso ~ /JIT|dnnl/ || sym ~ /^0x/ && dso !~ /gomp|kernel/) k = "oneDNN kernels (matmul, conv; JIT code)"
		else if (dso ~ /gomp/) k = "OpenMP barriers and spinning"
		else if (dso ~ /kernel/) k = "kernel (page faults, scheduling)"
		else if (sym ~ /memset|memmove|memcpy/) k = "memset / memcpy"
		else { k = sym; sub(/\._omp_fn\.[0-9]+/, "", k) }
		share[k] += p }
	END { for (k in share) printf "%.1f\t%s\n", share[k], k }' | sort -rg | head -16 > "$TMP/prof.tsv"
	if [ -s "$TMP/prof.tsv" ]; then
		printf '\nWhere the demo-shape full+conv step goes (perf, 60 steps of 2 x 8 s, share of CPU samples):\n\n' >> "$TMP/section.md"
		printf '| share %% | op |\n|---|---|\n' >> "$TMP/section.md"
		awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }' "$TMP/prof.tsv" >> "$TMP/section.md"
	fi
fi
cat "$TMP/section.md"
cat "$TMP/section.md" >> "$OUT"
echo "appended to $OUT" >&2
