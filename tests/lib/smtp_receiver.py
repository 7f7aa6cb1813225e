#!/usr/bin/python3
"""An SMTP receiver for pg-sched's e-mail notification tests.

Built on aiosmtpd (Debian's python3-aiosmtpd), served from an asyncio loop
in a thread of its own, on 127.0.0.1 and a free port unless told one.

mode:
  "plain"     plain SMTP, no TLS offered;
  "starttls"  STARTTLS offered (required when require_starttls);
  "smtps"     TLS from the first byte (implicit TLS, smtps://).
TLS uses a throwaway self-signed certificate (CN localhost, SAN localhost
and 127.0.0.1) that `openssl req` writes under the given directory at
start; clients verify it with cafile=rx.cert_file.

With user and password, AUTH PLAIN and LOGIN are offered and required
before MAIL.  Over "starttls" AUTH needs the STARTTLS first; "smtps" is
TLS already; "plain" offers AUTH in the clear (loopback tests only).  Each
attempt is recorded (mechanism, login, success), never the password.

Every accepted message is recorded (envelope, parsed headers, subject,
text body, raw bytes, TLS or not, the login); refuse() makes it answer a
given reply (e.g. "554 5.7.1 ...") at RCPT or DATA, recorded in refusals();
failed sessions (a client refusing the certificate) are in errors();
down() and up() stop and resume listening on the same port.

As a process: smtp_receiver.py --dir D [--mode M] [--port N]
[--user U --password-file F] [--state-file S] prints "listening on
PORT" and keeps S (JSON: port, cert_file, messages, auths, refusals,
errors) up to date; SIGTERM or SIGINT stops it with status 0.
"""
import argparse
import asyncio
import email
import email.policy
import hmac
import json
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, TLSSetupException

MODES = ("plain", "starttls", "smtps")
# aiosmtpd logs every connection and command (it masks AUTH lines itself)
# and warns about AUTH without STARTTLS (smtps is TLS already, plain is for
# loopback tests) and its own deprecated login_data: keep that out of the
# test logs; session errors are recorded (errors()) instead.
logging.getLogger("mail.log").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS",
                        UserWarning)


def make_cert(directory):
    """Writes a self-signed certificate and key for localhost/127.0.0.1
    with openssl into a new subdirectory of directory (so receivers can
    share one); returns (cert_file, key_file).  Raises RuntimeError with
    openssl's message when it fails."""
    sub = tempfile.mkdtemp(prefix="smtp-tls.", dir=directory)
    cert = os.path.join(sub, "cert.pem")
    key = os.path.join(sub, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % r.stderr.strip())
    return cert, key


class _Handler:
    """aiosmtpd's handler hooks, reporting to the SmtpReceiver."""

    def __init__(self, rx):
        self.rx = rx

    async def handle_EHLO(self, server, session, envelope, hostname, lines):
        """Offers AUTH only when a user is configured."""
        session.host_name = hostname
        if self.rx.user is None:
            lines = [x for x in lines if not x[4:].startswith("AUTH")]
        return lines

    async def handle_exception(self, error):
        """Records a session's failure (e.g. a TLS handshake the client
        refused); aiosmtpd answers the returned line unless TLS failed."""
        cause = error.__cause__ or error
        self.rx._note_error(isinstance(error, TLSSetupException),
                            "%s: %s" % (type(cause).__name__, cause))
        return "500 Error: (%s) %s" % (type(error).__name__, error)

    async def handle_RCPT(self, server, session, envelope, address, opts):
        """Takes the recipient unless told to refuse at RCPT."""
        reply = self.rx._refusal("RCPT", envelope.mail_from, [address])
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Records the message unless told to refuse at DATA."""
        reply = self.rx._refusal("DATA", envelope.mail_from,
                                 list(envelope.rcpt_tos))
        if reply:
            return reply
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.rx._record(envelope, tls, session.auth_data)
        return "250 OK"


class SmtpReceiver:
    """The receiver; start() it (or use `with`), stop() it at the end.

    directory: where the certificate goes (the test's temp directory).
    user, password: require AUTH with these.  require_starttls: in
    "starttls" mode, refuse MAIL before STARTTLS.  port: 0 for a free one.
    """

    def __init__(self, directory, mode="plain", user=None, password=None,
                 require_starttls=False, host="127.0.0.1", port=0,
                 state_file=None):
        if mode not in MODES:
            raise ValueError("mode is one of %s" % ", ".join(MODES))
        if (user is None) != (password is None):
            raise ValueError("user and password go together")
        self.directory, self.mode = directory, mode
        self.user, self._password = user, password
        self.require_starttls = require_starttls
        self.host, self.port = host, port
        self.state_file = state_file
        self.cert_file = None
        self._ctx = None
        self._lock = threading.Condition()
        self._messages, self._auths, self._refusals = [], [], []
        self._errors = []
        self._refuse = None
        self._loop = None
        self._thread = None
        self._server = None

    # --- life cycle --------------------------------------------------------

    def start(self):
        """Makes the certificate (TLS modes), starts the loop thread and
        listens; returns self."""
        if self.mode != "plain":
            self.cert_file, key = make_cert(self.directory)
            self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ctx.load_cert_chain(self.cert_file, key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        daemon=True)
        self._thread.start()
        self.up()
        return self

    def stop(self):
        """Stops listening, ends open sessions and the loop thread."""
        if self._loop is None:
            return
        self.down()
        self._run(self._cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def up(self):
        """Listens (again) on the port: the same one after down()."""
        if self._server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        ssl_ctx = self._ctx if self.mode == "smtps" else None
        self._server = self._run(self._loop.create_server(
            self._factory, sock=sock, ssl=ssl_ctx))
        self._save()

    def down(self):
        """Stops listening: connections are refused until up()."""
        server, self._server = self._server, None
        if server is not None:
            self._run(self._close(server))
        self._save()

    @staticmethod
    async def _close(server):
        """Closes a listening server (in the loop: asyncio is not
        thread-safe)."""
        server.close()
        await server.wait_closed()

    def _run(self, coro):
        """Runs a coroutine in the loop thread; returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _cancel_all(self):
        me = asyncio.current_task()
        for t in asyncio.all_tasks():
            if t is not me:
                t.cancel()

    def _factory(self):
        """One aiosmtpd SMTP protocol per connection, as configured."""
        return SMTP(_Handler(self), hostname="localhost",
                    tls_context=self._ctx if self.mode == "starttls" else None,
                    require_starttls=self.require_starttls,
                    auth_required=self.user is not None,
                    auth_require_tls=self.mode == "starttls",
                    authenticator=self._authenticate if self.user else None,
                    loop=self._loop)

    # --- behaviour ---------------------------------------------------------

    def refuse(self, reply="554 5.7.1 Message refused", at="DATA"):
        """Answers reply (a 4xx or 5xx line) at RCPT or DATA from now on."""
        if not re.fullmatch(r"[45][0-9][0-9][ -][ -~]*", reply):
            raise ValueError("reply is a 4xx or 5xx SMTP reply line")
        if at not in ("RCPT", "DATA"):
            raise ValueError("at is RCPT or DATA")
        with self._lock:
            self._refuse = (at, reply)

    def accept(self):
        """Stops refusing."""
        with self._lock:
            self._refuse = None

    # --- records -----------------------------------------------------------

    def messages(self):
        """Copies of the accepted messages, in order: dicts with received
        (Unix time), mail_from, rcpt_tos, headers (list of pairs), subject,
        body (the text/plain part, decoded, with \\n line ends), raw
        (bytes), tls, login (the AUTH login, or None)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def auths(self):
        """AUTH attempts: dicts with mechanism, login, success."""
        with self._lock:
            return [dict(a) for a in self._auths]

    def refusals(self):
        """Refused attempts: dicts with stage, mail_from, rcpt_tos, reply."""
        with self._lock:
            return [dict(r) for r in self._refusals]

    def errors(self):
        """Failed sessions: dicts with tls (a failed TLS handshake, e.g.
        a client that did not trust the certificate) and error."""
        with self._lock:
            return [dict(e) for e in self._errors]

    def wait_messages(self, n, timeout=10.0):
        """Waits until n messages are recorded (at most timeout seconds);
        returns them."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._messages) >= n, timeout)
        return self.messages()

    def _authenticate(self, server, session, envelope, mechanism, data):
        """aiosmtpd's authenticator: constant-time compare of the login
        and password; keeps only the login."""
        login = data.login.decode("utf-8", "replace")
        ok = (hmac.compare_digest(data.login, self.user.encode()) &
              hmac.compare_digest(data.password, self._password.encode()))
        with self._lock:
            self._auths.append({"mechanism": mechanism, "login": login,
                                "success": bool(ok)})
        self._save()
        if ok:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _note_error(self, tls, error):
        with self._lock:
            self._errors.append({"tls": tls, "error": error})
            self._lock.notify_all()
        self._save()

    def _refusal(self, stage, mail_from, rcpt_tos):
        with self._lock:
            if self._refuse is None or self._refuse[0] != stage:
                return None
            reply = self._refuse[1]
            self._refusals.append({"stage": stage, "mail_from": mail_from,
                                   "rcpt_tos": rcpt_tos, "reply": reply})
        self._save()
        return reply

    def _record(self, envelope, tls, login):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        rec = {"received": time.time(), "mail_from": envelope.mail_from,
               "rcpt_tos": list(envelope.rcpt_tos),
               "headers": [(k, str(v)) for k, v in msg.items()],
               "subject": msg.get("Subject"),
               "body": (part.get_content().replace("\r\n", "\n")
                        if part is not None else None),
               "raw": raw, "tls": tls, "login": login}
        with self._lock:
            self._messages.append(rec)
            self._lock.notify_all()
        self._save()

    def _save(self):
        """Rewrites the state file (atomically), if there is one."""
        if not self.state_file:
            return
        with self._lock:
            msgs = [dict(m, raw=m["raw"].decode("utf-8", "replace"))
                    for m in self._messages]
            state = {"port": self.port, "listening": self._server is not None,
                     "cert_file": self.cert_file, "messages": msgs,
                     "auths": self._auths, "refusals": self._refusals,
                     "errors": self._errors}
            tmp = "%s.%d.tmp" % (self.state_file, threading.get_ident())
            with open(tmp, "w") as f:
                json.dump(state, f, indent=1)
            os.replace(tmp, self.state_file)


def main(argv=None):
    """The standalone receiver; runs until SIGTERM or SIGINT."""
    p = argparse.ArgumentParser(description="SMTP receiver for tests "
                                "(see the module's docstring)")
    p.add_argument("--dir", required=True, help="where the certificate goes")
    p.add_argument("--mode", choices=MODES, default="plain")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--user")
    p.add_argument("--password-file")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--state-file")
    a = p.parse_args(argv)
    password = None
    if a.password_file:
        with open(a.password_file) as f:
            password = f.read().rstrip("\n")
    try:
        rx = SmtpReceiver(a.dir, a.mode, a.user, password,
                          a.require_starttls, a.host, a.port, a.state_file)
    except ValueError as e:
        print("smtp_receiver: %s" % e, file=sys.stderr)
        return 64
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        rx.start()
    except (RuntimeError, OSError) as e:
        print("smtp_receiver: %s" % e, file=sys.stderr)
        return 69
    print("listening on %d" % rx.port, flush=True)
    while not done.wait(0.5):
        pass
    rx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
