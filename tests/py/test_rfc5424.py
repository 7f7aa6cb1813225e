"""pytest for the strict RFC 5424 parser used by the log tests."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfc5424  # noqa: E402

GOOD = [
    b'<134>1 2026-11-22T23:01:02.123456Z host app 123 ev '
    b'[pgsched@32473 a="1" b="x\\"y\\]\\\\"] hello world',
    b'<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '
    b'\xef\xbb\xbf\'su root\' failed',
    b'<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - '
    b'%% It\'s time to make the do-nuts.',
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
    b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
    b'[examplePriority@32473 class="high"]',
    b'<0>1 - - - - - -',
    b'<191>1 2024-02-29T00:00:00Z h a 1 m [timeQuality tzKnown="1"]',
]

BAD = [
    b'<192>1 - - - - - -',
    b'<01>1 - - - - - -',
    b'<134>0 - - - - - -',
    b'<134>1 2026-02-29T00:00:00Z h a 1 m -',
    b'<134>1 2026-11-22T23:01:02.1234567Z h a 1 m -',
    b'<134>1 2026-11-22t23:01:02Z h a 1 m -',
    b'<134>1 2026-11-22T24:00:00Z h a 1 m -',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x a="1"]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a="]"]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a="\\n"]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a="1"][x@1 b="2"]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a="1" ]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a=1]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m [x@1 a="\xff"]',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m -msg',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m',
    b'<134>1 2026-11-22T23:01:02Z h a 1 ' + b'm' * 33 + b' -',
    b'<134>1 2026-11-22T23:01:02Z h ' + b'a' * 49 + b' 1 m -',
    b'<134>1 2026-11-22T23:01:02Z h\x7f a 1 m -',
    b'<134>1 2026-11-22T23:01:02Z h a 1 m - \xef\xbb\xbf\xff',
]


@pytest.mark.parametrize("line", GOOD)
def test_good(line):
    rfc5424.parse(line)


@pytest.mark.parametrize("line", BAD)
def test_bad(line):
    with pytest.raises(rfc5424.Invalid):
        rfc5424.parse(line)


def test_fields():
    m = rfc5424.parse(GOOD[0])
    assert (m.facility, m.severity) == (16, 6)
    assert m.params("pgsched@32473") == {"a": "1", "b": 'x"y]\\'}
    assert m.msg == b"hello world"


def test_cli(tmp_path):
    ok = tmp_path / "ok.log"
    ok.write_bytes(b"\n".join(GOOD) + b"\n")
    assert rfc5424.main([str(ok)]) == 0
    bad = tmp_path / "bad.log"
    bad.write_bytes(GOOD[0] + b"\n" + BAD[0] + b"\n")
    assert rfc5424.main([str(bad)]) == 1
    assert rfc5424.main(["--min-lines", "99", str(ok)]) == 1
    assert rfc5424.main(["--utf8-msg", str(ok)]) == 0
