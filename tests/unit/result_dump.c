/*
 * result_dump.c: test driver for result.c (no database).  Reads a result
 * from stdin and prints the serialised document on stdout; a line on
 * stderr gives "rows=N truncated=0|1 bytes=N invalid_utf8=N".
 *
 * Input, one item per line, fields separated by a tab:
 *	MAXROWS <n>		optional, before the rows (default: no cap)
 *	MAXBYTES <n>		optional, before the rows
 *	MODE rows|csv		optional: print the dry-run fragment, or the
 *				document passed through result_to_csv()
 *	C <oid> <name>		a column, in order
 *	R <v1> <v2> ...		a row; \N is NULL, and each value uses
 *				COPY text escapes (\\ \t \n \r \xHH)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "csv.h"
#include "result.h"

#define MAX_COLS 1600

struct input {
	const char  *names[MAX_COLS];
	unsigned int oids[MAX_COLS];
	int	     ncols;
	size_t	     max_rows, max_bytes;
	const char  *mode;
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes COPY text escapes in place; returns the new length. */
static size_t
unescape(char *s)
{
	char *o = s, *p = s;

	while (*p != '\0') {
		if (*p != '\\' || p[1] == '\0') {
			*o++ = *p++;
			continue;
		}
		p++;
		if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 3;
			continue;
		}
		*o++ = *p == 't' ? '\t' :
		    *p == 'n'	 ? '\n' :
		    *p == 'r'	 ? '\r' :
				   *p;
		p++;
	}
	*o = '\0';
	return (size_t)(o - s);
}

/* Adds the row in line (after "R\t") to rs. */
static void
add_row(struct result *rs, int ncols, char *line)
{
	const char *vals[MAX_COLS];
	int	    lens[MAX_COLS], i;
	char	   *f = line, *tab;

	for (i = 0; i < ncols; i++) {
		tab = f != NULL ? strchr(f, '\t') : NULL;
		if (tab != NULL)
			*tab = '\0';
		if (f == NULL || strcmp(f, "\\N") == 0) {
			vals[i] = NULL;
			lens[i] = 0;
		} else {
			lens[i] = (int)unescape(f);
			vals[i] = f;
		}
		f = tab != NULL ? tab + 1 : NULL;
	}
	(void)rs_add_row(rs, vals, lens);
}

static void
print_result(struct result *rs, const char *mode)
{
	struct buf out = BUF_INIT, csv = BUF_INIT;

	if (mode != NULL && strcmp(mode, "rows") == 0) {
		buf_putc(&out, '{');
		rs_finish_rows(rs, &out);
		buf_putc(&out, '}');
	} else
		rs_finish(rs, &out);
	if (mode != NULL && strcmp(mode, "csv") == 0) {
		if (result_to_csv(out.data, out.len, false, &csv) != PGS_OK) {
			fprintf(stderr, "result_to_csv failed\n");
			exit(1);
		}
		fwrite(csv.data, 1, csv.len, stdout);
	} else
		fwrite(out.data, 1, out.len, stdout);
	fprintf(stderr, "rows=%zu truncated=%d bytes=%zu invalid_utf8=%zu\n",
	    rs_row_count(rs), rs_truncated(rs) ? 1 : 0, rs_byte_size(rs),
	    rs_invalid_utf8(rs));
	buf_free(&out);
	buf_free(&csv);
}

int
main(void)
{
	struct input   in = { .max_rows = (size_t)-1, .max_bytes = (size_t)-1 };
	struct result *rs = NULL;
	char	      *line = NULL, *tab;
	size_t	       cap = 0;
	ssize_t	       n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "MAXROWS ", 8) == 0)
			in.max_rows = strtoull(line + 8, NULL, 10);
		else if (strncmp(line, "MAXBYTES ", 9) == 0)
			in.max_bytes = strtoull(line + 9, NULL, 10);
		else if (strncmp(line, "MODE ", 5) == 0)
			in.mode = xstrdup(line + 5);
		else if (strncmp(line, "C\t", 2) == 0 && in.ncols < MAX_COLS) {
			in.oids[in.ncols] =
			    (unsigned)strtoul(line + 2, &tab, 10);
			in.names[in.ncols] =
			    xstrdup(*tab == '\t' ? tab + 1 : "");
			unescape((char *)in.names[in.ncols++]);
		} else if (line[0] == 'R' &&
		    (line[1] == '\t' || line[1] == '\0')) {
			if (rs == NULL)
				rs = rs_new(in.ncols, in.names, in.oids,
				    in.max_rows, in.max_bytes);
			add_row(rs, in.ncols,
			    line[1] == '\0' ? line + 1 : line + 2);
		}
	}
	if (rs == NULL)
		rs = rs_new(in.ncols, in.names, in.oids, in.max_rows,
		    in.max_bytes);
	print_result(rs, in.mode);
	rs_free(rs);
	while (in.ncols > 0)
		free((char *)in.names[--in.ncols]);
	free((char *)in.mode);
	free(line);
	return 0;
}
