/*
 * t_sched.c: unit tests for src/sched.c.
 *
 * The table's expected fire times are derived by hand from the calendar
 * and the zone rules, never from the code under test:
 *  - weekdays: 2026-01-01 is a Thursday, so 2026-02-01 and 2026-03-01 are
 *    Sundays (Jan has 31 days, Feb 28), 2026-03-29 (last Sunday of March),
 *    2026-03-08 (second Sunday), 2026-10-04, 2026-10-25, 2026-11-01 and
 *    2026-09-27 are Sundays; 2028-02-29 is the next Feb 29.
 *  - Europe/Berlin: CET +1, CEST +2; 2026-03-29 01:00Z wall 02:00 -> 03:00,
 *    2026-10-25 01:00Z wall 03:00 -> 02:00 (02:00-02:59 twice).
 *  - America/New_York: EST -5, EDT -4; 2026-03-08 07:00Z wall 02:00 ->
 *    03:00; 2026-11-01 06:00Z wall 02:00 -> 01:00.
 *  - Australia/Lord_Howe: +10:30 / +11; 2026-10-03 15:30Z wall 02:00 ->
 *    02:30; 2026-04-04 15:00Z wall 02:00 -> 01:30.
 *  - Pacific/Chatham: +12:45 / +13:45; 2026-09-26 14:00Z wall 02:45 ->
 *    03:45.  Asia/Kathmandu +5:45.  Europe/Moscow +4 until 2014-10-25
 *    22:00Z (wall 02:00 -> 01:00), +3 after.
 * A fire is then UTC = wall - offset, computed by hand and written as an
 * ISO string; the test turns it into epoch seconds with glibc's timegm().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/sched.h"
#include "../../src/tz.h"

#define M SCHED_MOVED
#define G SCHED_MERGED
#define F SCHED_FOLD_FIRST

/* "YYYY-MM-DDTHH:MMZ" to epoch seconds, independently of isotime.c. */
static int64_t
ts(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%dT%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min) != 5)
		fail_msg("bad test time %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

struct fire {
	const char *utc;
	unsigned    flags;
};

struct ccase {
	const char *expr, *tz, *from;
	struct fire want[7];
};

static const struct ccase cases[] = {
	/* weekdays 09:00 Berlin from the spring-forward Sunday */
	{ "0 9 * * 1-5", "Europe/Berlin", "2026-03-29T00:00Z",
	    { { "2026-03-30T07:00Z", 0 }, { "2026-03-31T07:00Z", 0 },
		{ "2026-04-01T07:00Z", 0 }, { "2026-04-02T07:00Z", 0 },
		{ "2026-04-03T07:00Z", 0 }, { "2026-04-06T07:00Z", 0 } } },
	/* 02:30 does not exist on 03-29: fires at 03:00 CEST = 01:00Z */
	{ "30 2 * * *", "Europe/Berlin", "2026-03-28T00:00Z",
	    { { "2026-03-28T01:30Z", 0 }, { "2026-03-29T01:00Z", M },
		{ "2026-03-30T00:30Z", 0 } } },
	/* 02:00 and 02:30 both land on 03:00 CEST: one fire */
	{ "0,30 2 * * *", "Europe/Berlin", "2026-03-29T00:00Z",
	    { { "2026-03-29T01:00Z", M | G }, { "2026-03-30T00:00Z", 0 },
		{ "2026-03-30T00:30Z", 0 } } },
	/* repeated 02:30 on 10-25: first occurrence (CEST) only */
	{ "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00Z",
	    { { "2026-10-25T00:30Z", F }, { "2026-10-26T01:30Z", 0 } } },
	/* wildcard minute: follows elapsed time through both 02:xx hours */
	{ "*/30 2 * * *", "Europe/Berlin", "2026-10-24T23:59Z",
	    { { "2026-10-25T00:00Z", 0 }, { "2026-10-25T00:30Z", 0 },
		{ "2026-10-25T01:00Z", 0 }, { "2026-10-25T01:30Z", 0 },
		{ "2026-10-26T01:00Z", 0 } } },
	/* wildcard: nothing for the missing 02:xx */
	{ "*/10 * * * *", "Europe/Berlin", "2026-03-29T00:45Z",
	    { { "2026-03-29T00:50Z", 0 }, { "2026-03-29T01:00Z", 0 },
		{ "2026-03-29T01:10Z", 0 } } },
	{ "30 1 * * *", "America/New_York", "2026-10-31T12:00Z",
	    { { "2026-11-01T05:30Z", F }, { "2026-11-02T06:30Z", 0 } } },
	{ "30 2 * * *", "America/New_York", "2026-03-07T12:00Z",
	    { { "2026-03-08T07:00Z", M }, { "2026-03-09T06:30Z", 0 } } },
	/* 02:00 (missing) and 03:00 EDT are one instant */
	{ "0 2,3 * * *", "America/New_York", "2026-03-07T12:00Z",
	    { { "2026-03-08T07:00Z", M | G }, { "2026-03-09T06:00Z", 0 },
		{ "2026-03-09T07:00Z", 0 } } },
	/* wildcard in New York: both 01:xx hours */
	{ "*/30 * * * *", "America/New_York", "2026-11-01T04:45Z",
	    { { "2026-11-01T05:00Z", 0 }, { "2026-11-01T05:30Z", 0 },
		{ "2026-11-01T06:00Z", 0 }, { "2026-11-01T06:30Z", 0 },
		{ "2026-11-01T07:00Z", 0 } } },
	/* Lord Howe: 02:00 missing on 10-04 -> 02:30 +11 */
	{ "0 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00Z",
	    { { "2026-10-03T15:30Z", M }, { "2026-10-04T15:00Z", 0 } } },
	/* Lord Howe: 01:45 twice on 04-05, first at +11 */
	{ "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00Z",
	    { { "2026-04-04T14:45Z", F }, { "2026-04-05T15:15Z", 0 } } },
	{ "0 9 * * *", "Asia/Kathmandu", "2026-01-01T00:00Z",
	    { { "2026-01-01T03:15Z", 0 }, { "2026-01-02T03:15Z", 0 } } },
	/* Chatham: 03:00 missing on 09-27 -> 03:45 +13:45 = 14:00Z */
	{ "0 3 * * *", "Pacific/Chatham", "2026-09-26T00:00Z",
	    { { "2026-09-26T14:00Z", M }, { "2026-09-27T13:15Z", 0 } } },
	/* Moscow's last change of standard offset (+4 -> +3) */
	{ "0 12 * * *", "Europe/Moscow", "2014-10-25T00:00Z",
	    { { "2014-10-25T08:00Z", 0 }, { "2014-10-26T09:00Z", 0 } } },
	{ "30 1 * * *", "Europe/Moscow", "2014-10-25T00:00Z",
	    { { "2014-10-25T21:30Z", F }, { "2014-10-26T22:30Z", 0 } } },
	{ "0 0 29 2 *", "UTC", "2026-01-01T00:00Z",
	    { { "2028-02-29T00:00Z", 0 }, { "2032-02-29T00:00Z", 0 } } },
	{ "0 0 31 * *", "", "2026-01-01T00:00Z",
	    { { "2026-01-31T00:00Z", 0 }, { "2026-03-31T00:00Z", 0 },
		{ "2026-05-31T00:00Z", 0 }, { "2026-07-31T00:00Z", 0 },
		{ "2026-08-31T00:00Z", 0 }, { "2026-10-31T00:00Z", 0 } } },
	/* OR rule: the 13th or any Friday (Fridays 6,13,20,27 Feb/Mar) */
	{ "0 0 13 * 5", "UTC", "2026-02-01T00:00Z",
	    { { "2026-02-06T00:00Z", 0 }, { "2026-02-13T00:00Z", 0 },
		{ "2026-02-20T00:00Z", 0 }, { "2026-02-27T00:00Z", 0 },
		{ "2026-03-06T00:00Z", 0 }, { "2026-03-13T00:00Z", 0 } } },
	/* "*" prefix means unrestricted: odd days AND Fridays */
	{ "0 0 */2 * fri", "UTC", "2026-02-01T00:00Z",
	    { { "2026-02-13T00:00Z", 0 }, { "2026-02-27T00:00Z", 0 },
		{ "2026-03-13T00:00Z", 0 }, { "2026-03-27T00:00Z", 0 } } },
	/* OR with a month: the 1st or a Sunday, only in March */
	{ "0 0 1 mar sun", "UTC", "2026-01-01T00:00Z",
	    { { "2026-03-01T00:00Z", 0 }, { "2026-03-08T00:00Z", 0 },
		{ "2026-03-15T00:00Z", 0 } } },
	/* steps on ranges */
	{ "10-40/15 8-18/5 * * *", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-01T08:10Z", 0 }, { "2026-01-01T08:25Z", 0 },
		{ "2026-01-01T08:40Z", 0 }, { "2026-01-01T13:10Z", 0 },
		{ "2026-01-01T13:25Z", 0 } } },
	/* names, any case; Jan 1 2026 is a Thursday */
	{ "0 12 * JAN,jul Sun-TUE", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-04T12:00Z", 0 }, { "2026-01-05T12:00Z", 0 },
		{ "2026-01-06T12:00Z", 0 }, { "2026-01-11T12:00Z", 0 } } },
	/* 7 is Sunday too */
	{ "0 0 * * 7", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-04T00:00Z", 0 }, { "2026-01-11T00:00Z", 0 } } },
	{ "0 0 * * 5-7", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-02T00:00Z", 0 }, { "2026-01-03T00:00Z", 0 },
		{ "2026-01-04T00:00Z", 0 }, { "2026-01-09T00:00Z", 0 } } },
	/* "5/15" is 5-59/15 */
	{ "5/15 0 * * *", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-01T00:05Z", 0 }, { "2026-01-01T00:20Z", 0 },
		{ "2026-01-01T00:35Z", 0 }, { "2026-01-01T00:50Z", 0 },
		{ "2026-01-02T00:05Z", 0 } } },
	{ "@hourly", "UTC", "2026-01-01T00:30Z",
	    { { "2026-01-01T01:00Z", 0 }, { "2026-01-01T02:00Z", 0 } } },
	{ "@daily", "UTC", "2026-01-01T00:30Z",
	    { { "2026-01-02T00:00Z", 0 } } },
	{ "@midnight", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-02T00:00Z", 0 } } },
	{ "@weekly", "UTC", "2026-01-01T00:00Z",
	    { { "2026-01-04T00:00Z", 0 }, { "2026-01-11T00:00Z", 0 } } },
	{ "@monthly", "UTC", "2026-01-01T00:00Z",
	    { { "2026-02-01T00:00Z", 0 }, { "2026-03-01T00:00Z", 0 } } },
	{ "@YEARLY", "UTC", "2026-01-01T00:00Z",
	    { { "2027-01-01T00:00Z", 0 } } },
	{ "  @annually  ", "UTC", "2026-01-01T00:00Z",
	    { { "2027-01-01T00:00Z", 0 } } },
	/* @daily in Berlin is fixed-time, @hourly is not */
	{ "@hourly", "Europe/Berlin", "2026-03-29T00:30Z",
	    { { "2026-03-29T01:00Z", 0 }, { "2026-03-29T02:00Z", 0 } } },
};

static void
t_table(void **state)
{
	struct sched *s;
	char	      err[256];
	int64_t	      t, next;
	unsigned      flags;
	size_t	      i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (sched_parse("cron", cases[i].expr, cases[i].tz, 0, &s, err,
			sizeof(err)) != PGS_OK)
			fail_msg("%s: %s", cases[i].expr, err);
		t = ts(cases[i].from);
		for (k = 0; k < 7 && cases[i].want[k].utc != NULL; k++) {
			assert_int_equal(sched_next(s, 0, t, &next, &flags),
			    PGS_OK);
			if (next != ts(cases[i].want[k].utc) ||
			    flags != cases[i].want[k].flags)
				fail_msg("case %zu '%s' %s fire %zu: got %lld "
					 "flags %u, want %s flags %u",
				    i, cases[i].expr, cases[i].tz, k,
				    (long long)next, flags,
				    cases[i].want[k].utc,
				    cases[i].want[k].flags);
			t = next;
		}
		sched_free(s);
	}
}

struct ecase {
	const char *type, *expr, *tz, *msg;
};

static const struct ecase errors[] = {
	{ "cron", "60 * * * *", NULL, "minute: 60 is out of range 0-59" },
	{ "cron", "0 24 * * *", NULL, "hour: 24 is out of range 0-23" },
	{ "cron", "0 0 0 * *", NULL, "day-of-month: 0 is out of range 1-31" },
	{ "cron", "0 0 * 13 *", NULL, "month: 13 is out of range 1-12" },
	{ "cron", "0 0 * * 8", NULL, "day-of-week: 8 is out of range 0-7" },
	{ "cron", "0 0 * * mox", NULL, "day-of-week: bad token 'mox'" },
	{ "cron", "0 0 * jab *", NULL, "month: bad token 'jab'" },
	{ "cron", "0 0 * * monday", NULL, "day-of-week: bad token 'monday'" },
	{ "cron", "x 0 * * *", NULL, "minute: bad token 'x'" },
	{ "cron", "0 mon * * *", NULL, "hour: bad token 'mon'" },
	{ "cron", "-5 0 * * *", NULL, "minute: bad token ''" },
	{ "cron", "*/0 * * * *", NULL, "minute: step 0 is out of range 1-59" },
	{ "cron", "0 */24 * * *", NULL, "hour: step 24 is out of range 1-23" },
	{ "cron", "*/x * * * *", NULL, "minute: bad step 'x'" },
	{ "cron", "*/ * * * *", NULL, "minute: bad step ''" },
	{ "cron", "0 0 20-10 * *", NULL,
	    "day-of-month: range 20-10 is backwards" },
	{ "cron", "0 0 1 1,,2 *", NULL, "month: empty list item" },
	{ "cron", "0 0 * *", NULL,
	    "cron: expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 4" },
	{ "cron", "0 0 * * * *", NULL,
	    "cron: expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 6" },
	{ "cron", "", NULL,
	    "cron: expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 0" },
	{ "cron", "@reboot", NULL,
	    "cron: @reboot is not supported (the "
	    "runner is started by cron every minute and has no boot)" },
	{ "cron", "@fortnightly", NULL,
	    "cron: unknown macro '@fortnightly' "
	    "(use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
	    "@annually)" },
	{ "cron", "0 0 30 2 *", NULL,
	    "day-of-month: no selected day exists "
	    "in the selected months, so this schedule never fires" },
	{ "cron", "0 0 31 4,6,9,11 */2", NULL,
	    "day-of-month: no selected "
	    "day exists in the selected months, so this schedule never "
	    "fires" },
	{ "cron", "0 0 * * *", "Mars/Base", "unknown time zone 'Mars/Base'" },
	{ "cron", "0 0 * * *", "../../etc/passwd",
	    "unknown time zone '../../etc/passwd'" },
	{ "weekly", "0 0 * * *", NULL,
	    "schedule type must be 'cron' or 'interval'" },
	{ "interval", "PT30S", NULL,
	    "interval: 30 s is shorter than the minimum of 60 s" },
	{ "interval", "59", NULL,
	    "interval: 59 s is shorter than the minimum of 60 s" },
	{ "interval", "P1M", NULL,
	    "interval: 'P1M': months and years have "
	    "no fixed length; use days (P30D) or a cron expression" },
	{ "interval", "P1Y2D", NULL,
	    "interval: 'P1Y2D': months and years "
	    "have no fixed length; use days (P30D) or a cron expression" },
	{ "interval", "PT", NULL,
	    "interval: bad duration 'PT': use ISO 8601 "
	    "like PT15M, PT6H, P1D, P1DT12H, P1W or a number of seconds" },
	{ "interval", "P1DT", NULL,
	    "interval: bad duration 'P1DT': use ISO "
	    "8601 like PT15M, PT6H, P1D, P1DT12H, P1W or a number of seconds" },
	{ "interval", "PT1.5H", NULL,
	    "interval: bad duration 'PT1.5H': use "
	    "ISO 8601 like PT15M, PT6H, P1D, P1DT12H, P1W or a number of "
	    "seconds" },
	{ "interval", "P6H", NULL,
	    "interval: bad duration 'P6H': use ISO "
	    "8601 like PT15M, PT6H, P1D, P1DT12H, P1W or a number of seconds" },
	{ "interval", "PT5M1H", NULL,
	    "interval: bad duration 'PT5M1H': use "
	    "ISO 8601 like PT15M, PT6H, P1D, P1DT12H, P1W or a number of "
	    "seconds" },
	{ "interval", "-60", NULL,
	    "interval: bad duration '-60': use ISO "
	    "8601 like PT15M, PT6H, P1D, P1DT12H, P1W or a number of seconds" },
	{ "interval", "P40000D", NULL, "interval: longer than 100 years" },
};

static void
t_errors(void **state)
{
	struct sched *s;
	char	      err[256], big[400];
	size_t	      i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		s = (struct sched *)1;
		err[0] = '\0';
		assert_int_equal(sched_parse(errors[i].type, errors[i].expr,
				     errors[i].tz, 3600, &s, err, sizeof(err)),
		    PGS_INVALID);
		assert_null(s);
		if (strcmp(err, errors[i].msg) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"",
			    errors[i].expr, err, errors[i].msg);
	}
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + 1, "* * * * *", 9);
	big[300] = 'x';
	assert_int_equal(sched_parse("cron", big, NULL, 0, &s, err,
			     sizeof(err)),
	    PGS_INVALID);
	assert_string_equal(err,
	    "cron: expression longer than 256 "
	    "characters");
	/* the default interval is checked like an explicit one */
	assert_int_equal(sched_parse("interval", "", NULL, 30, &s, err,
			     sizeof(err)),
	    PGS_INVALID);
	assert_string_equal(err,
	    "interval: 30 s is shorter than the minimum of 60 s");
}

static void
expect_interval(const char *expr, int64_t period)
{
	struct sched *s;
	char	      err[256];
	int64_t	      p = 0;

	if (sched_parse("interval", expr, "Europe/Berlin", 21600, &s, err,
		sizeof(err)) != PGS_OK)
		fail_msg("%s: %s", expr, err);
	assert_true(sched_is_interval(s, &p));
	assert_false(sched_is_fixed_time(s));
	assert_int_equal(p, period);
	sched_free(s);
}

static void
t_interval(void **state)
{
	struct sched *s;
	char	      err[256];
	int64_t	      a = ts("2026-03-28T22:17Z"), n, c, last;

	(void)state;
	expect_interval("PT6H", 21600);
	expect_interval("PT15M", 900);
	expect_interval("P1D", 86400);
	expect_interval("P1DT12H", 129600);
	expect_interval("PT90S", 90);
	expect_interval("P2W", 1209600);
	expect_interval("p1dt1h1m1s", 90061);
	expect_interval("3600", 3600);
	expect_interval("", 21600);
	expect_interval(NULL, 21600);
	assert_int_equal(sched_parse("interval", "PT6H", "Europe/Berlin", 0, &s,
			     err, sizeof(err)),
	    PGS_OK);
	/* anchored at a, not at the clock; the DST change does not move it */
	assert_int_equal(sched_next(s, a, a - 100, &n, NULL), PGS_OK);
	assert_int_equal(n, a);
	assert_int_equal(sched_next(s, a, a, &n, NULL), PGS_OK);
	assert_int_equal(n, a + 21600);
	assert_int_equal(sched_next(s, a, a + 21600, &n, NULL), PGS_OK);
	assert_int_equal(n, a + 43200);
	assert_int_equal(sched_next(s, a, a + 86400 * 3 + 5, &n, NULL), PGS_OK);
	assert_int_equal(n, a + 86400 * 3 + 21600);
	/* slots a+6h .. a+48h lie in (a, a+48h+1]: 8 of them */
	assert_int_equal(sched_count(s, a, a, a + 172801, 1000, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 8);
	assert_int_equal(last, a + 172800);
	assert_int_equal(sched_count(s, a, a - 1, a + 172801, 3, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 3);
	assert_int_equal(last, a + 172800);
	assert_int_equal(sched_count(s, a, a - 50, a - 1, 10, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 0);
	sched_free(s);
}

static void
t_describe(void **state)
{
	struct sched *s;
	char	      err[256], line[SCHED_LINE_MAX];
	int64_t	      t;
	unsigned      fl;

	(void)state;
	assert_int_equal(sched_parse("cron", "0 9 * * 1-5", "Europe/Berlin", 0,
			     &s, err, sizeof(err)),
	    PGS_OK);
	assert_true(sched_is_fixed_time(s));
	assert_int_equal(sched_next(s, 0, ts("2026-03-29T00:00Z"), &t, &fl),
	    PGS_OK);
	assert_int_equal(sched_describe_line(s, t, fl, line, sizeof(line)),
	    PGS_OK);
	assert_string_equal(line,
	    "2026-03-30T07:00:00Z  2026-03-30T09:00:00+02:00 CEST");
	assert_int_equal(sched_describe_line(s, t, fl, line, 20), PGS_INVALID);
	sched_free(s);
	assert_int_equal(sched_parse("cron", "0,30 2 * * *", "Europe/Berlin", 0,
			     &s, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(sched_next(s, 0, ts("2026-03-29T00:00Z"), &t, &fl),
	    PGS_OK);
	assert_int_equal(sched_describe_line(s, t, fl, line, sizeof(line)),
	    PGS_OK);
	assert_string_equal(line,
	    "2026-03-29T01:00:00Z  2026-03-29T03:00:00"
	    "+02:00 CEST  moved: 02:00, 02:30 do not exist; merged into one "
	    "fire");
	sched_free(s);
	assert_int_equal(sched_parse("cron", "30 1 * * *", "America/New_York",
			     0, &s, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(sched_next(s, 0, ts("2026-10-31T12:00Z"), &t, &fl),
	    PGS_OK);
	assert_int_equal(sched_describe_line(s, t, fl, line, sizeof(line)),
	    PGS_OK);
	assert_string_equal(line,
	    "2026-11-01T05:30:00Z  2026-11-01T01:30:00"
	    "-04:00 EDT  first of repeated 01:30 (fires once)");
	sched_free(s);
	assert_int_equal(sched_parse("cron", "0 2 * * *", "Australia/Lord_Howe",
			     0, &s, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(sched_next(s, 0, ts("2026-10-03T00:00Z"), &t, &fl),
	    PGS_OK);
	assert_int_equal(sched_describe_line(s, t, fl, line, sizeof(line)),
	    PGS_OK);
	assert_string_equal(line,
	    "2026-10-03T15:30:00Z  2026-10-04T02:30:00"
	    "+11:00 +11  moved: 02:00 does not exist");
	assert_false(sched_is_interval(s, NULL));
	sched_free(s);
}

static void
t_fixed_time(void **state)
{
	static const struct {
		const char *expr;
		bool	    fixed;
	} f[] = {
		{ "0 9 * * *", true },
		{ "*/5 9 * * *", false },
		{ "0 * * * *", false },
		{ "0-59 0-23 * * *", true },
		{ "@hourly", false },
		{ "@daily", true },
		{ "@weekly", true },
		{ "5,10 */2 * * *", false },
	};
	struct sched *s;
	char	      err[256];
	size_t	      i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		assert_int_equal(sched_parse("cron", f[i].expr, "UTC", 0, &s,
				     err, sizeof(err)),
		    PGS_OK);
		assert_int_equal(sched_is_fixed_time(s), f[i].fixed);
		sched_free(s);
	}
}

/* Counts fires by calling sched_next repeatedly. */
static int64_t
count_by_next(const struct sched *s, int64_t from, int64_t to, int64_t *last)
{
	int64_t t = from, n = 0;

	*last = 0;
	while (sched_next(s, 0, t, &t, NULL) == PGS_OK && t <= to) {
		*last = t;
		n++;
	}
	return n;
}

static void
t_count(void **state)
{
	struct sched *s;
	char	      err[256];
	int64_t	      from, to, c, last;
	clock_t	      c0;
	double	      ms;

	(void)state;
	/* a year in Berlin: local 2026-01-01 00:00 is 2025-12-31T23:00Z */
	from = ts("2025-12-31T23:00Z") - 1;
	to = ts("2026-12-31T23:00Z") - 1;
	assert_int_equal(sched_parse("cron", "* * * * *", "Europe/Berlin", 0,
			     &s, err, sizeof(err)),
	    PGS_OK);
	c0 = clock();
	assert_int_equal(sched_count(s, 0, from, to, INT64_MAX, &c, &last),
	    PGS_OK);
	ms = (double)(clock() - c0) * 1000.0 / CLOCKS_PER_SEC;
	/* elapsed minutes of 365 days */
	assert_int_equal(c, 525600);
	assert_int_equal(last, ts("2026-12-31T22:59Z"));
	if (ms > 100.0)
		fail_msg("count over a year took %.1f ms", ms);
	assert_int_equal(sched_count(s, 0, from, to, 10, &c, &last), PGS_OK);
	assert_int_equal(c, 10);
	assert_int_equal(last, ts("2026-12-31T22:59Z"));
	sched_free(s);
	/* fixed-time every minute: the 60 missing wall minutes of 03-29
	 * plus 03:00 make one fire; the repeated hour fires once */
	assert_int_equal(sched_parse("cron", "0-59 0-23 * * *", "Europe/Berlin",
			     0, &s, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(sched_count(s, 0, from, to, INT64_MAX, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 525600 - 60);
	sched_free(s);
	assert_int_equal(sched_parse("cron", "0 0 30 2 *", "UTC", 0, &s, err,
			     sizeof(err)),
	    PGS_INVALID);
	assert_int_equal(sched_parse("cron", "0 0 29 2 *", "UTC", 0, &s, err,
			     sizeof(err)),
	    PGS_OK);
	assert_int_equal(sched_count(s, 0, ts("2026-01-01T00:00Z"),
			     ts("2037-01-01T00:00Z"), 100, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 3); /* 2028, 2032, 2036 */
	assert_int_equal(last, ts("2036-02-29T00:00Z"));
	assert_int_equal(sched_count(s, 0, 10, 5, 100, &c, &last), PGS_INVALID);
	assert_int_equal(sched_next(s, 0, 253402300799LL, &c, NULL),
	    PGS_NOTFOUND);
	assert_int_equal(sched_next(s, 0, 253402300800LL, &c, NULL),
	    PGS_INVALID);
	sched_free(s);
}

/* A small deterministic generator (xorshift) for the property checks. */
static uint64_t rng_state = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static void
rand_field(char *buf, size_t n, int lo, int hi)
{
	int a = lo + (int)rnd((unsigned)(hi - lo + 1)), b;

	b = a + (int)rnd((unsigned)(hi - a + 1));
	switch (rnd(6)) {
	case 0:
		snprintf(buf, n, "*");
		break;
	case 1:
		snprintf(buf, n, "*/%u", 1 + rnd(12));
		break;
	case 2:
		snprintf(buf, n, "%d", a);
		break;
	case 3:
		snprintf(buf, n, "%d-%d", a, b);
		break;
	case 4:
		snprintf(buf, n, "%d-%d/%u", a, b, 1 + rnd(5));
		break;
	default:
		snprintf(buf, n, "%d,%d", a, b);
		break;
	}
}

static void
check_chain(const struct sched *s, int64_t from)
{
	struct tz *tz = sched_tz(s);
	int64_t	   t = from, next, walls[40], c, last, first = 0;
	unsigned   flags;
	int	   i, j, n = 0;

	for (i = 0; i < 40; i++) {
		if (sched_next(s, 0, t, &next, &flags) != PGS_OK)
			break;
		assert_true(next > t); /* strictly increasing */
		if (i == 0)
			first = next;
		/* a fixed-time job never fires twice for one wall time */
		if (sched_is_fixed_time(s) && (flags & SCHED_MOVED) == 0) {
			walls[n] = next + tz_utc_offset(tz, next, NULL);
			for (j = 0; j < n; j++)
				assert_true(walls[j] != walls[n]);
			n++;
		}
		if (!sched_is_fixed_time(s))
			assert_int_equal(flags, 0);
		t = next;
	}
	if (i == 0)
		return;
	/* sched_count agrees with repeated sched_next */
	assert_int_equal(sched_count(s, 0, from, t, INT64_MAX, &c, &last),
	    PGS_OK);
	assert_int_equal(c, i);
	assert_int_equal(last, t);
	assert_int_equal(count_by_next(s, from, t, &last), i);
	assert_int_equal(sched_count(s, 0, from, first - 1, 5, &c, &last),
	    PGS_OK);
	assert_int_equal(c, 0);
}

static void
t_properties(void **state)
{
	static const char *const zones[] = { "UTC", "Europe/Berlin",
		"America/New_York", "Australia/Lord_Howe", "Pacific/Chatham",
		"Asia/Kathmandu", "America/Santiago", "Europe/Moscow",
		"America/Caracas", "Pacific/Apia", "Antarctica/Troll" };
	static const int	 lo[5] = { 0, 0, 1, 1, 0 },
			 hi[5] = { 59, 23, 31, 12, 7 };
	struct sched *s;
	char	      expr[128], f[5][24], err[256];
	int	      i, k, parsed = 0;
	int64_t	      from;

	(void)state;
	for (i = 0; i < 3000; i++) {
		for (k = 0; k < 5; k++)
			rand_field(f[k], sizeof(f[k]), lo[k], hi[k]);
		if (rnd(3) == 0) /* dense days find more DST edges */
			snprintf(f[2], sizeof(f[2]), "*");
		snprintf(expr, sizeof(expr), "%s %s %s %s %s", f[0], f[1], f[2],
		    f[3], f[4]);
		if (sched_parse("cron", expr, zones[rnd(11)], 0, &s, err,
			sizeof(err)) != PGS_OK)
			continue;
		parsed++;
		/* 1990-2060, plus a bias towards March/October/November */
		from = 631152000 + (int64_t)rnd(70) * 31556952 +
		    (int64_t)rnd(31556952);
		check_chain(s, from);
		sched_free(s);
	}
	assert_true(parsed > 2500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_table),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_interval),
		cmocka_unit_test(t_describe),
		cmocka_unit_test(t_fixed_time),
		cmocka_unit_test(t_count),
		cmocka_unit_test(t_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
