/*
 * notify_store.h: SQL for the notification tables the API and the CLI
 * manage (CONTRACT section 8): channels (notify_channel), a query's
 * subscriptions (query_notify), its alert definition (query_alert), the
 * deliveries of the outbox (notify_delivery: listed, and a redelivery
 * asked for with a new row, never an UPDATE: CONTRACT section 10), and
 * the figures /metrics shows.  notify_store.c holds channels and
 * subscriptions, notify_store_out.c alerts, deliveries and figures.
 * Store functions take the db and an arena; what they return belongs to
 * the arena.  No HTTP and no cJSON here.
 *
 * A channel's target URL and signing secrets are sealed (cred_seal);
 * they are read here as ciphertexts and opened only by
 * source_conn_channel_open() (source_conn.h).
 */
#ifndef PGS_NOTIFY_STORE_H
#define PGS_NOTIFY_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

/* A channel, as stored: the one shape of it in every program. */
struct channel {
	long	       id;
	char	      *name;
	char	      *kind; /* "webhook" | "slack" | "email" */
	char	      *target_display;
	char	     **addresses; /* email; naddr of them */
	int	       naddr;
	unsigned char *enc_target; /* sealed URL (webhook, slack) */
	size_t	       enc_target_len;
	unsigned char *enc_secret; /* sealed whsec_ secret (webhook) */
	size_t	       enc_secret_len;
	unsigned char *enc_secret_prev; /* before the last rotation */
	size_t	       enc_secret_prev_len;
	char	      *secret_rotated_at;
	long	       rotated_age_s; /* seconds since then; -1: never */
	int	       key_version;
	bool	       enabled;
	char	      *disabled_reason;
	long	       created_by; /* 0: none */
	char	      *created_at;
	char	      *updated_at;
};

struct channel_list {
	struct channel *items;
	int		n;
};

/* The columns of a channel, for a statement whose notify_channel is `c`
 * (notify_store_channel_from_row reads them).  Addresses travel joined
 * by ',', which no valid address holds (mail_addr_valid). */
#define NOTIFY_CHANNEL_COLS \
	"c.id, c.name, c.kind, c.target_display," \
	" array_to_string(c.addresses, ','), c.enc_target," \
	" c.enc_secret, c.enc_secret_prev, c.secret_rotated_at," \
	" floor(extract(epoch FROM now() - c.secret_rotated_at))::int8," \
	" c.key_version, c.enabled, c.disabled_reason, c.created_by," \
	" c.created_at, c.updated_at"
#define NOTIFY_CHANNEL_NCOLS 16

/* A query's subscription of one channel. */
struct notify_sub {
	long   channel_id;
	char  *channel_name;
	char  *channel_kind;
	char **events;
	int    nevents;
};

struct notify_sub_list {
	struct notify_sub *items;
	int		   n;
};

/* A query's alert: the definition and, kept by the runner, its state. */
struct alert {
	long  query_id;
	char *kind; /* "rows" | "value" */
	char *column_name;
	char *op;
	char *value;
	bool  value_is_number;
	char *state; /* "ok" | "firing" */
	char *since;
	char *last_error;
	char *last_error_at;
	char *updated_at;
};

/* A row of the delivery outbox (payload only from _get). */
struct delivery {
	long  id;
	long  channel_id; /* 0: the channel was deleted */
	char *channel_name;
	char *channel_kind;
	char *event;
	long  query_id; /* 0: none */
	long  run_id;	/* 0: none */
	char *webhook_id;
	char *status; /* "pending" | "delivered" | "dead" */
	long  attempts;
	char *next_attempt_at;
	char *last_attempt_at;
	long  last_status; /* 0: none */
	char *last_error;
	char *created_at;
	char *delivered_at;
	long  redelivery_of; /* 0: none */
	long  requested_by;  /* 0: none */
	char *payload;
};

struct delivery_list {
	struct delivery *items;
	int		 n;
	long		 total; /* rows matching, ignoring paging */
};

struct delivery_filter {
	long	    channel_id; /* 0: any */
	long	    query_id;	/* 0: any */
	const char *status;	/* NULL: any */
	int	    limit;
	int	    offset;
};

/* Deliveries of the outbox by channel kind and status. */
struct notify_count {
	char *kind; /* "webhook"... or "deleted" (channel gone) */
	char *status;
	long  n;
};

/* The figures of /metrics. */
struct notify_stats {
	struct notify_count *counts;
	int		     ncounts;
	long		     pending;
	double		     oldest_pending_s; /* 0 when none */
	long		     stale_jobs;
};

/*
 * Fills ch (zeroed first) from row r of res, whose columns col to
 * col + NOTIFY_CHANNEL_NCOLS - 1 are NOTIFY_CHANNEL_COLS.  Strings and
 * ciphertexts belong to the arena.
 */
void notify_store_channel_from_row(struct arena *a, const PGresult *res, int r,
    int col, struct channel *ch);
/*
 * Inserts ch (id, timestamps and rotation ignored; enc_* as sealed, the
 * addresses as a text array) and sets *id.  PGS_CONFLICT on a duplicate
 * name.
 */
enum pgs_rc notify_store_channel_create(struct db *db, struct arena *a,
    const struct channel *ch, long *id) PGS_MUSTCHECK;
/* Fills ch for the channel with this id or name (one of them NULL). */
enum pgs_rc notify_store_channel_get(struct db *db, struct arena *a,
    const char *id, const char *name, struct channel *ch) PGS_MUSTCHECK;
/* Every channel, by id. */
enum pgs_rc notify_store_channel_list(struct db *db, struct arena *a,
    struct channel_list *out) PGS_MUSTCHECK;
/*
 * Writes name, enc_target, target_display, addresses and enabled of ch
 * (by ch->id) and bumps updated_at; enabling clears disabled_reason.
 * PGS_NOTFOUND when gone, PGS_CONFLICT on a duplicate name.
 */
enum pgs_rc notify_store_channel_update(struct db *db, struct arena *a,
    const struct channel *ch) PGS_MUSTCHECK;
/*
 * A rotation of the webhook channel id's signing secret: the current one
 * becomes the previous one (it signs too for the overlap), enc (len
 * bytes, sealed) the current one, secret_rotated_at now().  PGS_NOTFOUND
 * when there is no such webhook channel.
 */
enum pgs_rc notify_store_channel_rotate(struct db *db, struct arena *a, long id,
    const unsigned char *enc, size_t len) PGS_MUSTCHECK;
/*
 * Replaces the sealed values of channel next->id (enc_target, enc_secret,
 * enc_secret_prev: those of next) and sets key_version, only while the
 * stored ones are still those of was (so a change meanwhile, a rotation
 * or the runner dropping the previous secret, is not overwritten): `keys
 * rotate`.  PGS_CONFLICT when they changed.
 */
enum pgs_rc notify_store_channel_rekey(struct db *db, struct arena *a,
    const struct channel *was, const struct channel *next,
    int key_version) PGS_MUSTCHECK;
/*
 * Deletes channel id with its subscriptions; its deliveries stay, with
 * channel_id NULL (the runner marks pending ones dead).  *pending gets how
 * many were pending.  PGS_NOTFOUND when there is no such channel.
 */
enum pgs_rc notify_store_channel_delete(struct db *db, struct arena *a, long id,
    long *pending) PGS_MUSTCHECK;

/* The subscriptions of query qid, by channel id.  PGS_NOTFOUND when the
 * query does not exist. */
enum pgs_rc notify_store_subs_get(struct db *db, struct arena *a, long qid,
    struct notify_sub_list *out) PGS_MUSTCHECK;
/*
 * Replaces the subscriptions of query qid by l (channel_id and events of
 * each item), in one transaction.  PGS_NOTFOUND when the query does not
 * exist; PGS_INVALID (*bad = the index of the item) when a channel does
 * not.
 */
enum pgs_rc notify_store_subs_replace(struct db *db, struct arena *a, long qid,
    const struct notify_sub_list *l, int *bad) PGS_MUSTCHECK;
/* Sets the events of channel cid for query qid (ev, n of them, checked):
 * a new subscription or a replaced one. */
enum pgs_rc notify_store_sub_set(struct db *db, struct arena *a, long qid,
    long cid, const char *const *ev, int n) PGS_MUSTCHECK;
/* Ends the subscription of channel cid for query qid; PGS_NOTFOUND when
 * there is none. */
enum pgs_rc notify_store_sub_delete(struct db *db, struct arena *a, long qid,
    long cid) PGS_MUSTCHECK;

/*
 * Fills al with the alert of query qid; *exists is false (al zeroed) when
 * it has none.  PGS_NOTFOUND when the query does not exist.
 */
enum pgs_rc notify_store_alert_get(struct db *db, struct arena *a, long qid,
    struct alert *al, bool *exists) PGS_MUSTCHECK;
/*
 * Sets the alert of query al->query_id to the definition of al (kind,
 * column_name, op, value, value_is_number), with its state reset: ok,
 * since now(), no error.  PGS_NOTFOUND when the query does not exist.
 */
enum pgs_rc notify_store_alert_put(struct db *db, struct arena *a,
    const struct alert *al) PGS_MUSTCHECK;
/* Deletes the alert of query qid; PGS_NOTFOUND when it has none (*query
 * tells whether the query exists). */
enum pgs_rc notify_store_alert_delete(struct db *db, struct arena *a, long qid,
    bool *query) PGS_MUSTCHECK;

/* A page of deliveries matching f, newest first. */
enum pgs_rc notify_store_delivery_list(struct db *db, struct arena *a,
    const struct delivery_filter *f, struct delivery_list *out) PGS_MUSTCHECK;
/* Fills d with delivery id, payload included. */
enum pgs_rc notify_store_delivery_get(struct db *db, struct arena *a, long id,
    struct delivery *d) PGS_MUSTCHECK;
/*
 * Asks for delivery id again: a new pending row with its channel, event,
 * query, run, webhook_id and payload, redelivery_of id and requested_by
 * user (0: none); *new_id gets it.  PGS_NOTFOUND when there is no such
 * delivery; PGS_CONFLICT with the reason in db->errmsg when it is still
 * pending, its channel was deleted or is disabled.
 */
enum pgs_rc notify_store_delivery_redeliver(struct db *db, struct arena *a,
    long id, long user, long *new_id) PGS_MUSTCHECK;

/* The figures of /metrics (one snapshot). */
enum pgs_rc notify_store_stats(struct db *db, struct arena *a,
    struct notify_stats *out) PGS_MUSTCHECK;

#endif
