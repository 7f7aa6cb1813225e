/*
 * query.c: SQL for query_job, the only writer of next_run_at
 * (query_move).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "log.h"
#include "sched.h"
#include "store.h"

/* Arena string of v, or NULL (SQL NULL) when v is 0 (unset). */
static const char *
query_opt(struct arena *a, long v)
{
	return v == 0 ? NULL : arena_printf(a, "%ld", v);
}

#define QUERY_COLS \
	"j.id, j.name, j.title, j.description, j.sql_text, j.data_source_id," \
	" s.name, j.schedule_type, j.schedule_expr, j.timezone, j.enabled," \
	" j.start_at, j.next_run_at, j.timeout_ms, j.max_rows, j.max_retries," \
	" j.retry_delay_s, j.pause_after_failures, j.keep_runs, j.keep_days," \
	" j.version, j.paused_at, j.pause_reason, j.total_runs," \
	" j.successful_runs, j.failed_runs, j.skipped_runs," \
	" j.consecutive_failures, j.last_run_at, j.last_run_status," \
	" j.last_run_duration_ms, j.created_at, j.updated_at," \
	" j.max_staleness_s," \
	" (SELECT al.state FROM query_alert al WHERE al.query_id = j.id)," \
	" coalesce(j.stale_at <= now(), false), j.visibility"
#define QUERY_FROM \
	" FROM query_job j JOIN data_source s ON s.id = j.data_source_id"

static void
query_fill(struct arena *a, const PGresult *res, int r, struct query *q)
{
	memset(q, 0, sizeof(*q));
	q->id = db_long(res, r, 0);
	q->name = db_str(a, res, r, 1);
	q->title = db_str(a, res, r, 2);
	q->description = db_str(a, res, r, 3);
	q->sql_text = db_str(a, res, r, 4);
	q->data_source_id = db_long(res, r, 5);
	q->data_source_name = db_str(a, res, r, 6);
	q->schedule_type = db_str(a, res, r, 7);
	q->schedule_expr = db_str(a, res, r, 8);
	q->timezone = db_str(a, res, r, 9);
	q->enabled = db_bool(res, r, 10);
	q->start_at = db_str(a, res, r, 11);
	q->next_run_at = db_str(a, res, r, 12);
	q->timeout_ms = (int)db_long(res, r, 13);
	q->max_rows = (int)db_long(res, r, 14);
	q->max_retries = (int)db_long(res, r, 15);
	q->retry_delay_s = (int)db_long(res, r, 16);
	q->pause_after_failures = (int)db_long(res, r, 17);
	q->keep_runs = (int)db_long(res, r, 18);
	q->keep_days = (int)db_long(res, r, 19);
	q->version = (int)db_long(res, r, 20);
	q->paused_at = db_str(a, res, r, 21);
	q->pause_reason = db_str(a, res, r, 22);
	q->total_runs = db_long(res, r, 23);
	q->successful_runs = db_long(res, r, 24);
	q->failed_runs = db_long(res, r, 25);
	q->skipped_runs = db_long(res, r, 26);
	q->consecutive_failures = db_long(res, r, 27);
	q->last_run_at = db_str(a, res, r, 28);
	q->last_run_status = db_str(a, res, r, 29);
	q->last_run_duration_ms =
	    PQgetisnull(res, r, 30) ? -1 : db_long(res, r, 30);
	q->created_at = db_str(a, res, r, 31);
	q->updated_at = db_str(a, res, r, 32);
	q->max_staleness_s = (int)db_long(res, r, 33);
	q->alert_state = db_str(a, res, r, 34);
	q->stale = db_bool(res, r, 35);
	q->visibility = db_str(a, res, r, 36);
}

/* The writable fields of q: p[0] the id, p[1..17] the settings, p[18]
 * max_staleness, p[19] the visibility (NULL: unchanged), p[20] the
 * version. */
static void
query_params(struct arena *a, const struct query *q, const char **p)
{
	p[0] = arena_printf(a, "%ld", q->id);
	p[1] = q->name;
	p[2] = q->title;
	p[3] = q->description;
	p[4] = q->sql_text;
	p[5] = arena_printf(a, "%ld", q->data_source_id);
	p[6] = q->schedule_type;
	p[7] = q->schedule_expr;
	p[8] = q->timezone != NULL && *q->timezone ? q->timezone : "UTC";
	p[9] = q->enabled ? "true" : "false";
	p[10] = q->start_at;
	p[11] = query_opt(a, q->timeout_ms);
	p[12] = query_opt(a, q->max_rows);
	p[13] = arena_printf(a, "%d", q->max_retries);
	p[14] =
	    arena_printf(a, "%d", q->retry_delay_s > 0 ? q->retry_delay_s : 60);
	p[15] = query_opt(a, q->pause_after_failures);
	p[16] = query_opt(a, q->keep_runs);
	p[17] = query_opt(a, q->keep_days);
	p[18] = query_opt(a, q->max_staleness_s);
	p[19] = q->visibility;
	p[20] = arena_printf(a, "%d", q->version);
}

enum pgs_rc
query_move(struct db *db, struct arena *a, long id, int64_t next)
{
	static const char sql[] =
	    "UPDATE query_job SET next_run_at = CASE WHEN $2::int8 IS NULL"
	    " THEN NULL ELSE to_timestamp($2::int8) END WHERE id = $1";
	const char *p[] = { arena_printf(a, "%ld", id),
		next != 0 ? arena_printf(a, "%" PRId64, next) : NULL };

	return db_cmd(db, a, sql, 2, p);
}

enum pgs_rc
query_reschedule(struct db *db, struct arena *a, long id)
{
	static const char sql_get[] =
	    "SELECT schedule_type, schedule_expr, timezone, enabled,"
	    " floor(extract(epoch FROM coalesce(start_at, created_at)))::int8,"
	    " floor(extract(epoch FROM now()))::int8"
	    " FROM query_job WHERE id = $1 FOR UPDATE";
	const char   *p[] = { arena_printf(a, "%ld", id) };
	char	      err[160];
	struct sched *s = NULL;
	PGresult     *res;
	int64_t	      anchor, now, next = 0;
	enum pgs_rc   rc;

	rc = db_query(db, a, sql_get, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	if (db_bool(res, 0, 3)) {
		rc = sched_parse(PQgetvalue(res, 0, 0), db_str(a, res, 0, 1),
		    PQgetvalue(res, 0, 2), db->default_interval_s, &s, err,
		    sizeof(err));
		if (rc != PGS_OK) {
			snprintf(db->errmsg, sizeof(db->errmsg), "%s", err);
			return rc;
		}
		anchor = (int64_t)db_long(res, 0, 4);
		now = (int64_t)db_long(res, 0, 5);
		rc = sched_next(s, anchor, now, &next, NULL);
		sched_free(s);
		if (rc == PGS_NOTFOUND)
			next = 0;
		else if (rc != PGS_OK)
			return rc;
	}
	return query_move(db, a, id, next);
}

enum pgs_rc
query_get_job(struct db *db, struct arena *a, long id, struct query_job *j)
{
	static const char sql[] =
	    "SELECT j.id, j.name, j.sql_text, j.timeout_ms, j.max_rows, " SOURCE_CONN_COLS
	    " FROM query_job j JOIN data_source s ON s.id = j.data_source_id"
	    " WHERE j.id = $1";
	const char *p[] = { arena_printf(a, "%ld", id) };
	PGresult   *res;
	enum pgs_rc rc;

	memset(j, 0, sizeof(*j));
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	j->id = db_long(res, 0, 0);
	j->name = db_str(a, res, 0, 1);
	j->sql_text = db_str(a, res, 0, 2);
	j->timeout_ms = (int)db_long(res, 0, 3);
	j->max_rows = (int)db_long(res, 0, 4);
	source_from_row(a, res, 0, 5, &j->source);
	return PGS_OK;
}

enum pgs_rc
query_create(struct db *db, struct arena *a, const struct query *q, long *id)
{
	static const char sql[] =
	    "INSERT INTO query_job (name, title, description, sql_text,"
	    " data_source_id, schedule_type, schedule_expr, timezone, enabled,"
	    " start_at, timeout_ms, max_rows, max_retries, retry_delay_s,"
	    " pause_after_failures, keep_runs, keep_days, max_staleness_s,"
	    " visibility) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	    " $12, $13, $14, $15, $16, $17, $18, coalesce($19, 'internal'))"
	    " RETURNING id";
	const char *p[21];
	PGresult   *res;
	enum pgs_rc rc;

	query_params(a, q, p);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 19, p + 1, &res);
	if (rc != PGS_OK)
		goto out;
	*id = db_long(res, 0, 0);
	rc = query_reschedule(db, a, *id);
out:
	return db_end(db, rc);
}

enum pgs_rc
query_get(struct db *db, struct arena *a, const char *id, const char *name,
    struct query *q)
{
	static const char	 sql_id[] =
	    "SELECT " QUERY_COLS QUERY_FROM " WHERE j.id = $1";
	static const char	 sql_name[] =
	    "SELECT " QUERY_COLS QUERY_FROM " WHERE j.name = $1";
	const char		*p[] = { id != NULL ? id : name };
	PGresult		*res;
	enum pgs_rc		 rc;

	rc = db_query(db, a, id != NULL ? sql_id : sql_name, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	query_fill(a, res, 0, q);
	return PGS_OK;
}

enum pgs_rc
query_list(struct db *db, struct arena *a, const struct query_filter *f,
    struct query_list *out)
{
	static const char sql[] =
	    "SELECT " QUERY_COLS ", count(*) OVER ()" QUERY_FROM
	    " WHERE ($1::text IS NULL OR strpos(lower(j.name), lower($1)) > 0"
	    "  OR strpos(lower(coalesce(j.title, '')), lower($1)) > 0)"
	    " AND ($2::boolean IS NULL OR j.enabled = $2::boolean)"
	    " AND ($3::int IS NULL OR j.data_source_id = $3::int)"
	    " AND ($6::boolean OR" ACCESS_SQL("7", "8",
		"9") ")"
		     " ORDER BY j.id LIMIT $4 OFFSET $5";
	const char *p[9];
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	p[0] = f->q;
	p[1] = f->enabled < 0 ? NULL : f->enabled ? "true" : "false";
	p[2] = query_opt(a, f->data_source_id);
	p[3] = arena_printf(a, "%d", f->limit);
	p[4] = arena_printf(a, "%d", f->offset);
	p[5] = f->caller == NULL ? "true" : "false";
	if (f->caller != NULL)
		access_sql_params(a, f->caller, p + 6);
	else
		p[6] = p[7] = p[8] = NULL;
	rc = db_query(db, a, sql, 9, p, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->total = out->n > 0 ? db_long(res, 0, 37) : 0;
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n);
	for (i = 0; i < out->n; i++)
		query_fill(a, res, i, &out->items[i]);
	return PGS_OK;
}

enum pgs_rc
query_update(struct db *db, struct arena *a, const struct query *q)
{
	static const char sql[] =
	    "UPDATE query_job SET name = $2, title = $3, description = $4,"
	    " sql_text = $5, data_source_id = $6, schedule_type = $7,"
	    " schedule_expr = $8, timezone = $9, enabled = $10,"
	    " start_at = $11, timeout_ms = $12, max_rows = $13,"
	    " max_retries = $14, retry_delay_s = $15,"
	    " pause_after_failures = $16, keep_runs = $17, keep_days = $18,"
	    " max_staleness_s = $19, visibility = coalesce($20, visibility),"
	    " version = version + 1, updated_at = now(),"
	    " paused_at = CASE WHEN $10 THEN NULL ELSE paused_at END,"
	    " pause_reason = CASE WHEN $10 THEN NULL ELSE pause_reason END,"
	    " consecutive_failures = CASE WHEN $10 AND NOT enabled THEN 0"
	    "  ELSE consecutive_failures END"
	    " WHERE id = $1 AND version = $21 RETURNING id";
	static const char sql_exists[] =
	    "SELECT 1 FROM query_job WHERE id = $1";
	const char *p[21];
	PGresult   *res;
	enum pgs_rc rc;

	query_params(a, q, p);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 21, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0) {
		/* Gone, or changed by someone else since it was read. */
		rc = db_query(db, a, sql_exists, 1, p, &res);
		if (rc == PGS_OK)
			rc = PQntuples(res) == 0 ? PGS_NOTFOUND : PGS_CONFLICT;
		goto out;
	}
	if (rc == PGS_OK)
		rc = query_reschedule(db, a, q->id);
out:
	return db_end(db, rc);
}

enum pgs_rc
query_set_enabled(struct db *db, struct arena *a, long id, bool enabled)
{
	static const char sql[] =
	    "UPDATE query_job SET enabled = $2::boolean, updated_at = now(),"
	    " version = version + 1,"
	    " paused_at = CASE WHEN $2::boolean THEN NULL ELSE paused_at END,"
	    " pause_reason = CASE WHEN $2::boolean THEN NULL"
	    "  ELSE pause_reason END,"
	    " consecutive_failures = CASE WHEN $2::boolean AND NOT enabled"
	    "  THEN 0 ELSE consecutive_failures END"
	    " WHERE id = $1 RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", id),
		enabled ? "true" : "false" };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK)
		rc = query_reschedule(db, a, id);
	return db_end(db, rc);
}

enum pgs_rc
query_delete(struct db *db, struct arena *a, long id, bool force)
{
	static const char sql[] =
	    "DELETE FROM query_job j WHERE id = $1 AND ($2::boolean OR NOT"
	    " EXISTS (SELECT 1 FROM query_run r WHERE r.query_id = j.id))"
	    " RETURNING id";
	static const char sql_exists[] =
	    "SELECT 1 FROM query_job WHERE id = $1";
	const char *p[] = { arena_printf(a, "%ld", id),
		force ? "true" : "false" };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 2, p, &res);
	if (rc != PGS_OK || PQntuples(res) > 0)
		return rc;
	rc = db_query(db, a, sql_exists, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	return PQntuples(res) == 0 ? PGS_NOTFOUND : PGS_CONFLICT;
}
