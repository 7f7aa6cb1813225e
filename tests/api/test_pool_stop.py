"""API-started manual runs survive a stop of the pool (issue 11, item 17).

1. A manual run whose runner is SIGKILLed is queued again by the next
   runner tick and ends `success` (not "runner died").
2. A manual run started through the API keeps running when the pool is
   stopped the way systemd stops etc/systemd/pgsched-fcgi.service: this
   test plays the service manager.  It starts a pool of its own in a
   process group of its own, under a "unit" process that is a child
   subreaper (so every process the pool forks stays its descendant, as it
   stays in the unit's cgroup, whatever session it makes), stops it with
   SIGTERM to that process group, and then treats what is left as the
   unit file's KillMode says (control-group: SIGTERM then SIGKILL to every
   remaining process; mixed: SIGKILL to them; process: nothing).  The run
   must still end `success`, by its own runner.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_pool_stop.py
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from apitest import (  # noqa: E402
    URL, add_source, check, finish, psql, session, wait_for)

SRC = os.environ.get("PGSCHED_SRCDIR", os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("PGSCHED_BUILDDIR", ".")
PR_SET_CHILD_SUBREAPER = 36
SLEEP_S = 15        # the manual run outlasts the pool's graceful stop


def kill_mode():
    """KillMode= of the shipped unit (systemd's default: control-group)."""
    mode = "control-group"
    with open(os.path.join(SRC, "etc/systemd/pgsched-fcgi.service")) as f:
        for line in f:
            if line.startswith("KillMode="):
                mode = line.split("=", 1)[1].strip()
    return mode


def descendants(root):
    """Pids of every live process below root."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parent[int(d)] = int(fields[1])
    out = []
    for pid in parent:
        p = pid
        while p in parent and p not in (0, 1):
            p = parent[p]
            if p == root:
                out.append(pid)
                break
    return out


def reap_all():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def unit_main(mode, args):
    """The service manager: runs the pool, stops it on a line on stdin."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("error: no subreaper", flush=True)
        return 1
    out = open(os.path.join(os.environ["PGSCHED_API_DIR"],
                            "unit-fcgi.out"), "w")
    pool = subprocess.Popen(args, start_new_session=True, stdout=out,
                            stderr=out)
    print("pid %d" % pool.pid, flush=True)
    sys.stdin.readline()
    os.killpg(pool.pid, signal.SIGTERM)     # the pool's whole group
    try:
        pool.wait(45)                        # TimeoutStopSec
    except subprocess.TimeoutExpired:
        os.killpg(pool.pid, signal.SIGKILL)
        pool.wait()
    left = descendants(os.getpid())
    sig = {"mixed": [signal.SIGKILL],
           "control-group": [signal.SIGTERM, signal.SIGKILL]}.get(mode, [])
    for s in sig:
        for pid in descendants(os.getpid()):
            os.kill(pid, s)
        end = time.time() + 5
        while descendants(os.getpid()) and time.time() < end:
            reap_all()
            time.sleep(0.1)
    print("stopped left=%d" % len(left), flush=True)
    # Reap what the pool left (a runner) until it is done.
    end = time.time() + 120
    while descendants(os.getpid()) and time.time() < end:
        reap_all()
        time.sleep(0.2)
    reap_all()
    return 0


def new_query(ed, ds, name, sql):
    r = ed.post(URL + "/api/admin/queries",
                json={"name": name, "title": name, "sql_text": sql,
                      "data_source_id": ds, "schedule_type": "interval",
                      "schedule_expr": "PT6H"})
    check("query %s" % name, r.status_code == 201, r.text)
    return r.json()["query"]["id"]


def run_row(rid):
    out = psql("SELECT status, coalesce(runner_pid, 0), requeues,"
               " coalesce(error_message, '') FROM query_run WHERE id = %d"
               % rid)
    st, pid, requeues, msg = out.split("|", 3)
    return st, int(pid), int(requeues), msg


def start_run(ed, qid):
    r = ed.post(URL + "/api/admin/queries/%d/run" % qid, json={})
    check("manual run 202", r.status_code == 202, r.text)
    rid = r.json()["run_id"]
    # Running, with its source query under way.
    ok = wait_for(lambda: run_row(rid)[0] == "running" and psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'source'"
        " AND query LIKE '%pg_sleep%' AND state = 'active'") != "0", 20)
    check("manual run is running", ok, run_row(rid))
    return rid


def test_killed_runner_retried(ed, ds):
    qid = new_query(ed, ds, "killed", "SELECT pg_sleep(2) AS slept")
    rid = start_run(ed, qid)
    st, pid, _, _ = run_row(rid)
    check("runner pid recorded", pid > 0, pid)
    os.kill(pid, signal.SIGKILL)
    free = wait_for(lambda: psql(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND"
        " objid = %d AND granted" % qid) == "0", 20)
    check("its job lock is gone", free)
    check("still recorded as running", run_row(rid)[0] == "running",
          run_row(rid))
    tick = subprocess.run([os.path.join(BUILD, "pgsched-runner")],
                          capture_output=True, text=True, timeout=120,
                          env=role_env(PG_DSN_APP="PGSCHED_TEST_RUNNER_DSN"))
    st = run_row(rid)
    check("the next tick retries it", tick.returncode == 0 and
          st[0] == "success" and st[2] == 1, (st, tick.stderr))



def role_env(**names):
    """The environment with each given setting taken from the harness's
    variable of that name (the roles' DSNs), when the harness set it."""
    e = dict(os.environ)
    for k, v in names.items():
        if os.environ.get(v):
            e[k] = os.environ[v]
    return e

def test_pool_stop(ed, ds):
    mode = kill_mode()
    qid = new_query(ed, ds, "survivor", "SELECT pg_sleep(%d) AS slept"
                    % SLEEP_S)
    # Hand the socket over from the harness's pool to one we stop.
    pidfile = os.environ["PGSCHED_FCGI_PIDFILE"]
    old = int(open(pidfile).read())
    os.kill(old, signal.SIGTERM)
    gone = wait_for(lambda: not os.path.exists("/proc/%d" % old) or
                    open("/proc/%d/stat" % old).read().split(") ")[1][0]
                    == "Z", 30)
    check("harness pool stopped", gone)
    os.unlink(pidfile)       # the harness need not stop it again
    sock = os.path.join(os.environ["PGSCHED_API_DIR"], "fcgi.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    args = [os.path.join(BUILD, "pgsched-fcgi"), "--workers", "2",
            "--socket", sock, "--socket-mode", "0666"]
    # The pool as the harness runs it: the API role, manual runs recorded
    # as the runner role (CONTRACT section 10).
    unit = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                             "--unit", mode, "--"] + args,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=role_env(
                                PG_DSN_APP="PGSCHED_TEST_API_DSN",
                                PG_DSN_RUNNER="PGSCHED_TEST_RUNNER_DSN"))
    line = unit.stdout.readline()
    check("unit started the pool", line.startswith("pid "), line)
    try:
        stop_under_run(qid, unit, mode)
    finally:
        if unit.poll() is None and line.startswith("pid "):
            try:
                os.killpg(int(line.split()[1]), signal.SIGKILL)
            except ProcessLookupError:
                pass        # the whole group has already ended
        unit.stdin.close()
        unit.wait(150)


def stop_under_run(qid, unit, mode):
    up = wait_for(lambda: requests.get(URL + "/healthz").status_code == 200,
                  20)
    check("new pool serves", up)
    ed = session("editor")
    rid = start_run(ed, qid)
    t0 = time.monotonic()
    unit.stdin.write("stop\n")
    unit.stdin.flush()
    line = unit.stdout.readline()
    check("pool stopped", line.startswith("stopped"), line)
    st = run_row(rid)
    check("the pool stopped while the run was under way (KillMode=%s)"
          % mode, st[0] == "running" and time.monotonic() - t0 < SLEEP_S,
          st)
    done = wait_for(lambda: run_row(rid)[0] != "running", SLEEP_S + 30)
    st = run_row(rid)
    check("the manual run ends success by its own runner", done and
          st[0] == "success" and st[2] == 0, st)


def main():
    adm = session("admin")
    ds = add_source(adm, "src")
    ed = session("editor")
    for t in (test_killed_runner_retried, test_pool_stop):
        try:
            t(ed, ds)
        except Exception as e:
            import traceback
            traceback.print_exc()
            check(t.__name__ + " raised", False, repr(e))
    finish()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--unit":
        sys.exit(unit_main(sys.argv[2], sys.argv[4:]))
    main()
