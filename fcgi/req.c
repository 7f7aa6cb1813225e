/*
 * req.c: a request's FastCGI parameters, query string, cookie and body,
 * and the typed readers of a JSON body that collect field errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "num.h"

const char *
req_env(struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fr->envp);
}

/* The last element of a comma list, trimmed (arena-owned). */
static const char *
req_last_item(struct arena *a, const char *list)
{
	const char *p = strrchr(list, ',');
	const char *e;

	p = p != NULL ? p + 1 : list;
	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return arena_strndup(a, p, (size_t)(e - p));
}

/* Returns the value of cookie name in the Cookie header, or NULL. */
static const char *
req_cookie(struct req *r, const char *name)
{
	const char *h = req_env(r, "HTTP_COOKIE"), *p, *e;
	size_t	    n = strlen(name);

	for (p = h; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ' || *p == ';')
			p++;
		e = p + strcspn(p, ";");
		if ((size_t)(e - p) > n && strncmp(p, name, n) == 0 &&
		    p[n] == '=')
			return arena_strndup(r->a, p + n + 1,
			    (size_t)(e - p - (long)n - 1));
	}
	return NULL;
}

/*
 * Returns the credentials of an "Authorization: Bearer" header (arena-
 * owned, trimmed; "" when empty), or NULL when there is no such header:
 * another scheme (Basic at a proxy) is not ours.
 */
static const char *
req_bearer(struct req *r)
{
	const char *h = req_env(r, "HTTP_AUTHORIZATION"), *e;

	if (h == NULL)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 ||
	    (h[6] != ' ' && h[6] != '\t' && h[6] != '\0'))
		return NULL;
	for (h += 6; *h == ' ' || *h == '\t'; h++)
		;
	e = h + strlen(h);
	while (e > h && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return arena_strndup(r->a, h, (size_t)(e - h));
}

/* Path part of REQUEST_URI without the trailing slash (arena-owned). */
static const char *
req_path(struct req *r)
{
	const char *uri = req_env(r, "REQUEST_URI");
	size_t	    n;

	if (uri == NULL)
		uri = req_env(r, "DOCUMENT_URI");
	if (uri == NULL)
		uri = req_env(r, "SCRIPT_NAME");
	if (uri == NULL)
		uri = "/";
	n = strcspn(uri, "?#");
	while (n > 1 && uri[n - 1] == '/')
		n--;
	return arena_strndup(r->a, uri, n);
}

void
req_init(struct req *r, struct app *app, struct arena *a, FCGX_Request *fr)
{
	const char *s, *proto;

	memset(r, 0, sizeof(*r));
	r->app = app;
	r->a = a;
	r->fr = fr;
	r->route_idx = -1;
	json_errors_init(&r->errs);
	s = req_env(r, "REQUEST_METHOD");
	r->method = s != NULL ? s : "GET";
	if (strcmp(r->method, "HEAD") == 0) {
		r->head = true;
		r->method = "GET";
	}
	r->path = req_path(r);
	s = req_env(r, "QUERY_STRING");
	r->query = s != NULL ? s : "";
	r->content_type = req_env(r, "CONTENT_TYPE");
	s = req_env(r, "CONTENT_LENGTH");
	r->content_length = s != NULL && *s != '\0' ? strtol(s, NULL, 10) : 0;
	r->origin = req_env(r, "HTTP_ORIGIN");
	r->user_agent = req_env(r, "HTTP_USER_AGENT");
	s = req_env(r, "REMOTE_ADDR");
	r->client = s != NULL ? s : "unknown";
	s = req_env(r, "HTTPS");
	r->https = s != NULL && strcasecmp(s, "on") == 0;
	if (app->conf.trust_proxy) {
		s = req_env(r, "HTTP_X_FORWARDED_FOR");
		if (s != NULL && *s != '\0')
			r->client = req_last_item(a, s);
		proto = req_env(r, "HTTP_X_FORWARDED_PROTO");
		if (proto != NULL)
			r->https =
			    strcasecmp(req_last_item(a, proto), "https") == 0;
	}
	r->sid = req_cookie(r, "sid");
	r->bearer = req_bearer(r);
}

static int
req_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes n bytes of s ('+' is a space) into an arena string. */
static char *
req_decode(struct arena *a, const char *s, size_t n)
{
	char  *out = arena_alloc(a, n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n && req_hex(s[i + 1]) >= 0 &&
		    req_hex(s[i + 2]) >= 0) {
			*o++ =
			    (char)(req_hex(s[i + 1]) * 16 + req_hex(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

const char *
req_qparam(struct req *r, const char *name)
{
	const char *p, *e, *eq;
	size_t	    n = strlen(name);

	for (p = r->query; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq == NULL)
			eq = e;
		if ((size_t)(eq - p) == n && strncmp(p, name, n) == 0)
			return req_decode(r->a, eq < e ? eq + 1 : e,
			    (size_t)(e - (eq < e ? eq + 1 : e)));
	}
	return NULL;
}

const char *
req_decoded(struct req *r, const char *s)
{
	return req_decode(r->a, s, strlen(s));
}

enum pgs_rc
req_qint(struct req *r, const char *name, long min, long max, long dflt,
    long *out)
{
	const char *s = req_qparam(r, name);

	*out = dflt;
	if (s == NULL || num_parse(s, min, max, out))
		return PGS_OK;
	req_field(r, name, "must be an integer from %ld to %ld", min, max);
	return PGS_INVALID;
}

enum pgs_rc
req_read_body(struct req *r)
{
	char *buf;
	int   got;

	if (r->content_length <= 0)
		return PGS_OK;
	buf = arena_alloc(r->a, (size_t)r->content_length + 1);
	got = FCGX_GetStr(buf, (int)r->content_length, r->fr->in);
	if (got != r->content_length)
		return PGS_INVALID;
	buf[got] = '\0';
	r->body = buf;
	r->bodylen = (size_t)got;
	return PGS_OK;
}

enum pgs_rc
req_fail(struct req *r, enum pgs_rc rc, const char *code, const char *fmt, ...)
{
	va_list ap;

	r->err_code = code;
	va_start(ap, fmt);
	r->err_msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	return rc;
}

void
req_field(struct req *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	char   *msg;

	va_start(ap, fmt);
	msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	json_errors_add(&r->errs, field, "%s", msg);
}

enum pgs_rc
req_fields_rc(struct req *r)
{
	return r->errs.count > 0 ? PGS_INVALID : PGS_OK;
}

void
req_unknown_fields(struct req *r, const char *const allowed[])
{
	const cJSON *c;
	size_t	     i;

	cJSON_ArrayForEach(c, r->json)
	{
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(c->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			req_field(r, c->string, "unknown field");
	}
}

void
req_str(struct req *r, const char *name, size_t maxlen, bool required,
    const char **out)
{
	enum pgs_rc rc;

	*out = NULL;
	rc = json_str(r->json, name, maxlen, out);
	if (rc == PGS_NOTFOUND && required)
		req_field(r, name, "is required");
	else if (rc == PGS_INVALID)
		req_field(r, name, "must be a string of at most %zu bytes",
		    maxlen);
	if (rc != PGS_OK)
		*out = NULL;
}

void
req_int(struct req *r, const char *name, long min, long max, bool required,
    long *out, bool *present)
{
	enum pgs_rc rc;
	long	    v;

	rc = json_int(r->json, name, min, max, &v);
	if (present != NULL)
		*present = rc == PGS_OK;
	if (rc == PGS_OK)
		*out = v;
	else if (rc == PGS_NOTFOUND && required)
		req_field(r, name, "is required");
	else if (rc == PGS_INVALID)
		req_field(r, name, "must be an integer from %ld to %ld", min,
		    max);
}

void
req_bool(struct req *r, const char *name, bool *out, bool *present)
{
	enum pgs_rc rc;
	bool	    v;

	rc = json_bool(r->json, name, &v);
	if (present != NULL)
		*present = rc == PGS_OK;
	if (rc == PGS_OK)
		*out = v;
	else if (rc == PGS_INVALID)
		req_field(r, name, "must be true or false");
}

bool
req_is_null(struct req *r, const char *name)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->json, name);

	return c != NULL && cJSON_IsNull(c);
}
