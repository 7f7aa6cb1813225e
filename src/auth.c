/*
 * auth.c: Argon2id password hashes in PHC format with a pepper as
 * Argon2's secret input, the password policy, and session tokens.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <argon2.h>
#include <sodium.h>

#include "auth.h"
#include "b64.h"
#include "secret.h"

#define PHC_PREFIX   "$argon2id$v=19$m="
#define PHC_TYPE     "$argon2id$"
#define PHC_SALT_MIN 8	/* libargon2's minimum */
#define PHC_BIN_MAX  64 /* longest salt or tag we accept */
#define PHC_TAG_MIN  16
#define STR_(x)	     #x
#define STR(x)	     STR_(x)

/*
 * What auth_dummy_verify() checks against: the current parameters, a
 * zero salt and a zero tag of the current sizes.
 */
static const char dummy_phc[] =
    PHC_PREFIX	  STR(AUTH_ARGON2_M_KIB) ",t=" STR(AUTH_ARGON2_T) ",p=" STR(
	   AUTH_ARGON2_P) "$AAAAAAAAAAAAAAAAAAAAAA"
		       "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct phc {
	uint32_t      version; /* ARGON2_VERSION_10 or _13 */
	uint32_t      m, t, p;
	unsigned char salt[PHC_BIN_MAX];
	size_t	      saltlen;
	unsigned char tag[PHC_BIN_MAX];
	size_t	      taglen;
};

static void
    PGS_PRINTF(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

enum pgs_rc
auth_argon2id(const struct auth_argon2 *in, unsigned char *out, size_t outlen)
{
	argon2_context ctx;

	if (in->pwdlen > UINT32_MAX || in->saltlen > UINT32_MAX ||
	    in->secretlen > UINT32_MAX || in->adlen > UINT32_MAX ||
	    outlen > UINT32_MAX)
		return PGS_INTERNAL;
	memset(&ctx, 0, sizeof(ctx));
	/* With flags 0 libargon2 only reads pwd, salt, secret and ad. */
	ctx.out = out;
	ctx.outlen = (uint32_t)outlen;
	ctx.pwd = (uint8_t *)(uintptr_t)in->pwd;
	ctx.pwdlen = (uint32_t)in->pwdlen;
	ctx.salt = (uint8_t *)(uintptr_t)in->salt;
	ctx.saltlen = (uint32_t)in->saltlen;
	ctx.secret = (uint8_t *)(uintptr_t)in->secret;
	ctx.secretlen = (uint32_t)in->secretlen;
	ctx.ad = (uint8_t *)(uintptr_t)in->ad;
	ctx.adlen = (uint32_t)in->adlen;
	ctx.t_cost = in->t;
	ctx.m_cost = in->m_kib;
	ctx.lanes = in->p;
	ctx.threads = 1;
	ctx.version = in->version != 0 ? in->version : ARGON2_VERSION_13;
	ctx.flags = ARGON2_DEFAULT_FLAGS;
	if (argon2_ctx(&ctx, Argon2_id) != ARGON2_OK) {
		sodium_memzero(out, outlen);
		return PGS_INTERNAL;
	}
	return PGS_OK;
}

enum pgs_rc
auth_pepper_decode(const char *b64, unsigned char out[AUTH_PEPPER_MAX],
    size_t *len, char *err, size_t errlen)
{
	unsigned char bin[AUTH_PEPPER_MAX + 1];
	size_t	      n;
	enum pgs_rc   rc;

	*len = 0;
	if (b64 == NULL || b64_trim_len(b64, strlen(b64)) == 0) {
		set_err(err, errlen,
		    "ARGON2_SECRET_KEY_B64: not set; expected "
		    "base64 of %d to %d random bytes",
		    AUTH_PEPPER_MIN, AUTH_PEPPER_MAX);
		return PGS_INVALID;
	}
	rc = b64_decode(b64, b64_trim_len(b64, strlen(b64)), bin, sizeof(bin),
	    &n, B64_STD);
	if (rc != PGS_OK || n < AUTH_PEPPER_MIN || n > AUTH_PEPPER_MAX) {
		set_err(err, errlen,
		    "ARGON2_SECRET_KEY_B64: not standard "
		    "base64 (with padding) of %d to %d bytes",
		    AUTH_PEPPER_MIN, AUTH_PEPPER_MAX);
		sodium_memzero(bin, sizeof(bin));
		return PGS_INVALID;
	}
	memcpy(out, bin, n);
	*len = n;
	sodium_memzero(bin, sizeof(bin));
	return PGS_OK;
}

/* Parses a decimal of 1 to 9 digits at *s, advancing *s past it. */
static bool
parse_u32(const char **s, uint32_t *v)
{
	const char *p = *s;
	uint32_t    n = 0;
	int	    digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 10) {
		n = n * 10 + (uint32_t)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 9 || (digits > 1 && **s == '0'))
		return false;
	*s = p;
	*v = n;
	return true;
}

/* Decodes the unpadded base64 field [s, end) into bin. */
static bool
parse_bin(const char *s, const char *end, unsigned char *bin, size_t *len,
    size_t min)
{
	if (b64_decode(s, (size_t)(end - s), bin, PHC_BIN_MAX, len,
		B64_STD_NOPAD) != PGS_OK)
		return false;
	return *len >= min;
}

/* Returns true when h's cost stays within what we are willing to pay. */
static bool
params_sane(const struct phc *h)
{
	if (h->t < 1 || h->t > AUTH_MAX_T || h->p < 1 || h->p > AUTH_MAX_P)
		return false;
	if (h->m < 8 * h->p || h->m > AUTH_MAX_M_KIB)
		return false;
	return (uint64_t)h->m * h->t <= AUTH_MAX_WORK_KIB;
}

/*
 * Parses the version field at *s ("v=19$", "v=16$", or none, which
 * libargon2 reads as 1.0) into *version, advancing *s to "m=".
 */
static bool
parse_version(const char **s, uint32_t *version)
{
	if (strncmp(*s, "v=19$", 5) == 0) {
		*version = ARGON2_VERSION_13;
		*s += 5;
	} else if (strncmp(*s, "v=16$", 5) == 0) {
		*version = ARGON2_VERSION_10;
		*s += 5;
	} else
		*version = ARGON2_VERSION_10;
	return strncmp(*s, "m=", 2) == 0;
}

/*
 * Parses $argon2id$v=V$m=M,t=T,p=P$SALT$TAG strictly into h; V is 19
 * (what we write) or 16, the older Argon2 1.0 that hashes made
 * elsewhere may carry and that login rehashes.
 */
static enum pgs_rc
phc_parse(const char *s, struct phc *h)
{
	const char *dollar;

	if (strncmp(s, PHC_TYPE, strlen(PHC_TYPE)) != 0)
		return PGS_INVALID;
	s += strlen(PHC_TYPE);
	if (!parse_version(&s, &h->version))
		return PGS_INVALID;
	s += 2;
	if (!parse_u32(&s, &h->m) || strncmp(s, ",t=", 3) != 0)
		return PGS_INVALID;
	s += 3;
	if (!parse_u32(&s, &h->t) || strncmp(s, ",p=", 3) != 0)
		return PGS_INVALID;
	s += 3;
	if (!parse_u32(&s, &h->p) || *s != '$')
		return PGS_INVALID;
	s++;
	dollar = strchr(s, '$');
	if (dollar == NULL ||
	    !parse_bin(s, dollar, h->salt, &h->saltlen, PHC_SALT_MIN))
		return PGS_INVALID;
	s = dollar + 1;
	if (!parse_bin(s, s + strlen(s), h->tag, &h->taglen, PHC_TAG_MIN))
		return PGS_INVALID;
	if (!params_sane(h))
		return PGS_INVALID;
	return PGS_OK;
}

static bool
pepper_ok(const unsigned char *pepper, size_t pepperlen)
{
	return pepper != NULL && pepperlen >= AUTH_PEPPER_MIN &&
	    pepperlen <= AUTH_PEPPER_MAX;
}

enum pgs_rc
auth_password_hash(const unsigned char *pepper, size_t pepperlen,
    const char *password, char *out, size_t outlen)
{
	struct auth_argon2 in;
	unsigned char	   salt[AUTH_SALT_BYTES], tag[AUTH_TAG_BYTES];
	char		   salt64[32], tag64[48];
	enum pgs_rc	   rc;
	int		   n;

	rc = secret_init();
	if (rc != PGS_OK || !pepper_ok(pepper, pepperlen))
		return PGS_INTERNAL;
	randombytes_buf(salt, sizeof(salt));
	in = (struct auth_argon2){ .pwd = password,
		.pwdlen = strlen(password),
		.salt = salt,
		.saltlen = sizeof(salt),
		.secret = pepper,
		.secretlen = pepperlen,
		.m_kib = AUTH_ARGON2_M_KIB,
		.t = AUTH_ARGON2_T,
		.p = AUTH_ARGON2_P };
	rc = auth_argon2id(&in, tag, sizeof(tag));
	if (rc == PGS_OK)
		rc = b64_encode(salt, sizeof(salt), salt64, sizeof(salt64),
		    B64_STD_NOPAD);
	if (rc == PGS_OK)
		rc = b64_encode(tag, sizeof(tag), tag64, sizeof(tag64),
		    B64_STD_NOPAD);
	if (rc != PGS_OK)
		goto out;
	n = snprintf(out, outlen, PHC_PREFIX "%d,t=%d,p=%d$%s$%s",
	    AUTH_ARGON2_M_KIB, AUTH_ARGON2_T, AUTH_ARGON2_P, salt64, tag64);
	if (n < 0 || (size_t)n >= outlen)
		rc = PGS_INTERNAL;
out:
	sodium_memzero(tag, sizeof(tag));
	return rc;
}

enum pgs_rc
auth_password_verify(const unsigned char *pepper, size_t pepperlen,
    const char *password, const char *phc)
{
	struct auth_argon2 in;
	struct phc	   h;
	unsigned char	   tag[PHC_BIN_MAX];
	enum pgs_rc	   rc;

	if (!pepper_ok(pepper, pepperlen))
		return PGS_INTERNAL;
	rc = phc_parse(phc, &h);
	if (rc != PGS_OK)
		return rc;
	in = (struct auth_argon2){ .pwd = password,
		.pwdlen = strlen(password),
		.salt = h.salt,
		.saltlen = h.saltlen,
		.secret = pepper,
		.secretlen = pepperlen,
		.m_kib = h.m,
		.t = h.t,
		.p = h.p,
		.version = h.version };
	rc = auth_argon2id(&in, tag, h.taglen);
	if (rc != PGS_OK)
		return rc;
	if (sodium_memcmp(tag, h.tag, h.taglen) != 0)
		rc = PGS_DENIED;
	sodium_memzero(tag, sizeof(tag));
	return rc;
}

enum pgs_rc
auth_dummy_verify(const unsigned char *pepper, size_t pepperlen,
    const char *password)
{
	enum pgs_rc rc;

	rc = auth_password_verify(pepper, pepperlen, password, dummy_phc);
	if (rc == PGS_OK)
		rc = PGS_DENIED; /* 2^-256: never, but never OK */
	return rc;
}

bool
auth_password_needs_rehash(const char *phc)
{
	struct phc h;

	if (phc_parse(phc, &h) != PGS_OK)
		return false;
	return h.version != ARGON2_VERSION_13 || h.m != AUTH_ARGON2_M_KIB ||
	    h.t != AUTH_ARGON2_T || h.p != AUTH_ARGON2_P ||
	    h.saltlen != AUTH_SALT_BYTES || h.taglen != AUTH_TAG_BYTES;
}

/*
 * Returns the length of the UTF-8 sequence at s (n bytes left), or 0
 * when it is invalid (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF).
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t	      len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

enum pgs_rc
auth_password_check(const char *pw, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)pw;
	size_t		     n, i, step, chars = 0;

	n = strnlen(pw, AUTH_PW_MAX_BYTES + 1);
	if (n == 0) {
		set_err(err, errlen, "password must not be empty");
		return PGS_INVALID;
	}
	if (n > AUTH_PW_MAX_BYTES) {
		set_err(err, errlen, "password must be at most %d bytes",
		    AUTH_PW_MAX_BYTES);
		return PGS_INVALID;
	}
	for (i = 0; i < n; i += step) {
		step = utf8_seq_len(s + i, n - i);
		if (step == 0) {
			set_err(err, errlen, "password must be valid UTF-8");
			return PGS_INVALID;
		}
		chars++;
	}
	if (chars < AUTH_PW_MIN_CHARS) {
		set_err(err, errlen, "password must be at least %d characters",
		    AUTH_PW_MIN_CHARS);
		return PGS_INVALID;
	}
	return PGS_OK;
}

enum pgs_rc
auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	enum pgs_rc   rc;

	rc = secret_init();
	if (rc != PGS_OK)
		return rc;
	randombytes_buf(raw, sizeof(raw));
	rc = b64_encode(raw, sizeof(raw), out, AUTH_TOKEN_LEN + 1,
	    B64_URL_NOPAD);
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

bool
auth_token_valid(const char *token)
{
	unsigned char raw[AUTH_TOKEN_BYTES + 1];
	size_t	      n, len;

	len = strnlen(token, AUTH_TOKEN_LEN + 1);
	if (len != AUTH_TOKEN_LEN)
		return false;
	if (b64_decode(token, len, raw, sizeof(raw), &n, B64_URL_NOPAD) !=
	    PGS_OK)
		return false;
	sodium_memzero(raw, sizeof(raw));
	return n == AUTH_TOKEN_BYTES;
}

void
auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, AUTH_TOKEN_HASH_LEN + 1, h, sizeof(h));
}
