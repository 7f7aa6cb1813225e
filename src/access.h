/*
 * access.h: who may read a query's results (CONTRACT section 9), the one
 * rule both doors and every read path ask, and the SQL of the tables it
 * reads (query_grant; query_job.visibility is query.c's).
 *
 * A query is public (anyone), internal (any logged-in user, and API
 * tokens that name it) or restricted (admins, editors, the users granted
 * it, and tokens that name it).  A token reads the queries of its list
 * and nothing else, whatever their visibility.  The rule is written
 * twice, in C (access_may_read) and in SQL for lists (ACCESS_SQL), side
 * by side here so that they stay one rule.
 */
#ifndef PGS_ACCESS_H
#define PGS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "rc.h"
#include "store.h"

enum visibility {
	VIS_PUBLIC,
	VIS_INTERNAL,
	VIS_RESTRICTED
};

/* Who asks: nobody, a logged-in user, or an API token. */
enum caller_kind {
	CALLER_ANON,
	CALLER_USER,
	CALLER_TOKEN
};

struct caller {
	enum caller_kind kind;
	long		 user_id; /* CALLER_USER */
	enum role	 role;	  /* CALLER_USER */
	const long	*qids;	  /* CALLER_TOKEN: its queries, sorted */
	int		 nqids;
};

/* What the rule needs of a query: its visibility and its grantees. */
struct access_query {
	long		id;
	enum visibility vis;
	long	       *grantees; /* sorted user ids; arena- or caller-owned */
	int		ngrantees;
};

#define ACCESS_GRANTS_MAX 1000 /* user ids one PUT may grant */

/* Returns "public"... (static). */
const char *access_vis_name(enum visibility v);
/* Parses a visibility name into *v; false when s is none. */
bool access_vis_parse(const char *s, enum visibility *v);
/* Returns the visibility of a new query: public while RUNS_PUBLIC=1. */
enum visibility access_vis_default(bool runs_public);
/* Returns true when sorted ids[0..n) holds id. */
bool access_ids_have(const long *ids, int n, long id);
/* Parses "{1,2,3}" (an int[] as text) into sorted ids (arena-owned). */
void access_ids_parse(struct arena *a, const char *s, long **ids, int *n);
/* Returns true when c may read the runs and results of query q. */
bool access_may_read(const struct caller *c, const struct access_query *q);

/*
 * The same rule as an SQL condition on the query_job row aliased j, for
 * lists: U is the placeholder of the user id (NULL: anonymous), S of a
 * boolean "the user is an editor or an admin", T of the token's query
 * ids as an int[] (NULL: not a token); e.g. ACCESS_SQL("6", "7", "8").
 * access_sql_params() fills the three values.
 */
#define ACCESS_SQL(U, S, T) \
	" (CASE WHEN $" T "::int[] IS NOT NULL THEN j.id = ANY ($" T \
	"::int[]) WHEN $" U "::int IS NULL THEN j.visibility = 'public'" \
	" WHEN $" S "::boolean THEN true ELSE j.visibility <> 'restricted'" \
	" OR EXISTS (SELECT 1 FROM query_grant g WHERE g.query_id = j.id" \
	" AND g.user_id = $" U "::int) END)"
/* Fills p[0..2] (arena strings or NULL) for ACCESS_SQL of c. */
void access_sql_params(struct arena *a, const struct caller *c, const char **p);

/*
 * Reads what the rule needs of query id into *q (grantees arena-owned).
 * Returns PGS_OK, PGS_NOTFOUND, or the db rc.
 */
enum pgs_rc access_query_get(struct db *db, struct arena *a, long id,
    struct access_query *q) PGS_MUSTCHECK;
/*
 * Replaces the grantees of query id by ids[0..n) (by: who grants, 0 for
 * the CLI), in one transaction.  PGS_NOTFOUND when the query is gone,
 * PGS_INVALID (db error message names it) for an unknown user.
 */
enum pgs_rc access_grants_set(struct db *db, struct arena *a, long id,
    const long *ids, int n, long by) PGS_MUSTCHECK;

#endif
