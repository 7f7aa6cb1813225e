/*
 * h_query.c: saved queries: CRUD, enable/disable under /api/admin/queries
 * (editor/admin), the preview of an unsaved schedule, and the public
 * catalogue under /api/queries.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "query_rules.h"
#include "shape.h"

#define H_QUERY_PREVIEW_COUNT 10 /* fire times a preview lists by default */
#define H_QUERY_PREVIEW_MAX   100

/* {"ok":true,"query":{...}} with the next fire times. */
static cJSON *
h_query_reply(struct req *r, const struct query *q)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "query",
	    shape_query_detail(q, r->app->conf.default_query_interval));
	return o;
}

/* Fills q with the query of the route's id; PGS_NOTFOUND or the store's
 * rc otherwise. */
static enum pgs_rc
h_query_load(struct req *r, struct query *q)
{
	return query_get(&r->app->db, r->a,
	    arena_printf(r->a, "%ld", r->ids[0]), NULL, q);
}

/* Resolves data_source_id or data_source (a name) into q. */
static enum pgs_rc
h_query_read_source(struct req *r, struct query *q)
{
	struct source s;
	const char   *name;
	long	      id = 0;
	bool	      has_id;
	enum pgs_rc   rc;

	req_int(r, "data_source_id", 1, 2147483647L, false, &id, &has_id);
	req_str(r, "data_source", 200, false, &name);
	if (!has_id && name == NULL)
		return PGS_OK;
	rc = source_get(&r->app->db, r->a,
	    has_id ? arena_printf(r->a, "%ld", id) : NULL, has_id ? NULL : name,
	    &s);
	if (rc == PGS_NOTFOUND) {
		req_field(r, has_id ? "data_source_id" : "data_source",
		    QUERY_RULES_NO_SOURCE);
		return PGS_OK;
	}
	if (rc != PGS_OK)
		return rc;
	q->data_source_id = s.id;
	q->data_source_name = s.name;
	return PGS_OK;
}

/* Reads the value of setting t of the body into v: JSON null, a value of
 * the setting's type, or a value of another type. */
static void
h_query_value(struct req *r, const struct query_setting *t,
    struct query_value *v)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->json, t->field);
	long	     x = 0;

	if (c == NULL)
		v->given = QUERY_ABSENT;
	else if (cJSON_IsNull(c))
		v->given = QUERY_NULL;
	else if (t->kind == QUERY_INT) {
		v->given = json_int(r->json, t->field, -JSON_INT_MAX,
			       JSON_INT_MAX, &x) == PGS_OK ?
		    QUERY_VALUE :
		    QUERY_BADTYPE;
		v->num = x;
	} else if (cJSON_IsString(c)) {
		v->given = QUERY_VALUE;
		v->text = c->valuestring;
	} else if (cJSON_IsNumber(c) &&
	    (t == &query_rules_table()[QF_SCHEDULE_EXPR] ||
		(t->kind == QUERY_DURATION &&
		    c->valuedouble == floor(c->valuedouble)))) {
		/* An interval or a duration in seconds may be given as a
		 * number (a duration's: a whole one). */
		v->given = QUERY_VALUE;
		v->text = arena_printf(r->a, "%.0f", c->valuedouble);
	} else
		v->given = QUERY_BADTYPE;
}

/* Reads a create or PATCH body over q: the settings through the rules
 * both doors share, then what only the API has. */
static enum pgs_rc
h_query_read(struct req *r, struct query *q, bool create)
{
	static const char *const allowed[] = { "name", "title", "description",
		"sql_text", "data_source_id", "data_source", "schedule_type",
		"schedule_expr", "timezone", "enabled", "timeout_ms",
		"max_rows", "max_retries", "retry_delay_s",
		"pause_after_failures", "keep_runs", "keep_days", "start_at",
		"max_staleness", "visibility", "version", NULL };
	const struct query_setting *t = query_rules_table();
	struct query_input	    in;
	struct field_errors	    e;
	enum pgs_rc		    rc;
	int			    i;

	req_unknown_fields(r, allowed);
	if (create && cJSON_GetObjectItemCaseSensitive(r->json, "version"))
		req_field(r, "version", "unknown field");
	for (i = 0; i < QF_COUNT; i++)
		h_query_value(r, &t[i], &in.v[i]);
	field_errors_init(&e, r->a);
	rc = query_rules_apply(&in, create, r->app->conf.default_query_interval,
	    q, &e);
	for (i = 0; rc != PGS_OK && i < e.n; i++)
		req_field(r, e.items[i].field, "%s", e.items[i].message);
	req_bool(r, "enabled", &q->enabled, NULL);
	rc = h_query_read_source(r, q);
	if (rc != PGS_OK)
		return rc;
	if (create && q->data_source_id == 0 && r->errs.count == 0)
		req_field(r, "data_source_id", "is required (or data_source)");
	return req_fields_rc(r);
}

enum pgs_rc
h_query_create(struct req *r)
{
	struct query q;
	long	     id;
	enum pgs_rc  rc;

	query_rules_defaults(&q, r->app->conf.runs_public);
	rc = h_query_read(r, &q, true);
	if (rc != PGS_OK)
		return rc;
	rc = query_create(&r->app->db, r->a, &q, &id);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "a query with this name "
		    "exists");
	if (rc == PGS_OK)
		rc = query_get(&r->app->db, r->a, arena_printf(r->a, "%ld", id),
		    NULL, &q);
	if (rc != PGS_OK)
		return rc;
	log_info("query_create", "query=%ld by=%ld created", id, r->user.id);
	reply_header(r, "Location: /api/admin/queries/%ld", id);
	return reply_json(r, 201, h_query_reply(r, &q));
}

enum pgs_rc
h_query_get(struct req *r)
{
	struct query q;
	enum pgs_rc  rc;

	rc = h_query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_patch(struct req *r)
{
	struct query q;
	long	     version;
	bool	     has_version;
	enum pgs_rc  rc;

	rc = h_query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	req_int(r, "version", 1, 2147483647L, false, &version, &has_version);
	rc = h_query_read(r, &q, false);
	if (rc != PGS_OK)
		return rc;
	if (has_version)
		q.version = (int)version;
	rc = query_update(&r->app->db, r->a, &q);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict", "%s",
		    strcmp(r->app->db.sqlstate, "23505") != 0 ?
			"the query was "
			"changed by someone else: reload it and try again" :
			"a query with this name exists");
	if (rc == PGS_OK)
		rc = h_query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	log_info("query_update", "query=%ld by=%ld updated", q.id, r->user.id);
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_delete(struct req *r)
{
	const char *force = req_qparam(r, "force");
	cJSON	   *o;
	enum pgs_rc rc;

	rc = query_delete(&r->app->db, r->a, r->ids[0],
	    force != NULL && strcmp(force, "1") == 0);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict",
		    "the query has runs; pass "
		    "?force=1 to delete it with its run history");
	if (rc != PGS_OK)
		return rc;
	log_info("query_delete", "query=%ld by=%ld deleted", r->ids[0],
	    r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

/* Enables or disables the query of the route's id and answers with it. */
static enum pgs_rc
h_query_set_enabled(struct req *r, bool on)
{
	struct query q;
	enum pgs_rc  rc;

	rc = query_set_enabled(&r->app->db, r->a, r->ids[0], on);
	if (rc == PGS_OK)
		rc = h_query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	log_info("query_enable", "query=%ld by=%ld enabled=%d", q.id,
	    r->user.id, on);
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_enable(struct req *r)
{
	return h_query_set_enabled(r, true);
}

enum pgs_rc
h_query_disable(struct req *r)
{
	return h_query_set_enabled(r, false);
}

/* Shared by the editor list and the public catalogue (only what the
 * caller may read). */
static enum pgs_rc
h_query_list_reply(struct req *r, bool full)
{
	struct query_filter f;
	struct query_list   l;
	const char	   *en;
	long		    limit, offset;
	enum pgs_rc	    rc;

	memset(&f, 0, sizeof(f));
	f.q = req_qparam(r, "q");
	en = req_qparam(r, "enabled");
	f.enabled = -1;
	if (en != NULL && (strcmp(en, "true") == 0 || strcmp(en, "1") == 0))
		f.enabled = 1;
	else if (en != NULL &&
	    (strcmp(en, "false") == 0 || strcmp(en, "0") == 0))
		f.enabled = 0;
	else if (en != NULL)
		req_field(r, "enabled", "must be true or false");
	if (f.q != NULL && strlen(f.q) > 200)
		req_field(r, "q", "must be at most 200 bytes");
	rc = req_qint(r, "limit", 1, 500, 50, &limit);
	if (rc == PGS_OK)
		rc = req_qint(r, "offset", 0, 2147483647L, 0, &offset);
	if (rc == PGS_OK)
		rc = req_fields_rc(r);
	if (rc != PGS_OK)
		return rc;
	f.limit = (int)limit;
	f.offset = (int)offset;
	f.caller = full ? NULL : &r->caller;
	rc = query_list(&r->app->db, r->a, &f, &l);
	if (rc != PGS_OK)
		return rc;
	if (!full)
		reply_header(r, "Vary: Cookie, Authorization");
	return reply_json(r, 200, shape_query_list(&l, full, limit, offset));
}

enum pgs_rc
h_query_list(struct req *r)
{
	return h_query_list_reply(r, true);
}

enum pgs_rc
h_query_catalogue(struct req *r)
{
	return h_query_list_reply(r, false);
}

enum pgs_rc
h_query_public(struct req *r)
{
	struct query q;
	enum pgs_rc  rc;

	rc = authz_query(r, r->ids[0]);
	if (rc == PGS_OK)
		rc = h_query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_query(&q, false));
}

/* {"ok":true,"query_id":Q,"user_ids":[...]}: the grantees of query id. */
static enum pgs_rc
h_query_grants_reply(struct req *r, long id)
{
	struct access_query q;
	cJSON		   *o, *arr;
	enum pgs_rc	    rc;
	int		    i;

	rc = access_query_get(&r->app->db, r->a, id, &q);
	if (rc != PGS_OK)
		return rc;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddNumberToObject(o, "query_id", (double)id);
	cJSON_AddStringToObject(o, "visibility", access_vis_name(q.vis));
	arr = cJSON_AddArrayToObject(o, "user_ids");
	for (i = 0; i < q.ngrantees; i++)
		cJSON_AddItemToArray(arr,
		    cJSON_CreateNumber((double)q.grantees[i]));
	return reply_json(r, 200, o);
}

enum pgs_rc
h_query_grants_get(struct req *r)
{
	return h_query_grants_reply(r, r->ids[0]);
}

/* Reads {"user_ids": [...]} (positive ids, at most ACCESS_GRANTS_MAX)
 * into arena-owned *ids. */
static enum pgs_rc
h_query_grants_read(struct req *r, long **ids, int *n)
{
	static const char *const allowed[] = { "user_ids", NULL };
	const cJSON		*arr, *it;

	req_unknown_fields(r, allowed);
	arr = cJSON_GetObjectItemCaseSensitive(r->json, "user_ids");
	*n = 0;
	if (!cJSON_IsArray(arr) ||
	    cJSON_GetArraySize(arr) > ACCESS_GRANTS_MAX) {
		req_field(r, "user_ids",
		    "must be an array of at most %d user ids",
		    ACCESS_GRANTS_MAX);
		return req_fields_rc(r);
	}
	*ids = arena_alloc(r->a,
	    sizeof(**ids) * (size_t)(cJSON_GetArraySize(arr) + 1));
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
		    it->valuedouble > 2147483647.0 ||
		    it->valuedouble != (double)(long)it->valuedouble) {
			req_field(r, "user_ids", "must hold positive user ids");
			break;
		}
		(*ids)[(*n)++] = (long)it->valuedouble;
	}
	return req_fields_rc(r);
}

enum pgs_rc
h_query_grants_put(struct req *r)
{
	long	   *ids = NULL;
	int	    n;
	enum pgs_rc rc;

	rc = h_query_grants_read(r, &ids, &n);
	if (rc != PGS_OK)
		return rc;
	rc =
	    access_grants_set(&r->app->db, r->a, r->ids[0], ids, n, r->user.id);
	if (rc == PGS_INVALID) {
		req_field(r, "user_ids", "names a user that does not exist");
		return req_fields_rc(r);
	}
	if (rc != PGS_OK)
		return rc;
	log_info("query_grants", "query=%ld by=%ld users=%d granted", r->ids[0],
	    r->user.id, n);
	return h_query_grants_reply(r, r->ids[0]);
}

/* Reads an optional ISO 8601 instant (absent or null: *t unchanged). */
static void
h_query_read_instant(struct req *r, const char *name, int64_t *t)
{
	const char *s;
	char	    err[128];

	if (req_is_null(r, name))
		return;
	req_str(r, name, 64, false, &s);
	if (s != NULL && isotime_parse(s, t, NULL, err, sizeof(err)) != PGS_OK)
		req_field(r, name, "%s", err);
}

/* Reads the schedule of a preview body into q, checked by the rules a
 * saved query's schedule is (query_rules_apply). */
static void
h_query_read_schedule(struct req *r, struct query *q)
{
	static const enum query_field f[] = { QF_SCHEDULE_TYPE,
		QF_SCHEDULE_EXPR, QF_TIMEZONE };
	const struct query_setting   *t = query_rules_table();
	struct query_input	      in;
	struct field_errors	      e;
	size_t			      i;

	memset(&in, 0, sizeof(in));
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		h_query_value(r, &t[f[i]], &in.v[f[i]]);
	field_errors_init(&e, r->a);
	if (in.v[QF_SCHEDULE_TYPE].given != QUERY_VALUE) {
		req_field(r, "schedule_type", "is required");
		return;
	}
	if (query_rules_apply(&in, false, r->app->conf.default_query_interval,
		q, &e) != PGS_OK)
		for (i = 0; i < (size_t)e.n; i++)
			req_field(r, e.items[i].field, "%s",
			    e.items[i].message);
}

/*
 * POST /api/admin/schedule/preview: the fire times of an unsaved schedule,
 * checked by the rules a saved query's schedule is, listed as
 * `pgsched-admin schedule next` lists them: strictly after `from`
 * (default now), interval slots anchored at `start_at` (default `from`,
 * as a new query's are at its creation).
 */
enum pgs_rc
h_schedule_preview(struct req *r)
{
	static const char *const allowed[] = { "schedule_type", "schedule_expr",
		"timezone", "start_at", "from", "count", NULL };
	struct query		 q;
	struct sched		*s = NULL;
	char			 err[160], iso[ISOTIME_BUFSZ];
	int64_t			 from = (int64_t)time(NULL), anchor;
	long			 count = H_QUERY_PREVIEW_COUNT;
	cJSON			*o;

	memset(&q, 0, sizeof(q));
	query_rules_defaults(&q, r->app->conf.runs_public);
	req_unknown_fields(r, allowed);
	h_query_read_schedule(r, &q);
	req_int(r, "count", 1, H_QUERY_PREVIEW_MAX, false, &count, NULL);
	h_query_read_instant(r, "from", &from);
	anchor = from;
	h_query_read_instant(r, "start_at", &anchor);
	if (req_fields_rc(r) != PGS_OK)
		return PGS_INVALID;
	if (sched_parse(q.schedule_type, q.schedule_expr, q.timezone,
		r->app->conf.default_query_interval, &s, err,
		sizeof(err)) != PGS_OK) {
		req_field(r, "schedule_expr", "%s", err);
		return PGS_INVALID;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "from", isotime_format_utc(from, iso));
	cJSON_AddItemToObject(o, "items", shape_fires(s, anchor, from, count));
	sched_free(s);
	return reply_json(r, 200, o);
}
