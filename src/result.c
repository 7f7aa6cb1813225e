/*
 * result.c: PostgreSQL text values to a pandas orient='table' document.
 *
 * Rows are written to the data buffer as they arrive, each value in the
 * form its column type wants; every column keeps a few statistics, and
 * the schema is chosen at the end from them.  A column that has to become
 * a string column after some of its values were written as numbers or
 * datetimes is rewritten by one pass at the end (render()).  Every rule
 * below was checked with pandas 1.5.3 read_json(orient='table'), on the
 * document both as written and after PostgreSQL's ::jsonb::text.
 *
 * PG type (OID)          column type        values
 * int2 int4 int8 oid     "integer"          verbatim digits, if no NULL
 *   ... with NULLs       "number"           if every value is exactly a
 *                                           double, else "string" (text)
 * float4 float8 numeric  "number"           verbatim, if every value reads
 *                                           back exactly (below), else
 *                                           "string" with the exact text
 *                                           (NaN, Infinity, 1e308, 5e-324,
 *                                           1e23, 17-digit values, ...)
 * bool                   "boolean"          true/false, if no NULL
 *   ... with NULLs       "string"           true/false/null (pandas keeps
 *                                           True/False/NaN; "boolean" would
 *                                           read NULL as False)
 * date                   "datetime"         "2024-01-01" when every value is
 *                                           in 1677-09-22..2262-04-11, else
 *                                           "string" (BC, infinity, ...)
 * timestamp              "datetime"         "2024-01-01T08:00:00.123456"
 * timestamptz            "datetime" tz UTC  "2024-01-01T08:00:00.123456Z",
 *                                           any offset converted to UTC;
 *                                           out of datetime64[ns] range
 *                                           (1677-09-21T00:12:43.145225 ..
 *                                           2262-04-11T23:47:16.854775 UTC),
 *                                           BC or infinity: "string" with the
 *                                           text, in-range values of such a
 *                                           column as PostgreSQL prints them
 *                                           with TimeZone=UTC ("...+00")
 * json jsonb             "any"              nested JSON (the value's own
 *                                           text), else "string" with the
 *                                           exact text when a number would
 *                                           not read back exactly, json has a
 *                                           duplicate key (or a key with an
 *                                           escape), \u0000 or a lone
 *                                           surrogate (jsonb rejects those),
 *                                           or a top-level JSON null (pandas
 *                                           would read it as NaN, like NULL)
 * arrays, text, varchar, "string"           the exact text (arrays in
 * uuid, interval, bytea,                    PostgreSQL's '{a,b}' form, bytea
 * money, time, anything                     as '\x...')
 *
 * "Reads back exactly" for a number: pandas' JSON reader (ujson with
 * precise_float=False) computes (int + frac * 10^-k) * 10^exp with at most
 * 15 fraction digits, and jsonb rewrites every number without exponent
 * (1e308 as 309 digits, 5e-324 as 324 decimals), which that reader either
 * rejects (integer part beyond 64 bits) or truncates.  A value is a number
 * when that computation, on the text as written and on its jsonb form,
 * with and without a fused multiply-add, gives the double strtod() gives,
 * the integer part fits ujson (-2^63..2^64-1) and the exponent is within
 * +-1000 (numeric_in's limit).  numeric also needs its text to be the
 * shortest decimal of that double (0.1 yes, 0.10000000000000001 no), so
 * that distinct numerics stay distinct.  -0 is written as is; jsonb turns
 * it into 0, which compares equal.
 *
 * Names: invalid UTF-8 becomes U+FFFD.  "index" is the index column, so a
 * column named "index", or a name already taken, gets the first free
 * suffix "_1", "_2", ... ("a", "a" -> "a", "a_1").  The dry-run form keeps
 * the original names.  Text with invalid UTF-8 (or a NUL byte, which jsonb
 * rejects) gets U+FFFD per bad sequence; rs_invalid_utf8() counts them.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "result.h"
#include "result_check.h"

#define OID_BOOL    16
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_OID	    26
#define OID_JSON    114
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_DATE    1082
#define OID_TS	    1114
#define OID_TSTZ    1184
#define OID_NUMERIC 1700
#define OID_JSONB   3802

/* datetime64[ns] bounds in microseconds since 1970, measured. */
#define US_MIN	     (-9223372036854775LL)
#define US_MAX	     (9223372036854775LL)
#define DATA_HEAD    9 /* the data buffer starts with {"data":[ */
#define DATA_RESERVE ((size_t)64 << 20)
#define CHUNK	     4096 /* bytes of a value escaped at once */
/* What a row may write past its room before put_str notices: one
 * escaped chunk (6 bytes per byte) and a few bytes of punctuation. */
#define ROW_SLACK  (6 * CHUNK + 64)
#define LONG_VALUE 64 /* longer values never shrink written */

enum kind {
	K_TEXT,
	K_INT,
	K_FLOAT,
	K_NUMERIC,
	K_BOOL,
	K_DATE,
	K_TS,
	K_TSTZ,
	K_JSON,
	K_JSONB
};

struct col {
	enum kind kind;
	bool	  has_null;
	bool	  inexact; /* int: a value is not exactly a double */
	bool	  flip;	   /* a string column from flip_row on */
	size_t	  flip_row;
	size_t	  extra; /* bytes added if the column flips */
};

struct result {
	int	    ncols;
	struct col *cols;
	struct col *saved; /* cols before the current row */
	char	  **keys;  /* `"name":` for each column */
	size_t	   *keylen;
	char	  **orig; /* the original names, as JSON */
	struct buf  data; /* rows, comma-separated */
	size_t	    rows, max_rows, max_bytes, fixed, size;
	size_t	    bad_utf8;
	size_t	    stop;     /* data.len the row may reach */
	bool	    over;     /* the row passed stop */
	bool	    byte_cut; /* max_bytes refused a row */
	bool	    truncated;
	bool	    handed; /* rs_finish took the data buffer */
};

/* A date or timestamp as PostgreSQL prints it with DateStyle ISO. */
struct ts {
	int	    year, mon, day, hh, mi, ss;
	const char *frac; /* the '.' and digits, or "" */
	size_t	    nfrac;
	long	    off; /* seconds east of UTC */
};

/*
 * Writes s, escaped, as a JSON string.  Invalid UTF-8 and NUL bytes
 * (which jsonb rejects as \u0000) become U+FFFD, counted in *bad.
 * Returns false, the string left unfinished, once b holds more than stop
 * bytes: the caps are checked while a value is escaped, a chunk at a
 * time, so b never grows more than ROW_SLACK past them, whatever the
 * value's size (escaping can make it six times larger).
 */
static bool
put_str(struct buf *b, size_t *bad, const char *s, size_t n, size_t stop)
{
	static const char    hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *cend;
	size_t		     len;
	char		    *o;

	buf_putc(b, '"');
	while (p < end) {
		if (b->len > stop)
			return false;
		/* Bounded chunks: the worst case is 6 bytes per byte. */
		cend = end - p > CHUNK ? p + CHUNK : end;
		buf_reserve(b, 6 * (size_t)(cend - p) + 4);
		o = b->data + b->len;
		while (p < cend) {
			unsigned c = *p;

			if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
				*o++ = (char)c;
				p++;
				continue;
			}
			len = c == 0 ? 0 :
			    c < 0x80 ? 1 :
				       result_check_utf8(p, (size_t)(end - p));
			if (len == 0) {
				memcpy(o, "\xEF\xBF\xBD", 3);
				o += 3;
				(*bad)++;
				p++;
			} else if (c >= 0x80) {
				memcpy(o, p, len);
				o += len;
				p += len;
			} else {
				*o++ = '\\';
				if (c == '"' || c == '\\')
					*o++ = (char)c;
				else if (c == '\n' || c == '\r' || c == '\t')
					*o++ = c == '\n' ? 'n' :
					    c == '\r'	 ? 'r' :
							   't';
				else {
					memcpy(o, "u00", 3);
					o[3] = hex[c >> 4];
					o[4] = hex[c & 15];
					o += 5;
				}
				p++;
			}
		}
		b->len = (size_t)(o - b->data);
	}
	buf_putc(b, '"');
	return true;
}

static bool
two(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

static long long
days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

static void
civil_from_days(long long z, int *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Parses the "+05:30"-style offset at s (n bytes) into t->off. */
static bool
parse_offset(const char *s, size_t n, struct ts *t)
{
	int h, m = 0, sec = 0;

	if (n < 3 || (s[0] != '+' && s[0] != '-') || !two(s + 1, &h))
		return false;
	if (n >= 6 && (s[3] != ':' || !two(s + 4, &m)))
		return false;
	if (n >= 9 && (s[6] != ':' || !two(s + 7, &sec)))
		return false;
	if ((n != 3 && n != 6 && n != 9) || m > 59 || sec > 59)
		return false;
	t->off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L + sec);
	return true;
}

static bool
valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	bool		 leap;

	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	return m >= 1 && m <= 12 && d >= 1 &&
	    d <= mdays[m - 1] + (m == 2 && leap);
}

/* Parses ".ffffff" at s[i..n); returns the index after it, 0 if bad. */
static size_t
parse_frac(const char *s, size_t i, size_t n, struct ts *t)
{
	size_t start = i;

	t->frac = s + i;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	t->nfrac = i - start;
	return t->nfrac == 1 || t->nfrac > 7 ? 0 : i;
}

/*
 * Parses "YYYY-MM-DD[ HH:MM:SS[.ffffff][+HH[:MM[:SS]]]]" (the parts kind
 * has) and returns whether it is a valid moment inside datetime64[ns].
 */
static bool
ts_parse(enum kind kind, const char *s, size_t n, struct ts *t)
{
	int	  y1, y2;
	size_t	  i = 10, k;
	long long us;

	memset(t, 0, sizeof(*t));
	t->frac = "";
	if (n < 10 || !two(s, &y1) || !two(s + 2, &y2) || s[4] != '-' ||
	    !two(s + 5, &t->mon) || s[7] != '-' || !two(s + 8, &t->day))
		return false;
	t->year = y1 * 100 + y2;
	if (t->year < 1677 || t->year > 2262 ||
	    !valid_date(t->year, t->mon, t->day))
		return false;
	if (kind != K_DATE) {
		if (n < 19 || s[10] != ' ' || !two(s + 11, &t->hh) ||
		    s[13] != ':' || !two(s + 14, &t->mi) || s[16] != ':' ||
		    !two(s + 17, &t->ss) || t->hh > 23 || t->mi > 59 ||
		    t->ss > 59)
			return false;
		i = parse_frac(s, 19, n, t);
		if (i == 0)
			return false;
	}
	if (kind == K_TSTZ ? !parse_offset(s + i, n - i, t) : i != n)
		return false;
	us = days_from_civil(t->year, t->mon, t->day) * 86400 + t->hh * 3600 +
	    t->mi * 60 + t->ss - t->off;
	for (k = 1; k < 7; k++)
		us = us * 10 + (k < t->nfrac ? t->frac[k] - '0' : 0);
	return us >= US_MIN && us <= US_MAX;
}

/* Writes a date or timestamp in its datetime form, if it has one. */
static bool
put_time(struct buf *b, enum kind kind, const char *s, size_t n)
{
	struct ts t;
	long long secs;
	char	  tmp[32];

	if (!ts_parse(kind, s, n, &t))
		return false;
	buf_putc(b, '"');
	if (kind == K_DATE)
		buf_append(b, s, 10);
	else if (t.off == 0) {
		buf_append(b, s, 10);
		buf_putc(b, 'T');
		buf_append(b, s + 11, 8);
	} else {
		secs = days_from_civil(t.year, t.mon, t.day) * 86400 +
		    t.hh * 3600 + t.mi * 60 + t.ss - t.off;
		civil_from_days(secs >= 0 ? secs / 86400 :
					    (secs - 86399) / 86400,
		    &t.year, &t.mon, &t.day);
		secs = ((secs % 86400) + 86400) % 86400;
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d",
		    t.year, t.mon, t.day, (int)(secs / 3600),
		    (int)(secs / 60 % 60), (int)(secs % 60));
		buf_puts(b, tmp);
	}
	buf_append(b, t.frac, t.nfrac);
	if (kind == K_TSTZ)
		buf_putc(b, 'Z');
	buf_putc(b, '"');
	return true;
}

/* Returns whether s is an integer; *exact: it is exactly a double. */
static bool
int_parse(const char *s, size_t n, bool *exact)
{
	uint64_t v = 0;
	size_t	 i = n > 0 && s[0] == '-';

	if (n == i || n - i > 20)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	while (v > (1ULL << 53) && (v & 1) == 0)
		v >>= 1;
	*exact = v <= (1ULL << 53);
	return true;
}

/*
 * Writes one value in its column's typed form and updates the column's
 * statistics; a value with no typed form flips the column to strings.
 * Sets rs->over, the value unwritten or cut, when the row cannot fit.
 */
static void
put_value(struct result *rs, struct col *c, const char *v, size_t n)
{
	struct buf *b = &rs->data;
	size_t	    extra;
	bool	    ok = false, exact = true, top_null;

	if (v == NULL) {
		buf_append(b, "null", 4);
		c->has_null = true;
		return;
	}
	/* Any written form of a long value is at least as long as its text:
	 * one that cannot fit is refused before it is looked at. */
	if (n > LONG_VALUE && (b->len > rs->stop || n > rs->stop - b->len)) {
		rs->over = true;
		return;
	}
	switch (c->flip ? K_TEXT : c->kind) {
	case K_TEXT:
		rs->over = !put_str(b, &rs->bad_utf8, v, n, rs->stop);
		return;
	case K_INT:
		ok = int_parse(v, n, &exact);
		c->inexact = c->inexact || (ok && !exact);
		extra = 2;
		break;
	case K_FLOAT:
	case K_NUMERIC:
		ok = result_check_number(v, n, c->kind == K_NUMERIC);
		extra = 2;
		break;
	case K_BOOL:
		if (n == 1 && (v[0] == 't' || v[0] == 'f')) {
			buf_puts(b, v[0] == 't' ? "true" : "false");
			return;
		}
		break;
	case K_DATE:
	case K_TS:
	case K_TSTZ:
		if (put_time(b, c->kind, v, n)) {
			c->extra += c->kind == K_TSTZ ? 2 : 0;
			return;
		}
		break;
	case K_JSON:
	case K_JSONB:
		ok = result_check_json(v, n, c->kind == K_JSON, &extra,
			 &top_null) &&
		    !top_null;
		break;
	}
	if (ok) {
		buf_append(b, v, n);
		c->extra += extra;
		return;
	}
	c->flip = true;
	c->flip_row = rs->rows;
	rs->over = !put_str(b, &rs->bad_utf8, v, n, rs->stop);
}

static enum kind
kind_of(unsigned int oid)
{
	switch (oid) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
		return K_INT;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return K_FLOAT;
	case OID_NUMERIC:
		return K_NUMERIC;
	case OID_BOOL:
		return K_BOOL;
	case OID_DATE:
		return K_DATE;
	case OID_TS:
		return K_TS;
	case OID_TSTZ:
		return K_TSTZ;
	case OID_JSON:
		return K_JSON;
	case OID_JSONB:
		return K_JSONB;
	default:
		return K_TEXT;
	}
}

static bool
name_taken(struct result *rs, int upto, const char *key, size_t len)
{
	int i;

	if (len == 8 && memcmp(key, "\"index\":", 8) == 0)
		return true;
	for (i = 0; i < upto; i++)
		if (rs->keylen[i] == len && memcmp(rs->keys[i], key, len) == 0)
			return true;
	return false;
}

/* Sets keys[i] to the first free form of name i: name, name_1, ... */
static void
name_dedupe(struct result *rs, int i, const char *name)
{
	struct buf b = BUF_INIT, k = BUF_INIT;
	unsigned   n;

	(void)put_str(&b, &rs->bad_utf8, name, strlen(name), SIZE_MAX);
	rs->orig[i] = xstrdup(b.data);
	b.data[--b.len] = '\0'; /* drop the closing quote */
	buf_printf(&k, "%s\":", b.data);
	for (n = 1; name_taken(rs, i, k.data, k.len); n++) {
		buf_reset(&k);
		buf_printf(&k, "%s_%u\":", b.data, n);
	}
	rs->keylen[i] = k.len;
	rs->keys[i] = buf_steal(&k);
	buf_free(&b);
}

struct result *
rs_new(int ncols, const char *const names[], const unsigned int type_oids[],
    size_t max_rows, size_t max_bytes)
{
	struct result *rs;
	int	       i;

	rs = xcalloc(1, sizeof(*rs));
	rs->ncols = ncols < 0 ? 0 : ncols;
	rs->cols = xcalloc((size_t)rs->ncols + 1, sizeof(*rs->cols));
	rs->saved = xcalloc((size_t)rs->ncols + 1, sizeof(*rs->saved));
	rs->keys = xcalloc((size_t)rs->ncols + 1, sizeof(*rs->keys));
	rs->orig = xcalloc((size_t)rs->ncols + 1, sizeof(*rs->orig));
	rs->keylen = xcalloc((size_t)rs->ncols + 1, sizeof(*rs->keylen));
	buf_init(&rs->data);
	/* Reserve up to the cap at once: untouched pages cost nothing, and
	 * growing by realloc would copy (and fault in) the data again.  A
	 * row stops within ROW_SLACK of the cap, so it never doubles. */
	buf_reserve(&rs->data,
	    (max_bytes < DATA_RESERVE ? max_bytes : DATA_RESERVE) + ROW_SLACK);
	buf_append(&rs->data, "{\"data\":[", DATA_HEAD);
	rs->max_rows = max_rows;
	rs->max_bytes = max_bytes;
	/* The schema at its longest, plus the document's own punctuation. */
	rs->fixed = sizeof(
	    "{\"data\":[],\"schema\":{\"fields\":[{\"name\":"
	    "\"index\",\"type\":\"integer\"}],\"primaryKey\":[\"index\"],"
	    "\"pandas_version\":\"1.4.0\"}}");
	for (i = 0; i < rs->ncols; i++) {
		rs->cols[i].kind = kind_of(type_oids[i]);
		name_dedupe(rs, i, names[i] != NULL ? names[i] : "");
		rs->fixed += rs->keylen[i] +
		    sizeof(",{\"name\":,\"type\":\"datetime\",\"tz\":\"UTC\"}");
	}
	rs->size = rs->fixed;
	return rs;
}

void
rs_free(struct result *rs)
{
	int i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->ncols; i++) {
		free(rs->keys[i]);
		free(rs->orig[i]);
	}
	free(rs->keys);
	free(rs->orig);
	free(rs->keylen);
	free(rs->cols);
	free(rs->saved);
	buf_free(&rs->data);
	free(rs);
}

/* Returns whether column c ends up a string column after row rows. */
static bool
col_flips(const struct col *c)
{
	if (c->flip)
		return true;
	if (c->kind == K_INT)
		return c->has_null && c->inexact;
	return false;
}

/* Returns the document size if it were finished now (schema at its
 * longest). */
static size_t
doc_size(const struct result *rs)
{
	size_t n = rs->fixed + rs->data.len - DATA_HEAD;
	int    i;

	for (i = 0; i < rs->ncols; i++)
		if (col_flips(&rs->cols[i]))
			n += rs->cols[i].extra;
	return n;
}

static void
put_index(struct buf *b, size_t n)
{
	char   tmp[32];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	buf_append(b, tmp + i, sizeof(tmp) - i);
}

bool
rs_add_row(struct result *rs, const char *const values[], const int lengths[])
{
	size_t mark = rs->data.len, bad = rs->bad_utf8;
	size_t ncols = (size_t)rs->ncols, size, room;
	int    i;

	if (rs->truncated || rs->rows >= rs->max_rows) {
		rs->truncated = true;
		return false;
	}
	/* The row's room: every byte it writes adds at least one to the
	 * document, so a row that writes more cannot fit. */
	size = doc_size(rs);
	room = size < rs->max_bytes ? rs->max_bytes - size : 0;
	rs->stop = room > SIZE_MAX - mark ? SIZE_MAX : mark + room;
	rs->over = false;
	memcpy(rs->saved, rs->cols, ncols * sizeof(*rs->cols));
	buf_append(&rs->data, rs->rows > 0 ? ",{\"index\":" : "{\"index\":",
	    rs->rows > 0 ? 10 : 9);
	put_index(&rs->data, rs->rows);
	for (i = 0; i < rs->ncols && !rs->over; i++) {
		buf_putc(&rs->data, ',');
		buf_append(&rs->data, rs->keys[i], rs->keylen[i]);
		put_value(rs, &rs->cols[i], values[i],
		    values[i] == NULL || lengths[i] < 0 ? 0 :
							  (size_t)lengths[i]);
	}
	buf_putc(&rs->data, '}');
	if (rs->over || doc_size(rs) > rs->max_bytes) {
		memcpy(rs->cols, rs->saved, ncols * sizeof(*rs->cols));
		rs->data.len = mark;
		if (rs->data.cap > 0)
			rs->data.data[mark] = '\0';
		rs->bad_utf8 = bad;
		rs->byte_cut = true;
		rs->truncated = true;
		return false;
	}
	rs->rows++;
	rs->size = doc_size(rs);
	return true;
}

static const char *
type_name(const struct col *c)
{
	if (col_flips(c))
		return "\"string\"";
	switch (c->kind) {
	case K_INT:
		return c->has_null ? "\"number\"" : "\"integer\"";
	case K_FLOAT:
	case K_NUMERIC:
		return "\"number\"";
	case K_BOOL:
		return c->has_null ? "\"string\"" : "\"boolean\"";
	case K_DATE:
	case K_TS:
		return "\"datetime\"";
	case K_TSTZ:
		return "\"datetime\",\"tz\":\"UTC\"";
	case K_JSON:
	case K_JSONB:
		return "\"any\"";
	default:
		return "\"string\"";
	}
}

static void
put_schema(const struct result *rs, struct buf *out)
{
	int i;

	buf_puts(out, "{\"fields\":[{\"name\":\"index\",\"type\":\"integer\"}");
	for (i = 0; i < rs->ncols; i++) {
		buf_puts(out, ",{\"name\":");
		buf_append(out, rs->keys[i], rs->keylen[i] - 1);
		buf_puts(out, ",\"type\":");
		buf_puts(out, type_name(&rs->cols[i]));
		buf_putc(out, '}');
	}
	buf_puts(out,
	    "],\"primaryKey\":[\"index\"],"
	    "\"pandas_version\":\"1.4.0\"}");
}

/* Returns the end of the value at p in the data buffer: the ',' or '}'
 * that follows it at depth 0. */
static const char *
token_end(const char *p)
{
	int depth = 0;

	for (;; p++) {
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\\')
					p++;
		} else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;
			depth--;
		} else if (*p == ',' && depth == 0)
			return p;
	}
}

/* Writes the value tok of column c in row row as the column's final
 * type wants: typed values of a flipped column become their text. */
static void
put_final(struct buf *out, const struct col *c, size_t row, const char *tok,
    size_t n)
{
	size_t ignored = 0;

	if (!col_flips(c) || (c->flip && row >= c->flip_row) ||
	    (n == 4 && memcmp(tok, "null", 4) == 0)) {
		buf_append(out, tok, n);
		return;
	}
	switch (c->kind) {
	case K_TS:
	case K_TSTZ:
		/* "YYYY-MM-DDTHH:MM:SS[.f][Z]" back to PostgreSQL's form */
		buf_append(out, tok, 11);
		buf_putc(out, ' ');
		buf_append(out, tok + 12, n - 13 - (c->kind == K_TSTZ));
		buf_puts(out, c->kind == K_TSTZ ? "+00\"" : "\"");
		break;
	case K_BOOL:
		buf_puts(out, tok[0] == 't' ? "\"t\"" : "\"f\"");
		break;
	case K_JSON:
	case K_JSONB:
		(void)put_str(out, &ignored, tok, n, SIZE_MAX);
		break;
	case K_DATE:
	case K_TEXT:
		buf_append(out, tok, n);
		break;
	default:
		buf_putc(out, '"');
		buf_append(out, tok, n);
		buf_putc(out, '"');
	}
}

/*
 * Writes the data buffer again, with each column in its final type: as
 * the document's row objects, or (rows) as arrays without the index.
 */
static void
render(const struct result *rs, struct buf *out, bool rows)
{
	const char *p = rs->data.data + DATA_HEAD, *q;
	size_t	    row;
	int	    i;

	if (rs->handed)
		return;
	/* One allocation: growing by realloc would copy everything again. */
	buf_reserve(out, doc_size(rs));

	for (row = 0; row < rs->rows; row++) {
		if (row > 0) {
			buf_putc(out, ',');
			p++;
		}
		for (q = p + 9; *q >= '0' && *q <= '9'; q++)
			;
		if (rows)
			buf_putc(out, '[');
		else
			buf_append(out, p, (size_t)(q - p));
		p = q;
		for (i = 0; i < rs->ncols; i++) {
			p += 1 + rs->keylen[i];
			q = token_end(p);
			if (!rows) {
				buf_putc(out, ',');
				buf_append(out, rs->keys[i], rs->keylen[i]);
			} else if (i > 0)
				buf_putc(out, ',');
			put_final(out, &rs->cols[i], row, p, (size_t)(q - p));
			p = q;
		}
		p++;
		buf_putc(out, rows ? ']' : '}');
	}
}

void
rs_finish(struct result *rs, struct buf *out)
{
	static const char head[] = "{\"data\":[";
	size_t		  start = out->len;
	bool		  any = false;
	int		  i;

	for (i = 0; i < rs->ncols; i++)
		any = any || col_flips(&rs->cols[i]);
	if (!any && out->len == 0 && !rs->handed) {
		/* The data buffer starts with head: hand it over whole. */
		buf_free(out);
		*out = rs->data;
		buf_init(&rs->data);
		rs->handed = true;
	} else {
		buf_puts(out, head);
		if (any)
			render(rs, out, false);
		else if (!rs->handed)
			buf_append(out, rs->data.data + DATA_HEAD,
			    rs->data.len - DATA_HEAD);
	}
	buf_puts(out, "],\"schema\":");
	put_schema(rs, out);
	buf_putc(out, '}');
	rs->size = out->len - start;
}

void
rs_finish_rows(struct result *rs, struct buf *out)
{
	int i;

	buf_puts(out, "\"columns\":[");
	for (i = 0; i < rs->ncols; i++) {
		if (i > 0)
			buf_putc(out, ',');
		buf_puts(out, rs->orig[i]);
	}
	buf_puts(out, "],\"rows\":[");
	render(rs, out, true);
	buf_putc(out, ']');
}

size_t
rs_row_count(const struct result *rs)
{
	return rs->rows;
}

size_t
rs_byte_size(const struct result *rs)
{
	return rs->size;
}

bool
rs_truncated(const struct result *rs)
{
	return rs->truncated;
}

bool
rs_first_row_too_large(const struct result *rs)
{
	return rs->byte_cut && rs->rows == 0;
}

size_t
rs_invalid_utf8(const struct result *rs)
{
	return rs->bad_utf8;
}
