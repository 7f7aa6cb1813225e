/*
 * exec.h: running a saved or unsaved query on a data source connection
 * (source_conn.h opens it), the one path shared by the runner, dry-runs
 * and `dsn test` (CONTRACT §4): SELECT-only checked first, then an
 * explicit BEGIN READ ONLY transaction with local timeouts, the query sent
 * alone through the extended protocol, rows read one at a time into the
 * result serialiser up to the caps, and always ROLLBACK.
 */
#ifndef PGS_EXEC_H
#define PGS_EXEC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "rc.h"
#include "result.h"

/*
 * The first words of the run errors of these two faults (anonymous
 * readers are shown the class of an error by such prefixes).
 */
#define EXEC_NO_ANSWER "source did not answer"
#define EXEC_TOO_LARGE "result too large"
/* The memory a run needs besides its result (exec_memory_limit). */
#define EXEC_MEM_BASE_MB 64

struct exec_opts {
	const char *appname; /* application_name on the source */
	int	    connect_timeout_s;
	int	    timeout_ms; /* statement_timeout */
	size_t	    max_rows;
	size_t	    max_bytes;
	/* Where the current query's cancel handle is published while it
	 * runs, so a signal handler can PQcancel it (may be NULL). */
	PGcancel *volatile *cancel_slot;
	/* Set by the same signal handler: a stop requested before the
	 * handle was published cancels the query at once (may be NULL). */
	volatile sig_atomic_t *stop;
	/* With watch, a socket to watch while the query runs (a zeroed
	 * struct watches nothing): a dry-run's FastCGI connection (its
	 * client went away), or the metadata session holding a run's job
	 * lock (job_run_now: the lock is gone).  Once the watched socket
	 * hangs up or fails, the query is not sent, or is cancelled on
	 * the source, and fails with watch_why (NULL: "cancelled: the
	 * client went away"). */
	bool	    watch;
	int	    watch_fd;
	const char *watch_why;
};

/*
 * Runs sql on conn as described above.  On success *rs (owned by the
 * caller: rs_free) holds the rows read; *ms the elapsed time.  On failure
 * err holds the source's message: PGS_INVALID for a rejected statement or
 * an SQL error, or EXEC_TOO_LARGE when not even the first row fits the
 * byte cap or this process's memory; PGS_TIMEOUT for statement_timeout;
 * PGS_DB for a lost connection, or EXEC_NO_ANSWER when the source said
 * nothing until timeout_ms plus a grace of 20 s, or o->watch_why when the
 * watched socket hung up.  Every wait has that
 * deadline (connections are non-blocking), so a source that stops
 * answering never holds the caller longer.  After a failure, or while
 * the connection is still busy, the caller must PQfinish it, which then
 * does not wait.
 */
enum pgs_rc exec_query(PGconn *conn, const char *sql, const struct exec_opts *o,
    struct result **rs, long *ms, char *err, size_t errlen) PGS_MUSTCHECK;
/*
 * Runs one command on a source connection (sql with nparams text
 * parameters, or none; a SELECT must return rows) and waits at most
 * timeout_ms for it.  PGS_OK when it succeeded; otherwise err says why
 * (EXEC_NO_ANSWER at the deadline) and the caller drops the connection.
 */
enum pgs_rc exec_command(PGconn *conn, const char *sql, int nparams,
    const char *const params[], int timeout_ms, char *err,
    size_t errlen) PGS_MUSTCHECK;
/*
 * Checks whether the connected role is a superuser or owns tables, and
 * whether the source database has an extension that runs SQL given as
 * text (sqlguard_sql_extensions()) whose functions the role may execute;
 * when so, writes the warnings (sentences joined by "; ", naming the
 * extensions) into warn (n bytes, 1024 hold them all) and returns true.
 * The one check behind both `dsn test` and the API's source test; it
 * waits at most 5 s (no warning then).
 */
bool exec_role_warning(PGconn *conn, char *warn, size_t n);
/*
 * Caps this process's private memory (RLIMIT_DATA) at what it holds now
 * plus max_mb MiB (RUNNER_MEMORY_MAX_MB; 0: no cap), raised when needed
 * to EXEC_MEM_BASE_MB plus 8 times max_bytes, what a result at the byte
 * cap needs.  A row larger than that then fails its run with
 * EXEC_TOO_LARGE (libpq cannot allocate it) instead of exhausting the
 * host.  For the runner's workers and a dry-run's process, which are
 * only there for their runs.  Under AddressSanitizer, which aborts on a
 * refused allocation unless ASAN_OPTIONS has allocator_may_return_null=1,
 * the cap is not set and a log line says so.  Returns the MiB set, or 0.
 */
long exec_memory_limit(long max_mb, size_t max_bytes);

#endif
