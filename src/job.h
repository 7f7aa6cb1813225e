/*
 * job.h: executing one claimed run on its data source and recording it,
 * the same path for pgsched-runner's ticks, and "run this job now"
 * (job_run_now), the one path of `pgsched-runner --run/--query` and
 * `pgsched-admin queries run`.
 */
#ifndef PGS_JOB_H
#define PGS_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "arena.h"
#include "claim.h"
#include "conf.h"
#include "cred.h"
#include "db.h"
#include "store.h"

/* The error of a run cancelled because its job lock was lost. */
#define JOB_LOCK_LOST \
	"cancelled: the metadata session holding the " \
	"job lock is lost"

#define JOB_CACHE_MAX 8 /* source connections kept by one worker */

/* A source connection kept for reuse within a tick. */
struct job_conn {
	PGconn	     *conn;    /* NULL: free slot */
	unsigned char key[32]; /* hash of host, port, db, user, secret */
	unsigned long used;    /* LRU stamp */
	bool	      pending; /* started by job_preconnect, not done */
};

/* The source connections of one worker process (owned by its main.c). */
struct job_cache {
	struct job_conn slot[JOB_CACHE_MAX];
	unsigned long	clock;
};

/* What executing a run needs from the program (owned by its main.c). */
struct runner {
	const struct conf *conf;
	struct cred_keys  *keys;
	const char	  *host;
	/* Published cancel handle of the running source query, and the
	 * stop request, both read by main.c's signal handler. */
	PGcancel *volatile    *cancel_slot;
	volatile sig_atomic_t *stop;
	/* Source connections to reuse (after DISCARD ALL), or NULL to
	 * connect for every run. */
	struct job_cache *cache;
	/* The session holding the job lock when the run executes in the
	 * same process (job_run_now), or NULL: its socket is watched while
	 * the source query runs, which is cancelled once it hangs up. */
	struct db *lock_db;
	/* The write end of the courier's wake-up socket (runner/main.c),
	 * told after each run that wrote notifications; -1: no courier,
	 * the run's notifications are attempted here after the commit. */
	int notify_fd;
};

/* One "run this job now" (job_run_now). */
struct job_now {
	long  query_id; /* queue a manual run of it, or 0 */
	long  run_id;	/* the run given, queued or standing */
	FILE *announce; /* gets "run N" once claimed, or NULL */
	bool  claimed;	/* set: it was claimed and executed */
};

/*
 * Executes the claimed run on its data source and records the outcome on
 * meta (the caller's metadata connection).  Returns PGS_OK when the
 * outcome (success or error) was recorded.
 */
enum pgs_rc job_execute(const struct runner *r, struct db *meta,
    const struct claim *c) PGS_MUSTCHECK;

/*
 * Runs a job now, in this process: when n->query_id is not 0, queues a
 * manual run of it (and starts connecting to its source meanwhile), else
 * takes the queued run n->run_id; claims it under its job lock, executes
 * it under the memory cap (exec_memory_limit) while watching db, the
 * session holding the lock, records it (only while that lock is held:
 * run_store_finish) and releases the lock.  db must not reopen itself
 * (db->reconnect false).  With n->claimed set (it was executed), returns
 * PGS_OK when its outcome (success or error) is recorded; PGS_DENIED
 * when the session holding the lock was lost (lock_lost is logged): the
 * run was cancelled and nothing is recorded, the next tick reaps it;
 * else the rc of recording (PGS_CONFLICT: reaped meanwhile) or releasing.
 * Without n->claimed, returns PGS_OK when the run was not claimed: it is
 * not queued (gone, finished), or its query is running or has a due slot
 * (which runs first), and a later tick runs it if it is still queued;
 * PGS_NOTFOUND when there is no query n->query_id; PGS_CONFLICT when it
 * already has a manual run queued or running (n->run_id); else the db rc
 * of queueing (n->run_id still 0) or claiming.
 */
enum pgs_rc job_run_now(const struct runner *r, struct db *db, struct arena *a,
    struct job_now *n) PGS_MUSTCHECK;

/*
 * Starts connecting to j's data source and leaves the connection in
 * r->cache, where the run of j takes it (job_execute); meanwhile the
 * caller talks to the metadata database.  Does nothing without r->cache
 * or when the start fails (the run then connects and reports why).
 */
void job_preconnect(const struct runner *r, const struct query_job *j);

/* Closes every cached connection. */
void job_cache_close(struct job_cache *jc);

#endif
