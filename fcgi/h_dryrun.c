/*
 * h_dryrun.c: dry-runs of a saved query or of unsaved SQL on a data
 * source: the runner's READ ONLY path (exec.h), nothing persisted.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "exec.h"
#include "log.h"
#include "result.h"
#include "sqlguard.h"

#define DRYRUN_LIMIT_MAX	1000
#define DRYRUN_LIMIT_DEFAULT	100
#define DRYRUN_TIMEOUT_MAX	300000
#define DRYRUN_TIMEOUT_DEFAULT	30000

/* Writes {"ok":true,"columns":..,"rows":..,"row_count":..,...}. */
static enum pgs_rc
dryrun_send(struct req *r, struct result *rs, long ms)
{
	struct buf	 b = BUF_INIT;
	enum pgs_rc	 rc;

	buf_puts(&b, "{\"ok\":true,");
	rs_finish_rows(rs, &b);
	buf_printf(&b, ",\"row_count\":%zu,\"truncated\":%s,"
	    "\"timing_ms\":%ld}", rs_row_count(rs),
	    rs_truncated(rs) ? "true" : "false", ms);
	rc = reply_send(r, 200, "application/json", b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Runs sql on source s with the given caps and answers. */
static enum pgs_rc
dryrun(struct req *r, const struct source *s, const char *sql, long limit,
    long timeout_ms)
{
	struct exec_opts	 o;
	struct result		*rs = NULL;
	PGconn			*conn = NULL;
	char			 err[512];
	long			 ms = 0;
	enum pgs_rc		 rc;

	rc = source_connect(r, s, &conn, err, sizeof(err));
	if (rc == PGS_DB)
		return req_fail(r, PGS_INVALID, "connection_failed", "%s", err);
	if (rc != PGS_OK)
		return rc;
	memset(&o, 0, sizeof(o));
	o.appname = "pgsched-dryrun";
	o.connect_timeout_s = r->app->conf.source_connect_timeout_s;
	o.timeout_ms = (int)timeout_ms;
	o.max_rows = (size_t)limit;
	o.max_bytes = (size_t)r->app->conf.result_max_bytes;
	/* nginx closes the FastCGI connection when the HTTP client goes
	 * away: then the source query is cancelled, not run to its end. */
	o.watch_fd = r->fr->ipcFd;
	rc = exec_query(conn, sql, &o, &rs, &ms, err, sizeof(err));
	PQfinish(conn);
	if (rc == PGS_OK)
		rc = dryrun_send(r, rs, ms);
	else if (rc == PGS_TIMEOUT)
		rc = req_fail(r, PGS_INVALID, "timeout", "the query ran longer "
		    "than %ld ms", timeout_ms);
	else if (rc == PGS_DB && strncmp(err, EXEC_NO_ANSWER,
	    strlen(EXEC_NO_ANSWER)) == 0)
		rc = req_fail(r, PGS_INVALID, "source_timeout", "%s", err);
	else if (rc == PGS_INVALID || rc == PGS_DB)
		rc = req_fail(r, PGS_INVALID, "query_failed", "%s", err);
	rs_free(rs);
	return rc;
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
	req_int(r, "timeout_ms", 100, DRYRUN_TIMEOUT_MAX, false, timeout,
	    NULL);
}

enum pgs_rc
h_dryrun_saved(struct req *r)
{
	static const char *const allowed[] = { "limit", "timeout_ms", NULL };
	struct query	 q;
	struct source	 s;
	long		 limit, timeout;
	enum pgs_rc	 rc;

	if (r->json != NULL)
		req_unknown_fields(r, allowed);
	rc = query_get(&r->app->db, r->a, arena_printf(r->a, "%ld",
	    r->ids[0]), NULL, &q);
	if (rc != PGS_OK)
		return rc;
	dryrun_caps(r, q.timeout_ms > 0 && q.timeout_ms <
	    DRYRUN_TIMEOUT_MAX ? q.timeout_ms : DRYRUN_TIMEOUT_DEFAULT, &limit,
	    &timeout);
	rc = req_fields_rc(r);
	if (rc == PGS_OK)
		rc = source_get(&r->app->db, r->a, arena_printf(r->a, "%ld",
		    q.data_source_id), NULL, &s);
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
	struct sqlguard_err	 why;
	struct source		 s;
	const char		*sql;
	long			 dsid = 0, limit, timeout;
	enum pgs_rc		 rc;

	req_unknown_fields(r, allowed);
	req_str(r, "sql_text", SQLGUARD_MAX_LEN, true, &sql);
	req_int(r, "data_source_id", 1, 2147483647L, true, &dsid, NULL);
	dryrun_caps(r, DRYRUN_TIMEOUT_DEFAULT, &limit, &timeout);
	if (sql != NULL && sqlguard_check(sql, &why) != PGS_OK)
		req_field(r, "sql_text", "%s", why.message);
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	rc = source_get(&r->app->db, r->a, arena_printf(r->a, "%ld", dsid),
	    NULL, &s);
	if (rc == PGS_NOTFOUND) {
		req_field(r, "data_source_id", "no such data source");
		return PGS_INVALID;
	}
	if (rc != PGS_OK)
		return rc;
	log_info("dryrun", "source=%ld by=%ld unsaved", s.id, r->user.id);
	return dryrun(r, &s, sql, limit, timeout);
}
