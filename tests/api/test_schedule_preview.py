"""POST /api/admin/schedule/preview: the fire times of an unsaved schedule,
the same lines as `pgsched-admin schedule next`, the same validation as a
query's schedule fields, editors and admins only.
Run: sh tests/lib/with-pg.sh tests/api/test_schedule_preview.py
"""
import calendar
import os
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import URL, add_source, check, err, finish, session  # noqa: E402

PREVIEW = URL + "/api/admin/schedule/preview"
ADMIN = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                     "pgsched-admin")


def cli_next(*args):
    """The lines `pgsched-admin schedule next ARGS` prints."""
    p = subprocess.run([ADMIN, "schedule", "next"] + list(args),
                       capture_output=True, text=True, timeout=30)
    check("schedule next %s" % " ".join(args), p.returncode == 0, p.stderr)
    return p.stdout.splitlines()


def lines(r):
    return [i["line"] for i in r.json()["items"]] if r.status_code == 200 \
        else r.text


def test_same_as_cli(ed):
    cases = [
        # spring forward: 02:30 does not exist on 2026-03-29 in Berlin
        ({"schedule_type": "cron", "schedule_expr": "30 2 * * *",
          "timezone": "Europe/Berlin", "from": "2026-03-27T00:00:00Z",
          "count": 4},
         ["--type", "cron", "--expr", "30 2 * * *", "--tz", "Europe/Berlin",
          "--from", "2026-03-27T00:00:00Z", "--count", "4"]),
        # fall back: 02:30 happens twice on 2026-10-25
        ({"schedule_type": "cron", "schedule_expr": "30 2 * * *",
          "timezone": "Europe/Berlin", "from": "2026-10-24T00:00:00Z",
          "count": 3},
         ["--type", "cron", "--expr", "30 2 * * *", "--tz", "Europe/Berlin",
          "--from", "2026-10-24T00:00:00Z", "--count", "3"]),
        # a wildcard job through the repeated hour
        ({"schedule_type": "cron", "schedule_expr": "*/20 * * * *",
          "timezone": "America/New_York", "from": "2026-11-01T05:30:00Z",
          "count": 8},
         ["--type", "cron", "--expr", "*/20 * * * *", "--tz",
          "America/New_York", "--from", "2026-11-01T05:30:00Z", "--count",
          "8"]),
        # an interval anchored at start_at
        ({"schedule_type": "interval", "schedule_expr": "PT6H",
          "start_at": "2026-01-01T01:15:00Z",
          "from": "2026-03-01T00:00:00Z", "count": 5},
         ["--type", "interval", "--expr", "PT6H", "--anchor",
          "2026-01-01T01:15:00Z", "--from", "2026-03-01T00:00:00Z",
          "--count", "5"]),
        # the empty interval: DEFAULT_QUERY_INTERVAL
        ({"schedule_type": "interval", "schedule_expr": "",
          "from": "2026-03-01T00:00:00Z", "count": 3},
         ["--type", "interval", "--expr", "", "--from",
          "2026-03-01T00:00:00Z", "--count", "3"]),
    ]
    for body, args in cases:
        r = ed.post(PREVIEW, json=body)
        want = cli_next(*args)
        check("preview %s = schedule next" % body["schedule_expr"],
              r.status_code == 200 and lines(r) == want and
              len(want) == body["count"], (lines(r), want))
    r = ed.post(PREVIEW, json=cases[0][0])
    items = r.json()["items"]
    moved = [i for i in items if "moved" in i["line"]]
    check("spring-forward slot marked moved", len(moved) == 1 and
          moved[0]["flags"] == 1 and
          moved[0]["at"] == "2026-03-29T01:00:00Z", items)
    check("from echoed", r.json()["from"] == "2026-03-27T00:00:00Z",
          r.text)
    r = ed.post(PREVIEW, json=cases[1][0])
    check("fall-back slot marked", any(i["flags"] == 4 and "repeated" in
                                       i["line"] for i in
                                       r.json()["items"]), r.text)


def test_defaults(ed):
    t0 = int(time.time())
    r = ed.post(PREVIEW, json={"schedule_type": "cron",
                               "schedule_expr": "* * * * *"})
    t1 = int(time.time())
    ok = r.status_code == 200
    check("default preview", ok, r.text)
    if not ok:
        return
    b = r.json()
    frm = calendar.timegm(time.strptime(b["from"], "%Y-%m-%dT%H:%M:%SZ"))
    first = calendar.timegm(time.strptime(b["items"][0]["at"],
                                          "%Y-%m-%dT%H:%M:%SZ"))
    check("from defaults to now", t0 - 1 <= frm <= t1 + 1, (t0, b["from"]))
    check("ten fire times by default, strictly after from",
          len(b["items"]) == 10 and frm < first <= frm + 60, b)
    check("timezone defaults to UTC", b["items"][0]["line"].endswith(
        "+00:00 UTC"), b["items"][0])
    # Interval slots are anchored at from by default, as a new query's
    # are at its creation.
    r = ed.post(PREVIEW, json={"schedule_type": "interval",
                               "schedule_expr": "PT15M",
                               "from": "2026-05-05T10:07:00Z", "count": 2})
    check("interval anchored at from", [i["at"] for i in r.json()["items"]]
          == ["2026-05-05T10:22:00Z", "2026-05-05T10:37:00Z"], r.text)
    r = ed.post(PREVIEW, json={"schedule_type": "cron",
                               "schedule_expr": "0 0 1 1 *", "count": 3,
                               "from": "9998-06-01T00:00:00Z"})
    check("fewer items when the schedule stops firing",
          r.status_code == 200 and len(r.json()["items"]) == 1, r.text)
    r = ed.post(PREVIEW, json={"schedule_type": "cron",
                               "schedule_expr": "0 9 * * *",
                               "start_at": None, "from": None})
    check("null start_at and from are the defaults", r.status_code == 200,
          r.text)


def test_invalid(ed, dsid):
    bad = [
        ({"schedule_expr": "* * * * *"}, "schedule_type"),
        ({"schedule_type": "weekly", "schedule_expr": "x"}, "schedule_type"),
        ({"schedule_type": "cron", "schedule_expr": "61 * * * *"},
         "schedule_expr"),
        ({"schedule_type": "cron", "schedule_expr": "@reboot"},
         "schedule_expr"),
        ({"schedule_type": "cron"}, "schedule_expr"),
        ({"schedule_type": "interval", "schedule_expr": "PT30S"},
         "schedule_expr"),
        ({"schedule_type": "interval", "schedule_expr": "PT6X"},
         "schedule_expr"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "timezone": "Mars/Olympus"}, "timezone"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "from": "yesterday"}, "from"),
        ({"schedule_type": "interval", "schedule_expr": "PT1H",
          "start_at": "2026-13-01T00:00:00Z"}, "start_at"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "count": 0}, "count"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "count": 101}, "count"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "count": "3"}, "count"),
        ({"schedule_type": "cron", "schedule_expr": "0 9 * * *",
          "sql_text": "SELECT 1"}, "sql_text"),
    ]
    for body, field in bad:
        r = ed.post(PREVIEW, json=body)
        check("422 %s for %s" % (field, body), err(r, 422, "invalid", field),
              r.text)
    # The messages are those of a query's own schedule fields.
    for expr in ("61 * * * *", "@reboot", "0 0 30 2 *"):
        p = ed.post(PREVIEW, json={"schedule_type": "cron",
                                   "schedule_expr": expr})
        q = ed.post(URL + "/api/admin/queries",
                    json={"name": "pv", "title": "pv", "sql_text": "SELECT 1",
                          "data_source_id": dsid, "schedule_type": "cron",
                          "schedule_expr": expr})
        check("same message as a query for %s" % expr,
              err(p, 422, field="schedule_expr") and
              err(q, 422, field="schedule_expr") and
              p.json()["fields"]["schedule_expr"] ==
              q.json()["fields"]["schedule_expr"], (p.text, q.text))
    r = ed.post(PREVIEW, data="[1]",
                headers={"Content-Type": "application/json"})
    check("not an object 400", err(r, 400, "invalid_json"), r.text)
    r = ed.post(PREVIEW, data="schedule_type=cron",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    check("a form post with the cookie is refused", err(r, 403, "csrf"),
          r.text)
    r = ed.get(PREVIEW)
    check("GET 405", err(r, 405, "method_not_allowed"), r.text)


def test_access():
    body = {"schedule_type": "cron", "schedule_expr": "0 9 * * *"}
    r = requests.post(PREVIEW, json=body)
    check("anonymous 401", err(r, 401, "unauthenticated"), r.text)
    r = session("viewer").post(PREVIEW, json=body)
    check("viewer 403", err(r, 403, "forbidden"), r.text)
    r = session("admin").post(PREVIEW, json=body)
    check("admin may preview", r.status_code == 200, r.text)


def main():
    ed = session("editor")
    dsid = add_source(session("admin"), "preview_src")
    for fn, args in ((test_same_as_cli, (ed,)), (test_defaults, (ed,)),
                     (test_invalid, (ed, dsid)), (test_access, ())):
        try:
            fn(*args)
        except Exception as e:  # one failure; the others still run
            import traceback
            traceback.print_exc()
            check(fn.__name__ + " raised", False, repr(e))
    finish()


if __name__ == "__main__":
    main()
