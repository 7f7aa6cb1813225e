/*
 * h_notify.c: a query's subscriptions and alert, and the deliveries of
 * the outbox (editor/admin, CONTRACT section 8): GET|PUT
 * /api/admin/queries/{qid}/notifications, GET|PUT|DELETE
 * /api/admin/queries/{qid}/alert, GET /api/admin/deliveries and POST
 * /api/admin/deliveries/{id}/redeliver.  Checks are notify_rules.h's, SQL
 * notify_store.h's, shapes shape_notify.h's, as the CLI uses them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "notify_rules.h"
#include "notify_store.h"
#include "shape_notify.h"

/* Answers a query that does not exist. */
static enum pgs_rc
h_notify_no_query(struct req *r)
{
	return req_fail(r, PGS_NOTFOUND, "not_found", "no such query");
}

enum pgs_rc
h_notify_subs_get(struct req *r)
{
	struct notify_sub_list l;
	enum pgs_rc	       rc;

	rc = notify_store_subs_get(&r->app->db, r->a, r->ids[0], &l);
	if (rc == PGS_NOTFOUND)
		return h_notify_no_query(r);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_notify_subs(&l));
}

/* Reads the events array c of item i into s through the rules. */
static void
h_notify_events(struct req *r, int i, const cJSON *c, struct notify_sub *s,
    struct field_errors *e)
{
	const char  *field = arena_printf(r->a, "items[%d].events", i);
	const cJSON *ev;
	int	     n = 0;

	if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) > NOTIFY_EVENTS_MAX) {
		field_errors_add(e, field,
		    "must be an array of at most %d event names",
		    NOTIFY_EVENTS_MAX);
		return;
	}
	s->events = arena_alloc(r->a, sizeof(char *) * (NOTIFY_EVENTS_MAX + 1));
	cJSON_ArrayForEach(ev, c)
	{
		if (!cJSON_IsString(ev)) {
			field_errors_add(e, field, "must hold event names");
			return;
		}
		s->events[n++] = ev->valuestring;
	}
	s->nevents = n;
	if (notify_rules_events_check(e, field, (const char *const *)s->events,
		(size_t)n) != PGS_OK)
		s->nevents = 0;
}

/* Reads item it (index i) of a PUT body into s. */
static void
h_notify_item(struct req *r, int i, const cJSON *it, struct notify_sub *s,
    struct field_errors *e)
{
	const char  *field = arena_printf(r->a, "items[%d].channel_id", i);
	const cJSON *id;
	long	     v = 0;

	if (!cJSON_IsObject(it)) {
		field_errors_add(e, arena_printf(r->a, "items[%d]", i),
		    "must be an object {channel_id, events}");
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(it, "channel_id");
	if (json_int(it, "channel_id", 1, 2147483647L, &v) != PGS_OK)
		field_errors_add(e, field, "%s",
		    id == NULL ? "is required" : "must be a channel id");
	s->channel_id = v;
	h_notify_events(r, i, cJSON_GetObjectItemCaseSensitive(it, "events"), s,
	    e);
}

/* Reads the PUT body into l; PGS_INVALID with the field errors. */
static enum pgs_rc
h_notify_subs_read(struct req *r, struct notify_sub_list *l)
{
	static const char *const allowed[] = { "items", NULL };
	const cJSON		*items, *it;
	struct field_errors	 e;
	int			 i = 0, j;

	req_unknown_fields(r, allowed);
	items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
	if (!cJSON_IsArray(items) ||
	    cJSON_GetArraySize(items) > NOTIFY_SUBS_MAX) {
		req_field(r, "items",
		    "must be an array of at most %d "
		    "{channel_id, events}",
		    NOTIFY_SUBS_MAX);
		return PGS_INVALID;
	}
	l->items = arena_alloc(r->a,
	    sizeof(*l->items) * ((size_t)cJSON_GetArraySize(items) + 1));
	field_errors_init(&e, r->a);
	cJSON_ArrayForEach(it, items)
	{
		memset(&l->items[i], 0, sizeof(l->items[i]));
		h_notify_item(r, i, it, &l->items[i], &e);
		for (j = 0; j < i; j++)
			if (l->items[j].channel_id == l->items[i].channel_id &&
			    l->items[i].channel_id != 0)
				field_errors_add(&e,
				    arena_printf(r->a, "items[%d].channel_id",
					i),
				    "names channel %ld twice",
				    l->items[i].channel_id);
		i++;
	}
	l->n = i;
	for (j = 0; j < e.n; j++)
		req_field(r, e.items[j].field, "%s", e.items[j].message);
	return req_fields_rc(r);
}

enum pgs_rc
h_notify_subs_put(struct req *r)
{
	struct notify_sub_list l;
	cJSON		      *o;
	int		       bad = -1;
	enum pgs_rc	       rc;

	rc = h_notify_subs_read(r, &l);
	if (rc != PGS_OK)
		return rc;
	rc = notify_store_subs_replace(&r->app->db, r->a, r->ids[0], &l, &bad);
	if (rc == PGS_NOTFOUND)
		return h_notify_no_query(r);
	if (rc == PGS_INVALID && bad >= 0) {
		req_field(r, arena_printf(r->a, "items[%d].channel_id", bad),
		    "no such channel");
		return PGS_INVALID;
	}
	if (rc == PGS_OK)
		rc = notify_store_subs_get(&r->app->db, r->a, r->ids[0], &l);
	if (rc != PGS_OK)
		return rc;
	log_info("notify_subs", "query=%ld by=%ld channels=%d", r->ids[0],
	    r->user.id, l.n);
	o = shape_notify_subs(&l);
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

enum pgs_rc
h_notify_alert_get(struct req *r)
{
	struct alert al;
	bool	     exists;
	cJSON	    *o;
	enum pgs_rc  rc;

	rc = notify_store_alert_get(&r->app->db, r->a, r->ids[0], &al, &exists);
	if (rc == PGS_NOTFOUND)
		return h_notify_no_query(r);
	if (rc != PGS_OK)
		return rc;
	o = cJSON_CreateObject();
	if (exists)
		cJSON_AddItemToObject(o, "alert", shape_notify_alert(&al));
	else
		cJSON_AddNullToObject(o, "alert");
	return reply_json(r, 200, o);
}

/* The text of JSON number d as short as reads back the same. */
static const char *
h_notify_number(struct req *r, double d)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	return arena_strdup(r->a, buf);
}

/* Reads and checks the alert of the PUT body into al. */
static enum pgs_rc
h_notify_alert_read(struct req *r, struct alert *al)
{
	static const char *const  allowed[] = { "kind", "column", "op", "value",
		 NULL };
	struct notify_alert_input in;
	struct field_errors	  e;
	const cJSON		 *v;
	int			  i;

	memset(&in, 0, sizeof(in));
	req_unknown_fields(r, allowed);
	req_str(r, "kind", 16, false, &in.kind);
	req_str(r, "column", NOTIFY_COLUMN_MAX * 4, false, &in.column);
	req_str(r, "op", 8, false, &in.op);
	v = cJSON_GetObjectItemCaseSensitive(r->json, "value");
	if (cJSON_IsNumber(v)) {
		in.value = h_notify_number(r, v->valuedouble);
		in.value_is_number = true;
	} else if (cJSON_IsString(v))
		in.value = v->valuestring;
	else if (v != NULL)
		in.value_bad_type = true;
	field_errors_init(&e, r->a);
	if (req_fields_rc(r) == PGS_OK && notify_rules_alert(&in, &e) == PGS_OK)
		e.n = 0;
	for (i = 0; i < e.n; i++)
		req_field(r, e.items[i].field, "%s", e.items[i].message);
	al->query_id = r->ids[0];
	al->kind = (char *)in.kind;
	al->column_name = (char *)in.column;
	al->op = (char *)in.op;
	al->value = (char *)in.value;
	al->value_is_number = in.value_is_number;
	return req_fields_rc(r);
}

enum pgs_rc
h_notify_alert_put(struct req *r)
{
	struct alert al;
	bool	     exists;
	cJSON	    *o;
	enum pgs_rc  rc;

	memset(&al, 0, sizeof(al));
	rc = h_notify_alert_read(r, &al);
	if (rc == PGS_OK)
		rc = notify_store_alert_put(&r->app->db, r->a, &al);
	if (rc == PGS_OK)
		rc = notify_store_alert_get(&r->app->db, r->a, r->ids[0], &al,
		    &exists);
	if (rc == PGS_NOTFOUND)
		return h_notify_no_query(r);
	if (rc != PGS_OK)
		return rc;
	log_info("notify_alert", "query=%ld by=%ld kind=%s set", r->ids[0],
	    r->user.id, al.kind);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "alert", shape_notify_alert(&al));
	return reply_json(r, 200, o);
}

enum pgs_rc
h_notify_alert_delete(struct req *r)
{
	bool	    query;
	cJSON	   *o;
	enum pgs_rc rc;

	rc = notify_store_alert_delete(&r->app->db, r->a, r->ids[0], &query);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found",
		    query ? "the query has no alert" : "no such query");
	if (rc != PGS_OK)
		return rc;
	log_info("notify_alert", "query=%ld by=%ld cleared", r->ids[0],
	    r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

enum pgs_rc
h_notify_delivery_list(struct req *r)
{
	struct delivery_filter f;
	struct delivery_list   l;
	long		       cid, qid, limit, offset;
	bool		       bad;
	enum pgs_rc	       rc;

	memset(&f, 0, sizeof(f));
	/* Each bad parameter is a field error: all of them are told. */
	bad = req_qint(r, "channel_id", 1, 2147483647L, 0, &cid) != PGS_OK;
	bad |= req_qint(r, "query_id", 1, 2147483647L, 0, &qid) != PGS_OK;
	bad |= req_qint(r, "limit", 1, 500, 50, &limit) != PGS_OK;
	bad |= req_qint(r, "offset", 0, 2147483647L, 0, &offset) != PGS_OK;
	f.status = req_qparam(r, "status");
	if (f.status != NULL && !notify_rules_status_valid(f.status))
		req_field(r, "status", "must be pending, delivered or dead");
	if (bad || req_fields_rc(r) != PGS_OK)
		return PGS_INVALID;
	f.channel_id = cid;
	f.query_id = qid;
	f.limit = (int)limit;
	f.offset = (int)offset;
	rc = notify_store_delivery_list(&r->app->db, r->a, &f, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200,
	    shape_notify_delivery_list(&l, limit, offset));
}

enum pgs_rc
h_notify_redeliver(struct req *r)
{
	struct delivery d;
	long		id = 0;
	cJSON	       *o;
	enum pgs_rc	rc;

	rc = notify_store_delivery_redeliver(&r->app->db, r->a, r->ids[0],
	    r->user.id, &id);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no such delivery");
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict", "%s", r->app->db.errmsg);
	if (rc == PGS_OK)
		rc = notify_store_delivery_get(&r->app->db, r->a, id, &d);
	if (rc != PGS_OK)
		return rc;
	log_info("notify_redeliver", "delivery=%ld of=%ld by=%ld", id,
	    r->ids[0], r->user.id);
	reply_header(r, "Location: /api/admin/deliveries?channel_id=%ld",
	    d.channel_id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "delivery", shape_notify_delivery(&d));
	return reply_json(r, 201, o);
}
