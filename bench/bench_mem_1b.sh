#!/bin/sh
# bench/bench_mem_1b.sh — training memory at the mms-1b shape with one 20 s
# utterance per batch (adapters + head, base frozen), accent with and without
# --recompute next to the PyTorch peer (../shared/bench/torch_ref, "train"
# mode) at the same shape, fp32 and bf16: peak RSS (the whole process, model
# weights included) and the step time of the same runs.  Appends a section to
# bench/RESULTS.md.  Not a test (about 10 minutes; needs 12 GiB of memory).
#
#   make bench-mem-1b            (builds $BINDIR/bench_train, then runs this)
#   BINDIR=bin sh bench/bench_mem_1b.sh [--no-torch]
set -u
. "$(dirname "$0")/bench_peer.sh"
B=$BINDIR/bench_train
peer_args bench_mem_1b.sh bench-mem-1b "$B" "$@"
rows=""
for p in fp32 bf16; do
	for rc in "" --recompute; do
		echo "== accent mms-1b $p $rc" >&2
		$B --preset mms-1b --batch 1 --seconds 20 --steps 1 --precision $p $rc > "$TMP/a.txt" 2> "$TMP/a.log" ||
			cat "$TMP/a.log" >&2
		set -- $(awk -F'|' '/\| mms-1b/ { gsub(/ /, "", $7); gsub(/ MiB| /, "", $11); print $7, $11; f = 1; exit }
		                    END { if (!f) print "n/a n/a" }' "$TMP/a.txt")
		rows="$rows| accent | $p${rc:+ $rc} | $1 | $2 |
"
	done
	if [ $do_torch = 1 ]; then
		tp=$p; [ $p = bf16 ] && tp=bf16-autocast
		echo "== PyTorch mms-1b $tp" >&2
		(cd "$TORCH" && OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench.py --configs mms-1b --modes train \
			--precisions $tp --batch 1 --seconds 20 --max-reps 3 --target-timed 20 --json "$TMP/t.json") >&2 || :
		set -- $(/usr/bin/python3 - "$TMP/t.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    d = {}
for r in d.get("results", []):
    if r.get("status") == "ok":
        print("%.3f %.0f" % (r["median_s"], r["peak_rss_mib"])); break
else:
    print("n/a n/a")
PY
)
		rows="$rows| PyTorch | $tp | $1 | $2 |
"
		rm -f "$TMP/t.json"
	fi
done
{
	echo
	echo "## Training memory at the mms-1b shape, 1 x 20 s (bench/bench_mem_1b.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
	     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
	     "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Adapters + head (base frozen), random weights," \
	     "one 20 s utterance per step (999 frames). Peak RSS is the whole process, weights included."
	echo
	echo "| who | precision | step s | peak RSS MiB |"
	echo "|---|---|---|---|"
	printf "%s" "$rows"
} >> "$OUT"
echo "appended to $OUT" >&2
