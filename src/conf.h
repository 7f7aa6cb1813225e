/*
 * conf.h: the settings of pg-sched, read from the environment, optionally
 * loaded from an env file first.  One static table in conf.c describes
 * every variable: name, type, default, range.
 */
#ifndef PGS_CONF_H
#define PGS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

struct conf {
	/* metadata database and secrets */
	char *pg_dsn_app;	    /* PG_DSN_APP, required by most verbs */
	char *pg_dsn_runner;	    /* PG_DSN_RUNNER: the pool's runners */
	char *public_key_path;	    /* PUBLIC_KEY_B64_PATH */
	char *private_key_path;	    /* APP_PRIVATE_KEY_B64_PATH */
	char *argon2_secret_b64;    /* ARGON2_SECRET_KEY_B64 (32-64 bytes) */
	int   db_connect_timeout_s; /* DB_CONNECT_TIMEOUT_S */

	/* sessions, users, API */
	int   session_ttl_hours;    /* SESSION_TTL_HOURS */
	int   session_extend_min;   /* SESSION_EXTEND_ON_USE_MIN */
	char *allowed_roles;	    /* ALLOWED_ROLES, comma list */
	bool  trust_proxy;	    /* TRUST_PROXY */
	char *cors_allowed_origins; /* CORS_ALLOWED_ORIGINS, comma list */
	bool  runs_public;	    /* RUNS_PUBLIC */
	int   token_max_days;	    /* TOKEN_MAX_DAYS */
	long  max_body_bytes;	    /* MAX_BODY_BYTES */
	int   login_fails_account;  /* LOGIN_MAX_FAILS_PER_ACCOUNT */
	int   login_fails_client;   /* LOGIN_MAX_FAILS_PER_CLIENT */
	int   login_window_min;	    /* LOGIN_THROTTLE_WINDOW_MIN */

	/* scheduling and execution */
	int  default_query_interval;   /* DEFAULT_QUERY_INTERVAL, seconds */
	int  runner_concurrency;       /* RUNNER_CONCURRENCY */
	int  runner_timeout_ms;	       /* RUNNER_DEFAULT_TIMEOUT_MS */
	int  source_connect_timeout_s; /* SOURCE_CONNECT_TIMEOUT_S */
	int  runner_net_timeout_s;     /* RUNNER_NET_TIMEOUT_S */
	int  result_max_rows;	       /* RESULT_MAX_ROWS */
	long result_max_bytes;	       /* RESULT_MAX_BYTES */
	long runner_memory_max_mb;     /* RUNNER_MEMORY_MAX_MB, 0: no cap */
	int  runs_keep_days;	       /* RUNS_KEEP_DAYS */

	/* notifications (deliver.h) */
	int   notify_timeout_ms;	   /* NOTIFY_TIMEOUT_MS */
	int   notify_concurrency;	   /* NOTIFY_CONCURRENCY */
	int   notify_give_up_hours;	   /* NOTIFY_GIVE_UP_HOURS */
	int   notify_rotate_overlap_hours; /* NOTIFY_ROTATE_OVERLAP_HOURS */
	char *notify_allow_hosts;	   /* NOTIFY_ALLOW_HOSTS, comma list */
	char *smtp_url;			   /* SMTP_URL (may hold a password) */
	char *smtp_from;		   /* SMTP_FROM */
	bool  smtp_starttls;		   /* SMTP_STARTTLS */
	char *smtp_ca_file;		   /* SMTP_CA_FILE */
	char *public_url; /* PUBLIC_URL: links in notifications */

	/* logging */
	char *app_name;		 /* APP_NAME */
	char *log_dir;		 /* LOG_DIR */
	int   rfc_enterprise_id; /* RFC_ENTERPRISE_ID */
	bool  rotate_utc;	 /* ROTATE_UTC */
	int   gzip_after_days;	 /* GZIP_AFTER_DAYS */
	int   keep_days;	 /* KEEP_DAYS */
	int   max_log_bytes;	 /* MAX_LOG_BYTES */
	char *redact_keys;	 /* REDACT_KEYS, comma list */
	char *log_level;	 /* LOG_LEVEL: error|warn|info|debug */

	/* debugging */
	bool allow_core_dumps; /* ALLOW_CORE_DUMPS (coredump.h) */
};

/*
 * Loads the settings: first the env file (env_file if not NULL, else
 * $PGSCHED_ENV_FILE, else ./.env when it exists; variables already in the
 * environment win over the file), then the environment, then defaults.
 * On a bad value, writes one line naming the variable (and file:line when
 * it came from the file) into err and returns PGS_INVALID.  The conf owns
 * its strings; conf_free() releases them.
 */
enum pgs_rc conf_load(struct conf *c, const char *env_file, char *err,
    size_t errlen) PGS_MUSTCHECK;
void	    conf_free(struct conf *c);
/*
 * Checks that the variable `name` has a non-empty value; if not, writes
 * "NAME is not set (...)" into err and returns PGS_INVALID.
 */
enum pgs_rc conf_require(const struct conf *c, const char *name, char *err,
    size_t errlen) PGS_MUSTCHECK;
/*
 * Writes every effective setting, one "NAME=value" per line, secrets
 * masked, to fp (used by `pgsched-admin config check`).
 */
void conf_print(const struct conf *c, void *fp);
/*
 * Decodes ARGON2_SECRET_KEY_B64 (standard base64, checked at load) into
 * out (cap >= 64 bytes), the caller's buffer, which it wipes after use.
 * Returns PGS_NOTFOUND when unset, PGS_INVALID when it does not fit.
 */
enum pgs_rc conf_pepper(const struct conf *c, unsigned char *out, size_t cap,
    size_t *len) PGS_MUSTCHECK;
/*
 * Returns a copy of a connection string (URL or keyword=value form) with
 * every password replaced by ***; text that does not parse as conninfo
 * is replaced by *** from that point.  The caller frees the result.
 */
char *conf_mask_dsn(const char *dsn);
/*
 * Returns a copy of a URL (scheme://user:password@host/...?password=...)
 * with the password of its user part and of a password= parameter
 * replaced by ***.  The caller frees the result.
 */
char *conf_mask_url(const char *url);
/* true when name is an element of the comma list (spaces trimmed). */
bool conf_list_has(const char *list, const char *name);

#endif
