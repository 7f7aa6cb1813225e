/*
 * exec.c: the READ ONLY execution path on a data source.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "arena.h"
#include "exec.h"
#include "log.h"
#include "mono.h"
#include "sqlguard.h"

/* How long past a query's timeout we wait for the source to say so. */
#define EXEC_GRACE_MS 20000
/* How long a ROLLBACK (and a role check) may take. */
#define EXEC_SHORT_MS 5000

#if defined(__SANITIZE_ADDRESS__)
#define EXEC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXEC_ASAN 1
#endif
#endif

/* One bounded wait on the source: until when, and which socket to watch
 * meanwhile (exec_opts.watch). */
struct exec_wait {
	long deadline; /* monotonic ms */
	int  watch_fd; /* -1: none */
	bool gone;     /* the watched socket hung up */
};

/* Writes "source did not answer" into err: a wait passed its deadline. */
static enum pgs_rc
exec_no_answer(char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", EXEC_NO_ANSWER);
	return PGS_DB;
}

/*
 * Returns whether msg is libpq's own report of a failed allocation (no
 * SQLSTATE: the server's "out of memory" is another matter): reading a
 * row larger than this process may hold (RUNNER_MEMORY_MAX_MB).
 */
static bool
exec_oom(const PGresult *res, const char *msg)
{
	if (res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
		return false;
	return msg != NULL &&
	    (strstr(msg, "out of memory") != NULL ||
		strstr(msg, "cannot allocate memory") != NULL);
}

/* Maps a failed result of the source to an rc and copies its message. */
static enum pgs_rc
exec_fail(PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
	const char *st, *msg;

	st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(conn);
	if (exec_oom(res, msg)) {
		snprintf(err, errlen,
		    "%s: a row needs more memory than this "
		    "process may use (RUNNER_MEMORY_MAX_MB)",
		    EXEC_TOO_LARGE);
		return PGS_INVALID;
	}
	snprintf(err, errlen, "%s", msg);
	err[strcspn(err, "\n")] = '\0';
	/* libpq's severity prefix says nothing the run's status does not. */
	if (strncmp(err, "ERROR:  ", 8) == 0 ||
	    strncmp(err, "FATAL:  ", 8) == 0)
		memmove(err, err + 8, strlen(err + 8) + 1);
	if (PQstatus(conn) != CONNECTION_OK)
		return PGS_DB;
	if (st != NULL && strcmp(st, "57014") == 0)
		return PGS_TIMEOUT;
	return PGS_INVALID;
}

/* Asks the source to stop the running query. */
static void
exec_cancel(PGconn *conn)
{
	PGcancel *cancel;
	char	  cerr[128];

	cancel = PQgetCancel(conn);
	if (cancel != NULL) {
		PQcancel(cancel, cerr, sizeof(cerr));
		PQfreeCancel(cancel);
	}
}

/*
 * Flushes what libpq still has to send and waits until a result can be
 * read without blocking, at most until w's deadline.  While waiting, a
 * hang-up of the watched socket cancels the query (once).  Returns
 * PGS_OK, PGS_DB when the connection failed, PGS_TIMEOUT at the deadline.
 */
static enum pgs_rc
exec_wait(PGconn *conn, struct exec_wait *w)
{
	struct pollfd pfd[2];
	long	      left;
	int	      n, pending;

	for (;;) {
		pending = PQflush(conn);
		if (pending < 0 || PQsocket(conn) < 0)
			return PGS_DB;
		if (pending == 0 && !PQisBusy(conn))
			return PGS_OK;
		left = w->deadline - mono_ms();
		if (left <= 0)
			return PGS_TIMEOUT;
		pfd[0].fd = PQsocket(conn);
		pfd[0].events = POLLIN | (pending ? POLLOUT : 0);
		pfd[1].fd = w->watch_fd >= 0 && !w->gone ? w->watch_fd : -1;
		pfd[1].events = POLLRDHUP;
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno != EINTR)
			return PGS_DB;
		if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			w->gone = true;
			exec_cancel(conn);
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !PQconsumeInput(conn))
			return PGS_DB;
	}
}

/*
 * Sends sql (with nparams text parameters; none: the simple protocol) and
 * reads its results until w's deadline.  Returns PGS_OK when the last one
 * has status want (in *out when out is not NULL: the caller PQclears it),
 * else exec_fail's rc, or PGS_DB and "source did not answer".
 */
static enum pgs_rc
exec_cmd(PGconn *conn, const char *sql, int nparams, const char *const params[],
    ExecStatusType want, struct exec_wait *w, PGresult **out, char *err,
    size_t errlen)
{
	PGresult   *res, *last = NULL;
	enum pgs_rc rc;
	int	    sent;

	sent = nparams > 0 ?
	    PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) :
	    PQsendQuery(conn, sql);
	if (!sent)
		return exec_fail(conn, NULL, err, errlen);
	for (;;) {
		rc = exec_wait(conn, w);
		if (rc != PGS_OK)
			break;
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
	}
	if (rc == PGS_TIMEOUT)
		rc = exec_no_answer(err, errlen);
	else if (rc == PGS_OK && (last == NULL || PQresultStatus(last) != want))
		rc = exec_fail(conn, last, err, errlen);
	else if (rc != PGS_OK)
		rc = exec_fail(conn, NULL, err, errlen);
	if (rc == PGS_OK && out != NULL)
		*out = last;
	else
		PQclear(last);
	return rc;
}

enum pgs_rc
exec_command(PGconn *conn, const char *sql, int nparams,
    const char *const params[], int timeout_ms, char *err, size_t errlen)
{
	struct exec_wait w = { mono_ms() + timeout_ms, -1, false };
	ExecStatusType	 want;

	want =
	    strncmp(sql, "SELECT", 6) == 0 ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
	return exec_cmd(conn, sql, nparams, params, want, &w, NULL, err,
	    errlen);
}

/* BEGIN READ ONLY and the local timeouts. */
static enum pgs_rc
exec_begin(PGconn *conn, const struct exec_opts *o, struct exec_wait *w,
    char *err, size_t errlen)
{
	static const char sql_set[] =
	    "SELECT set_config('statement_timeout', $1, true),"
	    " set_config('lock_timeout', $2, true),"
	    " set_config('idle_in_transaction_session_timeout', $3, true)";
	static const char sql_check[] =
	    "SELECT set_config('client_connection_check_interval', '5s', true)";
	char	    st[16], lt[16], it[16];
	const char *p[] = { st, lt, it };
	enum pgs_rc rc;

	snprintf(st, sizeof(st), "%d", o->timeout_ms);
	snprintf(lt, sizeof(lt), "%d",
	    o->timeout_ms < 10000 ? o->timeout_ms : 10000);
	snprintf(it, sizeof(it), "%d", o->timeout_ms + 10000);
	rc = exec_cmd(conn, "BEGIN READ ONLY", 0, NULL, PGRES_COMMAND_OK, w,
	    NULL, err, errlen);
	if (rc == PGS_OK)
		rc = exec_cmd(conn, sql_set, 3, p, PGRES_TUPLES_OK, w, NULL,
		    err, errlen);
	/* PostgreSQL 14+: notice a vanished client (a dead runner) and
	 * stop the query rather than run it to the end. */
	if (rc == PGS_OK && PQserverVersion(conn) >= 140000)
		rc = exec_cmd(conn, sql_check, 0, NULL, PGRES_TUPLES_OK, w,
		    NULL, err, errlen);
	return rc;
}

/* Creates the serialiser from the shape of res. */
static struct result *
exec_result_new(const PGresult *res, const struct exec_opts *o)
{
	const char   **names;
	unsigned int  *oids;
	struct result *rs;
	int	       i, n = PQnfields(res);

	names = xcalloc((size_t)n + 1, sizeof(*names));
	oids = xcalloc((size_t)n + 1, sizeof(*oids));
	for (i = 0; i < n; i++) {
		names[i] = PQfname(res, i);
		oids[i] = PQftype(res, i);
	}
	rs = rs_new(n, names, oids, o->max_rows, o->max_bytes);
	free(names);
	free(oids);
	return rs;
}

/* Feeds one row of res into rs; false once the caps are reached. */
static bool
exec_add_row(struct result *rs, const PGresult *res)
{
	const char *vals[256], **v = vals;
	int	    lens[256], *l = lens;
	int	    i, n = PQnfields(res);
	bool	    taken;

	if (n > 256) {
		v = xcalloc((size_t)n, sizeof(*v));
		l = xcalloc((size_t)n, sizeof(*l));
	}
	for (i = 0; i < n; i++) {
		v[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
		l[i] = PQgetlength(res, 0, i);
	}
	taken = rs_add_row(rs, v, l);
	if (v != vals) {
		free(v);
		free(l);
	}
	return taken;
}

/*
 * Takes one result of the running query: rows into *rs, until the
 * serialiser is full (*full: the query is then cancelled and the rest
 * read and dropped), and the first error into rc/err.
 */
static void
exec_take(PGconn *conn, const PGresult *res, const struct exec_opts *o,
    struct result **rs, bool *full, enum pgs_rc *rc, char *err, size_t errlen)
{
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
	case PGRES_TUPLES_OK:
		if (*rs == NULL)
			*rs = exec_result_new(res, o);
		if (PQntuples(res) == 1 && !*full && !exec_add_row(*rs, res)) {
			/* Cut here: ask the source to stop. */
			*full = true;
			exec_cancel(conn);
		}
		break;
	default:
		/* After our own cancel the error is expected. */
		if (!*full && *rc == PGS_OK)
			*rc = exec_fail(conn, res, err, errlen);
		break;
	}
}

/* The failure of a query whose watched socket hung up (exec_opts). */
static enum pgs_rc
exec_gone(const struct exec_opts *o, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s",
	    o->watch_why != NULL ? o->watch_why :
				   "cancelled: the client went away");
	return PGS_DB;
}

/*
 * Reads every result of the running query until w's deadline.  Past it,
 * rows already cut at a cap are kept (the source only failed to stop);
 * otherwise the query failed with "source did not answer".
 */
static enum pgs_rc
exec_read(PGconn *conn, const struct exec_opts *o, struct exec_wait *w,
    struct result **rs, char *err, size_t errlen)
{
	PGresult   *res;
	enum pgs_rc rc = PGS_OK, wrc;
	bool	    full = false;

	for (;;) {
		wrc = exec_wait(conn, w);
		if (wrc == PGS_TIMEOUT && !full && rc == PGS_OK)
			rc = exec_no_answer(err, errlen);
		else if (wrc == PGS_DB && rc == PGS_OK)
			rc = exec_fail(conn, NULL, err, errlen);
		if (wrc != PGS_OK)
			break;
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		exec_take(conn, res, o, rs, &full, &rc, err, errlen);
		PQclear(res);
	}
	if (w->gone && rc != PGS_OK)
		rc = exec_gone(o, err, errlen);
	if (rc == PGS_OK && *rs != NULL && rs_first_row_too_large(*rs)) {
		snprintf(err, errlen,
		    "%s: its first row alone is larger than "
		    "the limit of %zu bytes",
		    EXEC_TOO_LARGE, o->max_bytes);
		rc = PGS_INVALID;
	}
	return rc;
}

/* Sends the user's query alone through the extended protocol, in
 * single-row mode, and publishes its cancel handle. */
static enum pgs_rc
exec_send(PGconn *conn, const char *sql, const struct exec_opts *o, char *err,
    size_t errlen)
{
	if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return exec_fail(conn, NULL, err, errlen);
	PQsetSingleRowMode(conn);
	if (o->cancel_slot != NULL)
		*o->cancel_slot = PQgetCancel(conn);
	if (o->stop != NULL && *o->stop)
		exec_cancel(conn); /* the signal came before the handle */
	return PGS_OK;
}

/* Withdraws the cancel handle exec_send published. */
static void
exec_unpublish(const struct exec_opts *o)
{
	PGcancel *c;

	if (o->cancel_slot == NULL || *o->cancel_slot == NULL)
		return;
	c = *o->cancel_slot;
	*o->cancel_slot = NULL;
	PQfreeCancel(c);
}

/*
 * Always roll back: nothing the query did may stay.  A connection still
 * busy (its source did not answer) or whose ROLLBACK does not answer in
 * time is left so: its caller drops it, and the server rolls back when it
 * sees the connection gone.
 */
static void
exec_rollback(PGconn *conn)
{
	struct exec_wait	w = { mono_ms() + EXEC_SHORT_MS, -1, false };
	char			err[256];
	PGTransactionStatusType st = PQtransactionStatus(conn);

	if (st != PQTRANS_INTRANS && st != PQTRANS_INERROR)
		return;
	(void)exec_cmd(conn, "ROLLBACK", 0, NULL, PGRES_COMMAND_OK, &w, NULL,
	    err, sizeof(err));
}

enum pgs_rc
exec_query(PGconn *conn, const char *sql, const struct exec_opts *o,
    struct result **rs, long *ms, char *err, size_t errlen)
{
	struct sqlguard_err why;
	struct exec_wait    w;
	enum pgs_rc	    rc;
	long		    t0 = mono_ms();

	*rs = NULL;
	*ms = 0;
	rc = sqlguard_check(sql, &why);
	if (rc != PGS_OK) {
		snprintf(err, errlen, "%s", why.message);
		return PGS_INVALID;
	}
	/* Every wait of the query, BEGIN to its last row, ends by then. */
	w.deadline = t0 + o->timeout_ms + EXEC_GRACE_MS;
	w.watch_fd = o->watch ? o->watch_fd : -1;
	w.gone = false;
	rc = exec_begin(conn, o, &w, err, errlen);
	/* Gone already: the query is not sent at all (a cancel now would
	 * find nothing running). */
	if (w.gone)
		rc = exec_gone(o, err, errlen);
	if (rc == PGS_OK)
		rc = exec_send(conn, sql, o, err, errlen);
	if (rc == PGS_OK)
		rc = exec_read(conn, o, &w, rs, err, errlen);
	exec_unpublish(o);
	exec_rollback(conn);
	*ms = mono_ms() - t0;
	if (rc != PGS_OK && *rs != NULL) {
		rs_free(*rs);
		*rs = NULL;
	}
	return rc;
}

/* Returns the PostgreSQL array literal of sqlguard_sql_extensions()
 * (owned by the caller: free). */
static char *
exec_ext_array(void)
{
	const char *const *ext;
	size_t		   n, i, len = 3;
	char		  *s;

	ext = sqlguard_sql_extensions(&n);
	for (i = 0; i < n; i++)
		len += strlen(ext[i]) + 1;
	s = xmalloc(len);
	strcpy(s, "{");
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, ext[i]); /* plain lower-case names */
	}
	strcat(s, "}");
	return s;
}

/* Appends sentence to warn (size n), after "; " when warn is not empty. */
static void
exec_warn_add(char *warn, size_t n, const char *sentence)
{
	size_t len = strlen(warn);

	snprintf(warn + len, n - len, "%s%s", len > 0 ? "; " : "", sentence);
}

bool
exec_role_warning(PGconn *conn, char *warn, size_t n)
{
	/* The role's privileges, and the installed extensions that run SQL
	 * given as text whose functions it may execute. */
	static const char sql[] =
	    "SELECT r.rolsuper, EXISTS (SELECT 1 FROM pg_class c"
	    " WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm')"
	    " AND c.relnamespace NOT IN ('pg_catalog'::regnamespace,"
	    " 'information_schema'::regnamespace)),"
	    " (SELECT string_agg(e.extname, ', ' ORDER BY e.extname)"
	    " FROM pg_extension e WHERE e.extname = ANY ($1::text[])"
	    " AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = e.oid"
	    " AND d.refclassid = 'pg_extension'::regclass"
	    " AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'"
	    " AND has_function_privilege(d.objid, 'EXECUTE')))"
	    " FROM pg_roles r WHERE r.rolname = current_user";
	struct exec_wait w = { mono_ms() + EXEC_SHORT_MS, -1, false };
	char		*exts = exec_ext_array();
	const char	*p[] = { exts };
	char		 line[400], err[256];
	PGresult	*res = NULL;
	bool		 super = false, owner = false, found = false;
	enum pgs_rc	 rc;

	warn[0] = '\0';
	rc = exec_cmd(conn, sql, 1, p, PGRES_TUPLES_OK, &w, &res, err,
	    sizeof(err));
	free(exts);
	if (rc == PGS_OK && PQntuples(res) == 1) {
		super = PQgetvalue(res, 0, 0)[0] == 't';
		owner = PQgetvalue(res, 0, 1)[0] == 't';
		if (!PQgetisnull(res, 0, 2)) {
			snprintf(line, sizeof(line),
			    "the source database has "
			    "extensions that run SQL given as text (%s): saved "
			    "queries may not call them, but a view or function "
			    "can; revoke EXECUTE on their functions from the "
			    "role, or drop them",
			    PQgetvalue(res, 0, 2));
			found = true;
		}
	}
	PQclear(res);
	if (super)
		exec_warn_add(warn, n,
		    "the data source's role is a superuser: "
		    "give it a dedicated read-only role (see the README)");
	else if (owner)
		exec_warn_add(warn, n,
		    "the data source's role owns tables: "
		    "give it a dedicated read-only role that owns nothing (see "
		    "the README)");
	if (found)
		exec_warn_add(warn, n, line);
	return super || owner || found;
}

/* Returns this process's private writable memory (VmData) in bytes, 0
 * when /proc cannot tell. */
static unsigned long long
exec_data_bytes(void)
{
	FILE		  *f = fopen("/proc/self/status", "r");
	char		   line[128];
	unsigned long long kb = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmData:", 7) == 0)
			kb = strtoull(line + 7, NULL, 10);
	if (f != NULL)
		fclose(f);
	return kb * 1024;
}

/*
 * Returns whether a refused allocation would return NULL here: always,
 * except under AddressSanitizer, which aborts instead unless told
 * allocator_may_return_null=1.
 */
static bool
exec_malloc_may_fail(void)
{
#ifdef EXEC_ASAN
	const char *o = getenv("ASAN_OPTIONS");

	return o != NULL &&
	    (strstr(o, "allocator_may_return_null=1") != NULL ||
		strstr(o, "allocator_may_return_null=true") != NULL);
#else
	return true;
#endif
}

long
exec_memory_limit(long max_mb, size_t max_bytes)
{
	struct rlimit	   rl;
	unsigned long long base, cap;
	long		   mb, need;

	if (max_mb <= 0)
		return 0;
	/* What building and storing a result at the byte cap needs: the
	 * serialiser, the finished document, libpq's copies of both. */
	need = EXEC_MEM_BASE_MB +
	    (long)((8 * (unsigned long long)max_bytes + (1 << 20) - 1) >> 20);
	mb = max_mb > need ? max_mb : need;
	if (!exec_malloc_may_fail()) {
		log_info("memory_limit",
		    "mb=%ld not applied: AddressSanitizer "
		    "aborts on a refused allocation unless ASAN_OPTIONS has "
		    "allocator_may_return_null",
		    mb);
		return 0;
	}
	/* On top of what the process holds: a sanitizer's shadow memory
	 * alone counts for terabytes. */
	base = exec_data_bytes();
	cap = base + ((unsigned long long)mb << 20);
	if (getrlimit(RLIMIT_DATA, &rl) != 0)
		rl.rlim_max = RLIM_INFINITY;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < cap ?
	    rl.rlim_max :
	    cap;
	if (setrlimit(RLIMIT_DATA, &rl) != 0) {
		log_warn("memory_limit", "mb=%ld setrlimit failed: %s", mb,
		    strerror(errno));
		return 0;
	}
	log_debug("memory_limit", "mb=%ld base_kb=%llu", mb, base >> 10);
	return mb;
}
