/*
 * conf.c: the settings table, the env file reader and the checks.
 *
 * Sources, first that has a non-empty value wins: the environment, the env
 * file, the default.  An empty value counts as "not set" everywhere, so
 * `FOO=` in a compose file falls back to the default.  Unknown names in the
 * env file are an error (a typo must not be silently ignored); unknown
 * names in the environment are none of our business.  When the file names
 * a variable twice, the last line wins, as in a shell.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "mail.h"
#include "ssrf.h"
#include "num.h"

#define ENV_FILE_MAX (1024 * 1024)
#define STR_MAX	     4096

enum conf_type {
	CT_STR,
	CT_INT,
	CT_LONG,
	CT_BOOL
};

/* Checks a string value; writes the reason (never the value) into why. */
typedef bool (*conf_check)(const char *v, char *why, size_t n);

struct conf_var {
	const char    *name;
	enum conf_type type;
	size_t	       off;
	const char    *def;	 /* NULL: no default */
	long	       min, max; /* numbers: range; strings: length */
	conf_check     check;	 /* extra check for strings, or NULL */
	bool	       secret;	 /* never echoed, masked in conf_print */
};

/* One value read from the env file. */
struct file_var {
	char *name;
	char *value;
	int   line;
};

struct env_file {
	const char	*path;
	struct file_var *vars;
	size_t		 n;
};

static bool check_roles(const char *, char *, size_t);
static bool check_pepper(const char *, char *, size_t);
static bool check_level(const char *, char *, size_t);
static bool check_appname(const char *, char *, size_t);
static bool check_origins(const char *, char *, size_t);
static bool check_list(const char *, char *, size_t);
static bool check_dsn(const char *, char *, size_t);
static bool check_allow_hosts(const char *, char *, size_t);
static bool check_smtp_url(const char *, char *, size_t);
static bool check_smtp_from(const char *, char *, size_t);
static bool check_readable(const char *, char *, size_t);
static bool check_public_url(const char *, char *, size_t);

#define S(n, f, d, lo, hi, chk, sec) \
	{ \
		n, CT_STR, offsetof(struct conf, f), d, lo, hi, chk, sec \
	}
#define I(n, f, d, lo, hi) \
	{ \
		n, CT_INT, offsetof(struct conf, f), d, lo, hi, NULL, false \
	}
#define L(n, f, d, lo, hi) \
	{ \
		n, CT_LONG, offsetof(struct conf, f), d, lo, hi, NULL, false \
	}
#define B(n, f, d) \
	{ \
		n, CT_BOOL, offsetof(struct conf, f), d, 0, 1, NULL, false \
	}

static const struct conf_var vars[] = {
	S("PG_DSN_APP", pg_dsn_app, NULL, 1, STR_MAX, check_dsn, true),
	S("PG_DSN_RUNNER", pg_dsn_runner, NULL, 1, STR_MAX, check_dsn, true),
	S("PUBLIC_KEY_B64_PATH", public_key_path, "./public_key.base64", 1,
	    PATH_MAX - 1, NULL, false),
	S("APP_PRIVATE_KEY_B64_PATH", private_key_path, NULL, 1, PATH_MAX - 1,
	    NULL, false),
	S("ARGON2_SECRET_KEY_B64", argon2_secret_b64, NULL, 1, 256,
	    check_pepper, true),
	I("DB_CONNECT_TIMEOUT_S", db_connect_timeout_s, "5", 1, 300),
	I("SESSION_TTL_HOURS", session_ttl_hours, "72", 1, 8760),
	I("SESSION_EXTEND_ON_USE_MIN", session_extend_min, "60", 0, 525600),
	S("ALLOWED_ROLES", allowed_roles, "viewer,editor,admin", 1, 64,
	    check_roles, false),
	B("TRUST_PROXY", trust_proxy, "1"),
	S("CORS_ALLOWED_ORIGINS", cors_allowed_origins, "*", 1, STR_MAX,
	    check_origins, false),
	B("RUNS_PUBLIC", runs_public, "1"),
	I("TOKEN_MAX_DAYS", token_max_days, "365", 1, 3650),
	L("MAX_BODY_BYTES", max_body_bytes, "1048576", 1024, 268435456),
	I("LOGIN_MAX_FAILS_PER_ACCOUNT", login_fails_account, "10", 1, 100000),
	I("LOGIN_MAX_FAILS_PER_CLIENT", login_fails_client, "50", 1, 1000000),
	I("LOGIN_THROTTLE_WINDOW_MIN", login_window_min, "15", 1, 1440),
	I("DEFAULT_QUERY_INTERVAL", default_query_interval, "21600", 60,
	    31622400),
	I("RUNNER_CONCURRENCY", runner_concurrency, "8", 1, 256),
	I("RUNNER_DEFAULT_TIMEOUT_MS", runner_timeout_ms, "300000", 100,
	    86400000),
	I("SOURCE_CONNECT_TIMEOUT_S", source_connect_timeout_s, "10", 1, 300),
	I("RUNNER_NET_TIMEOUT_S", runner_net_timeout_s, "30", 3, 3600),
	I("RESULT_MAX_ROWS", result_max_rows, "10000", 1, 100000000),
	/* jsonb values are limited to 255 MiB */
	L("RESULT_MAX_BYTES", result_max_bytes, "8388608", 1024, 267386880),
	/* per runner worker and dry-run; 0: no cap (exec_memory_limit) */
	L("RUNNER_MEMORY_MAX_MB", runner_memory_max_mb, "256", 0, 1048576),
	I("RUNS_KEEP_DAYS", runs_keep_days, "90", 0, 36500),
	I("NOTIFY_TIMEOUT_MS", notify_timeout_ms, "10000", 100, 120000),
	I("NOTIFY_CONCURRENCY", notify_concurrency, "16", 1, 256),
	I("NOTIFY_GIVE_UP_HOURS", notify_give_up_hours, "24", 1, 720),
	I("NOTIFY_ROTATE_OVERLAP_HOURS", notify_rotate_overlap_hours, "24", 0,
	    720),
	S("NOTIFY_ALLOW_HOSTS", notify_allow_hosts, NULL, 1, STR_MAX,
	    check_allow_hosts, false),
	S("SMTP_URL", smtp_url, NULL, 1, MAIL_URL_MAX, check_smtp_url, true),
	S("SMTP_FROM", smtp_from, NULL, 3, MAIL_ADDR_MAX, check_smtp_from,
	    false),
	B("SMTP_STARTTLS", smtp_starttls, "1"),
	S("SMTP_CA_FILE", smtp_ca_file, NULL, 1, PATH_MAX - 1, check_readable,
	    false),
	S("PUBLIC_URL", public_url, NULL, 1, 1024, check_public_url, false),
	S("APP_NAME", app_name, "pgsched-api", 1, 48, check_appname, false),
	S("LOG_DIR", log_dir, "./logs", 1, PATH_MAX - 64, NULL, false),
	I("RFC_ENTERPRISE_ID", rfc_enterprise_id, "32473", 1, INT_MAX),
	B("ROTATE_UTC", rotate_utc, "1"),
	I("GZIP_AFTER_DAYS", gzip_after_days, "7", 1, 36500),
	I("KEEP_DAYS", keep_days, "200", 1, 36500),
	I("MAX_LOG_BYTES", max_log_bytes, "4096", 64, 32768),
	S("REDACT_KEYS", redact_keys,
	    "password,new_password,current_password,token,authorization,secret",
	    1, STR_MAX, check_list, false),
	S("LOG_LEVEL", log_level, "info", 1, 16, check_level, false),
	B("ALLOW_CORE_DUMPS", allow_core_dumps, "0"),
};

#define NVARS (sizeof(vars) / sizeof(vars[0]))

static const struct conf_var *
var_find(const char *name)
{
	size_t i;

	for (i = 0; i < NVARS; i++)
		if (strcmp(vars[i].name, name) == 0)
			return &vars[i];
	return NULL;
}

/* Calls fn(elem, len, arg) for each comma-separated element, spaces
 * trimmed; stops and returns false as soon as fn does. */
static bool
list_each(const char *list, bool (*fn)(const char *, size_t, void *), void *arg)
{
	const char *p = list, *e, *q;

	for (;;) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		q = e;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (!fn(p, (size_t)(q - p), arg))
			return false;
		if (*e == '\0')
			return true;
		p = e + 1;
	}
}

static bool
elem_is(const char *p, size_t n, void *arg)
{
	const char *name = arg;

	/* false stops the walk: found */
	return !(strlen(name) == n && memcmp(p, name, n) == 0);
}

bool
conf_list_has(const char *list, const char *name)
{
	if (list == NULL || name == NULL)
		return false;
	return !list_each(list, elem_is, (void *)name);
}

static bool
elem_nonempty(const char *p, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return n > 0;
}

static bool
check_list(const char *v, char *why, size_t n)
{
	if (list_each(v, elem_nonempty, NULL))
		return true;
	snprintf(why, n, "has an empty element in its comma list");
	return false;
}

static bool
elem_role(const char *p, size_t n, void *arg)
{
	(void)arg;
	return (n == 6 && memcmp(p, "viewer", 6) == 0) ||
	    (n == 6 && memcmp(p, "editor", 6) == 0) ||
	    (n == 5 && memcmp(p, "admin", 5) == 0);
}

static bool
check_roles(const char *v, char *why, size_t n)
{
	if (list_each(v, elem_role, NULL))
		return true;
	snprintf(why, n, "must be a comma list of viewer, editor, admin");
	return false;
}

static bool
check_level(const char *v, char *why, size_t n)
{
	if (strcmp(v, "error") == 0 || strcmp(v, "warn") == 0 ||
	    strcmp(v, "info") == 0 || strcmp(v, "debug") == 0)
		return true;
	snprintf(why, n, "must be one of error, warn, info, debug");
	return false;
}

static bool
check_appname(const char *v, char *why, size_t n)
{
	const char *p;

	/* RFC 5424 APP-NAME: 1*48 PRINTUSASCII */
	for (p = v; *p != '\0'; p++)
		if (*p < 33 || *p > 126) {
			snprintf(why, n,
			    "must be printable ASCII without "
			    "spaces (RFC 5424 APP-NAME)");
			return false;
		}
	return true;
}

static bool
elem_origin(const char *p, size_t n, void *arg)
{
	size_t i, s;

	*(size_t *)arg += 1;
	if (n == 1 && *p == '*')
		return true;
	if (n > 7 && memcmp(p, "http://", 7) == 0)
		s = 7;
	else if (n > 8 && memcmp(p, "https://", 8) == 0)
		s = 8;
	else
		return false;
	/* An Origin header is scheme://host[:port], no path, no slash. */
	for (i = s; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '.' &&
		    p[i] != '-' && p[i] != ':' && p[i] != '[' && p[i] != ']')
			return false;
	return true;
}

static bool
check_origins(const char *v, char *why, size_t n)
{
	size_t count = 0;

	if (list_each(v, elem_origin, &count) &&
	    (strcmp(v, "*") == 0 || strchr(v, '*') == NULL))
		return true;
	snprintf(why, n,
	    "must be * or a comma list of origins like "
	    "https://dash.example.com (scheme://host[:port], no path)");
	return false;
}

/* Returns the value of a base64 character, or -1. */
static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard padded base64 into out (cap bytes); returns the decoded
 * length, or -1 when the text is not canonical base64 or does not fit.
 */
static long
b64_decode(const char *s, unsigned char *out, size_t cap)
{
	size_t	      len = strlen(s), i, j, o = 0, pad = 0;
	int	      v[4];
	unsigned long w;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		for (j = 0; j < 4; j++) {
			v[j] = b64_val(s[i + j]);
			if (v[j] < 0 && !(i + 4 == len && j >= 4 - pad))
				return -1;
			if (v[j] < 0)
				v[j] = 0;
		}
		w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
		    (unsigned long)v[2] << 6 | (unsigned long)v[3];
		for (j = 0; j < 3 - (i + 4 == len ? pad : 0); j++) {
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(w >> (16 - 8 * j));
		}
		/* Bits under the padding must be zero (canonical form). */
		if (i + 4 == len && pad > 0 &&
		    (w & (pad == 1 ? 0xff : 0xffff)) != 0)
			return -1;
	}
	return (long)o;
}

/* The metadata DSN must be one libpq reads as written (db.h). */
static bool
check_dsn(const char *v, char *why, size_t n)
{
	return db_check_dsn(v, why, n) == PGS_OK;
}

static bool
check_allow_hosts(const char *v, char *why, size_t n)
{
	struct ssrf_allow *a;

	if (ssrf_allow_parse(v, &a, why, n) != PGS_OK)
		return false;
	ssrf_allow_free(a);
	return true;
}

static bool
check_smtp_url(const char *v, char *why, size_t n)
{
	return mail_url_check(v, why, n);
}

static bool
check_smtp_from(const char *v, char *why, size_t n)
{
	if (mail_addr_valid(v))
		return true;
	snprintf(why, n, "must be a plain address like pgsched@example.com");
	return false;
}

/* An http(s) base URL, printable ASCII, without credentials, query or
 * fragment: notifications append /api/... to it. */
static bool
check_public_url(const char *v, char *why, size_t n)
{
	const char *host;
	size_t	    i;

	for (i = 0; v[i] != '\0'; i++)
		if (v[i] <= ' ' || v[i] > '~' || strchr("?#@\"\\<>", v[i]))
			break;
	host = strncmp(v, "https://", 8) == 0 ? v + 8 :
	    strncmp(v, "http://", 7) == 0     ? v + 7 :
						NULL;
	if (v[i] == '\0' && host != NULL && *host != '\0' && *host != '/')
		return true;
	snprintf(why, n,
	    "must be an http:// or https:// URL such as "
	    "https://pgsched.example.com, without credentials, query or "
	    "fragment");
	return false;
}

static bool
check_readable(const char *v, char *why, size_t n)
{
	if (access(v, R_OK) == 0)
		return true;
	snprintf(why, n, "cannot be read: %s", strerror(errno));
	return false;
}

static bool
check_pepper(const char *v, char *why, size_t n)
{
	unsigned char raw[96];
	long	      len;

	len = b64_decode(v, raw, sizeof(raw));
	memset(raw, 0, sizeof(raw));
	if (len < 0) {
		snprintf(why, n, "is not valid standard base64");
		return false;
	}
	if (len < 32 || len > 64) {
		snprintf(why, n, "must decode to 32-64 bytes, not %ld", len);
		return false;
	}
	return true;
}

enum pgs_rc
conf_pepper(const struct conf *c, unsigned char *out, size_t cap, size_t *len)
{
	long n;

	*len = 0;
	if (c->argon2_secret_b64 == NULL)
		return PGS_NOTFOUND;
	n = b64_decode(c->argon2_secret_b64, out, cap);
	if (n < 32 || n > 64)
		return PGS_INVALID;
	*len = (size_t)n;
	return PGS_OK;
}

static void
env_file_free(struct env_file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->vars[i].name);
		free(f->vars[i].value);
	}
	free(f->vars);
	f->vars = NULL;
	f->n = 0;
}

/* Parses a quoted value starting at *p (on the quote) into b; returns
 * false when the closing quote is missing. */
static bool
parse_quoted(const char **pp, struct buf *b)
{
	const char *p = *pp;
	char	    q = *p++;

	for (; *p != '\0' && *p != q; p++) {
		if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		buf_putc(b, *p);
	}
	if (*p != q)
		return false;
	*pp = p + 1;
	return true;
}

/* Parses the value after '=' into b; returns a static reason or NULL. */
static const char *
parse_value(const char *p, struct buf *b)
{
	const char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"' || *p == '\'') {
		if (!parse_quoted(&p, b))
			return "unterminated quoted value";
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != '#')
			return "text after the closing quote";
		return NULL;
	}
	/* Unquoted: a '#' after a blank starts a comment. */
	for (e = p; *e != '\0'; e++)
		if (*e == '#' && e > p && (e[-1] == ' ' || e[-1] == '\t'))
			break;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	buf_append(b, p, (size_t)(e - p));
	return NULL;
}

/* Parses one line (NUL-terminated, no newline) into f. */
static enum pgs_rc
parse_line(struct env_file *f, char *line, int lineno, char *err, size_t errlen)
{
	struct buf  b = BUF_INIT;
	const char *why, *p = line;
	size_t	    klen;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return PGS_OK;
	if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
		for (p += 6; *p == ' ' || *p == '\t'; p++)
			;
	for (klen = 0; isalnum((unsigned char)p[klen]) || p[klen] == '_';
	     klen++)
		;
	if (klen == 0 || isdigit((unsigned char)p[0])) {
		snprintf(err, errlen, "%s:%d: expected KEY=VALUE", f->path,
		    lineno);
		return PGS_INVALID;
	}
	line = (char *)p;
	for (p += klen; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '=') {
		snprintf(err, errlen, "%s:%d: expected KEY=VALUE", f->path,
		    lineno);
		return PGS_INVALID;
	}
	line[klen] = '\0';
	if (var_find(line) == NULL) {
		snprintf(err, errlen, "%s:%d: unknown variable %.64s", f->path,
		    lineno, line);
		return PGS_INVALID;
	}
	why = parse_value(p + 1, &b);
	if (why != NULL) {
		snprintf(err, errlen, "%s:%d: %s: %s", f->path, lineno, line,
		    why);
		buf_free(&b);
		return PGS_INVALID;
	}
	f->vars = xrealloc(f->vars, (f->n + 1) * sizeof(*f->vars));
	f->vars[f->n].name = xstrdup(line);
	f->vars[f->n].value = buf_steal(&b);
	f->vars[f->n].line = lineno;
	f->n++;
	return PGS_OK;
}

static enum pgs_rc
read_env_file(struct env_file *f, char *err, size_t errlen)
{
	FILE	   *fp;
	char	   *text, *line, *nl;
	size_t	    n;
	int	    lineno = 0;
	enum pgs_rc rc = PGS_OK;

	fp = fopen(f->path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read env file: %s", f->path,
		    strerror(errno));
		return PGS_INVALID;
	}
	text = xmalloc(ENV_FILE_MAX + 1);
	n = fread(text, 1, ENV_FILE_MAX + 1, fp);
	fclose(fp);
	text[n > ENV_FILE_MAX ? ENV_FILE_MAX : n] = '\0';
	if (n > ENV_FILE_MAX || strlen(text) != n) {
		snprintf(err, errlen,
		    "%s: not a text env file (too large "
		    "or has NUL bytes)",
		    f->path);
		free(text);
		return PGS_INVALID;
	}
	for (line = text; rc == PGS_OK && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		else
			nl = line + strlen(line);
		lineno++;
		if (nl - line >= 2 && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		rc = parse_line(f, line, lineno, err, errlen);
	}
	free(text);
	return rc;
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Checks a string value; returns false with the reason in why. */
static bool
check_str(const struct conf_var *v, const char *s, char *why, size_t n)
{
	size_t	    len = strlen(s);
	const char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(why, n, "must not contain control characters");
			return false;
		}
	if (len < (size_t)v->min || len > (size_t)v->max) {
		snprintf(why, n, "must be %ld-%ld bytes long", v->min, v->max);
		return false;
	}
	return v->check == NULL || v->check(s, why, n);
}

/* Stores s into the field of v; returns false with the reason in why. */
static bool
set_value(struct conf *c, const struct conf_var *v, const char *s, char *why,
    size_t n)
{
	char *field = (char *)c + v->off;
	long  l;
	bool  b;

	switch (v->type) {
	case CT_STR:
		if (!check_str(v, s, why, n))
			return false;
		*(char **)(void *)field = xstrdup(s);
		return true;
	case CT_INT:
	case CT_LONG:
		if (!num_parse(s, v->min, v->max, &l)) {
			snprintf(why, n, "must be an integer in %ld..%ld",
			    v->min, v->max);
			return false;
		}
		if (v->type == CT_INT)
			*(int *)(void *)field = (int)l;
		else
			*(long *)(void *)field = l;
		return true;
	case CT_BOOL:
		if (!parse_bool(s, &b)) {
			snprintf(why, n,
			    "must be 1/0, true/false, yes/no or "
			    "on/off");
			return false;
		}
		*(bool *)(void *)field = b;
		return true;
	}
	return false;
}

/* Finds the value of v: environment, then file (last line), then default. */
static const char *
lookup(const struct conf_var *v, const struct env_file *f,
    const struct file_var **from)
{
	const char *s;
	size_t	    i;

	*from = NULL;
	s = getenv(v->name);
	if (s != NULL && *s != '\0')
		return s;
	for (i = f->n; i > 0; i--)
		if (strcmp(f->vars[i - 1].name, v->name) == 0 &&
		    f->vars[i - 1].value[0] != '\0') {
			*from = &f->vars[i - 1];
			return (*from)->value;
		}
	return v->def;
}

/* Writes the one-line error for v into err; a secret is never echoed. */
static void
value_error(const struct conf_var *v, const char *s, const char *why,
    const struct env_file *f, const struct file_var *from, char *err,
    size_t errlen)
{
	char   got[80] = "", at[PATH_MAX + 32] = "";
	size_t i;

	if (from != NULL)
		snprintf(at, sizeof(at), " at %s:%d", f->path, from->line);
	if (v->secret) {
		snprintf(err, errlen, "%s %s%s", v->name, why, at);
		return;
	}
	for (i = 0; s[i] != '\0' && i < 64; i++)
		got[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	got[i] = '\0';
	snprintf(err, errlen, "%s %s (got \"%s%s\")%s", v->name, why, got,
	    s[i] != '\0' ? "..." : "", at);
}

/* Picks the env file: argument, $PGSCHED_ENV_FILE, ./.env if present. */
static const char *
env_file_path(const char *env_file)
{
	const char *p;

	if (env_file != NULL)
		return env_file;
	p = getenv("PGSCHED_ENV_FILE");
	if (p != NULL && *p != '\0')
		return p;
	if (access(".env", F_OK) == 0)
		return ".env";
	return NULL;
}

enum pgs_rc
conf_load(struct conf *c, const char *env_file, char *err, size_t errlen)
{
	struct env_file	       f = { NULL, NULL, 0 };
	const struct file_var *from;
	const char	      *s;
	char		       why[256];
	size_t		       i;
	enum pgs_rc	       rc = PGS_OK;

	memset(c, 0, sizeof(*c));
	f.path = env_file_path(env_file);
	if (f.path != NULL) {
		rc = read_env_file(&f, err, errlen);
		if (rc != PGS_OK)
			goto out;
	}
	for (i = 0; i < NVARS; i++) {
		s = lookup(&vars[i], &f, &from);
		if (s == NULL)
			continue;
		if (!set_value(c, &vars[i], s, why, sizeof(why))) {
			value_error(&vars[i], s, why, &f, from, err, errlen);
			rc = PGS_INVALID;
			goto out;
		}
	}
out:
	env_file_free(&f);
	if (rc != PGS_OK)
		conf_free(c);
	return rc;
}

void
conf_free(struct conf *c)
{
	char **p;
	size_t i;

	for (i = 0; i < NVARS; i++) {
		if (vars[i].type != CT_STR)
			continue;
		p = (char **)(void *)((char *)c + vars[i].off);
		if (*p != NULL && vars[i].secret)
			explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
	memset(c, 0, sizeof(*c));
}

enum pgs_rc
conf_require(const struct conf *c, const char *name, char *err, size_t errlen)
{
	const struct conf_var *v = var_find(name);
	const char	      *s;

	if (v == NULL) {
		snprintf(err, errlen, "%s is not a pg-sched setting", name);
		return PGS_INVALID;
	}
	if (v->type != CT_STR)
		return PGS_OK; /* numbers and booleans always have one */
	s = *(char *const *)(const void *)((const char *)c + v->off);
	if (s != NULL && *s != '\0')
		return PGS_OK;
	snprintf(err, errlen,
	    "%s is not set (set it in the environment or "
	    "the env file)",
	    name);
	return PGS_INVALID;
}

void
conf_print(const struct conf *c, void *fp)
{
	const char *field;
	const char *s;
	char	   *masked;
	size_t	    i;

	for (i = 0; i < NVARS; i++) {
		field = (const char *)c + vars[i].off;
		switch (vars[i].type) {
		case CT_STR:
			s = *(char *const *)(const void *)field;
			if (s == NULL)
				fprintf(fp, "%s=\n", vars[i].name);
			else if (strncmp(vars[i].name, "PG_DSN_", 7) == 0) {
				masked = conf_mask_dsn(s);
				fprintf(fp, "%s=%s\n", vars[i].name, masked);
				free(masked);
			} else if (strcmp(vars[i].name, "SMTP_URL") == 0) {
				masked = conf_mask_url(s);
				fprintf(fp, "%s=%s\n", vars[i].name, masked);
				free(masked);
			} else if (vars[i].secret)
				fprintf(fp, "%s=***\n", vars[i].name);
			else
				fprintf(fp, "%s=%s\n", vars[i].name, s);
			break;
		case CT_INT:
			fprintf(fp, "%s=%d\n", vars[i].name,
			    *(const int *)(const void *)field);
			break;
		case CT_LONG:
			fprintf(fp, "%s=%ld\n", vars[i].name,
			    *(const long *)(const void *)field);
			break;
		case CT_BOOL:
			fprintf(fp, "%s=%d\n", vars[i].name,
			    *(const bool *)(const void *)field ? 1 : 0);
			break;
		}
	}
}
