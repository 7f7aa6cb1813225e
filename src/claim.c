/*
 * claim.c: SQL of the scheduling engine.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "claim.h"
#include "log.h"
#include "sched.h"

static bool
held_has(const struct claim_held *h, long id)
{
	int	 i;

	for (i = 0; i < h->n; i++)
		if (h->ids[i] == id)
			return true;
	return false;
}

static void
held_add(struct arena *a, struct claim_held *h, long id)
{
	long	*ids;

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
	int	 i;

	for (i = 0; i < h->n; i++)
		if (h->ids[i] == id) {
			h->ids[i] = h->ids[--h->n];
			return;
		}
}

static struct claim *
list_add(struct arena *a, struct claim_list *l)
{
	struct claim	*items;

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
	    "SELECT pg_try_advisory_lock(" CLAIM_LOCK_CLASS ", $1::int)";
	const char	*p[] = { arena_printf(a, "%ld", job) };
	PGresult	*res;
	enum pgs_rc	 rc;

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
	    "SELECT pg_advisory_unlock(" CLAIM_LOCK_CLASS ", $1::int)";
	const char	*p[] = { arena_printf(a, "%ld", job) };
	PGresult	*res;

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
	PGresult	*res;
	enum pgs_rc	 rc;

	rc = db_query(db, a, "SELECT pg_is_in_recovery()", 0, NULL, &res);
	if (rc == PGS_OK)
		*standby = db_bool(res, 0, 0);
	return rc;
}

/*
 * Settles run `run` of job `job` whose runner died: a manual run is queued
 * again while it has requeues left (the next claim runs it), anything else
 * becomes error "runner died".
 */
static enum pgs_rc
claim_reap_one(struct db *db, struct arena *a, const char *run,
    const char *job, struct claim_stats *st)
{
	static const char sql_requeue[] =
	    "UPDATE query_run SET status = 'queued', requeues = requeues + 1,"
	    " runner_host = NULL, runner_pid = NULL, run_started_at = NULL"
	    " WHERE id = $1 AND status = 'running' AND triggered_by = 'manual'"
	    " AND requeues < $2::int RETURNING requeues";
	static const char sql_dead[] =
	    "UPDATE query_run SET status = 'error', error_message ="
	    " 'runner died', run_finished_at = now(), duration_ms ="
	    " (extract(epoch FROM now() - coalesce(run_started_at, queued_at))"
	    " * 1000)::int WHERE id = $1 AND status = 'running'";
	const char	*p[] = { run, arena_printf(a, "%d",
	    CLAIM_MANUAL_REQUEUES) };
	PGresult	*res;
	enum pgs_rc	 rc;

	rc = db_query(db, a, sql_requeue, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0) {
		st->requeued++;
		log_warn("run_requeued", "run=%s query=%s requeues=%s runner "
		    "died, manual run queued again", run, job,
		    PQgetvalue(res, 0, 0));
		return PGS_OK;
	}
	if (rc == PGS_OK)
		rc = db_cmd(db, a, sql_dead, 1, p);
	if (rc == PGS_OK) {
		st->reaped++;
		log_warn("run_reaped", "run=%s query=%s runner died", run, job);
	}
	return rc;
}

enum pgs_rc
claim_reap(struct db *db, struct arena *a, struct claim_stats *st)
{
	static const char sql_list[] =
	    "SELECT id, query_id FROM query_run WHERE status = 'running'"
	    " ORDER BY id";
	static const char sql_lock[] =
	    "SELECT pg_try_advisory_lock(" CLAIM_LOCK_CLASS ", $1::int)";
	PGresult	*runs, *res;
	enum pgs_rc	 rc;
	int		 i;

	rc = db_query(db, a, sql_list, 0, NULL, &runs);
	for (i = 0; rc == PGS_OK && i < PQntuples(runs); i++) {
		const char *job[] = { PQgetvalue(runs, i, 1) };

		rc = db_query(db, a, sql_lock, 1, job, &res);
		if (rc != PGS_OK || !db_bool(res, 0, 0))
			continue;	/* a live runner holds it */
		rc = claim_reap_one(db, a, PQgetvalue(runs, i, 0), job[0], st);
		if (claim_unlock(db, a, db_long(runs, i, 1)) != PGS_OK &&
		    rc == PGS_OK)
			rc = PGS_DB;
	}
	return rc;
}

/* The slot to run for a due job, and its next slot after now. */
struct slot {
	int64_t		 at;		/* latest due slot */
	int64_t		 missed;	/* slots it stands for */
	int64_t		 next;		/* first slot after now, 0 if none */
};

static enum pgs_rc
claim_slot(struct db *db, const PGresult *res, int r, struct slot *sl,
    char *err, size_t errlen)
{
	struct sched	*s;
	int64_t		 anchor, due, now, count, last;
	enum pgs_rc	 rc;

	rc = sched_parse(PQgetvalue(res, r, 2), PQgetisnull(res, r, 3) ? NULL :
	    PQgetvalue(res, r, 3), PQgetvalue(res, r, 4),
	    db->default_interval_s, &s, err, errlen);
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

/* Inserts the run of a due slot (running or skipped); *run_id is 0 when
 * the slot was already taken. */
static enum pgs_rc
claim_insert(struct db *db, struct arena *a, const char *job, const char *tz,
    const struct slot *sl, const char *host, long pid, bool running,
    long *run_id)
{
	static const char sql[] =
	    "INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
	    " status, triggered_by, runner_host, runner_pid, missed_slots,"
	    " run_started_at, run_finished_at, duration_ms, error_message)"
	    " VALUES ($1, to_timestamp($2::int8), $3, $4, 'schedule', $5, $6,"
	    " $7, now(), CASE WHEN $4 = 'skipped' THEN now() END,"
	    " CASE WHEN $4 = 'skipped' THEN 0 END, CASE WHEN $4 = 'skipped'"
	    " THEN 'skipped: the previous run is still executing' END)"
	    " ON CONFLICT (query_id, scheduled_at)"
	    " WHERE triggered_by = 'schedule' DO NOTHING RETURNING id";
	const char	*p[7];
	PGresult	*res;
	enum pgs_rc	 rc;

	p[0] = job;
	p[1] = arena_printf(a, "%" PRId64, sl->at);
	p[2] = tz;
	p[3] = running ? "running" : "skipped";
	p[4] = host;
	p[5] = arena_printf(a, "%ld", pid);
	p[6] = arena_printf(a, "%" PRId64, sl->missed);
	rc = db_query(db, a, sql, 7, p, &res);
	*run_id = rc == PGS_OK && PQntuples(res) > 0 ? db_long(res, 0, 0) : 0;
	return rc;
}

static enum pgs_rc
claim_move(struct db *db, struct arena *a, const char *job,
    const struct slot *sl)
{
	static const char sql[] =
	    "UPDATE query_job SET next_run_at = CASE WHEN $2::int8 IS NULL"
	    " THEN NULL ELSE to_timestamp($2::int8) END WHERE id = $1";
	const char	*p[] = { job, sl->next != 0 ?
	    arena_printf(a, "%" PRId64, sl->next) : NULL };

	return db_cmd(db, a, sql, 2, p);
}

/* Sets *active when job has a manual run queued or running. */
static enum pgs_rc
claim_manual_active(struct db *db, struct arena *a, const char *job,
    bool *active)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM query_run WHERE query_id = $1"
	    " AND triggered_by = 'manual' AND status IN ('queued', 'running'))";
	const char	*p[] = { job };
	PGresult	*res;
	enum pgs_rc	 rc;

	*active = false;
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		*active = db_bool(res, 0, 0);
	return rc;
}

/* Handles one due job inside claim_due's transaction. */
static enum pgs_rc
claim_one(struct db *db, struct arena *a, const PGresult *res, int r,
    const char *host, long pid, struct claim_held *held,
    struct claim_list *out, struct claim_stats *st)
{
	const char	*job = PQgetvalue(res, r, 0);
	long		 job_id = db_long(res, r, 0), run_id;
	char		 err[256];
	struct slot	 sl;
	struct claim	*c;
	enum pgs_rc	 rc;
	bool		 got, manual = false;

	rc = claim_slot(db, res, r, &sl, err, sizeof(err));
	if (rc != PGS_OK) {
		/* A schedule saved before validation got stricter: park the
		 * job rather than retry it every minute. */
		st->bad_schedule++;
		log_err("bad_schedule", "query=%s %s", job, err);
		memset(&sl, 0, sizeof(sl));
		return claim_move(db, a, job, &sl);
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
		log_info("run_deferred", "query=%ld slot=%" PRId64 " waits for "
		    "the query's manual run", job_id, sl.at);
		return PGS_OK;
	}
	rc = claim_insert(db, a, job, PQgetvalue(res, r, 4), &sl, host, pid,
	    got, &run_id);
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
		log_info("run_claim", "run=%ld query=%ld slot=%" PRId64
		    " missed=%" PRId64, run_id, job_id, sl.at, sl.missed);
	} else if (run_id != 0) {
		st->skipped++;
		log_info("run_skipped", "run=%ld query=%ld slot=%" PRId64
		    " previous run still executing", run_id, job_id, sl.at);
	}
	if (rc == PGS_OK)
		rc = claim_move(db, a, job, &sl);
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
	struct buf	 b = BUF_INIT;
	const char	*out;
	int		 i;

	buf_putc(&b, '{');
	for (i = 0; i < h->n; i++)
		buf_printf(&b, "%s%ld", i ? "," : "", h->ids[i]);
	buf_putc(&b, '}');
	out = arena_strdup(a, b.data);
	buf_free(&b);
	return out;
}

enum pgs_rc
claim_due(struct db *db, struct arena *a, const char *host, long pid,
    int limit, struct claim_held *held, struct claim_list *out,
    struct claim_stats *st, bool *more)
{
	/* A job this process already runs may come due again during a long
	 * tick: it waits for the next tick instead of being skipped.  So
	 * does a job whose manual run is executing: manual runs never cost
	 * a scheduled slot. */
	static const char sql[] = DUE_COLS " AND id <> ALL ($2::int[])"
	    " AND NOT " MANUAL_RUNNING
	    " ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED";
	const char	*p[] = { arena_printf(a, "%d", limit),
	    held_array(a, held) };
	struct claim_held before = *held;
	PGresult	*res;
	enum pgs_rc	 rc;
	int		 i, n0 = out->n;

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
	static const char sql_start[] =
	    "UPDATE query_run SET status = 'running', runner_host = $2,"
	    " runner_pid = $3, run_started_at = now() WHERE id = $1";
	const char	*p[] = { only_run ? arena_printf(a, "%ld", only_run) :
	    NULL, arena_printf(a, "%d", limit) };
	PGresult	*res;
	struct claim	*c;
	enum pgs_rc	 rc;
	bool		 got;
	int		 i;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 2, p, &res);
	for (i = 0; rc == PGS_OK && i < PQntuples(res); i++) {
		const char *q[] = { PQgetvalue(res, i, 0), host,
		    arena_printf(a, "%ld", pid) };

		rc = claim_trylock(db, a, held, db_long(res, i, 1), &got);
		if (rc != PGS_OK || !got)
			continue;	/* busy: stays queued for later */
		rc = db_cmd(db, a, sql_start, 3, q);
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
		log_info("run_claim", "run=%ld query=%ld trigger=%s",
		    c->run_id, c->job_id, c->trigger);
	}
	return db_end(db, rc);
}

enum pgs_rc
claim_enqueue_manual(struct db *db, struct arena *a, long job_id,
    long user_id, long *run_id)
{
	/* The unique index query_run_manual_active decides between two
	 * callers at once: exactly one insert gets a row. */
	static const char sql[] =
	    "INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
	    " status, triggered_by, triggered_by_user, missed_slots)"
	    " SELECT id, now(), timezone, 'queued', 'manual', $2::int, 0"
	    " FROM query_job WHERE id = $1"
	    " ON CONFLICT (query_id) WHERE triggered_by = 'manual'"
	    " AND status IN ('queued', 'running') DO NOTHING RETURNING id";
	static const char sql_active[] =
	    "SELECT (SELECT r.id FROM query_run r WHERE r.query_id = j.id"
	    " AND r.triggered_by = 'manual' AND r.status IN ('queued',"
	    " 'running')) FROM query_job j WHERE j.id = $1";
	const char	*p[] = { arena_printf(a, "%ld", job_id), user_id > 0 ?
	    arena_printf(a, "%ld", user_id) : NULL };
	PGresult	*res;
	enum pgs_rc	 rc;
	int		 try;

	*run_id = 0;
	/* The standing run may end between the two statements: again. */
	for (try = 0; try < 3; try++) {
		rc = db_query(db, a, sql, 2, p, &res);
		if (rc != PGS_OK)
			return rc;
		if (PQntuples(res) > 0) {
			*run_id = db_long(res, 0, 0);
			return PGS_OK;
		}
		rc = db_query(db, a, sql_active, 1, p, &res);
		if (rc != PGS_OK)
			return rc;
		if (PQntuples(res) == 0)
			return PGS_NOTFOUND;
		if (!PQgetisnull(res, 0, 0)) {
			*run_id = db_long(res, 0, 0);
			return PGS_CONFLICT;
		}
	}
	return PGS_CONFLICT;
}

enum pgs_rc
claim_abort(struct db *db, struct arena *a, long run_id, const char *msg)
{
	static const char sql[] =
	    "UPDATE query_run SET status = 'error', error_message = $2,"
	    " run_finished_at = now(), duration_ms = (extract(epoch FROM"
	    " now() - coalesce(run_started_at, queued_at)) * 1000)::int"
	    " WHERE id = $1 AND status IN ('running', 'queued')";
	const char	*p[] = { arena_printf(a, "%ld", run_id), msg };

	return db_cmd(db, a, sql, 2, p);
}

/* Queues the retry of a failed run when its job has retries left. */
static enum pgs_rc
claim_retry(struct db *db, struct arena *a, const char *run)
{
	static const char sql[] =
	    "INSERT INTO query_run (query_id, scheduled_at, job_timezone,"
	    " status, triggered_by, triggered_by_user, missed_slots, attempt,"
	    " retry_of, run_after)"
	    " SELECT r.query_id, r.scheduled_at, r.job_timezone, 'queued',"
	    " 'retry', r.triggered_by_user, 0, r.attempt + 1, r.id,"
	    " now() + make_interval(secs => least(3600,"
	    "  j.retry_delay_s * power(2, r.attempt)))"
	    " FROM query_run r JOIN query_job j ON j.id = r.query_id"
	    " WHERE r.id = $1 AND r.attempt < j.max_retries AND j.enabled"
	    " RETURNING id, run_after";
	const char	*p[] = { run };
	PGresult	*res;
	enum pgs_rc	 rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0)
		log_info("run_retry", "run=%s retry=%s after=\"%s\"", run,
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	return rc;
}

/*
 * The fence of claim_finish.  The run's status changes only while the job
 * lock is held by the session that claimed it: the parent runner's, not
 * the worker's own (pg_locks: pid, and backend_start so that a reused pid
 * cannot pass).  The check and the update are one statement of the
 * transaction that writes the blob and the retry, and claim_reap marks a
 * run dead only after taking its lock, with `WHERE status = 'running'`.
 * Every interleaving of a worker finishing (F) and a reaper (R):
 *  - the lock is gone when F checks: F writes nothing (PGS_DENIED);
 *  - F checks while the lock is held, then R takes it (the holder died)
 *    and updates the row first: F waits for R's commit, re-reads the row,
 *    finds it no longer running and writes nothing (PGS_CONFLICT);
 *  - F checks and locks the row first: R's update waits for F's commit
 *    and then finds the run finished, so R writes nothing.
 * So exactly one of them records the run, and F records it only when its
 * source query had ended while the claim's lock was still held: no other
 * runner could have started that job meanwhile.
 */
enum pgs_rc
claim_finish(struct db *db, struct arena *a, const struct claim *c,
    const struct claim_outcome *o)
{
	static const char sql_run[] =
	    "WITH fence AS (SELECT EXISTS (SELECT 1 FROM pg_locks l"
	    "  JOIN pg_stat_activity s ON s.pid = l.pid"
	    "  WHERE l.locktype = 'advisory'"
	    "  AND l.classid = " CLAIM_LOCK_CLASS " AND l.objid = $6::int"
	    "  AND l.objsubid = 2 AND l.granted AND l.pid = $7::int"
	    "  AND s.backend_start = $8::timestamptz) AS held),"
	    " done AS (UPDATE query_run SET status = $2,"
	    " run_finished_at = now(), duration_ms = $3, rows_returned = $4,"
	    " error_message = $5 WHERE id = $1 AND status = 'running'"
	    " AND (SELECT held FROM fence) RETURNING id)"
	    " SELECT (SELECT held FROM fence), (SELECT count(*) FROM done)";
	static const char sql_blob[] =
	    "INSERT INTO query_run_blob (run_id, format, df_json, row_count,"
	    " byte_size, truncated) VALUES ($1, 'jsonb', $2::jsonb, $3, $4, $5)";
	const char	*run = arena_printf(a, "%ld", c->run_id);
	const char	*pb[] = { run, o->doc, arena_printf(a, "%ld", o->rows),
	    arena_printf(a, "%zu", o->doc_len), o->truncated ? "t" : "f" };
	const char	*pr[] = { run, o->status,
	    arena_printf(a, "%ld", o->duration_ms),
	    arena_printf(a, "%ld", o->rows), o->error,
	    arena_printf(a, "%ld", c->job_id),
	    arena_printf(a, "%d", c->lock_pid), c->lock_since };
	PGresult	*res;
	enum pgs_rc	 rc;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_run, 8, pr, &res);
	if (rc == PGS_OK && !db_bool(res, 0, 0))
		rc = PGS_DENIED;
	/* Reaped or aborted meanwhile: keep what was recorded. */
	else if (rc == PGS_OK && db_long(res, 0, 1) == 0)
		rc = PGS_CONFLICT;
	if (rc == PGS_OK && o->doc != NULL)
		rc = db_cmd(db, a, sql_blob, 5, pb);
	if (rc == PGS_OK && strcmp(o->status, "error") == 0)
		rc = claim_retry(db, a, run);
	return db_end(db, rc);
}

enum pgs_rc
claim_prune(struct db *db, struct arena *a, int default_days, int batch,
    int *deleted)
{
	/* Old runs first (queued_at, by job or default keep_days), then
	 * runs beyond keep_runs; a job's latest success always stays, and
	 * unfinished runs are never touched. */
	static const char sql[] =
	    "WITH old AS (SELECT r.id FROM query_run r"
	    "  JOIN query_job j ON j.id = r.query_id"
	    "  WHERE r.queued_at < now() - make_interval(days =>"
	    "   (SELECT least(min(keep_days), $1::int) FROM query_job))"
	    "  AND r.queued_at < now() - make_interval(days =>"
	    "   coalesce(j.keep_days, $1::int))"
	    "  AND r.status IN ('success', 'error', 'skipped') LIMIT $2),"
	    " extra AS (SELECT x.id FROM query_job j CROSS JOIN LATERAL"
	    "  (SELECT r.id, r.status FROM query_run r WHERE r.query_id = j.id"
	    "   ORDER BY r.id DESC OFFSET j.keep_runs) x"
	    "  WHERE j.keep_runs IS NOT NULL"
	    "  AND x.status IN ('success', 'error', 'skipped') LIMIT $2)"
	    " DELETE FROM query_run d"
	    " WHERE d.id IN (SELECT id FROM old UNION SELECT id FROM extra)"
	    " AND d.id <> coalesce((SELECT max(s.id) FROM query_run s"
	    "  WHERE s.query_id = d.query_id AND s.status = 'success'), 0)";
	const char	*p[] = { arena_printf(a, "%d", default_days),
	    arena_printf(a, "%d", batch) };
	PGresult	*res;
	enum pgs_rc	 rc;

	*deleted = 0;
	rc = db_exec(db, a, sql, 2, p, PGRES_COMMAND_OK, &res);
	if (rc == PGS_OK)
		*deleted = (int)strtol(PQcmdTuples(res), NULL, 10);
	return rc;
}

/* Whether some session holds job's lock (without taking it). */
static enum pgs_rc
claim_busy(struct db *db, struct arena *a, const char *job, bool *busy)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
	    " AND classid = " CLAIM_LOCK_CLASS " AND objid = $1::int"
	    " AND objsubid = 2 AND granted)";
	const char	*p[] = { job };
	PGresult	*res;
	enum pgs_rc	 rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		*busy = db_bool(res, 0, 0);
	return rc;
}

static void
claim_preview_time(int64_t t, char *buf, size_t n)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

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
	const char	*p[] = { "100000" };
	char		 err[256], at[32], next[32];
	PGresult	*res;
	struct slot	 sl;
	enum pgs_rc	 rc;
	bool		 busy = false;
	int		 i;

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
		    PQgetvalue(res, i, 1), db_bool(res, i, 8) ? "waits (its "
		    "manual run is executing) for" : busy ? "skip (previous "
		    "run still executing)" : "due", at);
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

/* What a run needs of its job and data source (claim_job_read). */
#define CLAIM_JOB_COLS \
	"SELECT j.id, j.name, j.sql_text, j.timeout_ms, j.max_rows," \
	" s.host, s.port, s.dbname, s.username, s.enc_password"

/* Runs sql (CLAIM_JOB_COLS, one $1 id) and fills j from its row. */
static enum pgs_rc
claim_job_read(struct db *db, struct arena *a, const char *sql,
    const char *id, struct claim_job *j)
{
	const char	*p[] = { id };
	PGresult	*res;
	unsigned char	*raw;
	enum pgs_rc	 rc;

	memset(j, 0, sizeof(*j));
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	j->job_id = db_long(res, 0, 0);
	j->job_name = db_str(a, res, 0, 1);
	j->sql_text = db_str(a, res, 0, 2);
	j->timeout_ms = (int)db_long(res, 0, 3);
	j->max_rows = (int)db_long(res, 0, 4);
	j->host = db_str(a, res, 0, 5);
	j->port = (int)db_long(res, 0, 6);
	j->dbname = db_str(a, res, 0, 7);
	j->username = db_str(a, res, 0, 8);
	if (!PQgetisnull(res, 0, 9)) {
		raw = PQunescapeBytea((const unsigned char *)
		    PQgetvalue(res, 0, 9), &j->enc_len);
		if (raw != NULL) {
			j->enc = arena_alloc(a, j->enc_len + 1);
			memcpy(j->enc, raw, j->enc_len);
			PQfreemem(raw);
		}
	}
	return PGS_OK;
}

enum pgs_rc
claim_load(struct db *db, struct arena *a, long run_id, struct claim_job *j)
{
	static const char sql[] = CLAIM_JOB_COLS
	    " FROM query_run r JOIN query_job j ON j.id = r.query_id"
	    " JOIN data_source s ON s.id = j.data_source_id WHERE r.id = $1";
	static const char sql_start[] =
	    "UPDATE query_run SET run_started_at = now() WHERE id = $1";
	const char	*p[] = { arena_printf(a, "%ld", run_id) };
	enum pgs_rc	 rc;

	rc = claim_job_read(db, a, sql, p[0], j);
	if (rc != PGS_OK)
		return rc;
	return db_cmd(db, a, sql_start, 1, p);
}

enum pgs_rc
claim_load_job(struct db *db, struct arena *a, long job_id,
    struct claim_job *j)
{
	static const char sql[] = CLAIM_JOB_COLS
	    " FROM query_job j JOIN data_source s ON s.id = j.data_source_id"
	    " WHERE j.id = $1";

	return claim_job_read(db, a, sql, arena_printf(a, "%ld", job_id), j);
}
