"""Helpers for pg-sched's Python integration tests.

Tests run under tests/lib/with-pg.sh, which starts a throwaway PostgreSQL
and exports PG_DSN_APP (metadata database, as its owner), the API and
runner roles' DSNs, PGSCHED_TEST_SOURCE_URI (a source database), key
paths, a pepper, and PGSCHED_BUILDDIR/SRCDIR.  pgsched-admin and meta()
connect as the owner; migrate() grants the two roles their privileges,
and runner() runs pgsched-runner as the runner role (CONTRACT §10).
Each check is counted; the script ends with "N passed, N failed".
"""
import base64
import os
import subprocess
import sys
import time
import traceback

import nacl.public
import psycopg2

BUILDDIR = os.environ.get("PGSCHED_BUILDDIR", os.getcwd())
# The first key of the runners' per-job advisory locks (CLAIM_LOCK_CLASS).
LOCK_CLASS = 1885823843
SRCDIR = os.environ.get("PGSCHED_SRCDIR", os.getcwd())
passed = 0
failed = 0


def check(name, cond, detail=""):
    """Counts one check; prints failures with detail."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail), flush=True)
    return cond


def run_tests(tests):
    """Runs each test function; an exception counts as one failure."""
    global failed
    for t in tests:
        print("--", t.__name__, flush=True)
        try:
            t()
        except Exception:
            failed += 1
            print("FAIL: %s raised" % t.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)


def bin_path(name):
    return os.path.join(BUILDDIR, name)


def run(args, input=None, timeout=120, env=None):
    """Runs a program; returns CompletedProcess with text output."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(args, input=input, capture_output=True, text=True,
                          timeout=timeout, env=e)


def admin(*args, **kw):
    return run([bin_path("pgsched-admin")] + list(args), **kw)


def runner_env(env=None):
    """The environment of a pgsched-runner the tests start: the runner
    role's DSN (when the harness made one), then env on top."""
    e = dict(os.environ)
    if os.environ.get("PGSCHED_TEST_RUNNER_DSN"):
        e["PG_DSN_APP"] = os.environ["PGSCHED_TEST_RUNNER_DSN"]
    e.update(env or {})
    return e


def runner(*args, env=None, **kw):
    return run([bin_path("pgsched-runner")] + list(args),
               env=runner_env(env), **kw)


def meta():
    c = psycopg2.connect(os.environ["PG_DSN_APP"])
    c.autocommit = True
    return c


def source():
    c = psycopg2.connect(os.environ["PGSCHED_TEST_SOURCE_URI"])
    c.autocommit = True
    return c


def q(conn, sql, args=None):
    """Runs sql; returns all rows (or None for a command)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def one(conn, sql, args=None):
    rows = q(conn, sql, args)
    return rows[0][0] if rows else None


def grant():
    """Gives the harness's API and runner roles their privileges (db
    grant), as the owner; nothing when there are no such roles."""
    api = os.environ.get("PGSCHED_TEST_API_ROLE")
    rnr = os.environ.get("PGSCHED_TEST_RUNNER_ROLE")
    if api and rnr:
        r = admin("db", "grant", "--api", api, "--runner", rnr)
        assert r.returncode == 0, r.stderr


def migrate():
    r = admin("db", "migrate")
    assert r.returncode == 0, r.stderr
    grant()


def make_keys():
    """Writes a key pair where the environment says; returns it."""
    sk = nacl.public.PrivateKey.generate()
    with open(os.environ["PUBLIC_KEY_B64_PATH"], "w") as f:
        f.write(base64.b64encode(bytes(sk.public_key)).decode() + "\n")
    fd = os.open(os.environ["APP_PRIVATE_KEY_B64_PATH"],
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(bytes(sk)).decode() + "\n")
    return sk


def seal(sk, password):
    return nacl.public.SealedBox(sk.public_key).encrypt(password.encode())


def source_port():
    return int(os.environ["PGPORT"])


def add_source(m, sk, name, host="127.0.0.1", port=None, dbname="source",
               user="postgres", password="unused"):
    return one(m, "INSERT INTO data_source (name, host, port, dbname,"
               " username, enc_password) VALUES (%s, %s, %s, %s, %s, %s)"
               " RETURNING id", (name, host, port or source_port(), dbname,
                                 user, seal(sk, password)))


def setup_db(source_name):
    """Migrates the metadata database, writes a key pair and adds a data
    source named source_name on the test cluster; returns (metadata
    connection, private key, data source id)."""
    migrate()
    sk = make_keys()
    m = meta()
    return m, sk, add_source(m, sk, source_name)


def add_job(m, ds, name, sql, stype="interval", expr="PT1M", tz="UTC",
            due=True, **extra):
    """Inserts a job directly (bypassing validation, as an old database
    might hold it); due jobs get next_run_at in the past."""
    cols = ["name", "sql_text", "data_source_id", "schedule_type",
            "schedule_expr", "timezone"]
    vals = [name, sql, ds, stype, expr, tz]
    for k, v in extra.items():
        cols.append(k)
        vals.append(v)
    jid = one(m, "INSERT INTO query_job (%s) VALUES (%s) RETURNING id" % (
        ", ".join(cols), ", ".join(["%s"] * len(vals))), vals)
    if due:
        q(m, "UPDATE query_job SET next_run_at = now() - interval '1 second'"
          " WHERE id = %s", (jid,))
    return jid


def runs_of(m, jid):
    return q(m, "SELECT id, status, error_message, triggered_by,"
             " missed_slots, rows_returned FROM query_run WHERE query_id = %s"
             " ORDER BY id", (jid,))


def wait_for(fn, timeout=30, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()
