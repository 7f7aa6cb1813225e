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
 * pg_visibility, pg_surgery) and pre-10/pre-15 names.  Volatile functions
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

#define ANY	(-1)

static const struct sqlguard_deny deny[] = {
	/* settings */
	{ "set_config",			ANY, "changes a run-time setting" },
	/* signals and backend control */
	{ "pg_cancel_backend",		ANY, "cancels another query" },
	{ "pg_terminate_backend",	ANY, "terminates another session" },
	{ "pg_reload_conf",		ANY, "reloads the server's config" },
	{ "pg_rotate_logfile*",		ANY, "rotates the server log" },
	{ "pg_promote",			ANY, "promotes a standby server" },
	{ "pg_log_backend_memory_contexts", ANY, "signals another session" },
	{ "pg_wal_replay_pause",	ANY, "pauses recovery on a standby" },
	{ "pg_wal_replay_resume",	ANY, "resumes recovery on a standby" },
	{ "pg_xlog_replay_*",		ANY, "controls recovery on a standby" },
	/* advisory locks: pg-sched's runners use them on their own database */
	{ "pg_advisory_*",		ANY, "uses advisory locks" },
	{ "pg_try_advisory_*",		ANY, "uses advisory locks" },
	/* large objects (lo_import and lo_export also touch server files) */
	{ "lo_*",			ANY, "uses large objects" },
	{ "loread",			ANY, "reads a large object" },
	{ "lowrite",			ANY, "writes a large object" },
	/* server files and configuration files */
	{ "pg_read_file*",		ANY, "reads a server file" },
	{ "pg_read_binary_file",	ANY, "reads a server file" },
	{ "pg_ls_*",			ANY, "lists a server directory" },
	{ "pg_stat_file",		ANY, "reads a server file's status" },
	{ "pg_current_logfile",		ANY, "reads a server file" },
	{ "pg_file_*",			ANY, "changes files on the server" },
	{ "pg_logdir_ls",		ANY, "lists the server log directory" },
	{ "pg_show_all_file_settings",	ANY, "reads server config files" },
	{ "pg_hba_file_rules",		ANY, "reads pg_hba.conf" },
	{ "pg_ident_file_mappings",	ANY, "reads pg_ident.conf" },
	/* notifications */
	{ "pg_notify",			ANY, "sends a notification" },
	/* other servers */
	{ "dblink*",			ANY, "connects to another server" },
	{ "postgres_fdw_*",		ANY, "manages remote connections" },
	/* logical decoding and replication */
	{ "pg_logical_emit_message",	ANY, "writes a message into the WAL" },
	{ "pg_logical_slot_*",		ANY, "consumes a replication slot" },
	{ "pg_create_*_slot",		ANY, "creates a replication slot" },
	{ "pg_copy_*_slot",		ANY, "creates a replication slot" },
	{ "pg_drop_replication_slot",	ANY, "drops a replication slot" },
	{ "pg_replication_slot_advance", ANY, "moves a replication slot" },
	{ "pg_replication_origin_*",	ANY, "manages replication origins" },
	/* sequences that write */
	{ "nextval",			ANY, "advances a sequence" },
	{ "setval",			ANY, "changes a sequence" },
	/* WAL and backups */
	{ "pg_switch_wal",		ANY, "forces a WAL segment switch" },
	{ "pg_switch_xlog",		ANY, "forces a WAL segment switch" },
	{ "pg_backup_start",		ANY, "starts a backup" },
	{ "pg_backup_stop",		ANY, "stops a backup" },
	{ "pg_start_backup",		ANY, "starts a backup" },
	{ "pg_stop_backup",		ANY, "stops a backup" },
	{ "pg_create_restore_point",	ANY, "writes a WAL restore point" },
	{ "pg_export_snapshot",		ANY, "exports a snapshot" },
	/* statistics */
	{ "pg_stat_reset*",		ANY, "resets statistics" },
	{ "pg_stat_statements_reset",	ANY, "resets statistics" },
	/* time */
	/* transaction ids: these assign one, which a report never needs */
	{ "txid_current",		ANY, "assigns a transaction id" },
	{ "pg_current_xact_id",		ANY, "assigns a transaction id" },
	/* SQL given as text or built inside the server, unseen by this check */
	{ "query_to_xml*",		ANY, "runs SQL given as text" },
	{ "cursor_to_xml*",		ANY, "reads from an open cursor" },
	{ "table_to_xml*",		ANY, "runs SQL built from arguments" },
	{ "schema_to_xml*",		ANY, "runs SQL built from arguments" },
	{ "database_to_xml*",		ANY, "runs SQL built from arguments" },
	{ "ts_stat",			ANY, "runs SQL given as text" },
	{ "ts_rewrite",			2,   "runs SQL given as text" },
	/* catalog, index and heap changes */
	{ "pg_import_system_collations", ANY, "creates collations" },
	{ "binary_upgrade_*",		ANY, "changes the catalogs" },
	{ "pg_extension_config_dump",	ANY, "changes an extension's row" },
	{ "pg_stop_making_pinned_objects", ANY, "changes the catalogs" },
	{ "pg_nextoid",			ANY, "consumes an OID" },
	{ "brin_summarize_*",		ANY, "writes index pages" },
	{ "brin_desummarize_range",	ANY, "writes index pages" },
	{ "gin_clean_pending_list",	ANY, "writes index pages" },
	{ "pg_truncate_visibility_map",	ANY, "truncates a visibility map" },
	{ "heap_force_*",		ANY, "changes heap pages directly" },
};

#define NAME_MAX_LEN	256

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
	char	 low[NAME_MAX_LEN];
	size_t	 i;

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
