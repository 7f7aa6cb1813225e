/*
 * result.h: turns a PostgreSQL result (libpq text values plus column type
 * OIDs), fed one row at a time, into a pandas orient='table' JSON document
 * (CONTRACT §4), or into the "columns"/"rows" fragments of a dry-run answer
 * (CONTRACT §5).  Memory is the document's data part plus O(columns); the
 * data part never grows more than a few kilobytes past max_bytes, since a
 * value is checked against the caps while it is escaped, and a row that
 * does not fit is refused whole (a value is never cut).
 * The type rules are documented at the top of result.c.
 */
#ifndef PGS_RESULT_H
#define PGS_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

struct result;

/*
 * Returns a new serialiser for ncols columns, owned by the caller (release
 * with rs_free).  names and type_oids (PostgreSQL Oids, e.g. PQftype) are
 * copied.  At most max_rows rows are taken, and rows are refused once the
 * finished document would exceed max_bytes.
 */
struct result *rs_new(int ncols, const char *const names[],
    const unsigned int type_oids[], size_t max_rows, size_t max_bytes);

/*
 * Adds one row: values[i] is libpq's text value of column i (NULL for SQL
 * NULL, e.g. from PQgetisnull) and lengths[i] its length in bytes.
 * Returns true when the row was taken, false when a cap was hit: the result
 * is then marked truncated and every later row is refused.  A refused row
 * leaves nothing behind, however large its values were.
 */
bool
rs_add_row(struct result *rs, const char *const values[], const int lengths[]);

/*
 * Appends the whole orient='table' document to out (owned by the caller).
 * Call it last: when out is empty it takes rs's data over without a copy,
 * and afterwards only the accessors and rs_free may be used.
 */
void rs_finish(struct result *rs, struct buf *out);

/*
 * Appends `"columns":[...],"rows":[[...],...]` (no braces) to out, the
 * original column names and one array per row, with the same value rules.
 * Does not consume rs (it may precede rs_finish).
 */
void rs_finish_rows(struct result *rs, struct buf *out);

/* Returns the number of rows taken. */
size_t rs_row_count(const struct result *rs);
/* Returns an upper bound of the document size before rs_finish, its exact
 * size after. */
size_t rs_byte_size(const struct result *rs);
/* Returns whether a row was refused because of a cap. */
bool rs_truncated(const struct result *rs);
/* Returns whether the byte cap refused the first row: not even one row
 * fits, so the result cannot be stored at all. */
bool rs_first_row_too_large(const struct result *rs);
/* Returns how many invalid UTF-8 sequences were replaced by U+FFFD. */
size_t rs_invalid_utf8(const struct result *rs);

/* Releases rs and everything it holds; NULL is allowed. */
void rs_free(struct result *rs);

#endif
