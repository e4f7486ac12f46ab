#!/bin/sh
# tests/layout.sh — the tree keeps the rules docs/ARCHITECTURE.md states:
#   - the "Library modules" table and the folders of lib/ are the same list,
#     and every file of a folder is named in its row;
#   - a stage module (prep, align, train, eval) includes no other stage's
#     headers; base includes nothing of ours outside base;
#   - the inference forward links no training code (the objects of the
#     forward/inference files reference no symbol of dropout, w2v_reg,
#     w2v_backward, ops_backward, adamw or trainer);
#   - fast ops do not call the CPU probe (the caller chooses precision);
#   - only binaries print and exit: nothing in lib/ writes to stdout or
#     stderr or ends the process (err_print and progress excepted);
#   - all logic in lib/: binaries hold no SQL (it belongs to the stage's
#     runner in lib/) and call no foreign library (SQLite, jansson,
#     libsndfile, soxr, ICU, PCRE2, oneDNN, espeak-ng, OpenSSL, MPI) but
#     through lib/;
#   - no function in lib/ or the binaries is longer than 150 lines (from
#     its signature to its closing brace) unless the comment right above it
#     says why, with the words "longer than 150 lines because".
# Runs from the repository root without building anything except nm over
# the library objects in $BUILD (default build).
. "$(dirname "$0")/check.sh"
BUILD=${BUILD:-build}
doc=docs/ARCHITECTURE.md

# 1. module table == folder tree
table=$(sed -n '/^## Library modules/,/^## /p' "$doc" | grep -o '^| `lib/[a-z]*/`' | sed 's/^| `lib\///; s/\/`$//' | sort)
tree=$(cd lib && ls -d */ | sed 's/\/$//' | sort)
same "module table lists exactly the folders of lib/" "$(echo $table)" "$(echo $tree)"

# every source file's concept (file name without extension, or its prefix
# before the first '_' when the row names a family like corpus_*) is named
# in its folder's row
missing=""
for d in $tree; do
	row=$(grep "^| \`lib/$d/\`" "$doc")
	for f in lib/$d/*; do
		b=$(basename "$f"); stem=${b%.*}
		if ! printf '%s' "$row" | grep -qE "\`$stem\`|\`$b\`|\`${stem%%_*}_\*\`|\`${stem%%_*}\` \(|$stem"; then
			missing="$missing $d/$b"
		fi
	done
done
same "every file of lib/ is named in its module's row" "$missing" ""

# 2. include rules
bad=""
for s in prep align train eval; do
	for o in prep align train eval; do
		[ "$s" = "$o" ] && continue
		hits=$(grep -l "#include \"$o/" lib/$s/*.[ch] 2>/dev/null)
		[ -n "$hits" ] && bad="$bad $(echo $hits | tr ' ' ',')->$o"
	done
done
same "no stage module includes another stage's headers" "$bad" ""
hits=$(grep -h '#include "[a-z]*/' lib/base/*.[ch] | grep -v '#include "base/' | tr '\n' ' ')
same "lib/base includes only lib/base" "$hits" ""

# 3. the inference forward links no training code
if [ -f "$BUILD/lib/model/w2v_forward.o" ]; then
	und=$(for o in w2v_forward w2v_infer; do nm -u "$BUILD/lib/model/$o.o"; done 2>/dev/null | awk '{print $2}' | sort -u)
	train_syms=$(for o in model/dropout model/w2v_reg model/w2v_backward model/ops_backward train/adamw train/trainer; do
		[ -f "$BUILD/lib/$o.o" ] && nm --defined-only "$BUILD/lib/$o.o" | awk '$2 ~ /[TDBR]/ {print $3}'; done | sort -u)
	u=$(mktemp); printf '%s\n' "$und" > "$u"
	both=$(printf '%s\n' "$train_syms" | grep -Fx -f "$u"); rm -f "$u"
	[ -n "$train_syms" ] || both="(no training objects in $BUILD)"
	same "the inference forward references no training symbol" "$(echo $both)" ""
else
	ko "the inference forward references no training symbol ($BUILD/lib/model/w2v_forward.o not built)"
fi

# 4. kernels do not decide precision
hits=$(grep -l 'cpuprobe_' lib/model/ops_dnnl.c lib/model/ops_ref.c lib/model/quant.c lib/model/conv1d_gemm.c 2>/dev/null | tr '\n' ' ')
same "fast ops do not call the CPU probe" "$hits" ""

# 5. only binaries print: nothing in lib/ writes to stdout/stderr on its
# own, except the two helpers binaries call to print (err_print: the
# "error:/hint:" lines; progress: the progress line on stderr)
hits=$(grep -nE '(^|[^a-z_])(printf|puts|putchar|perror)\(|(fprintf|vfprintf)\((stdout|stderr)|(fputs|fputc|putc|fwrite|fflush)\(.*(stdout|stderr)\)' lib/*/*.[ch] |
	grep -v 'snprintf\|vsnprintf\||| printf(' | grep -v '^lib/base/err\.c:\|^lib/base/progress\.c:' | head -5)
same "lib/ prints nothing (only binaries print)" "$hits" ""
# ... and only binaries end the process: no exit()/abort() in lib/, except
# dist_abort (lib/base/dist.c: binaries call it to end every MPI rank) and
# the fork server's children in lib/synth/synth.c (_exit, not exit)
hits=$(grep -nE '(^|[^a-z_])(exit|abort|quick_exit)\(' lib/*/*.[ch] | grep -v '^lib/base/dist\.c:' |
	grep -v '^[^:]*:[0-9]*:[[:space:]]*\*\|/\*.*\(exit\|abort\)(' | head -5)
same "lib/ ends no process (only binaries exit)" "$hits" ""

# 5b. banned.h is the last #include of every library source file
hits=""
for f in lib/*/*.c; do
	last=$(grep '^#include' "$f" | tail -n 1)
	[ "$last" = '#include "base/banned.h"' ] || hits="$hits $f"
done
same "every lib/ source includes base/banned.h last" "$hits" ""

# 6. all logic in lib/: binaries hold no SQL and call no foreign library
# directly (the library wraps each one, with its errors as err.h messages)
BIN_SRC=$(ls prep/*.c align/*.c train/*.c db/*.c tools/*/*.c 2>/dev/null)
hits=$(grep -lE '"(SELECT|INSERT|UPDATE|DELETE|CREATE) ' $BIN_SRC | tr '\n' ' ')
same "binaries hold no SQL strings" "$hits" ""
hits=$(grep -nE '#include <(sqlite3|jansson|sndfile|soxr|pcre2|mpi)\.h>|#include <(unicode|dnnl|oneapi|espeak-ng|espeak|openssl)/' \
	$BIN_SRC | tr '\n' ' ')
same "binaries call no foreign library but through lib/" "$hits" ""

# 7. no function longer than 150 lines without its reason.  Functions are
# found by the tree's style: the body's opening and closing braces alone in
# column 0, the signature on the lines right above; the reason is the
# comment block right above the signature (any line of it).
long=$(awk -v max=150 '
function is_sig(s) {
	return s !~ /^[ \t]*$/ && s !~ /;[ \t]*$/ && s !~ /\*\/[ \t]*$/ &&
	       s !~ /^[ \t]*(\/\*|\*|\/\/)/ && s !~ /^}/ && s !~ /^#/
}
FNR == 1 { infn = 0; split("", line) }
{ line[FNR] = $0 }
/^\{/ && !infn { infn = 1; open = FNR; next }
/^\}/ && infn {
	infn = 0
	s = open - 1
	while (s > 1 && is_sig(line[s - 1]))
		s--
	if (FNR - s + 1 <= max)
		next
	name = line[s]
	for (k = s + 1; k < open; k++)
		name = name " " line[k]
	sub(/\(.*/, "", name)
	n = split(name, w, /[ \t*]+/)
	c = ""
	for (k = s - 1; k >= 1 && (line[k] ~ /^[ \t]*(\/\*|\*|\/\/)/ || line[k] ~ /\*\/[ \t]*$/); k--)
		c = line[k] " " c
	gsub(/[ \t]*\*[ \t]*/, " ", c)
	gsub(/[ \t]+/, " ", c)
	if (c !~ /longer than 150 lines because/)
		printf "%s:%d %s (%d lines)\n", FILENAME, s, w[n], FNR - s + 1
}' lib/*/*.[ch] $BIN_SRC)
if [ -z "$long" ]; then
	ok "no function over 150 lines without a reason"
else
	ko "no function over 150 lines without a reason; these have none (say \"longer than 150 lines because ...\" in the comment above, or split them):"
	printf '%s\n' "$long" | sed 's/^/    /'
fi

echo "# layout.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
