/*
 * t_cache.c: the workers' response cache (fcgi/cache.c): lookups, the
 * byte bound and LRU order, replacement, dropping a query's entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache.h"

static const char body[] = "{\"id\":1,\"result\":null}";

static void
put(struct cache *c, int kind, long id, long qid, const char *b, size_t n)
{
	assert_true(cache_put(c, cache_key(kind, 0, id), qid, id, false,
	    "\"tag\"", b, n));
}

static void
t_get_put(void **state)
{
	struct cache		  c;
	const struct cache_entry *e;

	(void)state;
	cache_init(&c, 1 << 20);
	assert_null(cache_get(&c, cache_key(CACHE_RUN, 0, 1)));
	put(&c, CACHE_RUN, 1, 7, body, sizeof(body) - 1);
	e = cache_get(&c, cache_key(CACHE_RUN, 0, 1));
	assert_non_null(e);
	assert_int_equal(e->len, sizeof(body) - 1);
	assert_memory_equal(e->body, body, e->len);
	assert_string_equal(e->etag, "\"tag\"");
	assert_int_equal(e->query_id, 7);
	assert_int_equal(e->run_id, 1);
	/* Other kinds, formats and ids are other keys. */
	assert_null(cache_get(&c, cache_key(CACHE_RUN, CACHE_CSV, 1)));
	assert_null(cache_get(&c, cache_key(CACHE_LATEST, 0, 1)));
	assert_null(cache_get(&c, cache_key(CACHE_LATEST_ANY, 0, 1)));
	assert_null(cache_get(&c, cache_key(CACHE_RUN, 0, 2)));
	/* So are the renderings for other readers. */
	assert_null(cache_get(&c, cache_key(CACHE_RUN, CACHE_FULL, 1)));
	assert_null(
	    cache_get(&c, cache_key(CACHE_RUN, CACHE_CSV | CACHE_RAW, 1)));
	/* An XLSX answer is neither a JSON nor a CSV one. */
	assert_null(cache_get(&c, cache_key(CACHE_RUN, CACHE_XLSX, 1)));
	assert_null(
	    cache_get(&c, cache_key(CACHE_RUN, CACHE_XLSX | CACHE_RAW, 1)));
	assert_int_equal(c.hits, 1);
	assert_int_equal(c.misses, 9);
	/* The flags of a key are those it was made with. */
	assert_int_equal(cache_key_flags(cache_key(CACHE_LATEST,
			     CACHE_XLSX | CACHE_RAW, 2147483647L)),
	    CACHE_XLSX | CACHE_RAW);
	assert_int_equal(cache_key_flags(cache_key(CACHE_RUN, 0, 5)), 0);
	cache_free(&c);
}

static void
t_replace(void **state)
{
	struct cache		  c;
	const struct cache_entry *e;

	(void)state;
	cache_init(&c, 1 << 20);
	put(&c, CACHE_LATEST, 3, 3, "old", 3);
	put(&c, CACHE_LATEST, 3, 3, "newer", 5);
	assert_int_equal(c.n, 1);
	e = cache_get(&c, cache_key(CACHE_LATEST, 0, 3));
	assert_non_null(e);
	assert_int_equal(e->len, 5);
	assert_memory_equal(e->body, "newer", 5);
	cache_free(&c);
}

static void
t_bound_lru(void **state)
{
	struct cache c;
	char	     big[1000];
	long	     i;

	(void)state;
	memset(big, 'x', sizeof(big));
	cache_init(&c, 8 * (sizeof(big) + sizeof(struct cache_entry)));
	for (i = 1; i <= 8; i++)
		put(&c, CACHE_RUN, i, 1, big, sizeof(big));
	assert_int_equal(c.n, 8);
	/* Use 1 again: 2 is now the least recently used. */
	assert_non_null(cache_get(&c, cache_key(CACHE_RUN, 0, 1)));
	put(&c, CACHE_RUN, 9, 1, big, sizeof(big));
	assert_true(c.bytes <= c.max_bytes);
	assert_int_equal(c.n, 8);
	assert_int_equal(c.evictions, 1);
	assert_null(cache_get(&c, cache_key(CACHE_RUN, 0, 2)));
	assert_non_null(cache_get(&c, cache_key(CACHE_RUN, 0, 1)));
	assert_non_null(cache_get(&c, cache_key(CACHE_RUN, 0, 9)));
	/* Many more: the bound holds all along. */
	for (i = 10; i < 1000; i++) {
		put(&c, CACHE_RUN, i, i % 5, big, sizeof(big));
		assert_true(c.bytes <= c.max_bytes);
	}
	cache_free(&c);
}

static void
t_too_big_or_off(void **state)
{
	struct cache c;
	static char  big[300];

	(void)state;
	cache_init(&c, 1000);
	/* More than a quarter of the bound is never kept. */
	assert_false(cache_put(&c, cache_key(CACHE_RUN, 0, 1), 1, 1, false,
	    "\"t\"", big, sizeof(big)));
	assert_int_equal(c.n, 0);
	cache_free(&c);
	cache_init(&c, 0);
	assert_false(cache_put(&c, cache_key(CACHE_RUN, 0, 1), 1, 1, false,
	    "\"t\"", "x", 1));
	assert_null(cache_get(&c, cache_key(CACHE_RUN, 0, 1)));
	cache_free(&c);
}

static void
t_drop_query(void **state)
{
	struct cache c;
	long	     i;

	(void)state;
	cache_init(&c, 1 << 20);
	for (i = 1; i <= 30; i++) {
		put(&c, CACHE_RUN, i, i % 3, body, sizeof(body) - 1);
		put(&c, CACHE_LATEST, i % 3, i % 3, body, sizeof(body) - 1);
	}
	assert_true(cache_put(&c, cache_key(CACHE_LATEST, CACHE_CSV, 1), 1, 30,
	    true, "\"c\"", "a,b\r\n", 5));
	assert_int_equal(c.n, 34);
	assert_int_equal(cache_drop_query(&c, 1), 12);
	assert_int_equal(c.n, 22);
	for (i = 1; i <= 30; i++) {
		if (i % 3 == 1)
			assert_null(cache_get(&c, cache_key(CACHE_RUN, 0, i)));
		else
			assert_non_null(
			    cache_get(&c, cache_key(CACHE_RUN, false, i)));
	}
	assert_null(cache_get(&c, cache_key(CACHE_LATEST, CACHE_CSV, 1)));
	assert_non_null(cache_get(&c, cache_key(CACHE_LATEST, 0, 2)));
	assert_int_equal(cache_drop_query(&c, 99), 0);
	cache_clear(&c);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.bytes, 0);
	assert_null(cache_get(&c, cache_key(CACHE_LATEST, 0, 2)));
	cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_get_put),
		cmocka_unit_test(t_replace),
		cmocka_unit_test(t_bound_lru),
		cmocka_unit_test(t_too_big_or_off),
		cmocka_unit_test(t_drop_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
