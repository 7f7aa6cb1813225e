/*
 * conf_mask.c: hides the password of a PostgreSQL connection string, in
 * URL form (postgresql://user:secret@host/db?password=secret) or keyword
 * form (host=h password='x y'), and of another URL (SMTP_URL), for
 * conf_print and error messages.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"

/* Masks the value of every password=... parameter of a URL query. */
static void
mask_url_query(const char *q, struct buf *b)
{
	const char *e;

	while (*q != '\0' && *q != '#') {
		e = q + strcspn(q, "&#");
		if (strncmp(q, "password=", 9) == 0) {
			buf_puts(b, "password=***");
		} else
			buf_append(b, q, (size_t)(e - q));
		q = e;
		if (*q == '&')
			buf_putc(b, *q++);
	}
	buf_puts(b, q);
}

/*
 * postgresql://user:secret@host/db?password=secret -> secrets as ***.
 * libpq reads user:password up to an '@' before the first '/', even
 * across '?' or '#'; the last such '@' is taken, so a password holding
 * an unencoded '@' is masked whole.
 */
static void
mask_url(const char *dsn, struct buf *b)
{
	const char *auth = strstr(dsn, "://") + 3, *uend, *at = NULL, *p;
	const char *colon = NULL, *rest = auth, *q;

	uend = auth + strcspn(auth, "/");
	for (p = auth; p < uend; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		rest = at;
	}
	if (colon != NULL) {
		buf_append(b, dsn, (size_t)(colon + 1 - dsn));
		buf_puts(b, "***");
	} else
		buf_append(b, dsn, (size_t)(rest - dsn));
	q = rest + strcspn(rest, "?#");
	buf_append(b, rest, (size_t)(q - rest));
	if (*q == '?') {
		buf_putc(b, '?');
		mask_url_query(q + 1, b);
	} else
		buf_puts(b, q);
}

/* Returns the end of a conninfo value starting at p (quoted or not). */
static const char *
conninfo_value_end(const char *p)
{
	if (*p == '\'') {
		for (p++; *p != '\0' && *p != '\''; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		return *p == '\'' ? p + 1 : p;
	}
	for (; *p != '\0' && !isspace((unsigned char)*p); p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return p;
}

/* host=h password='x y' dbname=d -> the password value as *** */
static void
mask_conninfo(const char *p, struct buf *b)
{
	const char *k, *e;
	size_t	    klen;

	for (;;) {
		while (isspace((unsigned char)*p))
			buf_putc(b, *p++);
		if (*p == '\0')
			return;
		k = p;
		while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			/* not conninfo: hide the rest */
			buf_puts(b, "***");
			return;
		}
		for (p++; isspace((unsigned char)*p); p++)
			;
		e = conninfo_value_end(p);
		buf_append(b, k, klen);
		buf_putc(b, '=');
		if (klen == 8 && memcmp(k, "password", 8) == 0)
			buf_puts(b, "***");
		else
			buf_append(b, p, (size_t)(e - p));
		p = e;
	}
}

char *
conf_mask_url(const char *url)
{
	struct buf b = BUF_INIT;

	if (strstr(url, "://") != NULL)
		mask_url(url, &b);
	else
		buf_puts(&b, "***");
	return buf_steal(&b);
}

char *
conf_mask_dsn(const char *dsn)
{
	struct buf b = BUF_INIT;

	if (strncasecmp(dsn, "postgresql://", 13) == 0 ||
	    strncasecmp(dsn, "postgres://", 11) == 0)
		mask_url(dsn, &b);
	else
		mask_conninfo(dsn, &b);
	return buf_steal(&b);
}
