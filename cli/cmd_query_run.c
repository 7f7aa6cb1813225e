/*
 * cmd_query_run.c: pgsched-admin queries run, a manual run through the
 * runner's own path (job_run_now): queue it, claim it under the job lock,
 * execute it here under the runners' memory cap while watching the
 * session that holds the lock, record it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cred.h"
#include "dsn.h"
#include "job.h"
#include "run.h"
#include "store.h"

/* Maps rc of job_run_now on db to an exit code after one line. */
static int
cmd_query_run_fail(struct cli *c, struct db *db, const struct query *q,
    const struct job_now *n, enum pgs_rc rc)
{
	if (rc == PGS_CONFLICT && !n->claimed)
		return cli_fail(EX_TEMPFAIL,
		    "%s: %s already has a manual run "
		    "queued or running (run %ld): wait for it to end",
		    c->path, q->name, n->run_id);
	if (rc == PGS_DENIED)
		return EX_TEMPFAIL; /* lock_lost said why */
	/* cli_db_fail words the rest from the error of c->db. */
	snprintf(c->db.errmsg, sizeof(c->db.errmsg), "%s", db_error(db));
	return cli_db_fail(c, rc, c->path);
}

/*
 * Runs query q now (job_run_now) on a metadata session of its own, one
 * like a runner's (TCP keepalives and user timeouts of
 * RUNNER_NET_TIMEOUT_S, never reopened), since it holds the job lock: a
 * session that ends or fails is noticed and the run stops.  Fills n;
 * returns 0 or an exit code after one line.
 */
static int
cmd_query_run_now(struct cli *c, const struct query *q, struct job_now *n)
{
	volatile sig_atomic_t stop = 0;
	struct cred_keys      keys;
	struct runner	      r;
	struct db	      db;
	char		      host[256], err[512];
	enum pgs_rc	      rc;
	int		      ex = 0;

	if (cred_load(&c->conf, true, &keys, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s", err);
	rc = db_connect_net(&db, c->conf.pg_dsn_app,
	    c->conf.db_connect_timeout_s, "pgsched-admin",
	    c->conf.runner_net_timeout_s);
	if (rc != PGS_OK) {
		cred_free(&keys);
		return cli_fail(EX_UNAVAILABLE,
		    "cannot connect to the metadata"
		    " database: %s",
		    db_error(&db));
	}
	db.default_interval_s = c->conf.default_query_interval;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	memset(&r, 0, sizeof(r));
	r.conf = &c->conf;
	r.keys = &keys;
	r.host = host;
	r.stop = &stop;
	memset(n, 0, sizeof(*n));
	n->query_id = q->id;
	rc = job_run_now(&r, &db, &c->arena, n);
	if (rc != PGS_OK)
		ex = cmd_query_run_fail(c, &db, q, n, rc);
	db_close(&db);
	cred_free(&keys);
	return ex;
}

int
queries_run(struct cli *c, int argc, char **argv)
{
	const char    *who;
	struct job_now n;
	struct query   q;
	struct run     run;
	enum pgs_rc    rc;
	int	       ex;

	ex = cli_target(c, argc, argv, NULL, "query", &who);
	if (ex == 0)
		ex = queries_lookup(c, who, &q);
	if (ex == 0)
		ex = cmd_query_run_now(c, &q, &n);
	if (ex != 0)
		return ex;
	if (!n.claimed) {
		printf("run %ld queued: the query is running elsewhere, or "
		       "a scheduled slot of it is due and runs first; a runner "
		       "tick starts it\n",
		    n.run_id);
		return 0;
	}
	rc = run_get(&c->db, &c->arena, n.run_id, false, &run);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("run %ld: %s, %ld rows, %ld ms%s%s\n", n.run_id, run.status,
	    run.rows_returned < 0 ? 0 : run.rows_returned,
	    run.duration_ms < 0 ? 0 : run.duration_ms,
	    run.error_message ? ": " : "",
	    run.error_message ? run.error_message : "");
	if (strcmp(run.status, "error") == 0)
		return EX_UNAVAILABLE;
	return 0;
}
