"""API benchmark, run by bench/api.sh under tests/lib/with-api.sh.

Creates a 150-row result with pgsched-runner --query, starts a second
nginx (same settings as the test stack's, one more location serving the
latest run's bytes as a static file), and measures with wrk: the static
file, GET /api/queries/<id>/runs/latest, GET /api/runs/<id>, the 304
revalidation, GET /api/users/me with a session, the latest run of a
restricted query read with an API token and with a granted viewer's
session (each beside the public read of the same run), and logins; then
the workers' RSS before and after 100,000 more requests; then the formats
of a 10,000-row result (bench/api_formats.py).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "api"))
from apitest import PASSWORD, URL, session  # noqa: E402

DUR = int(os.environ.get("BENCH_DURATION", "10"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
NGINX_WORKERS = os.environ.get("BENCH_NGINX_WORKERS", "1")
KEEPCONN = os.environ.get("BENCH_KEEPCONN", "1") == "1"
EXTRA = os.environ.get("BENCH_NGINX_EXTRA", "")
API_DIR = os.environ["PGSCHED_API_DIR"]
BLD = os.environ.get("PGSCHED_BUILDDIR", ".")
BDIR = os.path.join(API_DIR, "bench")
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SQL = ("SELECT g AS id, 'item number ' || g AS name, g * 1.25 AS price,"
       " md5(g::text) AS digest, timestamptz '2026-01-01 00:00:00+00'"
       " + g * interval '1 hour' AS seen_at, g % 3 = 0 AS flagged"
       " FROM generate_series(1, 150) g")


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


def seed():
    """A data source, a query, and one run of it through the runner."""
    adm = session("admin")
    ds = adm.post(URL + "/api/datasources",
                  json={"name": "bench", "host": "127.0.0.1",
                        "port": int(os.environ["PGPORT"]),
                        "dbname": "source", "username": "postgres",
                        "password": "unused-trust-auth"})
    ds = ds.json()["datasource"]["id"]
    q = adm.post(URL + "/api/admin/queries",
                 json={"name": "bench", "title": "Bench",
                       "data_source_id": ds, "sql_text": SQL,
                       "schedule_type": "interval",
                       "schedule_expr": "PT1H"}).json()["query"]["id"]
    sh(os.path.join(BLD, "pgsched-runner"), "--query", str(q))
    r = adm.get("%s/api/queries/%d/runs/latest" % (URL, q))
    if r.status_code != 200 or r.json()["rows_returned"] != 150:
        sys.exit("bench: no 150-row run: %s %s" % (r.status_code,
                                                    r.text[:300]))
    return q, r.json()["id"], r.content, r.headers["ETag"]


def seed_restricted(ds_q):
    """A restricted copy of query ds_q with its own 150-row run, granted
    to the viewer; returns its id and an API token for it."""
    adm = session("admin")
    src = adm.get("%s/api/admin/queries/%d" % (URL, ds_q)).json()["query"]
    q = adm.post(URL + "/api/admin/queries",
                 json={"name": "bench_restricted", "title": "Bench R",
                       "data_source_id": src["data_source_id"],
                       "sql_text": SQL, "schedule_type": "interval",
                       "schedule_expr": "PT1H",
                       "visibility": "restricted"}).json()["query"]["id"]
    sh(os.path.join(BLD, "pgsched-runner"), "--query", str(q))
    vid = next(u["id"] for u in adm.get(URL + "/api/users").json()["items"]
               if u["email"] == "viewer@example.com")
    adm.put("%s/api/admin/queries/%d/grants" % (URL, q),
            json={"user_ids": [vid]})
    tok = adm.post(URL + "/api/tokens", json={
        "name": "bench", "query_ids": [q], "expires_in_days": 1}).json()
    return q, tok["token"]


def nginx_conf(port):
    """The stack's server block on another port, plus /static.json."""
    with open(os.path.join(API_DIR, "nginx", "server.conf")) as f:
        conf = f.read()
    conf = re.sub(r"listen 127\.0\.0\.1:\d+;", "listen 127.0.0.1:%d;" % port,
                  conf)
    static = ("\tlocation = /static.json {\n\t\talias %s/static.json;\n"
              "\t\tdefault_type application/json;\n\t}\n\n"
              "\tlocation / {" % BDIR)
    conf = conf.replace("\tlocation / {", static, 1)
    if EXTRA:
        conf = conf.replace("\tclient_max_body_size",
                            "\t%s\n\tclient_max_body_size" % EXTRA, 1)
    if not KEEPCONN:
        # For comparison: one connection per request, as before.
        inc = re.search(r"include (\S+pgsched_fastcgi\.conf);", conf).group(1)
        with open(inc) as f:
            fc = f.read().replace("fastcgi_keep_conn on;",
                                  "fastcgi_keep_conn off;")
        with open(os.path.join(BDIR, "fastcgi.conf"), "w") as f:
            f.write(fc)
        conf = conf.replace(inc, os.path.join(BDIR, "fastcgi.conf"))
        conf = re.sub(r"\n\tkeepalive \d+;", "", conf)
    with open(os.path.join(API_DIR, "nginx", "nginx.conf")) as f:
        main = f.read()
    main = main.replace("worker_processes 1;",
                        "worker_processes %s;" % NGINX_WORKERS)
    main = main.replace(os.path.join(API_DIR, "nginx.pid"),
                        os.path.join(BDIR, "nginx.pid"))
    main = re.sub(r"access_log \S+;", "access_log off;", main)
    main = main.replace(os.path.join(API_DIR, "nginx", "server.conf"),
                        os.path.join(BDIR, "server.conf"))
    main = main.replace("worker_connections 512;", "worker_connections 4096;")
    with open(os.path.join(BDIR, "server.conf"), "w") as f:
        f.write(conf)
    with open(os.path.join(BDIR, "nginx.conf"), "w") as f:
        f.write(main)


def start_nginx(body):
    os.makedirs(BDIR, exist_ok=True)
    os.chmod(BDIR, 0o755)
    with open(os.path.join(BDIR, "static.json"), "wb") as f:
        f.write(body)
    os.chmod(os.path.join(BDIR, "static.json"), 0o644)
    port = int(sh("/usr/bin/python3", "-c", "import socket\ns = "
                  "socket.socket()\ns.bind(('127.0.0.1', 0))\n"
                  "print(s.getsockname()[1])"))
    nginx_conf(port)
    nginx = os.environ.get("PGSCHED_NGINX", "/usr/sbin/nginx")
    sh(nginx, "-p", os.path.join(API_DIR, "nginx"), "-e",
       os.path.join(BDIR, "error.log"), "-c", os.path.join(BDIR,
                                                           "nginx.conf"))
    return "http://127.0.0.1:%d" % port


def stop_nginx():
    try:
        with open(os.path.join(BDIR, "nginx.pid")) as f:
            os.kill(int(f.read()), 15)
    except (OSError, ValueError):
        pass


def parse_wrk(out):
    """(requests, req/s, p99 ms, non-2xx/3xx count) from wrk --latency."""
    def ms(v, unit):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    n_bad = int(bad.group(1)) if bad else 0
    if errs:
        n_bad += sum(int(x) for x in re.findall(r"\d+", errs.group(1)))
    return total, rps, ms(m.group(1), m.group(2)), n_bad


def wrk(url, headers=(), script=None, dur=None, conns=None):
    conns = conns or CONNS
    cmd = ["wrk", "-t", str(min(THREADS, conns)), "-c", str(conns), "-d",
           "%ds" % (dur or DUR), "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    return parse_wrk(sh(*cmd, url))


def measure(name, url, headers=(), script=None, expect=200, conns=None):
    """Median of REPEAT runs; checks the status of one request first."""
    import requests
    h = dict(x.split(": ", 1) for x in headers)
    if script is None:
        st = requests.get(url, headers=h).status_code
        if st != expect:
            sys.exit("bench: %s answers %d, not %d" % (url, st, expect))
    runs = [wrk(url, headers, script, conns=conns) for _ in range(REPEAT)]
    total = sum(x[0] for x in runs)
    rps = statistics.median(x[1] for x in runs)
    p99 = statistics.median(x[2] for x in runs)
    bad = sum(x[3] for x in runs)
    return {"name": name, "rps": rps, "p99": p99, "bad": bad,
            "total": total, "all": [round(x[1]) for x in runs]}


def workers_rss():
    """{pid: VmRSS kB} of the pool's workers."""
    with open(os.environ["PGSCHED_FCGI_PIDFILE"]) as f:
        master = f.read().strip()
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                st = f.read()
        except OSError:
            continue
        if re.search(r"^PPid:\s+%s$" % master, st, re.M):
            out[int(pid)] = int(re.search(r"^VmRSS:\s+(\d+)", st,
                                          re.M).group(1))
    return out


def session_sql():
    """The statement of session_user() in src/session.c, with pgbench's
    variables for its parameters: :h the session hash, :m the minutes."""
    with open(os.path.join(SRC, "src", "session.c")) as f:
        text = f.read()
    body = text[text.index("\nsession_user("):]
    decl = body[body.index("sql[] ="):]
    decl = decl[:decl.index(";")]
    sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', decl))
    return sql.replace("$1", ":h").replace("$2::int", ":m::int") + ";\n"


def session_ceiling(email):
    """req/s of the session check alone in PostgreSQL: pgbench, prepared,
    as many clients and threads as wrk, median of REPEAT runs."""
    import psycopg2
    with psycopg2.connect(os.environ["PG_DSN_APP"]) as c, c.cursor() as cur:
        cur.execute("SELECT us.id FROM user_session us JOIN user_account u"
                    " ON u.id = us.user_id WHERE u.email = %s AND NOT"
                    " us.is_revoked ORDER BY us.created_at DESC LIMIT 1",
                    (email,))
        sid_hash = cur.fetchone()[0]
    path = os.path.join(BDIR, "session.sql")
    with open(path, "w") as f:
        f.write(session_sql())
    cmd = [os.path.join(os.environ["PGSCHED_PG_BIN"], "pgbench"), "-n",
           "-M", "prepared", "-c", str(CONNS), "-j", str(THREADS), "-T",
           str(DUR), "-D", "h=" + sid_hash, "-D", "m=60", "-f", path,
           os.environ["PG_DSN_APP"]]
    runs = []
    for _ in range(REPEAT):
        out = sh(*cmd)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if failed and failed.group(1) != "0":
            sys.exit("bench: pgbench: %s" % out[-500:])
        runs.append(float(re.search(r"tps = ([\d.]+)", out).group(1)))
    return statistics.median(runs), [round(x) for x in runs]


def login_script(email):
    path = os.path.join(BDIR, "login.lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.body = \'{"email": "%s", "password": "%s"}\'\n'
                % (email, PASSWORD))
    return path


def main():
    q, rid, body, etag = seed()
    base = start_nginx(body)
    try:
        run(base, q, rid, body, etag)
    finally:
        stop_nginx()
    if os.environ.get("BENCH_FORMATS", "1") == "1":
        import api_formats  # pylint: disable=C0415
        api_formats.main()


def run(base, q, rid, body, etag):
    latest = "%s/api/queries/%d/runs/latest" % (base, q)
    viewer = session("viewer")
    sid = viewer.cookies.get("sid")
    # Warm-up: every worker sees each endpoint at least once.
    wrk(latest, dur=1)
    wrk("%s/api/runs/%d" % (base, rid), dur=1)
    rss0 = workers_rss()
    res = [measure("static file", base + "/static.json")]
    res.append(measure("GET latest", latest))
    res.append(measure("GET /api/runs/<id>", "%s/api/runs/%d" % (base, rid)))
    res.append(measure("GET latest, 304", latest,
                       headers=["If-None-Match: " + etag], expect=304))
    res.append(measure("GET /api/users/me", base + "/api/users/me",
                       headers=["Cookie: sid=" + sid]))
    rq, tok = seed_restricted(q)
    rlatest = "%s/api/queries/%d/runs/latest" % (base, rq)
    ratios = interleaved([
        ("GET latest, public", latest, []),
        ("latest restricted, token", rlatest,
         ["Authorization: Bearer " + tok]),
        ("latest restricted, sid", rlatest, ["Cookie: sid=" + sid]),
        ("GET /api/users/me, sid", base + "/api/users/me",
         ["Cookie: sid=" + sid]),
        ("GET latest, 304 (beside)", latest, ["If-None-Match: " + etag])])
    # Logins are Argon2id-bound: as many connections as workers.
    res.append(measure("POST login (-c %s)" % os.environ[
        "PGSCHED_TEST_WORKERS"], base + "/api/auth/login",
        script=login_script("editor@example.com"),
        conns=int(os.environ["PGSCHED_TEST_WORKERS"])))
    pg = session_ceiling("viewer@example.com")
    served = sum(x["total"] for x in res[1:])
    rss1 = workers_rss()
    n = 0
    while n < 100000:
        n += wrk(latest, dur=5)[0]
        n += wrk("%s/api/runs/%d" % (base, rid), dur=2)[0]
    rss2 = workers_rss()
    report(res, body, rss0, rss1, rss2, served, n, pg)
    report_ratios(ratios)


def interleaved(cases):
    """Measures cases [(name, url, headers)] one after the other, REPEAT
    times over: on a shared machine the load changes from minute to
    minute, so each ratio is taken within one round.  Returns {name: [req/s
    of each round]}."""
    out = {name: [] for name, _u, _h in cases}
    for name, url, h in cases:
        wrk(url, h, dur=1)
    for _ in range(REPEAT):
        for name, url, h in cases:
            out[name].append(wrk(url, h)[1])
    return out


def report_ratios(r):
    """The targets of issue 13, as medians of the per-round ratios."""
    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(r[a], r[b]))
    print("\nInterleaved, %d rounds (median req/s; median of the per-round"
          " ratios):" % REPEAT)
    for name in r:
        print("  %-28s %8.0f  %s" % (name, statistics.median(r[name]),
                                     [round(x) for x in r[name]]))
    for name in ("latest restricted, token", "latest restricted, sid"):
        print("%s / public read: %.2f (target 0.90)" % (
            name, ratio(name, "GET latest, public")))
    print("GET /api/users/me / 304: %.2f (target 0.90); %.0f req/s (target"
          " 23,000)" % (ratio("GET /api/users/me, sid",
                              "GET latest, 304 (beside)"),
                        statistics.median(r["GET /api/users/me, sid"])))


def report(res, body, rss0, rss1, rss2, served, n, pg):
    static = res[0]["rps"]
    print("\nAPI benchmark: wrk -t%d -c%d, %d s per run, median of %d "
          "run(s); %d pool workers, %s nginx worker(s), fastcgi_keep_conn "
          "%s; body %d bytes" % (THREADS, CONNS, DUR, REPEAT,
                                 int(os.environ["PGSCHED_TEST_WORKERS"]),
                                 NGINX_WORKERS, "on" if KEEPCONN else "off",
                                 len(body)))
    if EXTRA:
        print("added to the nginx server block: %s" % EXTRA)
    print("%-24s %10s %9s %9s %7s  %s" % ("endpoint", "req/s", "p99 ms",
                                          "ratio", "errors", "runs"))
    for x in res:
        print("%-24s %10.0f %9.2f %8.1f%% %7d  %s" % (
            x["name"], x["rps"], x["p99"], 100.0 * x["rps"] / static,
            x["bad"], x["all"]))
    # /users/me = the 304's work (nginx, a worker, no statement, a small
    # answer) + one session check; on CPU-bound cores the costs add up.
    me = next(x["rps"] for x in res if x["name"] == "GET /api/users/me")
    r304 = next(x["rps"] for x in res if x["name"] == "GET latest, 304")
    ceiling = 1.0 / (1.0 / pg[0] + 1.0 / r304)
    print("session check alone (pgbench -M prepared -c%d -j%d, the statement"
          " of session_user()): %.0f tps %s" % (CONNS, THREADS, pg[0],
                                                pg[1]))
    print("ceiling of /users/me here = 1 / (1/%.0f + 1/%.0f (the 304)) ="
          " %.0f req/s; measured %.0f = %.0f%% of it; issue #4's target"
          " 15 x 1,530 = 22,950" % (pg[0], r304, ceiling, me,
                                    100.0 * me / ceiling))
    fmt = lambda d: " ".join("%d" % d[k] for k in sorted(d))  # noqa: E731
    print("worker RSS kB, after warm-up:          %s" % fmt(rss0))
    print("worker RSS kB, after the runs above:   %s (%d API requests)"
          % (fmt(rss1), served))
    print("worker RSS kB, after %d more:      %s" % (n, fmt(rss2)))
    grown = [p for p in rss2 if p in rss1 and rss2[p] > rss1[p] + 1024]
    print("RSS growth over the last %d requests: %s" %
          (n, "none above 1 MiB" if not grown else
           "%d worker(s) grew by more than 1 MiB" % len(grown)))
    if shutil.which("nproc"):
        print("cores: %s" % sh("nproc").strip())


if __name__ == "__main__":
    main()
