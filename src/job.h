/*
 * job.h: executing one claimed run on its data source, the same path for
 * pgsched-runner and `pgsched-admin queries run`.
 */
#ifndef PGS_JOB_H
#define PGS_JOB_H

#include <signal.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "claim.h"
#include "conf.h"
#include "cred.h"
#include "db.h"

#define JOB_CACHE_MAX	8	/* source connections kept by one worker */

/* A source connection kept for reuse within a tick. */
struct job_conn {
	PGconn		*conn;		/* NULL: free slot */
	unsigned char	 key[32];	/* hash of host, port, db, user, secret */
	unsigned long	 used;		/* LRU stamp */
	bool		 pending;	/* started by job_preconnect, not done */
};

/* The source connections of one worker process (owned by its main.c). */
struct job_cache {
	struct job_conn	 slot[JOB_CACHE_MAX];
	unsigned long	 clock;
};

/* What executing a run needs from the program (owned by its main.c). */
struct runner {
	const struct conf	*conf;
	struct cred_keys	*keys;
	const char		*host;
	/* Published cancel handle of the running source query, and the
	 * stop request, both read by main.c's signal handler. */
	PGcancel *volatile	*cancel_slot;
	volatile sig_atomic_t	*stop;
	/* Source connections to reuse (after DISCARD ALL), or NULL to
	 * connect for every run. */
	struct job_cache	*cache;
};

/*
 * Executes the claimed run on its data source and records the outcome on
 * meta (the caller's metadata connection).  Returns PGS_OK when the
 * outcome (success or error) was recorded.
 */
enum pgs_rc	job_execute(const struct runner *r, struct db *meta,
		    const struct claim *c) PGS_MUSTCHECK;

/*
 * Starts connecting to j's data source and leaves the connection in
 * r->cache, where the run of j takes it (job_execute); meanwhile the
 * caller talks to the metadata database.  Does nothing without r->cache
 * or when the start fails (the run then connects and reports why).
 */
void		job_preconnect(const struct runner *r,
		    const struct claim_job *j);

/* Closes every cached connection. */
void		job_cache_close(struct job_cache *jc);

#endif
