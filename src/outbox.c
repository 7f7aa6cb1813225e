/*
 * outbox.c: events into notify_delivery with what caused them (see
 * outbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alert.h"
#include "log.h"
#include "outbox.h"
#include "webhook.h"

/* to_char(ts TS_UTC): a timestamptz as ISO 8601 UTC, microseconds. */
#define TS_UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

/* The events a query's subscriptions ask for: name and channel count. */
struct outbox_subs {
	const PGresult *res; /* event, count */
};

/* What outbox_run decides from. */
struct outbox_ctx {
	long		 query_id;
	bool		 success;
	bool		 paused;
	const char	*hash, *prev_hash;
	bool		 has_alert;
	const char	*state, *last_error;
	struct alert_def alert;
};

void
outbox_hash_hex(const char *doc, size_t len, char out[OUTBOX_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)doc, len, NULL,
	    0);
	sodium_bin2hex(out, OUTBOX_HASH_HEX, h, sizeof(h));
}

/* Returns how many enabled channels of the query want event. */
static int
outbox_wanted(const struct outbox_subs *s, const char *event)
{
	int i;

	for (i = 0; s->res != NULL && i < PQntuples(s->res); i++)
		if (strcmp(PQgetvalue(s->res, i, 0), event) == 0)
			return (int)db_long(s->res, i, 1);
	return 0;
}

/* Reads the subscriptions of query_id into s (rows arena-owned). */
static enum pgs_rc
outbox_subs_load(struct db *db, struct arena *a, long query_id,
    struct outbox_subs *s)
{
	static const char sql[] =
	    "SELECT e, count(*) FROM query_notify qn"
	    " JOIN notify_channel c ON c.id = qn.channel_id"
	    " CROSS JOIN unnest(qn.events) e"
	    " WHERE qn.query_id = $1 AND c.enabled GROUP BY e";
	const char *p[] = { arena_printf(a, "%ld", query_id) };
	PGresult   *res;
	enum pgs_rc rc;

	s->res = NULL;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		s->res = res;
	return rc;
}

/* Returns a text[] literal of n new webhook ids (arena-owned). */
static const char *
outbox_ids(struct arena *a, int n)
{
	char *lit, *p;
	char  id[WEBHOOK_ID_SIZE];
	int   i;

	lit = arena_alloc(a, (size_t)n * WEBHOOK_ID_SIZE + 3);
	p = lit;
	*p++ = '{';
	for (i = 0; i < n; i++) {
		webhook_id_new(id);
		p += sprintf(p, "%s%s", i > 0 ? "," : "", id);
	}
	*p++ = '}';
	*p = '\0';
	return lit;
}

/*
 * Inserts event for each enabled channel of query_id subscribed to it:
 * the payload is built from the query, run_id (0: none) and the alert.
 * *n is increased by the rows written.
 */
static enum pgs_rc
outbox_put(struct db *db, struct arena *a, const struct outbox_subs *s,
    const char *event, long query_id, long run_id, int *n)
{
	static const char sql[] =
	    "WITH s AS (SELECT qn.channel_id, row_number() OVER"
	    "  (ORDER BY qn.channel_id) AS n FROM query_notify qn"
	    "  JOIN notify_channel c ON c.id = qn.channel_id"
	    "  WHERE qn.query_id = $1 AND c.enabled AND $2 = ANY (qn.events))"
	    " INSERT INTO notify_delivery (channel_id, event, query_id,"
	    " run_id, webhook_id, payload)"
	    " SELECT s.channel_id, $2, j.id, r.id, ($4::text[])[s.n],"
	    " jsonb_build_object('type', $2::text,"
	    " 'timestamp', to_char(now()" TS_UTC "),"
	    " 'data', jsonb_build_object("
	    " 'query', jsonb_build_object('id', j.id,"
	    "  'name', left(j.name, 200), 'title', left(j.title, 300)),"
	    " 'run', CASE WHEN r.id IS NOT NULL THEN jsonb_build_object("
	    "  'id', r.id, 'status', r.status,"
	    "  'scheduled_at', to_char(r.scheduled_at" TS_UTC "),"
	    "  'run_started_at', to_char(r.run_started_at" TS_UTC "),"
	    "  'run_finished_at', to_char(r.run_finished_at" TS_UTC "),"
	    "  'duration_ms', r.duration_ms,"
	    "  'rows_returned', r.rows_returned,"
	    "  'triggered_by', r.triggered_by,"
	    "  'error_message', left(r.error_message, 800)) END,"
	    " 'links', jsonb_build_object('run', CASE WHEN r.id IS NOT NULL"
	    "  THEN $5::text || '/api/runs/' || r.id END,"
	    "  'latest', $5::text || '/api/queries/' || j.id"
	    "  || '/runs/latest'))"
	    " || CASE WHEN $2 LIKE 'alert.%' THEN jsonb_build_object('alert',"
	    "  jsonb_build_object('kind', al.kind, 'column', al.column_name,"
	    "  'op', al.op, 'value', CASE WHEN al.value_is_number AND al.value"
	    "  ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'"
	    "  THEN to_jsonb(al.value::numeric) ELSE to_jsonb(al.value) END,"
	    "  'state', al.state, 'since', to_char(al.since" TS_UTC ")))"
	    "  WHEN $2 LIKE 'job.%' THEN jsonb_build_object('job',"
	    "  jsonb_build_object('enabled', j.enabled,"
	    "  'paused_at', to_char(j.paused_at" TS_UTC "),"
	    "  'pause_reason', left(j.pause_reason, 300),"
	    "  'consecutive_failures', j.consecutive_failures,"
	    "  'max_staleness_s', j.max_staleness_s,"
	    "  'last_success_at', to_char(j.last_success_at" TS_UTC "),"
	    "  'stale_since', to_char(j.stale_since" TS_UTC ")))"
	    "  ELSE '{}'::jsonb END)::text"
	    " FROM s CROSS JOIN query_job j"
	    " LEFT JOIN query_run r ON r.id = $3::int"
	    " LEFT JOIN query_alert al ON al.query_id = j.id"
	    " WHERE j.id = $1 AND s.n <= cardinality($4::text[])";
	const char *p[5];
	PGresult   *res;
	enum pgs_rc rc;
	int	    want;

	want = outbox_wanted(s, event);
	if (want == 0)
		return PGS_OK;
	p[0] = arena_printf(a, "%ld", query_id);
	p[1] = event;
	p[2] = run_id > 0 ? arena_printf(a, "%ld", run_id) : NULL;
	/* A channel subscribed meanwhile may find no id: it misses this
	 * event, which happened before it was subscribed. */
	p[3] = outbox_ids(a, want + 2);
	p[4] = db->public_url != NULL ? db->public_url : "";
	rc = db_exec(db, a, sql, 5, p, PGRES_COMMAND_OK, &res);
	if (rc != PGS_OK)
		return rc;
	want = (int)strtol(PQcmdTuples(res), NULL, 10);
	*n += want;
	log_info("notify_event", "query=%ld run=%ld event=%s deliveries=%d",
	    query_id, run_id, event, want);
	return PGS_OK;
}

/* Reads what outbox_run decides from (strings arena-owned). */
static enum pgs_rc
outbox_ctx_load(struct db *db, struct arena *a, long run_id,
    struct outbox_ctx *c)
{
	static const char sql[] =
	    "SELECT r.query_id, r.status = 'success',"
	    " NOT j.enabled AND j.paused_at = now(),"
	    " encode(r.result_hash, 'hex'),"
	    " (SELECT encode(p.result_hash, 'hex') FROM query_run p"
	    "  WHERE p.query_id = r.query_id AND p.status = 'success'"
	    "  AND p.id <> r.id ORDER BY p.id DESC LIMIT 1),"
	    " al.kind, al.column_name, al.op, al.value, al.value_is_number,"
	    " al.state, al.last_error"
	    " FROM query_run r JOIN query_job j ON j.id = r.query_id"
	    " LEFT JOIN query_alert al ON al.query_id = r.query_id"
	    " WHERE r.id = $1";
	const char *p[] = { arena_printf(a, "%ld", run_id) };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	memset(c, 0, sizeof(*c));
	c->query_id = db_long(res, 0, 0);
	c->success = db_bool(res, 0, 1);
	c->paused = db_bool(res, 0, 2);
	c->hash = db_str(a, res, 0, 3);
	c->prev_hash = db_str(a, res, 0, 4);
	c->has_alert = !PQgetisnull(res, 0, 5);
	c->alert.kind = db_str(a, res, 0, 5);
	c->alert.column = db_str(a, res, 0, 6);
	c->alert.op = db_str(a, res, 0, 7);
	c->alert.value = db_str(a, res, 0, 8);
	c->alert.value_is_number = db_bool(res, 0, 9);
	c->state = db_str(a, res, 0, 10);
	c->last_error = db_str(a, res, 0, 11);
	return PGS_OK;
}

/*
 * Evaluates the query's alert on a successful run and records its new
 * state (or the reason it cannot be evaluated, once).  *event gets
 * "alert.firing" or "alert.resolved" on a transition, else NULL.
 */
static enum pgs_rc
outbox_alert(struct db *db, struct arena *a, const struct outbox_ctx *c,
    const struct outbox_result *res, const char **event)
{
	static const char sql_state[] =
	    "UPDATE query_alert SET state = $2, since = now(),"
	    " last_error = NULL, last_error_at = NULL WHERE query_id = $1";
	static const char sql_clear[] =
	    "UPDATE query_alert SET last_error = NULL, last_error_at = NULL"
	    " WHERE query_id = $1";
	static const char sql_error[] =
	    "UPDATE query_alert SET last_error = $2, last_error_at = now()"
	    " WHERE query_id = $1";
	const char *p[2] = { arena_printf(a, "%ld", c->query_id), NULL };
	char	    err[ALERT_ERROR_SIZE];
	const char *state;
	bool	    holds;

	*event = NULL;
	if (alert_eval(&c->alert, res->rows, res->doc, res->len, &holds, err) !=
	    PGS_OK) {
		if (c->last_error != NULL && strcmp(c->last_error, err) == 0)
			return PGS_OK; /* reported already */
		log_warn("alert_error", "query=%ld %s", c->query_id, err);
		p[1] = err;
		return db_cmd(db, a, sql_error, 2, p);
	}
	state = holds ? "firing" : "ok";
	if (c->state != NULL && strcmp(c->state, state) == 0)
		return c->last_error != NULL ? db_cmd(db, a, sql_clear, 1, p) :
					       PGS_OK;
	*event = holds ? "alert.firing" : "alert.resolved";
	log_info("alert_state", "query=%ld state=%s", c->query_id, state);
	p[1] = state;
	return db_cmd(db, a, sql_state, 2, p);
}

enum pgs_rc
outbox_run(struct db *db, struct arena *a, long run_id,
    const struct outbox_result *res, int *n)
{
	struct outbox_subs s;
	struct outbox_ctx  c;
	const char	  *alert_ev = NULL;
	enum pgs_rc	   rc;
	int		   dummy = 0;

	if (n == NULL)
		n = &dummy;
	*n = 0;
	rc = outbox_ctx_load(db, a, run_id, &c);
	if (rc == PGS_OK && c.success && c.has_alert && res != NULL)
		rc = outbox_alert(db, a, &c, res, &alert_ev);
	if (rc == PGS_OK)
		rc = outbox_subs_load(db, a, c.query_id, &s);
	if (rc != PGS_OK)
		return rc;
	if (!c.success) {
		rc = outbox_put(db, a, &s, "run.failed", c.query_id, run_id, n);
		if (rc == PGS_OK && c.paused)
			rc = outbox_put(db, a, &s, "job.paused", c.query_id,
			    run_id, n);
		return rc;
	}
	rc = outbox_put(db, a, &s, "run.succeeded", c.query_id, run_id, n);
	if (rc == PGS_OK && c.hash != NULL && c.prev_hash != NULL &&
	    strcmp(c.hash, c.prev_hash) != 0)
		rc = outbox_put(db, a, &s, "result.changed", c.query_id, run_id,
		    n);
	if (rc == PGS_OK && alert_ev != NULL)
		rc = outbox_put(db, a, &s, alert_ev, c.query_id, run_id, n);
	return rc;
}

enum pgs_rc
outbox_stale(struct db *db, struct arena *a, int limit, int *jobs, int *n)
{
	static const char sql[] =
	    "WITH s AS (SELECT id FROM query_job WHERE stale_at <= now()"
	    "  AND stale_since IS NULL ORDER BY stale_at LIMIT $1"
	    "  FOR UPDATE SKIP LOCKED)"
	    " UPDATE query_job j SET stale_since = now() FROM s"
	    " WHERE j.id = s.id RETURNING j.id, (SELECT max(r.id)"
	    "  FROM query_run r WHERE r.query_id = j.id)";
	const char	  *p[] = { arena_printf(a, "%d", limit) };
	struct outbox_subs s;
	PGresult	  *res;
	enum pgs_rc	   rc;
	int		   i;

	*jobs = *n = 0;
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 1, p, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++) {
		log_warn("job_stale",
		    "query=%ld no successful run within its "
		    "max_staleness",
		    db_long(res, i, 0));
		rc = outbox_subs_load(db, a, db_long(res, i, 0), &s);
		if (rc == PGS_OK)
			rc = outbox_put(db, a, &s, "job.stale",
			    db_long(res, i, 0), db_long(res, i, 1), n);
		(*jobs)++;
	}
	return db_end(db, rc);
}

enum pgs_rc
outbox_prune(struct db *db, struct arena *a, int days, int batch, int *deleted)
{
	static const char sql[] =
	    "DELETE FROM notify_delivery WHERE id IN (SELECT id"
	    " FROM notify_delivery WHERE status IN ('delivered', 'dead')"
	    " AND run_id IS NULL AND created_at < now() - make_interval("
	    " days => $1::int) LIMIT $2::int)";
	const char *p[] = { arena_printf(a, "%d", days),
		arena_printf(a, "%d", batch) };
	PGresult   *res;
	enum pgs_rc rc;

	*deleted = 0;
	if (days <= 0)
		return PGS_OK;
	rc = db_exec(db, a, sql, 2, p, PGRES_COMMAND_OK, &res);
	if (rc == PGS_OK)
		*deleted = (int)strtol(PQcmdTuples(res), NULL, 10);
	return rc;
}
