/*
 * t_conf.c: defaults, value checks, env file syntax and precedence,
 * masking of secrets.  Each test runs in a fresh temporary directory with
 * every pg-sched variable removed from the environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/conf.h"

static const char *const names[] = {
	"PG_DSN_APP",
	"PG_DSN_RUNNER",
	"PUBLIC_KEY_B64_PATH",
	"APP_PRIVATE_KEY_B64_PATH",
	"ARGON2_SECRET_KEY_B64",
	"DB_CONNECT_TIMEOUT_S",
	"SESSION_TTL_HOURS",
	"SESSION_EXTEND_ON_USE_MIN",
	"ALLOWED_ROLES",
	"TRUST_PROXY",
	"CORS_ALLOWED_ORIGINS",
	"RUNS_PUBLIC",
	"MAX_BODY_BYTES",
	"LOGIN_MAX_FAILS_PER_ACCOUNT",
	"LOGIN_MAX_FAILS_PER_CLIENT",
	"LOGIN_THROTTLE_WINDOW_MIN",
	"DEFAULT_QUERY_INTERVAL",
	"RUNNER_CONCURRENCY",
	"RUNNER_DEFAULT_TIMEOUT_MS",
	"SOURCE_CONNECT_TIMEOUT_S",
	"RESULT_MAX_ROWS",
	"RESULT_MAX_BYTES",
	"RUNS_KEEP_DAYS",
	"APP_NAME",
	"LOG_DIR",
	"RFC_ENTERPRISE_ID",
	"ROTATE_UTC",
	"GZIP_AFTER_DAYS",
	"KEEP_DAYS",
	"MAX_LOG_BYTES",
	"REDACT_KEYS",
	"LOG_LEVEL",
	"ALLOW_CORE_DUMPS",
	"PGSCHED_ENV_FILE",
	"NOTIFY_TIMEOUT_MS",
	"NOTIFY_CONCURRENCY",
	"NOTIFY_GIVE_UP_HOURS",
	"NOTIFY_ROTATE_OVERLAP_HOURS",
	"NOTIFY_ALLOW_HOSTS",
	"SMTP_URL",
	"SMTP_FROM",
	"SMTP_STARTTLS",
	"SMTP_CA_FILE",
	NULL,
};

/* 32, 31, 64 and 65 zero bytes in standard base64 */
#define A40    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define B64_32 A40 "AAA="
#define B64_31 A40 "AA=="
#define B64_64 A40 A40 "AAAAAA=="
#define B64_65 A40 A40 "AAAAAAA="

static char topdir[PATH_MAX];

static int
setup(void **state)
{
	char   tmpl[] = "/tmp/t_conf.XXXXXX";
	size_t i;

	(void)state;
	for (i = 0; names[i] != NULL; i++)
		unsetenv(names[i]);
	if (mkdtemp(tmpl) == NULL || chdir(tmpl) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16], cwd[PATH_MAX];

	(void)state;
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(topdir) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cwd);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Loads with env_file and expects failure with exactly `want` in err. */
static void
load_fails(const char *env_file, const char *want)
{
	struct conf c;
	char	    err[512] = "";

	assert_int_equal(conf_load(&c, env_file, err, sizeof(err)),
	    PGS_INVALID);
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	assert_null(c.app_name); /* freed on failure */
}

/* Sets name=value in the environment and expects failure with want. */
static void
env_fails(const char *name, const char *value, const char *want)
{
	setenv(name, value, 1);
	load_fails(NULL, want);
	unsetenv(name);
}

static void
env_ok(const char *name, const char *value, struct conf *c)
{
	char err[512] = "";

	setenv(name, value, 1);
	if (conf_load(c, NULL, err, sizeof(err)) != PGS_OK)
		fail_msg("%s=%s rejected: %s", name, value, err);
	unsetenv(name);
}

static void
t_defaults(void **state)
{
	struct conf c;
	char	    err[256] = "";

	(void)state;
	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), PGS_OK);
	assert_null(c.pg_dsn_app);
	assert_string_equal(c.public_key_path, "./public_key.base64");
	assert_null(c.private_key_path);
	assert_null(c.argon2_secret_b64);
	assert_int_equal(c.session_ttl_hours, 72);
	assert_int_equal(c.session_extend_min, 60);
	assert_string_equal(c.allowed_roles, "viewer,editor,admin");
	assert_int_equal(c.default_query_interval, 21600);
	assert_string_equal(c.app_name, "pgsched-api");
	assert_string_equal(c.log_dir, "./logs");
	assert_int_equal(c.rfc_enterprise_id, 32473);
	assert_true(c.rotate_utc);
	assert_int_equal(c.gzip_after_days, 7);
	assert_int_equal(c.keep_days, 200);
	assert_int_equal(c.max_log_bytes, 4096);
	assert_string_equal(c.redact_keys,
	    "password,new_password,"
	    "current_password,token,authorization,secret");
	assert_true(c.trust_proxy);
	assert_string_equal(c.cors_allowed_origins, "*");
	assert_int_equal(c.runs_keep_days, 90);
	assert_int_equal(c.runner_timeout_ms, 300000);
	assert_int_equal(c.result_max_rows, 10000);
	assert_int_equal(c.result_max_bytes, 8388608);
	assert_true(c.runs_public);
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.login_fails_account, 10);
	assert_int_equal(c.login_fails_client, 50);
	assert_int_equal(c.login_window_min, 15);
	assert_int_equal(c.notify_timeout_ms, 10000);
	assert_int_equal(c.notify_concurrency, 16);
	assert_int_equal(c.notify_give_up_hours, 24);
	assert_int_equal(c.notify_rotate_overlap_hours, 24);
	assert_null(c.notify_allow_hosts);
	assert_null(c.smtp_url);
	assert_null(c.smtp_from);
	assert_true(c.smtp_starttls);
	assert_null(c.smtp_ca_file);
	assert_int_equal(c.db_connect_timeout_s, 5);
	assert_int_equal(c.source_connect_timeout_s, 10);
	assert_int_equal(c.runner_concurrency, 8);
	assert_string_equal(c.log_level, "info");
	assert_false(c.allow_core_dumps);
	assert_int_equal(conf_require(&c, "PG_DSN_APP", err, sizeof(err)),
	    PGS_INVALID);
	assert_string_equal(err,
	    "PG_DSN_APP is not set (set it in the "
	    "environment or the env file)");
	assert_int_equal(conf_require(&c, "SESSION_TTL_HOURS", err,
			     sizeof(err)),
	    PGS_OK);
	assert_int_equal(conf_require(&c, "NO_SUCH", err, sizeof(err)),
	    PGS_INVALID);
	conf_free(&c);
	assert_null(c.app_name);
}

static void
t_type_errors(void **state)
{
	struct conf c;

	(void)state;
	env_fails("SESSION_TTL_HOURS", "12x",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"12x\")");
	env_fails("SESSION_TTL_HOURS", " 12",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \" 12\")");
	env_fails("SESSION_TTL_HOURS", "+12",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"+12\")");
	env_fails("SESSION_TTL_HOURS", "1.5",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"1.5\")");
	env_fails("SESSION_TTL_HOURS", "-",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"-\")");
	env_fails("MAX_BODY_BYTES", "99999999999999999999",
	    "MAX_BODY_BYTES "
	    "must be an integer in 1024..268435456 (got "
	    "\"99999999999999999999\")");
	env_fails("RFC_ENTERPRISE_ID", "4294967296",
	    "RFC_ENTERPRISE_ID must "
	    "be an integer in 1..2147483647 (got \"4294967296\")");
	env_fails("TRUST_PROXY", "maybe",
	    "TRUST_PROXY must be 1/0, "
	    "true/false, yes/no or on/off (got \"maybe\")");
	env_fails("TRUST_PROXY", "2",
	    "TRUST_PROXY must be 1/0, true/false, "
	    "yes/no or on/off (got \"2\")");
	env_fails("ALLOWED_ROLES", "viewer,root",
	    "ALLOWED_ROLES must be a "
	    "comma list of viewer, editor, admin (got \"viewer,root\")");
	env_fails("ALLOWED_ROLES", "viewer,,admin",
	    "ALLOWED_ROLES must be a "
	    "comma list of viewer, editor, admin (got \"viewer,,admin\")");
	env_fails("LOG_LEVEL", "verbose",
	    "LOG_LEVEL must be one of error, "
	    "warn, info, debug (got \"verbose\")");
	env_fails("APP_NAME", "my app",
	    "APP_NAME must be printable ASCII "
	    "without spaces (RFC 5424 APP-NAME) (got \"my app\")");
	env_fails("APP_NAME", "a\tb",
	    "APP_NAME must not contain control "
	    "characters (got \"a?b\")");
	env_fails("CORS_ALLOWED_ORIGINS", "https://a.example/",
	    "CORS_ALLOWED_ORIGINS must be * or a comma list of origins like "
	    "https://dash.example.com (scheme://host[:port], no path) "
	    "(got \"https://a.example/\")");
	env_fails("CORS_ALLOWED_ORIGINS", "*,https://a.example",
	    "CORS_ALLOWED_ORIGINS must be * or a comma list of origins like "
	    "https://dash.example.com (scheme://host[:port], no path) "
	    "(got \"*,https://a.example\")");
	env_fails("REDACT_KEYS", "password,,token",
	    "REDACT_KEYS has an "
	    "empty element in its comma list (got \"password,,token\")");

	env_ok("TRUST_PROXY", "off", &c);
	assert_false(c.trust_proxy);
	conf_free(&c);
	env_ok("RUNS_PUBLIC", "False", &c);
	assert_false(c.runs_public);
	conf_free(&c);
	env_ok("ROTATE_UTC", "yes", &c);
	assert_true(c.rotate_utc);
	conf_free(&c);
	env_ok("ALLOWED_ROLES", " viewer , admin ", &c);
	assert_true(conf_list_has(c.allowed_roles, "admin"));
	assert_false(conf_list_has(c.allowed_roles, "editor"));
	conf_free(&c);
	env_ok("CORS_ALLOWED_ORIGINS", "https://a.example,http://b:8080", &c);
	assert_true(conf_list_has(c.cors_allowed_origins, "http://b:8080"));
	conf_free(&c);
	/* an empty value means "not set": the default applies */
	env_ok("SESSION_TTL_HOURS", "", &c);
	assert_int_equal(c.session_ttl_hours, 72);
	conf_free(&c);
	env_ok("RESULT_MAX_BYTES", "267386880", &c);
	assert_int_equal(c.result_max_bytes, 267386880L);
	conf_free(&c);
}

static void
t_ranges(void **state)
{
	struct conf c;

	(void)state;
	env_fails("DEFAULT_QUERY_INTERVAL", "59",
	    "DEFAULT_QUERY_INTERVAL "
	    "must be an integer in 60..31622400 (got \"59\")");
	env_ok("DEFAULT_QUERY_INTERVAL", "60", &c);
	assert_int_equal(c.default_query_interval, 60);
	conf_free(&c);
	env_fails("SESSION_TTL_HOURS", "0",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"0\")");
	env_fails("SESSION_TTL_HOURS", "-1",
	    "SESSION_TTL_HOURS must be an "
	    "integer in 1..8760 (got \"-1\")");
	env_fails("RUNNER_CONCURRENCY", "257",
	    "RUNNER_CONCURRENCY must be "
	    "an integer in 1..256 (got \"257\")");
	env_fails("MAX_LOG_BYTES", "63",
	    "MAX_LOG_BYTES must be an integer "
	    "in 64..32768 (got \"63\")");
	env_fails("KEEP_DAYS", "0",
	    "KEEP_DAYS must be an integer in "
	    "1..36500 (got \"0\")");
	env_fails("RESULT_MAX_BYTES", "267386881",
	    "RESULT_MAX_BYTES must be "
	    "an integer in 1024..267386880 (got \"267386881\")");
	env_ok("RUNS_KEEP_DAYS", "0", &c);
	assert_int_equal(c.runs_keep_days, 0);
	conf_free(&c);
	env_ok("SESSION_TTL_HOURS", "8760", &c);
	assert_int_equal(c.session_ttl_hours, 8760);
	conf_free(&c);
}

/* The notification settings (deliver.h, ssrf.h, mail.h). */
static void
t_notify(void **state)
{
	struct conf c;

	(void)state;
	env_fails("NOTIFY_TIMEOUT_MS", "99",
	    "NOTIFY_TIMEOUT_MS must be an "
	    "integer in 100..120000 (got \"99\")");
	env_fails("NOTIFY_GIVE_UP_HOURS", "0",
	    "NOTIFY_GIVE_UP_HOURS must be "
	    "an integer in 1..720 (got \"0\")");
	env_fails("NOTIFY_CONCURRENCY", "257",
	    "NOTIFY_CONCURRENCY must be an "
	    "integer in 1..256 (got \"257\")");
	env_fails("NOTIFY_ROTATE_OVERLAP_HOURS", "721",
	    "NOTIFY_ROTATE_OVERLAP_HOURS must be an integer in 0..720 "
	    "(got \"721\")");
	env_fails("NOTIFY_ALLOW_HOSTS", "10.0.0.1/8",
	    "NOTIFY_ALLOW_HOSTS "
	    "element \"10.0.0.1/8\" has bits set past its prefix length "
	    "(got \"10.0.0.1/8\")");
	env_fails("NOTIFY_ALLOW_HOSTS", "a.example,*.b",
	    "NOTIFY_ALLOW_HOSTS "
	    "element \"*.b\" is not a host name, an IP address or a CIDR "
	    "network (got \"a.example,*.b\")");
	env_fails("SMTP_URL", "http://u:hunter2@mail.example/",
	    "SMTP_URL "
	    "must be an smtp:// or smtps:// URL");
	env_fails("SMTP_URL", "smtps://u:hunter2@/",
	    "SMTP_URL is not a "
	    "valid smtp:// or smtps:// URL with a host");
	env_fails("SMTP_FROM", "Ops <ops@example.com>",
	    "SMTP_FROM must be a "
	    "plain address like pgsched@example.com (got \"Ops "
	    "<ops@example.com>\")");
	env_fails("SMTP_CA_FILE", "/nonexistent/ca.pem",
	    "SMTP_CA_FILE "
	    "cannot be read: No such file or directory (got "
	    "\"/nonexistent/ca.pem\")");
	env_fails("SMTP_STARTTLS", "sometimes",
	    "SMTP_STARTTLS must be 1/0, "
	    "true/false, yes/no or on/off (got \"sometimes\")");
	env_ok("NOTIFY_ALLOW_HOSTS", " hooks.example.com , 10.0.0.0/8,::1 ",
	    &c);
	assert_string_equal(c.notify_allow_hosts,
	    " hooks.example.com , 10.0.0.0/8,::1 ");
	conf_free(&c);
	env_ok("SMTP_URL", "smtps://alerts:p%40ss@mail.example:465", &c);
	assert_string_equal(c.smtp_url,
	    "smtps://alerts:p%40ss@mail.example:465");
	conf_free(&c);
	env_ok("SMTP_STARTTLS", "0", &c);
	assert_false(c.smtp_starttls);
	conf_free(&c);
}

static void
t_pepper(void **state)
{
	struct conf   c;
	unsigned char raw[64];
	size_t	      len;

	(void)state;
	env_fails("ARGON2_SECRET_KEY_B64", "c2VjcmV0!!",
	    "ARGON2_SECRET_KEY_B64 is not valid standard base64");
	env_fails("ARGON2_SECRET_KEY_B64", B64_31,
	    "ARGON2_SECRET_KEY_B64 "
	    "must decode to 32-64 bytes, not 31");
	env_fails("ARGON2_SECRET_KEY_B64", B64_65,
	    "ARGON2_SECRET_KEY_B64 "
	    "must decode to 32-64 bytes, not 65");
	/* unpadded, url-safe alphabet and non-canonical padding bits */
	env_fails("ARGON2_SECRET_KEY_B64", A40 "AAA",
	    "ARGON2_SECRET_KEY_B64 is not valid standard base64");
	env_fails("ARGON2_SECRET_KEY_B64", "_" A40 "AA=",
	    "ARGON2_SECRET_KEY_B64 is not valid standard base64");
	env_fails("ARGON2_SECRET_KEY_B64",
	    A40 "AAB=", "ARGON2_SECRET_KEY_B64 is not valid standard base64");
	env_ok("ARGON2_SECRET_KEY_B64", B64_32, &c);
	assert_int_equal(conf_pepper(&c, raw, sizeof(raw), &len), PGS_OK);
	assert_int_equal(len, 32);
	conf_free(&c);
	env_ok("ARGON2_SECRET_KEY_B64", B64_64, &c);
	assert_int_equal(conf_pepper(&c, raw, sizeof(raw), &len), PGS_OK);
	assert_int_equal(len, 64);
	conf_free(&c);
	/* "0123456789abcdef0123456789abcdef" */
	env_ok("ARGON2_SECRET_KEY_B64",
	    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", &c);
	assert_int_equal(conf_pepper(&c, raw, sizeof(raw), &len), PGS_OK);
	assert_memory_equal(raw, "0123456789abcdef0123456789abcdef", 32);
	conf_free(&c);
	assert_int_equal(conf_pepper(&c, raw, sizeof(raw), &len), PGS_NOTFOUND);
}

static void
t_env_file_syntax(void **state)
{
	struct conf c;
	char	    err[512] = "";

	(void)state;
	write_file("app.env",
	    "# comment\n"
	    "\n"
	    "   \t\n"
	    "export PG_DSN_APP=\"host=db password='p w' dbname=x\"\n"
	    "APP_NAME = pgsched-test   # trailing comment\n"
	    "LOG_DIR='/var/log/pg sched'\n"
	    "REDACT_KEYS=\"a\\\"b,c\\\\d\"  # quoted with escapes\n"
	    "PUBLIC_KEY_B64_PATH=/etc/k#not-a-comment\r\n"
	    "SESSION_TTL_HOURS=24\n"
	    "SESSION_TTL_HOURS=48\n"
	    "  export\tKEEP_DAYS=30");
	if (conf_load(&c, "app.env", err, sizeof(err)) != PGS_OK)
		fail_msg("%s", err);
	assert_string_equal(c.pg_dsn_app, "host=db password='p w' dbname=x");
	assert_string_equal(c.app_name, "pgsched-test");
	assert_string_equal(c.log_dir, "/var/log/pg sched");
	assert_string_equal(c.redact_keys, "a\"b,c\\d");
	assert_string_equal(c.public_key_path, "/etc/k#not-a-comment");
	assert_int_equal(c.session_ttl_hours, 48); /* last line wins */
	assert_int_equal(c.keep_days, 30);
	conf_free(&c);

	write_file("bad1.env", "APP_NAME=x\nthis is not an assignment\n");
	load_fails("bad1.env", "bad1.env:2: expected KEY=VALUE");
	write_file("bad2.env", "\n\nAPP_NAME x\n");
	load_fails("bad2.env", "bad2.env:3: expected KEY=VALUE");
	write_file("bad3.env", "SESION_TTL_HOURS=3\n");
	load_fails("bad3.env", "bad3.env:1: unknown variable SESION_TTL_HOURS");
	write_file("bad4.env", "APP_NAME=\"pgsched\n");
	load_fails("bad4.env",
	    "bad4.env:1: APP_NAME: unterminated quoted "
	    "value");
	write_file("bad5.env", "APP_NAME='a' b\n");
	load_fails("bad5.env",
	    "bad5.env:1: APP_NAME: text after the closing "
	    "quote");
	write_file("bad6.env", "=value\n");
	load_fails("bad6.env", "bad6.env:1: expected KEY=VALUE");
	write_file("bad7.env", "1ABC=value\n");
	load_fails("bad7.env", "bad7.env:1: expected KEY=VALUE");
	/* a bad value names the variable and file:line */
	write_file("bad8.env", "# x\nKEEP_DAYS=forever\n");
	load_fails("bad8.env",
	    "KEEP_DAYS must be an integer in 1..36500 "
	    "(got \"forever\") at bad8.env:2");
	load_fails("missing.env",
	    "missing.env: cannot read env file: No such "
	    "file or directory");
}

static void
t_env_file_choice(void **state)
{
	struct conf c;
	char	    err[512] = "";

	(void)state;
	/* ./.env is read when present */
	write_file(".env", "APP_NAME=from-dot-env\nKEEP_DAYS=11\n");
	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), PGS_OK);
	assert_string_equal(c.app_name, "from-dot-env");
	conf_free(&c);
	/* $PGSCHED_ENV_FILE wins over ./.env */
	write_file("other.env", "APP_NAME=from-other\n");
	setenv("PGSCHED_ENV_FILE", "other.env", 1);
	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), PGS_OK);
	assert_string_equal(c.app_name, "from-other");
	assert_int_equal(c.keep_days, 200);
	conf_free(&c);
	/* the argument wins over both */
	write_file("arg.env", "APP_NAME=from-arg\n");
	assert_int_equal(conf_load(&c, "arg.env", err, sizeof(err)), PGS_OK);
	assert_string_equal(c.app_name, "from-arg");
	conf_free(&c);
	/* the environment wins over the file; empty falls through */
	setenv("APP_NAME", "from-env", 1);
	assert_int_equal(conf_load(&c, "arg.env", err, sizeof(err)), PGS_OK);
	assert_string_equal(c.app_name, "from-env");
	conf_free(&c);
	setenv("APP_NAME", "", 1);
	assert_int_equal(conf_load(&c, "arg.env", err, sizeof(err)), PGS_OK);
	assert_string_equal(c.app_name, "from-arg");
	conf_free(&c);
	/* a bad environment value does not cite the file */
	setenv("KEEP_DAYS", "x", 1);
	load_fails("arg.env",
	    "KEEP_DAYS must be an integer in 1..36500 "
	    "(got \"x\")");
	unsetenv("KEEP_DAYS");
	setenv("PGSCHED_ENV_FILE", "nope.env", 1);
	load_fails(NULL,
	    "nope.env: cannot read env file: No such file or "
	    "directory");
}

static char *
print_conf(const struct conf *c)
{
	char  *text = NULL, *copy;
	size_t len = 0;
	FILE  *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	conf_print(c, fp);
	fclose(fp);
	/* A heap copy: gcc 12 cannot see that open_memstream's buffer
	 * outlives this frame and warns about a dangling pointer. */
	copy = strdup(text);
	free(text);
	assert_non_null(copy);
	return copy;
}

/* conf_mask_dsn(dsn) must be want, the form conf_print shows. */
static void
check_dsn_mask(const char *dsn, const char *want)
{
	char *got;

	got = conf_mask_dsn(dsn);
	if (strcmp(got, want) != 0)
		fail_msg("%s masked as %s, want %s", dsn, got, want);
	free(got);
}

static void
t_masking(void **state)
{
	struct conf c;
	char	   *text;
	char	    err[512] = "";

	(void)state;
	check_dsn_mask("postgresql://app:s3cr%40t@db.example:5432/meta",
	    "postgresql://app:***@db.example:5432/meta");
	check_dsn_mask("postgres://app:p@ss@db/meta?sslmode=require",
	    "postgres://app:***@db/meta?sslmode=require");
	check_dsn_mask("postgresql://app@db/meta?password=s3cr&sslmode=x",
	    "postgresql://app@db/meta?password=***&sslmode=x");
	check_dsn_mask("postgresql:///meta?host=/run/pg",
	    "postgresql:///meta?host=/run/pg");
	check_dsn_mask("host=db user=app password=s3cr dbname=meta",
	    "host=db user=app password=*** dbname=meta");
	check_dsn_mask("host=db password = 'a \\' b' dbname=meta",
	    "host=db password=*** dbname=meta");
	check_dsn_mask("dbname=meta", "dbname=meta");
	check_dsn_mask("host=db garbage password", "host=db ***");
	/* libpq reads the password up to the '@', even across ? and #. */
	check_dsn_mask("postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db");
	check_dsn_mask("postgresql://u:p#ss@h/db", "postgresql://u:***@h/db");
	check_dsn_mask("postgresql://u:p@h?password=x@y",
	    "postgresql://u:***@y");

	setenv("ARGON2_SECRET_KEY_B64", B64_32, 1);
	setenv("PG_DSN_APP", "postgresql://u:hunter2@h/d", 1);
	setenv("PG_DSN_RUNNER", "postgresql://r:swordfish@h/d", 1);
	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), PGS_OK);
	text = print_conf(&c);
	assert_non_null(strstr(text, "ARGON2_SECRET_KEY_B64=***\n"));
	assert_null(strstr(text, B64_32));
	assert_null(strstr(text, "hunter2"));
	assert_null(strstr(text, "swordfish"));
	assert_non_null(strstr(text, "PG_DSN_RUNNER=postgresql://r:***@h/d\n"));
	assert_non_null(strstr(text, "SESSION_TTL_HOURS=72\n"));
	assert_non_null(strstr(text, "TRUST_PROXY=1\n"));
	assert_non_null(strstr(text, "APP_PRIVATE_KEY_B64_PATH=\n"));
	free(text);
	conf_free(&c);

	/* SMTP_URL: the password masked, the rest shown */
	setenv("SMTP_URL", "smtp://alerts:hunter3@mail.example:587/", 1);
	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), PGS_OK);
	text = print_conf(&c);
	assert_null(strstr(text, "hunter3"));
	assert_non_null(
	    strstr(text, "SMTP_URL=smtp://alerts:***@mail.example:587/\n"));
	free(text);
	conf_free(&c);
	unsetenv("SMTP_URL");
	text = conf_mask_url("smtps://u:a%40b@h:465/?password=x&y=1");
	assert_string_equal(text, "smtps://u:***@h:465/?password=***&y=1");
	free(text);
	text = conf_mask_url("smtp://h:25");
	assert_string_equal(text, "smtp://h:25");
	free(text);
}

/*
 * A PG_DSN_APP that libpq cannot read, or reads with the password out of
 * place, stops the load with a line that names the variable and shows
 * no part of the password (libpq's own message quotes the bad part).
 */
static void
t_dsn_malformed(void **state)
{
	static const struct {
		const char *dsn, *secret, *want;
	} bad[] = {
		{ "postgresql://u:p%zzw@h/db", "zzw",
		    "invalid percent-encoded "
		    "token: \"***\"" },
		{ "postgresql+psycopg2://u:p%zzw@h/db", "zzw", "\"***\"" },
		{ "postgresql://u:p%00w@h/db", "p%00w", "forbidden value" },
		{ "postgresql://u:p@h/db?password=x%zzy", "zzy", "\"***\"" },
		{ "postgresql://u:pw@[h/db", "pw@", "matching \"]\"" },
		{ "postgresql://u:pw\"x%zz@h/db", "pw",
		    "(the value is not "
		    "shown)" },
		{ "host=h password=pa ssw", "ssw",
		    "missing \"=\" after "
		    "\"***\"" },
		{ "host=h password='unterminated", "unterminated'", "quoted" },
		{ "postgresql://u:p@ss@h/db", "ss@", "more than one '@'" },
		{ "postgresql://u:pa/ss@h/db", "pa/ss", "after the first '/'" },
	};
	struct conf c;
	char	    err[512];
	size_t	    i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("PG_DSN_APP", bad[i].dsn, 1);
		err[0] = '\0';
		if (conf_load(&c, NULL, err, sizeof(err)) != PGS_INVALID)
			fail_msg("%s accepted", bad[i].dsn);
		if (strncmp(err, "PG_DSN_APP ", 11) != 0 ||
		    strstr(err, bad[i].want) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].dsn, err,
			    bad[i].want);
		if (strstr(err, bad[i].secret) != NULL)
			fail_msg("%s: \"%s\" shows \"%s\"", bad[i].dsn, err,
			    bad[i].secret);
	}
	unsetenv("PG_DSN_APP");
	write_file("bad.env", "PG_DSN_APP=postgresql://u:p%zzw@h/db\n");
	load_fails("bad.env",
	    "PG_DSN_APP is not a valid connection string: "
	    "invalid percent-encoded token: \"***\" at bad.env:1");
	env_ok("PG_DSN_APP", "postgresql://u:p%40ss@h/db?sslmode=disable", &c);
	conf_free(&c);
	env_ok("PG_DSN_APP", "host=h password='p w' dbname=d", &c);
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(t_type_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pepper, setup, teardown),
		cmocka_unit_test_setup_teardown(t_env_file_syntax, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_env_file_choice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(t_dsn_malformed, setup,
		    teardown),
	};

	if (getcwd(topdir, sizeof(topdir)) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
