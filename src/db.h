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
	PGconn *conn;
	int	in_tx;		/* db_begin depth (0 or 1) */
	char	sqlstate[6];	/* of the last failure, "" if none */
	char	constraint[64]; /* violated constraint, "" if none */
	char	column[64];	/* column of a not-null/check failure */
	char	errmsg[256];	/* primary message of the last failure */
	/* Settings store functions need (set by the program after connect). */
	long	    default_interval_s; /* DEFAULT_QUERY_INTERVAL */
	const char *public_url;		/* PUBLIC_URL (outbox.h), or NULL */
	/* A session that holds nothing of its own (no lock, no prepared
	 * statement): when it is found lost before a statement outside a
	 * transaction, it is opened again once and the statement retried. */
	bool reconnect;
	bool probing; /* a db_probe_send answer is pending */
	/* The server's last notice or out-of-band error (runner sessions):
	 * the reason a server gives before it ends a session. */
	char notice[160];
	bool ended; /* that notice was FATAL or PANIC */
	/* The session as the server knows it (db_session), once read. */
	int  backend_pid;
	char backend_start[48];
};

/*
 * The liveness rule of a runner's metadata sessions, from
 * RUNNER_NET_TIMEOUT_S (t seconds; db_connect_net):
 *  - the server drops a session it has heard nothing from for about t
 *    (the session's tcp_keepalives_* and tcp_user_timeout), and with it
 *    the session's advisory locks;
 *  - the client's socket fails after about t/3 of silence (libpq's
 *    keepalives and tcp_user_timeout);
 *  - the runner probes the session holding its locks every t/10 and
 *    gives it up when a probe is not answered within t/5.
 * So a runner gives up its runs well before the server can let another
 * runner take their locks.
 */
#define DB_PROBE_EVERY_MS(t) ((t)*100)
#define DB_PROBE_WAIT_MS(t)  ((t)*200)

/*
 * Turns a DSN as users have it into one libpq accepts: postgresql:// and
 * postgres:// URLs and key=value strings pass through; SQLAlchemy's
 * "postgresql+driver://" loses its "+driver".  Returns a heap string the
 * caller frees, or NULL (with err set) when the form is not recognised.
 */
char *db_normalize_dsn(const char *dsn, char *err, size_t errlen);

/*
 * Checks that dsn is a connection string libpq reads as written, with
 * the user name and password where libpq looks for them.  Returns
 * PGS_OK, or PGS_INVALID with the reason in why (n bytes, caller-owned),
 * worded to follow the variable's name ("is not a valid connection
 * string: invalid percent-encoded token: \"***\""): libpq's own message
 * quotes the bad part, which may be the password, so every quoted
 * fragment is masked.
 */
enum pgs_rc db_check_dsn(const char *dsn, char *why, size_t n) PGS_MUSTCHECK;

/*
 * Connects with a connect timeout and the given application_name, session
 * TimeZone UTC.  A dsn that db_check_dsn() refuses gives PGS_INVALID;
 * a failed connection PGS_DB.  The message is in db->errmsg and never
 * holds the password.
 */
enum pgs_rc db_connect(struct db *db, const char *dsn, int timeout_s,
    const char *appname) PGS_MUSTCHECK;
/*
 * db_connect for a runner session, with the keepalives and user timeouts
 * of the rule above on both sides of the connection (net_timeout_s > 0).
 * The server's notices are then logged and the last one kept in
 * db->notice, so db must not move while connected.
 */
enum pgs_rc db_connect_net(struct db *db, const char *dsn, int timeout_s,
    const char *appname, int net_timeout_s) PGS_MUSTCHECK;
void	    db_close(struct db *db);
/* True when the connection is known to be lost (or was never made, or
 * the server said it ends the session). */
bool db_lost(const struct db *db);
/* Why a lost session is gone (the FATAL the server sent, if any, and
 * libpq's message), in db's error buffer. */
const char *db_lost_reason(struct db *db);
/* The connection's socket, or -1. */
int db_socket(const struct db *db);
/*
 * A probe of the session without blocking: _send sends a trivial query
 * (nothing when one is pending); _read consumes what the server sent and
 * sets *answered once the answer is complete; _wait blocks for the answer
 * at most timeout_ms (PGS_TIMEOUT).  PGS_DB when the connection is lost,
 * with the reason in db_error().  No other statement may run on db while
 * db->probing.
 */
enum pgs_rc db_probe_send(struct db *db) PGS_MUSTCHECK;
enum pgs_rc db_probe_read(struct db *db, bool *answered) PGS_MUSTCHECK;
enum pgs_rc db_probe_wait(struct db *db, int timeout_ms) PGS_MUSTCHECK;

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
enum pgs_rc db_exec(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params, ExecStatusType expect,
    PGresult **out) PGS_MUSTCHECK;
/* db_exec for a statement expected to return rows (PGRES_TUPLES_OK). */
enum pgs_rc db_query(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params, PGresult **out) PGS_MUSTCHECK;
/* db_exec for a command (PGRES_COMMAND_OK), result discarded. */
enum pgs_rc db_cmd(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params) PGS_MUSTCHECK;
/*
 * Runs a script of several statements (a migration file) with the simple
 * protocol.  Only for files shipped with pg-sched, never for user text.
 */
enum pgs_rc db_script(struct db *db, const char *sql) PGS_MUSTCHECK;

/*
 * The server's identity of this session: its backend pid and start time
 * (text, owned by db), read once per connection from pg_stat_activity.
 */
enum pgs_rc
db_session(struct db *db, int *pid, const char **since) PGS_MUSTCHECK;

/* Starts a transaction. */
enum pgs_rc db_begin(struct db *db) PGS_MUSTCHECK;
/* Commits when rc is PGS_OK, else rolls back; returns rc, or the commit's
 * failure. */
enum pgs_rc db_end(struct db *db, enum pgs_rc rc) PGS_MUSTCHECK;

/* Value of row r, column c as an arena-owned string (NULL for SQL NULL). */
char *db_str(struct arena *a, const PGresult *res, int r, int c);
/* Value as long; 0 for SQL NULL. */
long db_long(const PGresult *res, int r, int c);
/* Value as bool ("t"). */
bool db_bool(const PGresult *res, int r, int c);

/* A clear, one-line description of the last failure, for a CLI or a log. */
const char *db_error(const struct db *db);

#endif
