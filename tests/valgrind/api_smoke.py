"""Every endpoint family of the API, many times over, for the valgrind
pass (tests/valgrind/run.sh): the pool runs under memcheck, so each
request is slow and the suite is kept to what exercises distinct code:
logins (argon2 is slow under valgrind: a few only), users, data sources
(with a connection test), queries (create, patch, dry-runs that go
through the result serialiser, enable/disable, delete), runs (JSON, CSV,
ETag/304, prev/next, latest), public catalogue, errors (404, 405, 422,
bad JSON, CSRF), CORS preflight, healthz, metrics and openapi.

PGSCHED_VG_ROUNDS (default 20) sets how many times each family runs.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/valgrind/api_smoke.py
"""
import os
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "api"))
from apitest import URL, check, err, finish, session  # noqa: E402
from test_api import make_source, qbody, seed_runs  # noqa: E402

ROUNDS = int(os.environ.get("PGSCHED_VG_ROUNDS", "20"))
J = {"Content-Type": "application/json"}
ORIGIN = "https://dash.example.com"


def public(i):
    r = requests.get(URL + "/healthz")
    check("healthz", r.status_code == 200, r.text)
    r = requests.head(URL + "/healthz")
    check("HEAD healthz", r.status_code == 200, r.status_code)
    r = requests.get(URL + "/metrics")
    check("metrics", r.status_code == 200, r.status_code)
    if i % 5 == 0:
        r = requests.get(URL + "/api/openapi.json")
        check("openapi", r.status_code == 200, r.status_code)
    r = requests.get(URL + "/api/nope%d?x=%%zz&y" % i)
    check("404", err(r, 404), r.text)
    r = requests.delete(URL + "/api/users")
    check("405", err(r, 405), r.text)
    r = requests.options(URL + "/api/users/me",
                         headers={"Origin": ORIGIN,
                                  "Access-Control-Request-Method": "GET"})
    check("preflight", r.status_code in (200, 204), r.status_code)
    r = requests.get(URL + "/api/users/me", cookies={"sid": "x" * (i + 1)})
    check("bad sid 401", err(r, 401), r.text)


def users(adm, vw, i):
    r = adm.get(URL + "/api/users/me")
    check("me", r.status_code == 200, r.text)
    r = adm.get(URL + "/api/users?limit=%d&offset=0" % (i % 5 + 1))
    check("user list", r.status_code == 200, r.text)
    r = adm.post(URL + "/api/users", json={"email": "u%d@example.com" % i,
                                           "name": "U %d" % i,
                                           "roles": ["viewer"],
                                           "password": "Long-Enough-%d" % i})
    check("user create", r.status_code == 201, r.text)
    uid = r.json()["user"]["id"]
    r = adm.get(URL + "/api/users/%d" % uid)
    check("user get", r.status_code == 200, r.text)
    r = adm.patch(URL + "/api/users/%d" % uid, json={"name": "V %d" % i})
    check("user patch", r.status_code == 200, r.text)
    r = adm.patch(URL + "/api/users/%d" % uid, json={"bogus": 1})
    check("user patch unknown 422", err(r, 422), r.text)
    r = adm.delete(URL + "/api/users/%d" % uid, headers=J)
    check("user delete", r.status_code == 200, r.text)
    r = vw.get(URL + "/api/users")
    check("viewer cannot list users", err(r, 403), r.text)
    r = adm.post(URL + "/api/users", data='{"email": "x@', headers=J)
    check("bad JSON 400/422", r.status_code in (400, 422), r.text)
    r = adm.post(URL + "/api/users", data='{"a":1,"a":2}', headers=J)
    check("duplicate key refused", r.status_code in (400, 422), r.text)
    r = adm.post(URL + "/api/users", data="x", headers={
        "Content-Type": "text/plain", "Origin": "https://evil.example"})
    check("CSRF 403", err(r, 403), r.text)


def sources(adm, i):
    r = adm.get(URL + "/api/datasources")
    check("source list", r.status_code == 200, r.text)
    r = adm.post(URL + "/api/datasources",
                 json={"name": "tmp%d" % i, "host": "127.0.0.1", "port": 1,
                       "dbname": "d", "username": "u", "password": "pw"})
    check("source create", r.status_code == 201, r.text)
    sid = r.json()["datasource"]["id"]
    r = adm.patch(URL + "/api/datasources/%d" % sid, json={"port": 2})
    check("new port needs the password", err(r, 422, field="password"),
          r.text)
    r = adm.patch(URL + "/api/datasources/%d" % sid,
                  json={"port": 2, "password": "pw2"})
    check("source patch", r.status_code == 200, r.text)
    r = adm.patch(URL + "/api/datasources/%d" % sid, json={"port": "x"})
    check("source patch 422", err(r, 422, field="port"), r.text)
    if i % 5 == 0:
        r = adm.post(URL + "/api/datasources/%d/test" % sid, json={})
        check("unreachable source", err(r, 422), r.text)
    r = adm.get(URL + "/api/datasources/%d" % sid)
    check("source get", r.status_code == 200, r.text)
    r = adm.delete(URL + "/api/datasources/%d" % sid, headers=J)
    check("source delete", r.status_code == 200, r.text)


def queries(ed, dsid, i):
    r = ed.post(URL + "/api/admin/queries", json=qbody(
        dsid, "q%d" % i, schedule_type="cron",
        schedule_expr="*/15 9-17 * * 1-5", timezone="Europe/Berlin"))
    check("query create", r.status_code == 201, r.text)
    qid = r.json()["query"]["id"]
    r = ed.patch(URL + "/api/admin/queries/%d" % qid,
                 json={"schedule_type": "interval", "schedule_expr": "PT1H"})
    check("query patch", r.status_code == 200, r.text)
    r = ed.patch(URL + "/api/admin/queries/%d" % qid,
                 json={"schedule_expr": "61 * * * *",
                       "schedule_type": "cron"})
    check("bad cron 422", err(r, 422), r.text)
    r = ed.post(URL + "/api/admin/queries",
                json=qbody(dsid, "bad%d" % i, sql_text="DELETE FROM x"))
    check("non-SELECT 422", err(r, 422), r.text)
    r = ed.post(URL + "/api/admin/queries/%d/test" % qid, json={})
    check("saved dry-run", r.status_code == 200, r.text)
    r = ed.post(URL + "/api/admin/queries/test", json={
        "data_source_id": dsid, "sql_text":
        "SELECT g, g::float8 / 3 AS f, now() AS t, '{\"a\":[1,2]}'::jsonb "
        "AS j, ARRAY[g, 2] AS arr, NULL::int AS n, 'é\"x' AS s, "
        "'1 day'::interval AS iv FROM generate_series(1, %d) g" % (i + 1)})
    check("unsaved dry-run", r.status_code == 200, r.text)
    r = ed.post(URL + "/api/admin/queries/%d/disable" % qid, json={})
    check("disable", r.status_code == 200, r.text)
    r = ed.post(URL + "/api/admin/queries/%d/enable" % qid, json={})
    check("enable", r.status_code == 200, r.text)
    r = ed.get(URL + "/api/admin/queries?limit=10")
    check("admin query list", r.status_code == 200, r.text)
    r = ed.get(URL + "/api/admin/queries/%d" % qid)
    check("admin query get", r.status_code == 200, r.text)
    return qid


def runs(qid, ids, i):
    anon = requests.Session()
    r = anon.get(URL + "/api/queries")
    check("catalogue", r.status_code == 200, r.text)
    r = anon.get(URL + "/api/queries/%d" % qid)
    check("public query", r.status_code == 200, r.text)
    r = anon.get(URL + "/api/queries/%d/runs?limit=3" % qid)
    check("run list", r.status_code == 200, r.text)
    r = anon.get(URL + "/api/queries/%d/runs/latest" % qid)
    check("latest", r.status_code == 200, r.text)
    rid = ids[i % len(ids)]
    r = anon.get(URL + "/api/runs/%d" % rid)
    check("run get", r.status_code == 200, r.text)
    tag = r.headers.get("ETag")
    if tag:
        r = anon.get(URL + "/api/runs/%d" % rid,
                     headers={"If-None-Match": tag})
        check("304", r.status_code == 304, r.status_code)
    r = anon.get(URL + "/api/runs/%d?format=csv" % rid)
    check("run CSV", r.status_code in (200, 404, 409, 422), r.status_code)
    r = anon.get(URL + "/api/runs/%d?format=xml" % rid)
    check("bad format", err(r, 422), r.text)
    for q in ("?format=xlsx", "?format=xlsx&raw=1"):
        r = anon.get(URL + "/api/runs/%d%s" % (rid, q))
        check("run XLSX", r.status_code in (200, 404), r.status_code)
        tag = r.headers.get("ETag")
        if tag:
            r = anon.get(URL + "/api/runs/%d%s" % (rid, q),
                         headers={"If-None-Match": tag})
            check("XLSX 304", r.status_code == 304, r.status_code)
    r = anon.get(URL + "/api/queries/%d/runs/latest" % qid,
                 headers={"Accept": "text/csv;q=0.5, application/vnd."
                          "openxmlformats-officedocument.spreadsheetml."
                          "sheet;q=0.9, */*;q=0.1"})
    check("latest by Accept", r.status_code == 200, r.status_code)
    r = anon.get(URL + "/api/runs/%d" % rid,
                 headers={"Accept": "text/html;q=1, x/y;q=0.1,"
                          ' a/b;p="q,x", bad'})
    check("nothing acceptable", err(r, 406), r.text)
    for way in ("prev", "next"):
        r = anon.get(URL + "/api/queries/%d/runs/%d/%s" % (qid, rid, way))
        check("run " + way, r.status_code in (200, 404), r.text)
    r = anon.get(URL + "/api/queries/%d/runs?limit=x" % qid)
    check("bad limit", err(r, 422), r.text)


def main():
    adm = session("admin")
    ed = session("editor")
    vw = session("viewer")
    bad = requests.post(URL + "/api/auth/login",
                        json={"email": "admin@example.com",
                              "password": "wrong-password"})
    check("wrong password", err(bad, 401), bad.text)
    dsid = make_source(adm, "vgsrc")
    r = adm.post(URL + "/api/datasources/%d/test" % dsid, json={})
    check("source test", r.status_code == 200, r.text)
    base = queries(ed, dsid, 0)
    ids = seed_runs(base)
    for i in range(ROUNDS):
        public(i)
        users(adm, vw, i)
        sources(adm, i)
        qid = queries(ed, dsid, i + 1)
        r = ed.delete(URL + "/api/admin/queries/%d" % qid, headers=J)
        check("query delete", r.status_code == 200, r.text)
        runs(base, ids, i)
    r = adm.post(URL + "/api/auth/logout", json={})
    check("logout", r.status_code == 200, r.text)
    finish()


if __name__ == "__main__":
    main()
