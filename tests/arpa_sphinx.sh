#!/bin/sh
# tests/arpa_sphinx.sh — the ARPA files `train lm` writes, read by a tool
# users have: sphinxbase's sphinx_lm_convert (Debian sphinxbase-utils).
# Checks the layout (log-prob TAB words separated by single spaces [TAB
# back-off]) and that sphinx_lm_convert reads every n-gram with the same
# log-probability and back-off (its ARPA output compared n-gram by n-gram).
# Prints "# arpa_sphinx.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins TRAIN=train PREP=prep
require_cmds espeak-ng sphinx_lm_convert
scratch arpa

mkdir c
i=0
for t in "the cat sat on the mat" "the dog sat on the cat" "a cat and a dog" "the mat is flat" \
         "on the flat mat sat a dog" "the cat"; do
	i=$((i + 1)); espeak-ng -w "c/u$i.wav" "$t" && echo "$t" > "c/u$i.txt"
done
expect "prep ingest" 0 "$PREP" ingest --layout folder --lang eng --split 1,0,0 --manifest data.db c
expect "train lm" 0 "$TRAIN" lm --manifest data.db --order 3 --lang eng --out lm.arpa

# layout: in every n-gram section, TAB-separated fields are the log-prob,
# the n words joined by single spaces, and an optional back-off
bad=$(awk -F'\t' '
	/^\\[0-9]-grams:/ { n = substr($0, 2, 1) + 0; next }
	/^\\/ || /^$/ { if ($0 == "\\data\\") n = 0; next }
	n > 0 {
		w = split($2, words, " ")
		if (NF < 2 || NF > 3 || w != n || $2 ~ /  / || $2 ~ /^ / || $2 ~ / $/) print NR": "$0
	}' lm.arpa | head -3)
same "n-gram words separated by single spaces" "$bad" ""
same "3-grams written" "$(grep -c '^[^\\].*	[^ ]* [^ ]* [^ ]*$' lm.arpa)" "$(sed -n 's/^ngram 3=//p' lm.arpa)"

expect "sphinx_lm_convert reads it (to binary)" 0 sphinx_lm_convert -i lm.arpa -o lm.bin
expect "sphinx_lm_convert reads it (to ARPA)" 0 sphinx_lm_convert -i lm.arpa -o back.arpa -ofmt arpa
for n in 1 2 3; do
	same "sphinx counts the $n-grams" "$(sed -n "s/^ngram $n=//p" back.arpa)" "$(sed -n "s/^ngram $n=//p" lm.arpa)"
done
# every n-gram with the same numbers (sphinx prints 4 decimals)
diff=$(awk '
	FNR == 1 { f++; n = 0 }
	/^\\[0-9]-grams:/ { n = substr($0, 2, 1) + 0; next }
	/^\\/ || /^$/ { next }
	n > 0 {
		k = n ":"; for (i = 2; i <= n + 1; i++) k = k " " $i
		bo = (NF > n + 1) ? $(n + 2) : 0
		if (f == 1) { p[k] = $1; b[k] = bo; next }
		seen++
		if (!(k in p)) { print "missing " k; next }
		d = p[k] - $1; e = b[k] - bo
		if (p[k] > -98 && (d > 1e-3 || d < -1e-3 || e > 1e-3 || e < -1e-3)) print k ": " p[k] "/" b[k] " vs " $1 "/" bo
	}
	END { if (!seen) print "no n-grams read back" }' lm.arpa back.arpa | head -3)
same "sphinx reads every n-gram's log-prob and back-off" "$diff" ""

echo "# arpa_sphinx.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
