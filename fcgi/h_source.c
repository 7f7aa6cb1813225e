/*
 * h_source.c: data sources under /api/datasources (admin; their names
 * for editors too).  No answer ever holds a password or a ciphertext.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "b64.h"
#include "exec.h"
#include "log.h"
#include "secret.h"
#include "shape.h"
#include "source_conn.h"

/* {"ok":true,"datasource":{...}} */
static cJSON *
h_source_reply(const struct source *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "datasource", shape_source(s));
	return o;
}

enum pgs_rc
h_source_list(struct req *r)
{
	struct source_list l;
	enum pgs_rc	   rc;

	rc = source_list(&r->app->db, r->a, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_source_list(&l));
}

/* GET /api/datasources/names (editors too): ids and names only. */
enum pgs_rc
h_source_names(struct req *r)
{
	struct source_list l;
	enum pgs_rc	   rc;

	rc = source_names(&r->app->db, r->a, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_source_names(&l));
}

/*
 * Seals a plaintext password, or checks a client-sealed one.  Returns
 * true when the body gave either.
 */
static bool
h_source_read_secret(struct req *r, struct source *s)
{
	const char    *pw, *b64;
	unsigned char *raw;
	size_t	       n, cap;

	req_str(r, "password", CRED_PASSWORD_MAX, false, &pw);
	req_str(r, "enc_password_b64", 4 * CRED_PASSWORD_MAX, false, &b64);
	if (pw != NULL && b64 != NULL) {
		req_field(r, "password",
		    "give password or enc_password_b64, "
		    "not both");
		return true;
	}
	if (pw != NULL) {
		if (cred_seal(&r->app->keys, r->a, pw, &s->enc_password,
			&s->enc_len) != PGS_OK)
			req_field(r, "password", "cannot be sealed");
		return true;
	}
	if (b64 == NULL)
		return false;
	cap = strlen(b64);
	raw = arena_alloc(r->a, cap + 1);
	if (b64_decode(b64, b64_trim_len(b64, cap), raw, cap, &n, B64_STD) !=
		PGS_OK ||
	    n <= SECRET_SEAL_BYTES) {
		req_field(r, "enc_password_b64", "must be a base64 sealed box");
		return true;
	}
	/* A ciphertext we could never open is refused now, not at run time. */
	if (!source_conn_can_open(&r->app->keys, raw, n))
		req_field(r, "enc_password_b64",
		    "does not open with the "
		    "configured key pair");
	s->enc_password = raw;
	s->enc_len = n;
	return true;
}

/*
 * Reads the body into s (create: required fields; patch: overlay, where
 * was is the stored source and a new server needs the password again).
 */
static enum pgs_rc
h_source_read(struct req *r, struct source *s, const struct source *was)
{
	static const char *const allowed[] = { "name", "host", "port", "dbname",
		"username", "password", "enc_password_b64", "key_version",
		NULL };
	const char		*name, *host, *dbname, *user;
	long			 port = s->port, kv = s->key_version;
	bool			 create = was == NULL, secret;

	req_unknown_fields(r, allowed);
	req_str(r, "name", 200, create, &name);
	req_str(r, "host", 255, create, &host);
	req_str(r, "dbname", 255, create, &dbname);
	req_str(r, "username", 255, create, &user);
	req_int(r, "port", 1, 65535, false, &port, NULL);
	req_int(r, "key_version", 1, 1000000, false, &kv, NULL);
	if (name != NULL && *name == '\0')
		req_field(r, "name", "must not be empty");
	if (host != NULL && *host == '\0')
		req_field(r, "host", "must not be empty");
	secret = h_source_read_secret(r, s);
	s->name = name != NULL ? (char *)name : s->name;
	s->host = host != NULL ? (char *)host : s->host;
	s->dbname = dbname != NULL ? (char *)dbname : s->dbname;
	s->username = user != NULL ? (char *)user : s->username;
	s->port = (int)port;
	s->key_version = (int)kv;
	if (!create && source_needs_password(was, s, secret))
		req_field(r, "password",
		    "is required again when host, port, "
		    "dbname or username change");
	return req_fields_rc(r);
}

enum pgs_rc
h_source_create(struct req *r)
{
	struct source s;
	long	      id;
	enum pgs_rc   rc;

	memset(&s, 0, sizeof(s));
	s.port = 5432;
	s.key_version = 1;
	rc = h_source_read(r, &s, NULL);
	if (rc != PGS_OK)
		return rc;
	rc = source_create(&r->app->db, r->a, &s, &id);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "a data source with this "
		    "name exists");
	if (rc == PGS_OK)
		rc = source_get(&r->app->db, r->a,
		    arena_printf(r->a, "%ld", id), NULL, &s);
	if (rc != PGS_OK)
		return rc;
	log_info("source_create", "source=%ld by=%ld created", id, r->user.id);
	reply_header(r, "Location: /api/datasources/%ld", id);
	return reply_json(r, 201, h_source_reply(&s));
}

static enum pgs_rc
h_source_load(struct req *r, struct source *s)
{
	return source_get(&r->app->db, r->a,
	    arena_printf(r->a, "%ld", r->ids[0]), NULL, s);
}

enum pgs_rc
h_source_get(struct req *r)
{
	struct source s;
	enum pgs_rc   rc;

	rc = h_source_load(r, &s);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, h_source_reply(&s));
}

enum pgs_rc
h_source_patch(struct req *r)
{
	struct source s, was;
	enum pgs_rc   rc;

	rc = h_source_load(r, &was);
	if (rc != PGS_OK)
		return rc;
	s = was;
	rc = h_source_read(r, &s, &was);
	if (rc == PGS_OK)
		rc = source_update(&r->app->db, r->a, &s);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "a data source with this "
		    "name exists");
	if (rc == PGS_OK)
		rc = h_source_load(r, &s);
	if (rc != PGS_OK)
		return rc;
	log_info("source_update", "source=%ld by=%ld updated", s.id,
	    r->user.id);
	return reply_json(r, 200, h_source_reply(&s));
}

enum pgs_rc
h_source_delete(struct req *r)
{
	const char *force = req_qparam(r, "force");
	cJSON	   *o;
	enum pgs_rc rc;

	rc = source_delete(&r->app->db, r->a, r->ids[0],
	    force != NULL && strcmp(force, "1") == 0);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "queries use this data "
		    "source; delete them first or pass ?force=1");
	if (rc != PGS_OK)
		return rc;
	log_info("source_delete", "source=%ld by=%ld deleted", r->ids[0],
	    r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

/*
 * Connects to s for the API (application_name pgsched-fcgi).  A password
 * that does not open answers 422 credential_unavailable here; PGS_DB, with
 * libpq's reason in err, when the connection fails.
 */
static enum pgs_rc
h_source_connect(struct req *r, const struct source *s, PGconn **conn,
    char *err, size_t errlen)
{
	struct exec_opts o;
	enum pgs_rc	 rc;

	memset(&o, 0, sizeof(o));
	o.appname = "pgsched-fcgi";
	o.connect_timeout_s = r->app->conf.source_connect_timeout_s;
	rc = source_conn_open(&r->app->keys, s, &o, conn, NULL, err, errlen);
	if (rc != PGS_INVALID)
		return rc;
	log_err("source_key", "source=%ld %s", s->id, err);
	return req_fail(r, PGS_INVALID, "credential_unavailable", "%s", err);
}

enum pgs_rc
h_source_test(struct req *r)
{
	struct source	 s;
	struct exec_opts o;
	struct result	*rs = NULL;
	PGconn		*conn = NULL;
	char		 err[512], warn[1024];
	long		 ms = 0;
	cJSON		*out;
	enum pgs_rc	 rc;

	rc = h_source_load(r, &s);
	if (rc == PGS_OK)
		rc = h_source_connect(r, &s, &conn, err, sizeof(err));
	if (rc == PGS_DB)
		return req_fail(r, PGS_INVALID, "connection_failed", "%s", err);
	if (rc != PGS_OK)
		return rc;
	memset(&o, 0, sizeof(o));
	o.appname = "pgsched-fcgi";
	o.timeout_ms = 10000;
	o.max_rows = 1;
	o.max_bytes = 4096;
	rc = exec_query(conn, "SELECT 1", &o, &rs, &ms, err, sizeof(err));
	warn[0] = '\0';
	if (rc == PGS_OK)
		exec_role_warning(conn, warn, sizeof(warn));
	PQfinish(conn);
	rs_free(rs);
	if (rc != PGS_OK)
		return req_fail(r, PGS_INVALID, "connection_failed", "%s", err);
	out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "ok", true);
	cJSON_AddNumberToObject(out, "timing_ms", (double)ms);
	if (warn[0] != '\0')
		cJSON_AddStringToObject(out, "warning", warn);
	else
		cJSON_AddNullToObject(out, "warning");
	return reply_json(r, 200, out);
}
