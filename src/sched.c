/*
 * sched.c: cron and interval schedules (CONTRACT §3).
 *
 * Fire times are found by walking the zone's UTC segments of constant
 * offset: inside a segment [t, e) with offset o an instant i has the wall
 * time i + o, so the fires are the matching wall minutes L in [t+o, e+o)
 * at i = L - o.  Matching wall minutes are found by calendar arithmetic
 * on bit masks (months, days and hours that cannot match are skipped), so
 * neither sched_next() nor sched_count() scans minute by minute.
 *
 * Fixed-time jobs keep a high-water wall time: the wall range a backward
 * shift repeats has already been covered by the previous segment (first
 * occurrence only), and the wall range a forward shift skips (a gap)
 * fires once, at the segment start, when any of it matches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "isotime.h"
#include "sched.h"
#include "tz.h"

#define EXPR_MAX 256

struct cron {
	uint64_t min;  /* bits 0-59 */
	uint32_t hour; /* bits 0-23 */
	uint32_t dom;  /* bits 1-31 */
	uint32_t mon;  /* bits 1-12 */
	uint32_t dow;  /* bits 0-6, Sunday = 0 */
	bool	 min_star, hour_star, dom_star, dow_star;
	int64_t	 per_day; /* matching minutes in a matching day */
};

struct sched {
	bool	    interval;
	int64_t	    period;
	struct cron c;
	bool	    fixed;
	struct tz  *tz;
};

struct field_def {
	const char	  *name;
	int		   lo, hi;
	const char *const *names; /* names[i] is value lo + i */
};

static const char *const mon_names[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat", NULL };

static const struct field_def fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, mon_names },
	{ "day-of-week", 0, 7, dow_names },
};

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* Returns the value of 1-4 decimal digits s[0..len), or -1. */
static int
small_num(const char *s, size_t len)
{
	size_t i;
	int    v = 0;

	if (len == 0 || len > 4)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses one value (number or name) of token tok[0..len). */
static enum pgs_rc
parse_value(const struct field_def *f, const char *tok, size_t len, int *v,
    char *err, size_t errlen)
{
	size_t i;

	*v = small_num(tok, len);
	if (*v >= f->lo && *v <= f->hi)
		return PGS_OK;
	if (*v >= 0) {
		snprintf(err, errlen, "%s: %d is out of range %d-%d", f->name,
		    *v, f->lo, f->hi);
		return PGS_INVALID;
	}
	for (i = 0; f->names != NULL && f->names[i] != NULL; i++) {
		if (len == 3 && strncasecmp(tok, f->names[i], 3) == 0) {
			*v = f->lo + (int)i;
			return PGS_OK;
		}
	}
	snprintf(err, errlen, "%s: bad token '%.*s'", f->name,
	    (int)(len > 32 ? 32 : len), tok);
	return PGS_INVALID;
}

/* Parses a "/step" suffix s[0..len) into *step. */
static enum pgs_rc
parse_step(const struct field_def *f, const char *s, size_t len, int *step,
    char *err, size_t errlen)
{
	*step = small_num(s, len);
	if (*step >= 1 && *step <= f->hi)
		return PGS_OK;
	if (*step < 0)
		snprintf(err, errlen, "%s: bad step '%.*s'", f->name,
		    (int)(len > 32 ? 32 : len), s);
	else
		snprintf(err, errlen, "%s: step %d is out of range 1-%d",
		    f->name, *step, f->hi);
	return PGS_INVALID;
}

/* Parses one list item ("*", "a", "a-b", each with optional "/n"). */
static enum pgs_rc
parse_item(const struct field_def *f, const char *it, size_t len,
    uint64_t *bits, char *err, size_t errlen)
{
	const char *slash = memchr(it, '/', len), *dash;
	size_t	    blen = slash != NULL ? (size_t)(slash - it) : len;
	int	    a = f->lo, b = f->hi, step = 1, v;
	enum pgs_rc rc = PGS_OK;

	if (slash != NULL)
		rc = parse_step(f, slash + 1, len - blen - 1, &step, err,
		    errlen);
	if (rc != PGS_OK)
		return rc;
	dash = memchr(it, '-', blen);
	if (blen == 1 && it[0] == '*')
		; /* the whole range */
	else if (dash != NULL) {
		rc = parse_value(f, it, (size_t)(dash - it), &a, err, errlen);
		if (rc == PGS_OK)
			rc = parse_value(f, dash + 1,
			    blen - (size_t)(dash - it) - 1, &b, err, errlen);
		if (rc == PGS_OK && a > b) {
			snprintf(err, errlen, "%s: range %d-%d is backwards",
			    f->name, a, b);
			rc = PGS_INVALID;
		}
	} else {
		/* "a/n" means a through the end of the range, every n */
		rc = parse_value(f, it, blen, &a, err, errlen);
		if (slash == NULL)
			b = a;
	}
	if (rc != PGS_OK)
		return rc;
	for (v = a; v <= b; v += step)
		*bits |= 1ULL << v;
	return PGS_OK;
}

/* Parses a comma list field text[0..len) into *bits. */
static enum pgs_rc
parse_field(const struct field_def *f, const char *text, size_t len,
    uint64_t *bits, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *comma;
	enum pgs_rc rc;

	*bits = 0;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (comma == p) {
			snprintf(err, errlen, "%s: empty list item", f->name);
			return PGS_INVALID;
		}
		rc = parse_item(f, p, (size_t)(comma - p), bits, err, errlen);
		if (rc != PGS_OK)
			return rc;
		if (comma == end)
			return PGS_OK;
		p = comma + 1;
	}
}

static int
popcount64(uint64_t x)
{
	return __builtin_popcountll(x);
}

/* Rejects day-of-month/month combinations that never occur when the
 * day-of-month must match (the AND case of the Vixie rule). */
static enum pgs_rc
check_possible(const struct cron *c, char *err, size_t errlen)
{
	int m, d;

	if (!c->dom_star && !c->dow_star)
		return PGS_OK; /* OR: any matching weekday will do */
	for (m = 1; m <= 12; m++) {
		if ((c->mon & (1U << m)) == 0)
			continue;
		for (d = 1; d <= isotime_month_days(2000, m); d++)
			if (c->dom & (1U << d))
				return PGS_OK;
	}
	snprintf(err, errlen,
	    "day-of-month: no selected day exists in the"
	    " selected months, so this schedule never fires");
	return PGS_INVALID;
}

/* Splits five fields of expr and fills c. */
static enum pgs_rc
parse_fields(const char *expr, struct cron *c, char *err, size_t errlen)
{
	const char *p = expr, *tok[6];
	size_t	    len[6], n = 0;
	uint64_t    bits[5];
	enum pgs_rc rc;
	size_t	    i;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		tok[n < 6 ? n : 5] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		len[n < 6 ? n : 5] = (size_t)(p - tok[n < 6 ? n : 5]);
		n++;
	}
	if (n != 5) {
		snprintf(err, errlen,
		    "cron: expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got %zu",
		    n);
		return PGS_INVALID;
	}
	for (i = 0; i < 5; i++) {
		rc = parse_field(&fields[i], tok[i], len[i], &bits[i], err,
		    errlen);
		if (rc != PGS_OK)
			return rc;
	}
	c->min = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->mon = (uint32_t)bits[3];
	c->dow = (uint32_t)((bits[4] | bits[4] >> 7) & 0x7f);
	c->min_star = tok[0][0] == '*';
	c->hour_star = tok[1][0] == '*';
	c->dom_star = tok[2][0] == '*';
	c->dow_star = tok[4][0] == '*';
	c->per_day = (int64_t)popcount64(c->min) * popcount64(c->hour);
	return check_possible(c, err, errlen);
}

static enum pgs_rc
parse_cron(const char *expr, struct cron *c, char *err, size_t errlen)
{
	char   word[16];
	size_t i, n;

	while (*expr == ' ' || *expr == '\t')
		expr++;
	if (strlen(expr) > EXPR_MAX) {
		snprintf(err, errlen,
		    "cron: expression longer than %d"
		    " characters",
		    EXPR_MAX);
		return PGS_INVALID;
	}
	if (expr[0] != '@')
		return parse_fields(expr, c, err, errlen);
	n = strcspn(expr, " \t");
	if (expr[n + strspn(expr + n, " \t")] != '\0' || n >= sizeof(word))
		n = sizeof(word) - 1;
	snprintf(word, sizeof(word), "%.*s", (int)n, expr);
	if (strcasecmp(word, "@reboot") == 0) {
		snprintf(err, errlen,
		    "cron: @reboot is not supported (the "
		    "runner is started by cron every minute and has no boot)");
		return PGS_INVALID;
	}
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcasecmp(word, macros[i].name) == 0)
			return parse_fields(macros[i].expr, c, err, errlen);
	snprintf(err, errlen,
	    "cron: unknown macro '%.32s' (use @hourly, "
	    "@daily, @midnight, @weekly, @monthly, @yearly or @annually)",
	    expr);
	return PGS_INVALID;
}

static enum pgs_rc
parse_interval(const char *expr, int64_t def, int64_t *period, char *err,
    size_t errlen)
{
	char	    msg[200];
	enum pgs_rc rc = PGS_OK;
	size_t	    n;

	if (expr == NULL || *expr == '\0')
		*period = def;
	else if (expr[0] == 'P' || expr[0] == 'p') {
		rc = isotime_parse_duration(expr, period, msg, sizeof(msg));
		if (rc != PGS_OK)
			snprintf(err, errlen, "interval: %s", msg);
	} else {
		n = strspn(expr, "0123456789");
		if (n == 0 || n > 12 || expr[n] != '\0') {
			snprintf(err, errlen,
			    "interval: bad duration '%.32s':"
			    " use ISO 8601 like PT15M, PT6H, P1D, P1DT12H, P1W"
			    " or a number of seconds",
			    expr);
			return PGS_INVALID;
		}
		*period = strtoll(expr, NULL, 10);
	}
	if (rc != PGS_OK)
		return rc;
	if (*period < SCHED_MIN_INTERVAL_S) {
		snprintf(err, errlen,
		    "interval: %lld s is shorter than the "
		    "minimum of %d s",
		    (long long)*period, SCHED_MIN_INTERVAL_S);
		return PGS_INVALID;
	}
	if (*period > 100LL * 366 * 86400) {
		snprintf(err, errlen, "interval: longer than 100 years");
		return PGS_INVALID;
	}
	return PGS_OK;
}

enum pgs_rc
sched_parse_tz(const char *type, const char *expr, struct tz *tz,
    int64_t default_interval_s, struct sched **out, char *err, size_t errlen)
{
	struct sched *s;
	enum pgs_rc   rc;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	if (type != NULL && strcmp(type, "interval") == 0) {
		s->interval = true;
		rc = parse_interval(expr, default_interval_s, &s->period, err,
		    errlen);
	} else if (type != NULL && strcmp(type, "cron") == 0) {
		rc = parse_cron(expr == NULL ? "" : expr, &s->c, err, errlen);
		s->fixed = !s->c.min_star && !s->c.hour_star;
	} else {
		snprintf(err, errlen,
		    "schedule type must be 'cron' or "
		    "'interval'");
		rc = PGS_INVALID;
	}
	if (rc != PGS_OK) {
		free(s);
		return rc;
	}
	s->tz = tz_ref(tz);
	*out = s;
	return PGS_OK;
}

enum pgs_rc
sched_parse(const char *type, const char *expr, const char *tzname,
    int64_t default_interval_s, struct sched **out, char *err, size_t errlen)
{
	struct tz  *tz;
	enum pgs_rc rc;

	*out = NULL;
	rc = tz_load(tzname, &tz, err, errlen);
	if (rc != PGS_OK)
		return rc;
	rc = sched_parse_tz(type, expr, tz, default_interval_s, out, err,
	    errlen);
	tz_free(tz);
	return rc;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	tz_free(s->tz);
	free(s);
}

bool
sched_is_fixed_time(const struct sched *s)
{
	return !s->interval && s->fixed;
}

bool
sched_is_interval(const struct sched *s, int64_t *period)
{
	if (s->interval && period != NULL)
		*period = s->period;
	return s->interval;
}

struct tz *
sched_tz(const struct sched *s)
{
	return s->tz;
}

/* Calendar arithmetic on wall-clock seconds (local days * 86400 + s). */

static int64_t
floor_min(int64_t w)
{
	return isotime_floordiv(w, 60) * 60;
}

static int64_t
ceil_min(int64_t w)
{
	return -isotime_floordiv(-w, 60) * 60;
}

/* Returns the lowest set bit >= from, or -1. */
static int
next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask &= ~0ULL << from;
	return mask == 0 ? -1 : __builtin_ctzll(mask);
}

/* Returns the highest set bit <= from, or -1. */
static int
prev_bit(uint64_t mask, int from)
{
	if (from < 0)
		return -1;
	if (from < 63)
		mask &= (2ULL << from) - 1;
	return mask == 0 ? -1 : 63 - __builtin_clzll(mask);
}

/* Vixie cron's day rule: AND when either day field starts with '*'. */
static bool
day_match(const struct cron *c, int m, int d, int64_t day)
{
	bool dm, wm;

	if ((c->mon & (1U << m)) == 0)
		return false;
	dm = (c->dom & (1U << d)) != 0;
	wm = (c->dow & (1U << isotime_weekday(day))) != 0;
	if (c->dom_star || c->dow_star)
		return dm && wm;
	return dm || wm;
}

/* Returns the day number of the first day of the next month in the mask
 * after month m of year y. */
static int64_t
next_month_day(const struct cron *c, int64_t y, int m)
{
	int mm;

	mm = next_bit(c->mon, m + 1);
	if (mm < 0) {
		y++;
		mm = next_bit(c->mon, 1);
	}
	return isotime_days_from_civil(y, mm, 1);
}

/* Finds the first matching wall minute in [lo, hi); false if none. */
static bool
cal_next(const struct cron *c, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t w = ceil_min(lo), day, sod, y;
	int	m, d, h, x;

	while (w < hi) {
		day = isotime_floordiv(w, 86400);
		sod = w - day * 86400;
		isotime_civil_from_days(day, &y, &m, &d);
		if ((c->mon & (1U << m)) == 0) {
			w = next_month_day(c, y, m) * 86400;
			continue;
		}
		h = (int)(sod / 3600);
		if (day_match(c, m, d, day)) {
			x = (c->hour & (1U << h)) != 0 ?
			    next_bit(c->min, (int)(sod % 3600 / 60)) :
			    -1;
			if (x >= 0) {
				*out = day * 86400 + h * 3600 + x * 60;
				return *out < hi;
			}
			h = next_bit(c->hour, h + 1);
			if (h >= 0) {
				*out = day * 86400 + h * 3600 +
				    next_bit(c->min, 0) * 60;
				return *out < hi;
			}
		}
		w = (day + 1) * 86400;
	}
	return false;
}

/* Finds the last matching wall minute in [lo, hi]; false if none. */
static bool
cal_prev(const struct cron *c, int64_t hi, int64_t lo, int64_t *out)
{
	int64_t w = floor_min(hi), day, sod, y;
	int	m, d, h, x;

	while (w >= lo) {
		day = isotime_floordiv(w, 86400);
		sod = w - day * 86400;
		isotime_civil_from_days(day, &y, &m, &d);
		if ((c->mon & (1U << m)) == 0) {
			w = isotime_days_from_civil(y, m, 1) * 86400 - 60;
			continue;
		}
		h = (int)(sod / 3600);
		if (day_match(c, m, d, day)) {
			x = (c->hour & (1U << h)) != 0 ?
			    prev_bit(c->min, (int)(sod % 3600 / 60)) :
			    -1;
			if (x >= 0) {
				*out = day * 86400 + h * 3600 + x * 60;
				return *out >= lo;
			}
			h = prev_bit(c->hour, h - 1);
			if (h >= 0) {
				*out = day * 86400 + h * 3600 +
				    prev_bit(c->min, 63) * 60;
				return *out >= lo;
			}
		}
		w = day * 86400 - 60;
	}
	return false;
}

/* Counts matching minutes of a matching day in minutes [lo, hi) of it. */
static int64_t
day_count(const struct cron *c, int lo, int hi)
{
	int64_t n = 0;
	int	h, a, b;

	if (lo == 0 && hi == 1440)
		return c->per_day;
	for (h = next_bit(c->hour, lo / 60); h >= 0 && h * 60 < hi;
	     h = next_bit(c->hour, h + 1)) {
		a = lo > h * 60 ? lo - h * 60 : 0;
		b = hi < h * 60 + 60 ? hi - h * 60 : 60;
		if (a < b)
			n += popcount64(c->min & (~0ULL << a) &
			    (b >= 64 ? ~0ULL : (1ULL << b) - 1));
	}
	return n;
}

/* Counts matching wall minutes in [lo, hi), stopping at cap. */
static int64_t
cal_count(const struct cron *c, int64_t lo, int64_t hi, int64_t cap)
{
	int64_t n = 0, day, first, last, y;
	int	m, d, a, b;

	lo = ceil_min(lo);
	if (lo >= hi)
		return 0;
	first = isotime_floordiv(lo, 86400);
	last = isotime_floordiv(hi - 1, 86400);
	for (day = first; day <= last && n < cap; day++) {
		isotime_civil_from_days(day, &y, &m, &d);
		if ((c->mon & (1U << m)) == 0) {
			day = next_month_day(c, y, m) - 1;
			continue;
		}
		if (!day_match(c, m, d, day))
			continue;
		a = day == first ? (int)((lo - day * 86400) / 60) : 0;
		b = day == last ? (int)((hi - day * 86400 + 59) / 60) : 1440;
		n += day_count(c, a, b);
	}
	return n < cap ? n : cap;
}

/* One step of the walk over the zone's segments of constant offset. */
struct walk {
	const struct sched *s;
	int64_t		    t;	 /* start of the current segment */
	int64_t		    end; /* walk instants < end */
	int64_t		    hw;	 /* wall time covered (fixed-time) */
	int32_t		    o;	 /* offset of the current segment */
};

struct piece {
	int64_t	 gap_t; /* gap fire instant or INT64_MIN */
	unsigned gap_flags;
	int64_t	 la, lb; /* fires: wall L in [la, lb) ... */
	int32_t	 o;	 /* ... at instant L - o */
	int64_t	 fold;	 /* L >= fold repeats later */
};

static void
walk_init(struct walk *w, const struct sched *s, int64_t t0, int64_t end)
{
	w->s = s;
	w->t = t0;
	w->end = end;
	w->o = tz_utc_offset(s->tz, t0, NULL);
	w->hw = t0 + w->o;
}

/* Sets the gap fire of a fixed-time job for the skipped wall times
 * [w->hw, a); returns true when wall time a itself merges into it. */
static bool
walk_gap(const struct walk *w, int64_t a, struct piece *p)
{
	const struct cron *c = &w->s->c;
	int64_t		   first, more;
	bool		   at_a;

	if (!cal_next(c, w->hw, a, &first))
		return false;
	at_a = cal_next(c, a, a + 1, &more);
	p->gap_t = w->t;
	p->gap_flags = SCHED_MOVED;
	if (at_a || cal_next(c, first + 1, a, &more))
		p->gap_flags |= SCHED_MERGED;
	return at_a;
}

/* Returns the next piece in p, or false at the end of the walk. */
static bool
walk_step(struct walk *w, struct piece *p)
{
	int64_t e;
	int32_t onext;

	if (w->t >= w->end)
		return false;
	if (!tz_next_transition(w->s->tz, w->t, &e) || e > w->end)
		e = w->end;
	onext = e < w->end ? tz_utc_offset(w->s->tz, e, NULL) : w->o;
	p->gap_t = INT64_MIN;
	p->gap_flags = 0;
	p->o = w->o;
	p->la = w->t + w->o;
	p->lb = e + w->o;
	p->fold = INT64_MAX;
	if (w->s->fixed) {
		if (p->la > w->hw && walk_gap(w, p->la, p))
			p->la++;
		else if (p->la < w->hw)
			p->la = w->hw;
		if (e + onext < p->lb)
			p->fold = e + onext;
		if (p->lb > w->hw)
			w->hw = p->lb;
	}
	w->t = e;
	w->o = onext;
	return true;
}

static enum pgs_rc
cron_next(const struct sched *s, int64_t after, int64_t *next, unsigned *flags)
{
	struct walk  w;
	struct piece p;
	int64_t	     end, lo, l;

	end = after + SCHED_HORIZON_S;
	if (end > ISOTIME_MAX + 1)
		end = ISOTIME_MAX + 1;
	walk_init(&w, s, after - 2 * 86400, end);
	while (walk_step(&w, &p)) {
		if (p.gap_t > after) {
			*next = p.gap_t;
			*flags = p.gap_flags;
			return PGS_OK;
		}
		lo = after + 1 + p.o > p.la ? after + 1 + p.o : p.la;
		if (lo < p.lb && cal_next(&s->c, lo, p.lb, &l)) {
			*next = l - p.o;
			*flags = l >= p.fold ? SCHED_FOLD_FIRST : 0;
			return PGS_OK;
		}
	}
	return PGS_NOTFOUND;
}

static void
cron_count(const struct sched *s, int64_t from, int64_t to, int64_t cap,
    int64_t *count, int64_t *last)
{
	struct walk  w;
	struct piece p;
	int64_t	     lo, l;

	walk_init(&w, s, from - 2 * 86400, to + 1);
	while (walk_step(&w, &p)) {
		if (p.gap_t > from && p.gap_t <= to) {
			*count += *count < cap ? 1 : 0;
			*last = p.gap_t;
		}
		lo = from + 1 + p.o > p.la ? from + 1 + p.o : p.la;
		if (lo >= p.lb || !cal_prev(&s->c, p.lb - 1, lo, &l))
			continue;
		*last = l - p.o;
		if (*count < cap)
			*count += cal_count(&s->c, lo, p.lb, cap - *count);
	}
}

static bool
in_range(int64_t t)
{
	return t >= ISOTIME_MIN && t <= ISOTIME_MAX;
}

enum pgs_rc
sched_next(const struct sched *s, int64_t anchor, int64_t after, int64_t *next,
    unsigned *flags)
{
	unsigned    f = 0;
	enum pgs_rc rc;
	int64_t	    k;

	if (!in_range(after) || (s->interval && !in_range(anchor)))
		return PGS_INVALID;
	if (s->interval) {
		k = after < anchor ?
		    0 :
		    isotime_floordiv(after - anchor, s->period) + 1;
		*next = anchor + k * s->period;
		rc = in_range(*next) ? PGS_OK : PGS_NOTFOUND;
	} else
		rc = cron_next(s, after, next, &f);
	if (flags != NULL)
		*flags = f;
	return rc;
}

enum pgs_rc
sched_count(const struct sched *s, int64_t anchor, int64_t from, int64_t to,
    int64_t cap, int64_t *count, int64_t *last)
{
	int64_t kmin, kmax;

	*count = 0;
	*last = 0;
	if (!in_range(from) || !in_range(to) || from > to ||
	    (s->interval && !in_range(anchor)))
		return PGS_INVALID;
	if (!s->interval) {
		cron_count(s, from, to, cap, count, last);
		return PGS_OK;
	}
	if (to < anchor)
		return PGS_OK;
	kmin =
	    from < anchor ? 0 : isotime_floordiv(from - anchor, s->period) + 1;
	kmax = isotime_floordiv(to - anchor, s->period);
	if (kmax < kmin)
		return PGS_OK;
	*count = kmax - kmin + 1 < cap ? kmax - kmin + 1 : cap;
	*last = anchor + kmax * s->period;
	return PGS_OK;
}

/* Appends "HH:MM" of the wall times matching in [lo, hi) to buf. */
static int
gap_times(const struct cron *c, int64_t lo, int64_t hi, char *buf, size_t n)
{
	int64_t l, sod;
	size_t	len = 0;
	int	k = 0;

	buf[0] = '\0';
	while (cal_next(c, lo, hi, &l) && len + 16 < n) {
		sod = l - isotime_floordiv(l, 86400) * 86400;
		if (k == 3) {
			len += (size_t)snprintf(buf + len, n - len, ", ...");
			k++;
			break;
		}
		len += (size_t)snprintf(buf + len, n - len, "%s%02d:%02d",
		    k > 0 ? ", " : "", (int)(sod / 3600),
		    (int)(sod % 3600 / 60));
		k++;
		lo = l + 1;
	}
	return k;
}

enum pgs_rc
sched_describe_line(const struct sched *s, int64_t t, unsigned flags, char *buf,
    size_t n)
{
	struct tz_info info;
	char	       utc[ISOTIME_BUFSZ], loc[ISOTIME_BUFSZ], gap[64];
	int64_t	       w;
	int	       len, k;

	tz_utc_offset(s->tz, t, &info);
	len = snprintf(buf, n, "%s  %s %s", isotime_format_utc(t, utc),
	    isotime_format_off(t, info.utoff, loc), info.abbr);
	if (len >= 0 && (size_t)len < n && !s->interval &&
	    (flags & SCHED_MOVED) != 0) {
		w = t - 1 + tz_utc_offset(s->tz, t - 1, NULL);
		k = gap_times(&s->c, w + 1, t + info.utoff, gap, sizeof(gap));
		len += snprintf(buf + len, n - (size_t)len, "  moved: %s %s",
		    gap, k > 1 ? "do not exist" : "does not exist");
	}
	if (len >= 0 && (size_t)len < n && !s->interval &&
	    (flags & SCHED_MERGED) != 0)
		len += snprintf(buf + len, n - (size_t)len, "%s",
		    (flags & SCHED_MOVED) != 0 ? "; merged into one fire" :
						 "  merged into one fire");
	if (len >= 0 && (size_t)len < n && !s->interval &&
	    (flags & SCHED_FOLD_FIRST) != 0) {
		w = t + info.utoff;
		w -= isotime_floordiv(w, 86400) * 86400;
		len += snprintf(buf + len, n - (size_t)len,
		    "  first of "
		    "repeated %02d:%02d (fires once)",
		    (int)(w / 3600), (int)(w % 3600 / 60));
	}
	return len >= 0 && (size_t)len < n ? PGS_OK : PGS_INVALID;
}
