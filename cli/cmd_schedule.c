/*
 * cmd_schedule.c: pgsched-admin schedule next, the preview of a schedule's
 * fire times (CONTRACT §3).  Needs no database and no keys.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "isotime.h"
#include "sched.h"

/* Parses an ISO 8601 option value into *t; 0 or EX_USAGE. */
static int
schedule_time(struct cli *c, const char *opt, const char *s, int64_t *t)
{
	char err[128];

	if (isotime_parse(s, t, NULL, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_USAGE, "%s: --%s '%s': %s", c->path, opt, s,
		    err);
	return 0;
}

/* Prints count fire times of s strictly after from; 0 or an exit code. */
static int
schedule_print(struct cli *c, const struct sched *s, int64_t anchor,
    int64_t from, long count)
{
	char	    line[SCHED_LINE_MAX];
	int64_t	    t = from, next;
	unsigned    flags;
	enum pgs_rc rc;
	long	    i;

	for (i = 0; i < count; i++) {
		rc = sched_next(s, anchor, t, &next, &flags);
		if (rc == PGS_NOTFOUND) {
			if (i == 0)
				return cli_fail(EX_DATAERR,
				    "%s: the schedule "
				    "never fires after --from",
				    c->path);
			break;
		}
		if (rc != PGS_OK)
			return cli_fail(EX_DATAERR,
			    "%s: --from is outside "
			    "years 1..9999",
			    c->path);
		rc = sched_describe_line(s, next, flags, line, sizeof(line));
		if (rc != PGS_OK)
			return cli_fail(EX_SOFTWARE, "%s: line too long",
			    c->path);
		puts(line);
		t = next;
	}
	return 0;
}

static int
schedule_next(struct cli *c, int argc, char **argv)
{
	const char *type = NULL, *expr = NULL, *tz = "UTC", *from_s = NULL;
	const char *count_s = "10", *anchor_s = NULL;
	const struct cli_opt opts[] = { { "type", true, &type, NULL },
		{ "expr", true, &expr, NULL }, { "tz", true, &tz, NULL },
		{ "from", true, &from_s, NULL },
		{ "count", true, &count_s, NULL },
		{ "anchor", true, &anchor_s, NULL }, { NULL, 0, 0, 0 } };
	struct sched	    *s = NULL;
	char		     err[256];
	int64_t		     from, anchor;
	long		     count;
	int		     ex;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (type == NULL)
		return cli_fail(EX_USAGE,
		    "%s: --type is required (cron or "
		    "interval)",
		    c->path);
	if (strcmp(type, "cron") != 0 && strcmp(type, "interval") != 0)
		return cli_fail(EX_USAGE,
		    "%s: --type '%s' is not cron or "
		    "interval",
		    c->path, type);
	if (expr == NULL && strcmp(type, "cron") == 0)
		return cli_fail(EX_USAGE, "%s: --expr is required", c->path);
	if (!num_parse(count_s, 1, 1000, &count))
		return cli_fail(EX_USAGE, "%s: --count '%s' is not 1..1000",
		    c->path, count_s);
	from = (int64_t)time(NULL);
	if (from_s != NULL)
		ex = schedule_time(c, "from", from_s, &from);
	anchor = from;
	if (ex == 0 && anchor_s != NULL)
		ex = schedule_time(c, "anchor", anchor_s, &anchor);
	if (ex != 0)
		return ex;
	if (sched_parse(type, expr, tz, c->conf.default_query_interval, &s, err,
		sizeof(err)) != PGS_OK)
		return cli_fail(EX_DATAERR,
		    "%s: --expr '%s' (--type %s, --tz "
		    "%s): %s",
		    c->path, expr ? expr : "", type, tz, err);
	ex = schedule_print(c, s, anchor, from, count);
	sched_free(s);
	return ex;
}

static const struct cli_cmd schedule_cmds[] = {
	{ "next", schedule_next, "print the next fire times of a schedule",
	    "  --type cron|interval   schedule type (required)\n"
	    "  --expr EXPR            cron expression, or ISO 8601 duration "
	    "/ seconds\n"
	    "                         (interval: empty means "
	    "DEFAULT_QUERY_INTERVAL)\n"
	    "  --tz ZONE              IANA time zone (default UTC)\n"
	    "  --from ISO             list fires strictly after this instant "
	    "(default now)\n"
	    "  --count N              how many (default 10, at most 1000)\n"
	    "  --anchor ISO           interval anchor, a job's start_at or "
	    "created_at\n"
	    "                         (default: --from)\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_schedule(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "schedule", schedule_cmds, argc - 1, argv + 1);
}
