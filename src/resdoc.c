/*
 * resdoc.c: a small JSON scanner over a stored result document that keeps
 * number tokens as they are (cJSON would make doubles) and never builds a
 * tree: the structure is checked once at open, then rows are read one at
 * a time into spans of the document.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "resdoc.h"
#include "utf8.h"

#define RESDOC_MAX_DEPTH 1000

struct scan {
	const char *p, *end;
	int	    depth;
};

struct resdoc {
	struct scan	    sc; /* the data array, at the next row */
	struct resdoc_col  *cols;
	size_t		    ncols;
	struct resdoc_span *vals;  /* the current row, by column */
	long		   *hints; /* a key's column at each position */
	bool		    started, done;
};

static void
ws(struct scan *sc)
{
	while (sc->p < sc->end &&
	    (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
		*sc->p == '\r'))
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
skip_string(struct scan *sc, struct resdoc_span *in)
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

static enum pgs_rc skip_value(struct scan *sc);

/* Skips the members of an object or array after its opening bracket. */
static enum pgs_rc
skip_members(struct scan *sc, char close)
{
	struct resdoc_span key;
	enum pgs_rc	   rc;

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
	static const char *lits[] = { "true", "false", "null" };
	struct resdoc_span in;
	const char	  *s;
	enum pgs_rc	   rc;
	size_t		   i, n;

	ws(sc);
	if (sc->p >= sc->end)
		return PGS_INVALID;
	if (*sc->p == '"')
		return skip_string(sc, &in);
	if (*sc->p == '{' || *sc->p == '[') {
		if (++sc->depth > RESDOC_MAX_DEPTH)
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
	for (s = sc->p; sc->p < sc->end &&
	     strchr("0123456789+-.eE", *sc->p) != NULL && *sc->p != '\0';
	     sc->p++)
		;
	return sc->p > s ? PGS_OK : PGS_INVALID;
}

/* Skips the value at sc->p and sets *v to its raw text. */
static enum pgs_rc
take_value(struct scan *sc, struct resdoc_span *v)
{
	enum pgs_rc rc;

	ws(sc);
	v->s = sc->p;
	rc = skip_value(sc);
	v->n = (size_t)(sc->p - v->s);
	return rc;
}

/* Reads `"key":` into *key. */
static enum pgs_rc
take_key(struct scan *sc, struct resdoc_span *key)
{
	enum pgs_rc rc;

	rc = skip_string(sc, key);
	if (rc == PGS_OK && !eat(sc, ':'))
		rc = PGS_INVALID;
	return rc;
}

static bool
span_is(struct resdoc_span a, const char *lit)
{
	return a.n == strlen(lit) && memcmp(a.s, lit, a.n) == 0;
}

static bool
span_eq(struct resdoc_span a, struct resdoc_span b)
{
	return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

/* Finds the "schema" and "data" values of the top-level object. */
static enum pgs_rc
top_level(struct scan *sc, struct resdoc_span *schema, struct resdoc_span *data)
{
	struct resdoc_span key, v;
	enum pgs_rc	   rc;

	if (!eat(sc, '{'))
		return PGS_INVALID;
	do {
		rc = take_key(sc, &key);
		if (rc == PGS_OK)
			rc = take_value(sc, &v);
		if (rc != PGS_OK)
			return rc;
		if (span_is(key, "schema"))
			*schema = v;
		else if (span_is(key, "data"))
			*data = v;
	} while (eat(sc, ','));
	if (!eat(sc, '}'))
		return PGS_INVALID;
	ws(sc);
	return sc->p == sc->end && schema->s != NULL && data->s != NULL ?
	    PGS_OK :
	    PGS_INVALID;
}

static enum resdoc_type
type_of(struct resdoc_span v)
{
	static const char *names[] = { "\"string\"", "\"integer\"",
		"\"number\"", "\"boolean\"", "\"datetime\"", "\"any\"" };
	size_t		   i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_is(v, names[i]))
			return (enum resdoc_type)i;
	return RESDOC_OTHER;
}

/* Reads one field object of the schema: appends it to fields. */
static enum pgs_rc
read_field(struct scan *sc, struct buf *fields)
{
	struct resdoc_col  f = { { NULL, 0 }, RESDOC_OTHER };
	struct resdoc_span key, v;
	enum pgs_rc	   rc;

	if (!eat(sc, '{'))
		return PGS_INVALID;
	if (!peek(sc, '}'))
		do {
			rc = take_key(sc, &key);
			if (rc == PGS_OK && span_is(key, "name") &&
			    peek(sc, '"'))
				rc = skip_string(sc, &f.name);
			else if (rc == PGS_OK)
				rc = take_value(sc, &v);
			if (rc != PGS_OK)
				return rc;
			if (span_is(key, "type"))
				f.type = type_of(v);
		} while (eat(sc, ','));
	if (!eat(sc, '}') || f.name.s == NULL)
		return PGS_INVALID;
	buf_append(fields, &f, sizeof(f));
	return PGS_OK;
}

/* Reads the "fields" array of the schema into fields. */
static enum pgs_rc
read_fields(struct scan *sc, struct buf *fields)
{
	enum pgs_rc rc = PGS_OK;

	if (!eat(sc, '['))
		return PGS_INVALID;
	if (!peek(sc, ']'))
		do
			rc = read_field(sc, fields);
		while (rc == PGS_OK && eat(sc, ','));
	if (rc == PGS_OK && !eat(sc, ']'))
		rc = PGS_INVALID;
	return rc;
}

/* Reads the schema: the fields (struct resdoc_col, in fields) and the
 * index column's name (the first primaryKey entry, else "index"). */
static enum pgs_rc
read_schema(struct resdoc_span schema, struct buf *fields,
    struct resdoc_span *index)
{
	struct scan	   sc = { schema.s, schema.s + schema.n, 0 };
	struct resdoc_span key;
	enum pgs_rc	   rc = PGS_OK;

	*index = (struct resdoc_span){ "index", 5 };
	if (!eat(&sc, '{'))
		return PGS_INVALID;
	do {
		rc = take_key(&sc, &key);
		if (rc == PGS_OK && span_is(key, "fields"))
			rc = read_fields(&sc, fields);
		else if (rc == PGS_OK && span_is(key, "primaryKey") &&
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

/* Sets d's columns: the fields in f (n of them) but the index column. */
static void
set_columns(struct resdoc *d, const struct resdoc_col *f, size_t n,
    struct resdoc_span index)
{
	size_t i;

	d->cols = xcalloc(n + 1, sizeof(*d->cols));
	d->vals = xcalloc(n + 1, sizeof(*d->vals));
	d->hints = xcalloc(n + 1, sizeof(*d->hints));
	for (i = 0; i < n; i++)
		if (!span_eq(f[i].name, index))
			d->cols[d->ncols++] = f[i];
	for (i = 0; i <= d->ncols; i++)
		d->hints[i] = -1;
}

enum pgs_rc
resdoc_open(const char *doc, size_t len, struct resdoc **out)
{
	struct scan	   sc = { doc, doc + len, 0 };
	struct resdoc_span schema = { NULL, 0 }, data = { NULL, 0 };
	struct resdoc_span index;
	struct buf	   fields = BUF_INIT;
	struct resdoc	  *d;
	enum pgs_rc	   rc;

	*out = NULL;
	if (doc == NULL)
		return PGS_INVALID;
	rc = top_level(&sc, &schema, &data);
	if (rc == PGS_OK)
		rc = read_schema(schema, &fields, &index);
	if (rc == PGS_OK) {
		d = xcalloc(1, sizeof(*d));
		d->sc = (struct scan){ data.s, data.s + data.n, 0 };
		set_columns(d, (const struct resdoc_col *)(void *)fields.data,
		    fields.len / sizeof(struct resdoc_col), index);
		*out = d;
	}
	buf_free(&fields);
	return rc;
}

size_t
resdoc_ncols(const struct resdoc *d)
{
	return d->ncols;
}

const struct resdoc_col *
resdoc_col(const struct resdoc *d, size_t i)
{
	return &d->cols[i];
}

/* Returns the column of key, trying the one at this position last row
 * first (jsonb keeps the same key order in every row); -1 if none. */
static long
find_col(const struct resdoc *d, struct resdoc_span key, long *hint)
{
	size_t i;

	if (*hint >= 0 && span_eq(d->cols[*hint].name, key))
		return *hint;
	for (i = 0; i < d->ncols; i++)
		if (span_eq(d->cols[i].name, key)) {
			*hint = (long)i;
			return *hint;
		}
	return -1;
}

/* Reads one row object into d->vals. */
static enum pgs_rc
read_row(struct resdoc *d)
{
	struct resdoc_span key, v;
	enum pgs_rc	   rc;
	size_t		   pos = 0;
	long		   c;

	memset(d->vals, 0, d->ncols * sizeof(*d->vals));
	if (!eat(&d->sc, '{'))
		return PGS_INVALID;
	if (!peek(&d->sc, '}'))
		do {
			rc = take_key(&d->sc, &key);
			if (rc == PGS_OK)
				rc = take_value(&d->sc, &v);
			if (rc != PGS_OK)
				return rc;
			c = find_col(d, key, &d->hints[pos]);
			if (c >= 0)
				d->vals[c] = v;
			pos += pos < d->ncols;
		} while (eat(&d->sc, ','));
	return eat(&d->sc, '}') ? PGS_OK : PGS_INVALID;
}

enum pgs_rc
resdoc_next(struct resdoc *d, bool *more)
{
	bool first = !d->started;

	*more = false;
	if (d->done)
		return PGS_OK;
	d->started = true;
	if (first && !eat(&d->sc, '['))
		return PGS_INVALID;
	if (eat(&d->sc, ']')) {
		d->done = true;
		return PGS_OK;
	}
	if (!first && !eat(&d->sc, ','))
		return PGS_INVALID;
	*more = true;
	return read_row(d);
}

struct resdoc_span
resdoc_value(const struct resdoc *d, size_t i)
{
	return d->vals[i];
}

enum resdoc_kind
resdoc_kind_of(struct resdoc_span v)
{
	if (v.s == NULL || v.n == 0)
		return RESDOC_NULL;
	switch (v.s[0]) {
	case '"':
		return RESDOC_TEXT;
	case '{':
	case '[':
		return RESDOC_NESTED;
	case 't':
		return RESDOC_TRUE;
	case 'f':
		return RESDOC_FALSE;
	case 'n':
		return RESDOC_NULL;
	default:
		return RESDOC_NUM;
	}
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	char u[4];

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
	int hi, lo;

	hi = i + 5 <= n ? utf8_hex4(s + i + 1) : -1;
	if (hi < 0)
		return 0;
	if (hi >= 0xD800 && hi <= 0xDBFF && i + 11 <= n && s[i + 5] == '\\' &&
	    s[i + 6] == 'u') {
		lo = utf8_hex4(s + i + 7);
		if (lo >= 0xDC00 && lo <= 0xDFFF) {
			put_utf8(out,
			    0x10000 + (((unsigned)hi - 0xD800) << 10) +
				((unsigned)lo - 0xDC00));
			return 11;
		}
	}
	put_utf8(out, hi >= 0xD800 && hi <= 0xDFFF ? 0xFFFD : (unsigned)hi);
	return 5;
}

enum pgs_rc
resdoc_unescape(struct resdoc_span in, struct buf *out)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char	 *e;
	size_t		  i, used;

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

void
resdoc_compact(struct resdoc_span v, struct buf *out)
{
	size_t i;
	bool   instr = false;

	for (i = 0; i < v.n; i++) {
		if (instr && v.s[i] == '\\' && i + 1 < v.n) {
			buf_append(out, v.s + i++, 2);
			continue;
		}
		if (v.s[i] == '"')
			instr = !instr;
		if (instr || strchr(" \t\r\n", v.s[i]) == NULL ||
		    v.s[i] == '\0')
			buf_putc(out, v.s[i]);
	}
}

void
resdoc_free(struct resdoc *d)
{
	if (d == NULL)
		return;
	free(d->cols);
	free(d->vals);
	free(d->hints);
	free(d);
}
