"""The metadata database restarted between requests (test_db_restart.env:
a pool without the run cache, so that a worker only learns of the dead
connection from a failing query):

- a read is retried once after a reconnect, so the first GET after the
  restart answers 200, on every worker;
- the retry repeats the access check: a viewer's GET of an admin route
  is still 403;
- a write is not retried (it may have been applied): 503, and nothing is
  written twice when the client sends it again.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh \
    tests/api/test_db_restart.py
"""
import glob
import os
import subprocess
import time

from apitest import URL, add_source, check, err, finish, psql, session

CTL = os.environ["PGSCHED_PGCTL"].split()


def restart():
    subprocess.run(CTL + ["stop"], check=True)
    subprocess.run(CTL + ["start"], check=True)
    # A worker tries to reconnect at most once a second; the last try was
    # the previous restart's.
    time.sleep(1.1)


def retries():
    n = 0
    for f in glob.glob(os.path.join(os.environ["LOG_DIR"], "pgsched-*.log")):
        with open(f, errors="replace") as fh:
            n += sum(1 for ln in fh if " retry " in ln)
    return n


def main():
    adm, edi, vie = session("admin"), session("editor"), session("viewer")
    for _ in range(10):     # every worker connected
        adm.get(URL + "/api/users/me")
    dsid = add_source(adm, "src")

    # The access check is part of the retry.
    restart()
    seen = retries()
    codes = [vie.get(URL + "/api/users").status_code for _ in range(6)]
    check("a viewer's GET /api/users after the restart: 403 every time",
          codes == [403] * 6, codes)
    check("the first requests were retried after a reconnect",
          retries() > seen, (seen, retries()))

    # Reads: no 503 on any worker.
    restart()
    seen = retries()
    codes = [adm.get(URL + "/api/admin/queries").status_code
             for _ in range(8)]
    check("reads after the restart all answer 200", codes == [200] * 8,
          codes)
    codes = [vie.get(URL + "/api/queries").status_code for _ in range(4)]
    check("the catalogue too", codes == [200] * 4, codes)
    check("read retries logged", retries() > seen, (seen, retries()))

    # Writes: never retried by the pool; the client's retry writes once.
    restart()
    body = {"name": "once", "title": "Once", "sql_text": "SELECT 1",
            "data_source_id": dsid,
            "schedule_type": "interval", "schedule_expr": "PT1H",
            "timezone": "UTC"}
    first = [edi.post(URL + "/api/admin/queries", json=body)
             for _ in range(2)]
    statuses = sorted(r.status_code for r in first)
    check("a write on a dead connection: 503 (not retried)",
          503 in statuses and all(s in (201, 503) for s in statuses),
          [(r.status_code, r.text) for r in first])
    for r in first:
        if r.status_code == 503:
            check("503 shape", err(r, 503, "unavailable") and
                  r.headers.get("Retry-After"), (r.headers, r.text))
    created = [r for r in first if r.status_code == 201]
    if not created:
        r = edi.post(URL + "/api/admin/queries", json=body)
        check("the client's retry is created", r.status_code == 201, r.text)
    check("the query exists exactly once",
          psql("SELECT count(*) FROM query_job WHERE name = 'once'") == "1",
          psql("SELECT count(*) FROM query_job WHERE name = 'once'"))
    finish()


if __name__ == "__main__":
    main()
