/*
 * migrate.h: the schema migrations of sql/, compiled into the programs so
 * that a binary always knows the schema it needs.
 */
#ifndef PGS_MIGRATE_H
#define PGS_MIGRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "db.h"

struct migration {
	const char *version; /* "0001" */
	const char *name;    /* "0001-init" */
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t	      migrations_count;
/* sql/roles.sql: the grants of the API and runner roles (CONTRACT §10). */
extern const char migrate_roles_sql[];

/*
 * Applies every migration the database lacks, each in its own transaction,
 * recording it in schema_migrations; holds an advisory lock meanwhile so
 * that two hosts migrating at once take turns.  runs_public (RUNS_PUBLIC)
 * is passed to the migrations in the session setting pgsched.runs_public:
 * 0005 makes existing queries public or internal by it.  Writes one line
 * per applied migration to report (may be NULL).  *applied gets the count.
 */
enum pgs_rc migrate_apply(struct db *db, bool runs_public, FILE *report,
    int *applied) PGS_MUSTCHECK;
/*
 * Applies sql/roles.sql in one transaction: grants exactly what the API
 * role api and the runner role runner need, records the two names, and
 * takes away what else they (and PUBLIC, and roles recorded before) held
 * on pg-sched's tables.  With api and runner NULL it applies the recorded
 * names again.  Returns PGS_OK; PGS_NOTFOUND when a role does not exist;
 * PGS_INVALID when a role is unfit (a superuser, the owner, both the same,
 * ...) or none is given nor recorded; PGS_DENIED when the session does
 * not own the tables; or the database's failure.  msg then says why, in
 * one line, and nothing has changed.
 */
enum pgs_rc migrate_grant(struct db *db, const char *api, const char *runner,
    char *msg, size_t msglen) PGS_MUSTCHECK;
/*
 * Reads the API and runner roles recorded by migrate_grant into api and
 * runner (arena-owned); both NULL when none are recorded.
 */
enum pgs_rc migrate_roles(struct db *db, struct arena *a, const char **api,
    const char **runner) PGS_MUSTCHECK;
/*
 * Checks that the database has every migration this binary knows.  Returns
 * PGS_OK, or PGS_INVALID with a message telling the operator to run
 * `pgsched-admin db migrate` (in msg), or the database's failure.
 */
enum pgs_rc
migrate_check(struct db *db, char *msg, size_t msglen) PGS_MUSTCHECK;

#endif
