/*
 * main.c: pgsched-runner.  System cron starts it every minute; one tick
 * reaps orphaned runs, claims due slots and queued runs, executes them in
 * worker processes (RUNNER_CONCURRENCY at once), prunes old runs, exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "claim.h"
#include "coredump.h"
#include "exec.h"
#include "json.h"
#include "log.h"
#include "migrate.h"
#include "mono.h"
#include "job.h"
#include "notify.h"
#include "num.h"
#include "outbox.h"
#include "proc.h"
#include "run_store.h"

#define CLAIM_BATCH 500
#define PRUNE_BATCH 1000
#define STALE_BATCH 100
/* How often the courier looks for due retries between wake-ups. */
#define COURIER_POLL_MS 1000

/* Signal state: the only globals, as the signal handlers need them. */
static PGcancel *volatile g_cancel;
static volatile sig_atomic_t g_stop;
/* A worker's own metadata connection, reset by on_fence. */
static PGconn *volatile g_meta;

/*
 * The parent's watch over its metadata session, which holds every job lock
 * of the tick (db.h has the timings): the socket is watched while workers
 * run, and a probe goes out every every_ms and must be answered within
 * wait_ms.  Once the session is lost, its locks are (or soon will be) free
 * for another runner: the runs must stop (pool_fence).
 */
struct lease {
	struct db *db;
	long	   every_ms;
	long	   wait_ms;
	long	   next;  /* monotonic ms of the next probe */
	long	   due;	  /* answer expected by; 0: none */
	long	   heard; /* when the server last answered */
	bool	   lost;
	char	   why[256];
};

/* The courier: a child that delivers notifications while the tick's
 * runs execute (their first attempts, woken through fd, a socket) and
 * the backlog after them, so that no receiver ever delays a run. */
struct courier {
	pid_t pid; /* 0: none */
	int   fd;  /* the write end of its wake-up socket; -1: none */
};

/* A worker process: it keeps its metadata session and its source
 * connections for the whole tick and runs one claim at a time. */
struct worker {
	pid_t	      pid;   /* 0: not started or gone */
	int	      fd;    /* socket to it; -1 when closed */
	struct claim *claim; /* the run it executes, or NULL */
};

struct opts {
	const char *env_file;
	long	    run_id;
	long	    query_id;
	int	    concurrency;
	bool	    dry_run;
};

static void
on_signal(int sig)
{
	char	  errbuf[64];
	PGcancel *c = g_cancel;

	(void)sig;
	g_stop = 1;
	/* PQcancel is safe in a signal handler with a local buffer. */
	if (c != NULL)
		PQcancel(c, errbuf, sizeof(errbuf));
}

/*
 * A worker's SIGUSR1: its runner lost the session holding the job locks.
 * Cancel the source query and leave at once, writing nothing.  The
 * metadata socket is reset (SO_LINGER 0) rather than closed, so that not
 * even a finish already queued in it, while the network is down, can reach
 * the server later.  Only async-signal-safe calls (PQcancel is one).
 */
static void
on_fence(int sig)
{
	struct linger lg = { 1, 0 };
	char	      errbuf[64];
	PGcancel     *c = g_cancel;
	PGconn	     *m = g_meta;

	(void)sig;
	if (c != NULL)
		PQcancel(c, errbuf, sizeof(errbuf));
	if (m != NULL && PQsocket(m) >= 0)
		setsockopt(PQsocket(m), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	_exit(EX_TEMPFAIL);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: pgsched-runner [--env-file PATH] [--dry-run] "
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

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	long v;
	int  i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("pgsched-runner %s\n", PACKAGE_VERSION);
			exit(0);
		} else if (strcmp(a, "--dry-run") == 0)
			o->dry_run = true;
		else if (val == NULL)
			fatal(EX_USAGE,
			    "unknown option or missing value: '%s' "
			    "(see --help)",
			    a);
		else if (strcmp(a, "--env-file") == 0)
			o->env_file = argv[++i];
		else if (strcmp(a, "--run") == 0) {
			if (!num_parse(argv[++i], 1, 2147483647, &o->run_id))
				fatal(EX_USAGE, "--run: not a run id: '%s'",
				    val);
		} else if (strcmp(a, "--query") == 0) {
			if (!num_parse(argv[++i], 1, 2147483647, &o->query_id))
				fatal(EX_USAGE, "--query: not a query id: '%s'",
				    val);
		} else if (strcmp(a, "--concurrency") == 0) {
			if (!num_parse(argv[++i], 1, 1000, &v))
				fatal(EX_USAGE,
				    "--concurrency: expected 1..1000,"
				    " got '%s'",
				    val);
			o->concurrency = (int)v;
		} else
			fatal(EX_USAGE, "unknown option '%s' (see --help)", a);
	}
	if (o->run_id != 0 && o->query_id != 0)
		fatal(EX_USAGE, "give --run or --query, not both");
	return 0;
}

/*
 * Child side of a worker (tied to the runner by worker_spawn: it dies
 * with it, its locks being gone, and the run will be reaped): reads claim
 * indexes from fd, executes each with its own metadata session and cached
 * source connections, answers one byte per run, and exits at end of file.
 */
static void PGS_NORETURN
worker_main(struct runner *r, const struct claim_list *l, int fd)
{
	struct job_cache jc;
	struct db	 db;
	enum pgs_rc	 rc;
	ssize_t		 n;
	struct sigaction sa;
	int		 idx;
	char		 done;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fence;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	memset(&jc, 0, sizeof(jc));
	r->cache = &jc;
	/* A row larger than this process may hold fails its run, not the
	 * host. */
	(void)exec_memory_limit(r->conf->runner_memory_max_mb,
	    (size_t)r->conf->result_max_bytes);
	rc = db_connect_net(&db, r->conf->pg_dsn_app,
	    r->conf->db_connect_timeout_s, "pgsched-runner",
	    r->conf->runner_net_timeout_s);
	if (rc != PGS_OK) {
		log_err("worker_db", "%s", db_error(&db));
		_exit(EX_TEMPFAIL);
	}
	/* It holds no lock: a session the server dropped while the worker
	 * waited (idle_session_timeout, say) is opened again; what it may
	 * write is decided by the parent's lock (run_store_finish). */
	db.reconnect = true;
	db.public_url = r->conf->public_url;
	g_meta = db.conn;
	while ((n = read(fd, &idx, sizeof(idx))) == (ssize_t)sizeof(idx)) {
		if (idx < 0 || idx >= l->n)
			break;
		rc = job_execute(r, &db, &l->items[idx]);
		done = rc == PGS_OK ? 'k' : 'f';
		if (write(fd, &done, 1) != 1)
			break;
	}
	job_cache_close(&jc);
	db_close(&db);
	log_close();
	/* _exit: the parent's libpq connection must not be touched. */
	_exit(0);
}

/* Starts worker w; returns false when it could not. */
static bool
worker_spawn(struct runner *r, const struct claim_list *l, struct worker *w,
    int nw, int i)
{
	int   sv[2], k;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return false;
	pid = proc_fork(SIGKILL);
	if (pid == 0) {
		/* Siblings' sockets stay with the parent, so each worker
		 * sees end of file when the parent closes its socket. */
		for (k = 0; k < nw; k++)
			if (w[k].fd >= 0)
				close(w[k].fd);
		close(sv[0]);
		worker_main(r, l, sv[1]);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		log_err("fork_failed", "%s", strerror(errno));
		return false;
	}
	w[i].pid = pid;
	w[i].fd = sv[0];
	w[i].claim = NULL;
	return true;
}

/* Records the end of w's run: a crash becomes an error, the job lock is
 * released once the final status is committed. */
static void
worker_done(struct db *db, struct worker *w, struct claim_held *held,
    bool crashed)
{
	struct arena a;
	int	     st = 0;

	arena_init(&a);
	if (crashed) {
		char *msg;

		(void)proc_wait(w->pid, &st);
		msg = arena_printf(&a,
		    WIFSIGNALED(st) ? "runner worker "
				      "crashed (signal %d)" :
				      "runner worker failed (exit %d)",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		log_err("worker_failed", "run=%ld %s", w->claim->run_id, msg);
		if (run_store_abort(db, &a, w->claim->run_id, msg) != PGS_OK)
			log_err("worker_failed", "run=%ld not recorded",
			    w->claim->run_id);
		close(w->fd);
		w->fd = -1;
		w->pid = 0;
	}
	if (claim_release(db, &a, held, w->claim->job_id) != PGS_OK)
		log_err("unlock_failed", "query=%ld", w->claim->job_id);
	w->claim = NULL;
	arena_free(&a);
}

/* Gives claim idx to worker i; false when the worker is gone. */
static bool
worker_send(struct worker *w, struct claim_list *l, int i, int idx)
{
	if (write(w[i].fd, &idx, sizeof(idx)) != (ssize_t)sizeof(idx))
		return false;
	w[i].claim = &l->items[idx];
	return true;
}

/* Starts watching db, the session holding the tick's locks (ls is the
 * caller's). */
static void
lease_init(struct lease *ls, struct db *db, int net_timeout_s)
{
	memset(ls, 0, sizeof(*ls));
	ls->db = db;
	ls->every_ms = DB_PROBE_EVERY_MS(net_timeout_s);
	ls->wait_ms = DB_PROBE_WAIT_MS(net_timeout_s);
	ls->heard = mono_ms();
	ls->next = ls->heard + ls->every_ms;
	/* A session already lost while claiming holds nothing. */
	if (db_lost(db)) {
		ls->lost = true;
		snprintf(ls->why, sizeof(ls->why), "%s", db_lost_reason(db));
	}
}

/* Marks the session lost, keeping the first reason. */
static void
lease_lose(struct lease *ls, const char *why)
{
	if (ls->lost)
		return;
	ls->lost = true;
	snprintf(ls->why, sizeof(ls->why), "%s", why);
}

/* How long poll may wait before the lease needs attention. */
static int
lease_timeout(const struct lease *ls)
{
	long left;

	if (ls->lost)
		return 0;
	left = (ls->due != 0 ? ls->due : ls->next) - mono_ms();
	return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/* Reads what the session sent (revents of its socket), sends the probe
 * when it is time, and gives the session up when it failed or is silent
 * past the probe's deadline. */
static void
lease_step(struct lease *ls, short revents)
{
	bool answered = false;
	char why[96];
	long now;

	if (ls->lost)
		return;
	if (revents != 0 && db_probe_read(ls->db, &answered) != PGS_OK) {
		lease_lose(ls, db_error(ls->db));
		return;
	}
	now = mono_ms();
	if (answered) {
		ls->heard = now;
		ls->due = 0;
		ls->next = now + ls->every_ms;
	}
	if (ls->due != 0 && now >= ls->due) {
		snprintf(why, sizeof(why),
		    "no answer from the metadata "
		    "database within %ld ms",
		    ls->wait_ms);
		lease_lose(ls, why);
		return;
	}
	if (ls->due == 0 && now >= ls->next) {
		if (db_probe_send(ls->db) != PGS_OK)
			lease_lose(ls, db_error(ls->db));
		else
			ls->due = now + ls->wait_ms;
	}
}

/* Finishes a pending probe before the session runs a statement. */
static void
lease_settle(struct lease *ls)
{
	long left;

	if (ls->lost || !ls->db->probing)
		return;
	left = ls->due - mono_ms();
	if (db_probe_wait(ls->db, left > 0 ? (int)left : 0) != PGS_OK) {
		lease_lose(ls, db_error(ls->db));
		return;
	}
	ls->heard = mono_ms();
	ls->due = 0;
	ls->next = ls->heard + ls->every_ms;
}

/* Gives up claims not started (stopping, or no worker could start). */
static void
abandon(struct db *db, struct claim_list *l, int from, struct claim_held *held,
    const char *why)
{
	struct arena a;

	arena_init(&a);
	for (; from < l->n; from++)
		if (run_store_abort(db, &a, l->items[from].run_id, why) !=
			PGS_OK ||
		    claim_release(db, &a, held, l->items[from].job_id) !=
			PGS_OK)
			break;
	arena_free(&a);
}

/* Waits for busy workers and for the lease (ls); handles each worker that
 * answered or died.  Returns how many became idle. */
static int
pool_wait(struct lease *ls, struct worker *w, int nw, struct claim_held *held)
{
	struct pollfd pfd[1025];
	int	      i, n = 0, freed = 0;
	bool	      crashed;
	char	      done;

	if (nw <= 0 || nw > 1024)
		return 0;
	for (i = 0; i < nw; i++) {
		pfd[i].fd = w[i].claim != NULL ? w[i].fd : -1;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	pfd[nw].fd = db_socket(ls->db);
	pfd[nw].events = POLLIN;
	pfd[nw].revents = 0;
	n = poll(pfd, (nfds_t)nw + 1, lease_timeout(ls));
	lease_step(ls, n > 0 ? pfd[nw].revents : 0);
	for (i = 0; n > 0 && i < nw && !ls->lost; i++) {
		if (pfd[i].revents == 0 || w[i].claim == NULL)
			continue;
		crashed = read(w[i].fd, &done, 1) != 1;
		lease_settle(ls);
		if (ls->lost)
			break; /* pool_fence takes over */
		worker_done(ls->db, &w[i], held, crashed);
		if (db_lost(ls->db))
			lease_lose(ls, db_lost_reason(ls->db));
		freed++;
	}
	return freed;
}

/*
 * The session holding the job locks is lost: another runner may take the
 * locks as soon as the server lets them go, so the runs must stop now,
 * unrecorded (the next tick reaps them).  Each worker is told to cancel
 * its source query and exit without writing (on_fence); the ones that are
 * not gone within the probe deadline die with this process (PDEATHSIG).
 */
static void
pool_fence(struct lease *ls, struct worker *w, int nw, int unstarted)
{
	struct pollfd pfd[1024];
	long	      t0 = mono_ms(), end = t0 + ls->wait_ms;
	int	      i, left = 0, runs = 0;
	char	      c;

	for (i = 0; i < nw; i++) {
		if (w[i].claim != NULL)
			runs++;
		if (w[i].pid != 0 && kill(w[i].pid, SIGUSR1) == 0)
			left++;
	}
	/* A worker's socket reaches end of file when it exits. */
	while (left > 0 && mono_ms() < end) {
		for (i = 0; i < nw; i++) {
			pfd[i].fd = w[i].pid != 0 ? w[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)nw, (int)(end - mono_ms())) <= 0)
			continue;
		for (i = 0; i < nw; i++)
			if (pfd[i].revents != 0 && w[i].pid != 0 &&
			    read(w[i].fd, &c, 1) <= 0) {
				(void)proc_wait(w[i].pid, NULL);
				w[i].pid = 0;
				left--;
			}
	}
	log_err("lock_lost",
	    "runs=%d unstarted=%d silent_ms=%ld stop_ms=%ld "
	    "workers_left=%d the metadata session holding the job locks is "
	    "lost (%s): its runs were cancelled and are not recorded; the "
	    "next tick reaps them",
	    runs, unstarted, t0 - ls->heard, mono_ms() - t0, left, ls->why);
}

/* Runs the claims on at most conc persistent workers; false when the
 * session holding their locks was lost (the runs were then stopped). */
static bool
runner_pool(struct runner *r, struct db *db, struct claim_list *l, int conc,
    struct claim_held *held)
{
	struct worker *w;
	struct lease   ls;
	int	       nw, next = 0, busy = 0, i;
	bool	       forwarded = false;

	nw = conc < l->n ? conc : l->n;
	if (nw > 1024)
		nw = 1024;
	if (nw == 0)
		return true;
	w = xcalloc((size_t)nw, sizeof(*w));
	for (i = 0; i < nw; i++)
		w[i].fd = -1;
	lease_init(&ls, db, r->conf->runner_net_timeout_s);
	while (!ls.lost && (next < l->n || busy > 0)) {
		if (next < l->n)
			lease_settle(&ls); /* before worker_done, abandon */
		for (i = 0; i < nw && next < l->n && !g_stop && !ls.lost; i++) {
			if (w[i].claim != NULL)
				continue;
			if (w[i].fd < 0 && !worker_spawn(r, l, w, nw, i))
				continue;
			if (!worker_send(w, l, i, next)) {
				w[i].claim = &l->items[next];
				worker_done(db, &w[i], held, true);
			} else
				busy++;
			next++;
		}
		if (!ls.lost && next < l->n && (g_stop || busy == 0)) {
			abandon(db, l, next, held,
			    g_stop ? "runner stopped" :
				     "runner could not start a worker");
			next = l->n;
		}
		if (db_lost(db))
			lease_lose(&ls, db_lost_reason(db));
		if (busy == 0 || ls.lost)
			break;
		if (g_stop && !forwarded) {
			for (i = 0; i < nw; i++)
				if (w[i].pid != 0)
					kill(w[i].pid, SIGTERM);
			forwarded = true;
		}
		busy -= pool_wait(&ls, w, nw, held);
	}
	if (ls.lost)
		pool_fence(&ls, w, nw, l->n - next);
	for (i = 0; i < nw; i++) {
		if (w[i].fd >= 0)
			close(w[i].fd);
		if (w[i].pid != 0 && !ls.lost)
			(void)proc_wait(w[i].pid, NULL);
	}
	free(w);
	return !ls.lost;
}

/* --run / --query: the one run, executed here (job_run_now). */
static int
runner_one(struct runner *r, struct db *db, const struct opts *o,
    struct arena *a)
{
	struct job_now n = { o->query_id, o->run_id, stdout, false };
	enum pgs_rc    rc;

	rc = job_run_now(r, db, a, &n);
	if (n.claimed)
		return rc == PGS_OK ? 0 : EX_TEMPFAIL;
	if (rc == PGS_NOTFOUND)
		fatal(EX_NOINPUT, "--query %ld: no such query", o->query_id);
	if (rc == PGS_CONFLICT)
		fatal(EX_TEMPFAIL,
		    "--query %ld: the query already has a "
		    "manual run queued or running (run %ld)",
		    o->query_id, n.run_id);
	if (rc != PGS_OK && n.run_id == 0)
		fatal(EX_UNAVAILABLE, "cannot queue the run: %s", db_error(db));
	if (rc != PGS_OK)
		fatal(EX_UNAVAILABLE, "cannot claim run %ld: %s", n.run_id,
		    db_error(db));
	/* Not queued (gone, done) or its query is busy: a later tick runs it
	 * if it is still queued. */
	fprintf(stderr,
	    "pgsched-runner: run %ld was not started: it is not "
	    "queued, or its query is running or has a due slot (which runs "
	    "first); a later tick runs it if it is still queued\n",
	    n.run_id);
	return EX_TEMPFAIL;
}

/*
 * Log retention (gzip, delete) once per tick, after the tick's work and
 * never in an API request: log_prune's non-blocking lock lets one runner
 * do it while the others skip.
 */
static void
tick_log_retention(const struct conf *c)
{
	char	    qdir[1100];
	enum pgs_rc rc;

	rc = log_prune(c, time(NULL), NULL);
	if (rc != PGS_OK && rc != PGS_CONFLICT)
		log_warn("log_prune",
		    "dir=\"%s\" some log files could not "
		    "be gzipped or deleted",
		    log_quote(c->log_dir, 512, qdir, sizeof(qdir)));
}

/*
 * One pass of the courier: due deliveries (created since the instant
 * since, when not NULL) until none is left, within two attempts' time.
 * Returns false when the metadata session failed.
 */
static bool
courier_pass(const struct notify_ctx *nc, const char *since,
    struct notify_pass *st)
{
	int64_t budget = 2 * (int64_t)nc->dc->timeout_ms + 1000;

	if (notify_due(nc, 0, since, mono_ms() + budget, st) == PGS_OK)
		return true;
	log_err("notify_failed", "%s", db_error(nc->db));
	return !db_lost(nc->db);
}

/*
 * Child side of the courier (tied to the runner).  While the tick's runs
 * execute, it delivers the notifications they commit (created since the
 * instant since, the tick's claim): at once when a worker writes to fd,
 * and every COURIER_POLL_MS.  Once every writer of fd is gone (end of
 * file: the runs are done) it makes one last pass over everything due,
 * retries and older events included, so that a backlog never competes
 * with the tick's own runs.  Exits 0, or EX_TEMPFAIL without a database.
 */
static void PGS_NORETURN
courier_main(struct runner *r, int fd, const char *since)
{
	struct notify_pass  st;
	struct deliver_conf dc;
	struct notify_ctx   nc;
	struct pollfd	    pfd;
	struct db	    db;
	char		    buf[256], err[256];
	bool		    ok = true, eof = false;

	memset(&st, 0, sizeof(st));
	if (deliver_conf_init(&dc, r->conf, err, sizeof(err)) != PGS_OK)
		_exit(EX_CONFIG); /* conf_load checked it */
	if (db_connect_net(&db, r->conf->pg_dsn_app,
		r->conf->db_connect_timeout_s, "pgsched-runner",
		r->conf->runner_net_timeout_s) != PGS_OK) {
		log_err("courier_db", "%s", db_error(&db));
		_exit(EX_TEMPFAIL);
	}
	db.reconnect = true; /* it holds no lock */
	nc.db = &db;
	nc.keys = r->keys;
	nc.dc = &dc;
	nc.give_up_hours = r->conf->notify_give_up_hours;
	nc.rotate_overlap_hours = r->conf->notify_rotate_overlap_hours;
	while (ok && !eof && !g_stop) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, COURIER_POLL_MS) > 0 &&
		    read(fd, buf, sizeof(buf)) <= 0)
			eof = true;
		ok = courier_pass(&nc, eof ? NULL : since, &st);
	}
	if (st.claimed > 0)
		log_info("notify_tick",
		    "claimed=%d delivered=%d retried=%d dead=%d left=%d",
		    st.claimed, st.delivered, st.retried, st.dead,
		    st.not_started);
	deliver_conf_free(&dc);
	db_close(&db);
	log_close();
	_exit(0); /* the parent's libpq connection is not ours */
}

/*
 * Starts the courier (co, the caller's) when there is something to
 * deliver, now or from the tick's runs (runs: some were claimed); a run
 * without a courier delivers its notifications itself.
 */
static void
courier_spawn(struct runner *r, struct db *db, struct arena *a, bool runs,
    struct courier *co)
{
	const char *since = NULL;
	bool	    want;
	int	    p[2];
	pid_t	    pid;

	co->pid = 0;
	co->fd = -1;
	/* Retries coming due during the tick are looked for, too. */
	if (notify_wanted(db, a, runs, COURIER_POLL_MS / 1000 + 5, &since,
		&want) != PGS_OK ||
	    !want || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
		return;
	pid = proc_fork(SIGKILL);
	if (pid == 0) {
		close(p[1]);
		courier_main(r, p[0], since);
	}
	close(p[0]);
	if (pid < 0) {
		log_err("fork_failed", "courier: %s", strerror(errno));
		close(p[1]);
		return;
	}
	/* Workers only write, and never block or get SIGPIPE (job.c). */
	(void)shutdown(p[1], SHUT_RD);
	co->pid = pid;
	co->fd = p[1];
	r->notify_fd = p[1];
}

/* Tells the courier the runs are done and waits for its last pass. */
static void
courier_finish(struct runner *r, struct courier *co)
{
	if (co->fd >= 0)
		close(co->fd);
	co->fd = -1;
	r->notify_fd = -1;
	if (co->pid > 0)
		(void)proc_wait(co->pid, NULL);
	co->pid = 0;
}

/* One tick: reap, claim, execute, prune. */
static int
tick(struct runner *r, struct db *db, int conc, struct arena *a)
{
	struct claim_list  l = { NULL, 0, 0 };
	struct claim_held  held = { NULL, 0, 0 };
	struct claim_stats st;
	struct courier	   co;
	enum pgs_rc	   rc;
	bool		   more = true;
	int		   pruned = 0, stale = 0, stale_n = 0, pruned_n = 0;
	int		   forgot = 0;

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&st, 0, sizeof(st));
	rc = claim_reap(db, a, &st);
	if (rc == PGS_OK)
		rc = outbox_stale(db, a, STALE_BATCH, &stale, &stale_n);
	if (rc == PGS_OK)
		rc = claim_queued(db, a, r->host, (long)getpid(), 0, 10000,
		    &held, &l, &st);
	while (rc == PGS_OK && more && !g_stop)
		rc = claim_due(db, a, r->host, (long)getpid(), CLAIM_BATCH,
		    &held, &l, &st, &more);
	if (rc != PGS_OK)
		log_err("tick_failed", "rc=%s %s", rc_name(rc), db_error(db));
	/* Execute what was claimed even after a failure: those runs are
	 * recorded as running and their slots are ours, while the session
	 * holding their locks lives (runner_pool). */
	courier_spawn(r, db, a, l.n > 0, &co);
	if (!runner_pool(r, db, &l, conc, &held) && rc == PGS_OK)
		rc = PGS_DB;
	if (rc == PGS_OK && !g_stop)
		rc = run_store_prune(db, a, r->conf->runs_keep_days,
		    PRUNE_BATCH, &pruned);
	if (rc == PGS_OK && !g_stop)
		rc = outbox_prune(db, a, r->conf->runs_keep_days, PRUNE_BATCH,
		    &pruned_n);
	courier_finish(r, &co);
	if (rc == PGS_OK && !g_stop)
		rc = notify_forget_secrets(db, a,
		    r->conf->notify_rotate_overlap_hours, &forgot);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The tick's own time, without process start and connecting. */
	log_info("tick",
	    "claimed=%d skipped=%d deferred=%d lost=%d reaped=%d "
	    "requeued=%d pruned=%d bad_schedule=%d stale=%d ms=%.1f",
	    st.claimed, st.skipped, st.deferred, st.lost, st.reaped,
	    st.requeued, pruned + pruned_n, st.bad_schedule, stale,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (!g_stop && !db_lost(db))
		tick_log_retention(r->conf);
	return rc == PGS_OK ? 0 : EX_TEMPFAIL;
}

static void
connect_meta(const struct conf *c, struct db *db)
{
	char	    msg[256], err[256];
	enum pgs_rc rc;

	if (conf_require(c, "PG_DSN_APP", err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	rc = db_connect_net(db, c->pg_dsn_app, c->db_connect_timeout_s,
	    "pgsched-runner", c->runner_net_timeout_s);
	if (rc == PGS_INVALID)
		fatal(EX_CONFIG, "%s", db_error(db));
	if (rc != PGS_OK)
		fatal(EX_UNAVAILABLE,
		    "cannot connect to the metadata database: "
		    "%s",
		    db_error(db));
	db->default_interval_s = c->default_query_interval;
	db->public_url = c->public_url;
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
	struct opts	 o;
	struct conf	 conf;
	struct cred_keys keys;
	struct runner	 r;
	struct sigaction sa;
	struct arena	 a;
	struct db	 db;
	char		 err[512], host[256];
	bool		 standby = false;
	int		 ex;

	coredump_set(false);
	parse_opts(argc, argv, &o);
	if (conf_load(&conf, o.env_file, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	coredump_set(conf.allow_core_dumps);
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
		log_info("standby",
		    "the metadata database is a standby "
		    "(pg_is_in_recovery): nothing to do");
		fprintf(stderr,
		    "pgsched-runner: the metadata database is a "
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
		r.cache = NULL;
		r.lock_db = NULL;
		r.notify_fd = -1;
		deliver_global_init();
		if (o.run_id != 0 || o.query_id != 0)
			ex = runner_one(&r, &db, &o, &a);
		else
			ex = tick(&r, &db,
			    o.concurrency > 0 ? o.concurrency :
						conf.runner_concurrency,
			    &a);
	}
	fflush(stdout);
	arena_free(&a);
	db_close(&db);
	cred_free(&keys);
	conf_free(&conf);
	log_close();
	return ex;
}
