/*
 * h_user.c: login, logout, sessions and the user endpoints under /api.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "log.h"
#include "session.h"
#include "shape.h"
#include "throttle.h"

/* What a malformed e-mail gets; non-admins get the second one for a
 * taken address too (h_user_patch). */
#define EMAIL_INVALID  "is not a valid e-mail address"
#define EMAIL_UNUSABLE "is not a valid e-mail address or cannot be used"

/* The members of a PATCH /api/users/{uid} body. */
struct user_patch {
	const char *email, *name, *current;
	const char *roles[3];
	int	    nroles;
	bool	    has_roles, active, has_active;
};

/* Returns the arena-owned decimal text of v. */
static const char *
id_text(struct req *r, long v)
{
	return arena_printf(r->a, "%ld", v);
}

/* The highest role of u that ALLOWED_ROLES still allows. */
static enum role
h_user_role(struct req *r, const struct user *u)
{
	enum role best = ROLE_NONE, x;
	int	  i;

	for (i = 0; i < u->nroles; i++) {
		x = role_parse(u->roles[i]);
		if (x > best &&
		    conf_list_has(r->app->conf.allowed_roles, u->roles[i]))
			best = x;
	}
	return best;
}

/* {"ok":true,"user":{...}} */
static cJSON *
h_user_reply(const struct user *u)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "user", shape_user(u));
	return o;
}

enum pgs_rc
h_user_auth(struct req *r)
{
	enum pgs_rc rc;

	if (r->sid == NULL || !auth_token_valid(r->sid))
		return PGS_NOTFOUND;
	/* The worker's cache, or one round trip: the session, its sliding
	 * expiry and the user. */
	rc = authz_session(r);
	if (rc != PGS_OK)
		return rc;
	r->authed = true;
	r->role = h_user_role(r, &r->user);
	r->caller.kind = CALLER_USER;
	r->caller.user_id = r->user.id;
	r->caller.role = r->role;
	/* The cookie's lifetime slides with the session's. */
	if (r->sid_extended)
		reply_cookie(r, r->sid);
	return PGS_OK;
}

/* Checks the password of a login; same work whether the user exists. */
static enum pgs_rc
login_verify(struct req *r, const struct user *u, bool found,
    const char *password)
{
	struct app *app = r->app;
	enum pgs_rc rc;

	if (!found) {
		rc = auth_dummy_verify(app->pepper, app->pepperlen, password);
		return rc == PGS_INTERNAL ? rc : PGS_DENIED;
	}
	rc = auth_password_verify(app->pepper, app->pepperlen, password,
	    u->password_hash);
	if (rc == PGS_INVALID) {
		log_warn("login", "user=%ld stored hash is malformed", u->id);
		rc = PGS_DENIED;
	}
	if (rc == PGS_OK && !u->is_active)
		rc = PGS_DENIED;
	return rc;
}

/*
 * After a successful login: replaces a hash made with other parameters
 * by one with the current parameters, so that this e-mail costs what an
 * unknown one costs from now on.  A failure is logged, never fatal to
 * the login.
 */
static void
login_rehash(struct req *r, const struct user *u, const char *password)
{
	struct app *app = r->app;
	char	    phc[AUTH_PHC_MAX];
	enum pgs_rc rc;

	if (!auth_password_needs_rehash(u->password_hash))
		return;
	rc = auth_password_hash(app->pepper, app->pepperlen, password, phc,
	    sizeof(phc));
	if (rc == PGS_OK)
		rc = user_rehash(&app->db, r->a, u->id, u->password_hash, phc);
	sodium_memzero(phc, sizeof(phc));
	if (rc != PGS_OK)
		log_warn("login_rehash", "user=%ld rc=%s", u->id, rc_name(rc));
	else
		log_info("login_rehash",
		    "user=%ld rehashed with the current "
		    "parameters",
		    u->id);
}

/* Starts a session for u and answers the login. */
static enum pgs_rc
h_user_login_start(struct req *r, struct user *u)
{
	struct app *app = r->app;
	char	    tok[AUTH_TOKEN_LEN + 1], hash[AUTH_TOKEN_HASH_LEN + 1];
	cJSON	   *o;
	enum pgs_rc rc;

	if (r->sid != NULL && auth_token_valid(r->sid)) {
		auth_token_hash(r->sid, hash);
		rc = session_revoke(&app->db, r->a, hash);
		if (rc != PGS_OK)
			return rc;
	}
	rc = auth_token_new(tok);
	if (rc != PGS_OK)
		return rc;
	auth_token_hash(tok, hash);
	rc = session_create(&app->db, r->a, u->id, hash,
	    app->conf.session_ttl_hours, r->client, r->user_agent);
	if (rc != PGS_OK)
		return rc;
	reply_cookie(r, tok);
	sodium_memzero(tok, sizeof(tok));
	log_info("login", "user=%ld client=%s ok", u->id, r->client);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "user", shape_user(u));
	cJSON_AddItemToObject(o, "roles", shape_user_roles(u));
	return reply_json(r, 200, o);
}

/*
 * Answers 429 with Retry-After when the failed-password throttle of
 * email (any case) or of the client is spent: *sent is then true and
 * the reply written.  Returns PGS_OK (or reply_status's rc), or the
 * database's rc.
 */
static enum pgs_rc
h_user_throttled(struct req *r, const char *email, const char *event,
    bool *sent)
{
	struct app *app = r->app;
	long	    wait;
	enum pgs_rc rc;

	*sent = false;
	rc = throttle_check(&app->db, r->a, email, r->client,
	    app->conf.login_window_min, app->conf.login_fails_account,
	    app->conf.login_fails_client, &wait);
	if (rc != PGS_DENIED)
		return rc;
	*sent = true;
	reply_header(r, "Retry-After: %ld", wait);
	log_warn(event, "client=%s throttled", r->client);
	return reply_status(r, 429, "too_many_requests",
	    "too many failed password attempts; try again later");
}

enum pgs_rc
h_login(struct req *r)
{
	static const char *const allowed[] = { "email", "password", NULL };
	struct app		*app = r->app;
	const char		*email, *password;
	struct user		 u;
	bool			 found, sent;
	enum pgs_rc		 rc;

	req_unknown_fields(r, allowed);
	req_str(r, "email", 254, true, &email);
	req_str(r, "password", AUTH_PW_MAX_BYTES, true, &password);
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	rc = h_user_throttled(r, email, "login", &sent);
	if (rc != PGS_OK || sent)
		return rc;
	rc = user_get(&app->db, r->a, NULL, email, &u);
	if (rc != PGS_OK && rc != PGS_NOTFOUND)
		return rc;
	found = rc == PGS_OK;
	rc = login_verify(r, &u, found, password);
	if (rc == PGS_OK)
		rc = throttle_clear(&app->db, r->a, email);
	if (rc == PGS_OK) {
		login_rehash(r, &u, password);
		return h_user_login_start(r, &u);
	}
	if (rc != PGS_DENIED)
		return rc;
	rc = throttle_fail(&app->db, r->a, email, r->client);
	if (rc != PGS_OK)
		return rc;
	log_info("login", "client=%s failed", r->client);
	return reply_status(r, 401, "invalid_credentials",
	    "wrong e-mail or password");
}

enum pgs_rc
h_logout(struct req *r)
{
	char	    hash[AUTH_TOKEN_HASH_LEN + 1];
	cJSON	   *o;
	enum pgs_rc rc;

	if (r->sid != NULL && auth_token_valid(r->sid)) {
		auth_token_hash(r->sid, hash);
		rc = session_revoke(&r->app->db, r->a, hash);
		if (rc != PGS_OK)
			return rc;
	}
	reply_cookie(r, NULL);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

enum pgs_rc
h_me(struct req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "authenticated", true);
	cJSON_AddItemToObject(o, "user", shape_user(&r->user));
	cJSON_AddItemToObject(o, "roles", shape_user_roles(&r->user));
	return reply_json(r, 200, o);
}

enum pgs_rc
h_user_list(struct req *r)
{
	struct user_list l;
	long		 limit, offset;
	enum pgs_rc	 rc;

	rc = req_qint(r, "limit", 1, 500, 50, &limit);
	if (rc == PGS_OK)
		rc = req_qint(r, "offset", 0, 2147483647L, 0, &offset);
	if (rc != PGS_OK)
		return rc;
	rc = user_list(&r->app->db, r->a, (int)limit, (int)offset, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_user_list(&l, limit, offset));
}

/* Reads "roles" (an array of allowed role names) into names/n. */
static void
h_user_read_roles(struct req *r, const char **names, int *n, bool *present)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->json, "roles"),
		    *c;

	*n = 0;
	*present = arr != NULL;
	if (arr == NULL)
		return;
	if (!cJSON_IsArray(arr)) {
		req_field(r, "roles", "must be an array of role names");
		return;
	}
	cJSON_ArrayForEach(c, arr)
	{
		if (!cJSON_IsString(c) ||
		    role_parse(c->valuestring) == ROLE_NONE ||
		    !conf_list_has(r->app->conf.allowed_roles,
			c->valuestring)) {
			req_field(r, "roles", "each role must be one of %s",
			    r->app->conf.allowed_roles);
			return;
		}
		if (*n < 3)
			names[(*n)++] = c->valuestring;
	}
}

/* Hashes a new password after checking the policy (field errors). */
static enum pgs_rc
h_user_hash(struct req *r, const char *field, const char *pw, char *phc,
    size_t n)
{
	char err[160];

	if (auth_password_check(pw, err, sizeof(err)) != PGS_OK) {
		req_field(r, field, "%s", err);
		return PGS_INVALID;
	}
	return auth_password_hash(r->app->pepper, r->app->pepperlen, pw, phc,
	    n);
}

enum pgs_rc
h_user_create(struct req *r)
{
	static const char *const allowed[] = { "email", "name", "password",
		"roles", "is_active", NULL };
	const char		*email, *name, *pw, *roles[3] = { "viewer" };
	char			 phc[AUTH_PHC_MAX];
	struct user		 u;
	long			 id;
	int			 nroles = 1;
	bool			 has_roles, active = true;
	enum pgs_rc		 rc;

	req_unknown_fields(r, allowed);
	req_str(r, "email", 254, true, &email);
	req_str(r, "name", 200, false, &name);
	req_str(r, "password", AUTH_PW_MAX_BYTES, true, &pw);
	h_user_read_roles(r, roles, &nroles, &has_roles);
	if (!has_roles)
		nroles = 1;
	req_bool(r, "is_active", &active, NULL);
	if (email != NULL && !user_email_valid(email))
		req_field(r, "email", EMAIL_INVALID);
	if (pw != NULL &&
	    h_user_hash(r, "password", pw, phc, sizeof(phc)) != PGS_OK &&
	    r->errs.count == 0)
		return PGS_INTERNAL;
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	rc = user_create(&r->app->db, r->a, email, name, phc, roles, nroles,
	    &id);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "a user with this e-mail "
		    "exists");
	if (rc == PGS_OK && !active)
		rc = user_set_active(&r->app->db, r->a, id, false);
	if (rc == PGS_OK)
		rc = user_get(&r->app->db, r->a, id_text(r, id), NULL, &u);
	if (rc != PGS_OK)
		return rc;
	log_info("user_create", "user=%ld by=%ld created", id, r->user.id);
	reply_header(r, "Location: /api/users/%ld", id);
	return reply_json(r, 201, h_user_reply(&u));
}

/* Loads the target user of a /api/users/{uid} route that a user may call
 * on themselves or an admin on anyone. */
static enum pgs_rc
h_user_target(struct req *r, struct user *u)
{
	if (r->ids[0] != r->user.id && r->role < ROLE_ADMIN)
		return req_fail(r, PGS_DENIED, "forbidden",
		    "only an admin may "
		    "see or change another user");
	return user_get(&r->app->db, r->a, id_text(r, r->ids[0]), NULL, u);
}

enum pgs_rc
h_user_get(struct req *r)
{
	struct user u;
	enum pgs_rc rc;

	rc = h_user_target(r, &u);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, h_user_reply(&u));
}

static bool
h_user_has_admin(const char *const *roles, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(roles[i], "admin") == 0)
			return true;
	return false;
}

/* Refuses to leave the system without an active admin. */
static enum pgs_rc
h_user_keep_admin(struct req *r, const struct user *u)
{
	long	    n;
	enum pgs_rc rc;

	if (!h_user_has_admin((const char *const *)u->roles, u->nroles) ||
	    !u->is_active)
		return PGS_OK;
	rc = user_count_admins(&r->app->db, r->a, u->id, &n);
	if (rc == PGS_OK && n == 0)
		rc = req_fail(r, PGS_CONFLICT, "conflict",
		    "this is the last "
		    "active admin");
	return rc;
}

/*
 * Checks cur, the current password of u, which a change to one's own
 * password or e-mail (`what`) needs.  Wrong ones count as failed logins
 * of u's e-mail and of the client (the login throttle): once either
 * limit is reached the answer is 429 with Retry-After, whatever the
 * password, *sent is true and the reply written.  Returns PGS_OK,
 * PGS_INVALID with a field error, or the database's rc.
 */
static enum pgs_rc
h_user_check_current(struct req *r, const struct user *u, const char *cur,
    const char *what, bool *sent)
{
	struct app *app = r->app;
	enum pgs_rc rc;

	*sent = false;
	if (cur == NULL) {
		req_field(r, "current_password",
		    "is required to change your "
		    "own %s",
		    what);
		return PGS_INVALID;
	}
	rc = h_user_throttled(r, u->email, "password_check", sent);
	if (rc != PGS_OK || *sent)
		return rc;
	rc = auth_password_verify(app->pepper, app->pepperlen, cur,
	    u->password_hash);
	/* Success does not clear the count (a login does): refused
	 * e-mail changes count too, and must keep counting. */
	if (rc != PGS_DENIED && rc != PGS_INVALID)
		return rc;
	rc = throttle_fail(&app->db, r->a, u->email, r->client);
	if (rc != PGS_OK)
		return rc;
	log_info("password_check", "user=%ld client=%s failed", u->id,
	    r->client);
	req_field(r, "current_password", "is wrong");
	return PGS_INVALID;
}

/* Validates a PATCH body; applies nothing. */
static void
h_user_patch_read(struct req *r, struct user_patch *p)
{
	static const char *const allowed[] = { "email", "name", "roles",
		"is_active", "current_password", NULL };

	req_unknown_fields(r, allowed);
	req_str(r, "email", 254, false, &p->email);
	req_str(r, "name", 200, false, &p->name);
	req_str(r, "current_password", AUTH_PW_MAX_BYTES, false, &p->current);
	h_user_read_roles(r, p->roles, &p->nroles, &p->has_roles);
	req_bool(r, "is_active", &p->active, &p->has_active);
	if (p->email != NULL && !user_email_valid(p->email))
		req_field(r, "email", "%s",
		    r->role >= ROLE_ADMIN ? EMAIL_INVALID : EMAIL_UNUSABLE);
}

/*
 * Writes the e-mail and name of a PATCH.  A taken e-mail is a 409 for
 * an admin; anyone else gets the 422 a malformed address gets, so the
 * answer does not say that the address belongs to someone, and the
 * attempt counts against the failed-password throttle like a wrong
 * password, which bounds how fast addresses can be tried.
 */
static enum pgs_rc
h_user_patch_update(struct req *r, const struct user *u,
    const struct user_patch *p)
{
	enum pgs_rc rc;

	rc = user_update(&r->app->db, r->a, u->id, p->email, p->name);
	if (rc != PGS_CONFLICT)
		return rc;
	if (r->role >= ROLE_ADMIN)
		return req_fail(r, rc, "conflict",
		    "a user with this e-mail "
		    "exists");
	rc = throttle_fail(&r->app->db, r->a, u->email, r->client);
	if (rc != PGS_OK)
		return rc;
	log_info("user_update", "user=%ld client=%s e-mail refused", u->id,
	    r->client);
	req_field(r, "email", "%s", EMAIL_UNUSABLE);
	return req_fields_rc(r);
}

enum pgs_rc
h_user_patch(struct req *r)
{
	struct db	 *db = &r->app->db;
	struct user	  u;
	struct user_patch p;
	bool		  sent = false;
	enum pgs_rc	  rc;

	rc = h_user_target(r, &u);
	if (rc != PGS_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	p.active = true;
	h_user_patch_read(r, &p);
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	if ((p.has_roles || p.has_active) && r->role < ROLE_ADMIN)
		return req_fail(r, PGS_DENIED, "forbidden",
		    "only an admin may "
		    "change roles or is_active");
	/* A stolen session alone must not take the account over. */
	if (u.id == r->user.id && p.email != NULL &&
	    strcmp(p.email, u.email) != 0)
		rc = h_user_check_current(r, &u, p.current, "e-mail", &sent);
	if (rc != PGS_OK || sent)
		return rc;
	if ((p.has_roles && !h_user_has_admin(p.roles, p.nroles)) ||
	    (p.has_active && !p.active))
		rc = h_user_keep_admin(r, &u);
	if (rc == PGS_OK && (p.email != NULL || p.name != NULL))
		rc = h_user_patch_update(r, &u, &p);
	if (rc == PGS_OK && p.has_roles)
		rc = user_set_roles(db, r->a, u.id, p.roles, p.nroles);
	if (rc == PGS_OK && p.has_active)
		rc = user_set_active(db, r->a, u.id, p.active);
	if (rc == PGS_OK)
		rc = user_get(db, r->a, id_text(r, u.id), NULL, &u);
	if (rc != PGS_OK)
		return rc;
	log_info("user_update", "user=%ld by=%ld updated", u.id, r->user.id);
	return reply_json(r, 200, h_user_reply(&u));
}

enum pgs_rc
h_user_delete(struct req *r)
{
	struct user u;
	cJSON	   *o;
	enum pgs_rc rc;

	rc = user_get(&r->app->db, r->a, id_text(r, r->ids[0]), NULL, &u);
	if (rc == PGS_OK)
		rc = h_user_keep_admin(r, &u);
	if (rc == PGS_OK)
		rc = user_delete(&r->app->db, r->a, u.id);
	if (rc != PGS_OK)
		return rc;
	log_info("user_delete", "user=%ld by=%ld deleted", u.id, r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

enum pgs_rc
h_user_password(struct req *r)
{
	static const char *const allowed[] = { "new_password",
		"current_password", NULL };
	const char		*pw, *cur;
	char			 phc[AUTH_PHC_MAX];
	struct user		 u;
	bool			 self, sent = false;
	cJSON			*o;
	enum pgs_rc		 rc;

	rc = h_user_target(r, &u);
	if (rc != PGS_OK)
		return rc;
	self = u.id == r->user.id;
	req_unknown_fields(r, allowed);
	req_str(r, "new_password", AUTH_PW_MAX_BYTES, true, &pw);
	req_str(r, "current_password", AUTH_PW_MAX_BYTES, false, &cur);
	rc = req_fields_rc(r);
	if (rc == PGS_OK && self)
		rc = h_user_check_current(r, &u, cur, "password", &sent);
	if (sent)
		return rc;
	if (rc == PGS_OK)
		rc = h_user_hash(r, "new_password", pw, phc, sizeof(phc));
	if (rc == PGS_OK)
		rc = user_set_password(&r->app->db, r->a, u.id, phc);
	sodium_memzero(phc, sizeof(phc));
	if (rc != PGS_OK)
		return rc;
	/* Every session of the user is revoked, this one included. */
	if (self)
		reply_cookie(r, NULL);
	log_info("user_password", "user=%ld by=%ld changed, sessions revoked",
	    u.id, r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddBoolToObject(o, "sessions_revoked", true);
	return reply_json(r, 200, o);
}
