/*
 * shape.c: the JSON of users, data sources, queries, runs and dry runs
 * (see shape.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "isotime.h"
#include "json.h"
#include "sched.h"
#include "shape.h"

void
shape_time(cJSON *o, const char *name, const char *pgts)
{
	char buf[ISOTIME_BUFSZ];

	json_add_str(o, name, isotime_from_pg(pgts, buf));
}

cJSON *
shape_user_roles(const struct user *u)
{
	cJSON *arr = cJSON_CreateArray();
	int    i;

	for (i = 0; i < u->nroles; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(u->roles[i]));
	return arr;
}

cJSON *
shape_user(const struct user *u)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)u->id);
	json_add_str(o, "email", u->email);
	json_add_str(o, "name", u->name);
	cJSON_AddBoolToObject(o, "is_active", u->is_active);
	cJSON_AddItemToObject(o, "roles", shape_user_roles(u));
	shape_time(o, "created_at", u->created_at);
	shape_time(o, "updated_at", u->updated_at);
	return o;
}

cJSON *
shape_user_list(const struct user_list *l, long limit, long offset)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_user(&l->items[i]));
	cJSON_AddNumberToObject(o, "limit", (double)limit);
	cJSON_AddNumberToObject(o, "offset", (double)offset);
	if (l->n == limit)
		cJSON_AddNumberToObject(o, "next_offset",
		    (double)(offset + limit));
	else
		cJSON_AddNullToObject(o, "next_offset");
	return o;
}

cJSON *
shape_source(const struct source *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)s->id);
	json_add_str(o, "name", s->name);
	json_add_str(o, "host", s->host);
	cJSON_AddNumberToObject(o, "port", s->port);
	json_add_str(o, "dbname", s->dbname);
	json_add_str(o, "username", s->username);
	cJSON_AddBoolToObject(o, "has_password", s->enc_len > 0);
	json_add_str(o, "enc_algo", s->enc_algo);
	cJSON_AddNumberToObject(o, "key_version", s->key_version);
	cJSON_AddNumberToObject(o, "query_count", (double)s->query_count);
	shape_time(o, "created_at", s->created_at);
	shape_time(o, "updated_at", s->updated_at);
	return o;
}

cJSON *
shape_source_list(const struct source_list *l)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_source(&l->items[i]));
	return o;
}

cJSON *
shape_source_names(const struct source_list *l)
{
	cJSON *o = cJSON_CreateObject(), *arr, *it;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++) {
		it = cJSON_CreateObject();
		cJSON_AddNumberToObject(it, "id", (double)l->items[i].id);
		json_add_str(it, "name", l->items[i].name);
		cJSON_AddItemToArray(arr, it);
	}
	return o;
}

/* The statistics of q, kept by the query_run trigger. */
static cJSON *
shape_query_stats(const struct query *q)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddNumberToObject(s, "total_runs", (double)q->total_runs);
	cJSON_AddNumberToObject(s, "successful_runs",
	    (double)q->successful_runs);
	cJSON_AddNumberToObject(s, "failed_runs", (double)q->failed_runs);
	cJSON_AddNumberToObject(s, "skipped_runs", (double)q->skipped_runs);
	cJSON_AddNumberToObject(s, "consecutive_failures",
	    (double)q->consecutive_failures);
	shape_time(s, "last_run_at", q->last_run_at);
	json_add_str(s, "last_run_status", q->last_run_status);
	json_add_num(s, "last_run_duration_ms", q->last_run_duration_ms, -1);
	return s;
}

/* The members of q only editors see: SQL, data source, settings. */
static void
shape_query_settings(cJSON *o, const struct query *q)
{
	shape_time(o, "start_at", q->start_at);
	json_add_num(o, "timeout_ms", q->timeout_ms, 0);
	json_add_num(o, "max_rows", q->max_rows, 0);
	cJSON_AddNumberToObject(o, "max_retries", q->max_retries);
	cJSON_AddNumberToObject(o, "retry_delay_s", q->retry_delay_s);
	json_add_num(o, "pause_after_failures", q->pause_after_failures, 0);
	json_add_num(o, "keep_runs", q->keep_runs, 0);
	json_add_num(o, "keep_days", q->keep_days, 0);
	json_add_num(o, "max_staleness", q->max_staleness_s, 0);
	cJSON_AddNumberToObject(o, "version", q->version);
}

cJSON *
shape_query(const struct query *q, bool full)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)q->id);
	json_add_str(o, "name", q->name);
	json_add_str(o, "title", q->title);
	json_add_str(o, "description", q->description);
	if (full) {
		json_add_str(o, "sql_text", q->sql_text);
		cJSON_AddNumberToObject(o, "data_source_id",
		    (double)q->data_source_id);
		json_add_str(o, "data_source", q->data_source_name);
	}
	json_add_str(o, "schedule_type", q->schedule_type);
	json_add_str(o, "schedule_expr", q->schedule_expr);
	json_add_str(o, "timezone", q->timezone);
	cJSON_AddBoolToObject(o, "enabled", q->enabled);
	json_add_str(o, "visibility", q->visibility);
	shape_time(o, "next_run_at", q->next_run_at);
	shape_time(o, "paused_at", q->paused_at);
	json_add_str(o, "pause_reason", q->pause_reason);
	/* Notifications (CONTRACT section 8): the alert's state (null: no
	 * alert) and whether no success came within max_staleness. */
	json_add_str(o, "alert_state", q->alert_state);
	cJSON_AddBoolToObject(o, "stale", q->stale);
	if (full)
		shape_query_settings(o, q);
	cJSON_AddItemToObject(o, "stats", shape_query_stats(q));
	shape_time(o, "created_at", q->created_at);
	shape_time(o, "updated_at", q->updated_at);
	return o;
}

/* Epoch seconds of a timestamptz text; 0 when NULL or unparsable. */
static int64_t
shape_epoch(const char *pgts)
{
	int64_t t;
	char	err[96];

	if (pgts == NULL ||
	    isotime_parse(pgts, &t, NULL, err, sizeof(err)) != PGS_OK)
		return 0;
	return t;
}

cJSON *
shape_fires(const struct sched *s, int64_t anchor, int64_t after, long n)
{
	cJSON	*arr = cJSON_CreateArray(), *e;
	char	 line[SCHED_LINE_MAX], iso[ISOTIME_BUFSZ];
	int64_t	 next;
	unsigned flags;
	long	 i;

	for (i = 0; i < n; i++) {
		if (sched_next(s, anchor, after, &next, &flags) != PGS_OK ||
		    sched_describe_line(s, next, flags, line, sizeof(line)) !=
			PGS_OK)
			break;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "at", isotime_format_utc(next, iso));
		cJSON_AddStringToObject(e, "line", line);
		cJSON_AddNumberToObject(e, "flags", flags);
		cJSON_AddItemToArray(arr, e);
		after = next;
	}
	return arr;
}

cJSON *
shape_query_next_runs(const struct query *q, int default_interval_s)
{
	struct sched *s = NULL;
	cJSON	     *arr;
	char	      err[160];
	int64_t	      anchor, after;

	if (sched_parse(q->schedule_type, q->schedule_expr, q->timezone,
		default_interval_s, &s, err, sizeof(err)) != PGS_OK)
		return cJSON_CreateArray();
	anchor = shape_epoch(q->start_at != NULL ? q->start_at : q->created_at);
	/* From the stored next run (set from the database's clock). */
	after = q->next_run_at != NULL ? shape_epoch(q->next_run_at) - 1 :
					 (int64_t)time(NULL);
	arr = shape_fires(s, anchor, after, SHAPE_NEXT_RUNS);
	sched_free(s);
	return arr;
}

cJSON *
shape_query_detail(const struct query *q, int default_interval_s)
{
	cJSON *o = shape_query(q, true);

	cJSON_AddItemToObject(o, "next_runs",
	    shape_query_next_runs(q, default_interval_s));
	return o;
}

cJSON *
shape_query_list(const struct query_list *l, bool full, long limit, long offset)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_query(&l->items[i], full));
	cJSON_AddNumberToObject(o, "total", (double)l->total);
	cJSON_AddNumberToObject(o, "limit", (double)limit);
	cJSON_AddNumberToObject(o, "offset", (double)offset);
	if (offset + l->n < l->total)
		cJSON_AddNumberToObject(o, "next_offset",
		    (double)(offset + l->n));
	else
		cJSON_AddNullToObject(o, "next_offset");
	return o;
}

cJSON *
shape_run(const struct run *x, bool full_errors)
{
	cJSON *o = cJSON_CreateObject();
	char   link[48];

	cJSON_AddNumberToObject(o, "id", (double)x->id);
	cJSON_AddNumberToObject(o, "query_id", (double)x->query_id);
	json_add_str(o, "scheduled_at", x->scheduled_at);
	json_add_str(o, "job_timezone", x->job_timezone);
	json_add_str(o, "run_started_at", x->run_started_at);
	json_add_str(o, "run_finished_at", x->run_finished_at);
	json_add_num(o, "duration_ms", x->duration_ms, -1);
	json_add_str(o, "status", x->status);
	json_add_num(o, "rows_returned", x->rows_returned, -1);
	json_add_str(o, "error_message",
	    full_errors ? x->error_message : run_error_class(x->error_message));
	json_add_str(o, "error_class", run_error_class(x->error_message));
	json_add_str(o, "triggered_by", x->triggered_by);
	json_add_num(o, "triggered_by_user", x->triggered_by_user, 0);
	cJSON_AddNumberToObject(o, "missed_slots", (double)x->missed_slots);
	cJSON_AddNumberToObject(o, "attempt", (double)x->attempt);
	json_add_num(o, "retry_of", x->retry_of, 0);
	json_add_str(o, "queued_at", x->queued_at);
	cJSON_AddBoolToObject(o, "has_result", x->has_blob);
	cJSON_AddBoolToObject(o, "truncated", x->truncated);
	json_add_num(o, "byte_size", x->byte_size, -1);
	snprintf(link, sizeof(link), "/api/runs/%ld", x->id);
	cJSON_AddStringToObject(o, "_link", link);
	return o;
}

cJSON *
shape_run_list(const struct run_list *l, int limit, bool full_errors)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_run(&l->items[i], full_errors));
	cJSON_AddNumberToObject(o, "limit", limit);
	json_add_num(o, "next_before", l->next_before, 0);
	json_add_num(o, "prev_after", l->prev_after, 0);
	return o;
}

void
shape_dryrun(struct buf *b, struct result *rs, long ms)
{
	buf_puts(b, "{\"ok\":true,");
	rs_finish_rows(rs, b);
	buf_printf(b, ",\"row_count\":%zu,\"truncated\":%s,\"timing_ms\":%ld}",
	    rs_row_count(rs), rs_truncated(rs) ? "true" : "false", ms);
}

cJSON *
shape_token(const struct token *t)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	cJSON_AddNumberToObject(o, "id", (double)t->id);
	json_add_str(o, "name", t->name);
	arr = cJSON_AddArrayToObject(o, "query_ids");
	for (i = 0; i < t->nqids; i++)
		cJSON_AddItemToArray(arr,
		    cJSON_CreateNumber((double)t->qids[i]));
	if (t->created_by > 0)
		cJSON_AddNumberToObject(o, "created_by", (double)t->created_by);
	else
		cJSON_AddNullToObject(o, "created_by");
	json_add_str(o, "created_by_email", t->created_by_email);
	shape_time(o, "created_at", t->created_at);
	shape_time(o, "expires_at", t->expires_at);
	shape_time(o, "last_used_at", t->last_used_at);
	shape_time(o, "revoked_at", t->revoked_at);
	cJSON_AddBoolToObject(o, "active", t->active);
	return o;
}

cJSON *
shape_token_list(const struct token_list *l)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int    i;

	arr = cJSON_AddArrayToObject(o, "items");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, shape_token(&l->items[i]));
	return o;
}
