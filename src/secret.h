/*
 * secret.h: data-source credentials sealed with libsodium's sealed boxes
 * (crypto_box_seal: X25519 + XSalsa20-Poly1305), interoperable with
 * PyNaCl's SealedBox.  Keys live in files holding the standard base64
 * (padded, one line, trailing newline allowed) of the raw 32-byte
 * Curve25519 key, exactly as bytes(PyNaCl key) encoded with base64.
 *
 * Plaintext buffers always belong to the caller, who must wipe them with
 * sodium_memzero() once done; they must never go into an arena, a log or
 * an error message.  Nothing here echoes a plaintext or a ciphertext.
 * Error texts go to err (errlen bytes, caller-owned; may be NULL).
 */
#ifndef PGS_SECRET_H
#define PGS_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

#define SECRET_KEY_BYTES  32
#define SECRET_SEAL_BYTES 48 /* crypto_box_SEALBYTES */
/* Ciphertext size for n bytes of plaintext. */
#define SECRET_SEALED_LEN(n) ((n) + SECRET_SEAL_BYTES)

/*
 * Initialises libsodium; safe to call more than once and from auth.c.
 * Call it at program start.  Returns PGS_OK or PGS_INTERNAL.
 */
enum pgs_rc secret_init(void) PGS_MUSTCHECK;

/*
 * Generates a key pair and writes the public key to pub_path (mode 0644)
 * and the private key to priv_path (mode 0600, never readable by others,
 * not even for a moment), each through a temporary file in the same
 * directory, fsync and rename.  Without force an existing file is left
 * alone and PGS_CONFLICT returned; with force both are replaced.
 * Returns PGS_OK, PGS_CONFLICT or PGS_INTERNAL (I/O error, in err).
 */
enum pgs_rc secret_keygen(const char *pub_path, const char *priv_path,
    bool force, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * Reads the public key file named by PUBLIC_KEY_B64_PATH into pk.
 * Returns PGS_OK, PGS_NOTFOUND (no such file), PGS_INVALID (empty, not
 * base64, not 32 bytes) or PGS_INTERNAL (unreadable); err names the
 * variable and the path.
 */
enum pgs_rc secret_load_public(const char *path,
    unsigned char pk[SECRET_KEY_BYTES], char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * Reads the private key file named by APP_PRIVATE_KEY_B64_PATH into sk
 * (caller-owned: use secret_sk_alloc()) and derives its public key into
 * pk.  *too_open is set when the file grants any permission to group or
 * others, which the caller should warn about.  Returns as
 * secret_load_public().
 */
enum pgs_rc secret_load_private(const char *path,
    unsigned char sk[SECRET_KEY_BYTES], unsigned char pk[SECRET_KEY_BYTES],
    bool *too_open, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * Returns SECRET_KEY_BYTES of guarded, mlock()ed memory (sodium_malloc)
 * for a private key, or NULL when out of memory.  Free it with
 * secret_sk_free(), which wipes it; NULL is accepted there.
 */
unsigned char *secret_sk_alloc(void);
void	       secret_sk_free(unsigned char *sk);

/*
 * Seals len bytes of plain for pk into out (cap bytes, caller-owned, at
 * least SECRET_SEALED_LEN(len)) and stores the size in *outlen.
 * Returns PGS_OK, or PGS_INTERNAL when cap is too small.
 */
enum pgs_rc
secret_seal(const unsigned char pk[SECRET_KEY_BYTES], const void *plain,
    size_t len, unsigned char *out, size_t cap, size_t *outlen) PGS_MUSTCHECK;

/*
 * Opens the sealed box cipher (len bytes) with the key pair pk/sk.  The
 * plaintext goes to out (cap bytes, caller-owned, at least
 * len - SECRET_SEAL_BYTES + 1) followed by a NUL; *outlen excludes the
 * NUL.  The caller wipes out with sodium_memzero() after use.  Returns
 * PGS_OK, or PGS_INVALID ("credential unavailable: ...", out wiped) when
 * the key is wrong or the ciphertext is truncated, corrupted or does not
 * fit in cap.
 */
enum pgs_rc secret_open(const unsigned char pk[SECRET_KEY_BYTES],
    const unsigned char sk[SECRET_KEY_BYTES], const unsigned char *cipher,
    size_t len, char *out, size_t cap, size_t *outlen, char *err,
    size_t errlen) PGS_MUSTCHECK;

#endif
