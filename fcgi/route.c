/*
 * route.c: the life of one request: matching it against the route table
 * (routes.c), CORS, the database check, body limits, authentication,
 * roles, CSRF, then the handler; the metrics count every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "log.h"
#include "log_access.h"
#include "num.h"
#include "token.h"

/*
 * Matches path against pattern; ids get the {name} segments (validated
 * later).  Returns true on a match.
 */
static bool
route_match(const char *pattern, const char *path, const char **seg,
    const char **names, int *nseg)
{
	const char *p = pattern, *q = path, *pe, *qe;

	*nseg = 0;
	while (*p != '\0' && *q != '\0') {
		if (*p != '/' || *q != '/')
			return false;
		p++;
		q++;
		pe = p + strcspn(p, "/");
		qe = q + strcspn(q, "/");
		if (*p == '{') {
			if (qe == q || *nseg >= REQ_MAX_IDS)
				return false;
			names[*nseg] = p;
			seg[(*nseg)++] = q;
		} else if (pe - p != qe - q ||
		    strncmp(p, q, (size_t)(pe - p)) != 0)
			return false;
		p = pe;
		q = qe;
	}
	return *p == '\0' && *q == '\0';
}

/* Parses the id segments of a matched route into r->ids. */
static enum pgs_rc
route_ids(struct req *r, const char **seg, const char **names, int nseg)
{
	int i;

	for (i = 0; i < nseg; i++)
		if (!num_parse_n(seg[i], strcspn(seg[i], "/"), 1, 2147483647L,
			&r->ids[i])) {
			req_field(r,
			    arena_strndup(r->a, names[i] + 1,
				strcspn(names[i], "}") - 1),
			    "must be a positive integer id");
			return PGS_INVALID;
		}
	return PGS_OK;
}

/* Finds the route; fills allow (methods of the path) when none fits. */
static enum pgs_rc
route_find(struct req *r, struct buf *allow)
{
	const char	   *seg[REQ_MAX_IDS], *names[REQ_MAX_IDS];
	const struct route *routes;
	int		    i, n, nseg;

	routes = route_table(&n);
	for (i = 0; i < n; i++) {
		if (!route_match(routes[i].pattern, r->path, seg, names, &nseg))
			continue;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->route = &routes[i];
			r->route_idx = i;
			return route_ids(r, seg, names, nseg);
		}
		if (strstr(allow->data ? allow->data : "", routes[i].method) ==
		    NULL) {
			buf_puts(allow, routes[i].method);
			buf_puts(allow, ", ");
			if (strcmp(routes[i].method, "GET") == 0)
				buf_puts(allow, "HEAD, ");
		}
	}
	return PGS_NOTFOUND;
}

/* The API's own origin, scheme://host, arena-owned (NULL without Host). */
static const char *
route_own_origin(struct req *r)
{
	const char *host = req_env(r, "HTTP_HOST");

	if (host == NULL)
		return NULL;
	return arena_printf(r->a, "%s://%s", r->https ? "https" : "http", host);
}

static bool
route_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool
route_mutating(const struct req *r)
{
	return strcmp(r->method, "GET") != 0;
}

/* CSRF: a cookie-carrying state change must be JSON from a known origin. */
static enum pgs_rc
route_csrf(struct req *r)
{
	const char *own;

	if (r->sid == NULL || !route_mutating(r))
		return PGS_OK;
	if (!route_is_json(r->content_type)) {
		reply_status(r, 403, "csrf",
		    "a state-changing request with a "
		    "session cookie must be Content-Type: application/json");
		return PGS_DENIED;
	}
	if (r->origin == NULL)
		return PGS_OK;
	own = route_own_origin(r);
	if ((own != NULL && strcasecmp(own, r->origin) == 0) ||
	    (strcmp(r->origin, "*") != 0 &&
		conf_list_has(r->app->conf.cors_allowed_origins, r->origin)))
		return PGS_OK;
	reply_status(r, 403, "csrf", "the request's Origin is not allowed");
	return PGS_DENIED;
}

/* Sends an HTTP-level error and returns PGS_INVALID. */
static enum pgs_rc
route_refuse(struct req *r, int status, const char *code, const char *msg)
{
	reply_status(r, status, code, msg);
	return PGS_INVALID;
}

/* Reads and parses the body the route takes. */
static enum pgs_rc
route_body(struct req *r)
{
	char	    err[160];
	enum pgs_rc rc;
	unsigned    fl = r->route->flags;

	if (r->content_length > 0 && !route_is_json(r->content_type))
		return route_refuse(r, 415, "unsupported_media_type",
		    "the body must be application/json");
	rc = req_read_body(r);
	if (rc != PGS_OK)
		return route_refuse(r, 400, "invalid_json",
		    "the body ended early");
	if (r->bodylen == 0 && !(fl & ROUTE_BODY))
		return PGS_OK;
	if (!(fl & (ROUTE_BODY | ROUTE_BODY_OPT)))
		return route_refuse(r, 400, "invalid_json",
		    "this endpoint takes no body");
	if (r->bodylen == 0)
		return route_refuse(r, 400, "invalid_json",
		    "the body is empty: a JSON object is expected");
	rc = json_parse(r->body, r->bodylen, &r->json, err, sizeof(err));
	if (rc != PGS_OK)
		return route_refuse(r, 400, "invalid_json", err);
	arena_defer(r->a, (void (*)(void *))cJSON_Delete, r->json);
	if (!cJSON_IsObject(r->json))
		return route_refuse(r, 400, "invalid_json",
		    "the body must be a JSON object");
	return PGS_OK;
}

/*
 * An API token (Authorization: Bearer) reads runs, results and the
 * catalogue entries of its queries (the ACC_RUNS routes) and nothing
 * else: 403 elsewhere; 401 when it is not a usable token.
 */
static enum pgs_rc
route_check_token(struct req *r)
{
	enum pgs_rc rc;

	rc = authz_bearer(r, r->bearer);
	if (rc != PGS_OK)
		return rc;
	if (r->route->access == ACC_RUNS)
		return PGS_OK;
	return req_fail(r, PGS_DENIED, "forbidden",
	    "an API token reads runs and results of its queries only");
}

/* Authenticates and checks the route's access rule. */
static enum pgs_rc
route_check_access(struct req *r)
{
	enum route_access acc = r->route->access;
	enum pgs_rc	  rc;

	if (r->bearer != NULL && acc != ACC_PUBLIC)
		return route_check_token(r);
	if (acc == ACC_RUNS && r->app->conf.runs_public) {
		/* Public, but a logged-in editor reads more (full run error
		 * messages): a request without a valid session is anonymous. */
		if (r->sid == NULL)
			return PGS_OK;
		rc = h_user_auth(r);
		return rc == PGS_NOTFOUND ? PGS_OK : rc;
	}
	if (acc == ACC_RUNS)
		acc = ACC_AUTH;
	if (acc == ACC_PUBLIC)
		return PGS_OK;
	rc = h_user_auth(r);
	if (rc != PGS_OK && rc != PGS_NOTFOUND)
		return rc;
	if (!r->authed) {
		reply_status(r, 401, "unauthenticated", "log in first");
		return PGS_DENIED;
	}
	if ((acc == ACC_EDITOR && r->role < ROLE_EDITOR) ||
	    (acc == ACC_ADMIN && r->role < ROLE_ADMIN))
		return req_fail(r, PGS_DENIED, "forbidden",
		    "this needs the "
		    "%s role",
		    acc == ACC_ADMIN ? "admin" : "editor");
	return PGS_OK;
}

/* The access rule, CSRF, the body (read once) and the handler. */
static enum pgs_rc
route_handle(struct req *r)
{
	enum pgs_rc rc;

	rc = route_check_access(r);
	if (rc == PGS_OK)
		rc = route_csrf(r);
	if (rc == PGS_OK && !r->body_read) {
		rc = route_body(r);
		r->body_read = rc == PGS_OK;
	}
	if (rc == PGS_OK)
		rc = r->route->fn(r);
	return rc;
}

/* Forgets what a failed route_handle() learnt of the caller and added to
 * the answer's headers (those before hdrs_len stay), for a second try. */
static void
route_forget(struct req *r, size_t hdrs_len)
{
	memset(&r->caller, 0, sizeof(r->caller));
	r->token_id = 0;
	r->authed = false;
	r->role = ROLE_NONE;
	memset(&r->user, 0, sizeof(r->user));
	r->sid_extended = false;
	r->err_code = NULL;
	r->err_msg = NULL;
	r->hdrs.len = hdrs_len;
	if (r->hdrs.cap > 0)
		r->hdrs.data[hdrs_len] = '\0';
}

/* Everything between routing and the handler's answer. */
static void
route_dispatch(struct req *r)
{
	size_t	    hdrs_len;
	enum pgs_rc rc;

	if (!(r->route->flags & ROUTE_NODB) && !app_db_ready(r->app)) {
		reply_status(r, 503, "unavailable",
		    "the database is unavailable, try again");
		return;
	}
	if (r->content_length > r->app->conf.max_body_bytes) {
		/* Refused before a byte of the body is read. */
		reply_status(r, 413, "body_too_large",
		    arena_printf(r->a, "the body is larger than %ld bytes",
			r->app->conf.max_body_bytes));
		return;
	}
	hdrs_len = r->hdrs.len;
	rc = route_handle(r);
	/*
	 * A GET that met a lost connection is tried once more, whole (the
	 * access check included), after a reconnect: the database may just
	 * have restarted.  A write is not: it may have been applied.
	 */
	if (rc == PGS_DB && !r->replied && !route_mutating(r) &&
	    r->errs.count == 0 && PQstatus(r->app->db.conn) != CONNECTION_OK &&
	    app_db_ready(r->app)) {
		log_info("retry", "route=\"%s\" retried after a reconnect",
		    r->route->pattern);
		route_forget(r, hdrs_len);
		rc = route_handle(r);
	}
	if (rc != PGS_OK && !r->replied)
		reply_rc(r, rc);
}

/* OPTIONS, unknown paths and wrong methods. */
static void
route_unmatched(struct req *r, struct buf *allow, bool options)
{
	if (allow->len == 0) {
		reply_status(r, 404, "not_found", "no such endpoint");
		return;
	}
	buf_puts(allow, "OPTIONS");
	reply_header(r, "Allow: %s", allow->data);
	if (options) {
		reply_cors(r, true);
		reply_send(r, 204, "application/json", "", 0);
		return;
	}
	reply_status(r, 405, "method_not_allowed",
	    arena_printf(r->a, "%s is not allowed here (allowed: %s)",
		r->method, allow->data));
}

static double
route_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Returns true when the URL carries an API token: a parameter token= or
 * access_token=, or a token-shaped value anywhere in the path or the
 * query (decoded or not).  Such a request is refused, and its URL is
 * logged by nobody.
 */
static bool
route_token_in_url(struct req *r)
{
	const char *q = r->query, *d;

	if (token_in_text(r->path, strlen(r->path)) ||
	    token_in_text(q, strlen(q)))
		return true;
	if (req_qparam(r, "token") != NULL ||
	    req_qparam(r, "access_token") != NULL)
		return true;
	d = req_decoded(r, q);
	if (token_in_text(d, strlen(d)))
		return true;
	d = req_decoded(r, r->path);
	return token_in_text(d, strlen(d));
}

void
route_serve(struct app *app, FCGX_Request *fr)
{
	struct arena	  a;
	struct req	  r;
	struct buf	  allow = BUF_INIT;
	struct log_access la;
	double		  t0 = route_now();
	bool		  options;
	enum pgs_rc	  rc;

	arena_init(&a);
	req_init(&r, app, &a, fr);
	buf_init(&r.hdrs);
	options = strcmp(r.method, "OPTIONS") == 0;
	rc = route_token_in_url(&r) ? PGS_DENIED : route_find(&r, &allow);
	if (rc == PGS_DENIED) {
		r.path = "-"; /* logged without the URL */
		reply_cors(&r, false);
		reply_status(&r, 400, "token_in_url",
		    "an API token is accepted only in the Authorization: "
		    "Bearer header, never in the URL; revoke this one, it "
		    "may have been recorded by a proxy");
	} else if (rc == PGS_NOTFOUND) {
		if (!options)
			reply_cors(&r, false);
		route_unmatched(&r, &allow, options);
	} else {
		reply_cors(&r, false);
		if (rc != PGS_OK)
			reply_rc(&r, rc);
		else
			route_dispatch(&r);
	}
	if (!r.replied)
		reply_rc(&r, PGS_INTERNAL);
	la.seconds = route_now() - t0;
	metrics_count(app->metrics, r.route_idx, r.status, la.seconds);
	la.method = r.head ? "HEAD" : r.method;
	la.route =
	    r.route_idx >= 0 && r.route != NULL ? r.route->pattern : NULL;
	la.path = r.path;
	la.status = r.status;
	la.user_id = r.authed ? r.user.id : 0;
	la.client = r.client;
	log_access(&la);
	metrics_sync_log(app->metrics, &app->log_dropped_seen);
	json_errors_free(&r.errs);
	buf_free(&allow);
	buf_free(&r.hdrs);
	arena_free(&a);
}
