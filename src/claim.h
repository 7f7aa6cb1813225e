/*
 * claim.h: claiming (CONTRACT §3): which runs this runner executes.
 * Reaping orphaned runs, claiming due slots (coalescing missed ones,
 * skipping an overlapping one, moving the job to its next slot) and queued
 * runs, each under its job's advisory lock (run_store.h tells the rule of
 * those locks), and a preview of what a tick would claim.  The runs
 * themselves are written by the run store (run_store.h), next_run_at by
 * the query store (query_move).
 */
#ifndef PGS_CLAIM_H
#define PGS_CLAIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

/* A run this runner has claimed and must execute. */
struct claim {
	long	    run_id;
	long	    job_id;
	char	   *job_name;
	char	   *slot;    /* scheduled_at, text */
	long	    missed;  /* slots it stands for */
	const char *trigger; /* "schedule" | "manual" | "retry" */
	/* The session holding the job lock: its backend pid and start. */
	int	    lock_pid;
	const char *lock_since;
};

/* A growable list of claims, owned by the arena given to its functions. */
struct claim_list {
	struct claim *items;
	int	      n;
	int	      cap;
};

/* What a tick did, for the log and --dry-run. */
struct claim_stats {
	int reaped;
	int requeued; /* manual runs of dead runners */
	int claimed;
	int skipped;  /* overlap: previous run still executing */
	int deferred; /* due, waiting for a manual run */
	int lost;     /* slot taken by another runner */
	int bad_schedule;
};

/* Jobs whose lock this process holds (session locks are re-entrant, so
 * the runner must remember them itself). */
struct claim_held {
	long *ids;
	int   n;
	int   cap;
};

/* Sets *standby to pg_is_in_recovery(). */
enum pgs_rc
claim_is_standby(struct db *db, struct arena *a, bool *standby) PGS_MUSTCHECK;
/* Settles `running` runs whose job lock nobody holds (run_store_reap): a
 * manual run is queued again (RUN_MANUAL_REQUEUES times at most), any
 * other becomes error "runner died".  Must run before this process takes
 * any job lock. */
enum pgs_rc claim_reap(struct db *db, struct arena *a,
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
enum pgs_rc claim_due(struct db *db, struct arena *a, const char *host,
    long pid, int limit, struct claim_held *held, struct claim_list *out,
    struct claim_stats *st, bool *more) PGS_MUSTCHECK;
/*
 * Claims queued runs (manual, retries whose time has come), or only run
 * `only_run` when it is not 0; a run whose job is busy stays queued, and
 * so does a manual run whose job has a due slot (the slot runs first).
 */
enum pgs_rc claim_queued(struct db *db, struct arena *a, const char *host,
    long pid, long only_run, int limit, struct claim_held *held,
    struct claim_list *out, struct claim_stats *st) PGS_MUSTCHECK;
/* Releases the job lock taken by a claim. */
enum pgs_rc claim_release(struct db *db, struct arena *a,
    struct claim_held *held, long job_id) PGS_MUSTCHECK;
/* Prints what a tick would do without changing anything. */
enum pgs_rc
claim_preview(struct db *db, struct arena *a, FILE *fp) PGS_MUSTCHECK;

#endif
