#!/usr/bin/python3
"""Cross-check the C schedule engine (tests/unit/sched_dump) against
python3-croniter and against a brute-force oracle written here.

Usage: test_croniter.py PATH/TO/sched_dump [SEED]
Exit status 0 when everything agrees; the last line is "N passed, N failed".

Parts:
  1. UTC: thousands of random cron expressions, next 8 fires, vs croniter.
  2. Zones away from DST transitions (fixed-offset zones, and DST zones
     when the whole window lies between two transitions), vs croniter.
  3. Around transitions (Berlin, New York, Lord Howe, Chatham, Sydney,
     Santiago, Apia's skipped day in 2011, Casablanca, Dublin's negative
     DST, St Johns, Moscow 2011, Troll's 2-hour DST), windows of two days,
     every fire: vs the brute-force oracle below, which implements
     CONTRACT.md section 3 directly on top of zoneinfo, minute by minute.
     croniter is also run there, and its disagreements are counted and
     printed as documented differences, not failures.

Intended differences from croniter 1.3.5 (documented, not bugs in ours):
  a. Vixie OR rule.  Vixie cron (and CONTRACT.md) treat a day field that
     *starts with* '*' (e.g. "*/2") as unrestricted and any other as
     restricted, so "0 0 */2 * 1" means odd days that are Mondays (AND) and
     "0 0 13 * 0-7" means the 13th or any weekday, i.e. every day (OR).
     croniter instead calls a field unrestricted when its expanded set is
     the full range ("0-7", "1-31", "*/1" as well as "*") and ORs only two
     restricted fields.  Expressions where the two notions disagree are
     checked against the oracle instead of croniter.
  b. DST.  croniter does wall-clock arithmetic and then attaches the zone:
     in a spring-forward gap it returns non-existent times such as
     2026-03-29T02:30+01:00 for Europe/Berlin, and after a fall-back it can
     drift (it returned 02:30-05:00 for "30 1 * * *" in New York).
     pg-sched moves a gap match to the first instant after the gap, fires a
     fixed-time job once at the first occurrence of a repeated time, and
     lets wildcard jobs follow elapsed time (both copies of a repeated
     hour).  Part 3 therefore uses the oracle as the reference.
  d. croniter gives up ("failed to find next date") on some sparse
     expressions in zones; those cases are counted, not compared.
  c. Never-firing expressions ("0 0 30 2 *") are rejected by sched_parse;
     croniter searches and fails.  The generator avoids them in parts 1-2
     and part 1 checks that they are rejected.
"""
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
MON = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
       "nov", "dec"]
DOW = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MDAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

passed = 0
failed = 0
documented = {}


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        if failed <= 30:
            print("FAIL:", what)


# ---------------------------------------------------------------- oracle
def parse_field(text, i):
    """Set of values of field i (independent, deliberately simple)."""
    lo, hi = FIELDS[i]
    names = MON if i == 3 else DOW if i == 4 else None
    out = set()

    def val(tok):
        if names and tok.lower() in names:
            return names.index(tok.lower()) + (1 if i == 3 else 0)
        return int(tok)
    for item in text.split(","):
        base, _, step = item.partition("/")
        step = int(step) if step else 1
        if base == "*":
            a, b = lo, hi
        elif "-" in base:
            a, b = (val(x) for x in base.split("-"))
        else:
            a = val(base)
            b = hi if _ else a
        out.update(range(a, b + 1, step))
    if i == 4 and 7 in out:
        out.discard(7)
        out.add(0)
    return out


class Cron:
    def __init__(self, expr):
        f = expr.split()
        self.sets = [parse_field(f[i], i) for i in range(5)]
        self.dom_star = f[2].startswith("*")
        self.dow_star = f[4].startswith("*")
        self.fixed = not f[0].startswith("*") and not f[1].startswith("*")

    def day(self, d):
        if d.month not in self.sets[3]:
            return False
        dm = d.day in self.sets[2]
        wm = (d.isoweekday() % 7) in self.sets[4]
        if self.dom_star or self.dow_star:
            return dm and wm
        return dm or wm

    def wall(self, w):
        return (w.minute in self.sets[0] and w.hour in self.sets[1]
                and self.day(w))


def oracle_utc(expr, start, count):
    """Fire times (epoch) after start in UTC, scanning day by day."""
    c = Cron(expr)
    out = []
    d = datetime.fromtimestamp(start, timezone.utc).replace(
        hour=0, minute=0, second=0)
    while len(out) < count and d.year < 2500:
        if c.day(d):
            for h in sorted(c.sets[1]):
                for m in sorted(c.sets[0]):
                    t = int(d.replace(hour=h, minute=m).timestamp())
                    if t > start and len(out) < count:
                        out.append(t)
        d += timedelta(days=1)
    return out


def resolve(naive, tz):
    """First instant of a wall time, or the instant after its gap."""
    t0 = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    back = datetime.fromtimestamp(t0, tz).replace(tzinfo=None)
    if back == naive:
        return t0, "once"
    # a gap: fold=0 used the offset before, fold=1 the offset after
    t1 = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    lo, hi = min(t0, t1), max(t0, t1)
    off_after = datetime.fromtimestamp(hi, tz).utcoffset()
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == off_after:
            hi = mid
        else:
            lo = mid + 1
    return lo, "gap"


def oracle_zone(expr, tzname, start, end):
    """Fires in (start, end] by brute force, following CONTRACT §3."""
    c, tz = Cron(expr), ZoneInfo(tzname)
    if not c.fixed:
        out, t = [], (start // 60 + 1) * 60
        while t <= end:
            w = datetime.fromtimestamp(t, tz)
            if c.wall(w):
                out.append(t)
            t += 60
        return out
    fires = set()
    w = datetime.fromtimestamp(start, tz).replace(
        tzinfo=None, second=0) - timedelta(days=1)
    stop = datetime.fromtimestamp(end, tz).replace(tzinfo=None) + \
        timedelta(days=1)
    while w <= stop:
        if c.wall(w):
            t, _ = resolve(w, tz)
            if start < t <= end:
                fires.add(t)
        w += timedelta(minutes=1)
    return sorted(fires)


# ------------------------------------------------------------- generator
def rand_value(rng, i):
    lo, hi = FIELDS[i]
    if i == 4:
        hi = 7
    v = rng.randint(lo, hi)
    if i == 3 and rng.random() < 0.3:
        return MON[v - 1].capitalize() if rng.random() < .5 else MON[v - 1]
    if i == 4 and v < 7 and rng.random() < 0.3:
        return DOW[v].upper() if rng.random() < .5 else DOW[v]
    return str(v)


def num(tok, i):
    names = MON if i == 3 else DOW if i == 4 else None
    if names and tok.lower() in names:
        return names.index(tok.lower()) + (1 if i == 3 else 0)
    return int(tok)


def rand_item(rng, i):
    lo, hi = FIELDS[i]
    r = rng.random()
    if r < 0.25:
        return "*"
    if r < 0.40:
        return "*/%d" % rng.randint(1, min(hi, 15))
    if r < 0.65:
        return rand_value(rng, i)
    a, b = sorted((rand_value(rng, i), rand_value(rng, i)),
                  key=lambda x: num(x, i))
    if r < 0.85:
        return "%s-%s" % (a, b)
    return "%s-%s/%d" % (a, b, rng.randint(1, 6))


def rand_field(rng, i, dense):
    if dense and i in (2, 3):
        return "*"
    n = 1 if rng.random() < 0.7 else rng.randint(2, 3)
    items = [rand_item(rng, i) for _ in range(n)]
    return ",".join(items) if "*" not in items else "*"


def possible(expr):
    c = Cron(expr)
    if not (c.dom_star or c.dow_star):
        return True
    return any(d in c.sets[2] for m in c.sets[3]
               for d in range(1, MDAYS[m - 1] + 1))


def rand_expr(rng, dense=False):
    while True:
        e = " ".join(rand_field(rng, i, dense) for i in range(5))
        if possible(e):
            return e


def or_rule_differs(expr):
    """True for class (a): Vixie's "restricted" (the field does not start
    with '*') and croniter's (the expanded set is not the full range)
    disagree on whether the day fields are ORed."""
    f, c = expr.split(), Cron(expr)
    ours = not f[2].startswith("*") and not f[4].startswith("*")
    theirs = c.sets[2] != set(range(1, 32)) and c.sets[4] != set(range(7))
    return ours != theirs


# --------------------------------------------------------------- running
def run_dump(binary, lines):
    data = "".join("%s\t%s\t%d\t%d\n" % l for l in lines)
    p = subprocess.run([binary], input=data, capture_output=True, text=True,
                       check=True)
    out = []
    for line in p.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind != "ok":
            out.append(("error", rest))
            continue
        times = [int(x.split(":")[0]) for x in rest.split() if x != "none"]
        out.append(("ok", times))
    return out


def cron_next(expr, tzname, start, count):
    tz = timezone.utc if tzname == "UTC" else ZoneInfo(tzname)
    it = croniter(expr, datetime.fromtimestamp(start, tz))
    return [int(it.get_next(datetime).timestamp()) for _ in range(count)]


def part_utc(binary, rng, n):
    cases = []
    for _ in range(n):
        cases.append((rand_expr(rng), "UTC",
                      rng.randint(946684800, 4102444800), 8))
    for case, res in zip(cases, run_dump(binary, cases)):
        expr, _, start, cnt = case
        if res[0] != "ok":
            check(False, "%r rejected: %s" % (expr, res[1]))
            continue
        if or_rule_differs(expr):
            documented["a: Vixie vs croniter day-field OR rule"] = \
                documented.get("a: Vixie vs croniter day-field OR rule", 0) + 1
            want = oracle_utc(expr, start, cnt)
        else:
            want = cron_next(expr, "UTC", start, cnt)
        check(res[1] == want, "UTC %r from %d: got %s want %s"
              % (expr, start, res[1][:3], want[:3]))
    bad = [("0 0 30 2 *", "UTC", 0, 1), ("0 0 31 4,6,9,11 *", "UTC", 0, 1)]
    for case, res in zip(bad, run_dump(binary, bad)):
        check(res[0] == "error", "%r must be rejected" % case[0])


def offsets_constant(tzname, a, b):
    tz = ZoneInfo(tzname)
    o = datetime.fromtimestamp(a, tz).utcoffset()
    t = a
    while t < b:
        t = min(t + 6 * 3600, b)
        if datetime.fromtimestamp(t, tz).utcoffset() != o:
            return False
    return True


def part_zones(binary, rng, n):
    zones = ["Asia/Kathmandu", "Asia/Kolkata", "Asia/Tokyo",
             "America/Phoenix", "Europe/Berlin", "America/New_York",
             "Australia/Lord_Howe", "Pacific/Chatham"]
    cases = []
    while len(cases) < n:
        z = rng.choice(zones)
        e = rand_expr(rng, dense=rng.random() < 0.5)
        if or_rule_differs(e):
            continue
        cases.append((e, z, rng.randint(1577836800, 1893456000), 5))
    skipped = 0
    for case, res in zip(cases, run_dump(binary, cases)):
        expr, z, start, cnt = case
        if res[0] != "ok" or not res[1]:
            check(False, "%r %s: %s" % (expr, z, res))
            continue
        if not offsets_constant(z, start, res[1][-1] + 60):
            skipped += 1	# crosses a transition: part 3's business
            continue
        try:
            want = cron_next(expr, z, start, cnt)
        except Exception:
            documented["d: croniter gives up on sparse dates"] = \
                documented.get("d: croniter gives up on sparse dates", 0) + 1
            continue
        check(res[1] == want, "%s %r from %d: got %s want %s"
              % (z, expr, start, res[1][:3], want[:3]))
    print("zones: %d windows crossed a transition and were left to part 3"
          % skipped)


def transitions(tzname, year):
    tz, out = ZoneInfo(tzname), []
    t = int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp())
    o = datetime.fromtimestamp(t, tz).utcoffset()
    for _ in range(366 * 24):
        t += 3600
        o2 = datetime.fromtimestamp(t, tz).utcoffset()
        if o2 != o:
            lo = t - 3600
            while lo < t:
                mid = (lo + t) // 2
                if datetime.fromtimestamp(mid, tz).utcoffset() == o2:
                    t = mid
                else:
                    lo = mid + 1
            out.append(t)
            o = o2
            t = (t // 3600) * 3600
    return out


def dst_expr(rng):
    """Expressions that hit transition hours often."""
    hours = "%d" % rng.randint(0, 4) if rng.random() < 0.6 else \
        "%d-%d" % (rng.randint(0, 2), rng.randint(2, 4))
    minute = rng.choice(["0", "30", "*/15", "*/20", "0,30", "45", "59",
                         "15-45/15", "*", "0-59/7", "*/30"])
    hour = rng.choice([hours, hours, "*", "*/2", "1,2,3"])
    return "%s %s * * %s" % (minute, hour, rng.choice(["*", "*", "0", "6"]))


def part_dst(binary, rng, n):
    zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
             "Pacific/Chatham", "Australia/Sydney", "America/Santiago",
             "Pacific/Apia", "Africa/Casablanca", "Europe/Dublin",
             "America/St_Johns", "Europe/Moscow", "Antarctica/Troll"]
    # 2011: Apia skipped 2011-12-30 entirely, Moscow went to +4 for good
    trans = {z: [t for y in (2011, 2024, 2026, 2030)
                 for t in transitions(z, y)] for z in zones}
    cases = []
    for _ in range(n):
        z = rng.choice(zones)
        t = rng.choice(trans[z]) - rng.randint(0, 30 * 3600)
        cases.append((dst_expr(rng), z, t, 3000))
    for case, res in zip(cases, run_dump(binary, cases)):
        expr, z, start, cnt = case
        end = start + 2 * 86400
        got = [x for x in res[1] if x <= end]
        if res[0] != "ok" or len(got) == len(res[1]):
            check(False, "%s %r: no result or count too small" % (z, expr))
            continue
        want = oracle_zone(expr, z, start, end)
        check(got == want, "DST %s %r from %d: got %s want %s"
              % (z, expr, start, got[:6], want[:6]))
        theirs = [x for x in cron_next(expr, z, start, len(got) + 1)
                  if x <= end]
        if theirs != got:
            documented["b: croniter DST behaviour"] = \
                documented.get("b: croniter DST behaviour", 0) + 1


def main():
    if len(sys.argv) < 2 and os.environ.get("PGSCHED_BUILDDIR"):
        # Run by make check: the tool is in the build tree.
        sys.argv.append(os.path.join(os.environ["PGSCHED_BUILDDIR"],
                                     "tests", "unit", "sched_dump"))
    if len(sys.argv) < 2:
        print("usage: test_croniter.py SCHED_DUMP [SEED]")
        return 2
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20260329
    rng = random.Random(seed)
    part_utc(sys.argv[1], rng, 3000)
    part_zones(sys.argv[1], rng, 1500)
    part_dst(sys.argv[1], rng, 600)
    for k, v in sorted(documented.items()):
        print("documented difference %s: %d cases" % (k, v))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
