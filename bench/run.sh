#!/bin/sh
# bench/run.sh [BUILDDIR]: the runner benchmarks of issue #3.
#
# Starts a throwaway PostgreSQL cluster in a temporary directory (through
# tests/lib/pg.sh), creates the metadata database "pgsched" and a source
# database "source", runs bench/runner_bench.py against the programs of
# BUILDDIR (default $PGSCHED_BUILDDIR, else the current directory), prints
# the figures, and stops everything whatever happens.  Builds nothing of
# the project; the serialiser benchmark (bench/serialiser.c) is compiled
# into the temporary directory with ${CC:-gcc}.
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
. "$srcdir/tests/lib/pg.sh"
if ! pg_bindir >/dev/null; then
	echo "run.sh: no initdb found (install postgresql)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgsched-bench.XXXXXX")
chmod 755 "$tmp"
cleanup() {
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The serialiser alone: compiled here, not by the project's build.
${CC:-gcc} -O2 -std=c17 -D_GNU_SOURCE -iquote "$srcdir/src" \
    -o "$tmp/serialiser" "$here/serialiser.c" "$srcdir/src/result.c" \
    "$srcdir/src/result_check.c" "$srcdir/src/buf.c" "$srcdir/src/arena.c" \
    -lm || exit 1

pg_start "$tmp/pg" || exit 1
psql -qX -v ON_ERROR_STOP=1 -c 'CREATE DATABASE pgsched' \
    -c 'CREATE DATABASE source' >/dev/null || exit 1

export PGSCHED_BUILDDIR=$builddir PGSCHED_SRCDIR=$srcdir
export BENCH_TMP=$tmp
export PG_DSN_APP="postgresql://postgres@127.0.0.1:$PGPORT/pgsched"
export PGSCHED_TEST_SOURCE_URI="postgresql://postgres@127.0.0.1:$PGPORT/source"
export PGDATABASE=pgsched
export LOG_DIR=$tmp/logs
export PGSCHED_ENV_FILE=/dev/null
export PUBLIC_KEY_B64_PATH=$tmp/public_key.base64
export APP_PRIVATE_KEY_B64_PATH=$tmp/private_key.base64
ARGON2_SECRET_KEY_B64=$(head -c 32 /dev/urandom | base64)
export ARGON2_SECRET_KEY_B64
mkdir -p "$LOG_DIR"

echo "pg-sched runner benchmarks, $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "host: $(uname -srm), $(nproc) CPU(s):" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "PostgreSQL: $("$PGSCHED_PG_BIN/postgres" --version)" \
    "(fsync=off, synchronous_commit=off, loopback TCP)"
echo "build: $builddir"
cd "$tmp" || exit 1
/usr/bin/python3 "$here/runner_bench.py"
