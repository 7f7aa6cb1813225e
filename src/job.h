/*
 * job.h: executing one claimed run on its data source, the same path for
 * pgsched-runner and `pgsched-admin queries run`.
 */
#ifndef PGS_JOB_H
#define PGS_JOB_H

#include <signal.h>

#include <libpq-fe.h>

#include "claim.h"
#include "conf.h"
#include "cred.h"
#include "db.h"

/* What executing a run needs from the program (owned by its main.c). */
struct runner {
	const struct conf	*conf;
	struct cred_keys	*keys;
	const char		*host;
	/* Published cancel handle of the running source query, and the
	 * stop request, both read by main.c's signal handler. */
	PGcancel *volatile	*cancel_slot;
	volatile sig_atomic_t	*stop;
};

/*
 * Executes the claimed run on its data source and records the outcome on
 * meta (the caller's metadata connection).  Returns PGS_OK when the
 * outcome (success or error) was recorded.
 */
enum pgs_rc	job_execute(const struct runner *r, struct db *meta,
		    const struct claim *c) PGS_MUSTCHECK;

#endif
