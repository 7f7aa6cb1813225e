/*
 * fuzz_query.c: libFuzzer target for the request helpers of fcgi/req.c
 * that read what a client sends: the request URI, query string, Cookie
 * header, X-Forwarded-For/-Proto, Content-Length, and the typed readers
 * of a JSON body.  req_init() takes its parameters through FCGX_GetParam
 * on fr->envp, a plain NULL-terminated "NAME=value" array, so a request
 * is built here without any FastCGI stream (req_read_body, the only
 * helper that reads the stream, is not exercised).
 *
 * Input: byte 0 holds flags (bit 0: TRUST_PROXY), then '\n'-separated
 * fields: QUERY_STRING, HTTP_COOKIE, REQUEST_URI, HTTP_X_FORWARDED_FOR,
 * HTTP_X_FORWARDED_PROTO, CONTENT_LENGTH, REQUEST_METHOD, HTTPS, a query
 * parameter name, a timestamptz text for isotime_from_pg, and a JSON body.  A
 * field that is missing is an absent parameter.
 *
 * Besides the sanitizers' findings it aborts when an answer breaks a
 * promise: a path with '?' or '#' or a trailing '/', a sid with ';' or
 * not in the Cookie header, a proxied client address with a ',' or outer
 * blanks, a decoded parameter longer than the query string, an integer
 * out of its range, or an unknown body member not reported.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc -Ifcgi $(pkg-config --cflags libpq) fuzz/fuzz_query.c \
 *	fcgi/req.c src/num.c src/json.c src/utf8.c src/arena.c \
 *	-lfcgi -lcjson -o fuzz_query
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "isotime.h"

#define NFIELDS 11

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const params[] = { "QUERY_STRING", "HTTP_COOKIE",
	"REQUEST_URI", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
	"CONTENT_LENGTH", "REQUEST_METHOD", "HTTPS" };
#define NPARAMS (sizeof(params) / sizeof(params[0]))

static const char *const allowed[] = { "name", "sql", "enabled", NULL };

static void
broken(const char *what, const char *detail)
{
	fprintf(stderr, "req promise broken: %s (%s)\n", what,
	    detail != NULL ? detail : "(null)");
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_init();
	return 0;
}

/* Splits the n bytes at s into up to NFIELDS arena strings at '\n'. */
static int
split(struct arena *a, const char *s, size_t n, char *f[NFIELDS])
{
	const char *nl;
	size_t	    off = 0, len;
	int	    k = 0;

	while (k < NFIELDS && off <= n) {
		nl = memchr(s + off, '\n', n - off);
		len = nl == NULL || k == NFIELDS - 1 ? n - off :
						       (size_t)(nl - (s + off));
		f[k++] = arena_strndup(a, s + off, len);
		off += len + 1;
	}
	return k;
}

/* Returns whether cookie holds an item "sid=<sid>" (after ' ' or ';'). */
static bool
has_sid(const char *cookie, const char *sid)
{
	const char *p;
	size_t	    n = strlen(sid);

	for (p = strstr(cookie, "sid="); p != NULL; p = strstr(p + 1, "sid=")) {
		if (p > cookie && p[-1] != ' ' && p[-1] != ';')
			continue;
		if (strncmp(p + 4, sid, n) == 0 &&
		    (p[4 + n] == ';' || p[4 + n] == '\0'))
			return true;
	}
	return false;
}

static void
check_init(const struct req *r, char *f[NFIELDS], int k, bool trust)
{
	size_t n = strlen(r->path);

	if (strpbrk(r->path, "?#") != NULL || (n > 1 && r->path[n - 1] == '/'))
		broken("path keeps a query, fragment or trailing slash",
		    r->path);
	if (r->sid != NULL) {
		if (k < 2 || strchr(r->sid, ';') != NULL)
			broken("sid without a cookie or with ';'", r->sid);
		if (!has_sid(f[1], r->sid))
			broken("sid not from a sid= cookie", r->sid);
	}
	if (r->client == NULL || r->method == NULL || r->query == NULL)
		broken("NULL client, method or query", NULL);
	if (trust && k > 3 && f[3][0] != '\0' &&
	    (strchr(r->client, ',') || r->client[0] == ' ' ||
		r->client[0] == '\t' ||
		(r->client[0] != '\0' &&
		    strchr(" \t", r->client[strlen(r->client) - 1]))))
		broken("proxied client not trimmed to the last item",
		    r->client);
}

static void
check_query(struct req *r, const char *name)
{
	static const char *const names[] = { "limit", "offset", "q", "" };
	const char		*v;
	long			 x;
	size_t			 i;

	for (i = 0; i <= sizeof(names) / sizeof(names[0]); i++) {
		if (i < sizeof(names) / sizeof(names[0]))
			name = names[i];
		v = req_qparam(r, name);
		if (v != NULL && strlen(v) > strlen(r->query))
			broken("decoded parameter longer than the query", v);
		if (req_qint(r, name, -5, 500, 7, &x) == PGS_OK &&
		    (x < -5 || x > 500))
			broken("req_qint out of range", name);
	}
}

static void
check_body(struct req *r, const char *body)
{
	char	     err[128];
	const char  *s;
	long	     v = 0;
	bool	     b, present, unknown = false;
	const cJSON *c;

	if (json_parse(body, strlen(body), &r->json, err, sizeof(err)) !=
	    PGS_OK)
		return;
	arena_defer(r->a, (void (*)(void *))cJSON_Delete, r->json);
	if (!cJSON_IsObject(r->json))
		return;
	cJSON_ArrayForEach(c, r->json) if (strcmp(c->string, "name") &&
	    strcmp(c->string, "sql") && strcmp(c->string, "enabled")) unknown =
	    true;
	req_unknown_fields(r, allowed);
	if (unknown && req_fields_rc(r) != PGS_INVALID)
		broken("unknown body member not reported", body);
	req_str(r, "name", 16, true, &s);
	if (s != NULL && strlen(s) > 16)
		broken("req_str longer than asked", s);
	req_int(r, "sql", 1, 99, false, &v, &present);
	if (present && (v < 1 || v > 99))
		broken("req_int out of range", body);
	req_bool(r, "enabled", &b, &present);
	(void)req_is_null(r, "name");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct app   app;
	struct arena a;
	struct req   r;
	FCGX_Request fr;
	char	    *f[NFIELDS], *envp[NPARAMS + 1], iso[ISOTIME_BUFSZ];
	size_t	     i;
	int	     k;

	if (size < 1 || size > 4096)
		return 0;
	memset(&app, 0, sizeof(app));
	memset(&fr, 0, sizeof(fr));
	app.conf.trust_proxy = data[0] & 1;
	arena_init(&a);
	k = split(&a, (const char *)data + 1, size - 1, f);
	for (i = 0; i < NPARAMS && (int)i < k; i++)
		envp[i] = arena_printf(&a, "%s=%s", params[i], f[i]);
	envp[i] = NULL;
	fr.envp = envp;
	req_init(&r, &app, &a, &fr);
	check_init(&r, f, k, app.conf.trust_proxy);
	check_query(&r, k > 8 ? f[8] : "x");
	if (k > 9 && isotime_from_pg(f[9], iso) == NULL)
		broken("isotime_from_pg returned NULL for text", f[9]);
	if (k > 10)
		check_body(&r, f[10]);
	json_errors_free(&r.errs);
	arena_free(&a);
	return 0;
}
