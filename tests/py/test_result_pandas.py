#!/usr/bin/python3
"""Round trip of result.c's documents through pandas (CONTRACT section 4).

Builds tests/unit/result_dump.c (or uses $RESULT_DUMP), feeds it a matrix of
PostgreSQL text values per type, with and without NULLs, optionally passes
each document through PostgreSQL's own ::jsonb::text (when
$PGSCHED_TEST_PGURI names a reachable server, see jsonb_normalise), reads it
with pandas.read_json(orient='table') and checks every value against its
source: numbers numerically equal and exact, strings identical, timestamps
equal to the microsecond, NULLs as NaN/None/NaT.  Prints "N passed, N
failed" last and exits 1 on any failure.
"""
import datetime
import decimal
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import warnings

import pandas as pd

warnings.simplefilter("ignore")
ROOT = pathlib.Path(__file__).resolve().parents[2]
PASSED = 0
FAILED = 0

INT = {21, 23, 20, 26}
FLOATS = {700, 701}
NUMERIC = 1700
BOOL, DATE, TS, TSTZ, JSON, JSONB = 16, 1082, 1114, 1184, 114, 3802


def build_dump():
    """Returns the path of a result_dump binary, building it if needed."""
    if os.environ.get("RESULT_DUMP"):
        return os.environ["RESULT_DUMP"]
    out = pathlib.Path(tempfile.mkdtemp()) / "result_dump"
    src = ["tests/unit/result_dump.c", "src/result.c", "src/result_check.c",
           "src/csv.c", "src/resdoc.c", "src/utf8.c", "src/buf.c",
           "src/arena.c"]
    subprocess.run(["gcc", "-std=c17", "-O2", "-D_GNU_SOURCE", "-Isrc",
                    *src, "-lm", "-o", str(out)], cwd=ROOT, check=True)
    return str(out)


def jsonb_normalise(doc):
    """Returns doc as PostgreSQL's jsonb prints it, or None when no server.

    The server is $PGSCHED_TEST_PGURI (a libpq URI or conninfo); psql does
    SELECT :'doc'::jsonb::text.  The lead's harness can set the variable.
    """
    uri = os.environ.get("PGSCHED_TEST_PGURI")
    if not uri:
        return None
    env = dict(os.environ, PGCLIENTENCODING="UTF8")
    r = subprocess.run(["psql", uri, "-X", "-q", "-At", "-v",
                        "ON_ERROR_STOP=1", "-v", "doc=" + doc],
                       input="SELECT :'doc'::jsonb::text;\n", env=env,
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError("jsonb normalisation failed: " + r.stderr.strip())
    return r.stdout.rstrip("\n")


def copy_escape(v):
    if v is None:
        return "\\N"
    if isinstance(v, bytes):
        return "".join("\\x%02x" % b if b >= 0x80 or b < 0x20 or b == 92
                       else chr(b) for b in v)
    return (v.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def run_dump(dump, cols, rows):
    lines = ["C\t%d\t%s" % (oid, copy_escape(name)) for oid, name in cols]
    lines += ["R\t" + "\t".join(copy_escape(v) for v in row) for row in rows]
    r = subprocess.run([dump], input=("\n".join(lines) + "\n").encode(),
                       capture_output=True, check=True)
    return r.stdout.decode("utf-8")


def pg_utc_text(src):
    """What PostgreSQL prints for the timestamptz src with TimeZone=UTC."""
    d = parse_tstz(src).astimezone(datetime.timezone.utc)
    frac = src[19:].split("+")[0].split("-")[0]
    return d.strftime("%Y-%m-%d %H:%M:%S") + frac + "+00"


def parse_tstz(src):
    body = src[:19 + len(src[19:].split("+")[0].split("-")[0])]
    rest = src[len(body):]
    sign = -1 if rest[0] == "-" else 1
    parts = [int(x) for x in rest[1:].split(":")] + [0, 0]
    delta = datetime.timedelta(hours=parts[0], minutes=parts[1],
                               seconds=parts[2])
    naive = datetime.datetime.fromisoformat(body.replace(" ", "T"))
    return naive.replace(tzinfo=datetime.timezone(sign * delta))


def exact_equal(a, b):
    """Deep equality where numbers must be equal, bools stay bools."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(exact_equal(a[k], b[k])
                                            for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(exact_equal, a, b))
    return a == b and type(a) is type(b)


def value_ok(oid, src, got, field):
    """Returns whether got (from pandas) is src (PostgreSQL text)."""
    t = field["type"]
    if src is None:
        return got is None or pd.isna(got)
    if isinstance(src, bytes):
        src = src.decode("utf-8", "replace")
    if t == "string":
        if oid == BOOL and isinstance(got, bool):
            return got == (src == "t")
        if oid == TSTZ and isinstance(got, str) and got != src:
            return got == pg_utc_text(src)
        return isinstance(got, str) and got == src
    if oid in INT:
        if t == "integer":
            return str(got) == str(int(src)) and int(got) == int(src)
        return isinstance(got, float) and decimal.Decimal(got) == int(src)
    if oid in FLOATS or oid == NUMERIC:
        g = float(got)
        if not math.isfinite(g) or g != float(src):
            return False
        return oid != NUMERIC or decimal.Decimal(repr(g)) == \
            decimal.Decimal(src)
    if oid == BOOL:
        return bool(got) is (src == "t")
    if oid == DATE:
        return got == pd.Timestamp(src)
    if oid == TS:
        return got == pd.Timestamp(src.replace(" ", "T"))
    if oid == TSTZ:
        return got == pd.Timestamp(parse_tstz(src))
    if oid in (JSON, JSONB):
        return exact_equal(got, json.loads(src))
    return False


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL %s %s" % (name, detail))


def round_trip(dump, label, oid, values, want_type):
    """One column of values; checks type (if given) and every value."""
    doc = run_dump(dump, [(oid, "c")], [[v] for v in values])
    docs = [("raw", doc)]
    norm = jsonb_normalise(doc)
    if norm is not None:
        docs.append(("jsonb", norm))
    for how, d in docs:
        tag = "%s/%s" % (label, how)
        try:
            df = pd.read_json(io.StringIO(d), orient="table")
        except Exception as e:  # pylint: disable=broad-except
            check(tag + " read", False, repr(e))
            continue
        field = json.loads(d)["schema"]["fields"][1]
        if want_type is not None:
            check(tag + " type", field["type"] == want_type,
                  "%s != %s" % (field["type"], want_type))
        check(tag + " rows", len(df) == len(values))
        for i, v in enumerate(values):
            got = df["c"].iloc[i] if i < len(df) else "<missing>"
            check("%s[%d]" % (tag, i), value_ok(oid, v, got, field),
                  "%r -> %r (%s)" % (v, got, field["type"]))


def matrix():
    """(label, oid, values, type without NULL, type with NULL)."""
    return [
        ("int2", 21, ["0", "-32768", "32767"], "integer", "number"),
        ("int4", 23, ["2147483647", "-2147483648", "7"], "integer",
         "number"),
        ("int8", 20, ["9223372036854775807", "-9223372036854775808", "42"],
         "integer", "string"),
        ("int8 exact", 20, ["9007199254740992", "-1", "4611686018427387904"],
         "integer", "number"),
        ("int8 2^53+1", 20, ["9007199254740993"], "integer", "string"),
        ("oid", 26, ["4294967295", "0"], "integer", "number"),
        ("float8 plain", 701, ["0.1", "-0", "3.141592653589793", "1.5e-07",
                               "123456.789", "0.30000000000000004",
                               "1e+15", "-2.5"], "number", "number"),
        ("float8 1e22", 701, ["1e+22"], "string", "string"),
        ("float8 1e308", 701, ["0.1", "1e+308"], "string", "string"),
        ("float8 5e-324", 701, ["5e-324"], "string", "string"),
        ("float8 max", 701, ["1.7976931348623157e+308"], "string", "string"),
        ("float8 min normal", 701, ["2.2250738585072014e-308"], "string",
         "string"),
        ("float8 1e23", 701, ["1e+23"], "string", "string"),
        ("float8 1+ulp", 701, ["1.0000000000000002"], "string", "string"),
        ("float8 NaN", 701, ["1.5", "NaN", "Infinity", "-Infinity"],
         "string", "string"),
        ("float8 2^64", 701, ["1.8446744073709552e+19"], "string", "string"),
        ("float4", 700, ["0.1", "1.5", "-0", "3.4028235e+38", "1e-45"], None,
         None),
        ("numeric small", 1700, ["0.1", "1234.50", "-0.5", "0", "1e-20"],
         None, None),
        ("numeric plain", 1700, ["0.1", "1234.50", "-0.5", "0",
                                 "99999999.99"], "number", "number"),
        ("numeric big", 1700, ["123456789012345678901234567890.123", "1"],
         "string", "string"),
        ("numeric 17 digits", 1700, ["0.10000000000000001"], "string",
         "string"),
        ("numeric NaN", 1700, ["NaN", "1"], "string", "string"),
        ("numeric 20 digits", 1700, ["12345678901234567890"], "string",
         "string"),
        ("bool", 16, ["t", "f"], "boolean", "string"),
        ("date", 1082, ["2024-01-01", "1677-09-22", "2262-04-11",
                        "2024-02-29"], "datetime", "datetime"),
        ("date out", 1082, ["2024-01-01", "1677-09-21"], "string", "string"),
        ("date 3000", 1082, ["3000-01-01", "2024-01-01"], "string", "string"),
        ("date BC", 1082, ["0044-03-15 BC"], "string", "string"),
        ("date infinity", 1082, ["infinity", "-infinity"], "string",
         "string"),
        ("timestamp", 1114, ["2024-01-01 08:00:00.123456",
                             "2024-02-29 12:00:00", "1970-01-01 00:00:00.5",
                             "1677-09-21 00:12:43.145225",
                             "2262-04-11 23:47:16.854775"], "datetime",
         "datetime"),
        ("timestamp out", 1114, ["2024-01-01 08:00:00",
                                 "1677-09-21 00:12:43.145224"], "string",
         "string"),
        ("timestamp 3000", 1114, ["3000-01-01 00:00:00",
                                  "2024-01-01 08:00:00.25"], "string",
         "string"),
        ("timestamp BC", 1114, ["0044-03-15 00:00:00 BC"], "string",
         "string"),
        ("timestamp infinity", 1114, ["infinity"], "string", "string"),
        ("timestamptz", 1184, ["2024-01-01 08:00:00.123456+00",
                               "2024-01-01 08:00:00+05:30",
                               "1880-01-01 00:00:00+05:45:12",
                               "2024-06-30 23:59:59.5-03",
                               "2262-04-11 23:47:16.854775+00"],
         "datetime", "datetime"),
        ("timestamptz out", 1184, ["2024-01-01 08:00:00.5+00",
                                   "2024-01-01 08:00:00+05:30",
                                   "infinity"], "string", "string"),
        ("timestamptz 3000", 1184, ["3000-01-01 00:00:00+00"], "string",
         "string"),
        ("json", 114, ['{"a": [1, 2.5, "x", null, true]}', '"str"', "3",
                       '{"n": 18446744073709551615}', "[]",
                       '{"u": "\\u00e9\\ud83d\\ude00"}'], "any", "any"),
        ("json dup key", 114, ['{"a": 1, "a": 2}'], "string", "string"),
        ("json big", 114, ['{"big": 1e308}', '{"a": 1}'], "string",
         "string"),
        ("json 2^64", 114, ['{"n": 18446744073709551616}'], "string",
         "string"),
        ("json nul", 114, ['{"z": "\\u0000"}'], "string", "string"),
        ("json null", 114, ["null", '{"a": 1}'], "string", "string"),
        ("jsonb", 3802, ['{"a": 1, "b": [1, 2]}', '{"f": 0.1}', '"s"'],
         "any", "any"),
        ("jsonb lossy", 3802, ['{"f": 1.0000000000000002}'], "string",
         "string"),
        ("jsonb huge", 3802, ['{"x": 100000000000000000000}'], "string",
         "string"),
        ("text", 25, ["", "plain", 'quote " and \\ backslash',
                      "line\nbreak\ttab", "ünïcödé ✓ 😀", "\x01ctl"],
         "string", "string"),
        ("text bad utf8", 25, [b"a\xffb"], "string", "string"),
        ("interval", 1186, ["1 day 02:03:04", "-00:00:00.25"], "string",
         "string"),
        ("bytea", 17, ["\\xdeadbeef", "\\x"], "string", "string"),
        ("uuid", 2950, ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], "string",
         "string"),
        ("text[]", 1009, ["{a,b}", "{}", '{"x y",NULL}'], "string",
         "string"),
        ("int4[]", 1007, ["{1,2}"], "string", "string"),
        ("time", 1083, ["08:00:00", "23:59:59.999999"], "string", "string"),
        ("money", 790, ["$1.00"], "string", "string"),
    ]


def names_case(dump):
    doc = run_dump(dump, [(23, "a"), (23, "a"), (23, "index"), (23, "a_1")],
                   [["1", "2", "3", "4"]])
    df = pd.read_json(io.StringIO(doc), orient="table")
    check("names", list(df.columns) == ["a", "a_1", "index_1", "a_1_1"],
          repr(list(df.columns)))
    check("names values", df.iloc[0].tolist() == [1, 2, 3, 4])


def main():
    dump = build_dump()
    if os.environ.get("PGSCHED_TEST_PGURI"):
        print("jsonb leg: on")
    else:
        print("jsonb leg: skipped (set PGSCHED_TEST_PGURI)")
    for label, oid, values, t, tn in matrix():
        round_trip(dump, label, oid, values, t)
        round_trip(dump, label + " +null", oid, values + [None], tn)
        round_trip(dump, label + " null first", oid, [None] + values, tn)
    round_trip(dump, "empty", 23, [], "integer")
    names_case(dump)
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
