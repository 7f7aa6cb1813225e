/*
 * main.c: pgsched-fcgi, the HTTP API as a pre-forked FastCGI pool.
 *
 * The master (master.c) opens the listening socket (--socket, --listen,
 * or fd 0 when started by spawn-fcgi), then fork+execs N workers
 * (worker.c) that inherit it and accept on it.  It restarts a worker that
 * dies (with a back-off when they keep dying), stops on SIGTERM after the
 * workers finished their requests, and replaces every worker on SIGHUP
 * (new binary, new settings).  Each worker holds its application state
 * (app.c): the settings and one connection to the metadata database.
 * This file only reads the command line and starts one of the two.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "coredump.h"
#include "log.h"
#include "num.h"
#include "pool.h"

#define MAIN_CACHE_MB	  64 /* --cache-mb default */
#define MAIN_CACHE_MB_MAX 65536
#define MAIN_CONNS	  128 /* --conns default */
#define MAIN_CONNS_MAX	  1024

static void
main_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: pgsched-fcgi [--workers N] [--socket PATH "
	    "[--socket-mode MODE] | --listen HOST:PORT]\n"
	    "                    [--cache-mb N] [--conns N] [--user NAME]\n"
	    "                    [--env-file PATH] [--check-config]\n"
	    "--user NAME: after binding the socket, run as NAME (root "
	    "only).\n"
	    "--cache-mb N: each worker keeps up to N MiB of finished runs' "
	    "answers\n(default %d, 0: none).\n"
	    "--conns N: each worker serves up to N kept FastCGI connections "
	    "(default %d);\nkeep nginx's workers x keepalive below the "
	    "pool's workers x N.\n",
	    MAIN_CACHE_MB, MAIN_CONNS);
	fprintf(fp,
	    ""
	    "Without --socket or --listen the FastCGI socket is fd 0 "
	    "(spawn-fcgi).\n");
}

/* Returns the decimal value s of option what, within min..max; fatal()
 * when it is not one. */
static int
main_int(const char *s, int min, int max, const char *what)
{
	long v;

	if (!num_parse(s, min, max, &v))
		fatal(EX_USAGE, "%s: bad value '%s' (%d..%d)", what, s, min,
		    max);
	return (int)v;
}

/* Returns the --socket-mode value s, in C notation (octal with its
 * leading zero); fatal() when it is not a mode. */
static mode_t
main_mode(const char *s)
{
	long v;

	if (!num_parse_c(s, 0, 0777, &v))
		fatal(EX_USAGE,
		    "--socket-mode: bad value '%s' (0..0777; octal "
		    "needs its leading zero)",
		    s);
	return (mode_t)v;
}

/* Stores option a's value v in o; false when a takes no value. */
static bool
main_value(struct pool_opts *o, const char *a, const char *v)
{
	if (strcmp(a, "--workers") == 0)
		o->workers = main_int(v, 1, POOL_MAX_WORKERS, a);
	else if (strcmp(a, "--socket") == 0)
		o->socket_path = v;
	else if (strcmp(a, "--socket-mode") == 0)
		o->socket_mode = main_mode(v);
	else if (strcmp(a, "--listen") == 0)
		o->listen_addr = v;
	else if (strcmp(a, "--env-file") == 0)
		o->env_file = v;
	else if (strcmp(a, "--user") == 0)
		o->user = v;
	else if (strcmp(a, "--cache-mb") == 0)
		o->cache_mb = main_int(v, 0, MAIN_CACHE_MB_MAX, a);
	else if (strcmp(a, "--conns") == 0)
		o->conns = main_int(v, 1, MAIN_CONNS_MAX, a);
	else if (strcmp(a, "--worker-fd") == 0)
		o->worker_fd = main_int(v, 0, 65535, a);
	else if (strcmp(a, "--metrics-fd") == 0)
		o->metrics_fd = main_int(v, 0, 65535, a);
	else
		return false;
	return true;
}

/* Returns true when fd 0 is a socket (spawn-fcgi's listening one). */
static bool
main_stdin_is_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);

	return getsockname(0, (struct sockaddr *)&ss, &len) == 0;
}

/* Parses the command line into o; exits on --help and on a bad option. */
static void
main_opts(int argc, char **argv, struct pool_opts *o)
{
	int i;

	o->socket_mode = 0660;
	o->cache_mb = MAIN_CACHE_MB;
	o->conns = MAIN_CONNS;
	o->worker_fd = -1;
	o->metrics_fd = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			main_usage(stdout);
			exit(0);
		} else if (strcmp(a, "--check-config") == 0) {
			o->check_config = true;
			continue;
		}
		if (v == NULL) {
			main_usage(stderr);
			fatal(EX_USAGE, "%s: missing value or unknown option",
			    a);
		}
		i++;
		if (!main_value(o, a, v)) {
			main_usage(stderr);
			fatal(EX_USAGE, "unknown option '%s'", a);
		}
	}
	if (o->socket_path != NULL && o->listen_addr != NULL)
		fatal(EX_USAGE, "--socket and --listen exclude each other");
	if (o->worker_fd < 0 && !o->check_config && o->socket_path == NULL &&
	    o->listen_addr == NULL && !main_stdin_is_socket()) {
		main_usage(stderr);
		fatal(EX_USAGE,
		    "no --socket or --listen, and fd 0 is not a "
		    "socket");
	}
}

int
main(int argc, char **argv)
{
	static char	 self_exe[PATH_MAX];
	struct pool_opts o;
	ssize_t		 n;

	coredump_set(false);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		fatal(EX_OSERR, "cannot find my own executable");
	self_exe[n] = '\0';
	memset(&o, 0, sizeof(o));
	o.self_exe = self_exe;
	main_opts(argc, argv, &o);
	if (o.worker_fd >= 0)
		return worker_main(&o);
	return master_main(&o);
}
