"""The pool on a full LOG_DIR (test_log_full.env: a filled 64 KiB tmpfs):
every request is still answered, the lines it could not write are counted
in /metrics (pgsched_log_lines_dropped_total, all processes of the pool),
each process says so once on stderr, and logging resumes once there is
room again, without restarting the pool.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_log_full.py
"""
import glob
import os
import re

from apitest import URL, check, finish, session, wait_for

FULL = os.environ["PGSCHED_LOG_FULL_DIR"]
POOL_OUT = os.path.join(os.environ["PGSCHED_API_DIR"], "fcgi.out")
NOTE = re.compile(r"^[\w.-]+: cannot (open|write) log file in %s: "
                  r"No space left on device \(log lines are dropped and "
                  r"counted from now on\)$" % re.escape(FULL))


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def dropped():
    s = session()
    r = s.get(URL + "/metrics")
    check("/metrics answers", r.status_code == 200, r.status_code)
    return metric(r.text, "pgsched_log_lines_dropped_total"), r.text


def notes():
    with open(POOL_OUT) as f:
        lines = f.read().splitlines()
    return [ln for ln in lines if NOTE.match(ln)], lines


def main():
    adm = session("admin")
    n = 1
    for _ in range(30):
        r = adm.get(URL + "/api/users/me")
        check("GET /api/users/me with a full LOG_DIR", r.status_code == 200,
              r.status_code)
        n += 1
    r = adm.post(URL + "/api/admin/queries", json={"name": "x"})
    check("a bad POST still gets its 422", r.status_code == 422, r.text)
    n += 1
    r = adm.post(URL + "/api/auth/login",
                 json={"email": "admin@example.com", "password": "wrong"})
    check("a failed login still gets its 401", r.status_code == 401,
          r.status_code)
    n += 1

    count, text = dropped()
    check("pgsched_log_lines_dropped_total present", count is not None,
          text[-800:])
    # Every request above wrote at least its access line; the sync after
    # each request makes them visible to the next /metrics.
    check("every request's lost line counted (%s >= %d)" % (count, n),
          count is not None and count >= n, count)
    check("cache lookups exported",
          re.search(r'^pgsched_cache_lookups_total\{result="hit"\} \d+$',
                    text, re.M) is not None, text[-800:])
    for ln in open(POOL_OUT).read().splitlines():
        check("pool stderr has only the full-disk notes", NOTE.match(ln),
              ln)
    said, _ = notes()
    # The master and two workers, each at most once.
    check("each process says so at most once (%d notes)" % len(said),
          1 <= len(said) <= 3, said)
    for f in glob.glob(os.path.join(FULL, "pgsched-*.log")):
        with open(f, "rb") as fh:
            data = fh.read()
        check("no partial line in %s" % f,
              not data or data.endswith(b"\n"), data[-80:])

    # Room again: the same workers log again and stop counting.
    os.unlink(os.path.join(FULL, "filler"))
    for _ in range(10):
        adm.get(URL + "/api/users/me")
    before, _ = dropped()
    for _ in range(10):
        r = adm.get(URL + "/api/users/me")
        check("GET /api/users/me after room came back",
              r.status_code == 200, r.status_code)
    after, _ = dropped()
    check("no line dropped once there is room (%s -> %s)" % (before, after),
          before is not None and before == after, (before, after))

    def logged():
        for f in glob.glob(os.path.join(FULL, "pgsched-*.log")):
            with open(f) as fh:
                if re.search(r' access .*method="GET" '
                             r'route="/api/users/me"', fh.read()):
                    return True
        return False

    def tails():
        out = []
        for f in glob.glob(os.path.join(FULL, "pgsched-*.log")):
            with open(f) as fh:
                out.append(fh.read()[-600:])
        return out
    check("access lines reach the day file again", wait_for(logged, 5),
          tails())
    said2, _ = notes()
    check("no new note on stderr", len(said2) == len(said), said2)
    finish()


if __name__ == "__main__":
    main()
