"""Dry-runs against a faulty source through the API (issue #11, items 2,
9).  Runs under tests/lib/with-api.sh.

- a stopped source (the dry-run's backend stopped with SIGSTOP): the
  answer is 422 source_timeout "source did not answer" within the timeout
  plus 30 s, not a hang and not a 502; the worker lives on and the
  connection is gone (the backend ends once continued);
- a source whose default is standard_conforming_strings = off: the rows
  are those of the text libpg_query checked.
"""
import os
import signal
import subprocess
import threading
import time

from apitest import URL, check, err, finish, session, wait_for, worker_pids


def src_psql(sql, db="source"):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d",
                           db, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def add_source(adm, name, dbname):
    r = adm.post(URL + "/api/datasources",
                 json={"name": name, "host": "127.0.0.1",
                       "port": int(os.environ["PGPORT"]), "dbname": dbname,
                       "username": "postgres", "password": "unused"})
    check("data source %s created" % name, r.status_code == 201, r.text)
    return r.json()["datasource"]["id"]


def dry_backend():
    out = src_psql("SELECT pid FROM pg_stat_activity WHERE application_name"
                   " LIKE 'pgsched%' AND state = 'active' AND query LIKE"
                   " '%pg_sleep%'")
    return int(out) if out else None


def backend_alive(pid):
    return src_psql("SELECT count(*) FROM pg_stat_activity WHERE pid = %d"
                    % pid) == "1"


def test_stopped_source(ed, dsid):
    timeout_ms = 5000
    box = {}
    _, before = worker_pids()

    def call():
        t = time.time()
        box["r"] = ed.post(URL + "/api/admin/queries/test", json={
            "sql_text": "SELECT pg_sleep(4) AS s", "data_source_id": dsid,
            "timeout_ms": timeout_ms}, timeout=180)
        box["took"] = time.time() - t

    th = threading.Thread(target=call)
    th.start()
    pid = wait_for(dry_backend, 30, 0.02)
    check("the dry-run runs on the source", pid is not None)
    if pid is None:
        th.join()
        return
    os.kill(pid, signal.SIGSTOP)
    try:
        th.join(timeout_ms / 1000 + 30 + 60)
        r = box.get("r")
        print("  stopped source: %s after %.1f s" % (
            r.status_code if r is not None else None, box.get("took", -1)))
        check("an answer, not a hang", r is not None)
        if r is not None:
            check("422 source_timeout", err(r, 422, "source_timeout") and
                  r.json()["message"] == "source did not answer", r.text)
            check("within the timeout plus 30 s",
                  box["took"] <= timeout_ms / 1000 + 30, box["took"])
        check("the workers live on", worker_pids()[1] == before)
    finally:
        os.kill(pid, signal.SIGCONT)
    check("the dropped connection ends the backend",
          wait_for(lambda: not backend_alive(pid), 20))


def test_parser_agreement(adm, ed):
    src_psql("CREATE DATABASE scs_off")
    src_psql("ALTER DATABASE scs_off SET standard_conforming_strings = off")
    check("the source's default is off",
          src_psql("SHOW standard_conforming_strings", "scs_off") == "off")
    dsid = add_source(adm, "scs_off", "scs_off")
    r = ed.post(URL + "/api/admin/queries/test", json={
        "sql_text": "SELECT 'a\\'' , 1 AS two --' AS one",
        "data_source_id": dsid})
    print("  scs off: %s" % r.text[:200])
    check("the dry-run sees what was checked", r.status_code == 200 and
          r.json()["columns"] == ["one"] and
          r.json()["rows"] == [["a\\' , 1 AS two --"]], r.text)


def main():
    adm = session("admin")
    ed = session("editor")
    dsid = add_source(adm, "faulty", "source")
    test_stopped_source(ed, dsid)
    test_parser_agreement(adm, ed)
    finish()


main()
