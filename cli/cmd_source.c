/*
 * cmd_source.c: pgsched-admin dsn add|edit|list|show|test|rm, and the helpers
 * of dsn.h.  Passwords are sealed with PUBLIC_KEY_B64_PATH at once and
 * wiped; no listing ever prints a password or a ciphertext.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "dsn.h"
#include "mono.h"
#include "query_rules.h"
#include "shape.h"

int
dsn_lookup(struct cli *c, const char *what, const char *who, struct source *s)
{
	enum pgs_rc rc = PGS_NOTFOUND;
	long	    id;

	if (num_parse(who, 1, 2147483647, &id))
		rc = source_get(&c->db, &c->arena, who, NULL, s);
	if (rc == PGS_NOTFOUND)
		rc = source_get(&c->db, &c->arena, NULL, who, s);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR,
		    "%s: %s '%s': %s (see "
		    "'pgsched-admin dsn list')",
		    c->path, what, who, QUERY_RULES_NO_SOURCE);
	return cli_db_fail(c, rc, c->path);
}

int
dsn_keys(struct cli *c, bool need_private, struct cred_keys *k)
{
	char	    err[512];
	enum pgs_rc rc;
	int	    ex;

	memset(k, 0, sizeof(*k));
	ex = cli_require(c, "PUBLIC_KEY_B64_PATH");
	if (ex == 0 && need_private)
		ex = cli_require(c, "APP_PRIVATE_KEY_B64_PATH");
	if (ex != 0)
		return ex;
	rc = cred_load(&c->conf, need_private, k, err, sizeof(err));
	if (rc == PGS_OK)
		return 0;
	return cli_fail(rc == PGS_NOTFOUND ? EX_NOINPUT :
		rc == PGS_INVALID	   ? EX_DATAERR :
					     EX_IOERR,
	    "%s: %s", c->path, err);
}

void
dsn_exec_opts(struct cli *c, int timeout_ms, size_t max_rows,
    struct exec_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->appname = "pgsched-admin";
	o->connect_timeout_s = c->conf.source_connect_timeout_s;
	o->timeout_ms = timeout_ms > 0 ? timeout_ms : c->conf.runner_timeout_ms;
	o->max_rows = max_rows;
	o->max_bytes = (size_t)c->conf.result_max_bytes;
}

enum pgs_rc
dsn_ping(PGconn *conn, const struct exec_opts *o, char *err, size_t errlen)
{
	struct result *rs = NULL;
	enum pgs_rc    rc;
	long	       ms;

	rc = exec_query(conn, "SELECT 1", o, &rs, &ms, err, errlen);
	rs_free(rs);
	return rc;
}

/* Checks the fields of dsn add; 0 or EX_USAGE/EX_DATAERR. */
static int
dsn_check_add(struct cli *c, const char **req, const char *port_s,
    const char *kv_s, long *port, long *kv)
{
	static const char *const names[] = { "name", "host", "dbname",
		"username" };
	int			 i;

	for (i = 0; i < 4; i++)
		if (req[i] == NULL || *req[i] == '\0')
			return cli_fail(EX_USAGE, "%s: --%s is required",
			    c->path, names[i]);
	if (strlen(req[0]) > 200)
		return cli_fail(EX_DATAERR,
		    "%s: --name is longer than 200 "
		    "characters",
		    c->path);
	if (!num_parse(port_s, 1, 65535, port))
		return cli_fail(EX_DATAERR,
		    "%s: --port '%s' is not a port "
		    "number (1-65535)",
		    c->path, port_s);
	if (!num_parse(kv_s, 1, 2147483647, kv))
		return cli_fail(EX_DATAERR,
		    "%s: --key-version '%s' is not a "
		    "positive integer",
		    c->path, kv_s);
	return 0;
}

/* Reads the password and seals it into s; 0 or an exit code. */
static int
dsn_seal(struct cli *c, const struct cred_keys *k, const char *file,
    const char *inline_pw, struct source *s)
{
	char	    pw[CRED_PASSWORD_MAX + 2];
	enum pgs_rc rc;
	int	    ex;

	ex = cli_password(file, inline_pw, "Data source password: ", true, pw,
	    sizeof(pw));
	if (ex == 0 && pw[0] == '\0')
		ex = cli_fail(EX_DATAERR, "%s: the password is empty", c->path);
	if (ex == 0 && strlen(pw) > CRED_PASSWORD_MAX)
		ex = cli_fail(EX_DATAERR,
		    "%s: the password is longer than %d "
		    "bytes",
		    c->path, CRED_PASSWORD_MAX);
	if (ex == 0) {
		rc = cred_seal(k, &c->arena, pw, &s->enc_password, &s->enc_len);
		if (rc != PGS_OK)
			ex = cli_fail(EX_SOFTWARE, "%s: sealing failed",
			    c->path);
	}
	sodium_memzero(pw, sizeof(pw));
	return ex;
}

static int
dsn_add(struct cli *c, int argc, char **argv)
{
	const char	    *req[4] = { NULL, NULL, NULL, NULL };
	const char	    *port_s = "5432", *kv_s = "1", *pwfile = NULL;
	const char	    *pw = NULL;
	const struct cli_opt opts[] = { { "name", true, &req[0], NULL },
		{ "host", true, &req[1], NULL },
		{ "dbname", true, &req[2], NULL },
		{ "username", true, &req[3], NULL },
		{ "port", true, &port_s, NULL },
		{ "key-version", true, &kv_s, NULL },
		{ "password", true, &pw, NULL },
		{ "password-file", true, &pwfile, NULL }, { NULL, 0, 0, 0 } };
	struct cred_keys     k;
	struct source	     s, old;
	enum pgs_rc	     rc;
	long		     port, kv, id;
	int		     ex;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex == 0)
		ex = dsn_check_add(c, req, port_s, kv_s, &port, &kv);
	if (ex == 0)
		ex = dsn_keys(c, false, &k);
	if (ex != 0)
		return ex;
	memset(&s, 0, sizeof(s));
	s.name = (char *)req[0];
	s.host = (char *)req[1];
	s.dbname = (char *)req[2];
	s.username = (char *)req[3];
	s.port = (int)port;
	s.key_version = (int)kv;
	ex = cli_connect(c, true);
	if (ex == 0 &&
	    source_get(&c->db, &c->arena, NULL, s.name, &old) == PGS_OK)
		ex = cli_fail(EX_DATAERR,
		    "%s: a data source named '%s' "
		    "already exists",
		    c->path, s.name);
	if (ex == 0)
		ex = dsn_seal(c, &k, pwfile, pw, &s);
	cred_free(&k);
	if (ex != 0)
		return ex;
	rc = source_create(&c->db, &c->arena, &s, &id);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: a data source named '%s' "
		    "already exists",
		    c->path, s.name);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("created data source %ld (%s), password sealed with key "
	       "version %d\n",
	    id, s.name, s.key_version);
	return 0;
}

static int
cmd_source_list(struct cli *c, int argc, char **argv)
{
	struct source_list l;
	enum pgs_rc	   rc;
	int		   ex, i;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = source_list(&c->db, &c->arena, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_source_list(&l));
		return 0;
	}
	printf("%-6s %-24s %-28s %-20s %-16s %-4s %s\n", "ID", "NAME",
	    "HOST:PORT", "DBNAME", "USERNAME", "KEYV", "QUERIES");
	for (i = 0; i < l.n; i++)
		printf("%-6ld %-24s %-28s %-20s %-16s %-4d %ld\n",
		    l.items[i].id, l.items[i].name,
		    arena_printf(&c->arena, "%s:%d", l.items[i].host,
			l.items[i].port),
		    l.items[i].dbname, l.items[i].username,
		    l.items[i].key_version, l.items[i].query_count);
	return 0;
}

/* Parses "VERB SOURCE" with options, connects, looks the source up. */
static int
dsn_target(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    struct source *s)
{
	const char *who;
	int	    ex;

	ex = cli_target(c, argc, argv, opts, "data source", &who);
	if (ex != 0)
		return ex;
	return dsn_lookup(c, "data source", who, s);
}

/* The options of dsn edit. */
struct dsn_edit {
	const char *name, *host, *port, *dbname, *username, *kv;
	const char *pw, *pwfile;
};

/* Sets *field to v, an option of 1 to max characters, when given; 0 or
 * an exit code after one line. */
static int
dsn_edit_str(struct cli *c, const char *opt, const char *v, size_t max,
    char **field)
{
	if (v == NULL)
		return 0;
	if (*v == '\0' || strlen(v) > max)
		return cli_fail(EX_DATAERR,
		    "%s: --%s must be 1 to %zu "
		    "characters",
		    c->path, opt, max);
	*field = (char *)v;
	return 0;
}

/* Overlays the options of e on s; 0 or an exit code after one line. */
static int
dsn_edit_apply(struct cli *c, const struct dsn_edit *e, struct source *s)
{
	long port = s->port, kv = s->key_version;
	int  ex;

	ex = dsn_edit_str(c, "name", e->name, 200, &s->name);
	if (ex == 0)
		ex = dsn_edit_str(c, "host", e->host, 255, &s->host);
	if (ex == 0)
		ex = dsn_edit_str(c, "dbname", e->dbname, 255, &s->dbname);
	if (ex == 0)
		ex =
		    dsn_edit_str(c, "username", e->username, 255, &s->username);
	if (ex != 0)
		return ex;
	if (e->port != NULL && !num_parse(e->port, 1, 65535, &port))
		return cli_fail(EX_DATAERR,
		    "%s: --port '%s' is not a port "
		    "number (1-65535)",
		    c->path, e->port);
	if (e->kv != NULL && !num_parse(e->kv, 1, 2147483647, &kv))
		return cli_fail(EX_DATAERR,
		    "%s: --key-version '%s' is not a "
		    "positive integer",
		    c->path, e->kv);
	s->port = (int)port;
	s->key_version = (int)kv;
	return 0;
}

static int
dsn_edit(struct cli *c, int argc, char **argv)
{
	struct dsn_edit	     e;
	const struct cli_opt opts[] = { { "name", true, &e.name, NULL },
		{ "host", true, &e.host, NULL },
		{ "port", true, &e.port, NULL },
		{ "dbname", true, &e.dbname, NULL },
		{ "username", true, &e.username, NULL },
		{ "key-version", true, &e.kv, NULL },
		{ "password", true, &e.pw, NULL },
		{ "password-file", true, &e.pwfile, NULL }, { NULL, 0, 0, 0 } };
	struct cred_keys     k;
	struct source	     was, s;
	bool		     secret;
	enum pgs_rc	     rc;
	int		     ex;

	memset(&e, 0, sizeof(e));
	ex = dsn_target(c, argc, argv, opts, &was);
	if (ex != 0)
		return ex;
	s = was;
	ex = dsn_edit_apply(c, &e, &s);
	if (ex != 0)
		return ex;
	secret = e.pw != NULL || e.pwfile != NULL;
	if (source_needs_password(&was, &s, secret))
		return cli_fail(EX_USAGE,
		    "%s: a new host, port, dbname or "
		    "username needs the password again (--password-file FILE, "
		    "- for standard input, or --password)",
		    c->path);
	if (secret) {
		ex = dsn_keys(c, false, &k);
		if (ex == 0)
			ex = dsn_seal(c, &k, e.pwfile, e.pw, &s);
		cred_free(&k);
		if (ex != 0)
			return ex;
	}
	rc = source_update(&c->db, &c->arena, &s);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: a data source named '%s' "
		    "already exists",
		    c->path, s.name);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("updated data source %ld (%s)%s\n", s.id, s.name,
	    secret ? ", password sealed again" : "");
	return 0;
}

static int
cmd_source_show(struct cli *c, int argc, char **argv)
{
	struct source s;
	int	      ex;

	ex = dsn_target(c, argc, argv, NULL, &s);
	if (ex != 0)
		return ex;
	if (c->json) {
		cli_print_json(shape_source(&s));
		return 0;
	}
	printf("id:          %ld\nname:        %s\nhost:        %s\n"
	       "port:        %d\ndbname:      %s\nusername:    %s\n"
	       "password:    %s\nkey_version: %d\nqueries:     %ld\n"
	       "created_at:  %s\nupdated_at:  %s\n",
	    s.id, s.name, s.host, s.port, s.dbname, s.username,
	    s.enc_len > 0 ? "(sealed)" : "(none)", s.key_version, s.query_count,
	    s.created_at, s.updated_at);
	return 0;
}

static int
dsn_test(struct cli *c, int argc, char **argv)
{
	struct cred_keys k;
	struct exec_opts o;
	struct source	 s;
	PGconn		*conn = NULL;
	char		 err[512], warn[1024];
	enum pgs_rc	 rc;
	long		 t0;
	int		 ex, which = 0;

	ex = dsn_target(c, argc, argv, NULL, &s);
	if (ex == 0)
		ex = dsn_keys(c, true, &k);
	if (ex != 0)
		return ex;
	dsn_exec_opts(c, 0, 1, &o);
	t0 = mono_ms();
	rc = source_conn_open(&k, &s, &o, &conn, &which, err, sizeof(err));
	cred_free(&k);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR, "%s: %s: %s", c->path, s.name, err);
	if (rc == PGS_OK)
		rc = dsn_ping(conn, &o, err, sizeof(err));
	if (rc == PGS_OK && exec_role_warning(conn, warn, sizeof(warn)))
		cli_warn("%s: %s", s.name, warn);
	PQfinish(conn);
	if (rc != PGS_OK)
		return cli_fail(EX_UNAVAILABLE, "%s: %s: cannot connect: %s",
		    c->path, s.name, err);
	if (which == 1)
		cli_warn("%s: sealed with the next key (a key rotation is "
			 "under way: run 'pgsched-admin keys rotate')",
		    s.name);
	printf("ok (%ld ms)\n", mono_ms() - t0);
	return 0;
}

static int
dsn_rm(struct cli *c, int argc, char **argv)
{
	bool		     force = false;
	const struct cli_opt opts[] = { { "force", false, NULL, &force },
		{ NULL, 0, 0, 0 } };
	struct source	     s;
	enum pgs_rc	     rc;
	int		     ex;

	ex = dsn_target(c, argc, argv, opts, &s);
	if (ex != 0)
		return ex;
	rc = source_delete(&c->db, &c->arena, s.id, force);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: data source '%s' is used by "
		    "%ld quer%s (--force deletes them and their runs)",
		    c->path, s.name, s.query_count,
		    s.query_count == 1 ? "y" : "ies");
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("deleted data source %s\n", s.name);
	return 0;
}

static const struct cli_cmd dsn_cmds[] = {
	{ "add", dsn_add,
	    "add a data source (its password is sealed with "
	    "PUBLIC_KEY_B64_PATH)",
	    "  --name NAME            unique name (required)\n"
	    "  --host HOST            host name or address (required)\n"
	    "  --port N               port (default 5432)\n"
	    "  --dbname NAME          database (required)\n"
	    "  --username NAME        role to connect as (required; give it "
	    "read-only rights)\n"
	    "  --password-file FILE   read the password from FILE (- for "
	    "stdin)\n"
	    "  --password PW          the password (shows in the process "
	    "list)\n"
	    "  --key-version N        key version recorded (default 1)\n" },
	{ "edit", dsn_edit,
	    "change a data source (a new host, port, dbname "
	    "or username needs the password again)",
	    "  --name NAME            new name\n"
	    "  --host HOST            new host\n"
	    "  --port N               new port\n"
	    "  --dbname NAME          new database\n"
	    "  --username NAME        new role\n"
	    "  --password-file FILE   read a new password from FILE (- for "
	    "stdin)\n"
	    "  --password PW          a new password (shows in the process "
	    "list)\n"
	    "  --key-version N        key version recorded\n" },
	{ "list", cmd_source_list,
	    "list data sources (never their "
	    "passwords)",
	    NULL },
	{ "show", cmd_source_show, "show one data source (by name or id)",
	    NULL },
	{ "test", dsn_test, "decrypt the password, connect and run SELECT 1",
	    NULL },
	{ "rm", dsn_rm, "delete a data source",
	    "  --force                also delete its queries and their "
	    "runs\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_dsn(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "dsn", dsn_cmds, argc - 1, argv + 1);
}
