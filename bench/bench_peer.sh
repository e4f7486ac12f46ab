# bench/bench_peer.sh — sourced by the benchmarks that run accent next to the
# PyTorch peer (bench_train.sh, bench_mem_1b.sh): the binaries' folder, the
# peer's folder (TORCH_REF), the results file (RESULTS), a temporary folder
# TMP removed on exit, and peer_args, which reads the scripts' one option.
BINDIR=${BINDIR:-bin}
TORCH=${TORCH_REF:-../shared/bench/torch_ref}
OUT=${RESULTS:-bench/RESULTS.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
do_torch=1
# peer_args SCRIPT MAKE_TARGET BINARY "$@": --no-torch (do_torch=0; also when
# the peer is missing); exits with a usage line on anything else, and with an
# error when BINARY is not built.
peer_args() {
	name=$1 target=$2 bin=$3
	shift 3
	for a in "$@"; do
		case $a in
		--no-torch) do_torch=0 ;;
		*) echo "usage: $name [--no-torch]" >&2; exit 2 ;;
		esac
	done
	[ -x "$bin" ] || { echo "error: $bin not built (make $target)" >&2; exit 1; }
	[ -f "$TORCH/bench.py" ] || do_torch=0
}
