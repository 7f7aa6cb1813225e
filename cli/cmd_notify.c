/*
 * cmd_notify.c: pgsched-admin queries notify, queries alert and
 * deliveries list|redeliver (CONTRACT section 8), with the API's rules
 * (notify_rules.h), SQL (notify_store.h) and JSON (shape_notify.h).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"
#include "json.h"
#include "notify_rules.h"
#include "notify_store.h"
#include "shape_notify.h"
#include "store.h"

/* Looks query who (an id or a name) up; 0 or an exit code. */
static int
cmd_notify_query(struct cli *c, const char *who, struct query *q)
{
	enum pgs_rc rc = PGS_NOTFOUND;
	long	    id;

	if (num_parse(who, 1, 2147483647, &id))
		rc = query_get(&c->db, &c->arena, who, NULL, q);
	if (rc == PGS_NOTFOUND)
		rc = query_get(&c->db, &c->arena, NULL, who, q);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR,
		    "%s: no query '%s' (see 'pgsched-admin queries list')",
		    c->path, who);
	return cli_db_fail(c, rc, c->path);
}

/* Splits EV[,EV...] into *ev (arena-owned); returns the count. */
static int
cmd_notify_split(struct cli *c, const char *s, const char ***ev)
{
	const char **v;
	char	    *copy, *p, *save = NULL;
	int	     n = 0, cap = 2;

	for (p = (char *)s; *p != '\0'; p++)
		cap += *p == ',';
	v = arena_alloc(&c->arena, sizeof(*v) * (size_t)cap);
	copy = arena_strdup(&c->arena, s);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save))
		v[n++] = p;
	v[n] = NULL;
	*ev = v;
	return n;
}

/* Prints the subscriptions of query q (text or JSON). */
static int
cmd_notify_print_subs(struct cli *c, const struct query *q)
{
	struct notify_sub_list l;
	enum pgs_rc	       rc;
	int		       i, j;

	rc = notify_store_subs_get(&c->db, &c->arena, q->id, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_notify_subs(&l));
		return 0;
	}
	if (l.n == 0)
		printf("query %s notifies no channel\n", q->name);
	for (i = 0; i < l.n; i++) {
		printf("query %s: channel %s (%s) on ", q->name,
		    l.items[i].channel_name, l.items[i].channel_kind);
		for (j = 0; j < l.items[i].nevents; j++)
			printf("%s%s", j > 0 ? "," : "", l.items[i].events[j]);
		printf("\n");
	}
	return 0;
}

/* Sets (on) or ends (!on) the subscription of ch by q; 0 or an exit
 * code. */
static int
cmd_notify_apply(struct cli *c, const struct query *q, const struct channel *ch,
    const char *on)
{
	struct field_errors e;
	const char	  **ev = NULL;
	enum pgs_rc	    rc;
	int		    n;

	if (on == NULL) {
		rc = notify_store_sub_delete(&c->db, &c->arena, q->id, ch->id);
		if (rc == PGS_NOTFOUND)
			return cli_fail(EX_DATAERR,
			    "%s: query %s does not notify channel %s", c->path,
			    q->name, ch->name);
		return cli_db_fail(c, rc, c->path);
	}
	n = cmd_notify_split(c, on, &ev);
	field_errors_init(&e, &c->arena);
	if (notify_rules_events_check(&e, "events", ev, (size_t)n) != PGS_OK)
		return cli_fail(EX_DATAERR, "%s: --on '%s': %s", c->path, on,
		    field_errors_get(&e, "events"));
	rc = notify_store_sub_set(&c->db, &c->arena, q->id, ch->id, ev, n);
	return cli_db_fail(c, rc, c->path);
}

int
cmd_notify_queries_notify(struct cli *c, int argc, char **argv)
{
	const char	    *pos[1], *chan = NULL, *on = NULL;
	bool		     off = false;
	const struct cli_opt opts[] = { { "channel", true, &chan, NULL },
		{ "on", true, &on, NULL }, { "off", false, NULL, &off },
		{ NULL, 0, 0, 0 } };
	struct channel	     ch;
	struct query	     q;
	int		     ex, n;

	ex = cli_parse(c, argc, argv, opts, pos, 1, &n);
	if (ex != 0)
		return ex;
	if (n != 1)
		return cli_fail(EX_USAGE,
		    "%s: which query? give a name or an id", c->path);
	if (chan == NULL && (on != NULL || off))
		return cli_fail(EX_USAGE, "%s: --channel is required", c->path);
	if (chan != NULL && (on == NULL) == !off)
		return cli_fail(EX_USAGE,
		    "%s: give --on EVENT[,EVENT...] or --off", c->path);
	ex = cli_connect(c, true);
	if (ex == 0)
		ex = cmd_notify_query(c, pos[0], &q);
	if (ex == 0 && chan != NULL)
		ex = cmd_channel_lookup(c, chan, &ch);
	if (ex == 0 && chan != NULL)
		ex = cmd_notify_apply(c, &q, &ch, on);
	if (ex == 0)
		ex = cmd_notify_print_subs(c, &q);
	return ex;
}

/* The option or argument a field error of an alert is about. */
static const char *
cmd_notify_alert_arg(const char *field)
{
	if (strcmp(field, "column") == 0)
		return "--value COLUMN";
	if (strcmp(field, "op") == 0)
		return "OP";
	if (strcmp(field, "value") == 0)
		return "N/V";
	return "--rows/--value";
}

/* Checks the alert of the options (rows: OP N; else COLUMN OP V) into
 * al through the rules; 0 or an exit code. */
static int
cmd_notify_alert_check(struct cli *c, const char *column,
    const char *const *pos, int n, struct alert *al)
{
	struct notify_alert_input in;
	struct field_errors	  e;
	struct buf		  b = BUF_INIT;
	int			  i;

	memset(&in, 0, sizeof(in));
	in.kind = column == NULL ? "rows" : "value";
	in.column = column;
	in.op = n > 1 ? pos[1] : NULL;
	in.value = n > 2 ? pos[2] : NULL;
	/* A value that reads as a number compares as one (as JSON's 10
	 * does through the API); any other is a string. */
	in.value_is_number = notify_rules_number_valid(in.value);
	field_errors_init(&e, &c->arena);
	if (notify_rules_alert(&in, &e) == PGS_OK) {
		al->kind = (char *)in.kind;
		al->column_name = (char *)in.column;
		al->op = (char *)in.op;
		al->value = (char *)in.value;
		al->value_is_number = in.value_is_number;
		return 0;
	}
	for (i = 0; i < e.n; i++)
		buf_printf(&b, "%s%s: %s", i > 0 ? "; " : "",
		    cmd_notify_alert_arg(e.items[i].field), e.items[i].message);
	cli_fail(EX_DATAERR, "%s: %s", c->path, b.data);
	buf_free(&b);
	return EX_DATAERR;
}

/* Prints the alert of query q. */
static int
cmd_notify_print_alert(struct cli *c, const struct query *q)
{
	struct alert al;
	bool	     exists;
	enum pgs_rc  rc;

	rc = notify_store_alert_get(&c->db, &c->arena, q->id, &al, &exists);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(
		    exists ? shape_notify_alert(&al) : cJSON_CreateNull());
		return 0;
	}
	if (!exists)
		printf("query %s has no alert\n", q->name);
	else if (strcmp(al.kind, "rows") == 0)
		printf("query %s: alert when rows %s %s: %s since %s\n",
		    q->name, al.op, al.value, al.state, al.since);
	else
		printf("query %s: alert when %s %s %s%s%s: %s since %s\n",
		    q->name, al.column_name, al.op,
		    al.value_is_number ? "" : "'", al.value,
		    al.value_is_number ? "" : "'", al.state, al.since);
	if (exists && al.last_error != NULL)
		printf("last error: %s\n", al.last_error);
	return 0;
}

int
cmd_notify_queries_alert(struct cli *c, int argc, char **argv)
{
	const char	    *pos[3], *rows = NULL, *column = NULL;
	bool		     clear = false;
	const struct cli_opt opts[] = { { "rows", true, &rows, NULL },
		{ "value", true, &column, NULL },
		{ "clear", false, NULL, &clear }, { NULL, 0, 0, 0 } };
	struct alert	     al;
	struct query	     q;
	bool		     qexists;
	const char	    *args[3];
	int		     ex, n;

	ex = cli_parse(c, argc, argv, opts, pos, 3, &n);
	if (ex != 0)
		return ex;
	if (n < 1)
		return cli_fail(EX_USAGE,
		    "%s: which query? give a name or an id", c->path);
	if ((rows != NULL) + (column != NULL) + clear > 1 ||
	    (rows != NULL && n != 2) || (column != NULL && n != 3) ||
	    (rows == NULL && column == NULL && n != 1))
		return cli_fail(EX_USAGE,
		    "%s: give --rows OP N, --value COLUMN "
		    "OP V or --clear (see --help)",
		    c->path);
	memset(&al, 0, sizeof(al));
	/* --rows OP N: OP is the option's value, N the argument. */
	args[0] = pos[0];
	args[1] = rows != NULL ? rows : n > 1 ? pos[1] : NULL;
	args[2] = rows != NULL ? pos[1] : n > 2 ? pos[2] : NULL;
	if (rows != NULL || column != NULL)
		ex = cmd_notify_alert_check(c, column, args, 3, &al);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = cmd_notify_query(c, pos[0], &q);
	if (ex != 0)
		return ex;
	al.query_id = q.id;
	if (clear &&
	    notify_store_alert_delete(&c->db, &c->arena, q.id, &qexists) !=
		PGS_OK)
		return cli_fail(EX_DATAERR, "%s: query %s has no alert",
		    c->path, q.name);
	if (al.kind != NULL) {
		ex = cli_db_fail(c,
		    notify_store_alert_put(&c->db, &c->arena, &al), c->path);
		if (ex != 0)
			return ex;
	}
	return cmd_notify_print_alert(c, &q);
}

/* Reads the options of deliveries list into f; 0 or an exit code. */
static int
cmd_notify_filter(struct cli *c, const char *chan, const char *qid,
    const char *limit, const char *offset, struct delivery_filter *f)
{
	struct channel ch;
	long	       v;
	int	       ex = 0;

	if (f->status != NULL && !notify_rules_status_valid(f->status))
		return cli_fail(EX_DATAERR,
		    "%s: --status '%s': must be "
		    "pending, delivered or dead",
		    c->path, f->status);
	if (qid != NULL && !num_parse(qid, 1, 2147483647, &f->query_id))
		return cli_fail(EX_DATAERR,
		    "%s: --query '%s': must be a "
		    "query id",
		    c->path, qid);
	if (!num_parse(limit, 1, 500, &v))
		return cli_fail(EX_DATAERR,
		    "%s: --limit '%s': must be an "
		    "integer from 1 to 500",
		    c->path, limit);
	f->limit = (int)v;
	if (!num_parse(offset, 0, 2147483647, &v))
		return cli_fail(EX_DATAERR,
		    "%s: --offset '%s': must be an "
		    "integer from 0 to 2147483647",
		    c->path, offset);
	f->offset = (int)v;
	ex = cli_connect(c, true);
	if (ex == 0 && chan != NULL)
		ex = cmd_channel_lookup(c, chan, &ch);
	if (ex == 0 && chan != NULL)
		f->channel_id = ch.id;
	return ex;
}

static int
cmd_notify_delivery_list(struct cli *c, int argc, char **argv)
{
	const char	      *chan = NULL, *qid = NULL, *limit = "50";
	const char	      *offset = "0";
	struct delivery_filter f;
	const struct cli_opt   opts[] = { { "channel", true, &chan, NULL },
		  { "query", true, &qid, NULL },
		  { "status", true, &f.status, NULL },
		  { "limit", true, &limit, NULL },
		  { "offset", true, &offset, NULL }, { NULL, 0, 0, 0 } };
	struct delivery_list   l;
	struct delivery	      *d;
	enum pgs_rc	       rc;
	int		       ex, i;

	memset(&f, 0, sizeof(f));
	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex == 0)
		ex = cmd_notify_filter(c, chan, qid, limit, offset, &f);
	if (ex != 0)
		return ex;
	rc = notify_store_delivery_list(&c->db, &c->arena, &f, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(
		    shape_notify_delivery_list(&l, f.limit, f.offset));
		return 0;
	}
	printf("%-8s %-16s %-14s %-8s %-9s %-8s %s\n", "ID", "CHANNEL", "EVENT",
	    "QUERY", "STATUS", "ATTEMPTS", "LAST");
	for (i = 0; i < l.n; i++) {
		d = &l.items[i];
		printf("%-8ld %-16s %-14s %-8ld %-9s %-8ld %s\n", d->id,
		    d->channel_name ? d->channel_name : "(deleted)", d->event,
		    d->query_id, d->status, d->attempts,
		    d->last_error ? d->last_error : "-");
	}
	return 0;
}

static int
cmd_notify_redeliver(struct cli *c, int argc, char **argv)
{
	struct delivery d;
	const char     *who;
	long		id, new_id = 0;
	enum pgs_rc	rc;
	int		ex;

	ex = cli_target(c, argc, argv, NULL, "delivery", &who);
	if (ex != 0)
		return ex;
	if (!num_parse(who, 1, 2147483647, &id))
		return cli_fail(EX_DATAERR, "%s: '%s' is not a delivery id",
		    c->path, who);
	rc = notify_store_delivery_redeliver(&c->db, &c->arena, id, 0, &new_id);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR, "%s: delivery %ld: %s", c->path, id,
		    c->db.errmsg);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR, "%s: no delivery %ld", c->path, id);
	if (rc == PGS_OK)
		rc = notify_store_delivery_get(&c->db, &c->arena, new_id, &d);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_notify_delivery(&d));
		return 0;
	}
	printf("delivery %ld queued again as delivery %ld (same webhook-id "
	       "%s)\n",
	    id, new_id, d.webhook_id);
	return 0;
}

static const struct cli_cmd delivery_cmds[] = {
	{ "list", cmd_notify_delivery_list,
	    "list deliveries of the outbox, newest first",
	    "  --channel NAME|ID      only this channel's\n"
	    "  --query ID             only this query's\n"
	    "  --status S             pending, delivered or dead\n"
	    "  --limit N, --offset N  paging (default 50, 0; limit at most "
	    "500)\n"
	    "  --json                 as JSON\n" },
	{ "redeliver", cmd_notify_redeliver,
	    "send a delivered or dead delivery again (a new delivery)",
	    "  --json                 as JSON\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_deliveries(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "deliveries", delivery_cmds, argc - 1, argv + 1);
}
