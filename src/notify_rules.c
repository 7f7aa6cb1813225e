/*
 * notify_rules.c: the rules of channels, subscriptions and alerts (see
 * notify_rules.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mail.h"
#include "notify_rules.h"
#include "query_rules.h"
#include "utf8.h"

#define NOTIFY_ERR_MAX 320 /* room for an SSRF reason */

static const char *const notify_events[NOTIFY_EVENTS_MAX + 1] = { "run.failed",
	"run.succeeded", "job.paused", "job.stale", "alert.firing",
	"alert.resolved", "result.changed", NULL };

static const char *const notify_kinds[] = { "webhook", "slack", "email" };

static const char *const notify_ops[] = { ">", ">=", "<", "<=", "=",
	"!=", NULL };

const char *
notify_rules_kind_name(enum notify_kind k)
{
	return notify_kinds[k];
}

bool
notify_rules_kind_parse(const char *s, enum notify_kind *k)
{
	size_t i;

	for (i = 0;
	     s != NULL && i < sizeof(notify_kinds) / sizeof(*notify_kinds); i++)
		if (strcmp(s, notify_kinds[i]) == 0) {
			*k = (enum notify_kind)i;
			return true;
		}
	return false;
}

bool
notify_rules_name_valid(const char *s)
{
	return query_rules_name_grammar(s, NOTIFY_NAME_MAX);
}

const char *const *
notify_rules_events(void)
{
	return notify_events;
}

bool
notify_rules_event_valid(const char *s)
{
	int i;

	for (i = 0; s != NULL && notify_events[i] != NULL; i++)
		if (strcmp(s, notify_events[i]) == 0)
			return true;
	return false;
}

/* Returns "run.failed, run.succeeded, ..." (arena-owned). */
static const char *
notify_rules_event_list(struct arena *a)
{
	struct buf  b = BUF_INIT;
	const char *s;
	int	    i;

	for (i = 0; notify_events[i] != NULL; i++)
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", notify_events[i]);
	s = arena_strdup(a, b.data);
	buf_free(&b);
	return s;
}

enum pgs_rc
notify_rules_events_check(struct field_errors *e, const char *field,
    const char *const *ev, size_t n)
{
	size_t i, j;

	if (n == 0) {
		field_errors_add(e, field, "must name at least one event (%s)",
		    notify_rules_event_list(e->a));
		return PGS_INVALID;
	}
	for (i = 0; i < n; i++) {
		if (!notify_rules_event_valid(ev[i])) {
			field_errors_add(e, field,
			    "unknown event '%.64s' (events: %s)",
			    ev[i] != NULL ? ev[i] : "",
			    notify_rules_event_list(e->a));
			return PGS_INVALID;
		}
		for (j = 0; j < i; j++)
			if (strcmp(ev[i], ev[j]) == 0) {
				field_errors_add(e, field,
				    "names the event '%s' twice", ev[i]);
				return PGS_INVALID;
			}
	}
	return PGS_OK;
}

/* Checks the URL of a webhook or Slack channel (SSRF rule included). */
static void
notify_rules_url(const char *url, const struct ssrf_allow *allow,
    struct field_errors *e)
{
	char err[NOTIFY_ERR_MAX];

	if (ssrf_check_url(url, allow, err, sizeof(err)) != PGS_OK)
		field_errors_add(e, "url", "%s", err);
}

/* Checks the addresses of an e-mail channel. */
static void
notify_rules_addresses(const struct notify_channel_input *in,
    struct field_errors					 *e)
{
	size_t i, j;

	if (in->naddr == 0 || in->naddr > NOTIFY_ADDRS_MAX) {
		field_errors_add(e, "addresses",
		    "must list 1 to %d e-mail "
		    "addresses",
		    NOTIFY_ADDRS_MAX);
		return;
	}
	for (i = 0; i < in->naddr; i++) {
		if (!mail_addr_valid(in->addresses[i])) {
			field_errors_add(e, "addresses",
			    "address %zu is not a plain e-mail address "
			    "(local@domain, at most %d bytes)",
			    i + 1, MAIL_ADDR_MAX);
			return;
		}
		for (j = 0; j < i; j++)
			if (strcmp(in->addresses[i], in->addresses[j]) == 0) {
				field_errors_add(e, "addresses",
				    "address %zu is given twice", i + 1);
				return;
			}
	}
}

/* The target of a channel of kind k: a URL or addresses, not both. */
static void
notify_rules_target(const struct notify_channel_input *in, bool create,
    enum notify_kind k, const struct ssrf_allow *allow, struct field_errors *e)
{
	if (k == NOTIFY_EMAIL) {
		if (in->url != NULL)
			field_errors_add(e, "url",
			    "an e-mail channel has "
			    "addresses, not a URL");
		if (in->addresses_given)
			notify_rules_addresses(in, e);
		else if (create)
			field_errors_add(e, "addresses", "is required");
		return;
	}
	if (in->addresses_given)
		field_errors_add(e, "addresses",
		    "only an e-mail channel has "
		    "addresses");
	if (in->url != NULL)
		notify_rules_url(in->url, allow, e);
	else if (create)
		field_errors_add(e, "url", "is required");
}

enum pgs_rc
notify_rules_channel(const struct notify_channel_input *in, bool create,
    enum notify_kind stored, const struct ssrf_allow *allow,
    struct field_errors *e)
{
	enum notify_kind k = stored;

	if (in->name != NULL && !notify_rules_name_valid(in->name))
		field_errors_add(e, "name",
		    "must be 1-%d letters, digits, "
		    "'_', '.' or '-', starting with a letter or digit",
		    NOTIFY_NAME_MAX);
	else if (in->name == NULL && create)
		field_errors_add(e, "name", "is required");
	if (in->kind != NULL && !notify_rules_kind_parse(in->kind, &k)) {
		field_errors_add(e, "kind", "must be webhook, slack or email");
		return PGS_INVALID;
	}
	if (in->kind == NULL && create) {
		field_errors_add(e, "kind", "is required");
		return PGS_INVALID;
	}
	if (!create && k != stored) {
		field_errors_add(e, "kind",
		    "cannot be changed (create another "
		    "channel)");
		return PGS_INVALID;
	}
	notify_rules_target(in, create, k, allow, e);
	return e->n > 0 ? PGS_INVALID : PGS_OK;
}

char *
notify_rules_url_display(struct arena *a, const char *url)
{
	struct ssrf_url u;
	char		err[NOTIFY_ERR_MAX], port[16] = "";
	bool		v6;

	if (ssrf_url_parse(url, &u, err, sizeof(err)) != PGS_OK)
		return arena_strdup(a, "(invalid URL)");
	if (u.port != (strcmp(u.scheme, "https") == 0 ? 443 : 80))
		snprintf(port, sizeof(port), ":%d", u.port);
	v6 = strchr(u.host, ':') != NULL;
	return arena_printf(a, "%s://%s%s%s%s/...", u.scheme, v6 ? "[" : "",
	    u.host, v6 ? "]" : "", port);
}

char *
notify_rules_addresses_display(struct arena *a, const char *const *addr,
    size_t n)
{
	if (n == 0)
		return arena_strdup(a, "(no address)");
	if (n == 1)
		return arena_printf(a, "%.254s", addr[0]);
	return arena_printf(a, "%.254s (+%zu more)", addr[0], n - 1);
}

bool
notify_rules_number_valid(const char *s)
{
	const char *p = s;
	size_t	    d;

	if (s == NULL || strlen(s) > NOTIFY_NUMBER_MAX)
		return false;
	if (*p == '-')
		p++;
	d = strspn(p, "0123456789");
	/* JSON's grammar: no leading zero (it is shown as a JSON number). */
	if (d == 0 || (d > 1 && *p == '0'))
		return false;
	p += d;
	if (*p == '.') {
		d = strspn(++p, "0123456789");
		if (d == 0)
			return false;
		p += d;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		d = strspn(p, "0123456789");
		if (d == 0)
			return false;
		p += d;
	}
	return *p == '\0';
}

bool
notify_rules_op_valid(const char *s)
{
	int i;

	for (i = 0; s != NULL && notify_ops[i] != NULL; i++)
		if (strcmp(s, notify_ops[i]) == 0)
			return true;
	return false;
}

/* Checks the value of an alert of kind k ("rows" or "value"). */
static void
notify_rules_alert_value(const struct notify_alert_input *in, bool rows,
    struct field_errors *e)
{
	if (in->value_bad_type || (in->value == NULL && !in->value_bad_type))
		field_errors_add(e, "value", "%s",
		    in->value_bad_type ? "must be a number or a string" :
					 "is required");
	else if (rows && !in->value_is_number)
		field_errors_add(e, "value",
		    "must be a number (a rows alert "
		    "compares the row count)");
	else if (in->value_is_number && !notify_rules_number_valid(in->value))
		field_errors_add(e, "value",
		    "must be a decimal number of at "
		    "most %d characters",
		    NOTIFY_NUMBER_MAX);
	else if (strlen(in->value) > NOTIFY_VALUE_MAX ||
	    !utf8_valid(in->value, strlen(in->value)))
		field_errors_add(e, "value",
		    "must be UTF-8 text of at most %d "
		    "bytes",
		    NOTIFY_VALUE_MAX);
}

enum pgs_rc
notify_rules_alert(const struct notify_alert_input *in, struct field_errors *e)
{
	bool rows = in->kind != NULL && strcmp(in->kind, "rows") == 0;

	if (in->kind == NULL)
		field_errors_add(e, "kind", "is required (rows or value)");
	else if (!rows && strcmp(in->kind, "value") != 0)
		field_errors_add(e, "kind", "must be rows or value");
	if (rows && in->column != NULL)
		field_errors_add(e, "column",
		    "only a value alert names a "
		    "column");
	else if (!rows && in->kind != NULL && in->column == NULL)
		field_errors_add(e, "column",
		    "is required (the column of the "
		    "first row a value alert compares)");
	else if (in->column != NULL &&
	    (in->column[0] == '\0' || strlen(in->column) > NOTIFY_COLUMN_MAX ||
		!utf8_valid(in->column, strlen(in->column))))
		field_errors_add(e, "column",
		    "must be a column name of 1 to %d "
		    "bytes",
		    NOTIFY_COLUMN_MAX);
	if (in->op == NULL)
		field_errors_add(e, "op",
		    "is required (>, >=, <, <=, = or !=)");
	else if (!notify_rules_op_valid(in->op))
		field_errors_add(e, "op", "must be >, >=, <, <=, = or !=");
	notify_rules_alert_value(in, rows, e);
	return e->n > 0 ? PGS_INVALID : PGS_OK;
}

bool
notify_rules_status_valid(const char *s)
{
	return s != NULL &&
	    (strcmp(s, "pending") == 0 || strcmp(s, "delivered") == 0 ||
		strcmp(s, "dead") == 0);
}

bool
notify_rules_prev_signs(long rotated_age_s, int overlap_hours)
{
	return rotated_age_s >= 0 && rotated_age_s < overlap_hours * 3600L;
}
