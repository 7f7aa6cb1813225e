/*
 * json.c: strict parsing on top of cJSON, typed getters, error bodies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "utf8.h"

void
json_init(void)
{
	cJSON_Hooks hooks = { xmalloc, free };

	cJSON_InitHooks(&hooks);
}

/*
 * cJSON accepts raw control characters and invalid UTF-8 inside strings
 * and turns \u0000 into a silent truncation; RFC 8259 forbids the first
 * two and we never want the third.  The text already parsed, so a simple
 * in-string/out-of-string scan is enough.
 */
static enum pgs_rc
scan_strings(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	size_t i = 0, k;
	bool   in_str = false;

	while (i < len) {
		if (p[i] >= 0x80) {
			k = utf8_seq_len((const char *)p + i, len - i);
			if (k == 0) {
				snprintf(err, errlen,
				    "invalid UTF-8 at byte %zu", i);
				return PGS_INVALID;
			}
			i += k;
			continue;
		}
		if (!in_str) {
			in_str = p[i] == '"';
		} else if (p[i] == '"') {
			in_str = false;
		} else if (p[i] < 0x20) {
			snprintf(err, errlen,
			    "control character in string "
			    "at byte %zu",
			    i);
			return PGS_INVALID;
		} else if (p[i] == '\\') {
			if (i + 5 < len && p[i + 1] == 'u' &&
			    memcmp(p + i + 2, "0000", 4) == 0) {
				snprintf(err, errlen,
				    "\\u0000 in string at "
				    "byte %zu",
				    i);
				return PGS_INVALID;
			}
			i++; /* the escaped character is never special */
		}
		i++;
	}
	return PGS_OK;
}

static int
cmp_names(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* Returns the first duplicated member name found in the tree, or NULL. */
static const char *
find_duplicate(const cJSON *v)
{
	const cJSON *c;
	const char **names, *dup = NULL;
	size_t	     n = 0, i;

	for (c = v->child; c != NULL && dup == NULL; c = c->next)
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			dup = find_duplicate(c);
	if (dup != NULL || !cJSON_IsObject(v) || v->child == NULL)
		return dup;
	for (c = v->child; c != NULL; c = c->next)
		n++;
	names = xmalloc(n * sizeof(*names));
	for (i = 0, c = v->child; c != NULL; c = c->next)
		names[i++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 1; i < n && dup == NULL; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			dup = names[i];
	free(names);
	return dup;
}

enum pgs_rc
json_parse(const char *body, size_t len, cJSON **root, char *err, size_t errlen)
{
	const char *end = NULL, *dup;
	cJSON	   *v;
	enum pgs_rc rc;

	*root = NULL;
	v = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (v == NULL) {
		snprintf(err, errlen, "invalid JSON at byte %zu",
		    end != NULL ? (size_t)(end - body) : (size_t)0);
		return PGS_INVALID;
	}
	while (end < body + len &&
	    (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != body + len) {
		snprintf(err, errlen,
		    "invalid JSON at byte %zu (data after "
		    "the value)",
		    (size_t)(end - body));
		cJSON_Delete(v);
		return PGS_INVALID;
	}
	rc = scan_strings((const unsigned char *)body, len, err, errlen);
	if (rc != PGS_OK) {
		cJSON_Delete(v);
		return rc;
	}
	dup = find_duplicate(v);
	if (dup != NULL) {
		snprintf(err, errlen, "invalid JSON: duplicate key \"%.64s\"",
		    dup);
		cJSON_Delete(v);
		return PGS_INVALID;
	}
	*root = v;
	return PGS_OK;
}

/* Returns the member, or NULL when absent or null. */
static const cJSON *
member(const cJSON *obj, const char *name)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	return v;
}

enum pgs_rc
json_str(const cJSON *obj, const char *name, size_t maxlen, const char **out)
{
	const cJSON *v = member(obj, name);
	size_t	     n;

	*out = NULL;
	if (v == NULL)
		return PGS_NOTFOUND;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return PGS_INVALID;
	n = strlen(v->valuestring);
	if (n > maxlen || !utf8_valid(v->valuestring, n))
		return PGS_INVALID;
	*out = v->valuestring;
	return PGS_OK;
}

enum pgs_rc
json_int(const cJSON *obj, const char *name, long min, long max, long *out)
{
	const cJSON *v = member(obj, name);
	double	     d;
	long	     l;

	if (v == NULL)
		return PGS_NOTFOUND;
	if (!cJSON_IsNumber(v))
		return PGS_INVALID;
	d = v->valuedouble;
	/* NaN fails both comparisons; infinities fail one. */
	if (!(d >= -(double)JSON_INT_MAX && d <= (double)JSON_INT_MAX))
		return PGS_INVALID;
	l = (long)d;
	if ((double)l != d || l < min || l > max)
		return PGS_INVALID;
	*out = l;
	return PGS_OK;
}

enum pgs_rc
json_bool(const cJSON *obj, const char *name, bool *out)
{
	const cJSON *v = member(obj, name);

	if (v == NULL)
		return PGS_NOTFOUND;
	if (!cJSON_IsBool(v))
		return PGS_INVALID;
	*out = cJSON_IsTrue(v);
	return PGS_OK;
}

enum pgs_rc
json_unknown_keys(const cJSON *obj, const char *const allowed[],
    const char **first_unknown)
{
	const cJSON *c;
	size_t	     i;

	*first_unknown = NULL;
	if (!cJSON_IsObject(obj))
		return PGS_INVALID;
	for (c = obj->child; c != NULL; c = c->next) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], c->string) == 0)
				break;
		if (allowed[i] == NULL) {
			*first_unknown = c->string;
			return PGS_INVALID;
		}
	}
	return PGS_OK;
}

void
json_errors_init(struct json_errors *e)
{
	e->fields = NULL;
	e->count = 0;
}

void
json_errors_add(struct json_errors *e, const char *field, const char *fmt, ...)
{
	char	msg[512];
	va_list ap;

	if (e->fields == NULL)
		e->fields = cJSON_CreateObject();
	if (cJSON_GetObjectItemCaseSensitive(e->fields, field) != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(e->fields, field, msg);
	e->count++;
}

cJSON *
json_errors_take(struct json_errors *e)
{
	cJSON *f = e->fields;

	json_errors_init(e);
	return f;
}

void
json_errors_free(struct json_errors *e)
{
	cJSON_Delete(e->fields);
	json_errors_init(e);
}

cJSON *
json_error_body(const char *code, const char *message, cJSON *fields)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "message", message);
	if (fields != NULL)
		cJSON_AddItemToObject(o, "fields", fields);
	return o;
}

void
json_add_str(cJSON *o, const char *name, const char *s)
{
	if (s != NULL)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

void
json_add_num(cJSON *o, const char *name, long v, long none)
{
	if (v != none)
		cJSON_AddNumberToObject(o, name, (double)v);
	else
		cJSON_AddNullToObject(o, name);
}
