/*
 * token.c: API tokens (see token.h).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "token.h"
#include "utf8.h"

enum pgs_rc
token_new(char out[TOKEN_LEN + 1])
{
	enum pgs_rc rc;

	memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	rc = auth_token_new(out + TOKEN_PREFIX_LEN);
	if (rc != PGS_OK)
		sodium_memzero(out, TOKEN_LEN + 1);
	return rc;
}

bool
token_valid(const char *s)
{
	return strncmp(s, TOKEN_PREFIX, TOKEN_PREFIX_LEN) == 0 &&
	    auth_token_valid(s + TOKEN_PREFIX_LEN);
}

/* Returns true when c is a character of base64url. */
static bool
token_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
token_in_text(const char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i + TOKEN_LEN <= n; i++) {
		if (memcmp(s + i, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
			continue;
		for (k = TOKEN_PREFIX_LEN; k < TOKEN_LEN; k++)
			if (!token_b64url(s[i + k]))
				break;
		if (k == TOKEN_LEN)
			return true;
	}
	return false;
}

void
token_hash(const char *token, char out[TOKEN_HASH_LEN + 1])
{
	auth_token_hash(token, out);
}

/* Records a field error (static message, or e's arena's). */
static void
token_fail(struct token_errors *e, const char *field, const char *msg)
{
	e->field[e->n] = field;
	e->message[e->n++] = msg;
}

bool
token_rules_check(struct arena *a, const char *name, int nqids, long days,
    int max_days, struct token_errors *e)
{
	memset(e, 0, sizeof(*e));
	if (name == NULL || *name == '\0' || strlen(name) > TOKEN_NAME_MAX ||
	    !utf8_valid(name, strlen(name)))
		token_fail(e, "name", "must be 1-100 bytes of UTF-8 text");
	if (nqids < 1 || nqids > TOKEN_QUERIES_MAX)
		token_fail(e, "query_ids",
		    "must list 1 to 100 query ids (there is no \"all\")");
	if (days < 1 || days > max_days)
		token_fail(e, "expires_in_days",
		    arena_printf(a,
			"must be an integer from 1 to %d "
			"(TOKEN_MAX_DAYS)",
			max_days));
	return e->n == 0;
}

enum pgs_rc
token_create(struct db *db, struct arena *a, const char *name, const long *qids,
    int n, long days, long created_by, const char *hash, long *id)
{
	static const char sql[] =
	    "INSERT INTO api_token (name, token_hash, created_by, expires_at)"
	    " VALUES ($1, $2, $3, now() + make_interval(days => $4::int))"
	    " RETURNING id";
	static const char sql_q[] =
	    "INSERT INTO api_token_query (token_id, query_id)"
	    " SELECT $1, q FROM unnest($2::int[]) q ON CONFLICT DO NOTHING";
	struct caller c = { .kind = CALLER_TOKEN, .qids = qids, .nqids = n };
	const char   *p[4], *ap[3], *pq[2];
	PGresult     *res;
	enum pgs_rc   rc;

	p[0] = name;
	p[1] = hash;
	p[2] = created_by > 0 ? arena_printf(a, "%ld", created_by) : NULL;
	p[3] = arena_printf(a, "%ld", days);
	access_sql_params(a, &c, ap);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 4, p, &res);
	if (rc != PGS_OK)
		goto out;
	*id = db_long(res, 0, 0);
	pq[0] = arena_printf(a, "%ld", *id);
	pq[1] = ap[2];
	rc = db_cmd(db, a, sql_q, 2, pq);
out:
	return db_end(db, rc);
}

#define TOKEN_COLS \
	"t.id, t.name, t.created_by, u.email, t.created_at, t.expires_at," \
	" t.last_used_at, t.revoked_at, coalesce((SELECT array_agg(q.query_id)" \
	" FROM api_token_query q WHERE q.token_id = t.id), '{}')::text," \
	" floor(extract(epoch FROM t.expires_at - now()))::int8," \
	" coalesce(t.last_used_at > now() - interval '60 seconds', false)," \
	" t.revoked_at IS NULL AND t.expires_at > now()"
#define TOKEN_FROM \
	" FROM api_token t LEFT JOIN user_account u ON u.id = t.created_by"

/* Fills t (arena-owned strings) from row r of TOKEN_COLS. */
static void
token_fill(struct arena *a, const PGresult *res, int r, struct token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = db_long(res, r, 0);
	t->name = db_str(a, res, r, 1);
	t->created_by = PQgetisnull(res, r, 2) ? 0 : db_long(res, r, 2);
	t->created_by_email = db_str(a, res, r, 3);
	t->created_at = db_str(a, res, r, 4);
	t->expires_at = db_str(a, res, r, 5);
	t->last_used_at = db_str(a, res, r, 6);
	t->revoked_at = db_str(a, res, r, 7);
	access_ids_parse(a, PQgetvalue(res, r, 8), &t->qids, &t->nqids);
	t->expires_in = db_long(res, r, 9);
	t->used_recently = db_bool(res, r, 10);
	t->active = db_bool(res, r, 11);
}

/* Fills t with the one token sql (whose only parameter is p) finds;
 * PGS_NOTFOUND when none. */
static enum pgs_rc
token_one(struct db *db, struct arena *a, const char *sql, const char *p,
    struct token *t)
{
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 1, &p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	token_fill(a, res, 0, t);
	return PGS_OK;
}

enum pgs_rc
token_lookup(struct db *db, struct arena *a, const char *hash, struct token *t)
{
	static const char	 sql[] =
	    "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.token_hash = $1";

	return token_one(db, a, sql, hash, t);
}

enum pgs_rc
token_get(struct db *db, struct arena *a, long id, struct token *t)
{
	static const char	 sql[] =
	    "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.id = $1";

	return token_one(db, a, sql, arena_printf(a, "%ld", id), t);
}

enum pgs_rc
token_list(struct db *db, struct arena *a, long created_by,
    struct token_list *out)
{
	static const char	 sql[] =
	    "SELECT " TOKEN_COLS TOKEN_FROM
	    " WHERE $1::int IS NULL OR t.created_by = $1::int"
	    " ORDER BY t.id DESC";
	const char *p[] = {
		created_by > 0 ? arena_printf(a, "%ld", created_by) : NULL
	};
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)(out->n + 1));
	for (i = 0; i < out->n; i++)
		token_fill(a, res, i, &out->items[i]);
	return PGS_OK;
}

enum pgs_rc
token_revoke(struct db *db, struct arena *a, long id, long by)
{
	static const char sql[] =
	    "UPDATE api_token SET revoked_at = coalesce(revoked_at, now()),"
	    " revoked_by = CASE WHEN revoked_at IS NULL THEN $2::int"
	    "  ELSE revoked_by END WHERE id = $1 RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", id),
		by > 0 ? arena_printf(a, "%ld", by) : NULL };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, sql, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	return PQntuples(res) == 0 ? PGS_NOTFOUND : PGS_OK;
}

enum pgs_rc
token_touch(struct db *db, struct arena *a, long id)
{
	static const char sql[] =
	    "UPDATE api_token SET last_used_at = now() WHERE id = $1"
	    " AND (last_used_at IS NULL"
	    "  OR last_used_at < now() - make_interval(secs => $2::int))";
	const char *p[] = { arena_printf(a, "%ld", id),
		arena_printf(a, "%d", TOKEN_TOUCH_S) };

	return db_cmd(db, a, sql, 2, p);
}
