/*
 * webhook.c: Standard Webhooks 1.0 secrets, ids and signatures, on
 * libsodium's randombytes and HMAC-SHA256.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "webhook.h"

#define PREFIX_LEN (sizeof(WEBHOOK_SECRET_PREFIX) - 1)
#define ID_RANDOM  16

void
webhook_secret_new(char out[WEBHOOK_SECRET_SIZE])
{
	unsigned char raw[WEBHOOK_SECRET_BYTES];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, WEBHOOK_SECRET_PREFIX, PREFIX_LEN);
	/* 32 bytes always fit: 44 characters after the prefix */
	if (b64_encode(raw, sizeof(raw), out + PREFIX_LEN,
		WEBHOOK_SECRET_SIZE - PREFIX_LEN, B64_STD) != PGS_OK)
		out[0] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

enum pgs_rc
webhook_secret_parse(const char *secret, struct webhook_key *k)
{
	size_t	    len;
	enum pgs_rc rc;

	k->len = 0;
	if (secret == NULL ||
	    strncmp(secret, WEBHOOK_SECRET_PREFIX, PREFIX_LEN) != 0)
		return PGS_INVALID;
	secret += PREFIX_LEN;
	rc = b64_decode(secret, strlen(secret), k->k, sizeof(k->k), &len,
	    B64_STD);
	if (rc == PGS_OK && (len < WEBHOOK_KEY_MIN || len > WEBHOOK_KEY_MAX))
		rc = PGS_INVALID;
	if (rc != PGS_OK) {
		sodium_memzero(k, sizeof(*k));
		return PGS_INVALID;
	}
	k->len = len;
	return PGS_OK;
}

enum pgs_rc
webhook_keys_add(struct webhook_keys *ks, const char *secret)
{
	enum pgs_rc rc;

	if (ks->n >= WEBHOOK_MAX_KEYS)
		return PGS_INVALID;
	rc = webhook_secret_parse(secret, &ks->key[ks->n]);
	if (rc != PGS_OK)
		return rc;
	ks->n++;
	return PGS_OK;
}

void
webhook_keys_wipe(struct webhook_keys *ks)
{
	sodium_memzero(ks, sizeof(*ks));
}

/* Writes "v1,<base64 HMAC>" of one key into out (cap bytes). */
static enum pgs_rc
sign_one(const struct webhook_key *k, const char *head, size_t hlen,
    const void *body, size_t len, char *out, size_t cap)
{
	crypto_auth_hmacsha256_state st;
	unsigned char		     mac[crypto_auth_hmacsha256_BYTES];
	enum pgs_rc		     rc;

	if (cap < 3)
		return PGS_INTERNAL;
	crypto_auth_hmacsha256_init(&st, k->k, k->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, hlen);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "v1,", 3);
	rc = b64_encode(mac, sizeof(mac), out + 3, cap - 3, B64_STD);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

enum pgs_rc
webhook_sign(const struct webhook_keys *ks, const char *id, int64_t ts,
    const void *body, size_t len, char *out, size_t cap)
{
	char	    head[WEBHOOK_ID_MAX + 32];
	size_t	    i, used = 0;
	int	    hlen;
	enum pgs_rc rc;

	if (cap > 0)
		out[0] = '\0';
	if (ks->n == 0 || !webhook_id_valid(id) || ts < 0)
		return PGS_INVALID;
	/* the signed content: "<id>.<timestamp>.<body>" */
	hlen = snprintf(head, sizeof(head), "%s.%" PRId64 ".", id, ts);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return PGS_INVALID;
	for (i = 0; i < ks->n; i++) {
		if (i > 0) {
			if (used + 1 >= cap)
				return PGS_INTERNAL;
			out[used++] = ' ';
		}
		rc = sign_one(&ks->key[i], head, (size_t)hlen, body, len,
		    out + used, cap - used);
		if (rc != PGS_OK) {
			out[0] = '\0';
			return rc;
		}
		used += strlen(out + used);
	}
	return PGS_OK;
}

void
webhook_id_new(char out[WEBHOOK_ID_SIZE])
{
	unsigned char raw[ID_RANDOM];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "msg_", 4);
	/* 16 bytes: 22 characters, always fits */
	if (b64_encode(raw, sizeof(raw), out + 4, WEBHOOK_ID_SIZE - 4,
		B64_URL_NOPAD) != PGS_OK)
		out[0] = '\0';
}

bool
webhook_id_valid(const char *id)
{
	size_t i;
	char   c;

	if (id == NULL || id[0] == '\0')
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		if (i >= WEBHOOK_ID_MAX)
			return false;
		c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}
