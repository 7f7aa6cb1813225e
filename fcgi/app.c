/*
 * app.c: the application state of a process of the pool (app.h): the
 * settings it loads once, and the metadata connection it keeps, with the
 * LISTEN that tells the run cache what changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "app.h"
#include "arena.h"
#include "coredump.h"
#include "log.h"
#include "secret.h"

#ifndef PGSCHED_DATADIR
#define PGSCHED_DATADIR "."
#endif

/* Returns pgsched-runner's path (the caller's, free()): the
 * PGSCHED_RUNNER_PATH setting, else next to self_exe. */
static char *
app_runner_path(const char *self_exe)
{
	const char *s, *dir;
	char	   *path;
	size_t	    n;

	s = getenv("PGSCHED_RUNNER_PATH");
	if (s != NULL && *s != '\0')
		return xstrdup(s);
	/* bin_PROGRAMS share a directory. */
	dir = strrchr(self_exe, '/');
	n = dir != NULL ? (size_t)(dir - self_exe) : 1;
	path = xmalloc(n + sizeof("/pgsched-runner"));
	snprintf(path, n + sizeof("/pgsched-runner"), "%.*s/pgsched-runner",
	    (int)n, dir != NULL ? self_exe : ".");
	return path;
}

void
app_setup(struct app *app, const char *env_file, const char *self_exe)
{
	char	    err[512];
	const char *s;

	memset(app, 0, sizeof(*app));
	app->env_file = env_file;
	if (conf_load(&app->conf, env_file, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	coredump_set(app->conf.allow_core_dumps);
	if (conf_require(&app->conf, "PG_DSN_APP", err, sizeof(err)) !=
		PGS_OK ||
	    conf_require(&app->conf, "ARGON2_SECRET_KEY_B64", err,
		sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	if (secret_init() != PGS_OK)
		fatal(EX_SOFTWARE, "libsodium cannot be initialised");
	if (auth_pepper_decode(app->conf.argon2_secret_b64, app->pepper,
		&app->pepperlen, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	if (cred_load(&app->conf, true, &app->keys, err, sizeof(err)) != PGS_OK)
		fatal(EX_CONFIG, "%s", err);
	app->runner_path = app_runner_path(self_exe);
	s = getenv("PGSCHED_OPENAPI_PATH");
	app->openapi_path = xstrdup(
	    s != NULL && *s != '\0' ? s : PGSCHED_DATADIR "/openapi.json");
}

void
app_free(struct app *app)
{
	authz_clear(&app->authz);
	db_close(&app->db);
	cred_free(&app->keys);
	sodium_memzero(app->pepper, sizeof(app->pepper));
	conf_free(&app->conf);
	free(app->runner_path);
	free(app->openapi_path);
}

/*
 * Starts listening for the notifications of the identity and permission
 * cache (sql/0005-read-access.sql): the cache is used only when that
 * works and the triggers that send them exist, else a revocation could
 * go unseen; without them every request asks the database.
 */
static void
app_listen_auth(struct app *app, struct arena *a)
{
	PGresult   *res;
	enum pgs_rc rc;

	authz_clear(&app->authz);
	app->authz.live = false;
	rc = db_query(&app->db, a,
	    "SELECT count(*) FROM pg_trigger"
	    " WHERE tgname = 'api_token_auth_notify' AND NOT tgisinternal",
	    0, NULL, &res);
	if (rc == PGS_OK && db_long(res, 0, 0) != 1) {
		log_warn("authz",
		    "the auth notification triggers are missing "
		    "(pgsched-admin db migrate): identities are not cached");
		rc = PGS_NOTFOUND;
	}
	if (rc == PGS_OK)
		rc = db_cmd(&app->db, a, "LISTEN pgsched_auth", 0, NULL);
	app->authz.live = rc == PGS_OK;
}

/*
 * Starts listening for run notifications on a new connection; the cache
 * is served only when that works and the triggers that send them
 * (sql/0003-notify.sql) exist, else stale answers could be served.
 */
static void
app_listen(struct app *app)
{
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc;

	cache_clear(&app->cache);
	app->cache_live = false;
	arena_init(&a);
	app_listen_auth(app, &a);
	if (app->cache_max == 0) {
		arena_free(&a);
		return;
	}
	rc = db_query(&app->db, &a,
	    "SELECT count(*) FROM pg_trigger"
	    " WHERE tgname IN ('query_run_notify', 'query_run_blob_notify')"
	    " AND NOT tgisinternal",
	    0, NULL, &res);
	if (rc == PGS_OK && db_long(res, 0, 0) != 2) {
		log_warn("cache",
		    "the run notification triggers are missing "
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
	PGnotify *n;

	if (!app->cache_live && !app->authz.live)
		return true;
	if (PQconsumeInput(app->db.conn) == 0)
		return false;
	for (n = PQnotifies(app->db.conn); n != NULL;
	     n = PQnotifies(app->db.conn)) {
		if (strcmp(n->relname, "pgsched_auth") == 0)
			authz_clear(&app->authz);
		else
			(void)cache_drop_query(&app->cache,
			    strtol(n->extra, NULL, 10));
		PQfreemem(n);
	}
	return true;
}

bool
app_db_ready(struct app *app)
{
	time_t	    now;
	enum pgs_rc rc;

	if (app->db.conn != NULL && PQstatus(app->db.conn) == CONNECTION_OK &&
	    app_drain(app) && PQstatus(app->db.conn) == CONNECTION_OK)
		return true;
	/* Notifications may be lost with the connection: forget it all, and
	 * ask the database until LISTEN works again. */
	cache_clear(&app->cache);
	app->cache_live = false;
	authz_clear(&app->authz);
	app->authz.live = false;
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
	log_info("db_connect", "cache=%s authz=%s connected",
	    app->cache_live ? "on" : "off", app->authz.live ? "on" : "off");
	return true;
}
