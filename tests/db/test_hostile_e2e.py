"""The hostile SQL corpus through the real runner, as a superuser.

Issue #6 item 1, CONTRACT §4.  Every line of tests/sql/hostile.tsv becomes a
job inserted directly into query_job (bypassing save-time validation, as an
old database might hold it) on a data source that is the superuser postgres
on the source database (which holds tables, a sequence, a large object, a
function that writes and a view on it).  One runner tick runs them all:
every "reject" line must give an error run rejected by the runner's own
check, every "ok" line a success run (or, counted and printed, a runtime SQL
error that has nothing to do with read-only, e.g. a statement timeout for
pg_sleep(3600)).  A fingerprint of the source taken before and after must
be identical.  A second test shows the READ ONLY transaction alone stopping
writes that the validator cannot see (functions and a view that write).
"""
import os
import time

from pgtest import (SRCDIR, add_job, check, one, q, run_tests, runner,
                    setup_db, source, wait_for)

M = None
DS = None
TIMEOUT_MS = 1500
READ_ONLY_WORDS = ("read-only", "read only", "read-write")


def unescape(s):
    """The escapes of hostile.tsv: \\n, \\t, \\\\; anything else is an
    error in the file."""
    out, i = [], 0
    while i < len(s):
        if s[i] != "\\":
            out.append(s[i])
            i += 1
            continue
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt not in "nt\\" or nxt == "":
            raise ValueError("bad escape in hostile.tsv: %r" % s)
        out.append({"n": "\n", "t": "\t", "\\": "\\"}[nxt])
        i += 2
    return "".join(out)


def corpus():
    """Returns [(line number, expect, code, sql)]."""
    lines = []
    path = os.path.join(SRCDIR, "tests", "sql", "hostile.tsv")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#") or line.strip() == "":
                continue
            expect, code, sql = line.split("\t", 2)
            lines.append((n, expect, code, unescape(sql)))
    return lines


def fingerprint():
    """What a write to the source would change, as one comparable dict."""
    s = source()
    fp = {}
    for (name,) in q(s, "SELECT format('%I.%I', schemaname, relname) FROM"
                     " pg_stat_user_tables ORDER BY 1"):
        fp["table " + name] = q(s, "SELECT count(*), md5(coalesce(string_agg("
                                "x::text, ',' ORDER BY x::text), '')) FROM"
                                " %s x" % name)[0]
    for (name,) in q(s, "SELECT format('%I.%I', schemaname, sequencename)"
                     " FROM pg_sequences ORDER BY 1"):
        fp["sequence " + name] = q(s, "SELECT last_value, is_called FROM %s"
                                   % name)[0]
    for cat in ("pg_largeobject_metadata", "pg_largeobject", "pg_class",
                "pg_proc", "pg_namespace", "pg_authid", "pg_database",
                "pg_extension", "pg_replication_origin", "pg_prepared_xacts",
                "pg_replication_slots", "pg_rewrite", "pg_trigger"):
        fp["count " + cat] = one(s, "SELECT count(*) FROM " + cat)
    fp["role settings"] = q(s, "SELECT setdatabase, setrole,"
                            " setconfig::text FROM pg_db_role_setting"
                            " ORDER BY 1, 2")
    fp["auto.conf"] = one(s, "SELECT pg_read_file('postgresql.auto.conf')")
    fp["roles"] = q(s, "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles"
                    " ORDER BY 1")
    s.close()
    return fp


def pgsched_backends():
    s = source()
    n = one(s, "SELECT count(*) FROM pg_stat_activity WHERE"
            " application_name LIKE 'pgsched:%'")
    s.close()
    return n


def check_source_unchanged(before):
    """No pg-sched backend is left on the source, and its fingerprint
    equals before, item by item."""
    check("no pgsched backend left on the source",
          wait_for(lambda: pgsched_backends() == 0, 20), pgsched_backends())
    after = fingerprint()
    for k in sorted(set(before) | set(after)):
        check("source unchanged: " + k, before.get(k) == after.get(k),
              "%r -> %r" % (before.get(k), after.get(k)))


def setup():
    global M, DS
    M, _, DS = setup_db("superuser")
    s = source()
    for sql in [
            "CREATE TABLE t (a int, b int)",
            "INSERT INTO t VALUES (1, 2), (2, 0), (-1, 5), (NULL, 3)",
            "CREATE TABLE u (a int)",
            "INSERT INTO u VALUES (1), (3)",
            "CREATE TABLE p (k text PRIMARY KEY, v jsonb)",
            "INSERT INTO p VALUES ('x', '{\"a\": 1}')",
            "CREATE SEQUENCE s",
            "SELECT nextval('s')",
            "SELECT lo_from_bytea(1234, '\\xdeadbeef')",
            "CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS"
            " 'INSERT INTO t VALUES (666) RETURNING 1'",
            "CREATE VIEW v_evil AS SELECT evil() AS x",
            "CREATE FUNCTION evil_seq() RETURNS bigint LANGUAGE plpgsql AS"
            " $$BEGIN RETURN nextval('s'); END$$",
            "CREATE FUNCTION evil_lo() RETURNS oid LANGUAGE plpgsql AS"
            " $$BEGIN RETURN lo_create(0); END$$",
            "CREATE FUNCTION evil_ddl() RETURNS int LANGUAGE plpgsql AS"
            " $$BEGIN EXECUTE 'CREATE TABLE x2 (a int)'; RETURN 1; END$$",
            "CREATE FUNCTION evil_role() RETURNS int LANGUAGE plpgsql AS"
            " $$BEGIN EXECUTE 'ALTER ROLE postgres SET work_mem = ''77MB''';"
            " RETURN 1; END$$",
            "CREATE FUNCTION evil_rw() RETURNS int LANGUAGE plpgsql AS"
            " $$BEGIN PERFORM set_config('transaction_read_only', 'off',"
            " true); INSERT INTO t VALUES (667); RETURN 1; END$$",
            "CREATE FUNCTION evil_trunc() RETURNS int LANGUAGE plpgsql AS"
            " $$BEGIN TRUNCATE u; RETURN 1; END$$",
            "CREATE FUNCTION evil_upd() RETURNS SETOF p LANGUAGE sql AS"
            " 'UPDATE p SET v = ''{}'' RETURNING *'"]:
        q(s, sql)
    s.close()


def test_corpus_one_tick():
    lines = corpus()
    check("corpus has both kinds", any(x[1] == "ok" for x in lines) and
          any(x[1] == "reject" for x in lines), len(lines))
    before = fingerprint()
    jobs = []
    for n, expect, code, sql in lines:
        jid = add_job(M, DS, "hostile:%d" % n, sql, timeout_ms=TIMEOUT_MS)
        jobs.append((jid, n, expect, code, sql))
    t0 = time.time()
    r = runner("--concurrency", "16", timeout=600)
    print("one tick of %d jobs: %.1f s" % (len(jobs), time.time() - t0))
    check("tick exits 0", r.returncode == 0, r.stderr[-2000:])
    runs = {jid: (st, err) for jid, st, err in q(
        M, "SELECT r.query_id, r.status, r.error_message FROM query_run r"
        " JOIN query_job j ON j.id = r.query_id WHERE j.name LIKE"
        " 'hostile:%'")}
    ok_errors = []
    for jid, n, expect, code, sql in jobs:
        st, err = runs.get(jid, (None, None))
        tag = "line %d %s %r" % (n, expect, sql[:70])
        if expect == "reject":
            check(tag + " is an error run rejected before connecting",
                  st == "error" and (err or "").startswith("rejected:"),
                  (st, err))
            continue
        if st == "error":
            ok_errors.append((n, err))
            check(tag + " fails only for a reason other than read-only",
                  err and not any(w in err for w in READ_ONLY_WORDS) and
                  not err.startswith("rejected:"), err)
        else:
            check(tag + " succeeds", st == "success", (st, err))
    n_ok = sum(1 for x in jobs if x[2] == "ok")
    print("%d reject lines, %d ok lines; %d ok lines failed at run time:" % (
        len(jobs) - n_ok, n_ok, len(ok_errors)))
    for n, err in ok_errors:
        print("  line %d: %s" % (n, err))
    check("ok lines that fail are only the sleepers",
          all("timed out" in (e or "") for _, e in ok_errors), ok_errors)
    check_source_unchanged(before)
    check("nothing left running", one(M, "SELECT count(*) FROM query_run"
                                      " WHERE status IN ('running',"
                                      " 'queued')") == 0)
    q(M, "UPDATE query_job SET enabled = false WHERE name LIKE 'hostile:%'")


def test_read_only_alone_holds():
    """Statements the validator lets through (it cannot see inside a
    function or a view) that write: the READ ONLY transaction stops them."""
    writes = ["SELECT evil()", "SELECT * FROM v_evil", "SELECT evil_seq()",
              "SELECT evil_lo()", "SELECT evil_ddl()", "SELECT evil_role()",
              "SELECT evil_rw()", "SELECT evil_trunc()",
              "SELECT * FROM evil_upd()",
              "SELECT x FROM t, LATERAL (SELECT evil()) e(x)"]
    before = fingerprint()
    jobs = [add_job(M, DS, "ro:%d" % i, sql) for i, sql in enumerate(writes)]
    r = runner()
    check("tick exits 0", r.returncode == 0, r.stderr[-2000:])
    s = source()
    version = one(s, "SELECT current_setting('server_version_num')::int")
    s.close()
    for j, sql in zip(jobs, writes):
        st = q(M, "SELECT status, error_message FROM query_run WHERE"
               " query_id = %s", (j,))
        if sql == "SELECT evil_lo()" and version < 160000:
            # PostgreSQL before 16 lets large-object writes run in a READ
            # ONLY transaction; the ROLLBACK undoes them (the fingerprint
            # below counts pg_largeobject_metadata).
            check("lo_create inside READ ONLY is rolled back (PG < 16)",
                  len(st) == 1 and st[0][0] in ("success", "error"), st)
            continue
        check("READ ONLY stops %s" % sql, len(st) == 1 and
              st[0][0] == "error" and
              any(w in (st[0][1] or "") for w in READ_ONLY_WORDS), st)
        check("not stopped by the validator: %s" % sql, st and not
              (st[0][1] or "").startswith("rejected:"), st)
    check_source_unchanged(before)
    s = source()
    check("the functions do write outside READ ONLY (control)",
          one(s, "SELECT evil_seq()") is not None)
    s.close()


setup()
run_tests([test_corpus_one_tick, test_read_only_alone_holds])
