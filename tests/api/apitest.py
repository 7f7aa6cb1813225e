"""Shared helpers of the API tests (run under tests/lib/with-api.sh)."""
import json
import os
import subprocess
import sys
import time

import requests

URL = os.environ.get("PGSCHED_API_URL", "")
PASSWORD = os.environ.get("PGSCHED_TEST_PASSWORD", "")

_passed = 0
_failed = 0


def check(name, cond, detail=""):
    """Records one check; prints failures with their detail."""
    global _passed, _failed
    if cond:
        _passed += 1
    else:
        _failed += 1
        print("FAIL: %s %s" % (name, str(detail)[:600]), flush=True)
    return cond


def finish():
    print("%d passed, %d failed" % (_passed, _failed))
    sys.exit(1 if _failed or not _passed else 0)


def session(role=None, password=None):
    """A requests.Session, logged in as <role>@example.com when role."""
    s = requests.Session()
    if role:
        r = s.post(URL + "/api/auth/login",
                   json={"email": role if "@" in role else
                         role + "@example.com",
                         "password": password or PASSWORD})
        if r.status_code != 200:
            raise RuntimeError("login %s: %s %s" % (role, r.status_code,
                                                    r.text))
    return s


def add_source(adm, name):
    """Creates a data source on the test cluster's database "source" (as
    postgres, trust auth) through the API as adm; returns its id."""
    r = adm.post(URL + "/api/datasources",
                 json={"name": name, "host": "127.0.0.1",
                       "port": int(os.environ["PGPORT"]),
                       "dbname": "source", "username": "postgres",
                       "password": "unused"})
    check("data source %s created" % name, r.status_code == 201, r.text)
    return r.json()["datasource"]["id"] if r.status_code == 201 else None


def err(r, status, code=None, field=None):
    """Checks an error answer: status, CONTRACT section 5 shape, code and
    the field named in "fields"."""
    try:
        b = r.json()
    except ValueError:
        return False
    ok = (r.status_code == status and b.get("ok") is False and
          isinstance(b.get("error"), str) and
          isinstance(b.get("message"), str))
    if code is not None:
        ok = ok and b.get("error") == code
    if field is not None:
        ok = ok and field in (b.get("fields") or {})
    return ok


def psql(sql, *args):
    """Runs sql on the metadata database; returns stdout text."""
    cmd = ["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", "pgsched"]
    for i, a in enumerate(args):
        cmd += ["-v", "p%d=%s" % (i + 1, a)]
    return subprocess.run(cmd + ["-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def worker_pids():
    """(master pid, sorted pids of its workers) of the pool under test."""
    master = int(open(os.environ["PGSCHED_FCGI_PIDFILE"]).read())
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)],
                         capture_output=True, text=True).stdout
    return master, sorted(int(x) for x in out.split())


def wait_for(fn, timeout=10.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except requests.RequestException:
            pass
        time.sleep(step)
    return None


def dumps(v):
    return json.dumps(v)
