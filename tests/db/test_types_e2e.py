"""Every column type end to end: source -> pgsched-runner -> jsonb -> pandas.

Issue #3 "End to end", CONTRACT §4: a query covering every common type is
run by the real runner (--query, as a manual run), the stored
query_run_blob.df_json::text is read back with
pandas.read_json(orient='table'), and every value is compared with what the
source returns as text (psycopg2, each column cast to ::text, same session
settings as the runner): numbers numerically equal and exact, strings
identical, timestamps equal to the microsecond including their offset,
NULLs as NaN/None/NaT.  Once without NULLs, once with a row of NULLs in
every column.  The comparison rules are those of tests/py/test_result_pandas.py
(imported).  Finally pandas' own read_sql + to_json path is run on the same
query and the number of values it loses is printed (a figure for the note).
"""
import decimal
import io
import json
import math
import os
import sys
import warnings

import pandas as pd

from pgtest import (SRCDIR, check, one, q, run_tests, runner, setup_db)

sys.path.insert(0, os.path.join(SRCDIR, "tests", "py"))
import test_result_pandas as rules  # noqa: E402  pylint: disable=C0413

warnings.simplefilter("ignore")
M = None
DS = None
# The runner's session settings (src/exec.c): the text forms compared.
SRC_OPTIONS = ("-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres"
               " -c bytea_output=hex -c extra_float_digits=1")

# (column, SQL type, literals).  Several columns per type so that both the
# native path (number, datetime, boolean) and the string fallback are hit.
COLUMNS = [
    ("i2", "int2", ["0", "-32768", "32767"]),
    ("i4", "int4", ["2147483647", "-2147483648", "7"]),
    ("i8", "int8", ["9223372036854775807", "-9223372036854775808", "42"]),
    ("i8_small", "int8", ["1", "-1", "9007199254740992"]),
    ("num_plain", "numeric", ["0.1", "1234.50", "-0.5"]),
    ("num_huge", "numeric", ["123456789012345678901234567890.123456789",
                             "1e100", "-99999999999999999999"]),
    ("num_tiny", "numeric", ["0.000000000000000000000000000001", "1e-100",
                             "-0.00000000000000000001"]),
    ("num_nan", "numeric", ["NaN", "1", "0.10000000000000001"]),
    ("f4", "float4", ["0.1", "-0", "3.4028235e+38"]),
    ("f4_special", "float4", ["NaN", "Infinity", "1e-45"]),
    ("f8", "float8", ["0.1", "-0", "0.30000000000000004"]),
    ("f8_special", "float8", ["NaN", "Infinity", "-Infinity"]),
    ("f8_extreme", "float8", ["1e308", "5e-324", "1.7976931348623157e308"]),
    ("b", "bool", ["true", "false", "true"]),
    ("txt", "text", ["", "ünïcödé ✓ 😀 日本語",
                     "quote \" ' and \\ backslash\nnew line\ttab"]),
    ("vc", "varchar(20)", ["varchar", "", "é"]),
    ("ch", "char(5)", ["ab", "abcde", ""]),
    ("nm", "name", ["pg_class", "x y", "ünï"]),
    ("d", "date", ["2024-02-29", "1970-01-01", "2262-04-11"]),
    ("d_out", "date", ["0044-03-15 BC", "infinity", "3000-01-01"]),
    ("d_3000", "date", ["3000-12-31", "2024-01-01", "-infinity"]),
    ("tm", "time", ["08:00:00", "23:59:59.999999", "00:00:00.000001"]),
    ("tmtz", "timetz", ["08:00:00+05:30", "23:59:59.999999-03",
                        "12:00:00+00"]),
    ("ts", "timestamp", ["2024-01-01 08:00:00.123456",
                         "1970-01-01 00:00:00.5", "2262-04-11 23:47:16.854775"]),
    ("ts_out", "timestamp", ["3000-01-01 00:00:00.000001",
                             "0044-03-15 12:00:00 BC", "infinity"]),
    ("tstz", "timestamptz", ["2024-01-01 08:00:00.123456+00",
                             "2024-06-30 23:59:59.000001-03",
                             "1880-01-01 00:00:00+05:45"]),
    ("tstz_out", "timestamptz", ["3000-01-01 00:00:00.5+02",
                                 "1677-09-21 00:12:43.145224+00",
                                 "-infinity"]),
    ("iv", "interval", ["1 day 02:03:04.000005", "-00:00:00.25",
                        "1 year 2 mons"]),
    ("u", "uuid", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                   "00000000-0000-0000-0000-000000000000",
                   "ffffffff-ffff-ffff-ffff-ffffffffffff"]),
    ("js", "json", ['{"a": [1, 2.5, "x", null, true], "b": {"c": "é"}}',
                    '"str"', "[]"]),
    ("js_dup", "json", ['{"a": 1, "a": 2}', '{"n": 18446744073709551616}',
                        '{"big": 1e308}']),
    ("jsb", "jsonb", ['{"a": 1, "b": [1, 2]}', '{"f": 0.1}', '"s"']),
    ("jsb_big", "jsonb", ['{"x": 100000000000000000000}',
                          '{"f": 1.0000000000000002}', '[1e-400]']),
    ("by", "bytea", ["\\xdeadbeef", "\\x", "\\x00ff"]),
    ("ia", "int[]", ["{1,2,3}", "{}", "{NULL,-1}"]),
    ("ta", "text[]", ['{a,"b c","d\\"e"}', "{}", '{NULL,"",é}']),
    ("en", "mood", ["happy", "sad", "ok"]),
    ("ip", "inet", ["192.168.0.1/24", "::1", "10.0.0.1"]),
    ("cash", "money", ["1.00", "-1234567.89", "0"]),
]
NROWS = 3


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def job_sql(with_nulls):
    """A VALUES list of text literals, each column cast to its type."""
    rows = [[sql_literal(vals[i]) for _, _, vals in COLUMNS]
            for i in range(NROWS)]
    if with_nulls:
        rows.insert(1, ["NULL"] * len(COLUMNS))
    body = ", ".join("(%s)" % ", ".join(r) for r in rows)
    cols = ", ".join("c%d" % i for i in range(len(COLUMNS)))
    sel = ", ".join("c%d::%s AS %s" % (i, t, n)
                    for i, (n, t, _) in enumerate(COLUMNS))
    return "SELECT %s FROM (VALUES %s) AS v(%s)" % (sel, body, cols)


def source_conn():
    import psycopg2  # pylint: disable=C0415
    c = psycopg2.connect(os.environ["PGSCHED_TEST_SOURCE_URI"],
                         options=SRC_OPTIONS)
    c.autocommit = True
    c.set_client_encoding("UTF8")
    return c


def source_text(sql):
    """Returns (oids, rows) with every value as the source's output
    function prints it (typecasters off), None for NULL."""
    import psycopg2.extensions as ext  # pylint: disable=C0415
    s = source_conn()
    with s.cursor() as cur:
        cur.execute("SELECT * FROM (%s) s LIMIT 0" % sql)
        oids = [d.type_code for d in cur.description]
    raw = ext.new_type(tuple(set(oids)), "RAWTEXT", lambda v, c: v)
    ext.register_type(raw, s)
    rows = q(s, sql)
    s.close()
    return oids, rows


def setup():
    global M, DS
    M, _, DS = setup_db("types")
    s = source_conn()
    q(s, "DROP TYPE IF EXISTS mood")
    q(s, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    s.close()


def run_job(name, sql):
    """Runs sql through the real runner; returns (status, error, doc text)."""
    jid = one(M, "INSERT INTO query_job (name, sql_text, data_source_id,"
              " schedule_type, schedule_expr, timezone, enabled) VALUES"
              " (%s, %s, %s, 'interval', 'PT1H', 'UTC', false) RETURNING id",
              (name, sql, DS))
    r = runner("--query", str(jid))
    check(name + ": runner --query exits 0", r.returncode == 0,
          r.stdout + r.stderr)
    row = q(M, "SELECT r.status, r.error_message, b.df_json::text,"
            " r.rows_returned FROM query_run r LEFT JOIN query_run_blob b"
            " ON b.run_id = r.id WHERE r.query_id = %s", (jid,))
    check(name + ": one run", len(row) == 1, row)
    return row[0] if row else (None, None, None, None)


def compare_ours(name, sql, nrows):
    status, err, text, count = run_job(name, sql)
    check(name + ": success", status == "success", err)
    if text is None:
        return
    check(name + ": rows_returned", count == nrows, count)
    try:
        df = pd.read_json(io.StringIO(text), orient="table")
    except Exception as e:  # pylint: disable=broad-except
        check(name + ": pandas reads the stored jsonb", False, repr(e))
        return
    check(name + ": pandas reads the stored jsonb", True)
    doc = json.loads(text)
    fields = {f["name"]: f for f in doc["schema"]["fields"]}
    oids, rows = source_text(sql)
    check(name + ": row count", len(df) == len(rows) == nrows,
          (len(df), len(rows)))
    check(name + ": columns", list(df.columns) == [c[0] for c in COLUMNS],
          list(df.columns))
    bad = 0
    for ci, (cname, ctype, _) in enumerate(COLUMNS):
        for ri, row in enumerate(rows):
            src = row[ci]
            got = df[cname].iloc[ri] if ri < len(df) else "<missing>"
            ok = rules.value_ok(oids[ci], src, got, fields[cname])
            bad += not ok
            check("%s: %s (%s) row %d" % (name, cname, ctype, ri), ok,
                  "source %r -> pandas %r (%s)" % (
                      src, got, fields[cname]["type"]))
    print("%s: %d columns x %d rows compared, %d differ" % (
        name, len(COLUMNS), len(rows), bad))


def test_all_types_no_nulls():
    compare_ours("types", job_sql(False), NROWS)


def test_all_types_with_nulls():
    sql = job_sql(True)
    compare_ours("types+nulls", sql, NROWS + 1)
    # Every column of the NULL row is null in the document itself.
    text = one(M, "SELECT b.df_json::text FROM query_run_blob b JOIN"
               " query_run r ON r.id = b.run_id JOIN query_job j ON"
               " j.id = r.query_id WHERE j.name = 'types+nulls'")
    data = json.loads(text)["data"] if text else []
    check("null row is all null", len(data) > 1 and all(
        data[1][c[0]] is None for c in COLUMNS), data[1:2])


def pandas_same(oid, src, got):
    """Whether a value read back from pandas' own path is the source value
    (lenient about the representation, strict about the value)."""
    if src is None:
        return got is None or bool(pd.isna(got))
    if got is None or (not isinstance(got, (str, list, dict)) and
                       bool(pd.isna(got))):
        return False
    if isinstance(got, str):
        return got == src
    try:
        if oid in rules.INT:
            return int(got) == int(src) and float(got) == float(src)
        if oid in rules.FLOATS or oid == rules.NUMERIC:
            g = float(got)
            return math.isfinite(g) and g == float(src) and (
                oid != rules.NUMERIC or
                decimal.Decimal(repr(g)) == decimal.Decimal(src))
        if oid == rules.BOOL:
            return bool(got) is (src == "t")
        if oid in (rules.DATE, rules.TS):
            return pd.Timestamp(got).tz_localize(None) == \
                pd.Timestamp(src.replace(" ", "T"))
        if oid == rules.TSTZ:
            return pd.Timestamp(got) == pd.Timestamp(rules.parse_tstz(src))
        if oid in (rules.JSON, rules.JSONB):
            return rules.exact_equal(got, json.loads(src))
    except (ValueError, TypeError, OverflowError, IndexError):
        return False
    return False


def test_pandas_own_path():
    """Not a requirement on pg-sched: the figure it is measured against."""
    sql = job_sql(True)
    oids, rows = source_text(sql)
    s = source_conn()
    lost = 0
    unreadable = []
    for ci, (cname, _, _) in enumerate(COLUMNS):
        # Column by column: one out-of-range date fails the whole frame.
        try:
            frame = pd.read_sql("SELECT %s FROM (%s) s" % (cname, sql), s)
            text = frame.to_json(orient="table")
            back = pd.read_json(io.StringIO(text), orient="table")
        except Exception:  # pylint: disable=broad-except
            lost += len(rows)
            unreadable.append(cname)
            continue
        for ri, row in enumerate(rows):
            if not pandas_same(oids[ci], row[ci], back[cname].iloc[ri]):
                lost += 1
    total = len(rows) * len(COLUMNS)
    whole = "readable"
    try:
        frame = pd.read_sql(sql, s)
        pd.read_json(io.StringIO(frame.to_json(orient="table")),
                     orient="table")
    except Exception as e:  # pylint: disable=broad-except
        whole = "unreadable (%s: %s)" % (type(e).__name__, e)
    s.close()
    print("pandas read_sql+to_json: %d of %d values lost or changed,"
          " whole frame %s; columns not even readable alone: %s" % (
              lost, total, whole, ", ".join(unreadable) or "none"))
    check("the figure was computed", total == len(COLUMNS) * (NROWS + 1))


if __name__ == "__main__":
    setup()
    run_tests([test_all_types_no_nulls, test_all_types_with_nulls,
               test_pandas_own_path])
