/*
 * session.c: SQL for user_session (see session.h).
 */
#include <stdio.h>
#include <string.h>

#include "session.h"

enum pgs_rc
session_create(struct db *db, struct arena *a, long user_id, const char *hash,
    int ttl_hours, const char *ip, const char *ua)
{
	static const char sql[] =
	    "INSERT INTO user_session (id, user_id, created_at, last_seen_at,"
	    " expires_at, ip, user_agent) VALUES ($1, $2, now(), now(),"
	    " now() + make_interval(hours => $3::int), $4, left($5, 512))";
	static const char sql_gc[] =
	    "DELETE FROM user_session WHERE user_id = $1"
	    " AND (expires_at < now() - interval '1 day'"
	    "  OR (is_revoked AND last_seen_at < now() - interval '1 day'))";
	const char *p[5];
	enum pgs_rc rc;

	p[0] = hash;
	p[1] = arena_printf(a, "%ld", user_id);
	p[2] = arena_printf(a, "%d", ttl_hours);
	p[3] = ip;
	p[4] = ua;
	rc = db_cmd(db, a, sql, 5, p);
	if (rc != PGS_OK)
		return rc;
	/* Old sessions of this user go away here, one user at a time. */
	return db_cmd(db, a, sql_gc, 1, p + 1);
}

enum pgs_rc
session_lookup(struct db *db, struct arena *a, const char *hash, int ttl_hours,
    int extend_min, long *user_id, bool *extended)
{
	static const char sql[] =
	    "WITH s AS (SELECT us.id, us.user_id, (us.last_seen_at IS NULL"
	    "  OR us.last_seen_at < now() - make_interval(mins => $3::int))"
	    "  AS stale FROM user_session us JOIN user_account u"
	    "  ON u.id = us.user_id WHERE us.id = $1 AND NOT us.is_revoked"
	    "  AND us.expires_at > now() AND u.is_active),"
	    " upd AS (UPDATE user_session us SET last_seen_at = now(),"
	    "  expires_at = now() + make_interval(hours => $2::int)"
	    "  FROM s WHERE us.id = s.id AND s.stale RETURNING us.id)"
	    " SELECT s.user_id, s.stale FROM s";
	const char *p[3];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = hash;
	p[1] = arena_printf(a, "%d", ttl_hours);
	p[2] = arena_printf(a, "%d", extend_min);
	rc = db_query(db, a, sql, 3, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	*user_id = db_long(res, 0, 0);
	*extended = db_bool(res, 0, 1);
	return PGS_OK;
}

/*
 * Runs the statement `name` (sql, n text parameters), preparing it first
 * when this connection has not: *prep remembers the connection (its
 * PGconn and backend pid) it was prepared on.  Any failure of the
 * prepared path (a new connection, a statement gone after DISCARD, a
 * changed schema) runs sql the ordinary way instead, which maps and logs
 * a real error.  The result is arena-owned.
 */
struct prepared {
	const PGconn *conn;
	int	      pid;
};

static enum pgs_rc
session_exec(struct db *db, struct arena *a, struct prepared *prep,
    const char *name, const char *sql, int n, const char *const *params,
    PGresult **out)
{
	PGresult *res = NULL;
	bool	  ready;

	ready = db->conn != NULL && prep->conn == db->conn &&
	    prep->pid == PQbackendPID(db->conn);
	if (!ready && db->conn != NULL && !db->in_tx) {
		res = PQprepare(db->conn, name, sql, n, NULL);
		ready = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		res = NULL;
		if (ready) {
			prep->conn = db->conn;
			prep->pid = PQbackendPID(db->conn);
		}
	}
	if (ready)
		res = PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
		arena_defer(a, (void (*)(void *))PQclear, res);
		*out = res;
		return PGS_OK;
	}
	PQclear(res);
	prep->conn = NULL;
	return db_query(db, a, sql, n, params, out);
}

enum pgs_rc
session_user(struct db *db, struct arena *a, const char *hash, int ttl_hours,
    int extend_min, struct user *u, bool *extended, long *valid_s)
{
	/* A plain SELECT: the sliding write is a second statement, needed
	 * at most once per extend_min, and a SELECT costs the server about
	 * half of a statement with a writable CTE. */
	static const char sql[] =
	    "SELECT u.id, u.email, u.name, u.is_active, u.created_at,"
	    " u.updated_at, coalesce((SELECT string_agg(role, ',' ORDER BY"
	    "  CASE role WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 ELSE 3 END)"
	    "  FROM user_role r WHERE r.user_id = u.id), ''),"
	    " us.last_seen_at IS NULL OR us.last_seen_at < now() -"
	    "  make_interval(mins => $2::int),"
	    " floor(extract(epoch FROM least(us.expires_at,"
	    "  coalesce(us.last_seen_at, now()) + make_interval(mins =>"
	    "  $2::int)) - now()))::int8"
	    " FROM user_session us JOIN user_account u ON u.id = us.user_id"
	    " WHERE us.id = $1 AND NOT us.is_revoked AND us.expires_at > now()"
	    " AND u.is_active";
	static const char sql_extend[] =
	    "UPDATE user_session SET last_seen_at = now(),"
	    " expires_at = now() + make_interval(hours => $2::int)"
	    " WHERE id = $1 AND NOT is_revoked";
	static struct prepared prep;
	const char	      *p[2], *pe[2];
	char		      *roles, *tok, *save;
	PGresult	      *res;
	enum pgs_rc	       rc;

	p[0] = hash;
	p[1] = arena_printf(a, "%d", extend_min);
	rc = session_exec(db, a, &prep, "pgs_session_user", sql, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	memset(u, 0, sizeof(*u));
	u->id = db_long(res, 0, 0);
	u->email = db_str(a, res, 0, 1);
	u->name = db_str(a, res, 0, 2);
	u->is_active = db_bool(res, 0, 3);
	u->created_at = db_str(a, res, 0, 4);
	u->updated_at = db_str(a, res, 0, 5);
	roles = db_str(a, res, 0, 6);
	for (tok = strtok_r(roles, ",", &save); tok != NULL && u->nroles < 3;
	     tok = strtok_r(NULL, ",", &save))
		u->roles[u->nroles++] = tok;
	*extended = db_bool(res, 0, 7);
	*valid_s = db_long(res, 0, 8);
	if (!*extended)
		return PGS_OK;
	/* Extended now: it holds until the next extension is due. */
	*valid_s = (long)extend_min * 60 < (long)ttl_hours * 3600 ?
	    (long)extend_min * 60 :
	    (long)ttl_hours * 3600;
	pe[0] = hash;
	pe[1] = arena_printf(a, "%d", ttl_hours);
	return db_cmd(db, a, sql_extend, 2, pe);
}

enum pgs_rc
session_revoke(struct db *db, struct arena *a, const char *hash)
{
	static const char sql[] =
	    "UPDATE user_session SET is_revoked = true, last_seen_at = now()"
	    " WHERE id = $1";
	const char *p[] = { hash };

	return db_cmd(db, a, sql, 1, p);
}
