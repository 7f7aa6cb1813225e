/*
 * buf.c: growable byte buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->data[0] = '\0';
}

void
buf_reserve(struct buf *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len > n)
		return;
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap - b->len <= n)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i, run;

	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	for (i = 0; i < n; i += run) {
		unsigned char c = (unsigned char)s[i];

		/* Copy the longest run that needs no escaping at once. */
		for (run = 0; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		if (run > 0) {
			buf_append(b, s + i, run);
			continue;
		}
		run = 1;
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				hex[c & 15] };

			buf_append(b, u, sizeof(u));
		}
		}
	}
	buf_putc(b, '"');
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	buf_init(b);
	return p;
}
