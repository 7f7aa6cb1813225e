/*
 * isotime.c: strict ISO 8601 timestamps and Gregorian calendar arithmetic.
 * The civil/day conversions are the well-known era-based algorithms
 * (400-year cycles of 146097 days), valid for any int64 year range we use.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "isotime.h"

int64_t
isotime_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

int64_t
isotime_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = isotime_floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
isotime_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z, era, doe, yoe, doy, mp;

	z = days + 719468;
	era = isotime_floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int
isotime_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday. */
	return (int)(days - isotime_floordiv(days + 4, 7) * 7 + 4);
}

int
isotime_month_days(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	bool		 leap;

	if (m != 2)
		return mdays[m - 1];
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return leap ? 29 : 28;
}

/* Reads exactly n digits at *p into *v; advances *p. */
static bool
digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/* Parses the zone designator at p into *off seconds; true on success. */
static bool
parse_zone(const char *p, int32_t *off)
{
	int sign, hh, mm = 0;

	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*off = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &hh))
		return false;
	if (*p == ':')
		p++;
	if (*p != '\0' && !digits(&p, 2, &mm))
		return false;
	if (*p != '\0' || hh > 23 || mm > 59)
		return false;
	*off = sign * (hh * 3600 + mm * 60);
	return true;
}

/* Parses "HH:MM[:SS[.frac]]" at *p; advances *p past it. */
static bool
parse_clock(const char **p, int *hh, int *mi, int *ss, int32_t *usec)
{
	int n;

	*ss = 0;
	*usec = 0;
	if (!digits(p, 2, hh) || **p != ':')
		return false;
	(*p)++;
	if (!digits(p, 2, mi))
		return false;
	if (**p != ':')
		return true;
	(*p)++;
	if (!digits(p, 2, ss))
		return false;
	if (**p != '.' && **p != ',')
		return true;
	(*p)++;
	for (n = 0; (*p)[0] >= '0' && (*p)[0] <= '9'; n++, (*p)++) {
		if (n < 6)
			*usec = *usec * 10 + ((*p)[0] - '0');
	}
	if (n == 0 || n > 9)
		return false;
	for (; n < 6; n++)
		*usec *= 10;
	return true;
}

enum pgs_rc
isotime_parse(const char *s, int64_t *t, int32_t *usec, char *err,
    size_t errlen)
{
	const char *p = s;
	int	    y, mo, d, hh = 0, mi = 0, ss = 0;
	int32_t	    us = 0, off = 0;

	if (s == NULL || !digits(&p, 4, &y) || *p++ != '-' ||
	    !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
		goto bad;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > isotime_month_days(y, mo))
		goto bad;
	if (*p != '\0') {
		if (*p != 'T' && *p != 't' && *p != ' ')
			goto bad;
		p++;
		if (!parse_clock(&p, &hh, &mi, &ss, &us))
			goto bad;
		if (hh > 23 || mi > 59 || ss > 59)
			goto bad;
		if (!parse_zone(p, &off))
			goto bad;
	}
	*t = isotime_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 +
	    ss - off;
	if (*t < ISOTIME_MIN || *t > ISOTIME_MAX)
		goto bad;
	if (usec != NULL)
		*usec = us;
	return PGS_OK;
bad:
	snprintf(err, errlen,
	    "bad timestamp '%.64s': expected ISO 8601 like"
	    " 2026-03-29T00:00:00Z, 2026-03-29T02:00:00+02:00 or 2026-03-29",
	    s == NULL ? "" : s);
	return PGS_INVALID;
}

/* Reads one "<digits><unit>" duration part; returns chars used or 0. */
static size_t
duration_part(const char *p, int64_t *num, char *unit)
{
	size_t n = 0;

	*num = 0;
	while (p[n] >= '0' && p[n] <= '9' && n < 12)
		*num = *num * 10 + (p[n++] - '0');
	if (n == 0 || p[n] == '\0')
		return 0;
	*unit = (char)toupper((unsigned char)p[n]);
	return n + 1;
}

enum pgs_rc
isotime_parse_duration(const char *expr, int64_t *secs, char *err,
    size_t errlen)
{
	static const char    order[] = "WD"
				       "HMS";
	static const int64_t mult[] = { 604800, 86400, 3600, 60, 1 };
	const char	    *p = expr + 1, *u;
	int64_t		     num;
	size_t		     n, next = 0, used = 0;
	bool		     t = false, t_part = false;
	char		     unit;

	*secs = 0;
	/* p is expr + 1 only past a 'P': "" must not read beyond its NUL. */
	if (expr[0] != 'P' && expr[0] != 'p')
		goto bad;
	while (*p != '\0') {
		if ((*p == 'T' || *p == 't') && !t) {
			t = true;
			next = 2;
			p++;
			continue;
		}
		n = duration_part(p, &num, &unit);
		if (n == 0)
			goto bad;
		if (!t && (unit == 'M' || unit == 'Y')) {
			snprintf(err, errlen,
			    "'%.32s': months and "
			    "years have no fixed length; use days (P30D) or "
			    "a cron expression",
			    expr);
			return PGS_INVALID;
		}
		u = strchr(order + next, unit);
		if (unit == '\0' || u == NULL || (t && u < order + 2) ||
		    (!t && u >= order + 2))
			goto bad;
		next = (size_t)(u - order) + 1;
		*secs += num * mult[u - order];
		used++;
		t_part = t;
		p += n;
	}
	if (used > 0 && t == t_part)
		return PGS_OK;
bad:
	snprintf(err, errlen,
	    "bad duration '%.32s': use ISO 8601 "
	    "like PT15M, PT6H, P1D, P1DT12H, P1W or a number of seconds",
	    expr);
	return PGS_INVALID;
}

/* Writes the wall-clock date and time of w (seconds) into buf. */
static int
format_wall(int64_t w, char *buf)
{
	int64_t days, sod, y;
	int	m, d;

	days = isotime_floordiv(w, 86400);
	sod = w - days * 86400;
	isotime_civil_from_days(days, &y, &m, &d);
	return snprintf(buf, ISOTIME_BUFSZ, "%04lld-%02d-%02dT%02d:%02d:%02d",
	    (long long)y, m, d, (int)(sod / 3600), (int)(sod % 3600 / 60),
	    (int)(sod % 60));
}

char *
isotime_format_utc(int64_t t, char *buf)
{
	int n;

	n = format_wall(t, buf);
	snprintf(buf + n, ISOTIME_BUFSZ - n, "Z");
	return buf;
}

const char *
isotime_from_pg(const char *pgts, char *buf)
{
	size_t n;

	if (pgts == NULL)
		return NULL;
	snprintf(buf, ISOTIME_BUFSZ, "%s", pgts);
	n = strlen(buf);
	/* The session runs in UTC, so the text ends in "+00". */
	if (n > 3 && strcmp(buf + n - 3, "+00") == 0)
		snprintf(buf + n - 3, ISOTIME_BUFSZ - (n - 3), "Z");
	if (n > 10 && buf[10] == ' ')
		buf[10] = 'T';
	return buf;
}

char *
isotime_format_off(int64_t t, int32_t off, char *buf)
{
	int32_t a = off < 0 ? -off : off;
	int	n;

	n = format_wall(t + off, buf);
	if (a % 60 != 0)
		snprintf(buf + n, ISOTIME_BUFSZ - n, "%c%02d:%02d:%02d",
		    off < 0 ? '-' : '+', a / 3600, a % 3600 / 60, a % 60);
	else
		snprintf(buf + n, ISOTIME_BUFSZ - n, "%c%02d:%02d",
		    off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
	return buf;
}
