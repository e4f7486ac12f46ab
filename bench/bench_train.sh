#!/bin/sh
# bench/bench_train.sh — adapter-training throughput of accent's trainer step
# (forward + CTC + backward to the lowest adapter + AdamW; mms-300m shape,
# batch 4 x 5 s) in fp32 and bf16, next to the PyTorch reference in
# ../shared/bench/torch_ref ("train" mode: adapters + head, base frozen) in the
# same run on the same machine.  PyTorch's fp32 runs twice: with OpenBLAS's own
# CPU detection (0.3.21 falls back to its Prescott kernels on this Xeon) and
# with the AVX-512 kernels pinned (OPENBLAS_CORETYPE=SkylakeX); the faster is
# the peer figure.  Appends a section to bench/RESULTS.md.  Not a test.
#
#   make bench-train            (builds $BINDIR/bench_train, then runs this)
#   BINDIR=bin sh bench/bench_train.sh [--no-torch]
set -u
BINDIR=${BINDIR:-bin}
B=$BINDIR/bench_train
TORCH=${TORCH_REF:-../shared/bench/torch_ref}
OUT=${RESULTS:-bench/RESULTS.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
do_torch=1
for a in "$@"; do
	case $a in
	--no-torch) do_torch=0 ;;
	*) echo "usage: bench_train.sh [--no-torch]" >&2; exit 2 ;;
	esac
done
[ -x "$B" ] || { echo "error: $B not built (make bench-train)" >&2; exit 1; }
ARGS="--preset mms-300m --batch 4 --seconds 5 --steps 3 --gflop-per-step 1370"

echo "== oneDNN 2048^3 matmul ceiling (bench_infer --matmul)" >&2
$BINDIR/bench_infer --matmul | tee "$TMP/matmul.txt" >&2 || : > "$TMP/matmul.txt"
echo "== accent mms-300m adapter training, fp32 / bf16" >&2
$B $ARGS --precision fp32 | tee "$TMP/fp32.txt" >&2
$B $ARGS --precision bf16 | tee "$TMP/bf16.txt" >&2
if [ $do_torch = 1 ]; then
	echo "== PyTorch reference (mms-300m train fp32, bf16-autocast)" >&2
	(cd "$TORCH" && /usr/bin/python3 bench.py --configs mms-300m --modes train --precisions fp32,bf16-autocast \
		--max-reps 3 --target-timed 20 --json "$TMP/torch.json") >&2 || true
	(cd "$TORCH" && OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench.py --configs mms-300m --modes train \
		--precisions fp32 --max-reps 3 --target-timed 20 --json "$TMP/torch_skx.json") >&2 || true
	# accent again after PyTorch: report both runs
	$B $ARGS --precision fp32 | tee "$TMP/fp32b.txt" >&2
fi

torch_row() {  # json precision -> "audio_s_per_s gflops" or "n/a n/a"
	[ -f "$1" ] || { echo "n/a n/a"; return; }
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d.get("results", []):
    if r.get("config") == "mms-300m" and r.get("mode") == "train" and r.get("precision") == sys.argv[2] and r.get("status") == "ok":
        print("%.2f %.0f" % (r["audio_s_per_s"], r["gflops"])); break
else:
    print("n/a n/a")
PY
}
rate() {  # bench_train output -> audio s/s of its table row
	awk -F'|' '/\| mms-300m/ { gsub(/ /, "", $8); print $8; exit }' "$1"
}
{
	echo
	echo "## train: adapter-training step vs PyTorch (bench/bench_train.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
	     "load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo '```'
	cat "$TMP/matmul.txt" "$TMP/fp32.txt" "$TMP/bf16.txt"
	[ -f "$TMP/fp32b.txt" ] && cat "$TMP/fp32b.txt"
	echo '```'
	echo
	set -- $(torch_row "$TMP/torch.json" fp32); tf=$1; tfg=$2
	set -- $(torch_row "$TMP/torch_skx.json" fp32); tfs=$1; tfsg=$2
	set -- $(torch_row "$TMP/torch.json" bf16-autocast); tb=$1; tbg=$2
	af=$(rate "$TMP/fp32.txt"); ab=$(rate "$TMP/bf16.txt")
	best=$(awk -v a="$tf" -v b="$tfs" 'BEGIN { if (b + 0 > a + 0) print b; else print a }')
	echo "| mms-300m adapter training, B=4 x 5 s | audio s/s | GFLOP/s |"
	echo "|---|---|---|"
	echo "| accent fp32 | $af | $(awk -F'|' '/\| mms-300m/ { gsub(/ /, "", $10); print $10; exit }' "$TMP/fp32.txt") |"
	echo "| accent bf16 | $ab | $(awk -F'|' '/\| mms-300m/ { gsub(/ /, "", $10); print $10; exit }' "$TMP/bf16.txt") |"
	echo "| PyTorch fp32 (OpenBLAS auto-detected) | $tf | $tfg |"
	echo "| PyTorch fp32 (OPENBLAS_CORETYPE=SkylakeX) | $tfs | $tfsg |"
	echo "| PyTorch bf16 autocast | $tb | $tbg |"
	echo
	echo "Ratios, precision against precision: fp32 $(awk -v a="$af" -v t="$best" 'BEGIN { if (t + 0 > 0) printf "%.2fx", a / t; else print "n/a" }')" \
	     "(accent / the faster PyTorch fp32; target >= 1.15x), bf16 $(awk -v a="$ab" -v t="$tb" 'BEGIN { if (t + 0 > 0) printf "%.2fx", a / t; else print "n/a" }')" \
	     "(target >= 1.25x)."
} >> "$OUT"
echo "appended to $OUT" >&2
