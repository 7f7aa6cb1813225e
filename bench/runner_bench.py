"""The runner benchmarks of issue #3, run by bench/run.sh.

bench/run.sh starts a throwaway cluster through tests/lib/with-pg.sh
(PG_DSN_APP, PGSCHED_TEST_SOURCE_URI, PGPORT, the key paths, LOG_DIR,
PGSCHED_BUILDDIR), exports BENCH_TMP (where the serialiser benchmark was
compiled) and puts tests/lib on PYTHONPATH for pgtest's set-up helpers.  Every
target is a ratio against a baseline measured in the same run (except the
absolute ones of the issue: 20 ms, 15 s, 64 MB), each figure the median
of several repetitions, wall-clock time of whole processes.
"""
import glob
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time

import psycopg2

import pgtest

BUILD = os.environ["PGSCHED_BUILDDIR"]
TMP = os.environ["BENCH_TMP"]
PORT = os.environ["PGPORT"]
REPS = int(os.environ.get("BENCH_REPS", "7"))
ONLY = set(os.environ.get("BENCH_ONLY", "1,2,3,4,5,6").split(","))
RUNNER = os.path.join(BUILD, "pgsched-runner")
ADMIN = os.path.join(BUILD, "pgsched-admin")
# Debian's /usr/bin/psql is pg_wrapper, a Perl script that costs more than
# the connection itself: the baselines use the real binary, beside it.
PSQL_BIN = os.path.join(os.environ.get("PGSCHED_PG_BIN", ""), "psql")
if not os.access(PSQL_BIN, os.X_OK):
    PSQL_BIN = "psql"
PSQL_TCP = [PSQL_BIN, "-X", "-h", "127.0.0.1", "-p", PORT, "-d", "source"]
PSQL_SOCK = [PSQL_BIN, "-X", "-d", "source"]
PSQL_WRAP = ["psql", "-X", "-h", "127.0.0.1", "-p", PORT, "-d", "source"]
BIG_BYTES = "267386880"  # RESULT_MAX_BYTES' maximum (255 MiB)

COLS7 = "id, score, amount, label, seen, active, meta"
Q150 = "SELECT %s FROM bench_rows WHERE id <= 150 ORDER BY id" % COLS7
Q100K = "SELECT %s FROM bench_rows ORDER BY id" % COLS7
Q5M = "SELECT x, md5(x::text) FROM generate_series(1, 5000000) x"
QSLEEP = "SELECT pg_sleep(0.5)"

summary = []
M = None
DS = None


def say(fmt, *args):
    print(fmt % args if args else fmt, flush=True)


def ms(t):
    return "%.1f ms" % (t * 1e3)


def med(xs):
    return statistics.median(xs)


def spread(xs):
    return "min %s max %s, n=%d" % (ms(min(xs)), ms(max(xs)), len(xs))


def target(name, value, goal, ok):
    summary.append((name, value, goal, "met" if ok else "MISSED"))


def q(sql, args=None):
    with M.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def one(sql, args=None):
    rows = q(sql, args)
    return rows[0][0] if rows else None


def timed(argv, env=None, out=subprocess.DEVNULL):
    """Wall time of one whole process; exits on a failure."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, env=e)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: %s exited %d: %s" % (" ".join(argv), p.returncode,
                                              p.stderr.decode()[-2000:]))
    return t


def cpu_stat():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def timed_cpu(argv, env=None):
    """timed(), plus the CPU seconds of the process and its waited-for
    children (user + sys) and the machine's busy fraction meanwhile."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = cpu_stat()
    t = timed(argv, env)
    b1, t1 = cpu_stat()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t, cpu, (b1 - b0) / max(1, t1 - t0)


def setup():
    global M, DS
    M, _, DS = pgtest.setup_db("bench")
    s = psycopg2.connect(os.environ["PGSCHED_TEST_SOURCE_URI"])
    s.autocommit = True
    with s.cursor() as cur:
        cur.execute(
            "CREATE TABLE bench_rows AS SELECT g::int8 AS id,"
            " (g * 0.25)::float8 AS score,"
            " (g || '.' || lpad((g % 100)::text, 2, '0'))::numeric AS amount,"
            " 'customer \"' || g || '\" of région ' || g % 17 AS label,"
            " timestamptz '2024-01-01 00:00:00+00' + g * interval"
            " '1.000123 s' AS seen, g % 3 <> 0 AS active,"
            " jsonb_build_object('id', g, 'tags', jsonb_build_array('a',"
            " 'b')) AS meta FROM generate_series(1, 100000) g")
        cur.execute("ALTER TABLE bench_rows ADD PRIMARY KEY (id)")
        cur.execute("VACUUM ANALYZE bench_rows")
    s.close()


def add_job(name, sql, enabled=False, due=False, max_rows=None):
    return one("INSERT INTO query_job (name, sql_text, data_source_id,"
               " schedule_type, schedule_expr, enabled, max_rows,"
               " next_run_at) VALUES (%s, %s, %s, 'interval', 'PT1M', %s,"
               " %s, CASE WHEN %s THEN now() - interval '1 s' END)"
               " RETURNING id", (name, sql, DS, enabled, max_rows, due))


def add_jobs(prefix, sql, n, due):
    """n enabled jobs in one INSERT ... SELECT; returns their ids."""
    rows = q("INSERT INTO query_job (name, sql_text, data_source_id,"
             " schedule_type, schedule_expr, next_run_at)"
             " SELECT %s || g, %s, %s, 'interval', 'PT1H',"
             " CASE WHEN %s THEN now() - interval '1 s'"
             " ELSE now() + interval '1 day' END"
             " FROM generate_series(1, %s) g RETURNING id",
             (prefix, sql, DS, due, n))
    return [r[0] for r in rows]


def rearm(ids):
    """Forgets the runs of jobs ids and makes them due again."""
    q("DELETE FROM query_run WHERE query_id = ANY(%s)", (ids,))
    q("UPDATE query_job SET next_run_at = now() - interval '1 s',"
      " enabled = true WHERE id = ANY(%s)", (ids,))


def check_runs(ids, rows, what):
    st = q("SELECT status, rows_returned, count(*) FROM query_run"
           " WHERE query_id = ANY(%s) GROUP BY 1, 2", (ids,))
    ok = st == [("success", rows, len(ids))]
    if not ok:
        sys.exit("bench: %s: expected %d successful runs of %d rows, got %r"
                 % (what, len(ids), rows, st))


def latest_run(job):
    return q("SELECT r.id, r.status, r.rows_returned, r.duration_ms,"
             " b.truncated, b.byte_size FROM query_run r LEFT JOIN"
             " query_run_blob b ON b.run_id = r.id WHERE r.query_id = %s"
             " ORDER BY r.id DESC LIMIT 1", (job,))[0]


# 1. ------------------------------------------------------------------
def bench_per_job():
    say("\n== 1. per-job cost, 150 rows x 7 columns ==")
    job = add_job("cold150", Q150)
    sel1 = ["-c", "SELECT 1"]
    q("CREATE TABLE bench_floor (doc jsonb)")
    floor = [os.path.join(TMP, "floor"), os.environ["PG_DSN_APP"], str(job)]
    # One warm-up of each (page cache, catalog caches), not counted; the
    # runner's also stores the document that the floor stores again.
    timed(PSQL_TCP + sel1)
    timed([RUNNER, "--query", str(job)])
    timed(floor)
    tcp, sock, wrap, cold, dry, ver, flo = [], [], [], [], [], [], []
    for _ in range(REPS):
        tcp.append(timed(PSQL_TCP + sel1))
        sock.append(timed(PSQL_SOCK + sel1))
        wrap.append(timed(PSQL_WRAP + sel1))
        cold.append(timed([RUNNER, "--query", str(job)]))
        flo.append(timed(floor))
        dry.append(timed([RUNNER, "--dry-run"]))
        ver.append(timed([RUNNER, "--version"]))
    run = latest_run(job)
    if run[1] != "success" or run[2] != 150:
        sys.exit("bench: cold run failed: %r" % (run,))
    durs = [r[0] for r in q("SELECT duration_ms FROM query_run WHERE"
                            " query_id = %s AND status = 'success'", (job,))]
    say("%s -X -c 'SELECT 1' over TCP 127.0.0.1: median %s (%s)",
        PSQL_BIN, ms(med(tcp)), spread(tcp))
    say("same over the Unix socket: median %s (%s)",
        ms(med(sock)), spread(sock))
    say("psql (Debian pg_wrapper, Perl) over TCP: median %s (%s)",
        ms(med(wrap)), spread(wrap))
    say("pgsched-runner --query (cold): median %s (%s)",
        ms(med(cold)), spread(cold))
    say("  of which: process start (--version) median %s; --dry-run (start,"
        " metadata connection, schema check, preview) median %s;",
        ms(med(ver)), ms(med(dry)))
    say("  source connect + query + serialise (run duration_ms) median"
        " %d ms; blob %d bytes", med(durs), run[5])
    say("floor (bench/floor.c: two connections, one after the other, and"
        " 4 statements; none of pg-sched's checks, bookkeeping or"
        " serialisation): median %s (%s) = %.2fx psql",
        ms(med(flo)), spread(flo), med(flo) / med(tcp))
    ratio = med(cold) / med(tcp)
    say("RATIO cold runner / psql TCP round trip = %.2f (target < 1.5);"
        " vs Unix-socket psql %.2f; vs pg_wrapper psql %.2f", ratio,
        med(cold) / med(sock), med(cold) / med(wrap))
    target("1. cold --query 150x7 / psql SELECT 1 (TCP)",
           "%s / %s = %.2fx" % (ms(med(cold)), ms(med(tcp)), ratio),
           "< 1.5x", ratio < 1.5)
    target("1. cold --query / floor (bench/floor.c)",
           "%s / %s = %.2fx" % (ms(med(cold)), ms(med(flo)),
                                med(cold) / med(flo)),
           "(reported; floor %.2fx psql)" % (med(flo) / med(tcp)), True)
    target("1. (same, vs Debian's pg_wrapper psql)",
           "%s / %s = %.2fx" % (ms(med(cold)), ms(med(wrap)),
                                med(cold) / med(wrap)),
           "(reported)", True)
    q("DROP TABLE bench_floor")
    q("UPDATE query_job SET enabled = false")
    empty = [timed([RUNNER]) for _ in range(REPS)]
    say("empty tick (nothing due): median %s (%s)", ms(med(empty)),
        spread(empty))
    ids = add_jobs("warm150_", Q150, 100, True)
    q("ANALYZE query_job")
    reps = max(3, REPS - 2)
    for conc in ("1", None):
        ts = []
        for _ in range(reps):
            rearm(ids)
            argv = [RUNNER] + (["--concurrency", conc] if conc else [])
            ts.append(timed(argv))
            check_runs(ids, 150, "warm tick")
        label = "concurrency %s" % (conc or "default (RUNNER_CONCURRENCY=8)")
        say("tick of 100 due 150-row jobs, %s: median %s (%s)",
            label, ms(med(ts)), spread(ts))
        say("  warm per-job cost: %s (tick / 100); %s net of the empty"
            " tick", ms(med(ts) / 100), ms((med(ts) - med(empty)) / 100))
        target("1. warm per-job cost in a tick, %s" % label,
               ms(med(ts) / 100), "(reported; cold: %s)" % ms(med(cold)),
               True)
    q("UPDATE query_job SET enabled = false")


# 2. ------------------------------------------------------------------
def bench_100k():
    say("\n== 2. a 100,000-row result (7 columns) ==")
    job = add_job("big100k", Q100K, max_rows=200000)
    env = {"RESULT_MAX_BYTES": BIG_BYTES}
    reps = max(3, REPS - 2)
    timed([RUNNER, "--query", str(job)], env)
    run = latest_run(job)
    if run[1] != "success" or run[2] != 100000 or run[4]:
        sys.exit("bench: 100k run failed or truncated: %r" % (run,))
    doc = one("SELECT df_json::text FROM query_run_blob WHERE run_id = %s",
              (run[0],))
    q("CREATE TABLE IF NOT EXISTS bench_x (j jsonb)")
    with M.cursor() as cur:
        ins = cur.mogrify("INSERT INTO bench_x VALUES (%s::jsonb)", (doc,))
    copy_argv = PSQL_TCP + ["-c", "COPY (%s) TO STDOUT" % Q100K]
    timed(copy_argv)
    rt, cp, it = [], [], []
    for _ in range(reps):
        rt.append(timed([RUNNER, "--query", str(job)], env))
        cp.append(timed(copy_argv))
        q("TRUNCATE bench_x")
        with M.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(ins)
            it.append(time.perf_counter() - t0)
    durs = [r[0] for r in q("SELECT duration_ms FROM query_run WHERE"
                            " query_id = %s ORDER BY id DESC LIMIT %s",
                            (job, reps))]
    run = latest_run(job)
    floor = med(cp) + med(it)
    say("stored document: %d bytes of JSON text (jsonb byte_size %d),"
        " truncated=%s", len(doc), run[5], run[4])
    say("pgsched-runner --query: median %s (%s)", ms(med(rt)), spread(rt))
    say("  of which source query + fetch + serialise (duration_ms)"
        " median %d ms", med(durs))
    say("floor: psql COPY (query) TO STDOUT median %s (%s)",
        ms(med(cp)), spread(cp))
    say("     + INSERT INTO x VALUES ($1::jsonb) of the stored text median"
        " %s (%s)", ms(med(it)), spread(it))
    ratio = med(rt) / floor
    say("RATIO runner / floor = %s / %s = %.2f (target within 1.2)",
        ms(med(rt)), ms(floor), ratio)
    target("2. 100k rows: runner / (COPY + INSERT jsonb)",
           "%s / %s = %.2fx" % (ms(med(rt)), ms(floor), ratio), "< 1.2x",
           ratio < 1.2)
    q("DROP TABLE bench_x")


# 3. ------------------------------------------------------------------
def bench_serialiser():
    say("\n== 3. the serialiser alone (bench/serialiser.c, -O2) ==")
    out = subprocess.run([os.path.join(TMP, "serialiser")], check=True,
                         capture_output=True, text=True).stdout
    for line in out.strip().splitlines():
        say("%s", line)
        target("3. serialiser: " + line.split(":")[0],
               line.rsplit(":", 1)[1].strip(), "(reported)", True)


# 6. ------------------------------------------------------------------
def proc_tree(pid):
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return pids


def hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss(argv, env):
    """Runs argv under /usr/bin/time, polling VmHWM of its process tree;
    returns (seconds, time's max RSS kB, polled max VmHWM kB)."""
    e = dict(os.environ)
    e.update(env)
    peak = [0]
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-f", "maxrss=%M"] + argv,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=e)

    def poll():
        while p.poll() is None:
            for c in proc_tree(p.pid)[1:]:
                peak[0] = max(peak[0], hwm_kb(c))
            time.sleep(0.002)
    th = threading.Thread(target=poll)
    th.start()
    err = p.communicate()[1].decode()
    t = time.perf_counter() - t0
    th.join()
    if p.returncode != 0:
        sys.exit("bench: %s exited %d: %s" % (argv, p.returncode, err[-2000:]))
    tm = [int(x.split("=")[1]) for x in err.split() if x.startswith("maxrss=")]
    return t, tm[-1] if tm else 0, peak[0]


def bench_rss():
    say("\n== 6. peak RSS, query returning 5,000,000 rows ==")
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("bench: /usr/bin/time missing (apt-get install time)")
    base = peak_rss(PSQL_TCP + ["-c", "SELECT 1"], {})
    say("for scale: psql -c 'SELECT 1' max RSS %d kB", base[1])
    cases = [
        ("--query, default limits (10,000 rows, 8 MiB)", None, {}, False),
        ("--query, max_rows 10,000,000, cut by RESULT_MAX_BYTES 8 MiB",
         10000000, {}, False),
        ("tick (forked worker), default limits", None, {}, True),
        ("tick (forked worker), cut by RESULT_MAX_BYTES 8 MiB", 10000000,
         {}, True),
    ]
    worst = 0
    for i, (label, maxrows, env, tick) in enumerate(cases):
        job = add_job("rss5m_%d" % i, Q5M, max_rows=maxrows)
        res = []
        for _ in range(2):
            if tick:
                rearm([job])
                argv = [RUNNER, "--concurrency", "1"]
            else:
                argv = [RUNNER, "--query", str(job)]
            res.append(peak_rss(argv, env))
            run = latest_run(job)
            if run[1] != "success" or not run[4]:
                sys.exit("bench: 5M run not a truncated success: %r" % (run,))
        q("UPDATE query_job SET enabled = false WHERE id = %s", (job,))
        m = max(max(r[1], r[2]) for r in res)
        worst = max(worst, m)
        say("%s: %d rows kept (%d bytes), max RSS %.1f MB (time -v %s kB,"
            " polled VmHWM %s kB), wall %s", label, run[2], run[5] or 0,
            m / 1024.0, [r[1] for r in res], [r[2] for r in res],
            ms(med([r[0] for r in res])))
    target("6. peak RSS, 5M-row query truncated", "%.1f MB" % (worst / 1024.0),
           "< 64 MB", worst < 64 * 1024)


# 5. ------------------------------------------------------------------
def bench_sleep():
    say("\n== 5. 1,000 due jobs of SELECT pg_sleep(0.5), --concurrency 50 ==")
    q("UPDATE query_job SET enabled = false")
    ids = add_jobs("sleep_", QSLEEP, 1000, True)
    q("ANALYZE query_job")
    ts, cpu, busy = [], [], []
    for _ in range(3):
        rearm(ids)
        t, c, b = timed_cpu([RUNNER, "--concurrency", "50"])
        ts.append(t)
        cpu.append(c)
        busy.append(b)
        check_runs(ids, 1, "pg_sleep tick")
    floor = 1000 * 0.5 / 50
    say("tick: median %.2f s (min %.2f, max %.2f, n=%d); floor %.1f s;"
        " ratio to floor %.2f", med(ts), min(ts), max(ts), len(ts), floor,
        med(ts) / floor)
    say("  runner + workers CPU median %.2f s (%.1f ms per job); machine"
        " busy %.0f%% of %d CPUs during the tick", med(cpu),
        med(cpu) * 1e3 / 1000, med(busy) * 100, os.cpu_count())
    target("5. 1,000 x pg_sleep(0.5) at concurrency 50",
           "%.2f s (floor %.0f s, %.2fx)" % (med(ts), floor, med(ts) / floor),
           "< 15 s", med(ts) < 15)
    q("UPDATE query_job SET enabled = false")


# 4. ------------------------------------------------------------------
def bench_idle():
    say("\n== 4. a tick over 100,000 enabled jobs, none due ==")
    q("UPDATE query_job SET enabled = false")
    sel1 = PSQL_TCP + ["-c", "SELECT 1"]
    timed([RUNNER])
    empty = [timed([RUNNER]) for _ in range(REPS)]
    add_jobs("idle_", "SELECT 1", 100000, False)
    q("VACUUM ANALYZE query_job")
    runs_before = one("SELECT count(*) FROM query_run")
    timed([RUNNER])
    tk, dry, ps = [], [], []
    for _ in range(REPS):
        tk.append(timed([RUNNER]))
        dry.append(timed([RUNNER, "--dry-run"]))
        ps.append(timed(sel1))
    if one("SELECT count(*) FROM query_run") != runs_before:
        sys.exit("bench: the idle tick ran something")
    njobs = one("SELECT count(*) FROM query_job WHERE enabled")
    say("%d enabled jobs, none due; %d rows in query_run", njobs, runs_before)
    say("tick: median %s (%s)", ms(med(tk)), spread(tk))
    say("for scale: same tick with 0 enabled jobs median %s; --dry-run"
        " median %s; psql -X -c 'SELECT 1' (TCP) median %s",
        ms(med(empty)), ms(med(dry)), ms(med(ps)))
    say("RATIO tick / psql round trip = %.2f; tick - psql = %s",
        med(tk) / med(ps), ms(med(tk) - med(ps)))
    own = tick_own_ms()[-REPS:]
    say("the tick's own time (its log line's ms=, without process start"
        " and connecting): median %.1f ms (min %.1f ms max %.1f ms, n=%d)",
        med(own), min(own), max(own), len(own))
    target("4. tick over 100k jobs, none due (whole process)",
           "%s (psql %s, %.2fx)" % (ms(med(tk)), ms(med(ps)),
                                    med(tk) / med(ps)),
           "< 20 ms", med(tk) < 0.020)
    target("4. (same, the tick's own time, log ms=)",
           "%.1f ms" % med(own), "< 20 ms", med(own) < 20)


def tick_own_ms():
    """The ms= of every tick line in LOG_DIR's day files, oldest first."""
    found = []
    pat = re.compile(r'^\S+ (\S+) \S+ pgsched-runner \d+ tick \[[^]]*'
                     r'ms="([\d.]+)"')
    for path in glob.glob(os.path.join(os.environ["LOG_DIR"],
                                       "pgsched-*.log")):
        with open(path, errors="replace") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    found.append((m.group(1), float(m.group(2))))
    return [v for _, v in sorted(found)]


def main():
    setup()
    say("repetitions: %d (medians); RUNNER_CONCURRENCY default 8", REPS)
    steps = [("3", bench_serialiser), ("1", bench_per_job),
             ("2", bench_100k), ("6", bench_rss), ("5", bench_sleep),
             ("4", bench_idle)]
    for key, fn in steps:
        if key in ONLY:
            fn()
    say("\n== summary ==")
    for name, value, goal, verdict in summary:
        say("%-58s %-34s %-10s %s", name, value, goal, verdict)


if __name__ == "__main__":
    main()
