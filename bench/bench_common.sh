# bench/bench_common.sh — sourced by the shell benchmarks that time the
# manifest tools (bench_manifest.sh, bench_report.sh): the binaries' folder,
# the db binary's absolute path, the utterance count ($1, default 1,000,000),
# the source root, a clock, the elapsed time of two readings and the
# head of a results section.
# bench_tmp NAME: a fresh temporary folder in W, removed on exit.
BINDIR=${BINDIR:-bin}
DB=$(cd "$(dirname "$BINDIR/db")" && pwd)/db
N=${1:-1000000}
ROOT=$(pwd)
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
bench_tmp() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/accent-$1-XXXXXX")
	trap 'rm -rf "$W"' EXIT
}
# bench_section TITLE: the head of a section of bench/RESULTS.md (title,
# date, machine) on standard output; res: where the section goes.
res=${RESULTS:-"$ROOT/bench/RESULTS.md"}
bench_section() {
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
	echo ""
	echo "## $1 — $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo ""
	echo "Machine: $cpu, $(nproc) cores; SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: wall times are noisy)."
}
