/*
 * outbox.h: the events of CONTRACT section 8 written into the delivery
 * outbox, notify_delivery, in the transaction that records what happened
 * (the run, the auto-pause, the staleness), so that a crash can neither
 * lose nor invent one.  One row per event and subscribed, enabled
 * channel, with its own webhook id (webhook_id_new) and its payload, the
 * webhook body of CONTRACT section 8 (never the rows; under 20 KB), with
 * links under db->public_url (PUBLIC_URL; without it the links are paths
 * such as /api/runs/42).  Delivering the rows is notify.h's.
 *
 * Events of a run (outbox_run): run.failed, run.succeeded, job.paused
 * (the run's failure paused its job: the query_run_stats trigger did it
 * in this transaction), result.changed (the result's hash differs from
 * the previous successful run's), alert.firing and alert.resolved (the
 * query's alert changed state on this run; a failed run leaves it).  An
 * alert that cannot be evaluated keeps its state and records the reason
 * once in query_alert.last_error.
 */
#ifndef PGS_OUTBOX_H
#define PGS_OUTBOX_H

#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

#define OUTBOX_HASH_HEX 65 /* bytes of a result hash in hex, NUL included */

/* A successful run's result, for its hash and its alert. */
struct outbox_result {
	const char *doc; /* the stored orient='table' document */
	size_t	    len;
	long	    rows;
};

/*
 * Writes the result hash of doc (len bytes; BLAKE2b-256) in hex into out,
 * the caller's.
 */
void outbox_hash_hex(const char *doc, size_t len, char out[OUTBOX_HASH_HEX]);

/*
 * Writes the events of run run_id, whose final status (and, on success,
 * result hash) the caller's open transaction has just recorded; res is
 * its result on success, NULL otherwise.  Updates the query's alert
 * state.  *n (may be NULL) gets the number of deliveries written.
 */
enum pgs_rc outbox_run(struct db *db, struct arena *a, long run_id,
    const struct outbox_result *res, int *n) PGS_MUSTCHECK;

/*
 * One transaction: marks at most limit jobs that just turned stale
 * (stale_at has come, no job.stale sent for this stale period: the
 * indexed query_job_stale) and writes their job.stale events.  Jobs
 * another runner is marking are skipped.  *jobs and *n get how many jobs
 * and deliveries.
 */
enum pgs_rc outbox_stale(struct db *db, struct arena *a, int limit, int *jobs,
    int *n) PGS_MUSTCHECK;

/*
 * Deletes at most batch finished deliveries (delivered or dead) without a
 * run (job.stale of a job without runs) older than days; deliveries of a
 * run go with it (run retention).  *deleted gets how many.
 */
enum pgs_rc outbox_prune(struct db *db, struct arena *a, int days, int batch,
    int *deleted) PGS_MUSTCHECK;

#endif
