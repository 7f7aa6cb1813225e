/*
 * claim.c: claiming runs under their job locks (see claim.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "claim.h"
#include "log.h"
#include "run_store.h"
#include "sched.h"
#include "store.h"

static bool
held_has(const struct claim_held *h, long id)
{
	int i;

	for (i = 0; i < h->n; i++)
		if (h->ids[i] == id)
			return true;
	return false;
}

static void
held_add(struct arena *a, struct claim_held *h, long id)
{
	long *ids;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		ids = arena_alloc(a, sizeof(*ids) * (size_t)h->cap);
		if (h->n > 0)
			memcpy(ids, h->ids, sizeof(*ids) * (size_t)h->n);
		h->ids = ids;
	}
	h->ids[h->n++] = id;
}

static void
held_del(struct claim_held *h, long id)
{
	int i;

	for (i = 0; i < h->n; i++)
		if (h->ids[i] == id) {
			h->ids[i] = h->ids[--h->n];
			return;
		}
}

static struct claim *
list_add(struct arena *a, struct claim_list *l)
{
	struct claim *items;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		items = arena_alloc(a, sizeof(*items) * (size_t)l->cap);
		if (l->n > 0)
			memcpy(items, l->items, sizeof(*items) * (size_t)l->n);
		l->items = items;
	}
	return &l->items[l->n++];
}

/* Tries the job's session lock; *got says whether it was taken. */
static enum pgs_rc
claim_trylock(struct db *db, struct arena *a, struct claim_held *h, long job,
    bool *got)
{
	static const char sql[] =
	    "SELECT pg_try_advisory_lock(" RUN_LOCK_CLASS ", $1::int)";
	const char *p[] = { arena_printf(a, "%ld", job) };
	PGresult   *res;
	enum pgs_rc rc;

	*got = false;
	/* Our own session would get it again: re-entrant locks. */
	if (held_has(h, job))
		return PGS_OK;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	*got = db_bool(res, 0, 0);
	if (*got)
		held_add(a, h, job);
	return PGS_OK;
}

static enum pgs_rc
claim_unlock(struct db *db, struct arena *a, long job)
{
	static const char sql[] =
	    "SELECT pg_advisory_unlock(" RUN_LOCK_CLASS ", $1::int)";
	const char *p[] = { arena_printf(a, "%ld", job) };
	PGresult   *res;

	return db_query(db, a, sql, 1, p, &res);
}

enum pgs_rc
claim_release(struct db *db, struct arena *a, struct claim_held *held,
    long job_id)
{
	held_del(held, job_id);
	return claim_unlock(db, a, job_id);
}

enum pgs_rc
claim_is_standby(struct db *db, struct arena *a, bool *standby)
{
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, "SELECT pg_is_in_recovery()", 0, NULL, &res);
	if (rc == PGS_OK)
		*standby = db_bool(res, 0, 0);
	return rc;
}

enum pgs_rc
claim_reap(struct db *db, struct arena *a, struct claim_stats *st)
{
	static const char sql_list[] =
	    "SELECT id, query_id FROM query_run WHERE status = 'running'"
	    " ORDER BY id";
	static const char sql_lock[] =
	    "SELECT pg_try_advisory_lock(" RUN_LOCK_CLASS ", $1::int)";
	PGresult   *runs, *res;
	enum pgs_rc rc;
	bool	    requeued;
	int	    i;

	rc = db_query(db, a, sql_list, 0, NULL, &runs);
	for (i = 0; rc == PGS_OK && i < PQntuples(runs); i++) {
		const char *job[] = { PQgetvalue(runs, i, 1) };

		rc = db_query(db, a, sql_lock, 1, job, &res);
		if (rc != PGS_OK || !db_bool(res, 0, 0))
			continue; /* a live runner holds it */
		rc = run_store_reap(db, a, db_long(runs, i, 0),
		    db_long(runs, i, 1), &requeued);
		if (rc == PGS_OK && requeued)
			st->requeued++;
		else if (rc == PGS_OK)
			st->reaped++;
		if (claim_unlock(db, a, db_long(runs, i, 1)) != PGS_OK &&
		    rc == PGS_OK)
			rc = PGS_DB;
	}
	return rc;
}

/* The slot to run for a due job, and its next slot after now. */
struct slot {
	int64_t at;	/* latest due slot */
	int64_t missed; /* slots it stands for */
	int64_t next;	/* first slot after now, 0 if none */
};

static enum pgs_rc
claim_slot(struct db *db, const PGresult *res, int r, struct slot *sl,
    char *err, size_t errlen)
{
	struct sched *s;
	int64_t	      anchor, due, now, count, last;
	enum pgs_rc   rc;

	rc = sched_parse(PQgetvalue(res, r, 2),
	    PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3),
	    PQgetvalue(res, r, 4), db->default_interval_s, &s, err, errlen);
	if (rc != PGS_OK)
		return rc;
	anchor = (int64_t)db_long(res, r, 5);
	due = (int64_t)db_long(res, r, 6);
	now = (int64_t)db_long(res, r, 7);
	/* next_run_at is a slot; any later slots up to now were missed. */
	rc = sched_count(s, anchor, due, now, 1000000, &count, &last);
	if (rc == PGS_OK) {
		sl->at = count > 0 ? last : due;
		sl->missed = count + 1;
		rc = sched_next(s, anchor, now, &sl->next, NULL);
		if (rc == PGS_NOTFOUND) {
			sl->next = 0;
			rc = PGS_OK;
		}
	}
	sched_free(s);
	if (rc != PGS_OK)
		snprintf(err, errlen, "cannot compute the next slot");
	return rc;
}

/* Sets *active when job has a manual run queued or running. */
static enum pgs_rc
claim_manual_active(struct db *db, struct arena *a, const char *job,
    bool *active)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM query_run WHERE query_id = $1"
	    " AND triggered_by = 'manual' AND status IN ('queued', 'running'))";
	const char *p[] = { job };
	PGresult   *res;
	enum pgs_rc rc;

	*active = false;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		*active = db_bool(res, 0, 0);
	return rc;
}

/* Handles one due job inside claim_due's transaction. */
static enum pgs_rc
claim_one(struct db *db, struct arena *a, const PGresult *res, int r,
    const char *host, long pid, struct claim_held *held, struct claim_list *out,
    struct claim_stats *st)
{
	const char   *job = PQgetvalue(res, r, 0);
	long	      job_id = db_long(res, r, 0), run_id;
	char	      err[256];
	struct slot   sl;
	struct claim *c;
	enum pgs_rc   rc;
	bool	      got, manual = false;

	rc = claim_slot(db, res, r, &sl, err, sizeof(err));
	if (rc != PGS_OK) {
		/* A schedule saved before validation got stricter: park the
		 * job rather than retry it every minute. */
		st->bad_schedule++;
		log_err("bad_schedule", "query=%s %s", job, err);
		return query_move(db, a, job_id, 0);
	}
	rc = claim_trylock(db, a, held, job_id, &got);
	if (rc == PGS_OK && !got)
		rc = claim_manual_active(db, a, job, &manual);
	if (rc != PGS_OK)
		return rc;
	if (manual) {
		/* The lock is (or is being) taken by a manual run: the slot
		 * waits for it, due, instead of being skipped. */
		st->deferred++;
		log_info("run_deferred",
		    "query=%ld slot=%" PRId64 " waits for "
		    "the query's manual run",
		    job_id, sl.at);
		return PGS_OK;
	}
	rc = run_store_slot(db, a, job_id, PQgetvalue(res, r, 4), sl.at,
	    sl.missed, host, pid, got, &run_id);
	if (rc != PGS_OK)
		return rc;
	if (got && run_id == 0) {
		st->lost++;
		held_del(held, job_id);
		rc = claim_unlock(db, a, job_id);
	} else if (got) {
		st->claimed++;
		c = list_add(a, out);
		c->run_id = run_id;
		c->job_id = job_id;
		c->job_name = db_str(a, res, r, 1);
		c->slot = arena_printf(a, "%" PRId64, sl.at);
		c->missed = (long)sl.missed;
		c->trigger = "schedule";
		rc = db_session(db, &c->lock_pid, &c->lock_since);
		log_info("run_claim",
		    "run=%ld query=%ld slot=%" PRId64 " missed=%" PRId64,
		    run_id, job_id, sl.at, sl.missed);
	} else if (run_id != 0) {
		st->skipped++;
		log_info("run_skipped",
		    "run=%ld query=%ld slot=%" PRId64
		    " previous run still executing",
		    run_id, job_id, sl.at);
	}
	if (rc == PGS_OK)
		rc = query_move(db, a, job_id, sl.next);
	return rc;
}

/* A manual run of the job is executing (query_run_manual_active). */
#define MANUAL_RUNNING \
	"EXISTS (SELECT 1 FROM query_run m WHERE m.query_id = query_job.id" \
	" AND m.triggered_by = 'manual' AND m.status = 'running')"
#define DUE_COLS \
	"SELECT id, name, schedule_type, schedule_expr, timezone," \
	" floor(extract(epoch FROM coalesce(start_at, created_at)))::int8," \
	" ceil(extract(epoch FROM next_run_at))::int8," \
	" floor(extract(epoch FROM now()))::int8, " MANUAL_RUNNING \
	" FROM query_job WHERE enabled AND next_run_at <= now()"
#define DUE_SELECT DUE_COLS " ORDER BY next_run_at LIMIT $1"

/* Returns the arena-owned array literal of the held job ids. */
static const char *
held_array(struct arena *a, const struct claim_held *h)
{
	struct buf  b = BUF_INIT;
	const char *out;
	int	    i;

	buf_putc(&b, '{');
	for (i = 0; i < h->n; i++)
		buf_printf(&b, "%s%ld", i ? "," : "", h->ids[i]);
	buf_putc(&b, '}');
	out = arena_strdup(a, b.data);
	buf_free(&b);
	return out;
}

enum pgs_rc
claim_due(struct db *db, struct arena *a, const char *host, long pid, int limit,
    struct claim_held *held, struct claim_list *out, struct claim_stats *st,
    bool *more)
{
	/* A job this process already runs may come due again during a long
	 * tick: it waits for the next tick instead of being skipped.  So
	 * does a job whose manual run is executing: manual runs never cost
	 * a scheduled slot. */
	static const char sql[] =
	    DUE_COLS " AND id <> ALL ($2::int[])"
		     " AND NOT " MANUAL_RUNNING
		     " ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED";
	const char *p[] = { arena_printf(a, "%d", limit), held_array(a, held) };
	struct claim_held before = *held;
	PGresult	 *res;
	enum pgs_rc	  rc;
	int		  i, n0 = out->n;

	*more = false;
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 2, p, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++)
		rc = claim_one(db, a, res, i, host, pid, held, out, st);
	if (rc == PGS_OK)
		*more = PQntuples(res) == limit;
	rc = db_end(db, rc);
	if (rc != PGS_OK) {
		/* Nothing was claimed: give back the locks taken. */
		for (i = n0; i < out->n; i++)
			if (claim_unlock(db, a, out->items[i].job_id) != PGS_OK)
				break;
		out->n = n0;
		held->n = before.n;
	}
	return rc;
}

enum pgs_rc
claim_queued(struct db *db, struct arena *a, const char *host, long pid,
    long only_run, int limit, struct claim_held *held, struct claim_list *out,
    struct claim_stats *st)
{
	static const char sql[] =
	    "SELECT r.id, r.query_id, j.name, r.triggered_by,"
	    " floor(extract(epoch FROM r.scheduled_at))::int8"
	    " FROM query_run r JOIN query_job j ON j.id = r.query_id"
	    " WHERE r.status = 'queued' AND (r.run_after IS NULL"
	    " OR r.run_after <= now()) AND ($1::int IS NULL OR r.id = $1::int)"
	    " AND NOT (r.triggered_by = 'manual' AND j.enabled"
	    " AND coalesce(j.next_run_at <= now(), false))"
	    " ORDER BY r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED";
	const char *p[] = { only_run ? arena_printf(a, "%ld", only_run) : NULL,
		arena_printf(a, "%d", limit) };
	PGresult     *res;
	struct claim *c;
	enum pgs_rc   rc;
	bool	      got;
	int	      i;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 2, p, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++) {
		rc = claim_trylock(db, a, held, db_long(res, i, 1), &got);
		if (rc != PGS_OK || !got)
			continue; /* busy: stays queued for later */
		rc = run_store_start(db, a, db_long(res, i, 0), host, pid);
		if (rc != PGS_OK)
			break;
		st->claimed++;
		c = list_add(a, out);
		c->run_id = db_long(res, i, 0);
		c->job_id = db_long(res, i, 1);
		c->job_name = db_str(a, res, i, 2);
		c->trigger = db_str(a, res, i, 3);
		c->slot = db_str(a, res, i, 4);
		c->missed = 0;
		rc = db_session(db, &c->lock_pid, &c->lock_since);
		if (rc != PGS_OK)
			break;
		log_info("run_claim", "run=%ld query=%ld trigger=%s", c->run_id,
		    c->job_id, c->trigger);
	}
	return db_end(db, rc);
}

/* Whether some session holds job's lock (without taking it). */
static enum pgs_rc
claim_busy(struct db *db, struct arena *a, const char *job, bool *busy)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
	    " AND classid = " RUN_LOCK_CLASS " AND objid = $1::int"
	    " AND objsubid = 2 AND granted)";
	const char *p[] = { job };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		*busy = db_bool(res, 0, 0);
	return rc;
}

static void
claim_preview_time(int64_t t, char *buf, size_t n)
{
	time_t	  tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum pgs_rc
claim_preview(struct db *db, struct arena *a, FILE *fp)
{
	static const char sql[] = DUE_SELECT;
	static const char sql_q[] =
	    "SELECT id, query_id, triggered_by FROM query_run"
	    " WHERE status = 'queued' AND (run_after IS NULL"
	    " OR run_after <= now()) ORDER BY id";
	const char *p[] = { "100000" };
	char	    err[256], at[32], next[32];
	PGresult   *res;
	struct slot sl;
	enum pgs_rc rc;
	bool	    busy = false;
	int	    i;

	rc = db_query(db, a, sql, 1, p, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++) {
		if (claim_slot(db, res, i, &sl, err, sizeof(err)) != PGS_OK) {
			fprintf(fp, "query %s %s: bad schedule: %s\n",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), err);
			continue;
		}
		rc = claim_busy(db, a, PQgetvalue(res, i, 0), &busy);
		claim_preview_time(sl.at, at, sizeof(at));
		claim_preview_time(sl.next, next, sizeof(next));
		fprintf(fp, "query %s %s: %s slot %s", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1),
		    db_bool(res, i, 8) ? "waits (its "
					 "manual run is executing) for" :
			busy	       ? "skip (previous "
					 "run still executing)" :
					 "due",
		    at);
		if (sl.missed > 1)
			fprintf(fp, " (coalesces %" PRId64 " slots)",
			    sl.missed);
		fprintf(fp, ", next %s\n", sl.next ? next : "never");
	}
	if (rc == PGS_OK)
		rc = db_query(db, a, sql_q, 0, NULL, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++)
		fprintf(fp, "run %s of query %s: queued (%s)\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2));
	return rc;
}
