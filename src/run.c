/*
 * run.c: SQL reading query_run and query_run_blob (see run.h).  It writes
 * nothing: run_store.c does.  Lists use
 * keyset paging on the query_run_by_query index (query_id, id DESC); time
 * filters use query_run_by_start; "latest successful" uses
 * query_run_success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "run.h"

/* An ISO 8601 UTC rendering of a timestamptz column, NULL stays NULL. */
#define RUN_ISO(col) \
	"to_char(" col \
	" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define RUN_COLS \
	"r.id, r.query_id, " RUN_ISO("r.scheduled_at") ", r.job_timezone, " RUN_ISO("r.run_started_at") ", " RUN_ISO( \
	    "r.run_finished_at") ", r.duration_ms, r.status, r.rows_returned, r.error_message," \
				 " r.triggered_by, r.triggered_by_user, r.runner_host, r.runner_pid," \
				 " r.missed_slots, r.attempt, r.retry_of, " RUN_ISO( \
				     "r.queued_at") ", b.run_id IS NOT NULL, b.format, b.row_count, b.byte_size," \
						    " coalesce(b.truncated, false)"
#define RUN_NCOLS 23
#define RUN_FROM \
	" FROM query_run r LEFT JOIN query_run_blob b ON b.run_id = r.id"
/* Optional filters $2 status, $3 start, $4 end (NULL: not applied). */
#define RUN_FILTER \
	" AND ($2::text IS NULL OR r.status = $2)" \
	" AND ($3::timestamptz IS NULL OR r.run_started_at >= $3)" \
	" AND ($4::timestamptz IS NULL OR r.run_started_at < $4)"

/* Value of an integer column, or dflt for SQL NULL. */
static long
run_long(const PGresult *res, int r, int c, long dflt)
{
	return PQgetisnull(res, r, c) ? dflt : db_long(res, r, c);
}

static void
run_fill(struct arena *a, const PGresult *res, int i, struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_long(res, i, 0);
	r->query_id = db_long(res, i, 1);
	r->scheduled_at = db_str(a, res, i, 2);
	r->job_timezone = db_str(a, res, i, 3);
	r->run_started_at = db_str(a, res, i, 4);
	r->run_finished_at = db_str(a, res, i, 5);
	r->duration_ms = run_long(res, i, 6, -1);
	r->status = db_str(a, res, i, 7);
	r->rows_returned = run_long(res, i, 8, -1);
	r->error_message = db_str(a, res, i, 9);
	r->triggered_by = db_str(a, res, i, 10);
	r->triggered_by_user = run_long(res, i, 11, 0);
	r->runner_host = db_str(a, res, i, 12);
	r->runner_pid = run_long(res, i, 13, 0);
	r->missed_slots = run_long(res, i, 14, 1);
	r->attempt = run_long(res, i, 15, 0);
	r->retry_of = run_long(res, i, 16, 0);
	r->queued_at = db_str(a, res, i, 17);
	r->has_blob = db_bool(res, i, 18);
	r->format = db_str(a, res, i, 19);
	r->row_count = run_long(res, i, 20, -1);
	r->byte_size = run_long(res, i, 21, -1);
	r->truncated = db_bool(res, i, 22);
}

/* Fills r from row 0 of res with the df_json text in column RUN_NCOLS,
 * which points into res: db_query gave res to the arena a, so it lives as
 * long (a result of megabytes is not copied once more). */
static enum pgs_rc
run_fill_one(struct arena *a, const PGresult *res, struct run *r)
{
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	run_fill(a, res, 0, r);
	if (!PQgetisnull(res, 0, RUN_NCOLS)) {
		r->df_json = PQgetvalue(res, 0, RUN_NCOLS);
		r->df_json_len = (size_t)PQgetlength(res, 0, RUN_NCOLS);
	}
	return PGS_OK;
}

bool
run_status_valid(const char *s)
{
	static const char *const statuses[] = { "queued", "running", "success",
		"error", "skipped" };
	size_t			 i;

	for (i = 0; s != NULL && i < sizeof(statuses) / sizeof(*statuses); i++)
		if (strcmp(s, statuses[i]) == 0)
			return true;
	return false;
}

/* How each error message pg-sched writes (or wrote, or libpq gave older
 * versions) begins, and its class; the first match wins. */
static const struct {
	const char *prefix;
	const char *class;
} run_error_classes[] = {
	{ "source connection failed", "source unreachable" },
	{ "source did not answer", "source unreachable" },
	{ "connection to server ", "source unreachable" },
	{ "could not connect to server", "source unreachable" },
	{ "could not translate host name", "source unreachable" },
	{ "server closed the connection", "source unreachable" },
	{ "no connection to the server", "source unreachable" },
	{ "terminating connection due to", "source unreachable" },
	{ "credential unavailable", "credential unavailable" },
	{ "cannot decrypt", "credential unavailable" },
	{ "timed out after", "timeout" },
	{ "canceling statement due to statement timeout", "timeout" },
	{ "result too large", "result too large" },
	{ "rejected:", "query rejected" },
	{ "runner died", "runner died" },
	{ "runner worker crashed", "runner died" },
	{ "runner worker failed", "runner died" },
	{ "runner could not start", "runner failed" },
	{ "runner stopped", "runner stopped" },
	{ "cancelled:", "cancelled" },
	{ "canceling statement due to user request", "cancelled" },
	{ "skipped: the previous run", "previous run still executing" },
	{ "skipped:", "skipped" },
};

const char *
run_error_class(const char *msg)
{
	size_t i, n;

	if (msg == NULL)
		return NULL;
	for (i = 0;
	     i < sizeof(run_error_classes) / sizeof(run_error_classes[0]);
	     i++) {
		n = strlen(run_error_classes[i].prefix);
		if (strncmp(msg, run_error_classes[i].prefix, n) == 0)
			return run_error_classes[i].class;
	}
	return "query error";
}

enum pgs_rc
run_get(struct db *db, struct arena *a, long id, bool with_result,
    struct run *r)
{
	static const char sql[] =
	    "SELECT " RUN_COLS
	    ", CASE WHEN $2::bool THEN b.df_json::text END" RUN_FROM
	    " WHERE r.id = $1";
	const char *p[2];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", id);
	p[1] = with_result ? "true" : "false";
	rc = db_query(db, a, sql, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	return run_fill_one(a, res, r);
}

enum pgs_rc
run_latest(struct db *db, struct arena *a, long query_id, bool any_status,
    bool with_result, struct run *r)
{
	static const char sql_ok[] =
	    "SELECT " RUN_COLS
	    ", CASE WHEN $2::bool THEN b.df_json::text END" RUN_FROM
	    " WHERE r.query_id = $1 AND r.status = 'success'"
	    " ORDER BY r.id DESC LIMIT 1";
	static const char sql_any[] =
	    "SELECT " RUN_COLS
	    ", CASE WHEN $2::bool THEN b.df_json::text END" RUN_FROM
	    " WHERE r.query_id = $1 ORDER BY r.id DESC LIMIT 1";
	const char *p[2];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", query_id);
	p[1] = with_result ? "true" : "false";
	rc = db_query(db, a, any_status ? sql_any : sql_ok, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	return run_fill_one(a, res, r);
}

/*
 * Parses an ISO 8601 filter value into an arena string PostgreSQL reads
 * the same way ("2026-03-29T00:00:00.250000Z"); NULL stays NULL.
 */
static enum pgs_rc
run_time_param(struct db *db, struct arena *a, const char *name, const char *s,
    const char **out)
{
	char	err[128], buf[ISOTIME_BUFSZ];
	int64_t t;
	int32_t usec;

	*out = NULL;
	if (s == NULL)
		return PGS_OK;
	if (isotime_parse(s, &t, &usec, err, sizeof(err)) != PGS_OK) {
		snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", name, err);
		return PGS_INVALID;
	}
	isotime_format_utc(t, buf);
	buf[strlen(buf) - 1] = '\0'; /* drop the Z */
	*out = arena_printf(a, "%s.%06dZ", buf, (int)usec);
	return PGS_OK;
}

/* Checks f, writing the reason into db->errmsg; PGS_OK or PGS_INVALID. */
static enum pgs_rc
run_filter_check(struct db *db, const struct run_filter *f)
{
	const char *bad = NULL;

	if (f->limit < 1 || f->limit > RUN_LIST_MAX)
		bad = "limit";
	else if (f->status != NULL && !run_status_valid(f->status))
		bad = "status";
	else if (f->before < 0 || f->after < 0)
		bad = f->before < 0 ? "before" : "after";
	if (bad == NULL)
		return PGS_OK;
	snprintf(db->errmsg, sizeof(db->errmsg), "invalid %s", bad);
	return PGS_INVALID;
}

/* Sets the paging values of out from the ids on its page. */
static enum pgs_rc
run_list_paging(struct db *db, struct arena *a, const char **p,
    struct run_list *out)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM query_run r WHERE r.query_id = $1"
	    " AND r.id < $5::int8" RUN_FILTER "),"
	    " EXISTS (SELECT 1 FROM query_run r WHERE r.query_id = $1"
	    " AND r.id > $6::int8" RUN_FILTER ")";
	const char *q[6];
	PGresult   *res;
	enum pgs_rc rc;
	long	    oldest, newest;

	out->next_before = 0;
	out->prev_after = 0;
	if (out->n == 0)
		return PGS_OK;
	newest = out->items[0].id;
	oldest = out->items[out->n - 1].id;
	memcpy(q, p, 4 * sizeof(*q));
	q[4] = arena_printf(a, "%ld", oldest);
	q[5] = arena_printf(a, "%ld", newest);
	rc = db_query(db, a, sql, 6, q, &res);
	if (rc != PGS_OK)
		return rc;
	if (db_bool(res, 0, 0))
		out->next_before = oldest;
	if (db_bool(res, 0, 1))
		out->prev_after = newest;
	return PGS_OK;
}

enum pgs_rc
run_list(struct db *db, struct arena *a, long query_id,
    const struct run_filter *f, struct run_list *out)
{
	/* Newest first below `before`; or, with `after` alone, the runs just
	 * above `after` (read oldest first, then turned around). */
	static const char      sql_desc[] =
	    "SELECT " RUN_COLS RUN_FROM " WHERE r.query_id = $1"
	    " AND ($5::int8 IS NULL OR r.id < $5) AND ($6::int8 IS NULL OR"
	    " r.id > $6)" RUN_FILTER " ORDER BY r.id DESC LIMIT $7";
	static const char      sql_asc[] =
	    "SELECT " RUN_COLS RUN_FROM " WHERE r.query_id = $1"
	    " AND ($5::int8 IS NULL OR r.id < $5) AND r.id > $6" RUN_FILTER
	    " ORDER BY r.id ASC LIMIT $7";
	const char *p[7];
	PGresult   *res;
	enum pgs_rc rc;
	bool	    asc = f->after > 0 && f->before == 0;
	int	    i, n;

	memset(out, 0, sizeof(*out));
	rc = run_filter_check(db, f);
	if (rc == PGS_OK)
		rc = run_time_param(db, a, "start", f->start, &p[2]);
	if (rc == PGS_OK)
		rc = run_time_param(db, a, "end", f->end, &p[3]);
	if (rc != PGS_OK)
		return rc;
	p[0] = arena_printf(a, "%ld", query_id);
	p[1] = f->status;
	p[4] = f->before > 0 ? arena_printf(a, "%ld", f->before) : NULL;
	p[5] = f->after > 0 ? arena_printf(a, "%ld", f->after) : NULL;
	p[6] = arena_printf(a, "%d", f->limit);
	rc = db_query(db, a, asc ? sql_asc : sql_desc, 7, p, &res);
	if (rc != PGS_OK)
		return rc;
	n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)(n + 1));
	for (i = 0; i < n; i++)
		run_fill(a, res, asc ? n - 1 - i : i, &out->items[i]);
	out->n = n;
	return run_list_paging(db, a, p, out);
}

/* The neighbour of run_id among the runs of query_id (see run.h). */
static enum pgs_rc
run_adjacent(struct db *db, struct arena *a, long query_id, long run_id,
    bool older, long *out)
{
	static const char sql_prev[] =
	    "SELECT (SELECT max(o.id) FROM query_run o WHERE o.query_id = $1"
	    " AND o.id < $2) FROM query_run r WHERE r.id = $2"
	    " AND r.query_id = $1";
	static const char sql_next[] =
	    "SELECT (SELECT min(o.id) FROM query_run o WHERE o.query_id = $1"
	    " AND o.id > $2) FROM query_run r WHERE r.id = $2"
	    " AND r.query_id = $1";
	const char *p[2];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", query_id);
	p[1] = arena_printf(a, "%ld", run_id);
	rc = db_query(db, a, older ? sql_prev : sql_next, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
		return PGS_NOTFOUND;
	*out = db_long(res, 0, 0);
	return PGS_OK;
}

enum pgs_rc
run_prev(struct db *db, struct arena *a, long query_id, long run_id, long *out)
{
	return run_adjacent(db, a, query_id, run_id, true, out);
}

enum pgs_rc
run_next(struct db *db, struct arena *a, long query_id, long run_id, long *out)
{
	return run_adjacent(db, a, query_id, run_id, false, out);
}

enum pgs_rc
run_queue_stats(struct db *db, struct arena *a, struct run_stats *out)
{
	/* Final statuses come from the trigger-kept statistics, so /metrics
	 * never scans the run history; open runs use query_run_active. */
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM query_run WHERE status = 'queued'),"
	    " (SELECT count(*) FROM query_run WHERE status = 'running'),"
	    " coalesce(sum(successful_runs), 0), coalesce(sum(failed_runs), 0),"
	    " coalesce(sum(skipped_runs), 0),"
	    " coalesce(extract(epoch FROM now() - min(next_run_at) FILTER"
	    "  (WHERE enabled AND next_run_at <= now())), 0),"
	    " count(*) FILTER (WHERE enabled AND next_run_at <= now()),"
	    " count(*) FILTER (WHERE enabled)"
	    " FROM query_job";
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->queued = db_long(res, 0, 0);
	out->running = db_long(res, 0, 1);
	out->success = db_long(res, 0, 2);
	out->error = db_long(res, 0, 3);
	out->skipped = db_long(res, 0, 4);
	out->lag_s = strtod(PQgetvalue(res, 0, 5), NULL);
	out->due_jobs = db_long(res, 0, 6);
	out->enabled_jobs = db_long(res, 0, 7);
	return PGS_OK;
}
