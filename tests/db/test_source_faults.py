"""Faults of a data source seen by the runner (issue #11, items 1, 2, 9).

- a stopped source (its backend stopped with SIGSTOP mid-query): the run
  ends as error "source did not answer" within its timeout plus 30 s, the
  job's advisory lock is released (a later slot runs, it is not skipped,
  while that backend is still stopped), the runner exits normally and the
  connection is gone (the backend ends as soon as it is continued);
- a huge row (one value of 300 MB of control characters, six times that
  escaped): the run fails with "result too large", nothing stays running,
  the runner lives on, and its peak memory (the worker's, from wait4) stays
  under the row's size plus 64 MB with the default RUNNER_MEMORY_MAX_MB,
  and under the cap with a small one; with the cap off, libpq holds the
  row twice (its input buffer and the row's copy) and pg-sched adds no more
  than 64 MB to that; a huge row after rows that fit cuts the result there
  (truncated, success);
- a source whose default is standard_conforming_strings = off: the run
  sees the meaning libpg_query checked, also on a reused connection.

The runner runs under AddressSanitizer in `make check`: a refused
allocation must return NULL there as it does in a plain build, so its
ASAN_OPTIONS get allocator_may_return_null=1 (the memory cap is not set
otherwise), and quarantine_size_mb=0 so that freed memory is given back
as in a plain build; the bounds without a cap allow for ASan's shadow of
the freed row (an eighth of it).  A peak read from wait4 is at least the
test's own size when it started the runner (about 24 MB): the runner's
own is no larger.
"""
import os
import signal
import subprocess
import tempfile
import time

import psycopg2

from pgtest import (LOCK_CLASS, add_job, add_source, bin_path, check, one, q,
                    runner_env,
                    run_tests, runs_of, setup_db, source, wait_for)

M = None
SK = None
DS = None
ROW = 300000000         # bytes of the huge row's value
MB = 1024 * 1024
HUGE_SQL = "SELECT repeat(chr(1), %d) AS v" % ROW
ASAN = "allocator_may_return_null=1:quarantine_size_mb=0:detect_leaks=1"


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
    e = runner_env({"ASAN_OPTIONS": ASAN})
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


def huge_run(name, sql, env=None):
    """Runs a tick with one job; returns (runs, peak RSS kB, exit code,
    stderr)."""
    jid = add_job(M, DS, name, sql, timeout_ms=120000, max_rows=1000)
    code, kb, text = run_runner(300, env)
    r = runs_of(M, jid)
    ms = one(M, "SELECT duration_ms FROM query_run WHERE query_id = %s",
             (jid,))
    disable(jid)
    print("  %s: %s in %s ms, peak RSS %d MB" % (
        name, r[0][1:3] if r else None, ms, kb // 1024))
    check("%s: runner exit 0" % name, code == 0, text[-2000:])
    check("%s: no worker crash" % name, "crash" not in text and
          "AddressSanitizer" not in text, text[-2000:])
    check("%s: nothing left running" % name, one(
        M, "SELECT count(*) FROM query_run WHERE status = 'running'") == 0)
    return r, kb


def test_huge_row_default_cap():
    # A row larger than the cap (256 MiB): libpq cannot even make room
    # for it, and the run fails at once.
    r, kb = huge_run("huge_default", HUGE_SQL)
    check("default cap: result too large", len(r) == 1 and
          r[0][1] == "error" and (r[0][2] or "").startswith(
              "result too large"), r)
    check("default cap: peak under the row + 64 MB", kb * 1024 <
          ROW + 64 * MB, "%d kB" % kb)


def test_huge_row_small_cap():
    # A cap below what a result at RESULT_MAX_BYTES needs is raised to
    # 64 MiB + 8 x 8 MiB: the worker's own buffers still fit, it does not
    # abort.
    r, kb = huge_run("huge_small_cap", HUGE_SQL,
                     {"RUNNER_MEMORY_MAX_MB": "1"})
    check("small cap: result too large", len(r) == 1 and
          r[0][1] == "error" and (r[0][2] or "").startswith(
              "result too large"), r)
    check("small cap: peak under 128 MiB + 64 MB", kb * 1024 <
          (128 + 64) * MB, "%d kB" % kb)
    jid = add_job(M, DS, "full_cap", "SELECT x, repeat('y', 1000) AS pad"
                  " FROM generate_series(1, 100000) x", max_rows=100000)
    code, kb, text = run_runner(120, {"RUNNER_MEMORY_MAX_MB": "1"})
    r = runs_of(M, jid)
    disable(jid)
    print("  full_cap: %s, peak RSS %d MB" % (r[0][1:3] if r else None,
                                            kb // 1024))
    check("small cap: a result at RESULT_MAX_BYTES is stored", code == 0
          and len(r) == 1 and r[0][1] == "success" and r[0][5] > 1000,
          (r, text[-1000:]))


def shadow(nbytes):
    """What AddressSanitizer adds to the peak for a freed buffer of
    nbytes: it marks it in its shadow memory (one byte per eight); 0 for a
    plain build."""
    out = subprocess.run(["nm", bin_path("pgsched-runner")],
                         capture_output=True, text=True).stdout
    return nbytes // 8 if "__asan_init" in out else 0


def test_huge_row_no_cap():
    # Without a cap libpq reads the row whole (its input buffer and the
    # row's copy); the serialiser refuses it while escaping, six times
    # its size, instead of after.
    r, kb = huge_run("huge_no_cap", HUGE_SQL, {"RUNNER_MEMORY_MAX_MB": "0"})
    check("no cap: result too large", len(r) == 1 and
          r[0][1] == "error" and (r[0][2] or "").startswith(
              "result too large: its first row"), r)
    check("no cap: peak under libpq's two copies + 64 MB", kb * 1024 <
          2 * ROW + 64 * MB + shadow(ROW), "%d kB" % kb)


def test_huge_row_after_rows():
    # Rows that fit, then a huge one: the result is cut before it.
    sql = ("SELECT x, CASE WHEN x = 3 THEN repeat(chr(1), 100000000)"
           " ELSE 'small' END AS v FROM generate_series(1, 5) x")
    r, kb = huge_run("huge_later", sql)
    check("later huge row: success, cut before it", len(r) == 1 and
          r[0][1] == "success" and r[0][5] == 2, r)
    truncated = one(M, "SELECT b.truncated FROM query_run_blob b JOIN"
                    " query_run r ON r.id = b.run_id JOIN query_job j ON"
                    " j.id = r.query_id WHERE j.name = 'huge_later'")
    check("later huge row: stored as truncated", truncated is True,
          truncated)
    check("later huge row: peak under libpq's two copies + 64 MB",
          kb * 1024 < 2 * 100000000 + 64 * MB + shadow(100000000),
          "%d kB" % kb)


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
    run_tests([test_stopped_source, test_huge_row_default_cap,
               test_huge_row_small_cap, test_huge_row_no_cap,
               test_huge_row_after_rows, test_parser_agreement])
