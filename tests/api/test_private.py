"""The API with RUNS_PUBLIC=0 and CORS_ALLOWED_ORIGINS=* (see
test_private.env): runs need a login; any origin may read without
credentials, none with them.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_private.py
"""
import os
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import URL, check, err, finish, session  # noqa: E402


def main():
    r = requests.get(URL + "/api/queries")
    check("catalogue needs a login", err(r, 401, "unauthenticated"), r.text)
    r = requests.get(URL + "/api/runs/1")
    check("runs need a login", err(r, 401), r.text)
    r = requests.get(URL + "/api/queries/1/runs/latest")
    check("latest needs a login", err(r, 401), r.text)
    vw = session("viewer")
    r = vw.get(URL + "/api/queries")
    check("viewer reads the catalogue", r.status_code == 200, r.text)
    r = vw.get(URL + "/api/runs/1")
    check("viewer: unknown run 404", err(r, 404), r.text)
    r = requests.get(URL + "/healthz", headers={"Origin": "https://any.one"})
    check("* answers any origin without credentials",
          r.headers.get("Access-Control-Allow-Origin") == "*" and
          "Access-Control-Allow-Credentials" not in r.headers, r.headers)
    r = vw.get(URL + "/api/queries", headers={"Origin": "https://any.one"})
    check("never * with credentials",
          r.headers.get("Access-Control-Allow-Credentials") is None, r.headers)
    r = requests.options(URL + "/api/queries",
                         headers={"Origin": "https://any.one",
                                  "Access-Control-Request-Method": "GET"})
    check("preflight with *", r.status_code == 204 and
          r.headers.get("Access-Control-Allow-Origin") == "*", r.headers)
    r = vw.post(URL + "/api/auth/logout", json={},
                headers={"Origin": "https://any.one"})
    check("CSRF: * does not list an origin", err(r, 403, "csrf"), r.text)
    finish()


if __name__ == "__main__":
    main()
