/*
 * source.c: SQL for data_source, and the rule an edit of one follows
 * (source_needs_password).  Ciphertexts travel as bytea hex text.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"

/* Returns the arena-owned bytea hex literal ("\x...") of p. */
static char *
source_hex(struct arena *a, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char		 *s = arena_alloc(a, 2 * n + 3);
	size_t		  i;

	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < n; i++) {
		s[2 + 2 * i] = hex[p[i] >> 4];
		s[3 + 2 * i] = hex[p[i] & 15];
	}
	return s;
}

#define SOURCE_COLS \
	SOURCE_CONN_COLS \
	", s.enc_algo, s.key_version, s.created_at," \
	" s.updated_at," \
	" (SELECT count(*) FROM query_job j WHERE j.data_source_id = s.id)"

void
source_from_row(struct arena *a, const PGresult *res, int r, int col,
    struct source *s)
{
	unsigned char *raw;
	size_t	       n;

	memset(s, 0, sizeof(*s));
	s->id = db_long(res, r, col);
	s->name = db_str(a, res, r, col + 1);
	s->host = db_str(a, res, r, col + 2);
	s->port = (int)db_long(res, r, col + 3);
	s->dbname = db_str(a, res, r, col + 4);
	s->username = db_str(a, res, r, col + 5);
	if (PQgetisnull(res, r, col + 6))
		return;
	raw =
	    PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, col + 6),
		&n);
	if (raw != NULL) {
		s->enc_password = arena_alloc(a, n + 1);
		memcpy(s->enc_password, raw, n);
		s->enc_len = n;
		PQfreemem(raw);
	}
}

static void
source_fill(struct arena *a, const PGresult *res, int r, struct source *s)
{
	source_from_row(a, res, r, 0, s);
	s->enc_algo = db_str(a, res, r, SOURCE_CONN_NCOLS);
	s->key_version = (int)db_long(res, r, SOURCE_CONN_NCOLS + 1);
	s->created_at = db_str(a, res, r, SOURCE_CONN_NCOLS + 2);
	s->updated_at = db_str(a, res, r, SOURCE_CONN_NCOLS + 3);
	s->query_count = db_long(res, r, SOURCE_CONN_NCOLS + 4);
}

enum pgs_rc
source_create(struct db *db, struct arena *a, const struct source *s, long *id)
{
	static const char sql[] =
	    "INSERT INTO data_source (name, host, port, dbname, username,"
	    " enc_password, enc_algo, key_version)"
	    " VALUES ($1, $2, $3, $4, $5, $6, 'libsodium-sealedbox', $7)"
	    " RETURNING id";
	char	    port[16], kv[16];
	const char *p[7];
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(kv, sizeof(kv), "%d", s->key_version);
	p[0] = s->name;
	p[1] = s->host;
	p[2] = port;
	p[3] = s->dbname;
	p[4] = s->username;
	p[5] = source_hex(a, s->enc_password, s->enc_len);
	p[6] = kv;
	rc = db_query(db, a, sql, 7, p, &res);
	if (rc == PGS_OK)
		*id = db_long(res, 0, 0);
	return rc;
}

enum pgs_rc
source_get(struct db *db, struct arena *a, const char *id, const char *name,
    struct source *s)
{
	static const char sql_id[] =
	    "SELECT " SOURCE_COLS " FROM data_source s WHERE s.id = $1";
	static const char sql_name[] =
	    "SELECT " SOURCE_COLS " FROM data_source s WHERE s.name = $1";
	const char *p[] = { id != NULL ? id : name };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, id != NULL ? sql_id : sql_name, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	source_fill(a, res, 0, s);
	return PGS_OK;
}

enum pgs_rc
source_list(struct db *db, struct arena *a, struct source_list *out)
{
	static const char sql[] =
	    "SELECT " SOURCE_COLS " FROM data_source s ORDER BY s.id";
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	rc = db_query(db, a, sql, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n);
	for (i = 0; i < out->n; i++)
		source_fill(a, res, i, &out->items[i]);
	return PGS_OK;
}

enum pgs_rc
source_names(struct db *db, struct arena *a, struct source_list *out)
{
	static const char sql[] =
	    "SELECT s.id, s.name FROM data_source s ORDER BY s.name, s.id";
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	rc = db_query(db, a, sql, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n);
	for (i = 0; i < out->n; i++) {
		memset(&out->items[i], 0, sizeof(out->items[i]));
		out->items[i].id = db_long(res, i, 0);
		out->items[i].name = db_str(a, res, i, 1);
	}
	return PGS_OK;
}

enum pgs_rc
source_update(struct db *db, struct arena *a, const struct source *s)
{
	static const char sql[] =
	    "UPDATE data_source SET name = $2, host = $3, port = $4,"
	    " dbname = $5, username = $6, enc_password = $7,"
	    " key_version = $8, updated_at = now()"
	    " WHERE id = $1 RETURNING id";
	char	    id[24], port[16], kv[16];
	const char *p[8];
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(id, sizeof(id), "%ld", s->id);
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(kv, sizeof(kv), "%d", s->key_version);
	p[0] = id;
	p[1] = s->name;
	p[2] = s->host;
	p[3] = port;
	p[4] = s->dbname;
	p[5] = s->username;
	p[6] = source_hex(a, s->enc_password, s->enc_len);
	p[7] = kv;
	rc = db_query(db, a, sql, 8, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

bool
source_needs_password(const struct source *was, const struct source *next,
    bool new_secret)
{
	if (new_secret || was->enc_len == 0)
		return false;
	return strcmp(was->host, next->host) != 0 || was->port != next->port ||
	    strcmp(was->dbname, next->dbname) != 0 ||
	    strcmp(was->username, next->username) != 0;
}

enum pgs_rc
source_rekey(struct db *db, struct arena *a, long id, const unsigned char *old,
    size_t oldlen, const unsigned char *enc, size_t enclen, int key_version)
{
	static const char sql[] =
	    "UPDATE data_source SET enc_password = $3, key_version = $4,"
	    " updated_at = now() WHERE id = $1 AND enc_password = $2"
	    " RETURNING id";
	char	    ids[24], kv[16];
	const char *p[4];
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	snprintf(kv, sizeof(kv), "%d", key_version);
	p[0] = ids;
	p[1] = source_hex(a, old, oldlen);
	p[2] = source_hex(a, enc, enclen);
	p[3] = kv;
	rc = db_query(db, a, sql, 4, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_CONFLICT;
	return rc;
}

enum pgs_rc
source_delete(struct db *db, struct arena *a, long id, bool force)
{
	static const char sql_queries[] =
	    "DELETE FROM query_job WHERE data_source_id = $1";
	static const char sql[] =
	    "DELETE FROM data_source WHERE id = $1 RETURNING id";
	char	    ids[24];
	const char *p[] = { ids };
	PGresult   *res;
	enum pgs_rc rc;

	snprintf(ids, sizeof(ids), "%ld", id);
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	if (force)
		rc = db_cmd(db, a, sql_queries, 1, p);
	if (rc == PGS_OK)
		rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	/* Without force, the foreign key refuses while queries use it. */
	if (rc == PGS_INVALID && strcmp(db->sqlstate, "23503") == 0)
		rc = PGS_CONFLICT;
	return db_end(db, rc);
}
