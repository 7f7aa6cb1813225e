/*
 * b64.h: strict base64 encoding and decoding (RFC 4648) on top of
 * libsodium's constant-time codec, in the three variants pg-sched uses:
 * key files and the pepper (standard, padded), PHC strings (standard,
 * unpadded) and session tokens (URL-safe, unpadded).
 */
#ifndef PGS_B64_H
#define PGS_B64_H

#include <stddef.h>

#include "rc.h"

enum b64_variant {
	B64_STD,       /* A-Z a-z 0-9 + /, '=' padding */
	B64_STD_NOPAD, /* same alphabet, no padding (PHC) */
	B64_URL_NOPAD  /* A-Z a-z 0-9 - _, no padding */
};

/* Returns the size of the encoding of n bytes, including the NUL. */
size_t b64_encoded_size(size_t n, enum b64_variant v);

/*
 * Writes the NUL-terminated encoding of the n bytes at bin into out (cap
 * bytes, caller-owned).  Returns PGS_OK, or PGS_INTERNAL when cap is
 * smaller than b64_encoded_size(n, v).
 */
enum pgs_rc b64_encode(const void *bin, size_t n, char *out, size_t cap,
    enum b64_variant v) PGS_MUSTCHECK;

/*
 * Decodes exactly the slen characters at s into out (cap bytes, caller-
 * owned) and stores the byte count in *outlen.  Nothing is skipped: a
 * space, a newline, a wrong padding or non-zero trailing bits make the
 * input invalid.  Returns PGS_OK, or PGS_INVALID when the input is not
 * valid in variant v or decodes to more than cap bytes.
 */
enum pgs_rc b64_decode(const char *s, size_t slen, void *out, size_t cap,
    size_t *outlen, enum b64_variant v) PGS_MUSTCHECK;

/* Returns n less any trailing spaces, tabs, CRs and LFs of s. */
size_t b64_trim_len(const char *s, size_t n);

#endif
