#!/bin/sh
# Run every test executable given as argument from the repository root; add
# up their "# file: N passed, N failed" lines; print the suite total last and
# exit non-zero when any test failed or any executable crashed.
# Shell tests (tests/*.sh other than this file and tests/check.sh, the
# helpers they source) run too; they print the same summary line.  BINDIR
# (default bin) is exported for them.  SH_TESTS, when set, names the shell
# tests to run instead of all of them (empty: none; `make asan-quick`).
passed=0; failed=0; crashed=""
BINDIR=${BINDIR:-bin}; export BINDIR
run_one() {
	name=$1; shift
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(not ok|# )' | sed "s|^|[$name] |"
	line=$(printf '%s\n' "$out" | grep -E '^# .*: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -n 30
		echo "[$name] crashed or printed no summary (exit $rc)"
		failed=$((failed + 1)); crashed="$crashed $name"; return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -vE '^ok - ' | tail -n 40
		[ "$f" -gt 0 ] || f=1
	fi
	passed=$((passed + p)); failed=$((failed + f))
}
for t in "$@"; do run_one "$(basename "$t")" "$t"; done
for s in ${SH_TESTS-tests/*.sh}; do
	case $s in tests/run.sh|tests/check.sh) continue ;; esac   # the runner; sourced helpers
	[ -f "$s" ] || continue
	run_one "$(basename "$s")" sh "$s"
done
[ -n "$crashed" ] && echo "crashed:$crashed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
