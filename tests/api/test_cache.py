"""The workers' cache of finished runs (fcgi/cache.c) and its invalidation
by LISTEN/NOTIFY (sql/0003-notify.sql): a new run is served within 100 ms
of its commit, deleted runs and queries are not served from the cache,
ETag and 304 are kept, and access rules still apply to cached answers.
With RUNS_PUBLIC=0 (test_cache_private.py) the same checks run with a
logged-in viewer, plus the ones that a session is checked on every request.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_cache.py
"""
import os
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, add_source, check, err, finish, psql, session)

PUBLIC = os.environ.get("RUNS_PUBLIC", "1") != "0"
WORKERS = int(os.environ.get("PGSCHED_TEST_WORKERS", "2"))
DEADLINE = 0.1      # seconds from a commit to the new answer
# The time of the last change committed through changed() (epoch seconds).
COMMIT = [0.0]
AT = ", extract(epoch FROM clock_timestamp())"


def changed(sql):
    """Runs sql, one statement ending in "RETURNING ..." + AT, alone in its
    transaction; keeps the time its last row was returned in COMMIT (the
    commit follows at once) and returns the rows' other values."""
    rows = [ln.split("|") for ln in psql(sql).splitlines()]
    COMMIT[0] = float(rows[-1][-1])
    return [r[:-1] for r in rows]


def doc(n):
    rows = ",".join('{"index":%d,"v":%d}' % (i, n * 1000 + i)
                    for i in range(3))
    return ('{"schema":{"fields":[{"name":"index","type":"integer"},'
            '{"name":"v","type":"integer"}],"primaryKey":["index"],'
            '"pandas_version":"1.4.0"},"data":[%s]}' % rows)


def add_run(q, n, status="success", blob=True):
    """Commits one run of q (and its result) in one psql transaction;
    returns its id once psql has returned, i.e. after the commit."""
    sql = ("INSERT INTO query_run (query_id, scheduled_at, status,"
           " run_started_at, run_finished_at, duration_ms, rows_returned)"
           " VALUES (%d, clock_timestamp(), '%s', now(), now(), 1, 3)"
           " RETURNING id" % (q, status))
    if not blob:
        return int(changed(sql + AT)[0][0])
    return int(changed("WITH r AS (%s) INSERT INTO query_run_blob (run_id,"
                       " df_json, row_count, byte_size) SELECT id, $j$%s$j$,"
                       " 3, 100 FROM r RETURNING run_id%s" %
                       (sql, doc(n), AT))[0][0])


def warm(s, url, times=None):
    """Asks often enough that every worker has probably cached url."""
    for _ in range(times or 4 * WORKERS):
        s.get(url)


def served_within(s, url, want, since=None):
    """Polls url until want(answer) holds.  Returns (lag, that answer):
    lag is how long after the change (since, epoch seconds; default the
    last commit of changed()) a request was still sent that got the old
    answer, so the pool took at least that long to see the change, however
    long the answers themselves took on a busy machine (0.0 when the first
    answer was the new one); (None, the last answer) when none was within
    10 s."""
    since = COMMIT[0] if since is None else since
    lag = 0.0
    t0 = time.monotonic()
    while True:
        sent = time.time()
        r = s.get(url)
        if want(r):
            return lag, r
        lag = max(lag, sent - since)
        if time.monotonic() - t0 > 10.0:
            return None, r


def check_new_run_served(s, q):
    url = "%s/api/queries/%d/runs/latest" % (URL, q)
    worst = 0.0
    for n in range(5):
        warm(s, url)
        rid = add_run(q, 10 + n)
        dt, r = served_within(s, url, lambda r, rid=rid: r.status_code ==
                              200 and r.json().get("id") == rid)
        check("new run %d served after its commit" % n, dt is not None,
              r.text[:200])
        if dt is None:
            return
        worst = max(worst, dt)
        check("run served with its result", r.json()["result"]["data"][0]
              ["v"] == (10 + n) * 1000, r.text[:300])
    check("latest changes within %d ms of the commit (worst %.1f ms)" %
          (DEADLINE * 1000, worst * 1000), worst < DEADLINE, worst)
    print("old answers seen up to %.1f ms after a commit" % (worst * 1000))


def check_etag(s, q, rid):
    url = "%s/api/runs/%d" % (URL, rid)
    warm(s, url)
    tags = set()
    for _ in range(2 * WORKERS):
        r = s.get(url)
        tags.add(r.headers.get("ETag"))
    check("a cached run keeps its ETag", len(tags) == 1 and None not in tags,
          tags)
    tag = tags.pop()
    for _ in range(2 * WORKERS):
        r = s.get(url, headers={"If-None-Match": tag})
        check("If-None-Match -> 304", r.status_code == 304 and
              r.headers.get("ETag") == tag and r.content == b"",
              (r.status_code, r.headers))
    r = s.head(url)
    check("HEAD of a cached run: headers, no body", r.status_code == 200 and
          r.content == b"" and r.headers.get("ETag") == tag, r.headers)
    latest = "%s/api/queries/%d/runs/latest" % (URL, q)
    warm(s, latest)
    old = s.get(latest).headers["ETag"]
    new = add_run(q, 50)
    dt, r = served_within(s, latest, lambda r: r.status_code == 200 and
                          r.json()["id"] == new)
    r = s.get(latest, headers={"If-None-Match": old})
    check("old ETag after a new run -> 200 with a new ETag",
          r.status_code == 200 and r.headers.get("ETag") not in (None, old),
          (r.status_code, r.headers))


def check_csv(s, q):
    url = "%s/api/queries/%d/runs/latest?format=csv" % (URL, q)
    warm(s, url)
    r = s.get(url)
    check("cached CSV", r.status_code == 200 and
          r.headers["Content-Type"].startswith("text/csv") and
          "attachment" in r.headers.get("Content-Disposition", ""), r.headers)
    rid = add_run(q, 60)
    dt, r = served_within(s, url, lambda r: r.text.endswith("60002\r\n"))
    check("CSV of the new run", dt is not None and dt < DEADLINE and
          ("run-%d.csv" % rid) in r.headers.get("Content-Disposition", ""),
          (dt, r.text[-100:], r.headers))


def check_status_any(s, q):
    ok = "%s/api/queries/%d/runs/latest" % (URL, q)
    anyurl = ok + "?status=any"
    warm(s, ok)
    warm(s, anyurl)
    before = s.get(ok).json()["id"]
    rid = add_run(q, 70, status="running", blob=False)
    dt, r = served_within(s, anyurl, lambda r: r.json().get("id") == rid)
    check("status=any: a new running run at once", dt is not None and
          dt < DEADLINE, (dt, r.text[:200]))
    check("a running run is not the latest success",
          s.get(ok).json()["id"] == before)
    warm(s, anyurl)
    changed("UPDATE query_run SET status = 'success', rows_returned = 3"
            " WHERE id = %d RETURNING id%s" % (rid, AT))
    dt, r = served_within(s, ok, lambda r: r.json().get("id") == rid)
    check("run finishing: latest success follows", dt is not None and
          dt < DEADLINE, (dt, r.text[:200]))
    check("finished run without a result yet", r.json()["result"] is None,
          r.text[:200])
    url = "%s/api/runs/%d" % (URL, rid)
    warm(s, url)
    changed("INSERT INTO query_run_blob (run_id, df_json, row_count,"
            " byte_size) VALUES (%d, $j$%s$j$, 3, 100) RETURNING run_id%s" %
            (rid, doc(71), AT))
    dt, r = served_within(s, url, lambda r: r.json().get("result")
                          is not None)
    check("result stored later: the run is served with it", dt is not None
          and dt < DEADLINE, (dt, r.text[:200]))


def check_deletes(s, adm, q):
    url = "%s/api/queries/%d/runs/latest" % (URL, q)
    prev = add_run(q, 80)
    last = add_run(q, 81)
    warm(s, url)
    warm(s, "%s/api/runs/%d" % (URL, last))
    changed("DELETE FROM query_run WHERE id = %d RETURNING id%s" %
            (last, AT))
    dt, r = served_within(s, "%s/api/runs/%d" % (URL, last),
                          lambda r: r.status_code == 404)
    check("deleted run: 404, not the cached copy", dt is not None and
          dt < DEADLINE, (dt, r.status_code))
    dt, r = served_within(s, url, lambda r: r.json().get("id") == prev)
    check("deleted latest run: the one before", dt is not None and
          dt < DEADLINE, (dt, r.text[:200]))
    warm(s, url)
    warm(s, "%s/api/runs/%d" % (URL, prev))
    r = adm.delete("%s/api/admin/queries/%d?force=1" % (URL, q),
                   headers={"Content-Type": "application/json"})
    done = time.time()      # the commit came before the answer
    check("query deleted", r.status_code in (200, 204), r.text)
    # Every worker must forget the query within DEADLINE of the commit
    # (its notification reaches the other workers asynchronously), and
    # then keep answering 404.
    dt1, r1 = served_within(s, url, lambda r: r.status_code == 404, done)
    dt2, r2 = served_within(s, "%s/api/runs/%d" % (URL, prev),
                            lambda r: r.status_code == 404, done)
    check("deleted query: forgotten within the deadline",
          dt1 is not None and dt2 is not None and dt1 < DEADLINE and
          dt2 < DEADLINE, (dt1, dt2))
    for _ in range(4 * WORKERS):
        r1 = s.get(url)
        r2 = s.get("%s/api/runs/%d" % (URL, prev))
        if r1.status_code != 404 or r2.status_code != 404:
            break
    check("deleted query: latest 404 from every worker", err(r1, 404),
          r1.text[:200])
    check("deleted query: its runs 404 from every worker", err(r2, 404),
          r2.text[:200])


def check_private(vw, q, rid):
    """RUNS_PUBLIC=0: a cached answer still needs a valid session."""
    url = "%s/api/runs/%d" % (URL, rid)
    warm(vw, url)
    tag = vw.get(url).headers["ETag"]
    for _ in range(2 * WORKERS):
        r = requests.get(url)
        check("cached run without a session: 401", err(r, 401), r.text)
        r = requests.get(url, headers={"If-None-Match": tag})
        check("304 path without a session: 401", err(r, 401), r.text)
        r = vw.get(url, headers={"If-None-Match": tag})
        check("304 with a session", r.status_code == 304, r.status_code)
    sid = vw.cookies.get("sid")
    r = vw.post(URL + "/api/auth/logout", json={})
    check("logout", r.status_code == 200, r.text)
    for _ in range(2 * WORKERS):
        r = requests.get(url, cookies={"sid": sid})
        check("logged-out session: 401 at the next request", err(r, 401),
              r.text)


def main():
    adm = session("admin")
    s = session("viewer") if not PUBLIC else requests.Session()
    ds = add_source(adm, "cache")
    qs = []
    for i in range(2):
        r = adm.post(URL + "/api/admin/queries",
                     json={"name": "cache%d" % i, "title": "Cache %d" % i,
                           "data_source_id": ds,
                           "sql_text": "SELECT 1 AS v",
                           "schedule_type": "interval",
                           "schedule_expr": "PT1H"})
        if not check("query created", r.status_code == 201, r.text):
            finish()
        qs.append(r.json()["query"]["id"])
    q, q2 = qs
    r = s.get("%s/api/queries/%d/runs/latest" % (URL, q))
    check("no run yet: 404", err(r, 404), r.text)
    rid = add_run(q, 1)
    other = add_run(q2, 2)
    dt, r = served_within(s, "%s/api/queries/%d/runs/latest" % (URL, q),
                          lambda r: r.status_code == 200)
    check("first run served", dt is not None and r.json()["id"] == rid,
          r.text[:200])
    check_new_run_served(s, q)
    check_etag(s, q, rid)
    check_csv(s, q)
    check_status_any(s, q)
    r = s.get("%s/api/queries/%d/runs/latest" % (URL, q2))
    check("another query's cached run untouched", r.json()["id"] == other,
          r.text[:200])
    if not PUBLIC:
        check_private(session("viewer"), q2, other)
    check_deletes(s, adm, q)
    log = subprocess.run(["sh", "-c", "cat \"$LOG_DIR\"/*.log 2>/dev/null"
                          " | grep -c 'db_connect \\[.* cache=\"on\"' ||"
                          " true"],
                         capture_output=True, text=True).stdout.strip()
    check("workers run with the cache on", log not in ("", "0"), log)
    finish()


if __name__ == "__main__":
    main()
