#!/usr/bin/python3
"""A webhook receiver for pg-sched's notification tests.

An HTTP server on 127.0.0.1 (a free port unless told one) that verifies
every request as a Standard Webhooks 1.0 consumer, records it, and answers
the way a test told it to.

Verification (Standard Webhooks 1.0, "Verifying webhook authenticity"):
the headers webhook-id, webhook-timestamp and webhook-signature must all be
present; the timestamp is integer Unix seconds within TOLERANCE (default
300 s) of now, either way; the signature header is a space-separated list
of "<version>,<base64>" entries, and the request is authentic when one "v1"
entry equals, by a constant-time compare, the base64 HMAC-SHA256 of
"<id>.<timestamp>.<raw body>" keyed with the base64-decoded part after
"whsec_" of any configured secret (several during a rotation).  Entries of
other versions (v1a...) are ignored.  An id containing "." is refused: the
spec forbids it, as it would make the signed content ambiguous.

Answers: 200 to an authentic delivery, 400 when a header is missing or
malformed, 401 when no signature matches or the timestamp is out of the
window, unless a Behaviour says otherwise (see Behaviour).  A path told
`slack=True` takes Slack incoming-webhook bodies instead: no signature,
a JSON object with a string "text", answered "ok" like Slack does.

As a module:

    with WebhookReceiver(["whsec_..."]) as rx:
        rx.behave("/hook", status=503, retry_after=30)
        ... point pg-sched at rx.url_for("/hook") ...
        d = rx.wait_deliveries(1)

As a process (for shell tests or other processes):

    webhook_receiver.py [--port N] --secret whsec_... [--secret ...]
        [--state-file F] [--slack PATH] [--tolerance S]

prints "listening on http://127.0.0.1:PORT" and keeps F (JSON: port,
listening, deliveries) up to date, written atomically.  Paths under
/_control/ are its control endpoint, never recorded as deliveries:
GET /_control/deliveries; POST /_control/behave {"path": P or null,
option: value...}; POST /_control/secrets {"secrets": [...]};
POST /_control/reset; POST /_control/refuse {"seconds": S} (stop
listening for S seconds, then listen again on the same port).
SIGTERM or SIGINT stops it with status 0.
"""
import argparse
import base64
import binascii
import dataclasses
import hashlib
import hmac
import http.server
import json
import math
import os
import signal
import socketserver
import sys
import threading
import time

CONTROL_PREFIX = "/_control/"
DEFAULT_TOLERANCE = 300.0


def secret_key(secret):
    """Returns the HMAC key of a "whsec_<base64>" secret; ValueError if the
    secret is not of that form."""
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
    except binascii.Error as e:
        raise ValueError("a webhook secret is whsec_<base64>: %s" % e)
    if not key:
        raise ValueError("empty webhook secret")
    return key


def verify(headers, body, keys, now, tolerance=DEFAULT_TOLERANCE):
    """Checks one delivery against HMAC keys (bytes, see secret_key).

    headers: a mapping with case-insensitive get() (http.client's message)
    or a dict with lower-case names.  Returns (status, reason, index): 200
    with the index of the first key that matched, or 400 (missing or
    malformed header) / 401 (stale timestamp, no matching signature) with
    index None.
    """
    values = {}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        v = headers.get(name)
        if v is None or v.strip() == "":
            return 400, "missing header %s" % name, None
        values[name] = v.strip()
    msg_id, ts = values["webhook-id"], values["webhook-timestamp"]
    if "." in msg_id:
        return 400, "webhook-id contains '.'", None
    if not ts.isascii() or not ts.isdigit():
        return 400, "malformed webhook-timestamp", None
    age = now - int(ts)
    if age > tolerance:
        return 401, "webhook-timestamp too old", None
    if -age > tolerance:
        return 401, "webhook-timestamp in the future", None
    given = []
    for entry in values["webhook-signature"].split():
        version, sep, sig = entry.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            given.append(base64.b64decode(sig, validate=True))
        except binascii.Error:
            continue
    if not given:
        return 400, "no well-formed v1 signature", None
    signed = b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body)
    for i, key in enumerate(keys):
        want = hmac.new(key, signed, hashlib.sha256).digest()
        # compare_digest on every entry: no early exit on a match.
        if sum(hmac.compare_digest(want, g) for g in given):
            return 200, "ok", i
    return 401, "no signature matches", None


@dataclasses.dataclass
class Behaviour:
    """How a path (or every path) answers.

    status: the answer to an accepted delivery (default 200; e.g. 500,
        410, 503, 302).
    retry_after: a Retry-After value (seconds or HTTP date) sent with
        every non-2xx answer this behaviour gives.
    location: a Location header (for a 3xx status).
    fail_times, fail_status: answer fail_status to the first fail_times
        accepted deliveries, then status.
    delay: seconds to wait before answering (a slow endpoint, or one that
        hangs past the client's timeout).
    hang: never answer; the connection is closed without an answer when
        the receiver stops.
    slack: a Slack incoming webhook: no signature, body {"text": ...}.
    accept_unverified: treat deliveries that fail verification as
        accepted (they are still recorded with verified False).
    """
    status: int = 200
    retry_after: object = None
    location: str = None
    fail_times: int = 0
    fail_status: int = 500
    delay: float = 0.0
    hang: bool = False
    slack: bool = False
    accept_unverified: bool = False
    failed: int = dataclasses.field(default=0, init=False)

    def __post_init__(self):
        for name in ("status", "fail_status"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 200 <= v <= 599:
                raise ValueError("%s must be an HTTP status" % name)
        if not isinstance(self.fail_times, int) or self.fail_times < 0:
            raise ValueError("fail_times must be an integer >= 0")
        if (not isinstance(self.delay, (int, float)) or self.delay < 0 or
                not math.isfinite(self.delay)):
            raise ValueError("delay must be a number of seconds >= 0")


def _read_body(handler):
    """Returns the request body (Content-Length or chunked), or None when
    the framing is malformed."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        out = b""
        while True:
            line = handler.rfile.readline(100)
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                return None
            if size == 0:
                while handler.rfile.readline(1000) not in (b"\r\n", b"\n",
                                                            b""):
                    pass
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline(10)
    try:
        n = int(handler.headers.get("Content-Length", "0"))
    except ValueError:
        return None
    return handler.rfile.read(n) if n > 0 else b""


class _Handler(http.server.BaseHTTPRequestHandler):
    """One request: the control endpoint or a delivery."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the records say it all
        pass

    def _any(self):
        self.close_connection = True  # one delivery, one connection
        body = _read_body(self)
        rx = self.server.receiver
        if body is None:
            self.answer(400, {"error": "malformed body framing"})
        elif self.path.startswith(CONTROL_PREFIX) and rx.control:
            rx._control(self, body)
        else:
            rx._deliver(self, body)

    do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _any

    def answer(self, status, payload, extra=()):
        """Sends a JSON (or, for str, plain text) answer."""
        if isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(status)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (its timeout): nothing to do
            pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A sender with many deliveries in flight connects many times at once:
    # socketserver's default listen queue (5) drops the extra SYNs, which
    # the client retries a second later.
    request_queue_size = 128


class WebhookReceiver:
    """The receiver; start() it (or use `with`), stop() it at the end.

    secrets: the "whsec_..." secrets a signature may match (rotation: more
    than one).  tolerance: the timestamp window, seconds.  port: 0 for a
    free one.  state_file: a JSON file kept up to date.  control: serve
    /_control/.  clock: returns Unix seconds (for verification).
    """

    def __init__(self, secrets=(), tolerance=DEFAULT_TOLERANCE,
                 host="127.0.0.1", port=0, state_file=None, control=True,
                 clock=time.time):
        self.host, self.port = host, port
        self.tolerance = tolerance
        self.state_file = state_file
        self.control = control
        self.clock = clock
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._keys = []
        self._behaviours = {}
        self._records = []
        self._server = None
        self._thread = None
        self.set_secrets(*secrets)

    # --- life cycle --------------------------------------------------------

    def start(self):
        """Starts listening; returns self."""
        self._stopping.clear()
        self.listen()
        return self

    def stop(self):
        """Stops listening and wakes handlers that delay or hang."""
        self._stopping.set()
        self.refuse()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def listen(self):
        """Listens (again) on the port: the same one after refuse()."""
        with self._lock:
            if self._server is not None:
                return
            self._server = _Server((self.host, self.port), _Handler)
            self._server.receiver = self
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()
        self._save()

    def refuse(self):
        """Closes the listening socket: connections are refused until
        listen().  Requests already accepted go on."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self._save()

    @property
    def listening(self):
        return self._server is not None

    def url_for(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    # --- configuration -----------------------------------------------------

    def set_secrets(self, *secrets):
        """Replaces the accepted secrets (ValueError on a malformed one)."""
        keys = [secret_key(s) for s in secrets]
        with self._lock:
            self._keys = keys

    def behave(self, path=None, **options):
        """Sets how `path` (None: every path without its own) answers from
        now on; options are Behaviour's fields.  Returns the Behaviour."""
        b = Behaviour(**options)
        with self._lock:
            self._behaviours[path] = b
        return b

    def reset(self):
        """Forgets behaviours and recorded deliveries."""
        with self._lock:
            self._behaviours.clear()
            self._records.clear()
        self._save()

    # --- records -----------------------------------------------------------

    def deliveries(self, path=None):
        """Copies of the recorded deliveries (all, or those of a path), in
        order of arrival.  Each is a dict: arrived (Unix time), arrived_mono
        and answered_mono (time.monotonic(), answered None until answered),
        method, path, query, headers (list of pairs), body (bytes), json
        (parsed or None), verified, reason, secret_index, status (None until
        answered, or never when hung), webhook_id, webhook_timestamp."""
        with self._lock:
            return [dict(r) for r in self._records
                    if path is None or r["path"] == path]

    def wait_deliveries(self, n, path=None, timeout=10.0, answered=True):
        """Waits until at least n deliveries (of path) are recorded (and,
        if answered, answered), at most timeout seconds; returns them."""
        def done():
            rs = [r for r in self._records
                  if path is None or r["path"] == path]
            if answered:
                rs = [r for r in rs if r["status"] is not None]
            return len(rs) >= n
        with self._lock:
            self._lock.wait_for(done, timeout)
        return self.deliveries(path)

    # --- the request path --------------------------------------------------

    def _behaviour(self, path):
        with self._lock:
            return self._behaviours.get(path, self._behaviours.get(None,
                                                                   None))

    def _deliver(self, handler, body):
        """Verifies, records, waits as told, answers."""
        path, _, query = handler.path.partition("?")
        b = self._behaviour(path) or Behaviour()
        if b.slack:
            code, reason, index = self._slack(body)
        else:
            with self._lock:
                keys = list(self._keys)
            code, reason, index = verify(handler.headers, body, keys,
                                         self.clock(), self.tolerance)
        rec = {"arrived": time.time(), "arrived_mono": time.monotonic(),
               "answered_mono": None, "method": handler.command,
               "path": path, "query": query,
               "headers": list(handler.headers.items()), "body": body,
               "json": _json_or_none(body), "verified": code == 200,
               "reason": reason, "secret_index": index, "status": None,
               "webhook_id": handler.headers.get("webhook-id"),
               "webhook_timestamp": handler.headers.get("webhook-timestamp")}
        with self._lock:
            self._records.append(rec)
            if code == 200 or b.accept_unverified:
                code = b.status
                if b.failed < b.fail_times:
                    b.failed += 1
                    code = b.fail_status
            self._lock.notify_all()
        self._save()
        if b.hang:
            self._stopping.wait()
            return
        if b.delay and self._stopping.wait(b.delay):
            return
        extra = []
        if b.retry_after is not None and code >= 300:
            extra.append(("Retry-After", str(b.retry_after)))
        if b.location is not None and 300 <= code < 400:
            extra.append(("Location", b.location))
        if b.slack:
            payload = "ok" if code < 300 else reason
        else:
            payload = {"received": True} if code < 300 else {"error": reason}
        handler.answer(code, payload, extra)
        with self._lock:
            rec["status"] = code
            rec["answered_mono"] = time.monotonic()
            self._lock.notify_all()
        self._save()

    @staticmethod
    def _slack(body):
        """Checks a Slack incoming-webhook body, as Slack does."""
        doc = _json_or_none(body)
        if not isinstance(doc, dict):
            return 400, "invalid_payload", None
        if not isinstance(doc.get("text"), str) or not doc["text"]:
            return 400, "no_text", None
        return 200, "slack: no signature needed", None

    def _control(self, handler, body):
        """The /_control/ endpoint (see the module's docstring)."""
        what = handler.path[len(CONTROL_PREFIX):]
        try:
            arg = json.loads(body) if body else {}
            if handler.command == "GET" and what == "deliveries":
                handler.answer(200, [_jsonable(r) for r in self.deliveries()])
                return
            if handler.command != "POST" or not isinstance(arg, dict):
                raise ValueError("unknown control request")
            if what == "behave":
                path = arg.pop("path", None)
                self.behave(path, **arg)
            elif what == "secrets":
                self.set_secrets(*arg["secrets"])
            elif what == "reset":
                self.reset()
            elif what == "refuse":
                seconds = float(arg.get("seconds", 1.0))
                self.refuse()
                t = threading.Timer(seconds, self._relisten)
                t.daemon = True
                t.start()
            else:
                raise ValueError("unknown control request")
        except (ValueError, TypeError, KeyError) as e:
            handler.answer(400, {"error": str(e)})
            return
        handler.answer(200, {"ok": True})

    def _relisten(self):
        if not self._stopping.is_set():
            self.listen()

    def _save(self):
        """Rewrites the state file (atomically), if there is one."""
        if not self.state_file:
            return
        with self._lock:
            state = {"port": self.port, "listening": self.listening,
                     "deliveries": [_jsonable(r) for r in self._records]}
            tmp = "%s.%d.tmp" % (self.state_file, threading.get_ident())
            with open(tmp, "w") as f:
                json.dump(state, f, indent=1)
            os.replace(tmp, self.state_file)


def _json_or_none(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


def _jsonable(rec):
    """A record as JSON: the body as text (when UTF-8) and as base64."""
    out = dict(rec)
    out["body_b64"] = base64.b64encode(rec["body"]).decode()
    try:
        out["body"] = rec["body"].decode()
    except UnicodeDecodeError:
        out["body"] = None
    return out


def main(argv=None):
    """The standalone receiver; runs until SIGTERM or SIGINT."""
    p = argparse.ArgumentParser(description="Standard Webhooks receiver "
                                "for tests (see the module's docstring)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--secret", action="append", default=[])
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    p.add_argument("--state-file")
    p.add_argument("--slack", action="append", default=[], metavar="PATH")
    a = p.parse_args(argv)
    try:
        rx = WebhookReceiver(a.secret, a.tolerance, a.host, a.port,
                             a.state_file)
    except ValueError as e:
        print("webhook_receiver: %s" % e, file=sys.stderr)
        return 64
    for path in a.slack:
        rx.behave(path, slack=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        rx.start()
    except OSError as e:
        print("webhook_receiver: cannot listen: %s" % e, file=sys.stderr)
        return 69
    print("listening on %s" % rx.url_for(""), flush=True)
    while not done.wait(0.5):
        pass
    rx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
