/*
 * h_run.c: run history (public read while RUNS_PUBLIC=1), dry-runs and
 * manual runs.  A stored result is spliced into the answer as the text
 * the database gives, never through cJSON (whose numbers are doubles).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "csv.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "run.h"
#include "run_store.h"
#include "session.h"
#include "shape.h"

/* How a run is rendered for this request: the format, and whether the
 * caller sees full error messages. */
struct run_view {
	bool csv;
	bool raw;  /* CSV cells as stored, not neutralised */
	bool full; /* full error messages: editors, admins */
};

/* Returns true when the caller may read run error messages in full. */
static bool
h_run_full_errors(const struct req *r)
{
	return r->authed && r->role >= ROLE_EDITOR;
}

/* Returns the cache key flags (CACHE_CSV...) of view v. */
static unsigned
h_run_view_flags(const struct run_view *v)
{
	return (v->csv ? CACHE_CSV : 0) | (v->raw ? CACHE_RAW : 0) |
	    (v->full ? CACHE_FULL : 0);
}

#define RUN_CSV_TYPE "text/csv; charset=utf-8"

static bool
h_run_final(const struct run *x)
{
	return strcmp(x->status, "success") == 0 ||
	    strcmp(x->status, "error") == 0 ||
	    strcmp(x->status, "skipped") == 0;
}

static void
h_run_csv_header(struct req *r, long run_id)
{
	reply_header(r,
	    "Content-Disposition: attachment; "
	    "filename=\"run-%ld.csv\"",
	    run_id);
}

/*
 * Answers from the worker's cache when it holds key; true when it did
 * (*rc the outcome).  The caller has checked that it may read the query
 * of the route; a run asked by id is checked here, against the query
 * the entry belongs to, before a byte of it is sent: a cached answer
 * goes only to whoever may read it.
 */
static bool
h_run_cached(struct req *r, uint64_t key, bool by_id, enum pgs_rc *rc)
{
	const struct cache_entry *e;

	*rc = PGS_OK;
	if (!r->app->cache_live)
		return false;
	e = cache_get(&r->app->cache, key);
	metrics_cache(r->app->metrics, e != NULL);
	if (e == NULL)
		return false;
	if (by_id) {
		*rc = authz_query(r, e->query_id);
		if (*rc != PGS_OK) {
			*rc = req_fail(r, PGS_NOTFOUND, "not_found",
			    "no such run");
			return true;
		}
		/* authz_query may have used the connection: e stands, the
		 * cache changes only between requests. */
	}
	/* The answer depends on who asks (error messages). */
	reply_header(r, "Vary: Cookie, Authorization");
	if (e->csv)
		h_run_csv_header(r, e->run_id);
	(void)reply_send_tagged(r, e->csv ? RUN_CSV_TYPE : "application/json",
	    e->body, e->len, e->etag);
	return true;
}

/*
 * Sends b, the rendered run x (freed here); a finished run is kept in the
 * cache under key first: it never changes, and the notifications of
 * sql/0003-notify.sql drop it when its query's runs do.
 */
static enum pgs_rc
h_run_reply(struct req *r, const struct run *x, uint64_t key, bool csv,
    struct buf *b)
{
	char	    tag[CACHE_ETAG_MAX];
	const char *data = b->data != NULL ? b->data : "";
	enum pgs_rc rc;

	reply_etag_of(data, b->len, tag);
	if (r->app->cache_live && h_run_final(x))
		(void)cache_put(&r->app->cache, key, x->query_id, x->id, csv,
		    tag, data, b->len);
	reply_header(r, "Vary: Cookie, Authorization");
	if (csv)
		h_run_csv_header(r, x->id);
	rc = reply_send_tagged(r, csv ? RUN_CSV_TYPE : "application/json", data,
	    b->len, tag);
	buf_free(b);
	return rc;
}

/* Sends a run with its result document spliced in verbatim. */
static enum pgs_rc
h_run_send(struct req *r, const struct run *x, uint64_t key)
{
	struct buf b = BUF_INIT;
	cJSON	  *o = shape_run(x, h_run_full_errors(r));
	char	  *t;

	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* t ends with '}': reopen the object for "result". */
	buf_append(&b, t, strlen(t) - 1);
	cJSON_free(t);
	buf_puts(&b, ",\"result\":");
	if (x->df_json != NULL)
		buf_append(&b, x->df_json, x->df_json_len);
	else
		buf_puts(&b, "null");
	buf_putc(&b, '}');
	return h_run_reply(r, x, key, false, &b);
}

/* Sends the result of a run as CSV (cells neutralised unless raw). */
static enum pgs_rc
h_run_send_csv(struct req *r, const struct run *x, uint64_t key, bool raw)
{
	struct buf  b = BUF_INIT;
	enum pgs_rc rc;

	if (x->df_json == NULL)
		return req_fail(r, PGS_NOTFOUND, "not_found",
		    "run %ld has no "
		    "stored result",
		    x->id);
	rc = result_to_csv(x->df_json, x->df_json_len, raw, &b);
	if (rc != PGS_OK) {
		buf_free(&b);
		log_err("run_csv",
		    "run=%ld stored result is not a table "
		    "document",
		    x->id);
		return PGS_INTERNAL;
	}
	return h_run_reply(r, x, key, true, &b);
}

/* Reads ?format= (json or csv) and ?raw= (0 or 1, CSV only) into v; a
 * bad value is a field error. */
static void
h_run_view_read(struct req *r, struct run_view *v)
{
	const char *f = req_qparam(r, "format");
	const char *raw = req_qparam(r, "raw");

	memset(v, 0, sizeof(*v));
	v->csv = f != NULL && strcmp(f, "csv") == 0;
	if (f != NULL && !v->csv && strcmp(f, "json") != 0)
		req_field(r, "format", "must be json or csv");
	if (raw != NULL && strcmp(raw, "0") != 0 && strcmp(raw, "1") != 0)
		req_field(r, "raw", "must be 0 or 1");
	/* raw=1 only changes CSV cells, JSON is always as stored; error
	 * messages are only in JSON. */
	v->raw = v->csv && raw != NULL && strcmp(raw, "1") == 0;
	v->full = !v->csv && h_run_full_errors(r);
}

/* Sends run x as v says. */
static enum pgs_rc
h_run_send_view(struct req *r, const struct run *x, uint64_t key,
    const struct run_view *v)
{
	return v->csv ? h_run_send_csv(r, x, key, v->raw) :
			h_run_send(r, x, key);
}

enum pgs_rc
h_run_get(struct req *r)
{
	struct run_view v;
	struct run	x;
	uint64_t	key;
	enum pgs_rc	rc;

	h_run_view_read(r, &v);
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	key = cache_key(CACHE_RUN, h_run_view_flags(&v), r->ids[0]);
	if (h_run_cached(r, key, true, &rc))
		return rc;
	rc = run_get(&r->app->db, r->a, r->ids[0], true, &x);
	if (rc == PGS_OK && authz_query(r, x.query_id) != PGS_OK)
		return req_fail(r, PGS_NOTFOUND, "not_found", "no such run");
	if (rc != PGS_OK)
		return rc;
	return h_run_send_view(r, &x, key, &v);
}

/* 404 unless query ids[0] exists and the caller may read it. */
static enum pgs_rc
h_run_query_exists(struct req *r)
{
	return authz_query(r, r->ids[0]);
}

enum pgs_rc
h_run_latest(struct req *r)
{
	const char     *st = req_qparam(r, "status");
	struct run_view v;
	struct run	x;
	bool		any;
	uint64_t	key;
	enum pgs_rc	rc;

	any = st != NULL && strcmp(st, "any") == 0;
	if (st != NULL && !any && strcmp(st, "success") != 0)
		req_field(r, "status", "must be success or any");
	h_run_view_read(r, &v);
	rc = req_fields_rc(r);
	if (rc == PGS_OK)
		rc = h_run_query_exists(r);
	if (rc != PGS_OK)
		return rc;
	key = cache_key(any ? CACHE_LATEST_ANY : CACHE_LATEST,
	    h_run_view_flags(&v), r->ids[0]);
	if (h_run_cached(r, key, false, &rc))
		return rc;
	if (rc == PGS_OK)
		rc = run_latest(&r->app->db, r->a, r->ids[0], any, true, &x);
	if (rc == PGS_NOTFOUND && r->err_code == NULL)
		return req_fail(r, rc, "not_found", "no %s run yet",
		    any ? "" : "successful");
	if (rc != PGS_OK)
		return rc;
	return h_run_send_view(r, &x, key, &v);
}

/* Reads an ISO 8601 query parameter (checked, passed on as given). */
static const char *
h_run_time_param(struct req *r, const char *name)
{
	const char *s = req_qparam(r, name);
	char	    err[128];
	int64_t	    t;

	if (s != NULL &&
	    isotime_parse(s, &t, NULL, err, sizeof(err)) != PGS_OK) {
		req_field(r, name, "%s", err);
		return NULL;
	}
	return s;
}

/* Reads the filters of a run list. */
static enum pgs_rc
h_run_read_filter(struct req *r, struct run_filter *f)
{
	long limit, before, after;

	memset(f, 0, sizeof(*f));
	f->status = req_qparam(r, "status");
	if (f->status != NULL && !run_status_valid(f->status))
		req_field(r, "status",
		    "must be one of queued, running, "
		    "success, error, skipped");
	f->start = h_run_time_param(r, "start");
	f->end = h_run_time_param(r, "end");
	if (req_qint(r, "limit", 1, 500, 50, &limit) != PGS_OK ||
	    req_qint(r, "before", 1, 2147483647L, 0, &before) != PGS_OK ||
	    req_qint(r, "after", 1, 2147483647L, 0, &after) != PGS_OK)
		return PGS_INVALID;
	if (req_qparam(r, "offset") != NULL)
		req_field(r, "offset", "runs page with before/after (run ids)");
	f->limit = (int)limit;
	f->before = before;
	f->after = after;
	return req_fields_rc(r);
}

enum pgs_rc
h_run_list(struct req *r)
{
	struct run_filter f;
	struct run_list	  l;
	enum pgs_rc	  rc;

	rc = h_run_read_filter(r, &f);
	if (rc == PGS_OK)
		rc = h_run_query_exists(r);
	if (rc == PGS_OK)
		rc = run_list(&r->app->db, r->a, r->ids[0], &f, &l);
	if (rc == PGS_INVALID && r->errs.count == 0)
		return req_fail(r, rc, "invalid", "%s", db_error(&r->app->db));
	if (rc != PGS_OK)
		return rc;
	reply_header(r, "Vary: Cookie, Authorization");
	return reply_json(r, 200,
	    shape_run_list(&l, f.limit, h_run_full_errors(r)));
}

static enum pgs_rc
h_run_adjacent_reply(struct req *r, bool next)
{
	long	    id;
	cJSON	   *o;
	enum pgs_rc rc;

	rc = h_run_query_exists(r);
	if (rc != PGS_OK)
		return rc;
	if (next)
		rc = run_next(&r->app->db, r->a, r->ids[0], r->ids[1], &id);
	else
		rc = run_prev(&r->app->db, r->a, r->ids[0], r->ids[1], &id);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no %s run",
		    next ? "newer" : "older");
	if (rc != PGS_OK)
		return rc;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "_link",
	    arena_printf(r->a, "/api/runs/%ld", id));
	return reply_json(r, 200, o);
}

enum pgs_rc
h_run_prev(struct req *r)
{
	return h_run_adjacent_reply(r, false);
}

enum pgs_rc
h_run_next(struct req *r)
{
	return h_run_adjacent_reply(r, true);
}

/*
 * Starts `pgsched-runner --run ID` detached: the run outlives this worker
 * and a stop of the pool.  It connects with the runner's own metadata role
 * when PG_DSN_RUNNER is set (the environment wins over the env file the
 * runner reads): the pool's role may only queue the run, not claim or
 * record it.
 */
static void
h_run_spawn(struct req *r, long run_id)
{
	const char *argv[6], *env[2] = { NULL, NULL };
	char	    ids[24];
	int	    n = 0;

	snprintf(ids, sizeof(ids), "%ld", run_id);
	argv[n++] = "pgsched-runner";
	argv[n++] = "--run";
	argv[n++] = ids;
	if (r->app->env_file != NULL) {
		argv[n++] = "--env-file";
		argv[n++] = r->app->env_file;
	}
	argv[n] = NULL;
	if (r->app->conf.pg_dsn_runner != NULL)
		env[0] = arena_printf(r->a, "PG_DSN_APP=%s",
		    r->app->conf.pg_dsn_runner);
	if (proc_spawn_detached(r->app->runner_path, argv, env) != PGS_OK)
		log_err("run_spawn", "run=%ld fork failed", run_id);
}

/* 409: the query's manual run run_id (0: it just ended) still stands. */
static enum pgs_rc
h_run_now_busy(struct req *r, long run_id)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", "conflict");
	if (run_id > 0) {
		cJSON_AddStringToObject(o, "message",
		    arena_printf(r->a,
			"query %ld already has a manual run queued or running: "
			"run %ld",
			r->ids[0], run_id));
		cJSON_AddNumberToObject(o, "run_id", (double)run_id);
		cJSON_AddStringToObject(o, "_link",
		    arena_printf(r->a, "/api/runs/%ld", run_id));
	} else
		cJSON_AddStringToObject(o, "message",
		    "the query's manual run "
		    "is changing state: try again");
	return reply_json(r, 409, o);
}

enum pgs_rc
h_run_now(struct req *r)
{
	char	    qpath[1100];
	long	    run_id;
	cJSON	   *o;
	enum pgs_rc rc;

	rc = run_store_enqueue_manual(&r->app->db, r->a, r->ids[0], r->user.id,
	    &run_id);
	if (rc == PGS_CONFLICT)
		return h_run_now_busy(r, run_id);
	if (rc != PGS_OK)
		return rc;
	if (access(r->app->runner_path, X_OK) != 0)
		log_err("run_spawn", "run=%ld runner=\"%s\" not executable",
		    run_id,
		    log_quote(r->app->runner_path, 512, qpath, sizeof(qpath)));
	else
		h_run_spawn(r, run_id);
	log_info("run_manual", "run=%ld query=%ld by=%ld queued", run_id,
	    r->ids[0], r->user.id);
	reply_header(r, "Location: /api/runs/%ld", run_id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddNumberToObject(o, "run_id", (double)run_id);
	cJSON_AddStringToObject(o, "_link",
	    arena_printf(r->a, "/api/runs/%ld", run_id));
	return reply_json(r, 202, o);
}
