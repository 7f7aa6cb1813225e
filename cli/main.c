/*
 * main.c: pgsched-admin, the admin CLI: global options, the group table,
 * and the plumbing the sub-commands share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "config.h"
#include "cli.h"
#include "coredump.h"
#include "deliver.h"
#include "json.h"
#include "log.h"
#include "migrate.h"

static const struct cli_cmd groups[] = {
	{ "keys", cmd_keys, "generate and rotate the data-source key pair",
	    NULL },
	{ "users", cmd_users, "manage users and their roles", NULL },
	{ "dsn", cmd_dsn, "manage data sources (external databases)", NULL },
	{ "queries", cmd_queries, "manage scheduled queries", NULL },
	{ "runs", cmd_runs, "browse run history", NULL },
	{ "channels", cmd_channels,
	    "notification channels: webhooks, Slack, e-mail", NULL },
	{ "deliveries", cmd_deliveries,
	    "the notification outbox: list, redeliver", NULL },
	{ "tokens", cmd_tokens, "API tokens for dashboards and scripts", NULL },
	{ "schedule", cmd_schedule, "preview a schedule's fire times", NULL },
	{ "db", cmd_db, "metadata database schema", NULL },
	{ "logs", cmd_logs, "log files: gzip and delete old ones", NULL },
	{ "config", cmd_config, "check the configuration", NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cli_fail(int ex, const char *fmt, ...)
{
	va_list ap;

	fputs("pgsched-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ex;
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("pgsched-admin: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
cli_group_help(const char *group, const struct cli_cmd *cmds, FILE *fp)
{
	const struct cli_cmd *cmd;

	fprintf(fp,
	    "usage: pgsched-admin [--env-file PATH] [--json] %s%s"
	    "COMMAND [OPTIONS]\n\ncommands:\n",
	    group ? group : "", group ? " " : "");
	for (cmd = cmds; cmd->name != NULL; cmd++)
		fprintf(fp, "  %-10s %s\n", cmd->name, cmd->summary);
	fprintf(fp,
	    "\nRun 'pgsched-admin %s%sCOMMAND --help' for its "
	    "options.\n",
	    group ? group : "", group ? " " : "");
}

int
cli_dispatch(struct cli *c, const char *group, const struct cli_cmd *cmds,
    int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
		cli_group_help(group, cmds, argc < 1 ? stderr : stdout);
		return argc < 1 ? EX_USAGE : 0;
	}
	for (cmd = cmds; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL)
		return cli_fail(EX_USAGE,
		    "unknown command '%s%s%s' (see "
		    "'pgsched-admin %s%s--help')",
		    group ? group : "", group ? " " : "", argv[0],
		    group ? group : "", group ? " " : "");
	c->cmd = cmd;
	if (group != NULL)
		c->path = arena_printf(&c->arena, "%s %s", group, cmd->name);
	else
		c->path = cmd->name;
	return cmd->fn(c, argc, argv);
}

static void
cli_usage(const struct cli *c, const struct cli_cmd *cmd, FILE *fp)
{
	fprintf(fp, "usage: pgsched-admin %s%s\n%s\n", c->path,
	    cmd->usage != NULL ? " [OPTIONS]" : "", cmd->summary);
	if (cmd->usage != NULL)
		fprintf(fp, "\noptions:\n%s", cmd->usage);
	fprintf(fp,
	    "  --json                 print JSON (listings)\n"
	    "  --help                 show this help\n");
}

static const struct cli_opt *
cli_find_opt(const struct cli_opt *opts, const char *name, size_t n)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strlen(opts->name) == n &&
		    strncmp(opts->name, name, n) == 0)
			return opts;
	return NULL;
}

int
cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char **pos, int npos, int *npos_out)
{
	const struct cli_opt *o;
	const char	     *arg, *eq;
	size_t		      n;
	int		      i, np = 0;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			cli_usage(c, c->cmd, stdout);
			return -1;
		}
		if (strcmp(arg, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (np >= npos)
				return cli_fail(EX_USAGE,
				    "%s: unexpected "
				    "argument '%s'",
				    c->path, arg);
			pos[np++] = arg;
			continue;
		}
		eq = strchr(arg + 2, '=');
		n = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		o = cli_find_opt(opts, arg + 2, n);
		if (o == NULL)
			return cli_fail(EX_USAGE,
			    "%s: unknown option '%.*s' "
			    "(see --help)",
			    c->path, (int)n + 2, arg);
		if (!o->has_arg) {
			if (eq != NULL)
				return cli_fail(EX_USAGE,
				    "%s: option --%s "
				    "takes no value",
				    c->path, o->name);
			*o->flag = true;
		} else if (eq != NULL)
			*o->val = eq + 1;
		else if (i + 1 < argc)
			*o->val = argv[++i];
		else
			return cli_fail(EX_USAGE,
			    "%s: option --%s needs a "
			    "value",
			    c->path, o->name);
	}
	if (npos_out != NULL)
		*npos_out = np;
	return 0;
}

int
cli_target(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char *what, const char **who)
{
	int ex, n;

	*who = NULL;
	ex = cli_parse(c, argc, argv, opts, who, 1, &n);
	if (ex != 0)
		return ex;
	if (n != 1)
		return cli_fail(EX_USAGE, "%s: which %s? give a name or an id",
		    c->path, what);
	return cli_connect(c, true);
}

int
cli_require(struct cli *c, const char *name)
{
	char err[256];

	if (conf_require(&c->conf, name, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s", err);
	return 0;
}

int
cli_connect(struct cli *c, bool need_schema)
{
	char	    msg[256];
	enum pgs_rc rc;
	int	    ex;

	if (c->db_open)
		return 0;
	ex = cli_require(c, "PG_DSN_APP");
	if (ex != 0)
		return ex;
	rc = db_connect(&c->db, c->conf.pg_dsn_app,
	    c->conf.db_connect_timeout_s, "pgsched-admin");
	if (rc == PGS_INVALID)
		return cli_fail(EX_CONFIG, "%s", db_error(&c->db));
	if (rc != PGS_OK)
		return cli_fail(EX_UNAVAILABLE,
		    "cannot connect to the metadata"
		    " database: %s",
		    db_error(&c->db));
	c->db_open = true;
	c->db.default_interval_s = c->conf.default_query_interval;
	if (!need_schema)
		return 0;
	rc = migrate_check(&c->db, msg, sizeof(msg));
	if (rc == PGS_INVALID)
		return cli_fail(EX_CONFIG, "%s", msg);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, "checking the schema");
	return 0;
}

int
cli_db_fail(struct cli *c, enum pgs_rc rc, const char *what)
{
	switch (rc) {
	case PGS_OK:
		return 0;
	case PGS_DB:
		return cli_fail(EX_UNAVAILABLE, "%s: database unavailable: %s",
		    what, db_error(&c->db));
	case PGS_TIMEOUT:
		return cli_fail(EX_TEMPFAIL, "%s: timed out", what);
	case PGS_INVALID:
		return cli_fail(EX_DATAERR, "%s: %s", what, db_error(&c->db));
	case PGS_CONFLICT:
		return cli_fail(EX_DATAERR, "%s: conflict: %s", what,
		    db_error(&c->db));
	case PGS_NOTFOUND:
		return cli_fail(EX_NOINPUT, "%s: not found", what);
	default:
		return cli_fail(EX_SOFTWARE, "%s: %s", what, db_error(&c->db));
	}
}

void
cli_print_json(void *cjson)
{
	char *s = cJSON_PrintUnformatted(cjson);

	puts(s);
	cJSON_free(s);
	cJSON_Delete(cjson);
}

/* Reads one line from fd without echo when it is a terminal. */
static int
cli_read_line(FILE *fp, const char *prompt, char *buf, size_t n)
{
	struct termios old, quiet;
	bool	       tty = isatty(fileno(fp)) != 0;
	char	      *ok;
	size_t	       len;

	if (tty) {
		fputs(prompt, stderr);
		tcgetattr(fileno(fp), &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(fp), TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)n, fp);
	if (tty) {
		tcsetattr(fileno(fp), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (ok == NULL)
		return -1;
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == n - 1)
		return -2; /* longer than the buffer */
	buf[len] = '\0';
	return 0;
}

int
cli_password(const char *file, const char *inline_pw, const char *prompt,
    bool confirm, char *buf, size_t n)
{
	char  again[1100];
	FILE *fp;
	int   r;

	if (file != NULL && inline_pw != NULL)
		return cli_fail(EX_USAGE,
		    "give --password or --password-file,"
		    " not both");
	if (inline_pw != NULL) {
		cli_warn("--password shows in the process list; prefer "
			 "--password-file or the prompt");
		if (strlen(inline_pw) >= n)
			return cli_fail(EX_DATAERR, "password too long");
		snprintf(buf, n, "%s", inline_pw);
		return 0;
	}
	if (file != NULL) {
		fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
		if (fp == NULL)
			return cli_fail(EX_NOINPUT, "--password-file %s: %s",
			    file, strerror(errno));
		r = cli_read_line(fp, "", buf, n);
		if (fp != stdin)
			fclose(fp);
		if (r != 0)
			return cli_fail(EX_DATAERR, "--password-file %s: %s",
			    file, r == -2 ? "password too long" : "empty file");
		return 0;
	}
	if (!isatty(STDIN_FILENO))
		return cli_fail(EX_USAGE,
		    "no password given: use "
		    "--password-file FILE (or - for standard input) or run on "
		    "a terminal to be prompted");
	if (cli_read_line(stdin, prompt, buf, n) != 0)
		return cli_fail(EX_DATAERR, "no password read");
	if (!confirm)
		return 0;
	r = cli_read_line(stdin, "Again: ", again, sizeof(again));
	r = r == 0 && strcmp(again, buf) == 0 ?
	    0 :
	    cli_fail(EX_DATAERR, "the passwords do not match");
	sodium_memzero(again, sizeof(again));
	return r;
}

static void
cli_main_help(FILE *fp)
{
	cli_group_help(NULL, groups, fp);
	fprintf(fp,
	    "\nglobal options:\n"
	    "  --env-file PATH   load settings from PATH (default: "
	    "$PGSCHED_ENV_FILE, else ./.env)\n"
	    "  --json            print listings as JSON\n"
	    "  --version         print the version\n");
}

int
main(int argc, char **argv)
{
	struct cli c;
	char	   err[512];
	int	   i, ex;

	coredump_set(false);
	memset(&c, 0, sizeof(c));
	arena_init(&c.arena);
	json_init();
	/* Global options come before the group. */
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = true;
		else if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc)
			c.env_file = argv[++i];
		else if (strncmp(argv[i], "--env-file=", 11) == 0)
			c.env_file = argv[i] + 11;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("pgsched-admin %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0) {
			cli_main_help(stdout);
			return 0;
		} else
			return cli_fail(EX_USAGE,
			    "unknown option '%s' (see "
			    "'pgsched-admin --help')",
			    argv[i]);
	}
	if (i >= argc) {
		cli_main_help(stderr);
		return EX_USAGE;
	}
	if (conf_load(&c.conf, c.env_file, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s", err);
	coredump_set(c.conf.allow_core_dumps);
	log_open(&c.conf, "pgsched-admin", LOG_TO_STDERR | LOG_TO_FILE);
	if (sodium_init() < 0)
		return cli_fail(EX_SOFTWARE, "libsodium failed to initialise");
	deliver_global_init(); /* channels test */
	ex = cli_dispatch(&c, NULL, groups, argc - i, argv + i);
	if (ex < 0)
		ex = 0; /* --help was shown */
	/* An audit line per command: the verb, who, how it ended; never the
	 * arguments, which may hold a password. */
	if (c.path != NULL)
		log_info("admin_command", "cmd=\"%s\" uid=%ld exit=%d", c.path,
		    (long)getuid(), ex);
	if (c.db_open)
		db_close(&c.db);
	arena_free(&c.arena);
	conf_free(&c.conf);
	log_close();
	return ex;
}
