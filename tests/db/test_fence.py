"""A runner that loses the metadata session holding its job locks (issue
#11 item 3), against a real PostgreSQL.

The runner's parent holds every job's advisory lock on its own session while
workers execute.  When that session ends, the locks are free: the next tick
reaps the run and may start the job's next slot.  So the runner must stop
its runs at once and record nothing.  Cases:

- idle_session_timeout ends the parent's session mid-run (a tick): the
  source query is cancelled within a second, the runner exits 75 with a
  lock_lost line, nothing is written for the run, the next tick reaps it
  and runs the next slot exactly once, nothing stays running;
- the same for `--query`, which executes in the process holding the lock;
- the race window: the parent is frozen (SIGSTOP) when its session is
  terminated, so it cannot notice, and the worker's query ends: the
  worker's finish sees that the claim's lock is gone and writes nothing
  (before: it wrote `success`);
- an idle_session_timeout shorter than a run but longer than the parent's
  probe period: the parent's session survives (its probes keep it busy),
  the worker's own session is dropped while it waits on the source, opened
  again at the finish, and the run is recorded.

The partition case (a network namespace) is tests/db/test_partition.py.
"""
import glob
import os
import re
import signal
import subprocess
import time

from pgtest import (LOCK_CLASS, add_job, bin_path, check, one, q, run_tests,
                    runner_env,
                    runner, runs_of, setup_db, source, source_port, wait_for)

M = None
SK = None
DS = None


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")


def has_idle_timeout():
    """idle_session_timeout is PostgreSQL 14's."""
    if int(one(M, "SHOW server_version_num")) >= 140000:
        return True
    print("  skipped: idle_session_timeout needs PostgreSQL 14 or later")
    return False


def role_dsn(name, idle):
    """A role with the runner role's privileges whose sessions end after
    `idle` of idleness; returns its DSN for the metadata database."""
    q(M, "DROP ROLE IF EXISTS %s" % name)
    q(M, "CREATE ROLE %s LOGIN IN ROLE %s" % (
        name, os.environ.get("PGSCHED_TEST_RUNNER_ROLE", "postgres")))
    q(M, "ALTER ROLE %s SET idle_session_timeout = '%s'" % (name, idle))
    return "postgresql://%s@127.0.0.1:%d/pgsched" % (name, source_port())


def popen_runner(*args, env=None):
    return subprocess.Popen([bin_path("pgsched-runner")] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=runner_env(env))


def finish(p, timeout):
    """Waits for p; kills it when it outlives timeout.  Returns
    (returncode or None, stdout, stderr)."""
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err


def source_backend(jid):
    """pid of the source backend running job jid, or None."""
    s = source()
    pid = one(s, "SELECT pid FROM pg_stat_activity WHERE application_name"
              " LIKE %s AND state = 'active'", ("pgsched:%d:%%" % jid,))
    s.close()
    return pid


def lock_holder(jid):
    """Backend pid holding job jid's advisory lock, or None."""
    return one(M, "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
               " AND classid = %s AND objid = %s AND objsubid = 2"
               " AND granted", (LOCK_CLASS, jid))


def log_text():
    text = ""
    for f in glob.glob(os.path.join(os.environ["LOG_DIR"], "pgsched-*.log")):
        with open(f, errors="replace") as fh:
            text += fh.read()
    return text


def logged(msgid, run=None):
    """How many log lines have this MSGID (and SD-PARAM run)."""
    pat = (r' %s \[\S+ run="%d"' % (msgid, run) if run else
           r" %s [-\[]" % msgid)
    return len(re.findall(pat, log_text()))


def blobs_of(jid):
    return one(M, "SELECT count(*) FROM query_run_blob b JOIN query_run r"
               " ON r.id = b.run_id WHERE r.query_id = %s", (jid,))


def reap_and_next_slot(jid, rid, what, manual=False):
    """The next tick (a healthy runner) reaps run rid and runs the job's
    next slot once.  A manual run is not lost but queued again (requeues,
    tests/db/test_manual_runs.py): the slot runs first, then a later tick
    runs the manual run."""
    q(M, "UPDATE query_job SET sql_text = 'SELECT 1 AS one', next_run_at ="
      " now() - interval '1 second' WHERE id = %s", (jid,))
    r = runner()
    check("%s: next tick exits 0" % what, r.returncode == 0, r.stderr)
    runs = runs_of(M, jid)
    if manual:
        check("%s: manual run queued again" % what, runs and
              runs[0][0] == rid and runs[0][1] == "queued" and one(
                  M, "SELECT requeues FROM query_run WHERE id = %s",
                  (rid,)) == 1, runs)
    else:
        check("%s: run reaped as runner died" % what, runs and
              runs[0][0] == rid and runs[0][1:3] == ("error",
                                                     "runner died"), runs)
    check("%s: next slot ran exactly once" % what, len(runs) == 2 and
          runs[1][1] == "success", runs)
    if manual:
        r = runner()
        check("%s: a later tick runs the manual run" % what,
              r.returncode == 0 and runs_of(M, jid)[0][1] == "success",
              (r.stderr, runs_of(M, jid)))
    check("%s: no slot twice" % what, one(
        M, "SELECT count(*) = count(DISTINCT scheduled_at) FROM query_run"
        " WHERE query_id = %s AND triggered_by = 'schedule'", (jid,)))
    check("%s: nothing stays running" % what, one(
        M, "SELECT count(*) FROM query_run WHERE status = 'running'") == 0)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (jid,))


def test_idle_timeout_ends_lock_session():
    if not has_idle_timeout():
        return
    # The parent probes every RUNNER_NET_TIMEOUT_S/10 = 12 s; its session
    # sits idle in between, and the role's 6 s idle timeout ends it while
    # the worker's query sleeps on the source (the worker has those 6 s
    # to start it).
    dsn = role_dsn("fence_idle", "6s")
    j = add_job(M, DS, "fence_idle", "SELECT pg_sleep(120)",
                timeout_ms=300000)
    lost = logged("lock_lost")
    p = popen_runner(env={"PG_DSN_APP": dsn, "RUNNER_NET_TIMEOUT_S": "120"})
    try:
        check("source query started", wait_for(lambda: source_backend(j),
                                                30) is not None)
        rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
        check("lock session ended by idle_session_timeout",
              wait_for(lambda: lock_holder(j) is None, 30, step=0.02))
        t0 = time.time()
        gone = wait_for(lambda: source_backend(j) is None, 10, step=0.02)
        dt = time.time() - t0
        print("  source query gone %.2f s after the lock session" % dt)
        check("source query cancelled within a second", gone and dt < 1.0,
              dt)
        rc, out, err = finish(p, 15)
    finally:
        if p.poll() is None:
            p.kill()
    check("runner exits 75", rc == 75, (rc, err[-2000:]))
    check("lock_lost logged", logged("lock_lost") == lost + 1)
    check("says why", "job locks is lost (FATAL: terminating connection"
          " due to idle-session timeout" in err, err[-2000:])
    st = one(M, "SELECT status FROM query_run WHERE id = %s", (rid,))
    check("nothing written for the run", st == "running" and
          blobs_of(j) == 0, st)
    reap_and_next_slot(j, rid, "idle timeout")


def test_idle_timeout_inline_query():
    if not has_idle_timeout():
        return
    # --query executes in the process that holds the lock: it watches its
    # own session every RUNNER_NET_TIMEOUT_S/10 = 3 s.  The session ends
    # after 6 s of idleness, the query having started by then.
    dsn = role_dsn("fence_inline", "6s")
    j = add_job(M, DS, "fence_inline", "SELECT pg_sleep(120)", due=False,
                timeout_ms=300000)
    p = popen_runner("--query", str(j), env={"PG_DSN_APP": dsn})
    try:
        check("source query started", wait_for(lambda: source_backend(j),
                                                30) is not None)
        rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
        check("lock session ended by idle_session_timeout",
              wait_for(lambda: lock_holder(j) is None, 30, step=0.02))
        t0 = time.time()
        gone = wait_for(lambda: source_backend(j) is None, 10, step=0.02)
        dt = time.time() - t0
        print("  --query: source query gone %.2f s after the lock session"
              % dt)
        check("source query cancelled within the watch period", gone and
              dt < 4.0, dt)
        rc, out, err = finish(p, 15)
    finally:
        if p.poll() is None:
            p.kill()
    check("--query exits 75", rc == 75, (rc, err[-2000:]))
    check("--query logs lock_lost", logged("lock_lost", rid) == 1)
    check("--query says why", re.search(
        r"job lock is lost \(FATAL: +terminating connection due to"
        r" idle-session timeout", err), err[-2000:])
    st = one(M, "SELECT status FROM query_run WHERE id = %s", (rid,))
    check("--query wrote nothing", st == "running" and blobs_of(j) == 0, st)
    reap_and_next_slot(j, rid, "--query", manual=True)


def test_finish_after_lock_lost():
    # The parent cannot notice (SIGSTOP) while its session is terminated;
    # the worker's query then ends and the worker tries to record it.
    j = add_job(M, DS, "fence_race", "SELECT pg_sleep(2) AS slept")
    lost = logged("lock_lost")
    p = popen_runner()
    try:
        check("source query started", wait_for(lambda: source_backend(j),
                                                30) is not None)
        rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
        holder = lock_holder(j)
        p.send_signal(signal.SIGSTOP)
        check("lock session terminated", one(
            M, "SELECT pg_terminate_backend(%s)", (holder,)) is True)
        said = wait_for(lambda: logged("run_finish", rid), 30)
        check("worker tried to record the run", said)
        st = one(M, "SELECT status FROM query_run WHERE id = %s", (rid,))
        check("fenced worker wrote nothing", st == "running" and
              blobs_of(j) == 0, st)
        check("run_fenced logged", logged("run_fenced", rid) == 1)
        p.send_signal(signal.SIGCONT)
        rc, out, err = finish(p, 15)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
    check("runner exits 75 once it runs again", rc == 75,
          (rc, err[-2000:]))
    check("lock_lost logged", logged("lock_lost") == lost + 1)
    check("says why", "job locks is lost (FATAL: terminating connection"
          " due to administrator command" in err, err[-2000:])
    reap_and_next_slot(j, rid, "race window")


def test_worker_session_dropped_and_reopened():
    if not has_idle_timeout():
        return
    # Probes every RUNNER_NET_TIMEOUT_S/10 = 1 s keep the parent's session
    # from a 3 s idle timeout; the worker's session idles 5 s while the
    # source sleeps, is ended, and is opened again to record the run.
    dsn = role_dsn("fence_worker", "3s")
    j = add_job(M, DS, "fence_worker", "SELECT pg_sleep(5) AS slept")
    r = runner(env={"PG_DSN_APP": dsn, "RUNNER_NET_TIMEOUT_S": "10"})
    check("tick exits 0", r.returncode == 0, r.stderr[-2000:])
    runs = runs_of(M, j)
    check("long run recorded", len(runs) == 1 and runs[0][1] == "success" and
          blobs_of(j) == 1, runs)
    # (The server's FATAL is lost to a reset when the worker writes
    # first: the reason may be only libpq's.)
    check("worker session opened again", logged("db_reconnect") == 1 and
          "metadata session was lost (" in r.stderr, r.stderr[-2000:])
    check("lock session kept", "is lost" not in r.stderr, r.stderr[-2000:])
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


setup()
run_tests([test_idle_timeout_ends_lock_session,
           test_idle_timeout_inline_query, test_finish_after_lock_lost,
           test_worker_session_dropped_and_reopened])
