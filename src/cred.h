/*
 * cred.h: data-source credentials under the configured key pair.  While a
 * key rotation is under way (or was interrupted) a ciphertext may be under
 * the next key, "<APP_PRIVATE_KEY_B64_PATH>.next": opening tries both, so
 * every data source stays usable whatever point a rotation reached.
 */
#ifndef PGS_CRED_H
#define PGS_CRED_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "conf.h"
#include "rc.h"
#include "secret.h"

#define CRED_PASSWORD_MAX 1024 /* bytes of a source password */

struct cred_keys {
	unsigned char  pk[SECRET_KEY_BYTES];
	bool	       have_pk;
	unsigned char *sk; /* sodium_malloc'd, or NULL */
	unsigned char  next_pk[SECRET_KEY_BYTES];
	unsigned char *next_sk; /* the rotation's next key, or NULL */
};

/*
 * Loads the public key and, when need_private, the private key (and the
 * next private key if its file exists).  Errors name the variable and the
 * file.  The keys belong to k until cred_free().
 */
enum pgs_rc cred_load(const struct conf *c, bool need_private,
    struct cred_keys *k, char *err, size_t errlen) PGS_MUSTCHECK;
void	    cred_free(struct cred_keys *k);
/* Returns the path of the next key belonging to path (arena-owned). */
char *cred_next_path(struct arena *a, const char *path);
/* Seals plain with the public key; *out is arena-owned. */
enum pgs_rc cred_seal(const struct cred_keys *k, struct arena *a,
    const char *plain, unsigned char **out, size_t *outlen) PGS_MUSTCHECK;
/*
 * Opens a ciphertext into out (cap bytes, NUL-terminated, owned by the
 * caller who wipes it with sodium_memzero).  *which gets 0 for the current
 * key, 1 for the next one (may be NULL).  On failure err says "credential
 * unavailable: ..." and never holds key or text material.
 */
enum pgs_rc
cred_open(const struct cred_keys *k, const unsigned char *cipher, size_t len,
    char *out, size_t cap, int *which, char *err, size_t errlen) PGS_MUSTCHECK;

#endif
