/*
 * cmd_run.c: pgsched-admin runs list|show, the run history (read only:
 * runs are an audit trail, CONTRACT §2).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dsn.h"
#include "run.h"
#include "shape.h"

/* Parses an optional run id option; 0 or EX_USAGE. */
static int
cmd_run_id_opt(struct cli *c, const char *name, const char *s, long *out)
{
	*out = 0;
	if (s != NULL && !num_parse(s, 1, 2147483647, out))
		return cli_fail(EX_USAGE, "%s: --%s '%s' is not a run id",
		    c->path, name, s);
	return 0;
}

/* Writes v into buf, or "-" when v equals none; returns buf. */
static const char *
cmd_run_num(char *buf, size_t n, long v, long none)
{
	if (v == none)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%ld", v);
	return buf;
}

static void
cmd_run_print_list(const struct run_list *l)
{
	const struct run *r;
	char		  ms[24], rows[24];
	int		  i;

	printf("%-8s %-27s %-27s %-8s %9s %7s %-9s %s\n", "ID", "SCHEDULED_AT",
	    "STARTED_AT", "STATUS", "MS", "ROWS", "TRIGGER", "ERROR");
	for (i = 0; i < l->n; i++) {
		r = &l->items[i];
		printf("%-8ld %-27s %-27s %-8s %9s %7s %-9s %.60s\n", r->id,
		    r->scheduled_at ? r->scheduled_at : "-",
		    r->run_started_at ? r->run_started_at : "-", r->status,
		    cmd_run_num(ms, sizeof(ms), r->duration_ms, -1),
		    cmd_run_num(rows, sizeof(rows), r->rows_returned, -1),
		    r->triggered_by, r->error_message ? r->error_message : "");
	}
	if (l->next_before != 0)
		printf("(older runs: --before %ld)\n", l->next_before);
	if (l->prev_after != 0)
		printf("(newer runs: --after %ld)\n", l->prev_after);
}

static int
cmd_run_list(struct cli *c, int argc, char **argv)
{
	const char	    *who = NULL, *limit_s = "20", *before_s = NULL;
	const char	    *after_s = NULL;
	struct run_filter    f;
	const struct cli_opt opts[] = { { "query", true, &who, NULL },
		{ "status", true, &f.status, NULL },
		{ "limit", true, &limit_s, NULL },
		{ "before", true, &before_s, NULL },
		{ "after", true, &after_s, NULL },
		{ "start", true, &f.start, NULL },
		{ "end", true, &f.end, NULL }, { NULL, 0, 0, 0 } };
	struct run_list	     l;
	struct query	     q;
	enum pgs_rc	     rc;
	long		     limit;
	int		     ex;

	memset(&f, 0, sizeof(f));
	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (who == NULL)
		return cli_fail(EX_USAGE,
		    "%s: --query is required (a query "
		    "name or id)",
		    c->path);
	if (!num_parse(limit_s, 1, RUN_LIST_MAX, &limit))
		return cli_fail(EX_USAGE, "%s: --limit '%s' is not 1..%d",
		    c->path, limit_s, RUN_LIST_MAX);
	if (f.status != NULL && !run_status_valid(f.status))
		return cli_fail(EX_USAGE,
		    "%s: --status '%s' is not one of "
		    "queued, running, success, error, skipped",
		    c->path, f.status);
	f.limit = (int)limit;
	ex = cmd_run_id_opt(c, "before", before_s, &f.before);
	if (ex == 0)
		ex = cmd_run_id_opt(c, "after", after_s, &f.after);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = queries_lookup(c, who, &q);
	if (ex != 0)
		return ex;
	rc = run_list(&c->db, &c->arena, q.id, &f, &l);
	if (rc == PGS_INVALID)
		return cli_fail(EX_USAGE, "%s: --%s", c->path,
		    db_error(&c->db));
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	/* The operator reads error messages in full. */
	if (c->json)
		cli_print_json(shape_run_list(&l, f.limit, true));
	else
		cmd_run_print_list(&l);
	return 0;
}

static void
cmd_run_print(const struct run *r)
{
	char b1[24], b2[24];

	printf("id:                %ld\nquery_id:          %ld\n"
	       "status:            %s\ntriggered_by:      %s\n"
	       "scheduled_at:      %s\njob_timezone:      %s\n"
	       "queued_at:         %s\nrun_started_at:    %s\n"
	       "run_finished_at:   %s\nduration_ms:       %s\n"
	       "rows_returned:     %s\n",
	    r->id, r->query_id, r->status, r->triggered_by,
	    r->scheduled_at ? r->scheduled_at : "-",
	    r->job_timezone ? r->job_timezone : "-",
	    r->queued_at ? r->queued_at : "-",
	    r->run_started_at ? r->run_started_at : "-",
	    r->run_finished_at ? r->run_finished_at : "-",
	    cmd_run_num(b1, sizeof(b1), r->duration_ms, -1),
	    cmd_run_num(b2, sizeof(b2), r->rows_returned, -1));
	printf("missed_slots:      %ld\nattempt:           %ld\n",
	    r->missed_slots, r->attempt);
	if (r->retry_of != 0)
		printf("retry_of:          %ld\n", r->retry_of);
	if (r->triggered_by_user != 0)
		printf("triggered_by_user: %ld\n", r->triggered_by_user);
	if (r->runner_host != NULL)
		printf("runner:            %s pid %ld\n", r->runner_host,
		    r->runner_pid);
	if (r->error_message != NULL)
		printf("error_message:     %s\n", r->error_message);
	if (r->has_blob)
		printf("result:            %s rows, %s bytes%s (show it with "
		       "--result)\n",
		    cmd_run_num(b1, sizeof(b1), r->row_count, -1),
		    cmd_run_num(b2, sizeof(b2), r->byte_size, -1),
		    r->truncated ? ", truncated" : "");
	else
		printf("result:            none\n");
}

static int
cmd_run_show(struct cli *c, int argc, char **argv)
{
	bool		     result = false;
	const struct cli_opt opts[] = { { "result", false, NULL, &result },
		{ NULL, 0, 0, 0 } };
	const char	    *pos[1] = { NULL };
	struct run	     r;
	enum pgs_rc	     rc;
	cJSON		    *o;
	long		     id;
	int		     ex, n;

	ex = cli_parse(c, argc, argv, opts, pos, 1, &n);
	if (ex != 0)
		return ex;
	if (n != 1)
		return cli_fail(EX_USAGE, "%s: which run? give its id",
		    c->path);
	if (!num_parse(pos[0], 1, 2147483647, &id))
		return cli_fail(EX_USAGE, "%s: '%s' is not a run id", c->path,
		    pos[0]);
	ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = run_get(&c->db, &c->arena, id, result, &r);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_NOINPUT, "%s: no run %ld", c->path, id);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (result && r.df_json == NULL)
		return cli_fail(EX_NOINPUT, "%s: run %ld has no stored result",
		    c->path, id);
	if (c->json) {
		o = shape_run(&r, true);
		if (result)
			cJSON_AddRawToObject(o, "result", r.df_json);
		cli_print_json(o);
	} else if (result)
		puts(r.df_json);
	else
		cmd_run_print(&r);
	return 0;
}

static const struct cli_cmd run_cmds[] = {
	{ "list", cmd_run_list, "list the runs of a query, newest first",
	    "  --query NAME|ID        the query (required)\n"
	    "  --status S             queued, running, success, error or "
	    "skipped\n"
	    "  --limit N              at most N runs (default 20, max 1000)\n"
	    "  --before ID            runs older than run ID (next page)\n"
	    "  --after ID             runs newer than run ID (previous page)\n"
	    "  --start ISO            runs started at or after this instant\n"
	    "  --end ISO              runs started before this instant\n" },
	{ "show", cmd_run_show, "show one run",
	    "  --result               print the stored result (pandas "
	    "orient='table' JSON)\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_runs(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "runs", run_cmds, argc - 1, argv + 1);
}
