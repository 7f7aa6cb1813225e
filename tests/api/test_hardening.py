"""Hardening of the user and data-source endpoints (issue 11):
- a data source's sealed password cannot be sent to another server by
  editing its host, port, dbname or username without giving it again;
- a wrong current_password counts against the login throttle (429);
- changing one's own e-mail needs current_password, and a taken address
  does not show as such to a non-admin;
- hashes made with other Argon2 parameters (or version) are rehashed at
  the next successful login, after which a known e-mail costs what an
  unknown one costs.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_hardening.py
"""
import base64
import os
import socket
import statistics
import struct
import sys
import threading
import time

import requests
from argon2.low_level import ffi, lib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, PASSWORD, check, err, finish, psql, session)

PGPORT = int(os.environ["PGPORT"])
PEPPER = base64.b64decode(os.environ["ARGON2_SECRET_KEY_B64"])


class FakeServer:
    """A PostgreSQL server that asks for a cleartext password and keeps
    what it is sent: where a stolen password would go."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.passwords = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(10)
                try:
                    self.one(c)
                except (OSError, struct.error):
                    pass

    @staticmethod
    def read(c, n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk:
                raise OSError("closed")
            b += chunk
        return b

    def one(self, c):
        while True:
            n, code = struct.unpack("!ii", self.read(c, 8))
            if code in (80877103, 80877104):    # SSL, GSS: no
                c.sendall(b"N")
                continue
            self.read(c, n - 8)                 # the startup packet
            break
        c.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext, please
        kind = self.read(c, 1)
        n, = struct.unpack("!i", self.read(c, 4))
        body = self.read(c, n - 4)
        if kind == b"p":
            self.passwords.append(body.rstrip(b"\0").decode())
        msg = b"SFATAL\0C28P01\0Mno\0\0"
        c.sendall(b"E" + struct.pack("!i", 4 + len(msg)) + msg)


def test_source_host_change():
    adm = session("admin")
    fake = FakeServer()
    secret = "Victim-Src-Pw-4b1c"
    r = adm.post(URL + "/api/datasources",
                 json={"name": "victim", "host": "127.0.0.1",
                       "port": PGPORT, "dbname": "source",
                       "username": "postgres", "password": secret})
    check("victim source created", r.status_code == 201, r.text)
    ds = r.json()["datasource"]["id"]
    path = URL + "/api/datasources/%d" % ds
    r = adm.patch(path, json={"port": fake.port})
    check("new port without the password: 422 naming password",
          err(r, 422, "invalid", "password"), r.text)
    r = adm.post(path + "/test", json={})
    check("the source still points at its own server",
          r.status_code == 200, r.text)
    check("the password never reached another server",
          secret not in fake.passwords, fake.passwords)
    for k, v in (("host", "localhost"), ("dbname", "postgres"),
                 ("username", "someone"), ("port", PGPORT + 1)):
        r = adm.patch(path, json={k: v})
        check("new %s without the password: 422" % k,
              err(r, 422, "invalid", "password"), r.text)
    r = adm.patch(path, json={"host": "localhost",
                              "enc_password_b64": "!!"})
    check("a bad ciphertext is no password", err(r, 422, "invalid",
                                                 "enc_password_b64"), r.text)
    r = adm.get(path)
    d = r.json()["datasource"]
    check("nothing changed", d["host"] == "127.0.0.1" and
          d["port"] == PGPORT and d["dbname"] == "source" and
          d["username"] == "postgres", d)
    r = adm.patch(path, json={"name": "victim2", "host": "127.0.0.1",
                              "port": PGPORT, "key_version": 1})
    check("rename, same server: no password needed",
          r.status_code == 200 and
          r.json()["datasource"]["name"] == "victim2", r.text)
    r = adm.patch(path, json={"port": fake.port,
                              "password": "Admin-Chosen-Pw-1"})
    check("new port with a new password", r.status_code == 200, r.text)
    adm.post(path + "/test", json={})
    check("the test sends the new password, not the old one",
          fake.passwords[-1:] == ["Admin-Chosen-Pw-1"] and
          secret not in fake.passwords, fake.passwords)
    r = adm.post(URL + "/api/datasources",
                 json={"name": "nopw", "host": "127.0.0.1", "port": PGPORT,
                       "dbname": "source", "username": "postgres"})
    r = adm.patch(URL + "/api/datasources/%d" % r.json()["datasource"]["id"],
                  json={"host": "localhost"})
    check("a source without a password moves freely",
          r.status_code == 200, r.text)


def test_current_password_throttled():
    psql("DELETE FROM login_failure")
    adm = session("admin")
    r = adm.post(URL + "/api/users", json={"email": "pwt@example.com",
                                           "password": PASSWORD,
                                           "roles": ["viewer"]})
    check("user created", r.status_code == 201, r.text)
    uid = r.json()["user"]["id"]
    s = session("pwt@example.com")
    path = URL + "/api/users/%d/password" % uid
    for i in range(10):
        r = s.post(path, json={"new_password": "Another-Pass-77",
                               "current_password": "wrong-%d!" % i})
        if not check("wrong current_password %d: 422" % i,
                     err(r, 422, "invalid", "current_password"), r.text):
            break
    r = s.post(path, json={"new_password": "Another-Pass-77",
                           "current_password": PASSWORD})
    check("then 429 with Retry-After, even with the right one",
          err(r, 429, "too_many_requests") and
          int(r.headers.get("Retry-After", "0")) > 0, (r.headers, r.text))
    r = requests.post(URL + "/api/auth/login",
                      json={"email": "pwt@example.com",
                            "password": PASSWORD})
    check("the same throttle as logins", err(r, 429, "too_many_requests"),
          r.text)
    psql("DELETE FROM login_failure")
    r = s.post(path, json={"new_password": "Another-Pass-77",
                           "current_password": PASSWORD})
    check("after the window: changed", r.status_code == 200, r.text)
    adm.delete(URL + "/api/users/%d" % uid, headers={
        "Content-Type": "application/json"})


def test_email_change():
    psql("DELETE FROM login_failure")
    adm = session("admin")
    aid = adm.get(URL + "/api/users/me").json()["user"]["id"]
    r = adm.post(URL + "/api/users", json={"email": "em@example.com",
                                           "password": PASSWORD,
                                           "roles": ["viewer"]})
    uid = r.json()["user"]["id"]
    s = session("em@example.com")
    path = URL + "/api/users/%d" % uid
    r = s.patch(path, json={"email": "em2@example.com"})
    check("own e-mail needs current_password",
          err(r, 422, "invalid", "current_password"), r.text)
    r = s.patch(path, json={"email": "em2@example.com",
                            "current_password": "not-it-at-all"})
    check("wrong current_password: 422",
          err(r, 422, "invalid", "current_password"), r.text)
    r = s.patch(path, json={"email": "em2@example.com",
                            "current_password": PASSWORD})
    check("own e-mail changed", r.status_code == 200 and
          r.json()["user"]["email"] == "em2@example.com", r.text)
    r = s.patch(path, json={"name": "Em", "email": "em2@example.com"})
    check("name alone (same e-mail) needs no password",
          r.status_code == 200, r.text)
    malformed = s.patch(path, json={"email": "no-at-sign",
                                    "current_password": PASSWORD})
    taken = s.patch(path, json={"email": "admin@example.com",
                                "current_password": PASSWORD})
    check("taken e-mail, non-admin: 422", err(taken, 422, "invalid",
                                              "email"), taken.text)
    check("the same answer as a malformed address",
          taken.status_code == malformed.status_code and
          taken.json() == malformed.json(), (taken.text, malformed.text))
    check("nothing says the address exists",
          "exist" not in taken.text and "taken" not in taken.text,
          taken.text)
    r = adm.patch(path, json={"email": "admin@example.com"})
    check("admin: taken e-mail is a 409", err(r, 409, "conflict"), r.text)
    r = adm.patch(path, json={"email": "em3@example.com"})
    check("admin changes another's e-mail without a password",
          r.status_code == 200, r.text)
    r = adm.patch(URL + "/api/users/%d" % aid,
                  json={"email": "root@example.com"})
    check("admin's own e-mail needs current_password too",
          err(r, 422, "invalid", "current_password"), r.text)
    # Taken addresses count like wrong passwords: trying them is slow.
    psql("DELETE FROM login_failure")
    for i in range(10):
        r = s.patch(path, json={"email": "viewer@example.com",
                                "current_password": PASSWORD})
        if not check("probe %d: 422" % i, err(r, 422, "invalid", "email"),
                     r.text):
            break
    r = s.patch(path, json={"email": "editor@example.com",
                            "current_password": PASSWORD})
    check("probing addresses is throttled", err(r, 429,
                                                "too_many_requests"), r.text)
    psql("DELETE FROM login_failure")
    adm.delete(path, headers={"Content-Type": "application/json"})


def phc(password, m, t, p, version):
    """A PHC string made with argon2-cffi's binding of libargon2, the
    pepper as Argon2's secret input, with the given parameters."""
    salt = os.urandom(16)
    out = ffi.new("uint8_t[]", 32)
    pwd = ffi.new("uint8_t[]", password.encode())
    csalt = ffi.new("uint8_t[]", salt)
    secret = ffi.new("uint8_t[]", PEPPER)
    ctx = ffi.new("argon2_context *", dict(
        out=out, outlen=32, pwd=pwd, pwdlen=len(password.encode()),
        salt=csalt, saltlen=16, secret=secret, secretlen=len(PEPPER),
        ad=ffi.NULL, adlen=0, t_cost=t, m_cost=m, lanes=p, threads=p,
        version=version, allocate_cbk=ffi.NULL, free_cbk=ffi.NULL,
        flags=lib.ARGON2_DEFAULT_FLAGS))
    assert lib.argon2_ctx(ctx, lib.Argon2_id) == lib.ARGON2_OK

    def b64(raw):
        return base64.b64encode(raw).decode().rstrip("=")
    return "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s" % (
        version, m, t, p, b64(salt), b64(bytes(ffi.buffer(out, 32))))


def login_ms(email):
    t0 = time.monotonic()
    r = requests.post(URL + "/api/auth/login",
                      json={"email": email, "password": "Wrong-Pass-0"})
    ms = (time.monotonic() - t0) * 1000
    check("failed login 401", err(r, 401, "invalid_credentials"), r.text)
    return ms


def test_rehash():
    psql("DELETE FROM login_failure")
    adm = session("admin")
    cases = (("old@example.com", 65536, 3, 4, 0x13),
             ("v16@example.com", 19456, 2, 1, 0x10))
    for email, m, t, p, v in cases:
        r = adm.post(URL + "/api/users", json={"email": email,
                                               "password": PASSWORD,
                                               "roles": ["viewer"]})
        check("user %s created" % email, r.status_code == 201, r.text)
        old = phc(PASSWORD, m, t, p, v)
        psql("UPDATE user_account SET password_hash = '%s'"
             " WHERE email = '%s'" % (old, email))
        s = requests.Session()
        r = s.post(URL + "/api/auth/login",
                   json={"email": email, "password": PASSWORD})
        check("%s logs in with its old hash" % email, r.status_code == 200,
              r.text)
        new = psql("SELECT password_hash FROM user_account"
                   " WHERE email = '%s'" % email)
        check("%s rehashed with the current parameters" % email,
              new != old and new.startswith("$argon2id$v=19$m=19456,t=2,"
                                            "p=1$"), new)
        check("%s: the login's session stays valid" % email,
              s.get(URL + "/api/users/me").status_code == 200, "")
        r = requests.post(URL + "/api/auth/login",
                          json={"email": email, "password": PASSWORD})
        check("%s logs in with the new hash" % email, r.status_code == 200,
              r.text)
    # A known e-mail now costs what an unknown one costs.  Interleaved
    # samples, medians, and a wide band: the old hash cost about 5 times
    # as much.
    psql("DELETE FROM login_failure")
    known, unknown = [], []
    for _ in range(7):
        known.append(login_ms("old@example.com"))
        unknown.append(login_ms("nobody-here@example.com"))
    psql("DELETE FROM login_failure")
    ratio = statistics.median(known) / statistics.median(unknown)
    print("login ms: known %s, unknown %s, ratio %.2f" % (
        [round(x) for x in known], [round(x) for x in unknown], ratio))
    check("known and unknown e-mails cost the same", 0.5 < ratio < 2.0,
          ratio)


def main(names):
    """Runs every test, or those named on the command line."""
    for t in (test_source_host_change, test_current_password_throttled,
              test_email_change, test_rehash):
        if names and t.__name__ not in names:
            continue
        try:
            t()
        except Exception as e:  # a crash is one failure, the rest runs
            import traceback
            traceback.print_exc()
            check(t.__name__ + " raised", False, repr(e))
    finish()


if __name__ == "__main__":
    main(sys.argv[1:])
