#!/bin/sh
# bench/bench_train.sh — adapter-training throughput of accent's trainer step
# (forward + CTC + backward to the lowest adapter + AdamW; mms-300m shape,
# batch 4 x 5 s) in fp32 and bf16, next to the PyTorch reference in
# ../shared/bench/torch_ref ("train" mode: adapters + head, base frozen) on the
# same machine.  Appends a section to bench/RESULTS.md.  Not a test.
#
# Why rounds: this machine's speed drifts by up to 30% between minutes (the
# same 2048^3 matmul has measured 228 and 311 GFLOP/s an hour apart), so each
# ratio compares runs made back to back: ROUNDS pairs of (accent, PyTorch) in
# fp32 and BF16_ROUNDS pairs in bf16, each pair giving one ratio; the result
# is the median pair ratio.  PyTorch's fp32 runs with OpenBLAS's AVX-512
# kernels pinned (OPENBLAS_CORETYPE=SkylakeX: OpenBLAS 0.3.21 detects this Xeon
# as "Prescott" and runs 4x slower), and once more with its own detection for
# the record.  The CPU's instruction ceilings (vfmadd231ps, vdpbf16ps) and the
# oneDNN 2048^3 matmul are measured first.
#
#   make bench-train            (builds $BINDIR/bench_train, then runs this)
#   BINDIR=bin ROUNDS=3 BF16_ROUNDS=3 sh bench/bench_train.sh [--no-torch]
set -u
. "$(dirname "$0")/bench_peer.sh"
B=$BINDIR/bench_train
ROUNDS=${ROUNDS:-3}
BF16_ROUNDS=${BF16_ROUNDS:-3}
peer_args bench_train.sh bench-train "$B" "$@"
ARGS="--preset mms-300m --batch 4 --seconds 5 --steps 3 --gflop-per-step 1370"

accent() {  # precision out
	$B $ARGS --precision "$1" > "$2" 2> "$2.log" || { cat "$2.log" >&2; : > "$2"; }
	cat "$2" >&2
}
torch() {  # precision json [env...]
	p=$1; j=$2; shift 2
	(cd "$TORCH" && env "$@" /usr/bin/python3 bench.py --configs mms-300m --modes train --precisions "$p" \
		--max-reps 3 --target-timed 20 --json "$j") >&2 || :
}
torch_rate() {  # json precision -> "audio_s_per_s gflops peak_rss_mib" or "n/a n/a n/a"
	[ -f "$1" ] || { echo "n/a n/a n/a"; return; }
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d.get("results", []):
    if r.get("config") == "mms-300m" and r.get("mode") == "train" and r.get("precision") == sys.argv[2] and r.get("status") == "ok":
        print("%.2f %.0f %.0f" % (r["audio_s_per_s"], r["gflops"], r["peak_rss_mib"])); break
else:
    print("n/a n/a n/a")
PY
}
rate() {  # bench_train output -> "audio_s_per_s gflops peak_rss_mib" of its table row
	awk -F'|' '/\| mms-300m/ { gsub(/ /, "", $8); gsub(/ GFLOP\/s| /, "", $10); gsub(/ MiB| /, "", $11);
	                           print $8, $10, $11; f = 1; exit }
	           END { if (!f) print "n/a n/a n/a" }' "$1"
}
ratio() { awk -v a="$1" -v t="$2" 'BEGIN { if (a + 0 > 0 && t + 0 > 0) printf "%.2f", a / t; else print "n/a" }'; }
median() { tr ' ' '\n' | grep -v '^n/a$' | grep . | sort -g |
	awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== CPU instruction ceilings and the oneDNN 2048^3 matmul (bench_infer --matmul)" >&2
$BINDIR/bench_infer --matmul | tee "$TMP/matmul.txt" >&2 || : > "$TMP/matmul.txt"
rows=""
# rounds PRECISION TORCH_PRECISION N "ENV=VALUE ...": N back-to-back pairs;
# appends a table row per pair to $rows and the pair ratios to $ratios.
rounds() {
	prec=$1; tprec=$2; n=$3; tenv=$4
	ratios=""
	i=1
	while [ $i -le "$n" ]; do
		echo "== $prec round $i: accent $prec, then PyTorch $tprec $tenv" >&2
		accent "$prec" "$TMP/$prec-a$i.txt"
		set -- $(rate "$TMP/$prec-a$i.txt"); a=$1; ag=$2; am=$3
		t="n/a"; tg="n/a"; tm="n/a"
		if [ $do_torch = 1 ]; then
			torch "$tprec" "$TMP/$prec-t$i.json" $tenv
			set -- $(torch_rate "$TMP/$prec-t$i.json" "$tprec"); t=$1; tg=$2; tm=$3
		fi
		r=$(ratio "$a" "$t"); ratios="$ratios $r"
		rows="$rows| $prec round $i | $a | $ag | $am | $t | $tg | $tm | $r |
"
		i=$((i + 1))
	done
}
rounds fp32 fp32 "$ROUNDS" OPENBLAS_CORETYPE=SkylakeX; fr=$ratios
rounds bf16 bf16-autocast "$BF16_ROUNDS" ""; br=$ratios
td="n/a"; tdg="n/a"; tdm="n/a"
if [ $do_torch = 1 ]; then
	echo "== PyTorch fp32 with OpenBLAS's own CPU detection (for the record)" >&2
	torch fp32 "$TMP/td.json"
	set -- $(torch_rate "$TMP/td.json" fp32); td=$1; tdg=$2; tdm=$3
fi
{
	echo
	echo "## train: adapter-training step vs PyTorch (bench/bench_train.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
	     "load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg)." \
	     "mms-300m adapters + head (base frozen), batch 4 x 5 s, median of 3 steps after a warm-up."
	echo
	echo '```'
	cat "$TMP/matmul.txt"
	for f in "$TMP"/fp32-a*.txt "$TMP"/bf16-a*.txt; do [ -s "$f" ] && grep '| mms-300m' "$f"; done
	echo '```'
	echo
	echo "| pair (run back to back) | accent audio s/s | accent GFLOP/s | accent peak RSS MiB | PyTorch audio s/s | PyTorch GFLOP/s | PyTorch peak RSS MiB | ratio |"
	echo "|---|---|---|---|---|---|---|---|"
	printf "%s" "$rows"
	echo "| PyTorch fp32, OpenBLAS auto-detected kernels | | | | $td | $tdg | $tdm | |"
	echo
	echo "Median pair ratio, precision against precision: fp32 $(echo "$fr" | median) (target >= 1.25),"  \
	     "bf16 $(echo "$br" | median) (target >= 1.25)."
} >> "$OUT"
echo "appended to $OUT" >&2
