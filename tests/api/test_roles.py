"""Least privilege in the metadata database (CONTRACT §10, seed 004).

The harness runs the pool as the API role and its runners as the runner
role (pgsched-admin db grant, with-api.sh).  Here each role's own
connection is refused what it must never do (SQLSTATE 42501) and allowed
what it needs; the pool's sessions are the API role's; a manual run is
recorded by the runner role; `db grant` fails with one clear line and a
sysexits code; it is idempotent, equal to `psql -f sql/roles.sql`, moves
grants off replaced roles, and `db migrate` applies it again.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_roles.py
"""
import glob
import os
import re
import subprocess
import sys

import psycopg2
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (URL, add_source, check, finish, psql,  # noqa: E402
                     session, wait_for)

API = os.environ["PGSCHED_TEST_API_ROLE"]
RUNNER = os.environ["PGSCHED_TEST_RUNNER_ROLE"]
ADMIN = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                     "pgsched-admin")
ROLES_SQL = os.path.join(os.environ.get("PGSCHED_SRCDIR", "."), "sql",
                         "roles.sql")
DENIED = "42501"

# Every privilege on pg-sched's tables, columns and sequences, and the
# policies of query_run: what a grant changes (in any order).
SNAPSHOT = (
    "SELECT string_agg(x, ' ' ORDER BY x) FROM ("
    " SELECT c.relname || '=' || i::text AS x"
    "  FROM pg_class c CROSS JOIN unnest(c.relacl) i"
    "  WHERE c.relnamespace = 'public'::regnamespace"
    "  AND c.relkind IN ('r', 'S')"
    " UNION ALL SELECT c.relname || '.' || a.attname || '=' || i::text"
    "  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    "  CROSS JOIN unnest(a.attacl) i"
    "  WHERE c.relnamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'policy ' || policyname || ' ' || cmd || ' ' ||"
    "  roles::text || ' ' || coalesce(with_check, '') FROM pg_policies"
    "  WHERE tablename = 'query_run') s")


def connect(dsn):
    c = psycopg2.connect(dsn)
    c.autocommit = False
    return c


def attempt(conn, sql, args=None):
    """Runs sql in a transaction that is rolled back; returns None when
    it succeeded, else its SQLSTATE."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
        return None
    except psycopg2.Error as e:
        return e.pgcode or "?"
    finally:
        conn.rollback()


def admin(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([ADMIN] + list(args), capture_output=True,
                          text=True, env=e, timeout=60)


def grant(api=API, runner=RUNNER, env=None):
    return admin("db", "grant", "--api", api, "--runner", runner, env=env)


def one_line_error(r, code, text):
    """A failure: exit code, one stderr line holding text, no stdout."""
    lines = r.stderr.splitlines()
    return (r.returncode == code and len(lines) == 1 and text in lines[0]
            and lines[0].startswith("pgsched-admin: ") and r.stdout == "")


def setup_rows():
    """A data source and a query made through the API (as the API role),
    then a finished run and its result written as the runner would;
    returns (query id, run id)."""
    dsid = add_source(session("admin"), "roles_src")
    r = session("editor").post(URL + "/api/admin/queries", json={
        "name": "roles_q", "title": "Roles", "sql_text": "SELECT 1 AS one",
        "data_source_id": dsid, "schedule_type": "interval",
        "schedule_expr": "PT6H"})
    check("query created through the API", r.status_code == 201, r.text)
    qid = r.json()["query"]["id"]
    rid = psql("INSERT INTO query_run (query_id, scheduled_at, status,"
               " rows_returned) VALUES (%d, now(), 'success', 1)"
               " RETURNING id" % qid)
    psql("INSERT INTO query_run_blob (run_id, df_json, row_count, byte_size)"
         " VALUES (%s, '{\"data\": [1]}', 1, 13)" % rid)
    return int(qid), int(rid)


def test_api_role(qid, rid):
    c = connect(os.environ["PGSCHED_TEST_API_DSN"])
    for name, sql in [
            ("UPDATE query_run",
             "UPDATE query_run SET status = 'error' WHERE id = %d" % rid),
            ("UPDATE query_run (one column)",
             "UPDATE query_run SET error_message = 'x' WHERE id = %d" % rid),
            ("DELETE FROM query_run", "DELETE FROM query_run"),
            ("TRUNCATE query_run", "TRUNCATE query_run CASCADE"),
            ("DELETE FROM query_run_blob", "DELETE FROM query_run_blob"),
            ("UPDATE query_run_blob",
             "UPDATE query_run_blob SET df_json = '{}'"),
            ("INSERT INTO query_run_blob",
             "INSERT INTO query_run_blob (run_id, df_json) VALUES (%d, '{}')"
             % rid),
            ("SELECT schema_migrations", "SELECT * FROM schema_migrations"),
            ("INSERT INTO schema_migrations",
             "INSERT INTO schema_migrations (version, name)"
             " VALUES ('9999', '9999-x')"),
            ("UPDATE schema_migrations",
             "UPDATE schema_migrations SET version = version"),
            ("DELETE FROM schema_migrations", "DELETE FROM schema_migrations"),
            ("UPDATE schema_roles",
             "UPDATE schema_roles SET role_name = current_user"),
            # A run the API did not queue: a fabricated success, or a
            # queued run with a column of the runner's.
            ("INSERT a finished run",
             "INSERT INTO query_run (query_id, scheduled_at, status,"
             " triggered_by) VALUES (%d, now(), 'success', 'manual')" % qid),
            ("INSERT a scheduled run",
             "INSERT INTO query_run (query_id, scheduled_at, status,"
             " triggered_by) VALUES (%d, now(), 'queued', 'schedule')" % qid),
            ("INSERT a run with its start",
             "INSERT INTO query_run (query_id, status, triggered_by,"
             " run_started_at) VALUES (%d, 'queued', 'manual', now())" % qid),
            ("UPDATE the statistics",
             "UPDATE query_job SET total_runs = 0, successful_runs = 0"),
            ("turn row security off",
             "ALTER TABLE query_run DISABLE ROW LEVEL SECURITY"),
            ("drop a policy", "DROP POLICY pgsched_api_queue ON query_run")]:
        got = attempt(c, sql)
        check("API role refused %s" % name, got == DENIED, got)
    # What the pool needs, on the same connection (so the refusals above
    # are not those of a role that can do nothing).
    for name, sql in [
            ("reads runs and results",
             "SELECT r.id, b.df_json FROM query_run r"
             " JOIN query_run_blob b ON b.run_id = r.id"),
            ("queues a manual run",
             "INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
             " status, triggered_by, triggered_by_user, missed_slots)"
             " SELECT id, now(), timezone, 'queued', 'manual', NULL, 0"
             " FROM query_job WHERE id = %d RETURNING id" % qid),
            ("edits a query", "UPDATE query_job SET title = 't',"
             " version = version + 1, next_run_at = now() WHERE id = %d"
             % qid),
            ("deletes a query with its runs",
             "DELETE FROM query_job WHERE id = %d" % qid),
            ("manages sessions",
             "UPDATE user_session SET is_revoked = true WHERE false")]:
        got = attempt(c, sql)
        check("API role %s" % name, got is None, got)
    c.close()


def test_runner_role(qid, rid):
    c = connect(os.environ["PGSCHED_TEST_RUNNER_DSN"])
    for name, sql in [
            ("SELECT user_account", "SELECT * FROM user_account"),
            ("UPDATE user_account",
             "UPDATE user_account SET password_hash = 'x'"),
            ("INSERT INTO user_role",
             "INSERT INTO user_role (user_id, role) SELECT 1, 'admin'"),
            ("SELECT user_session", "SELECT * FROM user_session"),
            ("DELETE FROM user_session", "DELETE FROM user_session"),
            ("UPDATE user_session",
             "UPDATE user_session SET expires_at = now() + interval '1y'"),
            ("SELECT login_failure", "SELECT * FROM login_failure"),
            ("UPDATE data_source",
             "UPDATE data_source SET enc_password = NULL"),
            ("INSERT INTO data_source",
             "INSERT INTO data_source (name, host, dbname, username)"
             " VALUES ('x', 'h', 'd', 'u')"),
            ("UPDATE a query's SQL", "UPDATE query_job SET sql_text = 'x'"),
            ("DELETE FROM query_job", "DELETE FROM query_job"),
            ("INSERT INTO query_job",
             "INSERT INTO query_job (name, sql_text, data_source_id,"
             " schedule_type) SELECT 'x', 'SELECT 1', id, 'interval'"
             " FROM data_source"),
            ("UPDATE query_run_blob",
             "UPDATE query_run_blob SET df_json = '{}'"),
            ("INSERT INTO schema_migrations",
             "INSERT INTO schema_migrations (version, name)"
             " VALUES ('9999', '9999-x')"),
            ("SELECT schema_roles", "SELECT * FROM schema_roles")]:
        got = attempt(c, sql)
        check("runner role refused %s" % name, got == DENIED, got)
    for name, sql in [
            ("records a run", "UPDATE query_run SET status = 'error',"
             " error_message = 'x' WHERE id = %d" % rid),
            ("moves a job and its statistics",
             "UPDATE query_job SET next_run_at = now(), total_runs = 1"
             " WHERE id = %d" % qid),
            ("starts a run and stores its result",
             "WITH r AS (INSERT INTO query_run (query_id, status)"
             " VALUES (%d, 'running') RETURNING id)"
             " INSERT INTO query_run_blob (run_id, df_json)"
             " SELECT id, '{}' FROM r" % qid),
            ("prunes runs", "DELETE FROM query_run WHERE id = %d" % rid),
            ("reads its sources", "SELECT enc_password FROM data_source"),
            ("reads the schema version", "SELECT * FROM schema_migrations")]:
        got = attempt(c, sql)
        check("runner role %s" % name, got is None, got)
    c.close()


def test_pool_is_the_api_role():
    r = requests.get(URL + "/healthz")
    check("healthz", r.status_code == 200, r.text)
    users = psql("SELECT string_agg(DISTINCT usename::text, ',')"
                 " FROM pg_stat_activity"
                 " WHERE application_name = 'pgsched-fcgi'")
    check("the pool's sessions are the API role's", users == API, users)


def test_manual_run(qid):
    ed = session("editor")
    r = ed.post(URL + "/api/admin/queries/%d/run" % qid, json={})
    check("manual run queued", r.status_code == 202, r.text)
    if r.status_code != 202:
        return
    rid = r.json()["run_id"]
    st = wait_for(lambda: psql("SELECT status FROM query_run WHERE id = %d"
                               % rid) in ("success", "error") and
                  psql("SELECT status || ' ' || coalesce(runner_host, '-')"
                       " FROM query_run WHERE id = %d" % rid), 30)
    check("manual run recorded by the runner role",
          st is not None and st.startswith("success "), st)


def test_grant_errors():
    r = grant(api="no_such_role")
    check("unknown role: 67, one line",
          one_line_error(r, 67, 'role "no_such_role" does not exist'),
          (r.returncode, r.stderr))
    r = grant(runner="no_such_runner")
    check("unknown runner role: 67",
          one_line_error(r, 67, 'role "no_such_runner" does not exist'),
          (r.returncode, r.stderr))
    r = grant(api="postgres")
    check("superuser: 65", one_line_error(r, 65, "superuser"),
          (r.returncode, r.stderr))
    r = grant(api=RUNNER)
    check("the same role twice: 65",
          one_line_error(r, 65, "neither a member of the other"),
          (r.returncode, r.stderr))
    psql("CREATE ROLE roles_member IN ROLE %s; CREATE ROLE roles_sub"
         " IN ROLE postgres; CREATE ROLE roles_bypass BYPASSRLS;"
         " CREATE ROLE roles_writer; GRANT UPDATE ON query_run"
         " TO roles_writer; CREATE ROLE roles_api2 IN ROLE roles_writer"
         % RUNNER)
    r = grant(api="roles_member")
    check("API role a member of the runner's: 65",
          one_line_error(r, 65, "neither a member of the other"),
          (r.returncode, r.stderr))
    r = grant(runner="roles_sub")
    check("a member of the owner: 65",
          one_line_error(r, 65, "member of their owner"),
          (r.returncode, r.stderr))
    r = grant(api="roles_bypass")
    check("BYPASSRLS: 65", one_line_error(r, 65, "row-level security"),
          (r.returncode, r.stderr))
    r = grant(api="roles_api2")
    check("a role that could UPDATE query_run through another: 65",
          one_line_error(r, 65, "can still UPDATE query_run"),
          (r.returncode, r.stderr))
    r = admin("db", "grant", "--api", API)
    check("--runner missing: 64", one_line_error(r, 64, "--runner"),
          (r.returncode, r.stderr))
    r = admin("db", "grant", "--api", "", "--runner", RUNNER)
    check("empty role name: 64", one_line_error(r, 64, "--api"),
          (r.returncode, r.stderr))
    r = grant(env={"PG_DSN_APP": os.environ["PGSCHED_TEST_RUNNER_DSN"]})
    check("not the owner: 77", one_line_error(r, 77, "owner"),
          (r.returncode, r.stderr))
    psql("CREATE DATABASE roles_fresh")
    fresh = os.environ["PG_DSN_APP"].rsplit("/", 1)[0] + "/roles_fresh"
    r = grant(env={"PG_DSN_APP": fresh})
    check("schema not migrated: 78", one_line_error(r, 78, "db migrate"),
          (r.returncode, r.stderr))
    r = admin("db", "grant", "--help")
    check("--help names both options", r.returncode == 0 and
          "--api ROLE" in r.stdout and "--runner ROLE" in r.stdout, r.stdout)


def test_grant_again():
    before = psql(SNAPSHOT)
    r = grant()
    check("db grant again", r.returncode == 0 and r.stderr == "" and
          "granted: API role %s, runner role %s" % (API, RUNNER) in r.stdout,
          (r.returncode, r.stdout, r.stderr))
    after = psql(SNAPSHOT)
    check("db grant twice changes nothing", after == before,
          set(after.split()) ^ set(before.split()))
    # The psql route of the README gives the same, by name or recorded.
    env = dict(os.environ)
    env["PGOPTIONS"] = ("-c pgsched.api_role=%s -c pgsched.runner_role=%s"
                        % (API, RUNNER))
    p = subprocess.run(["psql", "-qX1", "-v", "ON_ERROR_STOP=1", "-d",
                        "pgsched", "-f", ROLES_SQL], capture_output=True,
                       text=True, env=env)
    check("psql -f roles.sql, quietly", p.returncode == 0 and
          p.stderr == "", p.stderr)
    check("psql -f roles.sql = db grant", psql(SNAPSHOT) == before)
    p = subprocess.run(["psql", "-qX1", "-v", "ON_ERROR_STOP=1", "-d",
                        "pgsched", "-f", ROLES_SQL], capture_output=True,
                       text=True)
    check("psql -f roles.sql, recorded roles", p.returncode == 0 and
          psql(SNAPSHOT) == before, p.stderr)


def log_text():
    out = ""
    for f in glob.glob(os.path.join(os.environ["LOG_DIR"], "pgsched-*.log")):
        with open(f, errors="replace") as fp:
            out += fp.read()
    return out


def test_missing_grant():
    """A grant missing (db grant not run again after a migration) is a
    server error that the log names: never "forbidden", "throttled" or
    "wrong password"; db migrate applies the grants again."""
    psql("REVOKE SELECT ON query_job FROM %s;"
         " REVOKE SELECT ON login_failure FROM %s" % (API, API))
    r = requests.get(URL + "/api/queries")
    check("without its grant the API answers 500", r.status_code == 500,
          r.text)
    r = requests.post(URL + "/api/auth/login", json={
        "email": "viewer@example.com", "password": "not-it"})
    check("a login without its grant: 500, not 429 or 401",
          r.status_code == 500, (r.status_code, r.text))
    check("the log names the refusal", wait_for(
        lambda: re.search(r"db_error.*sqlstate=\"?42501", log_text()), 10)
        is not None)
    r = admin("db", "migrate")
    check("db migrate applies the grants again", r.returncode == 0 and
          "grants applied again: API role %s, runner role %s" % (API, RUNNER)
          in r.stdout, (r.returncode, r.stdout, r.stderr))
    r = requests.get(URL + "/api/queries")
    check("and the API works again", r.status_code == 200, r.text)
    r = session("viewer")
    check("logins too", r is not None)


def test_replaced_roles():
    psql("CREATE ROLE roles_api3; CREATE ROLE roles_runner3")
    r = grant(api="roles_api3", runner="roles_runner3")
    check("grant to other roles", r.returncode == 0, r.stderr)
    old = psql("SELECT count(*) FROM pg_class c CROSS JOIN unnest(ARRAY["
               "'SELECT', 'INSERT', 'UPDATE', 'DELETE']) p"
               " WHERE c.relnamespace = 'public'::regnamespace"
               " AND c.relkind = 'r' AND (has_table_privilege('%s', c.oid, p)"
               " OR has_table_privilege('%s', c.oid, p))" % (API, RUNNER))
    check("replaced roles keep no privilege", old == "0", old)
    new = psql("SELECT has_table_privilege('roles_api3', 'query_run',"
               " 'SELECT') AND has_table_privilege('roles_runner3',"
               " 'query_run', 'UPDATE')")
    check("the new roles have theirs", new == "t", new)
    r = grant()
    check("grant back", r.returncode == 0, r.stderr)
    gone = psql("SELECT has_table_privilege('roles_api3', 'query_run',"
                " 'SELECT') OR has_table_privilege('roles_runner3',"
                " 'query_run', 'SELECT')")
    check("and the others lose theirs", gone == "f", gone)
    r = requests.get(URL + "/api/queries")
    check("the API works after the roles moved back", r.status_code == 200,
          r.text)


def main():
    test_pool_is_the_api_role()
    qid, rid = setup_rows()
    test_api_role(qid, rid)
    test_runner_role(qid, rid)
    test_manual_run(qid)
    test_grant_errors()
    test_grant_again()
    test_missing_grant()
    test_replaced_roles()
    finish()


if __name__ == "__main__":
    main()
