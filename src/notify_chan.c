/*
 * notify_chan.c: building, rotating and testing a notification channel
 * (see notify_chan.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "isotime.h"
#include "mono.h"
#include "notify_chan.h"
#include "source_conn.h"

/* Seals the URL of in into ch and shows it as target_display. */
static enum pgs_rc
notify_chan_url(const struct cred_keys *keys, struct arena *a, const char *url,
    struct channel *ch)
{
	enum pgs_rc rc;

	rc = cred_seal(keys, a, url, &ch->enc_target, &ch->enc_target_len);
	if (rc != PGS_OK)
		return rc;
	ch->target_display = notify_rules_url_display(a, url);
	return PGS_OK;
}

/* Copies the addresses of in into ch and shows them as target_display. */
static void
notify_chan_addresses(struct arena *a, const struct notify_channel_input *in,
    struct channel *ch)
{
	size_t i;

	ch->addresses = arena_alloc(a, sizeof(char *) * (in->naddr + 1));
	for (i = 0; i < in->naddr; i++)
		ch->addresses[i] = arena_strdup(a, in->addresses[i]);
	ch->addresses[in->naddr] = NULL;
	ch->naddr = (int)in->naddr;
	ch->target_display = notify_rules_addresses_display(a,
	    (const char *const *)ch->addresses, in->naddr);
}

enum pgs_rc
notify_chan_new_secret(const struct cred_keys *keys, struct arena *a,
    char secret[WEBHOOK_SECRET_SIZE], unsigned char **enc, size_t *len)
{
	enum pgs_rc rc;

	webhook_secret_new(secret);
	rc = cred_seal(keys, a, secret, enc, len);
	if (rc != PGS_OK)
		sodium_memzero(secret, WEBHOOK_SECRET_SIZE);
	return rc;
}

enum pgs_rc
notify_chan_build(const struct cred_keys *keys, struct arena *a,
    const struct notify_channel_input *in, bool create, enum notify_kind k,
    struct channel *ch, char secret[WEBHOOK_SECRET_SIZE])
{
	enum pgs_rc rc = PGS_OK;

	secret[0] = '\0';
	if (create) {
		ch->kind = (char *)notify_rules_kind_name(k);
		ch->enabled = true;
	}
	if (in->name != NULL)
		ch->name = arena_strdup(a, in->name);
	if (in->url != NULL)
		rc = notify_chan_url(keys, a, in->url, ch);
	if (rc == PGS_OK && in->addresses_given)
		notify_chan_addresses(a, in, ch);
	if (rc == PGS_OK && create && k == NOTIFY_WEBHOOK)
		rc = notify_chan_new_secret(keys, a, secret, &ch->enc_secret,
		    &ch->enc_secret_len);
	return rc;
}

/* Writes the body of ch's ping into b: JSON (webhook, slack) or text. */
static void
notify_chan_ping_body(const struct channel *ch, struct buf *b)
{
	char iso[ISOTIME_BUFSZ];

	isotime_format_utc((int64_t)time(NULL), iso);
	if (strcmp(ch->kind, "slack") == 0) {
		buf_puts(b, "{\"text\":");
		buf_json_str(b,
		    "pg-sched: test message for this channel; "
		    "notifications will arrive here.",
		    strlen("pg-sched: test message for this channel; "
			   "notifications will arrive here."));
		buf_putc(b, '}');
	} else if (strcmp(ch->kind, "email") == 0) {
		buf_printf(b,
		    "This is a test message from pg-sched, sent at %s.\n"
		    "Notifications of the queries that subscribe this "
		    "channel will arrive at this address.\n",
		    iso);
	} else {
		buf_printf(b,
		    "{\"type\":\"ping\",\"timestamp\":\"%s\","
		    "\"data\":{\"channel\":{\"id\":%ld,\"name\":",
		    iso, ch->id);
		buf_json_str(b, ch->name, strlen(ch->name));
		buf_puts(b, "}}}");
	}
}

/* Sends the one item it and copies the outcome into t. */
static enum pgs_rc
notify_chan_send(const struct conf *c, struct deliver_item *it,
    struct notify_chan_test *t, char *err, size_t errlen)
{
	struct deliver_conf dc;
	int		    tmo = c->notify_timeout_ms;
	enum pgs_rc	    rc;

	rc = deliver_conf_init(&dc, c, err, errlen);
	if (rc != PGS_OK) {
		webhook_keys_wipe(&it->keys);
		return rc;
	}
	/* The budget covers the whole timeout: the attempt always starts. */
	(void)deliver_batch(&dc, it, 1, mono_ms() + tmo + 1000);
	deliver_conf_free(&dc);
	t->outcome = it->outcome;
	t->status = it->status;
	t->ms = it->ms;
	snprintf(t->error, sizeof(t->error), "%s",
	    it->outcome == DELIVER_DELIVERED ? "" : it->error);
	return PGS_OK;
}

enum pgs_rc
notify_chan_test(const struct conf *c, const struct cred_keys *keys,
    struct arena *a, const struct channel *ch, struct notify_chan_test *t,
    char *err, size_t errlen)
{
	struct deliver_item it;
	struct buf	    b = BUF_INIT;
	char		    url[SSRF_URL_MAX + 1];
	enum pgs_rc	    rc;

	memset(t, 0, sizeof(*t));
	memset(&it, 0, sizeof(it));
	webhook_id_new(t->id);
	rc = source_conn_channel_open(keys, ch, c->notify_rotate_overlap_hours,
	    url, sizeof(url), &it.keys, err, errlen);
	if (rc != PGS_OK)
		return rc;
	notify_chan_ping_body(ch, &b);
	it.kind = strcmp(ch->kind, "webhook") == 0 ? DELIVER_WEBHOOK :
	    strcmp(ch->kind, "slack") == 0	   ? DELIVER_SLACK :
						     DELIVER_EMAIL;
	it.url = url;
	it.rcpt = (const char *const *)ch->addresses;
	it.nrcpt = (size_t)ch->naddr;
	it.subject =
	    arena_printf(a, "pg-sched: test message (channel %s)", ch->name);
	it.id = t->id;
	it.body = b.data;
	it.body_len = b.len;
	rc = notify_chan_send(c, &it, t, err, errlen);
	sodium_memzero(url, sizeof(url));
	buf_free(&b);
	return rc;
}
