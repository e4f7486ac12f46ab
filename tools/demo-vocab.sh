#!/bin/sh
# tools/demo-vocab.sh — write a nested MMS vocab.json for a random-weight
# demo/test model: every character of the manifest's normalized transcripts
# (utterances and long-recording lines, all languages together, so one
# lm_head serves every language's adapter), with <pad>=0 (the CTC blank),
# <s>, </s>, <unk> and the word delimiter '|', under each language code given.
# Prints the vocabulary size (for `mkmodel --vocab-size`).  `train` builds its
# own vocabulary from the train split; this is only for models that are not
# trained (tools/demo.sh step 3 fallback, tests/pipeline.sh).
#   usage: sh tools/demo-vocab.sh DB OUT.json LANG...
# Needs bin/db as $DB_BIN (default: $BINDIR/db, BINDIR default bin).
set -u
[ $# -ge 3 ] || { echo "usage: demo-vocab.sh DB OUT.json LANG..." >&2; exit 2; }
db=$1; out=$2; shift 2
DB_BIN=${DB_BIN:-${BINDIR:-bin}/db}
"$DB_BIN" --manifest "$db" query --format csv \
	"WITH RECURSIVE t(s) AS (SELECT text_norm FROM utterances WHERE text_norm IS NOT NULL
	   UNION ALL SELECT text_norm FROM long_texts WHERE text_norm IS NOT NULL),
	 c(s, ch) AS (SELECT s, '' FROM t UNION ALL SELECT substr(s, 2), substr(s, 1, 1) FROM c WHERE s != '')
	 SELECT DISTINCT ch FROM c WHERE ch NOT IN ('', ' ') ORDER BY ch" > "$out.chars" || exit 1
# first line is the CSV header; SQLite's substr() counts code points, so each
# line is one character; a character needing CSV quotes (",) comes quoted.
sed 1d "$out.chars" | awk -v langs="$*" '
	function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
	{ ch = $0; if (ch ~ /^".*"$/ && length(ch) > 2) { ch = substr(ch, 2, length(ch) - 2); gsub(/""/, "\"", ch) }
	  if (!(ch in seen)) { seen[ch] = 1; c[++n] = ch } }
	END { k = split(langs, L, " "); printf "{"
	      for (i = 1; i <= k; i++) {
	        printf "%s\n \"%s\": {\"<pad>\": 0, \"<s>\": 1, \"</s>\": 2, \"<unk>\": 3, \"|\": 4", (i > 1 ? "," : ""), L[i]
	        for (j = 1; j <= n; j++) printf ", \"%s\": %d", esc(c[j]), j + 4
	        printf "}" }
	      print "\n}"; print n + 5 > "/dev/stderr" }' > "$out.tmp" 2> "$out.size" || exit 1
mv "$out.tmp" "$out"
cat "$out.size"
rm -f "$out.size" "$out.chars"
