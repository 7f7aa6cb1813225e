#!/bin/sh
# check_names.sh: a function of a program (fcgi/, cli/, runner/) never
# borrows the prefix of a module of src/ (STYLE section 11): h_query_* in
# fcgi/h_query.c, cmd_query_* in cli/cmd_query.c, never query_*, which
# names src/query.c.  A name reads as the room it lives in.  Function
# definitions are found as this tree writes them (style(9): the name at
# the start of a line, its type on the line before).  Needs PGSCHED_SRCDIR.
# Prints one FAIL: line per borrowed name and ends with "N passed,
# N failed"; exits 99 on a broken setup.
set -u

SRC=${PGSCHED_SRCDIR:?PGSCHED_SRCDIR is not set}
[ -f "$SRC/src/arena.c" ] || { echo "ERROR: $SRC is not the source tree" >&2;
	exit 99; }

exec /usr/bin/python3 - "$SRC" <<'EOF'
import glob
import os
import re
import sys

src = sys.argv[1]
prefixes = sorted({os.path.splitext(os.path.basename(f))[0]
                   for f in glob.glob(os.path.join(src, "src", "*.[ch]"))},
                  key=len, reverse=True)
passed = failed = 0
for prog in ("fcgi", "cli", "runner"):
    for path in sorted(glob.glob(os.path.join(src, prog, "*.c"))):
        own = os.path.splitext(os.path.basename(path))[0] + "_"
        with open(path) as f:
            names = re.findall(r"^([a-z_][a-z0-9_]*)\(", f.read(), re.M)
        for name in names:
            if name == "main" or name.startswith(own):
                passed += 1
                continue
            borrowed = [p for p in prefixes if name.startswith(p + "_")]
            if borrowed:
                failed += 1
                print("FAIL: %s/%s: %s borrows the prefix of src/%s" % (
                    prog, os.path.basename(path), name, borrowed[0]))
            else:
                passed += 1
if passed == 0:
    print("FAIL: no function definitions found")
    failed += 1
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
