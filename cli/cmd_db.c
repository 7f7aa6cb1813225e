/*
 * cmd_db.c: pgsched-admin db migrate|status|grant, and config check.
 */
#include <stdio.h>

#include "cli.h"
#include "migrate.h"

/* Maps a migrate_grant failure to one line and an exit code. */
static int
cmd_db_grant_fail(struct cli *c, enum pgs_rc rc, const char *msg)
{
	switch (rc) {
	case PGS_NOTFOUND:
		return cli_fail(EX_NOUSER, "%s: %s", c->path, msg);
	case PGS_INVALID:
		return cli_fail(EX_DATAERR, "%s: %s", c->path, msg);
	case PGS_DENIED:
		return cli_fail(EX_NOPERM,
		    "%s: %s: run it as the owner, with "
		    "the PG_DSN_APP of db migrate",
		    c->path, msg);
	case PGS_DB:
		return cli_fail(EX_UNAVAILABLE,
		    "%s: database unavailable: "
		    "%s",
		    c->path, msg);
	default:
		return cli_fail(EX_SOFTWARE, "%s: %s", c->path, msg);
	}
}

static int
cmd_db_migrate(struct cli *c, int argc, char **argv)
{
	const char *api, *runner;
	char	    msg[512];
	enum pgs_rc rc;
	int	    ex, applied;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, false);
	if (ex != 0)
		return ex;
	rc = migrate_apply(&c->db, c->conf.runs_public, stdout, &applied);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, "db migrate");
	printf("schema up to date (%d migration%s applied, latest %s)\n",
	    applied, applied == 1 ? "" : "s",
	    migrations[migrations_count - 1].name);
	/* Roles set up by db grant get the grants of this schema (a new
	 * table, a new column) at once. */
	rc = migrate_roles(&c->db, &c->arena, &api, &runner);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, "db migrate");
	if (api == NULL)
		return 0;
	rc = migrate_grant(&c->db, NULL, NULL, msg, sizeof(msg));
	if (rc != PGS_OK)
		return cmd_db_grant_fail(c, rc, msg);
	printf("grants applied again: API role %s, runner role %s\n", api,
	    runner);
	return 0;
}

static int
cmd_db_grant(struct cli *c, int argc, char **argv)
{
	const char	    *api = NULL, *runner = NULL;
	const struct cli_opt opts[] = { { "api", true, &api, NULL },
		{ "runner", true, &runner, NULL }, { NULL, 0, 0, 0 } };
	char		     msg[512];
	enum pgs_rc	     rc;
	int		     ex;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (api == NULL || *api == '\0' || runner == NULL || *runner == '\0')
		return cli_fail(EX_USAGE,
		    "%s: give both --api ROLE and "
		    "--runner ROLE (see --help)",
		    c->path);
	ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = migrate_grant(&c->db, api, runner, msg, sizeof(msg));
	if (rc != PGS_OK)
		return cmd_db_grant_fail(c, rc, msg);
	printf("granted: API role %s, runner role %s (applied again by every "
	       "db migrate)\n",
	    api, runner);
	return 0;
}

static int
cmd_db_status(struct cli *c, int argc, char **argv)
{
	char	    msg[256];
	enum pgs_rc rc;
	int	    ex;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, false);
	if (ex != 0)
		return ex;
	rc = migrate_check(&c->db, msg, sizeof(msg));
	if (rc == PGS_INVALID)
		return cli_fail(EX_CONFIG, "%s", msg);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, "db status");
	printf("schema up to date (%s)\n",
	    migrations[migrations_count - 1].name);
	return 0;
}

static const struct cli_cmd db_cmds[] = {
	{ "migrate", cmd_db_migrate,
	    "apply the missing schema migrations "
	    "(safe to run twice, or from two hosts at once)",
	    NULL },
	{ "status", cmd_db_status, "check that the schema is up to date",
	    NULL },
	{ "grant", cmd_db_grant,
	    "give the API and the runner their own "
	    "roles, with only the privileges each needs (run as the owner)",
	    "  --api ROLE             role of pgsched-fcgi (required): reads, "
	    "manages users,\n"
	    "                         sessions, sources and queries, queues "
	    "manual runs;\n"
	    "                         never changes or deletes a run or a "
	    "result\n"
	    "  --runner ROLE          role of pgsched-runner (required): "
	    "claims and writes\n"
	    "                         runs and results, prunes by retention; "
	    "no users or\n"
	    "                         sessions\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_db(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "db", db_cmds, argc - 1, argv + 1);
}

static int
config_check_cmd(struct cli *c, int argc, char **argv)
{
	int ex;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	conf_print(&c->conf, stdout);
	printf("configuration OK\n");
	return 0;
}

static const struct cli_cmd config_cmds[] = {
	{ "check", config_check_cmd,
	    "print the effective settings (secrets "
	    "masked) and check them",
	    NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_config(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "config", config_cmds, argc - 1, argv + 1);
}
