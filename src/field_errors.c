/*
 * field_errors.c: the field errors of a rule set (field_errors.h).
 */
#include <stdarg.h>
#include <string.h>

#include "field_errors.h"

void
field_errors_init(struct field_errors *e, struct arena *a)
{
	memset(e, 0, sizeof(*e));
	e->a = a;
}

const char *
field_errors_get(const struct field_errors *e, const char *field)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->items[i].field, field) == 0)
			return e->items[i].message;
	return NULL;
}

void
field_errors_add(struct field_errors *e, const char *field, const char *fmt,
    ...)
{
	va_list ap;

	if (e->n == FIELD_ERRORS_MAX || field_errors_get(e, field) != NULL)
		return;
	va_start(ap, fmt);
	e->items[e->n].message = arena_vprintf(e->a, fmt, ap);
	va_end(ap);
	e->items[e->n++].field = field;
}
