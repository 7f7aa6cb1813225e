#!/usr/bin/python3
"""Interoperability of pg-sched's crypto core with the Python world.

Usage: test_crypto_interop.py PATH/TO/crypto_tool

Checks, through the test-only crypto_tool, that:
  - PyNaCl's SealedBox opens what pg-sched sealed and pg-sched opens what
    PyNaCl sealed, with key files written by either side;
  - an Argon2id PHC hash made by pg-sched (pepper as Argon2's secret input)
    verifies with argon2-cffi's low-level argon2_ctx given the same pepper,
    and the reverse, and that neither verifies without the pepper.
Prints "N passed, N failed" last; the exit status is 0 only if all passed.
"""
import base64
import os
import stat
import subprocess
import sys
import tempfile

from argon2.low_level import ffi, lib
import nacl.exceptions
import nacl.public

TOOL = None
PEPPER = os.urandom(48)
PEPPER_B64 = base64.b64encode(PEPPER).decode()


def tool(args, data=b"", env_pepper=PEPPER_B64):
    env = dict(os.environ)
    if env_pepper is None:
        env.pop("PEPPER", None)
    else:
        env["PEPPER"] = env_pepper
    return subprocess.run([TOOL] + args, input=data, capture_output=True,
                          env=env, timeout=60)


def write_key(path, raw, mode):
    with open(path, "w") as f:
        f.write(base64.b64encode(raw).decode() + "\n")
    os.chmod(path, mode)


def read_key(path):
    with open(path) as f:
        return base64.b64decode(f.read().strip(), validate=True)


def b64_nopad(raw):
    return base64.b64encode(raw).decode().rstrip("=")


def b64_nopad_decode(text):
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def argon2id_ctx(pwd, salt, secret, m, t, p, outlen):
    """Argon2id v1.3 through libargon2's argon2_ctx, as argon2-cffi binds
    it: the high-level API has no secret input."""
    out = ffi.new("uint8_t[]", outlen)
    cpwd = ffi.new("uint8_t[]", pwd)
    csalt = ffi.new("uint8_t[]", salt)
    csecret = ffi.new("uint8_t[]", secret) if secret else ffi.NULL
    ctx = ffi.new("argon2_context *", dict(
        out=out, outlen=outlen, pwd=cpwd, pwdlen=len(pwd), salt=csalt,
        saltlen=len(salt), secret=csecret, secretlen=len(secret),
        ad=ffi.NULL, adlen=0, t_cost=t, m_cost=m, lanes=p, threads=p,
        version=lib.ARGON2_VERSION_13, allocate_cbk=ffi.NULL,
        free_cbk=ffi.NULL, flags=lib.ARGON2_DEFAULT_FLAGS))
    rc = lib.argon2_ctx(ctx, lib.Argon2_id)
    if rc != lib.ARGON2_OK:
        raise RuntimeError(ffi.string(lib.argon2_error_message(rc)))
    return bytes(ffi.buffer(out, outlen))


def parse_phc(phc):
    empty, alg, ver, params, salt, tag = phc.split("$")
    assert empty == "" and alg == "argon2id" and ver == "v=19", phc
    kv = dict(item.split("=") for item in params.split(","))
    assert list(kv) == ["m", "t", "p"], phc
    return (int(kv["m"]), int(kv["t"]), int(kv["p"]),
            b64_nopad_decode(salt), b64_nopad_decode(tag))


def py_verify(phc, password, secret):
    m, t, p, salt, tag = parse_phc(phc)
    return argon2id_ctx(password, salt, secret, m, t, p, len(tag)) == tag


def py_hash(password, secret, m=19456, t=2, p=1, saltlen=16, outlen=32):
    salt = os.urandom(saltlen)
    tag = argon2id_ctx(password, salt, secret, m, t, p, outlen)
    return "$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s" % (
        m, t, p, b64_nopad(salt), b64_nopad(tag))


def pynacl_keys(d):
    sk = nacl.public.PrivateKey.generate()
    pub, priv = os.path.join(d, "py.pub"), os.path.join(d, "py.priv")
    write_key(pub, bytes(sk.public_key), 0o644)
    write_key(priv, bytes(sk), 0o600)
    return sk, pub, priv


def our_keys(d):
    pub, priv = os.path.join(d, "c.pub"), os.path.join(d, "c.priv")
    r = tool(["keygen", pub, priv])
    assert r.returncode == 0, r.stderr
    sk = nacl.public.PrivateKey(read_key(priv))
    return sk, pub, priv


SECRETS = [b"s3cret", "pässwörd ünïcode ☃".encode(), b"", bytes(range(256)),
           b"x" * 5000]


def test_we_seal_pynacl_opens(d):
    for make in (pynacl_keys, our_keys):
        sk, pub, _ = make(d)
        for plain in SECRETS:
            r = tool(["seal", pub], plain)
            assert r.returncode == 0, r.stderr
            box = base64.b64decode(r.stdout.strip(), validate=True)
            assert len(box) == len(plain) + 48
            assert nacl.public.SealedBox(sk).decrypt(box) == plain


def test_pynacl_seals_we_open(d):
    for make in (pynacl_keys, our_keys):
        sk, pub, priv = make(d)
        for plain in SECRETS:
            box = nacl.public.SealedBox(sk.public_key).encrypt(plain)
            r = tool(["open", pub, priv], base64.b64encode(box))
            assert r.returncode == 0, r.stderr
            assert r.stdout == plain


def test_keygen_files(d):
    sk, pub, priv = our_keys(d)
    assert bytes(sk.public_key) == read_key(pub)
    assert len(read_key(priv)) == 32
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    with open(pub) as f:
        text = f.read()
    assert text.endswith("\n") and text.count("\n") == 1 and len(text) == 45
    before = open(priv).read()
    r = tool(["keygen", pub, priv])
    assert r.returncode != 0 and b"already exists" in r.stderr
    assert open(priv).read() == before


def test_wrong_key_and_corruption(d):
    sk, pub, priv = our_keys(d)
    other = nacl.public.PrivateKey.generate()
    box = nacl.public.SealedBox(other.public_key).encrypt(b"hunter2-pw")
    r = tool(["open", pub, priv], base64.b64encode(box))
    assert r.returncode == 1 and r.stdout == b""
    assert b"wrong key or corrupted ciphertext" in r.stderr
    assert b"hunter2" not in r.stderr
    good = nacl.public.SealedBox(sk.public_key).encrypt(b"hunter2-pw")
    for i in (0, 31, 32, 40, len(good) - 1):
        bad = bytearray(good)
        bad[i] ^= 0x40
        r = tool(["open", pub, priv], base64.b64encode(bytes(bad)))
        assert r.returncode == 1 and r.stdout == b"", i
    r = tool(["open", pub, priv], base64.b64encode(good[:47]))
    assert r.returncode == 1


def test_bad_key_file_message(d):
    sk, pub, priv = pynacl_keys(d)
    with open(priv, "w") as f:
        f.write(base64.b64encode(bytes(sk)[:31]).decode() + "\n")
    r = tool(["open", pub, priv], b"AAAA")
    assert r.returncode == 2
    want = "APP_PRIVATE_KEY_B64_PATH: %s: not a base64 32-byte key" % priv
    assert want.encode() in r.stderr, r.stderr


def test_our_hash_verifies_in_python(d):
    for pw in (b"correct horse battery", "пароль-日本語".encode()):
        r = tool(["hash"], pw + b"\n")
        assert r.returncode == 0, r.stderr
        phc = r.stdout.decode().strip()
        assert phc.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), phc
        assert py_verify(phc, pw, PEPPER)
        assert not py_verify(phc, pw + b"x", PEPPER)
        assert not py_verify(phc, pw, b""), "verified without the pepper"
        assert not py_verify(phc, pw, os.urandom(48))


def test_python_hash_verifies_here(d):
    for params in ({}, dict(m=65536, t=3, p=4), dict(m=1024, t=1, p=2,
                                                       saltlen=8,
                                                       outlen=16)):
        pw = "pässwörd-%d" % len(params)
        phc = py_hash(pw.encode(), PEPPER, **params)
        assert tool(["verify", phc], pw.encode()).returncode == 0, phc
        assert tool(["verify", phc], b"wrong").returncode == 1
        other = base64.b64encode(os.urandom(32)).decode()
        assert tool(["verify", phc], pw.encode(),
                    env_pepper=other).returncode == 1
    # Made without the pepper: must not verify with it.
    phc = py_hash(b"no-pepper-pw", b"")
    assert tool(["verify", phc], b"no-pepper-pw").returncode == 1
    # A hostile hash is refused, not computed.
    phc = "$argon2id$v=19$m=4194304,t=1,p=1$%s$%s" % (
        b64_nopad(os.urandom(16)), b64_nopad(os.urandom(32)))
    assert tool(["verify", phc], b"pw").returncode == 2


def test_pepper_required(d):
    r = tool(["hash"], b"pw", env_pepper=None)
    assert r.returncode == 2 and b"ARGON2_SECRET_KEY_B64" in r.stderr
    r = tool(["hash"], b"pw",
             env_pepper=base64.b64encode(os.urandom(16)).decode())
    assert r.returncode == 2 and b"32 to 64 bytes" in r.stderr


def main():
    global TOOL
    if len(sys.argv) == 1 and os.environ.get("PGSCHED_BUILDDIR"):
        # Run by make check: the tool is in the build tree.
        sys.argv.append(os.path.join(os.environ["PGSCHED_BUILDDIR"],
                                     "tests", "unit", "crypto_tool"))
    if len(sys.argv) != 2:
        print("usage: test_crypto_interop.py CRYPTO_TOOL", file=sys.stderr)
        return 2
    if not __debug__:
        print("run without -O: the checks are assert statements",
              file=sys.stderr)
        return 2
    TOOL = os.path.abspath(sys.argv[1])
    tests = [v for k, v in sorted(globals().items())
             if k.startswith("test_") and callable(v)]
    passed = failed = 0
    for t in tests:
        with tempfile.TemporaryDirectory() as d:
            try:
                t(d)
                passed += 1
                print("ok", t.__name__)
            except Exception as e:  # report and go on with the next test
                failed += 1
                print("FAIL", t.__name__, repr(e))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
