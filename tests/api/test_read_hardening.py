"""Hardening of reads and manual runs (issue 11), through nginx and the
real pool:

- CSV cells and column names that a spreadsheet would run as a formula are
  neutralised with a leading ', raw=1 gives them as stored (CONTRACT §9);
- run error messages: editors and admins read them in full, anyone else
  reads their class only, also from the workers' cache;
- a second manual run of a query while one is queued or running is a 409
  naming the standing run, also for many requests at once and for the CLI;
- a statement with a $1 placeholder is refused when saved;
- a data source's test warns of extensions that run SQL given as text;
- every line the pool wrote carries its context as SD.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh \
     tests/api/test_read_hardening.py
"""
import os
import subprocess
import sys
import threading

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from apitest import (  # noqa: E402
    URL, add_source, check, err, finish, psql, session, wait_for)
import test_log_sd  # noqa: E402

WORKERS = int(os.environ.get("PGSCHED_TEST_WORKERS", "2"))
ADMIN = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                     "pgsched-admin")
J = {"Content-Type": "application/json"}


def new_query(ed, dsid, name, sql="SELECT 1 AS one"):
    r = ed.post(URL + "/api/admin/queries",
                json={"name": name, "title": name, "sql_text": sql,
                      "data_source_id": dsid, "schedule_type": "interval",
                      "schedule_expr": "PT6H"})
    check("query %s created" % name, r.status_code == 201, r.text)
    return r.json()["query"]["id"]


def psql_vars(sql, **var):
    """Runs sql (psql variables :'name' from var) on the metadata
    database; returns stdout text."""
    cmd = ["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", "pgsched"]
    for k, v in var.items():
        cmd += ["-v", "%s=%s" % (k, v)]
    return subprocess.run(cmd, input=sql + ";\n", check=True,
                          capture_output=True, text=True).stdout.strip()


def add_run(qid, status, message=None, doc=None):
    rid = int(psql_vars(
        "INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
        " run_started_at, run_finished_at, duration_ms, status,"
        " error_message) VALUES (%d, clock_timestamp(), 'UTC', now(),"
        " now(), 5, '%s', nullif(:'msg', '')) RETURNING id" % (qid, status),
        msg=message or "").splitlines()[0])
    if doc is not None:
        psql_vars("INSERT INTO query_run_blob (run_id, df_json, row_count,"
                  " byte_size) VALUES (%d, :'doc', 2, 100)" % rid, doc=doc)
    return rid


# --- 7: spreadsheet formulas in CSV ------------------------------------------

FORMULA_DOC = (
    '{"schema": {"fields": [{"name": "index", "type": "integer"},'
    ' {"name": "=cmd", "type": "string"}, {"name": "n", "type": "integer"},'
    ' {"name": "s", "type": "string"}], "primaryKey": ["index"],'
    ' "pandas_version": "1.4.0"}, "data": ['
    '{"index": 0, "=cmd": "=HYPERLINK(\\"http://x\\")", "n": -5,'
    ' "s": "+1+cmd|\' /C calc\'!A0"},'
    '{"index": 1, "=cmd": "@SUM(1)", "n": 7, "s": "\\tx-1.5"}]}')


def test_csv_formulas(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "formulas")
    rid = add_run(qid, "success", doc=FORMULA_DOC)
    anon = requests.Session()
    safe = ['\'=cmd,n,s',
            '"\'=HYPERLINK(""http://x"")",-5,\'+1+cmd|\' /C calc\'!A0',
            "'@SUM(1),7,'\tx-1.5"]
    raw = ['=cmd,n,s', '"=HYPERLINK(""http://x"")",-5,+1+cmd|\' /C '
           'calc\'!A0', "@SUM(1),7,\tx-1.5"]
    latest = URL + "/api/queries/%d/runs/latest?format=csv" % qid
    # Asked in both orders, on every worker: the cache keeps them apart.
    for i in range(2 * WORKERS):
        r = anon.get(URL + "/api/runs/%d?format=csv&raw=1" % rid)
        check("raw=1 gives the cells as stored", r.status_code == 200 and
              r.text.split("\r\n")[:3] == raw, repr(r.text))
        r = anon.get(URL + "/api/runs/%d?format=csv" % rid)
        check("formula cells neutralised", r.status_code == 200 and
              r.text.split("\r\n")[:3] == safe, repr(r.text))
        r = anon.get(latest if i % 2 else latest + "&raw=0")
        check("latest CSV neutralised", r.text.split("\r\n")[:3] == safe,
              repr(r.text))
    r = anon.get(URL + "/api/runs/%d?format=csv&raw=yes" % rid)
    check("raw=yes 422", err(r, 422, "invalid", "raw"), r.text)
    r = anon.get(URL + "/api/runs/%d?raw=1" % rid)
    check("JSON keeps the stored values", r.status_code == 200 and
          r.json()["result"]["data"][0]["=cmd"] ==
          '=HYPERLINK("http://x")', r.text[:300])


# --- 8: error messages -------------------------------------------------------

SECRET_MESSAGES = [
    ('source connection failed: connection to server at "db.internal.corp" '
     '(10.9.8.7), port 5432 failed: FATAL:  password authentication failed '
     'for user "report_ro"', "source unreachable"),
    ("timed out after 5000 ms (statement_timeout)", "timeout"),
    ('relation "payroll_secret" does not exist', "query error"),
    ("rejected: function pg_read_file() is not allowed (position 8): it "
     "reads a server file", "query rejected"),
    ("runner worker crashed (signal 9)", "runner died"),
    ("result too large: 9000000 bytes from db.internal.corp",
     "result too large"),
]


def hidden(text):
    return not any(w in text for w in ("db.internal", "10.9.8.7", "report_ro",
                                       "payroll_secret", "pg_read_file"))


def test_error_messages(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "errors")
    runs = [(add_run(qid, "error", m), m, c) for m, c in SECRET_MESSAGES]
    readers = [("anonymous", requests.Session(), False),
               ("viewer", session("viewer"), False),
               ("editor", ed, True), ("admin", session("admin"), True)]
    # Each reader in turn, twice around, with every worker asked: an
    # answer cached for one must never reach the other kind.
    for _ in range(2):
        for who, s, full in readers:
            for _ in range(WORKERS + 1):
                for rid, msg, cls in runs:
                    r = s.get(URL + "/api/runs/%d" % rid)
                    b = r.json()
                    want = msg if full else cls
                    check("%s reads %s" % (who, want[:30]),
                          r.status_code == 200 and
                          b["error_message"] == want and
                          b["error_class"] == cls and
                          "Cookie" in r.headers.get("Vary", ""), r.text)
            r = s.get(URL + "/api/queries/%d/runs/latest?status=any" % qid)
            check("%s: latest run" % who, r.status_code == 200 and
                  r.json()["error_message"] == (SECRET_MESSAGES[-1][0]
                                                if full else
                                                SECRET_MESSAGES[-1][1]),
                  r.text)
            r = s.get(URL + "/api/queries/%d/runs?limit=50" % qid)
            items = r.json()["items"]
            check("%s: run list" % who, len(items) == len(runs) and
                  (full or hidden(r.text)) and
                  (not full or "db.internal" in r.text), r.text[:300])
    # A success has no error; a stale or forged cookie is anonymous.
    bad = requests.Session()
    bad.cookies.set("sid", "A" * 43)
    r = bad.get(URL + "/api/runs/%d" % runs[0][0])
    check("invalid session reads as anonymous", r.status_code == 200 and
          r.json()["error_message"] == "source unreachable", r.text)
    ok = add_run(qid, "success", doc=FORMULA_DOC)
    r = requests.get(URL + "/api/runs/%d" % ok)
    check("no error, no class", r.json()["error_message"] is None and
          r.json()["error_class"] is None, r.text[:200])


# --- 11: one manual run at a time ---------------------------------------------

def post_run(s, qid):
    return s.post(URL + "/api/admin/queries/%d/run" % qid, json={})


def test_manual_run_conflict(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "slow_manual", "SELECT pg_sleep(2) AS slept")
    r = post_run(ed, qid)
    check("first manual run 202", r.status_code == 202, r.text)
    first = r.json()["run_id"]
    r = post_run(session("admin"), qid)
    check("second manual run 409 naming the first", err(r, 409, "conflict")
          and r.json()["run_id"] == first and
          r.json()["_link"] == "/api/runs/%d" % first and
          str(first) in r.json()["message"], r.text)
    cli = subprocess.run([ADMIN, "queries", "run", "slow_manual"],
                         capture_output=True, text=True, timeout=60)
    check("CLI queries run refused while one stands", cli.returncode == 75
          and ("run %d" % first) in cli.stderr, (cli.returncode,
                                                  cli.stderr))
    if os.environ.get("PGSCHED_RUNNER_PATH"):
        done = wait_for(lambda: requests.get(URL + "/api/runs/%d" % first)
                        .json()["status"] in ("success", "error"), 30)
        check("first manual run ends", done and requests.get(
            URL + "/api/runs/%d" % first).json()["status"] == "success")
        r = post_run(ed, qid)
        check("a new manual run once it ended", r.status_code == 202 and
              r.json()["run_id"] != first, r.text)


def test_manual_run_race(dsid):
    """Eight requests at once for one query: exactly one is queued."""
    ed = session("editor")
    for k in range(3):
        qid = new_query(ed, dsid, "race%d" % k, "SELECT pg_sleep(1)")
        sessions = [session("editor") for _ in range(8)]
        barrier = threading.Barrier(len(sessions))
        answers = [None] * len(sessions)

        def go(i):
            barrier.wait()
            answers[i] = post_run(sessions[i], qid)

        threads = [threading.Thread(target=go, args=(i,))
                   for i in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [a for a in answers if a.status_code == 202]
        lost = [a for a in answers if a.status_code == 409]
        check("race %d: exactly one 202" % k, len(won) == 1 and
              len(lost) == 7, [a.status_code for a in answers])
        if len(won) == 1:
            rid = won[0].json()["run_id"]
            check("race %d: every 409 names the winner" % k,
                  all(a.json().get("run_id") == rid for a in lost),
                  [a.text for a in lost])
        n = psql("SELECT count(*) FROM query_run WHERE query_id = %d" % qid)
        check("race %d: one run row" % k, n == "1", n)


# --- 15: statements that can never run -----------------------------------------

def test_parameters(dsid):
    ed = session("editor")
    r = ed.post(URL + "/api/admin/queries",
                json={"name": "param", "title": "p", "data_source_id": dsid,
                      "sql_text": "SELECT * FROM pg_class WHERE oid = $1",
                      "schedule_type": "interval", "schedule_expr": "PT6H"})
    check("create with $1 422 on sql_text", err(r, 422, field="sql_text")
          and "$1" in r.json()["fields"]["sql_text"], r.text)
    qid = new_query(ed, dsid, "param_ok")
    r = ed.patch(URL + "/api/admin/queries/%d" % qid,
                 json={"sql_text": "SELECT $2::int"})
    check("patch with $2 422", err(r, 422, field="sql_text"), r.text)
    r = ed.post(URL + "/api/admin/queries/test",
                json={"sql_text": "SELECT $1", "data_source_id": dsid})
    check("dry-run with $1 422", err(r, 422, field="sql_text"), r.text)
    r = ed.post(URL + "/api/admin/queries/test",
                json={"sql_text": "SELECT $$ $1 $$ AS dollar",
                      "data_source_id": dsid})
    check("dollar quotes are no parameter", r.status_code == 200, r.text)
    cli = subprocess.run([ADMIN, "queries", "add", "--name", "cliparam",
                          "--sql", "SELECT $1", "--data-source", "src",
                          "--schedule-type", "interval",
                          "--schedule-expr", "PT6H"],
                         capture_output=True, text=True, timeout=60)
    check("CLI queries add refuses $1", cli.returncode == 65 and
          "parameter $1" in cli.stderr, (cli.returncode, cli.stderr))


# --- 10: extensions that run SQL given as text ------------------------------

def source_sql(sql):
    subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", "source",
                    "-c", sql], check=True, capture_output=True, text=True)


def test_extension_warning():
    adm = session("admin")
    source_sql("DROP ROLE IF EXISTS plain_ro; CREATE ROLE plain_ro LOGIN")
    r = adm.post(URL + "/api/datasources",
                 json={"name": "plain", "host": "127.0.0.1",
                       "port": int(os.environ["PGPORT"]), "dbname": "source",
                       "username": "plain_ro", "password": "unused"})
    check("plain source created", r.status_code == 201, r.text)
    plain = r.json()["datasource"]["id"]
    r = adm.post(URL + "/api/datasources/%d/test" % plain, json={})
    check("no warning without the extension", r.status_code == 200 and
          r.json()["warning"] is None, r.text)
    source_sql("CREATE EXTENSION IF NOT EXISTS tablefunc")
    r = adm.post(URL + "/api/datasources/%d/test" % plain, json={})
    w = r.json().get("warning") or ""
    check("API test names tablefunc", r.status_code == 200 and
          "tablefunc" in w and "superuser" not in w, r.text)
    cli = subprocess.run([ADMIN, "dsn", "test", "plain"],
                         capture_output=True, text=True, timeout=60)
    check("dsn test names tablefunc", cli.returncode == 0 and
          "tablefunc" in cli.stderr, (cli.returncode, cli.stderr))
    r = adm.post(URL + "/api/datasources/%d/test" % add_source(adm, "ext_src"),
                 json={})
    w = r.json().get("warning") or ""
    check("superuser and extension both said", "superuser" in w and
          "tablefunc" in w, w)
    # A role that may not execute the functions is not warned.
    source_sql("DO $$ DECLARE f regprocedure; BEGIN FOR f IN SELECT"
               " d.objid::regprocedure FROM pg_depend d JOIN pg_extension e"
               " ON e.oid = d.refobjid WHERE e.extname = 'tablefunc' AND"
               " d.classid = 'pg_proc'::regclass LOOP EXECUTE format("
               "'REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f); END LOOP;"
               " END $$")
    r = adm.post(URL + "/api/datasources/%d/test" % plain, json={})
    check("no warning once EXECUTE is revoked", r.status_code == 200 and
          r.json()["warning"] is None, r.text)


# --- 16: context as SD in every line written -----------------------------------

def test_log_lines():
    d = os.environ["LOG_DIR"]
    n = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            for i, line in enumerate(f, 1):
                n += 1
                why = test_log_sd.check_line(line)
                check("%s:%d context as SD" % (name, i), why is None,
                      "%s: %r" % (why, line[:300]))
    check("log lines read", n > 20, n)


def main():
    adm = session("admin")
    dsid = add_source(adm, "src")
    for t, args in ((test_csv_formulas, (dsid,)),
                    (test_error_messages, (dsid,)),
                    (test_manual_run_conflict, (dsid,)),
                    (test_manual_run_race, (dsid,)),
                    (test_extension_warning, ()),
                    (test_parameters, (dsid,)),
                    (test_log_lines, ())):
        try:
            t(*args)
        except Exception as e:  # one failure, the rest still runs
            import traceback
            traceback.print_exc()
            check(t.__name__ + " raised", False, repr(e))
    finish()


if __name__ == "__main__":
    main()
