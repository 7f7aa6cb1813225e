/*
 * cmd_query.c: pgsched-admin queries add|list|show|enable|disable|test|rm.
 * Everything is checked before it is saved: SELECT-only (libpg_query),
 * the schedule and its zone, the data source, the ranges of the numbers
 * (those of the CHECK constraints of sql/0002-pgsched.sql).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dsn.h"
#include "isotime.h"
#include "qtable.h"
#include "sched.h"
#include "sqlguard.h"
#include "tz.h"

int
queries_lookup(struct cli *c, const char *who, struct query *q)
{
	enum pgs_rc	 rc = PGS_NOTFOUND;
	long		 id;

	if (num_parse(who, 1, 2147483647, &id))
		rc = query_get(&c->db, &c->arena, who, NULL, q);
	if (rc == PGS_NOTFOUND)
		rc = query_get(&c->db, &c->arena, NULL, who, q);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR, "%s: unknown query '%s' (see "
		    "'pgsched-admin queries list')", c->path, who);
	return cli_db_fail(c, rc, c->path);
}

/* The options of queries add, as given. */
struct qadd {
	const char	*name, *title, *description, *sql, *sql_file;
	const char	*source, *type, *expr, *timezone, *start_at;
	const char	*num[7];	/* see qadd_nums[] */
	bool		 enabled, disabled;
};

/* Numeric options: name, min, max, field of struct query. */
static const struct {
	const char	*name;
	long		 min, max;
	size_t		 off;
} qadd_nums[7] = {
	{ "timeout-ms", 100, 86400000, offsetof(struct query, timeout_ms) },
	{ "max-rows", 1, 2147483647, offsetof(struct query, max_rows) },
	{ "max-retries", 0, 10, offsetof(struct query, max_retries) },
	{ "retry-delay", 1, 3600, offsetof(struct query, retry_delay_s) },
	{ "pause-after-failures", 1, 2147483647,
	    offsetof(struct query, pause_after_failures) },
	{ "keep-runs", 1, 2147483647, offsetof(struct query, keep_runs) },
	{ "keep-days", 1, 2147483647, offsetof(struct query, keep_days) },
};

/* Reads the SQL of --sql-file (- for stdin) into an arena string. */
static int
qadd_read_sql(struct cli *c, const char *path, const char **out)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	FILE		*fp;
	size_t		 n;
	int		 ex = 0;

	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL)
		return cli_fail(EX_NOINPUT, "%s: --sql-file %s: %s", c->path,
		    path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 &&
	    b.len <= SQLGUARD_MAX_LEN)
		buf_append(&b, chunk, n);
	if (ferror(fp))
		ex = cli_fail(EX_IOERR, "%s: --sql-file %s: read error",
		    c->path, path);
	else if (b.len > SQLGUARD_MAX_LEN)
		ex = cli_fail(EX_DATAERR, "%s: --sql-file %s: longer than %d "
		    "bytes", c->path, path, SQLGUARD_MAX_LEN);
	if (fp != stdin)
		fclose(fp);
	if (ex == 0)
		*out = arena_strdup(&c->arena, b.len ? b.data : "");
	buf_free(&b);
	return ex;
}

/* Checks the SQL text (what names it in messages) with the SELECT-only
 * guard; 0 or an exit code. */
static int
queries_check_sql(struct cli *c, const char *what, const char *sql)
{
	struct sqlguard_err	 why;
	enum pgs_rc		 rc;

	rc = sqlguard_check(sql, &why);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR, "%s: %s is not accepted: %s",
		    c->path, what, why.message);
	if (rc != PGS_OK)
		return cli_fail(EX_SOFTWARE, "%s: the SQL check failed: %s",
		    c->path, why.message);
	return 0;
}

/* Checks and copies the text options into q; 0 or an exit code. */
static int
qadd_text(struct cli *c, struct qadd *o, struct query *q)
{
	int	 ex = 0;

	if (o->name == NULL || *o->name == '\0')
		return cli_fail(EX_USAGE, "%s: --name is required", c->path);
	if (o->source == NULL)
		return cli_fail(EX_USAGE, "%s: --data-source is required",
		    c->path);
	if (o->type == NULL)
		return cli_fail(EX_USAGE, "%s: --schedule-type is required "
		    "(cron or interval)", c->path);
	if (o->enabled && o->disabled)
		return cli_fail(EX_USAGE, "%s: give --enabled or --disabled, "
		    "not both", c->path);
	if ((o->sql == NULL) == (o->sql_file == NULL))
		return cli_fail(EX_USAGE, "%s: give the SQL with --sql or "
		    "--sql-file (one of them)", c->path);
	if (o->sql_file != NULL)
		ex = qadd_read_sql(c, o->sql_file, &o->sql);
	if (ex == 0)
		ex = queries_check_sql(c, o->sql_file ? "--sql-file" : "--sql",
		    o->sql);
	if (ex != 0)
		return ex;
	q->name = (char *)o->name;
	q->title = (char *)(o->title != NULL ? o->title : o->name);
	q->description = (char *)o->description;
	q->sql_text = (char *)o->sql;
	q->schedule_type = (char *)o->type;
	q->schedule_expr = (char *)(o->expr != NULL ? o->expr : "");
	q->timezone = (char *)(o->timezone != NULL ? o->timezone : "UTC");
	q->enabled = !o->disabled;
	return 0;
}

/* Checks the numbers, the schedule, its zone and start_at. */
static int
qadd_check(struct cli *c, struct qadd *o, struct query *q)
{
	struct sched	*s = NULL;
	struct tz	*tz = NULL;
	char		 err[256], ts[ISOTIME_BUFSZ];
	int64_t		 t;
	long		 v;
	int		 i;

	for (i = 0; i < 7; i++) {
		if (o->num[i] == NULL)
			continue;
		if (!num_parse(o->num[i], qadd_nums[i].min,
		    qadd_nums[i].max, &v))
			return cli_fail(EX_DATAERR, "%s: --%s '%s' is not an "
			    "integer in %ld..%ld", c->path, qadd_nums[i].name,
			    o->num[i], qadd_nums[i].min, qadd_nums[i].max);
		*(int *)(void *)((char *)q + qadd_nums[i].off) = (int)v;
	}
	if (strcmp(q->schedule_type, "cron") != 0 &&
	    strcmp(q->schedule_type, "interval") != 0)
		return cli_fail(EX_DATAERR, "%s: --schedule-type '%s' is not "
		    "cron or interval", c->path, q->schedule_type);
	if (tz_load(q->timezone, &tz, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_DATAERR, "%s: --timezone '%s': %s", c->path,
		    q->timezone, err);
	if (sched_parse_tz(q->schedule_type, q->schedule_expr, tz,
	    c->conf.default_query_interval, &s, err, sizeof(err)) != PGS_OK) {
		tz_free(tz);
		return cli_fail(EX_DATAERR, "%s: --schedule-expr '%s': %s",
		    c->path, q->schedule_expr, err);
	}
	sched_free(s);
	tz_free(tz);
	if (o->start_at == NULL)
		return 0;
	if (isotime_parse(o->start_at, &t, NULL, err, sizeof(err)) != PGS_OK)
		return cli_fail(EX_DATAERR, "%s: --start-at '%s': %s", c->path,
		    o->start_at, err);
	q->start_at = arena_strdup(&c->arena, isotime_format_utc(t, ts));
	return 0;
}

/* Saves q; 0 or an exit code. */
static int
qadd_save(struct cli *c, struct query *q)
{
	struct query	 saved;
	enum pgs_rc	 rc;
	long		 id;

	rc = query_create(&c->db, &c->arena, q, &id);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR, "%s: a query named '%s' already "
		    "exists", c->path, q->name);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	rc = query_get(&c->db, &c->arena, arena_printf(&c->arena, "%ld", id),
	    NULL, &saved);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("created query %ld (%s), %s, next run at %s\n", id, q->name,
	    q->enabled ? "enabled" : "disabled",
	    saved.next_run_at ? saved.next_run_at : "-");
	return 0;
}

static int
queries_add(struct cli *c, int argc, char **argv)
{
	struct qadd	 o;
	const struct cli_opt opts[] = {
		{ "name", true, &o.name, NULL },
		{ "title", true, &o.title, NULL },
		{ "description", true, &o.description, NULL },
		{ "sql", true, &o.sql, NULL },
		{ "sql-file", true, &o.sql_file, NULL },
		{ "data-source", true, &o.source, NULL },
		{ "schedule-type", true, &o.type, NULL },
		{ "schedule-expr", true, &o.expr, NULL },
		{ "timezone", true, &o.timezone, NULL },
		{ "start-at", true, &o.start_at, NULL },
		{ "enabled", false, NULL, &o.enabled },
		{ "disabled", false, NULL, &o.disabled },
		{ "timeout-ms", true, &o.num[0], NULL },
		{ "max-rows", true, &o.num[1], NULL },
		{ "max-retries", true, &o.num[2], NULL },
		{ "retry-delay", true, &o.num[3], NULL },
		{ "pause-after-failures", true, &o.num[4], NULL },
		{ "keep-runs", true, &o.num[5], NULL },
		{ "keep-days", true, &o.num[6], NULL }, { NULL, 0, 0, 0 } };
	struct source	 s;
	struct query	 q;
	int		 ex;

	memset(&o, 0, sizeof(o));
	memset(&q, 0, sizeof(q));
	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex == 0)
		ex = qadd_text(c, &o, &q);
	if (ex == 0)
		ex = qadd_check(c, &o, &q);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = dsn_lookup(c, o.source, &s);
	if (ex != 0)
		return ex;
	q.data_source_id = s.id;
	return qadd_save(c, &q);
}

static cJSON *
queries_json(const struct query *q, bool full)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)q->id);
	cJSON_AddStringToObject(o, "name", q->name);
	json_add_str(o, "title", q->title);
	json_add_str(o, "description", q->description);
	if (full)
		cJSON_AddStringToObject(o, "sql_text", q->sql_text);
	cJSON_AddNumberToObject(o, "data_source_id",
	    (double)q->data_source_id);
	cJSON_AddStringToObject(o, "data_source", q->data_source_name);
	cJSON_AddStringToObject(o, "schedule_type", q->schedule_type);
	json_add_str(o, "schedule_expr", q->schedule_expr);
	cJSON_AddStringToObject(o, "timezone", q->timezone);
	cJSON_AddBoolToObject(o, "enabled", q->enabled);
	json_add_str(o, "start_at", q->start_at);
	json_add_str(o, "next_run_at", q->next_run_at);
	json_add_num(o, "timeout_ms", q->timeout_ms, 0);
	json_add_num(o, "max_rows", q->max_rows, 0);
	cJSON_AddNumberToObject(o, "max_retries", q->max_retries);
	cJSON_AddNumberToObject(o, "retry_delay_s", q->retry_delay_s);
	json_add_num(o, "pause_after_failures", q->pause_after_failures,
	    0);
	json_add_num(o, "keep_runs", q->keep_runs, 0);
	json_add_num(o, "keep_days", q->keep_days, 0);
	json_add_str(o, "paused_at", q->paused_at);
	json_add_str(o, "pause_reason", q->pause_reason);
	cJSON_AddNumberToObject(o, "total_runs", (double)q->total_runs);
	cJSON_AddNumberToObject(o, "successful_runs",
	    (double)q->successful_runs);
	cJSON_AddNumberToObject(o, "failed_runs", (double)q->failed_runs);
	cJSON_AddNumberToObject(o, "skipped_runs", (double)q->skipped_runs);
	cJSON_AddNumberToObject(o, "consecutive_failures",
	    (double)q->consecutive_failures);
	json_add_str(o, "last_run_at", q->last_run_at);
	json_add_str(o, "last_run_status", q->last_run_status);
	json_add_num(o, "last_run_duration_ms", q->last_run_duration_ms,
	    -1);
	cJSON_AddNumberToObject(o, "version", q->version);
	cJSON_AddStringToObject(o, "created_at", q->created_at);
	cJSON_AddStringToObject(o, "updated_at", q->updated_at);
	return o;
}

static int
queries_list(struct cli *c, int argc, char **argv)
{
	bool		 en = false, dis = false;
	const char	*limit_s = "500", *offset_s = "0";
	struct query_filter f = { NULL, -1, 0, 0, 0 };
	const struct cli_opt opts[] = {
		{ "enabled", false, NULL, &en },
		{ "disabled", false, NULL, &dis }, { "q", true, &f.q, NULL },
		{ "limit", true, &limit_s, NULL },
		{ "offset", true, &offset_s, NULL }, { NULL, 0, 0, 0 } };
	struct query_list l;
	enum pgs_rc	 rc;
	cJSON		*arr;
	long		 limit, offset;
	int		 ex, i;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (en && dis)
		return cli_fail(EX_USAGE, "%s: give --enabled or --disabled, "
		    "not both", c->path);
	if (!num_parse(limit_s, 1, 100000, &limit) ||
	    !num_parse(offset_s, 0, 2147483647, &offset))
		return cli_fail(EX_USAGE, "%s: --limit is 1..100000 and "
		    "--offset >= 0", c->path);
	f.enabled = en ? 1 : dis ? 0 : -1;
	f.limit = (int)limit;
	f.offset = (int)offset;
	ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = query_list(&c->db, &c->arena, &f, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		arr = cJSON_CreateArray();
		for (i = 0; i < l.n; i++)
			cJSON_AddItemToArray(arr, queries_json(&l.items[i],
			    false));
		cli_print_json(arr);
		return 0;
	}
	qtable_print_queries(&l);
	return 0;
}

/* Parses "VERB QUERY" with options, connects, looks the query up. */
static int
queries_target(struct cli *c, int argc, char **argv,
    const struct cli_opt *opts, struct query *q)
{
	const char	*who;
	int		 ex;

	ex = cli_target(c, argc, argv, opts, "query", &who);
	if (ex != 0)
		return ex;
	return queries_lookup(c, who, q);
}

static int
queries_show(struct cli *c, int argc, char **argv)
{
	struct query	 q;
	int		 ex;

	ex = queries_target(c, argc, argv, NULL, &q);
	if (ex != 0)
		return ex;
	if (c->json)
		cli_print_json(queries_json(&q, true));
	else
		qtable_print_query(&q);
	return 0;
}

static int
queries_enable_cmd(struct cli *c, int argc, char **argv, bool enable)
{
	struct query	 q;
	enum pgs_rc	 rc;
	int		 ex;

	ex = queries_target(c, argc, argv, NULL, &q);
	if (ex != 0)
		return ex;
	rc = query_set_enabled(&c->db, &c->arena, q.id, enable);
	if (rc == PGS_OK)
		rc = query_get(&c->db, &c->arena, arena_printf(&c->arena,
		    "%ld", q.id), NULL, &q);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (enable)
		printf("query %s enabled, next run at %s\n", q.name,
		    q.next_run_at ? q.next_run_at : "-");
	else
		printf("query %s disabled\n", q.name);
	return 0;
}

static int
queries_enable(struct cli *c, int argc, char **argv)
{
	return queries_enable_cmd(c, argc, argv, true);
}

static int
queries_disable(struct cli *c, int argc, char **argv)
{
	return queries_enable_cmd(c, argc, argv, false);
}

static int
queries_rm(struct cli *c, int argc, char **argv)
{
	bool		 force = false;
	const struct cli_opt opts[] = { { "force", false, NULL, &force },
		{ NULL, 0, 0, 0 } };
	struct query	 q;
	enum pgs_rc	 rc;
	int		 ex;

	ex = queries_target(c, argc, argv, opts, &q);
	if (ex != 0)
		return ex;
	rc = query_delete(&c->db, &c->arena, q.id, force);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR, "%s: query '%s' has %ld run%s "
		    "(--force deletes them too)", c->path, q.name,
		    q.total_runs, q.total_runs == 1 ? "" : "s");
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("deleted query %s\n", q.name);
	return 0;
}

/* Maps a failure of the dry run to an exit code after one line. */
static int
queries_test_fail(struct cli *c, const struct query *q, enum pgs_rc rc,
    const char *err)
{
	switch (rc) {
	case PGS_TIMEOUT:
		return cli_fail(EX_TEMPFAIL, "%s: %s: timed out: %s", c->path,
		    q->name, err);
	case PGS_DB:
		return cli_fail(EX_UNAVAILABLE, "%s: %s: data source %s: %s",
		    c->path, q->name, q->data_source_name, err);
	default:
		return cli_fail(EX_DATAERR, "%s: %s: %s", c->path, q->name,
		    err);
	}
}

/* Connects to q's source and runs it; 0 or an exit code. */
static int
queries_dry_run(struct cli *c, const struct query *q,
    const struct exec_opts *o, struct result **rs, long *ms)
{
	struct cred_keys k;
	struct source	 s;
	PGconn		*conn = NULL;
	char		 err[512];
	enum pgs_rc	 rc;
	int		 ex;

	ex = queries_check_sql(c, arena_printf(&c->arena, "the SQL of %s",
	    q->name), q->sql_text);
	if (ex == 0)
		ex = dsn_lookup(c, arena_printf(&c->arena, "%ld",
		    q->data_source_id), &s);
	if (ex == 0)
		ex = dsn_keys(c, true, &k);
	if (ex != 0)
		return ex;
	rc = dsn_connect(c, &k, &s, o, &conn, NULL, err, sizeof(err));
	cred_free(&k);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR, "%s: %s: data source %s: %s",
		    c->path, q->name, s.name, err);
	if (rc == PGS_OK)
		rc = exec_query(conn, q->sql_text, o, rs, ms, err,
		    sizeof(err));
	PQfinish(conn);
	if (rc != PGS_OK)
		return queries_test_fail(c, q, rc, err);
	return 0;
}

static int
queries_test(struct cli *c, int argc, char **argv)
{
	const char	*limit_s = "10", *tmo_s = NULL;
	const struct cli_opt opts[] = { { "limit", true, &limit_s, NULL },
		{ "timeout-ms", true, &tmo_s, NULL }, { NULL, 0, 0, 0 } };
	struct exec_opts o;
	struct result	*rs = NULL;
	struct query	 q;
	long		 limit, tmo = 0, ms;
	int		 ex;

	ex = queries_target(c, argc, argv, opts, &q);
	if (ex != 0)
		return ex;
	if (!num_parse(limit_s, 1, 1000, &limit))
		return cli_fail(EX_USAGE, "%s: --limit '%s' is not 1..1000",
		    c->path, limit_s);
	if (tmo_s != NULL && !num_parse(tmo_s, 100, 86400000, &tmo))
		return cli_fail(EX_USAGE, "%s: --timeout-ms '%s' is not "
		    "100..86400000", c->path, tmo_s);
	dsn_exec_opts(c, tmo > 0 ? (int)tmo : q.timeout_ms, (size_t)limit, &o);
	ex = queries_dry_run(c, &q, &o, &rs, &ms);
	if (ex != 0)
		return ex;
	ex = qtable_print_result(c, rs, ms);
	rs_free(rs);
	return ex;
}

static const struct cli_cmd query_cmds[] = {
	{ "add", queries_add, "create a scheduled query",
	    "  --name NAME            unique name (required)\n"
	    "  --title TEXT           title (default: the name)\n"
	    "  --description TEXT     description\n"
	    "  --sql SQL              the SELECT statement\n"
	    "  --sql-file FILE        read the SELECT from FILE (- for stdin)\n"
	    "  --data-source NAME|ID  where it runs (required)\n"
	    "  --schedule-type T      cron or interval (required)\n"
	    "  --schedule-expr E      cron expression, or ISO 8601 duration / "
	    "seconds\n"
	    "  --timezone ZONE        IANA zone of the cron fields (default "
	    "UTC)\n"
	    "  --start-at ISO         interval anchor (default: creation "
	    "time)\n"
	    "  --enabled | --disabled schedule it or not (default enabled)\n"
	    "  --timeout-ms N         statement timeout, 100..86400000\n"
	    "  --max-rows N           keep at most N rows per run\n"
	    "  --max-retries N        retries after a failure, 0..10\n"
	    "  --retry-delay S        first retry delay in seconds, 1..3600\n"
	    "  --pause-after-failures N  disable after N failures in a row\n"
	    "  --keep-runs N          keep the latest N runs\n"
	    "  --keep-days N          keep runs N days\n" },
	{ "list", queries_list, "list queries",
	    "  --enabled | --disabled only those\n"
	    "  --q TEXT               name or title containing TEXT\n"
	    "  --limit N, --offset N  paging (default 500, 0)\n" },
	{ "show", queries_show, "show one query with its schedule and "
	    "statistics", NULL },
	{ "enable", queries_enable, "enable a query (next run computed from "
	    "now)", NULL },
	{ "disable", queries_disable, "disable a query", NULL },
	{ "run", queries_run, "run a query now (a manual run, recorded)",
	    NULL },
	{ "test", queries_test, "dry-run a saved query, storing nothing",
	    "  --limit N              at most N rows (default 10, max 1000)\n"
	    "  --timeout-ms N         statement timeout (default: the "
	    "query's)\n" },
	{ "rm", queries_rm, "delete a query",
	    "  --force                also delete its runs\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_queries(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "queries", query_cmds, argc - 1, argv + 1);
}
