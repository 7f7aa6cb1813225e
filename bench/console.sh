#!/bin/sh
# bench/console.sh: the web console in headless Chromium, one command:
#
#   cd BUILDDIR && sh SRCDIR/bench/console.sh
#
# It starts a throwaway PostgreSQL, the pgsched-fcgi pool and nginx
# serving www/ (the test harness: tests/lib/with-pg.sh +
# tests/lib/with-api.sh), makes a 150-row result with a manual run, and
# runs bench/console.py: the median time from navigation to the table and
# the chart drawn on the query page, and the bytes of the first load.
# Exits 1 when a figure is over its budget (300 ms, 100 KB).  Settings:
# BENCH_LOADS (10).  Needs chromium, chromium-driver and python3-selenium
# (scripts/deps.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
export PGSCHED_BUILDDIR=${PGSCHED_BUILDDIR:-$(pwd)}
[ -x "$PGSCHED_BUILDDIR/pgsched-fcgi" ] || {
	echo "console.sh: run me from the build directory (or set" \
	    "PGSCHED_BUILDDIR)" >&2
	exit 1
}
export PYTHONPATH="$src/tests/lib${PYTHONPATH:+:$PYTHONPATH}"
exec sh "$src/tests/lib/with-pg.sh" "$src/tests/lib/with-api.sh" \
    "$src/bench/console.py"
