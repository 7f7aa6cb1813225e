"""Two doors, one house: every setting of a saved query goes through both
doors, `pgsched-admin queries add` and `POST /api/admin/queries` (and
`PATCH` of an existing query, which the CLI has no verb for), with one
table of good and bad values, and must get the same verdict: accepted by
both and stored alike, or refused by both naming the same field with the
same message.  The dry runs of a saved query (`queries test` and `POST
.../test`) apply the same SQL guard with the same message.

The settings come from the table both doors ask (src/query_rules.c), read
through tests/unit/query_rules_dump: a setting without rows here fails
this test, and the integer bounds of the table are driven at min-1, min,
max and max+1 and compared with what the database's own constraints
accept.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_two_doors.py
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, add_source, check, finish, psql, session)

BUILD = os.environ.get("PGSCHED_BUILDDIR", ".")
ADMIN = os.environ.get("PGSCHED_ADMIN", os.path.join(BUILD, "pgsched-admin"))
DUMP = os.environ.get("QUERY_RULES_DUMP",
                      os.path.join(BUILD, "tests", "unit", "query_rules_dump"))
TMP = os.environ.get("PGSCHED_TEST_TMP", ".")
SQL_MAX = 1024 * 1024       # SQLGUARD_MAX_LEN
MISSING = object()          # a value one door cannot express

# The integer bounds the table may set tighter than the database, and why.
TIGHTER_THAN_DB = {
    # now() - keep_days days leaves PostgreSQL's timestamp range beyond
    # about 2.4 million days: the runner's retention would fail.
    "keep_days",
}


def settings():
    """The rules' table: {field: {option, kind, min, max, nullable,
    required}}, in table order."""
    out = subprocess.run([DUMP], capture_output=True, text=True, check=True)
    table = {}
    for line in out.stdout.splitlines():
        f, opt, kind, lo, hi, null, req = line.split("\t")
        table[f] = {"option": opt, "kind": kind, "min": int(lo),
                    "max": int(hi), "nullable": null == "1",
                    "required": req == "1"}
    return table


def sized(prefix, n, pad="x", suffix=""):
    """prefix + pad... + suffix, n bytes in all."""
    return prefix + pad * (n - len(prefix) - len(suffix)) + suffix


def row(value, good, api=MISSING, **with_):
    """One value of a setting: the CLI's text and the API's JSON value
    (api, when it is not the same string), whether both must accept it,
    and other settings it needs (with_: field -> value)."""
    return {"cli": value, "api": value if api is MISSING else api,
            "good": good, "with": with_}


CRON = {"schedule_type": "cron"}
# Values of the text settings (and the schedule that goes with them).
TEXT_ROWS = {
    "name": [
        row("a", True), row("Z9", True), row("a.b_c-d", True),
        row("9lives", True), row(sized("n", 128), True),
        row("", False), row(sized("n", 129), False), row("-x", False),
        row("_x", False), row(".x", False), row("a b", False),
        row("a/b", False), row("caf\u00e9", False), row("a'b", False),
        row("a\tb", False),
    ],
    "title": [
        row("", True), row("Orders (24h)", True), row(sized("t", 200), True),
        row(sized("t", 201), False),
    ],
    "description": [
        row("", True), row("what it is\nand why", True),
        row(sized("d", 10000), True), row(sized("d", 10001), False),
    ],
    "sql_text": [
        row("SELECT 1", True), row("VALUES (1), (2)", True),
        row("WITH a AS (SELECT 1 AS x) SELECT x FROM a", True),
        row(sized("SELECT 1 --", SQL_MAX), True),
        row(sized("SELECT 1 --", SQL_MAX + 1), False),
        row("", False), row("SELEC 1", False), row("DELETE FROM t", False),
        row("SELECT 1; SELECT 2", False), row("SELECT 1 INTO newt", False),
        row("SELECT $1", False), row("SELECT pg_terminate_backend(1)", False),
    ],
    "schedule_type": [
        row("interval", True), row("cron", True, schedule_expr="0 * * * *"),
        row("hourly", False), row("CRON", False), row("", False),
        row(sized("interval", 17), False),
    ],
    "schedule_expr": [
        row("PT1H", True), row("3600", True, api=3600), row("60", True),
        row("P1DT12H", True), row("", True),
        row("*/10 * * * *", True, **CRON), row("@daily", True, **CRON),
        row("0 9 * * 1-5", True, **CRON),
        row("PT10S", False), row("59", False), row("abc", False),
        row("@reboot", False, **CRON), row("61 * * * *", False, **CRON),
        row("0 0 30 2 *", False, **CRON), row(sized("1", 257), False),
    ],
    "timezone": [
        row("UTC", True), row("Europe/Berlin", True, **CRON,
                              schedule_expr="30 2 * * *"),
        row("America/New_York", True), row("", True),
        row("Mars/Olympus", False), row("../etc/passwd", False),
        row(sized("Europe/", 256), False),
    ],
    # An ISO 8601 duration or seconds (a JSON number too), 60 s to 366 days.
    "max_staleness": [
        row("PT1H", True), row("3600", True, api=3600), row("60", True, api=60),
        row("P1DT12H", True), row("P366D", True),
        row("31622400", True, api=31622400),
        row("59", False, api=59), row("PT59S", False),
        row("31622401", False, api=31622401), row("P367D", False),
        row("P1M", False), row("abc", False), row("", False),
        row("1.5", False, api=1.5), row("-60", False, api=-60),
        row(str(10 ** 20), False, api=10 ** 20),
    ],
    "start_at": [
        row("2026-01-01T00:00:00Z", True), row("2026-01-01", True),
        row("2026-01-01T10:00:00+02:00", True),
        row("yesterday", False), row("2026-13-01T00:00:00Z", False),
        row("2026-01-01T10:00:00", False),
        row(sized("2026-01-01T00:00:00.", 65, "1", "Z"), False),
    ],
    "visibility": [
        row("public", True), row("internal", True), row("restricted", True),
        row("", False), row("Public", False), row("secret", False),
        row(sized("restricted", 17), False),
    ],
}
# What each door checks against the database itself: the same message.
DOOR_ROWS = {
    "data_source": [row("src", True), row("nope", False), row("", False)],
}


def int_rows(s):
    """The boundaries of an integer setting and values that are not
    integers."""
    lo, hi = s["min"], s["max"]
    return [
        row(str(lo - 1), False, api=lo - 1), row(str(lo), True, api=lo),
        row(str(hi), True, api=hi), row(str(hi + 1), False, api=hi + 1),
        row("abc", False), row("", False), row("1.5", False, api=1.5),
        row("12abc", False), row(str(10 ** 20), False, api=10 ** 20),
    ]


BASE = {"title": "T", "sql_text": "SELECT 1", "schedule_type": "interval",
        "schedule_expr": "PT1H"}


class Doors:
    def __init__(self, table):
        self.table = table
        self.ed = session("editor")
        self.n = 0
        r = self.ed.post(URL + "/api/admin/queries",
                         json=dict(BASE, name="patchbase",
                                   data_source="src"))
        check("the query PATCH edits exists", r.status_code == 201, r.text)
        self.base = r.json()["query"]["id"]

    def values(self, field, r):
        """The settings of one attempt: field -> value per door."""
        self.n += 1
        v = dict(BASE, name="q%d" % self.n)
        v.update(r["with"])
        cli = dict(v, data_source="src")
        api = dict(v, data_source="src")
        cli[field] = r["cli"]
        api[field] = r["api"]
        return cli, api

    def option(self, field):
        if field in self.table:
            return self.table[field]["option"]
        return field.replace("_", "-")

    def cli_add(self, vals):
        """Runs queries add; (exit code, stdout, stderr)."""
        argv = [ADMIN, "queries", "add"]
        for f, v in vals.items():
            opt = self.option(f)
            if f == "sql_text" and len(v) > 100000:
                path = os.path.join(TMP, "two_doors.sql")
                with open(path, "w") as fp:
                    fp.write(v)
                opt, v = "sql-file", path
            argv += ["--" + opt, v]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def cli(self, *args):
        p = subprocess.run([ADMIN] + list(args), capture_output=True,
                           text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def through_api(self, vals):
        """POST; returns (accepted, query or fields)."""
        r = self.ed.post(URL + "/api/admin/queries", json=vals)
        if r.status_code == 201:
            q = r.json()["query"]
            d = self.ed.delete(URL + "/api/admin/queries/%d" % q["id"],
                               headers={"Content-Type": "application/json"})
            check("API delete %s" % q["name"], d.status_code == 200, d.text)
            return True, q
        check("API refusal is a 422", r.status_code == 422,
              (vals.get("name"), r.status_code, r.text[:300]))
        return False, r.json().get("fields") or {}

    def through_cli(self, vals):
        """queries add; returns (accepted, query shown or stderr)."""
        rc, out, errtext = self.cli_add(vals)
        if rc != 0:
            check("CLI refusal is exit 65 with one line", rc == 65 and
                  errtext.count("\n") == 1 and out == "",
                  (rc, out, errtext[:300]))
            return False, errtext
        m = re.match(r"created query (\d+) ", out)
        if not check("CLI says what it created", m is not None, out):
            return False, errtext
        rc, shown, _ = self.cli("--json", "queries", "show", m.group(1))
        check("CLI shows it", rc == 0, shown)
        rc, _, e2 = self.cli("queries", "rm", m.group(1))
        check("CLI rm", rc == 0, e2)
        return True, json.loads(shown)

    def patch(self, field, vals):
        """PATCH of the base query with vals, without the name and the
        data source unless they are the setting; returns (accepted, query
        or fields)."""
        body = {k: v for k, v in vals.items()
                if k not in ("name", "data_source") or k == field}
        r = self.ed.patch(URL + "/api/admin/queries/%d" % self.base,
                          json=body)
        if r.status_code == 200:
            return True, r.json()["query"]
        check("PATCH refusal is a 422", r.status_code == 422,
              (r.status_code, r.text[:300]))
        return False, r.json().get("fields") or {}

    def same_query(self, what, a, b):
        """The settings the doors stored are the same."""
        for f in list(self.table) + ["data_source"]:
            check("%s: %s stored alike" % (what, f), a.get(f) == b.get(f),
                  (f, a.get(f), b.get(f)))

    def attempt(self, field, r):
        """One row through both doors (and PATCH)."""
        cli_vals, api_vals = self.values(field, r)
        what = "%s=%r" % (field, r["cli"][:40])
        a_ok, a = self.through_api(api_vals)
        c_ok, c = self.through_cli(cli_vals)
        check("%s: verdict of the API as expected" % what, a_ok == r["good"],
              a)
        check("%s: same verdict in both doors" % what, a_ok == c_ok, (a, c))
        if a_ok and c_ok:
            self.same_query(what, a, c)
        elif not a_ok and not c_ok:
            msg = a.get(field)
            check("%s: the API names the field" % what, msg is not None, a)
            check("%s: the CLI names the option with the API's message"
                  % what, msg is not None and ("--" + self.option(field))
                  in c and msg in c, (msg, c))
        p_ok, p = self.patch(field, api_vals)
        check("%s: PATCH gets the verdict of POST" % what, p_ok == a_ok, p)
        if p_ok and a_ok and field in a:
            check("%s: PATCH stores what POST stores" % what,
                  p.get(field) == a.get(field), (p.get(field), a.get(field)))
        elif not p_ok and not a_ok:
            check("%s: PATCH names the field with POST's message" % what,
                  p.get(field) == a.get(field), (p, a))


def db_accepts(col, value, qid):
    """Whether the database itself stores value in query_job.col."""
    try:
        psql("BEGIN; UPDATE query_job SET %s = %d WHERE id = %d; ROLLBACK"
             % (col, value, qid))
        return True
    except subprocess.CalledProcessError:
        return False


def test_bounds_are_the_database_s(doors):
    """min and max are stored by the database, min-1 and max+1 refused by
    its constraints (but where the table says why it is tighter)."""
    for f, s in doors.table.items():
        if s["kind"] != "int":
            continue
        check("%s: the database stores the minimum" % f,
              db_accepts(f, s["min"], doors.base))
        check("%s: the database stores the maximum" % f,
              db_accepts(f, s["max"], doors.base))
        check("%s: the database refuses min-1" % f,
              not db_accepts(f, s["min"] - 1, doors.base))
        if f in TIGHTER_THAN_DB:
            continue
        check("%s: the database refuses max+1" % f,
              not db_accepts(f, s["max"] + 1, doors.base))


def test_saved_sql_guard(doors):
    """A saved query whose SQL the guard refuses (edited by hand in the
    table) is refused by both dry runs, with the same message, before
    anything runs."""
    r = doors.ed.post(URL + "/api/admin/queries",
                      json=dict(BASE, name="guarded", data_source="src"))
    if not check("guarded query created", r.status_code == 201, r.text):
        return
    qid = r.json()["query"]["id"]
    psql("UPDATE query_job SET sql_text = 'DELETE FROM t' WHERE id = %d"
         % qid)
    r = doors.ed.post(URL + "/api/admin/queries/%d/test" % qid,
                      headers={"Content-Type": "application/json"})
    msg = (r.json().get("fields") or {}).get("sql_text")
    check("API dry run of refused SQL: 422 naming sql_text",
          r.status_code == 422 and msg is not None, r.text)
    rc, out, errtext = doors.cli("queries", "test", str(qid))
    check("CLI queries test of refused SQL: the API's message",
          rc == 65 and out == "" and msg is not None and
          ("the SQL of guarded is not accepted: " + msg) in errtext,
          (rc, errtext, msg))


def main():
    table = settings()
    check("the table has settings", len(table) > 0, table)
    for f, s in table.items():
        check("setting %s has rows in this test" % f,
              f in TEXT_ROWS or s["kind"] == "int", f)
        check("setting %s: its rows reach max+1 bytes" % f,
              s["kind"] in ("int", "duration") or any(
                  len(r["cli"]) == s["max"] + 1 and not r["good"]
                  for r in TEXT_ROWS.get(f, [])), s)
    for f in TEXT_ROWS:
        check("rows of %s are a setting of the table" % f, f in table, f)
    add_source(session("admin"), "src")
    doors = Doors(table)
    for f, s in table.items():
        rows = int_rows(s) if s["kind"] == "int" else TEXT_ROWS.get(f, [])
        for r in rows:
            doors.attempt(f, r)
    for f, rows in DOOR_ROWS.items():
        for r in rows:
            doors.attempt(f, r)
    test_bounds_are_the_database_s(doors)
    test_saved_sql_guard(doors)
    finish()


if __name__ == "__main__":
    main()
