#!/bin/sh
# bench/bench_infer.sh — emission throughput of accent's model forward next to
# the PyTorch reference (../shared/bench/torch_ref), same machine, same run,
# mms-300m shape, batch 4 x 5 s, fp32, bf16 and dynamic int8 (PyTorch:
# bf16 autocast and quantize_dynamic); the 2048^3 oneDNN matmul ceiling; peak
# memory of a saved mms-300m checkpoint loaded as align/transcribe load it
# (bf16/int8 lean: fp32 copies released as each weight is packed); peak
# memory of the mms-1b shape.  Appends a section to
# bench/RESULTS.md.  Not a test (minutes of work; needs python3-torch,
# libopenblas0-openmp and libtcmalloc-minimal4 for the PyTorch side).
#
#   make bench-infer            (builds $BINDIR/bench_infer, then runs this)
#   BINDIR=bin sh bench/bench_infer.sh [--no-torch] [--no-1b]
set -u
BINDIR=${BINDIR:-bin}
B=$BINDIR/bench_infer
TORCH=${TORCH_REF:-../shared/bench/torch_ref}
OUT=${RESULTS:-bench/RESULTS.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
do_torch=1
do_1b=1
for a in "$@"; do
	case $a in
	--no-torch) do_torch=0 ;;
	--no-1b) do_1b=0 ;;
	*) echo "usage: bench_infer.sh [--no-torch] [--no-1b]" >&2; exit 2 ;;
	esac
done
[ -x "$B" ] || { echo "error: $B not built (make bench-infer)" >&2; exit 1; }

echo "== oneDNN 2048^3 matmul ceiling" >&2
$B --matmul | tee "$TMP/matmul.txt" >&2
echo "== accent mms-300m fp32 / bf16" >&2
$B --config mms-300m --precision fp32 --reps 5 | tee "$TMP/fp32.txt" >&2
$B --config mms-300m --precision bf16 --reps 5 | tee "$TMP/bf16.txt" >&2
$B --config mms-300m --precision int8 --reps 5 | tee "$TMP/int8.txt" >&2
$B --config mms-300m --precision fp32 --reps 3 --pack | tee "$TMP/fp32np.txt" >&2
$B --config mms-300m --accuracy | tee "$TMP/acc.txt" >&2
echo "== peak memory of a saved mms-300m checkpoint, loaded as the binaries do" >&2
CK=${BUILD:-build}/bench-infer/mms-300m
[ -f "$CK/config.json" ] || $BINDIR/mkmodel --preset mms-300m --langs eng --out "$CK" >&2
for p in fp32 "bf16 --lean" "int8 --lean" bf16 int8; do
	$B --model "$CK" --precision $p --reps 1 | tee -a "$TMP/mem.txt" >&2
done
if [ $do_torch = 1 ]; then
	echo "== PyTorch reference (mms-300m infer fp32, bf16-autocast)" >&2
	# OpenBLAS 0.3.21 does not recognise every AVX-512 CPU and may fall back to
	# its Prescott or Haswell kernels; pin the AVX-512 kernels (SkylakeX: 0.3.21 has
	# no Cooperlake kernels and falls back to Haswell for that name) as bench_train.sh does.
	(cd "$TORCH" && OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} /usr/bin/python3 bench.py --configs mms-300m --modes infer \
		--precisions fp32,bf16-autocast,int8-dynamic --target-timed 30 --json "$TMP/torch.json") >&2 || true
	# accent again after PyTorch: the machine is shared, report both runs
	$B --config mms-300m --precision fp32 --reps 3 | tee "$TMP/fp32b.txt" >&2
	$B --config mms-300m --precision bf16 --reps 3 | tee "$TMP/bf16b.txt" >&2
	$B --config mms-300m --precision int8 --reps 3 | tee "$TMP/int8b.txt" >&2
fi
if [ $do_1b = 1 ]; then
	echo "== mms-1b peak memory (fp32, bf16)" >&2
	$B --config mms-1b --precision fp32 --reps 1 | tee "$TMP/1b_np.txt" >&2
	$B --config mms-1b --precision bf16 --reps 1 | tee "$TMP/1b_bf16.txt" >&2
fi

torch_row() {  # precision -> "audio_s_per_s gflops peak_rss_mib" or "n/a n/a n/a"
	[ -f "$TMP/torch.json" ] || { echo "n/a n/a n/a"; return; }
	/usr/bin/python3 - "$TMP/torch.json" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d.get("results", []):
    if r.get("config") == "mms-300m" and r.get("mode") == "infer" and r.get("precision") == sys.argv[2] and r.get("status") == "ok":
        print("%.2f %.0f %.0f" % (r["audio_s_per_s"], r["gflops"], r["peak_rss_mib"])); break
else:
    print("n/a n/a n/a")
EOF
}
field() {  # file regex -> first match group
	sed -n "s/.*$2.*/\1/p" "$1" | head -1
}
{
	echo
	echo "## modelrun: model forward (emissions), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	v=/usr/include/oneapi/dnnl/dnnl_version.h
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
	     "load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg)." \
	     "oneDNN $(sed -n 's/#define DNNL_VERSION_MAJOR //p' $v).$(sed -n 's/#define DNNL_VERSION_MINOR //p' $v).$(sed -n 's/#define DNNL_VERSION_PATCH //p' $v)."
	echo "The machine is shared: other work running at the same time makes every number noisy."
	echo
	echo '```'
	cat "$TMP/matmul.txt" "$TMP/fp32.txt" "$TMP/bf16.txt" "$TMP/int8.txt" "$TMP/fp32np.txt" "$TMP/acc.txt" \
	    "$TMP/mem.txt"
	[ -f "$TMP/fp32b.txt" ] && cat "$TMP/fp32b.txt" "$TMP/bf16b.txt" "$TMP/int8b.txt"
	[ -f "$TMP/1b_np.txt" ] && cat "$TMP/1b_np.txt" "$TMP/1b_bf16.txt"
	echo '```'
	echo
	set -- $(torch_row fp32); tf=$1; tfm=$3
	set -- $(torch_row bf16-autocast); tb=$1; tbm=$3
	set -- $(torch_row int8-dynamic); ti=$1; tim=$3
	af=$(field "$TMP/fp32.txt" ' \([0-9.]*\) audio s\/s')
	ab=$(field "$TMP/bf16.txt" ' \([0-9.]*\) audio s\/s')
	ai=$(field "$TMP/int8.txt" ' \([0-9.]*\) audio s\/s')
	echo "| mms-300m infer, B=4 x 5 s | accent audio s/s | PyTorch audio s/s (same run) | ratio | PyTorch peak RSS MiB |"
	echo "|---|---|---|---|---|"
	for p in fp32 bf16 int8; do
		case $p in fp32) a=$af; t=$tf; tm=$tfm ;; bf16) a=$ab; t=$tb; tm=$tbm ;; int8) a=$ai; t=$ti; tm=$tim ;; esac
		r=$(awk -v a="$a" -v t="$t" 'BEGIN { if (t + 0 > 0) printf "%.2fx", a / t; else print "n/a" }')
		echo "| $p | $a | $t | $r | $tm |"
	done
	echo
	awk -v i="$ai" -v f="$af" -v t="$ti" 'BEGIN {
		printf "int8 targets: accent int8 / accent fp32 = %.2f (target >= 1.6); ", (f > 0 ? i / f : 0)
		if (t + 0 > 0) printf "accent int8 / PyTorch int8-dynamic = %.2f (target >= 1.3).\n", i / t
		else print "PyTorch int8-dynamic not measured." }'
} >> "$OUT"
echo "appended to $OUT" >&2
