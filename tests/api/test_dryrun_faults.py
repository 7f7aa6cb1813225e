"""Dry-runs against a faulty source through the API (issue #11, items 1,
2, 9).  Runs under tests/lib/with-api.sh.

- a stopped source (the dry-run's backend stopped with SIGSTOP): the
  answer is 422 source_timeout "source did not answer" within the timeout
  plus 30 s, not a hang and not a 502; the worker lives on and the
  connection is gone (the backend ends once continued);
- a huge row (300 MB of control characters): 422 result_too_large, the
  pool's workers live on (no 502), and the dry-run's process (a child of
  the worker, under RUNNER_MEMORY_MAX_MB; its peak RSS is in the
  dryrun_done log line) stays under the row's size plus 64 MB, the worker
  itself far below;
- a source whose default is standard_conforming_strings = off: the rows
  are those of the text libpg_query checked.

test_dryrun_faults.env gives the pool ASAN_OPTIONS with
allocator_may_return_null=1 (a refused allocation returns NULL, as in a
plain build, so the memory cap is set) and quarantine_size_mb=0.
"""
import glob
import os
import re
import signal
import subprocess
import threading
import time

from apitest import URL, check, err, finish, session, wait_for, worker_pids

ROW = 300000000
MB = 1024 * 1024


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


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def last_dryrun_rss_kb():
    """maxrss_kb of the last dryrun_done log line of the pool."""
    last = None
    for path in sorted(glob.glob(os.path.join(os.environ["LOG_DIR"],
                                              "*.log"))):
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r'dryrun_done .*maxrss_kb="?(\d+)', line)
                if m:
                    last = int(m.group(1))
    return last


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


def test_huge_row(ed, dsid):
    _, before = worker_pids()
    t = time.time()
    r = ed.post(URL + "/api/admin/queries/test", json={
        "sql_text": "SELECT repeat(chr(1), %d) AS v" % ROW,
        "data_source_id": dsid, "timeout_ms": 120000}, timeout=300)
    took = time.time() - t
    rss = last_dryrun_rss_kb()
    print("  huge row: %s %s after %.1f s, dry-run peak RSS %s MB" % (
        r.status_code, r.text[:160], took,
        rss // 1024 if rss is not None else None))
    check("422 result_too_large, not a 502", err(r, 422, "result_too_large")
          and r.json()["message"].startswith("result too large"), r.text)
    check("the workers live on", worker_pids()[1] == before)
    check("dry-run peak under the row + 64 MB", rss is not None and
          rss * 1024 < ROW + 64 * MB, rss)
    hwm = max(vm_hwm_kb(p) for p in before)
    print("  huge row: workers' peak RSS %d MB" % (hwm // 1024))
    check("workers' own peak stays small", hwm * 1024 < 64 * MB, hwm)
    r = ed.get(URL + "/api/users/me")
    check("pool still answers", r.status_code == 200, r.text)


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
    test_huge_row(ed, dsid)
    test_parser_agreement(adm, ed)
    finish()


main()
