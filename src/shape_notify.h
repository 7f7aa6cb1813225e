/*
 * shape_notify.h: the JSON shape of the notification objects (CONTRACT
 * section 8), one function per object, as shape.h does for the others:
 * the API sends it and `pgsched-admin --json` prints it.  A channel's
 * shape never holds its URL (only target_display), a secret or a
 * ciphertext: the one answer that shows a new secret adds it itself.
 *
 * Every cJSON tree returned is a new tree the caller owns; the objects
 * given are only read.
 */
#ifndef PGS_SHAPE_NOTIFY_H
#define PGS_SHAPE_NOTIFY_H

#include <cjson/cJSON.h>

#include "notify_store.h"

/* {id, name, kind, target, addresses, enabled, disabled_reason,
 * has_secret, secret_rotated_at, created_by, created_at, updated_at}. */
cJSON *shape_notify_channel(const struct channel *ch);
/* {items}: every channel. */
cJSON *shape_notify_channel_list(const struct channel_list *l);
/* {items: [{channel_id, channel, kind, events}]}: a query's
 * subscriptions. */
cJSON *shape_notify_subs(const struct notify_sub_list *l);
/* {kind, column, op, value, state, since, last_error, last_error_at,
 * updated_at} of a query's alert; value a number when value_is_number. */
cJSON *shape_notify_alert(const struct alert *al);
/* A delivery without its payload (with it when it is set). */
cJSON *shape_notify_delivery(const struct delivery *d);
/* {items, total, limit, offset, next_offset} of a page of deliveries. */
cJSON *shape_notify_delivery_list(const struct delivery_list *l, long limit,
    long offset);

#endif
