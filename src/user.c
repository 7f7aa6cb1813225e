/*
 * user.c: SQL for user_account and user_role.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const char *const role_names[] = { NULL, "viewer", "editor", "admin" };

const char *
role_name(enum role r)
{
	if (r < ROLE_NONE || r > ROLE_ADMIN)
		return NULL;
	return role_names[r];
}

enum role
role_parse(const char *s)
{
	int i;

	for (i = ROLE_VIEWER; i <= ROLE_ADMIN; i++)
		if (s != NULL && strcmp(s, role_names[i]) == 0)
			return (enum role)i;
	return ROLE_NONE;
}

bool
user_email_valid(const char *s)
{
	const char *at, *dot, *p;
	size_t	    n = strlen(s);

	/* Deliberately simple: local@domain.tld, printable, no spaces. */
	if (n < 3 || n > 254)
		return false;
	at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return false;
	dot = strrchr(at, '.');
	if (dot == NULL || dot == at + 1 || dot[1] == '\0')
		return false;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '\\' || *p == ',')
			return false;
	return true;
}

static enum pgs_rc
user_insert_roles(struct db *db, struct arena *a, const char *uid,
    const char *const *roles, int nroles)
{
	static const char sql[] =
	    "INSERT INTO user_role (user_id, role) VALUES ($1, $2)"
	    " ON CONFLICT DO NOTHING";
	enum pgs_rc rc = PGS_OK;
	int	    i;

	for (i = 0; i < nroles && rc == PGS_OK; i++) {
		const char *p[] = { uid, roles[i] };

		rc = db_cmd(db, a, sql, 2, p);
	}
	return rc;
}

enum pgs_rc
user_create(struct db *db, struct arena *a, const char *email, const char *name,
    const char *hash, const char *const *roles, int nroles, long *id)
{
	static const char sql[] =
	    "INSERT INTO user_account (email, name, password_hash)"
	    " VALUES ($1, $2, $3) RETURNING id";
	const char *p[] = { email, name, hash };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql, 3, p, &res);
	if (rc != PGS_OK)
		goto out;
	*id = db_long(res, 0, 0);
	rc = user_insert_roles(db, a, PQgetvalue(res, 0, 0), roles, nroles);
out:
	return db_end(db, rc);
}

#define USER_COLS \
	"u.id, u.email, u.name, u.is_active, u.created_at, u.updated_at," \
	" coalesce((SELECT string_agg(role, ',' ORDER BY CASE role" \
	" WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 ELSE 3 END)" \
	" FROM user_role r WHERE r.user_id = u.id), ''), u.password_hash"

static void
user_fill(struct arena *a, const PGresult *res, int r, struct user *u)
{
	char *roles, *tok, *save;

	memset(u, 0, sizeof(*u));
	u->id = db_long(res, r, 0);
	u->email = db_str(a, res, r, 1);
	u->name = db_str(a, res, r, 2);
	u->is_active = db_bool(res, r, 3);
	u->created_at = db_str(a, res, r, 4);
	u->updated_at = db_str(a, res, r, 5);
	roles = db_str(a, res, r, 6);
	for (tok = strtok_r(roles, ",", &save); tok != NULL && u->nroles < 3;
	     tok = strtok_r(NULL, ",", &save))
		u->roles[u->nroles++] = tok;
	u->password_hash = db_str(a, res, r, 7);
}

enum pgs_rc
user_get(struct db *db, struct arena *a, const char *id, const char *email,
    struct user *u)
{
	static const char sql_id[] =
	    "SELECT " USER_COLS " FROM user_account u WHERE u.id = $1";
	static const char sql_email[] =
	    "SELECT " USER_COLS " FROM user_account u"
	    " WHERE lower(u.email) = lower($1)";
	const char *p[] = { id != NULL ? id : email };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, id != NULL ? sql_id : sql_email, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	user_fill(a, res, 0, u);
	return PGS_OK;
}

enum pgs_rc
user_list(struct db *db, struct arena *a, int limit, int offset,
    struct user_list *out)
{
	static const char sql[] =
	    "SELECT " USER_COLS " FROM user_account u ORDER BY u.id"
	    " LIMIT $1 OFFSET $2";
	char	    l[16], o[16];
	const char *p[] = { l, o };
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	snprintf(l, sizeof(l), "%d", limit);
	snprintf(o, sizeof(o), "%d", offset);
	rc = db_query(db, a, sql, 2, p, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n);
	for (i = 0; i < out->n; i++)
		user_fill(a, res, i, &out->items[i]);
	return PGS_OK;
}

/* Runs sql ($1 = id, $2 = value) and revokes the user's sessions, in one
 * transaction when revoke is set. */
static enum pgs_rc
user_change(struct db *db, struct arena *a, const char *sql, long id,
    const char *value, bool revoke)
{
	static const char sql_revoke[] =
	    "UPDATE user_session SET is_revoked = true"
	    " WHERE user_id = $1 AND NOT is_revoked";
	char	    ids[24];
	const char *p[] = { ids, value };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_exec(db, a, sql, value != NULL ? 2 : 1, p, PGRES_TUPLES_OK,
	    &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK && revoke)
		rc = db_cmd(db, a, sql_revoke, 1, p);
	return db_end(db, rc);
}

enum pgs_rc
user_set_password(struct db *db, struct arena *a, long id, const char *hash)
{
	static const char sql[] =
	    "UPDATE user_account SET password_hash = $2, updated_at = now()"
	    " WHERE id = $1 RETURNING id";

	return user_change(db, a, sql, id, hash, true);
}

enum pgs_rc
user_rehash(struct db *db, struct arena *a, long id, const char *old,
    const char *hash)
{
	static const char sql[] = "UPDATE user_account SET password_hash = $3"
				  " WHERE id = $1 AND password_hash = $2";
	char		  ids[24];
	const char	 *p[] = { ids, old, hash };

	snprintf(ids, sizeof(ids), "%ld", id);
	return db_cmd(db, a, sql, 3, p);
}

enum pgs_rc
user_set_active(struct db *db, struct arena *a, long id, bool active)
{
	static const char sql[] =
	    "UPDATE user_account SET is_active = $2::boolean,"
	    " updated_at = now() WHERE id = $1 RETURNING id";

	return user_change(db, a, sql, id, active ? "true" : "false", !active);
}

enum pgs_rc
user_update(struct db *db, struct arena *a, long id, const char *email,
    const char *name)
{
	static const char sql[] =
	    "UPDATE user_account SET email = coalesce($2, email),"
	    " name = coalesce($3, name), updated_at = now()"
	    " WHERE id = $1 RETURNING id";
	char	    ids[24];
	const char *p[] = { ids, email, name };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	rc = db_query(db, a, sql, 3, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
user_set_roles(struct db *db, struct arena *a, long id,
    const char *const *roles, int nroles)
{
	static const char sql_del[] =
	    "DELETE FROM user_role WHERE user_id = $1";
	static const char sql_touch[] =
	    "UPDATE user_account SET updated_at = now() WHERE id = $1"
	    " RETURNING id";
	char	    ids[24];
	const char *p[] = { ids };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_touch, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK)
		rc = db_cmd(db, a, sql_del, 1, p);
	if (rc == PGS_OK)
		rc = user_insert_roles(db, a, ids, roles, nroles);
	return db_end(db, rc);
}

enum pgs_rc
user_delete(struct db *db, struct arena *a, long id)
{
	static const char sql[] =
	    "DELETE FROM user_account WHERE id = $1 RETURNING id";
	char	    ids[24];
	const char *p[] = { ids };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
user_count_admins(struct db *db, struct arena *a, long except, long *count)
{
	static const char sql[] =
	    "SELECT count(*) FROM user_account u JOIN user_role r"
	    " ON r.user_id = u.id AND r.role = 'admin'"
	    " WHERE u.is_active AND u.id <> $1";
	char	    ids[24];
	const char *p[] = { ids };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", except);
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK)
		*count = db_long(res, 0, 0);
	return rc;
}
