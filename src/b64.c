/*
 * b64.c: strict base64 through libsodium, whose codec runs in constant
 * time (it handles key material) and rejects non-canonical input.
 */
#include <sodium.h>

#include "b64.h"

static int
sodium_variant(enum b64_variant v)
{
	switch (v) {
	case B64_STD:
		return sodium_base64_VARIANT_ORIGINAL;
	case B64_STD_NOPAD:
		return sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	case B64_URL_NOPAD:
		return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	}
	return sodium_base64_VARIANT_ORIGINAL;
}

size_t
b64_encoded_size(size_t n, enum b64_variant v)
{
	return sodium_base64_encoded_len(n, sodium_variant(v));
}

enum pgs_rc
b64_encode(const void *bin, size_t n, char *out, size_t cap, enum b64_variant v)
{
	if (cap < b64_encoded_size(n, v))
		return PGS_INTERNAL;
	sodium_bin2base64(out, cap, bin, n, sodium_variant(v));
	return PGS_OK;
}

enum pgs_rc
b64_decode(const char *s, size_t slen, void *out, size_t cap, size_t *outlen,
    enum b64_variant v)
{
	size_t n = 0;
	int    r;

	*outlen = 0;
	/* b64_end == NULL: the whole input must decode, nothing ignored. */
	r = sodium_base642bin(out, cap, s, slen, NULL, &n, NULL,
	    sodium_variant(v));
	if (r != 0) {
		sodium_memzero(out, cap);
		return PGS_INVALID;
	}
	*outlen = n;
	return PGS_OK;
}

size_t
b64_trim_len(const char *s, size_t n)
{
	while (n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		s[n - 1] == '\n'))
		n--;
	return n;
}
