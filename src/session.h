/*
 * session.h: SQL for login sessions (user_session), which the HTTP API
 * alone uses.  Session ids are never stored: only auth_token_hash() of
 * them.  Failed logins are throttle.h's.
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
enum pgs_rc
session_create(struct db *db, struct arena *a, long user_id, const char *hash,
    int ttl_hours, const char *ip, const char *ua) PGS_MUSTCHECK;
/*
 * Looks the session up: it must exist, not be revoked nor expired, and its
 * user must be active.  Slides the expiry to now + ttl_hours when the last
 * extension is more than extend_min minutes old (one write at most per
 * extend_min), then sets *extended.  *user_id gets the user.  Returns
 * PGS_OK, PGS_NOTFOUND, or the db_exec rc.
 */
enum pgs_rc session_lookup(struct db *db, struct arena *a, const char *hash,
    int ttl_hours, int extend_min, long *user_id, bool *extended) PGS_MUSTCHECK;
/*
 * session_lookup and the user's row in one round trip (two when the
 * session's expiry slides): fills *u (arena strings, no password_hash)
 * with the session's user; *valid_s gets the seconds this answer stays
 * true unless the session, the user or its roles change (until the
 * session expires or its next extension is due).  The SELECT is prepared once per connection
 * (PQprepare) and falls back to an ordinary query when that fails.
 * Returns PGS_OK, PGS_NOTFOUND, or the db_exec rc.
 */
enum pgs_rc session_user(struct db *db, struct arena *a, const char *hash,
    int ttl_hours, int extend_min, struct user *u, bool *extended,
    long *valid_s) PGS_MUSTCHECK;
/* Revokes the session stored under hash (PGS_OK even when unknown). */
enum pgs_rc
session_revoke(struct db *db, struct arena *a, const char *hash) PGS_MUSTCHECK;

#endif
