/*
 * sched.h: schedules (CONTRACT §3).  Parses a cron or interval expression
 * with its time zone and computes fire times.  Pure: no database, no host
 * clock, no host time zone.  A struct sched is immutable after parsing, so
 * it may be shared between threads.
 *
 * Cron fields are wall-clock time in the job's zone.  A fixed-time job
 * (neither the minute nor the hour field starts with '*') fires once per
 * wall-clock match: a match inside a spring-forward gap fires at the first
 * instant after the gap (SCHED_MOVED), a match in a repeated hour fires at
 * its first occurrence only (SCHED_FOLD_FIRST), and matches that land on
 * one instant fire once (SCHED_MERGED).  A wildcard job fires at every
 * instant whose wall-clock time matches, so it follows elapsed time.
 * Interval jobs fire at anchor + k * period (k >= 0) and ignore the zone.
 */
#ifndef PGS_SCHED_H
#define PGS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

struct sched;
struct tz;

/* Flags describing how a fire time came about (sched_next). */
#define SCHED_MOVED	 0x1 /* wall time did not exist (DST gap) */
#define SCHED_MERGED	 0x2 /* several matches, one instant */
#define SCHED_FOLD_FIRST 0x4 /* first of a repeated wall time */

/* Room for one sched_describe_line() line, NUL included. */
#define SCHED_LINE_MAX 256

/* How far ahead sched_next() looks before giving up (400 years, one
 * Gregorian cycle: a possible cron date recurs within it). */
#define SCHED_HORIZON_S (400LL * 366 * 86400)

#define SCHED_MIN_INTERVAL_S 60

/*
 * Parses a schedule.  type is "cron" or "interval"; expr the expression
 * (for interval, NULL or "" means default_interval_s seconds); tzname an
 * IANA zone (NULL or "" means "UTC").  On success *out is owned by the
 * caller (sched_free).  Returns PGS_OK or PGS_INVALID with a one-line
 * message in err ("day-of-week: bad token 'mox'").  Cron expressions that
 * can never fire (day 30 only in February) are rejected here.
 */
enum pgs_rc sched_parse(const char *type, const char *expr, const char *tzname,
    int64_t default_interval_s, struct sched **out, char *err,
    size_t errlen) PGS_MUSTCHECK;

/* Like sched_parse() with an already loaded zone; the schedule takes its
 * own reference to tz (the caller keeps its own, e.g. a tz_cache's). */
enum pgs_rc sched_parse_tz(const char *type, const char *expr, struct tz *tz,
    int64_t default_interval_s, struct sched **out, char *err,
    size_t errlen) PGS_MUSTCHECK;

/* Frees s and drops its zone reference.  NULL is ok. */
void sched_free(struct sched *s);

/*
 * Computes the first fire time strictly after `after` (epoch seconds) into
 * *next and its SCHED_* flags into *flags (may be NULL).  anchor is the
 * interval anchor (job created_at or start_at), ignored for cron.  Returns
 * PGS_OK, PGS_NOTFOUND when nothing fires within SCHED_HORIZON_S or before
 * year 10000, or PGS_INVALID when `after` is outside years 1..9999.
 */
enum pgs_rc sched_next(const struct sched *s, int64_t anchor, int64_t after,
    int64_t *next, unsigned *flags) PGS_MUSTCHECK;

/*
 * Counts fires in (from, to] into *count, saturating at cap (so *count ==
 * cap means "cap or more"), and sets *last to the latest of them (0 when
 * *count is 0).  The work is linear in the number of days and transitions
 * in the range, never in the number of fires.  Returns PGS_OK or
 * PGS_INVALID for a range outside years 1..9999 or from > to.
 */
enum pgs_rc sched_count(const struct sched *s, int64_t anchor, int64_t from,
    int64_t to, int64_t cap, int64_t *count, int64_t *last) PGS_MUSTCHECK;

/* Returns true for a cron schedule whose minute and hour fields are both
 * restricted (one fire per wall-clock match). */
bool sched_is_fixed_time(const struct sched *s);

/* Returns true for an interval schedule and sets *period (may be NULL). */
bool sched_is_interval(const struct sched *s, int64_t *period);

/* Returns the schedule's zone (borrowed from s). */
struct tz *sched_tz(const struct sched *s);

/*
 * Writes the `pgsched-admin schedule next` line for fire time t with flags
 * into buf (n bytes, caller-owned; SCHED_LINE_MAX is enough):
 *   "2026-03-30T07:00:00Z  2026-03-30T09:00:00+02:00 CEST"
 * followed, two spaces apart, by "moved: 02:30 does not exist",
 * "...; merged into one fire" or "first of repeated 02:30" when a DST
 * rule moved or merged the slot.  Returns PGS_OK, or PGS_INVALID when buf
 * is too small (buf then holds a truncated line).
 */
enum pgs_rc sched_describe_line(const struct sched *s, int64_t t,
    unsigned flags, char *buf, size_t n) PGS_MUSTCHECK;

#endif
