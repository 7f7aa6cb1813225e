/*
 * migrate.h: the schema migrations of sql/, compiled into the programs so
 * that a binary always knows the schema it needs.
 */
#ifndef PGS_MIGRATE_H
#define PGS_MIGRATE_H

#include <stdio.h>

#include "db.h"

struct migration {
	const char	*version;	/* "0001" */
	const char	*name;		/* "0001-init" */
	const char	*sql;
};

extern const struct migration	migrations[];
extern const size_t		migrations_count;

/*
 * Applies every migration the database lacks, each in its own transaction,
 * recording it in schema_migrations; holds an advisory lock meanwhile so
 * that two hosts migrating at once take turns.  Writes one line per applied
 * migration to report (may be NULL).  *applied gets the count.
 */
enum pgs_rc	migrate_apply(struct db *db, FILE *report, int *applied)
		    PGS_MUSTCHECK;
/*
 * Checks that the database has every migration this binary knows.  Returns
 * PGS_OK, or PGS_INVALID with a message telling the operator to run
 * `pgsched-admin db migrate` (in msg), or the database's failure.
 */
enum pgs_rc	migrate_check(struct db *db, char *msg, size_t msglen)
		    PGS_MUSTCHECK;

#endif
