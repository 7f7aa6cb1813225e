/*
 * xlsx.h: a stored orient='table' result document to an XLSX workbook
 * (CONTRACT section 9), streamed: the document is read one row at a time
 * (resdoc.h) and libxlsxwriter's constant_memory mode writes each row to a
 * temporary file as soon as the next one starts, so memory does not grow
 * with the row count (it is bounded by the longest value).  The typing
 * rules are documented at the top of xlsx.c.
 */
#ifndef PGS_XLSX_H
#define PGS_XLSX_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* The media type of the file. */
#define XLSX_MEDIA_TYPE \
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* Excel's limits: rows of a worksheet (the header row included), its
 * columns, and the characters (UTF-16 units) of a text cell. */
#define XLSX_MAX_ROWS  1048576
#define XLSX_MAX_COLS  16384
#define XLSX_MAX_CHARS 32767

/* The number format of a date cell (xlsx_datetime). */
enum xlsx_datefmt {
	XLSX_DATE,	  /* yyyy-mm-dd */
	XLSX_DATETIME,	  /* yyyy-mm-dd hh:mm:ss */
	XLSX_DATETIME_MS, /* yyyy-mm-dd hh:mm:ss.000 */
	XLSX_NDATEFMT
};

/* What xlsx_write() wrote and what Excel's limits made it leave out (the
 * workbook's second sheet, "notes", says the same to the reader). */
struct xlsx_stats {
	size_t rows;	  /* data rows written */
	size_t rows_cut;  /* data rows past XLSX_MAX_ROWS, left out */
	size_t cols_cut;  /* columns past XLSX_MAX_COLS, left out */
	size_t cells_cut; /* text cells cut to XLSX_MAX_CHARS */
	size_t bytes;	  /* size of the file */
};

/*
 * Writes the workbook of the document doc (len bytes, the caller's) to the
 * file path (created or truncated): one sheet "result", the column names
 * (without the index column) as the header row, then one row per data
 * row, cells typed as xlsx.c says.  Text cells and names that
 * csv_formula_risk() flags get CSV_FORMULA_GUARD first, unless raw.
 * libxlsxwriter's temporary files go to tmpdir (NULL: $TMPDIR, else
 * /tmp); they are unlinked when made.  Fills *st.  Returns PGS_OK,
 * PGS_INVALID when doc is not such a document, PGS_INTERNAL when the file
 * could not be written (logged); on an error, path holds no usable file
 * and the caller removes it.
 */
enum pgs_rc xlsx_write(const char *doc, size_t len, bool raw, const char *path,
    const char *tmpdir, struct xlsx_stats *st) PGS_MUSTCHECK;

/*
 * As xlsx_write(), into a new file (mode 0600) in tmpdir (NULL: $TMPDIR,
 * else /tmp) that has no name left when this returns (none at all while
 * it is written, where /proc is mounted): sets *fd to it, open for
 * reading and writing at offset 0, st->bytes long; the caller owns *fd
 * and closes it.  On an error *fd is -1 and nothing is left behind.  For
 * the HTTP handler: send st->bytes bytes read from *fd as
 * XLSX_MEDIA_TYPE.
 */
enum pgs_rc xlsx_write_tmp(const char *doc, size_t len, bool raw,
    const char *tmpdir, int *fd, struct xlsx_stats *st) PGS_MUSTCHECK;

/*
 * The typing rules, one per cell kind (exposed for the unit tests).
 *
 * xlsx_number: returns whether the JSON number s (n bytes) becomes a
 * number cell, i.e. is exactly what the cell will hold: an integer that is
 * exactly a double, or a fraction that is the shortest decimal of its
 * double, with at most 16 significant digits either way (libxlsxwriter
 * writes 16), zero or a normal double (Excel has no subnormals).  Sets
 * *d to the double.
 */
bool xlsx_number(const char *s, size_t n, double *d);

/*
 * xlsx_datetime: returns whether the datetime text s (n bytes,
 * "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.f...][Z]") becomes a date cell:
 * from 1900-03-01 to 9999-12-31, no finer than a millisecond.  Sets
 * *serial to Excel's day number (1900 date system) of that wall time
 * and *fmt to the number format that shows all of it.
 */
bool
xlsx_datetime(const char *s, size_t n, double *serial, enum xlsx_datefmt *fmt);

/*
 * xlsx_text: appends the text s (n bytes of UTF-8) to out (the caller's)
 * as a text cell's content: CSV_FORMULA_GUARD first when guard, invalid
 * UTF-8 as U+FFFD, NUL and a literal "_xHHHH_" escaped as ECMA-376 says,
 * cut to XLSX_MAX_CHARS without splitting a character.  Returns whether
 * it was cut.
 */
bool xlsx_text(struct buf *out, const char *s, size_t n, bool guard);

#endif
