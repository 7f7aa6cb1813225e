#!/bin/sh
# bench/api.sh: load test of the API through nginx with wrk.  Run it under
# the test harness, which starts PostgreSQL, the pool and nginx:
#   sh tests/lib/with-pg.sh tests/lib/with-api.sh bench/api.py
# or against a running deployment:
#   PGSCHED_API_URL=http://127.0.0.1:8080 sh bench/api.sh
set -eu
url=${PGSCHED_API_URL:?set PGSCHED_API_URL}
dur=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
for path in /healthz /api/queries "${BENCH_RUN_PATH:-/api/runs/1}"; do
	echo "== GET $path"
	wrk -t "$threads" -c "$conns" -d "$dur" --latency "$url$path"
done
