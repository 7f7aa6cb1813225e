"""pgsched-runner end to end against a real PostgreSQL (metadata and source).

Covers CONTRACT §3-§4: claiming and coalescing, overlap skips, orphan
reaping, SIGKILL/SIGTERM mid-run, faults of a source, SELECT-only at run
time, READ ONLY even for a function that writes, truncation, retries,
auto-pause, manual runs, retention, --dry-run, and four runners at once
over 200 due jobs for several ticks (every slot exactly once).
"""
import signal
import subprocess
import time

from pgtest import (LOCK_CLASS, add_job, add_source, bin_path, check, meta,
                    one, q, run_tests, runner, runner_env, runs_of, setup_db,
                    source, wait_for)

M = None
SK = None
DS = None


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")
    s = source()
    q(s, "CREATE TABLE IF NOT EXISTS t (id int)")
    q(s, "CREATE SEQUENCE IF NOT EXISTS seq")
    q(s, "CREATE OR REPLACE FUNCTION evil() RETURNS int LANGUAGE sql"
      " AS 'INSERT INTO t VALUES (666) RETURNING 1'")
    s.close()


def tick(*args, timeout=120):
    r = runner(*args, timeout=timeout)
    return r


def test_basic_success():
    j = add_job(M, DS, "basic", "SELECT 1 AS a, 'x'::text AS b")
    r = tick()
    check("tick exits 0", r.returncode == 0, r.stderr)
    runs = runs_of(M, j)
    check("one run", len(runs) == 1, runs)
    check("success", runs and runs[0][1] == "success", runs)
    doc = one(M, "SELECT df_json FROM query_run_blob b JOIN query_run r ON"
              " r.id = b.run_id WHERE r.query_id = %s", (j,))
    check("blob orient table", doc and doc["data"][0]["a"] == 1 and
          doc["schema"]["primaryKey"] == ["index"], doc)
    st = q(M, "SELECT total_runs, successful_runs, last_run_status,"
           " next_run_at > now() FROM query_job WHERE id = %s", (j,))[0]
    check("stats by trigger", st[0] == 1 and st[1] == 1 and
          st[2] == "success" and st[3], st)
    host_pid = q(M, "SELECT runner_host, runner_pid, triggered_by FROM"
                 " query_run WHERE query_id = %s", (j,))[0]
    check("host pid trigger", host_pid[0] and host_pid[1] and
          host_pid[2] == "schedule", host_pid)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_coalesce_missed_slots():
    j = add_job(M, DS, "coalesce", "SELECT 1", expr="PT1M")
    # Anchored 30 minutes back, due since 10 minutes: 11 slots missed.
    q(M, "UPDATE query_job SET start_at = date_trunc('minute', now())"
      " - interval '30 min', next_run_at = date_trunc('minute', now())"
      " - interval '10 min' WHERE id = %s", (j,))
    tick()
    runs = q(M, "SELECT missed_slots, scheduled_at, status FROM query_run"
             " WHERE query_id = %s", (j,))
    check("one coalesced run", len(runs) == 1, runs)
    check("missed slots counted", runs and runs[0][0] == 11, runs)
    nxt = one(M, "SELECT next_run_at > now() AND next_run_at <= now() +"
              " interval '61 s' FROM query_job WHERE id = %s", (j,))
    check("next_run_at moved to first future slot", nxt)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_overlap_skipped():
    j = add_job(M, DS, "overlap", "SELECT 1")
    other = meta()
    q(other, "SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, j))
    tick()
    runs = runs_of(M, j)
    check("skipped run", len(runs) == 1 and runs[0][1] == "skipped" and
          "still executing" in (runs[0][2] or ""), runs)
    check("skip counted", one(M, "SELECT skipped_runs FROM query_job WHERE"
                               " id = %s", (j,)) == 1)
    other.close()
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_held_job_not_skipped_by_own_tick():
    # A job with a queued manual run that is also due by schedule: the
    # slot runs first (manual runs never cost a slot), neither is
    # "skipped" by the runner's own lock, and the manual run follows at the
    # next tick.
    j = add_job(M, DS, "held", "SELECT 1")
    q(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
      " triggered_by, missed_slots) VALUES (%s, now(), 'queued', 'manual',"
      " 0)", (j,))
    tick()
    r = q(M, "SELECT triggered_by, status FROM query_run WHERE"
          " query_id = %s ORDER BY id", (j,))
    check("slot ran, manual waits", r == [("manual", "queued"),
                                          ("schedule", "success")], r)
    check("no longer due", one(
        M, "SELECT next_run_at > now() FROM query_job WHERE id = %s", (j,)))
    tick()
    r = q(M, "SELECT triggered_by, status FROM query_run WHERE"
          " query_id = %s ORDER BY id", (j,))
    check("next tick runs the manual run", r == [("manual", "success"),
                                                 ("schedule", "success")], r)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_orphan_reaped():
    j = add_job(M, DS, "orphan", "SELECT 1", due=False)
    rid = one(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
              " run_started_at) VALUES (%s, now(), 'running', now())"
              " RETURNING id", (j,))
    tick()
    st = q(M, "SELECT status, error_message FROM query_run WHERE id = %s",
           (rid,))[0]
    check("orphan marked runner died", st == ("error", "runner died"), st)


SLOW = "SELECT count(*) FROM generate_series(1, 400000000)"


def test_sigkill_mid_run():
    j = add_job(M, DS, "killed", SLOW, timeout_ms=60000)
    p = subprocess.Popen([bin_path("pgsched-runner")], env=runner_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    running = wait_for(lambda: one(M, "SELECT count(*) FROM query_run WHERE"
                                   " query_id = %s AND status = 'running'",
                                   (j,)), 20)
    check("run started", running == 1)
    time.sleep(0.5)
    p.kill()
    p.wait()
    time.sleep(0.5)
    st = one(M, "SELECT status FROM query_run WHERE query_id = %s", (j,))
    check("still running after SIGKILL", st == "running", st)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))
    tick()
    st = q(M, "SELECT status, error_message FROM query_run WHERE"
           " query_id = %s", (j,))
    check("next tick marks runner died", st == [("error", "runner died")], st)


def test_sigterm_mid_run():
    j = add_job(M, DS, "stopped", SLOW, timeout_ms=60000)
    p = subprocess.Popen([bin_path("pgsched-runner")], env=runner_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: one(M, "SELECT count(*) FROM query_run WHERE"
                         " query_id = %s AND status = 'running'", (j,)), 20)
    time.sleep(0.5)
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    check("runner stops promptly", time.time() - t0 < 10)
    st = q(M, "SELECT status, error_message FROM query_run WHERE"
           " query_id = %s", (j,))
    check("run marked runner stopped", st == [("error", "runner stopped")],
          st)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_faults_isolated():
    down = add_source(M, SK, "down", port=1)
    nohost = add_source(M, SK, "nohost", host="no-such-host.invalid")
    s = source()
    q(s, "DROP ROLE IF EXISTS pwuser")
    q(s, "CREATE ROLE pwuser LOGIN PASSWORD 'right'")
    q(s, "GRANT SELECT ON t TO pwuser")
    hba = one(s, "SHOW hba_file")
    with open(hba) as f:
        old = f.read()
    with open(hba, "w") as f:
        f.write("host all pwuser 127.0.0.1/32 scram-sha-256\n" + old)
    q(s, "SELECT pg_reload_conf()")
    wrong = add_source(M, SK, "wrongpw", user="pwuser", password="wrong")
    right = add_source(M, SK, "rightpw", user="pwuser", password="right")
    jobs = {
        "down": add_job(M, down, "f_down", "SELECT 1"),
        "nohost": add_job(M, nohost, "f_nohost", "SELECT 1"),
        "wrongpw": add_job(M, wrong, "f_wrongpw", "SELECT 1"),
        "timeout": add_job(M, DS, "f_timeout", SLOW, timeout_ms=300),
        "halfway": add_job(M, DS, "f_halfway", "SELECT 1 / (500 - x) FROM"
                           " generate_series(1, 1000) x"),
        "ok": add_job(M, right, "f_ok", "SELECT count(*) FROM t"),
    }
    tick()
    res = {k: runs_of(M, v) for k, v in jobs.items()}
    for k in ("down", "nohost", "wrongpw", "timeout", "halfway"):
        check("fault %s is an error run" % k, len(res[k]) == 1 and
              res[k][0][1] == "error" and res[k][0][2], res[k])
    check("refused message", "source connection failed" in
          (res["down"][0][2] or ""), res["down"])
    check("password message", "password" in (res["wrongpw"][0][2] or ""),
          res["wrongpw"])
    check("password not leaked", "wrong" not in
          (res["wrongpw"][0][2] or "").replace("wrongpw", ""), res["wrongpw"])
    check("timeout message", "timed out after 300 ms" in
          (res["timeout"][0][2] or ""), res["timeout"])
    check("half-way message", "division by zero" in
          (res["halfway"][0][2] or ""), res["halfway"])
    check("other job of the tick succeeds", res["ok"] and
          res["ok"][0][1] == "success", res["ok"])
    # --query connects to the source while it queues the run
    # (job_preconnect): the same outcomes on that path.
    want = {"down": "source connection failed", "nohost":
            "source connection failed", "wrongpw": "password", "ok": None}
    for k, msg in want.items():
        r = runner("--query", str(jobs[k]))
        last = runs_of(M, jobs[k])[-1]
        check("--query %s exits 0" % k, r.returncode == 0, r.stderr)
        if msg is None:
            check("--query ok succeeds", last[1] == "success", last)
        else:
            check("--query %s: error run naming the cause" % k,
                  last[1] == "error" and msg in (last[2] or ""), last)
    with open(hba, "w") as f:
        f.write(old)
    q(s, "SELECT pg_reload_conf()")
    for v in jobs.values():
        q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (v,))


def test_writes_never_change_source():
    s = source()
    before = one(s, "SELECT count(*) FROM t")
    seq_before = one(s, "SELECT last_value FROM seq")
    bad = ["INSERT INTO t VALUES (1)", "DELETE FROM t",
           "UPDATE t SET id = 2", "CREATE TABLE x (a int)",
           "DROP TABLE t", "WITH d AS (DELETE FROM t RETURNING *)"
           " SELECT * FROM d", "SELECT * INTO y FROM t",
           "SELECT nextval('seq')", "SELECT 1; DELETE FROM t",
           "COPY t FROM PROGRAM 'true'", "DO $$BEGIN DELETE FROM t; END$$",
           "CALL nothing()", "SELECT evil()",
           "SELECT set_config('default_transaction_read_only', 'off',"
           " false)"]
    jobs = [add_job(M, DS, "w%d" % i, sql) for i, sql in enumerate(bad)]
    tick()
    for j, sql in zip(jobs, bad):
        r = runs_of(M, j)
        check("write attempt is an error: " + sql, len(r) == 1 and
              r[0][1] == "error", r)
    check("evil() stopped by READ ONLY", "read-only" in
          (runs_of(M, jobs[bad.index("SELECT evil()")])[0][2] or ""))
    check("source unchanged", one(s, "SELECT count(*) FROM t") == before)
    check("sequence unchanged",
          one(s, "SELECT last_value FROM seq") == seq_before)
    check("table x not created",
          one(s, "SELECT to_regclass('x') IS NULL AND"
              " to_regclass('y') IS NULL"))
    for j in jobs:
        q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_truncation():
    j = add_job(M, DS, "trunc", "SELECT x FROM generate_series(1, 100000) x",
                max_rows=5)
    tick()
    r = q(M, "SELECT r.status, r.rows_returned, b.truncated, b.row_count,"
          " jsonb_array_length(b.df_json->'data') FROM query_run r JOIN"
          " query_run_blob b ON b.run_id = r.id WHERE r.query_id = %s", (j,))
    check("truncated at max_rows", r == [("success", 5, True, 5, 5)], r)
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_retry_and_pause():
    j = add_job(M, DS, "retry", "SELECT 1 / 0", max_retries=1,
                retry_delay_s=1, pause_after_failures=2)
    tick()
    r = q(M, "SELECT status, triggered_by, attempt FROM query_run WHERE"
          " query_id = %s ORDER BY id", (j,))
    check("retry queued", r == [("error", "schedule", 0),
                                ("queued", "retry", 1)], r)
    time.sleep(1.2)
    tick()
    r = q(M, "SELECT status, triggered_by, attempt FROM query_run WHERE"
          " query_id = %s ORDER BY id", (j,))
    check("retry ran once, no third attempt", r == [
        ("error", "schedule", 0), ("error", "retry", 1)], r)
    st = q(M, "SELECT enabled, consecutive_failures, pause_reason FROM"
           " query_job WHERE id = %s", (j,))[0]
    check("auto-paused after 2 failures", st[0] is False and st[1] == 2 and
          "2 consecutive" in (st[2] or ""), st)


def test_manual_run():
    j = add_job(M, DS, "manual", "SELECT 42 AS answer", due=False)
    r = runner("--query", str(j))
    check("--query exits 0", r.returncode == 0, r.stderr)
    runs = q(M, "SELECT status, triggered_by, missed_slots FROM query_run"
             " WHERE query_id = %s", (j,))
    check("manual run recorded", runs == [("success", "manual", 0)], runs)
    rid = one(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
              " triggered_by, missed_slots) VALUES (%s, now(), 'queued',"
              " 'manual', 0) RETURNING id", (j,))
    r = runner("--run", str(rid))
    check("--run exits 0", r.returncode == 0, r.stderr)
    check("--run executed it", one(M, "SELECT status FROM query_run WHERE"
                                   " id = %s", (rid,)) == "success")
    r = runner("--run", "abc")
    check("--run abc is a usage error", r.returncode == 64, r.returncode)


def test_retention():
    j = add_job(M, DS, "retain", "SELECT 1", due=False, keep_runs=2)
    for i in range(5):
        q(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
          " run_started_at, run_finished_at) VALUES (%s, now() -"
          " make_interval(mins => %s), %s, now(), now())",
          (j, 10 - i, "success" if i == 0 else "error"))
    old = add_job(M, DS, "old", "SELECT 1", due=False, keep_days=1)
    q(M, "INSERT INTO query_run (query_id, scheduled_at, status, queued_at)"
      " VALUES (%s, now() - interval '3 days', 'success', now() -"
      " interval '3 days'), (%s, now() - interval '2 days', 'error', now()"
      " - interval '2 days')", (old, old))
    tick()
    r = q(M, "SELECT status FROM query_run WHERE query_id = %s ORDER BY id",
          (j,))
    check("keep_runs=2 plus the latest success", r == [
        ("success",), ("error",), ("error",)], r)
    r = q(M, "SELECT status FROM query_run WHERE query_id = %s", (old,))
    check("keep_days prunes old runs but keeps the latest success",
          r == [("success",)], r)


def test_dry_run():
    j = add_job(M, DS, "preview", "SELECT 1")
    r = runner("--dry-run")
    check("dry-run lists the due job", "preview: due" in r.stdout, r.stdout)
    check("dry-run changes nothing", runs_of(M, j) == [])
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def test_four_runners_exactly_once():
    # Each tick's slot is set here, never computed from the clock: a daily
    # interval anchored in the past, one hour later for each tick, with
    # next_run_at on the anchor.  Whenever a tick runs (the next slot is a
    # day away), the slot due is the anchor itself, so the three ticks
    # have three distinct slots, however the minutes and seconds fall.
    for i in range(200):
        add_job(M, DS, "many%d" % i, "SELECT %d" % i, expr="P1D", due=False)
    base = one(M, "SELECT date_trunc('second', now()) - interval '12 hours'")
    ticks = 3
    for t in range(ticks):
        q(M, "UPDATE query_job SET start_at = %s + make_interval(hours => %s),"
          " next_run_at = %s + make_interval(hours => %s)"
          " WHERE name LIKE 'many%%'", (base, t, base, t))
        procs = [subprocess.Popen([bin_path("pgsched-runner")],
                                  env=runner_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(4)]
        for p in procs:
            p.wait(timeout=300)
    r = q(M, "SELECT count(*), count(DISTINCT (query_id, scheduled_at)),"
          " count(*) FILTER (WHERE status = 'success'),"
          " count(DISTINCT runner_pid) FROM query_run r JOIN query_job j"
          " ON j.id = r.query_id WHERE j.name LIKE 'many%'")[0]
    check("every (job, slot) exactly once", r[0] == 200 * ticks and
          r[1] == 200 * ticks, r)
    check("all succeeded", r[2] == 200 * ticks, r)
    check("work was shared", r[3] > 1, r)
    check("nothing left running", one(M, "SELECT count(*) FROM query_run"
                                      " WHERE status = 'running'") == 0)
    slots = q(M, "SELECT DISTINCT scheduled_at - %s FROM query_run r"
              " JOIN query_job j ON j.id = r.query_id WHERE j.name LIKE"
              " 'many%%' ORDER BY 1", (base,))
    check("the slots of the three ticks", [x[0].total_seconds() for x in
                                           slots] == [0, 3600, 7200], slots)


setup()
run_tests([test_basic_success, test_coalesce_missed_slots,
           test_overlap_skipped, test_held_job_not_skipped_by_own_tick,
           test_orphan_reaped, test_sigkill_mid_run,
           test_sigterm_mid_run, test_faults_isolated,
           test_writes_never_change_source, test_truncation,
           test_retry_and_pause, test_manual_run, test_retention,
           test_dry_run, test_four_runners_exactly_once])
