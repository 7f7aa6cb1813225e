/*
 * h_channel.c: notification channels under /api/admin/channels (admin,
 * CONTRACT section 8).  The rules are notify_rules.h's, the row is built
 * by notify_chan.h and written by notify_store.h, as the CLI does.  A
 * signing secret is in the answers of create and rotate-secret only; no
 * answer, log line or error ever holds a secret, a ciphertext or a URL
 * beyond its target_display.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "log.h"
#include "notify_chan.h"
#include "shape_notify.h"

/* Bytes of a URL read from a body: longer ones get the rule's message. */
#define H_CHANNEL_URL_READ (4 * SSRF_URL_MAX)

/* {"ok":true,"channel":{...}} plus "secret" when secret is not "". */
static cJSON *
h_channel_reply(const struct channel *ch, const char *secret)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "channel", shape_notify_channel(ch));
	if (secret != NULL && secret[0] != '\0')
		cJSON_AddStringToObject(o, "secret", secret);
	return o;
}

/* Reads "addresses" (an array of strings) into in. */
static void
h_channel_addresses(struct req *r, struct notify_channel_input *in)
{
	const cJSON *arr =
			cJSON_GetObjectItemCaseSensitive(r->json, "addresses"),
		    *c;
	const char **v;
	size_t	     n = 0;

	if (arr == NULL)
		return;
	in->addresses_given = true;
	if (!cJSON_IsArray(arr)) {
		req_field(r, "addresses",
		    "must be an array of e-mail addresses");
		return;
	}
	v = arena_alloc(r->a,
	    sizeof(*v) * ((size_t)cJSON_GetArraySize(arr) + 1));
	cJSON_ArrayForEach(c, arr)
	{
		if (!cJSON_IsString(c)) {
			req_field(r, "addresses",
			    "must be an array of e-mail addresses");
			return;
		}
		v[n++] = c->valuestring;
	}
	v[n] = NULL;
	in->addresses = v;
	in->naddr = n;
}

/*
 * Reads and checks a body (create, or an edit of ch) into in through the
 * rules both doors share, and "enabled" into *en when given (*en_given).
 * Returns PGS_OK or PGS_INVALID (fields set).
 */
static enum pgs_rc
h_channel_input(struct req *r, bool create, const struct channel *ch,
    struct notify_channel_input *in, bool *en, bool *en_given)
{
	static const char *const allowed[] = { "name", "kind", "url",
		"addresses", "enabled", NULL };
	struct field_errors	 e;
	struct ssrf_allow	*allow = NULL;
	enum notify_kind	 stored = NOTIFY_WEBHOOK;
	char			 err[256];
	enum pgs_rc		 rc;
	int			 i;

	memset(in, 0, sizeof(*in));
	req_unknown_fields(r, allowed);
	req_str(r, "name", NOTIFY_NAME_MAX * 4, false, &in->name);
	req_str(r, "kind", 32, false, &in->kind);
	req_str(r, "url", H_CHANNEL_URL_READ, false, &in->url);
	h_channel_addresses(r, in);
	req_bool(r, "enabled", en, en_given);
	if (req_fields_rc(r) != PGS_OK)
		return PGS_INVALID;
	if (ssrf_allow_parse(r->app->conf.notify_allow_hosts, &allow, err,
		sizeof(err)) != PGS_OK)
		return req_fail(r, PGS_INTERNAL, "internal",
		    "NOTIFY_ALLOW_HOSTS does not parse");
	if (!create && !notify_rules_kind_parse(ch->kind, &stored))
		stored = NOTIFY_WEBHOOK;
	field_errors_init(&e, r->a);
	rc = notify_rules_channel(in, create, stored, allow, &e);
	ssrf_allow_free(allow);
	for (i = 0; rc != PGS_OK && i < e.n; i++)
		req_field(r, e.items[i].field, "%s", e.items[i].message);
	return req_fields_rc(r);
}

enum pgs_rc
h_channel_list(struct req *r)
{
	struct channel_list l;
	enum pgs_rc	    rc;

	rc = notify_store_channel_list(&r->app->db, r->a, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_notify_channel_list(&l));
}

/* Loads channel id. */
static enum pgs_rc
h_channel_load_id(struct req *r, long id, struct channel *ch)
{
	enum pgs_rc rc;

	rc = notify_store_channel_get(&r->app->db, r->a,
	    arena_printf(r->a, "%ld", id), NULL, ch);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no such channel");
	return rc;
}

/* Loads the channel of the path. */
static enum pgs_rc
h_channel_load(struct req *r, struct channel *ch)
{
	return h_channel_load_id(r, r->ids[0], ch);
}

/* Answers a duplicate name. */
static enum pgs_rc
h_channel_conflict(struct req *r)
{
	return req_fail(r, PGS_CONFLICT, "conflict",
	    "a channel with this name exists");
}

enum pgs_rc
h_channel_create(struct req *r)
{
	struct notify_channel_input in;
	struct channel		    ch;
	enum notify_kind	    k = NOTIFY_WEBHOOK;
	char			    secret[WEBHOOK_SECRET_SIZE] = "";
	long			    id = 0;
	bool			    en = true, en_given = false;
	enum pgs_rc		    rc;

	memset(&ch, 0, sizeof(ch));
	rc = h_channel_input(r, true, NULL, &in, &en, &en_given);
	if (rc != PGS_OK)
		return rc;
	(void)notify_rules_kind_parse(in.kind, &k);
	rc = notify_chan_build(&r->app->keys, r->a, &in, true, k, &ch, secret);
	ch.enabled = en;
	ch.created_by = r->user.id;
	if (rc == PGS_OK)
		rc = notify_store_channel_create(&r->app->db, r->a, &ch, &id);
	if (rc == PGS_OK)
		rc = h_channel_load_id(r, id, &ch);
	if (rc == PGS_OK) {
		log_info("channel_create", "channel=%ld kind=%s by=%ld", id,
		    ch.kind, r->user.id);
		reply_header(r, "Location: /api/admin/channels/%ld", id);
		rc = reply_json(r, 201, h_channel_reply(&ch, secret));
	} else if (rc == PGS_CONFLICT)
		rc = h_channel_conflict(r);
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

enum pgs_rc
h_channel_get(struct req *r)
{
	struct channel ch;
	enum pgs_rc    rc;

	rc = h_channel_load(r, &ch);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, h_channel_reply(&ch, NULL));
}

enum pgs_rc
h_channel_patch(struct req *r)
{
	struct notify_channel_input in;
	struct channel		    ch;
	enum notify_kind	    k = NOTIFY_WEBHOOK;
	char			    secret[WEBHOOK_SECRET_SIZE];
	bool			    en = true, en_given = false;
	enum pgs_rc		    rc;

	rc = h_channel_load(r, &ch);
	if (rc == PGS_OK)
		rc = h_channel_input(r, false, &ch, &in, &en, &en_given);
	if (rc != PGS_OK)
		return rc;
	(void)notify_rules_kind_parse(ch.kind, &k);
	rc = notify_chan_build(&r->app->keys, r->a, &in, false, k, &ch, secret);
	if (en_given)
		ch.enabled = en;
	if (rc == PGS_OK)
		rc = notify_store_channel_update(&r->app->db, r->a, &ch);
	if (rc == PGS_CONFLICT)
		return h_channel_conflict(r);
	if (rc == PGS_OK)
		rc = h_channel_load(r, &ch);
	if (rc != PGS_OK)
		return rc;
	log_info("channel_update", "channel=%ld by=%ld url_changed=%d", ch.id,
	    r->user.id, in.url != NULL);
	return reply_json(r, 200, h_channel_reply(&ch, NULL));
}

enum pgs_rc
h_channel_delete(struct req *r)
{
	long	    pending = 0;
	cJSON	   *o;
	enum pgs_rc rc;

	rc =
	    notify_store_channel_delete(&r->app->db, r->a, r->ids[0], &pending);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no such channel");
	if (rc != PGS_OK)
		return rc;
	log_info("channel_delete", "channel=%ld by=%ld pending=%ld", r->ids[0],
	    r->user.id, pending);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	/* Its pending deliveries stay in the outbox, channel_id null: the
	 * runner marks them dead, so none is lost without a trace. */
	cJSON_AddNumberToObject(o, "pending_deliveries", (double)pending);
	return reply_json(r, 200, o);
}

enum pgs_rc
h_channel_rotate(struct req *r)
{
	struct channel ch;
	char	       secret[WEBHOOK_SECRET_SIZE] = "";
	unsigned char *enc = NULL;
	size_t	       len = 0;
	cJSON	      *o;
	enum pgs_rc    rc;

	rc = h_channel_load(r, &ch);
	if (rc != PGS_OK)
		return rc;
	if (strcmp(ch.kind, "webhook") != 0)
		return req_fail(r, PGS_CONFLICT, "conflict",
		    "only a webhook channel has a signing secret");
	rc = notify_chan_new_secret(&r->app->keys, r->a, secret, &enc, &len);
	if (rc == PGS_OK)
		rc = notify_store_channel_rotate(&r->app->db, r->a, ch.id, enc,
		    len);
	if (rc == PGS_OK)
		rc = h_channel_load(r, &ch);
	if (rc == PGS_OK) {
		log_info("channel_rotate", "channel=%ld by=%ld overlap_h=%d",
		    ch.id, r->user.id,
		    r->app->conf.notify_rotate_overlap_hours);
		o = h_channel_reply(&ch, secret);
		cJSON_AddNumberToObject(o, "previous_secret_valid_hours",
		    r->app->conf.notify_rotate_overlap_hours);
		rc = reply_json(r, 200, o);
	}
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

enum pgs_rc
h_channel_test(struct req *r)
{
	struct notify_chan_test t;
	struct channel		ch;
	char			err[256];
	cJSON		       *o;
	enum pgs_rc		rc;

	rc = h_channel_load(r, &ch);
	if (rc == PGS_OK)
		rc = notify_chan_test(&r->app->conf, &r->app->keys, r->a, &ch,
		    &t, err, sizeof(err));
	if (rc == PGS_INVALID) {
		log_err("channel_key", "channel=%ld %s", ch.id, err);
		return req_fail(r, rc, "credential_unavailable", "%s", err);
	}
	if (rc != PGS_OK)
		return rc;
	log_info("channel_test",
	    "channel=%ld by=%ld outcome=%s status=%d "
	    "ms=%d",
	    ch.id, r->user.id, deliver_outcome_name(t.outcome), t.status, t.ms);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddBoolToObject(o, "delivered", t.outcome == DELIVER_DELIVERED);
	cJSON_AddStringToObject(o, "outcome", deliver_outcome_name(t.outcome));
	json_add_num(o, "status", t.status, 0);
	json_add_str(o, "error", t.error[0] != '\0' ? t.error : NULL);
	cJSON_AddNumberToObject(o, "duration_ms", t.ms);
	cJSON_AddStringToObject(o, "webhook_id", t.id);
	return reply_json(r, 200, o);
}
