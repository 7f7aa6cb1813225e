/*
 * resdoc.h: reads a stored result document (pandas orient='table' JSON as
 * jsonb::text gives it: keys in jsonb's order, numbers in its form, values
 * possibly nested JSON) one row at a time, without building a tree and
 * without turning numbers into doubles.  The one reader of that document
 * for every export format (csv.c, xlsx.c).  Memory is O(columns): values
 * are spans of the caller's document.
 */
#ifndef PGS_RESDOC_H
#define PGS_RESDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* A stretch of the document: a raw JSON value, or a string's inside. */
struct resdoc_span {
	const char *s;
	size_t	    n;
};

/* A field's Table Schema type, as the schema names it. */
enum resdoc_type {
	RESDOC_STRING,
	RESDOC_INTEGER,
	RESDOC_NUMBER,
	RESDOC_BOOLEAN,
	RESDOC_DATETIME,
	RESDOC_ANY,
	RESDOC_OTHER
};

/* What a raw value is, by its first byte. */
enum resdoc_kind {
	RESDOC_NULL, /* null, or the key is absent from the row */
	RESDOC_TEXT, /* a JSON string */
	RESDOC_NUM,  /* a JSON number */
	RESDOC_TRUE,
	RESDOC_FALSE,
	RESDOC_NESTED /* an object or an array */
};

struct resdoc_col {
	struct resdoc_span name; /* the name's inside, escapes kept */
	enum resdoc_type   type;
};

struct resdoc;

/*
 * Opens the document doc (len bytes, owned by the caller, who keeps it
 * alive until resdoc_free): checks its whole structure, reads the schema
 * and stands before the first row.  The index column (the first
 * primaryKey entry, else "index") is left out of the columns.  Sets *out
 * to a reader owned by the caller (release with resdoc_free).  Returns
 * PGS_OK, or PGS_INVALID (*out NULL) when doc is not such a document.
 */
enum pgs_rc
resdoc_open(const char *doc, size_t len, struct resdoc **out) PGS_MUSTCHECK;

/* Returns the number of columns (without the index column). */
size_t resdoc_ncols(const struct resdoc *d);

/* Returns column i (i < resdoc_ncols), owned by d. */
const struct resdoc_col *resdoc_col(const struct resdoc *d, size_t i);

/*
 * Reads the next row.  Sets *more to false, and reads nothing, after the
 * last row.  Returns PGS_OK, or PGS_INVALID when the row is not an object
 * of values.
 */
enum pgs_rc resdoc_next(struct resdoc *d, bool *more) PGS_MUSTCHECK;

/* Returns the raw value of column i in the current row (a span of the
 * document; s is NULL when the row lacks the key). */
struct resdoc_span resdoc_value(const struct resdoc *d, size_t i);

/* Returns what the raw value v is. */
enum resdoc_kind resdoc_kind_of(struct resdoc_span v);

/*
 * Appends the decoded text of the inside of a JSON string (escapes
 * resolved to UTF-8; a lone surrogate becomes U+FFFD) to out, owned by the
 * caller.  Returns PGS_OK or PGS_INVALID on a bad escape.
 */
enum pgs_rc
resdoc_unescape(struct resdoc_span in, struct buf *out) PGS_MUSTCHECK;

/* Appends the raw value v compacted (whitespace outside strings dropped)
 * to out, owned by the caller: nested JSON as one line. */
void resdoc_compact(struct resdoc_span v, struct buf *out);

/* Releases d; NULL is allowed.  The document itself is the caller's. */
void resdoc_free(struct resdoc *d);

#endif
