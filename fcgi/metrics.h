/*
 * metrics.h: the pool's request counters, latency histogram and cache and
 * log counters, in one mapping shared by the master and every worker
 * (a memfd the master makes and the workers inherit), written out in
 * Prometheus text format.
 */
#ifndef PGS_FCGI_METRICS_H
#define PGS_FCGI_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct metrics;
struct route;

#define METRICS_BUCKETS 12

/* Maps a shared counter area of metrics_size() bytes (fd from
 * memfd_create) and returns it (mapped for the process's life), or
 * NULL. */
struct metrics *metrics_map(int fd);
/* Returns the size of the shared counter area. */
size_t metrics_size(void);
/* Counts one request of route idx (-1: unmatched) with status and
 * duration. */
void metrics_count(struct metrics *m, int idx, int status, double seconds);
/* Counts one lookup in the run cache. */
void metrics_cache(struct metrics *m, bool hit);
/* Adds the log lines this process dropped beyond *seen (the count it has
 * already added, updated here) to the pool's counter. */
void metrics_sync_log(struct metrics *m, unsigned long *seen);
/* Appends the Prometheus text of the counters to out (after syncing this
 * process's dropped log lines, as metrics_sync_log); the requests of
 * route i are labelled with routes[i] (nroutes of them, the table of
 * routes.h). */
void metrics_write(struct metrics *m, const struct route *routes, int nroutes,
    unsigned long *seen, struct buf *out);

#endif
