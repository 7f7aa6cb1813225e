/*
 * notify_store_out.c: SQL for a query's alert definition, the deliveries
 * of the outbox and the figures of /metrics (see notify_store.h).  The
 * outbox is only read here and added to (a redelivery is a new row): its
 * rows are the runner's to change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_store.h"

enum pgs_rc
notify_store_alert_get(struct db *db, struct arena *a, long qid,
    struct alert *al, bool *exists)
{
	static const char sql[] =
	    "SELECT j.id, al.kind, al.column_name, al.op, al.value,"
	    " al.value_is_number, al.state, al.since, al.last_error,"
	    " al.last_error_at, al.updated_at FROM query_job j"
	    " LEFT JOIN query_alert al ON al.query_id = j.id WHERE j.id = $1";
	const char *p[] = { arena_printf(a, "%ld", qid) };
	PGresult   *res;
	enum pgs_rc rc;

	memset(al, 0, sizeof(*al));
	*exists = false;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	if (PQgetisnull(res, 0, 1))
		return PGS_OK;
	*exists = true;
	al->query_id = qid;
	al->kind = db_str(a, res, 0, 1);
	al->column_name = db_str(a, res, 0, 2);
	al->op = db_str(a, res, 0, 3);
	al->value = db_str(a, res, 0, 4);
	al->value_is_number = db_bool(res, 0, 5);
	al->state = db_str(a, res, 0, 6);
	al->since = db_str(a, res, 0, 7);
	al->last_error = db_str(a, res, 0, 8);
	al->last_error_at = db_str(a, res, 0, 9);
	al->updated_at = db_str(a, res, 0, 10);
	return PGS_OK;
}

/* Whether the stored alert `al` has the definition being written. */
#define NOTIFY_ALERT_SAME \
	"((al.kind, al.column_name, al.op, al.value, al.value_is_number)" \
	" IS NOT DISTINCT FROM (EXCLUDED.kind, EXCLUDED.column_name," \
	" EXCLUDED.op, EXCLUDED.value, EXCLUDED.value_is_number))"

enum pgs_rc
notify_store_alert_put(struct db *db, struct arena *a, const struct alert *al)
{
	/* The same definition again keeps its state: only a new or changed
	 * alert starts ok (a repeated PUT invents no alert.firing). */
	static const char sql[] =
	    "INSERT INTO query_alert AS al (query_id, kind, column_name, op,"
	    " value, value_is_number) VALUES ($1, $2, $3, $4, $5, $6::boolean)"
	    " ON CONFLICT (query_id) DO UPDATE SET kind = EXCLUDED.kind,"
	    " column_name = EXCLUDED.column_name, op = EXCLUDED.op,"
	    " value = EXCLUDED.value,"
	    " value_is_number = EXCLUDED.value_is_number, updated_at = now(),"
	    " state = CASE WHEN " NOTIFY_ALERT_SAME " THEN al.state"
	    "  ELSE 'ok' END,"
	    " since = CASE WHEN " NOTIFY_ALERT_SAME " THEN al.since"
	    "  ELSE now() END,"
	    " last_error = CASE WHEN " NOTIFY_ALERT_SAME " THEN al.last_error"
	    "  END,"
	    " last_error_at = CASE WHEN " NOTIFY_ALERT_SAME
	    "  THEN al.last_error_at END";
	const char *p[6];
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", al->query_id);
	p[1] = al->kind;
	p[2] = al->column_name;
	p[3] = al->op;
	p[4] = al->value;
	p[5] = al->value_is_number ? "true" : "false";
	rc = db_cmd(db, a, sql, 6, p);
	/* The foreign key: no such query. */
	if (rc == PGS_INVALID && strcmp(db->sqlstate, "23503") == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
notify_store_alert_delete(struct db *db, struct arena *a, long qid, bool *query)
{
	static const char sql[] =
	    "WITH d AS (DELETE FROM query_alert WHERE query_id = $1"
	    " RETURNING 1) SELECT (SELECT 1 FROM query_job WHERE id = $1),"
	    " (SELECT count(*) FROM d)";
	const char *p[] = { arena_printf(a, "%ld", qid) };
	PGresult   *res;
	enum pgs_rc rc;

	*query = false;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	*query = !PQgetisnull(res, 0, 0);
	return db_long(res, 0, 1) > 0 ? PGS_OK : PGS_NOTFOUND;
}

#define NOTIFY_DELIVERY_COLS \
	"d.id, d.channel_id, c.name, c.kind, d.event, d.query_id, d.run_id," \
	" d.webhook_id, d.status, d.attempts, d.next_attempt_at," \
	" d.last_attempt_at, d.last_status, d.last_error, d.created_at," \
	" d.delivered_at, d.redelivery_of, d.requested_by"
#define NOTIFY_DELIVERY_NCOLS 18
#define NOTIFY_DELIVERY_FROM \
	" FROM notify_delivery d" \
	" LEFT JOIN notify_channel c ON c.id = d.channel_id"

/* Fills d (zeroed first) from row r of res (NOTIFY_DELIVERY_COLS). */
static void
notify_store_delivery_fill(struct arena *a, const PGresult *res, int r,
    struct delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->id = db_long(res, r, 0);
	d->channel_id = db_long(res, r, 1);
	d->channel_name = db_str(a, res, r, 2);
	d->channel_kind = db_str(a, res, r, 3);
	d->event = db_str(a, res, r, 4);
	d->query_id = db_long(res, r, 5);
	d->run_id = db_long(res, r, 6);
	d->webhook_id = db_str(a, res, r, 7);
	d->status = db_str(a, res, r, 8);
	d->attempts = db_long(res, r, 9);
	d->next_attempt_at = db_str(a, res, r, 10);
	d->last_attempt_at = db_str(a, res, r, 11);
	d->last_status = db_long(res, r, 12);
	d->last_error = db_str(a, res, r, 13);
	d->created_at = db_str(a, res, r, 14);
	d->delivered_at = db_str(a, res, r, 15);
	d->redelivery_of = db_long(res, r, 16);
	d->requested_by = db_long(res, r, 17);
}

/* Arena text of v, or NULL (SQL NULL) when v is 0. */
static const char *
notify_store_opt(struct arena *a, long v)
{
	return v == 0 ? NULL : arena_printf(a, "%ld", v);
}

enum pgs_rc
notify_store_delivery_list(struct db *db, struct arena *a,
    const struct delivery_filter *f, struct delivery_list *out)
{
	static const char sql[] =
	    "SELECT " NOTIFY_DELIVERY_COLS
	    ", count(*) OVER ()" NOTIFY_DELIVERY_FROM
	    " WHERE ($1::int IS NULL OR d.channel_id = $1::int)"
	    " AND ($2::int IS NULL OR d.query_id = $2::int)"
	    " AND ($3::text IS NULL OR d.status = $3)"
	    " ORDER BY d.id DESC LIMIT $4 OFFSET $5";
	const char *p[5];
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	p[0] = notify_store_opt(a, f->channel_id);
	p[1] = notify_store_opt(a, f->query_id);
	p[2] = f->status;
	p[3] = arena_printf(a, "%d", f->limit);
	p[4] = arena_printf(a, "%d", f->offset);
	rc = db_query(db, a, sql, 5, p, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->total = out->n > 0 ? db_long(res, 0, NOTIFY_DELIVERY_NCOLS) : 0;
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n + 1);
	for (i = 0; i < out->n; i++)
		notify_store_delivery_fill(a, res, i, &out->items[i]);
	return PGS_OK;
}

enum pgs_rc
notify_store_delivery_get(struct db *db, struct arena *a, long id,
    struct delivery *d)
{
	static const char sql[] =
	    "SELECT " NOTIFY_DELIVERY_COLS ", d.payload" NOTIFY_DELIVERY_FROM
	    " WHERE d.id = $1";
	const char *p[] = { arena_printf(a, "%ld", id) };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	notify_store_delivery_fill(a, res, 0, d);
	d->payload = db_str(a, res, 0, NOTIFY_DELIVERY_NCOLS);
	return PGS_OK;
}

/* PGS_CONFLICT with the reason in db->errmsg when delivery id cannot be
 * asked for again; PGS_NOTFOUND when there is none. */
static enum pgs_rc
notify_store_redeliver_check(struct db *db, struct arena *a, const char *id)
{
	static const char sql[] =
	    "SELECT d.status, d.channel_id IS NULL, coalesce(c.enabled, false),"
	    " EXISTS (SELECT 1 FROM notify_delivery o WHERE o.status = 'pending'"
	    "  AND o.webhook_id = d.webhook_id AND o.channel_id = d.channel_id)" NOTIFY_DELIVERY_FROM
	    " WHERE d.id = $1";
	const char *p[] = { id }, *why = NULL;
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	if (strcmp(PQgetvalue(res, 0, 0), "pending") == 0)
		why = "the delivery is still pending";
	else if (db_bool(res, 0, 1))
		why = "its channel was deleted";
	else if (!db_bool(res, 0, 2))
		why = "its channel is disabled; enable it first";
	else if (db_bool(res, 0, 3))
		why = "a redelivery of this event is pending";
	if (why == NULL)
		return PGS_OK;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", why);
	return PGS_CONFLICT;
}

enum pgs_rc
notify_store_delivery_redeliver(struct db *db, struct arena *a, long id,
    long user, long *new_id)
{
	static const char sql[] =
	    "INSERT INTO notify_delivery (channel_id, event, query_id, run_id,"
	    " webhook_id, payload, redelivery_of, requested_by)"
	    " SELECT channel_id, event, query_id, run_id, webhook_id, payload,"
	    " id, $2 FROM notify_delivery WHERE id = $1 RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", id),
		notify_store_opt(a, user) };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = notify_store_redeliver_check(db, a, p[0]);
	if (rc == PGS_OK)
		rc = db_query(db, a, sql, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK)
		*new_id = db_long(res, 0, 0);
	return db_end(db, rc);
}

enum pgs_rc
notify_store_stats(struct db *db, struct arena *a, struct notify_stats *out)
{
	static const char sql_counts[] =
	    "SELECT coalesce(c.kind, 'deleted'), d.status, count(*)" NOTIFY_DELIVERY_FROM
	    " GROUP BY 1, 2 ORDER BY 1, 2";
	static const char sql_figures[] =
	    "SELECT (SELECT count(*) FROM notify_delivery"
	    "  WHERE status = 'pending'),"
	    " coalesce((SELECT extract(epoch FROM now() - min(created_at))"
	    "  FROM notify_delivery WHERE status = 'pending'), 0),"
	    " (SELECT count(*) FROM query_job WHERE stale_at <= now())";
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	memset(out, 0, sizeof(*out));
	rc = db_query(db, a, sql_counts, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->ncounts = PQntuples(res);
	out->counts =
	    arena_alloc(a, sizeof(*out->counts) * (size_t)out->ncounts + 1);
	for (i = 0; i < out->ncounts; i++) {
		out->counts[i].kind = db_str(a, res, i, 0);
		out->counts[i].status = db_str(a, res, i, 1);
		out->counts[i].n = db_long(res, i, 2);
	}
	rc = db_query(db, a, sql_figures, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->pending = db_long(res, 0, 0);
	out->oldest_pending_s = strtod(PQgetvalue(res, 0, 1), NULL);
	out->stale_jobs = db_long(res, 0, 2);
	return PGS_OK;
}
