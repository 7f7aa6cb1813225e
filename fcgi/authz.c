/*
 * authz.c: who is asking and what they may read, through the worker's
 * cache of identities and permissions (authz.h): sessions, API tokens,
 * and the read rule of a query (src/access.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "api.h"
#include "log.h"
#include "session.h"
#include "token.h"

struct authz_sess {
	struct authz_sess *next;
	char		   hash[AUTH_TOKEN_HASH_LEN + 1];
	time_t		   until;
	struct user	   u; /* strings malloc'd */
	char		  *roles;
};

struct authz_tok {
	struct authz_tok *next;
	char		  hash[TOKEN_HASH_LEN + 1];
	time_t		  until; /* usable until; 0 when not usable */
	time_t		  touched;
	long		  id;
	long		 *qids;
	int		  nqids;
};

struct authz_query {
	struct authz_query *next;
	bool		    found;
	struct access_query q; /* grantees malloc'd */
};

/* Returns the bucket of a hex hash (from its first two digits: the
 * hash is SHA-256, already uniform). */
static unsigned
authz_bucket(const char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const char *h = strchr(digits, hex[0]), *l = strchr(digits, hex[1]);

	if (hex[0] == '\0' || hex[1] == '\0' || h == NULL || l == NULL)
		return 0;
	return (unsigned)((h - digits) * 16 + (l - digits)) % AUTHZ_BUCKETS;
}

/* Frees a session entry and its strings. */
static void
authz_free_sess(struct authz_sess *e)
{
	free(e->u.email);
	free(e->u.name);
	free(e->u.created_at);
	free(e->u.updated_at);
	free(e->roles);
	free(e);
}

void
authz_clear(struct authz *z)
{
	struct authz_sess  *s;
	struct authz_tok   *t;
	struct authz_query *q;
	int		    i;

	for (i = 0; i < AUTHZ_BUCKETS; i++) {
		while ((s = z->sess[i]) != NULL) {
			z->sess[i] = s->next;
			authz_free_sess(s);
		}
		while ((t = z->tok[i]) != NULL) {
			z->tok[i] = t->next;
			free(t->qids);
			free(t);
		}
		while ((q = z->query[i]) != NULL) {
			z->query[i] = q->next;
			free(q->q.grantees);
			free(q);
		}
	}
	z->nsess = z->ntok = z->nquery = 0;
	z->clears++;
}

/* Returns a malloc'd copy of s (the cache's), or NULL. */
static char *
authz_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Returns an arena copy of s (the request's), or NULL. */
static char *
authz_adup(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

/* Splits the cached role list into r->user (arena copies). */
static void
authz_sess_user(struct req *r, const struct authz_sess *e)
{
	char *roles, *tok, *save;

	r->user = e->u;
	r->user.email = authz_adup(r->a, e->u.email);
	r->user.name = authz_adup(r->a, e->u.name);
	r->user.created_at = authz_adup(r->a, e->u.created_at);
	r->user.updated_at = authz_adup(r->a, e->u.updated_at);
	r->user.nroles = 0;
	roles = arena_strdup(r->a, e->roles);
	for (tok = strtok_r(roles, ",", &save);
	     tok != NULL && r->user.nroles < 3;
	     tok = strtok_r(NULL, ",", &save))
		r->user.roles[r->user.nroles++] = tok;
}

/* Remembers the session of r (just read from the database) for valid_s
 * seconds. */
static void
authz_sess_put(struct req *r, long valid_s)
{
	struct authz	  *z = &r->app->authz;
	struct authz_sess *e;
	struct buf	   roles = BUF_INIT;
	unsigned	   b;
	int		   i;

	if (!z->live || valid_s <= 0)
		return;
	if (z->nsess >= AUTHZ_MAX)
		authz_clear(z);
	e = xcalloc(1, sizeof(*e));
	memcpy(e->hash, r->sid_hash, sizeof(e->hash));
	e->until = time(NULL) + valid_s;
	e->u = r->user;
	e->u.email = authz_dup(r->user.email);
	e->u.name = authz_dup(r->user.name);
	e->u.created_at = authz_dup(r->user.created_at);
	e->u.updated_at = authz_dup(r->user.updated_at);
	e->u.password_hash = NULL;
	for (i = 0; i < r->user.nroles; i++)
		buf_printf(&roles, "%s%s", i > 0 ? "," : "", r->user.roles[i]);
	e->roles = xstrdup(roles.data != NULL ? roles.data : "");
	buf_free(&roles);
	b = authz_bucket(e->hash);
	e->next = z->sess[b];
	z->sess[b] = e;
	z->nsess++;
}

/* Returns the live cached session of hash, or NULL. */
static const struct authz_sess *
authz_sess_get(struct authz *z, const char *hash)
{
	struct authz_sess *e;

	if (!z->live)
		return NULL;
	for (e = z->sess[authz_bucket(hash)]; e != NULL; e = e->next)
		if (strcmp(e->hash, hash) == 0)
			return e->until > time(NULL) ? e : NULL;
	return NULL;
}

enum pgs_rc
authz_session(struct req *r)
{
	struct app		*app = r->app;
	const struct authz_sess *e;
	long			 valid_s = 0;
	enum pgs_rc		 rc;

	auth_token_hash(r->sid, r->sid_hash);
	e = authz_sess_get(&app->authz, r->sid_hash);
	if (e != NULL) {
		app->authz.hits++;
		authz_sess_user(r, e);
		r->sid_extended = false;
		return PGS_OK;
	}
	app->authz.misses++;
	/* A stale entry (expired, or its extension due) is replaced. */
	rc = session_user(&app->db, r->a, r->sid_hash,
	    app->conf.session_ttl_hours, app->conf.session_extend_min, &r->user,
	    &r->sid_extended, &valid_s);
	if (rc == PGS_OK)
		authz_sess_put(r, valid_s);
	return rc;
}

/* Returns the cached token of hash (usable or not), or NULL. */
static struct authz_tok *
authz_tok_get(struct authz *z, const char *hash)
{
	struct authz_tok *e;

	if (!z->live)
		return NULL;
	for (e = z->tok[authz_bucket(hash)]; e != NULL; e = e->next)
		if (strcmp(e->hash, hash) == 0)
			return e;
	return NULL;
}

/* Reads the token of hash from the database into a new entry (the
 * caller's, or the cache's when live); PGS_NOTFOUND for an unknown one. */
static enum pgs_rc
authz_tok_load(struct req *r, const char *hash, struct authz_tok **out)
{
	struct authz	 *z = &r->app->authz;
	struct authz_tok *e;
	struct token	  t;
	time_t		  now = time(NULL);
	unsigned	  b;
	enum pgs_rc	  rc;

	rc = token_lookup(&r->app->db, r->a, hash, &t);
	if (rc != PGS_OK)
		return rc;
	e = arena_alloc(r->a, sizeof(*e));
	memset(e, 0, sizeof(*e));
	memcpy(e->hash, hash, sizeof(e->hash));
	e->until = t.active ? now + t.expires_in : 0;
	e->touched = t.used_recently ? now : 0;
	e->id = t.id;
	e->qids = t.qids;
	e->nqids = t.nqids;
	*out = e;
	if (!z->live)
		return PGS_OK;
	if (z->ntok >= AUTHZ_MAX)
		authz_clear(z);
	e = xmalloc(sizeof(*e));
	*e = **out;
	e->qids = xcalloc((size_t)t.nqids + 1, sizeof(*e->qids));
	if (t.nqids > 0)
		memcpy(e->qids, t.qids, sizeof(*e->qids) * (size_t)t.nqids);
	b = authz_bucket(hash);
	e->next = z->tok[b];
	z->tok[b] = e;
	z->ntok++;
	*out = e;
	return PGS_OK;
}

/* 401 for a token that is unknown, revoked or expired. */
static enum pgs_rc
authz_tok_refuse(struct req *r)
{
	reply_header(r, "WWW-Authenticate: Bearer error=\"invalid_token\"");
	reply_status(r, 401, "invalid_token",
	    "the API token is unknown, revoked or expired");
	return PGS_DENIED;
}

enum pgs_rc
authz_bearer(struct req *r, const char *token)
{
	char		  hash[TOKEN_HASH_LEN + 1];
	struct authz_tok *e;
	time_t		  now = time(NULL);
	enum pgs_rc	  rc;

	if (!token_valid(token))
		return authz_tok_refuse(r);
	token_hash(token, hash);
	e = authz_tok_get(&r->app->authz, hash);
	if (e != NULL)
		r->app->authz.hits++;
	else {
		r->app->authz.misses++;
		rc = authz_tok_load(r, hash, &e);
		if (rc == PGS_NOTFOUND)
			return authz_tok_refuse(r);
		if (rc != PGS_OK)
			return rc;
	}
	if (e->until <= now)
		return authz_tok_refuse(r);
	/* last_used_at: one write a minute at most (token_touch checks
	 * again, for the other workers and hosts). */
	if (now - e->touched >= TOKEN_TOUCH_S) {
		rc = token_touch(&r->app->db, r->a, e->id);
		if (rc != PGS_OK)
			return rc;
		e->touched = now;
	}
	r->token_id = e->id;
	r->caller.kind = CALLER_TOKEN;
	r->caller.qids =
	    arena_alloc(r->a, sizeof(long) * (size_t)(e->nqids + 1));
	memcpy((long *)r->caller.qids, e->qids,
	    sizeof(long) * (size_t)e->nqids);
	r->caller.nqids = e->nqids;
	return PGS_OK;
}

/* Fills *q (arena copy) with the rule's facts of query id; PGS_NOTFOUND
 * when there is no such query. */
static enum pgs_rc
authz_query_facts(struct req *r, long id, struct access_query *q)
{
	struct authz	   *z = &r->app->authz;
	struct authz_query *e;
	unsigned	    b = (unsigned)id % AUTHZ_BUCKETS;
	enum pgs_rc	    rc;

	for (e = z->live ? z->query[b] : NULL; e != NULL; e = e->next)
		if (e->q.id == id)
			break;
	if (e != NULL) {
		z->hits++;
		*q = e->q;
		return e->found ? PGS_OK : PGS_NOTFOUND;
	}
	z->misses++;
	rc = access_query_get(&r->app->db, r->a, id, q);
	if ((rc != PGS_OK && rc != PGS_NOTFOUND) || !z->live)
		return rc;
	if (z->nquery >= AUTHZ_MAX)
		authz_clear(z);
	e = xcalloc(1, sizeof(*e));
	e->found = rc == PGS_OK;
	e->q = *q;
	e->q.id = id;
	e->q.grantees = xcalloc((size_t)q->ngrantees + 1, sizeof(long));
	if (q->ngrantees > 0)
		memcpy(e->q.grantees, q->grantees,
		    sizeof(long) * (size_t)q->ngrantees);
	e->next = z->query[b];
	z->query[b] = e;
	z->nquery++;
	return rc;
}

enum pgs_rc
authz_query(struct req *r, long id)
{
	struct access_query q;
	enum pgs_rc	    rc;

	rc = authz_query_facts(r, id, &q);
	if (rc == PGS_OK && !access_may_read(&r->caller, &q))
		rc = PGS_NOTFOUND;
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no such query");
	return rc;
}
