/*
 * cmd_channel.c: pgsched-admin channels add|list|show|test|rotate-secret|rm
 * (CONTRACT section 8).  The same rules (notify_rules.h), row building
 * (notify_chan.h), SQL (notify_store.h) and JSON (shape_notify.h) as the
 * API's /api/admin/channels.  A signing secret is printed once, by add
 * and rotate-secret; nothing prints a URL beyond its target display.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "dsn.h"
#include "json.h"
#include "notify_chan.h"
#include "shape_notify.h"

/* The option a field error of the rules is about. */
static const char *
cmd_channel_option(const char *field)
{
	if (strcmp(field, "addresses") == 0)
		return "--to";
	if (strcmp(field, "url") == 0)
		return "--url";
	if (strcmp(field, "kind") == 0)
		return "--kind";
	return "--name";
}

/* Prints the field errors of e as one line; returns EX_DATAERR. */
static int
cmd_channel_errors(struct cli *c, const struct field_errors *e)
{
	struct buf b = BUF_INIT;
	int	   i;

	for (i = 0; i < e->n; i++)
		buf_printf(&b, "%s%s: %s", i > 0 ? "; " : "",
		    cmd_channel_option(e->items[i].field), e->items[i].message);
	cli_fail(EX_DATAERR, "%s: %s", c->path, b.data);
	buf_free(&b);
	return EX_DATAERR;
}

/* Splits --to's ADDR[,ADDR] into in. */
static void
cmd_channel_to(struct cli *c, const char *to, struct notify_channel_input *in)
{
	char **v;
	char  *copy, *p, *save = NULL;
	size_t n = 0, cap = 2;

	if (to == NULL)
		return;
	for (p = (char *)to; *p != '\0'; p++)
		cap += *p == ',';
	v = arena_alloc(&c->arena, sizeof(*v) * cap);
	copy = arena_strdup(&c->arena, to);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save))
		v[n++] = p;
	v[n] = NULL;
	in->addresses = (const char *const *)v;
	in->naddr = n;
	in->addresses_given = true;
}

/* Checks in (a new channel) through the rules; 0 or an exit code. */
static int
cmd_channel_check(struct cli *c, const struct notify_channel_input *in)
{
	struct field_errors e;
	struct ssrf_allow  *allow = NULL;
	char		    err[256];
	enum pgs_rc	    rc;

	if (ssrf_allow_parse(c->conf.notify_allow_hosts, &allow, err,
		sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s: NOTIFY_ALLOW_HOSTS %s", c->path,
		    err);
	field_errors_init(&e, &c->arena);
	rc = notify_rules_channel(in, true, NOTIFY_WEBHOOK, allow, &e);
	ssrf_allow_free(allow);
	return rc == PGS_OK ? 0 : cmd_channel_errors(c, &e);
}

/* Prints what add and rotate-secret print: the channel and its secret. */
static void
cmd_channel_print_new(struct cli *c, const struct channel *ch,
    const char *secret, const char *what)
{
	cJSON *o;

	if (c->json) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		cJSON_AddItemToObject(o, "channel", shape_notify_channel(ch));
		if (secret[0] != '\0')
			cJSON_AddStringToObject(o, "secret", secret);
		cli_print_json(o);
		return;
	}
	printf("%s channel %ld (%s), %s, %s\n", what, ch->id, ch->name,
	    ch->kind, ch->target_display);
	if (secret[0] != '\0')
		printf("signing secret (shown once, store it now): %s\n",
		    secret);
}

static int
cmd_channel_add(struct cli *c, int argc, char **argv)
{
	struct notify_channel_input in;
	const char		   *to = NULL;
	bool			    disabled = false;
	const struct cli_opt	    opts[] = { { "name", true, &in.name, NULL },
		       { "kind", true, &in.kind, NULL },
		       { "url", true, &in.url, NULL }, { "to", true, &to, NULL },
		       { "disabled", false, NULL, &disabled }, { NULL, 0, 0, 0 } };
	struct cred_keys	    k;
	struct channel		    ch;
	enum notify_kind	    kind = NOTIFY_WEBHOOK;
	char			    secret[WEBHOOK_SECRET_SIZE] = "";
	long			    id = 0;
	enum pgs_rc		    rc;
	int			    ex;

	memset(&in, 0, sizeof(in));
	memset(&ch, 0, sizeof(ch));
	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	cmd_channel_to(c, to, &in);
	ex = cmd_channel_check(c, &in);
	if (ex == 0)
		ex = dsn_keys(c, false, &k);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	(void)notify_rules_kind_parse(in.kind, &kind);
	rc = notify_chan_build(&k, &c->arena, &in, true, kind, &ch, secret);
	cred_free(&k);
	ch.enabled = !disabled;
	if (rc == PGS_OK)
		rc = notify_store_channel_create(&c->db, &c->arena, &ch, &id);
	if (rc == PGS_OK)
		rc = notify_store_channel_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", id), NULL, &ch);
	if (rc == PGS_CONFLICT)
		ex = cli_fail(EX_DATAERR,
		    "%s: --name: a channel named '%s' "
		    "exists",
		    c->path, in.name);
	else if (rc != PGS_OK)
		ex = cli_db_fail(c, rc, c->path);
	else
		cmd_channel_print_new(c, &ch, secret, "created");
	sodium_memzero(secret, sizeof(secret));
	return ex;
}

int
cmd_channel_lookup(struct cli *c, const char *who, struct channel *ch)
{
	enum pgs_rc rc = PGS_NOTFOUND;
	long	    id;

	if (num_parse(who, 1, 2147483647, &id))
		rc = notify_store_channel_get(&c->db, &c->arena, who, NULL, ch);
	if (rc == PGS_NOTFOUND)
		rc = notify_store_channel_get(&c->db, &c->arena, NULL, who, ch);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR,
		    "%s: no channel '%s' (see 'pgsched-admin channels list')",
		    c->path, who);
	return cli_db_fail(c, rc, c->path);
}

/* Parses "VERB CHANNEL", connects and looks the channel up. */
static int
cmd_channel_target(struct cli *c, int argc, char **argv, struct channel *ch)
{
	const char *who;
	int	    ex;

	ex = cli_target(c, argc, argv, NULL, "channel", &who);
	if (ex != 0)
		return ex;
	return cmd_channel_lookup(c, who, ch);
}

static int
cmd_channel_list(struct cli *c, int argc, char **argv)
{
	struct channel_list l;
	enum pgs_rc	    rc;
	int		    ex, i;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = notify_store_channel_list(&c->db, &c->arena, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_notify_channel_list(&l));
		return 0;
	}
	printf("%-6s %-24s %-8s %-8s %s\n", "ID", "NAME", "KIND", "ENABLED",
	    "TARGET");
	for (i = 0; i < l.n; i++)
		printf("%-6ld %-24s %-8s %-8s %s\n", l.items[i].id,
		    l.items[i].name, l.items[i].kind,
		    l.items[i].enabled ? "yes" : "no",
		    l.items[i].target_display);
	return 0;
}

static int
cmd_channel_show(struct cli *c, int argc, char **argv)
{
	struct channel ch;
	int	       ex, i;

	ex = cmd_channel_target(c, argc, argv, &ch);
	if (ex != 0)
		return ex;
	if (c->json) {
		cli_print_json(shape_notify_channel(&ch));
		return 0;
	}
	printf("%-18s %ld\n%-18s %s\n%-18s %s\n%-18s %s\n", "id:", ch.id,
	    "name:", ch.name, "kind:", ch.kind, "target:", ch.target_display);
	for (i = 0; i < ch.naddr; i++)
		printf("%-18s %s\n", i == 0 ? "addresses:" : "",
		    ch.addresses[i]);
	printf("%-18s %s\n", "enabled:", ch.enabled ? "yes" : "no");
	if (ch.disabled_reason != NULL)
		printf("%-18s %s\n", "disabled_reason:", ch.disabled_reason);
	if (strcmp(ch.kind, "webhook") == 0)
		printf("%-18s %s\n", "secret_rotated_at:",
		    ch.secret_rotated_at ? ch.secret_rotated_at : "never");
	printf("%-18s %s\n%-18s %s\n", "created_at:", ch.created_at,
	    "updated_at:", ch.updated_at);
	return 0;
}

static int
cmd_channel_test(struct cli *c, int argc, char **argv)
{
	struct notify_chan_test t;
	struct cred_keys	k;
	struct channel		ch;
	char			err[256];
	cJSON		       *o;
	enum pgs_rc		rc;
	int			ex;

	ex = cmd_channel_target(c, argc, argv, &ch);
	if (ex == 0)
		ex = dsn_keys(c, true, &k);
	if (ex != 0)
		return ex;
	rc = notify_chan_test(&c->conf, &k, &c->arena, &ch, &t, err,
	    sizeof(err));
	cred_free(&k);
	if (rc != PGS_OK)
		return cli_fail(EX_DATAERR, "%s: %s", c->path, err);
	if (c->json) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		cJSON_AddBoolToObject(o, "delivered",
		    t.outcome == DELIVER_DELIVERED);
		cJSON_AddStringToObject(o, "outcome",
		    deliver_outcome_name(t.outcome));
		json_add_num(o, "status", t.status, 0);
		json_add_str(o, "error", t.error[0] != '\0' ? t.error : NULL);
		cJSON_AddNumberToObject(o, "duration_ms", t.ms);
		cJSON_AddStringToObject(o, "webhook_id", t.id);
		cli_print_json(o);
	} else if (t.outcome == DELIVER_DELIVERED)
		printf("channel %s: ping delivered (status %d, %d ms, id %s)\n",
		    ch.name, t.status, t.ms, t.id);
	if (t.outcome == DELIVER_DELIVERED)
		return 0;
	return cli_fail(EX_UNAVAILABLE,
	    "%s: channel %s: ping not delivered "
	    "(%s, status %d): %s",
	    c->path, ch.name, deliver_outcome_name(t.outcome), t.status,
	    t.error);
}

static int
cmd_channel_rotate(struct cli *c, int argc, char **argv)
{
	struct cred_keys k;
	struct channel	 ch;
	char		 secret[WEBHOOK_SECRET_SIZE] = "";
	unsigned char	*enc = NULL;
	size_t		 len = 0;
	enum pgs_rc	 rc;
	int		 ex;

	ex = cmd_channel_target(c, argc, argv, &ch);
	if (ex == 0 && strcmp(ch.kind, "webhook") != 0)
		ex = cli_fail(EX_DATAERR,
		    "%s: channel %s is a %s channel: only "
		    "a webhook channel has a signing secret",
		    c->path, ch.name, ch.kind);
	if (ex == 0)
		ex = dsn_keys(c, false, &k);
	if (ex != 0)
		return ex;
	rc = notify_chan_new_secret(&k, &c->arena, secret, &enc, &len);
	cred_free(&k);
	if (rc == PGS_OK)
		rc = notify_store_channel_rotate(&c->db, &c->arena, ch.id, enc,
		    len);
	if (rc == PGS_OK)
		rc = notify_store_channel_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", ch.id), NULL, &ch);
	if (rc != PGS_OK)
		ex = cli_db_fail(c, rc, c->path);
	else {
		cmd_channel_print_new(c, &ch, secret, "rotated the secret of");
		if (!c->json)
			printf("the previous secret signs too for %d hours "
			       "(NOTIFY_ROTATE_OVERLAP_HOURS)\n",
			    c->conf.notify_rotate_overlap_hours);
	}
	sodium_memzero(secret, sizeof(secret));
	return ex;
}

static int
cmd_channel_rm(struct cli *c, int argc, char **argv)
{
	struct channel ch;
	long	       pending = 0;
	enum pgs_rc    rc;
	int	       ex;

	ex = cmd_channel_target(c, argc, argv, &ch);
	if (ex != 0)
		return ex;
	rc = notify_store_channel_delete(&c->db, &c->arena, ch.id, &pending);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("deleted channel %ld (%s)", ch.id, ch.name);
	if (pending > 0)
		printf("; %ld pending deliveries will not be sent (marked "
		       "dead)",
		    pending);
	printf("\n");
	return 0;
}

static const struct cli_cmd channel_cmds[] = {
	{ "add", cmd_channel_add, "create a notification channel",
	    "  --name NAME            unique name: 1-128 letters, digits, _ . "
	    "or -\n"
	    "  --kind KIND            webhook, slack or email\n"
	    "  --url URL              webhook or slack: the http(s) target\n"
	    "  --to ADDR[,ADDR...]    email: 1 to 50 recipients\n"
	    "  --disabled             create it disabled\n"
	    "  --json                 print the API's answer (with the "
	    "secret)\n" },
	{ "list", cmd_channel_list, "list channels",
	    "  --json                 as JSON\n" },
	{ "show", cmd_channel_show, "show one channel (never its secret)",
	    "  --json                 as JSON\n" },
	{ "test", cmd_channel_test,
	    "send a ping event to a channel now and say how it went",
	    "  --json                 as JSON\n" },
	{ "rotate-secret", cmd_channel_rotate,
	    "give a webhook channel a new signing secret (printed once)",
	    "  --json                 as JSON\n" },
	{ "rm", cmd_channel_rm, "delete a channel and its subscriptions",
	    NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_channels(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "channels", channel_cmds, argc - 1, argv + 1);
}
