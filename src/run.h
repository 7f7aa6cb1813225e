/*
 * run.h: the read side of run history (query_run + query_run_blob), used by
 * `pgsched-admin runs list|show` and by the HTTP API's run endpoints and
 * /metrics.  The write side is run_store.h.
 *
 * Timestamps come back as ISO 8601 UTC strings with microseconds,
 * "2026-03-30T07:00:00.000000Z", or NULL for SQL NULL.  Every string and
 * array belongs to the arena passed in.
 */
#ifndef PGS_RUN_H
#define PGS_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

#define RUN_LIST_MAX 1000 /* largest limit run_list accepts */

struct run {
	long  id;
	long  query_id;
	char *scheduled_at;
	char *job_timezone;
	char *run_started_at;
	char *run_finished_at;
	long  duration_ms;   /* -1 for NULL */
	char *status;	     /* queued|running|success|error|skipped */
	long  rows_returned; /* -1 for NULL */
	char *error_message;
	char *triggered_by;	 /* schedule|manual|retry */
	long  triggered_by_user; /* 0 for NULL */
	char *runner_host;
	long  runner_pid; /* 0 for NULL */
	long  missed_slots;
	long  attempt;
	long  retry_of; /* 0 for NULL */
	char *queued_at;
	/* query_run_blob; has_blob false (and the rest unset) when absent */
	bool  has_blob;
	char *format;	 /* "jsonb" */
	long  row_count; /* -1 for NULL */
	long  byte_size; /* -1 for NULL */
	bool  truncated;
	/* df_json::text, the orient='table' document; only filled when the
	 * caller asked for the result and the blob holds one, else NULL */
	char  *df_json;
	size_t df_json_len;
};

/*
 * Filters of run_list; zero/NULL members are not applied.  start and end
 * are ISO 8601 timestamps (isotime_parse forms) bounding run_started_at
 * as start <= run_started_at < end; a run that has not started matches
 * neither.  before/after are run ids: only runs with id < before and
 * id > after are listed.  With `after` alone, the page holds the runs
 * just after `after` (the page newer than a previous one); otherwise it
 * holds the newest runs below `before`.  Items are newest first either way.
 */
struct run_filter {
	const char *status;
	const char *start;
	const char *end;
	long	    before;
	long	    after;
	int	    limit; /* 1..RUN_LIST_MAX */
};

struct run_list {
	struct run *items; /* arena-owned, n of them, no df_json */
	int	    n;
	/* Paging: pass next_before as `before` for the older page and
	 * prev_after as `after` for the newer page; 0 when there is no such
	 * page (with the same status/start/end filters). */
	long next_before;
	long prev_after;
};

/*
 * Fills r with run id (and its blob's df_json as text when with_result).
 * Returns PGS_OK, PGS_NOTFOUND, or the db_exec rc.
 */
enum pgs_rc run_get(struct db *db, struct arena *a, long id, bool with_result,
    struct run *r) PGS_MUSTCHECK;
/*
 * Lists runs of query_id matching f into out (items newest first, never a
 * df_json).  Returns PGS_OK (possibly with n == 0, also for an unknown
 * query: the caller checks the query exists), PGS_INVALID for a bad limit,
 * status or timestamp (with the reason in db->errmsg, so db_error() names
 * the parameter), or the db_exec rc.
 */
enum pgs_rc run_list(struct db *db, struct arena *a, long query_id,
    const struct run_filter *f, struct run_list *out) PGS_MUSTCHECK;
/*
 * Fills r with the latest run of query_id (highest id): the latest
 * successful one, or of any status when any_status.  df_json as in
 * run_get.  Returns PGS_OK, PGS_NOTFOUND (no such run), or the db_exec rc.
 */
enum pgs_rc run_latest(struct db *db, struct arena *a, long query_id,
    bool any_status, bool with_result, struct run *r) PGS_MUSTCHECK;
/*
 * Sets *out to the id of the run of query_id just before (older: the
 * highest id below run_id) or after (newer: the lowest id above run_id)
 * run_id.  Returns PGS_OK, PGS_NOTFOUND when run_id is not a run of
 * query_id or has no such neighbour, or the db_exec rc.
 */
enum pgs_rc run_prev(struct db *db, struct arena *a, long query_id, long run_id,
    long *out) PGS_MUSTCHECK;
enum pgs_rc run_next(struct db *db, struct arena *a, long query_id, long run_id,
    long *out) PGS_MUSTCHECK;
/* Run counts by status and the scheduler's lag, for /metrics. */
struct run_stats {
	long   queued, running, success, error, skipped;
	double lag_s;	 /* now() - oldest due next_run_at, >= 0 */
	long   due_jobs; /* enabled jobs whose next_run_at passed */
	long   enabled_jobs;
};

/* Fills out (without scanning the run history: final statuses come from
 * the trigger-kept statistics of query_job). */
enum pgs_rc run_queue_stats(struct db *db, struct arena *a,
    struct run_stats *out) PGS_MUSTCHECK;
/* Returns true when s is one of the five run statuses. */
bool run_status_valid(const char *s);
/*
 * Returns the class of a run's stored error message (CONTRACT section 9),
 * what readers who may not see the message itself are shown: "source
 * unreachable", "timeout", "query error", "result too large", "runner
 * died", ...; never a host, role or SQL.  It is read from the message's
 * known beginnings, so rows written by older versions are classed too;
 * any other message is an error the source raised ("query error").
 * Returns a static string, or NULL when msg is NULL.
 */
const char *run_error_class(const char *msg);

#endif
