/*
 * notify.c: claiming, attempting and recording outbox deliveries (see
 * notify.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backoff.h"
#include "log.h"
#include "mono.h"
#include "notify.h"
#include "notify_store.h"
#include "source_conn.h"
#include "ssrf.h"

/* Seconds a lease outlives the budget of its attempt. */
#define NOTIFY_LEASE_MARGIN_S 30

/* One claimed delivery. */
struct notify_row {
	long		    id;
	long		    channel_id; /* 0: the channel was deleted */
	const char	   *event;
	int		    attempts; /* before this one */
	int64_t		    created;  /* Unix seconds */
	const char	   *dead;     /* dead without an attempt: why */
	char		   *url;      /* opened target, heap, wiped */
	struct deliver_item it;
	bool		    send;
};

/* A claimed batch, with the database clock at the claim. */
struct notify_batch {
	struct notify_row *rows;
	int		   n;
	int64_t		   db_now;  /* Unix seconds at the claim */
	int64_t		   claimed; /* mono_ms at the claim */
	struct channel	  *chans;   /* of the claimed rows */
	int		   nchans;
};

/* Returns how many deliveries a batch claims. */
static int
notify_batch_size(const struct notify_ctx *nc)
{
	int n = nc->dc->concurrency * NOTIFY_BATCH_PER_SLOT;

	return n < NOTIFY_BATCH_MIN ? NOTIFY_BATCH_MIN :
	    n > NOTIFY_BATCH_MAX    ? NOTIFY_BATCH_MAX :
				      n;
}

/* Claims a batch of due rows, leased for lease_s seconds. */
static enum pgs_rc
notify_claim(const struct notify_ctx *nc, struct arena *a, long run_id,
    const char *since, int lease_s, struct notify_batch *b)
{
	static const char sql[] =
	    "WITH due AS (SELECT d.id FROM notify_delivery d"
	    "  WHERE d.status = 'pending' AND d.next_attempt_at <= now()"
	    "  AND ($1::int IS NULL OR d.run_id = $1::int)"
	    "  AND ($4::timestamptz IS NULL OR d.created_at >= $4)"
	    "  ORDER BY d.next_attempt_at LIMIT $2::int"
	    "  FOR UPDATE SKIP LOCKED)"
	    " UPDATE notify_delivery d SET next_attempt_at = now()"
	    " + make_interval(secs => $3::int) FROM due WHERE d.id = due.id"
	    " RETURNING d.id, d.channel_id, d.event, d.webhook_id, d.payload,"
	    " d.attempts, extract(epoch FROM d.created_at)::int8,"
	    " extract(epoch FROM now())::int8";
	const char *p[] = { run_id > 0 ? arena_printf(a, "%ld", run_id) : NULL,
		arena_printf(a, "%d", notify_batch_size(nc)),
		arena_printf(a, "%d", lease_s), since };
	struct notify_row *r;
	PGresult	  *res;
	enum pgs_rc	   rc;
	int		   i;

	rc = db_query(nc->db, a, sql, 4, p, &res);
	if (rc != PGS_OK)
		return rc;
	b->claimed = mono_ms();
	b->n = PQntuples(res);
	b->rows = arena_alloc(a, sizeof(*b->rows) * (size_t)(b->n + 1));
	memset(b->rows, 0, sizeof(*b->rows) * (size_t)(b->n + 1));
	for (i = 0; i < b->n; i++) {
		r = &b->rows[i];
		r->id = db_long(res, i, 0);
		r->channel_id = db_long(res, i, 1);
		r->event = db_str(a, res, i, 2);
		r->it.id = db_str(a, res, i, 3);
		r->it.body = db_str(a, res, i, 4);
		r->it.body_len = strlen(r->it.body);
		r->attempts = (int)db_long(res, i, 5);
		r->created = db_long(res, i, 6);
		b->db_now = db_long(res, i, 7);
	}
	return PGS_OK;
}

/* Reads the channels of the batch's rows into b->chans (arena-owned). */
static enum pgs_rc
notify_channels(const struct notify_ctx *nc, struct arena *a,
    struct notify_batch *b)
{
	static const char sql[] =
	    "SELECT " NOTIFY_CHANNEL_COLS " FROM notify_channel c"
	    " WHERE c.id = ANY ($1::int[])";
	struct buf  ids = BUF_INIT;
	const char *p[1];
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	buf_putc(&ids, '{');
	for (i = 0; i < b->n; i++)
		if (b->rows[i].channel_id > 0)
			buf_printf(&ids, "%s%ld", ids.len > 1 ? "," : "",
			    b->rows[i].channel_id);
	buf_putc(&ids, '}');
	p[0] = arena_strdup(a, ids.data);
	buf_free(&ids);
	rc = db_query(nc->db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	b->nchans = PQntuples(res);
	b->chans = arena_alloc(a, sizeof(*b->chans) * (size_t)(b->nchans + 1));
	for (i = 0; i < b->nchans; i++)
		notify_store_channel_from_row(a, res, i, 0, &b->chans[i]);
	return PGS_OK;
}

/* Opens what a webhook or Slack delivery needs: the target, and the
 * signing key(s) of a webhook.  err gets why it could not. */
static enum pgs_rc
notify_open(const struct notify_ctx *nc, const struct channel *ch,
    struct notify_row *r, char *err, size_t n)
{
	enum pgs_rc rc;

	r->url = xmalloc(SSRF_URL_MAX + 1);
	rc = source_conn_channel_open(nc->keys, ch, nc->rotate_overlap_hours,
	    r->url, SSRF_URL_MAX + 1, &r->it.keys, err, n);
	r->it.url = r->url;
	return rc;
}

/* Prepares row r for its attempt, or says why it cannot have one:
 * r->dead (final) or r->it FAILED (retried). */
static void
notify_prepare(const struct notify_ctx *nc, struct arena *a,
    const struct notify_batch *b, struct notify_row *r)
{
	const struct channel *ch = NULL;
	struct buf	      body = BUF_INIT;
	char		      err[DELIVER_ERROR_SIZE];
	int		      c;

	for (c = 0; c < b->nchans && r->channel_id != 0; c++)
		if (b->chans[c].id == r->channel_id)
			ch = &b->chans[c];
	if (ch == NULL) {
		r->dead = "the channel was deleted";
		return;
	}
	if (!ch->enabled) {
		r->dead = "the channel is disabled";
		return;
	}
	r->it.kind = strcmp(ch->kind, "email") == 0 ? DELIVER_EMAIL :
	    strcmp(ch->kind, "slack") == 0	    ? DELIVER_SLACK :
						      DELIVER_WEBHOOK;
	r->it.timeout_ms = nc->dc->timeout_ms;
	if (r->it.kind == DELIVER_EMAIL) {
		r->it.rcpt = (const char *const *)ch->addresses;
		r->it.nrcpt = (size_t)ch->naddr;
		if (notify_render_mail(a, r->it.body, r->it.body_len,
			&r->it.subject, &r->it.body) != PGS_OK)
			r->dead = "the payload is not an event";
		else
			r->it.body_len = strlen(r->it.body);
	} else if (r->it.kind == DELIVER_SLACK) {
		if (notify_render_slack(r->it.body, r->it.body_len, &body) !=
		    PGS_OK)
			r->dead = "the payload is not an event";
		r->it.body =
		    arena_strdup(a, body.data != NULL ? body.data : "");
		r->it.body_len = body.len;
		buf_free(&body);
	}
	if (r->dead != NULL || r->it.kind == DELIVER_EMAIL)
		goto out;
	if (notify_open(nc, ch, r, err, sizeof(err)) != PGS_OK) {
		webhook_keys_wipe(&r->it.keys);
		r->it.outcome = DELIVER_FAILED;
		snprintf(r->it.error, sizeof(r->it.error), "%s", err);
	}
out:
	r->send = r->dead == NULL && r->it.outcome == DELIVER_NOT_STARTED;
}

/* Records what became of row r (attempted at the batch's time plus
 * elapsed_s), disabling its channel on a 410. */
static enum pgs_rc
notify_record(const struct notify_ctx *nc, struct arena *a,
    const struct notify_row *r, int64_t now, struct notify_pass *st)
{
	static const char sql_done[] =
	    "UPDATE notify_delivery SET status = $2,"
	    " attempts = attempts + $3::int,"
	    " last_attempt_at = CASE WHEN $3::int > 0 THEN now()"
	    "  ELSE last_attempt_at END,"
	    " last_status = coalesce($4::int, last_status),"
	    " last_error = $5, next_attempt_at = coalesce(to_timestamp($6::int8),"
	    "  next_attempt_at),"
	    " delivered_at = CASE WHEN $2 = 'delivered' THEN now() END"
	    " WHERE id = $1 AND status = 'pending'";
	static const char sql_release[] =
	    "UPDATE notify_delivery SET next_attempt_at = now()"
	    " WHERE id = $1 AND status = 'pending'";
	static const char sql_gone[] =
	    "UPDATE notify_channel SET enabled = false, updated_at = now(),"
	    " disabled_reason = 'the receiver answered 410 Gone at ' || "
	    " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
	    " || ' UTC' WHERE id = $1 AND enabled";
	const struct deliver_item *it = &r->it;
	const char		  *p[6] = { arena_printf(a, "%ld", r->id) };
	int64_t			   next = 0;
	enum pgs_rc		   rc;

	if (r->dead == NULL && it->outcome == DELIVER_NOT_STARTED) {
		st->not_started++;
		return db_cmd(nc->db, a, sql_release, 1, p);
	}
	p[2] = r->dead != NULL ? "0" : "1";
	p[3] = it->status > 0 ? arena_printf(a, "%d", it->status) : NULL;
	p[4] = r->dead != NULL ? r->dead : it->error;
	if (it->outcome == DELIVER_DELIVERED) {
		p[1] = "delivered";
		p[4] = NULL;
		st->delivered++;
	} else if (r->dead != NULL || it->outcome == DELIVER_GONE ||
	    backoff_next(r->created, now, r->attempts + 1,
		it->outcome == DELIVER_RETRY_AFTER ? it->retry_after_s : -1,
		nc->give_up_hours, backoff_jitter(), &next) == BACKOFF_DEAD) {
		p[1] = "dead";
		st->dead++;
	} else {
		p[1] = "pending";
		p[5] = arena_printf(a, "%" PRId64, next);
		st->retried++;
	}
	log_info("notify_attempt",
	    "delivery=%ld channel=%ld event=%s outcome=%s status=%d "
	    "ms=%d next=%s%s%s",
	    r->id, r->channel_id, r->event,
	    r->dead != NULL ? "dead" : deliver_outcome_name(it->outcome),
	    it->status, it->ms, p[1], p[4] != NULL ? " error=" : "",
	    p[4] != NULL ? p[4] : "");
	rc = db_cmd(nc->db, a, sql_done, 6, p);
	if (rc == PGS_OK && it->outcome == DELIVER_GONE) {
		const char *pc[] = { arena_printf(a, "%ld", r->channel_id) };

		log_warn("channel_gone",
		    "channel=%ld disabled: the receiver "
		    "answered 410 Gone",
		    r->channel_id);
		rc = db_cmd(nc->db, a, sql_gone, 1, pc);
	}
	return rc;
}

/* Claims, attempts and records one batch; *more when it was full. */
static enum pgs_rc
notify_batch(const struct notify_ctx *nc, long run_id, const char *since,
    int64_t deadline_ms, struct notify_pass *st, bool *more)
{
	struct notify_batch  b;
	struct deliver_item *send;
	struct arena	     a;
	enum pgs_rc	     rc;
	int64_t		     left = deadline_ms - mono_ms();
	size_t		     ns = 0;
	int		     i, k;

	*more = false;
	memset(&b, 0, sizeof(b));
	arena_init(&a);
	rc = notify_claim(nc, &a, run_id, since,
	    (int)(left / 1000) + NOTIFY_LEASE_MARGIN_S, &b);
	if (rc == PGS_OK && b.n > 0)
		rc = notify_channels(nc, &a, &b);
	if (rc != PGS_OK || b.n == 0)
		goto out;
	st->claimed += b.n;
	send = arena_alloc(&a, sizeof(*send) * (size_t)b.n);
	for (i = 0; i < b.n; i++) {
		notify_prepare(nc, &a, &b, &b.rows[i]);
		if (b.rows[i].send)
			send[ns++] = b.rows[i].it;
	}
	if (ns > 0)
		(void)deliver_batch(nc->dc, send, ns, deadline_ms);
	/* The outcomes of a batch: one commit.  Should it fail, the rows
	 * stay leased and are attempted again when the lease ends. */
	rc = db_begin(nc->db);
	for (i = 0, k = 0; i < b.n; i++) {
		if (b.rows[i].send)
			b.rows[i].it = send[k++];
		if (rc == PGS_OK)
			rc = notify_record(nc, &a, &b.rows[i],
			    b.db_now + (mono_ms() - b.claimed) / 1000, st);
	}
	rc = db_end(nc->db, rc);
	*more = b.n == notify_batch_size(nc) && st->not_started == 0;
out:
	for (i = 0; i < b.n; i++) {
		webhook_keys_wipe(&b.rows[i].it.keys);
		if (b.rows[i].url != NULL)
			sodium_memzero(b.rows[i].url, SSRF_URL_MAX + 1);
		free(b.rows[i].url);
	}
	arena_free(&a);
	return rc;
}

enum pgs_rc
notify_due(const struct notify_ctx *nc, long run_id, const char *since,
    int64_t deadline_ms, struct notify_pass *st)
{
	enum pgs_rc rc = PGS_OK;
	bool	    more = true;

	while (rc == PGS_OK && more &&
	    deadline_ms - mono_ms() > nc->dc->timeout_ms)
		rc = notify_batch(nc, run_id, since, deadline_ms, st, &more);
	return rc;
}

enum pgs_rc
notify_wanted(struct db *db, struct arena *a, bool runs, int ahead_s,
    const char **now, bool *want)
{
	static const char sql[] =
	    "SELECT ($1::bool AND EXISTS (SELECT 1 FROM query_notify))"
	    " OR EXISTS (SELECT 1 FROM notify_delivery WHERE status ="
	    " 'pending' AND next_attempt_at <= now()"
	    " + make_interval(secs => $2::int)), now()";
	const char *p[] = { runs ? "t" : "f", arena_printf(a, "%d", ahead_s) };
	PGresult   *res;
	enum pgs_rc rc;

	*want = false;
	*now = NULL;
	rc = db_query(db, a, sql, 2, p, &res);
	if (rc == PGS_OK) {
		*want = db_bool(res, 0, 0);
		*now = db_str(a, res, 0, 1);
	}
	return rc;
}

enum pgs_rc
notify_forget_secrets(struct db *db, struct arena *a, int overlap_hours, int *n)
{
	static const char sql[] =
	    "UPDATE notify_channel SET enc_secret_prev = NULL,"
	    " updated_at = now() WHERE enc_secret_prev IS NOT NULL"
	    " AND (secret_rotated_at IS NULL OR secret_rotated_at"
	    " + make_interval(hours => $1::int) <= now())";
	const char *p[] = { arena_printf(a, "%d", overlap_hours) };
	PGresult   *res;
	enum pgs_rc rc;

	*n = 0;
	rc = db_exec(db, a, sql, 1, p, PGRES_COMMAND_OK, &res);
	if (rc == PGS_OK)
		*n = (int)strtol(PQcmdTuples(res), NULL, 10);
	if (*n > 0)
		log_info("secret_forgotten",
		    "channels=%d the previous signing "
		    "secret is dropped: its rotation overlap is over",
		    *n);
	return rc;
}
