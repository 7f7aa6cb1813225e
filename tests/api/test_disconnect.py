"""A dry-run whose HTTP client goes away is cancelled on the source.

nginx closes the FastCGI connection when the client disconnects; the
worker watches that socket while the source query runs and cancels the
query instead of letting it run to its timeout (issue: hardening, fault
table).  Runs under tests/lib/with-api.sh.
"""
import json
import socket
import subprocess
import time
import urllib.parse

from apitest import URL, add_source, check, finish, session, wait_for


def source_active():
    """Number of pg-sched dry-run backends busy on the source."""
    out = subprocess.run(
        ["psql", "-qAtX", "-d", "source", "-c",
         "SELECT count(*) FROM pg_stat_activity WHERE application_name"
         " LIKE 'pgsched%' AND query = 'SELECT pg_sleep(30)'"
         " AND state = 'active'"],
        check=True, capture_output=True, text=True).stdout.strip()
    return int(out or 0)


def main():
    adm = session("admin")
    dsid = add_source(adm, "slow")
    body = json.dumps({"sql_text": "SELECT pg_sleep(30)",
                       "data_source_id": dsid, "timeout_ms": 60000})
    cookie = "; ".join("%s=%s" % (k, v) for k, v in adm.cookies.items())
    u = urllib.parse.urlsplit(URL)
    sock = socket.create_connection((u.hostname, u.port))
    sock.sendall(("POST /api/admin/queries/test HTTP/1.1\r\n"
                  "Host: %s\r\nCookie: %s\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: %d\r\n\r\n%s" % (
                      u.netloc, cookie, len(body), body)).encode())
    check("the query runs on the source",
          wait_for(lambda: source_active() == 1, 10))
    sock.close()
    left = time.time()
    gone = wait_for(lambda: source_active() == 0, 4)
    check("source query cancelled within 4 s of the client leaving", gone,
          "still active after %.1f s" % (time.time() - left))
    # The pool is fine afterwards.
    r = adm.get(URL + "/api/users/me")
    check("pool still answers", r.status_code == 200, r.text)
    finish()


main()
