/*
 * job.c: execute one claimed run on its data source and record it; run a
 * job now (see job.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <sodium.h>

#include "buf.h"
#include "exec.h"
#include "log.h"
#include "result.h"
#include "mono.h"
#include "job.h"
#include "notify.h"
#include "run_store.h"
#include "source_conn.h"
#include "sqlguard.h"

void
job_cache_close(struct job_cache *jc)
{
	int i;

	for (i = 0; jc != NULL && i < JOB_CACHE_MAX; i++) {
		if (jc->slot[i].conn != NULL)
			PQfinish(jc->slot[i].conn);
		jc->slot[i].conn = NULL;
	}
}

/* The identity of a source connection: where, as whom, which secret. */
static void
job_cache_key(const struct source *s, unsigned char key[32])
{
	crypto_generichash_state st;
	char			 port[16];

	snprintf(port, sizeof(port), "%d", s->port);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)s->host,
	    strlen(s->host) + 1);
	crypto_generichash_update(&st, (const unsigned char *)port,
	    strlen(port) + 1);
	crypto_generichash_update(&st, (const unsigned char *)s->dbname,
	    strlen(s->dbname) + 1);
	crypto_generichash_update(&st, (const unsigned char *)s->username,
	    strlen(s->username) + 1);
	if (s->enc_password != NULL)
		crypto_generichash_update(&st, s->enc_password, s->enc_len);
	crypto_generichash_final(&st, key, 32);
}

/* Names conn for this run, waiting at most timeout_s; PGS_OK, or the
 * connection is not usable and err says why. */
static enum pgs_rc
job_conn_name(PGconn *conn, const char *app, int timeout_s, char *err,
    size_t errlen)
{
	static const char sql_app[] =
	    "SELECT set_config('application_name', $1, false)";
	const char *p[] = { app };

	return exec_command(conn, sql_app, 1, p, timeout_s * 1000, err, errlen);
}

/*
 * Takes the cached connection for key out of the cache: an idle one is
 * reset with DISCARD ALL and named for this run (each within timeout_s);
 * one still connecting (job_preconnect) is returned as it is with
 * *pending set.  NULL when there is none usable.
 */
static PGconn *
job_cache_take(struct job_cache *jc, const unsigned char key[32],
    const char *app, int timeout_s, bool *pending)
{
	PGconn *conn;
	char	err[256];
	int	i;

	*pending = false;
	for (i = 0; jc != NULL && i < JOB_CACHE_MAX; i++) {
		if (jc->slot[i].conn == NULL ||
		    memcmp(jc->slot[i].key, key, 32) != 0)
			continue;
		conn = jc->slot[i].conn;
		jc->slot[i].conn = NULL;
		if (jc->slot[i].pending) {
			*pending = true;
			return conn;
		}
		if (PQstatus(conn) != CONNECTION_OK ||
		    PQtransactionStatus(conn) != PQTRANS_IDLE) {
			PQfinish(conn);
			return NULL;
		}
		/* A source that does not answer here gets a new
		 * connection, which tells the run how it really is. */
		if (exec_command(conn, "DISCARD ALL", 0, NULL, timeout_s * 1000,
			err, sizeof(err)) == PGS_OK &&
		    job_conn_name(conn, app, timeout_s, err, sizeof(err)) ==
			PGS_OK)
			return conn;
		PQfinish(conn);
		return NULL;
	}
	return NULL;
}

/* Gives conn back to the cache (or closes it when it is not reusable);
 * pending: it is still connecting. */
static void
job_cache_put(struct job_cache *jc, const unsigned char key[32], PGconn *conn,
    bool pending)
{
	int i, victim = 0;

	if (jc == NULL ||
	    (!pending &&
		(PQstatus(conn) != CONNECTION_OK ||
		    PQtransactionStatus(conn) != PQTRANS_IDLE))) {
		PQfinish(conn);
		return;
	}
	for (i = 0; i < JOB_CACHE_MAX; i++) {
		if (jc->slot[i].conn == NULL) {
			victim = i;
			break;
		}
		if (jc->slot[i].used < jc->slot[victim].used)
			victim = i;
	}
	if (jc->slot[victim].conn != NULL)
		PQfinish(jc->slot[victim].conn);
	jc->slot[victim].conn = conn;
	jc->slot[victim].pending = pending;
	memcpy(jc->slot[victim].key, key, 32);
	jc->slot[victim].used = ++jc->clock;
}

void
job_preconnect(const struct runner *r, const struct query_job *j)
{
	struct exec_opts opts;
	unsigned char	 key[32];
	char		 app[64], err[256];
	PGconn		*conn = NULL;

	if (r->cache == NULL)
		return;
	snprintf(app, sizeof(app), "pgsched:%ld", j->id);
	memset(&opts, 0, sizeof(opts));
	opts.appname = app;
	opts.connect_timeout_s = r->conf->source_connect_timeout_s;
	if (source_conn_start(r->keys, &j->source, &opts, &conn, NULL, err,
		sizeof(err)) != PGS_OK)
		return;
	job_cache_key(&j->source, key);
	job_cache_put(r->cache, key, conn, true);
}

/* Connects to j's source, or finishes its preconnection, or reuses a
 * cached connection. */
static enum pgs_rc
job_connect(const struct runner *r, const struct query_job *j,
    const struct exec_opts *opts, const unsigned char key[32], PGconn **conn,
    char *err, size_t errlen)
{
	char	    tmp[400];
	bool	    pending;
	enum pgs_rc rc;

	*conn = job_cache_take(r->cache, key, opts->appname,
	    opts->connect_timeout_s, &pending);
	if (*conn != NULL && !pending)
		return PGS_OK;
	if (*conn != NULL) {
		rc = source_conn_finish(*conn, opts, err, errlen);
		if (rc == PGS_OK)
			rc = job_conn_name(*conn, opts->appname,
			    opts->connect_timeout_s, err, errlen);
		if (rc != PGS_OK) {
			PQfinish(*conn);
			*conn = NULL;
		}
	} else {
		rc = source_conn_open(r->keys, &j->source, opts, conn, NULL,
		    err, errlen);
		if (rc != PGS_OK && rc != PGS_DB)
			return rc; /* the credential */
	}
	if (rc != PGS_OK) {
		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "source connection failed: %s", tmp);
	}
	return rc;
}

/* Runs the job's SQL (error text in err). */
static enum pgs_rc
job_run_sql(const struct runner *r, const struct claim *c,
    const struct query_job *j, struct result **rs, long *ms, char *err,
    size_t errlen)
{
	struct exec_opts opts;
	unsigned char	 key[32];
	char		 app[64];
	PGconn		*conn = NULL;
	enum pgs_rc	 rc;

	if (*r->stop) {
		snprintf(err, errlen, "runner stopped");
		return PGS_INTERNAL;
	}
	snprintf(app, sizeof(app), "pgsched:%ld:%ld", j->id, c->run_id);
	memset(&opts, 0, sizeof(opts));
	opts.appname = app;
	opts.connect_timeout_s = r->conf->source_connect_timeout_s;
	opts.timeout_ms =
	    j->timeout_ms > 0 ? j->timeout_ms : r->conf->runner_timeout_ms;
	opts.max_rows =
	    (size_t)(j->max_rows > 0 ? j->max_rows : r->conf->result_max_rows);
	opts.max_bytes = (size_t)r->conf->result_max_bytes;
	opts.cancel_slot = r->cancel_slot;
	opts.stop = r->stop;
	if (r->lock_db != NULL) {
		opts.watch = true;
		opts.watch_fd = db_socket(r->lock_db);
		opts.watch_why = JOB_LOCK_LOST;
	}
	job_cache_key(&j->source, key);
	rc = job_connect(r, j, &opts, key, &conn, err, errlen);
	if (rc != PGS_OK)
		return rc;
	rc = exec_query(conn, j->sql_text, &opts, rs, ms, err, errlen);
	if (rc == PGS_TIMEOUT)
		snprintf(err, errlen,
		    "timed out after %d ms (statement_timeout)",
		    opts.timeout_ms);
	/* A connection that saw an error or a cancel is not reused. */
	if (rc == PGS_OK)
		job_cache_put(r->cache, key, conn, false);
	else
		PQfinish(conn);
	return rc;
}

/* Records the outcome of c (rc, rs, err, ms) under the claim's lock. */
static enum pgs_rc
job_record(struct db *meta, struct arena *a, const struct claim *c,
    enum pgs_rc rc, struct result *rs, const char *err, long ms,
    int *deliveries)
{
	struct run_lock	   lock = { c->job_id, c->lock_pid, c->lock_since };
	struct run_outcome o;
	struct buf	   doc = BUF_INIT;

	memset(&o, 0, sizeof(o));
	o.duration_ms = ms;
	if (rc == PGS_OK) {
		rs_finish(rs, &doc);
		o.status = "success";
		o.rows = (long)rs_row_count(rs);
		o.doc = doc.data;
		o.doc_len = doc.len;
		o.truncated = rs_truncated(rs);
	} else {
		o.status = "error";
		o.error = err;
	}
	rc = run_store_finish(meta, a, c->run_id, &lock, &o);
	*deliveries = rc == PGS_OK ? o.deliveries : 0;
	log_info("run_finish",
	    "run=%ld query=%ld status=%s ms=%ld rows=%ld "
	    "bytes=%zu truncated=%d%s%s",
	    c->run_id, c->job_id, o.status, o.duration_ms, o.rows, o.doc_len,
	    o.truncated, o.error ? " " : "", o.error ? o.error : "");
	if (rc == PGS_DENIED)
		log_err("run_fenced",
		    "run=%ld query=%ld not recorded: the "
		    "runner no longer holds the job lock (its metadata session "
		    "is gone); the next tick reaps the run",
		    c->run_id, c->job_id);
	buf_free(&doc);
	return rc;
}

/*
 * The first attempt at the notifications run_id just committed: the
 * courier is woken (it delivers them while this process runs the next
 * run), or without one they are attempted here, within one timeout.
 */
static void
job_notify(const struct runner *r, struct db *meta, long run_id)
{
	struct notify_pass  st;
	struct deliver_conf dc;
	struct notify_ctx   nc;
	char		    err[256];

	if (r->notify_fd >= 0) {
		/* A full socket has a wake-up in it already; a courier that
		 * is gone raises no SIGPIPE (its backlog pass or the next
		 * tick delivers). */
		(void)send(r->notify_fd, "n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	if (deliver_conf_init(&dc, r->conf, err, sizeof(err)) != PGS_OK) {
		log_err("notify_conf", "%s", err);
		return;
	}
	memset(&st, 0, sizeof(st));
	nc.db = meta;
	nc.keys = r->keys;
	nc.dc = &dc;
	nc.give_up_hours = r->conf->notify_give_up_hours;
	nc.rotate_overlap_hours = r->conf->notify_rotate_overlap_hours;
	if (notify_due(&nc, run_id, NULL,
		mono_ms() + 2 * (int64_t)dc.timeout_ms + 1000, &st) != PGS_OK)
		log_err("notify_failed", "run=%ld %s", run_id, db_error(meta));
	deliver_conf_free(&dc);
}

enum pgs_rc
job_execute(const struct runner *r, struct db *meta, const struct claim *c)
{
	struct query_job    j;
	struct sqlguard_err why;
	struct result	   *rs = NULL;
	struct arena	    a;
	char		    err[SQLGUARD_MSG_MAX + 16] = "";
	long		    ms = 0;
	enum pgs_rc	    rc;
	int		    deliveries = 0;

	arena_init(&a);
	rc = query_get_job(meta, &a, c->job_id, &j);
	if (rc == PGS_OK)
		rc = run_store_begin(meta, &a, c->run_id);
	if (rc != PGS_OK) {
		log_err("run_load",
		    "run=%ld query=%ld rc=%s cannot load the "
		    "run: %s",
		    c->run_id, c->job_id, rc_name(rc), db_error(meta));
		goto out;
	}
	log_info("run_start", "run=%ld query=%ld trigger=%s pid=%ld started",
	    c->run_id, c->job_id, c->trigger != NULL ? c->trigger : "-",
	    (long)getpid());
	/* SELECT-only again before connecting: the saved text may predate
	 * a stricter validator. */
	if (sqlguard_check(j.sql_text, &why) != PGS_OK) {
		snprintf(err, sizeof(err), "rejected: %s", why.message);
		rc = PGS_INVALID;
	} else
		rc = job_run_sql(r, c, &j, &rs, &ms, err, sizeof(err));
	if (*r->stop && rc != PGS_OK)
		snprintf(err, sizeof(err), "runner stopped");
	rc = job_record(meta, &a, c, rc, rs, err, ms, &deliveries);
	if (deliveries > 0)
		job_notify(r, meta, c->run_id);
out:
	if (rs != NULL)
		rs_free(rs);
	arena_free(&a);
	return rc;
}

/*
 * Executes the claimed run c in this process, whose session db holds its
 * lock (held), watching that session, and releases the lock.
 */
static enum pgs_rc
job_now_execute(const struct runner *r, struct db *db, struct arena *a,
    const struct claim *c, struct claim_held *held)
{
	struct runner me = *r;
	enum pgs_rc   rc;

	me.lock_db = db;
	rc = job_execute(&me, db, c);
	if (db_lost(db)) {
		log_err("lock_lost",
		    "run=%ld the metadata session holding the "
		    "job lock is lost (%s): the run was cancelled and is not "
		    "recorded; the next tick reaps it",
		    c->run_id, db_lost_reason(db));
		return PGS_DENIED;
	}
	if (claim_release(db, a, held, c->job_id) != PGS_OK && rc == PGS_OK)
		rc = PGS_DB;
	return rc;
}

enum pgs_rc
job_run_now(const struct runner *r, struct db *db, struct arena *a,
    struct job_now *n)
{
	struct claim_list  l = { NULL, 0, 0 };
	struct claim_held  held = { NULL, 0, 0 };
	struct claim_stats st;
	struct query_job   j;
	struct job_cache   jc;
	struct runner	   me = *r;
	enum pgs_rc	   rc = PGS_OK;

	memset(&st, 0, sizeof(st));
	memset(&jc, 0, sizeof(jc));
	me.cache = &jc;
	n->claimed = false;
	/* A row larger than this process may hold fails its run, not the
	 * host. */
	(void)exec_memory_limit(r->conf->runner_memory_max_mb,
	    (size_t)r->conf->result_max_bytes);
	if (n->query_id != 0) {
		/* The source's server starts its backend while this process
		 * queues and claims the run. */
		if (query_get_job(db, a, n->query_id, &j) == PGS_OK)
			job_preconnect(&me, &j);
		rc =
		    run_store_enqueue_manual(db, a, n->query_id, 0, &n->run_id);
	}
	if (rc == PGS_OK)
		rc = claim_queued(db, a, r->host, (long)getpid(), n->run_id, 1,
		    &held, &l, &st);
	if (rc == PGS_OK && l.n > 0) {
		n->claimed = true;
		if (n->announce != NULL) {
			fprintf(n->announce, "run %ld\n", n->run_id);
			fflush(n->announce);
		}
		rc = job_now_execute(&me, db, a, &l.items[0], &held);
	}
	job_cache_close(&jc);
	return rc;
}
