"""One "run this job now" (issue 12): `pgsched-runner --query` and
`pgsched-admin queries run` go through the same function (job_run_now),
so the CLI has what the runner has, against a real PostgreSQL:

- the memory cap of RUNNER_MEMORY_MAX_MB: a row larger than the process
  may hold fails the run with "result too large: a row needs more memory
  than this process may use", in both doors, and the CLI's peak stays
  under the cap (before: the CLI read the row whole, several times its
  size, and failed later with another message);
- the lock watch: when the metadata session holding the job lock ends
  (idle_session_timeout) mid-run, the source query is cancelled at once,
  the CLI logs lock_lost with the server's reason, exits 75 and records
  nothing; the next tick queues the manual run again (before: the CLI ran
  the query to its end);
- the same answers where the doors used to differ: a source without a
  stored password is refused by both ("credential unavailable: no
  password stored"), as by the API (tests/api/test_api.py).

The processes run under AddressSanitizer in `make check`, whose refused
allocations must return NULL as in a plain build: their ASAN_OPTIONS get
allocator_may_return_null=1 (tests/db/test_source_faults.py says why).
"""
import os
import re
import signal
import subprocess
import tempfile
import time

from pgtest import (LOCK_CLASS, add_job, bin_path, check, one, q, run_tests,
                    runner, runner_env, runs_of, setup_db, source, source_port,
                    wait_for)

M = None
SK = None
DS = None
MB = 1024 * 1024
ROW = 200000000         # bytes of the huge row's value
HUGE_SQL = "SELECT repeat(chr(1), %d) AS v" % ROW
ASAN = "allocator_may_return_null=1:quarantine_size_mb=0:detect_leaks=1"


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")


def off(jid):
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (jid,))


def run_measured(argv, env, timeout=300):
    """Runs argv to its end; returns (exit code, peak RSS in kB from
    wait4, stderr text)."""
    e = dict(os.environ)
    e["ASAN_OPTIONS"] = ASAN
    e.update(env)
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                         text=True, env=e)
    end = time.time() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.time() > end:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            code = None
            break
        time.sleep(0.1)
    p.returncode = code if code is not None else -9
    err.seek(0)
    text = err.read()
    err.close()
    return code, ru.ru_maxrss, text


def test_memory_cap_both_doors():
    # A cap below what a result at RESULT_MAX_BYTES needs is raised to
    # 64 MiB + 8 x 8 MiB: the row of 200 MB cannot be read.
    cap = {"RUNNER_MEMORY_MAX_MB": "1"}
    for door, argv in (
            ("queries run", [bin_path("pgsched-admin"), "queries", "run",
                             "huge_cli"]),
            ("--query", [bin_path("pgsched-runner"), "--query"])):
        jid = add_job(M, DS, "huge_cli" if door == "queries run" else
                      "huge_runner", HUGE_SQL, due=False)
        if door == "--query":
            argv = argv + [str(jid)]
        # The runner as the runner role; the CLI is the owner's tool.
        env = dict(cap)
        if door == "--query":
            env["PG_DSN_APP"] = runner_env()["PG_DSN_APP"]
        code, kb, text = run_measured(argv, env)
        r = runs_of(M, jid)
        print("  %s: exit %s, peak RSS %d MB" % (door, code, kb // 1024))
        check("%s: one run, error" % door, len(r) == 1 and
              r[0][1] == "error", (r, text[-1000:]))
        check("%s: the memory cap's verdict" % door, r and (r[0][2] or "")
              .startswith("result too large: a row needs more memory"), r)
        check("%s: peak under the cap + 64 MB" % door,
              kb * 1024 < (128 + 64) * MB, "%d kB" % kb)
        check("%s: exit code" % door, code == (69 if door == "queries run"
                                               else 0), (code, text[-500:]))
        off(jid)


def role_dsn(name, idle):
    """A superuser role whose sessions end after `idle` of idleness;
    returns its DSN for the metadata database."""
    q(M, "DROP ROLE IF EXISTS %s" % name)
    q(M, "CREATE ROLE %s LOGIN SUPERUSER" % name)
    q(M, "ALTER ROLE %s SET idle_session_timeout = '%s'" % (name, idle))
    return "postgresql://%s@127.0.0.1:%d/pgsched" % (name, source_port())


def source_backend(jid):
    """pid of the source backend running job jid, or None."""
    s = source()
    pid = one(s, "SELECT pid FROM pg_stat_activity WHERE application_name"
              " LIKE %s AND state = 'active'", ("pgsched:%d:%%" % jid,))
    s.close()
    return pid


def lock_holder(jid):
    return one(M, "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
               " AND classid = %s AND objid = %s AND objsubid = 2"
               " AND granted", (LOCK_CLASS, jid))


def test_cli_lock_watch():
    if int(one(M, "SHOW server_version_num")) < 140000:
        print("  skipped: idle_session_timeout needs PostgreSQL 14")
        return
    # The session holding the lock idles while the source sleeps; the
    # server ends it after 6 s, long after the query started.
    dsn = role_dsn("now_cli", "6s")
    j = add_job(M, DS, "now_cli", "SELECT pg_sleep(120)", due=False,
                timeout_ms=300000)
    e = dict(os.environ)
    e["PG_DSN_APP"] = dsn
    p = subprocess.Popen([bin_path("pgsched-admin"), "queries", "run",
                          "now_cli"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    try:
        check("source query started", wait_for(lambda: source_backend(j),
                                                30) is not None)
        rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
        check("lock session ended by idle_session_timeout",
              wait_for(lambda: lock_holder(j) is None, 30, step=0.02))
        t0 = time.time()
        gone = wait_for(lambda: source_backend(j) is None, 10, step=0.02)
        dt = time.time() - t0
        print("  queries run: source query gone %.2f s after the lock"
              " session" % dt)
        check("source query cancelled at once", gone and dt < 4.0, dt)
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    check("queries run exits 75", p.returncode == 75,
          (p.returncode, err[-2000:]))
    check("it says why", re.search(
        r"job lock is lost \(FATAL: +terminating connection due to"
        r" idle-session timeout", err), err[-2000:])
    st = one(M, "SELECT status FROM query_run WHERE id = %s", (rid,))
    blobs = one(M, "SELECT count(*) FROM query_run_blob WHERE run_id = %s",
                (rid,))
    check("nothing recorded", st == "running" and blobs == 0, (st, blobs))
    q(M, "UPDATE query_job SET sql_text = 'SELECT 1 AS one' WHERE id = %s",
      (j,))
    r = runner()
    check("next tick: the manual run is queued again, then runs",
          r.returncode == 0 and one(
              M, "SELECT status || ':' || requeues FROM query_run WHERE"
              " id = %s", (rid,)) == "success:1", r.stderr)
    off(j)


def test_no_password_same_answer():
    nopw = one(M, "INSERT INTO data_source (name, host, port, dbname,"
               " username) VALUES ('nopw', '127.0.0.1', %s, 'source',"
               " 'postgres') RETURNING id", (source_port(),))
    j = add_job(M, nopw, "nopw_q", "SELECT 1 AS one", due=False)
    r = runner("--query", str(j))
    runs = runs_of(M, j)
    check("runner: credential unavailable", r.returncode == 0 and
          runs[-1][1:3] == ("error", "credential unavailable: no password"
                            " stored"), (r.stderr, runs))
    a = subprocess.run([bin_path("pgsched-admin"), "queries", "run",
                        "nopw_q"], capture_output=True, text=True)
    runs = runs_of(M, j)
    check("queries run: the same", a.returncode == 69 and
          runs[-1][1:3] == ("error", "credential unavailable: no password"
                            " stored"), (a.stderr, runs))
    for argv in (("dsn", "test", "nopw"), ("queries", "test", "nopw_q")):
        a = subprocess.run([bin_path("pgsched-admin")] + list(argv),
                           capture_output=True, text=True)
        check("%s: credential unavailable" % " ".join(argv),
              a.returncode == 65 and "credential unavailable: no password"
              " stored" in a.stderr, (a.returncode, a.stderr))
    off(j)


setup()
run_tests([test_memory_cap_both_doors, test_cli_lock_watch,
           test_no_password_same_answer])
