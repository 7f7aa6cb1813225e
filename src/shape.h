/*
 * shape.h: the JSON shape of each object, one function per object: the
 * HTTP API sends it and `pgsched-admin --json` prints it, so both doors
 * show the same members with the same types.  Timestamps are ISO 8601 in
 * UTC.  Nothing here reads the database or knows who asks: what depends
 * on the caller (the full SQL of a query, the full error message of a
 * run) is a parameter the door decides.
 *
 * Every cJSON tree returned is a new tree the caller owns (cJSON_Delete,
 * or handing it to a parent); the objects given are only read.
 */
#ifndef PGS_SHAPE_H
#define PGS_SHAPE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "result.h"
#include "run.h"
#include "sched.h"
#include "store.h"
#include "token.h"

/* The next fire times shape_query_next_runs lists (CONTRACT section 3). */
#define SHAPE_NEXT_RUNS 5

/* {id, email, name, is_active, roles, created_at, updated_at} of u. */
cJSON *shape_user(const struct user *u);
/* Adds name: the ISO 8601 form of pgts, a timestamptz text (NULL: null),
 * to the object o; every timestamp of every shape goes through here. */
void shape_time(cJSON *o, const char *name, const char *pgts);
/* The role names of u as an array. */
cJSON *shape_user_roles(const struct user *u);
/* An API token, never its secret: id, name, query_ids, created_by,
 * created_at, expires_at, last_used_at, revoked_at, active. */
cJSON *shape_token(const struct token *t);
/* {"items": [...]} of the tokens of l. */
cJSON *shape_token_list(const struct token_list *l);
/* {items, limit, offset, next_offset}: a page of users asked with limit
 * and offset (next_offset null when the page is not full). */
cJSON *shape_user_list(const struct user_list *l, long limit, long offset);

/* {id, name, host, port, dbname, username, has_password, enc_algo,
 * key_version, query_count, created_at, updated_at} of s: never a
 * password nor a ciphertext. */
cJSON *shape_source(const struct source *s);
/* {items}: every data source. */
cJSON *shape_source_list(const struct source_list *l);
/* {items: [{id, name}]}: what an editor may know of the data sources
 * (no host, port, database, user or credential); caller owns it. */
cJSON *shape_source_names(const struct source_list *l);

/*
 * The query q with its statistics under "stats"; full adds what only
 * editors see: the SQL, the data source and the settings.
 */
cJSON *shape_query(const struct query *q, bool full);
/*
 * The next SHAPE_NEXT_RUNS fire times of q as [{at, line, flags}] (an
 * empty array when its schedule does not parse), counted from its stored
 * next run, else from now; an empty interval expression means
 * default_interval_s seconds.
 */
cJSON *shape_query_next_runs(const struct query *q, int default_interval_s);
/*
 * The first n fire times of s strictly after `after` (interval slots
 * anchored at anchor) as [{at, line, flags}], each line as `pgsched-admin
 * schedule next` prints it (sched_describe_line: the UTC instant, the
 * wall-clock time, a DST marker); fewer when the schedule stops firing.
 * The caller owns the array.
 */
cJSON *
shape_fires(const struct sched *s, int64_t anchor, int64_t after, long n);
/* The query as one is shown alone: shape_query(q, true) with
 * "next_runs" (shape_query_next_runs). */
cJSON *shape_query_detail(const struct query *q, int default_interval_s);
/* {items, total, limit, offset, next_offset} of a page of queries, each
 * as shape_query(.., full). */
cJSON *shape_query_list(const struct query_list *l, bool full, long limit,
    long offset);

/*
 * The run x without its result, with "_link"; full_errors shows the
 * stored error message, else only its class (CONTRACT section 9: the
 * door knows who may read it).
 */
cJSON *shape_run(const struct run *x, bool full_errors);
/* {items, limit, next_before, prev_after} of a page of runs. */
cJSON *shape_run_list(const struct run_list *l, int limit, bool full_errors);

/*
 * Appends the answer of a dry run to b: {"ok":true,"columns":[..],
 * "rows":[[..],..],"row_count":N,"truncated":B,"timing_ms":MS}, the
 * values as PostgreSQL wrote them (rs_finish_rows); rs is not consumed.
 */
void shape_dryrun(struct buf *b, struct result *rs, long ms);

#endif
