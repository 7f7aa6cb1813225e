/*
 * serialiser.c: throughput of result.c.  Serialises 100,000 rows of a
 * 7-column mix (int8, float8, numeric, text, timestamptz, bool, jsonb),
 * values prepared in advance as libpq would hand them over, and prints
 * the output rate in MB/s (best of 5 runs).  The first line's float8
 * values are multiples of 0.25, which pandas reads back exactly; the
 * second's are multiples of 0.731, some of which it does not (3.655 reads
 * as 3.6550000000000002), so that column becomes a string column and the
 * document is rewritten at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "result.h"

#define ROWS 100000
#define COLS 7

static char *vals[ROWS][COLS];
static int   lens[ROWS][COLS];

static void
prepare(const char *ffmt, double fstep)
{
	char tmp[128];
	int  r;

	for (r = 0; r < ROWS; r++) {
		snprintf(tmp, sizeof(tmp), "%d", r * 7919);
		free(vals[r][0]);
		vals[r][0] = strdup(tmp);
		snprintf(tmp, sizeof(tmp), ffmt, r * fstep);
		free(vals[r][1]);
		vals[r][1] = strdup(tmp);
		snprintf(tmp, sizeof(tmp), "%d.%02d", r, r % 100);
		free(vals[r][2]);
		vals[r][2] = strdup(tmp);
		snprintf(tmp, sizeof(tmp), "customer \"%d\" of région %d", r,
		    r % 17);
		free(vals[r][3]);
		vals[r][3] = strdup(tmp);
		snprintf(tmp, sizeof(tmp),
		    "2024-%02d-%02d %02d:%02d:%02d.%06d+00", 1 + r % 12,
		    1 + r % 28, r % 24, r % 60, r % 59, r % 999999);
		free(vals[r][4]);
		vals[r][4] = strdup(tmp);
		free(vals[r][5]);
		vals[r][5] = strdup(r % 3 ? "t" : "f");
		snprintf(tmp, sizeof(tmp),
		    "{\"id\": %d, \"tags\": [\"a\", \"b\"]}", r);
		free(vals[r][6]);
		vals[r][6] = strdup(tmp);
		for (int c = 0; c < COLS; c++)
			lens[r][c] = (int)strlen(vals[r][c]);
	}
}

static double
run(size_t *bytes)
{
	static const char    *names[COLS] = { "id", "score", "amount", "label",
		   "seen", "active", "meta" };
	static const unsigned oids[COLS] = { 20, 701, 1700, 25, 1184, 16,
		3802 };
	struct timespec	      t0, t1;
	struct result	     *rs;
	struct buf	      out = BUF_INIT;
	int		      r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rs = rs_new(COLS, names, oids, ROWS, (size_t)1 << 30);
	for (r = 0; r < ROWS; r++)
		if (!rs_add_row(rs, (const char *const *)vals[r], lens[r]))
			abort();
	rs_finish(rs, &out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*bytes = out.len;
	rs_free(rs);
	buf_free(&out);
	return (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void
bench(const char *label, const char *ffmt, double fstep)
{
	double best = 1e9, t;
	size_t bytes = 0;
	int    i;

	prepare(ffmt, fstep);
	for (i = 0; i < 5; i++) {
		t = run(&bytes);
		best = t < best ? t : best;
	}
	printf("%s: %d rows x %d columns, %zu bytes in %.1f ms: %.0f MB/s\n",
	    label, ROWS, COLS, bytes, best * 1e3, (double)bytes / best / 1e6);
}

int
main(void)
{
	bench("float8 r*0.25, every column typed", "%.17g", 0.25);
	bench("float8 r*0.731, float column flips to string", "%.17g", 0.731);
	return 0;
}
