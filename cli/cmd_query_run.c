/*
 * cmd_query_run.c: pgsched-admin queries run, a manual run through the
 * runner's own path: queue it, claim it under the job lock, execute it
 * here, record it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "claim.h"
#include "cli.h"
#include "cred.h"
#include "dsn.h"
#include "job.h"
#include "run.h"
#include "store.h"

/* Claims the queued run and executes it; 0 or an exit code. */
static int
query_run_exec(struct cli *c, struct cred_keys *keys, long run_id)
{
	struct claim_list	 l = { NULL, 0, 0 };
	struct claim_held	 held = { NULL, 0, 0 };
	struct claim_stats	 st;
	volatile sig_atomic_t	 stop = 0;
	struct runner		 r;
	char			 host[256];
	enum pgs_rc		 rc;

	memset(&st, 0, sizeof(st));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	rc = claim_queued(&c->db, &c->arena, host, (long)getpid(), run_id, 1,
	    &held, &l, &st);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (l.n == 0) {
		printf("run %ld queued: the query is running elsewhere, or "
		    "a scheduled slot of it is due and runs first; a runner "
		    "tick starts it\n", run_id);
		return 0;
	}
	r.conf = &c->conf;
	r.keys = keys;
	r.host = host;
	r.cancel_slot = NULL;
	r.stop = &stop;
	r.cache = NULL;
	rc = job_execute(&r, &c->db, &l.items[0]);
	if (claim_release(&c->db, &c->arena, &held, l.items[0].job_id) !=
	    PGS_OK && rc == PGS_OK)
		rc = PGS_DB;
	return rc == PGS_OK ? 0 : cli_db_fail(c, rc, c->path);
}

int
queries_run(struct cli *c, int argc, char **argv)
{
	const char		*who;
	struct cred_keys	 keys;
	struct query		 q;
	struct arena		*a = &c->arena;
	struct run		 run;
	char			 err[512];
	enum pgs_rc		 rc;
	long			 run_id;
	int			 ex;

	ex = cli_target(c, argc, argv, NULL, "query", &who);
	if (ex == 0)
		ex = queries_lookup(c, who, &q);
	if (ex != 0)
		return ex;
	if (cred_load(&c->conf, true, &keys, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s", err);
	rc = claim_enqueue_manual(&c->db, a, q.id, 0, &run_id);
	if (rc == PGS_CONFLICT)
		ex = cli_fail(EX_TEMPFAIL, "%s: %s already has a manual run "
		    "queued or running (run %ld): wait for it to end",
		    c->path, q.name, run_id);
	else
		ex = rc == PGS_OK ? query_run_exec(c, &keys, run_id) :
		    cli_db_fail(c, rc, c->path);
	cred_free(&keys);
	if (ex != 0)
		return ex;
	rc = run_get(&c->db, a, run_id, false, &run);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("run %ld: %s, %ld rows, %ld ms%s%s\n", run_id, run.status,
	    run.rows_returned < 0 ? 0 : run.rows_returned,
	    run.duration_ms < 0 ? 0 : run.duration_ms,
	    run.error_message ? ": " : "",
	    run.error_message ? run.error_message : "");
	if (strcmp(run.status, "error") == 0)
		return EX_UNAVAILABLE;
	return 0;
}
