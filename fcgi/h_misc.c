/*
 * h_misc.c: /healthz, /metrics and /api/openapi.json.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "notify_store.h"
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

/* The figures of notifications (CONTRACT section 8): deliveries of the
 * outbox by channel kind and status, the pending ones and the oldest's
 * age, the stale jobs. */
static void
metrics_notify(struct req *r, struct buf *b)
{
	struct notify_stats s;
	int		    i;

	if (notify_store_stats(&r->app->db, r->a, &s) != PGS_OK)
		return;
	buf_puts(b,
	    "# HELP pgsched_notify_deliveries Deliveries in the "
	    "outbox by channel kind and status.\n"
	    "# TYPE pgsched_notify_deliveries gauge\n");
	for (i = 0; i < s.ncounts; i++)
		buf_printf(b,
		    "pgsched_notify_deliveries{kind=\"%s\",status=\"%s\"} "
		    "%ld\n",
		    s.counts[i].kind, s.counts[i].status, s.counts[i].n);
	buf_printf(b,
	    "# HELP pgsched_notify_pending Deliveries waiting for an "
	    "attempt.\n# TYPE pgsched_notify_pending gauge\n"
	    "pgsched_notify_pending %ld\n"
	    "# HELP pgsched_notify_oldest_pending_seconds Age of the "
	    "oldest pending delivery.\n"
	    "# TYPE pgsched_notify_oldest_pending_seconds gauge\n"
	    "pgsched_notify_oldest_pending_seconds %.3f\n"
	    "# HELP pgsched_jobs_stale Jobs without a success within "
	    "their max_staleness.\n# TYPE pgsched_jobs_stale gauge\n"
	    "pgsched_jobs_stale %ld\n",
	    s.pending, s.oldest_pending_s, s.stale_jobs);
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
	metrics_notify(r, b);
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
