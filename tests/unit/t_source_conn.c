/*
 * t_source_conn.c: unit tests of src/source_conn.c without a server: the
 * connection parameters every program gets (CONTRACT §4), re-sealing for
 * the next key, and the refusals that come before any connection (no
 * password stored, a ciphertext no key opens), never naming the password.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "../../src/arena.h"
#include "../../src/source_conn.h"

#define PLAIN "s3cret-pl41n"

/* A key set with a current and a next key pair, as `keys rotate` has. */
struct fx {
	struct cred_keys k;
	struct arena	 a;
	struct source	 s;
	char		 err[256];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	f->k.sk = secret_sk_alloc();
	f->k.next_sk = secret_sk_alloc();
	if (f->k.sk == NULL || f->k.next_sk == NULL)
		return -1;
	crypto_box_keypair(f->k.pk, f->k.sk);
	crypto_box_keypair(f->k.next_pk, f->k.next_sk);
	f->k.have_pk = true;
	arena_init(&f->a);
	f->s.id = 7;
	f->s.name = "src";
	f->s.host = "127.0.0.1";
	f->s.port = 1;
	f->s.dbname = "db";
	f->s.username = "ro";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cred_free(&f->k);
	arena_free(&f->a);
	free(f);
	return 0;
}

/* Returns the value of key in the arrays, or "(absent)". */
static const char *
param(const char **keys, const char **vals, const char *key)
{
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return vals[i] != NULL ? vals[i] : "(null)";
	return "(absent)";
}

static void
test_params(void **state)
{
	static const char *const pinned[] = { "TimeZone=UTC",
		"DateStyle=ISO,YMD", "IntervalStyle=postgres",
		"bytea_output=hex", "extra_float_digits=1",
		"standard_conforming_strings=on",
		"backslash_quote=safe_encoding" };
	struct fx		*f = *state;
	const char *keys[SOURCE_CONN_NPARAMS], *vals[SOURCE_CONN_NPARAMS];
	const char *opts;
	size_t	    i;

	source_conn_params(&f->s, "pw", "5433", "app", keys, vals);
	assert_null(keys[SOURCE_CONN_NPARAMS - 1]);
	assert_string_equal(param(keys, vals, "host"), "127.0.0.1");
	assert_string_equal(param(keys, vals, "port"), "5433");
	assert_string_equal(param(keys, vals, "dbname"), "db");
	assert_string_equal(param(keys, vals, "user"), "ro");
	assert_string_equal(param(keys, vals, "password"), "pw");
	assert_string_equal(param(keys, vals, "application_name"), "app");
	assert_string_equal(param(keys, vals, "client_encoding"), "UTF8");
	assert_string_equal(param(keys, vals, "keepalives"), "1");
	assert_string_equal(param(keys, vals, "keepalives_idle"), "30");
	assert_string_equal(param(keys, vals, "keepalives_interval"), "10");
	assert_string_equal(param(keys, vals, "keepalives_count"), "3");
	assert_string_equal(param(keys, vals, "tcp_user_timeout"), "30000");
	opts = param(keys, vals, "options");
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "-c %s", pinned[i]);
		assert_non_null(strstr(opts, want));
	}
}

/* Seals PLAIN for pk into f->s. */
static void
seal_for(struct fx *f, const unsigned char *pk)
{
	size_t n = strlen(PLAIN);

	f->s.enc_password = arena_alloc(&f->a, SECRET_SEALED_LEN(n));
	assert_int_equal(secret_seal(pk, PLAIN, n, f->s.enc_password,
			     SECRET_SEALED_LEN(n), &f->s.enc_len),
	    PGS_OK);
}

static void
test_reseal(void **state)
{
	struct fx	*f = *state;
	struct cred_keys only_next, only_cur;
	unsigned char	*enc;
	size_t		 len;

	seal_for(f, f->k.pk);
	assert_int_equal(source_conn_reseal(&f->k, &f->a, &f->s, &enc, &len,
			     f->err, sizeof(f->err)),
	    PGS_OK);
	assert_non_null(enc);
	/* Under the next key, and no longer under the current one. */
	memset(&only_next, 0, sizeof(only_next));
	only_next.sk = f->k.next_sk;
	memcpy(only_next.pk, f->k.next_pk, sizeof(only_next.pk));
	memset(&only_cur, 0, sizeof(only_cur));
	only_cur.sk = f->k.sk;
	memcpy(only_cur.pk, f->k.pk, sizeof(only_cur.pk));
	assert_true(source_conn_can_open(&only_next, enc, len));
	assert_false(source_conn_can_open(&only_cur, enc, len));
	assert_null(memmem(enc, len, PLAIN, strlen(PLAIN)));
	/* Already under the next key: nothing to do. */
	f->s.enc_password = enc;
	f->s.enc_len = len;
	assert_int_equal(source_conn_reseal(&f->k, &f->a, &f->s, &enc, &len,
			     f->err, sizeof(f->err)),
	    PGS_OK);
	assert_null(enc);
}

static void
test_reseal_refused(void **state)
{
	struct fx    *f = *state;
	unsigned char junk[80], *enc = (unsigned char *)"x";
	size_t	      len;

	memset(junk, 0xab, sizeof(junk));
	f->s.enc_password = junk;
	f->s.enc_len = sizeof(junk);
	assert_int_equal(source_conn_reseal(&f->k, &f->a, &f->s, &enc, &len,
			     f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_null(enc);
	assert_non_null(strstr(f->err, "credential unavailable"));
	f->s.enc_len = 0;
	assert_int_equal(source_conn_reseal(&f->k, &f->a, &f->s, &enc, &len,
			     f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_non_null(strstr(f->err, "no password stored"));
	/* Without a next key there is nothing to seal for. */
	seal_for(f, f->k.pk);
	secret_sk_free(f->k.next_sk);
	f->k.next_sk = NULL;
	assert_int_equal(source_conn_reseal(&f->k, &f->a, &f->s, &enc, &len,
			     f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_null(strstr(f->err, PLAIN));
}

static void
test_open_refused(void **state)
{
	struct fx	*f = *state;
	struct exec_opts o;
	PGconn		*conn = (PGconn *)1;
	unsigned char	 junk[80];

	memset(&o, 0, sizeof(o));
	o.appname = "t";
	o.connect_timeout_s = 1;
	/* No password stored: refused before connecting, in every door. */
	assert_int_equal(source_conn_open(&f->k, &f->s, &o, &conn, NULL, f->err,
			     sizeof(f->err)),
	    PGS_INVALID);
	assert_null(conn);
	assert_string_equal(f->err,
	    "credential unavailable: no password "
	    "stored");
	memset(junk, 0xcd, sizeof(junk));
	f->s.enc_password = junk;
	f->s.enc_len = sizeof(junk);
	conn = (PGconn *)1;
	assert_int_equal(source_conn_start(&f->k, &f->s, &o, &conn, NULL,
			     f->err, sizeof(f->err)),
	    PGS_INVALID);
	assert_null(conn);
	assert_non_null(strstr(f->err, "credential unavailable"));
	assert_false(source_conn_can_open(&f->k, junk, sizeof(junk)));
	assert_false(source_conn_can_open(&f->k, junk, 0));
	seal_for(f, f->k.next_pk);
	assert_true(
	    source_conn_can_open(&f->k, f->s.enc_password, f->s.enc_len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reseal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reseal_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
