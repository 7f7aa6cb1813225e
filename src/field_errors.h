/*
 * field_errors.h: the field errors a rule set (query_rules, notify_rules,
 * access rules) returns to the door that asked: one message per field,
 * named after the API's member, in the order found.  The API prints them
 * as the "fields" of a 422, the CLI as one line naming its option.
 */
#ifndef PGS_FIELD_ERRORS_H
#define PGS_FIELD_ERRORS_H

#include "arena.h"
#include "rc.h"

/* More than any rule set has fields. */
#define FIELD_ERRORS_MAX 32

struct field_error {
	const char *field;   /* static: the member it is about */
	const char *message; /* owned by the errors' arena */
};

struct field_errors {
	struct arena	  *a;
	struct field_error items[FIELD_ERRORS_MAX];
	int		   n;
};

/* Empties e; its messages will be allocated from a. */
void field_errors_init(struct field_errors *e, struct arena *a);
/* Returns the message of e for field, or NULL when it has none. */
const char *field_errors_get(const struct field_errors *e, const char *field);
/* Records a message for field unless it has one (or e is full). */
void field_errors_add(struct field_errors *e, const char *field,
    const char *fmt, ...) PGS_PRINTF(3, 4);

#endif
