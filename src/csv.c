/*
 * csv.c: stored result document to CSV, with a small JSON scanner of its
 * own that keeps number tokens as they are (cJSON would make doubles).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "csv.h"

#define CSV_MAX_DEPTH	1000

struct scan {
	const char	*p, *end;
	int		 depth;
};

/* A stretch of the document: a raw value, or a string's inside. */
struct span {
	const char	*s;
	size_t		 n;
};

static void
ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
	    *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static bool
peek(struct scan *sc, char c)
{
	ws(sc);
	return sc->p < sc->end && *sc->p == c;
}

static bool
eat(struct scan *sc, char c)
{
	if (!peek(sc, c))
		return false;
	sc->p++;
	return true;
}

/* Skips the string at sc->p; *in is its raw inside (escapes kept). */
static enum pgs_rc
skip_string(struct scan *sc, struct span *in)
{
	if (!eat(sc, '"'))
		return PGS_INVALID;
	in->s = sc->p;
	for (; sc->p < sc->end; sc->p++) {
		if (*sc->p == '"') {
			in->n = (size_t)(sc->p++ - in->s);
			return PGS_OK;
		}
		if ((unsigned char)*sc->p < 0x20)
			return PGS_INVALID;
		if (*sc->p == '\\' && ++sc->p == sc->end)
			return PGS_INVALID;
	}
	return PGS_INVALID;
}

static enum pgs_rc	skip_value(struct scan *sc);

/* Skips the members of an object or array after its opening bracket. */
static enum pgs_rc
skip_members(struct scan *sc, char close)
{
	struct span	 key;
	enum pgs_rc	 rc;

	if (eat(sc, close))
		return PGS_OK;
	do {
		if (close == '}') {
			rc = skip_string(sc, &key);
			if (rc != PGS_OK)
				return rc;
			if (!eat(sc, ':'))
				return PGS_INVALID;
		}
		rc = skip_value(sc);
		if (rc != PGS_OK)
			return rc;
	} while (eat(sc, ','));
	return eat(sc, close) ? PGS_OK : PGS_INVALID;
}

static enum pgs_rc
skip_value(struct scan *sc)
{
	static const char	*lits[] = { "true", "false", "null" };
	struct span		 in;
	const char		*s;
	enum pgs_rc		 rc;
	size_t			 i, n;

	ws(sc);
	if (sc->p >= sc->end)
		return PGS_INVALID;
	if (*sc->p == '"')
		return skip_string(sc, &in);
	if (*sc->p == '{' || *sc->p == '[') {
		if (++sc->depth > CSV_MAX_DEPTH)
			return PGS_INVALID;
		rc = skip_members(sc, *sc->p++ == '{' ? '}' : ']');
		sc->depth--;
		return rc;
	}
	for (i = 0; i < 3; i++) {
		n = strlen(lits[i]);
		if ((size_t)(sc->end - sc->p) >= n &&
		    memcmp(sc->p, lits[i], n) == 0) {
			sc->p += n;
			return PGS_OK;
		}
	}
	for (s = sc->p; sc->p < sc->end && strchr("0123456789+-.eE",
	    *sc->p) != NULL && *sc->p != '\0'; sc->p++)
		;
	return sc->p > s ? PGS_OK : PGS_INVALID;
}

static int
hex4(const char *p)
{
	int	 v = 0, i, c;

	for (i = 0; i < 4; i++) {
		c = (unsigned char)p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	char	 u[4];

	if (cp < 0x80) {
		buf_putc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 4);
	}
}

/* Decodes the \u escape at s[i] (the 'u'); returns the bytes used. */
static size_t
decode_u(const char *s, size_t i, size_t n, struct buf *out)
{
	int	 hi, lo;

	hi = i + 5 <= n ? hex4(s + i + 1) : -1;
	if (hi < 0)
		return 0;
	if (hi >= 0xD800 && hi <= 0xDBFF && i + 11 <= n && s[i + 5] == '\\' &&
	    s[i + 6] == 'u') {
		lo = hex4(s + i + 7);
		if (lo >= 0xDC00 && lo <= 0xDFFF) {
			put_utf8(out, 0x10000 + (((unsigned)hi - 0xD800) << 10) +
			    ((unsigned)lo - 0xDC00));
			return 11;
		}
	}
	put_utf8(out, hi >= 0xD800 && hi <= 0xDFFF ? 0xFFFD : (unsigned)hi);
	return 5;
}

/* Appends the decoded inside of a JSON string to out. */
static enum pgs_rc
decode_string(struct span in, struct buf *out)
{
	static const char	 from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char		*e;
	size_t			 i, used;

	for (i = 0; i < in.n; i++) {
		if (in.s[i] != '\\') {
			buf_putc(out, in.s[i]);
			continue;
		}
		if (++i >= in.n)
			return PGS_INVALID;
		if (in.s[i] == 'u') {
			used = decode_u(in.s, i, in.n, out);
			if (used == 0)
				return PGS_INVALID;
			i += used - 1;
			continue;
		}
		e = strchr(from, in.s[i]);
		if (e == NULL || in.s[i] == '\0')
			return PGS_INVALID;
		buf_putc(out, to[e - from]);
	}
	return PGS_OK;
}

/* Returns true when s (n bytes) is a plain decimal number: a sign, digits
 * with at most one '.', an optional exponent. */
static bool
plain_number(const char *s, size_t n)
{
	size_t	 i = 0, digits = 0;

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
	size_t	 i;

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

/* Appends the raw value v as a CSV field, tmp being scratch space; a
 * string that could be read as a formula is neutralised unless raw. */
static enum pgs_rc
put_value(struct buf *out, struct span v, struct buf *tmp, bool raw)
{
	enum pgs_rc	 rc;
	size_t		 i;
	bool		 instr = false;

	buf_reset(tmp);
	if (v.s == NULL || (v.n == 4 && memcmp(v.s, "null", 4) == 0))
		return PGS_OK;
	if (v.s[0] == '"') {
		rc = decode_string((struct span){ v.s + 1, v.n - 2 }, tmp);
		if (rc != PGS_OK)
			return rc;
		put_field(out, tmp->data != NULL ? tmp->data : "", tmp->len,
		    tmp->len == 0, !raw && csv_formula_risk(tmp->data,
		    tmp->len));
		return PGS_OK;
	}
	/* Nested JSON, compacted: whitespace outside strings dropped. */
	for (i = 0; i < v.n; i++) {
		if (instr && v.s[i] == '\\' && i + 1 < v.n) {
			buf_append(tmp, v.s + i++, 2);
			continue;
		}
		if (v.s[i] == '"')
			instr = !instr;
		if (instr || strchr(" \t\r\n", v.s[i]) == NULL ||
		    v.s[i] == '\0')
			buf_putc(tmp, v.s[i]);
	}
	/* Numbers, booleans and nested JSON: never a formula. */
	put_field(out, tmp->data, tmp->len, false, false);
	return PGS_OK;
}

static bool
span_is(struct span a, const char *lit)
{
	return a.n == strlen(lit) && memcmp(a.s, lit, a.n) == 0;
}

static bool
span_eq(struct span a, struct span b)
{
	return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

/* Finds the "schema" and "data" values of the top-level object. */
static enum pgs_rc
top_level(struct scan *sc, struct span *schema, struct span *data)
{
	struct span	 key;
	const char	*v;
	enum pgs_rc	 rc;

	if (!eat(sc, '{'))
		return PGS_INVALID;
	do {
		rc = skip_string(sc, &key);
		if (rc != PGS_OK)
			return rc;
		if (!eat(sc, ':'))
			return PGS_INVALID;
		ws(sc);
		v = sc->p;
		rc = skip_value(sc);
		if (rc != PGS_OK)
			return rc;
		if (span_is(key, "schema"))
			*schema = (struct span){ v, (size_t)(sc->p - v) };
		else if (span_is(key, "data"))
			*data = (struct span){ v, (size_t)(sc->p - v) };
	} while (eat(sc, ','));
	if (!eat(sc, '}'))
		return PGS_INVALID;
	ws(sc);
	return sc->p == sc->end && schema->s != NULL && data->s != NULL ?
	    PGS_OK : PGS_INVALID;
}

/* Reads one field object of the schema: appends its name to names. */
static enum pgs_rc
read_field(struct scan *sc, struct buf *names)
{
	struct span	 key, name = { NULL, 0 };
	enum pgs_rc	 rc;

	if (!eat(sc, '{'))
		return PGS_INVALID;
	if (!peek(sc, '}'))
		do {
			rc = skip_string(sc, &key);
			if (rc == PGS_OK && !eat(sc, ':'))
				rc = PGS_INVALID;
			if (rc == PGS_OK && span_is(key, "name") &&
			    peek(sc, '"'))
				rc = skip_string(sc, &name);
			else if (rc == PGS_OK)
				rc = skip_value(sc);
			if (rc != PGS_OK)
				return rc;
		} while (eat(sc, ','));
	if (!eat(sc, '}') || name.s == NULL)
		return PGS_INVALID;
	buf_append(names, &name, sizeof(name));
	return PGS_OK;
}

/* Reads the schema: the field names (spans, in names) and the index
 * column's name (the first primaryKey entry, else "index"). */
static enum pgs_rc
read_schema(struct span schema, struct buf *names, struct span *index)
{
	struct scan	 sc = { schema.s, schema.s + schema.n, 0 };
	struct span	 key;
	enum pgs_rc	 rc = PGS_OK;

	*index = (struct span){ "index", 5 };
	if (!eat(&sc, '{'))
		return PGS_INVALID;
	do {
		rc = skip_string(&sc, &key);
		if (rc == PGS_OK && !eat(&sc, ':'))
			rc = PGS_INVALID;
		if (rc == PGS_OK && span_is(key, "fields") && eat(&sc, '[')) {
			if (!peek(&sc, ']'))
				do
					rc = read_field(&sc, names);
				while (rc == PGS_OK && eat(&sc, ','));
			if (rc == PGS_OK && !eat(&sc, ']'))
				rc = PGS_INVALID;
		} else if (rc == PGS_OK && span_is(key, "primaryKey") &&
		    eat(&sc, '[') && peek(&sc, '"')) {
			rc = skip_string(&sc, index);
			while (rc == PGS_OK && eat(&sc, ','))
				rc = skip_value(&sc);
			if (rc == PGS_OK && !eat(&sc, ']'))
				rc = PGS_INVALID;
		} else if (rc == PGS_OK)
			rc = skip_value(&sc);
	} while (rc == PGS_OK && eat(&sc, ','));
	return rc;
}

/* Returns the column of key, trying the one at this position last row
 * first (jsonb keeps the same key order in every row); -1 if none. */
static long
find_col(const struct span *cols, size_t ncols, struct span key, long *hint)
{
	size_t	 i;

	if (*hint >= 0 && span_eq(cols[*hint], key))
		return *hint;
	for (i = 0; i < ncols; i++)
		if (span_eq(cols[i], key)) {
			*hint = (long)i;
			return *hint;
		}
	return -1;
}

/* Reads one row object and writes its CSV record. */
static enum pgs_rc
write_row(struct scan *sc, const struct span *cols, size_t ncols,
    struct span *vals, long *hints, struct buf *out, struct buf *tmp,
    bool raw)
{
	struct span	 key;
	const char	*v;
	enum pgs_rc	 rc = PGS_OK;
	size_t		 i, pos = 0;
	long		 c;

	memset(vals, 0, ncols * sizeof(*vals));
	if (!eat(sc, '{'))
		return PGS_INVALID;
	if (!peek(sc, '}'))
		do {
			rc = skip_string(sc, &key);
			if (rc == PGS_OK && !eat(sc, ':'))
				rc = PGS_INVALID;
			ws(sc);
			v = sc->p;
			if (rc == PGS_OK)
				rc = skip_value(sc);
			if (rc != PGS_OK)
				return rc;
			c = find_col(cols, ncols, key, &hints[pos]);
			if (c >= 0)
				vals[c] = (struct span){ v, (size_t)(sc->p - v) };
			pos += pos < ncols;
		} while (eat(sc, ','));
	if (!eat(sc, '}'))
		return PGS_INVALID;
	for (i = 0; i < ncols && rc == PGS_OK; i++) {
		if (i > 0)
			buf_putc(out, ',');
		rc = put_value(out, vals[i], tmp, raw);
	}
	buf_append(out, "\r\n", 2);
	return rc;
}

/* Writes the header and every row, for the columns in cols. */
static enum pgs_rc
write_csv(struct span data, const struct span *cols, size_t ncols, bool raw,
    struct buf *out)
{
	struct scan	 sc = { data.s, data.s + data.n, 0 };
	struct span	*vals = xcalloc(ncols + 1, sizeof(*vals));
	long		*hints = xcalloc(ncols + 1, sizeof(*hints));
	struct buf	 tmp = BUF_INIT, name = BUF_INIT;
	enum pgs_rc	 rc = PGS_OK;
	size_t		 i;

	for (i = 0; i <= ncols; i++)
		hints[i] = -1;
	for (i = 0; i < ncols && rc == PGS_OK; i++) {
		if (i > 0)
			buf_putc(out, ',');
		buf_reset(&name);
		buf_putc(&name, '"');	/* a name is a string, never null */
		buf_append(&name, cols[i].s, cols[i].n);
		buf_putc(&name, '"');
		rc = put_value(out, (struct span){ name.data, name.len }, &tmp,
		    raw);
	}
	buf_append(out, "\r\n", 2);
	if (rc == PGS_OK && !eat(&sc, '['))
		rc = PGS_INVALID;
	if (rc == PGS_OK && !eat(&sc, ']')) {
		do
			rc = write_row(&sc, cols, ncols, vals, hints, out, &tmp,
			    raw);
		while (rc == PGS_OK && eat(&sc, ','));
		if (rc == PGS_OK && !eat(&sc, ']'))
			rc = PGS_INVALID;
	}
	free(vals);
	free(hints);
	buf_free(&tmp);
	buf_free(&name);
	return rc;
}

enum pgs_rc
result_to_csv(const char *doc, size_t len, bool raw, struct buf *out)
{
	struct scan	 sc = { doc, doc + len, 0 };
	struct span	 schema = { NULL, 0 }, data = { NULL, 0 }, index;
	struct span	*f, *cols;
	struct buf	 names = BUF_INIT;
	size_t		 i, n, ncols = 0;
	enum pgs_rc	 rc;

	if (doc == NULL)
		return PGS_INVALID;
	rc = top_level(&sc, &schema, &data);
	if (rc == PGS_OK)
		rc = read_schema(schema, &names, &index);
	if (rc != PGS_OK)
		goto out;
	n = names.len / sizeof(struct span);
	f = (struct span *)(void *)names.data;
	cols = xcalloc(n + 1, sizeof(*cols));
	for (i = 0; i < n; i++)
		if (!span_eq(f[i], index))
			cols[ncols++] = f[i];
	rc = write_csv(data, cols, ncols, raw, out);
	free(cols);
out:
	buf_free(&names);
	return rc;
}
