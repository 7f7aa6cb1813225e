#!/usr/bin/env python3
"""Strict parser of RFC 5424 syslog lines (ABNF of RFC 5424 section 6).

Used by the pg-sched tests.  As a module: parse(line_bytes) returns a
Message or raises Invalid.  As a program: validates every line of the files
given (or stdin) and exits 1 at the first bad line, printing file:line and
the reason; exits 0 and prints the number of lines when all are valid.

Stricter than the RFC on two points, both on purpose for our own output:
inside PARAM-VALUE a backslash must escape '"', '\\' or ']' (RFC 5424 lets
a lone backslash through), and with --utf8-msg the MSG must be UTF-8.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field

NIL = b"-"
REGISTERED_SD_IDS = {"timeQuality", "origin", "meta"}


class Invalid(ValueError):
    """A line that does not follow the grammar."""


@dataclass
class Message:
    pri: int
    version: int
    timestamp: str | None
    hostname: str | None
    app_name: str | None
    procid: str | None
    msgid: str | None
    sd: list = field(default_factory=list)   # [(sd_id, [(name, value)])]
    msg: bytes = b""

    @property
    def facility(self):
        return self.pri // 8

    @property
    def severity(self):
        return self.pri % 8

    def params(self, sd_id=None):
        """Returns a dict name -> value of the element sd_id (or the first)."""
        for sid, params in self.sd:
            if sd_id is None or sid == sd_id:
                return dict(params)
        return {}


def _printusascii(b):
    return all(33 <= c <= 126 for c in b)


class _Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def fail(self, what):
        raise Invalid(f"{what} at byte {self.i}")

    def peek(self):
        return self.d[self.i] if self.i < len(self.d) else None

    def expect(self, b, what):
        if self.d[self.i:self.i + len(b)] != b:
            self.fail(f"expected {what}")
        self.i += len(b)

    def token(self, maxlen, what):
        """A header field: NILVALUE / 1*maxlen PRINTUSASCII, then SP."""
        j = self.d.find(b" ", self.i)
        if j < 0:
            self.fail(f"{what}: missing SP after it")
        tok = self.d[self.i:j]
        if not tok:
            self.fail(f"{what}: empty")
        if len(tok) > maxlen:
            self.fail(f"{what}: longer than {maxlen}")
        if not _printusascii(tok):
            self.fail(f"{what}: not PRINTUSASCII")
        self.i = j + 1
        return None if tok == NIL else tok.decode("ascii")


_TS = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?"
    rb"(Z|[+-](\d{2}):(\d{2}))\Z")


def _days_in_month(y, m):
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return 29 if leap else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _check_timestamp(tok):
    m = _TS.match(tok.encode("ascii"))
    if not m:
        raise Invalid(f"TIMESTAMP {tok!r} is not FULL-DATE T FULL-TIME")
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    if not 1 <= mo <= 12:
        raise Invalid(f"TIMESTAMP month {mo} out of range")
    if not 1 <= d <= _days_in_month(y, mo):
        raise Invalid(f"TIMESTAMP day {d} out of range")
    if h > 23 or mi > 59 or s > 59:
        raise Invalid("TIMESTAMP time out of range")
    if m.group(8) != b"Z":
        if int(m.group(9)) > 23 or int(m.group(10)) > 59:
            raise Invalid("TIMESTAMP offset out of range")


def _sd_name(r, what):
    start = r.i
    while r.i < len(r.d) and r.d[r.i] not in b'= ]"' and 33 <= r.d[r.i] <= 126:
        r.i += 1
    name = r.d[start:r.i]
    if not 1 <= len(name) <= 32:
        r.fail(f"{what} must be 1-32 characters")
    return name.decode("ascii")


def _param_value(r):
    out = bytearray()
    while True:
        c = r.peek()
        if c is None:
            r.fail("unterminated PARAM-VALUE")
        if c == 0x22:
            r.i += 1
            break
        if c == 0x5D:
            r.fail("unescaped ']' in PARAM-VALUE")
        if c == 0x5C:
            n = r.d[r.i + 1:r.i + 2]
            if n not in (b'"', b"\\", b"]"):
                r.fail("backslash not escaping '\"', '\\\\' or ']'")
            out += n
            r.i += 2
            continue
        out.append(c)
        r.i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid(f"PARAM-VALUE is not UTF-8: {e}") from None


def _check_sd_id(sid):
    if "@" in sid:
        name, _, pen = sid.partition("@")
        if not name or "@" in pen or not re.fullmatch(r"\d+(\.\d+)*", pen):
            raise Invalid(f"SD-ID {sid!r} must be name@<enterprise number>")
    elif sid not in REGISTERED_SD_IDS:
        raise Invalid(f"SD-ID {sid!r} is neither IANA-registered nor name@PEN")


def _structured_data(r):
    if r.peek() == ord("-"):
        r.i += 1
        return []
    elements, seen = [], set()
    if r.peek() != ord("["):
        r.fail("expected STRUCTURED-DATA ('-' or '[')")
    while r.peek() == ord("["):
        r.i += 1
        sid = _sd_name(r, "SD-ID")
        _check_sd_id(sid)
        if sid in seen:
            r.fail(f"SD-ID {sid} repeated")
        seen.add(sid)
        params = []
        while r.peek() == ord(" "):
            r.i += 1
            name = _sd_name(r, "PARAM-NAME")
            r.expect(b'="', "'=\"' after PARAM-NAME")
            params.append((name, _param_value(r)))
        r.expect(b"]", "']' closing SD-ELEMENT")
        elements.append((sid, params))
    return elements


def parse(line, utf8_msg=False):
    """Parses one line (bytes, without the newline); returns a Message."""
    if isinstance(line, str):
        line = line.encode("utf-8")
    if b"\n" in line:
        raise Invalid("newline inside the message")
    m = re.match(rb"<(\d{1,3})>([1-9]\d{0,2}) ", line)
    if not m:
        raise Invalid("expected <PRI>VERSION SP at the start")
    pri = int(m.group(1))
    if pri > 191 or (len(m.group(1)) > 1 and m.group(1)[0] == 0x30):
        raise Invalid(f"PRI {m.group(1).decode()} out of range 0..191")
    r = _Reader(line)
    r.i = m.end()
    ts = r.token(64, "TIMESTAMP")
    if ts is not None:
        _check_timestamp(ts)
    host = r.token(255, "HOSTNAME")
    app = r.token(48, "APP-NAME")
    procid = r.token(128, "PROCID")
    j = r.d.find(b" ", r.i)
    if j < 0:
        r.fail("missing SP after MSGID")
    msgid = r.token(32, "MSGID")
    sd = _structured_data(r)
    msg = b""
    if r.i < len(line):
        r.expect(b" ", "SP before MSG")
        msg = line[r.i:]
        body = msg[3:] if msg.startswith(b"\xef\xbb\xbf") else msg
        if utf8_msg or body is not msg:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as e:
                raise Invalid(f"MSG is not UTF-8: {e}") from None
    return Message(pri, int(m.group(2)), ts, host, app, procid, msgid, sd, msg)


def validate_file(path, utf8_msg=False):
    """Returns the number of lines; raises Invalid naming path:line."""
    with open(path, "rb") if path != "-" else sys.stdin.buffer as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise Invalid(f"{path}: last line has no newline")
    lines = data.split(b"\n")[:-1] if data else []
    for n, line in enumerate(lines, 1):
        try:
            parse(line, utf8_msg)
        except Invalid as e:
            raise Invalid(f"{path}:{n}: {e}") from None
    return len(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", default=["-"])
    ap.add_argument("--utf8-msg", action="store_true",
                    help="require MSG to be UTF-8")
    ap.add_argument("--min-lines", type=int, default=0,
                    help="fail when fewer lines in total")
    args = ap.parse_args(argv)
    total = 0
    try:
        for path in args.files:
            total += validate_file(path, args.utf8_msg)
    except (Invalid, OSError) as e:
        print(f"rfc5424: {e}", file=sys.stderr)
        return 1
    if total < args.min_lines:
        print(f"rfc5424: {total} lines, expected at least {args.min_lines}",
              file=sys.stderr)
        return 1
    print(f"{total} valid lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
