/*
 * master.c: the master of the pool.  It opens the listening socket
 * (--socket, --listen, or fd 0 when started by spawn-fcgi), switches to
 * --user, makes the metrics mapping the workers share, then fork+execs
 * the workers (this program with --worker-fd), which inherit both.  It
 * restarts a worker that dies (with a back-off when they keep dying),
 * stops on SIGTERM once the workers finished their requests, and
 * replaces every worker on SIGHUP (new binary, new settings).
 */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "coredump.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proc.h"

#define MASTER_STOP_GRACE_S  30 /* then SIGKILL */
#define MASTER_BACKOFF_MAX_S 60
#define MASTER_STABLE_S	     10 /* a worker living this long is fine */
#define MASTER_DRAINING	     (4 * POOL_MAX_WORKERS)

/* A worker's place in the pool. */
struct slot {
	pid_t  pid; /* 0: none running */
	time_t started;
	time_t restart_at;
	int    fails; /* short lives in a row */
};

struct master {
	const struct pool_opts *o;
	int			lfd, mfd, n;
	struct metrics	       *metrics; /* the master's own log drops */
	unsigned long		log_dropped_seen;
	struct slot		slots[POOL_MAX_WORKERS];
	pid_t			draining[MASTER_DRAINING]; /* SIGHUP */
	bool			stopping;
	time_t			deadline;
};

/* Signal state, for the handler. */
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void
master_on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/* Opens the unix socket path with mode; fatal on error. */
static int
master_listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sun;
	struct stat	   st;
	int		   fd;

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
master_listen_tcp(const char *addr)
{
	struct addrinfo hints, *res;
	char	       *host = xstrdup(addr), *port;
	int		fd, on = 1, e;

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

/*
 * Starts one worker: this program again, tied to the master (it gets
 * SIGTERM when the master dies), keeping only the listening socket and
 * the metrics mapping.  Returns its pid, or -1 when fork failed.
 */
static pid_t
master_spawn(const struct master *m)
{
	char	    lbuf[16], mbuf[16], cbuf[16], nbuf[16];
	const char *argv[12];
	const int   keep[2] = { m->lfd, m->mfd };
	pid_t	    pid;
	int	    n = 0;

	snprintf(lbuf, sizeof(lbuf), "%d", m->lfd);
	snprintf(mbuf, sizeof(mbuf), "%d", m->mfd);
	snprintf(cbuf, sizeof(cbuf), "%d", m->o->cache_mb);
	snprintf(nbuf, sizeof(nbuf), "%d", m->o->conns);
	argv[n++] = "pgsched-fcgi";
	argv[n++] = "--worker-fd";
	argv[n++] = lbuf;
	argv[n++] = "--metrics-fd";
	argv[n++] = mbuf;
	argv[n++] = "--cache-mb";
	argv[n++] = cbuf;
	argv[n++] = "--conns";
	argv[n++] = nbuf;
	if (m->o->env_file != NULL) {
		argv[n++] = "--env-file";
		argv[n++] = m->o->env_file;
	}
	argv[n] = NULL;
	pid = proc_fork(SIGTERM);
	if (pid == 0)
		proc_exec(m->o->self_exe, argv, keep, 2);
	return pid;
}

/* Forgets pid among the workers replaced by a SIGHUP. */
static void
master_undrain(struct master *m, pid_t pid)
{
	int i;

	for (i = 0; i < MASTER_DRAINING; i++)
		if (m->draining[i] == pid)
			m->draining[i] = 0;
}

/* Schedules the restart of slot s, whose worker pid ended with status
 * st: at once after a long life, else after a back-off doubling with each
 * short life in a row. */
static void
master_backoff(struct slot *s, pid_t pid, int st, time_t now)
{
	long delay;

	if (now - s->started < MASTER_STABLE_S)
		s->fails++;
	else
		s->fails = 0;
	delay = s->fails == 0 ? 0 : 1L << (s->fails < 7 ? s->fails - 1 : 6);
	if (delay > MASTER_BACKOFF_MAX_S)
		delay = MASTER_BACKOFF_MAX_S;
	s->restart_at = now + delay;
	log_warn("worker_exit",
	    "pid=%d status=%d restart_in=%ld "
	    "worker died",
	    (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
	    delay);
}

/* Reaps dead workers and schedules their restart; returns how many
 * workers (current and draining) are still alive. */
static int
master_reap(struct master *m, time_t now)
{
	int   st, i, live = 0;
	pid_t pid;

	for (pid = proc_reap(&st); pid > 0; pid = proc_reap(&st)) {
		master_undrain(m, pid);
		for (i = 0; i < m->n && m->slots[i].pid != pid; i++)
			;
		if (i == m->n)
			continue;
		m->slots[i].pid = 0;
		if (!m->stopping)
			master_backoff(&m->slots[i], pid, st, now);
	}
	for (i = 0; i < m->n; i++)
		live += m->slots[i].pid > 0;
	for (i = 0; i < MASTER_DRAINING; i++)
		live += m->draining[i] > 0;
	return live;
}

/* Sends sig to every worker, current and draining. */
static void
master_kill(struct master *m, int sig)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].pid > 0)
			kill(m->slots[i].pid, sig);
	for (i = 0; i < MASTER_DRAINING; i++)
		if (m->draining[i] > 0)
			kill(m->draining[i], sig);
}

/* SIGHUP: current workers finish their requests; new ones take over. */
static void
master_replace(struct master *m, time_t now)
{
	int i, j = 0;

	log_info("pool_reload", "workers=%d replacing workers", m->n);
	for (i = 0; i < m->n; i++) {
		if (m->slots[i].pid <= 0)
			continue;
		while (j < MASTER_DRAINING && m->draining[j] > 0)
			j++;
		if (j < MASTER_DRAINING)
			m->draining[j] = m->slots[i].pid;
		kill(m->slots[i].pid, SIGTERM);
		m->slots[i].pid = 0;
		m->slots[i].fails = 0;
		m->slots[i].restart_at = now;
	}
}

/* Starts the workers whose slot is empty and whose restart is due. */
static void
master_start_missing(struct master *m, time_t now)
{
	int i;

	for (i = 0; i < m->n; i++) {
		if (m->slots[i].pid > 0 || m->slots[i].restart_at > now)
			continue;
		m->slots[i].pid = master_spawn(m);
		m->slots[i].started = now;
		if (m->slots[i].pid < 0) {
			log_err("worker_spawn", "fork failed: %s",
			    strerror(errno));
			m->slots[i].pid = 0;
			m->slots[i].restart_at = now + 1;
		}
	}
}

/* The master loop; returns at the end of a graceful stop. */
static void
master_run(struct master *m)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	time_t		now;
	int		live;

	for (;;) {
		now = time(NULL);
		live = master_reap(m, now);
		if (got_term && !m->stopping) {
			m->stopping = true;
			m->deadline = now + MASTER_STOP_GRACE_S;
			log_info("pool_stop", "live=%d stopping", live);
			master_kill(m, SIGTERM);
		}
		if (m->stopping && live == 0)
			return;
		if (m->stopping && now >= m->deadline)
			master_kill(m, SIGKILL);
		if (got_hup && !m->stopping) {
			got_hup = 0;
			master_replace(m, now);
		}
		if (!m->stopping)
			master_start_missing(m, now);
		metrics_sync_log(m->metrics, &m->log_dropped_seen);
		nanosleep(&tick, NULL);
	}
}

/*
 * --user: once the socket is bound (which may need root), become that user
 * for good, with its groups; the socket file is handed over so the pool
 * can remove it at stop.
 */
static void
master_drop_privileges(const char *user, const char *socket_path)
{
	struct passwd *pw;

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

/* Opens the listening socket of o (fd 0 without --socket or --listen:
 * main.c checked it is a socket); fatal on error. */
static int
master_listen(const struct pool_opts *o)
{
	if (o->socket_path != NULL)
		return master_listen_unix(o->socket_path, o->socket_mode);
	if (o->listen_addr != NULL)
		return master_listen_tcp(o->listen_addr);
	return 0;
}

/* Sets m up: the number of workers, the socket, the user, the log and
 * the metrics mapping; fatal on error. */
static void
master_start(struct master *m, const struct pool_opts *o, struct app *app)
{
	long ncpu;

	memset(m, 0, sizeof(*m));
	m->o = o;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	m->n = o->workers > 0 ? o->workers : ncpu > 0 ? (int)ncpu : 2;
	if (m->n > POOL_MAX_WORKERS)
		m->n = POOL_MAX_WORKERS;
	m->lfd = master_listen(o);
	master_drop_privileges(o->user, o->socket_path);
	coredump_set(app->conf.allow_core_dumps); /* setuid reset it */
	/* Log files are created by the user that will keep writing them. */
	log_open(&app->conf, NULL, LOG_TO_FILE | LOG_TO_STDERR);
	m->mfd = memfd_create("pgsched-metrics", 0);
	if (m->mfd < 0 || ftruncate(m->mfd, (off_t)metrics_size()) != 0)
		fatal(EX_OSERR, "memfd: %s", strerror(errno));
	m->metrics = metrics_map(m->mfd);
	if (m->metrics == NULL)
		fatal(EX_OSERR, "memfd: %s", strerror(errno));
}

int
master_main(const struct pool_opts *o)
{
	static struct master m;
	struct app	     app;

	app_setup(&app, o->env_file, o->self_exe);
	if (o->check_config) {
		printf("configuration OK\n");
		app_free(&app);
		return 0;
	}
	master_start(&m, o, &app);
	proc_signal(SIGTERM, master_on_signal);
	proc_signal(SIGINT, master_on_signal);
	proc_signal(SIGHUP, master_on_signal);
	signal(SIGPIPE, SIG_IGN);
	log_info("pool_start", "workers=%d pid=%d started", m.n, (int)getpid());
	master_run(&m);
	if (o->socket_path != NULL)
		unlink(o->socket_path);
	log_info("pool_stop", "stopped");
	log_close();
	app_free(&app);
	return 0;
}
