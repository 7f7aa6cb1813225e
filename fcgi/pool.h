/*
 * pool.h: what main.c hands to the master or to a worker of the pool:
 * the options of the command line, and the two ways to run.
 */
#ifndef PGS_FCGI_POOL_H
#define PGS_FCGI_POOL_H

#include <stdbool.h>
#include <sys/types.h>

#define POOL_MAX_WORKERS 256

/* The command line, parsed by main.c; strings point into argv. */
struct pool_opts {
	int	    workers; /* 0: one per online CPU */
	const char *socket_path;
	mode_t	    socket_mode;
	const char *listen_addr;
	const char *env_file;
	bool	    check_config;
	const char *user;      /* --user: switch to it after binding */
	int	    cache_mb;  /* per worker, 0: no cache */
	int	    conns;     /* FastCGI connections per worker */
	int	    worker_fd; /* internal: run as a worker */
	int	    metrics_fd;
	const char *self_exe; /* this program's file */
};

/* worker.c: serves requests on o->worker_fd until SIGTERM; returns the
 * exit status. */
int worker_main(const struct pool_opts *o);

/* master.c: opens the listening socket (or takes fd 0), starts and keeps
 * o->workers workers until SIGTERM; returns the exit status.  With
 * --check-config, only loads the configuration. */
int master_main(const struct pool_opts *o);

#endif
