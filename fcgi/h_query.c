/*
 * h_query.c: saved queries: CRUD, enable/disable under /api/admin/queries
 * (editor/admin) and the public catalogue under /api/queries.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "sched.h"
#include "shape.h"
#include "sqlguard.h"
#include "tz.h"

/* {"ok":true,"query":{...}} with the next fire times. */
static cJSON *
h_query_reply(struct req *r, const struct query *q)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "query", shape_query_detail(q,
	    r->app->conf.default_query_interval));
	return o;
}

static enum pgs_rc
query_load(struct req *r, struct query *q)
{
	return query_get(&r->app->db, r->a, arena_printf(r->a, "%ld",
	    r->ids[0]), NULL, q);
}

static bool
query_name_valid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 128 || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) ==
		    NULL)
			return false;
	return true;
}

/* Checks sql_text with the save-time SELECT-only guard. */
static void
query_check_sql(struct req *r, const char *field, const char *sql)
{
	struct sqlguard_err	 why;
	enum pgs_rc		 rc;

	rc = sqlguard_check(sql, &why);
	if (rc == PGS_INVALID)
		req_field(r, field, "%s", why.message);
	else if (rc != PGS_OK)
		req_field(r, field, "cannot be checked");
}

/* Resolves data_source_id or data_source (a name) into q. */
static enum pgs_rc
query_read_source(struct req *r, struct query *q)
{
	struct source	 s;
	const char	*name;
	long		 id = 0;
	bool		 has_id;
	enum pgs_rc	 rc;

	req_int(r, "data_source_id", 1, 2147483647L, false, &id, &has_id);
	req_str(r, "data_source", 200, false, &name);
	if (!has_id && name == NULL)
		return PGS_OK;
	rc = source_get(&r->app->db, r->a, has_id ? arena_printf(r->a, "%ld",
	    id) : NULL, has_id ? NULL : name, &s);
	if (rc == PGS_NOTFOUND) {
		req_field(r, has_id ? "data_source_id" : "data_source",
		    "no such data source");
		return PGS_OK;
	}
	if (rc != PGS_OK)
		return rc;
	q->data_source_id = s.id;
	q->data_source_name = s.name;
	return PGS_OK;
}

/* Reads an optional nullable setting into *v (null -> 0 = unset). */
static void
query_opt(struct req *r, const char *name, long min, long max, int *v)
{
	long	 x = *v;

	if (req_is_null(r, name)) {
		*v = 0;
		return;
	}
	req_int(r, name, min, max, false, &x, NULL);
	*v = (int)x;
}

static void
query_read_settings(struct req *r, struct query *q)
{
	long	 x;
	bool	 has;

	query_opt(r, "timeout_ms", 100, 86400000, &q->timeout_ms);
	query_opt(r, "max_rows", 1, 100000000, &q->max_rows);
	query_opt(r, "pause_after_failures", 1, 1000000,
	    &q->pause_after_failures);
	query_opt(r, "keep_runs", 1, 2000000000, &q->keep_runs);
	query_opt(r, "keep_days", 1, 365000, &q->keep_days);
	req_int(r, "max_retries", 0, 10, false, &x, &has);
	if (has)
		q->max_retries = (int)x;
	req_int(r, "retry_delay_s", 1, 3600, false, &x, &has);
	if (has)
		q->retry_delay_s = (int)x;
	req_bool(r, "enabled", &q->enabled, NULL);
}

/* The schedule fields, validated together (type, expression, zone). */
static void
query_read_schedule(struct req *r, struct query *q, bool create)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(r->json,
	    "schedule_expr");
	const char	*type, *tz;
	struct tz	*z = NULL;
	struct sched	*s = NULL;
	char		 err[160];

	req_str(r, "schedule_type", 16, create, &type);
	req_str(r, "timezone", 255, false, &tz);
	if (e != NULL && cJSON_IsNumber(e))
		q->schedule_expr = arena_printf(r->a, "%.0f", e->valuedouble);
	else if (e != NULL && cJSON_IsNull(e))
		q->schedule_expr = NULL;
	else if (e != NULL)
		req_str(r, "schedule_expr", 256, false,
		    (const char **)&q->schedule_expr);
	if (type != NULL && strcmp(type, "cron") != 0 &&
	    strcmp(type, "interval") != 0)
		req_field(r, "schedule_type", "must be cron or interval");
	else if (type != NULL)
		q->schedule_type = (char *)type;
	if (tz != NULL && tz_load(tz, &z, err, sizeof(err)) != PGS_OK)
		req_field(r, "timezone", "%s", err);
	else if (tz != NULL)
		q->timezone = (char *)tz;
	tz_free(z);
	if (r->errs.count > 0 || q->schedule_type == NULL)
		return;
	if (sched_parse(q->schedule_type, q->schedule_expr, q->timezone,
	    r->app->conf.default_query_interval, &s, err, sizeof(err)) !=
	    PGS_OK)
		req_field(r, "schedule_expr", "%s", err);
	sched_free(s);
}

static void
query_read_start(struct req *r, struct query *q)
{
	const char	*s;
	char		 err[128], iso[ISOTIME_BUFSZ];
	int64_t		 t;

	if (req_is_null(r, "start_at")) {
		q->start_at = NULL;
		return;
	}
	req_str(r, "start_at", 64, false, &s);
	if (s == NULL)
		return;
	if (isotime_parse(s, &t, NULL, err, sizeof(err)) != PGS_OK) {
		req_field(r, "start_at", "%s", err);
		return;
	}
	q->start_at = arena_strdup(r->a, isotime_format_utc(t, iso));
}

/* Reads a create or PATCH body over q. */
static enum pgs_rc
query_read(struct req *r, struct query *q, bool create)
{
	static const char *const allowed[] = { "name", "title",
	    "description", "sql_text", "data_source_id", "data_source",
	    "schedule_type", "schedule_expr", "timezone", "enabled",
	    "timeout_ms", "max_rows", "max_retries", "retry_delay_s",
	    "pause_after_failures", "keep_runs", "keep_days", "start_at",
	    "version", NULL };
	const char	*name, *title, *desc, *sql;
	enum pgs_rc	 rc;

	req_unknown_fields(r, allowed);
	if (create && cJSON_GetObjectItemCaseSensitive(r->json, "version"))
		req_field(r, "version", "unknown field");
	req_str(r, "name", 128, create, &name);
	req_str(r, "title", 200, create, &title);
	req_str(r, "description", 10000, false, &desc);
	req_str(r, "sql_text", SQLGUARD_MAX_LEN, create, &sql);
	if (name != NULL && !query_name_valid(name))
		req_field(r, "name", "must be 1-128 letters, digits, '_', '.' "
		    "or '-', starting with a letter or digit");
	if (sql != NULL)
		query_check_sql(r, "sql_text", sql);
	q->name = name != NULL ? (char *)name : q->name;
	q->title = title != NULL ? (char *)title : q->title;
	if (desc != NULL || req_is_null(r, "description"))
		q->description = (char *)desc;
	q->sql_text = sql != NULL ? (char *)sql : q->sql_text;
	rc = query_read_source(r, q);
	if (rc != PGS_OK)
		return rc;
	if (create && q->data_source_id == 0 && r->errs.count == 0)
		req_field(r, "data_source_id", "is required (or data_source)");
	query_read_settings(r, q);
	query_read_start(r, q);
	query_read_schedule(r, q, create);
	return req_fields_rc(r);
}

enum pgs_rc
h_query_create(struct req *r)
{
	struct query	 q;
	long		 id;
	enum pgs_rc	 rc;

	memset(&q, 0, sizeof(q));
	q.enabled = true;
	q.timezone = "UTC";
	q.retry_delay_s = 60;
	rc = query_read(r, &q, true);
	if (rc != PGS_OK)
		return rc;
	rc = query_create(&r->app->db, r->a, &q, &id);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict", "a query with this name "
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
	struct query	 q;
	enum pgs_rc	 rc;

	rc = query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_patch(struct req *r)
{
	struct query	 q;
	long		 version;
	bool		 has_version;
	enum pgs_rc	 rc;

	rc = query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	req_int(r, "version", 1, 2147483647L, false, &version, &has_version);
	rc = query_read(r, &q, false);
	if (rc != PGS_OK)
		return rc;
	if (has_version)
		q.version = (int)version;
	rc = query_update(&r->app->db, r->a, &q);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict", "%s",
		    strcmp(r->app->db.sqlstate, "23505") != 0 ? "the query was "
		    "changed by someone else: reload it and try again" :
		    "a query with this name exists");
	if (rc == PGS_OK)
		rc = query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	log_info("query_update", "query=%ld by=%ld updated", q.id, r->user.id);
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_delete(struct req *r)
{
	const char	*force = req_qparam(r, "force");
	cJSON		*o;
	enum pgs_rc	 rc;

	rc = query_delete(&r->app->db, r->a, r->ids[0], force != NULL &&
	    strcmp(force, "1") == 0);
	if (rc == PGS_CONFLICT)
		return req_fail(r, rc, "conflict", "the query has runs; pass "
		    "?force=1 to delete it with its run history");
	if (rc != PGS_OK)
		return rc;
	log_info("query_delete", "query=%ld by=%ld deleted", r->ids[0],
	    r->user.id);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return reply_json(r, 200, o);
}

static enum pgs_rc
query_enable(struct req *r, bool on)
{
	struct query	 q;
	enum pgs_rc	 rc;

	rc = query_set_enabled(&r->app->db, r->a, r->ids[0], on);
	if (rc == PGS_OK)
		rc = query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	log_info("query_enable", "query=%ld by=%ld enabled=%d", q.id,
	    r->user.id, on);
	return reply_json(r, 200, h_query_reply(r, &q));
}

enum pgs_rc
h_query_enable(struct req *r)
{
	return query_enable(r, true);
}

enum pgs_rc
h_query_disable(struct req *r)
{
	return query_enable(r, false);
}

/* Shared by the editor list and the public catalogue. */
static enum pgs_rc
h_query_list_reply(struct req *r, bool full)
{
	struct query_filter	 f;
	struct query_list	 l;
	const char		*en;
	long			 limit, offset;
	enum pgs_rc		 rc;

	memset(&f, 0, sizeof(f));
	f.q = req_qparam(r, "q");
	en = req_qparam(r, "enabled");
	f.enabled = -1;
	if (en != NULL && (strcmp(en, "true") == 0 || strcmp(en, "1") == 0))
		f.enabled = 1;
	else if (en != NULL && (strcmp(en, "false") == 0 ||
	    strcmp(en, "0") == 0))
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
	rc = query_list(&r->app->db, r->a, &f, &l);
	if (rc != PGS_OK)
		return rc;
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
	struct query	 q;
	enum pgs_rc	 rc;

	rc = query_load(r, &q);
	if (rc != PGS_OK)
		return rc;
	return reply_json(r, 200, shape_query(&q, false));
}
