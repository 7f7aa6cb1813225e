/*
 * cmd_db.c: pgsched-admin db migrate|status, and config check.
 */
#include <stdio.h>

#include "cli.h"
#include "migrate.h"

static int
db_migrate_cmd(struct cli *c, int argc, char **argv)
{
	enum pgs_rc	 rc;
	int		 ex, applied;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, false);
	if (ex != 0)
		return ex;
	rc = migrate_apply(&c->db, stdout, &applied);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, "db migrate");
	printf("schema up to date (%d migration%s applied, latest %s)\n",
	    applied, applied == 1 ? "" : "s",
	    migrations[migrations_count - 1].name);
	return 0;
}

static int
db_status_cmd(struct cli *c, int argc, char **argv)
{
	char		 msg[256];
	enum pgs_rc	 rc;
	int		 ex;

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
	{ "migrate", db_migrate_cmd, "apply the missing schema migrations "
	    "(safe to run twice, or from two hosts at once)", NULL },
	{ "status", db_status_cmd, "check that the schema is up to date",
	    NULL },
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
	int	 ex;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	conf_print(&c->conf, stdout);
	printf("configuration OK\n");
	return 0;
}

static const struct cli_cmd config_cmds[] = {
	{ "check", config_check_cmd, "print the effective settings (secrets "
	    "masked) and check them", NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_config(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "config", config_cmds, argc - 1, argv + 1);
}
