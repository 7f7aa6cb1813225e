#!/usr/bin/env python3
"""Every log line carries its context as structured data (CONTRACT §7).

src/log.c turns the key=value tokens at the start of a line's text into
SD-PARAMs and keeps the rest as the MSG; a key=value written after the
first plain word stays in the MSG, unseen by whoever filters on SD (and
with no SD at all when it was the only context).  This test reads the
format string of every log_err/log_warn/log_info/log_debug/log_msg call in
src/, fcgi/, runner/ and cli/, splits it as log.c would (a conversion such
as %s or %ld stands for a value without spaces, or any text inside quotes)
and fails on each call whose MSG part still holds a key=value token.

It also checks the splitter itself on a few formats, and that
tests/py/rfc5424.py finds the context of log.c's own lines in the SD
(check_file() is what the API suites use on the lines they produce).
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rfc5424  # noqa: E402

SRC = os.environ.get("PGSCHED_SRCDIR", os.path.join(HERE, "..", ".."))
DIRS = ("src", "fcgi", "runner", "cli")
CALL = re.compile(r"\blog_(err|warn|info|debug|msg)\s*\(")
KEY = re.compile(r"[A-Za-z0-9_.-]{1,32}=")
KV_IN_MSG = re.compile(r"(?:^|[\s(,;])([A-Za-z_][A-Za-z0-9_.-]{0,31})=[^\s=]")

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail), flush=True)


def call_args(text, start):
    """Returns the top-level arguments (source text) of the call whose
    opening parenthesis is at start, and the index after its close."""
    args, depth, i, cur = [], 0, start + 1, []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "/" and text[i:i + 2] == "/*":
            i = text.index("*/", i) + 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i + 1
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    raise ValueError("unbalanced call")


def literal(arg):
    """The text of a format argument made of string literals (and the
    <inttypes.h> macros between them), or None when it is not one."""
    out, rest = [], arg
    while rest:
        rest = rest.lstrip()
        m = re.match(r'"((?:[^"\\]|\\.)*)"', rest)
        if m:
            out.append(m.group(1).replace('\\"', '"').replace("\\\\", "\\"))
            rest = rest[m.end():]
            continue
        m = re.match(r"PRI[diuxX](8|16|32|64|MAX|PTR)\b", rest)
        if m:
            out.append("ld")
            rest = rest[m.end():]
            continue
        if rest == "":
            break
        return None
    return "".join(out)


CONV = re.compile(r"%[-+ #0-9.*]*(hh|h|ll|l|j|z|t|L)?[diouxXeEfgGcsp]")


def split(fmt):
    """Splits fmt as log.c's emit() would: (list of keys, MSG text).  A
    conversion outside quotes is one word without spaces."""
    text = CONV.sub("V", fmt)
    keys, p = [], 0
    while True:
        m = KEY.match(text, p)
        if not m:
            break
        v = m.end()
        if v < len(text) and text[v] == '"':
            e = v + 1
            while e < len(text) and text[e] != '"':
                e += 2 if text[e] == "\\" else 1
            if e >= len(text):
                break
            e += 1
        else:
            e = text.find(" ", v)
            e = len(text) if e < 0 else e
        if e < len(text) and text[e] != " ":
            break
        keys.append(m.group(0)[:-1])
        p = e
        while p < len(text) and text[p] == " ":
            p += 1
    return keys, text[p:]


def calls():
    """Yields (file:line, format text or None) of every log call."""
    for d in DIRS:
        base = os.path.join(SRC, d)
        for name in sorted(os.listdir(base)):
            if not name.endswith(".c") or (d, name) == ("src", "log.c"):
                continue
            path = os.path.join(base, name)
            text = open(path, encoding="utf-8").read()
            for m in CALL.finditer(text):
                args, _ = call_args(text, m.end() - 1)
                fmt_arg = args[2] if m.group(1) == "msg" else args[1]
                line = text.count("\n", 0, m.start()) + 1
                yield "%s/%s:%d" % (d, name, line), literal(fmt_arg)


def test_splitter():
    check("kv then msg", split("run=%ld query=%s runner died") ==
          (["run", "query"], "runner died"))
    check("quoted value", split('path="%s" %s') == (["path"], "V"))
    k, msg = split("connected cache=%s")
    check("kv after a word stays in MSG", k == [] and
          KV_IN_MSG.search(msg), (k, msg))
    check("PRId64 literal", literal('"slot=%" PRId64 " x"') ==
          "slot=%ld x")


def test_call_sites():
    n = 0
    for where, fmt in calls():
        n += 1
        if fmt is None:
            check("%s: the format is a string literal" % where, False)
            continue
        keys, msg = split(fmt)
        bad = KV_IN_MSG.search(msg)
        check("%s: context as SD" % where, not bad,
              "%r: %r in the MSG (put key=value first)" % (fmt, bad and
                                                          bad.group(0)))
    check("log calls found", n >= 60, n)


def check_line(line):
    """Returns why a log line (bytes) hides context in its MSG, or None.
    Used by the API suites on every line they produce."""
    m = rfc5424.parse(line.rstrip(b"\n"), utf8_msg=True)
    msg = m.msg.decode("utf-8", "replace")
    if m.sd or m.msgid == "fatal":
        return None
    bad = KV_IN_MSG.search(msg)
    return None if not bad else "nil SD, %r in the MSG" % bad.group(0)


def test_check_line():
    ok = (b'<134>1 2026-01-01T00:00:00.000000Z h pgsched-api 1 db_connect '
          b'[pgsched@32473 cache="on"] connected')
    bad = (b'<134>1 2026-01-01T00:00:00.000000Z h pgsched-api 1 db_connect '
           b'- connected cache=on')
    check("line with SD passes", check_line(ok) is None)
    check("key=value with nil SD is caught", check_line(bad) is not None)


def main():
    for t in (test_splitter, test_call_sites, test_check_line):
        t()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
