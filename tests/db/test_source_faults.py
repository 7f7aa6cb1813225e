"""Faults of a data source seen by the runner (issue #11, items 2, 9).

- a stopped source (its backend stopped with SIGSTOP mid-query): the run
  ends as error "source did not answer" within its timeout plus 30 s, the
  job's advisory lock is released (a later slot runs, it is not skipped,
  while that backend is still stopped), the runner exits normally and the
  connection is gone (the backend ends as soon as it is continued);
- a source whose default is standard_conforming_strings = off: the run
  sees the meaning libpg_query checked, also on a reused connection.
"""
import os
import signal
import subprocess
import tempfile
import time

import psycopg2

from pgtest import (LOCK_CLASS, add_job, add_source, bin_path, check, one, q,
                    run_tests, runs_of, setup_db, source, wait_for)

M = None
SK = None
DS = None


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")


def disable(*jobs):
    for j in jobs:
        q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def make_due(jid):
    q(M, "UPDATE query_job SET enabled = true, next_run_at = now() -"
      " interval '1 second' WHERE id = %s", (jid,))


def start_runner(*args, env=None):
    """Starts pgsched-runner with its output in files; returns (Popen,
    stdout file, stderr file)."""
    e = dict(os.environ)
    e.update(env or {})
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([bin_path("pgsched-runner")] + list(args),
                         stdout=out, stderr=err, text=True, env=e)
    return p, out, err


def reap(p, out, err, timeout):
    """Waits up to timeout s for p (killed after that); returns (exit
    code or None when it had to be killed, peak RSS in kB of it and its
    workers, stderr text)."""
    end = time.time() + timeout
    code = None
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.time() > end:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.1)
    p.returncode = code if code is not None else -9
    err.seek(0)
    text = err.read()
    out.close()
    err.close()
    return code, ru.ru_maxrss, text


def run_runner(timeout=300, env=None):
    p, out, err = start_runner(env=env)
    return reap(p, out, err, timeout)


def source_backend(pattern, query_like):
    """pid of the active source backend whose application_name is LIKE
    pattern and whose query is LIKE query_like, or None."""
    s = source()
    pid = one(s, "SELECT pid FROM pg_stat_activity WHERE application_name"
              " LIKE %s AND state = 'active' AND query LIKE %s",
              (pattern, query_like))
    s.close()
    return pid


def backend_alive(pid):
    s = source()
    n = one(s, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
            (pid,))
    s.close()
    return n == 1


def job_lock_held(jid):
    return one(M, "SELECT count(*) FROM pg_locks WHERE locktype ="
               " 'advisory' AND classid = %s AND objid = %s",
               (LOCK_CLASS, jid)) > 0


def test_stopped_source():
    timeout_ms = 5000
    jid = add_job(M, DS, "stopped", "SELECT pg_sleep(4) AS s",
                  timeout_ms=timeout_ms)
    t0 = time.time()
    p, out, err = start_runner()
    pid = wait_for(lambda: source_backend("pgsched:%d:%%" % jid,
                                          "%pg_sleep%"), 30, 0.02)
    check("the query runs on the source", pid is not None)
    if pid is None:
        reap(p, out, err, 60)
        return
    os.kill(pid, signal.SIGSTOP)
    try:
        check("the backend was stopped mid-query",
              source_backend("pgsched:%d:%%" % jid, "%pg_sleep%") == pid)
        code, _, text = reap(p, out, err, timeout_ms / 1000 + 30 + 30)
        took = time.time() - t0
        print("  stopped source: runner ended after %.1f s" % took)
        check("the runner ends by itself, exit 0", code == 0,
              "exit %r after %.1f s: %s" % (code, took, text[-2000:]))
        r = runs_of(M, jid)
        check("one error run: source did not answer", len(r) == 1 and
              r[0][1] == "error" and r[0][2] == "source did not answer", r)
        ms = one(M, "SELECT duration_ms FROM query_run WHERE query_id = %s",
                 (jid,))
        print("  stopped source: run took %s ms" % ms)
        check("within the timeout plus 30 s", ms is not None and
              timeout_ms <= ms <= timeout_ms + 30000, ms)
        check("nothing left running", one(
            M, "SELECT count(*) FROM query_run WHERE status = 'running'")
              == 0)
        check("the job's lock is released", not job_lock_held(jid))
        # The next slot, while that backend is still stopped: it runs on
        # a new connection instead of being skipped behind a held lock.
        make_due(jid)
        code, _, text = run_runner(120)
        r = runs_of(M, jid)
        check("later slot runs (not skipped)", code == 0 and len(r) == 2
              and r[1][1] == "success", (r, text[-1000:]))
        check("the stopped backend is still stopped", backend_alive(pid))
    finally:
        os.kill(pid, signal.SIGCONT)
    # The runner dropped the connection: the backend, once continued,
    # finds its client gone and ends.
    check("the dropped connection ends the backend",
          wait_for(lambda: not backend_alive(pid), 20))
    disable(jid)


def test_parser_agreement():
    s = source()
    q(s, "CREATE DATABASE scs_off")
    q(s, "ALTER DATABASE scs_off SET standard_conforming_strings = off")
    s.close()
    uri = os.environ["PGSCHED_TEST_SOURCE_URI"].rsplit("/", 1)[0]

    c = psycopg2.connect(uri + "/scs_off")
    check("the source's default is off",
          one(c, "SHOW standard_conforming_strings") == "off")
    c.close()
    ds = add_source(M, SK, "scs_off", dbname="scs_off")
    # libpg_query (standard_conforming_strings on) reads one column "one"
    # holding  a\' , 1 AS two --  ; with it off, the server would read
    # 'a\'' as a' and then a second column two = 1.
    sql = "SELECT 'a\\'' , 1 AS two --' AS one"
    jobs = [add_job(M, ds, "scs%d" % i, sql) for i in range(2)]
    # One worker: the second run takes the first one's connection after
    # DISCARD ALL.
    p, out, err = start_runner("--concurrency", "1")
    code, _, text = reap(p, out, err, 120)
    check("tick exits 0", code == 0, text[-2000:])
    for jid in jobs:
        doc = one(M, "SELECT b.df_json FROM query_run_blob b JOIN query_run"
                  " r ON r.id = b.run_id WHERE r.query_id = %s", (jid,))
        print("  scs off: %r" % (doc["data"] if doc else None,))
        check("the run sees what was checked", doc is not None and
              doc["data"] == [{"index": 0, "one": "a\\' , 1 AS two --"}],
              doc)
    disable(*jobs)


if __name__ == "__main__":
    setup()
    run_tests([test_stopped_source, test_parser_agreement])
