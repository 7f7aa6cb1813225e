/*
 * sqlguard.h: the save-time SELECT-only check (CONTRACT §4).  A statement
 * is parsed with PostgreSQL's own grammar (libpg_query) and accepted only
 * when it is exactly one SelectStmt (plain SELECT, VALUES, TABLE t, set
 * operations, WITH ... SELECT) without INTO, without a locking clause,
 * without a data-modifying statement anywhere, without a call to a
 * function of the deny-list (sqlguard_deny.c) and without a parameter
 * placeholder ($1: queries are sent without parameter values, so such a
 * statement could never run).
 *
 * This check is the first line only: the runner's read-only transaction
 * is the real guard.  Not thread-safe (libpg_query keeps per-thread state,
 * and pg-sched is single-threaded).
 */
#ifndef PGS_SQLGUARD_H
#define PGS_SQLGUARD_H

#include <stddef.h>

#include "rc.h"

/* Statements longer than this many bytes are rejected before parsing. */
#define SQLGUARD_MAX_LEN (1024 * 1024)
/* Room for the human message, NUL included. */
#define SQLGUARD_MSG_MAX 512

struct sqlguard_err {
	/* Machine code: "syntax_error", "multiple_statements", "not_select",
	 * "select_into", "locking_clause", "data_modifying_cte",
	 * "denied_function", "parameter", "empty", "too_long", "bad_encoding",
	 * "too_complex", "internal"; "" after PGS_OK.  Static string. */
	const char *code;
	/* 1-based character position in the statement, 0 when unknown. */
	int position;
	/* Human sentence saying what was found and where; valid UTF-8. */
	char message[SQLGUARD_MSG_MAX];
};

/* One entry of the deny-list. */
struct sqlguard_deny {
	const char *pattern; /* lower case; '*' matches any run */
	int	    nargs;   /* args it is denied with; -1 any */
	const char *reason;  /* why, finishes "it ..." in messages */
};

/*
 * Checks that sql is a single read-only SELECT.  Returns PGS_OK, or
 * PGS_INVALID with *why filled (PGS_INTERNAL only if libpg_query itself
 * fails).  why may be NULL; the caller owns it.  Nothing is allocated
 * beyond the call.
 */
enum pgs_rc
sqlguard_check(const char *sql, struct sqlguard_err *why) PGS_MUSTCHECK;

/*
 * Returns the deny-list entry matching a call of function name (the bare
 * name, any case, no schema) with nargs arguments, or NULL when the call is
 * allowed.  The entry is static: the caller does not free it.
 */
const struct sqlguard_deny *sqlguard_deny_find(const char *name, int nargs);

/* Returns the static deny-list and stores its length in *count. */
const struct sqlguard_deny *sqlguard_deny_list(size_t *count);

/*
 * Returns the static list of extensions (pg_extension.extname) whose
 * functions run SQL given as text, which the deny-list refuses by name but
 * a view or a function on the source could still call; stores its length
 * in *count.  A data-source test warns when one is installed.
 */
const char *const *sqlguard_sql_extensions(size_t *count);

#endif
