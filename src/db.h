/*
 * db.h: the only caller of libpq for the metadata database.  Statements are
 * literals with $n placeholders; values go in as text.  SQLSTATEs map to
 * enum pgs_rc, and the last error is kept (without parameter values) so a
 * caller can say what went wrong.
 */
#ifndef PGS_DB_H
#define PGS_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "arena.h"
#include "rc.h"

struct db {
	PGconn	*conn;
	int	 in_tx;			/* db_begin depth (0 or 1) */
	char	 sqlstate[6];		/* of the last failure, "" if none */
	char	 constraint[64];	/* violated constraint, "" if none */
	char	 column[64];		/* column of a not-null/check failure */
	char	 errmsg[256];		/* primary message of the last failure */
	/* Settings store functions need (set by the program after connect). */
	long	 default_interval_s;	/* DEFAULT_QUERY_INTERVAL */
};

/*
 * Turns a DSN as users have it into one libpq accepts: postgresql:// and
 * postgres:// URLs and key=value strings pass through; SQLAlchemy's
 * "postgresql+driver://" loses its "+driver".  Returns a heap string the
 * caller frees, or NULL (with err set) when the form is not recognised.
 */
char		*db_normalize_dsn(const char *dsn, char *err, size_t errlen);

/*
 * Connects with a connect timeout and the given application_name, session
 * TimeZone UTC.  On failure the message (libpq's, which never holds the
 * password) is in db->errmsg and PGS_DB is returned.
 */
enum pgs_rc	 db_connect(struct db *db, const char *dsn, int timeout_s,
		    const char *appname) PGS_MUSTCHECK;
void		 db_close(struct db *db);
/* Returns true when the connection is usable (reconnecting if it was lost
 * and reconnect is true). */
bool		 db_alive(struct db *db);

/*
 * Runs sql with n text parameters (NULL elements are SQL NULL).  When the
 * result status is `expect`, stores the result in *out (if out is not NULL)
 * with PQclear deferred to the arena, and returns PGS_OK.  Otherwise maps
 * the SQLSTATE: 23505 -> PGS_CONFLICT, 23503, 23502, 23514 and class 22 ->
 * PGS_INVALID, 57014 -> PGS_TIMEOUT, connection failures -> PGS_DB,
 * anything else -> PGS_INTERNAL; logs it once.  A privilege the program's
 * role lacks (42501: a grant missing, CONTRACT §10) is PGS_INTERNAL, never
 * PGS_DENIED, which means the caller of the API may not do it.
 */
enum pgs_rc	 db_exec(struct db *db, struct arena *a, const char *sql,
		    int n, const char *const *params, ExecStatusType expect,
		    PGresult **out) PGS_MUSTCHECK;
/* db_exec for a statement expected to return rows (PGRES_TUPLES_OK). */
enum pgs_rc	 db_query(struct db *db, struct arena *a, const char *sql,
		    int n, const char *const *params, PGresult **out)
		    PGS_MUSTCHECK;
/* db_exec for a command (PGRES_COMMAND_OK), result discarded. */
enum pgs_rc	 db_cmd(struct db *db, struct arena *a, const char *sql, int n,
		    const char *const *params) PGS_MUSTCHECK;
/*
 * Runs a script of several statements (a migration file) with the simple
 * protocol.  Only for files shipped with pg-sched, never for user text.
 */
enum pgs_rc	 db_script(struct db *db, const char *sql) PGS_MUSTCHECK;

/* Starts a transaction. */
enum pgs_rc	 db_begin(struct db *db) PGS_MUSTCHECK;
/* Commits when rc is PGS_OK, else rolls back; returns rc, or the commit's
 * failure. */
enum pgs_rc	 db_end(struct db *db, enum pgs_rc rc) PGS_MUSTCHECK;

/* Value of row r, column c as an arena-owned string (NULL for SQL NULL). */
char		*db_str(struct arena *a, const PGresult *res, int r, int c);
/* Value as long; 0 for SQL NULL. */
long		 db_long(const PGresult *res, int r, int c);
/* Value as bool ("t"). */
bool		 db_bool(const PGresult *res, int r, int c);

/* A clear, one-line description of the last failure, for a CLI or a log. */
const char	*db_error(const struct db *db);

#endif
