#!/usr/bin/python3
"""Notifications end to end: the runner's side of issue #14.

    PGSCHED_BUILDDIR=build/rel PGSCHED_SRCDIR=. PYTHONPATH=tests/lib \\
        sh tests/lib/with-pg.sh bench/notify_e2e.py [REPS]

Runs inside the test harness's throwaway cluster (tests/lib/with-pg.sh)
against the programs of PGSCHED_BUILDDIR (an optimised build: sanitizers
multiply time and memory), with tests/lib/webhook_receiver.py as the
receiver (it verifies every signature).  Three figures:

1. latency: 200 runs (4 ticks of 50 due jobs, RUNNER_CONCURRENCY 8),
   each sending run.succeeded to one webhook channel: from the run's
   commit (query_run.run_finished_at, the start of the recording
   transaction, so a little early) to the receiver's acceptance; p50, p99
   and max.  Target: p99 < 1 s.
2. 1,000 events due in one tick to a receiver answering in 50 ms, beside
   the tick's own 100 jobs: the time until all are delivered (target
   10 s), and the time until the 100 jobs are recorded, against a tick of
   the same 100 jobs without deliveries, alternated REPS times (default
   5) in the same run; the ratio of the medians (target <= 1).
3. the peak resident set (VmHWM, getrusage of the waited children: the
   runner and its courier, the larger) of a tick delivering 1,000 events;
   target < 64 MB.
"""
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import pgtest
from pgtest import add_job, one, q, setup_db
from webhook_receiver import WebhookReceiver

BUILD = os.environ["PGSCHED_BUILDDIR"]
RUNNER = os.path.join(BUILD, "pgsched-runner")
TOOL = os.path.join(BUILD, "tests", "unit", "notify_tool")
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ENV = dict(pgtest.runner_env(), NOTIFY_ALLOW_HOSTS="127.0.0.1",
           RUNNER_CONCURRENCY="8", LOG_LEVEL="warn",
           PUBLIC_URL="https://pgsched.example.com")


def sealed(text):
    r = subprocess.run([TOOL, "seal"], input=text, capture_output=True,
                       text=True, check=True)
    return bytes.fromhex(r.stdout.strip()[2:])


def channel(m, name, url, secret):
    return one(m, "INSERT INTO notify_channel (name, kind, enc_target,"
               " target_display, enc_secret) VALUES (%s, 'webhook', %s,"
               " 'http://127.0.0.1/...', %s) RETURNING id",
               (name, sealed(url), sealed(secret)))


def tick():
    t0 = time.time()
    subprocess.run([RUNNER], env=ENV, check=True, capture_output=True)
    return t0, time.time()


def jobs(m, ds, prefix, n):
    return [add_job(m, ds, "%s%d" % (prefix, i), "SELECT %d AS n" % i)
            for i in range(n)]


def latency(m, ds, rx, secret):
    cid = channel(m, "lat", rx.url_for("/lat"), secret)
    lat = []
    for t in range(4):
        js = jobs(m, ds, "lat%d_" % t, 50)
        for j in js:
            q(m, "INSERT INTO query_notify (query_id, channel_id, events)"
              " VALUES (%s, %s, '{run.succeeded}')", (j, cid))
        tick()
        q(m, "UPDATE query_job SET enabled = false WHERE id = ANY (%s)",
          (js,))
    d = rx.wait_deliveries(200, "/lat", timeout=30)
    got = {x["json"]["data"]["run"]["id"]: x["arrived"] for x in d}
    for rid, fin in q(m, "SELECT r.id, extract(epoch FROM"
                      " r.run_finished_at) FROM query_run r JOIN"
                      " notify_delivery d ON d.run_id = r.id WHERE"
                      " d.channel_id = %s", (cid,)):
        if rid in got:
            lat.append(got[rid] - float(fin))
    lat.sort()
    return lat


def due_events(m, cid, n, tag):
    payload = json.dumps({"type": "run.failed", "timestamp":
                          "2026-01-01T00:00:00Z", "data": {
                              "query": {"id": 1, "name": "bench"},
                              "run": {"id": 1, "error_message": "x" * 500}}})
    q(m, "INSERT INTO notify_delivery (channel_id, event, webhook_id,"
      " payload) SELECT %s, 'run.failed', %s || i, %s FROM"
      " generate_series(1, %s) i", (cid, "msg_%s_" % tag, payload, n))


def jobs_time(m, js, t0):
    """Seconds from the tick's start until its 100 runs were recorded."""
    n, end = q(m, "SELECT count(*), extract(epoch FROM max(run_finished_at))"
               " FROM query_run WHERE query_id = ANY (%s) AND triggered_by ="
               " 'manual' AND run_finished_at >= to_timestamp(%s)",
               (js, t0))[0]
    assert n == len(js), "the tick ran %d of its %d runs" % (n, len(js))
    return float(end) - t0


def thousand(m, ds, rx, secret):
    cid = channel(m, "thousand", rx.url_for("/k"), secret)
    rx.behave("/k", delay=0.05)
    js = jobs(m, ds, "own", 100)
    tick()  # their scheduled slots, once
    base, loaded, all_in = [], [], []
    for rep in range(REPS):
        for with_events in (False, True):
            # The tick's own runs: one queued (manual) run per job.
            q(m, "INSERT INTO query_run (query_id, scheduled_at, status,"
              " triggered_by, missed_slots) SELECT id, now(), 'queued',"
              " 'manual', 0 FROM query_job WHERE id = ANY (%s)", (js,))
            if with_events:
                due_events(m, cid, 1000, "r%d" % rep)
            rx.reset()
            rx.behave("/k", delay=0.05)
            m0 = time.monotonic()
            t0, _ = tick()
            (loaded if with_events else base).append(jobs_time(m, js, t0))
            if with_events:
                d = rx.wait_deliveries(1000, "/k", timeout=60)
                left = one(m, "SELECT count(*) FROM notify_delivery WHERE"
                           " channel_id = %s AND status <> 'delivered'",
                           (cid,))
                all_in.append((max(x["answered_mono"] for x in d) - m0
                               if len(d) >= 1000 else float("inf"), left))
    q(m, "UPDATE query_job SET enabled = false WHERE id = ANY (%s)", (js,))
    return base, loaded, all_in


def rss(m, rx, secret):
    cid = channel(m, "rss", rx.url_for("/rss"), secret)
    rx.behave("/rss", delay=0.05)
    due_events(m, cid, 1000, "rss")
    code = ("import resource, subprocess, sys;"
            "subprocess.run(sys.argv[1:], check=True, capture_output=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, RUNNER], env=ENV,
                       capture_output=True, text=True, check=True)
    done = one(m, "SELECT count(*) FROM notify_delivery WHERE channel_id ="
               " %s AND status = 'delivered'", (cid,))
    return int(r.stdout.strip()) / 1024.0, done


def main():
    m, _, ds = setup_db("src")
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with WebhookReceiver([secret]) as rx:
        lat = latency(m, ds, rx, secret)
        p = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]  # noqa
        print("1. commit -> receiver, %d runs: p50 %.0f ms, p99 %.0f ms,"
              " max %.0f ms (target p99 < 1000 ms)" % (
                  len(lat), p(0.5) * 1e3, p(0.99) * 1e3, lat[-1] * 1e3),
              flush=True)
        base, loaded, all_in = thousand(m, ds, rx, secret)
        mb, ml = statistics.median(base), statistics.median(loaded)
        print("2. 100 jobs recorded after: %s s alone, %s s beside 1,000"
              " deliveries; median ratio %.2f (target <= 1)" % (
                  " ".join("%.2f" % x for x in base),
                  " ".join("%.2f" % x for x in loaded), ml / mb))
        print("   1,000 events at 50 ms each delivered in: %s s (from the"
              " tick's start to the last answer; target 10 s); left"
              " undelivered: %s"
              % (" ".join("%.2f" % x[0] for x in all_in),
                 " ".join(str(x[1]) for x in all_in)), flush=True)
        mb_rss, done = rss(m, rx, secret)
        print("3. peak RSS of a tick delivering 1,000 events: %.1f MB"
              " (%d delivered; target < 64 MB)" % (mb_rss, done))


if __name__ == "__main__":
    main()
