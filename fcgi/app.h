/*
 * app.h: the application state of one process of the pool, for its whole
 * life: the configuration, the keys and the pepper, the metadata
 * database connection with its LISTEN for run notifications, and the run
 * cache those notifications keep true.  A worker owns one; the master
 * loads one only to check the configuration and to log.
 */
#ifndef PGS_FCGI_APP_H
#define PGS_FCGI_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "authz.h"
#include "cache.h"
#include "conf.h"
#include "cred.h"
#include "db.h"

struct metrics;
struct route;

/* One process's state; the worker's lives in worker_main() until exit. */
struct app {
	struct conf	    conf;
	struct db	    db;
	time_t		    db_retry_at; /* next reconnect attempt */
	unsigned char	    pepper[AUTH_PEPPER_MAX];
	size_t		    pepperlen;
	struct cred_keys    keys;
	struct metrics	   *metrics; /* shared by the pool, may be NULL */
	unsigned long	    log_dropped_seen; /* added to metrics */
	const struct route *routes; /* the route table, metrics' labels */
	int		    nroutes;
	const char	   *env_file;	  /* --env-file, or NULL */
	char		   *runner_path;  /* pgsched-runner to start */
	char		   *openapi_path; /* openapi.json to serve */
	/* Rendered run responses; served only while cache_live: LISTEN is
	 * active on db and the notify triggers exist. */
	struct cache cache;
	size_t	     cache_max; /* --cache-mb in bytes, 0: off */
	bool	     cache_live;
	/* Identities and permissions; live while LISTEN pgsched_auth is. */
	struct authz authz;
};

/*
 * Loads and checks every setting a worker needs (configuration, keys,
 * pepper) into app, which the caller owns and frees with app_free();
 * self_exe is this program's file, next to which pgsched-runner is
 * found unless PGSCHED_RUNNER_PATH says otherwise.  Does not connect.
 * fatal() on error.
 */
void app_setup(struct app *app, const char *env_file, const char *self_exe);
/* Releases what app_setup() loaded and the database connection. */
void app_free(struct app *app);
/* Returns true when the metadata database is usable (reconnecting at
 * most once a second); first applies the run notifications that arrived
 * to app->cache. */
bool app_db_ready(struct app *app);

#endif
