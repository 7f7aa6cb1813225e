/*
 * cache.h: one worker's cache of rendered run responses.
 *
 * A finished run never changes, so its rendered answer (body and ETag)
 * can be served again without the database.  Entries are keyed by what
 * was asked (a run by id, or "the latest run of query Q", each as JSON,
 * CSV or XLSX, and for whom: an anonymous reader never gets the answer rendered
 * for an admin) and remember the query they belong to, so that a
 * notification for query Q (sql/0003-notify.sql) drops every entry of Q.
 * The cache is a least-recently-used list bounded by bytes; it knows
 * nothing of HTTP or the database, so it is tested on its own
 * (tests/unit/t_cache.c).
 */
#ifndef PGS_FCGI_CACHE_H
#define PGS_FCGI_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_RUN	 1 /* GET /api/runs/<id> */
#define CACHE_LATEST	 2 /* GET /api/queries/<id>/runs/latest */
#define CACHE_LATEST_ANY 3 /* ... ?status=any */

/* Flags of a key: the same run is rendered differently for each. */
#define CACHE_CSV  0x01 /* ?format=csv */
#define CACHE_RAW  0x02 /* ... &raw=1: cells as stored */
#define CACHE_FULL 0x04 /* full error messages: editors, admins */
#define CACHE_XLSX 0x08 /* ?format=xlsx (or its media type in Accept) */

#define CACHE_ETAG_MAX 48

struct cache_entry {
	struct cache_entry *prev, *next; /* LRU list, newest first */
	struct cache_entry *hnext;	 /* hash chain */
	uint64_t	    key;
	long		    query_id;
	long		    run_id;
	bool		    csv;
	char		    etag[CACHE_ETAG_MAX];
	size_t		    len;
	char		    body[];
};

struct cache {
	size_t		     max_bytes; /* 0: the cache is off */
	size_t		     bytes;	/* entries and bodies */
	size_t		     n;
	size_t		     nbuckets; /* a power of two */
	struct cache_entry **tab;
	struct cache_entry   lru; /* sentinel */
	unsigned long	     hits, misses, evictions, drops;
};

/* Returns the key of kind (CACHE_RUN...) for id, rendered as flags
 * (CACHE_CSV...) say. */
uint64_t cache_key(int kind, unsigned flags, long id);
/* Returns the flags (CACHE_CSV...) key was made with. */
unsigned cache_key_flags(uint64_t key);
/* Sets c up for at most max_bytes (0 disables it). */
void cache_init(struct cache *c, size_t max_bytes);
/* Frees every entry and the table. */
void cache_free(struct cache *c);
/*
 * Returns the entry of key and makes it the most recently used, or NULL.
 * The entry belongs to the cache and stays valid until the next
 * cache_put, cache_drop_query or cache_clear.
 */
const struct cache_entry *cache_get(struct cache *c, uint64_t key);
/*
 * Stores a copy of body (len bytes) with etag under key, for query_id and
 * run_id, replacing an entry of the same key and evicting the least
 * recently used ones to stay within the bound.  Returns false (storing
 * nothing) when the cache is off or the body is larger than a quarter of
 * the bound.
 */
bool cache_put(struct cache *c, uint64_t key, long query_id, long run_id,
    bool csv, const char *etag, const char *body, size_t len);
/* Drops every entry of query_id; returns how many. */
size_t cache_drop_query(struct cache *c, long query_id);
/* Drops every entry. */
void cache_clear(struct cache *c);

#endif
