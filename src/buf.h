/*
 * buf.h: a growable byte buffer, always NUL-terminated.  The buffer owns
 * its memory; buf_free() releases it.
 */
#ifndef PGS_BUF_H
#define PGS_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "rc.h"

struct buf {
	char  *data; /* NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
};

#define BUF_INIT \
	{ \
		NULL, 0, 0 \
	}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes (plus the NUL). */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) PGS_PRINTF(2, 3);
/* Appends s as a JSON string literal (quotes included), escaping
 * control characters, quote and backslash; bytes >= 0x80 pass as is. */
void buf_json_str(struct buf *b, const char *s, size_t n);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_steal(struct buf *b);

#endif
