/*
 * session.h: SQL the HTTP API alone needs: login sessions (user_session),
 * failed logins for throttling (login_failure), manual runs put in the
 * queue, and the run counts /metrics shows.  Session ids are never stored:
 * only auth_token_hash() of them.
 */
#ifndef PGS_SESSION_H
#define PGS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "rc.h"
#include "store.h"

/*
 * Stores a new session of user_id under hash (auth_token_hash of the sid),
 * valid ttl_hours, with the client's address and user agent (may be NULL).
 * Returns PGS_OK or the db_exec rc.
 */
enum pgs_rc	 session_create(struct db *db, struct arena *a, long user_id,
		    const char *hash, int ttl_hours, const char *ip,
		    const char *ua) PGS_MUSTCHECK;
/*
 * Looks the session up: it must exist, not be revoked nor expired, and its
 * user must be active.  Slides the expiry to now + ttl_hours when the last
 * extension is more than extend_min minutes old (one write at most per
 * extend_min), then sets *extended.  *user_id gets the user.  Returns
 * PGS_OK, PGS_NOTFOUND, or the db_exec rc.
 */
enum pgs_rc	 session_lookup(struct db *db, struct arena *a,
		    const char *hash, int ttl_hours, int extend_min,
		    long *user_id, bool *extended) PGS_MUSTCHECK;
/*
 * session_lookup and the user's row in one round trip (two when the
 * session's expiry slides): fills *u (arena strings, no password_hash)
 * with the session's user.  The SELECT is prepared once per connection
 * (PQprepare) and falls back to an ordinary query when that fails.  Returns PGS_OK, PGS_NOTFOUND, or the db_exec rc.
 */
enum pgs_rc	 session_user(struct db *db, struct arena *a,
		    const char *hash, int ttl_hours, int extend_min,
		    struct user *u, bool *extended) PGS_MUSTCHECK;
/* Revokes the session stored under hash (PGS_OK even when unknown). */
enum pgs_rc	 session_revoke(struct db *db, struct arena *a,
		    const char *hash) PGS_MUSTCHECK;

/*
 * Counts the failed logins of the last window_min minutes for email (any
 * case) and for client.  When either reaches its limit, sets *retry_after
 * to the seconds until the oldest counted failure leaves the window (at
 * least 1) and returns PGS_DENIED; else PGS_OK.
 */
enum pgs_rc	 throttle_check(struct db *db, struct arena *a,
		    const char *email, const char *client, int window_min,
		    int max_account, int max_client, long *retry_after)
		    PGS_MUSTCHECK;
/* Records a failed login, and forgets failures older than a day. */
enum pgs_rc	 throttle_fail(struct db *db, struct arena *a,
		    const char *email, const char *client) PGS_MUSTCHECK;
/* Forgets the failures of email (after a successful login). */
enum pgs_rc	 throttle_clear(struct db *db, struct arena *a,
		    const char *email) PGS_MUSTCHECK;

/* Run counts by status and the scheduler's lag, for /metrics. */
struct run_stats {
	long	 queued, running, success, error, skipped;
	double	 lag_s;		/* now() - oldest due next_run_at, >= 0 */
	long	 due_jobs;	/* enabled jobs whose next_run_at passed */
	long	 enabled_jobs;
};

enum pgs_rc	 run_queue_stats(struct db *db, struct arena *a,
		    struct run_stats *out) PGS_MUSTCHECK;

#endif
