# tests/check.sh — the shell tests' counterpart of check.h, sourced (not
# run: tests/run.sh skips it) by the tests that drive the binaries:
#     . "$(dirname "$0")/check.sh"
# Each check prints "ok - NAME" or "not ok - NAME (why)" and counts into
# $pass / $fail; the test prints its own "# FILE: N passed, N failed" line.
# expect and expect_fail leave the command's output in $T/out and $T/err.
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "not ok - $1"; }
# expect NAME STATUS CMD...: run CMD, compare its exit status
expect() {
	name=$1; want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else ko "$name (exit $got, want $want)"; sed 's/^/    /' "$T/err" | head -5; fi
}
# expect_fail NAME CMD...: CMD must exit non-zero
expect_fail() {
	name=$1; shift
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" -ne 0 ]; then ok "$name"; else ko "$name (exit 0)"; fi
}
# contains NAME FILE TEXT: FILE holds TEXT (fixed string)
contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else ko "$1 ('$3' not in output)"; sed 's/^/    /' "$2" | head -10; fi
}
# same NAME GOT WANT: string equality
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else ko "$1 ('$2' != '$3')"; fi
}
# q SQL: run SQL on the test's manifest $T/data.db
q() { sqlite3 "$T/data.db" "$1"; }
# require_bins FILE BIN...: each BIN must be built, else one failure and exit
require_bins() {
	name=$1; shift
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			echo "not ok - $b is not built"
			echo "# $name: 0 passed, 1 failed"
			exit 1
		fi
	done
}
