#!/bin/sh
# bench/api.sh: load test of the JSON API through nginx, one command:
#
#   cd BUILDDIR && sh SRCDIR/bench/api.sh
#
# It starts a throwaway PostgreSQL, the pgsched-fcgi pool and nginx (the
# test harness: tests/lib/with-pg.sh + tests/lib/with-api.sh), creates a
# 150-row result with pgsched-runner --query, and runs bench/api.py, which
# measures with wrk the same bytes served by nginx as a static file and
# the API endpoints, and prints req/s, p99, the ratio to static, logins
# per second and the workers' RSS before and after 100,000 requests.
# Then bench/api_formats.py: one 10,000-row result as JSON, CSV and XLSX,
# cold (fresh workers) and from the cache: time and peak RSS, medians.
#
# Settings (environment): BENCH_DURATION (seconds per wrk run, 10),
# BENCH_REPEAT (runs per figure, median reported, 3), BENCH_CONNECTIONS
# (32), BENCH_THREADS (2), BENCH_WORKERS (pool size, default the number
# of cores), BENCH_NGINX_WORKERS (1), BENCH_KEEPCONN (0: one FastCGI
# connection per request, for comparison; default 1, etc/nginx as it is),
# BENCH_NGINX_EXTRA (directives added to the nginx server block, to try
# settings before they go into etc/nginx), BENCH_FORMATS (0 skips the
# formats), BENCH_FORMAT_ROWS (10000), BENCH_FORMAT_REPS (5).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
command -v wrk >/dev/null || { echo "api.sh: wrk is not installed" >&2; exit 1; }
export PGSCHED_BUILDDIR=${PGSCHED_BUILDDIR:-$(pwd)}
[ -x "$PGSCHED_BUILDDIR/pgsched-fcgi" ] || {
	echo "api.sh: run me from the build directory (or set" \
	    "PGSCHED_BUILDDIR)" >&2
	exit 1
}
export PGSCHED_TEST_WORKERS=${BENCH_WORKERS:-$(nproc)}
exec sh "$src/tests/lib/with-pg.sh" "$src/tests/lib/with-api.sh" \
    "$src/bench/api.py"
