/*
 * t_auth.c: unit tests of src/auth.c: Argon2id against RFC 9106, PHC
 * strings, the pepper, the password policy and session tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>

#include "../../src/auth.h"
#include "../../src/b64.h"
#include "../../src/secret.h"

/* base64 of bytes 0x00..0x1f, and of 0x20..0x3f */
#define PEPPER_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define PEPPER_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define PHC_HEAD "$argon2id$v=19$m=19456,t=2,p=1$"

struct fx {
	unsigned char a[AUTH_PEPPER_MAX], b[AUTH_PEPPER_MAX];
	size_t	      alen, blen;
};

static int
setup(void **state)
{
	static struct fx f;

	if (auth_pepper_decode(PEPPER_A, f.a, &f.alen, NULL, 0) != PGS_OK ||
	    auth_pepper_decode(PEPPER_B, f.b, &f.blen, NULL, 0) != PGS_OK)
		return -1;
	*state = &f;
	return 0;
}

/* RFC 9106 section 5.3: Argon2id with a secret and associated data. */
static void
test_rfc9106_vector(void **state)
{
	static const unsigned char want[32] = {
		0x0d,
		0x64,
		0x0d,
		0xf5,
		0x8d,
		0x78,
		0x76,
		0x6c,
		0x08,
		0xc0,
		0x37,
		0xa3,
		0x4a,
		0x8b,
		0x53,
		0xc9,
		0xd0,
		0x1e,
		0xf0,
		0x45,
		0x2d,
		0x75,
		0xb6,
		0x5e,
		0xb5,
		0x25,
		0x20,
		0xe9,
		0x6b,
		0x01,
		0xe6,
		0x59,
	};
	unsigned char	   pwd[32], salt[16], secret[8], ad[12], tag[32];
	struct auth_argon2 in;

	(void)state;
	memset(pwd, 0x01, sizeof(pwd));
	memset(salt, 0x02, sizeof(salt));
	memset(secret, 0x03, sizeof(secret));
	memset(ad, 0x04, sizeof(ad));
	in = (struct auth_argon2){ .pwd = pwd,
		.pwdlen = 32,
		.salt = salt,
		.saltlen = 16,
		.secret = secret,
		.secretlen = 8,
		.ad = ad,
		.adlen = 12,
		.m_kib = 32,
		.t = 3,
		.p = 4 };
	assert_int_equal(auth_argon2id(&in, tag, sizeof(tag)), PGS_OK);
	assert_memory_equal(tag, want, sizeof(want));
	/* The secret matters: without it the tag differs. */
	in.secret = NULL;
	in.secretlen = 0;
	assert_int_equal(auth_argon2id(&in, tag, sizeof(tag)), PGS_OK);
	assert_memory_not_equal(tag, want, sizeof(want));
	in.m_kib = 4; /* below libargon2's 8 * lanes */
	assert_int_equal(auth_argon2id(&in, tag, sizeof(tag)), PGS_INTERNAL);
}

static void
test_pepper_decode(void **state)
{
	unsigned char out[AUTH_PEPPER_MAX], raw[65];
	char	      b64[128], err[200];
	size_t	      len;

	(void)state;
	assert_int_equal(auth_pepper_decode(PEPPER_A "\n", out, &len, err,
			     sizeof(err)),
	    PGS_OK);
	assert_int_equal(len, 32);
	assert_int_equal(out[31], 0x1f);
	memset(raw, 0xa5, sizeof(raw));
	assert_int_equal(b64_encode(raw, 64, b64, sizeof(b64), B64_STD),
	    PGS_OK);
	assert_int_equal(auth_pepper_decode(b64, out, &len, err, sizeof(err)),
	    PGS_OK);
	assert_int_equal(len, 64);
	assert_int_equal(b64_encode(raw, 65, b64, sizeof(b64), B64_STD),
	    PGS_OK);
	assert_int_equal(auth_pepper_decode(b64, out, &len, err, sizeof(err)),
	    PGS_INVALID);
	assert_non_null(strstr(err, "ARGON2_SECRET_KEY_B64"));
	assert_int_equal(b64_encode(raw, 31, b64, sizeof(b64), B64_STD),
	    PGS_OK);
	assert_int_equal(auth_pepper_decode(b64, out, &len, err, sizeof(err)),
	    PGS_INVALID);
	assert_non_null(strstr(err, "32 to 64 bytes"));
	err[0] = '\0';
	assert_int_equal(auth_pepper_decode("", out, &len, err, sizeof(err)),
	    PGS_INVALID);
	assert_non_null(strstr(err, "ARGON2_SECRET_KEY_B64: not set"));
	assert_int_equal(auth_pepper_decode(NULL, out, &len, err, sizeof(err)),
	    PGS_INVALID);
	assert_int_equal(auth_pepper_decode("not*base64*at*all*!!", out, &len,
			     err, sizeof(err)),
	    PGS_INVALID);
	assert_int_equal(len, 0);
}

static void
test_hash_verify(void **state)
{
	struct fx  *f = *state;
	char	    h1[AUTH_PHC_MAX], h2[AUTH_PHC_MAX];
	const char *p;

	assert_int_equal(auth_password_hash(f->a, f->alen, "correct horse", h1,
			     sizeof(h1)),
	    PGS_OK);
	assert_int_equal(strncmp(h1, PHC_HEAD, strlen(PHC_HEAD)), 0);
	p = h1 + strlen(PHC_HEAD);
	assert_int_equal(strchr(p, '$') - p, 22);	  /* 16-byte salt */
	assert_int_equal(strlen(strchr(p, '$') + 1), 43); /* 32-byte tag */
	assert_null(strchr(p, '='));			  /* unpadded */
	assert_int_equal(auth_password_verify(f->a, f->alen, "correct horse",
			     h1),
	    PGS_OK);
	assert_int_equal(auth_password_verify(f->a, f->alen, "correct horsE",
			     h1),
	    PGS_DENIED);
	assert_int_equal(auth_password_verify(f->a, f->alen, "", h1),
	    PGS_DENIED);
	assert_int_equal(auth_password_verify(f->b, f->blen, "correct horse",
			     h1),
	    PGS_DENIED);
	assert_int_equal(auth_password_hash(f->a, f->alen, "correct horse", h2,
			     sizeof(h2)),
	    PGS_OK);
	assert_string_not_equal(h1, h2); /* fresh salt every time */
	assert_false(auth_password_needs_rehash(h1));
	/* Peppers outside 32..64 bytes are refused, as is a short buffer. */
	assert_int_equal(auth_password_hash(f->a, 16, "x", h2, sizeof(h2)),
	    PGS_INTERNAL);
	assert_int_equal(auth_password_verify(f->a, 16, "x", h1), PGS_INTERNAL);
	assert_int_equal(auth_password_hash(f->a, f->alen, "x", h2, 60),
	    PGS_INTERNAL);
}

/* Builds a PHC string with other parameters from auth_argon2id(). */
static void
make_phc(struct fx *f, const char *pw, uint32_t m, uint32_t t, uint32_t p,
    size_t saltlen, size_t taglen, char *out, size_t cap)
{
	unsigned char	   salt[64], tag[64];
	char		   s64[100], t64[100];
	struct auth_argon2 in;

	memset(salt, 0x5a, saltlen);
	in = (struct auth_argon2){ .pwd = pw,
		.pwdlen = strlen(pw),
		.salt = salt,
		.saltlen = saltlen,
		.secret = f->a,
		.secretlen = f->alen,
		.m_kib = m,
		.t = t,
		.p = p };
	assert_int_equal(auth_argon2id(&in, tag, taglen), PGS_OK);
	assert_int_equal(b64_encode(salt, saltlen, s64, sizeof(s64),
			     B64_STD_NOPAD),
	    PGS_OK);
	assert_int_equal(b64_encode(tag, taglen, t64, sizeof(t64),
			     B64_STD_NOPAD),
	    PGS_OK);
	snprintf(out, cap, "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s", m, t, p, s64,
	    t64);
}

static void
test_other_params(void **state)
{
	struct fx *f = *state;
	char	   phc[AUTH_PHC_MAX];

	make_phc(f, "pässwörd-ünïcode", 1024, 3, 2, 8, 16, phc, sizeof(phc));
	assert_int_equal(auth_password_verify(f->a, f->alen, "pässwörd-ünïcode",
			     phc),
	    PGS_OK);
	assert_int_equal(auth_password_verify(f->a, f->alen, "passwörd-ünïcode",
			     phc),
	    PGS_DENIED);
	assert_true(auth_password_needs_rehash(phc));
	make_phc(f, "pw", 65536, 3, 4, 16, 32, phc, sizeof(phc));
	assert_int_equal(auth_password_verify(f->a, f->alen, "pw", phc),
	    PGS_OK);
	assert_true(auth_password_needs_rehash(phc));
	make_phc(f, "pw", 8, 1, 1, 64, 64, phc, sizeof(phc));
	assert_int_equal(auth_password_verify(f->a, f->alen, "pw", phc),
	    PGS_OK);
}

/*
 * Argon2 1.0 hashes ("v=16", or no version field as libargon2 reads it)
 * verify with their own version and are due for a rehash; the 1.3 tag
 * of the same inputs is another tag, and other versions are refused.
 */
static void
test_version_10(void **state)
{
	static const struct {
		const char *v;
		enum pgs_rc want;
		bool	    rehash;
	} cases[] = {
		{ "v=16$", PGS_OK, true },
		{ "", PGS_OK, true },
		{ "v=19$", PGS_DENIED, false },
		{ "v=18$", PGS_INVALID, false },
	};
	struct fx	  *f = *state;
	struct auth_argon2 in;
	unsigned char	   salt[16], tag[32];
	char		   s64[32], t64[48], phc[AUTH_PHC_MAX];
	size_t		   i;

	memset(salt, 0x33, sizeof(salt));
	in = (struct auth_argon2){ .pwd = "old pw",
		.pwdlen = 6,
		.salt = salt,
		.saltlen = sizeof(salt),
		.secret = f->a,
		.secretlen = f->alen,
		.m_kib = AUTH_ARGON2_M_KIB,
		.t = AUTH_ARGON2_T,
		.p = AUTH_ARGON2_P,
		.version = 0x10 };
	assert_int_equal(auth_argon2id(&in, tag, sizeof(tag)), PGS_OK);
	assert_int_equal(b64_encode(salt, sizeof(salt), s64, sizeof(s64),
			     B64_STD_NOPAD),
	    PGS_OK);
	assert_int_equal(b64_encode(tag, sizeof(tag), t64, sizeof(t64),
			     B64_STD_NOPAD),
	    PGS_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(phc, sizeof(phc), "$argon2id$%sm=%d,t=%d,p=%d$%s$%s",
		    cases[i].v, AUTH_ARGON2_M_KIB, AUTH_ARGON2_T, AUTH_ARGON2_P,
		    s64, t64);
		assert_int_equal(auth_password_verify(f->a, f->alen, "old pw",
				     phc),
		    cases[i].want);
		assert_int_equal(auth_password_needs_rehash(phc),
		    cases[i].rehash);
		if (cases[i].want == PGS_OK)
			assert_int_equal(auth_password_verify(f->a, f->alen,
					     "old pW", phc),
			    PGS_DENIED);
	}
}

/* A tag differing in any one byte does not verify. */
static void
test_tag_every_byte(void **state)
{
	struct fx    *f = *state;
	char	      phc[AUTH_PHC_MAX], bad[AUTH_PHC_MAX], *tag64;
	unsigned char tag[32];
	size_t	      n, i;

	make_phc(f, "pw", 64, 1, 1, 16, 32, phc, sizeof(phc));
	assert_int_equal(auth_password_verify(f->a, f->alen, "pw", phc),
	    PGS_OK);
	for (i = 0; i < 32; i++) {
		memcpy(bad, phc, sizeof(bad));
		tag64 = strrchr(bad, '$') + 1;
		assert_int_equal(b64_decode(tag64, strlen(tag64), tag,
				     sizeof(tag), &n, B64_STD_NOPAD),
		    PGS_OK);
		tag[i] ^= 0x01;
		assert_int_equal(b64_encode(tag, n, tag64,
				     sizeof(bad) - (size_t)(tag64 - bad),
				     B64_STD_NOPAD),
		    PGS_OK);
		assert_int_equal(auth_password_verify(f->a, f->alen, "pw", bad),
		    PGS_DENIED);
	}
}

static void
test_malformed_phc(void **state)
{
	struct fx		*f = *state;
	static const char *const bad[] = {
		"",
		"$argon2id$",
		"$argon2i$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2d$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$t=2,m=19456,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=0,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=0,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=0$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=-1,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=019456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4194304,t=1,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=262145,t=1,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=262144,t=5,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=17,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=17$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=31,t=2,p=4$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWg$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo=$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA==",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpa*lo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAB",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA$",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA ",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo",
		"$argon2id$v=19$m=19456,t=2,p=1,keyid=x$WlpaWlpaWlo$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$",
	};
	size_t i;
	time_t t0 = time(NULL);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (auth_password_verify(f->a, f->alen, "pw", bad[i]) !=
		    PGS_INVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_false(auth_password_needs_rehash(bad[i]));
	}
	/* None of them was computed (a 4 GiB one would show). */
	assert_true(time(NULL) - t0 < 5);
	/* The well-formed sibling of the lines above parses. */
	assert_int_equal(auth_password_verify(f->a, f->alen, "pw",
			     "$argon2id$v=19$m=19456,t=2,p=1$WlpaWlpaWlo$"
			     "AAAAAAAAAAAAAAAAAAAAAA"),
	    PGS_DENIED);
}

/*
 * CPU seconds of this process: the work of a hash, which other processes
 * on a busy machine do not change (wall time would count their turns).
 */
static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_dummy_verify(void **state)
{
	struct fx *f = *state;
	char	   phc[AUTH_PHC_MAX];
	double	   t, real = 1e9, dummy = 1e9;
	int	   i;

	assert_int_equal(auth_password_hash(f->a, f->alen, "a password", phc,
			     sizeof(phc)),
	    PGS_OK);
	for (i = 0; i < 5; i++) {
		t = seconds();
		assert_int_equal(auth_password_verify(f->a, f->alen, "wrong",
				     phc),
		    PGS_DENIED);
		t = seconds() - t;
		real = t < real ? t : real;
		t = seconds();
		assert_int_equal(auth_dummy_verify(f->a, f->alen, "wrong"),
		    PGS_DENIED);
		t = seconds() - t;
		dummy = t < dummy ? t : dummy;
	}
	/* Same work, so the best of five agree (with room for caches). */
	if (dummy < real * 0.5 || dummy > real * 2.0)
		fail_msg("dummy %.4fs vs real %.4fs", dummy, real);
	assert_int_equal(auth_dummy_verify(f->a, f->alen, ""), PGS_DENIED);
	assert_int_equal(auth_dummy_verify(f->a, 3, "x"), PGS_INTERNAL);
}

static void
expect_policy(const char *pw, enum pgs_rc want, const char *msg)
{
	char err[128] = "";

	assert_int_equal(auth_password_check(pw, err, sizeof(err)), want);
	if (msg != NULL)
		assert_string_equal(err, msg);
}

static void
test_password_policy(void **state)
{
	char big[AUTH_PW_MAX_BYTES + 2];

	(void)state;
	expect_policy("", PGS_INVALID, "password must not be empty");
	expect_policy("1234567", PGS_INVALID,
	    "password must be at least 8 characters");
	expect_policy("12345678", PGS_OK, NULL);
	/* Characters, not bytes: 7 two-byte letters are 14 bytes. */
	expect_policy("ééééééé", PGS_INVALID,
	    "password must be at least 8 characters");
	expect_policy("éééééééé", PGS_OK, NULL);
	expect_policy("日本語のパスワード", PGS_OK, NULL);
	expect_policy("emoji-😀😀", PGS_OK, NULL);
	expect_policy("abcdefg\xff", PGS_INVALID,
	    "password must be valid UTF-8");
	expect_policy("abcdefg\xc3", PGS_INVALID, /* cut sequence */
	    "password must be valid UTF-8");
	expect_policy("abcdefgh\xc0\xaf", PGS_INVALID, /* overlong '/' */
	    "password must be valid UTF-8");
	expect_policy("abcdefgh\xe0\x80\xaf", PGS_INVALID, NULL);
	expect_policy("abcdefgh\xed\xa0\x80", PGS_INVALID, NULL); /* D800 */
	expect_policy("abcdefgh\xf4\x90\x80\x80", PGS_INVALID, NULL);
	expect_policy("abcdefgh\xf4\x8f\xbf\xbf", PGS_OK, NULL); /* 10FFFF */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_policy(big, PGS_INVALID, "password must be at most 1024 bytes");
	big[AUTH_PW_MAX_BYTES] = '\0';
	expect_policy(big, PGS_OK, NULL);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_tokens(void **state)
{
	static char tok[1000][AUTH_TOKEN_LEN + 1];
	char	    hex[AUTH_TOKEN_HASH_LEN + 1], bad[AUTH_TOKEN_LEN + 2];
	size_t	    i, j;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(auth_token_new(tok[i]), PGS_OK);
		assert_int_equal(strlen(tok[i]), AUTH_TOKEN_LEN);
		assert_int_equal(strspn(tok[i],
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_"),
		    AUTH_TOKEN_LEN);
		assert_true(auth_token_valid(tok[i]));
	}
	qsort(tok, 1000, sizeof(tok[0]), cmp_str);
	for (i = 1; i < 1000; i++)
		assert_string_not_equal(tok[i - 1], tok[i]);
	memcpy(bad, tok[0], sizeof(tok[0]));
	bad[AUTH_TOKEN_LEN - 1] = '\0';
	assert_false(auth_token_valid(bad));
	memcpy(bad, tok[0], sizeof(tok[0]));
	bad[AUTH_TOKEN_LEN] = 'A';
	bad[AUTH_TOKEN_LEN + 1] = '\0';
	assert_false(auth_token_valid(bad));
	memcpy(bad, tok[0], sizeof(tok[0]));
	bad[5] = '+';
	assert_false(auth_token_valid(bad));
	assert_false(auth_token_valid(""));
	/* SHA-256("abc"), FIPS 180-2. */
	auth_token_hash("abc", hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	auth_token_hash(tok[0], hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
	for (j = 1; j < 3; j++) {
		char hex2[AUTH_TOKEN_HASH_LEN + 1];

		auth_token_hash(tok[j], hex2);
		assert_string_not_equal(hex, hex2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9106_vector),
		cmocka_unit_test(test_pepper_decode),
		cmocka_unit_test_setup(test_hash_verify, setup),
		cmocka_unit_test_setup(test_other_params, setup),
		cmocka_unit_test_setup(test_version_10, setup),
		cmocka_unit_test_setup(test_tag_every_byte, setup),
		cmocka_unit_test_setup(test_malformed_phc, setup),
		cmocka_unit_test_setup(test_dummy_verify, setup),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_tokens),
	};

	if (secret_init() != PGS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
