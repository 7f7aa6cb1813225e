/*
 * csv.c: stored result document to CSV, read through resdoc.c (which keeps
 * number tokens as they are: cJSON would make doubles).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "csv.h"
#include "resdoc.h"

/* Returns true when s (n bytes) is a plain decimal number: a sign, digits
 * with at most one '.', an optional exponent. */
static bool
plain_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return false;
	}
	return i == n;
}

bool
csv_formula_risk(const char *s, size_t n)
{
	if (n == 0 || memchr("=+-@\t\r", s[0], 6) == NULL)
		return false;
	return !plain_number(s, n);
}

/* Appends s as one CSV field, quoted when it has to be (or force), with
 * CSV_FORMULA_GUARD first when guard. */
static void
put_field(struct buf *out, const char *s, size_t n, bool force, bool guard)
{
	size_t i;

	if (!force && strcspn(s, ",\"\r\n") >= n) {
		if (guard)
			buf_putc(out, CSV_FORMULA_GUARD);
		buf_append(out, s, n);
		return;
	}
	buf_putc(out, '"');
	if (guard)
		buf_putc(out, CSV_FORMULA_GUARD);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_putc(out, '"');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '"');
}

/* Appends text (decoded, n bytes) as a CSV field: an empty string is
 * quoted, so that it differs from NULL; one that could be read as a
 * formula is neutralised unless raw. */
static void
put_text(struct buf *out, const struct buf *text, bool raw)
{
	const char *s = text->data != NULL ? text->data : "";

	put_field(out, s, text->len, text->len == 0,
	    !raw && csv_formula_risk(s, text->len));
}

/* Appends the raw value v as a CSV field, tmp being scratch space. */
static enum pgs_rc
put_value(struct buf *out, struct resdoc_span v, struct buf *tmp, bool raw)
{
	enum pgs_rc rc;

	buf_reset(tmp);
	switch (resdoc_kind_of(v)) {
	case RESDOC_NULL:
		return PGS_OK;
	case RESDOC_TEXT:
		rc = resdoc_unescape((struct resdoc_span){ v.s + 1, v.n - 2 },
		    tmp);
		if (rc == PGS_OK)
			put_text(out, tmp, raw);
		return rc;
	default:
		/* Numbers, booleans and nested JSON: never a formula. */
		resdoc_compact(v, tmp);
		put_field(out, tmp->data, tmp->len, false, false);
		return PGS_OK;
	}
}

/* Appends the header record: the column names. */
static enum pgs_rc
write_header(struct resdoc *d, struct buf *out, struct buf *tmp, bool raw)
{
	enum pgs_rc rc = PGS_OK;
	size_t	    i;

	for (i = 0; i < resdoc_ncols(d) && rc == PGS_OK; i++) {
		if (i > 0)
			buf_putc(out, ',');
		buf_reset(tmp);
		rc = resdoc_unescape(resdoc_col(d, i)->name, tmp);
		if (rc == PGS_OK)
			put_text(out, tmp, raw);
	}
	buf_append(out, "\r\n", 2);
	return rc;
}

/* Appends the current row of d as one record. */
static enum pgs_rc
write_row(struct resdoc *d, struct buf *out, struct buf *tmp, bool raw)
{
	enum pgs_rc rc = PGS_OK;
	size_t	    i;

	for (i = 0; i < resdoc_ncols(d) && rc == PGS_OK; i++) {
		if (i > 0)
			buf_putc(out, ',');
		rc = put_value(out, resdoc_value(d, i), tmp, raw);
	}
	buf_append(out, "\r\n", 2);
	return rc;
}

enum pgs_rc
result_to_csv(const char *doc, size_t len, bool raw, struct buf *out)
{
	struct resdoc *d;
	struct buf     tmp = BUF_INIT;
	enum pgs_rc    rc;
	bool	       more = true;

	rc = resdoc_open(doc, len, &d);
	if (rc != PGS_OK)
		return rc;
	rc = write_header(d, out, &tmp, raw);
	while (rc == PGS_OK && more) {
		rc = resdoc_next(d, &more);
		if (rc == PGS_OK && more)
			rc = write_row(d, out, &tmp, raw);
	}
	buf_free(&tmp);
	resdoc_free(d);
	return rc;
}
