/*
 * shape_notify.c: the JSON of channels, subscriptions, alerts and
 * deliveries (see shape_notify.h).
 */
#include <stdlib.h>

#include "isotime.h"
#include "json.h"
#include "shape.h"
#include "shape_notify.h"

/* An array of the n strings v. */
static cJSON *
shape_notify_strings(char *const *v, int n)
{
	cJSON *arr = cJSON_CreateArray();
	int    i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
	return arr;
}

cJSON *
shape_notify_channel(const struct channel *ch)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)ch->id);
	json_add_str(o, "name", ch->name);
	json_add_str(o, "kind", ch->kind);
	json_add_str(o, "target", ch->target_display);
	if (ch->addresses != NULL)
		cJSON_AddItemToObject(o, "addresses",
		    shape_notify_strings(ch->addresses, ch->naddr));
	else
		cJSON_AddNullToObject(o, "addresses");
	cJSON_AddBoolToObject(o, "enabled", ch->enabled);
	json_add_str(o, "disabled_reason", ch->disabled_reason);
	cJSON_AddBoolToObject(o, "has_secret", ch->enc_secret_len > 0);
	shape_time(o, "secret_rotated_at", ch->secret_rotated_at);
	json_add_num(o, "created_by", ch->created_by, 0);
	shape_time(o, "created_at", ch->created_at);
	shape_time(o, "updated_at", ch->updated_at);
	return o;
}

cJSON *
shape_notify_channel_list(const struct channel_list *l)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_notify_channel(&l->items[i]));
	return o;
}

cJSON *
shape_notify_subs(const struct notify_sub_list *l)
{
	cJSON *o = cJSON_CreateObject(), *arr, *e;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++) {
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "channel_id",
		    (double)l->items[i].channel_id);
		json_add_str(e, "channel", l->items[i].channel_name);
		json_add_str(e, "kind", l->items[i].channel_kind);
		cJSON_AddItemToObject(e, "events",
		    shape_notify_strings(l->items[i].events,
			l->items[i].nevents));
		cJSON_AddItemToArray(arr, e);
	}
	return o;
}

cJSON *
shape_notify_alert(const struct alert *al)
{
	cJSON *o = cJSON_CreateObject();

	json_add_str(o, "kind", al->kind);
	json_add_str(o, "column", al->column_name);
	json_add_str(o, "op", al->op);
	/* A number was checked (notify_rules_number_valid) when it was
	 * saved: it goes back as the number it was given as. */
	if (al->value_is_number && al->value != NULL)
		cJSON_AddItemToObject(o, "value", cJSON_CreateRaw(al->value));
	else
		json_add_str(o, "value", al->value);
	json_add_str(o, "state", al->state);
	shape_time(o, "since", al->since);
	json_add_str(o, "last_error", al->last_error);
	shape_time(o, "last_error_at", al->last_error_at);
	shape_time(o, "updated_at", al->updated_at);
	return o;
}

cJSON *
shape_notify_delivery(const struct delivery *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)d->id);
	json_add_num(o, "channel_id", d->channel_id, 0);
	json_add_str(o, "channel", d->channel_name);
	json_add_str(o, "channel_kind", d->channel_kind);
	json_add_str(o, "event", d->event);
	json_add_num(o, "query_id", d->query_id, 0);
	json_add_num(o, "run_id", d->run_id, 0);
	json_add_str(o, "webhook_id", d->webhook_id);
	json_add_str(o, "status", d->status);
	cJSON_AddNumberToObject(o, "attempts", (double)d->attempts);
	shape_time(o, "next_attempt_at", d->next_attempt_at);
	shape_time(o, "last_attempt_at", d->last_attempt_at);
	json_add_num(o, "last_status", d->last_status, 0);
	json_add_str(o, "last_error", d->last_error);
	shape_time(o, "created_at", d->created_at);
	shape_time(o, "delivered_at", d->delivered_at);
	json_add_num(o, "redelivery_of", d->redelivery_of, 0);
	json_add_num(o, "requested_by", d->requested_by, 0);
	return o;
}

cJSON *
shape_notify_delivery_list(const struct delivery_list *l, long limit,
    long offset)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_notify_delivery(&l->items[i]));
	cJSON_AddNumberToObject(o, "total", (double)l->total);
	cJSON_AddNumberToObject(o, "limit", (double)limit);
	cJSON_AddNumberToObject(o, "offset", (double)offset);
	if (offset + l->n < l->total)
		cJSON_AddNumberToObject(o, "next_offset",
		    (double)(offset + l->n));
	else
		cJSON_AddNullToObject(o, "next_offset");
	return o;
}
