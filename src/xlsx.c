/*
 * xlsx.c: stored result document to XLSX with libxlsxwriter.
 *
 * Each cell is typed by its own JSON value (and, for dates, its column's
 * schema type), so that pandas.read_excel gives back the values
 * pandas.read_json(orient='table') gives for the document:
 *
 * JSON value                  cell
 * null, or no key             empty
 * true, false                 boolean
 * number                      number when xlsx_number() says the cell holds
 *                             exactly that value: an integer that is
 *                             exactly a double (all up to 2^53), a
 *                             fraction that is the shortest decimal of its
 *                             double, at most 16 significant digits
 *                             (libxlsxwriter writes 16), zero or a normal
 *                             double; else text, the number's own digits
 *                             (a bigint past 2^53, a 17-digit float8)
 * string, "datetime" column   date cell when xlsx_datetime() says it holds
 *                             the value exactly: 1900-03-01 to 9999-12-31
 *                             (Excel's 1900 date system miscounts before
 *                             March 1900), whole milliseconds (openpyxl
 *                             reads no finer), formatted yyyy-mm-dd,
 *                             yyyy-mm-dd hh:mm:ss or ...hh:mm:ss.000 as
 *                             the value needs; else text, the document's
 *                             ISO 8601 string.  A cell has no time zone: a
 *                             timestamptz column ("tz": "UTC", values
 *                             ending in Z) holds the UTC wall time, so
 *                             read_excel's naive value, localised to UTC,
 *                             is the document's instant.
 * other strings               text (uuid, interval, bytea as \x..., the
 *                             strings result.c made of NaN, huge numerics,
 *                             out-of-range dates, ...)
 * object or array (json[b])   text, the compact JSON
 *
 * Text: a cell or column name that csv_formula_risk() flags starts with
 * CSV_FORMULA_GUARD unless raw.  XML cannot hold NUL and most control
 * characters: libxlsxwriter writes them as ECMA-376's _xHHHH_ escapes,
 * this file writes NUL so, and a literal "_xHHHH_" in the text as
 * "_x005F_xHHHH_", so that Excel shows the original text (openpyxl, hence
 * pandas, does not decode those escapes: such rare text comes back
 * escaped).
 *
 * What pandas.read_excel does on its own: it reads an empty text cell as
 * NaN, drops trailing rows that are empty (all NULL), and by default
 * reads text such as "NA" or "null" as NaN and number-like text as
 * numbers, as read_csv does; read_excel(dtype=object,
 * keep_default_na=False, na_values=[""]) keeps each cell as it is.
 *
 * Limits: a sheet holds 1,048,576 rows (the header included) and 16,384
 * columns, and a cell 32,767 characters.  Rows and columns past them are
 * left out, text is cut at a character boundary; the stats count each,
 * and a second sheet, "notes", says so in the file.
 *
 * Memory: the document is the caller's; this file holds one row's spans
 * and two scratch buffers as long as the longest value, libxlsxwriter
 * (constant_memory) one row; nothing grows with the row count.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "csv.h"
#include "isotime.h"
#include "log.h"
#include "resdoc.h"
#include "utf8.h"
#include "xlsx.h"

/* Significant digits a number may have and still be a number cell. */
#define DEC_DIGITS 40
/* Excel's day number of 1970-01-01, in the 1900 date system. */
#define EXCEL_EPOCH 25569
/* The day numbers (days since 1970) of 1900-03-01 and 9999-12-31. */
#define DAY_MIN (-25508)
#define DAY_MAX 2932896

/* A decimal number: 0.dig[0..nd) x 10^pt, no leading or trailing zero
 * (nd 0 is zero); dig holds the first DEC_DIGITS digits. */
struct dec {
	char   dig[DEC_DIGITS];
	size_t nd;
	long   pt;
	bool   neg;
};

/* The writer's state for one workbook. */
struct xw {
	lxw_workbook	  *wb;
	lxw_worksheet	  *ws;
	lxw_format	  *datefmt[XLSX_NDATEFMT];
	struct resdoc	  *doc;
	struct xlsx_stats *st;
	struct buf	   tmp, cell;
	size_t		   ncols; /* columns written */
	lxw_row_t	   row;	  /* the sheet row being written */
	char		   first_cut[LXW_MAX_CELL_NAME_LENGTH];
	bool		   raw;
};

/* Adds digit c (at the end) to v; int_part: before the decimal point. */
static void
dec_digit(struct dec *v, char c, bool int_part, size_t *nsig)
{
	if (v->nd == 0 && c == '0') {
		v->pt -= !int_part; /* a leading zero of the fraction */
		return;
	}
	if (v->nd < DEC_DIGITS)
		v->dig[v->nd] = c;
	v->nd++;
	v->pt += int_part;
	if (c != '0')
		*nsig = v->nd;
}

/* Parses the exponent at s[i..n); returns the index after it, 0 if bad. */
static size_t
dec_exp(const char *s, size_t i, size_t n, struct dec *v)
{
	long   e = 0;
	size_t start;
	bool   neg = false;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (start = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		if (i - start < 6)
			e = e * 10 + (s[i] - '0');
	if (i == start || i - start > 6)
		return 0;
	v->pt += neg ? -e : e;
	return i;
}

/* Parses the JSON number s (n bytes, strict grammar) into v. */
static bool
dec_parse(const char *s, size_t n, struct dec *v)
{
	size_t i = 0, nsig = 0;

	memset(v, 0, sizeof(*v));
	if (i < n && s[i] == '-')
		v->neg = s[i++] == '-';
	if (i >= n || s[i] < '0' || s[i] > '9' ||
	    (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		dec_digit(v, s[i], true, &nsig);
	if (i < n && s[i] == '.') {
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return false;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			dec_digit(v, s[i], false, &nsig);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
		i = dec_exp(s, i + 1, n, v);
	v->nd = nsig; /* drop trailing zeros */
	return i == n;
}

/* Returns whether a and b are the same decimal (of kept digits). */
static bool
dec_eq(const struct dec *a, const struct dec *b)
{
	return a->nd == b->nd && a->nd <= DEC_DIGITS &&
	    (a->nd == 0 ||
		(a->pt == b->pt && a->neg == b->neg &&
		    memcmp(a->dig, b->dig, a->nd) == 0));
}

/* Returns whether d printed with prec digits after the point (%.*e) is
 * the decimal v, or (v NULL) reads back as d. */
static bool
dec_print_is(double d, int prec, const struct dec *v)
{
	char	   t[64];
	struct dec w;
	int	   n;

	n = snprintf(t, sizeof(t), "%.*e", prec, d);
	if (n < 0 || (size_t)n >= sizeof(t))
		return false;
	if (v == NULL)
		return strtod(t, NULL) == d;
	return dec_parse(t, (size_t)n, &w) && dec_eq(&w, v);
}

/* Returns whether the integer v is exactly the double d. */
static bool
int_exact(double d, const struct dec *v)
{
	char	   t[400];
	struct dec w;
	int	   n;

	n = snprintf(t, sizeof(t), "%.0f", d);
	return n > 0 && (size_t)n < sizeof(t) && dec_parse(t, (size_t)n, &w) &&
	    dec_eq(&w, v);
}

bool
xlsx_number(const char *s, size_t n, double *d)
{
	char	   t[400];
	struct dec v;

	*d = 0;
	if (n >= sizeof(t) || !dec_parse(s, n, &v) || v.nd > DEC_DIGITS)
		return false;
	memcpy(t, s, n);
	t[n] = '\0';
	*d = strtod(t, NULL);
	if (v.nd == 0)
		return true; /* a zero, its sign kept */
	/* Excel holds neither infinities nor subnormals. */
	if (!isfinite(*d) || fabs(*d) < DBL_MIN)
		return false;
	if (v.pt >= (long)v.nd && v.pt <= 15)
		return true; /* an integer below 10^15 < 2^53 */
	/* A fraction of at most DBL_DIG (15) digits reads back as itself,
	 * and no shorter decimal has its double. */
	if (v.pt < (long)v.nd && v.nd <= DBL_DIG)
		return true;
	/* libxlsxwriter writes 16 significant digits ("%.16G"). */
	if (!dec_print_is(*d, 15, NULL))
		return false;
	if (v.pt >= (long)v.nd)
		return int_exact(*d, &v);
	return dec_print_is(*d, (int)v.nd - 1, &v) &&
	    (v.nd == 1 || !dec_print_is(*d, (int)v.nd - 2, NULL));
}

/* Reads k digits at s into *v; returns whether they were digits. */
static bool
digits(const char *s, int k, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* Reads "THH:MM:SS[.f...][Z]" at s (n bytes) into milliseconds of the
 * day; returns false when it is not that or is finer than a ms. */
static bool
time_ms(const char *s, size_t n, long *ms, bool *frac)
{
	int    hh, mi, ss, f = 0;
	size_t i;

	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if (n < 9 || s[0] != 'T' || !digits(s + 1, 2, &hh) || s[3] != ':' ||
	    !digits(s + 4, 2, &mi) || s[6] != ':' || !digits(s + 7, 2, &ss) ||
	    hh > 23 || mi > 59 || ss > 59)
		return false;
	*frac = false;
	if (n > 9 && (s[9] != '.' || n == 10))
		return false;
	for (i = 10; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || (i >= 13 && s[i] != '0'))
			return false;
		if (i < 13)
			f += (s[i] - '0') * (i == 10 ? 100 : i == 11 ? 10 : 1);
	}
	*frac = f != 0;
	*ms = ((hh * 60L + mi) * 60 + ss) * 1000 + f;
	return true;
}

bool
xlsx_datetime(const char *s, size_t n, double *serial, enum xlsx_datefmt *fmt)
{
	int64_t day;
	long	ms = 0;
	int	y, m, d;
	bool	frac = false;

	if (n < 10 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    m < 1 || m > 12 || d < 1 || d > isotime_month_days(y, m))
		return false;
	if (n > 10 && !time_ms(s + 10, n - 10, &ms, &frac))
		return false;
	day = isotime_days_from_civil(y, m, d);
	if (day < DAY_MIN || day > DAY_MAX)
		return false;
	*serial = (double)(day + EXCEL_EPOCH) + (double)ms / 86400000.0;
	*fmt = n == 10 ? XLSX_DATE : frac ? XLSX_DATETIME_MS : XLSX_DATETIME;
	return true;
}

/* Returns whether s[i..n) starts an ECMA-376 escape "_xHHHH_". */
static bool
is_escape(const char *s, size_t i, size_t n)
{
	size_t k;

	if (n - i < 7 || s[i] != '_' || s[i + 1] != 'x' || s[i + 6] != '_')
		return false;
	for (k = i + 2; k < i + 6; k++)
		if (strchr("0123456789abcdefABCDEF", s[k]) == NULL ||
		    s[k] == '\0')
			return false;
	return true;
}

bool
xlsx_text(struct buf *out, const char *s, size_t n, bool guard)
{
	const char *put;
	size_t	    i = 0, len, adv, units = guard, w;

	if (guard)
		buf_putc(out, CSV_FORMULA_GUARD);
	while (i < n) {
		put = s + i;
		len = adv = utf8_seq_len(s + i, n - i);
		w = len == 4 ? 2 : 1; /* UTF-16 units */
		if (s[i] == '\0' || is_escape(s, i, n)) {
			/* Counted as libxlsxwriter counts: 7 characters. */
			put = s[i] == '\0' ? "_x0000_" : "_x005F_";
			len = w = 7;
			adv = 1;
		} else if (len == 0) {
			put = "\xEF\xBF\xBD"; /* U+FFFD */
			len = 3;
			adv = 1;
		}
		if (units + w > XLSX_MAX_CHARS)
			return true;
		buf_append(out, put, len);
		units += w;
		i += adv;
	}
	return false;
}

/* Returns PGS_OK for LXW_NO_ERROR, else logs e and returns PGS_INTERNAL. */
static enum pgs_rc
lxw_rc(lxw_error e)
{
	if (e == LXW_NO_ERROR)
		return PGS_OK;
	log_err("xlsx_write", "error=\"%s\" cannot write the workbook",
	    lxw_strerror(e));
	return PGS_INTERNAL;
}

/* Writes text s (n bytes) into column col of the current row. */
static enum pgs_rc
put_text(struct xw *x, lxw_col_t col, const char *s, size_t n, bool guard)
{
	buf_reset(&x->cell);
	if (xlsx_text(&x->cell, s, n, guard) && x->st->cells_cut++ == 0)
		lxw_rowcol_to_cell(x->first_cut, x->row, col);
	if (x->cell.len == 0)
		return PGS_OK; /* libxlsxwriter has no empty text cell */
	return lxw_rc(
	    worksheet_write_string(x->ws, x->row, col, x->cell.data, NULL));
}

/* Writes text that is a JSON string's content: neutralised unless raw. */
static enum pgs_rc
put_user_text(struct xw *x, lxw_col_t col, const struct buf *t)
{
	const char *s = t->data != NULL ? t->data : "";

	return put_text(x, col, s, t->len,
	    !x->raw && csv_formula_risk(s, t->len));
}

/* Writes the JSON string v of a column of type type. */
static enum pgs_rc
put_string(struct xw *x, lxw_col_t col, enum resdoc_type type,
    struct resdoc_span v)
{
	enum xlsx_datefmt fmt;
	enum pgs_rc	  rc;
	double		  serial;

	buf_reset(&x->tmp);
	rc = resdoc_unescape((struct resdoc_span){ v.s + 1, v.n - 2 }, &x->tmp);
	if (rc != PGS_OK)
		return rc;
	if (type == RESDOC_DATETIME &&
	    xlsx_datetime(x->tmp.data, x->tmp.len, &serial, &fmt))
		return lxw_rc(worksheet_write_number(x->ws, x->row, col, serial,
		    x->datefmt[fmt]));
	return put_user_text(x, col, &x->tmp);
}

/* Writes the raw value v of column col in the current row. */
static enum pgs_rc
put_value(struct xw *x, lxw_col_t col, struct resdoc_span v)
{
	enum resdoc_kind k = resdoc_kind_of(v);
	double		 d;

	switch (k) {
	case RESDOC_NULL:
		return PGS_OK;
	case RESDOC_TRUE:
	case RESDOC_FALSE:
		return lxw_rc(worksheet_write_boolean(x->ws, x->row, col,
		    k == RESDOC_TRUE, NULL));
	case RESDOC_NUM:
		if (xlsx_number(v.s, v.n, &d))
			return lxw_rc(worksheet_write_number(x->ws, x->row, col,
			    d, NULL));
		/* Numbers are never formulas: no guard, as in CSV. */
		return put_text(x, col, v.s, v.n, false);
	case RESDOC_NESTED:
		buf_reset(&x->tmp);
		resdoc_compact(v, &x->tmp);
		return put_text(x, col, x->tmp.data, x->tmp.len, false);
	default:
		return put_string(x, col, resdoc_col(x->doc, col)->type, v);
	}
}

/* Writes the header row: the column names. */
static enum pgs_rc
write_header(struct xw *x)
{
	enum pgs_rc rc = PGS_OK;
	size_t	    i;

	for (i = 0; i < x->ncols && rc == PGS_OK; i++) {
		buf_reset(&x->tmp);
		rc = resdoc_unescape(resdoc_col(x->doc, i)->name, &x->tmp);
		if (rc == PGS_OK)
			rc = put_user_text(x, (lxw_col_t)i, &x->tmp);
	}
	return rc;
}

/* Writes every data row that fits in the sheet and counts the others. */
static enum pgs_rc
write_rows(struct xw *x)
{
	enum pgs_rc rc = PGS_OK;
	size_t	    i;
	bool	    more = true;

	while (rc == PGS_OK) {
		rc = resdoc_next(x->doc, &more);
		if (rc != PGS_OK || !more)
			break;
		if (x->row + 1 >= XLSX_MAX_ROWS) {
			x->st->rows_cut++;
			continue;
		}
		x->row++;
		for (i = 0; i < x->ncols && rc == PGS_OK; i++)
			rc =
			    put_value(x, (lxw_col_t)i, resdoc_value(x->doc, i));
		x->st->rows++;
	}
	return rc;
}

/* Writes line (tmp's text) into row r of the notes sheet ws. */
static enum pgs_rc
note_line(struct xw *x, lxw_worksheet *ws, lxw_row_t *r)
{
	return lxw_rc(worksheet_write_string(ws, (*r)++, 0, x->tmp.data, NULL));
}

/* Adds the sheet "notes" saying what Excel's limits left out, if any. */
static enum pgs_rc
write_notes(struct xw *x)
{
	const struct xlsx_stats *st = x->st;
	lxw_worksheet		*ws;
	lxw_row_t		 r = 0;
	enum pgs_rc		 rc = PGS_OK;

	if (st->rows_cut == 0 && st->cols_cut == 0 && st->cells_cut == 0)
		return PGS_OK;
	ws = workbook_add_worksheet(x->wb, "notes");
	if (ws == NULL)
		return lxw_rc(LXW_ERROR_MEMORY_MALLOC_FAILED);
	buf_reset(&x->tmp);
	buf_printf(&x->tmp,
	    "Excel's limits cut this sheet; the JSON and "
	    "CSV forms of the result hold all of it.");
	rc = note_line(x, ws, &r);
	if (rc == PGS_OK && st->rows_cut > 0) {
		buf_reset(&x->tmp);
		buf_printf(&x->tmp,
		    "Rows: the first %zu of %zu rows are in "
		    "the sheet \"result\" (a sheet holds %d rows, the "
		    "header included).",
		    st->rows, st->rows + st->rows_cut, XLSX_MAX_ROWS);
		rc = note_line(x, ws, &r);
	}
	if (rc == PGS_OK && st->cols_cut > 0) {
		buf_reset(&x->tmp);
		buf_printf(&x->tmp,
		    "Columns: the first %zu of %zu columns are "
		    "in the sheet (a sheet holds %d columns).",
		    x->ncols, x->ncols + st->cols_cut, XLSX_MAX_COLS);
		rc = note_line(x, ws, &r);
	}
	if (rc == PGS_OK && st->cells_cut > 0) {
		buf_reset(&x->tmp);
		buf_printf(&x->tmp,
		    "Cells: %zu text cells were cut to %d "
		    "characters (a cell's limit), the first at %s.",
		    st->cells_cut, XLSX_MAX_CHARS, x->first_cut);
		rc = note_line(x, ws, &r);
	}
	return rc;
}

/* Returns the directory for temporary files: dir, $TMPDIR or /tmp. */
static const char *
tmp_dir(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		dir = getenv("TMPDIR");
	return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

/* Creates the workbook at path, its sheet and its date formats. */
static enum pgs_rc
xw_open(struct xw *x, const char *path, const char *tmpdir)
{
	static const char   *fmts[XLSX_NDATEFMT] = { "yyyy-mm-dd",
		  "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd hh:mm:ss.000" };
	lxw_workbook_options o = { .constant_memory = LXW_TRUE,
		.tmpdir = (char *)tmp_dir(tmpdir) };
	int		     i;

	x->wb = workbook_new_opt(path, &o);
	if (x->wb == NULL)
		return lxw_rc(LXW_ERROR_CREATING_XLSX_FILE);
	x->ws = workbook_add_worksheet(x->wb, "result");
	if (x->ws == NULL)
		return lxw_rc(LXW_ERROR_MEMORY_MALLOC_FAILED);
	for (i = 0; i < XLSX_NDATEFMT; i++) {
		x->datefmt[i] = workbook_add_format(x->wb);
		format_set_num_format(x->datefmt[i], fmts[i]);
	}
	x->ncols = resdoc_ncols(x->doc);
	if (x->ncols > XLSX_MAX_COLS) {
		x->st->cols_cut = x->ncols - XLSX_MAX_COLS;
		x->ncols = XLSX_MAX_COLS;
	}
	return PGS_OK;
}

/* Finishes the file (rc: how writing went); returns the final rc. */
static enum pgs_rc
xw_close(struct xw *x, enum pgs_rc rc, const char *path)
{
	struct stat sb;
	lxw_error   e;

	if (x->wb == NULL)
		return rc;
	e = workbook_close(x->wb); /* frees the workbook */
	x->wb = NULL;
	if (rc == PGS_OK)
		rc = lxw_rc(e);
	if (rc == PGS_OK && stat(path, &sb) == 0)
		x->st->bytes = (size_t)sb.st_size;
	return rc;
}

enum pgs_rc
xlsx_write(const char *doc, size_t len, bool raw, const char *path,
    const char *tmpdir, struct xlsx_stats *st)
{
	struct xw   x;
	enum pgs_rc rc;

	memset(st, 0, sizeof(*st));
	memset(&x, 0, sizeof(x));
	x.st = st;
	x.raw = raw;
	rc = resdoc_open(doc, len, &x.doc);
	if (rc != PGS_OK)
		return rc;
	rc = xw_open(&x, path, tmpdir);
	if (rc == PGS_OK)
		rc = write_header(&x);
	if (rc == PGS_OK)
		rc = write_rows(&x);
	if (rc == PGS_OK)
		rc = write_notes(&x);
	rc = xw_close(&x, rc, path);
	buf_free(&x.tmp);
	buf_free(&x.cell);
	resdoc_free(x.doc);
	return rc;
}

enum pgs_rc
xlsx_write_tmp(const char *doc, size_t len, bool raw, const char *tmpdir,
    int *fd, struct xlsx_stats *st)
{
	struct buf  path = BUF_INIT;
	const char *target;
	char	    proc[64];
	enum pgs_rc rc;

	memset(st, 0, sizeof(*st));
	buf_printf(&path, "%s/pgsched-xlsx-XXXXXX", tmp_dir(tmpdir));
	*fd = mkstemp(path.data);
	if (*fd < 0) {
		log_err("xlsx_write",
		    "dir=\"%s\" error=\"%s\" cannot create "
		    "a temporary file",
		    tmp_dir(tmpdir), strerror(errno));
		buf_free(&path);
		return PGS_INTERNAL;
	}
	/* Written through /proc, the file has no name from the start, so
	 * nothing is left behind even if the process dies meanwhile. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", *fd);
	target = access(proc, W_OK) == 0 ? proc : path.data;
	if (target == proc)
		(void)unlink(path.data);
	rc = xlsx_write(doc, len, raw, target, tmpdir, st);
	if (target != proc)
		(void)unlink(path.data);
	if (rc == PGS_OK && lseek(*fd, 0, SEEK_SET) != 0)
		rc = lxw_rc(LXW_ERROR_READING_TMPFILE);
	if (rc != PGS_OK) {
		(void)close(*fd);
		*fd = -1;
	}
	buf_free(&path);
	return rc;
}
