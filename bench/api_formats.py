"""A run's result as JSON, CSV and XLSX through the API (issue 13), run by
bench/api.py (bench/api.sh) after its own figures; BENCH_FORMATS=0 skips
it, and `sh SRCDIR/tests/lib/with-pg.sh SRCDIR/tests/lib/with-api.sh
SRCDIR/bench/api_formats.py` runs it alone.

Stores one result of BENCH_FORMAT_ROWS rows (default 10,000, the runner's
default row cap) with pgsched-runner --query: eight columns as in
bench/xlsx.py (int8, float8, numeric, text with quotes and non-ASCII,
timestamptz with microseconds, timestamptz with milliseconds, bool, jsonb).
Then, for each format, BENCH_FORMAT_REPS times (default 5): the pool's
workers are replaced (SIGHUP; the old ones drain), and GET
/api/runs/<id>?format=F is asked once of the new ones: nothing is cached,
the answer is rendered from the stored result.  Measured: the request's
wall time as the client sees it (body read through) and what the serving
worker's peak RSS (VmHWM) grew by.  Then, of warm workers, the median of
20 requests answered from the workers' cache.  Prints the medians and the
ratios of XLSX to CSV.
"""
import os
import signal
import statistics
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "api"))
from apitest import URL, session, wait_for, worker_pids  # noqa: E402

ROWS = int(os.environ.get("BENCH_FORMAT_ROWS", "10000"))
REPS = int(os.environ.get("BENCH_FORMAT_REPS", "5"))
WARM = 20
BLD = os.environ.get("PGSCHED_BUILDDIR", ".")
SQL = ("SELECT g::int8 AS id, g * 0.25::float8 AS f8,"
       " (g / 100.0)::numeric(14, 2) AS num,"
       " 'quote \" and \u00fc\u00e9 ' || g AS txt,"
       " timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 s'"
       " AS ts_us,"
       " timestamptz '2024-01-01 00:00:00+00' + g * interval '1.001 s'"
       " AS ts_ms, g %% 2 = 0 AS b,"
       " jsonb_build_object('k', g, 'a', jsonb_build_array(1, 2.5, 'x'))"
       " AS j FROM generate_series(0, %d) g" % (ROWS - 1))


def seed():
    """A data source, a query and one run of it; returns the run's id."""
    adm = session("admin")
    ds = adm.post(URL + "/api/datasources",
                  json={"name": "bench-formats", "host": "127.0.0.1",
                        "port": int(os.environ["PGPORT"]),
                        "dbname": "source", "username": "postgres",
                        "password": "unused-trust-auth"})
    ds = ds.json()["datasource"]["id"]
    q = adm.post(URL + "/api/admin/queries",
                 json={"name": "bench-formats", "title": "Formats",
                       "data_source_id": ds, "sql_text": SQL,
                       "max_rows": ROWS, "schedule_type": "interval",
                       "schedule_expr": "PT1H"}).json()["query"]["id"]
    subprocess.run([os.path.join(BLD, "pgsched-runner"), "--query", str(q)],
                   check=True, capture_output=True)
    r = adm.get("%s/api/queries/%d/runs/latest" % (URL, q))
    if r.status_code != 200 or r.json()["rows_returned"] != ROWS:
        sys.exit("bench: no %d-row run: %s %s" % (ROWS, r.status_code,
                                                  r.text[:300]))
    return r.json()["id"], len(r.content)


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def fresh_workers():
    """Replaces the workers; returns the new ones once they alone run."""
    master, old = worker_pids()
    os.kill(master, signal.SIGHUP)
    new = wait_for(lambda: (lambda p: p if len(p) == len(old) and
                            not set(p) & set(old) else None)
                   (worker_pids()[1]), timeout=60)
    if not new:
        sys.exit("bench: the workers were not replaced")
    for _ in range(4 * len(new)):
        requests.get(URL + "/api/queries")
    return new


def get(url):
    """(seconds, bytes) of one GET, body read through."""
    t0 = time.perf_counter()
    r = requests.get(url, stream=True)
    n = sum(len(c) for c in r.iter_content(65536))
    secs = time.perf_counter() - t0
    if r.status_code != 200:
        sys.exit("bench: %s answers %d" % (url, r.status_code))
    return secs, n


def cold(url):
    """(seconds, bytes, peak RSS growth kB, peak RSS kB) of url asked of
    fresh workers."""
    pids = fresh_workers()
    before = {p: vm_hwm(p) for p in pids}
    secs, n = get(url)
    after = {p: vm_hwm(p) for p in pids}
    p = max(pids, key=lambda x: after[x] - before[x])
    return secs, n, after[p] - before[p], after[p]


def warm(url):
    """Median seconds of WARM requests answered from the workers' cache."""
    for _ in range(8):
        get(url)
    return statistics.median(get(url)[0] for _ in range(WARM))


def main():
    rid, json_len = seed()
    res = {}
    for fmt in ("json", "csv", "xlsx"):
        url = "%s/api/runs/%d?format=%s" % (URL, rid, fmt)
        runs = [cold(url) for _ in range(REPS)]
        res[fmt] = {"secs": statistics.median(r[0] for r in runs),
                    "bytes": runs[0][1],
                    "grew": statistics.median(r[2] for r in runs),
                    "peak": statistics.median(r[3] for r in runs),
                    "all": [round(r[0] * 1000, 1) for r in runs],
                    "warm": warm(url)}
    print("\nFormats: run of %d rows x 8 columns (JSON answer %d bytes),"
          " GET /api/runs/<id>?format=F; cold: fresh workers, rendered"
          " from the stored result (median of %d); warm: from the"
          " workers' cache (median of %d)" % (ROWS, json_len, REPS, WARM))
    print("%-6s %10s %10s %14s %13s %10s  %s" % (
        "format", "bytes", "cold ms", "peak RSS +kB", "peak RSS kB",
        "warm ms", "cold runs ms"))
    for fmt, x in res.items():
        print("%-6s %10d %10.1f %14d %13d %10.2f  %s" % (
            fmt, x["bytes"], x["secs"] * 1000, x["grew"], x["peak"],
            x["warm"] * 1000, x["all"]))
    c, x = res["csv"], res["xlsx"]
    print("XLSX / CSV: cold time %.2f, peak RSS growth %.2f, warm time %.2f"
          % (x["secs"] / c["secs"], x["grew"] / max(c["grew"], 1),
             x["warm"] / c["warm"]))


if __name__ == "__main__":
    main()
