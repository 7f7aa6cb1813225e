/*
 * run_store.c: SQL writing query_run and query_run_blob (see
 * run_store.h).  No other file writes these tables.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "run_store.h"

enum pgs_rc
run_store_slot(struct db *db, struct arena *a, long job_id, const char *tz,
    int64_t at, int64_t missed, const char *host, long pid, bool running,
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
	const char *p[7];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", job_id);
	p[1] = arena_printf(a, "%" PRId64, at);
	p[2] = tz;
	p[3] = running ? "running" : "skipped";
	p[4] = host;
	p[5] = arena_printf(a, "%ld", pid);
	p[6] = arena_printf(a, "%" PRId64, missed);
	rc = db_query(db, a, sql, 7, p, &res);
	*run_id = rc == PGS_OK && PQntuples(res) > 0 ? db_long(res, 0, 0) : 0;
	return rc;
}

enum pgs_rc
run_store_start(struct db *db, struct arena *a, long run_id, const char *host,
    long pid)
{
	static const char sql[] =
	    "UPDATE query_run SET status = 'running', runner_host = $2,"
	    " runner_pid = $3, run_started_at = now() WHERE id = $1";
	const char *p[] = { arena_printf(a, "%ld", run_id), host,
		arena_printf(a, "%ld", pid) };

	return db_cmd(db, a, sql, 3, p);
}

enum pgs_rc
run_store_begin(struct db *db, struct arena *a, long run_id)
{
	static const char sql[] =
	    "UPDATE query_run SET run_started_at = now() WHERE id = $1";
	const char *p[] = { arena_printf(a, "%ld", run_id) };

	return db_cmd(db, a, sql, 1, p);
}

enum pgs_rc
run_store_enqueue_manual(struct db *db, struct arena *a, long job_id,
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
	const char *p[] = { arena_printf(a, "%ld", job_id),
		user_id > 0 ? arena_printf(a, "%ld", user_id) : NULL };
	PGresult   *res;
	enum pgs_rc rc;
	int	    try;

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

/* Runs sql_dead (ending run_id in error, np parameters p) and writes the
 * events of the failure, in one transaction (outbox.h). */
static enum pgs_rc
run_store_dead(struct db *db, struct arena *a, const char *sql_dead, int np,
    const char *const *p, long run_id)
{
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_dead, np, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0)
		rc = outbox_run(db, a, run_id, NULL, NULL);
	return db_end(db, rc);
}

enum pgs_rc
run_store_abort(struct db *db, struct arena *a, long run_id, const char *msg)
{
	static const char sql[] =
	    "UPDATE query_run SET status = 'error', error_message = $2,"
	    " run_finished_at = now(), duration_ms = (extract(epoch FROM"
	    " now() - coalesce(run_started_at, queued_at)) * 1000)::int"
	    " WHERE id = $1 AND status IN ('running', 'queued') RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", run_id), msg };

	return run_store_dead(db, a, sql, 2, p, run_id);
}

enum pgs_rc
run_store_reap(struct db *db, struct arena *a, long run_id, long job_id,
    bool *requeued)
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
	    " * 1000)::int WHERE id = $1 AND status = 'running' RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", run_id),
		arena_printf(a, "%d", RUN_MANUAL_REQUEUES) };
	PGresult   *res;
	enum pgs_rc rc;

	*requeued = false;
	rc = db_query(db, a, sql_requeue, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0) {
		*requeued = true;
		log_warn("run_requeued",
		    "run=%ld query=%ld requeues=%s runner "
		    "died, manual run queued again",
		    run_id, job_id, PQgetvalue(res, 0, 0));
		return PGS_OK;
	}
	if (rc == PGS_OK)
		rc = run_store_dead(db, a, sql_dead, 1, p, run_id);
	if (rc == PGS_OK)
		log_warn("run_reaped", "run=%ld query=%ld runner died", run_id,
		    job_id);
	return rc;
}

/* Queues the retry of a failed run when its job has retries left. */
static enum pgs_rc
run_store_retry(struct db *db, struct arena *a, const char *run)
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
	const char *p[] = { run };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0)
		log_info("run_retry", "run=%s retry=%s after=\"%s\"", run,
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	return rc;
}

/*
 * The fence of run_store_finish.  The run's status changes only while the
 * job lock is held by the session that claimed it: the parent runner's,
 * not the worker's own (pg_locks: pid, and backend_start so that a reused
 * pid cannot pass).  The check and the update are one statement of the
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
run_store_finish(struct db *db, struct arena *a, long run_id,
    const struct run_lock *lock, struct run_outcome *o)
{
	static const char sql_run[] =
	    "WITH fence AS (SELECT EXISTS (SELECT 1 FROM pg_locks l"
	    "  JOIN pg_stat_activity s ON s.pid = l.pid"
	    "  WHERE l.locktype = 'advisory'"
	    "  AND l.classid = " RUN_LOCK_CLASS " AND l.objid = $6::int"
	    "  AND l.objsubid = 2 AND l.granted AND l.pid = $7::int"
	    "  AND s.backend_start = $8::timestamptz) AS held),"
	    " done AS (UPDATE query_run SET status = $2,"
	    " run_finished_at = now(), duration_ms = $3, rows_returned = $4,"
	    " error_message = $5, result_hash = decode($9, 'hex')"
	    " WHERE id = $1 AND status = 'running'"
	    " AND (SELECT held FROM fence) RETURNING id)"
	    " SELECT (SELECT held FROM fence), (SELECT count(*) FROM done)";
	static const char sql_blob[] =
	    "INSERT INTO query_run_blob (run_id, format, df_json, row_count,"
	    " byte_size, truncated)"
	    " VALUES ($1, 'jsonb', $2::jsonb, $3, $4, $5)";
	const char *run = arena_printf(a, "%ld", run_id);
	const char *pb[] = { run, o->doc, arena_printf(a, "%ld", o->rows),
		arena_printf(a, "%zu", o->doc_len), o->truncated ? "t" : "f" };
	const char *pr[] = { run, o->status,
		arena_printf(a, "%ld", o->duration_ms),
		arena_printf(a, "%ld", o->rows), o->error,
		arena_printf(a, "%ld", lock->job_id),
		arena_printf(a, "%d", lock->pid), lock->since, NULL };
	struct outbox_result out = { o->doc, o->doc_len, o->rows };
	char		     hash[OUTBOX_HASH_HEX];
	PGresult	    *res;
	enum pgs_rc	     rc;

	o->deliveries = 0;
	if (o->doc != NULL) {
		outbox_hash_hex(o->doc, o->doc_len, hash);
		pr[8] = hash;
	}
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_run, 9, pr, &res);
	if (rc == PGS_OK && !db_bool(res, 0, 0))
		rc = PGS_DENIED;
	/* Reaped or aborted meanwhile: keep what was recorded. */
	else if (rc == PGS_OK && db_long(res, 0, 1) == 0)
		rc = PGS_CONFLICT;
	if (rc == PGS_OK && o->doc != NULL)
		rc = db_cmd(db, a, sql_blob, 5, pb);
	if (rc == PGS_OK && strcmp(o->status, "error") == 0)
		rc = run_store_retry(db, a, run);
	if (rc == PGS_OK)
		rc = outbox_run(db, a, run_id,
		    strcmp(o->status, "success") == 0 ? &out : NULL,
		    &o->deliveries);
	return db_end(db, rc);
}

enum pgs_rc
run_store_prune(struct db *db, struct arena *a, int default_days, int batch,
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
	const char *p[] = { arena_printf(a, "%d", default_days),
		arena_printf(a, "%d", batch) };
	PGresult   *res;
	enum pgs_rc rc;

	*deleted = 0;
	rc = db_exec(db, a, sql, 2, p, PGRES_COMMAND_OK, &res);
	if (rc == PGS_OK)
		*deleted = (int)strtol(PQcmdTuples(res), NULL, 10);
	return rc;
}
