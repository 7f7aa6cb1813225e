"""GET /api/datasources/names: the id and name of every data source, for
the editor's data source picker.  Editors and admins read it; a viewer
gets 403, anyone else 401; nothing of a source but its id and name is in
it (no host, port, database, user, DSN or credential), and the admins'
full list stays admin-only.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh \
     tests/api/test_source_names.py
"""
import os
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import URL, check, err, finish, psql, session  # noqa: E402

NAMES = URL + "/api/datasources/names"
HOST = "db-secret-host.invalid"
USER = "secret_role_name"
PASSWORD = "s3cret-pw"


def make(adm, name, host):
    r = adm.post(URL + "/api/datasources",
                 json={"name": name, "host": host, "port": 5433,
                       "dbname": "secret_db", "username": USER,
                       "password": PASSWORD})
    check("source %s created" % name, r.status_code == 201, r.text)
    return r.json()["datasource"]["id"]


def test_access():
    r = requests.get(NAMES)
    check("anonymous: 401", err(r, 401, "unauthenticated"), r.text)
    r = session("viewer").get(NAMES)
    check("viewer: 403", err(r, 403, "forbidden"), r.text)
    r = session("editor").get(URL + "/api/datasources")
    check("editor: the full list stays admin-only", err(r, 403), r.text)


def test_names():
    adm = session("admin")
    ids = {"zeta": make(adm, "zeta", HOST),
           "alpha": make(adm, "alpha", "10.1.2.3")}
    for who in ("editor", "admin"):
        r = session(who).get(NAMES)
        check(who + ": 200 JSON", r.status_code == 200 and
              r.headers.get("Content-Type", "").startswith(
                  "application/json"), (r.status_code, r.text))
        items = r.json().get("items")
        check(who + ": only items", list(r.json()) == ["items"], r.text)
        check(who + ": every source by name, with its id",
              [(i.get("name"), i.get("id")) for i in items] ==
              [("alpha", ids["alpha"]), ("zeta", ids["zeta"])], items)
        check(who + ": id and name only, no host, user or dsn members",
              all(set(i) == {"id", "name"} for i in items), items)
        for bad in ("host", "port", "dbname", "username", "user", "dsn",
                    "password", "enc_password", "has_password"):
            check(who + ": no " + bad, all(bad not in i for i in items),
                  items)
        for secret in (HOST, "10.1.2.3", USER, "secret_db", "5433",
                       PASSWORD):
            check(who + ": nothing of " + secret, secret not in r.text,
                  r.text)
    psql("DELETE FROM data_source")
    r = session("editor").get(NAMES)
    check("no sources: an empty list", r.status_code == 200 and
          r.json() == {"items": []}, r.text)


def test_methods():
    r = session("admin").post(NAMES, json={})
    check("POST: 405 naming GET", err(r, 405, "method_not_allowed") and
          "GET" in r.headers.get("Allow", ""), (r.headers, r.text))


def main():
    for t in (test_access, test_names, test_methods):
        try:
            t()
        except Exception as e:  # a crash is one failure; the rest runs
            import traceback
            traceback.print_exc()
            check(t.__name__ + " raised", False, repr(e))
    finish()


if __name__ == "__main__":
    main()
