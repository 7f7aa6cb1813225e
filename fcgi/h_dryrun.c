/*
 * h_dryrun.c: dry-runs of a saved query or of unsaved SQL on a data
 * source: the runner's READ ONLY path (exec.h), nothing persisted.
 *
 * The query runs in a child process of the worker, under the memory cap
 * of the runner's workers (RUNNER_MEMORY_MAX_MB, exec_memory_limit): a row
 * larger than that fails the dry-run, and the worker lives on whatever
 * happens to the child.  The child sends the whole answer back through a
 * pipe: 'r' and the JSON body of a 200, or 'e', an error code, a NUL and
 * the message of a 422.  The child opens the source connection
 * (source_conn.h): the worker never holds the source's password.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "exec.h"
#include "log.h"
#include "mono.h"
#include "proc.h"
#include "query_rules.h"
#include "result.h"
#include "shape.h"
#include "source_conn.h"
#include "sqlguard.h"

#define DRYRUN_LIMIT_MAX       1000
#define DRYRUN_LIMIT_DEFAULT   100
#define DRYRUN_TIMEOUT_MAX     300000
#define DRYRUN_TIMEOUT_DEFAULT 30000
/* The worker's own margin over the child's deadlines. */
#define DRYRUN_MARGIN_S 40

/* What one dry-run runs, and where. */
struct dryrun {
	const struct source *s;
	const char	    *sql;
	long		     limit;
	long		     timeout_ms;
};

/* Appends 'e', code, a NUL and the message to b. */
static void
dryrun_error(struct buf *b, const char *code, const char *msg)
{
	buf_putc(b, 'e');
	buf_append(b, code, strlen(code) + 1);
	buf_puts(b, msg);
}

/* Appends 'r' and the dry-run answer of shape_dryrun to b, or the error
 * answer of exec_query's rc and err. */
static void
dryrun_answer(struct buf *b, const struct dryrun *d, struct result *rs, long ms,
    enum pgs_rc rc, const char *err)
{
	char msg[128];

	if (rc == PGS_TIMEOUT) {
		snprintf(msg, sizeof(msg), "the query ran longer than %ld ms",
		    d->timeout_ms);
		dryrun_error(b, "timeout", msg);
	} else if (rc != PGS_OK)
		dryrun_error(b,
		    strncmp(err, EXEC_NO_ANSWER, strlen(EXEC_NO_ANSWER)) == 0 ?
			"source_timeout" :
			strncmp(err, EXEC_TOO_LARGE, strlen(EXEC_TOO_LARGE)) ==
			    0 ?
			"result_too_large" :
			"query_failed",
		    err);
	else {
		buf_putc(b, 'r');
		shape_dryrun(b, rs, ms);
	}
}

/* Writes all of b to fd; false when it could not. */
static bool
dryrun_write(int fd, const struct buf *b)
{
	size_t	off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

/* Child side: connects, runs, writes the answer to fd, exits. */
static void PGS_NORETURN
dryrun_child(struct req *r, struct dryrun *d, int fd)
{
	const struct conf *c = &r->app->conf;
	struct exec_opts   o;
	struct result	  *rs = NULL;
	struct buf	   b = BUF_INIT;
	PGconn		  *conn = NULL;
	char		   err[512];
	long		   ms = 0;
	enum pgs_rc	   rc;
	bool		   ok;

	/* The worker finishes its request when stopped; so does this. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	(void)exec_memory_limit(c->runner_memory_max_mb,
	    (size_t)c->result_max_bytes);
	memset(&o, 0, sizeof(o));
	o.appname = "pgsched-dryrun";
	o.connect_timeout_s = c->source_connect_timeout_s;
	o.timeout_ms = (int)d->timeout_ms;
	o.max_rows = (size_t)d->limit;
	o.max_bytes = (size_t)c->result_max_bytes;
	/* nginx closes the FastCGI connection when the HTTP client goes
	 * away: then the source query is cancelled, not run to its end. */
	o.watch = true;
	o.watch_fd = r->fr->ipcFd;
	rc = source_conn_open(&r->app->keys, d->s, &o, &conn, NULL, err,
	    sizeof(err));
	if (rc == PGS_INVALID) {
		log_err("source_key", "source=%ld %s", d->s->id, err);
		dryrun_error(&b, "credential_unavailable", err);
	} else if (rc != PGS_OK)
		dryrun_error(&b, "connection_failed", err);
	else {
		rc = exec_query(conn, d->sql, &o, &rs, &ms, err, sizeof(err));
		PQfinish(conn);
		dryrun_answer(&b, d, rs, ms, rc, err);
	}
	ok = dryrun_write(fd, &b);
	buf_free(&b);
	rs_free(rs);
	/* _exit: the worker's connections and streams are not ours. */
	_exit(ok ? 0 : 1);
}

/*
 * Reads the child's answer from fd into b, at most max bytes, until end
 * of file or deadline (monotonic ms).  Returns false when the child did
 * not finish in time or said too much.
 */
static bool
dryrun_collect(int fd, struct buf *b, size_t max, long deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t	      n;
	long	      left;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0 || b->len > max)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue; /* EINTR, or the deadline */
		buf_reserve(b, 65536);
		n = read(fd, b->data + b->len, 65536);
		if (n == 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0) {
			b->len += (size_t)n;
			b->data[b->len] = '\0';
		}
	}
}

/* Waits for the child (killing it when it did not finish) and logs
 * how it ended; returns whether it exited cleanly. */
static bool
dryrun_reap(pid_t pid, bool finished, long ms)
{
	struct rusage ru;
	int	      st = 0;

	if (!finished)
		kill(pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	log_info("dryrun_done", "pid=%ld ms=%ld maxrss_kb=%ld status=%s%d",
	    (long)pid, ms, ru.ru_maxrss, WIFSIGNALED(st) ? "signal:" : "exit:",
	    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Sends the child's answer b. */
static enum pgs_rc
dryrun_reply(struct req *r, const struct buf *b)
{
	const char *code;

	if (b->len > 0 && b->data[0] == 'r')
		return reply_send(r, 200, "application/json", b->data + 1,
		    b->len - 1);
	/* req_fail keeps the code, and b goes away. */
	code = arena_strdup(r->a, b->data + 1);
	return req_fail(r, PGS_INVALID, code, "%s", b->data + 2 + strlen(code));
}

/* Runs d in a child process and answers. */
static enum pgs_rc
dryrun_run(struct req *r, struct dryrun *d)
{
	const struct conf *c = &r->app->conf;
	struct buf	   b = BUF_INIT;
	long		   start, wait_ms;
	bool		   done, clean;
	enum pgs_rc	   rc;
	pid_t		   pid;
	int		   p[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_err("dryrun_fork", "pipe: %s", strerror(errno));
		return PGS_INTERNAL;
	}
	/* Tied to this worker: it dies with it. */
	pid = proc_fork(SIGKILL);
	if (pid == 0) {
		close(p[0]);
		dryrun_child(r, d, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		log_err("dryrun_fork", "fork: %s", strerror(errno));
		return PGS_INTERNAL;
	}
	start = mono_ms();
	/* The child's own deadlines end it well before: connecting (twice
	 * the connect timeout), then the query's timeout plus its grace. */
	wait_ms = d->timeout_ms +
	    (2L * c->source_connect_timeout_s + DRYRUN_MARGIN_S) * 1000;
	done = dryrun_collect(p[0], &b, (size_t)c->result_max_bytes * 2 + 65536,
	    start + wait_ms);
	close(p[0]);
	clean = dryrun_reap(pid, done, mono_ms() - start);
	if (done && clean && b.len > 1 &&
	    (b.data[0] == 'r' ||
		(b.data[0] == 'e' &&
		    memchr(b.data + 1, '\0', b.len - 1) != NULL)))
		rc = dryrun_reply(r, &b);
	else if (!done)
		rc = req_fail(r, PGS_INVALID, "source_timeout", "%s",
		    EXEC_NO_ANSWER);
	else {
		log_err("dryrun_failed",
		    "pid=%ld the dry-run process ended "
		    "without an answer",
		    (long)pid);
		rc = PGS_INTERNAL;
	}
	buf_free(&b);
	return rc;
}

/* Runs sql on source s with the given caps and answers. */
static enum pgs_rc
dryrun(struct req *r, const struct source *s, const char *sql, long limit,
    long timeout_ms)
{
	struct dryrun d;

	memset(&d, 0, sizeof(d));
	d.s = s;
	d.sql = sql;
	d.limit = limit;
	d.timeout_ms = timeout_ms;
	return dryrun_run(r, &d);
}

/* Reads limit and timeout_ms of a dry-run body (which may be absent). */
static void
dryrun_caps(struct req *r, long dflt_timeout, long *limit, long *timeout)
{
	*limit = DRYRUN_LIMIT_DEFAULT;
	*timeout = dflt_timeout;
	if (r->json == NULL)
		return;
	req_int(r, "limit", 1, DRYRUN_LIMIT_MAX, false, limit, NULL);
	req_int(r, "timeout_ms", 100, DRYRUN_TIMEOUT_MAX, false, timeout, NULL);
}

/* Checks sql with the guard both doors apply before a source is
 * reached (the saved SQL too: the table may have been edited by hand);
 * a refusal is a field error of sql_text. */
static void
h_dryrun_check_sql(struct req *r, const char *sql)
{
	struct field_errors e;

	field_errors_init(&e, r->a);
	if (query_rules_sql(&e, "sql_text", sql) != PGS_OK)
		req_field(r, "sql_text", "%s", e.items[0].message);
}

enum pgs_rc
h_dryrun_saved(struct req *r)
{
	static const char *const allowed[] = { "limit", "timeout_ms", NULL };
	struct query		 q;
	struct source		 s;
	long			 limit, timeout;
	enum pgs_rc		 rc;

	if (r->json != NULL)
		req_unknown_fields(r, allowed);
	rc = query_get(&r->app->db, r->a, arena_printf(r->a, "%ld", r->ids[0]),
	    NULL, &q);
	if (rc != PGS_OK)
		return rc;
	dryrun_caps(r,
	    q.timeout_ms > 0 && q.timeout_ms < DRYRUN_TIMEOUT_MAX ?
		q.timeout_ms :
		DRYRUN_TIMEOUT_DEFAULT,
	    &limit, &timeout);
	h_dryrun_check_sql(r, q.sql_text);
	rc = req_fields_rc(r);
	if (rc == PGS_OK)
		rc = source_get(&r->app->db, r->a,
		    arena_printf(r->a, "%ld", q.data_source_id), NULL, &s);
	if (rc != PGS_OK)
		return rc;
	log_info("dryrun", "query=%ld by=%ld", q.id, r->user.id);
	return dryrun(r, &s, q.sql_text, limit, timeout);
}

enum pgs_rc
h_dryrun_unsaved(struct req *r)
{
	static const char *const allowed[] = { "sql_text", "data_source_id",
		"limit", "timeout_ms", NULL };
	struct source		 s;
	const char		*sql;
	long			 dsid = 0, limit, timeout;
	enum pgs_rc		 rc;

	req_unknown_fields(r, allowed);
	req_str(r, "sql_text", SQLGUARD_MAX_LEN, true, &sql);
	req_int(r, "data_source_id", 1, 2147483647L, true, &dsid, NULL);
	dryrun_caps(r, DRYRUN_TIMEOUT_DEFAULT, &limit, &timeout);
	if (sql != NULL)
		h_dryrun_check_sql(r, sql);
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	rc = source_get(&r->app->db, r->a, arena_printf(r->a, "%ld", dsid),
	    NULL, &s);
	if (rc == PGS_NOTFOUND) {
		req_field(r, "data_source_id", QUERY_RULES_NO_SOURCE);
		return PGS_INVALID;
	}
	if (rc != PGS_OK)
		return rc;
	log_info("dryrun", "source=%ld by=%ld unsaved", s.id, r->user.id);
	return dryrun(r, &s, sql, limit, timeout);
}
