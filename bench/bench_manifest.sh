#!/bin/sh
# bench/bench_manifest.sh — the manifest at scale: builds a manifest of
# N utterances (default 1,000,000; 2,500 speakers with a triangular skew of
# utterance counts, 2 languages, one recording per utterance;
# bench/gen_manifest.sh), then times
#   - the per-speaker hours view (target: < 1 s), through `db query`
#     (whole process: open, query, print), best of 3;
#   - its peer in the same run: the same aggregate read from the table
#     without the covering index (NOT INDEXED), in-process;
#   - db stats, db split, db weights and a NeMo export of the whole manifest.
# Appends a section to bench/RESULTS.md.  Usage:
#   make bench-manifest            or   BINDIR=bin sh bench/bench_manifest.sh [N]
set -e
. "$(dirname "$0")/bench_common.sh"
bench_tmp benchmanifest
M="$W/data.db"
# best of 3 wall times of a command (output discarded)
best3() {
	best=""
	for k in 1 2 3; do
		t0=$(now); "$@" > /dev/null; t1=$(now)
		t=$(el "$t0" "$t1")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
	done
	echo "$best"
}

echo "generating $N utterances..."
t0=$(now)
BINDIR="$(dirname "$DB")" sh "$ROOT/bench/gen_manifest.sh" "$M" "$N"
t1=$(now)
gen=$(el "$t0" "$t1")
rows=$("$DB" --manifest "$M" query --format csv "SELECT count(*) FROM utterances" | tail -n 1)
spk=$("$DB" --manifest "$M" query --format csv "SELECT count(*) FROM hours_by_speaker" | tail -n 1)
size=$(du -m "$M" | cut -f1)
echo "generated $rows utterances of $spk speakers in ${gen}s (${size} MB)"

view=$(best3 "$DB" --manifest "$M" query "SELECT * FROM hours_by_speaker")
viewcsv=$(best3 "$DB" --manifest "$M" query --format csv "SELECT label, hours FROM hours_by_speaker ORDER BY hours DESC")
# in-process timings of the view and of its peer (no covering index), via SQLite's own timer
inproc() {
	"$DB" --manifest "$M" query --format csv "SELECT 1" > /dev/null  # warm the page cache
	t0=$(now); "$DB" --manifest "$M" query --format csv "$1" > /dev/null; t1=$(now); el "$t0" "$t1"
}
peer=$(inproc "SELECT speaker_id, count(*), sum(end_s - start_s) / 3600.0 FROM utterances NOT INDEXED WHERE status = 'ok' GROUP BY speaker_id")
langsplit=$(best3 "$DB" --manifest "$M" query "SELECT * FROM hours_by_lang_split")
stats=$(best3 "$DB" --manifest "$M" stats)
t0=$(now); "$DB" --manifest "$M" split --seed 1 --distinct-text > /dev/null; t1=$(now); split=$(el "$t0" "$t1")
t0=$(now); "$DB" --manifest "$M" weights --alpha 0.5 > /dev/null; t1=$(now); weights=$(el "$t0" "$t1")
t0=$(now); "$DB" --manifest "$M" export --format nemo --out "$W/nemo" > /dev/null; t1=$(now); export=$(el "$t0" "$t1")
viewafter=$(best3 "$DB" --manifest "$M" query "SELECT * FROM hours_by_speaker")

{
	bench_section "Manifest at scale (bench/bench_manifest.sh)"
	echo "Manifest: $rows utterances, $spk speakers, $rows recordings, ${size} MB (generated in ${gen} s)."
	echo ""
	echo "| measurement | wall time (s) |"
	echo "|---|---|"
	echo "| \`db query \"SELECT * FROM hours_by_speaker\"\` (whole process, best of 3; target < 1 s) | $view |"
	echo "| same view after split + weights | $viewafter |"
	echo "| \`db query --format csv\` per-speaker hours sorted by hours | $viewcsv |"
	echo "| peer: same aggregate on the table, NOT INDEXED (whole process) | $peer |"
	echo "| \`hours_by_lang_split\` view | $langsplit |"
	echo "| \`db stats\` (all sections) | $stats |"
	echo "| \`db split --distinct-text\` (all utterances) | $split |"
	echo "| \`db weights --alpha 0.5\` | $weights |"
	echo "| \`db export --format nemo\` (all splits) | $export |"
} >> "$res"
echo "per-speaker hours view: ${view}s (peer without index: ${peer}s); stats ${stats}s; split ${split}s; weights ${weights}s; export ${export}s"
echo "appended to $res"
