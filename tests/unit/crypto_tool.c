/*
 * crypto_tool.c: a test-only command line front end to secret.c and
 * auth.c, used by tests/py/test_crypto_interop.py to check them against
 * PyNaCl and argon2-cffi.  Not installed.
 *
 *   crypto_tool keygen PUB PRIV [force]  write a key pair
 *   crypto_tool seal PUB                 stdin plaintext -> base64 box
 *   crypto_tool open PUB PRIV            stdin base64 box -> plaintext
 *   crypto_tool hash                     stdin password -> PHC string
 *   crypto_tool verify PHC               stdin password; exit 0 match,
 *                                        1 mismatch, 2 error
 * hash and verify take the pepper's base64 from $PEPPER and drop one
 * trailing newline from the password.  Exit 2 on any error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../src/auth.h"
#include "../../src/b64.h"
#include "../../src/secret.h"

#define INPUT_MAX 65536

/* Reads all of stdin (at most INPUT_MAX bytes) into buf. */
static size_t
read_stdin(unsigned char *buf, size_t cap)
{
	size_t n;

	n = fread(buf, 1, cap, stdin);
	if (n == cap || ferror(stdin)) {
		fprintf(stderr, "crypto_tool: input too long or unreadable\n");
		exit(2);
	}
	return n;
}

static int
cmd_keygen(int argc, char **argv)
{
	char err[512];
	bool force = argc == 5 && strcmp(argv[4], "force") == 0;

	if (secret_keygen(argv[2], argv[3], force, err, sizeof(err)) !=
	    PGS_OK) {
		fprintf(stderr, "crypto_tool: %s\n", err);
		return 2;
	}
	return 0;
}

static int
cmd_seal(const char *pubpath)
{
	static unsigned char plain[INPUT_MAX];
	static unsigned char box[SECRET_SEALED_LEN(INPUT_MAX)];
	static char	     text[2 * SECRET_SEALED_LEN(INPUT_MAX)];
	unsigned char	     pk[SECRET_KEY_BYTES];
	char		     err[512];
	size_t		     len, boxlen;

	if (secret_load_public(pubpath, pk, err, sizeof(err)) != PGS_OK) {
		fprintf(stderr, "crypto_tool: %s\n", err);
		return 2;
	}
	len = read_stdin(plain, sizeof(plain));
	if (secret_seal(pk, plain, len, box, sizeof(box), &boxlen) != PGS_OK ||
	    b64_encode(box, boxlen, text, sizeof(text), B64_STD) != PGS_OK)
		return 2;
	sodium_memzero(plain, len);
	printf("%s\n", text);
	return 0;
}

static int
cmd_open(const char *pubpath, const char *privpath)
{
	static char	     text[2 * SECRET_SEALED_LEN(INPUT_MAX)];
	static unsigned char box[SECRET_SEALED_LEN(INPUT_MAX)];
	static char	     plain[INPUT_MAX + 1];
	unsigned char	     pk[SECRET_KEY_BYTES], *sk;
	char		     err[512];
	size_t		     len, boxlen, plainlen;
	bool		     too_open;
	int		     status = 2;

	sk = secret_sk_alloc();
	if (sk == NULL)
		return 2;
	if (secret_load_public(pubpath, pk, err, sizeof(err)) != PGS_OK ||
	    secret_load_private(privpath, sk, pk, &too_open, err,
		sizeof(err)) != PGS_OK) {
		fprintf(stderr, "crypto_tool: %s\n", err);
		goto out;
	}
	if (too_open)
		fprintf(stderr,
		    "crypto_tool: warning: %s is readable by "
		    "others\n",
		    privpath);
	len = b64_trim_len(text,
	    read_stdin((unsigned char *)text, sizeof(text) - 1));
	if (b64_decode(text, len, box, sizeof(box), &boxlen, B64_STD) !=
	    PGS_OK) {
		fprintf(stderr, "crypto_tool: input is not base64\n");
		goto out;
	}
	if (secret_open(pk, sk, box, boxlen, plain, sizeof(plain), &plainlen,
		err, sizeof(err)) != PGS_OK) {
		fprintf(stderr, "crypto_tool: %s\n", err);
		status = 1;
		goto out;
	}
	fwrite(plain, 1, plainlen, stdout);
	sodium_memzero(plain, plainlen);
	status = 0;
out:
	secret_sk_free(sk);
	return status;
}

/* Reads the password from stdin, less one trailing newline. */
static void
read_password(char *pw, size_t cap)
{
	size_t n;

	n = read_stdin((unsigned char *)pw, cap - 1);
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	pw[n] = '\0';
	if (strlen(pw) != n) {
		fprintf(stderr, "crypto_tool: password holds a NUL byte\n");
		exit(2);
	}
}

static int
cmd_hash_verify(const char *phc)
{
	static char   pw[INPUT_MAX];
	unsigned char pepper[AUTH_PEPPER_MAX];
	char	      out[AUTH_PHC_MAX], err[256];
	size_t	      pepperlen;
	enum pgs_rc   rc;

	if (auth_pepper_decode(getenv("PEPPER"), pepper, &pepperlen, err,
		sizeof(err)) != PGS_OK) {
		fprintf(stderr, "crypto_tool: %s\n", err);
		return 2;
	}
	read_password(pw, sizeof(pw));
	if (phc == NULL) {
		rc =
		    auth_password_hash(pepper, pepperlen, pw, out, sizeof(out));
		if (rc == PGS_OK)
			printf("%s\n", out);
	} else
		rc = auth_password_verify(pepper, pepperlen, pw, phc);
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(pepper, sizeof(pepper));
	if (rc == PGS_DENIED)
		return 1;
	if (rc != PGS_OK)
		fprintf(stderr, "crypto_tool: %s\n", rc_name(rc));
	return rc == PGS_OK ? 0 : 2;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (secret_init() != PGS_OK)
		return 2;
	if (strcmp(cmd, "keygen") == 0 && (argc == 4 || argc == 5))
		return cmd_keygen(argc, argv);
	if (strcmp(cmd, "seal") == 0 && argc == 3)
		return cmd_seal(argv[2]);
	if (strcmp(cmd, "open") == 0 && argc == 4)
		return cmd_open(argv[2], argv[3]);
	if (strcmp(cmd, "hash") == 0 && argc == 2)
		return cmd_hash_verify(NULL);
	if (strcmp(cmd, "verify") == 0 && argc == 3)
		return cmd_hash_verify(argv[2]);
	fprintf(stderr,
	    "usage: crypto_tool keygen PUB PRIV [force] | "
	    "seal PUB | open PUB PRIV | hash | verify PHC\n");
	return 2;
}
