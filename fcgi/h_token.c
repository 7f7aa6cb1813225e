/*
 * h_token.c: API tokens (CONTRACT section 9): editors and admins create
 * them for queries, see their own (admins: all) and revoke them.  The
 * token itself is in one answer only, the creation's; the database and
 * the logs never hold it.
 */
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "log.h"
#include "shape.h"
#include "token.h"

/* Reads {name, query_ids, expires_in_days} into the out-parameters
 * (ids arena-owned); field errors as the rules of src/token say. */
static enum pgs_rc
h_token_read(struct req *r, const char **name, long **ids, int *n, long *days)
{
	static const char *const allowed[] = { "name", "query_ids",
		"expires_in_days", NULL };
	const cJSON		*arr, *it;
	struct token_errors	 e;
	int			 i;

	req_unknown_fields(r, allowed);
	req_str(r, "name", 4096, true, name);
	*days = 0;
	req_int(r, "expires_in_days", -JSON_INT_MAX, JSON_INT_MAX, true, days,
	    NULL);
	arr = cJSON_GetObjectItemCaseSensitive(r->json, "query_ids");
	if (!cJSON_IsArray(arr))
		arr = NULL;
	*n = arr != NULL ? cJSON_GetArraySize(arr) : 0;
	*ids = arena_alloc(r->a, sizeof(**ids) * (size_t)(*n + 1));
	*n = 0;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
		    it->valuedouble > 2147483647.0 ||
		    it->valuedouble != (double)(long)it->valuedouble) {
			req_field(r, "query_ids", "must hold query ids");
			return req_fields_rc(r);
		}
		(*ids)[(*n)++] = (long)it->valuedouble;
	}
	if (r->errs.count == 0 &&
	    !token_rules_check(r->a, *name, *n, *days,
		r->app->conf.token_max_days, &e))
		for (i = 0; i < e.n; i++)
			req_field(r, e.field[i], "%s", e.message[i]);
	return req_fields_rc(r);
}

/* 201 with the new token t (once) and its description. */
static enum pgs_rc
h_token_created(struct req *r, long id, const char *t)
{
	struct token tk;
	cJSON	    *o;
	enum pgs_rc  rc;

	rc = token_get(&r->app->db, r->a, id, &tk);
	if (rc != PGS_OK)
		return rc;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "token", t);
	cJSON_AddItemToObject(o, "api_token", shape_token(&tk));
	reply_header(r, "Location: /api/tokens/%ld", id);
	reply_header(r, "Cache-Control: no-store");
	return reply_json(r, 201, o);
}

enum pgs_rc
h_token_create(struct req *r)
{
	char	    t[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	const char *name;
	long	   *ids, days, id;
	int	    n;
	enum pgs_rc rc;

	rc = h_token_read(r, &name, &ids, &n, &days);
	if (rc != PGS_OK)
		return rc;
	rc = token_new(t);
	if (rc != PGS_OK)
		return rc;
	token_hash(t, hash);
	rc = token_create(&r->app->db, r->a, name, ids, n, days, r->user.id,
	    hash, &id);
	if (rc == PGS_INVALID) {
		req_field(r, "query_ids", "names a query that does not exist");
		rc = req_fields_rc(r);
	}
	if (rc == PGS_OK) {
		log_info("token_create",
		    "token=%ld by=%ld queries=%d days=%ld"
		    " created",
		    id, r->user.id, n, days);
		rc = h_token_created(r, id, t);
	}
	sodium_memzero(t, sizeof(t));
	return rc;
}

enum pgs_rc
h_token_list(struct req *r)
{
	struct token_list l;
	enum pgs_rc	  rc;

	rc = token_list(&r->app->db, r->a,
	    r->role >= ROLE_ADMIN ? 0 : r->user.id, &l);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_token_list(&l));
}

enum pgs_rc
h_token_revoke(struct req *r)
{
	struct token t;
	cJSON	    *o;
	enum pgs_rc  rc;

	rc = token_get(&r->app->db, r->a, r->ids[0], &t);
	/* Another editor's token does not exist for this one. */
	if (rc == PGS_OK && r->role < ROLE_ADMIN && t.created_by != r->user.id)
		rc = PGS_NOTFOUND;
	if (rc == PGS_OK)
		rc = token_revoke(&r->app->db, r->a, t.id, r->user.id);
	if (rc == PGS_NOTFOUND)
		return req_fail(r, rc, "not_found", "no such token");
	if (rc != PGS_OK)
		return rc;
	log_info("token_revoke", "token=%ld by=%ld revoked", t.id, r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}
