/*
 * migrate.c: apply sql/NNNN-*.sql in order, once each.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "migrate.h"

/* Advisory lock key for migrations ("pgsm"), distinct from job locks. */
#define MIGRATE_LOCK "1885827949"

static enum pgs_rc
migrate_one(struct db *db, const struct migration *m, bool *done)
{
	static const char sql_seen[] =
	    "SELECT 1 FROM schema_migrations WHERE version = $1";
	static const char sql_record[] =
	    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
	const char  *p[] = { m->version, m->name };
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc;

	arena_init(&a);
	*done = false;
	rc = db_begin(db);
	if (rc != PGS_OK)
		goto out;
	rc = db_query(db, &a, sql_seen, 1, p, &res);
	if (rc != PGS_OK || PQntuples(res) > 0)
		goto end;
	rc = db_script(db, m->sql);
	if (rc != PGS_OK)
		goto end;
	rc = db_cmd(db, &a, sql_record, 2, p);
	*done = rc == PGS_OK;
end:
	rc = db_end(db, rc);
	if (rc != PGS_OK)
		*done = false;
out:
	arena_free(&a);
	return rc;
}

enum pgs_rc
migrate_apply(struct db *db, bool runs_public, FILE *report, int *applied)
{
	static const char sql_setting[] =
	    "SELECT set_config('pgsched.runs_public', $1, false)";
	const char	 *sp[] = { runs_public ? "1" : "0" };
	static const char sql_table[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version text PRIMARY KEY,"
	    " name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())";
	static const char sql_lock[] =
	    "SELECT pg_advisory_lock(" MIGRATE_LOCK ")";
	static const char sql_unlock[] =
	    "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")";
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc, urc;
	size_t	     i;
	bool	     done;

	*applied = 0;
	arena_init(&a);
	/* Session lock: a second host waits here until the first is done,
	 * then finds nothing left to apply. */
	rc = db_query(db, &a, sql_lock, 0, NULL, &res);
	if (rc != PGS_OK)
		goto out;
	/* "does not exist, skipping" notices of IF EXISTS are noise. */
	rc = db_cmd(db, &a, "SET client_min_messages TO warning", 0, NULL);
	if (rc == PGS_OK)
		rc = db_query(db, &a, sql_setting, 1, sp, &res);
	if (rc == PGS_OK)
		rc = db_cmd(db, &a, sql_table, 0, NULL);
	for (i = 0; rc == PGS_OK && i < migrations_count; i++) {
		rc = migrate_one(db, &migrations[i], &done);
		if (rc != PGS_OK) {
			log_err("migrate_failed", "version=%s %s",
			    migrations[i].version, db_error(db));
			break;
		}
		if (done) {
			(*applied)++;
			log_info("migrate_applied", "version=%s",
			    migrations[i].version);
			if (report != NULL)
				fprintf(report, "applied %s\n",
				    migrations[i].name);
		}
	}
	urc = db_query(db, &a, sql_unlock, 0, NULL, &res);
	if (rc == PGS_OK)
		rc = urc;
out:
	arena_free(&a);
	return rc;
}

enum pgs_rc
migrate_check(struct db *db, char *msg, size_t msglen)
{
	static const char sql[] =
	    "SELECT coalesce(max(version), '') FROM schema_migrations";
	static const char sql_exists[] =
	    "SELECT to_regclass('schema_migrations') IS NOT NULL";
	const char  *want = migrations[migrations_count - 1].version;
	const char  *have = "";
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc;

	arena_init(&a);
	rc = db_query(db, &a, sql_exists, 0, NULL, &res);
	if (rc != PGS_OK)
		goto out;
	if (db_bool(res, 0, 0)) {
		rc = db_query(db, &a, sql, 0, NULL, &res);
		if (rc != PGS_OK)
			goto out;
		if (PQntuples(res) > 0)
			have = PQgetvalue(res, 0, 0);
	}
	if (strcmp(have, want) < 0) {
		snprintf(msg, msglen,
		    "database schema is %s%s, this pg-sched "
		    "needs %s: run 'pgsched-admin db migrate'",
		    *have ? "at " : "", *have ? have : "not migrated", want);
		rc = PGS_INVALID;
	} else if (strcmp(have, want) > 0) {
		snprintf(msg, msglen,
		    "database schema %s is newer than this "
		    "pg-sched (%s): upgrade pg-sched",
		    have, want);
		rc = PGS_INVALID;
	}
out:
	arena_free(&a);
	return rc;
}

enum pgs_rc
migrate_roles(struct db *db, struct arena *a, const char **api,
    const char **runner)
{
	static const char sql_exists[] =
	    "SELECT to_regclass('schema_roles') IS NOT NULL";
	static const char sql[] =
	    "SELECT max(role_name::text) FILTER (WHERE kind = 'api'),"
	    " max(role_name::text) FILTER (WHERE kind = 'runner')"
	    " FROM schema_roles";
	PGresult   *res;
	enum pgs_rc rc;

	*api = *runner = NULL;
	rc = db_query(db, a, sql_exists, 0, NULL, &res);
	if (rc != PGS_OK || !db_bool(res, 0, 0))
		return rc;
	rc = db_query(db, a, sql, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	*api = db_str(a, res, 0, 0);
	*runner = db_str(a, res, 0, 1);
	if (*api == NULL || *runner == NULL)
		*api = *runner = NULL;
	return PGS_OK;
}

/*
 * Checks what sql/roles.sql would refuse with a less clear message: that
 * api and runner (NULL: the recorded ones) are roles (PGS_NOTFOUND) and
 * that this session acts as the owner of the tables (PGS_DENIED); msg
 * says which.  PGS_INVALID when no roles are given nor recorded.
 */
static enum pgs_rc
migrate_grant_check(struct db *db, struct arena *a, const char *api,
    const char *runner, char *msg, size_t msglen)
{
	static const char sql_known[] =
	    "SELECT k FROM unnest(ARRAY[$1, $2]::text[]) WITH ORDINALITY"
	    " AS u(k, i) WHERE NOT EXISTS (SELECT 1 FROM pg_roles"
	    " WHERE rolname = u.k) ORDER BY i LIMIT 1";
	static const char sql_owner[] =
	    "SELECT pg_has_role(current_user, relowner, 'USAGE'),"
	    " relowner::regrole::text, current_user::text FROM pg_class"
	    " WHERE oid = 'query_run'::regclass";
	const char *p[2] = { api, runner };
	PGresult   *res;
	enum pgs_rc rc = PGS_OK;

	if (api == NULL || runner == NULL)
		rc = migrate_roles(db, a, &p[0], &p[1]);
	if (rc == PGS_OK && p[0] == NULL) {
		snprintf(msg, msglen,
		    "no API and runner roles recorded: run "
		    "'pgsched-admin db grant --api ROLE --runner ROLE'");
		return PGS_INVALID;
	}
	if (rc == PGS_OK)
		rc = db_query(db, a, sql_known, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) > 0) {
		snprintf(msg, msglen, "role \"%s\" does not exist",
		    PQgetvalue(res, 0, 0));
		return PGS_NOTFOUND;
	}
	if (rc == PGS_OK)
		rc = db_query(db, a, sql_owner, 0, NULL, &res);
	if (rc == PGS_OK && !db_bool(res, 0, 0)) {
		snprintf(msg, msglen,
		    "role \"%s\" does not own the tables "
		    "(\"%s\" does)",
		    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1));
		rc = PGS_DENIED;
	}
	return rc;
}

enum pgs_rc
migrate_grant(struct db *db, const char *api, const char *runner, char *msg,
    size_t msglen)
{
	static const char sql_quiet[] =
	    "SET LOCAL client_min_messages TO warning";
	/* Read by sql/roles.sql; local: gone at the end of the transaction. */
	static const char sql_roles[] =
	    "SELECT set_config('pgsched.api_role', $1, true),"
	    " set_config('pgsched.runner_role', $2, true)";
	const char *p[] = { api != NULL ? api : "",
		runner != NULL ? runner : "" };
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc;

	arena_init(&a);
	msg[0] = '\0';
	rc = db_begin(db);
	if (rc != PGS_OK)
		goto out;
	rc = migrate_grant_check(db, &a, api, runner, msg, msglen);
	if (rc == PGS_OK)
		rc = db_cmd(db, &a, sql_quiet, 0, NULL);
	if (rc == PGS_OK)
		rc = db_query(db, &a, sql_roles, 2, p, &res);
	if (rc == PGS_OK)
		rc = db_script(db, migrate_roles_sql);
	rc = db_end(db, rc);
out:
	if (rc != PGS_OK && msg[0] == '\0')
		snprintf(msg, msglen, "%s", db_error(db));
	arena_free(&a);
	return rc;
}
