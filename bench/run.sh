#!/bin/sh
# bench/run.sh [BUILDDIR]: the runner benchmarks of issue #3.
#
# Starts a throwaway PostgreSQL cluster in a temporary directory (through
# tests/lib/with-pg.sh, as the tests do), with the metadata database
# "pgsched" and a source database "source", runs bench/runner_bench.py
# against the programs of BUILDDIR (default $PGSCHED_BUILDDIR, else the
# current directory), prints the figures, and stops everything whatever
# happens.  Builds nothing of
# the project; the serialiser benchmark (bench/serialiser.c) and the floor
# of a cold run (bench/floor.c) are compiled into the temporary directory
# with ${CC:-gcc}.
#
# BENCH_REPS (default 7) sets the repetitions of the fast measurements;
# BENCH_ONLY=1,2,... runs a subset of the sections.
set -u
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=${1:-${PGSCHED_BUILDDIR:-$(pwd)}}
builddir=$(cd "$builddir" && pwd) || exit 2
if [ ! -x "$builddir/pgsched-runner" ] || [ ! -x "$builddir/pgsched-admin" ]
then
	echo "run.sh: no pgsched-runner/pgsched-admin in $builddir" \
	    "(give the build directory as \$1 or \$PGSCHED_BUILDDIR)" >&2
	exit 2
fi
# The cluster, its databases and the environment are the test harness's
# (tests/lib/with-pg.sh), which runs this script again inside it.
if [ -z "${PGSCHED_TEST_TMP:-}" ]; then
	export PGSCHED_BUILDDIR=$builddir PGSCHED_SRCDIR=$srcdir
	exec sh "$srcdir/tests/lib/with-pg.sh" "$here/run.sh" "$builddir"
fi
tmp=$PGSCHED_TEST_TMP

# The serialiser alone: compiled here, not by the project's build.
${CC:-gcc} -O2 -std=c17 -D_GNU_SOURCE -iquote "$srcdir/src" \
    -o "$tmp/serialiser" "$here/serialiser.c" "$srcdir/src/result.c" \
    "$srcdir/src/result_check.c" "$srcdir/src/utf8.c" "$srcdir/src/buf.c" \
    "$srcdir/src/arena.c" \
    -lm || exit 1
# The floor of a cold run (bench/floor.c): libpq only.
pq_flags=$(pkg-config --cflags --libs libpq 2>/dev/null) ||
    pq_flags="-I$(pg_config --includedir) -lpq"
# shellcheck disable=SC2086 # pq_flags is a list of flags
${CC:-gcc} -O2 -std=c17 -o "$tmp/floor" "$here/floor.c" $pq_flags || exit 1
export BENCH_TMP=$tmp
mkdir -p "$LOG_DIR"

echo "pg-sched runner benchmarks, $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "host: $(uname -srm), $(nproc) CPU(s):" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "PostgreSQL: $("$PGSCHED_PG_BIN/postgres" --version)" \
    "(fsync=off, synchronous_commit=off, loopback TCP)"
echo "build: $builddir"
PYTHONPATH=$srcdir/tests/lib /usr/bin/python3 "$here/runner_bench.py"
