/*
 * arena.h: one arena per request or job; everything in it is released
 * together by arena_free().  Allocation never fails: out of memory aborts.
 */
#ifndef PGS_ARENA_H
#define PGS_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "rc.h"

struct arena_block;
struct arena_defer;

struct arena {
	struct arena_block *blocks; /* newest first */
	struct arena_defer *defers; /* run in reverse order at free */
	size_t		    total;  /* bytes held, for stats */
};

/* Heap helpers that abort on out-of-memory; the caller owns the result. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Initialises an empty arena; cheap, allocates nothing. */
void arena_init(struct arena *a);
/* Releases every block and runs every deferred destructor. */
void arena_free(struct arena *a);
/* Returns zeroed memory owned by the arena, aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
/* Returns an arena-owned copy of s (NULL stays NULL). */
char *arena_strdup(struct arena *a, const char *s);
/* Returns an arena-owned NUL-terminated copy of the first n bytes of s. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Returns an arena-owned formatted string. */
char *arena_printf(struct arena *a, const char *fmt, ...) PGS_PRINTF(2, 3);
char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap) PGS_PRINTF(2, 0);
/* Registers fn(p) to run at arena_free(); p stays owned by the caller's
 * object until then (used for PQclear, cJSON_Delete, ...). */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

#endif
