/*
 * claim.h: the scheduling engine's SQL (CONTRACT §3): reaping orphaned
 * runs, claiming due slots and queued runs under per-job advisory locks,
 * finishing runs with their result, retries, and retention.
 *
 * Locks: a job's advisory lock (CLAIM_LOCK_CLASS, job id) is held by the
 * runner process that executes one of its runs, on its metadata session,
 * from the claim until the run's final status is committed.  A run that
 * is `running` while nobody holds its job's lock belongs to a dead runner
 * (or one that lost that session: it must then write nothing, see
 * claim_finish).
 */
#ifndef PGS_CLAIM_H
#define PGS_CLAIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

#define CLAIM_LOCK_CLASS	"1885823843"	/* "pgsc" */
/* Times a manual run whose runner died is queued again before it is
 * recorded as "runner died" (query_run.requeues). */
#define CLAIM_MANUAL_REQUEUES	2

/* A run this runner has claimed and must execute. */
struct claim {
	long		 run_id;
	long		 job_id;
	char		*job_name;
	char		*slot;		/* scheduled_at, text */
	long		 missed;	/* slots it stands for */
	const char	*trigger;	/* "schedule" | "manual" | "retry" */
	/* The session holding the job lock: its backend pid and start. */
	int		 lock_pid;
	const char	*lock_since;
};

/* A growable list of claims, owned by the arena given to its functions. */
struct claim_list {
	struct claim	*items;
	int		 n;
	int		 cap;
};

/* What a tick did, for the log and --dry-run. */
struct claim_stats {
	int		 reaped;
	int		 requeued;	/* manual runs of dead runners */
	int		 claimed;
	int		 skipped;	/* overlap: previous run still executing */
	int		 deferred;	/* due, waiting for a manual run */
	int		 lost;		/* slot taken by another runner */
	int		 bad_schedule;
};

/* Jobs whose lock this process holds (session locks are re-entrant, so
 * the runner must remember them itself). */
struct claim_held {
	long		*ids;
	int		 n;
	int		 cap;
};

/* Sets *standby to pg_is_in_recovery(). */
enum pgs_rc	claim_is_standby(struct db *db, struct arena *a, bool *standby)
		    PGS_MUSTCHECK;
/* Settles `running` runs whose job lock nobody holds: a manual run is
 * queued again (CLAIM_MANUAL_REQUEUES times at most), any other becomes
 * error "runner died".  Must run before this process takes any job
 * lock. */
enum pgs_rc	claim_reap(struct db *db, struct arena *a,
		    struct claim_stats *st) PGS_MUSTCHECK;
/*
 * Claims up to `limit` due jobs: coalesces missed slots into one run at
 * the latest slot, records an overlapping slot as `skipped`, moves
 * next_run_at to the first future slot; claimed runs are inserted as
 * `running` under the unique slot key, with their job lock held.  A job
 * whose manual run is executing is left due: its slot runs once the
 * manual run is over, it is never skipped for it.  Appends to out.
 * *more is set when there may be further due jobs.
 */
enum pgs_rc	claim_due(struct db *db, struct arena *a, const char *host,
		    long pid, int limit, struct claim_held *held,
		    struct claim_list *out, struct claim_stats *st, bool *more)
		    PGS_MUSTCHECK;
/*
 * Claims queued runs (manual, retries whose time has come), or only run
 * `only_run` when it is not 0; a run whose job is busy stays queued, and
 * so does a manual run whose job has a due slot (the slot runs first).
 */
enum pgs_rc	claim_queued(struct db *db, struct arena *a, const char *host,
		    long pid, long only_run, int limit, struct claim_held *held,
		    struct claim_list *out, struct claim_stats *st)
		    PGS_MUSTCHECK;
/*
 * Queues a manual run of job by user_id (0: not a user, e.g. the CLI):
 * status queued, triggered_by manual, scheduled_at now(), missed_slots 0,
 * the job's time zone.  *run_id gets its id.  A job has at most one manual
 * run queued or running: PGS_CONFLICT with *run_id set to that run's id
 * when it has one.  PGS_NOTFOUND when the job is gone.
 */
enum pgs_rc	claim_enqueue_manual(struct db *db, struct arena *a,
		    long job_id, long user_id, long *run_id) PGS_MUSTCHECK;
/* Releases the job lock taken by a claim. */
enum pgs_rc	claim_release(struct db *db, struct arena *a,
		    struct claim_held *held, long job_id) PGS_MUSTCHECK;
/* Marks a run error with msg if it is still running (worker crashed,
 * runner stopped). */
enum pgs_rc	claim_abort(struct db *db, struct arena *a, long run_id,
		    const char *msg) PGS_MUSTCHECK;
/* Prints what a tick would do without changing anything. */
enum pgs_rc	claim_preview(struct db *db, struct arena *a, FILE *fp)
		    PGS_MUSTCHECK;
/* Deletes at most `batch` runs beyond their job's retention (keep_days,
 * default default_days, and keep_runs), never a job's latest success. */
enum pgs_rc	claim_prune(struct db *db, struct arena *a, int default_days,
		    int batch, int *deleted) PGS_MUSTCHECK;

/* The outcome of one execution, for claim_finish. */
struct claim_outcome {
	const char	*status;	/* "success" | "error" */
	long		 duration_ms;
	long		 rows;
	const char	*error;		/* NULL on success */
	const char	*doc;		/* orient='table' JSON, or NULL */
	size_t		 doc_len;
	bool		 truncated;
};

/*
 * Records a finished run: the blob (on success) and the final status in one
 * transaction, plus the retry run when it failed and the job has retries
 * left (delay retry_delay_s doubling per attempt, capped at one hour).
 * Only while the claim's job lock is still held by the session that took
 * it (c->lock_pid, c->lock_since), checked in the same transaction: else
 * nothing is written and PGS_DENIED is returned (the runner lost that
 * session; the next tick reaps the run).  PGS_CONFLICT when the run is no
 * longer running (reaped or aborted meanwhile).
 */
enum pgs_rc	claim_finish(struct db *db, struct arena *a,
		    const struct claim *c, const struct claim_outcome *o)
		    PGS_MUSTCHECK;

/* What executing a run needs: the job's SQL and limits, its source. */
struct claim_job {
	long		 job_id;
	char		*job_name;
	char		*sql_text;
	int		 timeout_ms;	/* 0: the default */
	int		 max_rows;	/* 0: the default */
	char		*host;
	int		 port;
	char		*dbname;
	char		*username;
	unsigned char	*enc;		/* sealed password, arena-owned */
	size_t		 enc_len;
};

/* Loads what run_id needs and stamps its start time. */
enum pgs_rc	claim_load(struct db *db, struct arena *a, long run_id,
		    struct claim_job *j) PGS_MUSTCHECK;
/* Loads the same for a job, without a run (to connect ahead of it). */
enum pgs_rc	claim_load_job(struct db *db, struct arena *a, long job_id,
		    struct claim_job *j) PGS_MUSTCHECK;

#endif
