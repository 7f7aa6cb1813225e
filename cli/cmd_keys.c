/*
 * cmd_keys.c: pgsched-admin keys gen|rotate.
 *
 * keys rotate, in steps that can each be repeated, so a rotation stopped
 * anywhere is finished by running it again:
 *  1. pg_dump of the metadata database (custom format, mode 0600); no
 *     backup, no rotation.
 *  2. The next key pair at "<pub>.next" / "<priv>.next", unless a previous
 *     run left one (its private half is what matters: ciphertexts may
 *     already be sealed for it).
 *  3. Each data source: already under the next key, or opened with the
 *     current one, sealed for the next one (source_conn_reseal) and
 *     swapped in only if its ciphertext did not change meanwhile
 *     (source_rekey), key_version + 1.  Opening tries both keys, so every
 *     source stays usable throughout.
 *  4. A connection test per source (a failure is only a warning).
 *     Then each notification channel's sealed URL and secrets, the
 *     same way (keys_channels.c).
 *  5. Once every source is under the next key: the old files are kept as
 *     "<path>.v<N>" and the next files renamed into place, public key
 *     first (so nothing new is sealed for the old key), then a last pass
 *     reseals a source some other process sealed for the old key meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "b64.h"
#include "config.h"
#include "dsn.h"
#include "keys.h"
#include "mono.h"
#include "secret.h"

static int
keys_gen(struct cli *c, int argc, char **argv)
{
	const char	    *pub = c->conf.public_key_path;
	const char	    *priv = c->conf.private_key_path;
	bool		     force = false;
	const struct cli_opt opts[] = { { "public", true, &pub, NULL },
		{ "private", true, &priv, NULL },
		{ "force", false, NULL, &force }, { NULL, 0, 0, 0 } };
	char		     err[512];
	enum pgs_rc	     rc;
	int		     ex;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (pub == NULL || *pub == '\0')
		return cli_fail(EX_USAGE,
		    "%s: --public is required "
		    "(PUBLIC_KEY_B64_PATH is not set)",
		    c->path);
	if (priv == NULL || *priv == '\0')
		return cli_fail(EX_USAGE,
		    "%s: --private is required "
		    "(APP_PRIVATE_KEY_B64_PATH is not set)",
		    c->path);
	rc = secret_keygen(pub, priv, force, err, sizeof(err));
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_CANTCREAT,
		    "%s: %s; passwords sealed with "
		    "the old key could no longer be opened (to change keys "
		    "use 'keys rotate')",
		    c->path, err);
	if (rc != PGS_OK)
		return cli_fail(EX_CANTCREAT, "%s: %s", c->path, err);
	printf("wrote public key %s and private key %s (mode 0600)\n", pub,
	    priv);
	return 0;
}

/* Step 2: makes sure the next key pair exists, then loads every key. */
static int
rotate_next_keys(struct cli *c, struct cred_keys *k)
{
	const char *npub, *npriv;
	char	    err[512];

	npub = cred_next_path(&c->arena, c->conf.public_key_path);
	npriv = cred_next_path(&c->arena, c->conf.private_key_path);
	if (access(npriv, F_OK) != 0) {
		/* A public half alone was never used: replace it. */
		if (secret_keygen(npub, npriv, true, err, sizeof(err)) !=
		    PGS_OK)
			return cli_fail(EX_CANTCREAT, "%s: next key: %s",
			    c->path, err);
		printf("generated the next key pair %s, %s\n", npub, npriv);
	} else
		printf("resuming with the existing next key %s\n", npriv);
	if (dsn_keys(c, true, k) != 0)
		return EX_DATAERR;
	if (k->next_sk == NULL) {
		cred_free(k);
		return cli_fail(EX_SOFTWARE, "%s: %s was not loaded", c->path,
		    npriv);
	}
	/* A resumed rotation may have put the new public key in place
	 * already: the current pair is the one of the current private key. */
	crypto_scalarmult_base(k->pk, k->sk);
	return 0;
}

/*
 * Step 3 for one source: puts it under the next key.  Fills row; returns
 * true when the source is under the next key now.
 */
static bool
rotate_one(struct cli *c, const struct cred_keys *k, struct source *s,
    struct rot_row *row)
{
	char	       err[256];
	unsigned char *enc;
	size_t	       len;
	enum pgs_rc    rc;
	int	       attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		row->old_v = s->key_version;
		rc = source_conn_reseal(k, &c->arena, s, &enc, &len, err,
		    sizeof(err));
		if (rc == PGS_INVALID) {
			row->decrypt = "FAILED: neither the current nor the "
				       "next key opens its password";
			return false;
		}
		if (rc == PGS_OK && enc == NULL) {
			row->old_v = attempt == 0 ? 0 : row->old_v;
			row->new_v = s->key_version;
			row->decrypt = attempt == 0 ?
			    "already rotated" :
			    "rotated (by another process)";
			return true;
		}
		if (rc == PGS_OK)
			rc = source_rekey(&c->db, &c->arena, s->id,
			    s->enc_password, s->enc_len, enc, len,
			    s->key_version + 1);
		if (rc == PGS_OK) {
			row->new_v = s->key_version + 1;
			row->decrypt = "rotated";
			return true;
		}
		if (rc != PGS_CONFLICT)
			break;
		/* Changed meanwhile: read it again and retry once. */
		rc = source_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", s->id), NULL, s);
		if (rc != PGS_OK)
			break;
	}
	row->decrypt = arena_printf(&c->arena, "FAILED: %s",
	    rc == PGS_CONFLICT	   ? "changed twice during the rotation" :
		rc == PGS_INTERNAL ? err :
				     db_error(&c->db));
	return false;
}

/* Step 4 for one source, with the key set k. */
static void
rotate_test(struct cli *c, const struct cred_keys *k, const struct source *s,
    struct rot_row *row)
{
	struct exec_opts o;
	PGconn		*conn = NULL;
	char		 err[512];
	enum pgs_rc	 rc;
	long		 t0, ms;

	dsn_exec_opts(c, 0, 1, &o);
	t0 = mono_ms();
	rc = source_conn_open(k, s, &o, &conn, NULL, err, sizeof(err));
	if (rc == PGS_OK)
		rc = dsn_ping(conn, &o, err, sizeof(err));
	PQfinish(conn);
	ms = mono_ms() - t0;
	row->conn_ok = rc == PGS_OK;
	if (row->conn_ok)
		row->connect = arena_printf(&c->arena, "ok (%ld ms)", ms);
	else
		row->connect = arena_printf(&c->arena, "FAILED: %s", err);
}

/* Steps 3 and 4 over every source; fills *rows, returns the failures. */
static int
rotate_sources(struct cli *c, const struct cred_keys *k, struct source_list *l,
    struct rot_row **rows, int *oldver)
{
	struct rot_row *r;
	enum pgs_rc	rc;
	int		i, failed = 0;

	rc = source_list(&c->db, &c->arena, l);
	if (rc != PGS_OK)
		return -cli_db_fail(c, rc, c->path);
	*rows = arena_alloc(&c->arena, sizeof(**rows) * (size_t)(l->n + 1));
	*oldver = 0;
	for (i = 0; i < l->n; i++) {
		r = &(*rows)[i];
		memset(r, 0, sizeof(*r));
		r->name = l->items[i].name;
		r->connect = "skipped";
		if (!rotate_one(c, k, &l->items[i], r)) {
			failed++;
			continue;
		}
		if (r->new_v - 1 > *oldver)
			*oldver = r->new_v - 1;
		rotate_test(c, k, &l->items[i], r);
	}
	return failed;
}

/*
 * After the switch: a source some other process sealed for the old key
 * during the rotation is resealed (k still holds the old private key).
 * Returns 0, or EX_DATAERR when one could not be.
 */
static int
keys_final_pass(struct cli *c, const struct cred_keys *k)
{
	struct source_list l;
	struct rot_row	   row;
	enum pgs_rc	   rc;
	int		   i, ex = 0;

	rc = source_list(&c->db, &c->arena, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	for (i = 0; i < l.n; i++) {
		memset(&row, 0, sizeof(row));
		if (!rotate_one(c, k, &l.items[i], &row))
			ex = cli_fail(EX_DATAERR, "%s: %s: %s", c->path,
			    l.items[i].name, row.decrypt);
		else if (row.old_v != 0)
			printf("%s was sealed for the old key during the "
			       "rotation: resealed\n",
			    l.items[i].name);
	}
	return ex;
}

static void
rotate_report(const struct source_list *l, const struct rot_row *rows)
{
	char ver[48];
	int  i;

	printf("%-24s %-9s %-40s %s\n", "SOURCE", "VERSION", "DECRYPT",
	    "CONNECT");
	for (i = 0; i < l->n; i++) {
		if (rows[i].new_v == 0)
			snprintf(ver, sizeof(ver), "%d", rows[i].old_v);
		else if (rows[i].old_v == 0)
			snprintf(ver, sizeof(ver), "%d", rows[i].new_v);
		else
			snprintf(ver, sizeof(ver), "%d -> %d", rows[i].old_v,
			    rows[i].new_v);
		printf("%-24s %-9s %-40s %s\n", rows[i].name, ver,
		    rows[i].decrypt, rows[i].connect);
	}
}

/* Prints the outcome and returns the exit code. */
static int
rotate_outcome(struct cli *c, const struct source_list *l,
    const struct rot_row *rows, int failed, const char *kept)
{
	int i, conn_failed = 0;

	rotate_report(l, rows);
	if (failed > 0)
		return cli_fail(EX_DATAERR,
		    "%s: %d data source%s could not be "
		    "rotated; the keys were not switched and every other "
		    "source works with either key: fix or remove %s, then run "
		    "'keys rotate' again",
		    c->path, failed, failed == 1 ? "" : "s",
		    failed == 1 ? "it" : "them");
	for (i = 0; i < l->n; i++)
		conn_failed += !rows[i].conn_ok;
	printf("keys rotated: %d data source%s under the new key; the old "
	       "private key is kept as %s\n",
	    l->n, l->n == 1 ? "" : "s", kept);
	if (conn_failed > 0)
		cli_warn(
		    "%s: the connection test failed for %d data "
		    "source%s (only a warning: their passwords are rotated; "
		    "check them with 'pgsched-admin dsn test')",
		    c->path, conn_failed, conn_failed == 1 ? "" : "s");
	return 0;
}

static int
keys_rotate(struct cli *c, int argc, char **argv)
{
	const char	    *dir = "./backups", *kept = NULL;
	const struct cli_opt opts[] = { { "backup-dir", true, &dir, NULL },
		{ NULL, 0, 0, 0 } };
	struct cred_keys     k;
	struct source_list   l;
	struct rot_row	    *rows = NULL;
	int		     ex, failed, chfailed = 0, nch = 0, oldver = 0;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_require(c, "PUBLIC_KEY_B64_PATH");
	if (ex == 0)
		ex = cli_require(c, "APP_PRIVATE_KEY_B64_PATH");
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = keys_backup(c, dir);
	if (ex == 0)
		ex = rotate_next_keys(c, &k);
	if (ex != 0)
		return ex;
	failed = rotate_sources(c, &k, &l, &rows, &oldver);
	if (failed == 0)
		chfailed = keys_channels_rotate(c, &k, &nch);
	if (failed == 0 && chfailed == 0)
		ex = keys_install(c, &k, oldver, &kept);
	if (failed == 0 && chfailed == 0 && ex == 0)
		ex = keys_final_pass(c, &k);
	/* A channel some process sealed for the old key meanwhile. */
	if (failed == 0 && chfailed == 0 && ex == 0 &&
	    keys_channels_rotate(c, &k, &nch) != 0)
		ex = cli_fail(EX_DATAERR,
		    "%s: a channel could not be sealed "
		    "for the new key (see above)",
		    c->path);
	cred_free(&k);
	if (failed < 0)
		return -failed;
	if (chfailed < 0)
		return -chfailed;
	if (chfailed > 0)
		return cli_fail(EX_DATAERR,
		    "%s: %d notification channel%s "
		    "could not be rotated; the keys were not switched",
		    c->path, chfailed, chfailed == 1 ? "" : "s");
	if (ex != 0)
		return ex;
	ex = rotate_outcome(c, &l, rows, failed, kept);
	if (ex == 0)
		printf("%d channel%s under the new key\n", nch,
		    nch == 1 ? "" : "s");
	return ex;
}

static const struct cli_cmd keys_cmds[] = {
	{ "gen", keys_gen, "generate the data-source key pair",
	    "  --public PATH          public key file (default "
	    "PUBLIC_KEY_B64_PATH)\n"
	    "  --private PATH         private key file, mode 0600 (default "
	    "APP_PRIVATE_KEY_B64_PATH)\n"
	    "  --force                replace existing files (sealed "
	    "passwords are then lost)\n" },
	{ "rotate", keys_rotate,
	    "back up the metadata database, re-seal "
	    "every data-source password with a new key pair, test, switch",
	    "  --backup-dir DIR       where the pg_dump backup goes (default "
	    "./backups)\n" },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_keys(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "keys", keys_cmds, argc - 1, argv + 1);
}
