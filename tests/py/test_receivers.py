#!/usr/bin/python3
"""Self-test of the test receivers tests/lib/webhook_receiver.py and
tests/lib/smtp_receiver.py, with clients of the standard library only
(urllib, http.client, smtplib) and a Standard Webhooks signer of its own.

Webhooks: the specification's published vector; valid deliveries are
accepted and wrong secrets, tampered bodies, stale timestamps, missing or
malformed headers rejected; several signatures; secret rotation; every
told behaviour (statuses, Retry-After, redirects, N failures then success,
delay, hang, refusing connections and listening again); Slack bodies; the
standalone process, its state file and control endpoint.
SMTP: plain, STARTTLS and SMTPS messages recorded; a client refusing
the certificate recorded; AUTH PLAIN and LOGIN recorded without the
password; refusals; down and up; the standalone process.
Prints "N passed, N failed" last.
"""
import atexit
import base64
import hashlib
import hmac
import http.client
import json
import logging
import os
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from pgtest import check, run_tests  # noqa: E402
import webhook_receiver  # noqa: E402
from smtp_receiver import SmtpReceiver  # noqa: E402
from webhook_receiver import WebhookReceiver  # noqa: E402

LIB = os.path.dirname(os.path.abspath(webhook_receiver.__file__))
TMP = tempfile.mkdtemp(prefix="receivers.",
                       dir=os.environ.get("PGSCHED_TEST_TMP"))
atexit.register(shutil.rmtree, TMP, True)
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
OTHER = "whsec_" + base64.b64encode(os.urandom(32)).decode()

# The signing test vector of the Standard Webhooks reference libraries'
# test suite (the Python library's "sign function" test, Standard Webhooks
# 1.0): secret, message id, timestamp, payload and expected signature.
VEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VEC_TS = 1614265330
VEC_BODY = b'{"test": 2432232314}'
VEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sign(secret, msg_id, ts, body):
    """Standard Webhooks 1.0 symmetric signature, written from the spec:
    v1,base64(HMAC-SHA256(base64decode(secret after whsec_),
    "<id>.<timestamp>.<body>"))."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = ("%s.%d." % (msg_id, ts)).encode() + body
    return "v1," + base64.b64encode(
        hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_headers(body, secret=SECRET, msg_id="msg_1", ts=None):
    ts = int(time.time()) if ts is None else ts
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, msg_id, ts, body),
            "Content-Type": "application/json"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """An urllib redirect handler that never follows."""

    def redirect_request(self, *args):
        return None


NO_REDIRECT = urllib.request.build_opener(NoRedirect)


def post(url, body, headers, timeout=10, opener=None):
    """POSTs; returns (status, headers, body) for any answer."""
    req = urllib.request.Request(url, body, headers, method="POST")
    try:
        with (opener or urllib.request.build_opener()).open(
                req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def deliver(rx, path="/hook", body=b'{"type":"run.failed"}', **kw):
    """A signed delivery to rx; returns the answer's status."""
    return post(rx.url_for(path), body, signed_headers(body, **kw))[0]


def refused(url):
    """True when connecting to url is refused."""
    try:
        post(url, b"{}", {}, timeout=5)
    except urllib.error.URLError as e:
        return isinstance(e.reason, ConnectionRefusedError)
    return False


def read_line(proc, timeout=30):
    """The first line of a child's stdout, waiting at most timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().decode() if ready else ""


def poll(fn, timeout=10.0):
    """fn() until true, at most timeout seconds; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.05)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# --- webhooks ------------------------------------------------------------

def test_spec_vector():
    check("independent signer gives the spec's vector",
          sign(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY) == VEC_SIG)
    keys = [webhook_receiver.secret_key(VEC_SECRET)]
    h = {"webhook-id": VEC_ID, "webhook-timestamp": str(VEC_TS),
         "webhook-signature": VEC_SIG}
    v = webhook_receiver.verify
    check("vector verifies", v(h, VEC_BODY, keys, VEC_TS) == (200, "ok", 0))
    check("vector at the edge of the window",
          v(h, VEC_BODY, keys, VEC_TS + 300)[0] == 200)
    check("vector too old", v(h, VEC_BODY, keys, VEC_TS + 301) ==
          (401, "webhook-timestamp too old", None))
    check("vector from the future", v(h, VEC_BODY, keys, VEC_TS - 301) ==
          (401, "webhook-timestamp in the future", None))
    bad = dict(h, **{"webhook-signature": VEC_SIG[:-2] + "A="})
    check("vector with one byte changed", v(bad, VEC_BODY, keys, VEC_TS) ==
          (401, "no signature matches", None))
    check("vector body changed",
          v(h, VEC_BODY + b" ", keys, VEC_TS)[0] == 401)


def test_accept_and_reject():
    with WebhookReceiver([SECRET]) as rx:
        body = b'{"type":"run.failed","data":{"run":{"id":7}}}'
        st, _, ans = post(rx.url_for("/hook?x=1"), body,
                          signed_headers(body, msg_id="msg_ok"))
        check("valid delivery: 200", st == 200, st)
        d = rx.wait_deliveries(1)[-1]
        check("recorded verified", d["verified"] and d["reason"] == "ok", d)
        check("recorded raw body and JSON", d["body"] == body and
              d["json"]["data"]["run"]["id"] == 7)
        check("recorded path, query, id, method",
              (d["path"], d["query"], d["webhook_id"], d["method"]) ==
              ("/hook", "x=1", "msg_ok", "POST"), d)
        check("recorded headers",
              ("Content-Type", "application/json") in d["headers"])
        check("recorded answer", d["status"] == 200 and
              d["answered_mono"] >= d["arrived_mono"])
        now = int(time.time())
        cases = [
            ("wrong secret", 401, "no signature matches",
             dict(body=body, secret=OTHER)),
            ("tampered body", 401, "no signature matches",
             dict(body=body + b" ", sig_body=body)),
            ("timestamp 301 s old", 401, "webhook-timestamp too old",
             dict(body=body, ts=now - 301)),
            ("timestamp an hour old", 401, "webhook-timestamp too old",
             dict(body=body, ts=now - 3600)),
            ("timestamp 10 min ahead", 401,
             "webhook-timestamp in the future", dict(body=body, ts=now + 600)),
            ("timestamp 200 s old", 200, "ok", dict(body=body, ts=now - 200)),
        ]
        for name, want, reason, c in cases:
            h = signed_headers(c.pop("sig_body", c["body"]),
                               secret=c.get("secret", SECRET),
                               ts=c.get("ts"))
            st = post(rx.url_for("/hook"), c["body"], h)[0]
            d = rx.wait_deliveries(1)[-1]
            check(name, st == want and d["reason"] == reason and
                  d["verified"] == (want == 200), (st, d["reason"]))
        good = signed_headers(body)
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            h = {k: v for k, v in good.items() if k != name}
            st = post(rx.url_for("/hook"), body, h)[0]
            check("missing " + name, st == 400 and rx.deliveries()[-1][
                "reason"] == "missing header " + name, st)
        malformed = [
            ("webhook-timestamp", "1e9", "malformed webhook-timestamp"),
            ("webhook-timestamp", "-5", "malformed webhook-timestamp"),
            ("webhook-timestamp", "", "missing header webhook-timestamp"),
            ("webhook-id", "msg.1", "webhook-id contains '.'"),
            ("webhook-signature", "garbage", "no well-formed v1 signature"),
            ("webhook-signature", good["webhook-signature"].replace(
                "v1,", "v2,"), "no well-formed v1 signature"),
            ("webhook-signature", "v1,@@@", "no well-formed v1 signature"),
        ]
        for name, value, reason in malformed:
            h = dict(good, **{name: value})
            st = post(rx.url_for("/hook"), body, h)[0]
            check("malformed %s %r" % (name, value), st == 400 and
                  rx.deliveries()[-1]["reason"] == reason,
                  (st, rx.deliveries()[-1]["reason"]))
        wrong = sign(OTHER, "msg_1", int(good["webhook-timestamp"]), body)
        for name, sig, want in [
                ("wrong then valid", wrong + " " + good["webhook-signature"],
                 200),
                ("valid then wrong", good["webhook-signature"] + " " + wrong,
                 200),
                ("v1a and valid", "v1a,AAAA " + good["webhook-signature"],
                 200),
                ("two wrong", wrong + " " + wrong.replace("v1,", "v1,A"),
                 401)]:
            h = dict(good, **{"webhook-signature": sig})
            st = post(rx.url_for("/hook"), body, h)[0]
            check("signatures: " + name, st == want, st)
        check("every request recorded once", len(rx.deliveries()) ==
              1 + len(cases) + 3 + len(malformed) + 4, len(rx.deliveries()))


def test_framing():
    with WebhookReceiver([SECRET]) as rx:
        body = b'{"type":"run.failed","data":{}}'
        c = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=10)
        c.request("POST", "/hook", iter([body[:10], body[10:]]),
                  signed_headers(body), encode_chunked=True)
        st = c.getresponse().status
        c.close()
        d = rx.deliveries()[-1]
        check("chunked body verified", st == 200 and d["body"] == body and
              dict(d["headers"]).get("Transfer-Encoding") == "chunked",
              (st, d))
        s = socket.create_connection(("127.0.0.1", rx.port), timeout=10)
        s.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: ten\r\n\r\n")
        got = s.recv(100)
        s.close()
        check("bad Content-Length: 400", got.startswith(
            b"HTTP/1.1 400 "), got)


def test_rotation():
    with WebhookReceiver([SECRET, OTHER]) as rx:
        check("old secret accepted", deliver(rx) == 200 and
              rx.deliveries()[-1]["secret_index"] == 0)
        check("new secret accepted", deliver(rx, secret=OTHER) == 200 and
              rx.deliveries()[-1]["secret_index"] == 1)
        rx.set_secrets(OTHER)
        check("old secret refused after rotation", deliver(rx) == 401)
        check("new secret still accepted", deliver(rx, secret=OTHER) == 200)
    for bad in ("nope", "whsec_!!!", "whsec_"):
        try:
            WebhookReceiver([bad])
            check("bad secret %r refused" % bad, False)
        except ValueError:
            check("bad secret %r refused" % bad, True)


def test_statuses():
    with WebhookReceiver([SECRET]) as rx:
        rx.behave(status=500)
        rx.behave("/gone", status=410)
        rx.behave("/busy", status=503, retry_after=7)
        rx.behave("/limit", status=429, retry_after=2)
        rx.behave("/empty", status=204)
        body = b"{}"
        for path, want, ra in [("/other", 500, None), ("/gone", 410, None),
                               ("/busy", 503, "7"), ("/limit", 429, "2"),
                               ("/empty", 204, None)]:
            st, h, _ = post(rx.url_for(path), body, signed_headers(body))
            check("status %s" % path, st == want and
                  h.get("Retry-After") == ra, (st, h.get("Retry-After")))
        st = post(rx.url_for("/gone"), body, {})[0]
        check("unsigned still refused on a told path", st == 400, st)
        rx.reset()
        check("reset forgets deliveries", rx.deliveries() == [])
        check("reset forgets behaviours", deliver(rx, "/gone") == 200)
        check("control endpoint", post(rx.url_for("/_control/reset"), b"",
                                       {})[0] == 200 and not rx.deliveries())
    with WebhookReceiver([SECRET], control=False) as rx:
        st = post(rx.url_for("/_control/reset"), b"", {})[0]
        check("no control endpoint: a delivery", st == 400 and
              rx.deliveries()[0]["path"] == "/_control/reset", st)
    with WebhookReceiver([SECRET]) as rx:
        for bad in (dict(status=99), dict(fail_times=-1), dict(delay=-1),
                    dict(delay=float("inf")), dict(bogus=1)):
            try:
                rx.behave(**bad)
                check("behaviour %r refused" % bad, False)
            except (ValueError, TypeError):
                check("behaviour %r refused" % bad, True)


def test_redirect():
    with WebhookReceiver([SECRET]) as rx:
        target = rx.url_for("/new")
        rx.behave("/moved", status=302, location=target)
        body = b"{}"
        st, h, _ = post(rx.url_for("/moved"), body, signed_headers(body),
                        opener=NO_REDIRECT)
        check("302 with Location", st == 302 and h.get("Location") == target,
              (st, h.get("Location")))
        check("not followed", rx.deliveries("/new") == [])
        # urllib's default handler does follow it (as a GET without the
        # body): the Location is real, and the follow-up fails verification.
        st = post(rx.url_for("/moved"), body, signed_headers(body))[0]
        d = rx.deliveries("/new")
        check("followed by default", st == 401 and len(d) == 1 and
              d[0]["method"] == "GET", (st, d))


def test_fail_then_succeed():
    with WebhookReceiver([SECRET]) as rx:
        rx.behave("/flaky", fail_times=2, fail_status=503, retry_after=1)
        body = b"{}"
        st = post(rx.url_for("/flaky"), body, {})[0]
        check("unsigned does not count as a failure", st == 400)
        got = []
        for _ in range(4):
            st, h, _ = post(rx.url_for("/flaky"), body, signed_headers(body))
            got.append((st, h.get("Retry-After")))
        check("2 failures then success", got ==
              [(503, "1"), (503, "1"), (200, None), (200, None)], got)


def test_delay():
    with WebhookReceiver([SECRET]) as rx:
        rx.behave("/slow", delay=0.05)
        t0 = time.monotonic()
        st = deliver(rx, "/slow")
        took = time.monotonic() - t0
        # The record is completed just after the answer is sent.
        d = rx.wait_deliveries(1, "/slow")[0]
        check("delayed answer", st == 200 and took >= 0.05, (st, took))
        check("delay recorded", d["answered_mono"] - d["arrived_mono"] >= 0.05)


def test_hang_past_timeout():
    with WebhookReceiver([SECRET]) as rx:
        rx.behave("/late", delay=2.0)
        body = b"{}"
        t0 = time.monotonic()
        try:
            post(rx.url_for("/late"), body, signed_headers(body), timeout=0.5)
            timed_out = False
        except (TimeoutError, socket.timeout, urllib.error.URLError):
            timed_out = True
        took = time.monotonic() - t0
        check("client timed out", timed_out and took >= 0.5, took)
        d = rx.wait_deliveries(1, "/late", answered=False)
        check("recorded while the client waits", len(d) == 1 and
              d[0]["verified"])
        # Recorded on arrival: 2 s before the answer.
        d = rx.wait_deliveries(1, "/late", timeout=20)[0]
        check("answered after the delay", d["status"] == 200 and
              d["answered_mono"] - d["arrived_mono"] >= 2.0, d)


def test_hang_forever():
    rx = WebhookReceiver([SECRET]).start()
    rx.behave("/never", hang=True)
    body = b"{}"
    head = "".join("%s: %s\r\n" % kv for kv in signed_headers(body).items())
    req = ("POST /never HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n"
           % (len(body), head)).encode() + body
    s = socket.create_connection(("127.0.0.1", rx.port), timeout=0.5)
    s.sendall(req)
    t0 = time.monotonic()
    try:
        got = s.recv(100)
    except socket.timeout:
        got = None
    check("no answer within 0.5 s", got is None and
          time.monotonic() - t0 >= 0.5, got)
    d = rx.wait_deliveries(1, "/never", answered=False)
    check("hung delivery recorded, unanswered", len(d) == 1 and
          d[0]["status"] is None)
    rx.stop()
    s.settimeout(10)
    try:
        got = s.recv(100)
    except OSError as e:
        got = e
    s.close()
    check("closed without an answer at stop", got == b"", got)
    check("never answered", rx.deliveries("/never")[0]["status"] is None)


def test_refuse_and_listen():
    with WebhookReceiver([SECRET]) as rx:
        port = rx.port
        check("listening", rx.listening and deliver(rx) == 200)
        rx.refuse()
        check("refused", not rx.listening and refused(rx.url_for("/hook")))
        rx.listen()
        check("same port again", rx.port == port and rx.listening)
        check("accepts again", deliver(rx) == 200)


def test_slack():
    with WebhookReceiver([SECRET]) as rx:
        rx.behave("/slack", slack=True)
        hdr = {"Content-Type": "application/json"}
        st, _, ans = post(rx.url_for("/slack"),
                          b'{"text": "run 7 failed <http://x/r/7|run>"}', hdr)
        d = rx.deliveries("/slack")[-1]
        check("slack body accepted unsigned", st == 200 and ans == b"ok" and
              d["verified"] and d["json"]["text"].startswith("run 7"),
              (st, ans))
        st, _, ans = post(rx.url_for("/slack"), b'{"blocks": []}', hdr)
        check("slack without text", st == 400 and ans == b"no_text")
        st, _, ans = post(rx.url_for("/slack"), b"text=hi", hdr)
        check("slack not JSON", st == 400 and ans == b"invalid_payload")
        st = post(rx.url_for("/hook"), b'{"text": "x"}', hdr)[0]
        check("unsigned refused elsewhere", st == 400, st)
        rx.behave("/any", accept_unverified=True)
        st = post(rx.url_for("/any"), b"{}", hdr)[0]
        d = rx.deliveries("/any")[-1]
        check("accept_unverified", st == 200 and not d["verified"] and
              d["reason"] == "missing header webhook-id", (st, d["reason"]))


def test_standalone_webhook():
    state = os.path.join(TMP, "wh-state.json")
    r = subprocess.run([sys.executable, os.path.join(LIB,
                                                     "webhook_receiver.py"),
                        "--secret", "nope"], capture_output=True, text=True,
                       timeout=30)
    check("standalone: bad secret", r.returncode == 64 and
          "whsec_" in r.stderr, (r.returncode, r.stderr))
    proc = subprocess.Popen([sys.executable,
                             os.path.join(LIB, "webhook_receiver.py"),
                             "--port", "0", "--secret", SECRET,
                             "--state-file", state, "--slack", "/slack"],
                            stdout=subprocess.PIPE)
    try:
        line = read_line(proc)
        check("standalone: listening line", line.startswith(
            "listening on http://127.0.0.1:"), line)
        base = line.split()[-1]
        port = int(base.rsplit(":", 1)[1])
        check("standalone: state file", (read_json(state) or {}).get(
            "port") == port)
        body = b'{"type":"run.succeeded"}'
        st = post(base + "/hook", body, signed_headers(body))[0]
        st2 = post(base + "/slack", b'{"text":"hi"}', {})[0]
        s = poll(lambda: len((read_json(state) or {}).get("deliveries", ()))
                 == 2 and read_json(state))
        check("standalone: deliveries in the state file", st == 200 and
              st2 == 200 and s and s["deliveries"][0]["body"] ==
              body.decode() and s["deliveries"][0]["verified"] and
              s["deliveries"][1]["verified"], (st, st2, s))
        st = post(base + "/_control/behave", json.dumps(
            {"path": "/hook", "status": 503, "retry_after": 3}).encode(),
            {})[0]
        st2, h, _ = post(base + "/hook", body, signed_headers(body))
        check("standalone: control behave", st == 200 and st2 == 503 and
              h.get("Retry-After") == "3", (st, st2))
        st = post(base + "/_control/behave", b'{"status": "x"}', {})[0]
        check("standalone: bad control refused", st == 400, st)
        with urllib.request.urlopen(base + "/_control/deliveries",
                                    timeout=10) as r:
            ds = json.load(r)
        check("standalone: control deliveries", [d["status"] for d in ds] ==
              [200, 200, 503], ds)
        st = post(base + "/_control/refuse", b'{"seconds": 1}', {})[0]
        check("standalone: refuses", st == 200 and refused(base + "/hook"))
        check("standalone: listens again",
              poll(lambda: not refused(base + "/hook")))
        st = post(base + "/_control/reset", b"", {})[0]
        check("standalone: reset", st == 200 and deliver_to(base) == 200)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        proc.stdout.close()
    check("standalone: SIGTERM exits 0", rc == 0, rc)


def deliver_to(base, body=b"{}"):
    return post(base + "/hook", body, signed_headers(body))[0]


# --- SMTP ----------------------------------------------------------------

def message(subject="Run 7 failed", body="Run 7 of q failed: ü\n"):
    m = EmailMessage()
    m["From"] = "pgsched@example.test"
    m["To"] = "a@example.test, b@example.test"
    m["Subject"] = subject
    m.set_content(body)
    return m


def send(client, msg=None):
    msg = msg or message()
    return client.send_message(msg, to_addrs=["a@example.test",
                                              "b@example.test"])


def test_smtp_plain():
    with SmtpReceiver(TMP, "plain") as rx:
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            c.ehlo()
            check("plain: no STARTTLS, no AUTH offered",
                  not c.has_extn("starttls") and not c.has_extn("auth"))
            send(c)
        m = rx.wait_messages(1)
        check("plain: one message", len(m) == 1)
        m = m[0]
        check("plain: envelope", m["mail_from"] == "pgsched@example.test" and
              m["rcpt_tos"] == ["a@example.test", "b@example.test"], m)
        check("plain: subject and body", m["subject"] == "Run 7 failed" and
              m["body"] == "Run 7 of q failed: ü\n", m)
        check("plain: headers", ("To", "a@example.test, b@example.test") in
              m["headers"] and b"Subject: Run 7 failed" in m["raw"])
        check("plain: no TLS, no login", not m["tls"] and m["login"] is None)


def test_smtp_starttls():
    with SmtpReceiver(TMP, "starttls", require_starttls=True) as rx:
        ctx = ssl.create_default_context(cafile=rx.cert_file)
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            try:
                send(c)
                check("starttls: refused before STARTTLS", False)
            except smtplib.SMTPSenderRefused as e:
                check("starttls: refused before STARTTLS", e.smtp_code == 530)
        c = smtplib.SMTP("127.0.0.1", rx.port, timeout=10)
        try:
            c.starttls(context=ssl.create_default_context())
            check("starttls: certificate is self-signed", False)
        except ssl.SSLCertVerificationError:
            check("starttls: certificate is self-signed", True)
        finally:
            c.close()
        e = poll(rx.errors)
        check("starttls: the failed handshake recorded", len(e) == 1 and
              e[0]["tls"] and "UNKNOWN_CA" in e[0]["error"], e)
        with smtplib.SMTP("localhost", rx.port, timeout=10) as c:
            c.starttls(context=ctx)
            send(c)
        m = rx.wait_messages(1)
        check("starttls: message over TLS", len(m) == 1 and m[0]["tls"])


class Capture(logging.Handler):
    """Keeps every log record's text."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_smtps_auth():
    pw = "pw-" + base64.b64encode(os.urandom(12)).decode()
    state = os.path.join(TMP, "smtps-state.json")
    cap = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(cap)
    root.setLevel(logging.DEBUG)
    try:
        with SmtpReceiver(TMP, "smtps", user="pgsched", password=pw,
                          state_file=state) as rx:
            ctx = ssl.create_default_context(cafile=rx.cert_file)
            with smtplib.SMTP_SSL("127.0.0.1", rx.port, context=ctx,
                                  timeout=10) as c:
                c.ehlo()
                check("smtps: AUTH offered", c.has_extn("auth"))
                try:
                    send(c)
                    check("smtps: MAIL needs AUTH", False)
                except smtplib.SMTPSenderRefused as e:
                    check("smtps: MAIL needs AUTH", e.smtp_code == 530)
            with smtplib.SMTP_SSL("127.0.0.1", rx.port, context=ctx,
                                  timeout=10) as c:
                try:
                    c.login("pgsched", pw + "x")
                    check("smtps: wrong password refused", False)
                except smtplib.SMTPAuthenticationError as e:
                    check("smtps: wrong password refused", e.smtp_code == 535)
                c.ehlo()
                c.user, c.password = "pgsched", pw
                code, _ = c.auth("PLAIN", c.auth_plain)
                check("smtps: AUTH PLAIN", code == 235, code)
                send(c)
            with smtplib.SMTP_SSL("127.0.0.1", rx.port, context=ctx,
                                  timeout=10) as c:
                c.ehlo()
                c.user, c.password = "pgsched", pw
                code, _ = c.auth("LOGIN", c.auth_login,
                                 initial_response_ok=False)
                check("smtps: AUTH LOGIN", code == 235, code)
                send(c, message(subject="second"))
            m = rx.wait_messages(2)
            check("smtps: messages over TLS with the login", len(m) == 2 and
                  all(x["tls"] and x["login"] == "pgsched" for x in m), m)
            a = [(x["mechanism"], x["login"], x["success"])
                 for x in rx.auths()]
            check("smtps: auths recorded", a[-2:] == [
                ("PLAIN", "pgsched", True), ("LOGIN", "pgsched", True)] and
                ("pgsched", False) in [(x[1], x[2]) for x in a], a)
            with open(state) as f:
                saved = f.read()
            seen = repr(rx.auths()) + repr(rx.messages()) + saved + \
                "\n".join(cap.lines)
            b64 = base64.b64encode(("\0pgsched\0" + pw).encode()).decode()
            check("smtps: the password is nowhere", pw not in seen and
                  b64 not in seen and base64.b64encode(pw.encode()).decode()
                  not in seen)
    finally:
        root.removeHandler(cap)
        root.setLevel(old_level)
    with SmtpReceiver(TMP, "plain", user="u", password="p") as rx:
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            c.login("u", "p")
            send(c)
        check("plain with AUTH", rx.wait_messages(1)[0]["login"] == "u")


def test_smtp_refuse_down_up():
    with SmtpReceiver(TMP, "plain") as rx:
        rx.refuse("554 5.7.1 No thanks")
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            try:
                send(c)
                check("refused at DATA", False)
            except smtplib.SMTPDataError as e:
                check("refused at DATA", e.smtp_code == 554 and
                      e.smtp_error == b"5.7.1 No thanks", e)
        rx.refuse("550 5.1.1 No such user", at="RCPT")
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            try:
                send(c)
                check("refused at RCPT", False)
            except smtplib.SMTPRecipientsRefused as e:
                check("refused at RCPT", all(
                    v[0] == 550 for v in e.recipients.values()), e)
        check("refusals recorded, no message", rx.messages() == [] and
              [r["stage"] for r in rx.refusals()] == ["DATA", "RCPT",
                                                      "RCPT"],
              rx.refusals())
        for bad in (("250 OK",), ("554 x", "MAIL")):
            try:
                rx.refuse(*bad)
                check("refuse %r rejected" % (bad,), False)
            except ValueError:
                check("refuse %r rejected" % (bad,), True)
        rx.accept()
        port = rx.port
        rx.down()
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=10)
            check("down: connection refused", False)
        except ConnectionRefusedError:
            check("down: connection refused", True)
        rx.up()
        check("up: same port", rx.port == port)
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=10) as c:
            send(c)
        check("up: accepts again", len(rx.wait_messages(1)) == 1)


def test_smtp_standalone():
    d = tempfile.mkdtemp(dir=TMP)
    state = os.path.join(d, "state.json")
    pwfile = os.path.join(d, "pw")
    with open(pwfile, "w") as f:
        f.write("s3cret-pw\n")
    proc = subprocess.Popen([sys.executable,
                             os.path.join(LIB, "smtp_receiver.py"),
                             "--dir", d, "--mode", "smtps", "--user", "u",
                             "--password-file", pwfile,
                             "--state-file", state], stdout=subprocess.PIPE)
    try:
        line = read_line(proc)
        check("smtp standalone: listening line",
              line.startswith("listening on "), line)
        port = int(line.split()[-1])
        s = read_json(state) or {}
        ctx = ssl.create_default_context(cafile=s.get("cert_file"))
        with smtplib.SMTP_SSL("127.0.0.1", port, context=ctx,
                              timeout=10) as c:
            c.login("u", "s3cret-pw")
            send(c)
        s = poll(lambda: (read_json(state) or {}).get("messages") and
                 read_json(state))
        check("smtp standalone: message in the state file", s and
              s["messages"][0]["subject"] == "Run 7 failed" and
              s["messages"][0]["login"] == "u" and s["auths"][0]["success"],
              s)
        check("smtp standalone: no password in the state file",
              "s3cret-pw" not in json.dumps(s))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        proc.stdout.close()
    check("smtp standalone: SIGTERM exits 0", rc == 0, rc)


if __name__ == "__main__":
    run_tests([v for k, v in list(globals().items())
               if k.startswith("test_") and callable(v)])
