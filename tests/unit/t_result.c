/*
 * t_result.c: unit tests for result.c, result_check.c and csv.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv.h"
#include "result.h"
#include "result_check.h"

#define NOCAP ((size_t)-1)

/* Serialises a one-column result of n values (NULL = SQL NULL) into out. */
static struct result *
one_col(unsigned oid, const char *const *vals, int n, size_t max_rows,
    size_t max_bytes)
{
	const char    *names[] = { "c" };
	unsigned       oids[] = { oid };
	struct result *rs = rs_new(1, names, oids, max_rows, max_bytes);
	int	       i, len;

	for (i = 0; i < n; i++) {
		len = vals[i] != NULL ? (int)strlen(vals[i]) : 0;
		(void)rs_add_row(rs, &vals[i], &len);
	}
	return rs;
}

/* Returns the document of a one-column result (caller frees). */
static char *
doc1(unsigned oid, const char *const *vals, int n)
{
	struct result *rs = one_col(oid, vals, n, NOCAP, NOCAP);
	struct buf     out = BUF_INIT;

	rs_finish(rs, &out);
	rs_free(rs);
	return buf_steal(&out);
}

#define HAS(doc, s) assert_non_null(strstr((doc), (s)))

static void
t_int_rules(void **state)
{
	const char *a[] = { "1", "-2" }, *b[] = { "1", NULL };
	const char *c[] = { "9223372036854775807", NULL };
	char	   *d;

	(void)state;
	d = doc1(20, a, 2);
	HAS(d, "\"c\":1}");
	HAS(d, "{\"name\":\"c\",\"type\":\"integer\"}");
	free(d);
	d = doc1(20, b, 2);
	HAS(d, "{\"name\":\"c\",\"type\":\"number\"}");
	HAS(d, "\"c\":null}");
	free(d);
	d = doc1(20, c, 2);
	HAS(d, "\"c\":\"9223372036854775807\"");
	HAS(d, "{\"name\":\"c\",\"type\":\"string\"}");
	free(d);
}

static void
t_float_rules(void **state)
{
	const char *a[] = { "0.1", "1e+308", "2.5" };
	const char *b[] = { "0.1", "-0", "1.5e-07" };
	const char *c[] = { "1.5", "NaN" };
	char	   *d;

	(void)state;
	d = doc1(701, a, 3);
	/* the values before the flip are rewritten as their text */
	HAS(d, "\"c\":\"0.1\"");
	HAS(d, "\"c\":\"1e+308\"");
	HAS(d, "\"c\":\"2.5\"");
	HAS(d, "\"type\":\"string\"}]");
	free(d);
	d = doc1(701, b, 3);
	HAS(d, "\"c\":0.1}");
	HAS(d, "\"c\":-0}");
	HAS(d, "\"c\":1.5e-07}");
	HAS(d, "\"type\":\"number\"}]");
	free(d);
	d = doc1(700, c, 2);
	HAS(d, "\"c\":\"1.5\"");
	HAS(d, "\"c\":\"NaN\"");
	free(d);
}

static void
t_number_check(void **state)
{
	(void)state;
	assert_true(result_check_number("0.1", 3, true));
	assert_true(result_check_number("0.30000000000000004", 19, false));
	assert_true(result_check_number("-9223372036854775808", 20, false));
	assert_true(result_check_number("18446744073709551615", 20, false));
	assert_false(result_check_number("18446744073709551616", 20, false));
	assert_false(result_check_number("5e-324", 6, false));
	assert_false(result_check_number("1e+23", 5, false));
	assert_false(result_check_number("1e+22", 5, false)); /* jsonb */
	assert_false(result_check_number("1.0000000000000002", 18, false));
	assert_false(result_check_number("0.10000000000000001", 19, true));
	assert_true(result_check_number("0.10000000000000001", 19, false));
	assert_false(result_check_number("NaN", 3, false));
	assert_false(result_check_number("01", 2, false));
	assert_false(result_check_number("1.", 2, false));
	assert_false(result_check_number("1e5000", 6, false));
	assert_true(result_check_number("1234.50", 7, true));
}

static void
t_bool_rules(void **state)
{
	const char *a[] = { "t", "f" }, *b[] = { "t", NULL };
	char	   *d;

	(void)state;
	d = doc1(16, a, 2);
	HAS(d, "\"c\":true}");
	HAS(d, "\"c\":false}");
	HAS(d, "\"type\":\"boolean\"");
	free(d);
	d = doc1(16, b, 2);
	HAS(d, "\"c\":true}");
	HAS(d, "\"type\":\"string\"");
	free(d);
}

static void
t_time_rules(void **state)
{
	const char *a[] = { "2024-01-01 08:00:00.123456+00",
		"2024-01-01 08:00:00+05:45:12", "2024-03-01 00:30:00+01" };
	const char *b[] = { "2024-01-01 08:00:00.5+00", "infinity" };
	const char *c[] = { "2024-01-01 08:00:00.5", "3000-01-01 00:00:00" };
	const char *e[] = { "2024-02-29", "1677-09-22", "2262-04-11" };
	const char *f[] = { "2024-02-30" }, *g[] = { "0044-03-15 BC" };
	char	   *d;

	(void)state;
	d = doc1(1184, a, 3);
	HAS(d, "\"c\":\"2024-01-01T08:00:00.123456Z\"");
	HAS(d, "\"c\":\"2024-01-01T02:14:48Z\"");
	HAS(d, "\"c\":\"2024-02-29T23:30:00Z\"");
	HAS(d, "\"type\":\"datetime\",\"tz\":\"UTC\"");
	free(d);
	d = doc1(1184, b, 2);
	HAS(d, "\"c\":\"2024-01-01 08:00:00.5+00\"");
	HAS(d, "\"c\":\"infinity\"");
	HAS(d, "\"type\":\"string\"");
	free(d);
	d = doc1(1114, c, 2);
	HAS(d, "\"c\":\"2024-01-01 08:00:00.5\"");
	HAS(d, "\"c\":\"3000-01-01 00:00:00\"");
	free(d);
	d = doc1(1082, e, 3);
	HAS(d, "\"c\":\"2262-04-11\"");
	HAS(d, "\"type\":\"datetime\"}");
	free(d);
	d = doc1(1082, f, 1);
	HAS(d, "\"type\":\"string\"}");
	free(d);
	d = doc1(1082, g, 1);
	HAS(d, "\"c\":\"0044-03-15 BC\"");
	free(d);
}

static void
t_json_rules(void **state)
{
	const char *a[] = { "{\"a\": [1, 2.5]}", " \"s\" " };
	const char *b[] = { "{\"a\": 1}", "{\"a\": 1, \"a\": 2}" };
	const char *c[] = { "{\"a\": 1}", "null" };
	const char *e[] = { "{\"z\": \"\\u0000\"}" };
	const char *f[] = { "{\"a\": 1, \"a\": 2}" };
	const char *g[] = { "\"\\#00e1\"" };
	char	   *d;

	(void)state;
	d = doc1(3802, a, 2);
	HAS(d, "\"c\":{\"a\": [1, 2.5]}}");
	HAS(d, "\"c\": \"s\" }");
	HAS(d, "\"type\":\"any\"");
	free(d);
	d = doc1(114, b, 2);
	HAS(d, "\"c\":\"{\\\"a\\\": 1}\"");
	HAS(d, "\"type\":\"string\"");
	free(d);
	d = doc1(3802, f, 1); /* jsonb never has duplicates: not checked */
	HAS(d, "\"type\":\"any\"");
	free(d);
	d = doc1(3802, c, 2);
	HAS(d, "\"c\":\"null\"");
	free(d);
	d = doc1(114, e, 1);
	HAS(d, "\"type\":\"string\"");
	free(d);
	/* Not JSON (an escape that is no \u escape): never embedded as is
	 * (found by fuzz_result). */
	d = doc1(3802, g, 1);
	HAS(d, "\"type\":\"string\"");
	HAS(d, "\"c\":\"\\\"\\\\#00e1\\\"\"");
	free(d);
}

static void
t_escaping(void **state)
{
	const char    *a[] = { "q\"b\\n\nt\t\x01",
		   "a\xff"
		      "b",
		   "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f\x98\x80" };
	const char    *names[] = { "c" };
	unsigned       oids[] = { 25 };
	struct result *rs = rs_new(1, names, oids, NOCAP, NOCAP);
	struct buf     out = BUF_INIT;
	const char    *v[] = { "a\0b" };
	int	       i, len;

	(void)state;
	for (i = 0; i < 5; i++) {
		len = (int)strlen(a[i]);
		assert_true(rs_add_row(rs, &a[i], &len));
	}
	len = 3;
	assert_true(rs_add_row(rs, v, &len));
	rs_finish(rs, &out);
	HAS(out.data, "\"c\":\"q\\\"b\\\\n\\nt\\t\\u0001\"");
	HAS(out.data,
	    "\"c\":\"a\xef\xbf\xbd"
	    "b\"");
	HAS(out.data, "\"c\":\"\xef\xbf\xbd\xef\xbf\xbd\"");
	HAS(out.data, "\"c\":\"\xf0\x9f\x98\x80\"");
	HAS(out.data,
	    "\"c\":\"a\xef\xbf\xbd"
	    "b\"");
	assert_int_equal(rs_invalid_utf8(rs), 1 + 2 + 3 + 1);
	rs_free(rs);
	buf_free(&out);
}

static void
t_names(void **state)
{
	const char    *names[] = { "a", "a", "index", "a_1", "b\xff" };
	unsigned       oids[] = { 23, 23, 23, 23, 23 };
	const char    *vals[] = { "1", "2", "3", "4", "5" };
	int	       lens[] = { 1, 1, 1, 1, 1 };
	struct result *rs = rs_new(5, names, oids, NOCAP, NOCAP);
	struct buf     out = BUF_INIT, rows = BUF_INIT;

	(void)state;
	assert_true(rs_add_row(rs, vals, lens));
	rs_finish_rows(rs, &rows); /* before rs_finish, which takes the data */
	assert_string_equal(rows.data,
	    "\"columns\":[\"a\",\"a\",\"index\","
	    "\"a_1\",\"b\xef\xbf\xbd\"],\"rows\":[[1,2,3,4,5]]");
	rs_finish(rs, &out);
	assert_string_equal(out.data,
	    "{\"data\":[{\"index\":0,\"a\":1,"
	    "\"a_1\":2,\"index_1\":3,\"a_1_1\":4,\"b\xef\xbf\xbd\":5}],"
	    "\"schema\":{\"fields\":[{\"name\":\"index\",\"type\":\"integer\"},"
	    "{\"name\":\"a\",\"type\":\"integer\"},"
	    "{\"name\":\"a_1\",\"type\":\"integer\"},"
	    "{\"name\":\"index_1\",\"type\":\"integer\"},"
	    "{\"name\":\"a_1_1\",\"type\":\"integer\"},"
	    "{\"name\":\"b\xef\xbf\xbd\",\"type\":\"integer\"}],"
	    "\"primaryKey\":[\"index\"],\"pandas_version\":\"1.4.0\"}}");
	assert_int_equal(rs_byte_size(rs), out.len);
	assert_int_equal(rs_row_count(rs), 1);
	buf_reset(&out); /* a second call is harmless, if empty */
	rs_finish(rs, &out);
	assert_non_null(strstr(out.data, "{\"data\":[],\"schema\":"));
	rs_free(rs);
	buf_free(&out);
	buf_free(&rows);
}

static void
t_rows_mode_flips(void **state)
{
	const char    *a[] = { "2024-01-01 08:00:00+00", "infinity", NULL };
	struct result *rs = one_col(1184, a, 3, NOCAP, NOCAP);
	struct buf     out = BUF_INIT;

	(void)state;
	rs_finish_rows(rs, &out);
	assert_string_equal(out.data,
	    "\"columns\":[\"c\"],\"rows\":["
	    "[\"2024-01-01 08:00:00+00\"],[\"infinity\"],[null]]");
	rs_free(rs);
	buf_free(&out);
}

static void
t_row_cap(void **state)
{
	const char    *a[] = { "1", "2", "3" };
	struct result *rs = one_col(23, a, 3, 2, NOCAP);
	struct buf     out = BUF_INIT;
	int	       len = 1;

	(void)state;
	assert_int_equal(rs_row_count(rs), 2);
	assert_true(rs_truncated(rs));
	assert_false(rs_add_row(rs, a, &len));
	rs_finish(rs, &out);
	assert_null(strstr(out.data, "\"c\":3"));
	rs_free(rs);
	buf_free(&out);
	rs = one_col(23, a, 2, 2, NOCAP);
	assert_false(rs_truncated(rs));
	rs_free(rs);
}

/* Fills a result under a byte cap until it refuses; the document must
 * fit the cap whatever flips the refused row would have caused. */
static void
byte_cap_case(unsigned oid, const char *good, const char *flip, size_t cap,
    size_t slack)
{
	const char    *names[] = { "c" };
	unsigned       oids[] = { oid };
	struct result *rs = rs_new(1, names, oids, NOCAP, cap);
	struct buf     out = BUF_INIT;
	const char    *v;
	size_t	       i;
	int	       len;

	for (i = 0; i < 100000; i++) {
		v = i % 7 == 6 ? flip : good;
		len = v != NULL ? (int)strlen(v) : 0;
		if (!rs_add_row(rs, &v, &len))
			break;
	}
	assert_true(rs_truncated(rs));
	assert_true(rs_byte_size(rs) <= cap);
	rs_finish(rs, &out);
	assert_true(out.len <= cap);
	assert_int_equal(out.len, rs_byte_size(rs));
	/* Without flips it nearly fills the cap (the schema is counted at
	 * its longest); a refused row that flips a column can leave more. */
	assert_true(slack == 0 || out.len + slack > cap);
	rs_free(rs);
	buf_free(&out);
}

static void
t_byte_cap(void **state)
{
	(void)state;
	byte_cap_case(25, "some text", "more", 1000, 60);
	byte_cap_case(701, "0.25", "NaN", 2000, 0);
	byte_cap_case(20, "9223372036854775807", NULL, 3000, 0);
	byte_cap_case(1184, "2024-01-01 08:00:00+00", "infinity", 5000, 0);
	byte_cap_case(114, "{\"a\": \"q\\\"\"}", "{\"a\":1,\"a\":2}", 4000, 0);
}

static void
t_tiny_cap(void **state)
{
	const char    *a[] = { "1" };
	struct result *rs = one_col(23, a, 1, NOCAP, 10);
	struct buf     out = BUF_INIT;

	(void)state;
	assert_int_equal(rs_row_count(rs), 0);
	assert_true(rs_truncated(rs));
	rs_finish(rs, &out);
	assert_non_null(strstr(out.data, "\"data\":[]"));
	rs_free(rs);
	buf_free(&out);
}

/* Resets this process's peak resident set size to the current one;
 * false where the kernel cannot. */
static bool
peak_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	bool  ok;

	if (f == NULL)
		return false;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* Returns the peak resident set size (VmHWM) in kB, -1 if unknown. */
static long
peak_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  kb = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

/*
 * Feeds rows of small values, then one huge value of oid into a result
 * capped at 1 MiB: the huge row is refused while it is written, and the
 * process's peak memory grows by far less than the value escaped (six
 * times 48 MiB for control characters).
 */
static void
huge_case(unsigned oid, char fill, size_t before)
{
	const char    *names[] = { "c" };
	unsigned       oids[] = { oid };
	const size_t   n = (size_t)48 << 20;
	struct result *rs = rs_new(1, names, oids, NOCAP, 1 << 20);
	struct buf     out = BUF_INIT;
	char	      *v = malloc(n);
	const char    *small = "1";
	bool	       measured;
	long	       kb;
	int	       len = 1;
	size_t	       i;

	assert_non_null(v);
	memset(v, fill, n);
	for (i = 0; i < before; i++)
		assert_true(rs_add_row(rs, &small, &len));
	measured = peak_reset();
	kb = peak_kb();
	len = (int)n;
	assert_false(rs_add_row(rs, (const char *const *)&v, &len));
	if (measured && kb > 0)
		assert_true(peak_kb() - kb < 8 * 1024);
	assert_true(rs_truncated(rs));
	assert_int_equal(rs_row_count(rs), before);
	assert_true(rs_first_row_too_large(rs) == (before == 0));
	rs_finish(rs, &out);
	assert_true(out.len <= 1 << 20);
	assert_non_null(strstr(out.data,
	    before == 0 ? "\"data\":[]" : "\"data\":[{\"index\":0,"));
	rs_free(rs);
	buf_free(&out);
	free(v);
}

static void
t_huge_value(void **state)
{
	const char    *names[] = { "c" };
	unsigned       oids[] = { 25 };
	struct result *rs;
	char	      *v;
	int	       len = 700 * 1024;

	(void)state;
	huge_case(25, '\x01', 0); /* text of control characters */
	huge_case(25, '\x01', 3);
	huge_case(1700, '7', 0); /* a numeric's digits */
	huge_case(114, '[', 2);	 /* json */
	huge_case(23, '1', 0);	 /* not an int4: a string */
	/* A long value that fits is taken whole. */
	v = malloc((size_t)len);
	assert_non_null(v);
	memset(v, 'x', (size_t)len);
	rs = rs_new(1, names, oids, NOCAP, 1 << 20);
	assert_true(rs_add_row(rs, (const char *const *)&v, &len));
	assert_false(rs_truncated(rs));
	assert_false(rs_first_row_too_large(rs));
	rs_free(rs);
	free(v);
}

static void
t_csv(void **state)
{
	/* as jsonb::text prints it: keys reordered, spaces, plain numbers */
	static const char doc[] =
	    "{\"data\": [{\"b\": \"x,y\", \"a\": 1.50, "
	    "\"j\": {\"k\": [1, \"q \\\"z\\\"\"]}, \"index\": 0, \"e\": \"\", "
	    "\"n\": null, \"u\": \"\\u00e9\\ud83d\\ude00\\n\"}, "
	    "{\"a\": 100000000000000000000, \"b\": true, \"e\": \"t\", "
	    "\"index\": 1, \"j\": null, \"n\": false, \"u\": \"\"}], "
	    "\"schema\": {\"fields\": [{\"name\": \"index\", \"type\": "
	    "\"integer\"}, {\"name\": \"a\", \"type\": \"number\"}, {\"name\": "
	    "\"b\", \"type\": \"string\"}, {\"name\": \"j\", \"type\": \"any\"}, "
	    "{\"name\": \"e\", \"type\": \"string\"}, {\"name\": \"n\", "
	    "\"type\": \"string\"}, {\"name\": \"u\", \"type\": \"string\"}], "
	    "\"primaryKey\": [\"index\"], \"pandas_version\": \"1.4.0\"}}";
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(result_to_csv(doc, sizeof(doc) - 1, false, &out),
	    PGS_OK);
	assert_string_equal(out.data,
	    "a,b,j,e,n,u\r\n"
	    "1.50,\"x,y\",\"{\"\"k\"\":[1,\"\"q \\\"\"z\\\"\"\"\"]}\",\"\",,"
	    "\"\xc3\xa9\xf0\x9f\x98\x80\n\"\r\n"
	    "100000000000000000000,true,,t,false,\"\"\r\n");
	buf_free(&out);
}

static void
t_csv_roundtrip(void **state)
{
	const char    *a[] = { "0.1", NULL, "NaN" };
	struct result *rs = one_col(701, a, 3, NOCAP, NOCAP);
	struct buf     doc = BUF_INIT, out = BUF_INIT;

	(void)state;
	rs_finish(rs, &doc);
	assert_int_equal(result_to_csv(doc.data, doc.len, false, &out), PGS_OK);
	assert_string_equal(out.data, "c\r\n0.1\r\n\r\nNaN\r\n");
	rs_free(rs);
	buf_free(&doc);
	buf_free(&out);
}

static void
t_csv_malformed(void **state)
{
	static const char doc[] =
	    "{\"data\":[{\"index\":0,\"a\":\"x\\u00e9\","
	    "\"b\":[1,{\"c\":null}]}],\"schema\":{\"fields\":[{\"name\":"
	    "\"index\"},{\"name\":\"a\"},{\"name\":\"b\"}],\"primaryKey\":"
	    "[\"index\"]}}";
	static const char *bad[] = { "", "[]", "{}", "{\"data\":[]}",
		"{\"data\":[1],\"schema\":{\"fields\":[]}}",
		"{\"data\":[{\"a\":\"\\q\"}],\"schema\":{\"fields\":[{\"name\":"
		"\"a\"}]}}",
		"{\"data\":[],\"schema\":{\"fields\":[{}]}}",
		"{\"data\":[],\"schema\":{}} x" };
	struct buf	   out = BUF_INIT;
	size_t		   i;

	(void)state;
	assert_int_equal(result_to_csv(doc, sizeof(doc) - 1, false, &out),
	    PGS_OK);
	assert_string_equal(out.data,
	    "a,b\r\nx\xc3\xa9,\"[1,{\"\"c\"\":null}]\"\r\n");
	/* every proper prefix is malformed */
	for (i = 0; i < sizeof(doc) - 1; i++) {
		buf_reset(&out);
		assert_int_equal(result_to_csv(doc, i, false, &out),
		    PGS_INVALID);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&out);
		assert_int_equal(result_to_csv(bad[i], strlen(bad[i]), false,
				     &out),
		    PGS_INVALID);
	}
	assert_int_equal(result_to_csv(NULL, 0, false, &out), PGS_INVALID);
	buf_free(&out);
}

static void
t_csv_formula_risk(void **state)
{
	static const char *risky[] = { "=1+1", "+cmd|' /C calc'!A0", "-2+3",
		"@SUM(A1)", "\tx", "\r=1", "-", "+", "=", "-1-1", "-infinity",
		"-1 days", "+1e", "-.", "--1" };
	static const char *safe[] = { "", "a=b", "1", "-5", "+1.5e3", "-0.25",
		".5", "-1E-7", "5-", " =1", "'=1", "\n=1" };
	size_t		   i;

	(void)state;
	for (i = 0; i < sizeof(risky) / sizeof(risky[0]); i++)
		assert_true(csv_formula_risk(risky[i], strlen(risky[i])));
	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		assert_false(csv_formula_risk(safe[i], strlen(safe[i])));
	/* Only the n bytes given count. */
	assert_false(csv_formula_risk("=1", 0));
}

static void
t_csv_formula(void **state)
{
	/* Cells and a column name a spreadsheet would run; numbers (JSON
	 * numbers and plain-number strings) stay numbers. */
	static const char doc[] =
	    "{\"data\": [{\"index\": 0, \"=h\": "
	    "\"=HYPERLINK(\\\"x\\\")\", \"n\": -5, \"s\": \"-1.5\", "
	    "\"t\": \"\\t@x,y\"}, {\"index\": 1, \"=h\": \"\\u003d1\", "
	    "\"n\": null, \"s\": \"+a\", \"t\": \"@\"}], \"schema\": "
	    "{\"fields\": [{\"name\": \"index\"}, {\"name\": \"=h\"}, "
	    "{\"name\": \"n\"}, {\"name\": \"s\"}, {\"name\": \"t\"}], "
	    "\"primaryKey\": [\"index\"]}}";
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(result_to_csv(doc, sizeof(doc) - 1, false, &out),
	    PGS_OK);
	assert_string_equal(out.data,
	    "'=h,n,s,t\r\n"
	    "\"'=HYPERLINK(\"\"x\"\")\",-5,-1.5,\"'\t@x,y\"\r\n"
	    "'=1,,'+a,'@\r\n");
	buf_reset(&out);
	assert_int_equal(result_to_csv(doc, sizeof(doc) - 1, true, &out),
	    PGS_OK);
	assert_string_equal(out.data,
	    "=h,n,s,t\r\n"
	    "\"=HYPERLINK(\"\"x\"\")\",-5,-1.5,\"\t@x,y\"\r\n"
	    "=1,,+a,@\r\n");
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_int_rules),
		cmocka_unit_test(t_float_rules),
		cmocka_unit_test(t_number_check),
		cmocka_unit_test(t_bool_rules),
		cmocka_unit_test(t_time_rules),
		cmocka_unit_test(t_json_rules),
		cmocka_unit_test(t_escaping),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_rows_mode_flips),
		cmocka_unit_test(t_row_cap),
		cmocka_unit_test(t_byte_cap),
		cmocka_unit_test(t_tiny_cap),
		cmocka_unit_test(t_huge_value),
		cmocka_unit_test(t_csv),
		cmocka_unit_test(t_csv_roundtrip),
		cmocka_unit_test(t_csv_malformed),
		cmocka_unit_test(t_csv_formula_risk),
		cmocka_unit_test(t_csv_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
