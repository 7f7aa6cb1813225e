/*
 * api.h: what the request side of pgsched-fcgi shares: one request, the
 * router, the request and reply functions and the handlers, with the
 * worker's state (app.h), the route table (routes.h) and the metrics
 * (metrics.h) they use.
 */
#ifndef PGS_FCGI_API_H
#define PGS_FCGI_API_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

#include "access.h"
#include "app.h"
#include "arena.h"
#include "auth.h"
#include "buf.h"
#include "cache.h"
#include "conf.h"
#include "cred.h"
#include "db.h"
#include "json.h"
#include "metrics.h"
#include "rc.h"
#include "routes.h"
#include "store.h"

#define REQ_MAX_IDS 2

struct req {
	struct app   *app;
	struct arena *a;
	FCGX_Request *fr;
	/* from the FastCGI parameters */
	const char *method; /* HEAD is served as GET */
	bool	    head;
	const char *path;  /* no query, no trailing '/' */
	const char *query; /* raw QUERY_STRING */
	const char *content_type;
	long	    content_length;
	const char *origin; /* Origin header or NULL */
	const char *client; /* client address */
	const char *user_agent;
	bool	    https;
	const char *sid; /* sid cookie or NULL */
	/* routing */
	const struct route *route;
	int		    route_idx; /* -1 when unmatched */
	long		    ids[REQ_MAX_IDS];
	/* authentication */
	bool	    authed;
	struct user user;
	enum role   role;
	char	    sid_hash[AUTH_TOKEN_HASH_LEN + 1];
	bool	    sid_extended;
	const char *bearer;   /* Authorization: Bearer value, or NULL */
	long	    token_id; /* the API token that authenticated, or 0 */
	/* who asks, for the read rule (src/access.h): anonymous until
	 * authenticated */
	struct caller caller;
	/* body */
	bool	    body_read; /* route_body() done */
	const char *body;
	size_t	    bodylen;
	cJSON	   *json; /* object, or NULL */
	/* reply */
	int	   status;
	bool	   replied;
	struct buf hdrs; /* extra header lines */
	/* error details a handler leaves for reply_rc() */
	const char	  *err_code;
	const char	  *err_msg;
	struct json_errors errs;
};

/* route.c */
/* Serves one accepted FastCGI request; everything it allocates is freed
 * before it returns. */
void route_serve(struct app *app, FCGX_Request *fr);

/* req.c */
/* Fills the request fields from the FastCGI parameters. */
void
req_init(struct req *r, struct app *app, struct arena *a, FCGX_Request *fr);
/* Returns a FastCGI parameter (owned by libfcgi) or NULL. */
const char *req_env(struct req *r, const char *name);
/* Returns the decoded query parameter (arena-owned) or NULL. */
const char *req_qparam(struct req *r, const char *name);
/* Returns s (a URL part) percent-decoded (arena-owned). */
const char *req_decoded(struct req *r, const char *s);
/* Reads an integer query parameter within min..max into *out (dflt when
 * absent); PGS_INVALID with a field error naming it. */
enum pgs_rc req_qint(struct req *r, const char *name, long min, long max,
    long dflt, long *out) PGS_MUSTCHECK;
/* Reads the body (Content-Length already checked); PGS_OK or PGS_INVALID
 * when it ends early. */
enum pgs_rc req_read_body(struct req *r) PGS_MUSTCHECK;
/* Records the error code and message reply_rc() will send; returns rc. */
enum pgs_rc req_fail(struct req *r, enum pgs_rc rc, const char *code,
    const char *fmt, ...) PGS_PRINTF(4, 5);
/* Adds a validation message for field. */
void req_field(struct req *r, const char *field, const char *fmt, ...)
    PGS_PRINTF(3, 4);
/* PGS_INVALID (with the collected fields) when any field error exists. */
enum pgs_rc req_fields_rc(struct req *r) PGS_MUSTCHECK;
/* Checks r->json against allowed member names: unknown ones are field
 * errors. */
void req_unknown_fields(struct req *r, const char *const allowed[]);
/* Typed body getters: absent -> *present false (PGS_OK); a bad type or
 * range adds a field error. */
void req_str(struct req *r, const char *name, size_t maxlen, bool required,
    const char **out);
void req_int(struct req *r, const char *name, long min, long max, bool required,
    long *out, bool *present);
void req_bool(struct req *r, const char *name, bool *out, bool *present);
/* Returns true when the member is present with JSON null. */
bool req_is_null(struct req *r, const char *name);

/* reply.c */
/* Adds a header line ("Name: value", no CRLF) to the reply. */
void reply_header(struct req *r, const char *fmt, ...) PGS_PRINTF(2, 3);
/* Sends status with body (len bytes of ctype); handles ETag routes. */
enum pgs_rc reply_send(struct req *r, int status, const char *ctype,
    const char *body, size_t len);
/* Writes the ETag of body (a quoted hash) into tag. */
void reply_etag_of(const char *body, size_t len, char tag[CACHE_ETAG_MAX]);
/* Writes the ETag of the text prefix followed by body into tag, without
 * copying body. */
void reply_etag_of_parts(const char *prefix, const char *body, size_t len,
    char tag[CACHE_ETAG_MAX]);
/* reply_send for a 200 with a known ETag (tag from reply_etag_of):
 * nothing is hashed, and a matching If-None-Match gets the 304. */
enum pgs_rc reply_send_tagged(struct req *r, const char *ctype,
    const char *body, size_t len, const char *tag);
/* As reply_send_tagged, with the body read from fd: len bytes from its
 * offset, sent in records of 64 KiB as they are read, never all in
 * memory.  fd stays the caller's. */
enum pgs_rc reply_send_file(struct req *r, const char *ctype, int fd,
    size_t len, const char *tag);
/* Returns true when If-None-Match names tag: the answer will be a 304. */
bool reply_etag_fresh(struct req *r, const char *tag);
/* Sends root (deleted here) as JSON. */
enum pgs_rc reply_json(struct req *r, int status, cJSON *root);
/* Sends the error body for an HTTP-level status (400, 401, 405, 406,
 * 413, 415, 429, 503) with code and message. */
enum pgs_rc
reply_status(struct req *r, int status, const char *code, const char *message);
/* Maps rc to a status and sends the error body (with the details the
 * handler left through req_fail/req_field). */
void reply_rc(struct req *r, enum pgs_rc rc);
/* Adds the Set-Cookie header for token (NULL: clear the cookie). */
void reply_cookie(struct req *r, const char *token);
/* Adds the CORS headers the request's Origin earns. */
void reply_cors(struct req *r, bool preflight);

/* authz.c: identities and permissions, through the worker's cache */
/* Authenticates the sid cookie r->sid: fills r->user and r->sid_hash
 * (and slides the session); PGS_NOTFOUND when it is not a valid
 * session. */
enum pgs_rc authz_session(struct req *r) PGS_MUSTCHECK;
/* Authenticates an API token: PGS_OK with r->caller its queries, or
 * PGS_DENIED after a 401 (unknown, revoked or expired). */
enum pgs_rc authz_bearer(struct req *r, const char *token) PGS_MUSTCHECK;
/* PGS_OK when r->caller may read query id, else PGS_NOTFOUND with a
 * not_found error (also when there is no such query). */
enum pgs_rc authz_query(struct req *r, long id) PGS_MUSTCHECK;

/* handlers */
enum pgs_rc h_login(struct req *r);
enum pgs_rc h_logout(struct req *r);
enum pgs_rc h_me(struct req *r);
enum pgs_rc h_user_list(struct req *r);
enum pgs_rc h_user_create(struct req *r);
enum pgs_rc h_user_get(struct req *r);
enum pgs_rc h_user_patch(struct req *r);
enum pgs_rc h_user_delete(struct req *r);
enum pgs_rc h_user_password(struct req *r);
/* Authenticates the sid cookie: fills r->user/role; PGS_NOTFOUND when
 * there is no valid session. */
enum pgs_rc h_user_auth(struct req *r) PGS_MUSTCHECK;

enum pgs_rc h_source_list(struct req *r);
enum pgs_rc h_source_names(struct req *r);
enum pgs_rc h_source_create(struct req *r);
enum pgs_rc h_source_get(struct req *r);
enum pgs_rc h_source_patch(struct req *r);
enum pgs_rc h_source_delete(struct req *r);
enum pgs_rc h_source_test(struct req *r);

enum pgs_rc h_query_list(struct req *r);
enum pgs_rc h_query_create(struct req *r);
enum pgs_rc h_query_get(struct req *r);
enum pgs_rc h_query_patch(struct req *r);
enum pgs_rc h_query_delete(struct req *r);
enum pgs_rc h_query_enable(struct req *r);
enum pgs_rc h_query_disable(struct req *r);
enum pgs_rc h_query_catalogue(struct req *r);
enum pgs_rc h_query_grants_get(struct req *r);
enum pgs_rc h_query_grants_put(struct req *r);
enum pgs_rc h_token_create(struct req *r);
enum pgs_rc h_token_list(struct req *r);
enum pgs_rc h_token_revoke(struct req *r);
enum pgs_rc h_query_public(struct req *r);
/* POST /api/admin/schedule/preview (h_query.c). */
enum pgs_rc h_schedule_preview(struct req *r);
enum pgs_rc h_dryrun_saved(struct req *r);
enum pgs_rc h_dryrun_unsaved(struct req *r);

enum pgs_rc h_run_now(struct req *r);
enum pgs_rc h_run_list(struct req *r);
enum pgs_rc h_run_latest(struct req *r);
enum pgs_rc h_run_get(struct req *r);
enum pgs_rc h_run_prev(struct req *r);
enum pgs_rc h_run_next(struct req *r);

/* Notification channels (h_channel.c), subscriptions, alerts and
 * deliveries (h_notify.c). */
enum pgs_rc h_channel_list(struct req *r);
enum pgs_rc h_channel_create(struct req *r);
enum pgs_rc h_channel_get(struct req *r);
enum pgs_rc h_channel_patch(struct req *r);
enum pgs_rc h_channel_delete(struct req *r);
enum pgs_rc h_channel_rotate(struct req *r);
enum pgs_rc h_channel_test(struct req *r);
enum pgs_rc h_notify_subs_get(struct req *r);
enum pgs_rc h_notify_subs_put(struct req *r);
enum pgs_rc h_notify_alert_get(struct req *r);
enum pgs_rc h_notify_alert_put(struct req *r);
enum pgs_rc h_notify_alert_delete(struct req *r);
enum pgs_rc h_notify_delivery_list(struct req *r);
enum pgs_rc h_notify_redeliver(struct req *r);

enum pgs_rc h_healthz(struct req *r);
enum pgs_rc h_metrics(struct req *r);
enum pgs_rc h_openapi(struct req *r);

#endif
