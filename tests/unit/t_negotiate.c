/*
 * t_negotiate.c: the Accept header (src/negotiate.c) over the offers of a
 * run's result (JSON, CSV, XLSX, in that order of preference): exact
 * types, wildcards, q-values and their grammar, specificity, ties,
 * parameters, malformed elements, absent and overlong headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"

#define XLSX "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

static const char *const offers[] = { "application/json", "text/csv", XLSX };

struct case_ {
	const char *accept;
	int	    want; /* index into offers, -1: none acceptable */
};

static void
check_cases(const struct case_ *c, size_t n)
{
	size_t i;
	int    got;

	for (i = 0; i < n; i++) {
		got = negotiate_media(c[i].accept, offers, 3);
		if (got != c[i].want)
			fail_msg("Accept '%s': got %d, want %d",
			    c[i].accept ? c[i].accept : "(absent)", got,
			    c[i].want);
	}
}

static void
t_plain(void **state)
{
	static const struct case_ c[] = {
		{ NULL, 0 },
		{ "", 0 },
		{ "  \t ", 0 },
		{ "application/json", 0 },
		{ "text/csv", 1 },
		{ XLSX, 2 },
		{ "TEXT/CSV", 1 },
		{ "Application/VND.openxmlformats-officedocument."
		  "spreadsheetml.sheet",
		    2 },
		{ "*/*", 0 },
		{ "text/*", 1 },
		{ "application/*", 0 },
		{ "text/html", -1 },
		{ "image/*", -1 },
		{ "text/html,application/xhtml+xml,application/xml;q=0.9,"
		  "*/*;q=0.8",
		    0 },
		{ "application/json, text/plain, */*", 0 },
		{ " text/csv , text/html ", 1 },
		{ "text/csv;charset=utf-8", 1 },
		{ "text/csv; header=present; q=0.5", 1 },
		{ "text/csv;x=\"a,b;q=0\"", 1 },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
t_weights(void **state)
{
	static const struct case_ c[] = {
		{ "application/json;q=0.5, text/csv", 1 },
		{ "application/json;q=0.5, text/csv;q=0.4", 0 },
		{ "application/json;q=0.5, " XLSX ";q=0.501", 2 },
		{ "application/json;q=0.9, " XLSX ";q=0.9", 0 }, /* tie */
		{ "text/csv;q=0, " XLSX ";q=0.1", 2 },
		{ "text/csv;q=0", -1 },
		{ "*/*;q=0", -1 },
		{ "*/*;q=0, text/csv", 1 },
		{ "*/*, application/json;q=0", 1 }, /* specific */
		{ "*/*;q=0.1, text/*;q=0, application/json;q=0", 2 },
		{ "application/*;q=0.2, " XLSX ";q=0", 0 },
		{ "text/csv;q=0.3, text/csv;q=0.7, application/json;q=0.5", 1 },
		{ "text/csv;Q=0.9, application/json;q=0.8", 1 },
		{ "text/csv;q=1.000, application/json", 0 },
		{ "text/csv;q=0., application/json;q=0.001", 0 },
		{ "text/csv;q=1, application/json;q=0.999", 1 },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
t_malformed(void **state)
{
	static const struct case_ c[] = {
		{ "garbage", -1 },
		{ "text", -1 },
		{ "text/", -1 },
		{ "/csv", -1 },
		{ "*/csv", -1 },
		{ ",,,", -1 },
		{ "text/csv;q=2", -1 },
		{ "text/csv;q=1.5", -1 },
		{ "text/csv;q=0.1234", -1 },
		{ "text/csv;q=-1", -1 },
		{ "text/csv;q=.5", -1 },
		{ "text/csv;q=", -1 },
		{ "text/csv;q", -1 },
		{ "text/csv;=1", -1 },
		{ "text/csv x", -1 },
		{ "text/csv;x=\"open", -1 },
		{ "text/csv;q=0.5x, application/json;q=0.1", 0 },
		{ "garbage, text/csv", 1 },
		{ "text/csv,,", 1 },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
t_limits(void **state)
{
	size_t n = NEGOTIATE_MAX_LEN + 1, i;
	char  *s = malloc(n + 1);

	(void)state;
	assert_non_null(s);
	/* "text/csv, " repeated, then cut: exactly the limit is read. */
	for (i = 0; i < n; i++)
		s[i] = "text/csv, "[i % 10];
	s[NEGOTIATE_MAX_LEN] = '\0';
	assert_int_equal(negotiate_media(s, offers, 3), 1);
	s[NEGOTIATE_MAX_LEN] = ' ';
	s[n] = '\0';
	assert_int_equal(negotiate_media(s, offers, 3), -1);
	free(s);
	assert_int_equal(negotiate_media("text/csv", offers, 0), -1);
	assert_int_equal(negotiate_media("text/csv", offers, 1), -1);
	assert_int_equal(negotiate_media(NULL, offers + 1, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_plain),
		cmocka_unit_test(t_weights),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
