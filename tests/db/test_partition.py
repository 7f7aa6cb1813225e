"""A network partition between a runner and its metadata database (issue
#11 item 3), with a real network: the runner runs in a network namespace
of its own, joined to this host by two veth pairs, one to the metadata
database and one to the data source (the same test cluster, which is made
to listen on both host-side addresses).  Mid-run the metadata link is cut
(its namespace end is set down: packets are dropped, nothing is reset),
and:

- the runner notices within RUNNER_NET_TIMEOUT_S/3 (a probe unanswered),
  cancels the source query (over the link that still works) and exits 75;
- the metadata server drops the runner's sessions, and so releases the job
  lock, within RUNNER_NET_TIMEOUT_S (its server-side keepalives and
  tcp_user_timeout), well within a minute, and only after the source query
  was cancelled;
- the next tick, from this host, reaps the run and runs the next slot
  exactly once; nothing stays running;
- when the link comes back, the fenced runner writes nothing.

Needs root (ip netns, veth); exits 77 when a namespace cannot be made.
"""
import os
import shlex
import subprocess
import sys
import time


from pgtest import (LOCK_CLASS, add_job, add_source, bin_path, check, one, q,
                    run_tests, runner, runs_of, setup_db, source,
                    source_port, wait_for)

K = os.getpid() % 100000
NS = "pgsched-part-%d" % K
META_H, META_N = "pfmh%05d" % K, "pfmn%05d" % K
SRC_H, SRC_N = "pfsh%05d" % K, "pfsn%05d" % K
# RUNNER_NET_TIMEOUT_S of the runner under test (PGSCHED_TEST_NET_TIMEOUT
# measures another value, such as the default 30).
NET_TIMEOUT = int(os.environ.get("PGSCHED_TEST_NET_TIMEOUT", "10"))
M = SK = DS = None
PRE = None            # first three octets and the block's base


def ip(*args, ns=False, check_rc=True):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + ["ip"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def free_block():
    """A /29 of 10.231.0.0/16 that no interface of this host uses."""
    used = ip("-4", "-o", "addr").stdout
    for n in range(8192):
        i = (K + n) % 8192
        pre = "10.231.%d." % (i >> 5)
        base = (i & 31) << 3
        if not any("%s%d/" % (pre, base + h) in used for h in range(8)):
            return pre, base
    raise RuntimeError("no free /29 in 10.231.0.0/16")


def addr(h):
    return "%s%d" % (PRE[0], PRE[1] + h)


def make_net():
    """Namespace NS with link META (host .1, runner .2) and link SRC
    (host .5, runner .6)."""
    global PRE
    PRE = free_block()
    ip("netns", "add", NS)
    ip("link", "set", "lo", "up", ns=True)
    for h, n, off in ((META_H, META_N, 1), (SRC_H, SRC_N, 5)):
        ip("link", "add", h, "type", "veth", "peer", "name", n, "netns", NS)
        ip("addr", "add", "%s/30" % addr(off), "dev", h)
        ip("link", "set", h, "up")
        ip("addr", "add", "%s/30" % addr(off + 1), "dev", n, ns=True)
        ip("link", "set", n, "up", ns=True)


def drop_net():
    ip("netns", "del", NS, check_rc=False)
    for h in (META_H, SRC_H):
        ip("link", "del", h, check_rc=False)


def pg_ctl(*args):
    sh = ('. "$PGSCHED_SRCDIR/tests/lib/pg.sh";'
          ' PG_RUN_USER=${PGSCHED_PG_USER:-nobody};'
          ' pg_as "$PGSCHED_PG_BIN/pg_ctl" "$@"')
    r = subprocess.run(["sh", "-c", sh, "pg_ctl"] + list(args),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("pg_ctl %s: %s %s" % (args, r.stdout, r.stderr))


def listen_on_links():
    """Restarts the test cluster listening on the host-side addresses too,
    and lets the namespace's addresses in."""
    data = os.path.join(os.environ["PGSCHED_TEST_TMP"], "pg", "data")
    with open(os.path.join(data, "postmaster.opts")) as f:
        argv = shlex.split(f.read())[1:]
    opts, i = [], 0
    while i < len(argv):
        if argv[i] == "-D":
            i += 2
            continue
        if argv[i].startswith("listen_addresses="):
            argv[i] = "listen_addresses=127.0.0.1,%s,%s" % (addr(1),
                                                            addr(5))
        opts.append(argv[i])
        i += 1
    with open(os.path.join(data, "pg_hba.conf"), "a") as f:
        f.write("host all all %s/29 trust\n" % addr(0))
    pg_ctl("-D", data, "-l", os.path.join(data, "..", "server.log"), "-w",
           "-m", "fast", "-o", " ".join(shlex.quote(o) for o in opts),
           "restart")


def source_backend(jid):
    s = source()
    pid = one(s, "SELECT pid FROM pg_stat_activity WHERE application_name"
              " LIKE %s AND state = 'active'", ("pgsched:%d:%%" % jid,))
    s.close()
    return pid


def lock_holder(jid):
    return one(M, "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
               " AND classid = %s AND objid = %s AND objsubid = 2"
               " AND granted", (LOCK_CLASS, jid))


def runner_sessions():
    """Sessions on the server from the runner's namespace."""
    return one(M, "SELECT count(*) FROM pg_stat_activity WHERE client_addr"
               " = %s::inet", (addr(2),))


def test_partition_mid_run():
    ds = add_source(M, SK, "over_link", host=addr(5))
    j = add_job(M, ds, "partitioned", "SELECT pg_sleep(120)",
                timeout_ms=300000)
    env = dict(os.environ)
    env["PG_DSN_APP"] = "postgresql://%s@%s:%d/pgsched" % (
        os.environ.get("PGSCHED_TEST_RUNNER_ROLE", "postgres"), addr(1),
        source_port())
    env["RUNNER_NET_TIMEOUT_S"] = str(NET_TIMEOUT)
    p = subprocess.Popen(["ip", "netns", "exec", NS,
                          bin_path("pgsched-runner")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        check("source query started over the link",
              wait_for(lambda: source_backend(j), 30) is not None)
        rid = one(M, "SELECT id FROM query_run WHERE query_id = %s", (j,))
        check("lock held from the namespace", one(
            M, "SELECT client_addr = %s::inet FROM pg_stat_activity WHERE"
            " pid = %s", (addr(2), lock_holder(j))))
        t_cut = time.time()
        ip("link", "set", META_N, "down", ns=True)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        t_exit = time.time() - t_cut
        gone = wait_for(lambda: source_backend(j) is None, 10, step=0.05)
        t_cancel = time.time() - t_cut
        held_then = lock_holder(j) is not None
        released = wait_for(lambda: lock_holder(j) is None, 60, step=0.1)
        t_drop = time.time() - t_cut
        print("  runner exited %.1f s after the cut, source query gone by"
              " %.1f s, server released the lock %.1f s after the cut"
              % (t_exit, t_cancel, t_drop))
        check("runner noticed within RUNNER_NET_TIMEOUT_S/3",
              p.returncode == 75 and t_exit < NET_TIMEOUT / 3.0,
              (p.returncode, t_exit, err[-2000:]))
        check("says so", "holding the job locks is lost (no answer from"
              " the metadata database within" in err, err[-2000:])
        check("source query cancelled", gone)
        check("before the server let the lock go", held_then)
        # About RUNNER_NET_TIMEOUT_S after the last packet it got, checked
        # at each keepalive probe (every RUNNER_NET_TIMEOUT_S/10).
        check("server dropped the session within RUNNER_NET_TIMEOUT_S",
              released and t_drop < min(60, NET_TIMEOUT * 1.1 + 1), t_drop)
        st = one(M, "SELECT status FROM query_run WHERE id = %s", (rid,))
        check("nothing written by the fenced runner", st == "running", st)
        # The next tick, from this host.
        q(M, "UPDATE query_job SET sql_text = 'SELECT 1 AS one',"
          " next_run_at = now() - interval '1 second' WHERE id = %s", (j,))
        r = runner()
        check("next tick exits 0", r.returncode == 0, r.stderr)
        runs = runs_of(M, j)
        check("run reaped as runner died", runs and runs[0][0] == rid and
              runs[0][1:3] == ("error", "runner died"), runs)
        check("next slot ran exactly once", len(runs) == 2 and
              runs[1][1] == "success", runs)
        check("nothing stays running", one(
            M, "SELECT count(*) FROM query_run WHERE status = 'running'")
            == 0)
        # The link comes back: nothing of the fenced runner is left to
        # write (its processes are gone, its sessions end).
        ip("link", "set", META_N, "up", ns=True)
        check("no runner process left in the namespace",
              ip("netns", "pids", NS).stdout.strip() == "")
        check("the runner's sessions are gone", wait_for(
            lambda: runner_sessions() == 0, 30))
        check("run history unchanged", runs_of(M, j) == runs)
        check("no result stored for the fenced run", one(
            M, "SELECT count(*) FROM query_run_blob WHERE run_id = %s",
            (rid,)) == 0)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def setup():
    global M, SK, DS
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        sys.exit(77)
    try:
        make_net()
    except (RuntimeError, OSError) as e:
        drop_net()
        print("SKIP: cannot make a network namespace: %s" % e)
        sys.exit(77)
    listen_on_links()
    M, SK, DS = setup_db("src")


try:
    setup()
    run_tests([test_partition_mid_run])
finally:
    drop_net()
