/*
 * run_read.c: prints what src/run.c reads, for tests/db/run_read.pg.
 *   run_read get ID [result]       run_read latest QID [any]
 *   run_read prev QID RID          run_read next QID RID
 *   run_read list QID LIMIT [status=S] [start=T] [end=T] [before=N] [after=N]
 * Connects to PG_DSN_APP.  Prints one line per run, or the rc name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static void
print_run(const struct run *r)
{
	printf("%ld q=%ld %s sched=%s start=%s dur=%ld rows=%ld by=%s "
	    "user=%ld host=%s pid=%ld missed=%ld attempt=%ld retry_of=%ld "
	    "blob=%d fmt=%s rc=%ld bytes=%ld trunc=%d err=%s\n", r->id,
	    r->query_id, r->status, r->scheduled_at ? r->scheduled_at : "-",
	    r->run_started_at ? r->run_started_at : "-", r->duration_ms,
	    r->rows_returned, r->triggered_by, r->triggered_by_user,
	    r->runner_host ? r->runner_host : "-", r->runner_pid,
	    r->missed_slots, r->attempt, r->retry_of, r->has_blob,
	    r->format ? r->format : "-", r->row_count, r->byte_size,
	    r->truncated, r->error_message ? r->error_message : "-");
	if (r->df_json != NULL)
		printf("result %zu %s\n", r->df_json_len, r->df_json);
}

static enum pgs_rc
do_list(struct db *db, struct arena *a, int argc, char **argv)
{
	struct run_filter f;
	struct run_list	 l;
	enum pgs_rc	 rc;
	int		 i;

	memset(&f, 0, sizeof(f));
	f.limit = atoi(argv[3]);
	for (i = 4; i < argc; i++) {
		if (strncmp(argv[i], "status=", 7) == 0)
			f.status = argv[i] + 7;
		else if (strncmp(argv[i], "start=", 6) == 0)
			f.start = argv[i] + 6;
		else if (strncmp(argv[i], "end=", 4) == 0)
			f.end = argv[i] + 4;
		else if (strncmp(argv[i], "before=", 7) == 0)
			f.before = atol(argv[i] + 7);
		else if (strncmp(argv[i], "after=", 6) == 0)
			f.after = atol(argv[i] + 6);
	}
	rc = run_list(db, a, atol(argv[2]), &f, &l);
	if (rc != PGS_OK) {
		printf("%s: %s\n", rc_name(rc), db_error(db));
		return rc;
	}
	printf("ids");
	for (i = 0; i < l.n; i++)
		printf(" %ld", l.items[i].id);
	printf(" next_before=%ld prev_after=%ld\n", l.next_before,
	    l.prev_after);
	return PGS_OK;
}

static enum pgs_rc
dispatch(struct db *db, struct arena *a, int argc, char **argv)
{
	struct run	 r;
	enum pgs_rc	 rc;
	long		 id;

	if (strcmp(argv[1], "list") == 0 && argc >= 4)
		return do_list(db, a, argc, argv);
	if (strcmp(argv[1], "get") == 0)
		rc = run_get(db, a, atol(argv[2]), argc > 3, &r);
	else if (strcmp(argv[1], "latest") == 0)
		rc = run_latest(db, a, atol(argv[2]), argc > 3, true, &r);
	else if (strcmp(argv[1], "prev") == 0 && argc > 3) {
		rc = run_prev(db, a, atol(argv[2]), atol(argv[3]), &id);
		if (rc == PGS_OK)
			printf("%ld\n", id);
		return rc;
	} else if (strcmp(argv[1], "next") == 0 && argc > 3) {
		rc = run_next(db, a, atol(argv[2]), atol(argv[3]), &id);
		if (rc == PGS_OK)
			printf("%ld\n", id);
		return rc;
	} else
		return PGS_INVALID;
	if (rc == PGS_OK)
		print_run(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct db	 db;
	struct arena	 a;
	enum pgs_rc	 rc;

	if (argc < 3) {
		fprintf(stderr, "usage: run_read VERB ARGS...\n");
		return 2;
	}
	memset(&db, 0, sizeof(db));
	arena_init(&a);
	rc = db_connect(&db, getenv("PG_DSN_APP"), 5, "run_read");
	if (rc == PGS_OK)
		rc = dispatch(&db, &a, argc, argv);
	if (rc != PGS_OK)
		printf("%s\n", rc_name(rc));
	db_close(&db);
	arena_free(&a);
	return rc == PGS_OK ? 0 : 1;
}
