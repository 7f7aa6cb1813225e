/*
 * t_json.c: strict parsing, typed getters, error bodies, UTF-8 checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/json.h"
#include "../../src/utf8.h"

static cJSON *
parse_ok(const char *s)
{
	cJSON *root = NULL;
	char   err[128] = "";

	assert_int_equal(json_parse(s, strlen(s), &root, err, sizeof(err)),
	    PGS_OK);
	assert_non_null(root);
	return root;
}

#define parse_bad(s, len, e) parse_bad_at(s, len, e, __LINE__)

static void
parse_bad_at(const char *s, size_t len, const char *expect_err, int line)
{
	cJSON *root = (cJSON *)1;
	char   err[128] = "";

	assert_int_equal(json_parse(s, len, &root, err, sizeof(err)),
	    PGS_INVALID);
	assert_null(root);
	if (strcmp(err, expect_err) != 0)
		fail_msg("line %d: got \"%s\", want \"%s\"", line, err,
		    expect_err);
}

static void
t_parse(void **state)
{
	cJSON *r;

	(void)state;
	r = parse_ok(" {\"a\": [1, {\"b\": \"\xc3\xa9\"}]}\n");
	assert_true(cJSON_IsObject(r));
	cJSON_Delete(r);
	r = parse_ok("[1,2]"); /* non-object roots: the caller decides */
	assert_true(cJSON_IsArray(r));
	cJSON_Delete(r);
	parse_bad("{\"a\": }", 7, "invalid JSON at byte 6");
	parse_bad("", 0, "invalid JSON at byte 0");
	parse_bad("{} x", 4, "invalid JSON at byte 3 (data after the value)");
	parse_bad("{}{}", 4, "invalid JSON at byte 2 (data after the value)");
	/* the length bounds the text: no read past it */
	parse_bad("{\"a\":1}", 5, "invalid JSON at byte 4");
	parse_bad("{\"a\":\"\xff\"}", 9, "invalid UTF-8 at byte 6");
	parse_bad("{\"a\":\"\xc0\xaf\"}", 10, "invalid UTF-8 at byte 6");
	parse_bad("{\"a\":\"x\\u0000y\"}", 16, "\\u0000 in string at byte 7");
	parse_bad("{\"a\":\"x\ny\"}", 11,
	    "control character in string at byte 7");
	parse_bad("{\"a\":\"\\ud800\"}", 14, "invalid JSON at byte 6");
	parse_bad("{\"a\":1,\"b\":{\"c\":1,\"c\":2}}", 25,
	    "invalid JSON: duplicate key \"c\"");
	parse_bad("[{\"k\":1,\"k\":1}]", 15,
	    "invalid JSON: duplicate key \"k\"");
	/* an escaped backslash before u0000 text is not a NUL escape */
	r = parse_ok("{\"a\":\"\\\\u0000\",\"A\":1}");
	cJSON_Delete(r);
}

static void
t_str(void **state)
{
	cJSON	   *r;
	const char *s;

	(void)state;
	r = parse_ok("{\"name\":\"abc\",\"n\":null,\"num\":1,\"utf\":"
		     "\"\xe2\x82\xac\",\"Name\":\"X\"}");
	assert_int_equal(json_str(r, "name", 3, &s), PGS_OK);
	assert_string_equal(s, "abc");
	assert_int_equal(json_str(r, "name", 2, &s), PGS_INVALID);
	assert_null(s);
	assert_int_equal(json_str(r, "missing", 10, &s), PGS_NOTFOUND);
	assert_int_equal(json_str(r, "n", 10, &s), PGS_NOTFOUND);
	assert_int_equal(json_str(r, "num", 10, &s), PGS_INVALID);
	assert_int_equal(json_str(r, "utf", 3, &s), PGS_OK);
	assert_int_equal(json_str(r, "utf", 2, &s), PGS_INVALID);
	/* case-sensitive names */
	assert_int_equal(json_str(r, "NAME", 10, &s), PGS_NOTFOUND);
	assert_int_equal(json_str(r, "Name", 10, &s), PGS_OK);
	assert_string_equal(s, "X");
	/* a tree built by code with invalid UTF-8 is caught too */
	cJSON_AddStringToObject(r, "bad", "\xed\xa0\x80");
	assert_int_equal(json_str(r, "bad", 10, &s), PGS_INVALID);
	cJSON_Delete(r);
	assert_int_equal(json_str(NULL, "x", 1, &s), PGS_NOTFOUND);
}

static void
t_int_bool(void **state)
{
	cJSON *r;
	long   v = -1;
	bool   b;

	(void)state;
	r = parse_ok("{\"a\":42,\"b\":1.5,\"c\":\"7\",\"d\":1e3,\"e\":-3,"
		     "\"f\":9007199254740993,\"g\":true,\"h\":false,\"i\":0,"
		     "\"j\":null,\"k\":1e400}");
	assert_int_equal(json_int(r, "a", 1, 500, &v), PGS_OK);
	assert_int_equal(v, 42);
	assert_int_equal(json_int(r, "a", 1, 41, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "a", 43, 50, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "b", 0, 10, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "c", 0, 10, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "d", 0, 1000, &v), PGS_OK);
	assert_int_equal(v, 1000);
	assert_int_equal(json_int(r, "e", -3, 0, &v), PGS_OK);
	assert_int_equal(v, -3);
	assert_int_equal(json_int(r, "f", 0, LONG_MAX, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "k", 0, LONG_MAX, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "g", 0, 1, &v), PGS_INVALID);
	assert_int_equal(json_int(r, "j", 0, 1, &v), PGS_NOTFOUND);
	assert_int_equal(json_int(r, "zz", 0, 1, &v), PGS_NOTFOUND);
	assert_int_equal(json_bool(r, "g", &b), PGS_OK);
	assert_true(b);
	assert_int_equal(json_bool(r, "h", &b), PGS_OK);
	assert_false(b);
	assert_int_equal(json_bool(r, "i", &b), PGS_INVALID);
	assert_int_equal(json_bool(r, "j", &b), PGS_NOTFOUND);
	cJSON_Delete(r);
}

static void
t_unknown_keys(void **state)
{
	static const char *const allowed[] = { "email", "name", NULL };
	cJSON			*r;
	const char		*u;

	(void)state;
	r = parse_ok("{\"email\":\"a\",\"name\":\"b\"}");
	assert_int_equal(json_unknown_keys(r, allowed, &u), PGS_OK);
	assert_null(u);
	cJSON_Delete(r);
	r = parse_ok("{\"email\":\"a\",\"Name\":\"b\",\"x\":1}");
	assert_int_equal(json_unknown_keys(r, allowed, &u), PGS_INVALID);
	assert_string_equal(u, "Name");
	cJSON_Delete(r);
	r = parse_ok("[]");
	assert_int_equal(json_unknown_keys(r, allowed, &u), PGS_INVALID);
	cJSON_Delete(r);
}

static void
t_error_body(void **state)
{
	struct json_errors e;
	cJSON		  *body;
	char		  *s;

	(void)state;
	json_errors_init(&e);
	assert_null(json_errors_take(&e));
	body = json_error_body("not_found", "no such query", NULL);
	s = cJSON_PrintUnformatted(body);
	assert_string_equal(s,
	    "{\"ok\":false,\"error\":\"not_found\","
	    "\"message\":\"no such query\"}");
	cJSON_free(s);
	cJSON_Delete(body);

	json_errors_add(&e, "limit", "must be between %d and %d", 1, 500);
	json_errors_add(&e, "start", "not an ISO 8601 \"timestamp\"");
	json_errors_add(&e, "limit", "second message is ignored");
	assert_int_equal(e.count, 2);
	body =
	    json_error_body("invalid", "invalid values", json_errors_take(&e));
	assert_int_equal(e.count, 0);
	s = cJSON_PrintUnformatted(body);
	assert_string_equal(s,
	    "{\"ok\":false,\"error\":\"invalid\","
	    "\"message\":\"invalid values\",\"fields\":{\"limit\":"
	    "\"must be between 1 and 500\",\"start\":"
	    "\"not an ISO 8601 \\\"timestamp\\\"\"}}");
	cJSON_free(s);
	cJSON_Delete(body);
	json_errors_add(&e, "x", "y");
	json_errors_free(&e);
	assert_null(e.fields);
}

static void
t_utf8(void **state)
{
	static const char *const good[] = {
		"",
		"ascii",
		"\xc2\x80",
		"\xdf\xbf",
		"\xe0\xa0\x80",
		"\xed\x9f\xbf",
		"\xee\x80\x80",
		"\xef\xbf\xbf",
		"\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf",
	};
	static const char *const bad[] = {
		"\x80",
		"\xbf",
		"\xc0\x80",
		"\xc1\xbf",
		"\xc2",
		"\xc2\x41",
		"\xe0\x80\x80",
		"\xe0\x9f\xbf",
		"\xed\xa0\x80",
		"\xed\xbf\xbf",
		"\xe1\x80",
		"\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\xff",
		"\xfe",
		"a\xe2\x82",
		"\xf0\x90\x80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted bad sequence #%zu", i);
	}
	assert_true(utf8_valid("a\0b", 3));
	/* utf8_cut never splits a character */
	assert_int_equal(utf8_cut("ab\xe2\x82\xac", 5), 5);
	assert_int_equal(utf8_cut("ab\xe2\x82\xac", 4), 2);
	assert_int_equal(utf8_cut("ab\xe2\x82\xac", 3), 2);
	assert_int_equal(utf8_cut("ab\xf0\x90\x80\x80", 5), 2);
	assert_int_equal(utf8_cut("ab\xf0\x90\x80\x80", 6), 6);
	assert_int_equal(utf8_cut("ab", 2), 2);
	assert_int_equal(utf8_cut("", 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse),
		cmocka_unit_test(t_str),
		cmocka_unit_test(t_int_bool),
		cmocka_unit_test(t_unknown_keys),
		cmocka_unit_test(t_error_body),
		cmocka_unit_test(t_utf8),
	};

	json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
