/*
 * run_store.h: the write side of run history, the only writer of
 * query_run and query_run_blob (run.h is the read side): a run's life
 * (inserted for a due slot or queued by hand, started, finished with its
 * result under the fence of the job lock, aborted, settled when its runner
 * died, requeued), the retry of a failed run, and retention.
 *
 * Locks: a job's advisory lock (RUN_LOCK_CLASS, job id) is held by the
 * runner process that executes one of its runs, on its metadata session,
 * from the claim (claim.h) until the run's final status is committed.  A
 * run that is `running` while nobody holds its job's lock belongs to a
 * dead runner (or one that lost that session: it must then write nothing,
 * see run_store_finish).
 */
#ifndef PGS_RUN_STORE_H
#define PGS_RUN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

#define RUN_LOCK_CLASS "1885823843" /* "pgsc" */
/* Times a manual run whose runner died is queued again before it is
 * recorded as "runner died" (query_run.requeues). */
#define RUN_MANUAL_REQUEUES 2

/* The session holding a run's job lock: its backend pid and start. */
struct run_lock {
	long	    job_id;
	int	    pid;
	const char *since;
};

/* The outcome of one execution, for run_store_finish. */
struct run_outcome {
	const char *status; /* "success" | "error" */
	long	    duration_ms;
	long	    rows;
	const char *error; /* NULL on success */
	const char *doc;   /* orient='table' JSON, or NULL */
	size_t	    doc_len;
	bool	    truncated;
	int	    deliveries; /* out: notifications written (outbox.h) */
};

/*
 * Inserts the run of job_id's due slot `at` (Unix seconds, standing for
 * `missed` slots, in the job's time zone tz) by host/pid: `running`, or
 * `skipped` (its previous run still executes) when not running.  *run_id
 * gets its id, or 0 when the slot's run exists already (another runner
 * took it: the unique slot key).
 */
enum pgs_rc run_store_slot(struct db *db, struct arena *a, long job_id,
    const char *tz, int64_t at, int64_t missed, const char *host, long pid,
    bool running, long *run_id) PGS_MUSTCHECK;
/* Marks the queued run run_id running by host/pid (it is locked by the
 * caller's claim). */
enum pgs_rc run_store_start(struct db *db, struct arena *a, long run_id,
    const char *host, long pid) PGS_MUSTCHECK;
/* Stamps run_started_at of run_id: its execution begins now. */
enum pgs_rc
run_store_begin(struct db *db, struct arena *a, long run_id) PGS_MUSTCHECK;
/*
 * Queues a manual run of job by user_id (0: not a user, e.g. the CLI):
 * status queued, triggered_by manual, scheduled_at now(), missed_slots 0,
 * the job's time zone.  *run_id gets its id.  A job has at most one manual
 * run queued or running: PGS_CONFLICT with *run_id set to that run's id
 * when it has one.  PGS_NOTFOUND when the job is gone.
 */
enum pgs_rc run_store_enqueue_manual(struct db *db, struct arena *a,
    long job_id, long user_id, long *run_id) PGS_MUSTCHECK;
/*
 * Records a finished run: the blob and result hash (on success), the
 * final status and its notification events (outbox.h; their number in
 * o->deliveries) in one transaction, plus the retry run when it failed
 * and the job has retries left (delay retry_delay_s doubling per attempt,
 * capped at one hour).  Only while the job lock is still held by the session lock names,
 * checked in the same transaction: else nothing is written and PGS_DENIED
 * is returned (the runner lost that session; the next tick reaps the run).
 * PGS_CONFLICT when the run is no longer running (reaped or aborted
 * meanwhile).
 */
enum pgs_rc run_store_finish(struct db *db, struct arena *a, long run_id,
    const struct run_lock *lock, struct run_outcome *o) PGS_MUSTCHECK;
/* Marks a run error with msg if it is still running or queued (worker
 * crashed, runner stopped), with its events (outbox.h). */
enum pgs_rc run_store_abort(struct db *db, struct arena *a, long run_id,
    const char *msg) PGS_MUSTCHECK;
/*
 * Settles run_id (of job_id), still `running` while nobody holds its job
 * lock (the caller holds it now): a manual run is queued again while it
 * has requeues left (*requeued set), any other becomes error "runner
 * died".
 */
enum pgs_rc run_store_reap(struct db *db, struct arena *a, long run_id,
    long job_id, bool *requeued) PGS_MUSTCHECK;
/* Deletes at most `batch` runs beyond their job's retention (keep_days,
 * default default_days, and keep_runs), never a job's latest success;
 * *deleted gets how many. */
enum pgs_rc run_store_prune(struct db *db, struct arena *a, int default_days,
    int batch, int *deleted) PGS_MUSTCHECK;

#endif
