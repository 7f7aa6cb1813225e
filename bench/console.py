"""Web console benchmark (run by bench/console.sh, under the test harness):

1. the query page of a 150-row result in headless Chromium on loopback:
   time from the navigation's start to the table and the chart drawn
   (the performance marks "pgsched:table" and "pgsched:chart" the page
   sets), median of BENCH_LOADS (10) loads by a logged-in viewer with the
   browser cache warm, the median of as many with the cache emptied before
   each, and the very first load (anonymous, a fresh profile);
2. the bytes the console transfers on its first load (Resource Timing:
   decodedBodySize uncompressed, transferSize on the wire), the console's
   own files, the API's answers and Debian's libraries apart.
"""
import os
import statistics
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "www"))
from console import Browser, skip_without_browser  # noqa: E402
from apitest import URL, PASSWORD, session  # noqa: E402

LOADS = int(os.environ.get("BENCH_LOADS", "10"))
BUDGET_MS = 300
BUDGET_BYTES = 100 * 1024
SQL = ("SELECT g AS id, now() - g * interval '17 minutes' AS ts, "
       "'customer ' || (g % 7) AS customer, round(g * 3.7, 2) AS amount, "
       "g % 3 = 0 AS paid FROM generate_series(1, 150) AS g")


def setup():
    """A data source and a query whose latest run holds 150 rows."""
    adm = session("admin")
    r = adm.post(URL + "/api/datasources",
                 json={"name": "bench", "host": "127.0.0.1",
                       "port": int(os.environ["PGPORT"]),
                       "dbname": "source", "username": "postgres",
                       "password": "unused"})
    r.raise_for_status()
    r = adm.post(URL + "/api/admin/queries",
                 json={"name": "bench150", "title": "150 rows",
                       "sql_text": SQL,
                       "data_source_id": r.json()["datasource"]["id"],
                       "schedule_type": "interval",
                       "schedule_expr": "PT1H"})
    r.raise_for_status()
    qid = r.json()["query"]["id"]
    rid = adm.post(URL + "/api/admin/queries/%d/run" % qid,
                   json={}).json()["run_id"]
    for _ in range(600):
        run = requests.get(URL + "/api/runs/%d" % rid).json()
        if run["status"] in ("success", "error", "skipped"):
            break
        time.sleep(0.1)
    if run["status"] != "success" or run["rows_returned"] != 150:
        sys.exit("bench: the run did not give 150 rows: %s" % run)
    return qid


def drawn_ms(b):
    """ms from the navigation's start to both marks (they are relative to
    it: performance.timeOrigin)."""
    return b.wait("table and chart drawn", lambda d: b.js(
        "const t = performance.getEntriesByName('pgsched:table')[0],"
        " c = performance.getEntriesByName('pgsched:chart')[0];"
        "return t && c ? Math.max(t.startTime, c.startTime) : null;"), 60)


def resources(b):
    """[(kind, url, decoded, transferred)] of the page's load, once no
    request has started for half a second."""
    n = -1
    while True:
        time.sleep(0.5)
        m = b.js("return performance.getEntriesByType('resource').length")
        if m == n:
            break
        n = m
    entries = b.js(
        "return performance.getEntriesByType('navigation')"
        ".concat(performance.getEntriesByType('resource'))"
        ".map((e) => [e.name, e.decodedBodySize, e.transferSize]);")
    out = []
    for name, dec, tr in entries:
        path = name[len(URL):] if name.startswith(URL) else name
        kind = ("debian" if path.startswith("/javascript/") else
                "api" if path.startswith("/api/") else "console")
        out.append((kind, path, dec, tr))
    return out


def report_bytes(res):
    print("first load of the query page (bytes, uncompressed / on the "
          "wire):")
    for kind, label in (("console", "console files (html, css, js)"),
                        ("api", "API answers"),
                        ("debian", "Debian libraries")):
        part = [r for r in res if r[0] == kind]
        print("  %-32s %7d / %7d  in %d requests" % (
            label, sum(r[2] for r in part), sum(r[3] for r in part),
            len(part)))
        for r in part:
            print("      %-44s %7d / %7d" % (r[1][:44], r[2], r[3]))
    own = sum(r[2] for r in res if r[0] != "debian")
    print("  apart from Debian's libraries: %d bytes (%.1f KB) uncompressed:"
          " %s (budget %d KB)" % (own, own / 1024.0, "OK" if own <
                                  BUDGET_BYTES else "OVER",
                                  BUDGET_BYTES // 1024))
    return own


def main():
    skip_without_browser()
    qid = setup()
    page = "/query.html?id=%d" % qid
    b = Browser("bench")
    try:
        b.get(page)
        first = drawn_ms(b)
        own = report_bytes(resources(b))
        b.login("viewer", PASSWORD)
        times, cold = [], []
        for _ in range(LOADS):
            b.get("/")
            b.get(page)
            times.append(drawn_ms(b))
        for _ in range(LOADS):
            b.d.get("about:blank")
            b.d.execute_cdp_cmd("Network.clearBrowserCache", {})
            b.get(page)
            cold.append(drawn_ms(b))
        med = statistics.median(times)
        print("query page, 150-row result: navigation to table and chart "
              "drawn, headless Chromium, loopback")
        print("  first load (fresh profile): %.1f ms" % first)
        print("  median of %d loads, cache emptied before each: %.1f ms "
              "(min %.1f, max %.1f)" % (LOADS, statistics.median(cold),
                                        min(cold), max(cold)))
        print("  median of %d warm loads: %.1f ms (min %.1f, max %.1f): %s"
              " (budget %d ms)" % (LOADS, med, min(times), max(times),
                                   "OK" if med < BUDGET_MS else "OVER",
                                   BUDGET_MS))
    finally:
        b.quit()
    return 0 if med < BUDGET_MS and own < BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
