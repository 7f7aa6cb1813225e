#!/usr/bin/python3
"""Benchmark of the notification delivery engine (src/deliver.c).

    PGSCHED_BUILDDIR=build/rel bench/notify.py [N [DELAY_MS [REPS]]]

Sends N signed webhooks (default 1000) in one deliver_batch to
tests/lib/webhook_receiver.py answering each after DELAY_MS (default 50),
at NOTIFY_CONCURRENCY 16 and 64, REPS times each (default 3), through
BUILDDIR's tests/unit/notify_tool (`make tests/unit/notify_tool` builds
it).  Prints per run the wall time of the batch, the deliveries per
second, and the peak resident set of the process (VmHWM) before and after
the batch; then the medians.  The floor is N / concurrency * DELAY_MS.
Builds nothing, needs no database.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
from webhook_receiver import WebhookReceiver  # noqa: E402

BUILDDIR = os.environ.get("PGSCHED_BUILDDIR", os.getcwd())
TOOL = os.path.join(BUILDDIR, "tests", "unit", "notify_tool")


def run(rx, secret, n, conc):
    """One batch; returns the tool's answer."""
    body = json.dumps({"type": "run.failed", "timestamp":
                       "2026-01-01T00:00:00Z",
                       "data": {"run": {"id": 1, "error_message":
                                        "x" * 1500}}})
    item = {"kind": "webhook", "url": rx.url_for("/bench"), "id": "msg_b",
            "body": body, "secrets": [secret]}
    env = dict(os.environ, PGSCHED_ENV_FILE="/dev/null",
               NOTIFY_ALLOW_HOSTS="127.0.0.1", NOTIFY_CONCURRENCY=str(conc))
    r = subprocess.run([TOOL, "deliver"], input=json.dumps(
        {"budget_ms": 600000, "repeat": n, "items": [item]}),
        capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    delay = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    secret = subprocess.run([TOOL, "secret"], capture_output=True,
                            text=True, check=True).stdout.split()[0]
    with WebhookReceiver([secret]) as rx:
        for conc in (16, 64):
            times, peaks = [], []
            for _ in range(reps):
                rx.reset()
                rx.behave("/bench", delay=delay / 1000.0)
                a = run(rx, secret, n, conc)
                bad = [i for i in a["items"] if i["outcome"] != "delivered"]
                times.append(a["elapsed_ms"])
                peaks.append(a["rss_after_kb"])
                print("concurrency %d: %d deliveries in %d ms (%.0f/s), "
                      "%d not delivered, VmHWM %d KiB before, %d KiB "
                      "after" % (conc, n, a["elapsed_ms"],
                                 n * 1000.0 / a["elapsed_ms"], len(bad),
                                 a["rss_before_kb"], a["rss_after_kb"]),
                      flush=True)
            print("concurrency %d: median %d ms (floor %d ms), median "
                  "peak %d KiB" % (conc, statistics.median(times),
                                   n * delay // conc,
                                   statistics.median(peaks)), flush=True)


if __name__ == "__main__":
    main()
