/*
 * csv.h: a stored orient='table' result document (as jsonb::text gives
 * it: keys in jsonb's order, numbers in its form, values possibly nested
 * JSON) to RFC 4180 CSV.
 */
#ifndef PGS_CSV_H
#define PGS_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* What a spreadsheet cell that could be read as a formula is given first
 * (CONTRACT section 9): the cell is then text. */
#define CSV_FORMULA_GUARD '\''

/*
 * Returns true when the text of a cell (n bytes of s, not NUL-terminated)
 * would be taken for a formula by a spreadsheet: it starts with '=', '+',
 * '-', '@', a tab or a carriage return, and is not a plain number such as
 * "-5" or "+1.5e3" (which is read as that number).  Such a cell is written
 * with CSV_FORMULA_GUARD before it unless the raw text is asked for.  The
 * one rule for every spreadsheet format pg-sched writes.
 */
bool csv_formula_risk(const char *s, size_t n);

/*
 * Appends the CSV of the document doc (len bytes) to out (owned by the
 * caller): a header row of the column names in schema order without the
 * index column, then one record per row, CRLF line ends.  Numbers are
 * written verbatim, true/false as such, nested JSON as its compact text,
 * NULL as an empty field and an empty string as "".  Column names and
 * string cells that csv_formula_risk() flags get CSV_FORMULA_GUARD first,
 * unless raw.  Returns PGS_OK, or PGS_INVALID when doc is not such a
 * document (out may then hold part of the output).
 */
enum pgs_rc result_to_csv(const char *doc, size_t len, bool raw,
    struct buf *out) PGS_MUSTCHECK;

#endif
