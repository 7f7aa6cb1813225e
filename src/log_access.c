/*
 * log_access.c: the access line of an API request, built from quoted
 * key=value tokens for log.c (which turns them into SD-PARAMs and writes
 * control characters and invalid UTF-8 safely).
 */
#include <string.h>

#include "buf.h"
#include "log.h"
#include "log_access.h"
#include "utf8.h"

/* Appends ` key="value"` with '"' and '\' escaped; value cut at max. */
static void
put_quoted(struct buf *b, const char *key, const char *v, size_t max)
{
	size_t n, i;

	if (v == NULL || *v == '\0')
		v = "-";
	n = strlen(v);
	if (n > max)
		n = utf8_cut(v, max);
	buf_printf(b, " %s=\"", key);
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, v[i]);
	}
	buf_putc(b, '"');
}

void
log_access(const struct log_access *a)
{
	struct buf     b = BUF_INIT;
	enum log_level level;

	level = a->status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
	if (!log_enabled(level))
		return;
	put_quoted(&b, "method", a->method, 16);
	put_quoted(&b, "route", a->route, 128);
	put_quoted(&b, "path", a->path, LOG_ACCESS_PATH_MAX);
	buf_printf(&b, " status=%d ms=%.1f", a->status,
	    a->seconds > 0 ? a->seconds * 1000.0 : 0.0);
	if (a->user_id > 0)
		buf_printf(&b, " user=%ld", a->user_id);
	else
		buf_puts(&b, " user=-");
	put_quoted(&b, "client", a->client, 64);
	/* b starts with a space: log.c's tokens are separated by spaces. */
	log_msg(level, "access", "%s", b.data + 1);
	buf_free(&b);
}
