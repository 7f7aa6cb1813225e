/*
 * t_query_rules.c: the settings both doors check (query_rules) and the
 * JSON shapes both doors print (shape), without a database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/isotime.h"
#include "../../src/json.h"
#include "../../src/query_rules.h"
#include "../../src/shape.h"

/* A new query's input with the required settings, and one text or
 * integer value of setting f. */
static void
input(struct query_input *in, enum query_field f, const char *text, long num,
    enum query_given g)
{
	memset(in, 0, sizeof(*in));
	in->v[QF_NAME] = (struct query_value){ QUERY_VALUE, "q1", 0 };
	in->v[QF_TITLE] = (struct query_value){ QUERY_VALUE, "Q1", 0 };
	in->v[QF_SQL_TEXT] = (struct query_value){ QUERY_VALUE, "SELECT 1", 0 };
	in->v[QF_SCHEDULE_TYPE] =
	    (struct query_value){ QUERY_VALUE, "interval", 0 };
	in->v[QF_SCHEDULE_EXPR] =
	    (struct query_value){ QUERY_VALUE, "PT1H", 0 };
	if (f != QF_COUNT)
		in->v[f] = (struct query_value){ g, text, num };
}

/* Applies in to a new query (create) or to q; returns the message of
 * field, NULL when it was accepted. */
static const char *
apply(struct arena *a, const struct query_input *in, bool create,
    struct query *q, const char *field)
{
	struct field_errors e;
	enum pgs_rc	    rc;

	if (create)
		query_rules_defaults(q, true);
	field_errors_init(&e, a);
	rc = query_rules_apply(in, create, 3600, q, &e);
	assert_int_equal(rc, e.n > 0 ? PGS_INVALID : PGS_OK);
	return field_errors_get(&e, field);
}

static void
t_int_bounds(void **state)
{
	const struct query_setting *t = query_rules_table();
	struct query_input	    in;
	struct query		    q;
	struct arena		    a;
	char			    want[96];
	int			    f;

	(void)state;
	arena_init(&a);
	for (f = 0; f < QF_COUNT; f++) {
		if (t[f].kind != QUERY_INT)
			continue;
		snprintf(want, sizeof(want),
		    "must be an integer from %ld to "
		    "%ld",
		    t[f].min, t[f].max);
		input(&in, (enum query_field)f, NULL, t[f].min, QUERY_VALUE);
		assert_null(apply(&a, &in, true, &q, t[f].field));
		assert_int_equal(*(int *)(void *)((char *)&q + t[f].off),
		    t[f].min);
		input(&in, (enum query_field)f, NULL, t[f].max, QUERY_VALUE);
		assert_null(apply(&a, &in, true, &q, t[f].field));
		input(&in, (enum query_field)f, NULL, t[f].min - 1,
		    QUERY_VALUE);
		assert_string_equal(apply(&a, &in, true, &q, t[f].field), want);
		input(&in, (enum query_field)f, NULL, t[f].max + 1,
		    QUERY_VALUE);
		assert_string_equal(apply(&a, &in, true, &q, t[f].field), want);
		input(&in, (enum query_field)f, "x", 0, QUERY_BADTYPE);
		assert_string_equal(apply(&a, &in, true, &q, t[f].field), want);
	}
	/* The bounds of the database's CHECKs and integer columns. */
	assert_int_equal(t[QF_TIMEOUT_MS].min, 100);
	assert_int_equal(t[QF_TIMEOUT_MS].max, 86400000);
	assert_int_equal(t[QF_MAX_ROWS].max, INT32_MAX);
	assert_int_equal(t[QF_KEEP_DAYS].max, 365000);
	arena_free(&a);
}

static void
t_null_and_required(void **state)
{
	struct query_input in;
	struct query	   q;
	struct arena	   a;

	(void)state;
	arena_init(&a);
	/* null unsets a nullable setting ... */
	input(&in, QF_MAX_ROWS, NULL, 5, QUERY_VALUE);
	assert_null(apply(&a, &in, true, &q, "max_rows"));
	assert_int_equal(q.max_rows, 5);
	memset(&in, 0, sizeof(in));
	in.v[QF_MAX_ROWS].given = QUERY_NULL;
	in.v[QF_DESCRIPTION].given = QUERY_NULL;
	q.description = "d";
	assert_null(apply(&a, &in, false, &q, "max_rows"));
	assert_int_equal(q.max_rows, 0);
	assert_null(q.description);
	/* ... and leaves the others as they are (absent). */
	in.v[QF_MAX_RETRIES].given = QUERY_NULL;
	q.max_retries = 3;
	assert_null(apply(&a, &in, false, &q, "max_retries"));
	assert_int_equal(q.max_retries, 3);
	/* A new query needs its name, title, SQL and schedule type. */
	input(&in, QF_TITLE, NULL, 0, QUERY_ABSENT);
	assert_string_equal(apply(&a, &in, true, &q, "title"), "is required");
	memset(&in, 0, sizeof(in));
	q.title = "kept";
	assert_null(apply(&a, &in, false, &q, "title"));
	assert_string_equal(q.title, "kept");
	arena_free(&a);
}

static void
t_names(void **state)
{
	static const char *const good[] = { "a", "Z9", "a.b_c-d", "9lives",
		NULL };
	static const char *const bad[] = { "", "-x", "_x", ".x", "a b", "a/b",
		"caf\xc3\xa9", "a'b", "a\tb", NULL };
	char			 n[130];
	int			 i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		assert_true(query_rules_name_valid(good[i]));
	for (i = 0; bad[i] != NULL; i++)
		assert_false(query_rules_name_valid(bad[i]));
	memset(n, 'n', sizeof(n));
	n[128] = '\0';
	assert_true(query_rules_name_valid(n));
	n[128] = 'n';
	n[129] = '\0';
	assert_false(query_rules_name_valid(n));
}

static void
t_texts(void **state)
{
	struct query_input in;
	struct query	   q;
	struct arena	   a;
	char		   long_title[202];

	(void)state;
	arena_init(&a);
	memset(long_title, 't', sizeof(long_title));
	long_title[201] = '\0';
	input(&in, QF_TITLE, long_title, 0, QUERY_VALUE);
	assert_string_equal(apply(&a, &in, true, &q, "title"),
	    "must be a string of at most 200 bytes");
	long_title[200] = '\0';
	assert_null(apply(&a, &in, true, &q, "title"));
	input(&in, QF_DESCRIPTION, "bad \xff", 0, QUERY_VALUE);
	assert_string_equal(apply(&a, &in, true, &q, "description"),
	    "must be UTF-8 text");
	input(&in, QF_SQL_TEXT, "DELETE FROM t", 0, QUERY_VALUE);
	assert_non_null(strstr(apply(&a, &in, true, &q, "sql_text"), "DELETE"));
	input(&in, QF_SCHEDULE_TYPE, "hourly", 0, QUERY_VALUE);
	assert_string_equal(apply(&a, &in, true, &q, "schedule_type"),
	    "must be cron or interval");
	/* start_at is kept in UTC. */
	input(&in, QF_START_AT, "2026-01-01T10:00:00+02:00", 0, QUERY_VALUE);
	assert_null(apply(&a, &in, true, &q, "start_at"));
	assert_string_equal(q.start_at, "2026-01-01T08:00:00Z");
	input(&in, QF_TIMEZONE, "Mars/Olympus", 0, QUERY_VALUE);
	assert_non_null(apply(&a, &in, true, &q, "timezone"));
	arena_free(&a);
}

static void
t_schedule(void **state)
{
	struct query_input  in;
	struct field_errors e;
	struct query	    q;
	struct arena	    a;
	int		    f;

	(void)state;
	arena_init(&a);
	/* The expression is checked against the type it goes with. */
	input(&in, QF_SCHEDULE_TYPE, "cron", 0, QUERY_VALUE);
	assert_non_null(apply(&a, &in, true, &q, "schedule_expr"));
	in.v[QF_SCHEDULE_EXPR].text = "0 9 * * 1-5";
	assert_null(apply(&a, &in, true, &q, "schedule_expr"));
	/* An edit of the type alone is checked with the stored expression. */
	memset(&in, 0, sizeof(in));
	in.v[QF_SCHEDULE_TYPE] =
	    (struct query_value){ QUERY_VALUE, "interval", 0 };
	assert_non_null(apply(&a, &in, false, &q, "schedule_expr"));
	/* A refused zone is not reported again as a bad expression. */
	input(&in, QF_TIMEZONE, "Nowhere/X", 0, QUERY_VALUE);
	assert_null(apply(&a, &in, true, &q, "schedule_expr"));
	/* Every setting wrong at once: one error each, none lost. */
	memset(&in, 0, sizeof(in));
	for (f = 0; f < QF_COUNT; f++)
		in.v[f].given = QUERY_BADTYPE;
	query_rules_defaults(&q, true);
	field_errors_init(&e, &a);
	assert_int_equal(query_rules_apply(&in, true, 3600, &q, &e),
	    PGS_INVALID);
	assert_int_equal(e.n, QF_COUNT);
	arena_free(&a);
}

static void
t_shapes(void **state)
{
	char	    buf[ISOTIME_BUFSZ];
	struct run  x;
	struct user u;
	cJSON	   *o;

	(void)state;
	assert_string_equal(isotime_from_pg("2026-03-29 12:00:00.5+00", buf),
	    "2026-03-29T12:00:00.5Z");
	assert_string_equal(isotime_from_pg("2026-03-29 12:00:00+00", buf),
	    "2026-03-29T12:00:00Z");
	assert_null(isotime_from_pg(NULL, buf));
	memset(&u, 0, sizeof(u));
	u.id = 7;
	u.email = "a@example.com";
	u.created_at = "2026-03-29 12:00:00.123456+00";
	o = shape_user(&u);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "name")));
	assert_string_equal(cJSON_GetObjectItem(o, "created_at")->valuestring,
	    "2026-03-29T12:00:00.123456Z");
	cJSON_Delete(o);
	/* Who may read a run's error message is the door's to say. */
	memset(&x, 0, sizeof(x));
	x.id = 42;
	x.status = "error";
	x.error_message = "connection to server at \"db.internal\" failed";
	o = shape_run(&x, false);
	assert_string_equal(cJSON_GetObjectItem(o, "error_message")
				->valuestring,
	    cJSON_GetObjectItem(o, "error_class")->valuestring);
	assert_string_equal(cJSON_GetObjectItem(o, "_link")->valuestring,
	    "/api/runs/42");
	cJSON_Delete(o);
	o = shape_run(&x, true);
	assert_string_equal(cJSON_GetObjectItem(o, "error_message")
				->valuestring,
	    x.error_message);
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_int_bounds),
		cmocka_unit_test(t_null_and_required),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_texts),
		cmocka_unit_test(t_schedule),
		cmocka_unit_test(t_shapes),
	};

	json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
