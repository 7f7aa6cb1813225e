/*
 * query_rules.c: the settings of a saved query, their bounds and checks
 * (see query_rules.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "access.h"
#include "isotime.h"
#include "num.h"
#include "query_rules.h"
#include "sched.h"
#include "sqlguard.h"
#include "tz.h"
#include "utf8.h"

#define QUERY_NAME_MAX 128
#define QUERY_ERR_MAX  256 /* room for a tz, sched or isotime reason */

#define T(f, opt, max, null, req) \
	{ \
#f, opt, QUERY_TEXT, 0, max, offsetof(struct query, f), null, \
		    req \
	}
#define I(f, opt, min, max, null) \
	{ \
#f, opt, QUERY_INT, min, max, offsetof(struct query, f), null, \
		    false \
	}

static const struct query_setting query_settings[QF_COUNT] = {
	[QF_NAME] = T(name, "name", QUERY_NAME_MAX, false, true),
	[QF_TITLE] = T(title, "title", 200, false, true),
	[QF_DESCRIPTION] = T(description, "description", 10000, true, false),
	[QF_SQL_TEXT] = T(sql_text, "sql", SQLGUARD_MAX_LEN, false, true),
	[QF_SCHEDULE_TYPE] = T(schedule_type, "schedule-type", 16, false, true),
	[QF_SCHEDULE_EXPR] =
	    T(schedule_expr, "schedule-expr", 256, true, false),
	[QF_TIMEZONE] = T(timezone, "timezone", 255, false, false),
	[QF_START_AT] = T(start_at, "start-at", 64, true, false),
	[QF_TIMEOUT_MS] = I(timeout_ms, "timeout-ms", 100, 86400000, true),
	[QF_MAX_ROWS] = I(max_rows, "max-rows", 1, INT32_MAX, true),
	[QF_MAX_RETRIES] = I(max_retries, "max-retries", 0, 10, false),
	[QF_RETRY_DELAY_S] = I(retry_delay_s, "retry-delay", 1, 3600, false),
	[QF_PAUSE_AFTER_FAILURES] =
	    I(pause_after_failures, "pause-after-failures", 1, INT32_MAX, true),
	[QF_KEEP_RUNS] = I(keep_runs, "keep-runs", 1, INT32_MAX, true),
	[QF_KEEP_DAYS] = I(keep_days, "keep-days", 1, 365000, true),
	[QF_MAX_STALENESS] = { "max_staleness", "max-staleness", QUERY_DURATION,
	    QUERY_STALENESS_MIN, QUERY_STALENESS_MAX,
	    offsetof(struct query, max_staleness_s), true, false },
	[QF_VISIBILITY] = T(visibility, "visibility", 16, false, false),
};

#undef T
#undef I

const struct query_setting *
query_rules_table(void)
{
	return query_settings;
}

const struct query_setting *
query_rules_find(const char *name)
{
	int i;

	for (i = 0; i < QF_COUNT; i++)
		if (strcmp(query_settings[i].field, name) == 0)
			return &query_settings[i];
	return NULL;
}

void
query_rules_defaults(struct query *q, bool runs_public)
{
	memset(q, 0, sizeof(*q));
	q->visibility =
	    (char *)access_vis_name(access_vis_default(runs_public));
	q->enabled = true;
	q->timezone = "UTC";
	q->retry_delay_s = 60;
	q->last_run_duration_ms = -1;
}

bool
query_rules_name_grammar(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	/* ASCII only, whatever the locale: isalnum() is not. */
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') ||
			(i > 0 && strchr("_.-", s[i]) != NULL)))
			return false;
	return n > 0 && n <= max;
}

bool
query_rules_name_valid(const char *s)
{
	return query_rules_name_grammar(s, QUERY_NAME_MAX);
}

enum pgs_rc
query_rules_sql(struct field_errors *e, const char *field, const char *sql)
{
	struct sqlguard_err why;
	enum pgs_rc	    rc;

	rc = sqlguard_check(sql, &why);
	if (rc == PGS_INVALID)
		field_errors_add(e, field, "%s", why.message);
	else if (rc != PGS_OK)
		field_errors_add(e, field, "cannot be checked");
	return rc;
}

/* The checks of text setting f beyond its length: the name grammar, the
 * SQL guard, the schedule type, the zone, the instant of start_at.
 * Writes the value (start_at in UTC) to *dst when it passes. */
static void
query_rules_text(struct field_errors *e, enum query_field f, const char *s,
    char **dst)
{
	const char     *field = query_settings[f].field;
	char		err[QUERY_ERR_MAX], iso[ISOTIME_BUFSZ];
	struct tz      *z = NULL;
	int64_t		t;
	enum visibility vis;

	switch (f) {
	case QF_NAME:
		if (query_rules_name_valid(s))
			break;
		field_errors_add(e, field,
		    "must be 1-%d letters, digits, "
		    "'_', '.' or '-', starting with a letter or digit",
		    QUERY_NAME_MAX);
		return;
	case QF_SQL_TEXT:
		if (query_rules_sql(e, field, s) != PGS_OK)
			return;
		break;
	case QF_SCHEDULE_TYPE:
		if (strcmp(s, "cron") == 0 || strcmp(s, "interval") == 0)
			break;
		field_errors_add(e, field, "must be cron or interval");
		return;
	case QF_VISIBILITY:
		if (access_vis_parse(s, &vis))
			break;
		field_errors_add(e, field,
		    "must be public, internal or restricted");
		return;
	case QF_TIMEZONE:
		if (tz_load(s, &z, err, sizeof(err)) != PGS_OK) {
			field_errors_add(e, field, "%s", err);
			return;
		}
		tz_free(z);
		break;
	case QF_START_AT:
		if (isotime_parse(s, &t, NULL, err, sizeof(err)) != PGS_OK) {
			field_errors_add(e, field, "%s", err);
			return;
		}
		s = arena_strdup(e->a, isotime_format_utc(t, iso));
		break;
	default:
		break;
	}
	*dst = (char *)s;
}

/* The message of a value of the wrong type or out of s's bounds. */
static void
query_rules_bounds(struct field_errors *e, const struct query_setting *s)
{
	if (s->kind == QUERY_DURATION)
		field_errors_add(e, s->field,
		    "must be an ISO 8601 duration (PT6H, P1D) or a number of "
		    "seconds, from %ld to %ld seconds, or null",
		    s->min, s->max);
	else if (s->kind == QUERY_INT)
		field_errors_add(e, s->field,
		    "must be an integer from %ld to "
		    "%ld",
		    s->min, s->max);
	else
		field_errors_add(e, s->field,
		    "must be a string of at most %ld "
		    "bytes",
		    s->max);
}

/* Checks the text s of duration setting t and writes its seconds to
 * *dst. */
static void
query_rules_duration(struct field_errors *e, const struct query_setting *t,
    const char *s, int *dst)
{
	char	err[QUERY_ERR_MAX];
	int64_t secs;
	long	n;

	if (s[0] >= '0' && s[0] <= '9' && num_parse(s, 0, LONG_MAX, &n))
		secs = n;
	else if (isotime_parse_duration(s, &secs, err, sizeof(err)) != PGS_OK)
		secs = -1;
	if (secs < t->min || secs > t->max) {
		query_rules_bounds(e, t);
		return;
	}
	*dst = (int)secs;
}

/* Checks v, the value of setting f, and writes it over q. */
static void
query_rules_one(const struct query_value *v, enum query_field f, bool create,
    struct query *q, struct field_errors *e)
{
	const struct query_setting *s = &query_settings[f];
	char			   *p = (char *)q + s->off;
	enum query_given	    g = v->given;

	if (g == QUERY_NULL && !s->nullable)
		g = QUERY_ABSENT;
	if (g == QUERY_ABSENT && create && s->required)
		field_errors_add(e, s->field, "is required");
	else if (g == QUERY_NULL && s->kind != QUERY_TEXT)
		*(int *)(void *)p = 0;
	else if (g == QUERY_NULL)
		*(char **)(void *)p = NULL;
	else if (g == QUERY_BADTYPE)
		query_rules_bounds(e, s);
	else if (g != QUERY_VALUE)
		return;
	else if (s->kind == QUERY_INT && (v->num < s->min || v->num > s->max))
		query_rules_bounds(e, s);
	else if (s->kind == QUERY_INT)
		*(int *)(void *)p = (int)v->num;
	else if (s->kind == QUERY_DURATION)
		query_rules_duration(e, s, v->text != NULL ? v->text : "",
		    (int *)(void *)p);
	else if (v->text == NULL || strlen(v->text) > (size_t)s->max)
		query_rules_bounds(e, s);
	else if (!utf8_valid(v->text, strlen(v->text)))
		field_errors_add(e, s->field, "must be UTF-8 text");
	else
		query_rules_text(e, f, v->text, (char **)(void *)p);
}

/* Returns true when e holds an error of setting f. */
static bool
query_rules_refused(const struct field_errors *e, enum query_field f)
{
	return field_errors_get(e, query_settings[f].field) != NULL;
}

/* Checks type, expression and zone of q together, unless one of them was
 * refused already. */
static void
query_rules_schedule(const struct query *q, int default_interval_s,
    struct field_errors *e)
{
	struct sched *s = NULL;
	char	      err[QUERY_ERR_MAX];

	if (q->schedule_type == NULL ||
	    query_rules_refused(e, QF_SCHEDULE_TYPE) ||
	    query_rules_refused(e, QF_SCHEDULE_EXPR) ||
	    query_rules_refused(e, QF_TIMEZONE))
		return;
	if (sched_parse(q->schedule_type, q->schedule_expr, q->timezone,
		default_interval_s, &s, err, sizeof(err)) != PGS_OK)
		field_errors_add(e, query_settings[QF_SCHEDULE_EXPR].field,
		    "%s", err);
	sched_free(s);
}

enum pgs_rc
query_rules_apply(const struct query_input *in, bool create,
    int default_interval_s, struct query *q, struct field_errors *e)
{
	int i;

	for (i = 0; i < QF_COUNT; i++)
		query_rules_one(&in->v[i], (enum query_field)i, create, q, e);
	query_rules_schedule(q, default_interval_s, e);
	return e->n > 0 ? PGS_INVALID : PGS_OK;
}
