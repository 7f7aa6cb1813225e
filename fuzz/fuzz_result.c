/*
 * fuzz_result.c: libFuzzer target for the result serialiser (result.c)
 * fed like libpq feeds it: column types from real PostgreSQL type OIDs
 * and arbitrary text values, then checks of what comes out.
 *
 * Input: byte 0 the column count (1-6), byte 1 max_rows, byte 2 the
 * max_bytes cap, then one byte per column picking its type, then the
 * rows: records separated by 0x1e, values by 0x1f, a value of exactly
 * 0x1d is SQL NULL, a missing value is NULL too.  The first record gives
 * the column names.
 *
 * Besides the sanitizers' findings it aborts when the dry-run fragment
 * or the document is not JSON (cJSON), when the document is not strict
 * JSON as jsonb wants it (json_parse: UTF-8, no \u0000, no duplicate
 * key, except inside a jsonb value, which libpq never sends with one),
 * when its shape or row count is wrong, when it is larger than
 * rs_byte_size() promised or than max_bytes with rows in it, or when
 * result_to_csv() refuses it.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_result.c src/result.c src/result_check.c \
 *	src/csv.c src/resdoc.c src/json.c src/utf8.c src/buf.c src/arena.c \
 *	-lcjson -lm -o fuzz_result
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "result.h"

#define MAXCOLS 6
#define MAXROWS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* int2 int4 int8 float4 float8 numeric bool text date timestamp
 * timestamptz json jsonb bytea interval uuid int4[] text[] oid varchar
 * unknown, and 0. */
static const unsigned int oids[] = { 21, 23, 20, 700, 701, 1700, 16, 25, 1082,
	1114, 1184, 114, 3802, 17, 1186, 2950, 1007, 1009, 26, 1043, 705, 0 };
#define NOIDS (sizeof(oids) / sizeof(oids[0]))

struct rows {
	const char *v[MAXROWS + 1][MAXCOLS];
	int	    len[MAXROWS + 1][MAXCOLS];
	int	    n;
};

static void
broken(const char *what, const char *doc)
{
	fprintf(stderr, "result promise broken: %s\n  doc=%.2000s\n", what,
	    doc != NULL ? doc : "(null)");
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_init();
	return 0;
}

/* Cuts p..end into records and values (pointers into the input). */
static void
split_rows(const char *p, const char *end, int ncols, struct rows *r)
{
	const char *e;
	int	    c;

	memset(r, 0, sizeof(*r));
	while (p < end && r->n <= MAXROWS) {
		for (c = 0; c < ncols; c++) {
			e = p;
			while (e < end && *e != 0x1e && *e != 0x1f)
				e++;
			if (e - p == 1 && *p == 0x1d)
				r->v[r->n][c] = NULL;
			else {
				r->v[r->n][c] = p;
				r->len[r->n][c] = (int)(e - p);
			}
			p = e;
			if (p >= end || *p == 0x1e)
				break;
			p++;
		}
		while (p < end && *p != 0x1e)
			p++;
		p++;
		r->n++;
	}
}

static void
check_fragment(struct result *rs)
{
	struct buf   b = BUF_INIT;
	cJSON	    *v;
	const cJSON *rows;

	buf_puts(&b, "{");
	rs_finish_rows(rs, &b);
	buf_puts(&b, "}");
	v = cJSON_ParseWithLength(b.data, b.len);
	if (v == NULL)
		broken("dry-run fragment is not JSON", b.data);
	rows = cJSON_GetObjectItemCaseSensitive(v, "rows");
	if (!cJSON_IsArray(rows) ||
	    (size_t)cJSON_GetArraySize(rows) != rs_row_count(rs))
		broken("dry-run rows do not match the row count", b.data);
	cJSON_Delete(v);
	buf_free(&b);
}

/* has_jsonb is true when a column is jsonb: libpq never hands over a
 * jsonb value with a repeated key (jsonb keeps the last one), so result.c
 * rightly embeds such values as they come, and a repeated key in one made
 * up here is not the serialiser's fault. */
static void
check_document(const struct buf *doc, size_t nrows, int ncols, bool has_jsonb)
{
	struct buf   csv = BUF_INIT;
	cJSON	    *v, *strict = NULL;
	const cJSON *d, *f;
	char	     err[128];

	v = cJSON_ParseWithLength(doc->data, doc->len);
	if (v == NULL)
		broken("document is not JSON", doc->data);
	d = cJSON_GetObjectItemCaseSensitive(v, "data");
	f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v,
						 "schema"),
	    "fields");
	if (!cJSON_IsArray(d) || (size_t)cJSON_GetArraySize(d) != nrows ||
	    !cJSON_IsArray(f) || cJSON_GetArraySize(f) != ncols + 1)
		broken("document shape or row count", doc->data);
	if (nrows > 0 && cJSON_GetArraySize(d->child) != ncols + 1)
		broken("row object without one member per column", doc->data);
	cJSON_Delete(v);
	if (json_parse(doc->data, doc->len, &strict, err, sizeof(err)) !=
		PGS_OK &&
	    !(has_jsonb && strstr(err, "duplicate key") != NULL))
		broken(err, doc->data);
	cJSON_Delete(strict);
	if (result_to_csv(doc->data, doc->len, false, &csv) != PGS_OK)
		broken("result_to_csv refused the document", doc->data);
	buf_free(&csv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rows r;
	const char	  *names[MAXCOLS];
	unsigned int	   types[MAXCOLS];
	struct result	  *rs;
	struct buf	   doc = BUF_INIT;
	size_t		   max_rows, max_bytes, bound;
	int		   ncols, c, i;
	bool		   has_jsonb = false;

	if (size < 3 + MAXCOLS || size > 8192)
		return 0;
	ncols = 1 + data[0] % MAXCOLS;
	max_rows = data[1];
	max_bytes = data[2] < 128 ? 200 + (size_t)data[2] * 40 : 1 << 16;
	for (c = 0; c < ncols; c++) {
		types[c] = oids[data[3 + c] % NOIDS];
		has_jsonb |= types[c] == 3802;
	}
	split_rows((const char *)data + 3 + ncols, (const char *)data + size,
	    ncols, &r);
	for (c = 0; c < ncols; c++)
		names[c] = r.n > 0 && r.v[0][c] != NULL ?
		    strndup(r.v[0][c], (size_t)r.len[0][c]) :
		    NULL;
	rs = rs_new(ncols, names, types, max_rows, max_bytes);
	for (c = 0; c < ncols; c++)
		free((char *)names[c]);
	for (i = 1; i < r.n; i++)
		if (!rs_add_row(rs, r.v[i], r.len[i]) && !rs_truncated(rs))
			broken("row refused without truncation", NULL);
	check_fragment(rs);
	bound = rs_byte_size(rs);
	rs_finish(rs, &doc);
	if (doc.len > bound || (rs_row_count(rs) > 0 && doc.len > max_bytes))
		broken("document larger than promised", doc.data);
	if (rs_byte_size(rs) != doc.len)
		broken("rs_byte_size after rs_finish is not the size", NULL);
	check_document(&doc, rs_row_count(rs), ncols, has_jsonb);
	rs_free(rs);
	buf_free(&doc);
	return 0;
}
