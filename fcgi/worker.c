/*
 * worker.c: a worker of the pool.  It serves one request at a time from
 * up to --conns FastCGI connections that nginx keeps open
 * (fastcgi_keep_conn on) and sends the next request on, polling all of
 * them and the listening socket it shares with the other workers
 * (non-blocking: whoever accepts first serves).  While every slot is
 * taken it accepts nothing more; nginx closes the connections beyond
 * its keepalive cache, which frees slots, as long as that cache is
 * smaller than the pool's slots.  SIGTERM stops it gracefully.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "deliver.h"
#include "log.h"
#include "pool.h"
#include "proc.h"

/* The connections a worker polls: conn[] are its --conns slots; pfd[k]
 * of a poll is conn[slot[k]]'s (the listening socket's for a free
 * slot). */
struct worker {
	FCGX_Request  *conn;
	struct pollfd *pfd;
	int	      *slot;
	unsigned long  served;	 /* requests */
	unsigned long  accepted; /* connections */
};

/* Signal state, for the handler: set by SIGTERM, and the descriptors it
 * swaps so that accept() fails at once. */
static volatile sig_atomic_t got_term;
static int		     worker_listen_fd = -1;
static int		     devnull_fd = -1;

static void
worker_on_term(int sig)
{
	(void)sig;
	got_term = 1;
	/* Make the next accept() fail at once, even if the signal came just
	 * before it: the in-flight request has its own descriptor. */
	if (worker_listen_fd >= 0 && devnull_fd >= 0)
		dup2(devnull_fd, worker_listen_fd);
}

/*
 * Ends the request.  libfcgi closes a connection by shutting down its
 * side and then waiting until the web server closes the other (so that
 * unread input cannot turn the close into a reset that loses the reply):
 * one more round trip to nginx per request, during which the worker
 * accepts nothing.  When nothing is left to read, a plain close loses
 * nothing, so the request is detached from that wait (FCGX_Detach makes
 * FCGX_Finish_r close without it).
 */
static void
worker_finish(FCGX_Request *fr)
{
	char	c, rest[8192];
	ssize_t n;

	/* A kept connection carries the next request: what is left of this
	 * one's body (a refused one) is read first, or libfcgi would take
	 * it for the next request's records. */
	if (fr->keepConnection && fr->in != NULL)
		while (FCGX_GetStr(rest, (int)sizeof(rest), fr->in) > 0)
			;
	if (fr->ipcFd >= 0 && !fr->keepConnection) {
		n = recv(fr->ipcFd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			(void)FCGX_Detach(fr);
	}
	FCGX_Finish_r(fr);
}

/*
 * Reads the next request of c (a kept connection with input, or a new
 * connection from the listening socket) and serves it; true when one was
 * served.  A kept connection that nginx closed, or nothing left to accept
 * (another worker took it), serves nothing.
 */
static bool
worker_serve(struct app *app, FCGX_Request *c, unsigned long *accepted)
{
	static time_t	warned;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	bool		fresh = c->ipcFd < 0;
	int		rc;

	rc = FCGX_Accept_r(c);
	if (rc < 0) {
		/* Out of descriptors or memory: the listening socket stays
		 * readable, so do not spin on it (nor log more than a line a
		 * minute). */
		if (fresh && rc != -EAGAIN && rc != -EWOULDBLOCK &&
		    rc != -EINTR && !got_term) {
			if (time(NULL) - warned >= 60) {
				warned = time(NULL);
				log_warn("accept", "accept failed: %s",
				    rc < -9000 ? "unknown error" :
						 strerror(-rc));
			}
			nanosleep(&pause, NULL);
		}
		return false;
	}
	if (fresh)
		(*accepted)++;
	route_serve(app, c);
	worker_finish(c);
	return true;
}

/*
 * Polls the open connections of w (and, with listen, the listening
 * socket when a slot is free) for timeout ms.  Returns the number of
 * w->pfd entries filled: 0 when there is nothing to wait on, or after a
 * signal; -1 when poll failed for good.
 */
static int
worker_wait(const struct pool_opts *o, struct worker *w, bool listen,
    int timeout)
{
	int i, n = 0, free_slot = -1;

	for (i = 0; i < o->conns; i++) {
		if (w->conn[i].ipcFd < 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		w->pfd[n].fd = w->conn[i].ipcFd;
		w->pfd[n].events = POLLIN;
		w->pfd[n].revents = 0;
		w->slot[n++] = i;
	}
	if (listen && free_slot >= 0) {
		w->pfd[n].fd = o->worker_fd;
		w->pfd[n].events = POLLIN;
		w->pfd[n].revents = 0;
		w->slot[n++] = free_slot;
	}
	if (n == 0)
		return 0;
	if (poll(w->pfd, (nfds_t)n, timeout) < 0) {
		if (errno == EINTR)
			return 0;
		log_err("poll", "poll failed: %s", strerror(errno));
		return -1;
	}
	return n;
}

/*
 * One round: waits (as worker_wait) and serves every connection that
 * became readable; with listen, stops serving once SIGTERM came.  Returns
 * worker_wait's answer.
 */
static int
worker_round(struct app *app, const struct pool_opts *o, struct worker *w,
    bool listen)
{
	int n, k;

	n = worker_wait(o, w, listen, -1);
	for (k = 0; k < n && (!listen || !got_term); k++)
		if (w->pfd[k].revents != 0 &&
		    worker_serve(app, &w->conn[w->slot[k]], &w->accepted))
			w->served++;
	return n;
}

/* Raises the descriptor limit to fit --conns connections and some more. */
static void
worker_fd_room(const struct pool_opts *o)
{
	struct rlimit rl;
	rlim_t	      want = (rlim_t)o->conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
	    want :
	    rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("conns",
		    "--conns %d: only %lu descriptors allowed; "
		    "connections beyond that wait",
		    o->conns, (unsigned long)rl.rlim_cur);
}

/* Loads the worker's state into app, installs the signal handlers and
 * connects; fatal() on error. */
static void
worker_start(struct app *app, const struct pool_opts *o)
{
	/* Started with default signals (proc_exec): a write to a pipe
	 * whose reader left must not end the worker. */
	signal(SIGPIPE, SIG_IGN);
	app_setup(app, o->env_file, o->self_exe);
	app->cache_max = (size_t)o->cache_mb * 1024 * 1024;
	cache_init(&app->cache, app->cache_max);
	log_open(&app->conf, NULL, LOG_TO_FILE);
	json_init();
	deliver_global_init(); /* a channel's test delivery */
	if (o->metrics_fd >= 0)
		app->metrics = metrics_map(o->metrics_fd);
	app->routes = route_table(&app->nroutes);
	devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	worker_listen_fd = o->worker_fd;
	proc_signal(SIGTERM, worker_on_term);
	proc_signal(SIGINT, worker_on_term);
	signal(SIGHUP, SIG_IGN);
	(void)app_db_ready(app);
}

/* Makes the listening socket non-blocking and w's --conns slots (the
 * caller's, worker_free()); fatal() on error. */
static void
worker_slots(const struct pool_opts *o, struct worker *w)
{
	int i, fl;

	if (FCGX_Init() != 0)
		fatal(EX_OSERR, "FCGX_Init failed");
	signal(SIGPIPE, SIG_IGN); /* whatever FCGX_Init set */
	fl = fcntl(o->worker_fd, F_GETFL);
	if (fl < 0 || fcntl(o->worker_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		fatal(EX_OSERR, "listening socket: %s", strerror(errno));
	worker_fd_room(o);
	memset(w, 0, sizeof(*w));
	w->conn = calloc((size_t)o->conns, sizeof(*w->conn));
	w->pfd = calloc((size_t)o->conns + 1, sizeof(*w->pfd));
	w->slot = calloc((size_t)o->conns + 1, sizeof(*w->slot));
	if (w->conn == NULL || w->pfd == NULL || w->slot == NULL)
		fatal(EX_OSERR, "out of memory");
	for (i = 0; i < o->conns; i++)
		FCGX_InitRequest(&w->conn[i], o->worker_fd,
		    FCGI_FAIL_ACCEPT_ON_INTR);
}

/* Closes w's connections and frees its slots. */
static void
worker_free(const struct pool_opts *o, struct worker *w)
{
	int i;

	for (i = 0; i < o->conns; i++)
		FCGX_Free(&w->conn[i], 1);
	free(w->conn);
	free(w->pfd);
	free(w->slot);
}

int
worker_main(const struct pool_opts *o)
{
	struct worker w;
	struct app    app;

	worker_start(&app, o);
	worker_slots(o, &w);
	log_info("worker_start", "pid=%d started", (int)getpid());
	while (!got_term && worker_round(&app, o, &w, true) >= 0)
		;
	/*
	 * Stopping: nothing new is accepted, but the kept connections are
	 * served until nginx closes them (its keepalive_timeout when idle,
	 * keepalive_requests when busy; the master's grace period bounds
	 * it).  Closing them here instead would race with nginx sending
	 * the next request on one, which it cannot retry.
	 */
	while (got_term && worker_round(&app, o, &w, false) > 0)
		;
	worker_free(o, &w);
	log_info("worker_stop", "pid=%d requests=%lu connections=%lu stopped",
	    (int)getpid(), w.served, w.accepted);
	log_close();
	cache_free(&app.cache);
	app_free(&app);
	return got_term ? 0 : EX_OSERR;
}
