/*
 * isotime.h: strict ISO 8601 / RFC 3339 timestamps to epoch seconds and
 * back, plus the proleptic Gregorian calendar arithmetic the schedule and
 * time zone code share.  Pure functions, no locale, no host time zone.
 */
#ifndef PGS_ISOTIME_H
#define PGS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

/* Supported instants: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define ISOTIME_MIN (-62135596800LL)
#define ISOTIME_MAX (253402300799LL)

/* Room for the longest string isotime_format_* writes, NUL included. */
#define ISOTIME_BUFSZ 64

/*
 * Parses "2026-03-29", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00+02:00",
 * "...T00:00:00.250Z" ('T', 't' or one space between date and time; zone
 * 'Z', 'z', +HH:MM, +HHMM or +HH; seconds optional) into epoch seconds
 * (fractions are floored into *usec when usec is not NULL).  A plain date
 * is midnight UTC; a time without a zone is rejected.  Returns PGS_OK or
 * PGS_INVALID with a message in err (caller's buffer).
 */
enum pgs_rc isotime_parse(const char *s, int64_t *t, int32_t *usec, char *err,
    size_t errlen) PGS_MUSTCHECK;

/*
 * Parses an ISO 8601 duration of fixed length, PnW, PnD, PTnHnMnS or
 * PnDTnHnMnS (integers, units in order, case-insensitive), into seconds.
 * Months and years are rejected (their length varies).  Returns PGS_OK or
 * PGS_INVALID with a message in err (caller's buffer).
 */
enum pgs_rc isotime_parse_duration(const char *s, int64_t *secs, char *err,
    size_t errlen) PGS_MUSTCHECK;

/* Writes t as "2026-03-30T07:00:00Z" into buf (ISOTIME_BUFSZ bytes,
 * caller-owned) and returns buf. */
char *isotime_format_utc(int64_t t, char *buf);

/*
 * Writes the ISO 8601 form of pgts, a timestamptz as PostgreSQL's text
 * output gives it in a session whose TimeZone is UTC ("2026-03-29
 * 12:00:00.5+00" becomes "2026-03-29T12:00:00.5Z"; the fraction stays as
 * PostgreSQL wrote it), into buf (ISOTIME_BUFSZ bytes, caller-owned).
 * Returns buf, or NULL when pgts is NULL (SQL NULL).
 */
const char *isotime_from_pg(const char *pgts, char *buf);

/* Writes the wall-clock time of t at UTC offset off seconds as
 * "2026-03-30T09:00:00+02:00" ("+05:53:28" when off has seconds) into buf
 * (ISOTIME_BUFSZ bytes, caller-owned) and returns buf. */
char *isotime_format_off(int64_t t, int32_t off, char *buf);

/* Returns the day number (days since 1970-01-01) of y-m-d; m is 1-12 and d
 * may run past the month (it is added as a count of days). */
int64_t isotime_days_from_civil(int64_t y, int m, int d);

/* Splits a day number into year, month (1-12) and day (1-31). */
void isotime_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Returns the weekday of a day number, 0 = Sunday .. 6 = Saturday. */
int isotime_weekday(int64_t days);

/* Returns the number of days in month m (1-12) of year y. */
int isotime_month_days(int64_t y, int m);

/* Returns floor(a / b) for b > 0. */
int64_t isotime_floordiv(int64_t a, int64_t b);

#endif
