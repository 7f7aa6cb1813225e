/*
 * t_num.c: the integer parser (src/num.c): the grammar, the bounds, the
 * edges of a long, C notation, and that it answers as the API's two
 * readers it replaced (ids in paths, integer query parameters) did.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

struct num_case {
	const char *s;
	long	    min, max;
	bool	    ok;
	long	    v;
};

/* Checks one case: the answer, the value, and *out untouched on false. */
static void
check_case(const struct num_case *c,
    bool (*fn)(const char *, long, long, long *))
{
	long v = 4242;
	bool ok;

	ok = fn(c->s, c->min, c->max, &v);
	if (ok != c->ok || (ok && v != c->v) || (!ok && v != 4242))
		fail_msg("'%s' in %ld..%ld: got %s %ld, want %s %ld",
		    c->s ? c->s : "(null)", c->min, c->max,
		    ok ? "true" : "false", v, c->ok ? "true" : "false", c->v);
}

static void
t_grammar(void **state)
{
	static const struct num_case cases[] = {
		{ "0", 0, 10, true, 0 }, { "7", 0, 10, true, 7 },
		{ "007", 0, 10, true, 7 }, { "-3", -5, 5, true, -3 },
		{ "-0", 0, 5, true, 0 },
		{ "1234567", 0, 9999999, true, 1234567 },
		{ NULL, 0, 10, false, 0 }, { "", 0, 10, false, 0 },
		{ "-", -5, 5, false, 0 }, { "+1", 0, 10, false, 0 },
		{ " 1", 0, 10, false, 0 }, { "1 ", 0, 10, false, 0 },
		{ "\t1", 0, 10, false, 0 }, { "1\n", 0, 10, false, 0 },
		{ "1a", 0, 100, false, 0 }, { "a1", 0, 100, false, 0 },
		{ "0x10", 0, 100, false, 0 }, { "1.0", 0, 100, false, 0 },
		{ "1e3", 0, 10000, false, 0 }, { "--1", -5, 5, false, 0 },
		{ "1-", -5, 5, false, 0 },
		{ "\xd9\xa1", 0, 10, false, 0 }, /* Arabic-Indic one */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], num_parse);
}

static void
t_bounds(void **state)
{
	static const struct num_case cases[] = {
		{ "1", 1, 65535, true, 1 },
		{ "65535", 1, 65535, true, 65535 },
		{ "0", 1, 65535, false, 0 },
		{ "65536", 1, 65535, false, 0 },
		{ "-1", 0, 10, false, 0 },
		{ "2147483647", 1, 2147483647, true, 2147483647 },
		{ "2147483648", 1, 2147483647, false, 0 },
		{ "9223372036854775807", LONG_MIN, LONG_MAX, true, LONG_MAX },
		{ "-9223372036854775808", LONG_MIN, LONG_MAX, true, LONG_MIN },
		/* One past either end of a long: refused, not clamped. */
		{ "9223372036854775808", LONG_MIN, LONG_MAX, false, 0 },
		{ "-9223372036854775809", LONG_MIN, LONG_MAX, false, 0 },
		{ "18446744073709551616", LONG_MIN, LONG_MAX, false, 0 },
		{ "99999999999999999999999999", 0, LONG_MAX, false, 0 },
		{ "000000000000000000000000000042", 0, 100, true, 42 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], num_parse);
}

static void
t_c_notation(void **state)
{
	static const struct num_case cases[] = {
		{ "0660", 0, 0777, true, 0660 },
		{ "0777", 0, 0777, true, 0777 },
		{ "0", 0, 0777, true, 0 },
		{ "438", 0, 0777, true, 438 },
		{ "0x1b6", 0, 0777, true, 0x1b6 },
		{ "0X1B6", 0, 0777, true, 0x1b6 },
		{ "01000", 0, 0777, false, 0 },
		{ "0660 ", 0, 0777, false, 0 },
		{ "08", 0, 0777, false, 0 },
		{ "0x", 0, 0777, false, 0 },
		{ "0xg", 0, 0777, false, 0 },
		{ "+0660", 0, 0777, false, 0 },
		{ "-0x10", -100, 100, true, -16 },
		{ "0x7fffffffffffffff", 0, LONG_MAX, true, LONG_MAX },
		{ "0x8000000000000000", 0, LONG_MAX, false, 0 },
		{ "", 0, 0777, false, 0 },
		{ NULL, 0, 0777, false, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], num_parse_c);
}

static void
t_segment(void **state)
{
	const char *path = "/api/queries/12/runs/345";
	long	    v = 0;

	(void)state;
	assert_true(num_parse_n(path + 13, 2, 1, 2147483647, &v));
	assert_int_equal(v, 12);
	assert_true(num_parse_n(path + 21, 3, 1, 2147483647, &v));
	assert_int_equal(v, 345);
	/* The length bounds the digits: the '/' after them is not read. */
	assert_false(num_parse_n(path + 13, 3, 1, 2147483647, &v));
	assert_false(num_parse_n(path + 13, 0, 0, 10, &v));
	assert_false(num_parse_n(NULL, 0, 0, 10, &v));
	assert_int_equal(v, 345);
}

/* fcgi/route.c's id reader before num_parse_n, as it was. */
static bool
old_route_id(const char *s, size_t n, long *out)
{
	long   v = 0;
	size_t k;

	for (k = 0; k < n && v <= 2147483647L; k++) {
		if (s[k] < '0' || s[k] > '9')
			break;
		v = v * 10 + (s[k] - '0');
	}
	if (k < n || n == 0 || v < 1 || v > 2147483647L)
		return false;
	*out = v;
	return true;
}

/* fcgi/req.c's req_qint grammar before num_parse, as it was. */
static bool
old_qint(const char *s, long min, long max, long *out)
{
	char *end;
	long  v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 ||
	    !isdigit((unsigned char)s[s[0] == '-' ? 1 : 0]) || v < min ||
	    v > max)
		return false;
	*out = v;
	return true;
}

/*
 * The same answers as the readers it replaced, for every string of up to
 * 4 characters over an alphabet of digits, signs, blanks and letters, and
 * for random longer ones (overflow).
 */
static void
t_same_answers(void **state)
{
	static const char alpha[] = "0179-+ x";
	static const long lim[][2] = { { 1, 500 }, { 0, 2147483647 },
		{ -50, 50 }, { LONG_MIN, LONG_MAX } };
	char		  s[32];
	long		  a, b;
	size_t		  len, i, k, j, total, na = sizeof(alpha) - 1;
	bool		  ra, rb;

	(void)state;
	srand(12);
	for (len = 0; len <= 24; len++) {
		total = 1;
		for (i = 0; i < len && len <= 4; i++)
			total *= na;
		if (len > 4)
			total = 20000;
		for (k = 0; k < total; k++) {
			for (i = 0, j = k; i < len; i++, j /= na)
				s[i] = len <= 4 ?
				    alpha[j % na] :
				    "0123456789-"[rand() % (i == 0 ? 11 : 10)];
			s[len] = '\0';
			a = b = 0;
			ra = num_parse_n(s, len, 1, 2147483647, &a);
			rb = old_route_id(s, len, &b);
			if (ra != rb || a != b)
				fail_msg("path id '%s': %d %ld, was %d %ld", s,
				    ra, a, rb, b);
			for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
				a = b = 0;
				ra = num_parse(s, lim[i][0], lim[i][1], &a);
				rb = old_qint(s, lim[i][0], lim[i][1], &b);
				if (ra != rb || a != b)
					fail_msg("query int '%s': %d %ld, was "
						 "%d %ld",
					    s, ra, a, rb, b);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_grammar),
		cmocka_unit_test(t_bounds),
		cmocka_unit_test(t_c_notation),
		cmocka_unit_test(t_segment),
		cmocka_unit_test(t_same_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
