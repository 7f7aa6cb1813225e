/*
 * t_sqlguard.c: the SELECT-only check.  Runs the corpus tests/sql/hostile.tsv
 * (path as argv[1], else $SQLGUARD_CORPUS, else $srcdir/tests/sql/...,
 * else tests/sql/hostile.tsv from the current directory), then focused
 * cases for messages, positions, limits and the deny-list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlguard.h"

#define CORPUS_REL   "tests/sql/hostile.tsv"
#define LINE_MAX_LEN 8192

struct tally {
	int ok;
	int reject;
	int failed;
};

/* Returns true when s is valid UTF-8 (no overlongs, no surrogates). */
static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		if (*p < 0xc2 || *p > 0xf4)
			return false;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		if ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] > 0x8f))
			return false;
		p += n;
	}
	return true;
}

/* Decodes \n \t \\ in place; returns false on any other escape. */
static bool
unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*out++ = *s;
			continue;
		}
		s++;
		if (*s == 'n')
			*out++ = '\n';
		else if (*s == 't')
			*out++ = '\t';
		else if (*s == '\\')
			*out++ = '\\';
		else
			return false;
	}
	*out = '\0';
	return true;
}

/* Checks one corpus line; returns false (after saying why) on mismatch. */
static bool
corpus_line(const char *path, int lineno, char *line, struct tally *t)
{
	struct sqlguard_err why;
	enum pgs_rc	    rc;
	char		   *expect, *code, *sql, *tab;
	bool		    want_ok;

	expect = line;
	tab = strchr(expect, '\t');
	code = tab != NULL ? tab + 1 : NULL;
	tab = code != NULL ? strchr(code, '\t') : NULL;
	sql = tab != NULL ? tab + 1 : NULL;
	if (sql == NULL || !unescape(sql)) {
		fprintf(stderr, "%s:%d: malformed line\n", path, lineno);
		return false;
	}
	code[-1] = '\0';
	sql[-1] = '\0';
	want_ok = strcmp(expect, "ok") == 0;
	if (!want_ok && strcmp(expect, "reject") != 0) {
		fprintf(stderr, "%s:%d: bad expectation \"%s\"\n", path, lineno,
		    expect);
		return false;
	}
	if (want_ok)
		t->ok++;
	else
		t->reject++;
	rc = sqlguard_check(sql, &why);
	if (want_ok && rc == PGS_OK && why.code[0] == '\0' &&
	    why.message[0] == '\0')
		return true;
	if (!want_ok && rc == PGS_INVALID && strcmp(why.code, code) == 0 &&
	    why.message[0] != '\0' && utf8_valid(why.message))
		return true;
	fprintf(stderr, "%s:%d: want %s %s, got rc=%d code=%s: %s\n  sql: %s\n",
	    path, lineno, expect, code, (int)rc, why.code, why.message, sql);
	return false;
}

static const char *
corpus_path(const char *arg)
{
	static char buf[4096];
	const char *env;

	if (arg != NULL)
		return arg;
	env = getenv("SQLGUARD_CORPUS");
	if (env != NULL && env[0] != '\0')
		return env;
	env = getenv("srcdir"); /* set by automake's test driver */
	if (env != NULL && env[0] != '\0') {
		snprintf(buf, sizeof(buf), "%s/%s", env, CORPUS_REL);
		return buf;
	}
	return CORPUS_REL;
}

static void
test_corpus(void **state)
{
	const char  *path = *state;
	struct tally t = { 0, 0, 0 };
	char	     line[LINE_MAX_LEN];
	FILE	    *f;
	size_t	     len;
	int	     lineno = 0;

	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open corpus %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			fail_msg("%s:%d: line too long", path, lineno);
		if (len == 0 || line[0] == '#')
			continue;
		if (!corpus_line(path, lineno, line, &t))
			t.failed++;
	}
	fclose(f);
	printf("corpus %s: %d rejected, %d accepted, %d mismatches\n", path,
	    t.reject, t.ok, t.failed);
	assert_int_equal(t.failed, 0);
	/* The corpus itself is part of the contract: it must not shrink. */
	assert_true(t.reject >= 80);
	assert_true(t.ok >= 30);
}

/* Checks sql is rejected with code; returns the message for more checks. */
static const char *
rejected(const char *sql, const char *code, struct sqlguard_err *why)
{
	enum pgs_rc rc;

	rc = sqlguard_check(sql, why);
	if (rc != PGS_INVALID || strcmp(why->code, code) != 0)
		fail_msg("want %s for [%s], got rc=%d %s: %s", code, sql,
		    (int)rc, why->code, why->message);
	assert_true(utf8_valid(why->message));
	return why->message;
}

static void
test_messages(void **state)
{
	struct sqlguard_err w;

	(void)state;
	assert_string_equal(rejected("SELECT * FROM t WHERE "
				     "pg_terminate_backend(pid)",
				"denied_function", &w),
	    "function pg_terminate_backend() is not allowed (in the WHERE "
	    "clause, position 23): it terminates another session");
	assert_int_equal(w.position, 23);
	assert_non_null(strstr(rejected("SELECT * FROM t, LATERAL (SELECT "
					"set_config('a.b', 'c', true)) s",
				   "denied_function", &w),
	    "function set_config() is not allowed (in the select list of a "
	    "subquery in the FROM clause, position 34)"));
	assert_non_null(
	    strstr(rejected("WITH a AS (SELECT "
			    "pg_catalog.pg_notify('c', 'p')) SELECT * FROM a",
		       "denied_function", &w),
		"function pg_catalog.pg_notify() is not allowed (in the "
		"select list of WITH query \"a\", position 19)"));
	assert_non_null(strstr(rejected("SELECT a FROM t ORDER BY "
					"nextval('s')",
				   "denied_function", &w),
	    "in the ORDER BY clause"));
	assert_non_null(strstr(rejected("SELECT 1 FROM t WHERE a IN (SELECT "
					"nextval('s'))",
				   "denied_function", &w),
	    "in the select list of a subquery in the WHERE clause"));
	assert_string_equal(rejected("SELECT * FROM t FOR UPDATE",
				"locking_clause", &w),
	    "FOR UPDATE is not allowed");
	assert_string_equal(rejected("SELECT * FROM (SELECT * FROM t FOR "
				     "SHARE) s",
				"locking_clause", &w),
	    "FOR SHARE is not allowed (in a subquery in the FROM clause)");
	assert_string_equal(rejected("SELECT 1 FOR NO KEY UPDATE",
				"locking_clause", &w),
	    "FOR NO KEY UPDATE is not allowed");
	assert_string_equal(rejected("SELECT 1 FOR KEY SHARE", "locking_clause",
				&w),
	    "FOR KEY SHARE is not allowed");
	assert_string_equal(rejected("WITH d AS (DELETE FROM t RETURNING *) "
				     "SELECT * FROM d",
				"data_modifying_cte", &w),
	    "DELETE is not allowed in WITH query \"d\" (position 6)");
	assert_string_equal(rejected("SELECT * INTO x FROM t", "select_into",
				&w),
	    "SELECT INTO is not allowed (position 15)");
}

static void
test_statement_messages(void **state)
{
	struct sqlguard_err w;

	(void)state;
	assert_string_equal(rejected("SELECT 1; DELETE FROM t",
				"multiple_statements", &w),
	    "only one statement is allowed, found 2");
	assert_int_equal(w.position, 11);
	assert_string_equal(rejected("SELECT 1; SELECT 2;\n\n  SELECT 3",
				"multiple_statements", &w),
	    "only one statement is allowed, found 3");
	assert_string_equal(rejected("SELECT * FROM FROM", "syntax_error", &w),
	    "syntax error at or near \"FROM\" (position 15)");
	assert_int_equal(w.position, 15);
	assert_string_equal(rejected("DELETE FROM t", "not_select", &w),
	    "only SELECT is allowed, found DELETE");
	assert_string_equal(rejected("EXPLAIN ANALYZE DELETE FROM t",
				"not_select", &w),
	    "only SELECT is allowed, found EXPLAIN");
	assert_string_equal(rejected("  BEGIN", "not_select", &w),
	    "only SELECT is allowed, found a transaction command");
	assert_int_equal(w.position, 3);
	assert_string_equal(rejected("", "empty", &w),
	    "the statement is empty");
	rejected(" -- nothing\n", "empty", &w);
	assert_int_equal(sqlguard_check(NULL, &w), PGS_INVALID);
	assert_string_equal(w.code, "empty");
	/* why is optional */
	assert_int_equal(sqlguard_check("DELETE FROM t", NULL), PGS_INVALID);
	assert_int_equal(sqlguard_check("SELECT 1", NULL), PGS_OK);
}

/* Positions count characters, as PostgreSQL's own error cursor does. */
static void
test_positions(void **state)
{
	struct sqlguard_err w;

	(void)state;
	rejected("SELECT 'éé', pg_notify('c', 'p')", "denied_function", &w);
	assert_int_equal(w.position, 14);
	rejected("SELECT '日本', 1 FROM FROM", "syntax_error", &w);
	assert_int_equal(w.position, 21);
	rejected("SELECT '\xff'", "bad_encoding", &w);
	assert_int_equal(w.position, 9);
	rejected("SELECT '\xc0\xaf'", "bad_encoding", &w);     /* overlong */
	rejected("SELECT '\xed\xa0\x80'", "bad_encoding", &w); /* surrogate */
	rejected("SELECT '\xf4\x90\x80\x80'", "bad_encoding", &w);
	rejected("SELECT '\xe6\x97'", "bad_encoding", &w); /* cut short */
}

static void
test_too_long(void **state)
{
	struct sqlguard_err w;
	char		   *sql;

	(void)state;
	sql = malloc(SQLGUARD_MAX_LEN + 2);
	assert_non_null(sql);
	memset(sql, ' ', SQLGUARD_MAX_LEN + 1);
	memcpy(sql, "SELECT 1", 8);
	sql[SQLGUARD_MAX_LEN] = '\0'; /* exactly 1 MiB: fine */
	assert_int_equal(sqlguard_check(sql, &w), PGS_OK);
	sql[SQLGUARD_MAX_LEN] = ' ';
	sql[SQLGUARD_MAX_LEN + 1] = '\0'; /* one byte more */
	rejected(sql, "too_long", &w);
	assert_non_null(strstr(w.message, "1 MiB"));
	free(sql);
}

/* A long UTF-8 token in an error message is cut on a character boundary. */
static void
test_long_message(void **state)
{
	struct sqlguard_err w;
	char		    sql[4096];
	size_t		    off;

	(void)state;
	off = (size_t)snprintf(sql, sizeof(sql), "SELECT 1 '");
	while (off < 3000) {
		memcpy(sql + off, "é", 2);
		off += 2;
	}
	memcpy(sql + off, "'", 2);
	rejected(sql, "syntax_error", &w);
	assert_true(strlen(w.message) < SQLGUARD_MSG_MAX);
	assert_true(strlen(w.message) > SQLGUARD_MSG_MAX - 8);
	/* one line, whatever the token holds */
	assert_string_equal(rejected("SELECT 1 'a\nb'", "syntax_error", &w),
	    "syntax error at or near \"'a?b'\" (position 10)");
}

static void
test_nesting(void **state)
{
	struct sqlguard_err w;
	char		    sql[4096];
	size_t		    off;
	int		    i;

	(void)state;
	off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (i = 0; i < 300; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "1+");
	snprintf(sql + off, sizeof(sql) - off, "1");
	assert_int_equal(sqlguard_check(sql, &w), PGS_OK);
	off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (i = 0; i < 1000; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "1+");
	snprintf(sql + off, sizeof(sql) - off, "1");
	rejected(sql, "too_complex", &w);
	/* deeper than a message can name, still caught */
	off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (i = 0; i < 12; i++)
		off +=
		    (size_t)snprintf(sql + off, sizeof(sql) - off, "(SELECT ");
	off += (size_t)snprintf(sql + off, sizeof(sql) - off, "nextval('s')");
	for (i = 0; i < 12; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, ")");
	assert_non_null(strstr(rejected(sql, "denied_function", &w),
	    "in a subquery nested 12 levels deep"));
}

/* Builds "SELECT <prefix><name>(args)" for a deny-list pattern. */
static void
call_of(char *dst, size_t n, const char *prefix, const struct sqlguard_deny *d,
    bool quote_upper)
{
	char   name[128];
	size_t i, o = 0;

	for (i = 0; d->pattern[i] != '\0' && o < sizeof(name) - 2; i++) {
		if (d->pattern[i] == '*')
			name[o++] = 'x';
		else if (quote_upper && d->pattern[i] >= 'a' &&
		    d->pattern[i] <= 'z')
			name[o++] = (char)(d->pattern[i] - 'a' + 'A');
		else
			name[o++] = d->pattern[i];
	}
	name[o] = '\0';
	snprintf(dst, n, "SELECT %s%s%s%s(%s)", prefix, quote_upper ? "\"" : "",
	    name, quote_upper ? "\"" : "",
	    d->nargs == 2     ? "1, 2" :
		d->nargs == 3 ? "1, 2, 3" :
				"");
}

static void
test_deny_list(void **state)
{
	const struct sqlguard_deny *list;
	struct sqlguard_err	    w;
	char			    sql[256];
	size_t			    n, i;

	(void)state;
	list = sqlguard_deny_list(&n);
	assert_true(n >= 60);
	for (i = 0; i < n; i++) {
		assert_true(list[i].reason != NULL && list[i].reason[0] != 0);
		assert_true(list[i].nargs == -1 || list[i].nargs >= 0);
		call_of(sql, sizeof(sql), "", &list[i], false);
		rejected(sql, "denied_function", &w);
		call_of(sql, sizeof(sql), "pg_catalog.", &list[i], false);
		rejected(sql, "denied_function", &w);
		call_of(sql, sizeof(sql), "\"Other\".", &list[i], true);
		rejected(sql, "denied_function", &w);
		assert_non_null(strstr(w.message, list[i].reason));
	}
}

static void
test_deny_find(void **state)
{
	char name[300];

	(void)state;
	assert_non_null(sqlguard_deny_find("SET_CONFIG", 3));
	assert_non_null(sqlguard_deny_find("pg_advisory_xact_lock_shared", 1));
	assert_non_null(sqlguard_deny_find("ts_rewrite", 2));
	assert_null(sqlguard_deny_find("ts_rewrite", 3));
	assert_null(sqlguard_deny_find("current_setting", 1));
	assert_null(sqlguard_deny_find("currval", 1));
	assert_null(sqlguard_deny_find("pg_sleep_for", 1)); /* allowed */
	assert_null(sqlguard_deny_find("lo", 0)); /* "lo_*" needs the _ */
	assert_null(sqlguard_deny_find("", 0));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_null(sqlguard_deny_find(name, 0));
	memcpy(name, "dblink", 6);
	assert_non_null(sqlguard_deny_find(name, 0));
	/* Extensions' functions that run SQL given as text. */
	assert_non_null(sqlguard_deny_find("crosstab", 1));
	assert_non_null(sqlguard_deny_find("CrossTab4", 1));
	assert_non_null(sqlguard_deny_find("connectby", 6));
	assert_non_null(sqlguard_deny_find("pg_background_launch", 2));
	assert_non_null(sqlguard_deny_find("schedule", 2));
	assert_non_null(sqlguard_deny_find("schedule", 3));
	assert_null(sqlguard_deny_find("schedule", 1));
	assert_non_null(sqlguard_deny_find("pgr_dijkstra", 3));
}

/* Every extension named for the warning of `dsn test` has its functions
 * in the deny-list (its name appears in a reason). */
static void
test_sql_extensions(void **state)
{
	const struct sqlguard_deny *list;
	const char *const	   *ext;
	char			    tag[64];
	size_t			    n, next, i, k;
	bool			    found;

	(void)state;
	list = sqlguard_deny_list(&n);
	ext = sqlguard_sql_extensions(&next);
	assert_true(next >= 9);
	for (k = 0; k < next; k++) {
		snprintf(tag, sizeof(tag), "(%s)", ext[k]);
		/* dblink's reason: "connects to another server" */
		found = strcmp(ext[k], "dblink") == 0;
		for (i = 0; i < n && !found; i++)
			found = strcasestr(list[i].reason, tag) != NULL ||
			    (strcmp(ext[k], "pgtap") == 0 &&
				strstr(list[i].reason, "(pgTAP)") != NULL) ||
			    (strcmp(ext[k], "pgrouting") == 0 &&
				strstr(list[i].reason, "(pgRouting)") != NULL);
		if (!found)
			fail_msg("extension %s has no deny-list entry", ext[k]);
	}
}

/* $n placeholders: a saved query is sent without parameter values. */
static void
test_parameters(void **state)
{
	struct sqlguard_err w;
	const char	   *msg;

	(void)state;
	msg = rejected("SELECT a FROM t WHERE b = $1", "parameter", &w);
	assert_int_equal(w.position, 27);
	assert_non_null(strstr(msg, "parameter $1 is not allowed"));
	assert_non_null(strstr(msg, "in the WHERE clause"));
	msg = rejected("SELECT 1 FROM t LIMIT $12", "parameter", &w);
	assert_non_null(strstr(msg, "$12"));
	assert_int_equal(sqlguard_check("SELECT $$$1$$, '$1', \"$1\" FROM "
					"(SELECT 1 AS \"$1\") s",
			     &w),
	    PGS_OK);
}

/* Calls the deny-list lets through, and look-alikes that are no calls. */
static void
test_allowed(void **state)
{
	static const char *const ok[] = {
		"SELECT current_setting('TimeZone')",
		"SELECT currval('s'), lastval(), setseed(0.5), random()",
		"SELECT pg_is_in_recovery(), now(), clock_timestamp()",
		"SELECT txid_current_if_assigned(),"
		" pg_current_xact_id_if_assigned()",
		"SELECT xpath('/a', '<a/>'::xml)",
		"SELECT ts_rewrite('a'::tsquery, 'a'::tsquery, 'b'::tsquery)",
		"SELECT set_config FROM (SELECT 1 AS set_config) s",
		"SELECT 'pg_sleep(10)'",
		"SELECT lo FROM (SELECT 1 AS lo) s",
		"SELECT pg_sleepy FROM (SELECT 1 AS pg_sleepy) s",
	};
	struct sqlguard_err w;
	size_t		    i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (sqlguard_check(ok[i], &w) != PGS_OK)
			fail_msg("[%s] rejected: %s", ok[i], w.message);
		assert_string_equal(w.code, "");
	}
}

/* Many calls on every path: ASan/LSan builds see any leak here. */
static void
test_repeat(void **state)
{
	static const char *const sqls[] = {
		"SELECT 1",
		"SELECT FROM FROM",
		"SELECT 1; SELECT 2",
		"DELETE FROM t",
		"SELECT nextval('s')",
		"",
		"SELECT '\xff'",
		"WITH d AS (DELETE FROM t) SELECT 1",
		"SELECT 1 FOR UPDATE",
	};
	struct sqlguard_err w;
	int		    i, invalid = 0;

	(void)state;
	for (i = 0; i < 1800; i++)
		if (sqlguard_check(sqls[i % 9], &w) == PGS_INVALID)
			invalid++;
	assert_int_equal(invalid, 1600); /* 8 of every 9 are bad */
	assert_int_equal(sqlguard_check("TABLE t", &w), PGS_OK);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_corpus,
		    (void *)corpus_path(argc > 1 ? argv[1] : NULL)),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_statement_messages),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_deny_list),
		cmocka_unit_test(test_deny_find),
		cmocka_unit_test(test_sql_extensions),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_repeat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
