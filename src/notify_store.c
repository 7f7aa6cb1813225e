/*
 * notify_store.c: SQL for notification channels and a query's
 * subscriptions (see notify_store.h).  Ciphertexts travel as bytea hex
 * text, lists (addresses, events) as text arrays.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "notify_store.h"

/* Returns the arena-owned bytea hex literal ("\x...") of p, or NULL when
 * there is nothing (n 0). */
static char *
notify_store_hex(struct arena *a, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char		 *s;
	size_t		  i;

	if (p == NULL || n == 0)
		return NULL;
	s = arena_alloc(a, 2 * n + 3);
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < n; i++) {
		s[2 + 2 * i] = hex[p[i] >> 4];
		s[3 + 2 * i] = hex[p[i] & 15];
	}
	s[2 + 2 * n] = '\0';
	return s;
}

/* Returns the arena-owned text array literal of the n strings v, each
 * quoted and escaped, or NULL (SQL NULL) when v is NULL. */
static char *
notify_store_array(struct arena *a, const char *const *v, int n)
{
	struct buf  b = BUF_INIT;
	const char *p;
	char	   *s;
	int	    i;

	if (v == NULL)
		return NULL;
	buf_putc(&b, '{');
	for (i = 0; i < n; i++) {
		buf_puts(&b, i > 0 ? ",\"" : "\"");
		for (p = v[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *p);
		}
		buf_putc(&b, '"');
	}
	buf_putc(&b, '}');
	s = arena_strdup(a, b.data);
	buf_free(&b);
	return s;
}

/* Splits s (joined by ',') into an arena-owned array; *n gets the count.
 * NULL or "" is no element. */
static char **
notify_store_split(struct arena *a, const char *s, int *n)
{
	char **v;
	char  *copy, *p, *save = NULL;
	int    cap = 1, i = 0;

	*n = 0;
	if (s == NULL || *s == '\0')
		return NULL;
	for (p = (char *)s; *p != '\0'; p++)
		cap += *p == ',';
	v = arena_alloc(a, sizeof(*v) * (size_t)(cap + 1));
	copy = arena_strdup(a, s);
	for (p = strtok_r(copy, ",", &save); p != NULL && i < cap;
	     p = strtok_r(NULL, ",", &save))
		v[i++] = p;
	v[i] = NULL;
	*n = i;
	return v;
}

/* Copies the bytea of row r, column c into *out (arena-owned), *len. */
static void
notify_store_bytea(struct arena *a, const PGresult *res, int r, int c,
    unsigned char **out, size_t *len)
{
	unsigned char *raw;
	size_t	       n;

	*out = NULL;
	*len = 0;
	if (PQgetisnull(res, r, c))
		return;
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, c), &n);
	if (raw == NULL)
		return;
	*out = arena_alloc(a, n + 1);
	memcpy(*out, raw, n);
	*len = n;
	PQfreemem(raw);
}

void
notify_store_channel_from_row(struct arena *a, const PGresult *res, int r,
    int col, struct channel *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->id = db_long(res, r, col);
	ch->name = db_str(a, res, r, col + 1);
	ch->kind = db_str(a, res, r, col + 2);
	ch->target_display = db_str(a, res, r, col + 3);
	ch->addresses = notify_store_split(a,
	    PQgetisnull(res, r, col + 4) ? NULL : PQgetvalue(res, r, col + 4),
	    &ch->naddr);
	notify_store_bytea(a, res, r, col + 5, &ch->enc_target,
	    &ch->enc_target_len);
	notify_store_bytea(a, res, r, col + 6, &ch->enc_secret,
	    &ch->enc_secret_len);
	notify_store_bytea(a, res, r, col + 7, &ch->enc_secret_prev,
	    &ch->enc_secret_prev_len);
	ch->secret_rotated_at = db_str(a, res, r, col + 8);
	ch->rotated_age_s =
	    PQgetisnull(res, r, col + 9) ? -1 : db_long(res, r, col + 9);
	ch->key_version = (int)db_long(res, r, col + 10);
	ch->enabled = db_bool(res, r, col + 11);
	ch->disabled_reason = db_str(a, res, r, col + 12);
	ch->created_by = db_long(res, r, col + 13);
	ch->created_at = db_str(a, res, r, col + 14);
	ch->updated_at = db_str(a, res, r, col + 15);
}

enum pgs_rc
notify_store_channel_create(struct db *db, struct arena *a,
    const struct channel *ch, long *id)
{
	static const char sql[] =
	    "INSERT INTO notify_channel (name, kind, enc_target,"
	    " target_display, addresses, enc_secret, key_version, enabled,"
	    " created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	    " RETURNING id";
	const char *p[9];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = ch->name;
	p[1] = ch->kind;
	p[2] = notify_store_hex(a, ch->enc_target, ch->enc_target_len);
	p[3] = ch->target_display;
	p[4] = notify_store_array(a, (const char *const *)ch->addresses,
	    ch->naddr);
	p[5] = notify_store_hex(a, ch->enc_secret, ch->enc_secret_len);
	p[6] = arena_printf(a, "%d", ch->key_version > 0 ? ch->key_version : 1);
	p[7] = ch->enabled ? "true" : "false";
	p[8] =
	    ch->created_by > 0 ? arena_printf(a, "%ld", ch->created_by) : NULL;
	rc = db_query(db, a, sql, 9, p, &res);
	if (rc == PGS_OK)
		*id = db_long(res, 0, 0);
	return rc;
}

enum pgs_rc
notify_store_channel_get(struct db *db, struct arena *a, const char *id,
    const char *name, struct channel *ch)
{
	static const char sql_id[] = "SELECT " NOTIFY_CHANNEL_COLS
				     " FROM notify_channel c WHERE c.id = $1";
	static const char sql_name[] =
	    "SELECT " NOTIFY_CHANNEL_COLS
	    " FROM notify_channel c WHERE c.name = $1";
	const char *p[] = { id != NULL ? id : name };
	PGresult   *res;
	enum pgs_rc rc;

	rc = db_query(db, a, id != NULL ? sql_id : sql_name, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (PQntuples(res) == 0)
		return PGS_NOTFOUND;
	notify_store_channel_from_row(a, res, 0, 0, ch);
	return PGS_OK;
}

enum pgs_rc
notify_store_channel_list(struct db *db, struct arena *a,
    struct channel_list *out)
{
	static const char sql[] = "SELECT " NOTIFY_CHANNEL_COLS
				  " FROM notify_channel c ORDER BY c.id";
	PGresult   *res;
	enum pgs_rc rc;
	int	    i;

	rc = db_query(db, a, sql, 0, NULL, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n + 1);
	for (i = 0; i < out->n; i++)
		notify_store_channel_from_row(a, res, i, 0, &out->items[i]);
	return PGS_OK;
}

enum pgs_rc
notify_store_channel_update(struct db *db, struct arena *a,
    const struct channel *ch)
{
	static const char sql[] =
	    "UPDATE notify_channel SET name = $2, enc_target = $3,"
	    " target_display = $4, addresses = $5, enabled = $6::boolean,"
	    " disabled_reason = CASE WHEN $6::boolean THEN NULL"
	    "  ELSE disabled_reason END, updated_at = now()"
	    " WHERE id = $1 RETURNING id";
	const char *p[6];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", ch->id);
	p[1] = ch->name;
	p[2] = notify_store_hex(a, ch->enc_target, ch->enc_target_len);
	p[3] = ch->target_display;
	p[4] = notify_store_array(a, (const char *const *)ch->addresses,
	    ch->naddr);
	p[5] = ch->enabled ? "true" : "false";
	rc = db_query(db, a, sql, 6, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
notify_store_channel_rotate(struct db *db, struct arena *a, long id,
    const unsigned char *enc, size_t len)
{
	static const char sql[] =
	    "UPDATE notify_channel SET enc_secret_prev = enc_secret,"
	    " enc_secret = $2, secret_rotated_at = now(), updated_at = now()"
	    " WHERE id = $1 AND kind = 'webhook' RETURNING id";
	const char *p[2];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", id);
	p[1] = notify_store_hex(a, enc, len);
	rc = db_query(db, a, sql, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
notify_store_channel_rekey(struct db *db, struct arena *a,
    const struct channel *was, const struct channel *next, int key_version)
{
	static const char sql[] =
	    "UPDATE notify_channel SET enc_target = $5, enc_secret = $6,"
	    " enc_secret_prev = $7, key_version = $8 WHERE id = $1"
	    " AND enc_target IS NOT DISTINCT FROM $2::bytea"
	    " AND enc_secret IS NOT DISTINCT FROM $3::bytea"
	    " AND enc_secret_prev IS NOT DISTINCT FROM $4::bytea RETURNING id";
	const char *p[8];
	PGresult   *res;
	enum pgs_rc rc;

	p[0] = arena_printf(a, "%ld", was->id);
	p[1] = notify_store_hex(a, was->enc_target, was->enc_target_len);
	p[2] = notify_store_hex(a, was->enc_secret, was->enc_secret_len);
	p[3] =
	    notify_store_hex(a, was->enc_secret_prev, was->enc_secret_prev_len);
	p[4] = notify_store_hex(a, next->enc_target, next->enc_target_len);
	p[5] = notify_store_hex(a, next->enc_secret, next->enc_secret_len);
	p[6] = notify_store_hex(a, next->enc_secret_prev,
	    next->enc_secret_prev_len);
	p[7] = arena_printf(a, "%d", key_version);
	rc = db_query(db, a, sql, 8, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_CONFLICT;
	return rc;
}

enum pgs_rc
notify_store_channel_delete(struct db *db, struct arena *a, long id,
    long *pending)
{
	static const char sql_pending[] =
	    "SELECT count(*) FROM notify_delivery"
	    " WHERE channel_id = $1 AND status = 'pending'";
	static const char sql[] =
	    "DELETE FROM notify_channel WHERE id = $1 RETURNING id";
	const char *p[] = { arena_printf(a, "%ld", id) };
	PGresult   *res;
	enum pgs_rc rc;

	*pending = 0;
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = db_query(db, a, sql_pending, 1, p, &res);
	if (rc != PGS_OK)
		goto out;
	*pending = db_long(res, 0, 0);
	/* The foreign key sets channel_id NULL in its deliveries. */
	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
out:
	return db_end(db, rc);
}

/* PGS_OK when query qid exists, PGS_NOTFOUND when not. */
static enum pgs_rc
notify_store_query_exists(struct db *db, struct arena *a, const char *qid)
{
	static const char sql[] = "SELECT 1 FROM query_job WHERE id = $1";
	const char	 *p[] = { qid };
	PGresult	 *res;
	enum pgs_rc	  rc;

	rc = db_query(db, a, sql, 1, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
notify_store_subs_get(struct db *db, struct arena *a, long qid,
    struct notify_sub_list *out)
{
	static const char sql[] =
	    "SELECT n.channel_id, c.name, c.kind,"
	    " array_to_string(n.events, ',') FROM query_notify n"
	    " JOIN notify_channel c ON c.id = n.channel_id"
	    " WHERE n.query_id = $1 ORDER BY n.channel_id";
	const char	  *p[] = { arena_printf(a, "%ld", qid) };
	struct notify_sub *s;
	PGresult	  *res;
	enum pgs_rc	   rc;
	int		   i;

	rc = notify_store_query_exists(db, a, p[0]);
	if (rc == PGS_OK)
		rc = db_query(db, a, sql, 1, p, &res);
	if (rc != PGS_OK)
		return rc;
	out->n = PQntuples(res);
	out->items = arena_alloc(a, sizeof(*out->items) * (size_t)out->n + 1);
	for (i = 0; i < out->n; i++) {
		s = &out->items[i];
		s->channel_id = db_long(res, i, 0);
		s->channel_name = db_str(a, res, i, 1);
		s->channel_kind = db_str(a, res, i, 2);
		s->events =
		    notify_store_split(a, PQgetvalue(res, i, 3), &s->nevents);
	}
	return PGS_OK;
}

/* Inserts or replaces the events of channel cid (text) for query qid. */
static enum pgs_rc
notify_store_sub_write(struct db *db, struct arena *a, const char *qid,
    long cid, const char *const *ev, int n)
{
	static const char sql[] =
	    "INSERT INTO query_notify (query_id, channel_id, events)"
	    " VALUES ($1, $2, $3) ON CONFLICT (query_id, channel_id)"
	    " DO UPDATE SET events = EXCLUDED.events";
	const char *p[3];

	p[0] = qid;
	p[1] = arena_printf(a, "%ld", cid);
	p[2] = notify_store_array(a, ev, n);
	return db_cmd(db, a, sql, 3, p);
}

enum pgs_rc
notify_store_subs_replace(struct db *db, struct arena *a, long qid,
    const struct notify_sub_list *l, int *bad)
{
	static const char sql_del[] = "DELETE FROM query_notify"
				      " WHERE query_id = $1";
	const char	 *p[] = { arena_printf(a, "%ld", qid) };
	enum pgs_rc	  rc;
	int		  i;

	*bad = -1;
	rc = db_begin(db);
	if (rc != PGS_OK)
		return rc;
	rc = notify_store_query_exists(db, a, p[0]);
	if (rc == PGS_OK)
		rc = db_cmd(db, a, sql_del, 1, p);
	for (i = 0; rc == PGS_OK && i < l->n; i++) {
		rc = notify_store_sub_write(db, a, p[0], l->items[i].channel_id,
		    (const char *const *)l->items[i].events,
		    l->items[i].nevents);
		/* The query exists (checked above): the channel does not. */
		if (rc == PGS_INVALID && strcmp(db->sqlstate, "23503") == 0)
			*bad = i;
	}
	return db_end(db, rc);
}

enum pgs_rc
notify_store_sub_set(struct db *db, struct arena *a, long qid, long cid,
    const char *const *ev, int n)
{
	const char *q = arena_printf(a, "%ld", qid);
	enum pgs_rc rc;

	rc = notify_store_query_exists(db, a, q);
	if (rc != PGS_OK)
		return rc;
	rc = notify_store_sub_write(db, a, q, cid, ev, n);
	if (rc == PGS_INVALID && strcmp(db->sqlstate, "23503") == 0)
		rc = PGS_NOTFOUND;
	return rc;
}

enum pgs_rc
notify_store_sub_delete(struct db *db, struct arena *a, long qid, long cid)
{
	static const char sql[] = "DELETE FROM query_notify WHERE query_id = $1"
				  " AND channel_id = $2 RETURNING query_id";
	const char	 *p[] = { arena_printf(a, "%ld", qid),
		      arena_printf(a, "%ld", cid) };
	PGresult	 *res;
	enum pgs_rc	  rc;

	rc = db_query(db, a, sql, 2, p, &res);
	if (rc == PGS_OK && PQntuples(res) == 0)
		rc = PGS_NOTFOUND;
	return rc;
}
