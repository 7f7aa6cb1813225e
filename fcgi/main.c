/*
 * main.c: pgsched-fcgi, the HTTP API as a pre-forked FastCGI pool.
 *
 * The master opens the listening socket (--socket, --listen, or fd 0 when
 * started by spawn-fcgi), then fork+execs N workers that inherit it and
 * accept on it.  It restarts a worker that dies (with a back-off when they
 * keep dying), stops on SIGTERM after the workers finished their requests,
 * and replaces every worker on SIGHUP (new binary, new settings).  Each
 * worker holds one connection to the metadata database.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "api.h"
#include "coredump.h"
#include "log.h"
#include "secret.h"

#ifndef PGSCHED_DATADIR
#define PGSCHED_DATADIR	"."
#endif

#define POOL_MAX_WORKERS	256
#define POOL_STOP_GRACE_S	30	/* then SIGKILL */
#define POOL_BACKOFF_MAX_S	60
#define POOL_STABLE_S		10	/* a worker living this long is fine */
#define POOL_CACHE_MB		64	/* --cache-mb default */
#define POOL_CACHE_MB_MAX	65536
#define POOL_CONNS		128	/* --conns default */
#define POOL_CONNS_MAX		1024

struct opts {
	int		 workers;
	const char	*socket_path;
	mode_t		 socket_mode;
	const char	*listen_addr;
	const char	*env_file;
	bool		 check_config;
	const char	*user;		/* --user: switch to it after binding */
	int		 cache_mb;	/* per worker, 0: no cache */
	int		 conns;		/* FastCGI connections per worker */
	int		 worker_fd;	/* internal: run as a worker */
	int		 metrics_fd;
};

struct slot {
	pid_t		 pid;
	time_t		 started;
	time_t		 restart_at;
	int		 fails;
};

static volatile sig_atomic_t	 got_term;
static volatile sig_atomic_t	 got_hup;
static int			 worker_listen_fd = -1;
static int			 devnull_fd = -1;
static char			 self_exe[PATH_MAX];

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: pgsched-fcgi [--workers N] [--socket PATH "
	    "[--socket-mode MODE] | --listen HOST:PORT]\n"
	    "                    [--cache-mb N] [--conns N] [--user NAME]\n"
	    "                    [--env-file PATH] [--check-config]\n"
	    "--user NAME: after binding the socket, run as NAME (root "
	    "only).\n"
	    "--cache-mb N: each worker keeps up to N MiB of finished runs' "
	    "answers\n(default %d, 0: none).\n"
	    "--conns N: each worker serves up to N kept FastCGI connections "
	    "(default %d);\nkeep nginx's workers x keepalive below the "
	    "pool's workers x N.\n", POOL_CACHE_MB, POOL_CONNS);
	fprintf(fp, ""
	    "Without --socket or --listen the FastCGI socket is fd 0 "
	    "(spawn-fcgi).\n");
}

static int
parse_int(const char *s, int min, int max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		fatal(EX_USAGE, "%s: bad value '%s' (%d..%d)", what, s, min,
		    max);
	return (int)v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int	 i;

	memset(o, 0, sizeof(*o));
	o->socket_mode = 0660;
	o->cache_mb = POOL_CACHE_MB;
	o->conns = POOL_CONNS;
	o->worker_fd = -1;
	o->metrics_fd = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--check-config") == 0) {
			o->check_config = true;
			continue;
		}
		if (v == NULL) {
			usage(stderr);
			fatal(EX_USAGE, "%s: missing value or unknown option",
			    a);
		}
		i++;
		if (strcmp(a, "--workers") == 0)
			o->workers = parse_int(v, 1, POOL_MAX_WORKERS,
			    "--workers");
		else if (strcmp(a, "--socket") == 0)
			o->socket_path = v;
		else if (strcmp(a, "--socket-mode") == 0)
			o->socket_mode = (mode_t)parse_int(v, 0, 0777,
			    "--socket-mode");
		else if (strcmp(a, "--listen") == 0)
			o->listen_addr = v;
		else if (strcmp(a, "--env-file") == 0)
			o->env_file = v;
		else if (strcmp(a, "--user") == 0)
			o->user = v;
		else if (strcmp(a, "--cache-mb") == 0)
			o->cache_mb = parse_int(v, 0, POOL_CACHE_MB_MAX, a);
		else if (strcmp(a, "--conns") == 0)
			o->conns = parse_int(v, 1, POOL_CONNS_MAX, a);
		else if (strcmp(a, "--worker-fd") == 0)
			o->worker_fd = parse_int(v, 0, 65535, a);
		else if (strcmp(a, "--metrics-fd") == 0)
			o->metrics_fd = parse_int(v, 0, 65535, a);
		else {
			usage(stderr);
			fatal(EX_USAGE, "unknown option '%s'", a);
		}
	}
	if (o->socket_path != NULL && o->listen_addr != NULL)
		fatal(EX_USAGE, "--socket and --listen exclude each other");
}

/* Loads and checks every setting the workers need; fatal on error. */
static void
app_setup(struct app *app, const char *env_file)
{
	char		 err[512];
	const char	*s, *dir;
	size_t		 n;

	memset(app, 0, sizeof(*app));
	app->env_file = env_file;
	if (conf_load(&app->conf, env_file, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	coredump_set(app->conf.allow_core_dumps);
	if (conf_require(&app->conf, "PG_DSN_APP", err, sizeof(err)) !=
	    PGS_OK || conf_require(&app->conf, "ARGON2_SECRET_KEY_B64", err,
	    sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	if (secret_init() != PGS_OK)
		fatal(EX_SOFTWARE, "libsodium cannot be initialised");
	if (auth_pepper_decode(app->conf.argon2_secret_b64, app->pepper,
	    &app->pepperlen, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	if (cred_load(&app->conf, true, &app->keys, err, sizeof(err)) !=
	    PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	s = getenv("PGSCHED_RUNNER_PATH");
	if (s != NULL && *s != '\0')
		app->runner_path = xstrdup(s);
	else {
		/* Next to this binary: bin_PROGRAMS share a directory. */
		dir = strrchr(self_exe, '/');
		n = dir != NULL ? (size_t)(dir - self_exe) : 1;
		app->runner_path = xmalloc(n + sizeof("/pgsched-runner"));
		snprintf(app->runner_path, n + sizeof("/pgsched-runner"),
		    "%.*s/pgsched-runner", (int)n, dir != NULL ? self_exe :
		    ".");
	}
	s = getenv("PGSCHED_OPENAPI_PATH");
	app->openapi_path = xstrdup(s != NULL && *s != '\0' ? s :
	    PGSCHED_DATADIR "/openapi.json");
}

/* Releases what app_setup() loaded. */
static void
app_free(struct app *app)
{
	db_close(&app->db);
	cred_free(&app->keys);
	sodium_memzero(app->pepper, sizeof(app->pepper));
	conf_free(&app->conf);
	free(app->runner_path);
	free(app->openapi_path);
}

/*
 * Starts listening for run notifications on a new connection; the cache
 * is served only when that works and the triggers that send them
 * (sql/0003-notify.sql) exist, else stale answers could be served.
 */
static void
app_listen(struct app *app)
{
	struct arena	 a;
	PGresult	*res;
	enum pgs_rc	 rc;

	cache_clear(&app->cache);
	app->cache_live = false;
	if (app->cache_max == 0)
		return;
	arena_init(&a);
	rc = db_query(&app->db, &a, "SELECT count(*) FROM pg_trigger"
	    " WHERE tgname IN ('query_run_notify', 'query_run_blob_notify')"
	    " AND NOT tgisinternal", 0, NULL, &res);
	if (rc == PGS_OK && db_long(res, 0, 0) != 2) {
		log_warn("cache", "the run notification triggers are missing "
		    "(pgsched-admin db migrate): answers are not cached");
		rc = PGS_NOTFOUND;
	}
	if (rc == PGS_OK)
		rc = db_cmd(&app->db, &a, "LISTEN pgsched_run", 0, NULL);
	app->cache_live = rc == PGS_OK;
	arena_free(&a);
}

/*
 * Applies the notifications that arrived (without blocking): each names a
 * query whose cached answers go.  Returns false when the connection broke.
 * A worker that serves nothing for a while reads its backlog here at its
 * next request; meanwhile PostgreSQL keeps it (socket buffer, then its
 * notification queue).
 */
static bool
app_drain(struct app *app)
{
	PGnotify	*n;

	if (!app->cache_live)
		return true;
	if (PQconsumeInput(app->db.conn) == 0)
		return false;
	for (n = PQnotifies(app->db.conn); n != NULL;
	    n = PQnotifies(app->db.conn)) {
		(void)cache_drop_query(&app->cache, strtol(n->extra, NULL, 10));
		PQfreemem(n);
	}
	return true;
}

bool
app_db_ready(struct app *app)
{
	time_t		 now;
	enum pgs_rc	 rc;

	if (app->db.conn != NULL && PQstatus(app->db.conn) == CONNECTION_OK &&
	    app_drain(app) && PQstatus(app->db.conn) == CONNECTION_OK)
		return true;
	/* Notifications may be lost with the connection: forget it all. */
	cache_clear(&app->cache);
	app->cache_live = false;
	now = time(NULL);
	if (now < app->db_retry_at)
		return false;
	app->db_retry_at = now + 1;
	db_close(&app->db);
	rc = db_connect(&app->db, app->conf.pg_dsn_app,
	    app->conf.db_connect_timeout_s, "pgsched-fcgi");
	if (rc != PGS_OK) {
		log_warn("db_connect", "rc=%s %s", rc_name(rc),
		    db_error(&app->db));
		return false;
	}
	app->db.default_interval_s = app->conf.default_query_interval;
	app_listen(app);
	log_info("db_connect", "cache=%s connected",
	    app->cache_live ? "on" : "off");
	return true;
}

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

static void
set_handler(int sig, void (*fn)(int))
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: accept() must return */
	sigaction(sig, &sa, NULL);
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
	char	 c, rest[8192];
	ssize_t	 n;

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
worker_serve(struct app *app, FCGX_Request *c, unsigned long *conns)
{
	static time_t	 warned;
	struct timespec	 pause = { 0, 10 * 1000 * 1000 };
	bool		 fresh = c->ipcFd < 0;
	int		 rc;

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
		(*conns)++;
	route_serve(app, c);
	worker_finish(c);
	return true;
}

/*
 * Polls the open connections of conn (and, with listen, the listening
 * socket when a slot is free) for timeout ms; pfd[k] is conn[slot[k]]'s
 * (the listening socket's for the free slot).  Returns the number of
 * pfd entries filled: 0 when there is nothing to wait on, or after a
 * signal; -1 when poll failed for good.
 */
static int
worker_wait(const struct opts *o, FCGX_Request *conn, struct pollfd *pfd,
    int *slot, bool listen, int timeout)
{
	int	 i, n = 0, free_slot = -1;

	for (i = 0; i < o->conns; i++) {
		if (conn[i].ipcFd < 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		pfd[n].fd = conn[i].ipcFd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		slot[n++] = i;
	}
	if (listen && free_slot >= 0) {
		pfd[n].fd = o->worker_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		slot[n++] = free_slot;
	}
	if (n == 0)
		return 0;
	if (poll(pfd, (nfds_t)n, timeout) < 0) {
		if (errno == EINTR)
			return 0;
		log_err("poll", "poll failed: %s", strerror(errno));
		return -1;
	}
	return n;
}

/* Raises the descriptor limit to fit --conns connections and some more. */
static void
worker_fd_room(const struct opts *o)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)o->conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("conns", "--conns %d: only %lu descriptors allowed; "
		    "connections beyond that wait", o->conns,
		    (unsigned long)rl.rlim_cur);
}

/*
 * A worker: serve until SIGTERM, one request at a time, from up to
 * --conns FastCGI connections.  nginx keeps connections open
 * (fastcgi_keep_conn on) and sends the next request on any idle one, so
 * the worker polls all of its connections and the listening socket
 * (non-blocking, shared by the pool: whoever accepts first serves).
 * While every slot is taken the worker accepts nothing more; nginx
 * closes the connections beyond its keepalive cache, which frees slots,
 * as long as that cache is smaller than the pool's slots.
 */
static int
worker_main(const struct opts *o)
{
	FCGX_Request		*conn;
	struct pollfd		*pfd;
	int			*slot;
	struct app		 app;
	unsigned long		 served = 0, conns = 0;
	int			 i, n, k, fl;

	app_setup(&app, o->env_file);
	app.cache_max = (size_t)o->cache_mb * 1024 * 1024;
	cache_init(&app.cache, app.cache_max);
	log_open(&app.conf, NULL, LOG_TO_FILE);
	json_init();
	if (o->metrics_fd >= 0)
		app.metrics = metrics_map(o->metrics_fd);
	devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	worker_listen_fd = o->worker_fd;
	set_handler(SIGTERM, worker_on_term);
	set_handler(SIGINT, worker_on_term);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	(void)app_db_ready(&app);
	if (FCGX_Init() != 0)
		fatal(EX_OSERR, "FCGX_Init failed");
	signal(SIGPIPE, SIG_IGN);
	fl = fcntl(o->worker_fd, F_GETFL);
	if (fl < 0 || fcntl(o->worker_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		fatal(EX_OSERR, "listening socket: %s", strerror(errno));
	worker_fd_room(o);
	conn = calloc((size_t)o->conns, sizeof(*conn));
	pfd = calloc((size_t)o->conns + 1, sizeof(*pfd));
	slot = calloc((size_t)o->conns + 1, sizeof(*slot));
	if (conn == NULL || pfd == NULL || slot == NULL)
		fatal(EX_OSERR, "out of memory");
	for (i = 0; i < o->conns; i++)
		FCGX_InitRequest(&conn[i], o->worker_fd,
		    FCGI_FAIL_ACCEPT_ON_INTR);
	log_info("worker_start", "pid=%d started", (int)getpid());
	while (!got_term) {
		n = worker_wait(o, conn, pfd, slot, true, -1);
		if (n < 0)
			break;
		for (k = 0; k < n && !got_term; k++)
			if (pfd[k].revents != 0 &&
			    worker_serve(&app, &conn[slot[k]], &conns))
				served++;
	}
	/*
	 * Stopping: nothing new is accepted, but the kept connections are
	 * served until nginx closes them (its keepalive_timeout when idle,
	 * keepalive_requests when busy; the master's grace period bounds
	 * it).  Closing them here instead would race with nginx sending
	 * the next request on one, which it cannot retry.
	 */
	while (got_term &&
	    (n = worker_wait(o, conn, pfd, slot, false, -1)) > 0)
		for (k = 0; k < n; k++)
			if (pfd[k].revents != 0 &&
			    worker_serve(&app, &conn[slot[k]], &conns))
				served++;
	for (i = 0; i < o->conns; i++)
		FCGX_Free(&conn[i], 1);
	free(conn);
	free(pfd);
	free(slot);
	log_info("worker_stop", "pid=%d requests=%lu connections=%lu stopped",
	    (int)getpid(), served, conns);
	log_close();
	cache_free(&app.cache);
	app_free(&app);
	return got_term ? 0 : EX_OSERR;
}

/* Opens the unix socket path with mode; fatal on error. */
static int
listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatal(EX_USAGE, "--socket: path too long");
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		fatal(EX_OSERR, "socket: %s", strerror(errno));
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		/* A stale socket goes; a live one is someone else's. */
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			fatal(EX_UNAVAILABLE, "%s: in use by another process",
			    path);
		unlink(path);
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		fatal(EX_OSERR, "bind %s: %s", path, strerror(errno));
	if (chmod(path, mode) != 0 || listen(fd, 1024) != 0)
		fatal(EX_OSERR, "listen %s: %s", path, strerror(errno));
	return fd;
}

/* Opens host:port for TCP; fatal on error. */
static int
listen_tcp(const char *addr)
{
	struct addrinfo	 hints, *res;
	char		*host = xstrdup(addr), *port;
	int		 fd, on = 1, e;

	port = strrchr(host, ':');
	if (port == NULL)
		fatal(EX_USAGE, "--listen: expected HOST:PORT");
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	e = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (e != 0)
		fatal(EX_USAGE, "--listen %s: %s", addr, gai_strerror(e));
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		fatal(EX_OSERR, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 1024) != 0)
		fatal(EX_OSERR, "listen %s: %s", addr, strerror(errno));
	freeaddrinfo(res);
	free(host);
	return fd;
}

/* Returns true when fd 0 is a listening socket (spawn-fcgi). */
static bool
stdin_is_socket(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	return getsockname(0, (struct sockaddr *)&ss, &len) == 0;
}

/* Fork+execs one worker; returns its pid (or -1). */
static pid_t
pool_spawn(const struct opts *o, int lfd, int mfd)
{
	char		 lbuf[16], mbuf[16], cbuf[16], nbuf[16];
	const char	*argv[12];
	sigset_t	 none;
	pid_t		 pid;
	int		 n = 0;

	snprintf(lbuf, sizeof(lbuf), "%d", lfd);
	snprintf(mbuf, sizeof(mbuf), "%d", mfd);
	snprintf(cbuf, sizeof(cbuf), "%d", o->cache_mb);
	argv[n++] = "pgsched-fcgi";
	argv[n++] = "--worker-fd";
	argv[n++] = lbuf;
	argv[n++] = "--metrics-fd";
	argv[n++] = mbuf;
	argv[n++] = "--cache-mb";
	argv[n++] = cbuf;
	snprintf(nbuf, sizeof(nbuf), "%d", o->conns);
	argv[n++] = "--conns";
	argv[n++] = nbuf;
	if (o->env_file != NULL) {
		argv[n++] = "--env-file";
		argv[n++] = o->env_file;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(self_exe, (char *const *)argv);
	_exit(EX_OSERR);
}

static void
master_on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

struct pool {
	const struct opts	*o;
	int			 lfd, mfd, n;
	struct metrics		*metrics;	/* the master's own log drops */
	unsigned long		 log_dropped_seen;
	struct slot		 slots[POOL_MAX_WORKERS];
	pid_t			 draining[4 * POOL_MAX_WORKERS];
	bool			 stopping;
	time_t			 deadline;
};

/* Reaps dead workers and schedules their restart with a back-off. */
static int
pool_reap(struct pool *p, time_t now)
{
	int	 st, i, live = 0;
	pid_t	 pid;
	long	 delay;

	for (pid = waitpid(-1, &st, WNOHANG); pid > 0;
	    pid = waitpid(-1, &st, WNOHANG)) {
		for (i = 0; i < (int)(sizeof(p->draining) / sizeof(pid_t)); i++)
			if (p->draining[i] == pid)
				p->draining[i] = 0;
		for (i = 0; i < p->n && p->slots[i].pid != pid; i++)
			;
		if (i == p->n)
			continue;
		p->slots[i].pid = 0;
		if (p->stopping)
			continue;
		if (now - p->slots[i].started < POOL_STABLE_S)
			p->slots[i].fails++;
		else
			p->slots[i].fails = 0;
		delay = p->slots[i].fails == 0 ? 0 :
		    1L << (p->slots[i].fails < 7 ? p->slots[i].fails - 1 : 6);
		if (delay > POOL_BACKOFF_MAX_S)
			delay = POOL_BACKOFF_MAX_S;
		p->slots[i].restart_at = now + delay;
		log_warn("worker_exit", "pid=%d status=%d restart_in=%ld "
		    "worker died", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) :
		    128 + WTERMSIG(st), delay);
	}
	for (i = 0; i < p->n; i++)
		live += p->slots[i].pid > 0;
	for (i = 0; i < (int)(sizeof(p->draining) / sizeof(pid_t)); i++)
		live += p->draining[i] > 0;
	return live;
}

/* Sends sig to every worker, current and draining. */
static void
pool_kill(struct pool *p, int sig)
{
	int	 i;

	for (i = 0; i < p->n; i++)
		if (p->slots[i].pid > 0)
			kill(p->slots[i].pid, sig);
	for (i = 0; i < (int)(sizeof(p->draining) / sizeof(pid_t)); i++)
		if (p->draining[i] > 0)
			kill(p->draining[i], sig);
}

/* SIGHUP: current workers finish their requests; new ones take over. */
static void
pool_replace(struct pool *p, time_t now)
{
	int	 i, j = 0;

	log_info("pool_reload", "workers=%d replacing workers", p->n);
	for (i = 0; i < p->n; i++) {
		if (p->slots[i].pid <= 0)
			continue;
		while (j < (int)(sizeof(p->draining) / sizeof(pid_t)) &&
		    p->draining[j] > 0)
			j++;
		if (j < (int)(sizeof(p->draining) / sizeof(pid_t)))
			p->draining[j] = p->slots[i].pid;
		kill(p->slots[i].pid, SIGTERM);
		p->slots[i].pid = 0;
		p->slots[i].fails = 0;
		p->slots[i].restart_at = now;
	}
}

static void
pool_start_missing(struct pool *p, time_t now)
{
	int	 i;

	for (i = 0; i < p->n; i++) {
		if (p->slots[i].pid > 0 || p->slots[i].restart_at > now)
			continue;
		p->slots[i].pid = pool_spawn(p->o, p->lfd, p->mfd);
		p->slots[i].started = now;
		if (p->slots[i].pid < 0) {
			log_err("worker_spawn", "fork failed: %s",
			    strerror(errno));
			p->slots[i].pid = 0;
			p->slots[i].restart_at = now + 1;
		}
	}
}

/* The master loop; returns at the end of a graceful stop. */
static void
pool_run(struct pool *p)
{
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };
	time_t		 now;
	int		 live;

	for (;;) {
		now = time(NULL);
		live = pool_reap(p, now);
		if (got_term && !p->stopping) {
			p->stopping = true;
			p->deadline = now + POOL_STOP_GRACE_S;
			log_info("pool_stop", "live=%d stopping", live);
			pool_kill(p, SIGTERM);
		}
		if (p->stopping && live == 0)
			return;
		if (p->stopping && now >= p->deadline)
			pool_kill(p, SIGKILL);
		if (got_hup && !p->stopping) {
			got_hup = 0;
			pool_replace(p, now);
		}
		if (!p->stopping)
			pool_start_missing(p, now);
		metrics_sync_log(p->metrics, &p->log_dropped_seen);
		nanosleep(&tick, NULL);
	}
}

/*
 * --user: once the socket is bound (which may need root), become that user
 * for good, with its groups; the socket file is handed over so the pool
 * can remove it at stop.
 */
static void
drop_privileges(const char *user, const char *socket_path)
{
	struct passwd	*pw;

	if (user == NULL)
		return;
	pw = getpwnam(user);
	if (pw == NULL)
		fatal(EX_NOUSER, "--user: no user '%s'", user);
	if (getuid() != 0) {
		if (getuid() == pw->pw_uid)
			return;
		fatal(EX_NOPERM, "--user %s: only root can switch users", user);
	}
	if (socket_path != NULL && chown(socket_path, pw->pw_uid, (gid_t)-1))
		fatal(EX_OSERR, "--user %s: chown %s: %s", user, socket_path,
		    strerror(errno));
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		fatal(EX_OSERR, "--user %s: %s", user, strerror(errno));
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatal(EX_SOFTWARE, "--user %s: root could be regained", user);
}

/* The master: socket, shared metrics, workers. */
static int
master_main(const struct opts *o)
{
	static struct pool	 p;
	struct app		 app;
	long			 ncpu;

	app_setup(&app, o->env_file);
	if (o->check_config) {
		printf("configuration OK\n");
		app_free(&app);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	p.o = o;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	p.n = o->workers > 0 ? o->workers : ncpu > 0 ? (int)ncpu : 2;
	if (p.n > POOL_MAX_WORKERS)
		p.n = POOL_MAX_WORKERS;
	if (o->socket_path != NULL)
		p.lfd = listen_unix(o->socket_path, o->socket_mode);
	else if (o->listen_addr != NULL)
		p.lfd = listen_tcp(o->listen_addr);
	else if (stdin_is_socket())
		p.lfd = 0;
	else {
		usage(stderr);
		fatal(EX_USAGE, "no --socket or --listen, and fd 0 is not a "
		    "socket");
	}
	drop_privileges(o->user, o->socket_path);
	coredump_set(app.conf.allow_core_dumps);	/* setuid reset it */
	/* Log files are created by the user that will keep writing them. */
	log_open(&app.conf, NULL, LOG_TO_FILE | LOG_TO_STDERR);
	p.mfd = memfd_create("pgsched-metrics", 0);
	if (p.mfd < 0 || ftruncate(p.mfd, (off_t)metrics_size()) != 0 ||
	    (p.metrics = metrics_map(p.mfd)) == NULL)
		fatal(EX_OSERR, "memfd: %s", strerror(errno));
	set_handler(SIGTERM, master_on_signal);
	set_handler(SIGINT, master_on_signal);
	set_handler(SIGHUP, master_on_signal);
	signal(SIGPIPE, SIG_IGN);
	log_info("pool_start", "workers=%d pid=%d started", p.n,
	    (int)getpid());
	pool_run(&p);
	if (o->socket_path != NULL)
		unlink(o->socket_path);
	log_info("pool_stop", "stopped");
	log_close();
	app_free(&app);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts	 o;
	ssize_t		 n;

	coredump_set(false);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		fatal(EX_OSERR, "cannot find my own executable");
	self_exe[n] = '\0';
	parse_opts(argc, argv, &o);
	if (o.worker_fd >= 0)
		return worker_main(&o);
	return master_main(&o);
}
