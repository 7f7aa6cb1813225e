/*
 * t_xlsx.c: unit tests for xlsx.c (the typing rules, Excel's limits,
 * files and errors) and resdoc.c.  The read-back through pandas is
 * tests/py/test_xlsx_pandas.py and tests/db/test_xlsx_e2e.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "resdoc.h"
#include "xlsx.h"

#define HEAD "{\"data\":["
#define TAIL(f) \
	"],\"schema\":{\"fields\":[{\"name\":\"index\",\"type\":" \
	"\"integer\"}," f "],\"primaryKey\":[\"index\"]," \
	"\"pandas_version\":\"1.4.0\"}}"

static void
t_number(void **state)
{
	static const struct {
		const char *s;
		bool	    cell;
		double	    d;
	} c[] = {
		{ "0", true, 0 },
		{ "42", true, 42 },
		{ "-7", true, -7 },
		{ "9007199254740992", true, 9007199254740992.0 },
		{ "9007199254740993", false, 0 },
		{ "4611686018427387904", true, 4611686018427387904.0 },
		{ "-9223372036854775808", true, -9223372036854775808.0 },
		{ "9223372036854775807", false, 0 },
		{ "18014398509481986", false, 0 }, /* needs 17 digits */
		{ "100000000000000000000", true, 1e20 },
		{ "1e22", true, 1e22 },
		{ "1e23", false, 0 },
		{ "1e+15", true, 1e15 },
		{ "1.0", true, 1 },
		{ "0.1", true, 0.1 },
		{ "1234.50", true, 1234.5 },
		{ "1.5e-07", true, 1.5e-7 },
		{ "0.00000015", true, 1.5e-7 },
		{ "-2.5", true, -2.5 },
		{ "3.141592653589793", true, 3.141592653589793 },
		{ "0.30000000000000004", false, 0 },
		{ "0.10000000000000001", false, 0 },
		{ "1.0000000000000002", false, 0 },
		{ "123456789012345678901234567890.123", false, 0 },
		{ "2.2250738585072014e-308", false, 0 }, /* 17 digits */
		{ "1e-307", true, 1e-307 },
		{ "1e-310", false, 0 },
		{ "5e-324", false, 0 },
		{ "1e-400", false, 0 },
		{ "1e400", false, 0 },
		{ "1e1000000", false, 0 },
		{ "+1", false, 0 },
		{ "01", false, 0 },
		{ ".5", false, 0 },
		{ "1.", false, 0 },
		{ "1e", false, 0 },
		{ "--1", false, 0 },
		{ "NaN", false, 0 },
		{ "", false, 0 },
		{ "1 ", false, 0 },
	};
	double d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (xlsx_number(c[i].s, strlen(c[i].s), &d) != c[i].cell)
			fail_msg("%s: expected %s", c[i].s,
			    c[i].cell ? "a number cell" : "text");
		if (c[i].cell)
			assert_true(d == c[i].d);
	}
	assert_true(xlsx_number("-0", 2, &d) && d == 0 && signbit(d));
	assert_true(xlsx_number("-0.0e5", 6, &d) && d == 0 && signbit(d));
}

static void
t_datetime(void **state)
{
	static const struct {
		const char	 *s;
		bool		  cell;
		double		  serial;
		enum xlsx_datefmt fmt;
	} c[] = {
		{ "2024-01-01", true, 45292, XLSX_DATE },
		{ "2024-02-29", true, 45351, XLSX_DATE },
		{ "1900-03-01", true, 61, XLSX_DATE },
		{ "1970-01-01T00:00:00.5", true, 25569 + 500.0 / 86400000.0,
		    XLSX_DATETIME_MS },
		{ "2024-01-01T08:00:00Z", true, 45292 + 28800000.0 / 86400000.0,
		    XLSX_DATETIME },
		{ "2024-01-01T08:00:00.123Z", true,
		    45292 + 28800123.0 / 86400000.0, XLSX_DATETIME_MS },
		{ "2024-01-01T08:00:00.123000Z", true,
		    45292 + 28800123.0 / 86400000.0, XLSX_DATETIME_MS },
		{ "2024-01-01T08:00:00.000", true,
		    45292 + 28800000.0 / 86400000.0, XLSX_DATETIME },
		{ "9999-12-31T23:59:59.999", true,
		    2958465 + 86399999.0 / 86400000.0, XLSX_DATETIME_MS },
		{ "2024-01-01T08:00:00.1234Z", false, 0, XLSX_DATE },
		{ "2024-01-01T08:00:00.123456Z", false, 0, XLSX_DATE },
		{ "1900-02-28", false, 0, XLSX_DATE },
		{ "1880-01-01T00:00:00Z", false, 0, XLSX_DATE },
		{ "1677-09-22", false, 0, XLSX_DATE },
		{ "2024-02-30", false, 0, XLSX_DATE },
		{ "2023-02-29", false, 0, XLSX_DATE },
		{ "2024-13-01", false, 0, XLSX_DATE },
		{ "2024-01-01T24:00:00", false, 0, XLSX_DATE },
		{ "2024-01-01T08:60:00", false, 0, XLSX_DATE },
		{ "2024-01-01 08:00:00", false, 0, XLSX_DATE },
		{ "2024-01-01T08:00:00+01:00", false, 0, XLSX_DATE },
		{ "2024-01-01T08:00:00.Z", false, 0, XLSX_DATE },
		{ "2024-01-01T08:00:00.", false, 0, XLSX_DATE },
		{ "2024-01-01T08:00", false, 0, XLSX_DATE },
		{ "2024-1-01", false, 0, XLSX_DATE },
		{ "infinity", false, 0, XLSX_DATE },
		{ "0044-03-15 BC", false, 0, XLSX_DATE },
	};
	enum xlsx_datefmt fmt;
	double		  serial;
	size_t		  i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (xlsx_datetime(c[i].s, strlen(c[i].s), &serial, &fmt) !=
		    c[i].cell)
			fail_msg("%s: expected %s", c[i].s,
			    c[i].cell ? "a date cell" : "text");
		if (!c[i].cell)
			continue;
		if (serial != c[i].serial || fmt != c[i].fmt)
			fail_msg("%s: %.17g fmt %d", c[i].s, serial, fmt);
	}
}

/* Returns xlsx_text() of s (n bytes) in out, reset first. */
static bool
text(struct buf *out, const char *s, size_t n, bool guard)
{
	buf_reset(out);
	return xlsx_text(out, s, n, guard);
}

static void
t_text(void **state)
{
	struct buf out = BUF_INIT;
	char	  *big = malloc(4 * 40000);
	size_t	   i;

	(void)state;
	assert_false(text(&out, "=1+1", 4, true));
	assert_string_equal(out.data, "'=1+1");
	assert_false(text(&out, "a_x0041_b", 9, false));
	assert_string_equal(out.data, "a_x005F_x0041_b");
	assert_false(text(&out, "_x00G1_ _x041_", 14, false));
	assert_string_equal(out.data, "_x00G1_ _x041_");
	assert_false(text(&out, "a\0b", 3, false));
	assert_string_equal(out.data, "a_x0000_b");
	assert_false(text(&out, "a\xffz\xc3", 4, false));
	assert_string_equal(out.data, "a\xEF\xBF\xBDz\xEF\xBF\xBD");
	assert_false(text(&out, "\xc3\xa9\xf0\x9f\x98\x80", 6, false));
	assert_string_equal(out.data, "\xc3\xa9\xf0\x9f\x98\x80");

	/* The limit, in UTF-16 units, never splitting a character. */
	memset(big, 'a', 40000);
	assert_false(text(&out, big, XLSX_MAX_CHARS, false));
	assert_int_equal(out.len, XLSX_MAX_CHARS);
	assert_true(text(&out, big, XLSX_MAX_CHARS + 1, false));
	assert_int_equal(out.len, XLSX_MAX_CHARS);
	assert_true(text(&out, big, XLSX_MAX_CHARS, true));
	assert_int_equal(out.len, XLSX_MAX_CHARS);
	assert_int_equal(out.data[0], '\'');
	for (i = 0; i < 20000; i++)
		memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);
	assert_true(text(&out, big, 4 * 20000, false));
	assert_int_equal(out.len, 4 * (XLSX_MAX_CHARS / 2));
	memset(big, 'a', XLSX_MAX_CHARS - 1);
	memcpy(big + XLSX_MAX_CHARS - 1, "\xf0\x9f\x98\x80", 4);
	assert_true(text(&out, big, XLSX_MAX_CHARS + 3, false));
	assert_int_equal(out.len, XLSX_MAX_CHARS - 1);
	free(big);
	buf_free(&out);
}

/* Writes doc with xlsx_write() to a temporary file; returns rc. */
static enum pgs_rc
write_doc(const char *doc, size_t len, bool raw, struct xlsx_stats *st)
{
	char	    path[] = "/tmp/t_xlsx-XXXXXX";
	enum pgs_rc rc;
	int	    fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	rc = xlsx_write(doc, len, raw, path, NULL, st);
	unlink(path);
	return rc;
}

static void
t_write(void **state)
{
	static const char doc[] = HEAD
	    "{\"index\":0,\"a\":1,\"b\":\"x\"},{\"index\":1,\"b\":null}" TAIL(
		"{\"name\":\"a\",\"type\":\"integer\"},"
		"{\"name\":\"b\",\"type\":\"string\"}");
	struct xlsx_stats st;

	(void)state;
	assert_int_equal(write_doc(doc, sizeof(doc) - 1, false, &st), PGS_OK);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.rows_cut + st.cols_cut + st.cells_cut, 0);
	assert_true(st.bytes > 1000);
	assert_int_equal(write_doc(doc, sizeof(doc) - 2, false, &st),
	    PGS_INVALID);
	assert_int_equal(write_doc("{}", 2, false, &st), PGS_INVALID);
	assert_int_equal(write_doc(HEAD "1" TAIL("{\"name\":\"a\"}"),
			     sizeof(HEAD "1" TAIL("{\"name\":\"a\"}")) - 1,
			     false, &st),
	    PGS_INVALID);
	assert_int_equal(xlsx_write(doc, sizeof(doc) - 1, false,
			     "/nonexistent/dir/x.xlsx", NULL, &st),
	    PGS_INTERNAL);
}

/* Returns the number of entries of directory dir but . and .. */
static int
dir_entries(const char *dir)
{
	DIR	      *d = opendir(dir);
	struct dirent *e;
	int	       n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n +=
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
t_write_tmp(void **state)
{
	static const char doc[] = HEAD "{\"index\":0,\"a\":\"=1\"}" TAIL(
	    "{\"name\":\"a\",\"type\":\"string\"}");
	struct xlsx_stats st;
	struct stat	  sb;
	char		  dir[] = "/tmp/t_xlsx-XXXXXX", pk[2];
	int		  fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(xlsx_write_tmp(doc, sizeof(doc) - 1, false, dir, &fd,
			     &st),
	    PGS_OK);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal((size_t)sb.st_size, st.bytes);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_nlink, 0); /* no name left */
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(read(fd, pk, 2), 2);
	assert_memory_equal(pk, "PK", 2);
	close(fd);
	assert_int_equal(xlsx_write_tmp(HEAD "1" TAIL("{\"name\":\"a\"}"),
			     sizeof(HEAD "1" TAIL("{\"name\":\"a\"}")) - 1,
			     false, dir, &fd, &st),
	    PGS_INVALID);
	assert_int_equal(fd, -1);
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(xlsx_write_tmp(doc, sizeof(doc) - 1, false,
			     "/nonexistent/dir", &fd, &st),
	    PGS_INTERNAL);
	assert_int_equal(fd, -1);
	assert_int_equal(xlsx_write_tmp("[", 1, false, NULL, &fd, &st),
	    PGS_INVALID);
	assert_int_equal(fd, -1);
}

/* Excel's column limit: the columns past it are left out and counted. */
static void
t_cols_cut(void **state)
{
	struct buf	  doc = BUF_INIT;
	struct xlsx_stats st;
	size_t		  i, n = XLSX_MAX_COLS + 2;

	(void)state;
	buf_puts(&doc, HEAD "{\"index\":0");
	for (i = 0; i < n; i++)
		buf_printf(&doc, ",\"c%zu\":%zu", i, i);
	buf_puts(&doc, "}],\"schema\":{\"fields\":[{\"name\":\"index\"}");
	for (i = 0; i < n; i++)
		buf_printf(&doc, ",{\"name\":\"c%zu\",\"type\":\"integer\"}",
		    i);
	buf_puts(&doc, "],\"primaryKey\":[\"index\"]}}");
	assert_int_equal(write_doc(doc.data, doc.len, false, &st), PGS_OK);
	assert_int_equal(st.cols_cut, 2);
	assert_int_equal(st.rows, 1);
	buf_free(&doc);
}

/* A text cell past 32,767 characters is cut and counted. */
static void
t_cells_cut(void **state)
{
	struct buf	  doc = BUF_INIT;
	struct xlsx_stats st;

	(void)state;
	buf_puts(&doc, HEAD "{\"index\":0,\"a\":\"");
	buf_reserve(&doc, 40000);
	memset(doc.data + doc.len, 'x', 40000);
	doc.len += 40000;
	buf_puts(&doc, "\",\"b\":\"short\"},{\"index\":1,\"a\":\"y\",\"b\":\"");
	buf_reserve(&doc, 33000);
	memset(doc.data + doc.len, 'z', 33000);
	doc.len += 33000;
	buf_puts(&doc,
	    "\"}" TAIL("{\"name\":\"a\",\"type\":\"string\"},"
		       "{\"name\":\"b\",\"type\":\"string\"}"));
	assert_int_equal(write_doc(doc.data, doc.len, false, &st), PGS_OK);
	assert_int_equal(st.cells_cut, 2);
	assert_int_equal(st.rows, 2);
	buf_free(&doc);
}

/* resdoc: columns without the index, field types, rows, missing keys. */
static void
t_resdoc(void **state)
{
	static const char doc[] = HEAD
	    "{\"index\":0,\"a\":1,\"b\":[1, 2]},{\"b\":\"s\",\"index\":1}" TAIL(
		"{\"name\":\"a\",\"type\":\"number\"},"
		"{\"name\":\"b\",\"type\":\"any\"}");
	struct resdoc	  *d;
	struct resdoc_span v;
	struct buf	   b = BUF_INIT;
	bool		   more;

	(void)state;
	assert_int_equal(resdoc_open(doc, sizeof(doc) - 1, &d), PGS_OK);
	assert_int_equal(resdoc_ncols(d), 2);
	assert_int_equal(resdoc_col(d, 0)->type, RESDOC_NUMBER);
	assert_int_equal(resdoc_col(d, 1)->type, RESDOC_ANY);
	assert_int_equal(resdoc_next(d, &more), PGS_OK);
	assert_true(more);
	v = resdoc_value(d, 1);
	assert_int_equal(resdoc_kind_of(v), RESDOC_NESTED);
	resdoc_compact(v, &b);
	assert_string_equal(b.data, "[1,2]");
	assert_int_equal(resdoc_next(d, &more), PGS_OK);
	assert_true(more);
	assert_int_equal(resdoc_kind_of(resdoc_value(d, 0)), RESDOC_NULL);
	assert_int_equal(resdoc_kind_of(resdoc_value(d, 1)), RESDOC_TEXT);
	assert_int_equal(resdoc_next(d, &more), PGS_OK);
	assert_false(more);
	assert_int_equal(resdoc_next(d, &more), PGS_OK);
	assert_false(more);
	resdoc_free(d);
	buf_free(&b);
	assert_int_equal(resdoc_open("{\"data\":[]}", 11, &d), PGS_INVALID);
	assert_null(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_number),
		cmocka_unit_test(t_datetime),
		cmocka_unit_test(t_text),
		cmocka_unit_test(t_write),
		cmocka_unit_test(t_write_tmp),
		cmocka_unit_test(t_cols_cut),
		cmocka_unit_test(t_cells_cut),
		cmocka_unit_test(t_resdoc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
