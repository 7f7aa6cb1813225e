"""The web console in a real browser (headless Chromium) against the real
stack: nginx serving www/ and the API, the pool, PostgreSQL, a runner for
"run now".  Log in; create a data source and a query in the editor (the
schedule preview is `pgsched-admin schedule next`); dry-run; save; run
now; the result as a table and a chart; the history paged; CSV and XLSX; roles;
hostile values shown as text; no console error on any page.  Screenshots
of every page go to build/test/tests/www/screenshots/.
Run: sh tests/lib/with-pg.sh tests/www/test_console.py
"""
import os
import re
import subprocess
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console import (  # noqa: E402
    Browser, colour_pixels, skip_without_browser)
from apitest import (  # noqa: E402
    URL, PASSWORD, add_source, check, finish, psql, session)

ADMIN = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                     "pgsched-admin")
EVIL = "<img src=x onerror=alert(1)>"
EVIL_ERROR = "<b>boom</b><script>alert(2)</script>"
# Typed into CodeMirror, which indents new lines by itself.
SQL = ("SELECT g AS n, 12345678901234567 + g AS big,\n"
       "round(g * 1.5, 1) AS amount,\n"
       "'" + EVIL + "' AS evil\n"
       "FROM generate_series(1, 150) AS g")
# Answers the steps below provoke on purpose: Chromium logs each as a
# failed load.
STATUS = r"status of %d"
state = {}


def cli_next(*args):
    p = subprocess.run([ADMIN, "schedule", "next"] + list(args),
                       capture_output=True, text=True, timeout=30)
    check("pgsched-admin schedule next " + " ".join(args),
          p.returncode == 0, p.stderr)
    return p.stdout.splitlines()


def test_installed():
    """Every file of www/ is installed (Makefile.am lists each)."""
    src = os.environ.get("PGSCHED_SRCDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    mk = open(os.path.join(src, "Makefile.am")).read()
    listed = set(re.findall(r"(?<![\w/])www/\S+\.\w+", mk))
    files = {os.path.relpath(os.path.join(d, f), src)
             for d, _, fs in os.walk(os.path.join(src, "www")) for f in fs}
    check("Makefile.am installs every file of www/", files == listed,
          files ^ listed)


def imports(src, js, seen):
    """The modules js imports, at any depth, into seen."""
    for m in re.findall(r'from "\./([\w-]+\.js)"',
                        open(os.path.join(src, "www", js)).read()):
        if "js/" + m not in seen:
            seen.add("js/" + m)
            imports(src, "js/" + m, seen)
    return seen


def test_pages():
    """Each page: no inline script, style or handler (the CSP forbids
    them), and a modulepreload for every module its script imports (no
    waterfall of imports on a first load)."""
    src = os.environ.get("PGSCHED_SRCDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    for d, _, fs in os.walk(os.path.join(src, "www")):
        for f in fs:
            if not f.endswith(".html"):
                continue
            page = open(os.path.join(d, f)).read()
            name = os.path.relpath(os.path.join(d, f), src)
            check(name + ": nothing inline", not re.search(
                r"<style|style=|\son\w+=|<script(?![^>]*\ssrc=)", page),
                name)
            mods = re.findall(r'<script type="module" src="/([^"]+)"', page)
            pre = set(re.findall(r'<link rel="modulepreload" href="/([^"]+)"',
                                 page))
            check(name + ": one module, its imports preloaded",
                  len(mods) == 1 and pre == imports(src, mods[0], set()),
                  (mods, pre))


def test_headers():
    r = requests.get(URL + "/")
    csp = r.headers.get("Content-Security-Policy", "")
    check("console served at /", r.status_code == 200 and
          "text/html" in r.headers.get("Content-Type", ""), r.status_code)
    for part in ("default-src 'self'", "script-src 'self'",
                 "style-src 'self'", "frame-ancestors 'none'",
                 "base-uri 'none'", "form-action 'self'"):
        check("CSP has " + part, part in csp, csp)
    check("CSP allows nothing inline", "unsafe" not in csp, csp)
    check("nosniff", r.headers.get("X-Content-Type-Options") == "nosniff",
          r.headers)
    check("Referrer-Policy", r.headers.get("Referrer-Policy"), r.headers)
    r = requests.get(URL + "/nope.html")
    check("404 page has the CSP too", r.status_code == 404 and
          "frame-ancestors" in r.headers.get("Content-Security-Policy", ""),
          r.headers)
    for lib in ("/javascript/chart.js/chart.min.js",
                "/javascript/codemirror/lib/codemirror.js",
                "/javascript/codemirror/mode/sql/sql.js",
                "/javascript/codemirror/lib/codemirror.css"):
        r = requests.get(URL + lib)
        check("Debian library " + lib, r.status_code == 200 and
              len(r.content) > 1000, r.status_code)
    r = requests.get(URL + "/javascript/jquery/jquery.js")
    check("only the two libraries are served", r.status_code == 404,
          r.status_code)
    r = requests.get(URL + "/api/nope")
    check("the API stays under /api/", r.status_code == 404 and
          r.json()["error"] == "not_found", r.text)


def test_login(b):
    b.get("/login.html")
    b.wait("log-in page", lambda d: b.all("#login"))
    b.shot("01-login")
    b.clean_console("the log-in page")
    b.css("input[name=email]").send_keys("admin@example.com")
    b.css("input[name=password]").send_keys("wrong-password\n")
    b.wait_text("#msg", "wrong e-mail or password")
    b.clean_console("a failed log-in", [STATUS % 401])
    psql("DELETE FROM login_failure")
    b.login("admin", PASSWORD)
    check("log-in opens the catalogue", b.d.current_url.rstrip("/") == URL,
          b.d.current_url)
    # The policy is enforced: an inline script is refused, and says so.
    b.js("const s = document.createElement('script');"
         "s.textContent = 'window.inlineRan = 1';"
         "document.head.append(s);")
    check("inline script blocked by the CSP",
          b.js("return window.inlineRan === undefined"), "")
    seen = []
    b.wait("CSP violation reported", lambda d: any(
        "Content Security Policy" in m for m in seen.extend(b.errors()) or
        seen))


def test_source(b):
    b.get("/admin/sources.html")
    b.wait("sources page", lambda d: b.text("#sources tbody") is not None)
    form = {"name": "sample", "host": "127.0.0.1",
            "port": os.environ["PGPORT"], "dbname": "source",
            "username": "postgres", "password": "unused"}
    b.css("#source input[name=port]").clear()
    for k, v in form.items():
        b.css("#source input[name=%s]" % k).send_keys(v)
    b.css("#save").click()
    b.wait_text("#msg", "Added sample")
    b.wait_text("#sources tbody", "sample")
    b.css("#sources tbody tr[data-source] button").click()
    b.wait_text("#sources tr.outcome", "Connected in")
    check("test connection warns about the superuser",
          "superuser" in b.text("#sources tr.outcome"),
          b.text("#sources tr.outcome"))
    b.shot("03-sources")
    b.clean_console("the data sources page")
    state["dsid"] = int(b.css("#sources tbody tr[data-source]")
                        .get_attribute("data-source"))


def set_field(b, name, value):
    e = b.css("#query [name=%s]" % name)
    e.clear()
    e.send_keys(value)


def preview_lines(b):
    return [li.text for li in b.all("#preview li")]


def wait_preview(b, what, want_from=None):
    """Waits for a preview in Berlin time (the last schedule typed) and
    returns the instant it starts after."""
    def shown(d):
        m = re.search(r"after (\S+)\)", b.text("#preview-from") or "")
        lines = preview_lines(b)
        return m and lines and all(re.search(r"\+0[12]:00 CES?T", x)
                                   for x in lines) and \
            (want_from is None or m.group(1) == want_from) and m.group(1)
    return b.wait(what, shown)


def test_editor_preview(b):
    set_field(b, "schedule_expr", "61 * * * *")
    b.wait_text("[data-error-for=schedule_expr]", "minute")
    check("schedule error beside its field", b.css(
        "#query [name=schedule_expr]").get_attribute("aria-invalid") ==
        "true", "")
    b.clean_console("an invalid schedule", [STATUS % 422])
    set_field(b, "schedule_expr", "30 2 * * *")
    set_field(b, "timezone", "Europe/Berlin")
    # From now: the page shows the instant the API started from.
    frm = wait_preview(b, "preview from now")
    want = cli_next("--type", "cron", "--expr", "30 2 * * *", "--tz",
                    "Europe/Berlin", "--from", frm, "--count", "10")
    check("preview from now equals schedule next",
          preview_lines(b) == want, (preview_lines(b), want))
    check("no error left beside the schedule",
          b.text("[data-error-for=schedule_expr]") == "", "")
    # Across the spring-forward of 2026.
    set_field(b, "from", "2026-03-27T00:00:00Z")
    wait_preview(b, "preview from 2026-03-27", "2026-03-27T00:00:00Z")
    want = cli_next("--type", "cron", "--expr", "30 2 * * *", "--tz",
                    "Europe/Berlin", "--from", "2026-03-27T00:00:00Z",
                    "--count", "10")
    check("preview equals pgsched-admin schedule next",
          preview_lines(b) == want, (preview_lines(b), want))
    dst = [li.text for li in b.all("#preview li.dst")]
    check("the DST-moved slot is marked", len(dst) == 1 and
          "moved: 02:30 does not exist" in dst[0], dst)


def test_editor(b):
    b.get("/editor.html")
    b.wait("editor ready", lambda d: b.js(
        "return document.body.dataset.ready === '1'"))
    check("data source offered", "sample" in b.text("#query [name="
                                                    "data_source_id]"), "")
    b.css("#query [name=name]").send_keys("orders 150")
    b.css("#query [name=title]").send_keys("Orders (150)")
    b.css("#query [name=description]").send_keys("150 rows, " + EVIL)
    from selenium.webdriver.support.ui import Select
    Select(b.css("#query [name=data_source_id]")).select_by_visible_text(
        "sample")
    b.css(".CodeMirror").click()
    b.css(".CodeMirror textarea").send_keys(SQL)
    b.wait("SQL highlighted", lambda d: any(
        e.text.upper() == "SELECT" for e in b.all(".CodeMirror .cm-keyword")))
    b.css("#dry-run").click()
    b.wait_text("#dry-msg", r"rows in \d+ ms")
    check("dry-run shows rows and timing", re.search(
        r"^100 rows in \d+ ms \(the first 100\)", b.text("#dry-msg")),
        b.text("#dry-msg"))
    check("dry-run table", len(b.all("#dry-out tbody tr")) == 50 and
          b.text("#dry-out .pager") == "\u2039 Previous rows\nrows 1\u201350"
          " of 100\nNext rows \u203a", b.text("#dry-out .pager"))
    test_editor_preview(b)
    b.shot("04-editor")
    b.clean_console("the editor", [STATUS % 422])
    # A name the API refuses: its message stands beside the field.
    b.css("#save").click()
    b.wait_text("[data-error-for=name]", "letters, digits")
    check("name marked invalid", b.css("#query [name=name]")
          .get_attribute("aria-invalid") == "true", "")
    b.clean_console("a refused save", [STATUS % 422])
    set_field(b, "name", "orders_150")
    b.css("#save").click()
    b.wait("saved: the query page opens", lambda d:
           "/query.html?id=" in d.current_url)
    state["qid"] = int(b.d.current_url.split("id=")[1])


def seed_errors(qid, n):
    """n failed runs as a runner writes them, older than any run now."""
    for i in range(n):
        psql("INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
             " run_started_at, run_finished_at, duration_ms, status,"
             " error_message) VALUES (%d, '2026-01-01T00:00:00Z'::timestamptz"
             " + %d * interval '1 hour', 'UTC', '2026-01-01T00:00:01Z', "
             "'2026-01-01T00:00:02Z', 1000, 'error', $e$%s$e$)" %
             (qid, i, EVIL_ERROR if i == n - 1 else "source unreachable"))


def run_now(b):
    """Run now: the page says the run finished and shows it.  Its
    "queued" message is not waited for: it lasts only until the run ends,
    which can be sooner than a poll of the test (a flaky wait)."""
    before = b.text("#run-meta") or ""
    b.css("#run-now").click()
    b.wait("the run appears when it finishes", lambda d: re.search(
        r"Run #\d+ finished", b.text("#msg") or ""), 120)
    b.wait("the new run is shown", lambda d: b.text("#run-meta") != before)
    return int(re.search(r"Run #(\d+)", b.text("#run-meta")).group(1))


def test_query_page(b):
    qid = state["qid"]
    b.wait_text("#run-msg", "No successful run yet")
    b.clean_console("a query without runs")
    seed_errors(qid, 24)
    check("description as text", EVIL in b.text("#description"),
          b.text("#description"))
    state["runs"] = [run_now(b), run_now(b)]
    check("run now: a success", "success" in b.text("#run-meta") and
          "150 rows" in b.text("#run-meta"), b.text("#run-meta"))
    ths = [th.text.split("\n") for th in b.all("#table thead th")]
    check("columns with their types", ths == [["n", "integer"],
                                             ["big", "integer"],
                                             ["amount", "number"],
                                             ["evil", "string"]], ths)
    first = [td.text for td in b.all("#table tbody tr:first-child td")]
    check("bigint exact, hostile value as text",
          first == ["1", "12345678901234568", "1.5", EVIL], first)
    check("no element made of a value",
          not b.all("#table img, #run-meta img, #about img"), "")
    check("paged in the browser", len(b.all("#table tbody tr")) == 50 and
          "rows 1\u201350 of 150" in b.text("#table .pager"),
          b.text("#table .pager"))
    b.all("#table .pager button")[1].click()
    b.wait_text("#table .pager", "rows 51\u2013100 of 150")
    check("page 2 starts at row 51", b.text(
        "#table tbody tr:first-child td") == "51", "")
    px = colour_pixels(b)
    check("chart drawn in its colour", px[1] > 300 and px[2] > px[3] // 2,
          px)
    marks = b.js("return ['pgsched:table', 'pgsched:chart'].map((m) => "
                 "performance.getEntriesByName(m).length)")
    check("table and chart marks", marks == [1, 1], marks)
    b.shot("05-query")
    b.clean_console("the query page after run now")
    test_chart_over_runs(b)
    test_history(b)
    test_download(b)
    test_toggle(b)


def test_chart_over_runs(b):
    from selenium.webdriver.support.ui import Select
    b.css("input[name=over][value=runs]").click()
    b.wait("run series offered", lambda d: "rows returned" in
           b.text("#chart-col"))
    Select(b.css("#chart-col")).select_by_visible_text("rows returned")
    b.wait("chart over the runs", lambda d: b.js(
        "return Chart.getChart(document.getElementById('chart'))"
        ".data.datasets[0].data.join()") == "150,150")
    px = colour_pixels(b)
    check("chart over runs drawn", px[1] > 100, px)
    Select(b.css("#chart-col")).select_by_visible_text("amount (first row)")
    b.wait("column over the runs", lambda d: b.js(
        "return Chart.getChart(document.getElementById('chart'))"
        ".data.datasets[0].label") == "amount (first row)")
    b.clean_console("the chart over the runs")


def test_history(b):
    rows = b.all("#runs tbody tr")
    check("history: the newest 20 of 26", len(rows) == 20 and
          rows[0].get_attribute("data-run") == str(state["runs"][1]),
          len(rows))
    newest = [r.text for r in rows]
    check("history shows status, duration, rows", re.search(
        r"success .*ms 150 manual", newest[0]), newest[0])
    b.css("#hist-older").click()
    b.wait("older page", lambda d: len(b.all("#runs tbody tr")) == 6)
    oldest = [r.text for r in b.all("#runs tbody tr")]
    check("errors in full, as text", any(EVIL_ERROR in t for t in
                                         newest + oldest), oldest)
    check("no element made of an error", not b.all("#runs b, #runs script"),
          "")
    b.css("#hist-newer").click()
    b.wait("newer page", lambda d: len(b.all("#runs tbody tr")) == 20)
    # prev/next between runs: the older success, then a failed run.
    b.wait("older run enabled", lambda d: b.css("#older").is_enabled())
    b.css("#older").click()
    b.wait_text("#run-meta", "Run #%d" % state["runs"][0])
    b.wait("older run enabled again", lambda d: b.css("#older").is_enabled())
    b.css("#older").click()
    b.wait_text("#run-msg", re.escape(EVIL_ERROR))
    check("a failed run's error shown as text",
          not b.all("#run-msg b, #run-msg script"), "")
    for rid in state["runs"]:
        b.wait("newer run enabled", lambda d: b.css("#newer").is_enabled())
        b.css("#newer").click()
        b.wait_text("#run-meta", "Run #%d" % rid)
    b.wait("newest: no newer run", lambda d: not b.css("#newer")
           .is_enabled())
    b.clean_console("the history")


def test_download(b):
    rid = state["runs"][1]
    link = b.css("#downloads a")
    check("CSV link", link.text == "CSV" and link.get_attribute("href")
          .endswith("/api/runs/%d?format=csv" % rid), link.get_attribute(
              "href"))
    link.click()
    path = os.path.join(b.downloads, "run-%d.csv" % rid)
    b.wait("CSV downloaded", lambda d: os.path.exists(path) and
           os.path.getsize(path) > 0)
    want = requests.get(URL + "/api/runs/%d?format=csv" % rid).content
    got = open(path, "rb").read()
    check("CSV is the run's result", got == want and re.match(
        rb"n,big,amount,evil\r?\n1,12345678901234568,1\.5,", got), got[:120])
    links = b.all("#downloads a")
    xlsx = links[1] if len(links) > 1 else None
    check("XLSX link beside it", xlsx is not None and xlsx.text == "XLSX" and
          xlsx.get_attribute("title") == "Download XLSX" and
          xlsx.get_attribute("href").endswith("/api/runs/%d?format=xlsx" %
                                              rid),
          [(a.text, a.get_attribute("href")) for a in links])
    if xlsx is not None:
        # Fetched from the page, as the link is followed: the media type.
        got = b.js("return fetch(arguments[0]).then(async (r) => [r.status,"
                   " r.headers.get('Content-Type'), new Uint8Array(await"
                   " r.arrayBuffer()).slice(0, 2).join(',')]);",
                   xlsx.get_attribute("href"))
        check("XLSX link downloads an XLSX file", got == [
            200, "application/vnd.openxmlformats-officedocument."
            "spreadsheetml.sheet", "80,75"], got)
        xlsx.click()
        path = os.path.join(b.downloads, "run-%d.xlsx" % rid)
        b.wait("XLSX downloaded", lambda d: os.path.exists(path) and
               os.path.getsize(path) > 0)
        head = open(path, "rb").read(2)
        check("the downloaded file is a workbook", head == b"PK", head)
    b.clean_console("a download")


def test_toggle(b):
    b.css("#toggle").click()
    b.wait_text("#msg", "disabled")
    check("disabled", "disabled" in b.text("#meta") and
          b.text("#toggle") == "Enable", b.text("#meta"))
    check("disabled in the database", psql(
        "SELECT enabled FROM query_job WHERE id = %d" % state["qid"]) == "f",
        "")
    b.css("#toggle").click()
    b.wait_text("#msg", "enabled")
    check("enabled again", b.text("#toggle") == "Disable", "")
    b.clean_console("enable/disable")


def test_catalogue(b):
    b.get("/")
    b.wait_text("#catalogue tbody", "Orders")
    row = b.text("#catalogue tbody tr")
    check("catalogue row", "Orders (150)" in row and "orders_150" in row and
          "every day at 02:30" in row and "Europe/Berlin" in row and
          "success" in row, row)
    b.shot("02-catalogue")
    b.clean_console("the catalogue")


def test_catalogue_notify(b):
    """The catalogue shows a stale job and a firing alert."""
    qid = state["qid"]
    psql("INSERT INTO query_alert (query_id, kind, op, value,"
         " value_is_number, state) VALUES (%d, 'rows', '>', '1', true,"
         " 'firing')" % qid)
    psql("UPDATE query_job SET max_staleness_s = 60 WHERE id = %d" % qid)
    psql("UPDATE query_job SET stale_at = now() - interval '1 minute'"
         " WHERE id = %d" % qid)
    b.get("/")
    b.wait_text("#catalogue tbody", "alert firing")
    row = b.text("#catalogue tbody tr")
    check("catalogue: stale and alert firing", "stale" in row and
          "alert firing" in row, row)
    b.shot("02b-catalogue-notify")
    psql("DELETE FROM query_alert WHERE query_id = %d" % qid)
    psql("UPDATE query_job SET max_staleness_s = NULL WHERE id = %d" % qid)
    b.get("/")
    b.wait_text("#catalogue tbody", "Orders")
    check("catalogue: neither once cleared", "stale" not in
          b.text("#catalogue tbody tr") and "alert" not in
          b.text("#catalogue tbody tr"), b.text("#catalogue tbody tr"))
    b.clean_console("the catalogue's notification states")


def test_editor_staleness(b):
    """max_staleness in the editor: a refused value beside its field, a
    duration saved in seconds, cleared when emptied."""
    qid = state["qid"]
    url = "/editor.html?id=%d" % qid
    for value, want in (("PT30S", None), ("PT3H", 10800), ("", None)):
        b.get(url)
        b.wait("editor of the query", lambda d: b.js(
            "return document.body.dataset.ready === '1'"))
        b.css("details.wide summary").click()
        e = b.css("#query [name=max_staleness]")
        e.clear()
        e.send_keys(value)
        b.css("#save").click()
        if value == "PT30S":
            b.wait_text("[data-error-for=max_staleness]", "ISO 8601")
            continue
        b.wait("saved", lambda d: "/query.html?id=" in d.current_url)
        got = psql("SELECT coalesce(max_staleness_s::text, 'null') FROM"
                   " query_job WHERE id = %d" % qid)
        check("editor max_staleness %r stored" % value,
              got == ("null" if want is None else str(want)), got)
    b.clean_console("max_staleness in the editor", [STATUS % 422])
    # Visibility: the editor shows the stored one and saves a change.
    for value in ("internal", "public"):
        b.get(url)
        b.wait("editor of the query", lambda d: b.js(
            "return document.body.dataset.ready === '1'"))
        shown = b.js("return document.querySelector('#f-visibility').value")
        stored = psql("SELECT visibility FROM query_job WHERE id = %d" % qid)
        check("editor shows the visibility %r" % stored, shown == stored,
              shown)
        b.js("document.querySelector('#f-visibility').value = arguments[0]",
             value)
        b.css("#save").click()
        b.wait("saved", lambda d: "/query.html?id=" in d.current_url)
        got = psql("SELECT visibility FROM query_job WHERE id = %d" % qid)
        check("editor visibility %r stored" % value, got == value, got)


def test_channels(b):
    """Channels: a refused URL beside its field, the secret once, the URL
    never shown, a test that says why it failed, an e-mail channel."""
    token = "T0KEN-console"
    b.get("/admin/channels.html")
    b.wait_text("#channels tbody", "No channels yet")
    b.css("#channel [name=name]").send_keys("hooks")
    b.css("#channel [name=url]").send_keys("http://127.0.0.1:9/x")
    b.css("#save").click()
    b.wait_text("[data-error-for=url]", "loopback")
    b.css("#channel [name=url]").clear()
    b.css("#channel [name=url]").send_keys("http://127.0.0.2:9/h/" + token)
    b.css("#save").click()
    b.wait_text("#msg", "Added hooks")
    b.wait_text("#channels tbody", "hooks")
    secret = b.text("#secret")
    check("the secret is shown once", secret.startswith("whsec_") and
          b.css("#secret-box").is_displayed(), secret)
    check("the URL is not shown", token not in b.js(
        "return document.body.innerHTML") and
        "http://127.0.0.2:9/..." in b.text("#channels tbody"),
        b.text("#channels tbody"))
    b.shot("09-channels")
    b.get("/admin/channels.html")
    b.wait_text("#channels tbody", "hooks")
    check("the secret is gone after a reload", secret not in b.js(
        "return document.body.innerHTML") and
        not b.css("#secret-box").is_displayed(), "")
    b.css("#channels tbody tr[data-channel] button").click()
    b.wait_text("#channels tr.outcome", "Not delivered")
    b.css("#channel [name=name]").send_keys("ops")
    b.css("#channel [name=kind]").send_keys("E-mail")
    b.css("#channel [name=addresses]").send_keys("ops@example.com, "
                                                 "dba@example.com")
    b.css("#save").click()
    b.wait_text("#channels tbody", "ops@example.com")
    check("the e-mail channel shows its first address",
          "ops@example.com (+1 more)" in b.text("#channels tbody"),
          b.text("#channels tbody"))
    b.clean_console("the channels page", allowed=(STATUS % 422,))


def test_users(b):
    b.get("/admin/users.html")
    b.wait_text("#users tbody", "admin@example.com")
    b.css("#user [name=email]").send_keys("ann@example.com")
    b.css("#user [name=name]").send_keys("Ann " + EVIL)
    b.css("#user [name=password]").send_keys(PASSWORD)
    b.css("#user [name=role][value=editor]").click()
    b.css("#save").click()
    b.wait_text("#users tbody", "ann@example.com")
    check("user added with roles", "viewer, editor" in
          b.text("#users tbody"), b.text("#users tbody"))
    check("hostile name as text", EVIL in b.text("#users tbody") and
          not b.all("#users img"), "")
    b.shot("06-users")
    b.clean_console("the users page")


def test_tokens(b):
    """The tokens page: create one for the query (shown once, it reads
    the query's latest run), list it, revoke it (401 from then on)."""
    from selenium.webdriver.support.ui import Select
    b.get("/admin/tokens.html")
    b.wait("the tokens page's queries", lambda d: b.all(
        "#t-queries option[value='%d']" % state["qid"]))
    b.css("#token [name=name]").send_keys("wall " + EVIL)
    Select(b.css("#t-queries")).select_by_value(str(state["qid"]))
    days = b.css("#token [name=expires_in_days]")
    days.clear()
    days.send_keys("400")
    b.css("#create").click()
    b.wait_text("#token", "TOKEN_MAX_DAYS")
    days.clear()
    days.send_keys("30")
    b.css("#create").click()
    b.wait_text("#token-value", r"^pgs_[A-Za-z0-9_-]{43}$")
    tok = b.text("#token-value")
    r = requests.get("%s/api/queries/%d/runs/latest" % (URL, state["qid"]),
                     headers={"Authorization": "Bearer " + tok})
    check("the console's token reads the query", r.status_code == 200,
          r.text[:200])
    b.wait_text("#tokens tbody", "active")
    check("token name as text", EVIL in b.text("#tokens tbody") and
          not b.all("#tokens img") and tok not in b.text("#tokens"), "")
    b.shot("06b-tokens")
    b.css("#tokens tbody button.danger").click()
    b.css("#tokens tbody button.danger").click()
    b.wait_text("#tokens tbody", "revoked")
    r = requests.get("%s/api/queries/%d/runs/latest" % (URL, state["qid"]),
                     headers={"Authorization": "Bearer " + tok})
    check("revoked in the console: 401", r.status_code == 401, r.text)
    b.clean_console("the tokens page", [STATUS % 422])


def test_viewer(v):
    v.login("viewer", PASSWORD)
    links = [a.text for a in v.all("#nav a")]
    check("viewer menu", links == ["Queries"], links)
    check("viewer: no New query button", not v.css("#new").is_displayed(),
          "")
    v.get("/query.html?id=%d" % state["qid"])
    v.wait_text("#run-meta", "success")
    check("viewer: no run now, no edit",
          not v.css("#actions").is_displayed(), "")
    check("viewer: no next fire times (editor API)",
          not v.css("#fires").is_displayed(), "")
    v.shot("07-query-viewer")
    v.clean_console("the query page for a viewer")
    v.get("/editor.html")
    v.wait_text("main", "needs the editor role")
    check("viewer cannot reach the editor", not v.all(".CodeMirror") and
          not v.all("#query"), "")
    v.shot("08-editor-viewer")
    v.get("/admin/users.html")
    v.wait_text("main", "needs the admin role")
    v.clean_console("refused pages")


def test_editor_role(e):
    # A source no query uses: the editor's list is every source's name.
    add_source(session("admin"), "spare-source")
    e.login("editor", PASSWORD)
    links = [a.text for a in e.all("#nav a")]
    check("editor menu", links == ["Queries", "New query", "API tokens"],
          links)
    e.get("/editor.html?id=%d" % state["qid"])
    e.wait("editor of a saved query", lambda d: e.js(
        "return document.body.dataset.ready === '1'"))
    check("editor: the query's source offered",
          e.css("#query [name=data_source_id]").get_attribute("value") ==
          str(state["dsid"]), "")
    offered = [o.text for o in e.all("#query [name=data_source_id] option")]
    check("editor: every source's name offered",
          "sample" in offered and "spare-source" in offered, offered)
    check("editor: SQL loaded", "generate_series" in e.js(
        "return document.querySelector('.CodeMirror').CodeMirror"
        ".getValue()"), "")
    e.get("/admin/sources.html")
    e.wait_text("main", "needs the admin role")
    e.clean_console("the editor role's pages")


def test_logout(b):
    b.get("/")
    b.wait("log out button", lambda d: b.all("#who button"))
    b.css("#who button").click()
    b.wait("log-in page after log out", lambda d:
           "/login.html" in d.current_url)
    b.get("/editor.html")
    b.wait("anonymous sent to log in", lambda d:
           "/login.html?next=%2Feditor.html" in d.current_url)
    b.clean_console("log out")


def main():
    test_installed()
    test_pages()
    skip_without_browser()
    test_headers()
    steps = [("admin", [test_login, test_source, test_editor,
                        test_query_page, test_catalogue,
                        test_catalogue_notify, test_editor_staleness,
                        test_channels, test_users, test_tokens,
                        test_logout]),
             ("viewer", [test_viewer]), ("editor", [test_editor_role])]
    for who, fns in steps:
        b = Browser(who)
        try:
            for fn in fns:
                try:
                    fn(b)
                except Exception as e:  # one failure; the next steps run
                    import traceback
                    traceback.print_exc()
                    check(fn.__name__ + " raised", False, repr(e)[:300])
                    b.shot("failed-" + fn.__name__)
                    if fn in (test_login, test_source, test_editor):
                        break
        finally:
            b.quit()
    finish()


if __name__ == "__main__":
    main()
