/*
 * metrics.c: request counters and a latency histogram shared by every
 * worker of the pool (a memfd mapped by each), in Prometheus text format.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "metrics.h"
#include "routes.h"

#define METRICS_ROUTES 64 /* room for the route table, + unmatched */

static const int metrics_codes[] = { 200, 201, 202, 204, 304, 400, 401, 403,
	404, 405, 409, 413, 415, 422, 429, 500, 503 };
#define NCODES ((int)(sizeof(metrics_codes) / sizeof(metrics_codes[0])))

static const double metrics_le[METRICS_BUCKETS] = { 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

struct metrics {
	unsigned long req[METRICS_ROUTES + 1][NCODES + 1];
	unsigned long bucket[METRICS_BUCKETS + 1]; /* last: +Inf */
	unsigned long count;
	unsigned long sum_us;
	unsigned long cache_hit;
	unsigned long cache_miss;
	unsigned long log_dropped; /* by every process of the pool */
};

size_t
metrics_size(void)
{
	return sizeof(struct metrics);
}

struct metrics *
metrics_map(int fd)
{
	void *p;

	p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void
metrics_count(struct metrics *m, int idx, int status, double seconds)
{
	int c, b;

	if (m == NULL)
		return;
	if (idx < 0 || idx >= METRICS_ROUTES)
		idx = METRICS_ROUTES;
	for (c = 0; c < NCODES && metrics_codes[c] != status; c++)
		;
	for (b = 0; b < METRICS_BUCKETS && seconds > metrics_le[b]; b++)
		;
	__atomic_fetch_add(&m->req[idx][c], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->bucket[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->sum_us, (unsigned long)(seconds * 1e6),
	    __ATOMIC_RELAXED);
}

void
metrics_cache(struct metrics *m, bool hit)
{
	if (m != NULL)
		__atomic_fetch_add(hit ? &m->cache_hit : &m->cache_miss, 1,
		    __ATOMIC_RELAXED);
}

void
metrics_sync_log(struct metrics *m, unsigned long *seen)
{
	unsigned long n;

	if (m == NULL)
		return;
	n = log_dropped();
	if (n == *seen)
		return;
	__atomic_fetch_add(&m->log_dropped, n - *seen, __ATOMIC_RELAXED);
	*seen = n;
}

static unsigned long
metrics_load(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* The request counters, labelled with the n routes of rt. */
static void
metrics_write_requests(struct metrics *m, const struct route *rt, int n,
    struct buf *out)
{
	unsigned long v;
	int	      i, c;

	buf_puts(out,
	    "# HELP pgsched_http_requests_total HTTP requests by "
	    "route and status.\n# TYPE pgsched_http_requests_total counter\n");
	for (i = 0; i <= METRICS_ROUTES; i++) {
		if (i >= n && i != METRICS_ROUTES)
			continue;
		for (c = 0; c <= NCODES; c++) {
			v = metrics_load(&m->req[i][c]);
			if (v == 0)
				continue;
			if (i == METRICS_ROUTES)
				buf_puts(out,
				    "pgsched_http_requests_total"
				    "{route=\"unmatched\"");
			else
				buf_printf(out,
				    "pgsched_http_requests_total"
				    "{route=\"%s %s\"",
				    rt[i].method, rt[i].pattern);
			if (c < NCODES)
				buf_printf(out, ",status=\"%d\"} %lu\n",
				    metrics_codes[c], v);
			else
				buf_printf(out, ",status=\"other\"} %lu\n", v);
		}
	}
}

void
metrics_write(struct metrics *m, const struct route *routes, int nroutes,
    unsigned long *seen, struct buf *out)
{
	unsigned long cum = 0;
	int	      b;

	if (m == NULL)
		return;
	metrics_write_requests(m, routes, nroutes, out);
	buf_puts(out,
	    "# HELP pgsched_http_request_duration_seconds Time "
	    "to answer a request.\n# TYPE "
	    "pgsched_http_request_duration_seconds histogram\n");
	for (b = 0; b < METRICS_BUCKETS; b++) {
		cum += metrics_load(&m->bucket[b]);
		buf_printf(out,
		    "pgsched_http_request_duration_seconds_bucket"
		    "{le=\"%g\"} %lu\n",
		    metrics_le[b], cum);
	}
	cum += metrics_load(&m->bucket[METRICS_BUCKETS]);
	buf_printf(out,
	    "pgsched_http_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} %lu\n",
	    cum);
	buf_printf(out, "pgsched_http_request_duration_seconds_sum %.6f\n",
	    (double)metrics_load(&m->sum_us) / 1e6);
	buf_printf(out, "pgsched_http_request_duration_seconds_count %lu\n",
	    metrics_load(&m->count));
	buf_printf(out,
	    "# HELP pgsched_cache_lookups_total Lookups of "
	    "rendered run answers in the workers' caches.\n# TYPE "
	    "pgsched_cache_lookups_total counter\n"
	    "pgsched_cache_lookups_total{result=\"hit\"} %lu\n"
	    "pgsched_cache_lookups_total{result=\"miss\"} %lu\n",
	    metrics_load(&m->cache_hit), metrics_load(&m->cache_miss));
	metrics_sync_log(m, seen);
	buf_printf(out,
	    "# HELP pgsched_log_lines_dropped_total Log lines "
	    "the pool could not write (full disk, unwritable LOG_DIR).\n"
	    "# TYPE pgsched_log_lines_dropped_total counter\n"
	    "pgsched_log_lines_dropped_total %lu\n",
	    metrics_load(&m->log_dropped));
}
