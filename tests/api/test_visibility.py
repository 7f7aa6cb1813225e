"""Who may read what (CONTRACT section 9): every read route x every kind
of caller x every visibility, with the expected status of each cell, and
no answer ever holding another query's data.  The table runs twice: once
cold, with the privileged callers first (so that what they leave in the
workers' run caches is there when the others ask), then again with every
answer cached, so that a cached answer cannot leak across callers.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_visibility.py
"""
import os
import re
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, PASSWORD, add_source, check, err, finish, psql, session)

VIS = ("public", "internal", "restricted")
JSON = {"Content-Type": "application/json"}
MARK = 7770000          # result values of query k: MARK + 1000 * k + row
CALLERS = ("admin", "editor", "viewer_granted", "token_q", "anon",
           "viewer", "token_other", "token_expired", "token_revoked")


def doc(k):
    rows = ",".join('{"index":%d,"v":%d}' % (i, MARK + 1000 * k + i)
                    for i in range(2))
    return ('{"schema":{"fields":[{"name":"index","type":"integer"},'
            '{"name":"v","type":"integer"}],"primaryKey":["index"],'
            '"pandas_version":"1.4.0"},"data":[%s]}' % rows)


def add_runs(q, k):
    """Two finished runs of q with results marked k; returns their ids,
    oldest first."""
    ids = []
    for _ in range(2):
        ids.append(int(psql(
            "WITH r AS (INSERT INTO query_run (query_id, scheduled_at,"
            " status, run_started_at, run_finished_at, duration_ms,"
            " rows_returned) VALUES (%d, clock_timestamp(), 'success',"
            " now(), now(), 1, 2) RETURNING id) INSERT INTO query_run_blob"
            " (run_id, df_json, row_count, byte_size) SELECT id, $j$%s$j$,"
            " 2, 100 FROM r RETURNING run_id" % (q, doc(k)))))
    return ids


def marks(text):
    """The query numbers k whose result values appear in text."""
    return {(int(m) - MARK) // 1000 for m in
            re.findall(r"\b%d\d{4}\b" % (MARK // 10000), text)
            if MARK <= int(m) < MARK + 100000}


def visible(caller, vis):
    if caller in ("admin", "editor", "viewer_granted", "token_q"):
        return True
    if caller == "anon":
        return vis == "public"
    if caller == "viewer":
        return vis != "restricted"
    return False


def expected(caller, vis):
    if caller in ("token_expired", "token_revoked"):
        return 401
    return 200 if visible(caller, vis) else 404


def make_token(ed, name, qids, days=30):
    r = ed.post(URL + "/api/tokens", json={"name": name, "query_ids": qids,
                                           "expires_in_days": days})
    check("token %s created" % name, r.status_code == 201, r.text)
    return r.json()["token"], r.json()["api_token"]["id"]


def caller_sessions(adm, ed, q, other, granted_email):
    """A requests.Session per caller kind for query q (tokens name q, or
    the query other)."""
    s = {"admin": adm, "editor": ed, "anon": requests.Session(),
         "viewer": session("viewer"),
         "viewer_granted": session(granted_email)}
    for kind, qids in (("token_q", [q]), ("token_other", [other]),
                       ("token_expired", [q]), ("token_revoked", [q])):
        tok, tid = make_token(ed, "%s-%d" % (kind, q), qids)
        if kind == "token_expired":
            psql("UPDATE api_token SET created_at = now() - interval"
                 " '2 days', expires_at = now() - interval '1 day'"
                 " WHERE id = %d" % tid)
        if kind == "token_revoked":
            r = ed.delete(URL + "/api/tokens/%d" % tid, headers=JSON)
            check("token revoked", r.status_code == 200, r.text)
        t = requests.Session()
        t.headers["Authorization"] = "Bearer " + tok
        s[kind] = t
    return s


def routes(q, old, new):
    return [("query", "/api/queries/%d" % q),
            ("runs", "/api/queries/%d/runs" % q),
            ("latest", "/api/queries/%d/runs/latest" % q),
            ("latest_any", "/api/queries/%d/runs/latest?status=any" % q),
            ("latest_csv", "/api/queries/%d/runs/latest?format=csv" % q),
            ("run", "/api/runs/%d" % new),
            ("run_csv", "/api/runs/%d?format=csv" % new),
            ("prev", "/api/queries/%d/runs/%d/prev" % (q, new)),
            ("next", "/api/queries/%d/runs/%d/next" % (q, old))]


def check_cell(label, s, path, want, k):
    r = s.get(URL + path)
    ok = r.status_code == want
    if want == 404:
        ok = ok and err(r, 404, "not_found")
    check("%s: %s" % (label, path), ok, (r.status_code, r.text[:200]))
    seen = marks(r.text)
    check("%s: %s holds no other query's data" % (label, path),
          seen <= ({k} if want == 200 else set()), seen)
    if want == 200 and ("latest" in path or "/api/runs/" in path):
        check("%s: %s holds the result" % (label, path), k in seen,
              r.text[:200])


def check_catalogue(label, s, caller, own, queries):
    r = s.get(URL + "/api/queries?limit=500")
    if caller in ("token_expired", "token_revoked"):
        check("%s: catalogue 401" % label, err(r, 401), r.text)
        return
    if not check("%s: catalogue 200" % label, r.status_code == 200, r.text):
        return
    ids = {it["id"] for it in r.json()["items"]}
    for vis, (q, _k, _o, _n) in queries.items():
        want = visible(caller, vis)
        if caller.startswith("token"):
            want = caller == "token_q" and vis == own
        check("%s: catalogue lists %s iff visible" % (label, vis),
              (q in ids) == want, sorted(ids))


def run_table(adm, ed, queries, sess, pass_name):
    for caller in CALLERS:
        for vis, (q, k, old, new) in queries.items():
            label = "%s %s %s" % (pass_name, caller, vis)
            s = sess[vis][caller]
            for _name, path in routes(q, old, new):
                check_cell(label, s, path, expected(caller, vis), k)
            check_catalogue(label, s, caller, vis, queries)


def main():
    adm, ed = session("admin"), session("editor")
    r = adm.post(URL + "/api/users", json={
        "email": "granted@example.com", "name": "granted",
        "roles": ["viewer"], "password": PASSWORD})
    check("granted viewer created", r.status_code == 201, r.text)
    granted = r.json()["user"]["id"]
    ds = add_source(adm, "vis")
    queries = {}
    for k, vis in enumerate(VIS + ("public",), start=1):
        name = "vis_%s_%d" % (vis, k)
        r = ed.post(URL + "/api/admin/queries", json={
            "name": name, "data_source_id": ds, "title": name,
            "sql_text": "SELECT 1 AS v", "schedule_type": "interval",
            "schedule_expr": "PT1H", "visibility": vis})
        if not check("query %s created" % name, r.status_code == 201,
                     r.text):
            finish()
        q = r.json()["query"]["id"]
        check("query %s has its visibility" % name,
              r.json()["query"]["visibility"] == vis, r.text)
        old, new = add_runs(q, k)
        if k <= 3:
            queries[vis] = (q, k, old, new)
        else:
            other = q
    # The grant of the restricted query, and its answer.
    qres = queries["restricted"][0]
    r = ed.put(URL + "/api/admin/queries/%d/grants" % qres,
               json={"user_ids": [granted]})
    check("grant", r.status_code == 200 and r.json()["user_ids"] ==
          [granted], r.text)
    r = ed.get(URL + "/api/admin/queries/%d/grants" % qres)
    check("grants read back", r.json().get("user_ids") == [granted], r.text)
    sess = {vis: caller_sessions(adm, ed, q, other, "granted@example.com")
            for vis, (q, _k, _o, _n) in queries.items()}
    run_table(adm, ed, queries, sess, "cold")
    run_table(adm, ed, queries, sess, "warm")
    m = requests.get(URL + "/metrics").text
    hits = re.search(r'pgsched_cache_lookups_total\{result="hit"\} (\d+)', m)
    check("the second pass was served from the run cache",
          hits is not None and int(hits.group(1)) > 0, m[-400:])
    finish()


main()
