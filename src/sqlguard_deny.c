/*
 * sqlguard_deny.c: the functions a saved query may not call, one entry a
 * line with the reason shown to the user ("function x() is not allowed:
 * it <reason>").  Names are matched without their schema and in any case,
 * so "pg_catalog.set_config", "SET_CONFIG" and U&"\0073et_config" are all
 * caught.  '*' in a pattern matches any run of characters.
 *
 * How the list was made: every volatile function of a PostgreSQL 15
 * pg_catalog (pg_proc.provolatile = 'v') was read and kept here when it
 * acts outside the statement (writes, signals, locks, files, WAL, other
 * servers) or runs SQL given as text, which this check cannot see; plus
 * the stable ones that assign a transaction id or run SQL internally, and
 * the usual extensions (dblink, postgres_fdw, adminpack, pg_stat_statements,
 * pg_visibility, pg_surgery) and pre-10/pre-15 names.  Then every function
 * of PostgreSQL 15's contrib and of Debian 12's postgresql-15-* extension
 * packages that runs SQL (or R code) given as text or built from its
 * arguments, which this check sees only as a string: tablefunc, xml2,
 * pg_background, pg_cron, pgTAP, pgRouting, pglogical, pgl_ddl_deploy and
 * PL/R (sqlguard_sql_extensions() lists them, for `dsn test`'s warning).
 * orafce's dbms_sql takes its statement in a procedure (CALL), which is
 * no SELECT.  Volatile functions
 * whose effect ends with the statement stay allowed: random(), setseed(),
 * clock_timestamp(), gen_random_uuid(), currval(), lastval(), and
 * current_setting() (reads a setting; set_config() writes one).
 *
 * pg_sleep*() is allowed: it changes nothing, statement_timeout bounds
 * it, and waiting is a legitimate part of a query (the runner's own
 * benchmarks schedule pg_sleep jobs).  xpath() and the other XML readers
 * are allowed:
 * they evaluate an expression on a value and run no SQL.
 *
 * A function reached through attribute notation (t.f for f(t)) is not a
 * call in the parse tree; PostgreSQL only resolves that form for a
 * function whose one argument is a composite type, and no function here
 * takes one.
 */
#include <fnmatch.h>
#include <stddef.h>

#include "sqlguard.h"

#define ANY (-1)
/* The reason of an extension's function that runs SQL given as text. */
#define BY_TEXT(ext) "runs SQL given as text (" ext ")"
#define TAP_RUN	     "runs test functions (pgTAP)"

static const struct sqlguard_deny deny[] = {
	/* settings */
	{ "set_config", ANY, "changes a run-time setting" },
	/* signals and backend control */
	{ "pg_cancel_backend", ANY, "cancels another query" },
	{ "pg_terminate_backend", ANY, "terminates another session" },
	{ "pg_reload_conf", ANY, "reloads the server's config" },
	{ "pg_rotate_logfile*", ANY, "rotates the server log" },
	{ "pg_promote", ANY, "promotes a standby server" },
	{ "pg_log_backend_memory_contexts", ANY, "signals another session" },
	{ "pg_wal_replay_pause", ANY, "pauses recovery on a standby" },
	{ "pg_wal_replay_resume", ANY, "resumes recovery on a standby" },
	{ "pg_xlog_replay_*", ANY, "controls recovery on a standby" },
	/* advisory locks: pg-sched's runners use them on their own database */
	{ "pg_advisory_*", ANY, "uses advisory locks" },
	{ "pg_try_advisory_*", ANY, "uses advisory locks" },
	/* large objects (lo_import and lo_export also touch server files) */
	{ "lo_*", ANY, "uses large objects" },
	{ "loread", ANY, "reads a large object" },
	{ "lowrite", ANY, "writes a large object" },
	/* server files and configuration files */
	{ "pg_read_file*", ANY, "reads a server file" },
	{ "pg_read_binary_file", ANY, "reads a server file" },
	{ "pg_ls_*", ANY, "lists a server directory" },
	{ "pg_stat_file", ANY, "reads a server file's status" },
	{ "pg_current_logfile", ANY, "reads a server file" },
	{ "pg_file_*", ANY, "changes files on the server" },
	{ "pg_logdir_ls", ANY, "lists the server log directory" },
	{ "pg_show_all_file_settings", ANY, "reads server config files" },
	{ "pg_hba_file_rules", ANY, "reads pg_hba.conf" },
	{ "pg_ident_file_mappings", ANY, "reads pg_ident.conf" },
	/* notifications */
	{ "pg_notify", ANY, "sends a notification" },
	/* other servers */
	{ "dblink*", ANY, "connects to another server" },
	{ "postgres_fdw_*", ANY, "manages remote connections" },
	/* logical decoding and replication */
	{ "pg_logical_emit_message", ANY, "writes a message into the WAL" },
	{ "pg_logical_slot_*", ANY, "consumes a replication slot" },
	{ "pg_create_*_slot", ANY, "creates a replication slot" },
	{ "pg_copy_*_slot", ANY, "creates a replication slot" },
	{ "pg_drop_replication_slot", ANY, "drops a replication slot" },
	{ "pg_replication_slot_advance", ANY, "moves a replication slot" },
	{ "pg_replication_origin_*", ANY, "manages replication origins" },
	/* sequences that write */
	{ "nextval", ANY, "advances a sequence" },
	{ "setval", ANY, "changes a sequence" },
	/* WAL and backups */
	{ "pg_switch_wal", ANY, "forces a WAL segment switch" },
	{ "pg_switch_xlog", ANY, "forces a WAL segment switch" },
	{ "pg_backup_start", ANY, "starts a backup" },
	{ "pg_backup_stop", ANY, "stops a backup" },
	{ "pg_start_backup", ANY, "starts a backup" },
	{ "pg_stop_backup", ANY, "stops a backup" },
	{ "pg_create_restore_point", ANY, "writes a WAL restore point" },
	{ "pg_export_snapshot", ANY, "exports a snapshot" },
	/* statistics */
	{ "pg_stat_reset*", ANY, "resets statistics" },
	{ "pg_stat_statements_reset", ANY, "resets statistics" },
	/* time */
	/* transaction ids: these assign one, which a report never needs */
	{ "txid_current", ANY, "assigns a transaction id" },
	{ "pg_current_xact_id", ANY, "assigns a transaction id" },
	/* SQL given as text or built inside the server, unseen by this check */
	{ "query_to_xml*", ANY, "runs SQL given as text" },
	{ "cursor_to_xml*", ANY, "reads from an open cursor" },
	{ "table_to_xml*", ANY, "runs SQL built from arguments" },
	{ "schema_to_xml*", ANY, "runs SQL built from arguments" },
	{ "database_to_xml*", ANY, "runs SQL built from arguments" },
	{ "ts_stat", ANY, "runs SQL given as text" },
	{ "ts_rewrite", 2, "runs SQL given as text" },
	/* ... and by extensions (dblink above) */
	{ "crosstab*", ANY, BY_TEXT("tablefunc") },
	{ "connectby", ANY, "runs SQL built from its arguments (tablefunc)" },
	{ "xpath_table", ANY, "runs SQL built from its arguments (xml2)" },
	{ "pg_background_*", ANY,
	    "runs SQL given as text in another session (pg_background)" },
	{ "schedule", 2,
	    "schedules SQL given as text "
	    "(pg_cron)" },
	{ "schedule", 3,
	    "schedules SQL given as text "
	    "(pg_cron)" },
	{ "schedule_in_database", ANY,
	    "schedules SQL given as text "
	    "(pg_cron)" },
	{ "alter_job", ANY, "changes a scheduled job (pg_cron)" },
	{ "unschedule", ANY, "drops a scheduled job (pg_cron)" },
	{ "pgr_*", ANY, BY_TEXT("pgRouting") },
	{ "_pgr_*", ANY, BY_TEXT("pgRouting") },
	{ "replicate_ddl_command", ANY, "runs DDL given as text (pglogical)" },
	{ "lock_safe_executor", ANY, BY_TEXT("pgl_ddl_deploy") },
	{ "schema_execute", ANY,
	    "runs SQL built from a table (pgl_ddl_deploy)" },
	{ "execute_queued_ddl", ANY, "runs queued DDL (pgl_ddl_deploy)" },
	{ "kill_blockers", ANY, "signals other sessions (pgl_ddl_deploy)" },
	{ "install_rcmd", ANY, "runs R code given as text (plr)" },
	{ "reload_plr_modules", ANY, "runs R code stored in a table (plr)" },
	{ "results_eq", ANY, BY_TEXT("pgTAP") },
	{ "results_ne", ANY, BY_TEXT("pgTAP") },
	{ "set_eq", ANY, BY_TEXT("pgTAP") },
	{ "set_ne", ANY, BY_TEXT("pgTAP") },
	{ "set_has", ANY, BY_TEXT("pgTAP") },
	{ "set_hasnt", ANY, BY_TEXT("pgTAP") },
	{ "bag_eq", ANY, BY_TEXT("pgTAP") },
	{ "bag_ne", ANY, BY_TEXT("pgTAP") },
	{ "bag_has", ANY, BY_TEXT("pgTAP") },
	{ "bag_hasnt", ANY, BY_TEXT("pgTAP") },
	{ "row_eq", ANY, BY_TEXT("pgTAP") },
	{ "is_empty", ANY, BY_TEXT("pgTAP") },
	{ "isnt_empty", ANY, BY_TEXT("pgTAP") },
	{ "throws_*", ANY, BY_TEXT("pgTAP") },
	{ "lives_ok", ANY, BY_TEXT("pgTAP") },
	{ "performs_*", ANY, BY_TEXT("pgTAP") },
	{ "check_test", ANY, BY_TEXT("pgTAP") },
	{ "runtests", ANY, TAP_RUN },
	{ "do_tap", ANY, TAP_RUN },
	{ "_runner", ANY, TAP_RUN },
	{ "_runem", ANY, TAP_RUN },
	{ "_query", ANY, BY_TEXT("pgTAP") },
	{ "_relcomp", ANY, BY_TEXT("pgTAP") },
	{ "_relne", ANY, BY_TEXT("pgTAP") },
	{ "_docomp", ANY, BY_TEXT("pgTAP") },
	{ "_do_ne", ANY, BY_TEXT("pgTAP") },
	{ "_time_trials", ANY, BY_TEXT("pgTAP") },
	/* catalog, index and heap changes */
	{ "pg_import_system_collations", ANY, "creates collations" },
	{ "binary_upgrade_*", ANY, "changes the catalogs" },
	{ "pg_extension_config_dump", ANY, "changes an extension's row" },
	{ "pg_stop_making_pinned_objects", ANY, "changes the catalogs" },
	{ "pg_nextoid", ANY, "consumes an OID" },
	{ "brin_summarize_*", ANY, "writes index pages" },
	{ "brin_desummarize_range", ANY, "writes index pages" },
	{ "gin_clean_pending_list", ANY, "writes index pages" },
	{ "pg_truncate_visibility_map", ANY, "truncates a visibility map" },
	{ "heap_force_*", ANY, "changes heap pages directly" },
};

/* The extensions whose functions above run SQL (or R code) given as
 * text, by their pg_extension.extname. */
static const char *const sql_extensions[] = {
	"dblink",
	"pg_background",
	"pg_cron",
	"pgl_ddl_deploy",
	"pglogical",
	"pgrouting",
	"pgtap",
	"plr",
	"tablefunc",
	"xml2",
};

#define NAME_MAX_LEN 256

/* ASCII only, as PostgreSQL folds identifiers: never locale-dependent. */
static char
ascii_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

const struct sqlguard_deny *
sqlguard_deny_find(const char *name, int nargs)
{
	char   low[NAME_MAX_LEN];
	size_t i;

	/*
	 * Identifiers are at most 63 bytes after the parser truncates them;
	 * a longer name cannot equal an entry, and its prefix still meets the
	 * prefix patterns.
	 */
	for (i = 0; name[i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = ascii_lower(name[i]);
	low[i] = '\0';
	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++) {
		if (deny[i].nargs != ANY && deny[i].nargs != nargs)
			continue;
		if (fnmatch(deny[i].pattern, low, 0) == 0)
			return &deny[i];
	}
	return NULL;
}

const struct sqlguard_deny *
sqlguard_deny_list(size_t *count)
{
	*count = sizeof(deny) / sizeof(deny[0]);
	return deny;
}

const char *const *
sqlguard_sql_extensions(size_t *count)
{
	*count = sizeof(sql_extensions) / sizeof(sql_extensions[0]);
	return sql_extensions;
}
