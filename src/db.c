/*
 * db.c: libpq access to the metadata database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

char *
db_normalize_dsn(const char *dsn, char *err, size_t errlen)
{
	static const char *const schemes[] = { "postgresql", "postgres" };
	const char	*plus, *rest;
	char		*out;
	size_t		 i, n;

	if (dsn == NULL || *dsn == '\0') {
		snprintf(err, errlen, "empty database DSN");
		return NULL;
	}
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i]);
		if (strncmp(dsn, schemes[i], n) != 0)
			continue;
		if (strncmp(dsn + n, "://", 3) == 0)
			return xstrdup(dsn);
		if (dsn[n] != '+')
			continue;
		/* SQLAlchemy form: postgresql+psycopg2://... */
		plus = dsn + n;
		rest = strstr(plus, "://");
		if (rest == NULL)
			break;
		out = xmalloc(n + strlen(rest) + 1);
		memcpy(out, dsn, n);
		strcpy(out + n, rest);
		return out;
	}
	if (strstr(dsn, "://") == NULL && strchr(dsn, '=') != NULL)
		return xstrdup(dsn);
	snprintf(err, errlen, "not a PostgreSQL DSN (expected postgresql://"
	    "..., postgresql+psycopg2://... or key=value pairs)");
	return NULL;
}

static void
db_clear_error(struct db *db)
{
	db->sqlstate[0] = '\0';
	db->constraint[0] = '\0';
	db->column[0] = '\0';
	db->errmsg[0] = '\0';
}

/* Copies libpq's message without its trailing newline. */
static void
db_set_errmsg(struct db *db, const char *msg)
{
	size_t	 n;

	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	n = strlen(db->errmsg);
	while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
		db->errmsg[--n] = '\0';
	/* libpq messages can span lines (DETAIL): keep the first. */
	db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
}

enum pgs_rc
db_connect(struct db *db, const char *dsn, int timeout_s, const char *appname)
{
	const char	*keys[] = { "dbname", "connect_timeout",
	    "application_name", "options", NULL };
	const char	*vals[5];
	char		 tmo[16], err[128];
	char		*norm;

	memset(db, 0, sizeof(*db));
	db->default_interval_s = 21600;
	norm = db_normalize_dsn(dsn, err, sizeof(err));
	if (norm == NULL) {
		snprintf(db->errmsg, sizeof(db->errmsg), "PG_DSN_APP: %s", err);
		return PGS_INVALID;
	}
	snprintf(tmo, sizeof(tmo), "%d", timeout_s);
	/* expand_dbname: the first dbname value is parsed as a conninfo. */
	vals[0] = norm;
	vals[1] = tmo;
	vals[2] = appname;
	vals[3] = "-c TimeZone=UTC";
	vals[4] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	free(norm);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_set_errmsg(db, db->conn ? PQerrorMessage(db->conn) :
		    "out of memory");
		PQfinish(db->conn);
		db->conn = NULL;
		return PGS_DB;
	}
	return PGS_OK;
}

void
db_close(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = 0;
}

bool
db_alive(struct db *db)
{
	if (db->conn == NULL)
		return false;
	if (PQstatus(db->conn) == CONNECTION_OK)
		return true;
	PQreset(db->conn);
	db->in_tx = 0;
	return PQstatus(db->conn) == CONNECTION_OK;
}

static enum pgs_rc
db_map_sqlstate(const char *st)
{
	if (st == NULL || *st == '\0')
		return PGS_DB;		/* no SQLSTATE: the connection failed */
	if (strcmp(st, "23505") == 0)
		return PGS_CONFLICT;
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return PGS_CONFLICT;
	if (strcmp(st, "23503") == 0 || strcmp(st, "23502") == 0 ||
	    strcmp(st, "23514") == 0 || strncmp(st, "22", 2) == 0)
		return PGS_INVALID;
	if (strcmp(st, "57014") == 0 || strcmp(st, "55P03") == 0)
		return PGS_TIMEOUT;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 ||
	    strcmp(st, "53300") == 0)
		return PGS_DB;
	return PGS_INTERNAL;
}

/* Records the failure of res (may be NULL) and returns its rc. */
static enum pgs_rc
db_fail(struct db *db, const PGresult *res, const char *sql)
{
	const char	*st, *con, *col;
	enum pgs_rc	 rc;

	st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	con = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	col = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st ? st : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s", con ? con : "");
	snprintf(db->column, sizeof(db->column), "%s", col ? col : "");
	if (res != NULL && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		db_set_errmsg(db,
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	else
		db_set_errmsg(db, PQerrorMessage(db->conn));
	rc = db_map_sqlstate(st);
	if (res == NULL || PQstatus(db->conn) != CONNECTION_OK)
		rc = PGS_DB;
	/* Expected outcomes (a duplicate, a bad value) are the caller's to
	 * report; a database failure is logged here, where it is known. */
	if (rc == PGS_DB || rc == PGS_INTERNAL)
		log_err("db_error", "sqlstate=%s rc=%s stmt=\"%.40s\" %s",
		    st ? st : "-", rc_name(rc), sql, db->errmsg);
	return rc;
}

enum pgs_rc
db_exec(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params, ExecStatusType expect, PGresult **out)
{
	PGresult	*res;

	db_clear_error(db);
	if (out != NULL)
		*out = NULL;
	if (db->conn == NULL) {
		snprintf(db->errmsg, sizeof(db->errmsg), "not connected");
		return PGS_DB;
	}
	res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != expect) {
		enum pgs_rc rc = db_fail(db, res, sql);

		PQclear(res);
		return rc;
	}
	if (out != NULL && a != NULL) {
		arena_defer(a, (void (*)(void *))PQclear, res);
		*out = res;
	} else
		PQclear(res);
	return PGS_OK;
}

enum pgs_rc
db_query(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params, PGresult **out)
{
	return db_exec(db, a, sql, n, params, PGRES_TUPLES_OK, out);
}

enum pgs_rc
db_cmd(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params)
{
	return db_exec(db, a, sql, n, params, PGRES_COMMAND_OK, NULL);
}

enum pgs_rc
db_script(struct db *db, const char *sql)
{
	PGresult	*res;
	enum pgs_rc	 rc = PGS_OK;

	db_clear_error(db);
	res = PQexec(db->conn, sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = db_fail(db, res, "script");
	PQclear(res);
	return rc;
}

enum pgs_rc
db_begin(struct db *db)
{
	enum pgs_rc	 rc;

	rc = db_cmd(db, NULL, "BEGIN", 0, NULL);
	if (rc == PGS_OK)
		db->in_tx = 1;
	return rc;
}

enum pgs_rc
db_end(struct db *db, enum pgs_rc rc)
{
	enum pgs_rc	 crc;

	if (!db->in_tx)
		return rc;
	db->in_tx = 0;
	if (rc != PGS_OK) {
		/* Keep the first failure's message for the caller. */
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
			PGresult *res = PQexec(db->conn, "ROLLBACK");

			PQclear(res);
		}
		return rc;
	}
	crc = db_cmd(db, NULL, "COMMIT", 0, NULL);
	return crc;
}

char *
db_str(struct arena *a, const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return NULL;
	return arena_strdup(a, PQgetvalue(res, r, c));
}

long
db_long(const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return 0;
	return strtol(PQgetvalue(res, r, c), NULL, 10);
}

bool
db_bool(const PGresult *res, int r, int c)
{
	return !PQgetisnull(res, r, c) && PQgetvalue(res, r, c)[0] == 't';
}

const char *
db_error(const struct db *db)
{
	return db->errmsg[0] != '\0' ? db->errmsg : "database error";
}
