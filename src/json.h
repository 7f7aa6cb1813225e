/*
 * json.h: cJSON helpers.  Request fields are read only through the typed
 * getters below, which check type, range, length and UTF-8; error bodies
 * have the one shape of CONTRACT section 5.
 */
#ifndef PGS_JSON_H
#define PGS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "rc.h"

/* Largest integer json_int accepts: 2^53 - 1, since 2^53 may be the
 * rounding of 2^53 + 1 and a double cannot tell them apart. */
#define JSON_INT_MAX 9007199254740991L

/* Collects per-field validation messages for a 422 body. */
struct json_errors {
	cJSON *fields; /* {"field": "message"}, NULL while empty */
	int    count;
};

/* Makes cJSON allocate with xmalloc/free (out of memory aborts).  Call
 * once at start, before any other cJSON use. */
void json_init(void);
/*
 * Parses the len bytes at body (no NUL terminator needed).  The text must
 * be one JSON value, strict UTF-8, with no \u0000 escape and no duplicate
 * key in any object.  On success *root is a tree the caller owns
 * (cJSON_Delete, or arena_defer).  On failure returns PGS_INVALID with
 * "invalid JSON at byte N" (or a more precise reason) in err.  The root
 * may be any value: callers that need an object check cJSON_IsObject.
 */
enum pgs_rc json_parse(const char *body, size_t len, cJSON **root, char *err,
    size_t errlen) PGS_MUSTCHECK;
/*
 * Reads the string member `name` of obj into *out (a pointer into the
 * tree, owned by it).  Returns PGS_NOTFOUND when absent or null,
 * PGS_INVALID when not a string, longer than maxlen bytes, or not valid
 * UTF-8.  Member names are case-sensitive.
 */
enum pgs_rc json_str(const cJSON *obj, const char *name, size_t maxlen,
    const char **out) PGS_MUSTCHECK;
/* Reads an integral number within min..max into *out.  Returns
 * PGS_NOTFOUND (absent or null) or PGS_INVALID (not a number, not
 * integral, out of range). */
enum pgs_rc json_int(const cJSON *obj, const char *name, long min, long max,
    long *out) PGS_MUSTCHECK;
/* Reads true/false into *out; PGS_NOTFOUND (absent or null) or
 * PGS_INVALID (any other type). */
enum pgs_rc
json_bool(const cJSON *obj, const char *name, bool *out) PGS_MUSTCHECK;
/*
 * Returns PGS_INVALID and points *first_unknown at the first member name
 * of obj (owned by the tree) not in allowed[] (NULL-terminated); PGS_OK
 * when every member is allowed.  obj must be an object.
 */
enum pgs_rc json_unknown_keys(const cJSON *obj, const char *const allowed[],
    const char **first_unknown) PGS_MUSTCHECK;

/* Empties the collector. */
void json_errors_init(struct json_errors *e);
/* Records a message for field (the first message per field is kept). */
void json_errors_add(struct json_errors *e, const char *field, const char *fmt,
    ...) PGS_PRINTF(3, 4);
/* Hands the fields object to the caller (NULL when empty) and empties
 * the collector. */
cJSON *json_errors_take(struct json_errors *e);
/* Releases what the collector still holds. */
void json_errors_free(struct json_errors *e);
/* Adds name: s to o, or name: null when s is NULL. */
void json_add_str(cJSON *o, const char *name, const char *s);
/* Adds name: v to o, or name: null when v equals none (the "unset"
 * value of that field). */
void json_add_num(cJSON *o, const char *name, long v, long none);
/*
 * Returns a new object {"ok":false,"error":code,"message":message} plus
 * "fields" when fields is not NULL.  The caller owns the result; the
 * result takes ownership of fields.
 */
cJSON *json_error_body(const char *code, const char *message, cJSON *fields);

#endif
