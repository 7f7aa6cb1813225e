/*
 * alert.c: evaluating a query's alert on a run's result (see alert.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert.h"

#define DOC_HEAD "{\"data\":["

/* true with *out set when s is a whole finite number (blanks around). */
static bool
alert_number(const char *s, double *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	while (*end == ' ')
		end++;
	return end != s && *end == '\0' && errno == 0 && isfinite(*out);
}

/* Applies op to the comparison c (<0, 0, >0); false for an unknown op. */
static bool
alert_apply(const char *op, int c, bool *holds)
{
	if (strcmp(op, ">") == 0)
		*holds = c > 0;
	else if (strcmp(op, ">=") == 0)
		*holds = c >= 0;
	else if (strcmp(op, "<") == 0)
		*holds = c < 0;
	else if (strcmp(op, "<=") == 0)
		*holds = c <= 0;
	else if (strcmp(op, "=") == 0)
		*holds = c == 0;
	else if (strcmp(op, "!=") == 0)
		*holds = c != 0;
	else
		return false;
	return true;
}

/*
 * Returns the first row of doc as a new cJSON object (the caller's), or
 * NULL: *empty tells a result without rows from a document that does not
 * start as result.h writes it.
 */
static cJSON *
alert_first_row(const char *doc, size_t len, bool *empty)
{
	const char *end = NULL;
	size_t	    head = sizeof(DOC_HEAD) - 1;
	cJSON	   *row;

	*empty = false;
	if (doc == NULL || len <= head || memcmp(doc, DOC_HEAD, head) != 0)
		return NULL;
	if (doc[head] == ']') {
		*empty = true;
		return NULL;
	}
	row = cJSON_ParseWithLengthOpts(doc + head, len - head, &end, false);
	if (row != NULL && !cJSON_IsObject(row)) {
		cJSON_Delete(row);
		row = NULL;
	}
	return row;
}

/* Compares the cell with d's value; see alert_eval. */
static enum pgs_rc
alert_cell(const struct alert_def *d, const cJSON *cell, bool *holds, char *err)
{
	double	    have, want;
	char	   *text = NULL;
	const char *s;
	int	    c;

	if (cell == NULL || cJSON_IsNull(cell)) {
		*holds = false;
		return PGS_OK;
	}
	if (d->value_is_number) {
		if (cJSON_IsNumber(cell))
			have = cell->valuedouble;
		else if (!cJSON_IsString(cell) ||
		    !alert_number(cell->valuestring, &have)) {
			snprintf(err, ALERT_ERROR_SIZE,
			    "column \"%.128s\" of the first row is not a "
			    "number",
			    d->column);
			return PGS_INVALID;
		}
		if (!alert_number(d->value, &want))
			goto bad;
		c = have < want ? -1 : have > want ? 1 : 0;
	} else {
		if (cJSON_IsString(cell))
			s = cell->valuestring;
		else if (cJSON_IsBool(cell))
			s = cJSON_IsTrue(cell) ? "true" : "false";
		else
			s = text = cJSON_PrintUnformatted(cell);
		c = strcmp(s != NULL ? s : "", d->value);
		cJSON_free(text);
	}
	if (alert_apply(d->op, c, holds))
		return PGS_OK;
bad:
	snprintf(err, ALERT_ERROR_SIZE, "the alert's definition is invalid");
	return PGS_INVALID;
}

enum pgs_rc
alert_eval(const struct alert_def *d, long rows, const char *doc, size_t len,
    bool *holds, char *err)
{
	double	    want;
	cJSON	   *row;
	bool	    empty;
	enum pgs_rc rc;

	*holds = false;
	if (strcmp(d->kind, "rows") == 0) {
		if (alert_number(d->value, &want) &&
		    alert_apply(d->op,
			(double)rows < want	? -1 :
			    (double)rows > want ? 1 :
						  0,
			holds))
			return PGS_OK;
		snprintf(err, ALERT_ERROR_SIZE,
		    "the alert's definition is invalid");
		return PGS_INVALID;
	}
	row = alert_first_row(doc, len, &empty);
	if (row == NULL) {
		snprintf(err, ALERT_ERROR_SIZE, "%s",
		    empty ? "the result has no rows" :
			    "the result cannot be read");
		return PGS_INVALID;
	}
	if (d->column == NULL ||
	    cJSON_GetObjectItemCaseSensitive(row, d->column) == NULL) {
		snprintf(err, ALERT_ERROR_SIZE,
		    "the result has no column \"%.128s\"",
		    d->column != NULL ? d->column : "");
		rc = PGS_INVALID;
	} else
		rc = alert_cell(d,
		    cJSON_GetObjectItemCaseSensitive(row, d->column), holds,
		    err);
	cJSON_Delete(row);
	return rc;
}
