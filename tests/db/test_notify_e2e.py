"""Notifications end to end (CONTRACT section 8, the runner's side): real
runners, a real PostgreSQL, the tests' own Standard Webhooks receiver
(tests/lib/webhook_receiver.py, which verifies every signature) and SMTP
receiver.  Channels and subscriptions are made by SQL, their target and
secret sealed by tests/unit/notify_tool (cred_seal with the test key), as
the API would store them.

Events: exactly one run.failed per failed run; run.succeeded;
result.changed only when the stored result differs; alert.firing once on
the transition and alert.resolved once; an alert on a missing column
(the run succeeds, the error is recorded once); job.paused on
auto-pause; job.stale once per stale period; an e-mail and a Slack body.
Faults: receiver down then up (same webhook-id), 500 three times then
200, 410 disables the channel, 429 waits at least Retry-After, a hanging
receiver cut at the timeout while the tick's runs are not delayed, a
runner SIGKILLed mid-delivery (the next tick delivers, same id), two
runners at once (every delivery once), give-up, a deleted channel.
SSRF at connect time (a name resolving to loopback, a redirect) and no
secret in any log line.
"""
import base64
import glob
import json
import os
import subprocess
import tempfile
import time

from pgtest import (add_job, bin_path, check, meta, one, q, run, run_tests,
                    runner, runner_env, setup_db, source, wait_for)
from smtp_receiver import SmtpReceiver
from webhook_receiver import WebhookReceiver

M = None
DS = None
RX = None
SECRET = None
BASE = "https://pgsched.example.com"
TOKEN = "tok3nInTheUrl9f1c"
TOOL = bin_path("tests/unit/notify_tool")
ENV = {"NOTIFY_ALLOW_HOSTS": "127.0.0.1", "PUBLIC_URL": BASE,
       "NOTIFY_TIMEOUT_MS": "3000"}


def sealed(text):
    r = run([TOOL, "seal"], input=text)
    assert r.returncode == 0, r.stderr
    return bytes.fromhex(r.stdout.strip()[2:])


def new_secret():
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def add_channel(name, kind="webhook", url=None, secret=None, to=None):
    enc_target = sealed(url) if url else None
    enc_secret = sealed(secret) if secret else None
    return one(M, "INSERT INTO notify_channel (name, kind, enc_target,"
               " target_display, addresses, enc_secret) VALUES (%s, %s, %s,"
               " %s, %s, %s) RETURNING id",
               (name, kind, enc_target, "http://.../" if url else "email",
                to, enc_secret))


def subscribe(jid, cid, events):
    q(M, "INSERT INTO query_notify (query_id, channel_id, events) VALUES"
      " (%s, %s, %s)", (jid, cid, events))


def tick(env=None, timeout=120):
    e = dict(ENV)
    e.update(env or {})
    r = runner(env=e, timeout=timeout)
    check("tick exits 0", r.returncode == 0, r.stderr)
    return r


def due(jid):
    """Queues a manual run of the job (its schedule's next slot is in the
    future once it ran): the next tick runs it."""
    q(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
      " triggered_by, missed_slots) VALUES (%s, now(), 'queued', 'manual',"
      " 0)", (jid,))


def off(jid):
    q(M, "UPDATE query_job SET enabled = false WHERE id = %s", (jid,))


def deliveries(cid, event=None):
    return q(M, "SELECT id, event, status, attempts, webhook_id, run_id,"
             " last_status, last_error FROM notify_delivery WHERE"
             " channel_id = %s AND (%s::text IS NULL OR event = %s)"
             " ORDER BY id", (cid, event, event))


def hook(path):
    """A new webhook channel at path of the receiver; returns its id."""
    return add_channel("ch" + path.replace("/", "-"), url=RX.url_for(path),
                       secret=SECRET)


def got(path, n=None):
    if n is not None:
        RX.wait_deliveries(n, path, timeout=10)
    return RX.deliveries(path)


def setup():
    global M, DS, RX, SECRET
    M, _, DS = setup_db("src")
    s = source()
    q(s, "CREATE TABLE alert_t (v int)")
    q(s, "INSERT INTO alert_t VALUES (5)")
    s.close()
    SECRET = new_secret()
    RX = WebhookReceiver([SECRET]).start()


def test_run_failed_once():
    cid = hook("/failed")
    j = add_job(M, DS, "fails", "SELECT 1/0 AS x")
    subscribe(j, cid, ["run.failed", "job.paused"])
    tick()
    d = got("/failed", 1)
    check("one run.failed", len(d) == 1, d)
    check("signature verified", d and d[0]["verified"], d)
    body = d[0]["json"] if d else {}
    run_id = one(M, "SELECT max(id) FROM query_run WHERE query_id = %s",
                 (j,))
    data = body.get("data", {})
    check("type", body.get("type") == "run.failed", body)
    check("query", data.get("query", {}).get("id") == j and
          data["query"].get("name") == "fails", data)
    check("run", data.get("run", {}).get("id") == run_id and
          data["run"].get("status") == "error" and
          "division by zero" in (data["run"].get("error_message") or ""),
          data)
    check("links under PUBLIC_URL", data.get("links") == {
        "run": "%s/api/runs/%d" % (BASE, run_id),
        "latest": "%s/api/queries/%d/runs/latest" % (BASE, j)}, data)
    check("timestamps ISO 8601", body.get("timestamp", "").endswith("Z")
          and data["run"]["run_finished_at"].endswith("Z"), body)
    check("small", len(d[0]["body"]) < 20480)
    rows = deliveries(cid)
    check("delivered in the outbox", [r[2] for r in rows] == ["delivered"]
          and rows[0][4] == d[0]["webhook_id"], rows)
    due(j)
    tick()
    d = got("/failed", 2)
    runs = one(M, "SELECT count(*) FROM query_run WHERE query_id = %s AND"
               " status = 'error'", (j,))
    check("one run.failed per failed run", len(d) == runs == 2, (d, runs))
    check("ids differ", len({x["webhook_id"] for x in d}) == 2)
    check("no job.paused without auto-pause",
          not deliveries(cid, "job.paused"))
    off(j)


def test_reaped_run_failed():
    cid = hook("/reaped")
    j = add_job(M, DS, "reaped", "SELECT 1", due=False)
    subscribe(j, cid, ["run.failed"])
    rid = one(M, "INSERT INTO query_run (query_id, scheduled_at, status,"
              " run_started_at) VALUES (%s, now(), 'running', now())"
              " RETURNING id", (j,))
    tick()
    d = got("/reaped", 1)
    check("a run whose runner died sends run.failed", len(d) == 1 and
          d[0]["json"]["data"]["run"]["id"] == rid and
          d[0]["json"]["data"]["run"]["error_message"] == "runner died", d)
    off(j)


def test_payload_bounded():
    cid = hook("/big")
    # An error message of 5,000 control characters: each is 6 bytes
    # escaped in JSON.
    j = add_job(M, DS, "big" + "\u00e9" * 150,
                "SELECT repeat(chr(1), 5000)::int")
    subscribe(j, cid, ["run.failed"])
    tick({"PUBLIC_URL": "https://" + "h" * 1000})
    off(j)
    d = got("/big", 1)
    check("delivered under 20 KB", len(d) == 1 and d[0]["verified"] and
          len(d[0]["body"]) < 20480 and
          d[0]["json"]["data"]["links"]["run"].startswith("https://hhh"),
          [len(x["body"]) for x in d])
    r = runner(env=dict(ENV, PUBLIC_URL="ftp://example.com/"))
    check("a bad PUBLIC_URL is refused at start", r.returncode == 78 and
          "PUBLIC_URL" in r.stderr, (r.returncode, r.stderr))


def test_manual_run_delivers_itself():
    cid = hook("/manual")
    j = add_job(M, DS, "manual", "SELECT 1/0", due=False)
    subscribe(j, cid, ["run.failed"])
    r = runner("--query", str(j), env=ENV)
    check("--query ran it", r.returncode == 0, r.stderr)
    r = deliveries(cid)
    check("its event delivered before the runner exits", len(r) == 1 and
          r[0][2] == "delivered" and len(RX.deliveries("/manual")) == 1, r)


def test_job_paused():
    cid = hook("/paused")
    j = add_job(M, DS, "pauses", "SELECT 1/0", pause_after_failures=2)
    subscribe(j, cid, ["job.paused"])
    tick()
    check("not paused yet", not got("/paused"))
    due(j)
    tick()
    d = got("/paused", 1)
    check("one job.paused", len(d) == 1 and
          d[0]["json"]["type"] == "job.paused", d)
    check("pause reason", d and "2 consecutive failures" in
          d[0]["json"]["data"]["job"]["pause_reason"], d)
    check("job paused", one(M, "SELECT NOT enabled FROM query_job WHERE"
                           " id = %s", (j,)))


def test_succeeded_and_result_changed():
    cid = hook("/changed")
    j = add_job(M, DS, "changes", "SELECT v FROM alert_t")
    subscribe(j, cid, ["result.changed", "run.succeeded"])
    for _ in range(2):
        tick()
        due(j)
    s = source()
    q(s, "UPDATE alert_t SET v = 6")
    tick()
    due(j)
    tick()
    q(s, "UPDATE alert_t SET v = 5")
    s.close()
    ev = [x["json"] for x in got("/changed", 5)]
    runs = [r[0] for r in q(M, "SELECT id FROM query_run WHERE"
                            " query_id = %s ORDER BY id", (j,))]
    ok = sorted(e["data"]["run"]["id"] for e in ev
                if e["type"] == "run.succeeded")
    changed = [e["data"]["run"]["id"] for e in ev
               if e["type"] == "result.changed"]
    check("run.succeeded per run", ok == runs and len(runs) == 4, (ok, runs))
    check("result.changed once, on the change", changed == runs[2:3],
          (changed, runs))
    hashes = q(M, "SELECT result_hash FROM query_run WHERE query_id = %s"
               " ORDER BY id", (j,))
    check("a hash per run", len(hashes) == 4 and all(h[0] for h in hashes)
          and hashes[0] == hashes[1] and hashes[1] != hashes[2], hashes)
    off(j)


def set_v(v):
    s = source()
    q(s, "UPDATE alert_t SET v = %s", (v,))
    s.close()


def test_alert_transitions():
    cid = hook("/alert")
    j = add_job(M, DS, "alerting", "SELECT v FROM alert_t")
    q(M, "INSERT INTO query_alert (query_id, kind, column_name, op, value,"
      " value_is_number) VALUES (%s, 'value', 'v', '>', '10', true)", (j,))
    subscribe(j, cid, ["alert.firing", "alert.resolved"])
    for v in (5, 20, 30, 1, 2):
        set_v(v)
        tick()
        due(j)
    set_v(5)
    ev = [x["json"] for x in got("/alert", 2)]
    types = [e["type"] for e in ev]
    check("firing once, resolved once", types == ["alert.firing",
                                                  "alert.resolved"], types)
    check("alert in payload", ev and ev[0]["data"]["alert"] == {
        "kind": "value", "column": "v", "op": ">", "value": 10,
        "state": "firing", "since": ev[0]["data"]["alert"]["since"]}, ev)
    st = q(M, "SELECT state, last_error FROM query_alert WHERE query_id = %s",
           (j,))
    check("state ok", st == [("ok", None)], st)
    off(j)


def test_alert_missing_column():
    cid = hook("/alertbad")
    j = add_job(M, DS, "alertbad", "SELECT v FROM alert_t")
    q(M, "INSERT INTO query_alert (query_id, kind, column_name, op, value,"
      " value_is_number) VALUES (%s, 'value', 'nope', '>', '1', true)", (j,))
    subscribe(j, cid, ["alert.firing", "alert.resolved", "run.succeeded"])
    tick()
    first = q(M, "SELECT last_error, last_error_at FROM query_alert WHERE"
              " query_id = %s", (j,))
    due(j)
    tick()
    again = q(M, "SELECT last_error, last_error_at FROM query_alert WHERE"
              " query_id = %s", (j,))
    st = q(M, "SELECT status FROM query_run WHERE query_id = %s", (j,))
    check("runs succeed", st == [("success",), ("success",)], st)
    check("error recorded", first and 'no column "nope"' in
          (first[0][0] or ""), first)
    check("recorded once", first == again, (first, again))
    logs = "".join(open(f, errors="replace").read()
                   for f in glob.glob(os.environ["LOG_DIR"] + "/*.log"))
    n = len([line for line in logs.splitlines()
             if "alert_error" in line and "nope" in line])
    check("logged once", n == 1, n)
    ev = [x["json"]["type"] for x in got("/alertbad", 2)]
    check("no alert event", ev == ["run.succeeded"] * 2, ev)
    off(j)


def test_job_stale():
    cid = hook("/stale")
    j = add_job(M, DS, "stale", "SELECT 1", due=False, max_staleness_s=60)
    subscribe(j, cid, ["job.stale"])
    check("stale_at set", one(M, "SELECT stale_at IS NOT NULL FROM query_job"
                              " WHERE id = %s", (j,)))
    q(M, "UPDATE query_job SET stale_at = now() - interval '1 s'"
      " WHERE id = %s", (j,))
    tick()
    tick()
    d = got("/stale", 1)
    check("one job.stale per period", len(d) == 1 and
          d[0]["json"]["type"] == "job.stale", d)
    check("stale data", d and d[0]["json"]["data"]["job"]
          ["max_staleness_s"] == 60 and d[0]["json"]["data"]["run"] is None,
          d)
    due(j)
    tick()
    check("success ends the period", one(
        M, "SELECT stale_since IS NULL AND stale_at > now() FROM query_job"
        " WHERE id = %s", (j,)))
    q(M, "UPDATE query_job SET stale_at = now() - interval '1 s'"
      " WHERE id = %s", (j,))
    tick()
    d = got("/stale", 2)
    check("again in the next period", len(d) == 2 and
          d[1]["json"]["data"]["run"] is not None, d)
    off(j)


def test_email_and_slack():
    tmp = tempfile.mkdtemp(dir=os.environ.get("PGSCHED_TEST_TMP"))
    with SmtpReceiver(tmp) as smtp:
        mid = add_channel("mail", kind="email", to=["ops@example.com",
                                                     "dba@example.com"])
        RX.behave("/slack/T000/B000/" + TOKEN, slack=True)
        sid = add_channel("slack", kind="slack",
                          url=RX.url_for("/slack/T000/B000/" + TOKEN))
        j = add_job(M, DS, "mailed", "SELECT 1/0")
        subscribe(j, mid, ["run.failed"])
        subscribe(j, sid, ["run.failed"])
        tick({"SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
              "SMTP_FROM": "pgsched@example.com", "SMTP_STARTTLS": "0"})
        run_id = one(M, "SELECT max(id) FROM query_run WHERE"
                     " query_id = %s", (j,))
        link = "%s/api/runs/%d" % (BASE, run_id)
        msgs = smtp.messages()
        check("one e-mail", len(msgs) == 1, msgs)
        m = msgs[0] if msgs else {}
        check("recipients", sorted(m.get("rcpt_tos", [])) == [
            "dba@example.com", "ops@example.com"], m.get("rcpt_tos"))
        check("subject says what happened", "Run failed: mailed" in
              m.get("subject", ""), m.get("subject"))
        check("body has the run's link", link in m.get("body", ""),
              m.get("body"))
        check("Message-ID from the webhook id", deliveries(mid)[0][4] in
              dict(m.get("headers", [])).get("Message-ID", ""), m)
        s = got("/slack/T000/B000/" + TOKEN, 1)
        check("slack body", len(s) == 1 and set(s[0]["json"]) == {"text"}
              and link in s[0]["json"]["text"] and "Run failed" in
              s[0]["json"]["text"], s)
        check("both delivered", [r[2] for r in deliveries(mid) +
                                 deliveries(sid)] == ["delivered"] * 2)
        off(j)


def failing_job(name, cid):
    j = add_job(M, DS, name, "SELECT 1/0")
    subscribe(j, cid, ["run.failed"])
    return j


def retry_now(cid):
    q(M, "UPDATE notify_delivery SET next_attempt_at = now() WHERE"
      " channel_id = %s AND status = 'pending'", (cid,))


def test_receiver_down_then_up():
    rx = WebhookReceiver([SECRET]).start()
    cid = add_channel("down", url=rx.url_for("/x"), secret=SECRET)
    j = failing_job("down", cid)
    rx.refuse()
    tick()
    off(j)
    r = deliveries(cid)
    check("pending after a refused connection", len(r) == 1 and
          r[0][2] == "pending" and r[0][3] == 1 and r[0][7], r)
    left = one(M, "SELECT next_attempt_at - last_attempt_at FROM"
               " notify_delivery WHERE channel_id = %s", (cid,))
    check("retried after about a minute", left and 40 <= left.seconds <= 80,
          left)
    rx.listen()
    tick()
    check("not before it is due", deliveries(cid)[0][2] == "pending")
    retry_now(cid)
    tick()
    d = rx.wait_deliveries(1, timeout=10)
    r = deliveries(cid)
    check("delivered on a later tick", r[0][2] == "delivered" and
          r[0][3] == 2, r)
    check("same webhook-id", d and d[0]["webhook_id"] == r[0][4], d)
    rx.stop()


def test_500_three_times():
    cid = hook("/flaky")
    RX.behave("/flaky", fail_times=3, fail_status=500)
    j = failing_job("flaky", cid)
    tick()
    off(j)
    for _ in range(3):
        retry_now(cid)
        tick()
    d = got("/flaky", 4)
    r = deliveries(cid)
    check("delivered at the fourth attempt", r and r[0][2] == "delivered"
          and r[0][3] == 4 and r[0][6] == 200, r)
    check("four attempts, one id", [x["status"] for x in d] ==
          [500, 500, 500, 200] and len({x["webhook_id"] for x in d}) == 1,
          [(x["status"], x["webhook_id"]) for x in d])


def test_410_disables():
    cid = hook("/gone")
    RX.behave("/gone", status=410)
    j = failing_job("gone", cid)
    tick()
    off(j)
    r = deliveries(cid)
    ch = q(M, "SELECT enabled, disabled_reason FROM notify_channel WHERE"
           " id = %s", (cid,))
    check("dead", r and r[0][2] == "dead" and r[0][6] == 410, r)
    check("channel disabled", ch and ch[0][0] is False and
          "410" in (ch[0][1] or ""), ch)


def test_429_retry_after():
    cid = hook("/busy")
    RX.behave("/busy", status=429, retry_after=600)
    j = failing_job("busy", cid)
    tick()
    off(j)
    wait = one(M, "SELECT extract(epoch FROM next_attempt_at -"
               " last_attempt_at) FROM notify_delivery WHERE"
               " channel_id = %s", (cid,))
    check("waits at least Retry-After", wait is not None and wait >= 599,
          wait)
    check("still pending", deliveries(cid)[0][2] == "pending")


def test_hang_cut_runs_not_delayed():
    cid = hook("/hang")
    RX.behave("/hang", hang=True)
    j = failing_job("hang", cid)
    tick()
    off(j)
    RX.wait_deliveries(1, "/hang", answered=False)
    r = deliveries(cid)
    check("timeout is a failure", r and r[0][2] == "pending" and
          "timeout" in (r[0][7] or ""), r)
    # The retry hangs again while the tick runs jobs of its own.
    retry_now(cid)
    jobs = [add_job(M, DS, "quick%d" % i, "SELECT pg_sleep(0.2)")
            for i in range(3)]
    t0 = time.time()
    tick({"NOTIFY_TIMEOUT_MS": "8000"})
    took = time.time() - t0
    d = RX.deliveries("/hang")
    arrived = d[-1]["arrived"] if len(d) == 2 else None
    ends = q(M, "SELECT extract(epoch FROM max(run_finished_at)) FROM"
             " query_run WHERE query_id = ANY (%s)", (jobs,))[0][0]
    check("the retry was attempted", arrived is not None, d)
    check("runs finished before the hanging attempt was cut",
          arrived is not None and ends is not None and
          float(ends) < arrived + 7, (ends, arrived))
    check("the tick waited for the cut", took >= 7.5, took)
    st = q(M, "SELECT status FROM query_run WHERE query_id = ANY (%s)",
           (jobs,))
    check("runs succeeded", st == [("success",)] * 3, st)
    for x in jobs:
        off(x)


def test_sigkill_mid_delivery():
    rx = WebhookReceiver([SECRET]).start()
    cid = add_channel("killed", url=rx.url_for("/k"), secret=SECRET)
    rx.behave("/k", hang=True)
    j = failing_job("killed", cid)
    e = dict(ENV)
    e["NOTIFY_TIMEOUT_MS"] = "60000"
    p = subprocess.Popen([bin_path("pgsched-runner")], env=runner_env(e),
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    first = rx.wait_deliveries(1, "/k", timeout=30, answered=False)
    p.kill()
    p.wait()
    off(j)
    check("the attempt had started", len(first) == 1, first)
    r = deliveries(cid)
    check("still pending, unrecorded", r and r[0][2] == "pending" and
          r[0][3] == 0, r)
    check("leased meanwhile", one(M, "SELECT next_attempt_at > now() FROM"
                                  " notify_delivery WHERE channel_id = %s",
                                  (cid,)))
    rx.behave("/k")
    retry_now(cid)  # the lease ends
    tick()
    d = rx.wait_deliveries(2, "/k", timeout=10, answered=False)
    r = deliveries(cid)
    check("delivered by the next tick", r and r[0][2] == "delivered", r)
    check("same id", len(d) == 2 and d[0]["webhook_id"] ==
          d[1]["webhook_id"] == r[0][4], d)
    rx.stop()


def test_two_runners_once_each():
    cid = hook("/two")
    RX.behave("/two", delay=0.05)
    j = add_job(M, DS, "two", "SELECT 1", due=False)
    payload = json.dumps({"type": "run.failed", "timestamp": "x",
                          "data": {"query": {"id": j}}})
    q(M, "INSERT INTO notify_delivery (channel_id, event, query_id,"
      " webhook_id, payload) SELECT %s, 'run.failed', %s, 'msg_two_' || i,"
      " %s FROM generate_series(1, 120) i", (cid, j, payload))
    ps = [subprocess.Popen([bin_path("pgsched-runner")],
                           env=runner_env(ENV), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) for _ in range(2)]
    for p in ps:
        p.wait(120)
    d = got("/two", 120)
    ids = [x["webhook_id"] for x in d]
    check("each delivered once", len(ids) == 120 and len(set(ids)) == 120,
          (len(ids), len(set(ids))))
    check("all delivered", one(M, "SELECT count(*) FROM notify_delivery"
                               " WHERE channel_id = %s AND status ="
                               " 'delivered' AND attempts = 1",
                               (cid,)) == 120)


def test_give_up_dead():
    cid = hook("/giveup")
    RX.behave("/giveup", status=500)
    j = failing_job("giveup", cid)
    tick()
    off(j)
    check("pending after one failure", deliveries(cid)[0][2] == "pending")
    q(M, "UPDATE notify_delivery SET created_at = now() - interval '25 h',"
      " next_attempt_at = now() WHERE channel_id = %s", (cid,))
    tick()
    r = deliveries(cid)
    check("dead after NOTIFY_GIVE_UP_HOURS", r[0][2] == "dead" and
          r[0][3] == 2 and r[0][6] == 500, r)


def test_deleted_channel():
    cid = hook("/deleted")
    RX.behave("/deleted", status=500)
    j = failing_job("deleted", cid)
    tick()
    off(j)
    did = deliveries(cid)[0][0]
    q(M, "DELETE FROM notify_channel WHERE id = %s", (cid,))
    q(M, "UPDATE notify_delivery SET next_attempt_at = now() WHERE id = %s",
      (did,))
    tick()
    r = q(M, "SELECT status, last_error, attempts FROM notify_delivery"
          " WHERE id = %s", (did,))
    check("dead with a clear error", r == [("dead",
                                            "the channel was deleted", 1)],
          r)


def test_ssrf_at_connect_time():
    cid = add_channel("ssrf", url="http://localhost:%d/ssrf" % RX.port,
                      secret=SECRET)
    j = failing_job("ssrf", cid)
    tick({"NOTIFY_ALLOW_HOSTS": ""})
    r = deliveries(cid)
    check("a name resolving to loopback is refused", r and
          r[0][2] == "pending" and "loopback" in (r[0][7] or ""), r)
    check("nothing reached the receiver", not RX.deliveries("/ssrf"))
    retry_now(cid)
    tick({"NOTIFY_ALLOW_HOSTS": "localhost"})
    check("allowed by NOTIFY_ALLOW_HOSTS", deliveries(cid)[0][2] ==
          "delivered", deliveries(cid))
    off(j)
    for n, url in (("meta", "http://169.254.169.254/latest"),
                   ("ten", "http://10.1.2.3/x"), ("v6", "http://[::1]:%d/x"
                                                   % RX.port)):
        c = add_channel("ssrf-" + n, url=url, secret=SECRET)
        j = failing_job("ssrf-" + n, c)
        tick({"NOTIFY_ALLOW_HOSTS": ""})
        off(j)
        r = deliveries(c)
        check("refused: " + n, r and r[0][2] == "pending" and
              "refused" in (r[0][7] or ""), r)
    cid = hook("/redirect")
    RX.behave("/redirect", status=302, location=RX.url_for("/target"))
    j = failing_job("redirect", cid)
    tick()
    off(j)
    r = deliveries(cid)
    check("a redirect is not followed", r and r[0][2] == "pending" and
          r[0][6] == 302 and "redirect" in (r[0][7] or ""), r)
    check("the target was not reached", not RX.deliveries("/target"))


def test_rotation_overlap():
    old, new = new_secret(), new_secret()
    rx = WebhookReceiver([old]).start()
    cid = add_channel("rotated", url=rx.url_for("/r"), secret=new)
    q(M, "UPDATE notify_channel SET enc_secret_prev = %s, secret_rotated_at"
      " = now() - interval '1 h' WHERE id = %s", (sealed(old), cid))
    j = failing_job("rotated", cid)
    tick()
    d = rx.wait_deliveries(1, timeout=10)
    sig = dict(d[0]["headers"]).get("webhook-signature", "") if d else ""
    check("signed with both secrets", len(sig.split(" ")) == 2 and
          d[0]["verified"] and d[0]["status"] == 200, d)
    q(M, "UPDATE notify_channel SET secret_rotated_at = now() -"
      " interval '25 h' WHERE id = %s", (cid,))
    due(j)
    tick()
    off(j)
    d = rx.wait_deliveries(2, timeout=10)
    check("the old secret stops signing after the overlap", len(d) == 2 and
          not d[1]["verified"] and d[1]["status"] == 401, d)
    check("and is dropped", one(M, "SELECT enc_secret_prev IS NULL FROM"
                                " notify_channel WHERE id = %s", (cid,)))
    rx.stop()


def test_no_secret_in_logs():
    text = ""
    for f in glob.glob(os.environ["LOG_DIR"] + "/*"):
        with open(f, "rb") as fh:
            text += fh.read().decode("utf-8", "replace")
    check("logs were written", "notify_attempt" in text)
    for s in (SECRET, SECRET[6:], TOKEN):
        check("no secret in the logs", s not in text, s[:10])


def test_retention():
    n = one(M, "SELECT count(*) FROM notify_delivery d JOIN query_run r ON"
            " r.id = d.run_id")
    check("deliveries of runs exist", n > 0)
    rid = one(M, "SELECT run_id FROM notify_delivery WHERE run_id IS NOT"
              " NULL AND event = 'run.failed' LIMIT 1")
    q(M, "DELETE FROM query_run WHERE id = %s", (rid,))
    check("a run's deliveries go with it", one(
        M, "SELECT count(*) FROM notify_delivery WHERE run_id = %s",
        (rid,)) == 0)


if __name__ == "__main__":
    setup()
    try:
        run_tests([test_run_failed_once, test_reaped_run_failed,
                   test_payload_bounded, test_manual_run_delivers_itself,
                   test_job_paused,
                   test_succeeded_and_result_changed, test_alert_transitions,
                   test_alert_missing_column, test_job_stale,
                   test_email_and_slack, test_receiver_down_then_up,
                   test_500_three_times, test_410_disables,
                   test_429_retry_after, test_hang_cut_runs_not_delayed,
                   test_sigkill_mid_delivery, test_two_runners_once_each,
                   test_give_up_dead, test_deleted_channel,
                   test_ssrf_at_connect_time, test_retention,
                   test_rotation_overlap,
                   test_no_secret_in_logs])
    finally:
        RX.stop()
