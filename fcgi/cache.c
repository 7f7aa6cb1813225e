/*
 * cache.c: a bounded LRU of rendered run responses (see cache.h).  One
 * allocation per entry (header and body together), a chained hash table
 * sized from the byte bound, a doubly linked list for the LRU order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cache.h"

#define CACHE_AVG_ENTRY	  (16 * 1024) /* for the table size */
#define CACHE_MIN_BUCKETS 256
#define CACHE_MAX_BUCKETS 65536

uint64_t
cache_key(int kind, unsigned flags, long id)
{
	return ((uint64_t)(unsigned)kind << 40) |
	    ((uint64_t)(flags & 0xff) << 32) | (uint64_t)(uint32_t)id;
}

unsigned
cache_key_flags(uint64_t key)
{
	return (unsigned)(key >> 32) & 0xff;
}

void
cache_init(struct cache *c, size_t max_bytes)
{
	size_t want;

	memset(c, 0, sizeof(*c));
	c->max_bytes = max_bytes;
	c->lru.next = c->lru.prev = &c->lru;
	if (max_bytes == 0)
		return;
	want = max_bytes / CACHE_AVG_ENTRY;
	c->nbuckets = CACHE_MIN_BUCKETS;
	while (c->nbuckets < want && c->nbuckets < CACHE_MAX_BUCKETS)
		c->nbuckets *= 2;
	c->tab = xcalloc(c->nbuckets, sizeof(*c->tab));
}

static size_t
cache_bucket(const struct cache *c, uint64_t key)
{
	/* Fibonacci hashing spreads consecutive ids. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) &
	    (c->nbuckets - 1);
}

static size_t
cache_cost(const struct cache_entry *e)
{
	return sizeof(*e) + e->len;
}

/* Unlinks e from the table and the list and frees it. */
static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->tab[cache_bucket(c, e->key)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	c->bytes -= cache_cost(e);
	c->n--;
	free(e);
}

static void
cache_to_front(struct cache *c, struct cache_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

const struct cache_entry *
cache_get(struct cache *c, uint64_t key)
{
	struct cache_entry *e;

	if (c->max_bytes == 0)
		return NULL;
	for (e = c->tab[cache_bucket(c, key)]; e != NULL; e = e->hnext)
		if (e->key == key)
			break;
	if (e == NULL) {
		c->misses++;
		return NULL;
	}
	c->hits++;
	cache_to_front(c, e);
	return e;
}

bool
cache_put(struct cache *c, uint64_t key, long query_id, long run_id, bool csv,
    const char *etag, const char *body, size_t len)
{
	struct cache_entry *e, **head;

	if (c->max_bytes == 0 || len > c->max_bytes / 4)
		return false;
	head = &c->tab[cache_bucket(c, key)];
	for (e = *head; e != NULL; e = e->hnext)
		if (e->key == key) {
			cache_remove(c, e);
			break;
		}
	e = xmalloc(sizeof(*e) + len);
	e->key = key;
	e->query_id = query_id;
	e->run_id = run_id;
	e->csv = csv;
	snprintf(e->etag, sizeof(e->etag), "%s", etag);
	e->len = len;
	memcpy(e->body, body, len);
	while (c->n > 0 && c->bytes + cache_cost(e) > c->max_bytes) {
		cache_remove(c, c->lru.prev);
		c->evictions++;
	}
	head = &c->tab[cache_bucket(c, key)];
	e->hnext = *head;
	*head = e;
	e->prev = &c->lru;
	e->next = c->lru.next;
	c->lru.next->prev = e;
	c->lru.next = e;
	c->bytes += cache_cost(e);
	c->n++;
	return true;
}

size_t
cache_drop_query(struct cache *c, long query_id)
{
	struct cache_entry *e, *next;
	size_t		    n = 0;

	for (e = c->lru.next; e != &c->lru; e = next) {
		next = e->next;
		if (e->query_id == query_id) {
			cache_remove(c, e);
			n++;
		}
	}
	c->drops += n;
	return n;
}

void
cache_clear(struct cache *c)
{
	while (c->n > 0)
		cache_remove(c, c->lru.next);
}

void
cache_free(struct cache *c)
{
	cache_clear(c);
	free(c->tab);
	c->tab = NULL;
	c->max_bytes = 0;
}
