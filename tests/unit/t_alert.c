/*
 * t_alert.c: alert evaluation (src/alert.c) on result documents as
 * result.c writes them, and the Slack and e-mail renderings of a webhook
 * payload (src/notify_render.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../../src/alert.h"
#include "../../src/arena.h"
#include "../../src/buf.h"
#include "../../src/json.h"
#include "../../src/notify.h"

#define DOC(rows) \
	"{\"data\":[" rows "],\"schema\":{\"fields\":[{\"name\":\"index\"," \
	"\"type\":\"integer\"}],\"primaryKey\":[\"index\"]," \
	"\"pandas_version\":\"1.4.0\"}}"

/* Returns whether the alert holds (asserting it could be evaluated). */
static bool
holds(const char *kind, const char *col, const char *op, const char *v,
    bool num, long rows, const char *doc)
{
	struct alert_def d = { kind, col, op, v, num };
	char		 err[ALERT_ERROR_SIZE];
	bool		 h;

	assert_int_equal(alert_eval(&d, rows, doc, strlen(doc), &h, err),
	    PGS_OK);
	return h;
}

static void
t_rows(void **state)
{
	const char *doc = DOC("{\"index\":0,\"n\":1}");

	(void)state;
	assert_true(holds("rows", NULL, ">", "0", true, 1, doc));
	assert_false(holds("rows", NULL, ">", "1", true, 1, doc));
	assert_true(holds("rows", NULL, ">=", "1", true, 1, doc));
	assert_true(holds("rows", NULL, "<", "2", true, 1, doc));
	assert_true(holds("rows", NULL, "<=", "1", true, 1, doc));
	assert_true(holds("rows", NULL, "=", "1", true, 1, doc));
	assert_true(holds("rows", NULL, "!=", "0", true, 1, doc));
	assert_true(holds("rows", NULL, "=", "0", true, 0, DOC("")));
}

static void
t_values(void **state)
{
	const char *doc = DOC("{\"index\":0,\"n\":12.5,\"big\":"
			      "\"123456789012345678901\",\"s\":\"abc\","
			      "\"b\":true,\"z\":null},{\"index\":1,\"n\":0}");

	(void)state;
	assert_true(holds("value", "n", ">", "10", true, 2, doc));
	assert_false(holds("value", "n", ">", "12.5", true, 2, doc));
	assert_true(holds("value", "n", "=", "12.50", true, 2, doc));
	assert_true(holds("value", "big", ">", "1e20", true, 2, doc));
	assert_true(holds("value", "s", "=", "abc", false, 2, doc));
	assert_true(holds("value", "s", "<", "abd", false, 2, doc));
	assert_true(holds("value", "b", "=", "true", false, 2, doc));
	assert_true(holds("value", "n", "=", "12.5", false, 2, doc));
	/* A null cell never holds, whatever the operator. */
	assert_false(holds("value", "z", "!=", "1", true, 2, doc));
	assert_false(holds("value", "z", "=", "", false, 2, doc));
}

static void
t_errors(void **state)
{
	const char	*doc = DOC("{\"index\":0,\"s\":\"abc\"}");
	struct alert_def d = { "value", "nope", ">", "1", true };
	char		 err[ALERT_ERROR_SIZE];
	bool		 h = true;

	(void)state;
	assert_int_equal(alert_eval(&d, 1, doc, strlen(doc), &h, err),
	    PGS_INVALID);
	assert_string_equal(err, "the result has no column \"nope\"");
	assert_false(h);
	d.column = "S"; /* names are case-sensitive */
	assert_int_equal(alert_eval(&d, 1, doc, strlen(doc), &h, err),
	    PGS_INVALID);
	d.column = "s";
	assert_int_equal(alert_eval(&d, 1, doc, strlen(doc), &h, err),
	    PGS_INVALID);
	assert_non_null(strstr(err, "not a number"));
	assert_int_equal(alert_eval(&d, 0, DOC(""), strlen(DOC("")), &h, err),
	    PGS_INVALID);
	assert_string_equal(err, "the result has no rows");
	assert_int_equal(alert_eval(&d, 0, "[]", 2, &h, err), PGS_INVALID);
	d.kind = "rows";
	d.value = "x";
	assert_int_equal(alert_eval(&d, 0, doc, strlen(doc), &h, err),
	    PGS_INVALID);
}

static const char payload[] =
    "{\"type\":\"alert.firing\",\"timestamp\":\"2026-01-01T00:00:00Z\","
    "\"data\":{\"query\":{\"id\":7,\"name\":\"orders\",\"title\":null},"
    "\"run\":{\"id\":42,\"status\":\"success\",\"rows_returned\":3,"
    "\"error_message\":null},\"alert\":{\"kind\":\"value\",\"column\":"
    "\"n\",\"op\":\">\",\"value\":10,\"state\":\"firing\"},"
    "\"links\":{\"run\":\"https://x.example/api/runs/42\",\"latest\":"
    "\"https://x.example/api/queries/7/runs/latest\"}}}";

static void
t_render(void **state)
{
	struct buf   b = BUF_INIT;
	struct arena a;
	const char  *subj, *text;
	cJSON	    *root;
	char	     err[64];

	(void)state;
	assert_int_equal(notify_render_slack(payload, strlen(payload), &b),
	    PGS_OK);
	assert_int_equal(json_parse(b.data, b.len, &root, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(cJSON_GetArraySize(root), 1);
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_non_null(strstr(text, "Alert firing: orders"));
	assert_non_null(strstr(text, "value n > 10 is firing"));
	assert_non_null(strstr(text, "https://x.example/api/runs/42"));
	cJSON_Delete(root);
	buf_free(&b);
	arena_init(&a);
	assert_int_equal(notify_render_mail(&a, payload, strlen(payload), &subj,
			     &text),
	    PGS_OK);
	assert_string_equal(subj, "[pg-sched] Alert firing: orders");
	assert_non_null(strstr(text, "Run: https://x.example/api/runs/42\n"));
	assert_int_equal(notify_render_mail(&a, "{\"type\":\"nope\"}", 15,
			     &subj, &text),
	    PGS_INVALID);
	assert_int_equal(notify_render_slack("[1]", 3, &b), PGS_INVALID);
	arena_free(&a);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rows),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_render),
	};

	json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
