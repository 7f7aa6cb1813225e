/*
 * main.c: pgsched-runner.  System cron starts it every minute; one tick
 * reaps orphaned runs, claims due slots and queued runs, executes them in
 * worker processes (RUNNER_CONCURRENCY at once), prunes old runs, exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "claim.h"
#include "json.h"
#include "log.h"
#include "migrate.h"
#include "job.h"

#define CLAIM_BATCH	500
#define PRUNE_BATCH	1000

/* Signal state: the only globals, as the signal handler needs them. */
static PGcancel *volatile	 g_cancel;
static volatile sig_atomic_t	 g_stop;

struct worker {
	pid_t		 pid;
	struct claim	*claim;
};

struct opts {
	const char	*env_file;
	long		 run_id;
	long		 query_id;
	int		 concurrency;
	bool		 dry_run;
};

static void
on_signal(int sig)
{
	char		 errbuf[64];
	PGcancel	*c = g_cancel;

	(void)sig;
	g_stop = 1;
	/* PQcancel is safe in a signal handler with a local buffer. */
	if (c != NULL)
		PQcancel(c, errbuf, sizeof(errbuf));
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: pgsched-runner [--env-file PATH] [--dry-run] "
	    "[--concurrency N]\n"
	    "       pgsched-runner [--env-file PATH] --run RUN_ID\n"
	    "       pgsched-runner [--env-file PATH] --query QUERY_ID\n\n"
	    "One scheduler tick: reap runs of dead runners, claim due slots\n"
	    "and queued runs, execute them, prune old runs, exit.  System cron\n"
	    "starts it every minute (etc/cron.d/pgsched).\n\n"
	    "  --run ID          execute the queued run ID now\n"
	    "  --query ID        queue a manual run of query ID and execute it"
	    "\n"
	    "  --dry-run         print what the tick would do; change nothing\n"
	    "  --concurrency N   runs at once (default RUNNER_CONCURRENCY)\n"
	    "  --env-file PATH   settings file (default $PGSCHED_ENV_FILE, "
	    "else ./.env)\n"
	    "  --version, --help\n");
}

static bool
parse_long(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	long	 v;
	int	 i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("pgsched-runner %s\n", PACKAGE_VERSION);
			exit(0);
		} else if (strcmp(a, "--dry-run") == 0)
			o->dry_run = true;
		else if (val == NULL)
			fatal(EX_USAGE, "unknown option or missing value: '%s' "
			    "(see --help)", a);
		else if (strcmp(a, "--env-file") == 0)
			o->env_file = argv[++i];
		else if (strcmp(a, "--run") == 0) {
			if (!parse_long(argv[++i], 1, 2147483647, &o->run_id))
				fatal(EX_USAGE, "--run: not a run id: '%s'", val);
		} else if (strcmp(a, "--query") == 0) {
			if (!parse_long(argv[++i], 1, 2147483647, &o->query_id))
				fatal(EX_USAGE, "--query: not a query id: '%s'",
				    val);
		} else if (strcmp(a, "--concurrency") == 0) {
			if (!parse_long(argv[++i], 1, 1000, &v))
				fatal(EX_USAGE, "--concurrency: expected 1..1000,"
				    " got '%s'", val);
			o->concurrency = (int)v;
		} else
			fatal(EX_USAGE, "unknown option '%s' (see --help)", a);
	}
	if (o->run_id != 0 && o->query_id != 0)
		fatal(EX_USAGE, "give --run or --query, not both");
	return 0;
}

/* Child side of a worker: its own metadata session, one run, exit. */
static void PGS_NORETURN
worker_main(const struct runner *r, const struct claim *c, pid_t parent)
{
	struct db	 db;
	enum pgs_rc	 rc;

	/* Die with the runner: its locks are gone, the run will be reaped. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EX_SOFTWARE);
	rc = db_connect(&db, r->conf->pg_dsn_app,
	    r->conf->db_connect_timeout_s, "pgsched-runner");
	if (rc == PGS_OK) {
		rc = job_execute(r, &db, c);
		db_close(&db);
	} else
		log_err("worker_db", "run=%ld %s", c->run_id, db_error(&db));
	log_close();
	/* _exit: the parent's libpq connection must not be touched. */
	_exit(rc == PGS_OK ? 0 : EX_TEMPFAIL);
}

/* Waits for one worker; records a crash and releases the job lock.
 * Returns false when no worker of ours ended. */
static bool
reap_worker(struct db *db, struct worker *w, int nw, struct claim_held *held)
{
	struct arena	 a;
	int		 st, i;
	pid_t		 pid;

	/* A signal interrupts the wait: the caller then forwards it. */
	pid = waitpid(-1, &st, 0);
	for (i = 0; pid > 0 && i < nw && w[i].pid != pid; i++)
		;
	if (pid <= 0 || i == nw)
		return false;
	arena_init(&a);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *msg = arena_printf(&a, WIFSIGNALED(st) ? "runner worker "
		    "crashed (signal %d)" : "runner worker failed (exit %d)",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

		log_err("worker_failed", "run=%ld %s", w[i].claim->run_id, msg);
		if (claim_abort(db, &a, w[i].claim->run_id, msg) != PGS_OK)
			log_err("worker_failed", "run=%ld not recorded",
			    w[i].claim->run_id);
	}
	/* Only now is the final status committed: release the job. */
	if (claim_release(db, &a, held, w[i].claim->job_id) != PGS_OK)
		log_err("unlock_failed", "query=%ld", w[i].claim->job_id);
	arena_free(&a);
	w[i].pid = 0;
	return true;
}

/* Runs the claims with at most conc workers at once. */
static void
run_pool(const struct runner *r, struct db *db, struct claim_list *l,
    int conc, struct claim_held *held)
{
	struct worker	*w = xcalloc((size_t)conc, sizeof(*w));
	struct arena	 a;
	int		 next = 0, active = 0, i;
	bool		 forwarded = false;
	pid_t		 pid, self = getpid();

	arena_init(&a);
	while (next < l->n || active > 0) {
		while (!g_stop && next < l->n && active < conc) {
			for (i = 0; w[i].pid != 0; i++)
				;
			pid = fork();
			if (pid == 0)
				worker_main(r, &l->items[next], self);
			if (pid < 0) {
				log_err("fork_failed", "run=%ld %s",
				    l->items[next].run_id, strerror(errno));
				if (claim_abort(db, &a, l->items[next].run_id,
				    "runner could not start a worker") != PGS_OK ||
				    claim_release(db, &a, held,
				    l->items[next].job_id) != PGS_OK)
					log_err("abort_failed", "run=%ld",
					    l->items[next].run_id);
				next++;
				continue;
			}
			w[i].pid = pid;
			w[i].claim = &l->items[next++];
			active++;
		}
		if (g_stop && next < l->n) {
			/* Stopping: claimed runs not started are given up. */
			for (; next < l->n; next++)
				if (claim_abort(db, &a, l->items[next].run_id,
				    "runner stopped") != PGS_OK ||
				    claim_release(db, &a, held,
				    l->items[next].job_id) != PGS_OK)
					break;
		}
		if (active == 0)
			break;
		if (g_stop && !forwarded) {
			for (i = 0; i < conc; i++)
				if (w[i].pid != 0)
					kill(w[i].pid, SIGTERM);
			forwarded = true;
		}
		if (reap_worker(db, w, conc, held))
			active--;
	}
	arena_free(&a);
	free(w);
}

/* Executes one claim in this process (--run, --query). */
static int
run_inline(const struct runner *r, struct db *db, struct claim_list *l,
    struct claim_held *held)
{
	struct arena	 a;
	enum pgs_rc	 rc = PGS_OK;
	int		 i;

	arena_init(&a);
	for (i = 0; i < l->n; i++) {
		rc = job_execute(r, db, &l->items[i]);
		if (claim_release(db, &a, held, l->items[i].job_id) != PGS_OK)
			rc = PGS_DB;
	}
	arena_free(&a);
	return rc == PGS_OK ? 0 : EX_TEMPFAIL;
}

/* --run / --query: claim the one run and execute it here. */
static int
run_one(const struct runner *r, struct db *db, const struct opts *o,
    struct arena *a)
{
	struct claim_list	 l = { NULL, 0, 0 };
	struct claim_held	 held = { NULL, 0, 0 };
	struct claim_stats	 st;
	long			 run = o->run_id;
	enum pgs_rc		 rc;

	memset(&st, 0, sizeof(st));
	if (o->query_id != 0) {
		rc = claim_enqueue_manual(db, a, o->query_id, &run);
		if (rc == PGS_NOTFOUND)
			fatal(EX_NOINPUT, "--query %ld: no such query",
			    o->query_id);
		if (rc != PGS_OK)
			fatal(EX_UNAVAILABLE, "cannot queue the run: %s",
			    db_error(db));
	}
	rc = claim_queued(db, a, r->host, (long)getpid(), run, 1, &held, &l,
	    &st);
	if (rc != PGS_OK)
		fatal(EX_UNAVAILABLE, "cannot claim run %ld: %s", run,
		    db_error(db));
	if (l.n == 0) {
		/* Not queued (gone, done) or its query is busy: a later tick
		 * runs it if it is still queued. */
		fprintf(stderr, "pgsched-runner: run %ld was not started: it "
		    "is not queued, or its query is running; a later tick "
		    "runs it if it is still queued\n", run);
		return EX_TEMPFAIL;
	}
	printf("run %ld\n", run);
	fflush(stdout);
	return run_inline(r, db, &l, &held);
}

/* One tick: reap, claim, execute, prune. */
static int
tick(const struct runner *r, struct db *db, int conc, struct arena *a)
{
	struct claim_list	 l = { NULL, 0, 0 };
	struct claim_held	 held = { NULL, 0, 0 };
	struct claim_stats	 st;
	enum pgs_rc		 rc;
	bool			 more = true;
	int			 pruned = 0;

	memset(&st, 0, sizeof(st));
	rc = claim_reap(db, a, &st);
	if (rc == PGS_OK)
		rc = claim_queued(db, a, r->host, (long)getpid(), 0, 10000,
		    &held, &l, &st);
	while (rc == PGS_OK && more && !g_stop)
		rc = claim_due(db, a, r->host, (long)getpid(), CLAIM_BATCH,
		    &held, &l, &st, &more);
	if (rc != PGS_OK)
		log_err("tick_failed", "rc=%s %s", rc_name(rc), db_error(db));
	/* Execute what was claimed even after a failure: those runs are
	 * recorded as running and their slots are ours. */
	run_pool(r, db, &l, conc, &held);
	if (rc == PGS_OK && !g_stop)
		rc = claim_prune(db, a, r->conf->runs_keep_days, PRUNE_BATCH,
		    &pruned);
	log_info("tick", "claimed=%d skipped=%d lost=%d reaped=%d pruned=%d "
	    "bad_schedule=%d", st.claimed, st.skipped, st.lost, st.reaped,
	    pruned, st.bad_schedule);
	return rc == PGS_OK ? 0 : EX_TEMPFAIL;
}

static void
connect_meta(const struct conf *c, struct db *db)
{
	char		 msg[256], err[256];
	enum pgs_rc	 rc;

	if (conf_require(c, "PG_DSN_APP", err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	rc = db_connect(db, c->pg_dsn_app, c->db_connect_timeout_s,
	    "pgsched-runner");
	if (rc == PGS_INVALID)
		fatal(EX_CONFIG, "%s", db_error(db));
	if (rc != PGS_OK)
		fatal(EX_UNAVAILABLE, "cannot connect to the metadata database: "
		    "%s", db_error(db));
	db->default_interval_s = c->default_query_interval;
	rc = migrate_check(db, msg, sizeof(msg));
	if (rc == PGS_INVALID)
		fatal(EX_CONFIG, "%s", msg);
	if (rc != PGS_OK)
		fatal(EX_UNAVAILABLE, "cannot read the schema version: %s",
		    db_error(db));
}

int
main(int argc, char **argv)
{
	struct opts		 o;
	struct conf		 conf;
	struct cred_keys	 keys;
	struct runner		 r;
	struct sigaction	 sa;
	struct arena		 a;
	struct db		 db;
	char			 err[512], host[256];
	bool			 standby = false;
	int			 ex;

	parse_opts(argc, argv, &o);
	if (conf_load(&conf, o.env_file, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	log_open(&conf, "pgsched-runner", LOG_TO_STDERR | LOG_TO_FILE);
	json_init();
	if (sodium_init() < 0)
		fatal(EX_SOFTWARE, "libsodium failed to initialise");
	connect_meta(&conf, &db);
	arena_init(&a);
	memset(&keys, 0, sizeof(keys));
	ex = 0;
	if (claim_is_standby(&db, &a, &standby) != PGS_OK) {
		fprintf(stderr, "pgsched-runner: %s\n", db_error(&db));
		ex = EX_UNAVAILABLE;
	} else if (standby) {
		log_info("standby", "the metadata database is a standby "
		    "(pg_is_in_recovery): nothing to do");
		fprintf(stderr, "pgsched-runner: the metadata database is a "
		    "standby (pg_is_in_recovery): nothing to do\n");
	} else if (o.dry_run) {
		if (claim_preview(&db, &a, stdout) != PGS_OK) {
			fprintf(stderr, "pgsched-runner: %s\n", db_error(&db));
			ex = EX_UNAVAILABLE;
		}
	} else if (cred_load(&conf, true, &keys, err, sizeof(err)) != PGS_OK) {
		fprintf(stderr, "pgsched-runner: %s\n", err);
		ex = EX_CONFIG;
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		r.conf = &conf;
		r.keys = &keys;
		r.host = host;
		r.cancel_slot = &g_cancel;
		r.stop = &g_stop;
		if (o.run_id != 0 || o.query_id != 0)
			ex = run_one(&r, &db, &o, &a);
		else
			ex = tick(&r, &db, o.concurrency > 0 ? o.concurrency :
			    conf.runner_concurrency, &a);
	}
	fflush(stdout);
	arena_free(&a);
	db_close(&db);
	cred_free(&keys);
	conf_free(&conf);
	log_close();
	return ex;
}
