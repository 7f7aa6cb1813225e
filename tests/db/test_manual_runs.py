"""Manual runs are bounded (issue 11, items 11 and 17), against a real
PostgreSQL and the real runner:

- at most one queued or running manual run per query: `--query` and the
  CLI's `queries run` refuse a second one, naming the first;
- a manual run never costs a scheduled slot: a slot that comes due while
  a manual run executes waits for it (never `skipped`), and a queued manual
  run waits while its query has a due slot;
- a manual run whose runner died is queued again by the next tick and
  runs, at most CLAIM_MANUAL_REQUEUES (2) times, then it is "runner died";
- migration 0004 settles the duplicate manual runs an older version left.
"""
import os
import signal
import subprocess

from pgtest import (LOCK_CLASS, SRCDIR, add_job, admin, bin_path, check,
                    runner_env,
                    meta, one, q, run_tests, runner, setup_db, wait_for)

M = None
DS = None


def setup():
    global M, DS
    M, _, DS = setup_db("src")


def manual(j, status="queued", requeues=0):
    return one(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
               " triggered_by, missed_slots, requeues, run_started_at)"
               " VALUES (%s, now(), %s, 'manual', 0, %s, CASE WHEN"
               " %s = 'running' THEN now() END) RETURNING id",
               (j, status, requeues, status))


def runs(j):
    return q(M, "SELECT triggered_by, status FROM query_run WHERE"
             " query_id = %s ORDER BY id", (j,))


def off(j):
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_second_manual_run_refused():
    j = add_job(M, DS, "twice", "SELECT 1", due=False)
    first = manual(j)
    r = runner("--query", str(j))
    check("--query refused with 75", r.returncode == 75 and
          ("run %d" % first) in r.stderr, (r.returncode, r.stderr))
    r = admin("queries", "run", "twice")
    check("queries run refused with 75", r.returncode == 75 and
          ("run %d" % first) in r.stderr, (r.returncode, r.stderr))
    check("still one run", runs(j) == [("manual", "queued")], runs(j))
    r = runner("--run", str(first))
    check("the standing one runs", r.returncode == 0 and
          runs(j) == [("manual", "success")], (r.stderr, runs(j)))
    r = runner("--query", str(j))
    check("a new one once it ended", r.returncode == 0 and
          runs(j) == [("manual", "success")] * 2, (r.stderr, runs(j)))
    off(j)


def test_slot_waits_for_running_manual_run():
    # A live manual run: its row is running and its runner holds the lock.
    j = add_job(M, DS, "busy_manual", "SELECT 1")
    due = one(M, "SELECT next_run_at FROM query_job WHERE id = %s", (j,))
    holder = meta()
    q(holder, "SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, j))
    rid = manual(j, "running")
    r = runner()
    check("tick ok", r.returncode == 0, r.stderr)
    check("slot not skipped", runs(j) == [("manual", "running")], runs(j))
    check("still due at the same slot", one(
        M, "SELECT next_run_at FROM query_job WHERE id = %s", (j,)) == due)
    r = runner("--dry-run")
    check("--dry-run says it waits", "waits (its manual run is executing)"
          in r.stdout, r.stdout)
    q(M, "UPDATE query_run SET status = 'success' WHERE id = %s", (rid,))
    holder.close()
    runner()
    check("the slot runs once the manual run ended",
          runs(j) == [("manual", "success"), ("schedule", "success")],
          runs(j))
    off(j)


def test_slot_not_skipped_while_manual_claims():
    # The lock taken by a manual run's claim that has not committed its
    # "running" yet: the slot is deferred, not skipped.
    j = add_job(M, DS, "claiming", "SELECT 1")
    holder = meta()
    q(holder, "SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, j))
    manual(j, "queued")
    runner()
    check("deferred, not skipped", runs(j) == [("manual", "queued")],
          runs(j))
    check("still due", one(M, "SELECT next_run_at <= now() FROM query_job"
                           " WHERE id = %s", (j,)))
    holder.close()
    runner()
    runner()
    check("slot first, then the manual run",
          runs(j) == [("manual", "success"), ("schedule", "success")],
          runs(j))
    off(j)


def test_manual_waits_for_due_slot():
    j = add_job(M, DS, "due_first", "SELECT 1")
    rid = manual(j)
    r = runner("--run", str(rid))
    check("--run leaves it queued while a slot is due", r.returncode == 75
          and runs(j) == [("manual", "queued")], (r.stderr, runs(j)))
    off(j)
    r = runner("--run", str(rid))
    check("runs when no slot is due", r.returncode == 0 and
          runs(j) == [("manual", "success")], (r.stderr, runs(j)))


def test_dead_manual_run_requeued():
    j = add_job(M, DS, "requeue", "SELECT 7 AS seven", due=False)
    rid = manual(j, "running")
    r = runner()
    check("tick ok", r.returncode == 0, r.stderr)
    st = q(M, "SELECT status, error_message, requeues FROM query_run"
           " WHERE id = %s", (rid,))[0]
    check("requeued and run by the same tick", st == ("success", None, 1),
          st)
    dead = manual(j, "running", requeues=2)
    runner()
    st = q(M, "SELECT status, error_message, requeues FROM query_run"
           " WHERE id = %s", (dead,))[0]
    check("bounded: then runner died", st == ("error", "runner died", 2),
          st)
    sched = one(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
                " run_started_at) VALUES (%s, now(), 'running', now())"
                " RETURNING id", (j,))
    runner()
    check("a scheduled run is not requeued", one(
        M, "SELECT status || ':' || error_message FROM query_run WHERE"
        " id = %s", (sched,)) == "error:runner died")


def test_sigkill_manual_runner_retried():
    j = add_job(M, DS, "killed_manual", "SELECT pg_sleep(3) AS slept",
                due=False)
    p = subprocess.Popen([bin_path("pgsched-runner"), "--query", str(j)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=runner_env())
    running = wait_for(lambda: one(M, "SELECT count(*) FROM query_run WHERE"
                                   " query_id = %s AND status = 'running'",
                                   (j,)), 20)
    check("manual run started", running == 1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    # The backend of the killed runner lets the lock go once it sees the
    # connection closed.
    free = wait_for(lambda: not one(
        M, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND"
        " classid = %s AND objid = %s AND granted", (LOCK_CLASS, j)), 20)
    check("its lock is gone", free)
    r = runner()
    st = q(M, "SELECT status, requeues, rows_returned FROM query_run WHERE"
           " query_id = %s", (j,))
    check("next tick retries it to success", r.returncode == 0 and
          st == [("success", 1, 1)], (st, r.stderr))


def psql_db(db, *args, **kw):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d",
                           db] + list(args), capture_output=True, text=True,
                          **kw)


def test_migration_settles_duplicates():
    r = psql_db("pgsched", "-c", "CREATE DATABASE mig")
    check("database created", r.returncode == 0, r.stderr)
    for f in ("0001-init.sql", "0002-pgsched.sql", "0003-notify.sql"):
        r = psql_db("mig", "-f", os.path.join(SRCDIR, "sql", f))
        check("applied " + f, r.returncode == 0, r.stderr)
    sql = """
    CREATE TABLE schema_migrations (version text PRIMARY KEY,
        name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO schema_migrations (version, name) VALUES
        ('0001', '0001-init'), ('0002', '0002-pgsched'),
        ('0003', '0003-notify');
    INSERT INTO data_source (name, host, port, dbname, username)
        VALUES ('s', 'h', 5432, 'd', 'u');
    INSERT INTO query_job (name, sql_text, data_source_id, schedule_type,
        schedule_expr, timezone) SELECT 'q' || g, 'SELECT 1', 1,
        'interval', 'PT1H', 'UTC' FROM generate_series(1, 2) g;
    INSERT INTO query_run (query_id, scheduled_at, status, triggered_by,
        missed_slots) VALUES
        (1, now(), 'queued', 'manual', 0), (1, now(), 'queued', 'manual', 0),
        (1, now(), 'queued', 'manual', 0),
        (2, now(), 'running', 'manual', 0),
        (2, now(), 'running', 'manual', 0),
        (2, now(), 'queued', 'manual', 0);
    """
    r = psql_db("mig", "-c", sql)
    check("old state", r.returncode == 0, r.stderr)
    dsn = os.environ["PG_DSN_APP"].rsplit("/", 1)[0] + "/mig"
    r = admin("db", "migrate", env={"PG_DSN_APP": dsn})
    check("db migrate applies 0004", r.returncode == 0 and
          "0004" in r.stdout, (r.stdout, r.stderr))
    out = psql_db("mig", "-c", "SELECT string_agg(status, ',' ORDER BY id)"
                  " FROM query_run GROUP BY query_id ORDER BY query_id")
    check("one active manual run per query", out.stdout.split() ==
          ["queued,skipped,skipped", "error,running,skipped"], out.stdout)
    r = psql_db("mig", "-c", "INSERT INTO query_run (query_id, scheduled_at,"
                " status, triggered_by, missed_slots) VALUES (1, now(),"
                " 'queued', 'manual', 0)")
    check("a second one is now impossible", r.returncode != 0 and
          "query_run_manual_active" in r.stderr, r.stderr)


if __name__ == "__main__":
    setup()
    run_tests([test_second_manual_run_refused,
               test_slot_waits_for_running_manual_run,
               test_slot_not_skipped_while_manual_claims,
               test_manual_waits_for_due_slot,
               test_dead_manual_run_requeued,
               test_sigkill_manual_runner_retried,
               test_migration_settles_duplicates])
