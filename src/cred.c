/*
 * cred.c: the key set of data-source credentials.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cred.h"
#include "log.h"

char *
cred_next_path(struct arena *a, const char *path)
{
	return arena_printf(a, "%s.next", path);
}

void
cred_free(struct cred_keys *k)
{
	if (k->sk != NULL)
		secret_sk_free(k->sk);
	if (k->next_sk != NULL)
		secret_sk_free(k->next_sk);
	memset(k, 0, sizeof(*k));
}

static enum pgs_rc
cred_load_private(const struct conf *c, struct cred_keys *k, char *err,
    size_t errlen)
{
	struct arena  a;
	char	     *next, qpath[1100];
	bool	      too_open = false;
	enum pgs_rc   rc;
	unsigned char pk[SECRET_KEY_BYTES];

	if (c->private_key_path == NULL || *c->private_key_path == '\0') {
		snprintf(err, errlen,
		    "APP_PRIVATE_KEY_B64_PATH is not set "
		    "(the private key is needed to open data-source "
		    "credentials)");
		return PGS_INVALID;
	}
	k->sk = secret_sk_alloc();
	rc = secret_load_private(c->private_key_path, k->sk, pk, &too_open, err,
	    errlen);
	if (rc != PGS_OK)
		return rc;
	if (too_open)
		log_warn("key_mode",
		    "path=\"%s\" the private key file is "
		    "readable by group or others: chmod 600 it",
		    log_quote(c->private_key_path, 512, qpath, sizeof(qpath)));
	if (!k->have_pk) {
		memcpy(k->pk, pk, sizeof(pk));
		k->have_pk = true;
	}
	arena_init(&a);
	next = cred_next_path(&a, c->private_key_path);
	if (access(next, F_OK) == 0) {
		k->next_sk = secret_sk_alloc();
		rc = secret_load_private(next, k->next_sk, k->next_pk,
		    &too_open, err, errlen);
	}
	arena_free(&a);
	return rc;
}

enum pgs_rc
cred_load(const struct conf *c, bool need_private, struct cred_keys *k,
    char *err, size_t errlen)
{
	enum pgs_rc rc;
	char	    perr[256];

	memset(k, 0, sizeof(*k));
	rc = secret_load_public(c->public_key_path, k->pk, perr, sizeof(perr));
	if (rc == PGS_OK)
		k->have_pk = true;
	else if (!need_private) {
		snprintf(err, errlen, "PUBLIC_KEY_B64_PATH: %s", perr);
		return rc;
	}
	if (need_private) {
		rc = cred_load_private(c, k, err, errlen);
		if (rc != PGS_OK)
			cred_free(k);
	}
	return rc;
}

enum pgs_rc
cred_seal(const struct cred_keys *k, struct arena *a, const char *plain,
    unsigned char **out, size_t *outlen)
{
	size_t n = strlen(plain);

	*out = arena_alloc(a, SECRET_SEALED_LEN(n));
	return secret_seal(k->pk, plain, n, *out, SECRET_SEALED_LEN(n), outlen);
}

enum pgs_rc
cred_open(const struct cred_keys *k, const unsigned char *cipher, size_t len,
    char *out, size_t cap, int *which, char *err, size_t errlen)
{
	size_t	    n;
	enum pgs_rc rc = PGS_INVALID;

	if (which != NULL)
		*which = 0;
	if (cipher == NULL || len == 0) {
		snprintf(err, errlen,
		    "credential unavailable: no password "
		    "stored");
		return PGS_INVALID;
	}
	if (k->sk != NULL)
		rc = secret_open(k->pk, k->sk, cipher, len, out, cap, &n, err,
		    errlen);
	if (rc != PGS_OK && k->next_sk != NULL) {
		rc = secret_open(k->next_pk, k->next_sk, cipher, len, out, cap,
		    &n, err, errlen);
		if (rc == PGS_OK && which != NULL)
			*which = 1;
	}
	if (rc != PGS_OK)
		snprintf(err, errlen,
		    "credential unavailable: wrong key or "
		    "corrupted ciphertext");
	return rc;
}
