"""Faults around the runner (issue #6 item 5), against a real PostgreSQL.

- a source that drops the connection mid-result (its backend terminated
  while rows stream): an error run with a clear message, the other jobs of
  the tick succeed;
- a source database in SQL_ASCII holding invalid UTF-8 (values, a column
  name, an error message quoting the bytes): every run ends cleanly, what is
  stored is valid (jsonb accepted it, pandas reads it);
- wrong-key, corrupted, truncated and empty ciphertexts: "credential
  unavailable" error runs; no plaintext in query_run.error_message, in the
  runner's output or in any file under LOG_DIR;
- clock skew: two runners under faketime (-2h and +1d) against the same due
  jobs record exactly the slots a runner without skew records (time comes
  from the database);
- a runner whose metadata database is a standby (pg_basebackup -R) does
  nothing and says so (skipped, with a note, when a standby cannot be made);
- a worker that crashes (SIGSEGV): the run becomes "runner worker crashed
  (signal 11)", the per-job advisory lock is released while the runner
  lives on, and the next tick runs the job again.
"""
import glob
import gzip
import io
import os
import resource
import shutil
import signal
import subprocess
import time

import nacl.public
import pandas as pd
import psycopg2

from pgtest import (LOCK_CLASS, add_job, add_source, bin_path, check, one, q,
                    run_tests, runner, runner_env, runs_of, seal, setup_db,
                    source, source_port, wait_for)

M = None
SK = None
DS = None


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")


def disable(*jobs):
    for j in jobs:
        q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def popen_runner(*args, prefix=()):
    # Under the sanitizer build (make check), faketime's LD_PRELOAD must
    # not upset ASan's link-order check, and a SIGSEGV must kill the
    # worker as it would in production instead of ASan turning it into
    # exit 1.
    env = runner_env()
    env["ASAN_OPTIONS"] = ":".join(filter(None, [
        env.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0",
        "handle_segv=0"]))
    return subprocess.Popen(list(prefix) + [bin_path("pgsched-runner")] +
                            list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core, env=env)


def source_backend(jid):
    """pid of the source backend running job jid (application_name
    pgsched:<job>:<run>), or None."""
    s = source()
    pid = one(s, "SELECT pid FROM pg_stat_activity WHERE application_name"
              " LIKE %s AND state = 'active'", ("pgsched:%d:%%" % jid,))
    s.close()
    return pid


def test_connection_dropped_mid_result():
    stream = add_job(M, DS, "stream", "SELECT x, repeat('y', 2000) AS pad,"
                     " pg_sleep(0.01) FROM generate_series(1, 100000) x",
                     timeout_ms=120000, max_rows=1000000)
    others = [add_job(M, DS, "bystander%d" % i, "SELECT %d AS n" % i)
              for i in range(3)]
    p = popen_runner()
    pid = wait_for(lambda: source_backend(stream), 30)
    check("streaming query started", pid is not None)
    # Rows are flowing (the backend flushes every few 2 kB rows); then the
    # backend goes away as if the source restarted.
    time.sleep(1)
    s = source()
    check("backend terminated", one(s, "SELECT pg_terminate_backend(%s)",
                                    (pid,)) is True)
    s.close()
    out, err = p.communicate(timeout=60)
    check("tick exits 0", p.returncode == 0, err[-2000:])
    r = runs_of(M, stream)
    msg = r[0][2] if r else ""
    print("  dropped connection: %r" % (msg,))
    check("dropped connection is an error run", len(r) == 1 and
          r[0][1] == "error", r)
    check("clear message", any(w in (msg or "") for w in (
        "terminating connection", "server closed the connection",
        "connection to server")), msg)
    check("no partial result stored", one(
        M, "SELECT count(*) FROM query_run_blob b JOIN query_run r ON"
        " r.id = b.run_id WHERE r.query_id = %s", (stream,)) == 0)
    for j in others:
        r = runs_of(M, j)
        check("other job of the tick succeeds", len(r) == 1 and
              r[0][1] == "success", r)
    disable(stream, *others)


def ascii_conn():
    uri = os.environ["PGSCHED_TEST_SOURCE_URI"].rsplit("/", 1)[0] + "/ascii"
    c = psycopg2.connect(uri)
    c.autocommit = True
    # SQL_ASCII converts nothing: LATIN1 on our side writes raw bytes.
    c.set_client_encoding("LATIN1")
    return c


def test_sql_ascii_invalid_utf8():
    s = source()
    q(s, "CREATE DATABASE ascii ENCODING 'SQL_ASCII' TEMPLATE template0"
      " LC_COLLATE 'C' LC_CTYPE 'C'")
    s.close()
    a = ascii_conn()
    q(a, 'CREATE TABLE bad ("bad_\xff" text, ok text, j json)')
    # 'a\xffb', '\xfe\xff', and a valid UTF-8 'é' (bytes c3 a9).
    q(a, "INSERT INTO bad VALUES (%s, 'fine', %s), (%s, 'x', '{}'),"
      " (%s, 'y', '[1]')", ("a\xffb", '{"k": "\xff"}', "\xfe\xff",
                            "\xc3\xa9"))
    q(a, 'CREATE VIEW badint AS SELECT "bad_\xff" AS b, ok FROM bad')
    q(a, 'CREATE VIEW good_utf8 AS SELECT b AS "caf\xc3\xa9" FROM badint'
      " WHERE ok = 'y'")
    a.close()
    ds = add_source(M, SK, "ascii", dbname="ascii")
    jobs = {
        "rows": add_job(M, ds, "ascii_rows", "SELECT * FROM bad"),
        "json": add_job(M, ds, "ascii_json", "SELECT j FROM bad"),
        "error": add_job(M, ds, "ascii_error",
                         "SELECT b::int FROM badint"),
        "valid": add_job(M, ds, "ascii_valid", "SELECT * FROM good_utf8"),
    }
    r = runner()
    check("tick exits 0", r.returncode == 0, r.stderr[-2000:])
    for k, j in jobs.items():
        runs = q(M, "SELECT r.status, r.error_message, b.df_json::text"
                 " FROM query_run r LEFT JOIN query_run_blob b ON"
                 " b.run_id = r.id WHERE r.query_id = %s", (j,))
        check("%s: one run in a final state" % k, len(runs) == 1 and
              runs[0][0] in ("success", "error"), runs)
        if not runs:
            continue
        st, err, doc = runs[0]
        check("%s: not a worker crash" % k, "runner worker" not in
              (err or ""), err)
        if st == "success":
            try:
                df = pd.read_json(io.StringIO(doc), orient="table")
                check("%s: pandas reads it" % k, len(df) >= 1, doc)
            except Exception as e:  # pylint: disable=broad-except
                check("%s: pandas reads it" % k, False, repr(e))
    runs = {k: q(M, "SELECT r.status, r.error_message, b.df_json FROM"
                 " query_run r LEFT JOIN query_run_blob b ON b.run_id ="
                 " r.id WHERE r.query_id = %s", (j,)) for k, j in
            jobs.items()}
    for k, v in sorted(runs.items()):
        print("  %s: %s %r" % (k, v[0][0] if v else None,
                               v[0][1] if v else None))
    # A SQL_ASCII server validates what it sends to a UTF8 client: rows
    # with bytes that are not UTF-8 are a clean source error, valid UTF-8
    # stored in SQL_ASCII comes through.
    for k in ("rows", "json", "error"):
        v = runs[k]
        check("%s: invalid bytes give a clean error run" % k, v and
              v[0][0] == "error" and "invalid byte sequence" in
              (v[0][1] or ""), v)
    v = runs["valid"]
    doc = v[0][2] if v else None
    check("valid UTF-8 in SQL_ASCII: success", v and v[0][0] == "success",
          v)
    check("valid UTF-8 in SQL_ASCII: name and value exact", doc and
          doc["data"] == [{"index": 0, "caf\u00e9": "\u00e9"}], doc)
    disable(*jobs.values())


def log_bytes():
    """Every byte under LOG_DIR (gzip files decompressed too)."""
    data = b""
    for path in glob.glob(os.path.join(os.environ["LOG_DIR"], "**"),
                          recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            raw = f.read()
        data += raw
        if path.endswith(".gz"):
            data += gzip.decompress(raw)
    return data


def test_bad_ciphertexts():
    secret = "Pl41ntext-never-logged-%d"
    other = nacl.public.PrivateKey.generate()
    good = bytes(seal(SK, secret % 0))
    flipped = bytearray(seal(SK, secret % 1))
    flipped[-3] ^= 0x01
    variants = {
        "wrong key": bytes(nacl.public.SealedBox(other.public_key).encrypt(
            (secret % 2).encode())),
        "corrupted": bytes(flipped),
        "truncated": bytes(seal(SK, secret % 3))[:20],
        "empty": b"",
        "garbage": b"\x00" * 64,
    }
    jobs = {}
    for k, ct in variants.items():
        ds = one(M, "INSERT INTO data_source (name, host, port, dbname,"
                 " username, enc_password) VALUES (%s, '127.0.0.1', %s,"
                 " 'source', 'postgres', %s) RETURNING id",
                 ("ct " + k, source_port(), ct))
        jobs[k] = add_job(M, ds, "ct_" + k, "SELECT 1")
    # Trust authentication ignores the password: this one succeeds.
    ds = one(M, "INSERT INTO data_source (name, host, port, dbname,"
             " username, enc_password) VALUES ('ct good', '127.0.0.1', %s,"
             " 'source', 'postgres', %s) RETURNING id", (source_port(), good))
    jobs["good"] = add_job(M, ds, "ct_good", "SELECT 1")
    r = runner()
    check("tick exits 0", r.returncode == 0, r.stderr[-2000:])
    for k, j in jobs.items():
        runs = runs_of(M, j)
        if k == "good":
            check("good ciphertext runs", len(runs) == 1 and
                  runs[0][1] == "success", runs)
            continue
        check("%s: credential unavailable" % k, len(runs) == 1 and
              runs[0][1] == "error" and "credential unavailable" in
              (runs[0][2] or ""), runs)
    errors = "\n".join(e or "" for (e,) in q(
        M, "SELECT error_message FROM query_run"))
    logs = log_bytes()
    check("the runner wrote logs", len(logs) > 0)
    for i in range(4):
        p = secret % i
        check("plaintext %d not in error messages" % i, p not in errors)
        check("plaintext %d not in LOG_DIR" % i, p.encode() not in logs)
        check("plaintext %d not in runner output" % i, p not in
              r.stdout + r.stderr)
    disable(*jobs.values())


def skew_jobs(n):
    ids = [add_job(M, DS, "skew%d" % i, "SELECT %d" % i, expr="P1D",
                   due=False) for i in range(n)]
    return ids


def skew_reset(ids):
    """Anchor 3.5 days back (next boundary 12 h away: a real clock cannot
    move a slot during the test), due since 2.5 days (3 slots missed)."""
    q(M, "DELETE FROM query_run WHERE query_id = ANY(%s)", (ids,))
    q(M, "UPDATE query_job SET enabled = true, start_at ="
      " date_trunc('second', now()) - interval '3 days 12 hours',"
      " next_run_at = date_trunc('second', now()) - interval '2 days"
      " 12 hours' WHERE id = ANY(%s) AND start_at IS NULL", (ids,))
    q(M, "UPDATE query_job SET enabled = true, next_run_at = start_at +"
      " interval '1 day' WHERE id = ANY(%s)", (ids,))


def skew_state(ids):
    runs = q(M, "SELECT j.name, r.scheduled_at, r.missed_slots, r.status,"
             " j.next_run_at FROM query_run r JOIN query_job j ON j.id ="
             " r.query_id WHERE j.id = ANY(%s) ORDER BY j.name, r.id", (ids,))
    return runs


def test_clock_skew():
    if shutil.which("faketime") is None:
        print("clock skew: skipped (faketime is not installed)")
        return
    ids = skew_jobs(12)
    skew_reset(ids)
    r = runner()
    check("baseline tick exits 0", r.returncode == 0, r.stderr[-2000:])
    base = skew_state(ids)
    check("baseline: one run per job, 3 slots coalesced", len(base) == 12 and
          all(x[2] == 3 and x[3] == "success" for x in base), base)
    fake = subprocess.run(["faketime", "-f", "+1d", "/usr/bin/python3", "-c",
                           "import time; print(time.time())"],
                          capture_output=True, text=True, check=False)
    check("faketime moves the host clock", fake.returncode == 0 and
          float(fake.stdout) - time.time() > 80000, fake.stdout)
    skew_reset(ids)
    procs = [popen_runner(prefix=("faketime", "-f", off))
             for off in ("-2h", "+1d")]
    outs = [p.communicate(timeout=120) for p in procs]
    check("skewed runners exit 0", all(p.returncode == 0 for p in procs),
          [o[1][-500:] for o in outs])
    skewed = skew_state(ids)
    check("skewed runners record the same slots and next runs",
          skewed == base, (base[:2], skewed[:2]))
    pids = one(M, "SELECT count(DISTINCT runner_pid) FROM query_run WHERE"
               " query_id = ANY(%s)", (ids,))
    print("skewed runs were shared by %s runner(s)" % pids)
    disable(*ids)


def pg_bin(name):
    return sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))[-1]


def as_pg_user(args):
    if os.getuid() != 0:
        return args
    user = os.environ.get("PGSCHED_PG_USER", "nobody")
    return ["setpriv", "--reuid=" + user, "--regid=" +
            subprocess.run(["id", "-g", user], capture_output=True,
                           text=True, check=True).stdout.strip(),
            "--clear-groups", "--"] + args


def make_standby(d):
    """Starts a standby of the test cluster in d/data (d holds its log and
    socket); returns its port or None with the reason printed."""
    os.makedirs(d)
    if os.getuid() == 0:
        user = os.environ.get("PGSCHED_PG_USER", "nobody")
        subprocess.run(["chown", user, d], check=True)
    os.chmod(d, 0o755)
    sock = d
    d = os.path.join(d, "data")
    b = subprocess.run(as_pg_user([pg_bin("pg_basebackup"), "-h",
                                   "127.0.0.1", "-p", str(source_port()),
                                   "-U", "postgres", "-D", d, "-R", "-X",
                                   "stream", "-c", "fast"]),
                       capture_output=True, text=True, timeout=60,
                       check=False)
    if b.returncode != 0:
        print("standby: pg_basebackup failed: " + b.stderr.strip())
        return None
    port = str(free_port())
    st = subprocess.run(as_pg_user([
        pg_bin("pg_ctl"), "-D", d, "-l", d + ".log", "-w", "-o",
        "-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=300"
        " -c fsync=off" % (port, sock),
        "start"]), capture_output=True, text=True, timeout=60, check=False)
    if st.returncode != 0:
        try:
            with open(d + ".log") as f:
                tail = f.read()[-600:]
        except OSError:
            tail = ""
        print("standby: start failed: " + st.stderr.strip() + " " + tail)
        return None
    return port


def test_standby_does_nothing():
    d = os.path.join(os.environ.get("PGSCHED_TEST_TMP", "/tmp"), "standby")
    j = add_job(M, DS, "on_standby", "SELECT 1")
    before = one(M, "SELECT count(*) FROM query_run")
    port = None
    try:
        port = make_standby(d)
        if port is None:
            print("standby: skipped (see above)")
            disable(j)
            return
        dsn = "postgresql://%s@127.0.0.1:%s/pgsched" % (
            os.environ.get("PGSCHED_TEST_RUNNER_ROLE", "postgres"), port)
        sb = wait_for(lambda: standby_ready(dsn), 30)
        check("standby is in recovery", sb)
        r = runner(env={"PG_DSN_APP": dsn})
        check("runner on a standby exits 0", r.returncode == 0, r.stderr)
        check("and says so", "standby" in r.stderr, r.stderr)
        check("no run recorded", one(M, "SELECT count(*) FROM query_run") ==
              before)
        check("the job is still due", one(M, "SELECT next_run_at < now()"
                                          " FROM query_job WHERE id = %s",
                                          (j,)))
    finally:
        if port is not None:
            subprocess.run(as_pg_user([pg_bin("pg_ctl"), "-D",
                                       os.path.join(d, "data"), "-m",
                                       "immediate", "stop"]),
                           capture_output=True, timeout=60, check=False)
        disable(j)


def free_port():
    import socket  # pylint: disable=C0415
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def standby_ready(dsn):
    try:
        c = psycopg2.connect(dsn)
    except psycopg2.Error:
        return False
    try:
        with c.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            return cur.fetchone()[0]
    finally:
        c.close()


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def lock_held(jid):
    return one(M, "SELECT count(*) FROM pg_locks WHERE locktype ="
               " 'advisory' AND classid = %s AND objid = %s AND objsubid = 2"
               " AND granted", (LOCK_CLASS, jid)) > 0


def test_worker_crash_releases_lock():
    s = source()
    q(s, "CREATE TABLE crashctl (s float8)")
    q(s, "INSERT INTO crashctl VALUES (60)")
    s.close()
    sql = "SELECT pg_sleep((SELECT s FROM crashctl)) AS slept, 1 AS one"
    j = add_job(M, DS, "crash", sql, timeout_ms=90000)
    # A second job, blocked on a table lock this test holds, keeps the
    # runner alive after the crash (up to its lock_timeout of 10 s).
    s = source()
    q(s, "CREATE TABLE keepctl (a int)")
    s.close()
    holder = source()
    holder.autocommit = False
    q(holder, "LOCK TABLE keepctl IN ACCESS EXCLUSIVE MODE")
    keep = add_job(M, DS, "keepalive", "SELECT count(*) FROM keepctl",
                   timeout_ms=90000)
    p = popen_runner("--concurrency", "2")
    check("crash job's backend active", wait_for(lambda: source_backend(j),
                                                  30) is not None)
    check("keepalive backend active", wait_for(lambda: source_backend(keep),
                                                30) is not None)
    rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
    check("runner_pid is the runner", one(M, "SELECT runner_pid FROM"
                                          " query_run WHERE id = %s",
                                          (rid,)) == p.pid)
    # The worker running the crash job: the child whose source session
    # carries the job id is the one with the source backend's client port.
    worker = find_worker(p.pid, j)
    check("worker found among the runner's children", worker is not None,
          children(p.pid))
    if worker is not None:
        os.kill(worker, signal.SIGSEGV)
    released = wait_for(lambda: not lock_held(j), 30)
    check("job lock released while the runner lives on", released and
          p.poll() is None, (released, p.poll()))
    holder.rollback()
    holder.close()
    out, err = p.communicate(timeout=60)
    check("tick exits 0", p.returncode == 0, err[-2000:])
    st = q(M, "SELECT status, error_message FROM query_run WHERE id = %s",
           (rid,))
    check("run recorded as a crash", st == [
        ("error", "runner worker crashed (signal 11)")], st)
    check("keepalive job unaffected", runs_of(M, keep) and
          runs_of(M, keep)[0][1] == "success", runs_of(M, keep))
    s = source()
    q(s, "UPDATE crashctl SET s = 0")
    s.close()
    # A slot (whole seconds) runs once: the crashed run holds its slot, so
    # the job's next due time must fall in a later second than that one.
    wait_for(lambda: one(M, "SELECT floor(extract(epoch FROM now()"
                         " - interval '1 second')) > floor(extract(epoch"
                         " FROM scheduled_at)) FROM query_run WHERE id = %s",
                         (rid,)), 5)
    q(M, "UPDATE query_job SET next_run_at = now() - interval '1 second'"
      " WHERE id = %s", (j,))
    r = runner()
    check("next tick exits 0", r.returncode == 0, r.stderr[-2000:])
    st = [x[1] for x in runs_of(M, j)]
    check("next tick runs the job again", st == ["error", "success"], st)
    disable(j, keep)


def find_worker(runner_pid, jid):
    """The runner's child connected to the source backend of job jid."""
    def attempt():
        pid = source_backend(jid)
        if pid is None:
            return None
        s = source()
        port = one(s, "SELECT client_port FROM pg_stat_activity WHERE"
                   " pid = %s", (pid,))
        s.close()
        for child in children(runner_pid):
            if port is not None and owns_port(child, port):
                return child
        return None
    return wait_for(attempt, 20)


def owns_port(pid, port):
    """Whether process pid has a TCP socket bound to local port."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return False
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].split(":")[1], 16) == port and \
                            cols[9] in inodes:
                        return True
        except OSError:
            continue
    return False


setup()
run_tests([test_connection_dropped_mid_result, test_sql_ascii_invalid_utf8,
           test_bad_ciphertexts, test_clock_skew, test_standby_does_nothing,
           test_worker_crash_releases_lock])
