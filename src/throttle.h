/*
 * throttle.h: SQL for failed logins (login_failure), counted per account
 * and per client address to throttle password guessing (CONTRACT §5).
 */
#ifndef PGS_THROTTLE_H
#define PGS_THROTTLE_H

#include "arena.h"
#include "db.h"
#include "rc.h"

/*
 * Counts the failed logins of the last window_min minutes for email (any
 * case) and for client.  When either reaches its limit, sets *retry_after
 * to the seconds until the oldest counted failure leaves the window (at
 * least 1) and returns PGS_DENIED; else PGS_OK.
 */
enum pgs_rc throttle_check(struct db *db, struct arena *a, const char *email,
    const char *client, int window_min, int max_account, int max_client,
    long *retry_after) PGS_MUSTCHECK;
/* Records a failed login, and forgets failures older than a day. */
enum pgs_rc throttle_fail(struct db *db, struct arena *a, const char *email,
    const char *client) PGS_MUSTCHECK;
/* Forgets the failures of email (after a successful login). */
enum pgs_rc
throttle_clear(struct db *db, struct arena *a, const char *email) PGS_MUSTCHECK;

#endif
