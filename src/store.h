/*
 * store.h: SQL for each table family (user.c, source.c, query.c; the
 * others have their own headers: session.h, throttle.h, run.h and
 * run_store.h).  Store functions take the db and an arena; strings they
 * return belong to the arena.  No HTTP and no cJSON here.
 */
#ifndef PGS_STORE_H
#define PGS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "rc.h"

struct caller;

/* Roles, lowest first; a user's effective role is the highest held. */
enum role {
	ROLE_NONE = 0,
	ROLE_VIEWER,
	ROLE_EDITOR,
	ROLE_ADMIN
};

/* Returns "viewer"... or NULL for ROLE_NONE. */
const char *role_name(enum role r);
/* Parses a role name; ROLE_NONE when unknown. */
enum role role_parse(const char *s);

struct user {
	long  id;
	char *email;
	char *name;
	char *password_hash; /* only filled by user_get_auth */
	bool  is_active;
	char *roles[3]; /* role names held, NULL-terminated */
	int   nroles;
	char *created_at;
	char *updated_at;
};

struct user_list {
	struct user *items;
	int	     n;
};

/* Returns true when s looks like an e-mail address we accept. */
bool user_email_valid(const char *s);
/*
 * Creates a user with the given PHC hash and roles (role names, n of them);
 * *id gets the new id.  PGS_CONFLICT when the e-mail exists.
 */
enum pgs_rc user_create(struct db *db, struct arena *a, const char *email,
    const char *name, const char *hash, const char *const *roles, int nroles,
    long *id) PGS_MUSTCHECK;
/* Fills u for the user with this id or e-mail (one of them NULL). */
enum pgs_rc user_get(struct db *db, struct arena *a, const char *id,
    const char *email, struct user *u) PGS_MUSTCHECK;
enum pgs_rc user_list(struct db *db, struct arena *a, int limit, int offset,
    struct user_list *out) PGS_MUSTCHECK;
/* Sets the password hash and revokes every session of the user. */
enum pgs_rc user_set_password(struct db *db, struct arena *a, long id,
    const char *hash) PGS_MUSTCHECK;
/*
 * Replaces the password hash of user id by hash only while it is still
 * old (a login's rehash with the current parameters: a password change
 * meanwhile wins).  Sessions are kept.  Returns PGS_OK (also when the
 * hash had changed) or the db_exec rc.
 */
enum pgs_rc user_rehash(struct db *db, struct arena *a, long id,
    const char *old, const char *hash) PGS_MUSTCHECK;
/* Replaces the user's roles. */
enum pgs_rc user_set_roles(struct db *db, struct arena *a, long id,
    const char *const *roles, int nroles) PGS_MUSTCHECK;
/* Sets is_active (and revokes the sessions when disabling). */
enum pgs_rc user_set_active(struct db *db, struct arena *a, long id,
    bool active) PGS_MUSTCHECK;
/* Sets the e-mail and/or name (NULL = keep). */
enum pgs_rc user_update(struct db *db, struct arena *a, long id,
    const char *email, const char *name) PGS_MUSTCHECK;
enum pgs_rc user_delete(struct db *db, struct arena *a, long id) PGS_MUSTCHECK;
/* Number of active admins other than `except` (to refuse removing the
 * last one). */
enum pgs_rc user_count_admins(struct db *db, struct arena *a, long except,
    long *count) PGS_MUSTCHECK;

/* A data source: the one shape of it in every program (source_conn.h
 * connects to it). */
struct source {
	long	       id;
	char	      *name;
	char	      *host;
	int	       port;
	char	      *dbname;
	char	      *username;
	unsigned char *enc_password; /* sealed box, arena-owned */
	size_t	       enc_len;
	char	      *enc_algo;
	int	       key_version;
	char	      *created_at;
	char	      *updated_at;
	long	       query_count; /* queries using it (list/show) */
};

struct source_list {
	struct source *items;
	int	       n;
};

/* The columns of a source that connecting to it needs, for a statement
 * whose data_source is `s` (source_from_row reads them). */
#define SOURCE_CONN_COLS \
	"s.id, s.name, s.host, s.port, s.dbname, s.username, s.enc_password"
#define SOURCE_CONN_NCOLS 7

/*
 * Fills s (zeroed first) from row r of res, whose columns col to
 * col + SOURCE_CONN_NCOLS - 1 are SOURCE_CONN_COLS.  Strings and the
 * ciphertext belong to the arena.
 */
void source_from_row(struct arena *a, const PGresult *res, int r, int col,
    struct source *s);

enum pgs_rc source_create(struct db *db, struct arena *a,
    const struct source *s, long *id) PGS_MUSTCHECK;
/* Fills s for the source with this id or name (one of them NULL). */
enum pgs_rc source_get(struct db *db, struct arena *a, const char *id,
    const char *name, struct source *s) PGS_MUSTCHECK;
enum pgs_rc source_list(struct db *db, struct arena *a,
    struct source_list *out) PGS_MUSTCHECK;
/* Fills out with the id and name of every source, by name (nothing else
 * of a source is read); arena-owned. */
enum pgs_rc source_names(struct db *db, struct arena *a,
    struct source_list *out) PGS_MUSTCHECK;
/* Updates every field of s (by s->id) and bumps updated_at. */
enum pgs_rc source_update(struct db *db, struct arena *a,
    const struct source *s) PGS_MUSTCHECK;
/*
 * The rule both doors apply to an edit of a data source: returns true
 * when next, an edit of the stored source was, points was's sealed
 * password at another server (host, port, dbname or username changed)
 * while new_secret is false.  Such an edit must give the password
 * again: else whoever may edit a source could make a connection test
 * send its password to a server of their own.
 */
bool source_needs_password(const struct source *was, const struct source *next,
    bool new_secret);
/*
 * Replaces the ciphertext only if it is still `old` (so a concurrent change
 * is not overwritten) and sets key_version.  PGS_CONFLICT when it changed.
 */
enum pgs_rc source_rekey(struct db *db, struct arena *a, long id,
    const unsigned char *old, size_t oldlen, const unsigned char *enc,
    size_t enclen, int key_version) PGS_MUSTCHECK;
/* Deletes the source; with force its queries (and their runs) go first,
 * without it PGS_CONFLICT while queries use it. */
enum pgs_rc source_delete(struct db *db, struct arena *a, long id,
    bool force) PGS_MUSTCHECK;

struct query {
	long  id;
	char *name;
	char *title;
	char *description;
	char *sql_text;
	long  data_source_id;
	char *data_source_name;
	char *schedule_type; /* "cron" | "interval" */
	char *schedule_expr;
	char *timezone;
	bool  enabled;
	char *start_at; /* NULL: anchored at created_at */
	char *next_run_at;
	/* Optional settings: 0 means unset (the CHECKs make 0 invalid). */
	int   timeout_ms;
	int   max_rows;
	int   max_retries;
	int   retry_delay_s;
	int   pause_after_failures;
	int   keep_runs;
	int   keep_days;
	int   max_staleness_s; /* 0: never stale */
	int   version;	       /* optimistic lock */
	char *paused_at;
	char *pause_reason;
	char *visibility; /* public | internal | restricted (access.h) */
	/* statistics, kept by the query_run trigger */
	long  total_runs;
	long  successful_runs;
	long  failed_runs;
	long  skipped_runs;
	long  consecutive_failures;
	char *last_run_at;
	char *last_run_status;
	long  last_run_duration_ms; /* -1 when none */
	char *created_at;
	char *updated_at;
	/* notifications (CONTRACT section 8), kept by the runner */
	char *alert_state; /* "ok" | "firing"; NULL: no alert */
	bool  stale;	   /* no success within max_staleness_s */
};

struct query_list {
	struct query *items;
	int	      n;
	long	      total; /* rows matching, ignoring paging */
};

struct query_filter {
	const char *q;		    /* substring of name/title, or NULL */
	int	    enabled;	    /* -1 any, 0 disabled, 1 enabled */
	long	    data_source_id; /* 0 any */
	/* Only the queries this caller may read (access.h); NULL: all. */
	const struct caller *caller;
	int		     limit;
	int		     offset;
};

/* A query as its runs need it: the SQL, the limits, the data source. */
struct query_job {
	long	      id;
	char	     *name;
	char	     *sql_text;
	int	      timeout_ms; /* 0: the default */
	int	      max_rows;	  /* 0: the default */
	struct source source;	  /* SOURCE_CONN_COLS only */
};

/*
 * Inserts q (id, version and statistics ignored) and computes its
 * next_run_at, in one transaction; *id gets the new id.  PGS_CONFLICT on a
 * duplicate name, PGS_INVALID for an unknown data source.
 */
enum pgs_rc query_create(struct db *db, struct arena *a, const struct query *q,
    long *id) PGS_MUSTCHECK;
/* Fills q for the query with this id or name (one of them NULL). */
enum pgs_rc query_get(struct db *db, struct arena *a, const char *id,
    const char *name, struct query *q) PGS_MUSTCHECK;
enum pgs_rc query_list(struct db *db, struct arena *a,
    const struct query_filter *f, struct query_list *out) PGS_MUSTCHECK;
/*
 * Writes every field of q (by q->id) if the stored version is still
 * q->version (PGS_CONFLICT otherwise), bumps the version and recomputes
 * next_run_at.
 */
enum pgs_rc query_update(struct db *db, struct arena *a,
    const struct query *q) PGS_MUSTCHECK;
/* Enables (recomputing next_run_at from now, clearing a pause) or
 * disables the query. */
enum pgs_rc query_set_enabled(struct db *db, struct arena *a, long id,
    bool enabled) PGS_MUSTCHECK;
/* Deletes the query; PGS_CONFLICT when it has runs and force is unset. */
enum pgs_rc
query_delete(struct db *db, struct arena *a, long id, bool force) PGS_MUSTCHECK;
/*
 * Recomputes next_run_at of query id from the database's now() (inside
 * the caller's transaction; the row is locked).  A disabled query gets
 * NULL.  Used by create/update/enable.
 */
enum pgs_rc
query_reschedule(struct db *db, struct arena *a, long id) PGS_MUSTCHECK;
/*
 * Sets next_run_at of query id to next (Unix seconds; 0: NULL, no slot
 * to come), in the caller's transaction: the slot the runner moves a
 * claimed job to.  This file is the only writer of next_run_at.
 */
enum pgs_rc
query_move(struct db *db, struct arena *a, long id, int64_t next) PGS_MUSTCHECK;
/* Fills j with what a run of query id needs.  PGS_NOTFOUND when gone. */
enum pgs_rc query_get_job(struct db *db, struct arena *a, long id,
    struct query_job *j) PGS_MUSTCHECK;

#endif
