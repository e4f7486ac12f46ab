#!/bin/sh
# bench/bench_int8_accuracy.sh — int8 (and bf16) emissions against fp32 on the
# shipped base model (models/accent-base) over its own test split (held-out
# voices saying held-out sentences, every base language): greedy CER from
# `train eval --precision P`, and the share of aligned word boundaries (word
# starts and ends from `align run --precision P`) within 20 ms of the fp32
# alignment.  Targets (issue 18): int8 CER within 0.5 points of fp32, >= 99% of
# boundaries within 20 ms.  Appends a section to bench/RESULTS.md.  Not a test.
#
# needs: the base model's manifest (`make base-model` writes base-work/data.db;
# BASE_DB=... for another), $BINDIR/{train,align}, sqlite3, python3.
#   make bench-int8-accuracy    or    BINDIR=bin sh bench/bench_int8_accuracy.sh
set -eu
BINDIR=${BINDIR:-bin}
M=${MODEL:-models/accent-base}
DB=${BASE_DB:-base-work/data.db}
OUT=${RESULTS:-bench/RESULTS.md}
[ -f "$DB" ] || { echo "error: $DB missing (make base-model writes it)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
LANGS=$(sqlite3 "$DB" "SELECT DISTINCT lang FROM utterances WHERE split = 'test' ORDER BY lang")
for p in fp32 bf16 int8; do
	# a copy holding only the test split: align run aligns every utterance of a language
	cp "$DB" "$W/$p.db"
	sqlite3 "$W/$p.db" "PRAGMA foreign_keys = ON; DELETE FROM utterances WHERE split IS NOT 'test';"
	for L in $LANGS; do
		echo "== $p $L" >&2
		"$BINDIR/train" eval --model "$M" --lang "$L" --manifest "$W/$p.db" --split test --precision "$p" > /dev/null
		"$BINDIR/align" run --lang "$L" --model "$M" --manifest "$W/$p.db" --precision "$p" --quiet
	done
done
/usr/bin/python3 - "$W" "$OUT" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" <<'PY'
import sqlite3, sys, time
w, out, cpu = sys.argv[1], sys.argv[2], sys.argv[3]
def cer(p):
    c = sqlite3.connect(f"{w}/{p}.db")
    rows = c.execute("SELECT lang, char_errors, ref_chars FROM eval_runs WHERE decoder = 'greedy' "
                     "AND condition = 'clean' AND subset = 'all' AND split = 'test' ORDER BY id").fetchall()
    per = {l: (e, n) for l, e, n in rows}   # the last evaluation of each language
    e = sum(v[0] for v in per.values()); n = sum(v[1] for v in per.values())
    return 100.0 * e / n, {l: 100.0 * a / b for l, (a, b) in per.items()}, len(per)
def bounds(p):
    c = sqlite3.connect(f"{w}/fp32.db")
    c.execute(f"ATTACH '{w}/{p}.db' AS o")
    r = c.execute("SELECT count(*), sum(abs(a.start_s - b.start_s) <= 0.02 + 1e-9) + sum(abs(a.end_s - b.end_s) <= 0.02 + 1e-9), "
                  "sum(abs(a.start_s - b.start_s) <= 0.02 + 1e-9 AND abs(a.end_s - b.end_s) <= 0.02 + 1e-9) "
                  "FROM align_words a JOIN o.align_words b USING (utterance_id, idx)").fetchone()
    return r
c32, per32, nl = cer("fp32")
lines = ["", "## int8 and bf16 emissions on the base model vs fp32 (bench/bench_int8_accuracy.sh), "
         + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "",
         f"Machine: {cpu}. models/accent-base on its own test split ({nl} languages, held-out voices saying held-out "
         "sentences): greedy CER from `train eval --precision P`; word boundaries (starts and ends) from "
         "`align run --precision P` against the fp32 alignment of the same utterances.", "",
         "| precision | greedy CER, all languages | vs fp32 | word boundaries within 20 ms of fp32 | words with both |",
         "|---|---|---|---|---|", f"| fp32 | {c32:.3f}% | | | |"]
for p in ("bf16", "int8"):
    cp, per, _ = cer(p)
    nw, nb, both = bounds(p)
    lines.append(f"| {p} | {cp:.3f}% | {cp - c32:+.3f} points | {100.0 * nb / (2 * nw):.2f}% of {2 * nw} | "
                 f"{100.0 * both / nw:.2f}% of {nw} |")
    worst = max(per, key=lambda l: abs(per[l] - per32.get(l, per[l])))
    lines.append(f"| | per language, largest change: {worst} {per32.get(worst, 0):.2f} -> {per[worst]:.2f} | | | |")
lines.append("")
lines.append("Targets (int8): CER within 0.5 points of fp32; >= 99% of boundaries within 20 ms.")
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
open(out, "a").write(text)
PY
