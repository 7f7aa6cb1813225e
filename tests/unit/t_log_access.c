/*
 * t_log_access.c: the access line of an API request: its SD params,
 * quoting of hostile paths, the cut of long paths, the severity by
 * status, and that the query string and unmatched routes are handled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/log.h"
#include "../../src/log_access.h"

static char	   logdir[PATH_MAX];
static struct conf conf;

static void
fixed_now(struct timespec *ts)
{
	ts->tv_sec = 1795000000; /* 2026-11-18 */
	ts->tv_nsec = 0;
}

static int
setup(void **state)
{
	char tmpl[] = "/tmp/t_log_access.XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(logdir, sizeof(logdir), "%s", tmpl);
	memset(&conf, 0, sizeof(conf));
	conf.log_dir = logdir;
	conf.rfc_enterprise_id = 32473;
	conf.rotate_utc = true;
	conf.max_log_bytes = 4096;
	conf.log_level = "info";
	log_set_clock(fixed_now);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	log_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", logdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Returns the last line of the day file (static buffer), "" if none. */
static const char *
last_line(void)
{
	static char line[LOG_LINE_MAX + 1];
	char	    path[PATH_MAX + 32], cur[LOG_LINE_MAX + 1];
	FILE	   *fp;

	log_day_path(1795000000, path, sizeof(path));
	line[0] = '\0';
	fp = fopen(path, "r");
	if (fp == NULL)
		return line;
	while (fgets(cur, sizeof(cur), fp) != NULL)
		memcpy(line, cur, strlen(cur) + 1);
	fclose(fp);
	return line;
}

static void
t_fields(void **state)
{
	struct log_access a = { "GET", "/api/runs/{id}", "/api/runs/42", 200,
		0.01234, 7, "203.0.113.9" };
	const char	 *l;

	(void)state;
	log_open(&conf, "pgsched-api", LOG_TO_FILE);
	log_access(&a);
	l = last_line();
	assert_true(strncmp(l, "<134>1 ", 7) == 0); /* local0.info */
	assert_non_null(strstr(l,
	    " access [pgsched@32473 method=\"GET\" "
	    "route=\"/api/runs/{id}\" path=\"/api/runs/42\" status=\"200\" "
	    "ms=\"12.3\" user=\"7\" client=\"203.0.113.9\"]\n"));
}

static void
t_anonymous_unmatched_5xx(void **state)
{
	struct log_access a = { "POST", NULL, "/nowhere", 503, 0.5, 0, NULL };
	const char	 *l;

	(void)state;
	log_open(&conf, "pgsched-api", LOG_TO_FILE);
	log_access(&a);
	l = last_line();
	assert_true(strncmp(l, "<132>1 ", 7) == 0); /* warning */
	assert_non_null(strstr(l,
	    "route=\"-\" path=\"/nowhere\" "
	    "status=\"503\" ms=\"500.0\" user=\"-\" client=\"-\"]"));
}

static void
t_hostile_path(void **state)
{
	struct log_access a = { "GET", "/api/x",
		"/a\"b\\c] d\n"
		"<13>1 forged",
		404, 0, 0, "::1" };
	const char	 *l;

	(void)state;
	log_open(&conf, "pgsched-api", LOG_TO_FILE);
	log_access(&a);
	l = last_line();
	/* One line; the quote, backslash and bracket escaped as RFC 5424
	 * wants; the newline as #012. */
	assert_ptr_equal(strchr(l, '\n'), l + strlen(l) - 1);
	assert_non_null(strstr(l,
	    "path=\"/a\\\"b\\\\c\\] d#012<13>1 "
	    "forged\" status=\"404\""));
}

static void
t_long_path_cut(void **state)
{
	char		  path[4000];
	struct log_access a = { "GET", "/x", path, 200, 0, 0, "::1" };
	const char	 *l, *p, *e;

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	log_open(&conf, "pgsched-api", LOG_TO_FILE);
	log_access(&a);
	l = last_line();
	p = strstr(l, "path=\"");
	assert_non_null(p);
	e = strchr(p + 6, '"');
	assert_non_null(e);
	assert_int_equal(e - (p + 6), LOG_ACCESS_PATH_MAX);
}

static void
t_level_filter(void **state)
{
	struct log_access a = { "GET", "/x", "/quiet", 200, 0, 0, "::1" };

	(void)state;
	conf.log_level = "warn";
	log_open(&conf, "pgsched-api", LOG_TO_FILE);
	log_access(&a);
	conf.log_level = "info";
	assert_null(strstr(last_line(), "/quiet"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(t_anonymous_unmatched_5xx,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostile_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_long_path_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_level_filter, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
