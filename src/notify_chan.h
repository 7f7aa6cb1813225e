/*
 * notify_chan.h: what both doors do to a notification channel beyond its
 * rules (notify_rules.h) and its SQL (notify_store.h): build the stored
 * row from a checked input (the URL sealed and shown only as
 * target_display, a new webhook's signing secret drawn and sealed), draw
 * a new secret for a rotation, and send a channel's test event (`ping`)
 * at once, synchronously, through the delivery engine (deliver.h: the
 * SSRF rule again at connect time).  The API's fcgi/h_channel.c and the
 * CLI's cli/cmd_channel.c call these, so a channel made through one door
 * is the channel the other would make.
 *
 * A plaintext secret exists only in the caller's buffer of
 * WEBHOOK_SECRET_SIZE bytes, which the caller shows once and wipes
 * (sodium_memzero); a URL is sealed before it is stored.
 */
#ifndef PGS_NOTIFY_CHAN_H
#define PGS_NOTIFY_CHAN_H

#include <stdbool.h>

#include "arena.h"
#include "conf.h"
#include "cred.h"
#include "deliver.h"
#include "notify_rules.h"
#include "notify_store.h"
#include "rc.h"
#include "webhook.h"

/* The outcome of a channel's test delivery. */
struct notify_chan_test {
	enum deliver_outcome outcome;
	int		     status; /* HTTP status or SMTP code; 0: none */
	int		     ms;
	char		     id[WEBHOOK_ID_SIZE]; /* the ping's webhook-id */
	char		     error[DELIVER_ERROR_SIZE]; /* "" when delivered */
};

/*
 * Writes the checked input in (notify_rules_channel passed) over ch: a
 * new channel (create: ch zeroed by the caller, kind k) or an edit of the
 * stored ch.  A URL is sealed with k's public key into enc_target and
 * shown as target_display; addresses are copied; a new webhook channel
 * gets a new signing secret, written into secret (the caller's; "" when
 * none was drawn) and sealed into enc_secret.  Strings and ciphertexts
 * belong to a.  Returns PGS_OK or PGS_INTERNAL (cannot seal: no public
 * key).
 */
enum pgs_rc notify_chan_build(const struct cred_keys *keys, struct arena *a,
    const struct notify_channel_input *in, bool create, enum notify_kind k,
    struct channel *ch, char secret[WEBHOOK_SECRET_SIZE]) PGS_MUSTCHECK;
/*
 * Draws a new signing secret into secret (the caller's) and seals it
 * into *enc (arena-owned, *len bytes) for notify_store_channel_rotate.
 */
enum pgs_rc notify_chan_new_secret(const struct cred_keys *keys,
    struct arena *a, char secret[WEBHOOK_SECRET_SIZE], unsigned char **enc,
    size_t *len) PGS_MUSTCHECK;
/*
 * Sends the test event of channel ch now and fills t: a `ping` (webhook:
 * signed {"type": "ping", ...}; slack: a text; email: one message), one
 * attempt within the channel timeout of c (NOTIFY_TIMEOUT_MS).  Returns
 * PGS_OK when the attempt was made (t says how it went; a disabled
 * channel is tested too); PGS_INVALID with err when the channel's sealed
 * values do not open or the engine's settings are unusable.
 */
enum pgs_rc notify_chan_test(const struct conf *c, const struct cred_keys *keys,
    struct arena *a, const struct channel *ch, struct notify_chan_test *t,
    char *err, size_t errlen) PGS_MUSTCHECK;

#endif
