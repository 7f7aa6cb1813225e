"""nginx keeps its FastCGI connections to the pool open
(fastcgi_keep_conn on, keepalive 32 in etc/nginx): requests reuse them, and
more concurrent clients than the pool has connection slots (2 workers x
--conns 24, test_keepconn.env) are all served, none waiting for a timeout,
and no request fails while SIGHUP replaces the workers.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_keepconn.py
"""
import glob
import os
import re
import signal
import threading
import time

import requests

from apitest import URL, check, finish, session, wait_for, worker_pids


def stop_lines(pids):
    """{pid: (requests, connections)} from the workers' worker_stop lines."""
    found = {}
    pat = re.compile(r' worker_stop \[\S+ pid="(\d+)" requests="(\d+)" '
                     r'connections="(\d+)"\] stopped')
    for f in glob.glob(os.path.join(os.environ["LOG_DIR"], "pgsched-*.log")):
        with open(f, errors="replace") as fh:
            for ln in fh:
                m = pat.search(ln)
                if m and int(m.group(1)) in pids:
                    found[int(m.group(1))] = (int(m.group(2)),
                                              int(m.group(3)))
    return found if len(found) == len(pids) else None


def test_reuse():
    master, pids = worker_pids()
    s = session("viewer")
    codes = [s.get(URL + "/api/users/me").status_code for _ in range(300)]
    check("300 requests answered", codes == [200] * 300, set(codes))
    os.kill(master, signal.SIGHUP)      # the workers log their counts
    counts = wait_for(lambda: stop_lines(set(pids)), 15)
    check("replaced workers logged their counts", counts is not None,
          counts)
    if counts:
        req = sum(v[0] for v in counts.values())
        conn = sum(v[1] for v in counts.values())
        check("connections are reused (%d requests over %d connections)"
              % (req, conn), req >= 300 and conn * 10 <= req, (req, conn))


def test_many_clients():
    # Every client its own HTTP connection, all at once: nginx opens more
    # FastCGI connections than the workers have slots.
    n, per = 160, 4
    results = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def client():
        with requests.Session() as c:
            start.wait()
            for _ in range(per):
                try:
                    code = c.get(URL + "/api/queries", timeout=30).status_code
                except requests.RequestException as e:
                    code = str(e)[:80]
                with lock:
                    results.append(code)
    t0 = time.monotonic()
    ts = [threading.Thread(target=client) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - t0
    bad = [r for r in results if r != 200]
    check("%d concurrent clients x %d: all 200" % (n, per),
          len(results) == n * per and not bad, bad[:5])
    # No request waited for a FastCGI timeout (seconds at least).
    check("served in %.1f s (no request stalled)" % took, took < 20, took)


def test_reload_under_load():
    """SIGHUP replaces the workers while clients send GETs and POSTs on
    kept connections: the old workers serve their connections until nginx
    closes them, so no request fails, not even a POST nginx cannot
    retry."""
    master, before = worker_pids()
    codes = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(post):
        s = session("editor")
        while not stop.is_set():
            try:
                if post:    # a POST answered 422: no write, but a POST
                    r = s.post(URL + "/api/admin/queries", json={"x": 1},
                               timeout=30)
                else:
                    r = s.get(URL + "/api/admin/queries", timeout=30)
                code = r.status_code
            except requests.RequestException as e:
                code = str(e)[:60]
            with lock:
                codes[code] = codes.get(code, 0) + 1
    ts = [threading.Thread(target=client, args=(i % 2 == 1,))
          for i in range(8)]
    for t in ts:
        t.start()

    def answered():
        with lock:
            return sum(codes.values()), codes.get(200, 0), codes.get(422, 0)
    # A reload every half second, but never before 20 more requests were
    # answered since the previous one, and the clients stop once 60 of
    # each kind were: the reloads overlap requests however slow the
    # machine is (a fixed pace counted few requests on a busy one).
    for _ in range(6):
        last = answered()[0]
        time.sleep(0.5)
        wait_for(lambda: answered()[0] >= last + 20, 120, 0.05)
        os.kill(master, signal.SIGHUP)
    wait_for(lambda: min(answered()[1:]) > 60, 120, 0.05)
    stop.set()
    for t in ts:
        t.join()
    check("requests during 6 reloads: only 200 and 422 (%s)" % codes,
          set(codes) <= {200, 422} and codes.get(200, 0) > 50 and
          codes.get(422, 0) > 50, codes)
    gone = wait_for(lambda: not set(before) & set(worker_pids()[1]), 20)
    check("old workers exit once nginx lets their connections go", gone,
          (before, worker_pids()))


def main():
    wait_for(lambda: len(worker_pids()[1]) >= 2, 10)
    test_reuse()
    wait_for(lambda: len(worker_pids()[1]) >= 2, 10)
    test_many_clients()
    test_reload_under_load()
    finish()


if __name__ == "__main__":
    main()
