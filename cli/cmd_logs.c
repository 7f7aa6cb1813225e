/*
 * cmd_logs.c: pgsched-admin logs prune: gzip day files older than
 * GZIP_AFTER_DAYS, delete those older than KEEP_DAYS (CONTRACT §7).
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "log.h"

static int
logs_prune(struct cli *c, int argc, char **argv)
{
	enum pgs_rc rc;
	int	    ex;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	rc = log_prune(&c->conf, time(NULL), stdout);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_TEMPFAIL,
		    "%s: another process is pruning "
		    "%s; try again later",
		    c->path, c->conf.log_dir);
	if (rc != PGS_OK)
		return cli_fail(EX_IOERR,
		    "%s: some files in %s could not be "
		    "handled (see the lines above)",
		    c->path, c->conf.log_dir);
	return 0;
}

static const struct cli_cmd logs_cmds[] = {
	{ "prune", logs_prune,
	    "gzip log files older than GZIP_AFTER_DAYS and "
	    "delete those older than KEEP_DAYS",
	    NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_logs(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "logs", logs_cmds, argc - 1, argv + 1);
}
