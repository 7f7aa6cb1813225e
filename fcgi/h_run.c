/*
 * h_run.c: run history (public read while RUNS_PUBLIC=1), dry-runs and
 * manual runs.  A stored result is spliced into the answer as the text
 * the database gives, never through cJSON (whose numbers are doubles),
 * or converted to CSV or XLSX (?format=, else the Accept header).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "csv.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "negotiate.h"
#include "proc.h"
#include "run.h"
#include "run_store.h"
#include "session.h"
#include "shape.h"
#include "xlsx.h"

/* The formats a run's result is offered in, in the order of the server's
 * preference (JSON when the client has none). */
enum h_run_fmt {
	RUN_JSON,
	RUN_CSV,
	RUN_XLSX,
	RUN_NFMT
};

#define RUN_CSV_TYPE "text/csv; charset=utf-8"

/* Per format: its ?format= name, the media type Accept names, the
 * Content-Type sent, the cache key flag. */
static const struct {
	const char *name, *media, *ctype;
	unsigned    flag;
} h_run_fmts[RUN_NFMT] = {
	{ "json", "application/json", "application/json", 0 },
	{ "csv", "text/csv", RUN_CSV_TYPE, CACHE_CSV },
	{ "xlsx", XLSX_MEDIA_TYPE, XLSX_MEDIA_TYPE, CACHE_XLSX },
};

/*
 * The largest XLSX file kept in the workers' cache (read into memory for
 * it): a 10,000-row result of eight columns is about 520 kB and takes
 * about 180 ms to write, a cache hit well under 1 ms.  A larger file is
 * written again for each request and sent from its temporary file as it
 * is read, so that no worker holds it whole.
 */
#define RUN_XLSX_CACHE_MAX (1024 * 1024)

/* How a run is rendered for this request: the format, and whether the
 * caller sees full error messages. */
struct run_view {
	enum h_run_fmt fmt;
	bool	       raw;  /* CSV and XLSX cells as stored, not neutralised */
	bool	       full; /* full error messages: editors, admins */
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
	return h_run_fmts[v->fmt].flag | (v->raw ? CACHE_RAW : 0) |
	    (v->full ? CACHE_FULL : 0);
}

/* Returns the format of a cached answer, from the flags of its key. */
static enum h_run_fmt
h_run_fmt_of(const struct cache_entry *e)
{
	unsigned f = cache_key_flags(e->key);

	return (f & CACHE_XLSX) ? RUN_XLSX :
	    (f & CACHE_CSV)	? RUN_CSV :
				  RUN_JSON;
}

static bool
h_run_final(const struct run *x)
{
	return strcmp(x->status, "success") == 0 ||
	    strcmp(x->status, "error") == 0 ||
	    strcmp(x->status, "skipped") == 0;
}

/* Adds the headers of an answer in format f for run run_id: files are
 * attachments named run-<id>.<format>. */
static void
h_run_fmt_headers(struct req *r, enum h_run_fmt f, long run_id)
{
	/* The answer depends on who asks (error messages, visibility). */
	reply_header(r, "Vary: Cookie, Authorization");
	if (f != RUN_JSON)
		reply_header(r,
		    "Content-Disposition: attachment; "
		    "filename=\"run-%ld.%s\"",
		    run_id, h_run_fmts[f].name);
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
	enum h_run_fmt		  f;

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
	f = h_run_fmt_of(e);
	h_run_fmt_headers(r, f, e->run_id);
	(void)reply_send_tagged(r, h_run_fmts[f].ctype, e->body, e->len,
	    e->etag);
	return true;
}

/*
 * Sends b (len bytes), the rendered run x in format f, with its ETag tag;
 * a finished run is kept in the cache under key first: it never changes,
 * and the notifications of sql/0003-notify.sql drop it when its query's
 * runs do.
 */
static enum pgs_rc
h_run_reply(struct req *r, const struct run *x, uint64_t key, enum h_run_fmt f,
    const char *b, size_t len, const char *tag)
{
	if (r->app->cache_live && h_run_final(x))
		(void)cache_put(&r->app->cache, key, x->query_id, x->id,
		    f == RUN_CSV, tag, b, len);
	h_run_fmt_headers(r, f, x->id);
	return reply_send_tagged(r, h_run_fmts[f].ctype, b, len, tag);
}

/* As h_run_reply, for b (freed here), tagged by its own bytes. */
static enum pgs_rc
h_run_reply_buf(struct req *r, const struct run *x, uint64_t key,
    enum h_run_fmt f, struct buf *b)
{
	char	    tag[CACHE_ETAG_MAX];
	const char *data = b->data != NULL ? b->data : "";
	enum pgs_rc rc;

	reply_etag_of(data, b->len, tag);
	rc = h_run_reply(r, x, key, f, data, b->len, tag);
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
	return h_run_reply_buf(r, x, key, RUN_JSON, &b);
}

/* 404 for a run without a stored result (CSV, XLSX). */
static enum pgs_rc
h_run_no_result(struct req *r, const struct run *x)
{
	return req_fail(r, PGS_NOTFOUND, "not_found",
	    "run %ld has no stored result", x->id);
}

/* Sends the result of a run as CSV (cells neutralised unless raw). */
static enum pgs_rc
h_run_send_csv(struct req *r, const struct run *x, uint64_t key, bool raw)
{
	struct buf  b = BUF_INIT;
	enum pgs_rc rc;

	if (x->df_json == NULL)
		return h_run_no_result(r, x);
	rc = result_to_csv(x->df_json, x->df_json_len, raw, &b);
	if (rc != PGS_OK) {
		buf_free(&b);
		log_err("run_csv",
		    "run=%ld stored result is not a table "
		    "document",
		    x->id);
		return PGS_INTERNAL;
	}
	return h_run_reply_buf(r, x, key, RUN_CSV, &b);
}

/*
 * Writes the ETag of the XLSX of run x into tag.  The file itself differs
 * from one writing to the next (its creation time), so the tag is that
 * of what it is made from: the stored result and raw.
 */
static void
h_run_xlsx_etag(const struct run *x, bool raw, char tag[CACHE_ETAG_MAX])
{
	reply_etag_of_parts(raw ? "xlsx raw=1 " : "xlsx raw=0 ", x->df_json,
	    x->df_json_len, tag);
}

/* Reads the whole file fd (len bytes) into *out (the caller's, freed
 * with buf_free); false on a short read. */
static bool
h_run_slurp(int fd, size_t len, struct buf *out)
{
	char	buf[65536];
	ssize_t n;

	while (out->len < len) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf_append(out, buf, (size_t)n);
	}
	return true;
}

/* Writes the XLSX of run x to a temporary file: *fd (the caller's, -1 on
 * an error) of st->bytes bytes.  Returns PGS_OK or PGS_INTERNAL (logged). */
static enum pgs_rc
h_run_xlsx_write(const struct run *x, bool raw, int *fd, struct xlsx_stats *st)
{
	enum pgs_rc rc;

	rc = xlsx_write_tmp(x->df_json, x->df_json_len, raw, NULL, fd, st);
	if (rc == PGS_INVALID)
		log_err("run_xlsx",
		    "run=%ld stored result is not a table document", x->id);
	if (rc != PGS_OK)
		return PGS_INTERNAL;
	if (st->rows_cut > 0 || st->cols_cut > 0)
		log_info("run_xlsx",
		    "run=%ld rows_cut=%zu cols_cut=%zu beyond a sheet's limits",
		    x->id, st->rows_cut, st->cols_cut);
	return PGS_OK;
}

/*
 * Sends the result of a run as XLSX (cells neutralised unless raw),
 * written to a temporary file with bounded memory and sent from it as it
 * is read; a file of at most RUN_XLSX_CACHE_MAX bytes of a finished run
 * is read into memory, cached and sent from there.  A matching
 * If-None-Match gets its 304 before any file is written.
 */
static enum pgs_rc
h_run_send_xlsx(struct req *r, const struct run *x, uint64_t key, bool raw)
{
	struct xlsx_stats st;
	struct buf	  b = BUF_INIT;
	char		  tag[CACHE_ETAG_MAX];
	bool		  cache;
	int		  fd = -1;
	enum pgs_rc	  rc;

	if (x->df_json == NULL)
		return h_run_no_result(r, x);
	h_run_xlsx_etag(x, raw, tag);
	if (reply_etag_fresh(r, tag)) {
		h_run_fmt_headers(r, RUN_XLSX, x->id);
		return reply_send_tagged(r, XLSX_MEDIA_TYPE, "", 0, tag);
	}
	rc = h_run_xlsx_write(x, raw, &fd, &st);
	if (rc != PGS_OK)
		return rc;
	cache = r->app->cache_live && h_run_final(x) &&
	    st.bytes <= RUN_XLSX_CACHE_MAX;
	if (cache && !h_run_slurp(fd, st.bytes, &b)) {
		log_err("run_xlsx", "run=%ld error=\"%s\" cannot read the file",
		    x->id, strerror(errno));
		rc = PGS_INTERNAL;
		goto out;
	}
	/* The headers of the file only now: an error is no attachment. */
	h_run_fmt_headers(r, RUN_XLSX, x->id);
	if (cache) {
		(void)cache_put(&r->app->cache, key, x->query_id, x->id, false,
		    tag, b.data, b.len);
		rc = reply_send_tagged(r, XLSX_MEDIA_TYPE, b.data, b.len, tag);
	} else
		rc = reply_send_file(r, XLSX_MEDIA_TYPE, fd, st.bytes, tag);
out:
	buf_free(&b);
	(void)close(fd);
	return rc;
}

/*
 * Answers 406 (the JSON error body) naming the types a run's result is
 * offered in; returns PGS_INVALID.
 */
static enum pgs_rc
h_run_not_acceptable(struct req *r)
{
	struct buf  b = BUF_INIT;
	const char *msg;
	int	    i;

	buf_puts(&b, "none of the types a run is offered in is acceptable (");
	for (i = 0; i < RUN_NFMT; i++)
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", h_run_fmts[i].media);
	buf_puts(&b, "); or ask ?format=json, csv or xlsx");
	msg = arena_strdup(r->a, b.data);
	buf_free(&b);
	(void)reply_status(r, 406, "not_acceptable", msg);
	return PGS_INVALID;
}

/* Returns the format ?format= names (a field error when it names none),
 * else the one the Accept header prefers; -1 when it accepts none. */
static int
h_run_fmt_read(struct req *r)
{
	const char *f = req_qparam(r, "format");
	const char *offers[RUN_NFMT];
	int	    i;

	for (i = 0; i < RUN_NFMT; i++)
		offers[i] = h_run_fmts[i].media;
	if (f == NULL)
		return negotiate_media(req_env(r, "HTTP_ACCEPT"), offers,
		    RUN_NFMT);
	for (i = 0; i < RUN_NFMT; i++)
		if (strcmp(f, h_run_fmts[i].name) == 0)
			return i;
	req_field(r, "format", "must be json, csv or xlsx");
	return RUN_JSON;
}

/*
 * Reads the format (h_run_fmt_read) and ?raw= (0 or 1, CSV and XLSX only)
 * into v.  Returns PGS_OK; PGS_INVALID with the field errors collected
 * (these and the caller's), or after answering 406.
 */
static enum pgs_rc
h_run_view_read(struct req *r, struct run_view *v)
{
	const char *raw = req_qparam(r, "raw");
	int	    f;
	enum pgs_rc rc;

	memset(v, 0, sizeof(*v));
	/* Every answer of these routes, errors included, is chosen by
	 * Accept. */
	reply_header(r, "Vary: Accept");
	f = h_run_fmt_read(r);
	if (raw != NULL && strcmp(raw, "0") != 0 && strcmp(raw, "1") != 0)
		req_field(r, "raw", "must be 0 or 1");
	rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	if (f < 0)
		return h_run_not_acceptable(r);
	v->fmt = (enum h_run_fmt)f;
	/* raw=1 only changes CSV and XLSX cells, JSON is always as stored;
	 * error messages are only in JSON. */
	v->raw = v->fmt != RUN_JSON && raw != NULL && strcmp(raw, "1") == 0;
	v->full = v->fmt == RUN_JSON && h_run_full_errors(r);
	return PGS_OK;
}

/* Sends run x as v says. */
static enum pgs_rc
h_run_send_view(struct req *r, const struct run *x, uint64_t key,
    const struct run_view *v)
{
	switch (v->fmt) {
	case RUN_CSV:
		return h_run_send_csv(r, x, key, v->raw);
	case RUN_XLSX:
		return h_run_send_xlsx(r, x, key, v->raw);
	default:
		return h_run_send(r, x, key);
	}
}

enum pgs_rc
h_run_get(struct req *r)
{
	struct run_view v;
	struct run	x;
	uint64_t	key;
	enum pgs_rc	rc;

	rc = h_run_view_read(r, &v);
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
	rc = h_run_view_read(r, &v);
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
