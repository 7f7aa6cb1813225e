"""API tokens (CONTRACT section 9): their format, the database holding
only a hash, the 401/403/404 rules, a token in a URL refused with 400 and
written to neither the nginx access log nor the pool's logs, the expiry
bound (TOKEN_MAX_DAYS), last_used_at written at most once a minute, and
the CLI door (tokens create|list|revoke).
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_tokens.py
"""
import glob
import os
import re
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, add_source, check, err, finish, psql, session)

ADMIN = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."),
                     "pgsched-admin")
JSON = {"Content-Type": "application/json"}
TOKEN_RE = re.compile(r"^pgs_[A-Za-z0-9_-]{43}$")


def bearer(tok):
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + tok
    return s


def add_query(ed, ds, name, vis="restricted"):
    r = ed.post(URL + "/api/admin/queries", json={
        "name": name, "title": name, "data_source_id": ds,
        "sql_text": "SELECT 1 AS v", "schedule_type": "interval",
        "schedule_expr": "PT1H", "visibility": vis})
    check("query %s created" % name, r.status_code == 201, r.text)
    q = r.json()["query"]["id"]
    psql("WITH r AS (INSERT INTO query_run (query_id, scheduled_at, status,"
         " run_started_at, run_finished_at, duration_ms, rows_returned)"
         " VALUES (%d, now(), 'success', now(), now(), 1, 1) RETURNING id)"
         " INSERT INTO query_run_blob (run_id, df_json, row_count,"
         " byte_size) SELECT id, '{\"schema\":{\"fields\":[{\"name\":"
         "\"index\",\"type\":\"integer\"},{\"name\":\"v\",\"type\":"
         "\"integer\"}],\"primaryKey\":[\"index\"],\"pandas_version\":"
         "\"1.4.0\"},\"data\":[{\"index\":0,\"v\":1}]}', 1, 10 FROM r"
         " RETURNING run_id" % q)
    return q


def create(ed, qids, days=30, name="dash"):
    return ed.post(URL + "/api/tokens", json={
        "name": name, "query_ids": qids, "expires_in_days": days})


def test_format_and_hash(ed, q):
    r = create(ed, [q])
    check("create 201", r.status_code == 201, r.text)
    tok = r.json()["token"]
    check("format pgs_ + 43 base64url", TOKEN_RE.match(tok), tok)
    toks = {create(ed, [q]).json()["token"] for _ in range(20)}
    check("tokens differ", len(toks) == 20, len(toks))
    tid = r.json()["api_token"]["id"]
    dump = psql("SELECT row_to_json(t)::text FROM api_token t")
    dump += subprocess.run(["pg_dump", "-d", "pgsched", "--data-only"],
                           capture_output=True, text=True).stdout
    check("the database never holds a token", all(
        t[4:] not in dump for t in toks | {tok}), "")
    import hashlib
    h = psql("SELECT token_hash FROM api_token WHERE id = %d" % tid)
    check("only its SHA-256 is stored",
          h == hashlib.sha256(tok.encode()).hexdigest(), h)
    r = ed.get(URL + "/api/tokens")
    check("list never shows a token", r.status_code == 200 and
          "pgs_" not in r.text and any(
              it["id"] == tid for it in r.json()["items"]), r.text[:300])
    return tok, tid


def test_semantics(adm, ed, viewer, tok, q, other):
    t = bearer(tok)
    r = t.get(URL + "/api/queries/%d/runs/latest" % q)
    check("token reads its query", r.status_code == 200, r.text)
    r = t.get(URL + "/api/queries/%d/runs/latest" % other)
    check("token outside its list: 404", err(r, 404, "not_found"), r.text)
    for path in ("/api/users/me", "/api/admin/queries", "/api/tokens",
                 "/api/datasources", "/api/users"):
        r = t.get(URL + path)
        check("token on %s: 403" % path, err(r, 403, "forbidden"), r.text)
    r = t.post(URL + "/api/admin/queries/%d/run" % q, json={})
    check("token cannot run a query: 403", err(r, 403), r.text)
    r = bearer("pgs_" + "A" * 43).get(URL + "/api/queries")
    check("unknown token: 401", err(r, 401, "invalid_token") and
          "Bearer" in r.headers.get("WWW-Authenticate", ""), r.text)
    r = bearer("garbage").get(URL + "/api/queries")
    check("malformed token: 401", err(r, 401), r.text)
    r = viewer.post(URL + "/api/tokens", json={
        "name": "x", "query_ids": [q], "expires_in_days": 1})
    check("viewers cannot create tokens: 403", err(r, 403), r.text)
    # An editor's token is not another editor's to see; admins see all.
    r = adm.get(URL + "/api/tokens")
    check("admin lists every token", r.status_code == 200 and
          len(r.json()["items"]) >= 1, r.text[:200])


def test_revoke(ed, adm, q):
    tok, tid = create(ed, [q]).json()["token"], None
    tid = [it["id"] for it in ed.get(URL + "/api/tokens").json()["items"]
           ][0]
    t = bearer(tok)
    check("fresh token works", t.get(
        URL + "/api/queries/%d/runs/latest" % q).status_code == 200, "")
    r = ed.delete(URL + "/api/tokens/%d" % tid, headers=JSON)
    check("revoke 200", r.status_code == 200, r.text)
    r = t.get(URL + "/api/queries/%d/runs/latest" % q)
    check("revoked token: 401", err(r, 401, "invalid_token"), r.text)
    r = ed.delete(URL + "/api/tokens/999999", headers=JSON)
    check("revoke unknown: 404", err(r, 404), r.text)


def test_expiry(ed, q):
    r = create(ed, [q], days=366)
    check("beyond TOKEN_MAX_DAYS: 422", err(r, 422, field="expires_in_days"),
          r.text)
    r = create(ed, [q], days=0)
    check("no expiry: 422", err(r, 422, field="expires_in_days"), r.text)
    r = ed.post(URL + "/api/tokens", json={"name": "x", "query_ids": [q]})
    check("expiry required: 422", err(r, 422, field="expires_in_days"),
          r.text)
    r = create(ed, [], days=5)
    check("no query: 422", err(r, 422, field="query_ids"), r.text)
    r = create(ed, [999999], days=5)
    check("unknown query: 422", err(r, 422, field="query_ids"), r.text)
    r = create(ed, [q], days=365)
    check("TOKEN_MAX_DAYS itself is fine", r.status_code == 201, r.text)
    exp = psql("SELECT round(extract(epoch FROM expires_at - created_at)"
               " / 86400) FROM api_token WHERE id = %d" %
               r.json()["api_token"]["id"])
    check("expires in 365 days", exp == "365", exp)
    tok = r.json()["token"]
    psql("UPDATE api_token SET created_at = now() - interval '2 days',"
         " expires_at = now() - interval '1 second' WHERE id = %d" %
         r.json()["api_token"]["id"])
    r = bearer(tok).get(URL + "/api/queries/%d/runs/latest" % q)
    check("expired token: 401", err(r, 401, "invalid_token"), r.text)


def test_last_used(ed, q):
    """Counts the rows written to last_used_at with a trigger: 200
    requests on two workers make one write (each worker writes at most
    once a minute, and the statement writes nothing when another process
    wrote within the minute)."""
    r = create(ed, [q])
    tok, tid = r.json()["token"], r.json()["api_token"]["id"]
    check("never used", psql("SELECT last_used_at IS NULL FROM api_token"
                             " WHERE id = %d" % tid) == "t", "")
    psql("CREATE TABLE touch_log (at timestamptz DEFAULT now());"
         " GRANT INSERT ON touch_log TO PUBLIC;"
         " CREATE FUNCTION touch_count() RETURNS trigger LANGUAGE plpgsql"
         " AS $$BEGIN INSERT INTO touch_log DEFAULT VALUES; RETURN NULL;"
         " END$$; CREATE TRIGGER touch_count AFTER UPDATE OF last_used_at"
         " ON api_token FOR EACH ROW EXECUTE FUNCTION touch_count()")
    t = bearer(tok)
    codes = [t.get(URL + "/api/queries/%d/runs/latest" % q).status_code
             for _ in range(200)]
    check("200 reads", codes.count(200) == 200, set(codes))
    check("last_used_at written", psql(
        "SELECT last_used_at > now() - interval '1 minute' FROM api_token"
        " WHERE id = %d" % tid) == "t", "")
    n = psql("SELECT count(*) FROM touch_log")
    check("200 requests: one write of last_used_at", n == "1", n)
    psql("DROP TRIGGER touch_count ON api_token")


def logs_text():
    out = ""
    for pat in (os.path.join(os.environ.get("LOG_DIR", ""), "*"),
                os.path.join(os.environ["PGSCHED_API_DIR"], "nginx", "*.log"),
                os.path.join(os.environ["PGSCHED_API_DIR"], "fcgi.out")):
        for f in glob.glob(pat):
            try:
                out += open(f, errors="replace").read()
            except (IsADirectoryError, FileNotFoundError):
                pass
    return out


def test_token_in_url(tok, q):
    tail = tok[4:]
    for u in ("/api/queries/%d/runs/latest?token=%s" % (q, tok),
              "/api/queries/%d/runs/latest?access_token=%s" % (q, tok),
              "/api/queries/%d/runs/latest?x=%s" % (q, tok),
              "/api/queries/%d/runs/latest?x=pgs%%5F%s" % (q, tail),
              "/api/runs/1?format=csv&api_key=%s" % tok,
              "/api/%s" % tok,
              "/api/queries?token=anything"):
        r = requests.get(URL + u)
        check("token in URL refused: %s" % u[:40], err(r, 400,
                                                       "token_in_url"),
              r.text)
        r = bearer(tok).get(URL + u)
        check("also with a Bearer header: %s" % u[:40], r.status_code == 400,
              r.text)
    time.sleep(0.3)  # nginx writes its log line after the answer
    text = logs_text()
    check("the access log saw the refused requests",
          "[redacted]" in text, text[-300:])
    check("no token in the nginx or pool logs", tail not in text, "")


def test_cli(q, other):
    def admin(*a):
        return subprocess.run([ADMIN] + list(a), capture_output=True,
                              text=True)
    r = admin("tokens", "create", "--name", "cli", "--queries",
              "%d,%d" % (q, other), "--expires-days", "7")
    toks = re.findall(r"pgs_[A-Za-z0-9_-]{43}", r.stdout)
    check("cli create prints the token once", r.returncode == 0 and
          len(toks) == 1, (r.stdout, r.stderr))
    tok = toks[0] if toks else ""
    check("cli token reads both queries", all(
        bearer(tok).get(URL + "/api/queries/%d/runs/latest" % x)
        .status_code == 200 for x in (q, other)), "")
    r = admin("tokens", "create", "--name", "cli", "--queries", str(q),
              "--expires-days", "400")
    check("cli: expiry bound", r.returncode == 65 and "TOKEN_MAX_DAYS" in
          r.stderr, (r.returncode, r.stderr))
    r = admin("tokens", "create", "--name", "cli", "--queries", str(q))
    check("cli: expiry required", r.returncode == 64, r.stderr)
    r = admin("--json", "tokens", "list")
    check("cli list never shows a token", r.returncode == 0 and
          "pgs_" not in r.stdout and '"cli"' in r.stdout, r.stdout[:300])
    tid = psql("SELECT max(id) FROM api_token WHERE name = 'cli'"
               " AND revoked_at IS NULL")
    r = admin("tokens", "revoke", tid)
    check("cli revoke", r.returncode == 0, r.stderr)
    r = bearer(tok).get(URL + "/api/queries/%d/runs/latest" % q)
    check("revoked with the CLI: 401", err(r, 401), r.text)


def main():
    adm, ed, viewer = session("admin"), session("editor"), session("viewer")
    ds = add_source(adm, "tok")
    q = add_query(ed, ds, "tok_q")
    other = add_query(ed, ds, "tok_other", "public")
    tok, _tid = test_format_and_hash(ed, q)
    test_semantics(adm, ed, viewer, tok, q, other)
    test_revoke(ed, adm, q)
    test_expiry(ed, q)
    test_last_used(ed, q)
    test_token_in_url(tok, q)
    test_cli(q, other)
    finish()


main()
