/*
 * access.c: the read rule of CONTRACT section 9 and the SQL of
 * query_grant (see access.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "buf.h"

static const char *const access_vis_names[] = { "public", "internal",
	"restricted" };

const char *
access_vis_name(enum visibility v)
{
	return access_vis_names[v];
}

bool
access_vis_parse(const char *s, enum visibility *v)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, access_vis_names[i]) == 0) {
			*v = (enum visibility)i;
			return true;
		}
	return false;
}

enum visibility
access_vis_default(bool runs_public)
{
	return runs_public ? VIS_PUBLIC : VIS_INTERNAL;
}

bool
access_ids_have(const long *ids, int n, long id)
{
	int lo = 0, hi = n - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

bool
access_may_read(const struct caller *c, const struct access_query *q)
{
	switch (c->kind) {
	case CALLER_TOKEN:
		return access_ids_have(c->qids, c->nqids, q->id);
	case CALLER_ANON:
		return q->vis == VIS_PUBLIC;
	case CALLER_USER:
		break;
	}
	if (q->vis != VIS_RESTRICTED || c->role >= ROLE_EDITOR)
		return true;
	return access_ids_have(q->grantees, q->ngrantees, c->user_id);
}

void
access_sql_params(struct arena *a, const struct caller *c, const char **p)
{
	struct buf b = BUF_INIT;
	int	   i;

	p[0] = p[1] = p[2] = NULL;
	if (c->kind == CALLER_USER) {
		p[0] = arena_printf(a, "%ld", c->user_id);
		p[1] = c->role >= ROLE_EDITOR ? "true" : "false";
	} else if (c->kind == CALLER_TOKEN) {
		buf_putc(&b, '{');
		for (i = 0; i < c->nqids; i++)
			buf_printf(&b, "%s%ld", i > 0 ? "," : "", c->qids[i]);
		buf_putc(&b, '}');
		p[2] = arena_strdup(a, b.data);
		buf_free(&b);
	}
}

/* qsort order of longs. */
static int
access_cmp_long(const void *x, const void *y)
{
	long a = *(const long *)x, b = *(const long *)y;

	return (a > b) - (a < b);
}

void
access_ids_parse(struct arena *a, const char *s, long **ids, int *n)
{
	const char *p;
	char	   *end;
	int	    cap = 0;

	for (p = s; *p != '\0'; p++)
		cap += *p == ',';
	*ids = arena_alloc(a, sizeof(**ids) * (size_t)(cap + 1));
	*n = 0;
	for (p = s + (*s == '{'); *p != '\0' && *p != '}'; p = end) {
		if (*p == ',')
			p++;
		(*ids)[*n] = strtol(p, &end, 10);
		if (end == p)
			break;
		(*n)++;
	}
	qsort(*ids, (size_t)*n, sizeof(**ids), access_cmp_long);
}

enum pgs_rc
access_query_get(struct db *db, struct arena *a, long id,
    struct access_query *q)
{
	static const char sql[] =
	    "SELECT j.visibility, coalesce((SELECT array_agg(g.user_id)"
	    " FROM query_grant g WHERE g.query_id = j.id), '{}')::text"
	    " FROM query_job j WHERE j.id = $1";
	const char *p[] = { arena_printf(a, "%ld", id) };
	PGresult   *res;
	enum pgs_rc rc;

	memset(q, 0, sizeof(*q));
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	q->id = id;
	if (!access_vis_parse(PQgetvalue(res, 0, 0), &q->vis))
		q->vis = VIS_RESTRICTED;
	access_ids_parse(a, PQgetvalue(res, 0, 1), &q->grantees, &q->ngrantees);
	return PGS_OK;
}

enum pgs_rc
access_grants_set(struct db *db, struct arena *a, long id, const long *ids,
    int n, long by)
{
	static const char sql_lock[] =
	    "SELECT 1 FROM query_job WHERE id = $1 FOR UPDATE";
	static const char sql_del[] =
	    "DELETE FROM query_grant WHERE query_id = $1"
	    " AND user_id <> ALL ($2::int[])";
	static const char sql_ins[] =
	    "INSERT INTO query_grant (query_id, user_id, granted_by)"
	    " SELECT $1, u, $3 FROM unnest($2::int[]) u"
	    " ON CONFLICT DO NOTHING";
	struct caller c = { .kind = CALLER_TOKEN, .qids = ids, .nqids = n };
	const char   *p[3], *ap[3];
	PGresult     *res;
	enum pgs_rc   rc;

	/* The int[] text of the ids, as ACCESS_SQL's token list. */
	access_sql_params(a, &c, ap);
	p[0] = arena_printf(a, "%ld", id);
	p[1] = ap[2];
	p[2] = by > 0 ? arena_printf(a, "%ld", by) : NULL;
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_lock, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK)
		rc = db_cmd(db, a, sql_del, 2, p);
	if (rc == PGS_OK)
		rc = db_cmd(db, a, sql_ins, 3, p);
	return db_end(db, rc);
}
