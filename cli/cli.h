/*
 * cli.h: shared plumbing of pgsched-admin's sub-commands.
 */
#ifndef PGS_CLI_H
#define PGS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sysexits.h>

#include "arena.h"
#include "conf.h"
#include "db.h"
#include "num.h" /* num_parse: every integer of the command line */

struct cli {
	struct conf	      conf;
	struct db	      db;
	bool		      db_open;
	bool		      json;	/* --json: listings as JSON */
	const char	     *env_file; /* --env-file, or NULL */
	const char	     *path;	/* "users add", for messages */
	const struct cli_cmd *cmd;	/* the verb being run */
	struct arena	      arena;	/* lives as long as the command */
};

/* One option of a verb: --name [value]. */
struct cli_opt {
	const char  *name; /* without the dashes */
	bool	     has_arg;
	const char **val;  /* set to the value (has_arg) */
	bool	    *flag; /* set to true (!has_arg) */
};

/* One verb or group: name, handler, one-line summary, usage text. */
struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *summary;
	const char *usage; /* options, one per line, or NULL */
};

/*
 * Runs the entry of cmds named by argv[0] with the remaining arguments;
 * prints the group's help for --help or no argument.  Returns an exit code.
 */
int cli_dispatch(struct cli *c, const char *group, const struct cli_cmd *cmds,
    int argc, char **argv);
/*
 * Parses argv (argv[0] is the verb) against opts; positional arguments go
 * to pos (at most npos, *npos_out gets the count, extra ones are an
 * error).  Handles --help (prints usage, returns -1: the caller exits 0)
 * and --json.  Returns 0, -1 (help shown) or EX_USAGE after printing one
 * line naming the bad option.
 */
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char **pos, int npos, int *npos_out);
/*
 * Parses "VERB TARGET [OPTIONS]" (what names the kind of target in the
 * error, e.g. "query"), then connects with the schema checked.  Returns 0
 * with *who set, -1 (help shown) or an exit code after printing why.
 */
int cli_target(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char *what, const char **who);
/* Prints "pgsched-admin: <message>" on stderr and returns ex. */
int
cli_fail(int ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "pgsched-admin: warning: <message>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Connects to the metadata database and checks the schema (unless
 * !need_schema).  Returns 0 or an exit code after printing why. */
int cli_connect(struct cli *c, bool need_schema);
/* Requires the variable `name` to be set; returns 0 or EX_CONFIG. */
int cli_require(struct cli *c, const char *name);
/* Maps a store rc to an exit code after printing what with the db error. */
int cli_db_fail(struct cli *c, enum pgs_rc rc, const char *what);
/*
 * Reads a password from --password-file (first line), --password (with a
 * warning: it shows in the process list) or a prompt on the terminal
 * (twice when confirm).  Returns 0 with the password in buf (caller wipes
 * it), or an exit code after printing why.
 */
int cli_password(const char *file, const char *inline_pw, const char *prompt,
    bool confirm, char *buf, size_t n);
/* Prints a cJSON tree to stdout and frees it. */
void cli_print_json(void *cjson);

/* Groups (cmd_*.c). */
int cmd_keys(struct cli *, int, char **);
int cmd_users(struct cli *, int, char **);
int cmd_dsn(struct cli *, int, char **);
int cmd_queries(struct cli *, int, char **);
/* queries run (cmd_query_run.c) */
int queries_run(struct cli *, int, char **);
int cmd_runs(struct cli *, int, char **);
int cmd_tokens(struct cli *, int, char **);
int cmd_schedule(struct cli *, int, char **);
int cmd_db(struct cli *, int, char **);
int cmd_logs(struct cli *, int, char **);
/* channels (cmd_channel.c); deliveries, queries notify and queries alert
 * (cmd_notify.c) */
int cmd_channels(struct cli *, int, char **);
int cmd_deliveries(struct cli *, int, char **);
int cmd_notify_queries_notify(struct cli *, int, char **);
int cmd_notify_queries_alert(struct cli *, int, char **);
struct channel;
/* Looks channel who (an id or a name) up; 0 or an exit code after one
 * line. */
int cmd_channel_lookup(struct cli *c, const char *who, struct channel *ch);
int cmd_config(struct cli *, int, char **);

#endif
