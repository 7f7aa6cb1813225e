/*
 * csv.h: a stored orient='table' result document (as jsonb::text gives
 * it: keys in jsonb's order, numbers in its form, values possibly nested
 * JSON) to RFC 4180 CSV.
 */
#ifndef PGS_CSV_H
#define PGS_CSV_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"

/*
 * Appends the CSV of the document doc (len bytes) to out (owned by the
 * caller): a header row of the column names in schema order without the
 * index column, then one record per row, CRLF line ends.  Numbers are
 * written verbatim, true/false as such, nested JSON as its compact text,
 * NULL as an empty field and an empty string as "".  Returns PGS_OK, or
 * PGS_INVALID when doc is not such a document (out may then hold part of
 * the output).
 */
enum pgs_rc	result_to_csv(const char *doc, size_t len, struct buf *out)
		    PGS_MUSTCHECK;

#endif
