/*
 * keys_channels.c: the notification channels' part of `keys rotate`:
 * each channel's sealed URL and signing secrets are sealed again for the
 * next key (source_conn_channel_reseal, the one place that opens them)
 * and swapped in only while they are unchanged
 * (notify_store_channel_rekey), as the data sources' passwords are.  A
 * channel left under the old key could not be opened once the old
 * private key is put aside: its deliveries would all fail.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "notify_store.h"
#include "source_conn.h"

/* Seals value v (len bytes) of a channel for the next key into *out
 * (kept as it is when it is under the next key already); *moved is set
 * when it was sealed again. */
static enum pgs_rc
keys_channels_value(struct cli *c, const struct cred_keys *k,
    unsigned char **out, size_t *outlen, bool *moved, char *err, size_t errlen)
{
	unsigned char *enc;
	size_t	       len;
	enum pgs_rc    rc;

	rc = source_conn_channel_reseal(k, &c->arena, *out, *outlen, &enc, &len,
	    err, errlen);
	if (rc == PGS_OK && enc != NULL) {
		*out = enc;
		*outlen = len;
		*moved = true;
	}
	return rc;
}

/* Puts ch under the next key (one retry when it changed meanwhile).
 * Returns PGS_OK, with *moved telling whether anything was sealed again. */
static enum pgs_rc
keys_channels_one(struct cli *c, const struct cred_keys *k, struct channel *ch,
    bool *moved, char *err, size_t errlen)
{
	struct channel next;
	enum pgs_rc    rc = PGS_OK;
	int	       attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		next = *ch;
		*moved = false;
		rc = keys_channels_value(c, k, &next.enc_target,
		    &next.enc_target_len, moved, err, errlen);
		if (rc == PGS_OK)
			rc = keys_channels_value(c, k, &next.enc_secret,
			    &next.enc_secret_len, moved, err, errlen);
		if (rc == PGS_OK)
			rc = keys_channels_value(c, k, &next.enc_secret_prev,
			    &next.enc_secret_prev_len, moved, err, errlen);
		if (rc != PGS_OK || !*moved)
			return rc;
		rc = notify_store_channel_rekey(&c->db, &c->arena, ch, &next,
		    ch->key_version + 1);
		if (rc != PGS_CONFLICT)
			break;
		/* Changed meanwhile: read it again and retry once. */
		rc = notify_store_channel_get(&c->db, &c->arena,
		    arena_printf(&c->arena, "%ld", ch->id), NULL, ch);
		if (rc != PGS_OK)
			break;
		rc = PGS_CONFLICT;
	}
	if (rc != PGS_OK && rc != PGS_INVALID)
		snprintf(err, errlen, "%s",
		    rc == PGS_CONFLICT ? "changed twice during the rotation" :
					 db_error(&c->db));
	return rc;
}

int
keys_channels_rotate(struct cli *c, const struct cred_keys *k, int *n)
{
	struct channel_list l;
	char		    err[256];
	bool		    moved;
	enum pgs_rc	    rc;
	int		    i, failed = 0;

	*n = 0;
	rc = notify_store_channel_list(&c->db, &c->arena, &l);
	if (rc != PGS_OK)
		return -cli_db_fail(c, rc, c->path);
	for (i = 0; i < l.n; i++) {
		err[0] = '\0';
		rc = keys_channels_one(c, k, &l.items[i], &moved, err,
		    sizeof(err));
		if (rc != PGS_OK) {
			printf("channel %s: FAILED: %s\n", l.items[i].name,
			    err);
			failed++;
		}
	}
	*n = l.n;
	return failed;
}
