#!/usr/bin/python3
"""XLSX of stored result documents read back by pandas (CONTRACT section 9).

Every value of tests/py/test_result_pandas.py's matrix goes through the
real serialiser (tests/unit/result_dump.c), optionally PostgreSQL's own
::jsonb::text (when $PGSCHED_TEST_PGURI names a server), then
tests/unit/xlsx_dump.c (xlsx_write_tmp(), as the API calls it).  The file is
read with pandas.read_excel(dtype=object) (openpyxl) and each cell is
compared with what pandas.read_json(orient='table') reads from the same
document (cell_ok() below says how), with and without raw=1.  Then: formula
neutralisation, Excel's row, column and cell-length limits (cut, counted
and said in the sheet "notes"), and memory that does not grow with the
row count (10,000 vs 100,000 rows).  Prints "N passed, N failed" last and
exits 1 on any failure.

dtype=object: pandas' default inference turns text that looks like a number
into a number (with its own lossy float parser), as read_csv does; the
cells themselves are typed, so object columns give back what they hold.
"""
import datetime
import decimal
import io
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import warnings
import zipfile

import numpy as np
import openpyxl
import pandas as pd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import test_result_pandas as rules  # noqa: E402  pylint: disable=C0413

warnings.simplefilter("ignore")
ROOT = pathlib.Path(__file__).resolve().parents[2]
PASSED = 0
FAILED = 0
MAX_ROWS, MAX_COLS, MAX_CHARS = 1048576, 16384, 32767
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
EXCEL_MIN = pd.Timestamp("1900-03-01")


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL %s %s" % (name, detail))


def xlsx_dump_path():
    """Returns the xlsx_dump binary: $XLSX_DUMP, else the one of
    $PGSCHED_BUILDDIR (make check sets both)."""
    path = os.environ.get("XLSX_DUMP") or os.path.join(
        os.environ.get("PGSCHED_BUILDDIR", "."), "tests/unit/xlsx_dump")
    if not os.access(path, os.X_OK):
        raise SystemExit("no xlsx_dump at %s: build it (make check) or set"
                         " XLSX_DUMP" % path)
    return path


def formula_risk(s):
    """csv_formula_risk() of src/csv.c: the one rule, restated."""
    return bool(s) and s[0] in "=+-@\t\r" and not PLAIN_NUMBER.fullmatch(s)


def cell_text(s, raw):
    """The text a cell holds for the string s, as openpyxl shows it: the
    guard unless raw, ECMA-376 escapes for a literal _xHHHH_ and for the
    control characters XML cannot hold (openpyxl does not decode them)."""
    if not raw and formula_risk(s):
        s = "'" + s
    s = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", s)
    return re.sub(r"[\x00-\x08\x0b-\x1f]",
                  lambda m: "_x%04X_" % ord(m.group(0)), s)


def sig_digits(r):
    """Significant digits of a repr() of a float."""
    mant = r.lower().split("e")[0].lstrip("-").replace(".", "")
    return len(mant.strip("0"))


def number_cell(j):
    """Whether the number j (from read_json) gets a number cell: exactly
    a normal double (or zero), written in at most 16 digits."""
    f = float(j)
    if f == 0:
        return True
    if not math.isfinite(f) or abs(f) < sys.float_info.min:
        return False
    if isinstance(j, (int, np.integer)) and int(f) != int(j):
        return False
    return sig_digits(repr(f)) <= 16


def date_cell(j):
    """Whether the timestamp j gets a date cell: whole ms, from 1900-03-01
    (the UTC wall time of an aware one; pandas stops before 9999)."""
    w = j.tz_convert("UTC").tz_localize(None) if j.tzinfo else j
    return w.nanosecond == 0 and w.microsecond % 1000 == 0 and \
        w >= EXCEL_MIN


def is_na(v):
    if isinstance(v, (str, bool, np.bool_, dict, list)):
        return False
    return v is None or bool(pd.isna(v))


def time_ok(j, x):
    """A date cell reads as a naive datetime (the UTC wall time of an aware
    value); text as the document's ISO string, which pandas 1.5 may parse
    itself when the column also has dates."""
    if not isinstance(x, (str, datetime.datetime)):
        return False
    t = pd.Timestamp(x)
    if t.tzinfo is None and j.tzinfo is not None:
        t = t.tz_localize("UTC")
    return t == j


def number_ok(j, x):
    if isinstance(x, str):
        if isinstance(j, (int, np.integer)):
            return decimal.Decimal(x) == int(j)
        return float(x) == float(j)
    return isinstance(x, (int, float, np.number)) and \
        not isinstance(x, (bool, np.bool_)) and x == j


def cell_ok(j, x, raw):
    """Whether the value x (read_excel) is the value j (read_json of the
    same document)."""
    if is_na(j):
        return is_na(x)
    if isinstance(j, (bool, np.bool_)):
        return isinstance(x, (bool, np.bool_)) and bool(x) == bool(j)
    if isinstance(j, (pd.Timestamp, datetime.datetime)):
        return time_ok(pd.Timestamp(j), x)
    if isinstance(j, (dict, list)):
        return isinstance(x, str) and rules.exact_equal(json.loads(x), j)
    if isinstance(j, str):
        if j == "":
            return is_na(x)     # read_excel: an empty text cell is NaN
        return x == cell_text(j, raw)
    return number_ok(j, x)


def type_ok(j, v):
    """Whether openpyxl's value v of the cell of j has the type the typing
    rules of src/xlsx.c give j (restated here)."""
    if is_na(j) or (isinstance(j, str) and j == ""):
        return v is None
    if isinstance(j, (bool, np.bool_)):
        return isinstance(v, bool)
    if isinstance(j, (pd.Timestamp, datetime.datetime)):
        return isinstance(v, datetime.datetime if date_cell(pd.Timestamp(j))
                          else str)
    if isinstance(j, (str, dict, list)) or not number_cell(j):
        return isinstance(v, str)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def trailing_na(df):
    """How many rows at the end of df are NA in every column."""
    n = 0
    while n < len(df) and all(is_na(v) for v in df.iloc[len(df) - 1 - n]):
        n += 1
    return n


WORK = []


def work_dir():
    """The run's temporary directory (removed when main() ends)."""
    if not WORK:
        WORK.append(tempfile.TemporaryDirectory(prefix="xlsx-test-"))
    return pathlib.Path(WORK[0].name)


def convert(dump, doc, raw=False, env=None):
    """Writes doc (text) to a file and converts it; returns (xlsx path,
    stats dict).  Each call reuses the same two files."""
    d = work_dir()
    (d / "doc.json").write_text(doc, encoding="utf-8")
    args = [dump] + (["-r"] if raw else []) + [str(d / "doc.json"),
                                                str(d / "out.xlsx")]
    r = subprocess.run(args, capture_output=True, text=True, check=False,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        raise RuntimeError("xlsx_dump exit %d: %s" % (r.returncode,
                                                      r.stderr.strip()))
    line = r.stderr.strip().splitlines()[-1]
    stats = dict(kv.split("=") for kv in line.split())
    return d / "out.xlsx", {k: int(v) for k, v in stats.items()}


def read_xlsx(xlsx, sheet="result"):
    """pandas.read_excel keeping each cell's own type: dtype=object, and
    only an empty cell is NA (the defaults also read text such as "NA" or
    "null" as NaN, and number-like text as numbers, as read_csv does)."""
    return pd.read_excel(xlsx, sheet_name=sheet, dtype=object,
                         keep_default_na=False, na_values=[""])


def typed_cells(xlsx):
    """The data rows of the sheet "result" as openpyxl reads them."""
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    rows = [[c.value for c in r] for r in wb["result"].rows][1:]
    wb.close()
    return rows


def compare(tag, doc, xlsx, raw):
    """Compares every cell and name of xlsx with read_json of doc."""
    want = pd.read_json(io.StringIO(doc), orient="table")
    got = read_xlsx(xlsx)
    cells = typed_cells(xlsx)
    names = [cell_text(str(c), raw) for c in want.columns]
    check(tag + " names", list(got.columns) == names,
          "%r != %r" % (list(got.columns), names))
    # pandas.read_excel drops trailing rows with no value at all.
    nrows = len(want) - trailing_na(want)
    check(tag + " rows", len(got) == nrows, "%d != %d" % (len(got), nrows))
    for ci, c in enumerate(want.columns):
        for ri in range(min(nrows, len(got))):
            j, x = want[c].iloc[ri], got.iloc[ri, ci]
            check("%s %s[%d]" % (tag, c, ri), cell_ok(j, x, raw),
                  "json %r -> xlsx %r" % (j, x))
            v = cells[ri][ci] if ri < len(cells) and ci < len(cells[ri]) \
                else None
            check("%s %s[%d] type" % (tag, c, ri), type_ok(j, v),
                  "json %r -> cell %r" % (j, v))


def round_trip(dump, label, oid, values, both):
    doc = rules.run_dump(dump_result(), [(oid, "c")], [[v] for v in values])
    docs = [("raw", doc)]
    norm = rules.jsonb_normalise(doc)
    if norm is not None:
        docs.append(("jsonb", norm))
    for how, d in docs:
        for raw in ((False, True) if both and how == "raw" else (False,)):
            tag = "%s/%s%s" % (label, how, " raw=1" if raw else "")
            try:
                path, _ = convert(dump, d, raw)
                compare(tag, d, path, raw)
            except Exception as e:  # pylint: disable=broad-except
                check(tag + " converts and reads", False, repr(e))


RESULT_DUMP = []


def dump_result():
    """Returns the result_dump binary (built once when not given)."""
    if not RESULT_DUMP:
        RESULT_DUMP.append(rules.build_dump())
    return RESULT_DUMP[0]


def test_matrix(dump):
    for label, oid, values, _, _ in rules.matrix():
        round_trip(dump, label, oid, values, True)
        round_trip(dump, label + " +null", oid, values + [None], False)
        round_trip(dump, label + " null first", oid, [None] + values, False)
    round_trip(dump, "empty", 23, [], True)


def sheet_xml(path, n=1):
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet%d.xml" % n).decode("utf-8")


def test_formulas(dump):
    """CONTRACT section 9: cells and names starting with = + - @ tab CR
    get a leading ' (plain numbers such as -5 are numbers); raw=1 keeps
    them.  No cell is ever a formula."""
    # (value, cell text, cell text with raw=1); CR is XML-escaped.
    cases = [("=1+1", "'=1+1", "=1+1"), ("+1+1", "'+1+1", "+1+1"),
             ("-1-1", "'-1-1", "-1-1"), ("@SUM(A1)", "'@SUM(A1)", "@SUM(A1)"),
             ("\tx", "'\tx", "\tx"), ("\rx", "'_x000D_x", "_x000D_x"),
             ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")',
              '=HYPERLINK("http://x","y")'),
             ("-5", "-5", "-5"), ("+1.5e3", "+1.5e3", "+1.5e3"),
             ("a=b", "a=b", "a=b")]
    doc = rules.run_dump(dump_result(), [(25, "=name"), (25, "t"),
                                         (23, "n")],
                         [[v, v, "-7"] for v, _, _ in cases])
    for raw in (False, True):
        path, _ = convert(dump, doc, raw)
        got = read_xlsx(path)
        tag = "formulas raw=%d" % raw
        want_names = ["=name", "t", "n"] if raw else ["'=name", "t", "n"]
        check(tag + " names", list(got.columns) == want_names,
              list(got.columns))
        for i, (v, guarded, plain) in enumerate(cases):
            x = got["t"].iloc[i]
            check("%s %r" % (tag, v), x == (plain if raw else guarded),
                  repr(x))
            check("%s -7 is a number" % tag, got["n"].iloc[i] == -7)
        check(tag + " no formula cell", "<f>" not in sheet_xml(path))


def long_text_doc(n_chars):
    return rules.run_dump(dump_result(), [(25, "t"), (23, "i")],
                          [["x" * n_chars, "1"], ["short", "2"]])


def test_cell_limit(dump):
    doc = long_text_doc(MAX_CHARS + 100)
    path, st = convert(dump, doc)
    got = read_xlsx(path)
    check("cell cut to 32,767", got["t"].iloc[0] == "x" * MAX_CHARS,
          len(got["t"].iloc[0]))
    check("cell cut counted", st["cells_cut"] == 1, st)
    check("other cells whole", got["t"].iloc[1] == "short" and
          got["i"].tolist() == [1, 2])
    notes = pd.read_excel(path, sheet_name="notes", header=None)[0]
    check("notes name the cut cell", any("A2" in s and "32767" in s
                                         for s in notes), notes.tolist())
    path, st = convert(dump, long_text_doc(MAX_CHARS))
    check("32,767 characters fit", st["cells_cut"] == 0 and
          "notes" not in pd.ExcelFile(path).sheet_names, st)


def test_col_limit(dump):
    n = MAX_COLS + 2
    rows = [{"index": 0, **{"c%d" % i: i for i in range(n)}}]
    fields = [{"name": "index", "type": "integer"}] + [
        {"name": "c%d" % i, "type": "integer"} for i in range(n)]
    doc = json.dumps({"data": rows, "schema": {
        "fields": fields, "primaryKey": ["index"]}})
    path, st = convert(dump, doc)
    got = read_xlsx(path)
    check("16,384 columns kept", got.shape == (1, MAX_COLS), got.shape)
    check("last kept column", list(got.columns)[-1] == "c16383" and
          got.iloc[0, -1] == 16383)
    check("columns cut counted", st["cols_cut"] == 2, st)
    notes = pd.read_excel(path, sheet_name="notes", header=None)[0]
    check("notes say the columns", any("16384 of 16386 columns" in s
                                       for s in notes), notes.tolist())


def test_row_limit(dump):
    """One data row more than a sheet holds: the last is left out."""
    n = MAX_ROWS
    doc = '{"data":[%s],"schema":{"fields":[{"name":"index","type":' \
        '"integer"},{"name":"a","type":"integer"}],"primaryKey":' \
        '["index"]}}' % ",".join('{"index":%d,"a":%d}' % (i, i)
                                 for i in range(n))
    path, st = convert(dump, doc)
    check("rows written", st["rows"] == MAX_ROWS - 1, st)
    check("rows cut counted", st["rows_cut"] == 1, st)
    tail = sheet_xml(path)[-400:]
    check("last sheet row is row 1,048,576 holding data row 1,048,574",
          '<row r="1048576"><c r="A1048576"><v>1048574</v></c></row>'
          "</sheetData>" in tail, tail)
    notes = sheet_xml(path, 2)
    check("notes say the rows", "the first 1048575 of 1048576 rows" in
          notes, notes[-500:])


def wide_doc(nrows):
    """A result of nrows rows of seven typical columns, serialised."""
    cols = [(20, "id"), (701, "f"), (1700, "num"), (25, "txt"),
            (1184, "ts"), (16, "b"), (3802, "j")]
    rows = [[str(i), str(i * 0.25), "%d.%02d" % (i, i % 100),
             'quote " and \u00fc %d' % i,
             "2024-01-01 08:%02d:%02d.%06d+00" % (i // 60 % 60, i % 60, i),
             "t" if i % 2 else "f", '{"k": %d, "a": [1, 2]}' % i]
            for i in range(nrows)]
    return rules.run_dump(dump_result(), cols, rows)


def test_memory(dump):
    """Peak RSS of the conversion itself (peak_kb - doc_kb of xlsx_dump,
    the document being resident before it starts) for 10,000 and 100,000
    rows: it must not grow with the rows.  ASan's quarantine of freed
    memory (a debugging aid that keeps every freed block for a while) is
    turned off, so that the figure is the program's."""
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
           ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}
    use = {}
    for n in (10000, 100000):
        doc = wide_doc(n)
        path, st = convert(dump, doc, env=env)
        use[n] = st["peak_kb"] - st["doc_kb"]
        check("%d rows written" % n, st["rows"] == n, st)
        print("memory: %d rows, document %d kB, conversion %d kB, file %d"
              " bytes" % (n, len(doc) // 1024, use[n], st["bytes"]))
        if n == 10000:
            got = read_xlsx(path)
            check("10,000 rows read back", len(got) == n and
                  got["id"].iloc[-1] == n - 1)
    check("conversion memory does not grow with rows",
          use[100000] - use[10000] <= 1024, use)
    check("conversion memory is small", use[100000] <= 32 * 1024, use)


def main():
    dump = xlsx_dump_path()
    if os.environ.get("PGSCHED_TEST_PGURI"):
        print("jsonb leg: on")
    else:
        print("jsonb leg: skipped (set PGSCHED_TEST_PGURI)")
    for t in (test_matrix, test_formulas, test_cell_limit, test_col_limit,
              test_row_limit, test_memory):
        print("--", t.__name__, flush=True)
        try:
            t(dump)
        except Exception as e:  # pylint: disable=broad-except
            check(t.__name__ + " raised", False, repr(e))
    if WORK:
        WORK[0].cleanup()
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED or PASSED == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
