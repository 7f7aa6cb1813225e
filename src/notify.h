/*
 * notify.h: delivering the outbox (notify_delivery, written by outbox.h)
 * through the engine of deliver.h (CONTRACT section 8).
 *
 * notify_due() claims due deliveries (status pending, next_attempt_at
 * come) with FOR UPDATE SKIP LOCKED and leases them: next_attempt_at
 * moves past the end of the attempt's budget, so another runner cannot
 * take them meanwhile, and a runner that dies mid-attempt leaves them due
 * again when the lease ends (at least once, the same webhook id).  Each
 * is then attempted once and its outcome recorded: 2xx (or a message the
 * SMTP server took) delivered; 410 dead and the channel disabled
 * (disabled_reason); 429 or 503 with Retry-After retried no sooner than
 * asked; any other failure (a timeout too) retried with back-off and
 * jitter (backoff.h) until NOTIFY_GIVE_UP_HOURS after the event, then
 * dead.  A delivery whose channel was deleted (channel_id NULL) or is
 * disabled becomes dead without an attempt, with the reason in
 * last_error.
 *
 * A channel's target URL and signing secret(s) are opened
 * (source_conn.h) for the attempt only and wiped after it; during a
 * secret rotation the previous secret signs too, for
 * NOTIFY_ROTATE_OVERLAP_HOURS after secret_rotated_at.  Slack gets
 * {"text": ...} and e-mail a subject and text (notify_render_*) made
 * from the stored webhook payload.  Errors recorded and logged are the
 * engine's short sentences: never a URL, a credential or a secret.
 */
#ifndef PGS_NOTIFY_H
#define PGS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "cred.h"
#include "db.h"
#include "deliver.h"
#include "rc.h"

/* Deliveries claimed at once: NOTIFY_CONCURRENCY times this, within
 * bounds, so that a batch keeps every transfer slot busy a while. */
#define NOTIFY_BATCH_PER_SLOT 8
#define NOTIFY_BATCH_MIN      16
#define NOTIFY_BATCH_MAX      512

/* What delivering needs (the caller's, for the whole call). */
struct notify_ctx {
	struct db		  *db;
	const struct cred_keys	  *keys;
	const struct deliver_conf *dc;
	int			   give_up_hours; /* NOTIFY_GIVE_UP_HOURS */
	int			   rotate_overlap_hours; /* NOTIFY_ROTATE_... */
};

/* What notify_due did. */
struct notify_pass {
	int claimed;
	int delivered;
	int retried;
	int dead;
	int not_started; /* left due: the budget ran out */
};

/*
 * Claims and attempts due deliveries (of run run_id only, when not 0;
 * only those created since the instant since, a timestamptz text, when
 * not NULL), batch by batch, until none is due or the budget ends: no
 * attempt starts unless it can end by deadline_ms (mono_ms
 * time).  Adds to *st.  Returns PGS_OK, or the database rc (what was
 * attempted is recorded).
 */
enum pgs_rc
notify_due(const struct notify_ctx *nc, long run_id, const char *since,
    int64_t deadline_ms, struct notify_pass *st) PGS_MUSTCHECK;

/*
 * Sets *want when a tick should deliver: a delivery is due within
 * ahead_s seconds, or runs (when true) may write notifications, some
 * query having a subscription; *now gets the database's now() (text,
 * arena-owned): what the tick's runs write is created after it.
 */
enum pgs_rc notify_wanted(struct db *db, struct arena *a, bool runs,
    int ahead_s, const char **now, bool *want) PGS_MUSTCHECK;

/*
 * Drops the previous signing secret of channels whose rotation overlap
 * (overlap_hours after secret_rotated_at) is over: it signs nothing any
 * more and is kept no longer.  *n gets how many.
 */
enum pgs_rc notify_forget_secrets(struct db *db, struct arena *a,
    int overlap_hours, int *n) PGS_MUSTCHECK;

/*
 * The Slack body of the webhook payload (len bytes): {"text": ...}, a
 * readable summary with the run's link, appended to out (the caller's).
 * Returns PGS_INVALID when payload is not a pg-sched event.
 */
enum pgs_rc notify_render_slack(const char *payload, size_t len,
    struct buf *out) PGS_MUSTCHECK;

/*
 * The e-mail of the webhook payload (len bytes): *subject (one line
 * saying what happened to which query) and *text (the summary with the
 * run's link), arena-owned.  Returns PGS_INVALID when payload is not a
 * pg-sched event.
 */
enum pgs_rc notify_render_mail(struct arena *a, const char *payload, size_t len,
    const char **subject, const char **text) PGS_MUSTCHECK;

#endif
