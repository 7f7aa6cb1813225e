/*
 * db.c: libpq access to the metadata database.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "mono.h"

char *
db_normalize_dsn(const char *dsn, char *err, size_t errlen)
{
	static const char *const schemes[] = { "postgresql", "postgres" };
	const char		*plus, *rest;
	char			*out;
	size_t			 i, n;

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
	snprintf(err, errlen,
	    "not a PostgreSQL DSN (expected postgresql://"
	    "..., postgresql+psycopg2://... or key=value pairs)");
	return NULL;
}

/*
 * Returns the reason why a URL's user name or password cannot be where
 * libpq looks for them (up to the first '@' before the first '/'), or
 * NULL.  Such a password would reach libpq as a host, a port or a
 * database name, which its connection errors quote; where libpq expects
 * it, it is never quoted.
 */
static const char *
db_dsn_userinfo(const char *url)
{
	const char *p = strstr(url, "://"), *slash;
	size_t	    ats = 0;

	if (p == NULL)
		return NULL;
	p += 3;
	slash = p + strcspn(p, "/");
	for (; *p != '\0' && *p != '?'; p++) {
		if (*p != '@')
			continue;
		ats++;
		if (ats > 1)
			return "has more than one '@' in its user:password@ "
			       "part; percent-encode '@' as %40";
		if (p > slash)
			return "has an '@' after the first '/'; percent-encode "
			       "'/' in the user name and password as %2F";
	}
	return NULL;
}

/*
 * Writes "why" for libpq's message about a connection string that does
 * not parse: every fragment the message quotes from the string becomes
 * ***, since a malformed string may hold its password anywhere, and
 * libpq's own punctuation ("=", "]", ":", "/") stays.  When the string
 * holds a double quote itself, quotes cannot be paired: the message
 * stops at its first one.
 */
static void
db_dsn_parse_error(const char *dsn, const char *msg, char *why, size_t n)
{
	struct buf  b = BUF_INIT;
	const char *q, *e;
	char	   *text;

	buf_puts(&b, "is not a valid connection string: ");
	while ((q = strchr(msg, '"')) != NULL) {
		buf_append(&b, msg, (size_t)(q - msg));
		e = strchr(q + 1, '"');
		if (strchr(dsn, '"') != NULL || e == NULL) {
			msg = "(the value is not shown)";
			break;
		}
		if (e == q + 2 && strchr("=]:/", q[1]) != NULL)
			buf_append(&b, q, 3);
		else
			buf_puts(&b, "\"***\"");
		msg = e + 1;
	}
	buf_puts(&b, msg);
	text = buf_steal(&b);
	text[strcspn(text, "\n")] = '\0';
	snprintf(why, n, "%s", text);
	free(text);
}

enum pgs_rc
db_check_dsn(const char *dsn, char *why, size_t n)
{
	PQconninfoOption *opts;
	const char	 *bad;
	char		 *norm, *msg = NULL, err[160];
	enum pgs_rc	  rc = PGS_OK;

	if (dsn == NULL || *dsn == '\0') {
		snprintf(why, n, "is empty");
		return PGS_INVALID;
	}
	norm = db_normalize_dsn(dsn, err, sizeof(err));
	if (norm == NULL) {
		snprintf(why, n, "is %s", err);
		return PGS_INVALID;
	}
	bad = strstr(norm, "://") != NULL ? db_dsn_userinfo(norm) : NULL;
	if (bad != NULL) {
		snprintf(why, n, "%s", bad);
		rc = PGS_INVALID;
		goto out;
	}
	opts = PQconninfoParse(norm, &msg);
	if (opts == NULL) {
		db_dsn_parse_error(norm, msg != NULL ? msg : "out of memory",
		    why, n);
		rc = PGS_INVALID;
	}
	PQfreemem(msg);
	PQconninfoFree(opts);
out:
	free(norm);
	return rc;
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
	size_t n;

	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	n = strlen(db->errmsg);
	while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
		db->errmsg[--n] = '\0';
	/* libpq messages can span lines (DETAIL): keep the first. */
	db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
}

/*
 * The server's side of the liveness rule (db.h), as the session's startup
 * options; integers only, written into the caller's buffer.
 */
static void
db_net_options(int t, char *buf, size_t len)
{
	if (t <= 0) {
		snprintf(buf, len, "-c TimeZone=UTC");
		return;
	}
	snprintf(buf, len,
	    "-c TimeZone=UTC -c tcp_keepalives_idle=%d"
	    " -c tcp_keepalives_interval=%d -c tcp_keepalives_count=3"
	    " -c tcp_user_timeout=%d",
	    t / 3 > 0 ? t / 3 : 1, t / 10 > 0 ? t / 10 : 1, t * 1000);
}

/* A runner session's notice receiver: logs the server's notice and keeps
 * it (a FATAL the server sends before it ends an idle session arrives
 * this way). */
static void
db_notice(void *arg, const PGresult *res)
{
	struct db  *db = arg;
	const char *sev, *msg;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(db->notice, sizeof(db->notice), "%s: %s", sev ? sev : "NOTICE",
	    msg ? msg : "");
	/* Only said before the server closes the session. */
	if (sev != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		db->ended = true;
	log_warn("db_notice", "%s", db->notice);
}

enum pgs_rc
db_connect(struct db *db, const char *dsn, int timeout_s, const char *appname)
{
	return db_connect_net(db, dsn, timeout_s, appname, 0);
}

enum pgs_rc
db_connect_net(struct db *db, const char *dsn, int timeout_s,
    const char *appname, int net_timeout_s)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
		"options", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		NULL };
	const char *vals[10];
	char	    tmo[16], err[200], opts[192], ka[16], utmo[16];
	char	   *norm;
	int	    t = net_timeout_s;

	memset(db, 0, sizeof(*db));
	db->default_interval_s = 21600;
	if (db_check_dsn(dsn, err, sizeof(err)) != PGS_OK) {
		snprintf(db->errmsg, sizeof(db->errmsg), "PG_DSN_APP %s", err);
		return PGS_INVALID;
	}
	norm = db_normalize_dsn(dsn, err, sizeof(err));
	snprintf(tmo, sizeof(tmo), "%d", timeout_s);
	db_net_options(t, opts, sizeof(opts));
	/* The client's side of the rule: probes after t/10 of silence,
	 * every t/10, and unanswered data given up after t/3. */
	snprintf(ka, sizeof(ka), "%d", t / 10 > 0 ? t / 10 : 1);
	snprintf(utmo, sizeof(utmo), "%d", t * 1000 / 3);
	/* expand_dbname: the first dbname value is parsed as a conninfo. */
	vals[0] = norm;
	vals[1] = tmo;
	vals[2] = appname;
	vals[3] = opts;
	vals[4] = t > 0 ? "1" : NULL;
	vals[5] = t > 0 ? ka : NULL;
	vals[6] = t > 0 ? ka : NULL;
	vals[7] = t > 0 ? "3" : NULL;
	vals[8] = t > 0 ? utmo : NULL;
	vals[9] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	free(norm);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_set_errmsg(db,
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		PQfinish(db->conn);
		db->conn = NULL;
		return PGS_DB;
	}
	if (t > 0)
		PQsetNoticeReceiver(db->conn, db_notice, db);
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
db_lost(const struct db *db)
{
	return db->conn == NULL || db->ended ||
	    PQstatus(db->conn) != CONNECTION_OK;
}

int
db_socket(const struct db *db)
{
	return db->conn != NULL ? PQsocket(db->conn) : -1;
}

enum pgs_rc
db_probe_send(struct db *db)
{
	if (db->probing)
		return PGS_OK;
	if (db_lost(db) || PQsendQuery(db->conn, "SELECT 1") != 1) {
		db_set_errmsg(db,
		    db->conn ? PQerrorMessage(db->conn) : "not connected");
		return PGS_DB;
	}
	db->probing = true;
	return PGS_OK;
}

/* Says why the session is gone: the server's last word (a FATAL), if
 * any, and libpq's. */
static void
db_probe_lost(struct db *db)
{
	char lib[128];

	snprintf(lib, sizeof(lib), "%s",
	    db->conn != NULL ? PQerrorMessage(db->conn) : "not connected");
	lib[strcspn(lib, "\n")] = '\0';
	snprintf(db->errmsg, sizeof(db->errmsg), "%.150s%s%.100s",
	    db->ended ? db->notice : "", db->ended ? "; " : "", lib);
}

const char *
db_lost_reason(struct db *db)
{
	db_probe_lost(db);
	return db->errmsg;
}

enum pgs_rc
db_probe_read(struct db *db, bool *answered)
{
	PGresult *res;
	bool	  ok = true;

	*answered = false;
	/* Also when no probe is pending: a server that ends the session
	 * (a timeout, a terminate) says so, then closes the socket. */
	if (db_lost(db) || PQconsumeInput(db->conn) != 1) {
		/* Parse what did arrive: the server's reason (a notice). */
		if (db->conn != NULL)
			(void)PQisBusy(db->conn);
		db_probe_lost(db);
		return PGS_DB;
	}
	(void)PQisBusy(db->conn); /* parses notices too */
	while (db->probing && PQisBusy(db->conn) == 0) {
		res = PQgetResult(db->conn);
		if (res == NULL) {
			db->probing = false;
			*answered = true;
			break;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			db_set_errmsg(db, PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
	}
	if (ok && db_lost(db))
		db_probe_lost(db);
	return ok && !db_lost(db) ? PGS_OK : PGS_DB;
}

enum pgs_rc
db_probe_wait(struct db *db, int timeout_ms)
{
	struct pollfd pfd;
	enum pgs_rc   rc = PGS_OK;
	bool	      answered = !db->probing;
	long	      t0 = mono_ms(), left = timeout_ms;
	int	      n;

	while (!answered && rc == PGS_OK && left > 0) {
		pfd.fd = db_socket(db);
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n != 0)
			rc = db_probe_read(db, &answered);
		left = timeout_ms - (mono_ms() - t0);
	}
	if (rc == PGS_OK && !answered) {
		snprintf(db->errmsg, sizeof(db->errmsg),
		    "no answer from the "
		    "metadata database within %d ms",
		    timeout_ms);
		rc = PGS_TIMEOUT;
	}
	return rc;
}

static enum pgs_rc
db_map_sqlstate(const char *st)
{
	if (st == NULL || *st == '\0')
		return PGS_DB; /* no SQLSTATE: the connection failed */
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
	const char *st, *con, *col;
	char	    stmt[96];
	enum pgs_rc rc;

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
		log_err("db_error", "sqlstate=%s rc=%s stmt=\"%s\" %s",
		    st ? st : "-", rc_name(rc),
		    log_quote(sql, 40, stmt, sizeof(stmt)), db->errmsg);
	return rc;
}

/*
 * Opens a lost session again when it may be (db->reconnect, outside a
 * transaction: the failed statement is then simply run again).  Returns
 * true when the session is back.
 */
static bool
db_revive(struct db *db, const PGresult *res)
{
	if (!db->reconnect || db->in_tx || !db_lost(db))
		return false;
	/* The server's reason came as a notice, or as this result. */
	if (!db->ended && res != NULL && *PQresultErrorMessage(res) != '\0')
		db_set_errmsg(db, PQresultErrorMessage(res));
	else
		db_probe_lost(db);
	log_warn("db_reconnect",
	    "the metadata session was lost (%s): "
	    "connecting again",
	    db->errmsg);
	PQreset(db->conn);
	db->backend_pid = 0;
	db->notice[0] = '\0';
	db->ended = false;
	return PQstatus(db->conn) == CONNECTION_OK;
}

enum pgs_rc
db_exec(struct db *db, struct arena *a, const char *sql, int n,
    const char *const *params, ExecStatusType expect, PGresult **out)
{
	PGresult *res;

	db_clear_error(db);
	if (out != NULL)
		*out = NULL;
	if (db->conn == NULL) {
		snprintf(db->errmsg, sizeof(db->errmsg), "not connected");
		return PGS_DB;
	}
	res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
	if ((res == NULL || PQresultStatus(res) != expect) &&
	    db_revive(db, res)) {
		PQclear(res);
		res =
		    PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
	}
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
	PGresult   *res;
	enum pgs_rc rc = PGS_OK;

	db_clear_error(db);
	res = PQexec(db->conn, sql);
	if (res == NULL ||
	    (PQresultStatus(res) != PGRES_COMMAND_OK &&
		PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = db_fail(db, res, "script");
	PQclear(res);
	return rc;
}

enum pgs_rc
db_session(struct db *db, int *pid, const char **since)
{
	static const char sql[] =
	    "SELECT pid, backend_start FROM pg_stat_activity"
	    " WHERE pid = pg_backend_pid()";
	struct arena a;
	PGresult    *res;
	enum pgs_rc  rc = PGS_OK;

	if (db->backend_pid == 0) {
		arena_init(&a);
		rc = db_query(db, &a, sql, 0, NULL, &res);
		if (rc == PGS_OK &&
		    (PQntuples(res) != 1 || PQgetisnull(res, 0, 1))) {
			snprintf(db->errmsg, sizeof(db->errmsg),
			    "pg_stat_activity does not show this session");
			rc = PGS_INTERNAL;
		}
		if (rc == PGS_OK) {
			snprintf(db->backend_start, sizeof(db->backend_start),
			    "%s", PQgetvalue(res, 0, 1));
			db->backend_pid = (int)db_long(res, 0, 0);
		}
		arena_free(&a);
	}
	*pid = db->backend_pid;
	*since = db->backend_start;
	return rc;
}

enum pgs_rc
db_begin(struct db *db)
{
	enum pgs_rc rc;

	rc = db_cmd(db, NULL, "BEGIN", 0, NULL);
	if (rc == PGS_OK)
		db->in_tx = 1;
	return rc;
}

enum pgs_rc
db_end(struct db *db, enum pgs_rc rc)
{
	enum pgs_rc crc;

	if (!db->in_tx)
		return rc;
	if (rc != PGS_OK) {
		db->in_tx = 0;
		/* Keep the first failure's message for the caller. */
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
			PGresult *res = PQexec(db->conn, "ROLLBACK");

			PQclear(res);
		}
		return rc;
	}
	/* Still in_tx while committing: a COMMIT is never retried on a new
	 * session (db_revive), where it would find nothing to commit. */
	crc = db_cmd(db, NULL, "COMMIT", 0, NULL);
	db->in_tx = 0;
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
