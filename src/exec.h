/*
 * exec.h: running a saved or unsaved query on a data source, the one path
 * shared by the runner, dry-runs and `dsn test` (CONTRACT §4):
 * SELECT-only checked first, then an explicit BEGIN READ ONLY transaction
 * with local timeouts, the query sent alone through the extended protocol,
 * rows read one at a time into the result serialiser up to the caps, and
 * always ROLLBACK.
 */
#ifndef PGS_EXEC_H
#define PGS_EXEC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "rc.h"
#include "result.h"

struct exec_source {
	const char	*host;
	int		 port;
	const char	*dbname;
	const char	*user;
	const char	*password;	/* plaintext, owned by the caller */
};

struct exec_opts {
	const char	*appname;	/* application_name on the source */
	int		 connect_timeout_s;
	int		 timeout_ms;	/* statement_timeout */
	size_t		 max_rows;
	size_t		 max_bytes;
	/* Where the current query's cancel handle is published while it
	 * runs, so a signal handler can PQcancel it (may be NULL). */
	PGcancel *volatile *cancel_slot;
	/* Set by the same signal handler: a stop requested before the
	 * handle was published cancels the query at once (may be NULL). */
	volatile sig_atomic_t *stop;
	/* A client socket to watch while the query runs (a dry-run's
	 * FastCGI connection), or -1: when its peer hangs up, the query is
	 * cancelled on the source.  0 means -1 here, so a zeroed struct is
	 * "nothing to watch". */
	int		 watch_fd;
};

/*
 * Connects to the source with a connect timeout, client_encoding UTF8,
 * TimeZone UTC and ISO date styles.  On failure, err holds libpq's reason
 * (which never contains the password) and PGS_DB is returned.
 */
enum pgs_rc	exec_connect(const struct exec_source *src,
		    const struct exec_opts *o, PGconn **out, char *err,
		    size_t errlen) PGS_MUSTCHECK;
/*
 * exec_connect in two halves, so that the server's part of connecting
 * overlaps the caller's other work: _start returns once the startup packet
 * is sent (*out set on PGS_OK), _finish completes it (the caller still
 * owns conn and PQfinish-es it on failure).  Each half has the connect
 * timeout of o.
 */
enum pgs_rc	exec_connect_start(const struct exec_source *src,
		    const struct exec_opts *o, PGconn **out, char *err,
		    size_t errlen) PGS_MUSTCHECK;
enum pgs_rc	exec_connect_finish(PGconn *conn, const struct exec_opts *o,
		    char *err, size_t errlen) PGS_MUSTCHECK;
/*
 * Runs sql on conn as described above.  On success *rs (owned by the
 * caller: rs_free) holds the rows read; *ms the elapsed time.  On failure
 * err holds the source's message: PGS_INVALID for a rejected statement or
 * an SQL error, PGS_TIMEOUT for statement_timeout, PGS_DB for a lost
 * connection.
 */
enum pgs_rc	exec_query(PGconn *conn, const char *sql,
		    const struct exec_opts *o, struct result **rs, long *ms,
		    char *err, size_t errlen) PGS_MUSTCHECK;
/*
 * Checks whether the connected role is a superuser or owns tables, and
 * whether the source database has an extension that runs SQL given as
 * text (sqlguard_sql_extensions()) whose functions the role may execute;
 * when so, writes the warnings (sentences joined by "; ", naming the
 * extensions) into warn (n bytes, 1024 hold them all) and returns true.
 * The one check behind both `dsn test` and the API's source test.
 */
bool		exec_role_warning(PGconn *conn, char *warn, size_t n);

#endif
