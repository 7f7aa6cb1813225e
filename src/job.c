/*
 * job.c: execute one claimed run on its data source and record it.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "exec.h"
#include "log.h"
#include "result.h"
#include "job.h"
#include "sqlguard.h"

/* Runs the job's SQL; fills o (error text in err). */
static enum pgs_rc
job_run_sql(const struct runner *r, const struct claim *c,
    const struct claim_job *j, struct result **rs, long *ms, char *err,
    size_t errlen)
{
	struct exec_source	 src;
	struct exec_opts	 opts;
	char			 pw[CRED_PASSWORD_MAX + 1], app[64];
	PGconn			*conn = NULL;
	enum pgs_rc		 rc;

	if (*r->stop) {
		snprintf(err, errlen, "runner stopped");
		return PGS_INTERNAL;
	}
	rc = cred_open(r->keys, j->enc, j->enc_len, pw, sizeof(pw), NULL, err,
	    errlen);
	if (rc != PGS_OK)
		return rc;
	snprintf(app, sizeof(app), "pgsched:%ld:%ld", j->job_id, c->run_id);
	memset(&opts, 0, sizeof(opts));
	opts.appname = app;
	opts.connect_timeout_s = r->conf->source_connect_timeout_s;
	opts.timeout_ms = j->timeout_ms > 0 ? j->timeout_ms :
	    r->conf->runner_timeout_ms;
	opts.max_rows = (size_t)(j->max_rows > 0 ? j->max_rows :
	    r->conf->result_max_rows);
	opts.max_bytes = (size_t)r->conf->result_max_bytes;
	opts.cancel_slot = r->cancel_slot;
	opts.stop = r->stop;
	src.host = j->host;
	src.port = j->port;
	src.dbname = j->dbname;
	src.user = j->username;
	src.password = pw;
	rc = exec_connect(&src, &opts, &conn, err, errlen);
	sodium_memzero(pw, sizeof(pw));
	if (rc != PGS_OK) {
		char	 tmp[400];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "source connection failed: %s", tmp);
		return rc;
	}
	rc = exec_query(conn, j->sql_text, &opts, rs, ms, err, errlen);
	if (rc == PGS_TIMEOUT)
		snprintf(err, errlen, "timed out after %d ms (statement_timeout)",
		    opts.timeout_ms);
	PQfinish(conn);
	return rc;
}

enum pgs_rc
job_execute(const struct runner *r, struct db *meta, const struct claim *c)
{
	struct claim_outcome	 o;
	struct claim_job	 j;
	struct sqlguard_err	 why;
	struct result		*rs = NULL;
	struct arena		 a;
	struct buf		 doc = BUF_INIT;
	char			 err[SQLGUARD_MSG_MAX + 16] = "";
	long			 ms = 0;
	enum pgs_rc		 rc;

	arena_init(&a);
	memset(&o, 0, sizeof(o));
	rc = claim_load(meta, &a, c->run_id, &j);
	if (rc != PGS_OK)
		goto out;
	/* SELECT-only again before connecting: the saved text may predate
	 * a stricter validator. */
	if (sqlguard_check(j.sql_text, &why) != PGS_OK) {
		snprintf(err, sizeof(err), "rejected: %s", why.message);
		rc = PGS_INVALID;
	} else
		rc = job_run_sql(r, c, &j, &rs, &ms, err, sizeof(err));
	if (*r->stop && rc != PGS_OK)
		snprintf(err, sizeof(err), "runner stopped");
	o.duration_ms = ms;
	if (rc == PGS_OK) {
		rs_finish(rs, &doc);
		o.status = "success";
		o.rows = (long)rs_row_count(rs);
		o.doc = doc.data;
		o.doc_len = doc.len;
		o.truncated = rs_truncated(rs);
	} else {
		o.status = "error";
		o.error = err;
	}
	rc = claim_finish(meta, &a, c->run_id, &o);
	log_info("run_finish", "run=%ld query=%ld status=%s ms=%ld rows=%ld "
	    "bytes=%zu truncated=%d%s%s", c->run_id, c->job_id, o.status,
	    o.duration_ms, o.rows, o.doc_len, o.truncated, o.error ? " " : "",
	    o.error ? o.error : "");
out:
	if (rs != NULL)
		rs_free(rs);
	buf_free(&doc);
	arena_free(&a);
	return rc;
}
