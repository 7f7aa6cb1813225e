"""Faults of a data source seen by the runner (issue #11).

- a source whose default is standard_conforming_strings = off: the run
  sees the meaning libpg_query checked, also on a reused connection.
"""
import os
import signal
import subprocess
import tempfile
import time

import psycopg2

from pgtest import (add_job, add_source, bin_path, check, one, q, run_tests,
                    setup_db, source)

M = None
SK = None
DS = None


def setup():
    global M, SK, DS
    M, SK, DS = setup_db("src")


def disable(*jobs):
    for j in jobs:
        q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (j,))


def start_runner(*args, env=None):
    """Starts pgsched-runner with its output in files; returns (Popen,
    stdout file, stderr file)."""
    e = dict(os.environ)
    e.update(env or {})
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([bin_path("pgsched-runner")] + list(args),
                         stdout=out, stderr=err, text=True, env=e)
    return p, out, err


def reap(p, out, err, timeout):
    """Waits up to timeout s for p (killed after that); returns (exit
    code or None when it had to be killed, peak RSS in kB of it and its
    workers, stderr text)."""
    end = time.time() + timeout
    code = None
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.time() > end:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.1)
    p.returncode = code if code is not None else -9
    err.seek(0)
    text = err.read()
    out.close()
    err.close()
    return code, ru.ru_maxrss, text


def test_parser_agreement():
    s = source()
    q(s, "CREATE DATABASE scs_off")
    q(s, "ALTER DATABASE scs_off SET standard_conforming_strings = off")
    s.close()
    uri = os.environ["PGSCHED_TEST_SOURCE_URI"].rsplit("/", 1)[0]

    c = psycopg2.connect(uri + "/scs_off")
    check("the source's default is off",
          one(c, "SHOW standard_conforming_strings") == "off")
    c.close()
    ds = add_source(M, SK, "scs_off", dbname="scs_off")
    # libpg_query (standard_conforming_strings on) reads one column "one"
    # holding  a\' , 1 AS two --  ; with it off, the server would read
    # 'a\'' as a' and then a second column two = 1.
    sql = "SELECT 'a\\'' , 1 AS two --' AS one"
    jobs = [add_job(M, ds, "scs%d" % i, sql) for i in range(2)]
    # One worker: the second run takes the first one's connection after
    # DISCARD ALL.
    p, out, err = start_runner("--concurrency", "1")
    code, _, text = reap(p, out, err, 120)
    check("tick exits 0", code == 0, text[-2000:])
    for jid in jobs:
        doc = one(M, "SELECT b.df_json FROM query_run_blob b JOIN query_run"
                  " r ON r.id = b.run_id WHERE r.query_id = %s", (jid,))
        print("  scs off: %r" % (doc["data"] if doc else None,))
        check("the run sees what was checked", doc is not None and
              doc["data"] == [{"index": 0, "one": "a\\' , 1 AS two --"}],
              doc)
    disable(*jobs)


if __name__ == "__main__":
    setup()
    run_tests([test_parser_agreement])
