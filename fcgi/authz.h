/*
 * authz.h: one worker's cache of identities and permissions: sessions
 * (by the hash of their sid), API tokens (by their hash) and what the
 * read rule (src/access.h) needs of a query.  It is used only while
 * `live`: the worker LISTENs on channel pgsched_auth on its metadata
 * connection, and the triggers of sql/0005-read-access.sql notify it at
 * the commit of anything that can take a right away; every notification
 * empties the whole cache, before the next request is served (app.c).
 * While the connection or its LISTEN is down, every request asks the
 * database.  The request-side functions are in api.h.
 */
#ifndef PGS_FCGI_AUTHZ_H
#define PGS_FCGI_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTHZ_BUCKETS 256
#define AUTHZ_MAX     4096 /* entries of each kind; beyond: start over */

struct authz_sess;
struct authz_tok;
struct authz_query;

struct authz {
	bool		    live;
	size_t		    nsess, ntok, nquery;
	struct authz_sess  *sess[AUTHZ_BUCKETS];
	struct authz_tok   *tok[AUTHZ_BUCKETS];
	struct authz_query *query[AUTHZ_BUCKETS];
	unsigned long	    hits, misses, clears;
};

/* Empties z; live is left as it is. */
void authz_clear(struct authz *z);

#endif
