/*
 * source_conn.c: connecting to a data source from its stored row, the one
 * place that opens a source's sealed password (see source_conn.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "mono.h"
#include "notify_rules.h"
#include "secret.h"
#include "source_conn.h"

/*
 * The one call of cred_open in the tree: opens the ciphertext enc (len
 * bytes) with k into pw (cap bytes, the caller's, who wipes it).  Returns
 * PGS_OK or PGS_INVALID with "credential unavailable: ..." in err (also
 * when none is stored).
 */
static enum pgs_rc
source_conn_password(const struct cred_keys *k, const unsigned char *enc,
    size_t len, char *pw, size_t cap, int *which, char *err, size_t errlen)
{
	pw[0] = '\0';
	return cred_open(k, enc, len, pw, cap, which, err, errlen);
}

void
source_conn_params(const struct source *s, const char *pw, const char *port,
    const char *appname, const char **keys, const char **vals)
{
	/*
	 * TCP keepalives and tcp_user_timeout notice a dropped network path
	 * (Unix sockets ignore them); the deadlines of exec.c's waits notice
	 * a backend that stopped answering.
	 */
	static const char *const names[SOURCE_CONN_NPARAMS] = { "host", "port",
		"dbname", "user", "password", "application_name",
		"client_encoding", "options", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		NULL };

	memcpy(keys, names, sizeof(names));
	vals[0] = s->host;
	vals[1] = port;
	vals[2] = s->dbname;
	vals[3] = s->username;
	vals[4] = pw;
	vals[5] = appname;
	vals[6] = "UTF8";
	/*
	 * Fixed output forms the serialiser relies on, and the lexer
	 * settings libpg_query assumes: the text sqlguard checked is the
	 * text the server runs, whatever the source's defaults (with
	 * standard_conforming_strings off, 'a\'' would end elsewhere).
	 */
	vals[7] = "-c TimeZone=UTC -c DateStyle=ISO,YMD "
		  "-c IntervalStyle=postgres -c bytea_output=hex "
		  "-c extra_float_digits=1 -c standard_conforming_strings=on "
		  "-c backslash_quote=safe_encoding";
	vals[8] = "1";
	vals[9] = "30";
	vals[10] = "10";
	vals[11] = "3";
	vals[12] = "30000";
	vals[13] = NULL;
}

/* Copies the first line of conn's error message (or why) into err. */
static enum pgs_rc
source_conn_fail(PGconn *conn, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s",
	    why != NULL	     ? why :
		conn != NULL ? PQerrorMessage(conn) :
			       "out of memory");
	err[strcspn(err, "\n")] = '\0';
	return PGS_DB;
}

/*
 * Drives conn's connection sequence (PQconnectPoll) within timeout_s
 * seconds of this call (0: no limit): to its end, or with until_sent only
 * until the startup packet is out, after which the server does its part
 * (a backend, authentication) without us.
 */
static enum pgs_rc
source_conn_drive(PGconn *conn, int timeout_s, bool until_sent, char *err,
    size_t errlen)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pollfd		  pfd;
	long			  deadline, left;
	int			  n;

	deadline = timeout_s > 0 ? mono_ms() + timeout_s * 1000L : -1;
	for (;;) {
		switch (PQstatus(conn)) {
		case CONNECTION_OK:
			/* Never block on the source again: every later
			 * wait is a poll with a deadline, and PQfinish
			 * drops the connection without waiting. */
			if (PQsetnonblocking(conn, 1) != 0)
				return source_conn_fail(conn, NULL, err,
				    errlen);
			return PGS_OK;
		case CONNECTION_BAD:
			return source_conn_fail(conn, NULL, err, errlen);
		case CONNECTION_AWAITING_RESPONSE:
			if (until_sent)
				return PGS_OK;
			break;
		default:
			break;
		}
		if (st == PGRES_POLLING_FAILED)
			return source_conn_fail(conn, NULL, err, errlen);
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		left = deadline < 0 ? -1 : deadline - mono_ms();
		if (deadline >= 0 && left <= 0)
			return source_conn_fail(conn, "timeout expired", err,
			    errlen);
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return source_conn_fail(conn, strerror(errno), err,
			    errlen);
		if (n > 0)
			st = PQconnectPoll(conn);
	}
}

enum pgs_rc
source_conn_start(const struct cred_keys *k, const struct source *s,
    const struct exec_opts *o, PGconn **out, int *which, char *err,
    size_t errlen)
{
	const char *keys[SOURCE_CONN_NPARAMS], *vals[SOURCE_CONN_NPARAMS];
	char	    pw[CRED_PASSWORD_MAX + 1], port[16];
	PGconn	   *conn = NULL;
	enum pgs_rc rc;

	*out = NULL;
	rc = source_conn_password(k, s->enc_password, s->enc_len, pw,
	    sizeof(pw), which, err, errlen);
	if (rc == PGS_OK) {
		snprintf(port, sizeof(port), "%d", s->port);
		source_conn_params(s, pw, port, o->appname, keys, vals);
		/* expand_dbname = 0: a dbname is a name, never a conninfo
		 * string.  libpq keeps its own copy of the password. */
		conn = PQconnectStartParams(keys, vals, 0);
		rc = conn == NULL ?
		    source_conn_fail(NULL, NULL, err, errlen) :
		    source_conn_drive(conn, o->connect_timeout_s, true, err,
			errlen);
	}
	sodium_memzero(pw, sizeof(pw));
	if (rc != PGS_OK) {
		PQfinish(conn);
		return rc;
	}
	*out = conn;
	return PGS_OK;
}

enum pgs_rc
source_conn_finish(PGconn *conn, const struct exec_opts *o, char *err,
    size_t errlen)
{
	return source_conn_drive(conn, o->connect_timeout_s, false, err,
	    errlen);
}

enum pgs_rc
source_conn_open(const struct cred_keys *k, const struct source *s,
    const struct exec_opts *o, PGconn **out, int *which, char *err,
    size_t errlen)
{
	enum pgs_rc rc;

	rc = source_conn_start(k, s, o, out, which, err, errlen);
	if (rc == PGS_OK)
		rc = source_conn_finish(*out, o, err, errlen);
	if (rc != PGS_OK && *out != NULL) {
		PQfinish(*out);
		*out = NULL;
	}
	return rc;
}

bool
source_conn_can_open(const struct cred_keys *k, const unsigned char *enc,
    size_t len)
{
	char	    pw[CRED_PASSWORD_MAX + 1], err[160];
	enum pgs_rc rc;

	rc = source_conn_password(k, enc, len, pw, sizeof(pw), NULL, err,
	    sizeof(err));
	sodium_memzero(pw, sizeof(pw));
	return rc == PGS_OK;
}

/*
 * Seals the ciphertext old (len bytes) again for k's next key, opening it
 * into pw (cap bytes, the caller's, wiped here): *enc gets the new
 * ciphertext (arena-owned), or NULL when old is under the next key
 * already.  Same rcs as source_conn_reseal.
 */
static enum pgs_rc
source_conn_reseal_text(const struct cred_keys *k, struct arena *a,
    const unsigned char *old, size_t len, char *pw, size_t cap,
    unsigned char **enc, size_t *enclen, char *err, size_t errlen)
{
	size_t	    n;
	enum pgs_rc rc;
	int	    which = 0;

	*enc = NULL;
	*enclen = 0;
	if (k->next_sk == NULL) {
		snprintf(err, errlen, "credential unavailable: no next key");
		return PGS_INVALID;
	}
	rc = source_conn_password(k, old, len, pw, cap, &which, err, errlen);
	if (rc == PGS_OK && which == 0) {
		n = strlen(pw);
		*enc = arena_alloc(a, SECRET_SEALED_LEN(n));
		rc = secret_seal(k->next_pk, pw, n, *enc, SECRET_SEALED_LEN(n),
		    enclen);
		if (rc != PGS_OK) {
			*enc = NULL;
			snprintf(err, errlen,
			    "cannot seal the secret for "
			    "the next key");
		}
	}
	sodium_memzero(pw, cap);
	return rc;
}

enum pgs_rc
source_conn_reseal(const struct cred_keys *k, struct arena *a,
    const struct source *s, unsigned char **enc, size_t *enclen, char *err,
    size_t errlen)
{
	char pw[CRED_PASSWORD_MAX + 1];

	return source_conn_reseal_text(k, a, s->enc_password, s->enc_len, pw,
	    sizeof(pw), enc, enclen, err, errlen);
}

enum pgs_rc
source_conn_channel_reseal(const struct cred_keys *k, struct arena *a,
    const unsigned char *old, size_t len, unsigned char **enc, size_t *enclen,
    char *err, size_t errlen)
{
	char text[SSRF_URL_MAX + WEBHOOK_SECRET_SIZE];

	*enc = NULL;
	*enclen = 0;
	if (len == 0)
		return PGS_OK;
	return source_conn_reseal_text(k, a, old, len, text, sizeof(text), enc,
	    enclen, err, errlen);
}

enum pgs_rc
source_conn_channel_open(const struct cred_keys *k, const struct channel *ch,
    int overlap_hours, char *url, size_t cap, struct webhook_keys *keys,
    char *err, size_t errlen)
{
	enum pgs_rc rc = PGS_OK;

	memset(keys, 0, sizeof(*keys));
	url[0] = '\0';
	if (ch->enc_target_len > 0)
		rc = source_conn_channel_target(k, ch->enc_target,
		    ch->enc_target_len, url, cap, err, errlen);
	if (rc == PGS_OK && ch->enc_secret_len > 0)
		rc = source_conn_channel_key(k, ch->enc_secret,
		    ch->enc_secret_len, keys, err, errlen);
	if (rc == PGS_OK && ch->enc_secret_prev_len > 0 &&
	    notify_rules_prev_signs(ch->rotated_age_s, overlap_hours))
		rc = source_conn_channel_key(k, ch->enc_secret_prev,
		    ch->enc_secret_prev_len, keys, err, errlen);
	if (rc != PGS_OK) {
		webhook_keys_wipe(keys);
		sodium_memzero(url, cap);
		url[0] = '\0';
	}
	return rc;
}

enum pgs_rc
source_conn_channel_target(const struct cred_keys *k, const unsigned char *enc,
    size_t len, char *url, size_t cap, char *err, size_t errlen)
{
	enum pgs_rc rc;

	rc = source_conn_password(k, enc, len, url, cap, NULL, err, errlen);
	if (rc != PGS_OK)
		sodium_memzero(url, cap);
	return rc;
}

enum pgs_rc
source_conn_channel_key(const struct cred_keys *k, const unsigned char *enc,
    size_t len, struct webhook_keys *ks, char *err, size_t errlen)
{
	char	    secret[WEBHOOK_SECRET_SIZE + 1];
	enum pgs_rc rc;

	rc = source_conn_password(k, enc, len, secret, sizeof(secret), NULL,
	    err, errlen);
	if (rc == PGS_OK && webhook_keys_add(ks, secret) != PGS_OK) {
		snprintf(err, errlen,
		    "credential unavailable: the stored signing "
		    "secret is not a whsec_ secret");
		rc = PGS_INVALID;
	}
	sodium_memzero(secret, sizeof(secret));
	return rc;
}
