/*
 * t_secret.c: unit tests of src/secret.c and src/b64.c (sealed boxes,
 * key files).  Each test gets a fresh temporary directory.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>

#include "../../src/b64.h"
#include "../../src/secret.h"

/* Made with PyNaCl: PrivateKey(bytes(range(32))), SealedBox(pk). */
#define PY_SK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define PY_PK "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8="
#define PY_BOX \
	"+Dy3msu+TSqSBpcpMAdEQSJSZMh78ulD/Cfd6AeRWmMRFLw9f5i2/dl9dWfz" \
	"zuUjvUEcjl48mOXgCIc/1g=="
#define PY_PLAIN "pyn4cl-s3cret"
#define MSG_FAIL "credential unavailable: wrong key or corrupted ciphertext"

struct fx {
	char dir[PATH_MAX - 64];
	char pub[PATH_MAX];
	char priv[PATH_MAX];
	char err[512];
};

static int
setup(void **state)
{
	struct fx  *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/t_secret.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->pub, sizeof(f->pub), "%s/public_key.base64", f->dir);
	snprintf(f->priv, sizeof(f->priv), "%s/private_key.base64", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx     *f = *state;
	struct dirent *de;
	char	       p[PATH_MAX * 2];
	DIR	      *d;

	d = opendir(f->dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR	      *d = opendir(dir);
	int	       n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
read_file(const char *path, char *buf, size_t cap)
{
	FILE  *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

/* Writes a file holding the standard base64 of n bytes of v plus '\n'. */
static void
write_key_bytes(const char *path, size_t n, unsigned char v)
{
	unsigned char bin[64];
	char	      text[128];

	memset(bin, v, n);
	assert_int_equal(b64_encode(bin, n, text, sizeof(text), B64_STD),
	    PGS_OK);
	strcat(text, "\n");
	write_file(path, text, 0600);
}

static void
test_roundtrip(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], pk2[32], sk[32], box[SECRET_SEALED_LEN(300)];
	unsigned char plain[256];
	char	      out[300];
	size_t	      boxlen, outlen, i;
	bool	      too_open = true;

	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_load_public(f->pub, pk, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_load_private(f->priv, sk, pk2, &too_open,
			     f->err, sizeof(f->err)),
	    PGS_OK);
	assert_false(too_open);
	assert_memory_equal(pk, pk2, 32);
	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)i; /* every byte value, NUL too */
	for (i = 0; i <= sizeof(plain); i += 51) {
		assert_int_equal(secret_seal(pk, plain, i, box, sizeof(box),
				     &boxlen),
		    PGS_OK);
		assert_int_equal(boxlen, i + SECRET_SEAL_BYTES);
		memset(out, 'x', sizeof(out));
		assert_int_equal(secret_open(pk, sk, box, boxlen, out,
				     sizeof(out), &outlen, f->err,
				     sizeof(f->err)),
		    PGS_OK);
		assert_int_equal(outlen, i);
		assert_memory_equal(out, plain, i);
		assert_int_equal(out[i], '\0');
	}
	sodium_memzero(out, sizeof(out));
	sodium_memzero(sk, sizeof(sk));
}

static void
test_seal_randomised(void **state)
{
	unsigned char pk[32], sk[32], a[64], b[64];
	size_t	      alen, blen;

	(void)state;
	crypto_box_keypair(pk, sk);
	assert_int_equal(secret_seal(pk, "pw", 2, a, sizeof(a), &alen), PGS_OK);
	assert_int_equal(secret_seal(pk, "pw", 2, b, sizeof(b), &blen), PGS_OK);
	assert_int_equal(alen, blen);
	assert_memory_not_equal(a, b, alen);
	/* A too small output buffer is the caller's bug. */
	assert_int_equal(secret_seal(pk, "pw", 2, a, 49, &alen), PGS_INTERNAL);
	assert_int_equal(alen, 0);
}

static void
test_wrong_key(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], sk[32], pk2[32], sk2[32], box[80];
	char	      out[64];
	size_t	      boxlen, outlen = 7, i;

	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	assert_int_equal(secret_seal(pk, "hunter2-secret", 14, box, sizeof(box),
			     &boxlen),
	    PGS_OK);
	memset(out, 'x', sizeof(out));
	assert_int_equal(secret_open(pk2, sk2, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_string_equal(f->err, MSG_FAIL);
	assert_int_equal(outlen, 0);
	for (i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0); /* wiped */
	/* Right secret key, wrong public key: the box binds both. */
	assert_int_equal(secret_open(pk2, sk, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_null(strstr(f->err, "hunter2"));
}

static void
test_corrupted(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], sk[32], box[80], bad[81];
	char	      out[64];
	size_t	      boxlen, outlen, i;
	unsigned      flip;

	crypto_box_keypair(pk, sk);
	assert_int_equal(secret_seal(pk, "s3cret", 6, box, sizeof(box),
			     &boxlen),
	    PGS_OK);
	for (i = 0; i < boxlen; i++) {
		for (flip = 0x01; flip <= 0x80; flip <<= 7) {
			memcpy(bad, box, boxlen);
			bad[i] ^= (unsigned char)flip;
			f->err[0] = '\0';
			assert_int_equal(secret_open(pk, sk, bad, boxlen, out,
					     sizeof(out), &outlen, f->err,
					     sizeof(f->err)),
			    PGS_INVALID);
			assert_string_equal(f->err, MSG_FAIL);
		}
	}
	for (i = 0; i < boxlen; i++) /* every truncation, 0 included */
		assert_int_equal(secret_open(pk, sk, box, i, out, sizeof(out),
				     &outlen, f->err, sizeof(f->err)),
		    PGS_INVALID);
	memcpy(bad, box, boxlen);
	bad[boxlen] = 0;
	assert_int_equal(secret_open(pk, sk, bad, boxlen + 1, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_int_equal(secret_open(pk, sk, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_string_equal(out, "s3cret");
}

static void
test_open_cap(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], sk[32], box[80];
	char	      out[8];
	size_t	      boxlen, outlen;

	crypto_box_keypair(pk, sk);
	assert_int_equal(secret_seal(pk, "12345678", 8, box, sizeof(box),
			     &boxlen),
	    PGS_OK);
	/* 8 bytes need 9 with the NUL. */
	assert_int_equal(secret_open(pk, sk, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_non_null(strstr(f->err, "credential unavailable"));
	assert_int_equal(secret_open(pk, sk, box, boxlen, out, 0, &outlen,
			     f->err, sizeof(f->err)),
	    PGS_INVALID);
}

/* A box sealed by PyNaCl opens here: the formats agree. */
static void
test_pynacl_vector(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], sk[32], box[128];
	char	      out[64];
	size_t	      boxlen, outlen;
	bool	      too_open;

	write_file(f->pub, PY_PK "\n", 0644);
	write_file(f->priv, PY_SK, 0600); /* no newline: also fine */
	assert_int_equal(secret_load_public(f->pub, pk, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(b64_decode(PY_BOX, strlen(PY_BOX), box, sizeof(box),
			     &boxlen, B64_STD),
	    PGS_OK);
	assert_int_equal(secret_open(pk, sk, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_string_equal(out, PY_PLAIN);
	assert_int_equal(outlen, strlen(PY_PLAIN));
}

static void
expect_bad_key(struct fx *f, enum pgs_rc want, const char *what)
{
	unsigned char sk[32], pk[32];
	char	      prefix[PATH_MAX + 64];
	bool	      too_open;

	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    want);
	snprintf(prefix, sizeof(prefix),
	    "APP_PRIVATE_KEY_B64_PATH: %s: ", f->priv);
	assert_int_equal(strncmp(f->err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(f->err, what));
	assert_int_equal(secret_load_public(f->priv, pk, f->err,
			     sizeof(f->err)),
	    want);
	assert_int_equal(strncmp(f->err, "PUBLIC_KEY_B64_PATH: ", 21), 0);
}

static void
test_bad_key_files(void **state)
{
	struct fx		*f = *state;
	static const char *const junk[] = {
		"not base64 at all\n",
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", /* no pad */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nAA==\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", /* bits */
		"-_8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", /* url */
	};
	size_t i;

	expect_bad_key(f, PGS_NOTFOUND, "No such file");
	write_file(f->priv, "", 0600);
	expect_bad_key(f, PGS_INVALID, "empty");
	write_file(f->priv, "\n", 0600);
	expect_bad_key(f, PGS_INVALID, "empty");
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		write_file(f->priv, junk[i], 0600);
		expect_bad_key(f, PGS_INVALID, "not a base64 32-byte key");
	}
	write_key_bytes(f->priv, 31, 7);
	expect_bad_key(f, PGS_INVALID, "not a base64 32-byte key");
	write_key_bytes(f->priv, 33, 7);
	expect_bad_key(f, PGS_INVALID, "not a base64 32-byte key");
	write_key_bytes(f->priv, 64, 7);
	expect_bad_key(f, PGS_INVALID, "not a base64 32-byte key");
	unlink(f->priv);
	assert_int_equal(mkdir(f->priv, 0700), 0);
	expect_bad_key(f, PGS_INVALID, "not a regular file");
	rmdir(f->priv);
}

static void
test_good_key_variants(void **state)
{
	struct fx    *f = *state;
	unsigned char pk[32], want[32];
	size_t	      n;

	assert_int_equal(b64_decode(PY_PK, strlen(PY_PK), want, sizeof(want),
			     &n, B64_STD),
	    PGS_OK);
	write_file(f->pub, PY_PK "\r\n", 0644);
	assert_int_equal(secret_load_public(f->pub, pk, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_memory_equal(pk, want, 32);
	write_file(f->pub, PY_PK "\n\n", 0644);
	assert_int_equal(secret_load_public(f->pub, pk, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_memory_equal(pk, want, 32);
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
test_keygen_modes(void **state)
{
	struct fx *f = *state;
	mode_t	   old;

	old = umask(077); /* the public key is still 0644 */
	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	umask(old);
	assert_int_equal(file_mode(f->priv), 0600);
	assert_int_equal(file_mode(f->pub), 0644);
	assert_int_equal(count_entries(f->dir), 2); /* no temp file left */
	old = umask(0);
	assert_int_equal(secret_keygen(f->pub, f->priv, true, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	umask(old);
	assert_int_equal(file_mode(f->priv), 0600);
	assert_int_equal(file_mode(f->pub), 0644);
}

static void
test_keygen_no_overwrite(void **state)
{
	struct fx *f = *state;
	char	   pub1[128], priv1[128], pub2[128], priv2[128];

	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	read_file(f->pub, pub1, sizeof(pub1));
	read_file(f->priv, priv1, sizeof(priv1));
	assert_int_equal(strlen(pub1), 45); /* 44 base64 chars + '\n' */
	assert_int_equal(pub1[44], '\n');
	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_CONFLICT);
	assert_non_null(strstr(f->err, "already exists"));
	read_file(f->pub, pub2, sizeof(pub2));
	read_file(f->priv, priv2, sizeof(priv2));
	assert_string_equal(pub1, pub2);
	assert_string_equal(priv1, priv2);
	assert_int_equal(count_entries(f->dir), 2);
	assert_int_equal(secret_keygen(f->pub, f->priv, true, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	read_file(f->pub, pub2, sizeof(pub2));
	read_file(f->priv, priv2, sizeof(priv2));
	assert_string_not_equal(pub1, pub2);
	assert_string_not_equal(priv1, priv2);
	/* Only one of the two exists: nothing is written. */
	unlink(f->priv);
	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_CONFLICT);
	assert_int_equal(access(f->priv, F_OK), -1);
	assert_int_equal(count_entries(f->dir), 1);
}

static void
test_keygen_bad_dir(void **state)
{
	struct fx *f = *state;
	char	   pub[PATH_MAX + 16], priv[PATH_MAX + 16];

	snprintf(pub, sizeof(pub), "%s/nodir/pub", f->dir);
	snprintf(priv, sizeof(priv), "%s/nodir/priv", f->dir);
	assert_int_equal(secret_keygen(pub, priv, false, f->err,
			     sizeof(f->err)),
	    PGS_INTERNAL);
	assert_non_null(strstr(f->err, "No such file"));
	assert_int_equal(count_entries(f->dir), 0);
}

static void
test_private_too_open(void **state)
{
	struct fx    *f = *state;
	unsigned char sk[32], pk[32];
	bool	      too_open;

	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(chmod(f->priv, 0640), 0);
	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_true(too_open);
	assert_int_equal(chmod(f->priv, 0604), 0);
	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_true(too_open);
	assert_int_equal(chmod(f->priv, 0400), 0);
	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_false(too_open);
}

static void
test_sk_alloc(void **state)
{
	struct fx     *f = *state;
	unsigned char *sk, pk[32], pk2[32], box[64];
	char	       out[16];
	size_t	       boxlen, outlen;
	bool	       too_open;

	sk = secret_sk_alloc();
	assert_non_null(sk);
	assert_int_equal(secret_keygen(f->pub, f->priv, false, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_load_private(f->priv, sk, pk, &too_open, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_load_public(f->pub, pk2, f->err,
			     sizeof(f->err)),
	    PGS_OK);
	assert_int_equal(secret_seal(pk2, "abc", 3, box, sizeof(box), &boxlen),
	    PGS_OK);
	assert_int_equal(secret_open(pk, sk, box, boxlen, out, sizeof(out),
			     &outlen, f->err, sizeof(f->err)),
	    PGS_OK);
	assert_string_equal(out, "abc");
	secret_sk_free(sk);
	secret_sk_free(NULL);
}

static void
test_b64(void **state)
{
	char	      enc[16];
	unsigned char dec[8];
	size_t	      n;

	(void)state;
	assert_int_equal(b64_encoded_size(2, B64_STD), 5);
	assert_int_equal(b64_encoded_size(2, B64_STD_NOPAD), 4);
	assert_int_equal(b64_encode("\xfb\xff", 2, enc, sizeof(enc), B64_STD),
	    PGS_OK);
	assert_string_equal(enc, "+/8=");
	assert_int_equal(b64_encode("\xfb\xff", 2, enc, sizeof(enc),
			     B64_URL_NOPAD),
	    PGS_OK);
	assert_string_equal(enc, "-_8");
	assert_int_equal(b64_encode("\xfb\xff", 2, enc, 4, B64_STD),
	    PGS_INTERNAL);
	assert_int_equal(b64_decode("+/8=", 4, dec, sizeof(dec), &n, B64_STD),
	    PGS_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(dec, "\xfb\xff", 2);
	assert_int_equal(b64_decode("+/8", 3, dec, sizeof(dec), &n, B64_STD),
	    PGS_INVALID);
	assert_int_equal(b64_decode("+/8=", 4, dec, sizeof(dec), &n,
			     B64_STD_NOPAD),
	    PGS_INVALID);
	assert_int_equal(b64_decode("+/8 ", 4, dec, sizeof(dec), &n,
			     B64_STD_NOPAD),
	    PGS_INVALID);
	assert_int_equal(b64_decode("AAAAAAAAAAAA", 12, dec, sizeof(dec), &n,
			     B64_STD),
	    PGS_INVALID); /* 9 bytes > cap 8 */
	assert_int_equal(b64_trim_len("ab \t\r\n", 6), 2);
	assert_int_equal(b64_trim_len("\n", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test(test_seal_randomised),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pynacl_vector, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_key_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_good_key_variants, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keygen_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keygen_no_overwrite, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keygen_bad_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_private_too_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sk_alloc, setup, teardown),
		cmocka_unit_test(test_b64),
	};

	if (secret_init() != PGS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
