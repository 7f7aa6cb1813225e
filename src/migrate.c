/*
 * migrate.c: apply sql/NNNN-*.sql in order, once each.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "migrate.h"

/* Advisory lock key for migrations ("pgsm"), distinct from job locks. */
#define MIGRATE_LOCK	"1885827949"

static enum pgs_rc
migrate_one(struct db *db, const struct migration *m, bool *done)
{
	static const char sql_seen[] =
	    "SELECT 1 FROM schema_migrations WHERE version = $1";
	static const char sql_record[] =
	    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
	const char	*p[] = { m->version, m->name };
	struct arena	 a;
	PGresult	*res;
	enum pgs_rc	 rc;

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
migrate_apply(struct db *db, FILE *report, int *applied)
{
	static const char sql_table[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version text PRIMARY KEY,"
	    " name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())";
	static const char sql_lock[] = "SELECT pg_advisory_lock(" MIGRATE_LOCK ")";
	static const char sql_unlock[] =
	    "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")";
	struct arena	 a;
	PGresult	*res;
	enum pgs_rc	 rc, urc;
	size_t		 i;
	bool		 done;

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
	const char	*want = migrations[migrations_count - 1].version;
	const char	*have = "";
	struct arena	 a;
	PGresult	*res;
	enum pgs_rc	 rc;

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
		snprintf(msg, msglen, "database schema is %s%s, this pg-sched "
		    "needs %s: run 'pgsched-admin db migrate'",
		    *have ? "at " : "", *have ? have : "not migrated", want);
		rc = PGS_INVALID;
	} else if (strcmp(have, want) > 0) {
		snprintf(msg, msglen, "database schema %s is newer than this "
		    "pg-sched (%s): upgrade pg-sched", have, want);
		rc = PGS_INVALID;
	}
out:
	arena_free(&a);
	return rc;
}
