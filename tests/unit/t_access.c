/*
 * t_access.c: the read rule (src/access.c) over every kind of caller and
 * visibility, and the API token's format, its detection in URLs and the
 * rules of a new token (src/token.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "access.h"
#include "token.h"

/* Every caller kind x visibility, granted or not. */
static void
t_rule(void **state)
{
	static const long   granted[] = { 3, 7 }, list[] = { 5, 9 };
	struct access_query q = { 9, VIS_PUBLIC, (long *)granted, 2 };
	struct caller	    anon = { CALLER_ANON, 0, ROLE_NONE, NULL, 0 };
	struct caller	    viewer = { CALLER_USER, 4, ROLE_VIEWER, NULL, 0 };
	struct caller	    grantee = { CALLER_USER, 7, ROLE_VIEWER, NULL, 0 };
	struct caller	    editor = { CALLER_USER, 5, ROLE_EDITOR, NULL, 0 };
	struct caller	    tok = { CALLER_TOKEN, 0, ROLE_NONE, list, 2 };
	int		    v;

	(void)state;
	for (v = VIS_PUBLIC; v <= VIS_RESTRICTED; v++) {
		q.vis = (enum visibility)v;
		q.id = 9;
		assert_int_equal(access_may_read(&anon, &q), v == VIS_PUBLIC);
		assert_int_equal(access_may_read(&viewer, &q),
		    v != VIS_RESTRICTED);
		assert_true(access_may_read(&grantee, &q));
		assert_true(access_may_read(&editor, &q));
		assert_true(access_may_read(&tok, &q));
		/* A token reads its list only, even a public query. */
		q.id = 8;
		assert_false(access_may_read(&tok, &q));
	}
	assert_true(access_vis_default(true) == VIS_PUBLIC);
	assert_true(access_vis_default(false) == VIS_INTERNAL);
}

static void
t_token_format(void **state)
{
	char t[TOKEN_LEN + 1], u[TOKEN_LEN + 1];
	int  i;

	(void)state;
	assert_int_equal(token_new(t), PGS_OK);
	assert_int_equal(token_new(u), PGS_OK);
	assert_int_equal(strlen(t), 47);
	assert_memory_equal(t, "pgs_", 4);
	assert_string_not_equal(t, u);
	for (i = 4; i < TOKEN_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				       "nopqrstuvwxyz0123456789-_",
		    t[i]));
	assert_true(token_valid(t));
	assert_false(token_valid(t + 1));
	u[10] = '\0';
	assert_false(token_valid(u));
	assert_true(token_in_text(t, strlen(t)));
	assert_false(token_in_text(t, strlen(t) - 1));
}

static void
t_token_in_text(void **state)
{
	char buf[128];

	(void)state;
	snprintf(buf, sizeof(buf), "x=1&k=pgs_%s&y",
	    "a-b_c0123456789"
	    "0123456789012345678901234567");
	assert_true(token_in_text(buf, strlen(buf)));
	assert_false(token_in_text("pgs_short&x=1", 13));
	assert_false(token_in_text("format=csv&raw=1", 16));
}

static void
t_token_rules(void **state)
{
	struct token_errors e;
	struct arena	    a;

	(void)state;
	arena_init(&a);
	assert_true(token_rules_check(&a, "dash", 1, 365, 365, &e));
	assert_false(token_rules_check(&a, "dash", 1, 366, 365, &e));
	assert_string_equal(e.field[0], "expires_in_days");
	assert_false(token_rules_check(&a, "dash", 1, 0, 365, &e));
	assert_false(token_rules_check(&a, "dash", 0, 5, 365, &e));
	assert_string_equal(e.field[0], "query_ids");
	assert_false(token_rules_check(&a, "", 1, 5, 365, &e));
	assert_string_equal(e.field[0], "name");
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rule),
		cmocka_unit_test(t_token_format),
		cmocka_unit_test(t_token_in_text),
		cmocka_unit_test(t_token_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
