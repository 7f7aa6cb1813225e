"""The bounds of a query's integer settings in the database are those of
src/query_rules.c, which both doors ask (tests/unit/query_rules_dump
prints its table).

- For every integer setting of the table, its bounds min and max are
  stored, and min - 1 and max + 1 are refused by the database (a CHECK
  constraint, or the integer column itself beyond 2147483647), so that
  the constraints of sql/ and the C table cannot drift apart.
- Migration 0008: a database at migration 0004 holding a keep_days beyond
  365000 (an older CLI wrote it) migrates to 365000, the row's version
  moving on; other rows keep theirs; the CHECK then refuses a bad INSERT.
Run: sh tests/lib/with-pg.sh tests/db/test_settings_bounds.py
"""
import os
import subprocess
import sys

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from pgtest import (SRCDIR, admin, check, meta, migrate, one,  # noqa: E402
                    q, run_tests)

DUMP = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."), "tests", "unit",
                    "query_rules_dump")
REFUSED = ("23514", "22003")  # check_violation, numeric_value_out_of_range
KEEP_DAYS_MAX = 365000


def int_settings():
    """(field, min, max) of every integer setting of the C table."""
    out = subprocess.run([DUMP], capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    return [(r[0], int(r[3]), int(r[4])) for r in rows if r[2] == "int"]


def attempt(conn, sql, args):
    """Runs sql in a transaction rolled back; None when it succeeded, else
    its SQLSTATE."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
        return None
    except psycopg2.Error as e:
        return e.pgcode or "?"
    finally:
        conn.rollback()


def test_checks_match_rules():
    migrate()
    m = meta()
    q(m, "INSERT INTO data_source (name, host, port, dbname, username)"
      " VALUES ('s', 'h', 5432, 'd', 'u')")
    jid = one(m, "INSERT INTO query_job (name, sql_text, data_source_id,"
              " schedule_type, schedule_expr, timezone) VALUES ('q',"
              " 'SELECT 1', 1, 'interval', 'PT1H', 'UTC') RETURNING id")
    settings = int_settings()
    check("the C table has the integer settings",
          {s[0] for s in settings} >= {"timeout_ms", "max_rows",
                                       "max_retries", "retry_delay_s",
                                       "pause_after_failures", "keep_runs",
                                       "keep_days"}, settings)
    c = psycopg2.connect(os.environ["PG_DSN_APP"])
    for field, lo, hi in settings:
        # field comes from the C table, a fixed set of column names.
        sql = "UPDATE query_job SET %s = %%s WHERE id = %%s" % field
        for v in (lo, hi):
            st = attempt(c, sql, (v, jid))
            check("%s = %d (a bound) is stored" % (field, v), st is None, st)
        for v in (lo - 1, hi + 1):
            st = attempt(c, sql, (v, jid))
            check("%s = %d (out of %d..%d) is refused" % (field, v, lo, hi),
                  st in REFUSED, st)
    c.close()


def psql_db(db, *args):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d",
                           db] + list(args), capture_output=True, text=True)


def test_migration_clamps_keep_days():
    r = psql_db("pgsched", "-c", "CREATE DATABASE mig4")
    check("database created", r.returncode == 0, r.stderr)
    files = ("0001-init", "0002-pgsched", "0003-notify", "0004-manual-runs")
    for f in files:
        r = psql_db("mig4", "-1", "-f",
                    os.path.join(SRCDIR, "sql", f + ".sql"))
        check("applied " + f, r.returncode == 0, r.stderr)
    sql = """
    CREATE TABLE schema_migrations (version text PRIMARY KEY,
        name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO schema_migrations (version, name) VALUES %s;
    INSERT INTO data_source (name, host, port, dbname, username)
        VALUES ('s', 'h', 5432, 'd', 'u');
    INSERT INTO query_job (name, sql_text, data_source_id, schedule_type,
        schedule_expr, timezone, keep_days) VALUES
        ('huge', 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', 2000000000),
        ('over', 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', 365001),
        ('edge', 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', 365000),
        ('short', 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', 30),
        ('unset', 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', NULL);
    """ % ", ".join("('%s', '%s')" % (f[:4], f) for f in files)
    r = psql_db("mig4", "-c", sql)
    check("a database at 0004 with out-of-bound keep_days", r.returncode == 0,
          r.stderr)
    dsn = os.environ["PG_DSN_APP"].rsplit("/", 1)[0] + "/mig4"
    r = admin("db", "migrate", env={"PG_DSN_APP": dsn})
    check("db migrate applies 0008", r.returncode == 0 and
          "applied 0008" in r.stdout, (r.stdout, r.stderr))
    c = psycopg2.connect(dsn)
    c.autocommit = True
    got = dict(((n, (k, v)) for n, k, v in q(
        c, "SELECT name, keep_days, version FROM query_job")))
    check("keep_days clamped to %d, in range kept" % KEEP_DAYS_MAX, got == {
        "huge": (KEEP_DAYS_MAX, 2), "over": (KEEP_DAYS_MAX, 2),
        "edge": (KEEP_DAYS_MAX, 1), "short": (30, 1), "unset": (None, 1)},
        got)
    ins = ("INSERT INTO query_job (name, sql_text, data_source_id,"
           " schedule_type, schedule_expr, timezone, keep_days) VALUES"
           " (%s, 'SELECT 1', 1, 'interval', 'PT1H', 'UTC', %s)")
    c.autocommit = False
    for bad in (KEEP_DAYS_MAX + 1, 2000000000, 0):
        st = attempt(c, ins, ("bad%d" % bad, bad))
        check("then the CHECK refuses keep_days %d" % bad, st == "23514", st)
    st = attempt(c, ins, ("good", KEEP_DAYS_MAX))
    check("and takes keep_days %d" % KEEP_DAYS_MAX, st is None, st)
    c.close()
    r = admin("db", "migrate", env={"PG_DSN_APP": dsn})
    check("a second db migrate applies nothing", r.returncode == 0 and
          "applied 0" not in r.stdout and "(0 migrations applied" in
          r.stdout, (r.stdout, r.stderr))


if __name__ == "__main__":
    run_tests([test_checks_match_rules, test_migration_clamps_keep_days])
