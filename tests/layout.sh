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
#   - only binaries print: no printf/puts/fprintf(stdout|stderr) in lib/;
#   - binaries hold no SQL (it belongs to the stage's runner in lib/).
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
hits=$(grep -nE '(^|[^a-z_])(printf|puts|putchar)\(|fprintf\((stdout|stderr)' lib/*/*.c |
	grep -v 'snprintf\|vsnprintf\||| printf(' | grep -v '^lib/base/err\.c:\|^lib/base/progress\.c:' | head -5)
same "lib/ prints nothing (only binaries print)" "$hits" ""

# 5b. banned.h is the last #include of every library source file
hits=""
for f in lib/*/*.c; do
	last=$(grep '^#include' "$f" | tail -n 1)
	[ "$last" = '#include "base/banned.h"' ] || hits="$hits $f"
done
same "every lib/ source includes base/banned.h last" "$hits" ""

# 6. binaries hold no SQL
hits=$(grep -lE '"(SELECT|INSERT|UPDATE|DELETE|CREATE) ' prep/*.c align/*.c train/*.c db/*.c tools/*/*.c 2>/dev/null | tr '\n' ' ')
same "binaries hold no SQL strings" "$hits" ""

echo "# layout.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
