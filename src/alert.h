/*
 * alert.h: a query's alert (CONTRACT section 8) evaluated on a successful
 * run.  `rows` compares the run's row count with a number; `value`
 * compares the named column of the result's first row with a number or a
 * string.  Operators: > >= < <= = !=.  Numbers compare as numbers (a
 * cell holding a number as a string, as big numbers are stored, counts
 * as a number); strings compare byte by byte.  A null cell never holds.
 * The state machine (ok, firing) and its events are outbox.c's.
 */
#ifndef PGS_ALERT_H
#define PGS_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

#define ALERT_ERROR_SIZE 256 /* bytes of an evaluation error */

/* An alert as stored in query_alert (strings are the caller's). */
struct alert_def {
	const char *kind;   /* "rows" | "value" */
	const char *column; /* value: the column of the first row */
	const char *op;	    /* > >= < <= = != */
	const char *value;  /* the number or string compared with */
	bool	    value_is_number;
};

/*
 * Evaluates d on a successful run that returned rows rows, whose stored
 * document (orient='table', as result.h writes it: "{\"data\":[" first)
 * is doc (len bytes; only its first row is read).  *holds is set when the
 * condition holds.  Returns PGS_OK, or PGS_INVALID with a sentence in err
 * (ALERT_ERROR_SIZE bytes, the caller's) when it cannot be evaluated: no
 * first row, no such column, a cell that is not a number for a number,
 * a malformed definition.
 */
enum pgs_rc alert_eval(const struct alert_def *d, long rows, const char *doc,
    size_t len, bool *holds, char *err) PGS_MUSTCHECK;

#endif
