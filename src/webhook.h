/*
 * webhook.h: Standard Webhooks 1.0 signing (CONTRACT section 8).
 *
 * A channel's secret is "whsec_" followed by the standard base64 of 32
 * random bytes; the HMAC key is the decoded part after "whsec_".  A
 * delivery carries three headers:
 *   webhook-id         the event's id, the same on every retry of it
 *   webhook-timestamp  Unix seconds of this attempt
 *   webhook-signature  "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
 *                      one entry per key, separated by a space (during a
 *                      secret rotation the old and the new key both sign)
 *
 * Keys live only in caller-owned struct webhook_keys, which the owner
 * wipes with webhook_keys_wipe() as soon as it has signed; nothing here
 * keeps a copy or logs one.
 */
#ifndef PGS_WEBHOOK_H
#define PGS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_BYTES  32 /* what webhook_secret_new draws */
#define WEBHOOK_KEY_MIN	      24 /* the spec: 24 to 64 bytes */
#define WEBHOOK_KEY_MAX	      64
/* "whsec_" + base64 of 64 bytes (88) + NUL */
#define WEBHOOK_SECRET_SIZE 96
#define WEBHOOK_MAX_KEYS    4 /* signatures per delivery */
/* "msg_" + base64url of 16 bytes (22) + NUL */
#define WEBHOOK_ID_SIZE 27
#define WEBHOOK_ID_MAX	64 /* longest id webhook_id_valid takes */
/* per key: "v1," + base64 of 32 bytes (44) + a space */
#define WEBHOOK_SIG_SIZE (WEBHOOK_MAX_KEYS * 48 + 1)

struct webhook_key {
	unsigned char k[WEBHOOK_KEY_MAX];
	size_t	      len;
};

struct webhook_keys {
	struct webhook_key key[WEBHOOK_MAX_KEYS];
	size_t		   n;
};

/*
 * Writes a new secret, "whsec_" + standard base64 of 32 bytes from
 * libsodium's randombytes, into out (WEBHOOK_SECRET_SIZE bytes, the
 * caller's; the caller wipes it once it has been sealed and shown).
 */
void webhook_secret_new(char out[WEBHOOK_SECRET_SIZE]);

/*
 * Decodes secret ("whsec_" + strict standard base64 of 24 to 64 bytes)
 * into k, the caller's.  Returns PGS_INVALID (k wiped) when the secret is
 * not of that form.
 */
enum pgs_rc
webhook_secret_parse(const char *secret, struct webhook_key *k) PGS_MUSTCHECK;

/*
 * Decodes secret into the next free key of ks.  Returns PGS_INVALID when
 * the secret is malformed or ks already holds WEBHOOK_MAX_KEYS keys.
 */
enum pgs_rc
webhook_keys_add(struct webhook_keys *ks, const char *secret) PGS_MUSTCHECK;

/* Wipes every key of ks (sodium_memzero) and empties it. */
void webhook_keys_wipe(struct webhook_keys *ks);

/*
 * Writes the webhook-signature header value for the delivery (id,
 * timestamp ts, body of len bytes) into out (cap bytes, the caller's):
 * "v1,<sig>" per key of ks, in order, separated by spaces.  Returns
 * PGS_INVALID when ks is empty or id is not a valid id, PGS_INTERNAL when
 * cap is too small (WEBHOOK_SIG_SIZE always fits).
 */
enum pgs_rc
webhook_sign(const struct webhook_keys *ks, const char *id, int64_t ts,
    const void *body, size_t len, char *out, size_t cap) PGS_MUSTCHECK;

/*
 * Writes a new event id, "msg_" + base64url of 16 random bytes, into out
 * (WEBHOOK_ID_SIZE bytes, the caller's).  Ids are drawn when the event
 * is put into the outbox and stored with it: every retry sends the same.
 */
void webhook_id_new(char out[WEBHOOK_ID_SIZE]);

/*
 * true when id can be sent as a webhook-id: 1 to WEBHOOK_ID_MAX bytes of
 * A-Z a-z 0-9 '_' '-' (no '.', which would make the signed content
 * ambiguous, and nothing a header or a Message-ID could not carry).
 */
bool webhook_id_valid(const char *id);

#endif
