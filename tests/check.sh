# tests/check.sh — the shell tests' counterpart of check.h, sourced (not
# run: tests/run.sh skips it) by the tests that drive the binaries:
#     . "$(dirname "$0")/check.sh"
# Each check prints "ok - NAME" or "not ok - NAME (why)" and counts into
# $pass / $fail; the test prints its own "# FILE: N passed, N failed" line.
# expect and expect_fail leave the command's output in $T/out and $T/err.
# The helpers at the end set up what several tests share: a scratch
# directory, required commands, the mms-tiny model, a small tst corpus, mpirun.
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

# --- the setup the tests share (call before the checks) ---
# The repository root: tests start there (tests/run.sh runs them from it).
ROOT=$(pwd)
BINDIR=${BINDIR:-bin}
TEST_NAME=$(basename "$0")
# abs PATH: PATH made absolute (tests cd into their scratch directory), e.g.
# ALIGN=$(abs "$BINDIR/align")
abs() { echo "$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")"; }
# bins VAR=NAME...: VAR is the absolute path of $BINDIR/NAME, which must be
# built (else one failure and exit), e.g. bins ALIGN=align PREP=prep
bins() {
	for a in "$@"; do
		p=$(abs "$BINDIR/${a#*=}")
		[ -x "$p" ] || p="$BINDIR/${a#*=}"   # (named as given in the failure)
		eval "${a%%=*}=\$p"
		require_bins "$TEST_NAME" "$p"
	done
}
# require_cmds CMD...: each CMD must be on PATH, else one failure and exit
require_cmds() {
	missing=""
	for c in "$@"; do
		command -v "$c" >/dev/null || missing="$missing $c"
	done
	if [ -n "$missing" ]; then
		echo "not ok -$missing needed (make deps)"
		echo "# $TEST_NAME: 0 passed, 1 failed"
		exit 1
	fi
}
# scratch NAME: a fresh directory $T (accent-NAME-*), removed at exit unless
# KEEP is set, made the current directory
scratch() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/accent-$1-XXXXXX") || exit 1
	[ -n "$KEEP" ] || trap 'rm -rf "$T"' EXIT
	cd "$T" || exit 1
}
# tiny_vocab DIR LANG...: DIR/vocab.json, MMS-nested, giving each LANG the
# 12 symbols of the mms-tiny fixture's amh adapter (<pad> <s> </s> <unk> |
# and a-g)
tiny_vocab() {
	dir=$1; shift
	v='{"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6, "c": 7, "d": 8, "e": 9, "f": 10, "g": 11}'
	sep="{"
	for l in "$@"; do
		printf '%s"%s": %s' "$sep" "$l" "$v"
		sep=", "
	done > "$dir/vocab.json"
	printf '}\n' >> "$dir/vocab.json"
}
# tiny_mms DIR LANG...: DIR holds the mms-tiny fixture (random weights, an amh
# adapter) with tiny_vocab's vocab.json for LANG...
tiny_mms() {
	dir=$1; shift
	fix="$ROOT/tests/data/hf-wav2vec2/mms-tiny"
	mkdir -p "$dir"
	cp "$fix/config.json" "$fix/preprocessor_config.json" "$fix/model.safetensors" \
	   "$fix/adapter.amh.safetensors" "$dir/"
	tiny_vocab "$dir" "$@"
}
# tst_corpus N: N clips (espeak-ng; words of the letters a-g, so the
# mms-tiny vocabulary spells them) of two speakers in clips/, ingested as
# language tst into data.db (a check named "prep ingest"; needs $PREP), a
# quarter of them dev, the rest train, all of weight 1
tst_corpus() {
	i=0
	for t in "bad cafe" "a bead faced a cab" "deaf dad fed a bee" "add a face" "cage bag" "a bag" \
	         "fade a cab" "dead bee" "faced a cage" "a bad bed" "a deaf cab" "bead face"; do
		[ "$i" -lt "$1" ] || break
		i=$((i + 1)); s=s$((i % 2 + 1))
		mkdir -p "clips/$s"
		espeak-ng -w "clips/$s/u$i.wav" "$t" && echo "$t" > "clips/$s/u$i.txt"
	done
	expect "prep ingest" 0 "$PREP" ingest --layout folder --lang tst --manifest data.db --no-balance clips
	q "UPDATE utterances SET split = CASE WHEN id % 4 = 0 THEN 'dev' ELSE 'train' END, weight = 1.0"
}
# kill_at TARGET TABLE CMD...: run CMD in the background and kill it with
# SIGKILL once TABLE of the manifest q reads has TARGET committed rows
# (polling the WAL every 50 ms, for at most 60 s), or after 50 ms when
# TARGET is "early"; $killed counts the kills that found CMD still running
kill_at() {
	target=$1; table=$2; shift 2
	"$@" >/dev/null 2>&1 &
	pid=$!
	if [ "$target" = early ]; then
		sleep 0.05
	else
		waited=0
		while kill -0 $pid 2>/dev/null && [ $waited -lt 1200 ]; do
			n=$(q "SELECT count(*) FROM $table" 2>/dev/null); n=${n:-0}
			[ "$n" -ge "$target" ] && break
			sleep 0.05; waited=$((waited + 1))
		done
	fi
	if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
	wait $pid 2>/dev/null
}
# mpi_setup: the environment of the tests that run 2 ranks; sets $MPIRUN.
# Open MPI refuses root unless told (the test machines run as root); one
# OpenMP thread per rank (2 ranks on 2 cores, like the benchmark).  Under
# AddressSanitizer (make asan) the ranks run without leak detection: Open MPI
# 4.1's own MPI_Init + MPI_Finalize, in an empty program, leave ~37
# allocations that LeakSanitizer reports (libmpi and the components it
# unloads).  Address and UB checks stay on; one-process runs keep leak checks.
mpi_setup() {
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMP_NUM_THREADS=1
	MPIRUN="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 300 mpirun -np 2 --oversubscribe"
}
