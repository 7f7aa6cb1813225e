/*
 * auth.h: user passwords (Argon2id with an application-wide pepper) and
 * session tokens.
 *
 * Passwords are hashed with Argon2id (RFC 9106) through libargon2's
 * argon2_ctx(), which, unlike the high-level API, takes Argon2's secret
 * input K: the pepper, i.e. the decoded bytes of ARGON2_SECRET_KEY_B64.
 * A stolen database alone is thus useless for guessing passwords.  Each
 * hash gets a 16-byte random salt and a 32-byte tag, and is stored as a
 * PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>, salt and tag
 * in unpadded standard base64 (what libargon2 and argon2-cffi write).
 *
 * Parameters for new hashes: m = 19456 KiB, t = 2, p = 1, OWASP's
 * first Argon2id recommendation, equivalent in strength to its other
 * choices and within RFC 9106's guidance for memory-constrained servers.
 * Every FastCGI worker may be verifying at the same time, so 19 MiB per
 * verification keeps a worker pool's memory small, and p = 1 starts no
 * threads inside a worker.  Verification reads m, t, p and the version
 * (19, or 16 for Argon2 1.0) from the stored string, so parameters can
 * change and a successful login rehashes with the current ones; it
 * refuses values no honest hash has, so a hostile row cannot make us
 * allocate gigabytes: see AUTH_MAX_*.  Lanes are always computed on one
 * thread.
 *
 * Call secret_init() (secret.h) at program start; these functions call
 * it too.
 */
#ifndef PGS_AUTH_H
#define PGS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define AUTH_PEPPER_MIN	    32 /* bytes, decoded */
#define AUTH_PEPPER_MAX	    64
#define AUTH_ARGON2_M_KIB   19456 /* parameters of new hashes */
#define AUTH_ARGON2_T	    2
#define AUTH_ARGON2_P	    1
#define AUTH_SALT_BYTES	    16
#define AUTH_TAG_BYTES	    32
#define AUTH_MAX_M_KIB	    262144 /* 256 MiB: limits of stored hashes */
#define AUTH_MAX_T	    16
#define AUTH_MAX_P	    16
#define AUTH_MAX_WORK_KIB   1048576 /* m * t at most (1 GiB of passes) */
#define AUTH_PHC_MAX	    256	    /* room for any PHC we accept, + NUL */
#define AUTH_PW_MIN_CHARS   8	    /* code points */
#define AUTH_PW_MAX_BYTES   1024
#define AUTH_TOKEN_BYTES    32
#define AUTH_TOKEN_LEN	    43 /* base64url, unpadded, of 32 bytes */
#define AUTH_TOKEN_HASH_LEN 64 /* hex SHA-256 */

/* Inputs of one raw Argon2id computation; ad is usually empty. */
struct auth_argon2 {
	const void *pwd;
	size_t	    pwdlen;
	const void *salt;
	size_t	    saltlen;
	const void *secret; /* the pepper */
	size_t	    secretlen;
	const void *ad; /* associated data, may be NULL */
	size_t	    adlen;
	uint32_t    m_kib;
	uint32_t    t;
	uint32_t    p;	     /* lanes, computed on one thread */
	uint32_t    version; /* 0x10 or 0x13; 0 means 0x13 */
};

/*
 * The raw primitive under the functions below (and its known-answer
 * test): computes the Argon2id tag (version 1.3 unless in->version says
 * 1.0) of in into out (outlen bytes,
 * caller-owned).  No policy limits are applied here.  Returns PGS_OK,
 * or PGS_INTERNAL when libargon2 rejects the inputs or runs out of
 * memory.
 */
enum pgs_rc auth_argon2id(const struct auth_argon2 *in, unsigned char *out,
    size_t outlen) PGS_MUSTCHECK;

/*
 * Decodes ARGON2_SECRET_KEY_B64 (standard base64 with padding; trailing
 * whitespace ignored) into out (AUTH_PEPPER_MAX bytes, caller-owned;
 * wipe it with sodium_memzero when done) and its length into *len.
 * Returns PGS_OK, or PGS_INVALID with an error naming the variable in
 * err (errlen bytes, caller-owned).
 */
enum pgs_rc
auth_pepper_decode(const char *b64, unsigned char out[AUTH_PEPPER_MAX],
    size_t *len, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * Hashes the NUL-terminated password with a fresh salt and writes the
 * PHC string into out (outlen bytes, caller-owned, AUTH_PHC_MAX is
 * enough).  The policy is not checked here: see auth_password_check().
 * Returns PGS_OK, or PGS_INTERNAL (bad pepper length, out too small,
 * out of memory).
 */
enum pgs_rc auth_password_hash(const unsigned char *pepper, size_t pepperlen,
    const char *password, char *out, size_t outlen) PGS_MUSTCHECK;

/*
 * Checks password against the stored PHC string, comparing the tags in
 * constant time.  Returns PGS_OK (match), PGS_DENIED (mismatch),
 * PGS_INVALID (malformed PHC string or parameters beyond AUTH_MAX_*) or
 * PGS_INTERNAL.
 */
enum pgs_rc auth_password_verify(const unsigned char *pepper, size_t pepperlen,
    const char *password, const char *phc) PGS_MUSTCHECK;

/*
 * Does the work of auth_password_verify() against a hash made with the
 * current parameters, for logins naming an unknown user, so that both
 * cases take the same time.  Returns PGS_DENIED (or PGS_INTERNAL).
 */
enum pgs_rc auth_dummy_verify(const unsigned char *pepper, size_t pepperlen,
    const char *password) PGS_MUSTCHECK;

/*
 * Returns true when phc is well formed but was made with parameters (m,
 * t, p, salt or tag size, Argon2 version) other than the current ones:
 * the login that verified it stores a new hash (user_rehash), so that a
 * known e-mail costs what auth_dummy_verify() costs for an unknown one.
 */
bool auth_password_needs_rehash(const char *phc);

/*
 * Checks a new password against the policy: not empty, at least
 * AUTH_PW_MIN_CHARS characters (Unicode code points), at most
 * AUTH_PW_MAX_BYTES bytes, valid UTF-8 (no overlong forms, no
 * surrogates).  Returns PGS_OK, or PGS_INVALID with the broken rule in
 * err (errlen bytes, caller-owned).
 */
enum pgs_rc
auth_password_check(const char *pw, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * Writes a new session token (AUTH_TOKEN_BYTES random bytes, base64url
 * unpadded, AUTH_TOKEN_LEN characters) and a NUL into out (caller-
 * owned).  Returns PGS_OK or PGS_INTERNAL.
 */
enum pgs_rc auth_token_new(char out[AUTH_TOKEN_LEN + 1]) PGS_MUSTCHECK;

/* Returns true when token has the shape auth_token_new() gives. */
bool auth_token_valid(const char *token);

/*
 * Writes the lower-case hex SHA-256 of the token's characters and a NUL
 * into out (caller-owned): the value the database stores.
 */
void auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN + 1]);

#endif
