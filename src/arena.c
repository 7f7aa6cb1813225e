/*
 * arena.c: bump allocator with deferred destructors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLOCK (16 * 1024)
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t		    size;
	size_t		    used;
	/* payload follows, aligned */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_defer {
	struct arena_defer *next;
	void (*fn)(void *);
	void *p;
};

static void PGS_NORETURN
oom(size_t n)
{
	/* Inputs are size-capped, so this is an emergency, not a path. */
	fprintf(stderr, "pgsched: out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p;

	p = malloc(n == 0 ? 1 : n);
	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q;

	q = realloc(p, n == 0 ? 1 : n);
	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

void
arena_init(struct arena *a)
{
	a->blocks = NULL;
	a->defers = NULL;
	a->total = 0;
}

void
arena_free(struct arena *a)
{
	struct arena_block *b, *bn;
	struct arena_defer *d, *dn;

	/* Destructors first: they may point into blocks. */
	for (d = a->defers; d != NULL; d = dn) {
		dn = d->next;
		d->fn(d->p);
		free(d);
	}
	for (b = a->blocks; b != NULL; b = bn) {
		bn = b->next;
		free(b);
	}
	arena_init(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->blocks;
	size_t		    need, size;
	void		   *p;

	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n)
		oom(n);
	if (b == NULL || b->size - b->used < need) {
		size = need > ARENA_BLOCK / 2 ? need : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		/* A big one-off block goes behind the current one so the
		 * current block's free space is not wasted. */
		if (size != ARENA_BLOCK && a->blocks != NULL) {
			b->next = a->blocks->next;
			a->blocks->next = b;
		} else {
			b->next = a->blocks;
			a->blocks = b;
		}
		a->total += size;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	int	n;
	char   *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		oom(0);
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char   *p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct arena_defer *d;

	if (p == NULL)
		return;
	d = xmalloc(sizeof(*d));
	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
}
