"""The formats of a run's result (issue 13, CONTRACT section 9), through
nginx and the real pool, on every route that returns one (a run by id, the
latest run of a query):

- the Accept negotiation table: JSON, CSV and XLSX by media type, q-values,
  wildcards, browsers' headers, nothing acceptable -> 406 with the error
  body listing the offered types, ?format= winning over Accept, Vary:
  Accept, run-<id>.xlsx; each asked on every worker, cold and from the
  workers' cache, so that a cached CSV is never served for XLSX;
- every type of tests/db/test_types_e2e.py run by the real runner (a manual
  run) and its XLSX read back by pandas.read_excel, equal to the values of
  the JSON answer's result (the comparison of tests/py/test_xlsx_pandas.py),
  with and without raw=1;
- formula neutralisation in XLSX cells and column names, raw=1 as stored;
- ETag and 304 with If-None-Match for JSON, CSV and XLSX (small, cached and
  large, streamed), HEAD;
- a 100,000-row result streamed as XLSX with bounded memory: the peak RSS
  (VmHWM) of the pool's workers before and after.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_formats.py
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import openpyxl
import psycopg2
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "py"))
sys.path.insert(0, os.path.join(HERE, "..", "db"))
from apitest import (  # noqa: E402
    URL, add_source, check, err, finish, session, wait_for, worker_pids)
import test_types_e2e as types  # noqa: E402
import test_xlsx_pandas as xl  # noqa: E402

xl.check = check    # count xl.compare()'s checks in apitest's tally
WORKERS = int(os.environ.get("PGSCHED_TEST_WORKERS", "2"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX}
TMP = tempfile.TemporaryDirectory(prefix="formats-")
BIG_ROWS = 100000


def meta():
    c = psycopg2.connect(os.environ["PG_DSN_APP"])
    c.autocommit = True
    return c


def new_query(ed, dsid, name, sql="SELECT 1 AS one"):
    r = ed.post(URL + "/api/admin/queries",
                json={"name": name, "title": name, "sql_text": sql,
                      "data_source_id": dsid, "schedule_type": "interval",
                      "schedule_expr": "PT6H"})
    check("query %s created" % name, r.status_code == 201, r.text)
    return r.json()["query"]["id"]


def add_run(qid, doc, rows):
    """Commits a successful run of qid with the stored result doc (text);
    returns its id."""
    c = meta()
    with c.cursor() as cur:
        cur.execute("INSERT INTO query_run (query_id, scheduled_at,"
                    " job_timezone, run_started_at, run_finished_at,"
                    " duration_ms, status, rows_returned) VALUES (%s,"
                    " clock_timestamp(), 'UTC', now(), now(), 5, 'success',"
                    " %s) RETURNING id", (qid, rows))
        rid = cur.fetchone()[0]
        cur.execute("INSERT INTO query_run_blob (run_id, df_json,"
                    " row_count, byte_size) VALUES (%s, %s, %s, %s)",
                    (rid, doc, rows, len(doc)))
    c.close()
    return rid


def doc_of(fields, rows):
    """A stored document of fields [(name, type)] and rows (dicts)."""
    return json.dumps({
        "schema": {"fields": [{"name": "index", "type": "integer"}] +
                   [{"name": n, "type": t} for n, t in fields],
                   "primaryKey": ["index"], "pandas_version": "1.4.0"},
        "data": [dict(index=i, **row) for i, row in enumerate(rows)]})


def result_text(r):
    """The stored document as the JSON answer r holds it (spliced
    verbatim, so the text is the database's, digits and all)."""
    i = r.text.rindex(',"result":')
    return r.text[i + len(',"result":'):-1]


def save(r, name):
    path = os.path.join(TMP.name, name)
    with open(path, "wb") as f:
        f.write(r.content)
    return path


def kind_of(r):
    """json, csv, xlsx (by Content-Type and body) or a description."""
    ct = r.headers.get("Content-Type", "")
    if ct == "application/json":
        try:
            return "json" if "result" in r.json() else "json?"
        except ValueError:
            return "json!"
    if ct == "text/csv; charset=utf-8":
        return "csv"
    if ct == XLSX and r.content[:2] == b"PK":
        return "xlsx"
    return "%d %s" % (r.status_code, ct)


# --- Accept negotiation -------------------------------------------------------

BROWSER = ("text/html,application/xhtml+xml,application/xml;q=0.9,"
           "image/avif,image/webp,*/*;q=0.8")
# (Accept header or None, ?format= or None, expected: a format or a status)
TABLE = [
    (None, None, "json"),
    ("*/*", None, "json"),
    ("", None, "json"),
    ("application/json", None, "json"),
    ("text/csv", None, "csv"),
    (XLSX, None, "xlsx"),
    (BROWSER, None, "json"),
    ("application/json, text/plain, */*", None, "json"),
    ("application/json;q=0.5, text/csv;q=0.9", None, "csv"),
    ("text/csv;q=0.2, %s;q=0.8" % XLSX, None, "xlsx"),
    ("application/*;q=0.1, " + XLSX, None, "xlsx"),
    ("text/*", None, "csv"),
    ("text/csv; charset=utf-8", None, "csv"),
    ("text/csv;q=0, */*;q=0.1", None, "json"),
    ("application/json;q=0, text/csv;q=0.3, */*;q=0.5", None, "xlsx"),
    ("text/html", None, 406),
    ("image/png, text/csv;q=0", None, 406),
    ("*/*;q=0", None, 406),
    ("garbage", None, 406),
    ("text/html", "xlsx", "xlsx"),
    ("text/csv", "json", "json"),
    (XLSX, "csv", "csv"),
    ("application/json", "xlsx", "xlsx"),
    ("text/html", "json", "json"),
    ("text/csv", "pdf", 422),
]

SMALL = doc_of([("n", "integer"), ("s", "string")],
               [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}])


def ask(s, url, accept, fmt):
    """GET url with ?format=fmt (None: none) and the Accept header accept
    (None: no Accept header at all)."""
    return s.get(url, params={"format": fmt} if fmt else None,
                 headers={"Accept": accept})


def table_cell(tag, r, want, run_id):
    vary = r.headers.get("Vary", "")
    check(tag + ": Vary: Accept", "Accept" in
          [v.strip() for v in vary.split(",")], vary)
    if want == 406:
        body = r.json() if r.headers.get("Content-Type") == \
            "application/json" else {}
        check(tag + ": 406", err(r, 406, "not_acceptable") and
              all(t in body.get("message", "") for t in TYPES.values()),
              r.text[:300])
        return
    if want == 422:
        check(tag + ": 422 format", err(r, 422, "invalid", "format"),
              r.text[:300])
        return
    got = kind_of(r)
    check(tag + ": " + want, r.status_code == 200 and got == want,
          "%d %s" % (r.status_code, got))
    cd = r.headers.get("Content-Disposition", "")
    if want == "json":
        check(tag + ": no attachment", cd == "", cd)
    else:
        check(tag + ": attachment run-%d.%s" % (run_id, want),
              cd == 'attachment; filename="run-%d.%s"' % (run_id, want), cd)


def test_negotiation(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "negotiation")
    rid = add_run(qid, SMALL, 2)
    routes = [("by id", URL + "/api/runs/%d" % rid),
              ("latest", URL + "/api/queries/%d/runs/latest" % qid)]
    anon = requests.Session()
    # Twice per worker: the second answers come from the workers' caches,
    # asked in an order that puts every format beside every other.
    for rnd in range(2 * WORKERS):
        for name, url in routes:
            for accept, fmt, want in TABLE:
                tag = "%s Accept=%r format=%s (%d)" % (name, accept, fmt,
                                                        rnd)
                table_cell(tag, ask(anon, url, accept, fmt), want, rid)
    # The error body of the 406 names what is offered, and is JSON.
    r = anon.get(URL + "/api/runs/%d" % rid, headers={"Accept": "image/*"})
    print("406 message:", r.json().get("message"))
    # A logged-in editor (full error messages, another cache key) too.
    for accept, fmt, want in TABLE:
        table_cell("editor Accept=%r format=%s" % (accept, fmt),
                   ask(ed, routes[0][1], accept, fmt), want, rid)
    # An unknown run is 404 whatever the format; 406 comes first.
    r = anon.get(URL + "/api/runs/999999?format=xlsx")
    check("unknown run xlsx 404", err(r, 404), r.text)
    r = anon.get(URL + "/api/runs/999999", headers={"Accept": "text/html"})
    check("unknown run, nothing acceptable: 406", err(r, 406), r.text)
    # A run without a stored result has no file.
    c = meta()
    with c.cursor() as cur:
        cur.execute("INSERT INTO query_run (query_id, scheduled_at, status)"
                    " VALUES (%s, clock_timestamp(), 'skipped')"
                    " RETURNING id", (qid,))
        skipped = cur.fetchone()[0]
    c.close()
    r = anon.get(URL + "/api/runs/%d" % skipped, headers={"Accept": XLSX})
    check("XLSX of a run without result 404", err(r, 404), r.text)
    r = anon.get(URL + "/api/runs/%d?format=xlsx&raw=2" % rid)
    check("raw=2 422", err(r, 422, "invalid", "raw"), r.text)


# --- every type, read back by pandas ------------------------------------------

def manual_run(ed, qid):
    """Runs qid now (the real runner); returns the finished run's id."""
    r = ed.post(URL + "/api/admin/queries/%d/run" % qid, json={})
    check("manual run %d accepted" % qid, r.status_code == 202, r.text)
    rid = r.json().get("run_id")

    def done():
        x = ed.get(URL + "/api/runs/%d" % rid)
        return x.status_code == 200 and x.json()["status"] in (
            "success", "error") and x
    x = wait_for(done, timeout=120, step=0.2)
    check("run %s finished successfully" % rid, x and
          x.json()["status"] == "success", x and x.text[:500])
    return rid


def test_types(dsid):
    subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1",
                    os.environ["PGSCHED_TEST_SOURCE_URI"], "-c",
                    "DROP TYPE IF EXISTS mood; CREATE TYPE mood AS ENUM"
                    " ('sad', 'ok', 'happy')"], check=True)
    ed = session("editor")
    anon = requests.Session()
    for with_nulls in (False, True):
        name = "types%s" % ("+nulls" if with_nulls else "")
        qid = new_query(ed, dsid, name.replace("+", "_"),
                        types.job_sql(with_nulls))
        rid = manual_run(ed, qid)
        j = anon.get(URL + "/api/runs/%d" % rid)
        doc = result_text(j)
        rows = len(json.loads(doc)["data"])
        check(name + ": rows", rows == types.NROWS + with_nulls, rows)
        for raw in (False, True):
            tag = "%s raw=%d" % (name, raw)
            url = URL + "/api/runs/%d?format=xlsx%s" % (
                rid, "&raw=1" if raw else "")
            r = anon.get(url)
            check(tag + ": xlsx", kind_of(r) == "xlsx", kind_of(r))
            xl.compare(tag, doc, save(r, "types.xlsx"), raw)
            # The same through Accept, on the latest route.
            r = anon.get(URL + "/api/queries/%d/runs/latest%s" % (
                qid, "?raw=1" if raw else ""), headers={"Accept": XLSX})
            check(tag + ": latest by Accept", kind_of(r) == "xlsx",
                  kind_of(r))
            xl.compare(tag + " latest", doc, save(r, "types.xlsx"), raw)
        print("%s: %d columns x %d rows compared, raw=0 and raw=1" % (
            name, len(types.COLUMNS), rows))


# --- formulas -----------------------------------------------------------------

FORMULAS = doc_of([("=cmd", "string"), ("n", "integer"), ("s", "string")], [
    {"=cmd": '=HYPERLINK("http://x")', "n": -5,
     "s": "+1+cmd|' /C calc'!A0"},
    {"=cmd": "@SUM(1)", "n": 7, "s": "\tx-1.5"},
    {"=cmd": "-2-3", "n": 0, "s": "-7.5"}])
SAFE = [["'=cmd", "n", "s"],
        ['\'=HYPERLINK("http://x")', -5, "'+1+cmd|' /C calc'!A0"],
        ["'@SUM(1)", 7, "'\tx-1.5"], ["'-2-3", 0, "-7.5"]]
RAW = [["=cmd", "n", "s"], ['=HYPERLINK("http://x")', -5,
                            "+1+cmd|' /C calc'!A0"],
       ["@SUM(1)", 7, "\tx-1.5"], ["-2-3", 0, "-7.5"]]


def sheet_rows(path):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [[c.value for c in r] for r in wb["result"].rows]
    wb.close()
    return rows


def test_formulas(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "formulas")
    rid = add_run(qid, FORMULAS, 3)
    anon = requests.Session()
    for i in range(2 * WORKERS):
        for raw, want in ((True, RAW), (False, SAFE)):
            r = anon.get(URL + "/api/runs/%d?format=xlsx%s" % (
                rid, "&raw=1" if raw else ("&raw=0" if i % 2 else "")))
            path = save(r, "formulas.xlsx")
            got = sheet_rows(path) if kind_of(r) == "xlsx" else None
            check("xlsx raw=%d cells (%d)" % (raw, i), got == want,
                  "%r" % (got,))
            if got:
                with zipfile.ZipFile(path) as z:
                    xml = z.read("xl/worksheets/sheet1.xml")
                check("xlsx raw=%d: no formula cell" % raw,
                      b"<f>" not in xml)
        # CSV of the same run, between them: never served for XLSX.
        r = anon.get(URL + "/api/runs/%d" % rid,
                     headers={"Accept": "text/csv"})
        check("CSV between them", kind_of(r) == "csv" and
              r.text.startswith("'=cmd,n,s\r\n"), r.text[:100])


# --- ETag and 304 -------------------------------------------------------------

def revalidate(tag, s, url, headers=None):
    """Asks url, then again with its ETag on every worker: 304 each time.
    Returns the ETag."""
    headers = dict(headers or {})
    r = s.get(url, headers=headers)
    etag = r.headers.get("ETag")
    check(tag + ": 200 with an ETag", r.status_code == 200 and
          etag is not None, r.status_code)
    for i in range(2 * WORKERS):
        r2 = s.get(url, headers=dict(headers, **{"If-None-Match": etag}))
        check("%s: 304 (%d)" % (tag, i), r2.status_code == 304 and
              r2.content == b"" and r2.headers.get("ETag") == etag,
              "%d %r" % (r2.status_code, r2.headers.get("ETag")))
    r3 = s.get(url, headers=dict(headers, **{"If-None-Match": '"other"'}))
    check(tag + ": another tag gets 200", r3.status_code == 200 and
          r3.headers.get("ETag") == etag and len(r3.content) > 0)
    return etag


def test_etag(dsid):
    ed = session("editor")
    qid = new_query(ed, dsid, "etag")
    rid = add_run(qid, FORMULAS, 3)
    anon = requests.Session()
    by_id = URL + "/api/runs/%d" % rid
    latest = URL + "/api/queries/%d/runs/latest" % qid
    tags = {}
    for name, url in (("by id", by_id), ("latest", latest)):
        for fmt, q, hdr in (("json", "", None), ("csv", "?format=csv", None),
                            ("xlsx", "?format=xlsx", None),
                            ("xlsx raw", "?format=xlsx&raw=1", None),
                            ("xlsx accept", "", {"Accept": XLSX})):
            tags[(name, fmt)] = revalidate("%s %s" % (name, fmt), anon,
                                           url + q, hdr)
    check("one XLSX tag by ?format= and by Accept",
          tags[("by id", "xlsx")] == tags[("by id", "xlsx accept")])
    check("XLSX, raw XLSX, CSV and JSON tags differ",
          len({tags[("by id", f)] for f in
               ("json", "csv", "xlsx", "xlsx raw")}) == 4, tags)
    # HEAD: the headers of a GET, no body.
    r = anon.head(by_id + "?format=xlsx")
    check("HEAD xlsx", r.status_code == 200 and r.content == b"" and
          r.headers.get("Content-Type") == XLSX and
          int(r.headers.get("Content-Length", "0")) > 0,
          dict(r.headers))


# --- 100,000 rows, bounded memory ---------------------------------------------

def big_doc(n):
    rows = [{"id": i, "name": "row %d \u00e9" % i, "f": i * 0.25,
             "ts": "2024-01-01T%02d:%02d:%02d.%03dZ" % (
                 i // 3600 % 24, i // 60 % 60, i % 60, i % 1000),
             "b": i % 2 == 0} for i in range(n)]
    return doc_of([("id", "integer"), ("name", "string"),
                   ("f", "number"), ("ts", "datetime"),
                   ("b", "boolean")], rows)


def vm_hwm(pid):
    """Peak resident set of pid in kB (VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def stream_to(r, path):
    n = 0
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):
            f.write(chunk)
            n += len(chunk)
    return n


def fresh_workers():
    """Replaces the pool's workers (SIGHUP) and waits for the new ones
    alone (the old ones drain their kept connections); each then serves a
    small request.  Returns their pids."""
    master, old = worker_pids()
    os.kill(master, signal.SIGHUP)
    new = wait_for(lambda: (lambda p: p if len(p) == len(old) and
                            not set(p) & set(old) else None)
                   (worker_pids()[1]), timeout=60)
    check("workers replaced", new is not None, worker_pids())
    for _ in range(4 * WORKERS):
        requests.get(URL + "/api/queries")
    return new or []


def peak_growth(url, headers=None):
    """Asks url (streamed to a file) of fresh workers; returns (the
    largest growth of a worker's peak RSS in kB, the answer, the body's
    path, its size, seconds)."""
    pids = fresh_workers()
    before = {p: vm_hwm(p) for p in pids}
    t0 = time.monotonic()
    r = requests.get(url, stream=True, timeout=300, headers=headers)
    path = os.path.join(TMP.name, "big.out")
    size = stream_to(r, path)
    secs = time.monotonic() - t0
    grew = max(vm_hwm(p) - before[p] for p in pids)
    return grew, r, path, size, secs


def last_row(path):
    """The tail of the sheet: (number of its last row, that row's XML)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        with z.open(info) as f:
            f.seek(max(0, info.file_size - 4000))
            tail = f.read().decode("utf-8", "replace")
    m = re.search(r'<row r="(\d+)"[^>]*>(?:(?!</row>).)*</row>'
                  r"</sheetData>", tail)
    return (int(m.group(1)), m.group(0)) if m else (None, tail[-600:])


def test_big(dsid):
    """XLSX of 100,000 rows, streamed: what the serving worker's peak RSS
    grows by, beyond what reading the run's document takes (measured by a
    304 revalidation of the same XLSX, which reads and hashes the document
    and writes nothing), is a constant: the same at 10,000 rows, and less
    than the file, which is never held in memory."""
    ed = session("editor")
    qid = new_query(ed, dsid, "big")
    extra = {}
    for n in (BIG_ROWS // 10, BIG_ROWS):
        doc = big_doc(n)
        rid = add_run(qid, doc, n)
        doc_kb = len(doc.encode()) // 1024
        url = URL + "/api/runs/%d?format=xlsx" % rid
        grew, r, path, size, secs = peak_growth(url)
        check("%d rows: xlsx 200" % n, r.status_code == 200 and
              r.headers.get("Content-Type") == XLSX, r.status_code)
        check("%d rows: whole file" % n, size == int(
            r.headers.get("Content-Length", "-1")), size)
        rows, xml = last_row(path)
        check("%d rows: every row in the sheet" % n, rows == n + 1 and
              "<v>%d</v>" % (n - 1) in xml, xml)
        etag = r.headers.get("ETag")
        read, r304, _, _, secs304 = peak_growth(
            url, {"If-None-Match": etag})
        check("%d rows: 304" % n, r304.status_code == 304,
              r304.status_code)
        extra[n] = grew - read
        print("xlsx %d rows: document %d kB, file %d kB, %.1f s (304 in"
              " %.2f s); the worker's peak RSS grew %d kB, reading the"
              " document %d kB, XLSX %d kB" % (
                  n, doc_kb, size // 1024, secs, secs304, grew, read,
                  extra[n]))
        if n == BIG_ROWS:
            json_grew = peak_growth(URL + "/api/runs/%d" % rid)[0]
            print("json %d rows, for scale: grew %d kB (%.2f x document)"
                  % (n, json_grew, json_grew / doc_kb))
            check("%d rows: XLSX adds %d kB, less than the file (%d kB)"
                  % (n, extra[n], size // 1024), extra[n] < size // 1024)
            check("%d rows: less than the JSON answer" % n,
                  grew < json_grew, (grew, json_grew))
    check("XLSX's memory does not grow with the rows (%d kB at %d rows,"
          " %d kB at %d)" % (extra[BIG_ROWS // 10], BIG_ROWS // 10,
                             extra[BIG_ROWS], BIG_ROWS),
          extra[BIG_ROWS] - extra[BIG_ROWS // 10] <= 1024)


def main():
    adm = session("admin")
    dsid = add_source(adm, "src")
    only = sys.argv[1:]
    for t in (test_negotiation, test_formulas, test_etag, test_types,
              test_big):
        if only and t.__name__ not in only:
            continue
        print("--", t.__name__, flush=True)
        try:
            t(dsid)
        except Exception:  # one failure, the rest still runs
            import traceback
            traceback.print_exc()
            check(t.__name__ + " raised", False)
    TMP.cleanup()
    if xl.WORK:
        xl.WORK[0].cleanup()
    finish()


if __name__ == "__main__":
    main()
