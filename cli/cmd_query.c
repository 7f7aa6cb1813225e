/*
 * cmd_query.c: pgsched-admin queries add|list|show|enable|disable|test|rm.
 * Everything is checked before it is saved, by the rules the API applies
 * too (src/query_rules.c: the settings and their bounds, the name, the
 * SQL, the schedule and its zone); the data source by this door.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "access.h"
#include "dsn.h"
#include "qtable.h"
#include "query_rules.h"
#include "shape.h"

int
queries_lookup(struct cli *c, const char *who, struct query *q)
{
	enum pgs_rc rc = PGS_NOTFOUND;
	long	    id;

	if (num_parse(who, 1, 2147483647, &id))
		rc = query_get(&c->db, &c->arena, who, NULL, q);
	if (rc == PGS_NOTFOUND)
		rc = query_get(&c->db, &c->arena, NULL, who, q);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR,
		    "%s: unknown query '%s' (see "
		    "'pgsched-admin queries list')",
		    c->path, who);
	return cli_db_fail(c, rc, c->path);
}

/* The options of queries add, as given: text[f] is the option of
 * setting f of the rules' table; the rest only this door has. */
struct cmd_query_add {
	const char *text[QF_COUNT];
	const char *sql_file, *source;
	bool	    enabled, disabled;
};

/* Reads the SQL of --sql-file (- for stdin) into an arena string, at most
 * one byte beyond what sql_text may hold (the rules refuse it then). */
static int
cmd_query_read_sql(struct cli *c, const char *path, const char **out)
{
	const struct query_setting *t = &query_rules_table()[QF_SQL_TEXT];
	struct buf		    b = BUF_INIT;
	char			    chunk[8192];
	FILE			   *fp;
	size_t			    n;
	int			    ex = 0;

	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL)
		return cli_fail(EX_NOINPUT, "%s: --sql-file %s: %s", c->path,
		    path, strerror(errno));
	while (b.len <= (size_t)t->max) {
		n = fread(chunk, 1, sizeof(chunk), fp);
		if (n == 0)
			break;
		buf_append(&b, chunk, n);
	}
	if (ferror(fp))
		ex = cli_fail(EX_IOERR, "%s: --sql-file %s: read error",
		    c->path, path);
	else if (memchr(b.data != NULL ? b.data : "", '\0', b.len) != NULL)
		ex = cli_fail(EX_DATAERR,
		    "%s: --sql-file %s: holds a NUL "
		    "byte",
		    c->path, path);
	if (fp != stdin)
		fclose(fp);
	if (ex == 0)
		*out = arena_strndup(&c->arena, b.data != NULL ? b.data : "",
		    b.len < (size_t)t->max + 1 ? b.len : (size_t)t->max + 1);
	buf_free(&b);
	return ex;
}

/* Checks what must be given at all (usage errors, exit 64) and reads
 * --sql-file; 0 or an exit code after one line. */
static int
cmd_query_add_usage(struct cli *c, struct cmd_query_add *o)
{
	if (o->text[QF_NAME] == NULL)
		return cli_fail(EX_USAGE, "%s: --name is required", c->path);
	if (o->source == NULL)
		return cli_fail(EX_USAGE, "%s: --data-source is required",
		    c->path);
	if (o->text[QF_SCHEDULE_TYPE] == NULL)
		return cli_fail(EX_USAGE,
		    "%s: --schedule-type is required "
		    "(cron or interval)",
		    c->path);
	if (o->enabled && o->disabled)
		return cli_fail(EX_USAGE,
		    "%s: give --enabled or --disabled, "
		    "not both",
		    c->path);
	if ((o->text[QF_SQL_TEXT] == NULL) == (o->sql_file == NULL))
		return cli_fail(EX_USAGE,
		    "%s: give the SQL with --sql or "
		    "--sql-file (one of them)",
		    c->path);
	if (o->sql_file != NULL)
		return cmd_query_read_sql(c, o->sql_file,
		    &o->text[QF_SQL_TEXT]);
	return 0;
}

/* Returns how the option of setting f is named in a message: "--max-rows
 * '0'", with the value unless it is long or not one line (the SQL). */
static const char *
cmd_query_option(struct cli *c, const struct cmd_query_add *o,
    enum query_field f)
{
	const char *opt = query_rules_table()[f].option;
	const char *v = o->text[f];
	size_t	    i;

	if (f == QF_SQL_TEXT && o->sql_file != NULL)
		return arena_printf(&c->arena, "--sql-file %s", o->sql_file);
	for (i = 0; v != NULL && v[i] != '\0' && i <= 64; i++)
		if ((unsigned char)v[i] < 0x20)
			break;
	if (v == NULL || v[i] != '\0' || f == QF_SQL_TEXT)
		return arena_printf(&c->arena, "--%s", opt);
	return arena_printf(&c->arena, "--%s '%s'", opt, v);
}

/* Prints the field errors of e as one line ("--max-rows '0': must be
 * ...; --keep-days ..."); returns EX_DATAERR. */
static int
cmd_query_add_errors(struct cli *c, const struct cmd_query_add *o,
    const struct field_errors *e)
{
	struct buf		    b = BUF_INIT;
	const struct query_setting *s;
	int			    i;

	for (i = 0; i < e->n; i++) {
		s = query_rules_find(e->items[i].field);
		buf_printf(&b, "%s%s: %s", i > 0 ? "; " : "",
		    cmd_query_option(c, o,
			(enum query_field)(s - query_rules_table())),
		    e->items[i].message);
	}
	cli_fail(EX_DATAERR, "%s: %s", c->path, b.data);
	buf_free(&b);
	return EX_DATAERR;
}

/* Turns the options into the rules' input in; edit: "none" unsets a
 * numeric setting that may be unset (queries edit). */
static void
cmd_query_input(const struct cmd_query_add *o, bool edit,
    struct query_input *in)
{
	const struct query_setting *t = query_rules_table();
	long			    v;
	int			    i;

	memset(in, 0, sizeof(*in));
	for (i = 0; i < QF_COUNT; i++) {
		if (o->text[i] == NULL)
			continue;
		in->v[i].given = QUERY_VALUE;
		in->v[i].text = o->text[i];
		if (edit && t[i].kind != QUERY_TEXT && t[i].nullable &&
		    strcmp(o->text[i], "none") == 0)
			in->v[i].given = QUERY_NULL;
		else if (t[i].kind == QUERY_INT &&
		    !num_parse(o->text[i], LONG_MIN, LONG_MAX, &v))
			in->v[i].given = QUERY_BADTYPE;
		else if (t[i].kind == QUERY_INT)
			in->v[i].num = v;
	}
}

/* Turns the options into the rules' input and checks them over q (a new
 * query); 0 or an exit code after one line. */
static int
cmd_query_add_check(struct cli *c, const struct cmd_query_add *o,
    struct query *q)
{
	struct query_input  in;
	struct field_errors e;

	cmd_query_input(o, false, &in);
	/* The title defaults to the name. */
	if (o->text[QF_TITLE] == NULL)
		in.v[QF_TITLE] = in.v[QF_NAME];
	query_rules_defaults(q, c->conf.runs_public);
	q->enabled = !o->disabled;
	field_errors_init(&e, &c->arena);
	if (query_rules_apply(&in, true, c->conf.default_query_interval, q,
		&e) != PGS_OK)
		return cmd_query_add_errors(c, o, &e);
	return 0;
}

/* Saves q; 0 or an exit code. */
static int
cmd_query_add_save(struct cli *c, struct query *q)
{
	struct query saved;
	enum pgs_rc  rc;
	long	     id;

	rc = query_create(&c->db, &c->arena, q, &id);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: a query named '%s' already "
		    "exists",
		    c->path, q->name);
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

/* The options of queries add: one per setting of the rules' table, then
 * those only this door has, then the end of the list. */
#define CMD_QUERY_ADD_OPTS (QF_COUNT + 5)

/* Fills opts (CMD_QUERY_ADD_OPTS entries) to set the members of o. */
static void
cmd_query_add_opts(struct cmd_query_add *o, struct cli_opt *opts)
{
	const struct query_setting *t = query_rules_table();
	const struct cli_opt own[] = { { "sql-file", true, &o->sql_file, NULL },
		{ "data-source", true, &o->source, NULL },
		{ "enabled", false, NULL, &o->enabled },
		{ "disabled", false, NULL, &o->disabled }, { NULL, 0, 0, 0 } };
	int		     i;

	for (i = 0; i < QF_COUNT; i++)
		opts[i] =
		    (struct cli_opt){ t[i].option, true, &o->text[i], NULL };
	memcpy(opts + QF_COUNT, own, sizeof(own));
}

static int
cmd_query_add(struct cli *c, int argc, char **argv)
{
	struct cmd_query_add o;
	struct cli_opt	     opts[CMD_QUERY_ADD_OPTS];
	struct source	     s;
	struct query	     q;
	int		     ex;

	memset(&o, 0, sizeof(o));
	cmd_query_add_opts(&o, opts);
	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex == 0)
		ex = cmd_query_add_usage(c, &o);
	if (ex == 0)
		ex = cmd_query_add_check(c, &o, &q);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = dsn_lookup(c, "--data-source", o.source, &s);
	if (ex != 0)
		return ex;
	q.data_source_id = s.id;
	return cmd_query_add_save(c, &q);
}

static int
cmd_query_list(struct cli *c, int argc, char **argv)
{
	bool		     en = false, dis = false;
	const char	    *limit_s = "500", *offset_s = "0";
	struct query_filter  f = { NULL, -1, 0, NULL, 0, 0 };
	const struct cli_opt opts[] = { { "enabled", false, NULL, &en },
		{ "disabled", false, NULL, &dis }, { "q", true, &f.q, NULL },
		{ "limit", true, &limit_s, NULL },
		{ "offset", true, &offset_s, NULL }, { NULL, 0, 0, 0 } };
	struct query_list    l;
	enum pgs_rc	     rc;
	long		     limit, offset;
	int		     ex;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (en && dis)
		return cli_fail(EX_USAGE,
		    "%s: give --enabled or --disabled, "
		    "not both",
		    c->path);
	if (!num_parse(limit_s, 1, 100000, &limit) ||
	    !num_parse(offset_s, 0, 2147483647, &offset))
		return cli_fail(EX_USAGE,
		    "%s: --limit is 1..100000 and "
		    "--offset >= 0",
		    c->path);
	f.enabled = en ? 1 : dis ? 0 : -1;
	f.limit = (int)limit;
	f.offset = (int)offset;
	ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = query_list(&c->db, &c->arena, &f, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json)
		cli_print_json(shape_query_list(&l, true, limit, offset));
	else
		qtable_print_queries(&l);
	return 0;
}

/* Parses "VERB QUERY" with options, connects, looks the query up. */
static int
queries_target(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    struct query *q)
{
	const char *who;
	int	    ex;

	ex = cli_target(c, argc, argv, opts, "query", &who);
	if (ex != 0)
		return ex;
	return queries_lookup(c, who, q);
}

/* Checks the options of queries edit over q, the stored query; 0 or an
 * exit code after one line. */
static int
cmd_query_edit_check(struct cli *c, struct cmd_query_add *o, struct query *q)
{
	struct query_input  in;
	struct field_errors e;
	struct source	    s;
	int		    ex = 0;

	if (o->enabled && o->disabled)
		return cli_fail(EX_USAGE,
		    "%s: give --enabled or --disabled, not both", c->path);
	if (o->text[QF_SQL_TEXT] != NULL && o->sql_file != NULL)
		return cli_fail(EX_USAGE,
		    "%s: give --sql or --sql-file, not both", c->path);
	if (o->sql_file != NULL)
		ex = cmd_query_read_sql(c, o->sql_file, &o->text[QF_SQL_TEXT]);
	if (ex != 0)
		return ex;
	cmd_query_input(o, true, &in);
	field_errors_init(&e, &c->arena);
	if (query_rules_apply(&in, false, c->conf.default_query_interval, q,
		&e) != PGS_OK)
		return cmd_query_add_errors(c, o, &e);
	if (o->enabled || o->disabled)
		q->enabled = o->enabled;
	if (o->source != NULL)
		ex = dsn_lookup(c, "--data-source", o->source, &s);
	if (ex == 0 && o->source != NULL)
		q->data_source_id = s.id;
	return ex;
}

/* queries edit: the settings given change, through the rules of add (and
 * of PATCH /api/admin/queries/{qid}); the others stay. */
static int
cmd_query_edit(struct cli *c, int argc, char **argv)
{
	struct cmd_query_add o;
	struct cli_opt	     opts[CMD_QUERY_ADD_OPTS];
	struct query	     q;
	enum pgs_rc	     rc;
	int		     ex;

	memset(&o, 0, sizeof(o));
	cmd_query_add_opts(&o, opts);
	ex = queries_target(c, argc, argv, opts, &q);
	if (ex == 0)
		ex = cmd_query_edit_check(c, &o, &q);
	if (ex != 0)
		return ex;
	rc = query_update(&c->db, &c->arena, &q);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: a query named '%s' exists, or the query changed "
		    "meanwhile (run it again)",
		    c->path, q.name);
	if (rc == PGS_OK)
		rc = query_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", q.id), NULL, &q);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("updated query %ld (%s), %s, next run at %s\n", q.id, q.name,
	    q.enabled ? "enabled" : "disabled",
	    q.next_run_at ? q.next_run_at : "-");
	return 0;
}

static int
cmd_query_show(struct cli *c, int argc, char **argv)
{
	struct query q;
	int	     ex;

	ex = queries_target(c, argc, argv, NULL, &q);
	if (ex != 0)
		return ex;
	if (c->json)
		cli_print_json(
		    shape_query_detail(&q, c->conf.default_query_interval));
	else
		qtable_print_query(&q);
	return 0;
}

static int
queries_enable_cmd(struct cli *c, int argc, char **argv, bool enable)
{
	struct query q;
	enum pgs_rc  rc;
	int	     ex;

	ex = queries_target(c, argc, argv, NULL, &q);
	if (ex != 0)
		return ex;
	rc = query_set_enabled(&c->db, &c->arena, q.id, enable);
	if (rc == PGS_OK)
		rc = query_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", q.id), NULL, &q);
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
	bool		     force = false;
	const struct cli_opt opts[] = { { "force", false, NULL, &force },
		{ NULL, 0, 0, 0 } };
	struct query	     q;
	enum pgs_rc	     rc;
	int		     ex;

	ex = queries_target(c, argc, argv, opts, &q);
	if (ex != 0)
		return ex;
	rc = query_delete(&c->db, &c->arena, q.id, force);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: query '%s' has %ld run%s "
		    "(--force deletes them too)",
		    c->path, q.name, q.total_runs,
		    q.total_runs == 1 ? "" : "s");
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("deleted query %s\n", q.name);
	return 0;
}

/* Parses "ID[,ID...]" (or "" for none) into arena-owned ids. */
static int
cmd_query_grants_ids(struct cli *c, const char *s, long **ids, int *n)
{
	char *copy, *tok, *save;

	*ids = arena_alloc(&c->arena, sizeof(**ids) * (strlen(s) / 2 + 2));
	*n = 0;
	copy = arena_strdup(&c->arena, s);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		if (*n >= ACCESS_GRANTS_MAX ||
		    !num_parse(tok, 1, 2147483647, &(*ids)[(*n)++]))
			return cli_fail(EX_USAGE,
			    "%s: --users takes up to %d user ids, "
			    "comma-separated",
			    c->path, ACCESS_GRANTS_MAX);
	return 0;
}

static int
cmd_query_grants(struct cli *c, int argc, char **argv)
{
	const char	    *users = NULL;
	const struct cli_opt opts[] = { { "users", true, &users, NULL },
		{ NULL, 0, 0, 0 } };
	struct access_query  aq;
	struct query	     q;
	long		    *ids;
	enum pgs_rc	     rc;
	int		     ex, n, i;

	ex = queries_target(c, argc, argv, opts, &q);
	if (ex == 0 && users != NULL)
		ex = cmd_query_grants_ids(c, users, &ids, &n);
	if (ex != 0)
		return ex;
	rc = users == NULL ?
	    PGS_OK :
	    access_grants_set(&c->db, &c->arena, q.id, ids, n, 0);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR,
		    "%s: --users names a user that "
		    "does not exist",
		    c->path);
	if (rc == PGS_OK)
		rc = access_query_get(&c->db, &c->arena, q.id, &aq);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("query %s (%s): granted to", q.name, access_vis_name(aq.vis));
	for (i = 0; i < aq.ngrantees; i++)
		printf("%s%ld", i > 0 ? "," : " ", aq.grantees[i]);
	printf("%s\n", aq.ngrantees == 0 ? " nobody" : "");
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

/* Checks the SQL of q as it was checked when saved (the rules may have
 * changed since); 0 or an exit code after one line. */
static int
cmd_query_check_sql(struct cli *c, const struct query *q)
{
	struct field_errors e;
	enum pgs_rc	    rc;

	field_errors_init(&e, &c->arena);
	rc = query_rules_sql(&e, "sql_text", q->sql_text);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR,
		    "%s: the SQL of %s is not "
		    "accepted: %s",
		    c->path, q->name, e.items[0].message);
	if (rc != PGS_OK)
		return cli_fail(EX_SOFTWARE,
		    "%s: the SQL of %s cannot be "
		    "checked",
		    c->path, q->name);
	return 0;
}

/* Connects to q's source and runs it; 0 or an exit code. */
static int
queries_dry_run(struct cli *c, const struct query *q, const struct exec_opts *o,
    struct result **rs, long *ms)
{
	struct cred_keys k;
	struct source	 s;
	PGconn		*conn = NULL;
	char		 err[512];
	enum pgs_rc	 rc;
	int		 ex;

	ex = cmd_query_check_sql(c, q);
	if (ex == 0)
		ex = dsn_lookup(c, "data source",
		    arena_printf(&c->arena, "%ld", q->data_source_id), &s);
	if (ex == 0)
		ex = dsn_keys(c, true, &k);
	if (ex != 0)
		return ex;
	rc = source_conn_open(&k, &s, o, &conn, NULL, err, sizeof(err));
	cred_free(&k);
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR, "%s: %s: data source %s: %s",
		    c->path, q->name, s.name, err);
	if (rc == PGS_OK)
		rc = exec_query(conn, q->sql_text, o, rs, ms, err, sizeof(err));
	PQfinish(conn);
	if (rc != PGS_OK)
		return queries_test_fail(c, q, rc, err);
	return 0;
}

static int
queries_test(struct cli *c, int argc, char **argv)
{
	const char	    *limit_s = "10", *tmo_s = NULL;
	const struct cli_opt opts[] = { { "limit", true, &limit_s, NULL },
		{ "timeout-ms", true, &tmo_s, NULL }, { NULL, 0, 0, 0 } };
	struct exec_opts     o;
	struct result	    *rs = NULL;
	struct query	     q;
	long		     limit, tmo = 0, ms;
	int		     ex;

	ex = queries_target(c, argc, argv, opts, &q);
	if (ex != 0)
		return ex;
	if (!num_parse(limit_s, 1, 1000, &limit))
		return cli_fail(EX_USAGE, "%s: --limit '%s' is not 1..1000",
		    c->path, limit_s);
	if (tmo_s != NULL && !num_parse(tmo_s, 100, 86400000, &tmo))
		return cli_fail(EX_USAGE,
		    "%s: --timeout-ms '%s' is not "
		    "100..86400000",
		    c->path, tmo_s);
	dsn_exec_opts(c, tmo > 0 ? (int)tmo : q.timeout_ms, (size_t)limit, &o);
	ex = queries_dry_run(c, &q, &o, &rs, &ms);
	if (ex != 0)
		return ex;
	ex = qtable_print_result(c, rs, ms);
	rs_free(rs);
	return ex;
}

static const struct cli_cmd query_cmds[] = {
	{ "add", cmd_query_add, "create a scheduled query",
	    "  --name NAME            unique name (required): 1-128 letters, "
	    "digits,\n"
	    "                         _ . or -, starting with a letter or "
	    "digit\n"
	    "  --title TEXT           title, at most 200 bytes (default: the "
	    "name)\n"
	    "  --description TEXT     description, at most 10000 bytes\n"
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
	    "  --max-rows N           keep at most N rows per run, "
	    "1..2147483647\n"
	    "  --max-retries N        retries after a failure, 0..10\n"
	    "  --retry-delay S        first retry delay in seconds, 1..3600\n"
	    "  --pause-after-failures N  disable after N failures in a row, "
	    "1..2147483647\n"
	    "  --keep-runs N          keep the latest N runs, 1..2147483647\n"
	    "  --keep-days N          keep runs N days, 1..365000\n"
	    "  --max-staleness D      job.stale when no success within D "
	    "(ISO 8601\n"
	    "                         duration or seconds, 60 s..366 days)\n"
	    "  --visibility V         who reads its results: public, internal\n"
	    "                         or restricted (default public while\n"
	    "                         RUNS_PUBLIC=1, else internal)\n" },
	{ "edit", cmd_query_edit,
	    "change settings of a query (the options of add)",
	    "  --max-staleness D      job.stale when no success within D, or "
	    "none\n"
	    "  --timeout-ms N ...     any option of add; none unsets a "
	    "number\n"
	    "  --visibility V         public, internal or restricted\n"
	    "  --enabled | --disabled schedule it or not\n" },
	{ "grants", cmd_query_grants,
	    "show or set the users granted a restricted query",
	    "  --users ID[,ID...]     grant exactly these users (\"\": none)\n" },
	{ "list", cmd_query_list, "list queries",
	    "  --enabled | --disabled only those\n"
	    "  --q TEXT               name or title containing TEXT\n"
	    "  --limit N, --offset N  paging (default 500, 0)\n" },
	{ "show", cmd_query_show,
	    "show one query with its schedule and "
	    "statistics",
	    NULL },
	{ "enable", queries_enable,
	    "enable a query (next run computed from "
	    "now)",
	    NULL },
	{ "disable", queries_disable, "disable a query", NULL },
	{ "run", queries_run, "run a query now (a manual run, recorded)",
	    NULL },
	{ "test", queries_test, "dry-run a saved query, storing nothing",
	    "  --limit N              at most N rows (default 10, max 1000)\n"
	    "  --timeout-ms N         statement timeout (default: the "
	    "query's)\n" },
	{ "rm", queries_rm, "delete a query",
	    "  --force                also delete its runs\n" },
	{ "notify", cmd_notify_queries_notify,
	    "show or set which events of a query go to a channel",
	    "  --channel NAME|ID      the channel\n"
	    "  --on EVENT[,EVENT...]  run.failed, run.succeeded, job.paused,\n"
	    "                         job.stale, alert.firing, alert.resolved,\n"
	    "                         result.changed\n"
	    "  --off                  stop notifying the channel\n"
	    "  --json                 print the subscriptions as JSON\n" },
	{ "alert", cmd_notify_queries_alert,
	    "show, set or clear the alert of a query",
	    "  --rows OP N            fire when the row count compares so\n"
	    "                         (OP: > >= < <= = !=)\n"
	    "  --value COLUMN OP V    fire when COLUMN of the first row\n"
	    "                         compares so with V (a number, else text)\n"
	    "  --clear                remove the alert\n"
	    "  --json                 print the alert as JSON\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_queries(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "queries", query_cmds, argc - 1, argv + 1);
}
