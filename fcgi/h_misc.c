/*
 * h_misc.c: /healthz, /metrics and /api/openapi.json.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "run.h"

enum pgs_rc
h_healthz(struct req *r)
{
	cJSON	   *o;
	enum pgs_rc rc = PGS_DB;

	if (app_db_ready(r->app))
		rc = db_exec(&r->app->db, r->a, "SELECT 1", 0, NULL,
		    PGRES_TUPLES_OK, NULL);
	if (rc != PGS_OK)
		return reply_status(r, 503, "unavailable",
		    "the database is unavailable");
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "db", "up");
	return reply_json(r, 200, o);
}

/* The gauges and counters read from the metadata database. */
static void
metrics_db(struct req *r, struct buf *b)
{
	struct run_stats s;
	bool		 up = false;

	if (app_db_ready(r->app) &&
	    run_queue_stats(&r->app->db, r->a, &s) == PGS_OK)
		up = true;
	buf_printf(b,
	    "# HELP pgsched_db_up Whether this worker reaches the "
	    "metadata database.\n# TYPE pgsched_db_up gauge\n"
	    "pgsched_db_up %d\n",
	    up);
	if (!up)
		return;
	buf_printf(b,
	    "# HELP pgsched_runs_total Finished runs by status.\n"
	    "# TYPE pgsched_runs_total counter\n"
	    "pgsched_runs_total{status=\"success\"} %ld\n"
	    "pgsched_runs_total{status=\"error\"} %ld\n"
	    "pgsched_runs_total{status=\"skipped\"} %ld\n",
	    s.success, s.error, s.skipped);
	buf_printf(b,
	    "# HELP pgsched_runs_open Runs not finished yet.\n"
	    "# TYPE pgsched_runs_open gauge\n"
	    "pgsched_runs_open{status=\"queued\"} %ld\n"
	    "pgsched_runs_open{status=\"running\"} %ld\n",
	    s.queued, s.running);
	buf_printf(b,
	    "# HELP pgsched_scheduler_lag_seconds now() minus the "
	    "oldest next_run_at of enabled due jobs.\n"
	    "# TYPE pgsched_scheduler_lag_seconds gauge\n"
	    "pgsched_scheduler_lag_seconds %.3f\n",
	    s.lag_s);
	buf_printf(b,
	    "# HELP pgsched_jobs_due Enabled jobs past their next "
	    "run.\n# TYPE pgsched_jobs_due gauge\npgsched_jobs_due %ld\n"
	    "# HELP pgsched_jobs_enabled Enabled jobs.\n"
	    "# TYPE pgsched_jobs_enabled gauge\npgsched_jobs_enabled %ld\n",
	    s.due_jobs, s.enabled_jobs);
}

enum pgs_rc
h_metrics(struct req *r)
{
	struct buf  b = BUF_INIT;
	enum pgs_rc rc;

	metrics_write(r->app->metrics, r->app->routes, r->app->nroutes,
	    &r->app->log_dropped_seen, &b);
	metrics_db(r, &b);
	rc = reply_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	buf_free(&b);
	return rc;
}

enum pgs_rc
h_openapi(struct req *r)
{
	struct buf  b = BUF_INIT;
	char	    chunk[8192], qpath[1100];
	size_t	    n;
	FILE	   *fp;
	enum pgs_rc rc;

	fp = fopen(r->app->openapi_path, "r");
	if (fp == NULL) {
		log_err("openapi", "path=\"%s\" %s",
		    log_quote(r->app->openapi_path, 512, qpath, sizeof(qpath)),
		    strerror(errno));
		return req_fail(r, PGS_NOTFOUND, "not_found",
		    "the OpenAPI "
		    "description is not installed");
	}
	for (n = fread(chunk, 1, sizeof(chunk), fp); n > 0;
	     n = fread(chunk, 1, sizeof(chunk), fp))
		buf_append(&b, chunk, n);
	fclose(fp);
	rc =
	    reply_send(r, 200, "application/json", b.data ? b.data : "", b.len);
	buf_free(&b);
	return rc;
}
