"""Hardening of the user and data-source endpoints (issue 11):
- hashes made with other Argon2 parameters (or version) are rehashed at
  the next successful login, after which a known e-mail costs what an
  unknown one costs.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_hardening.py
"""
import base64
import os
import statistics
import sys
import time

import requests
from argon2.low_level import ffi, lib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import (  # noqa: E402
    URL, PASSWORD, check, err, finish, psql, session)

PEPPER = base64.b64decode(os.environ["ARGON2_SECRET_KEY_B64"])


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
    for t in (test_rehash,):
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
