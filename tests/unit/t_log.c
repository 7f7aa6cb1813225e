/*
 * t_log.c: RFC 5424 line format (checked by tests/py/rfc5424.py), the
 * key=value convention, escaping, redaction, truncation, day files with
 * an injected clock, dropped lines, concurrent appenders, retention.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "../../src/log.h"

static char	       topdir[PATH_MAX], validator[PATH_MAX + 64];
static char	       host[256], logdir[PATH_MAX];
static struct timespec fake;
static struct conf     conf;

static void
fake_now(struct timespec *ts)
{
	*ts = fake;
}

/* Sets the fake clock to a UTC date and time. */
static void
set_clock(int y, int mo, int d, int h, int mi, int s, long usec)
{
	struct tm tm = { .tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_sec = s };

	fake.tv_sec = timegm(&tm);
	fake.tv_nsec = usec * 1000;
}

static int
setup(void **state)
{
	char tmpl[] = "/tmp/t_log.XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL || chdir(tmpl) != 0)
		return -1;
	snprintf(logdir, sizeof(logdir), "%s/logs", tmpl);
	memset(&conf, 0, sizeof(conf));
	conf.log_dir = logdir;
	conf.app_name = "pgsched-api";
	conf.rfc_enterprise_id = 32473;
	conf.rotate_utc = true;
	conf.max_log_bytes = 4096;
	conf.gzip_after_days = 7;
	conf.keep_days = 200;
	conf.redact_keys = "password,new_password,current_password,token,"
			   "authorization,secret";
	conf.log_level = "info";
	set_clock(2026, 11, 22, 23, 1, 2, 123456);
	log_set_clock(fake_now);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16], cwd[PATH_MAX];

	(void)state;
	log_close();
	log_set_clock(NULL);
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(topdir) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cwd);
	return system(cmd) == 0 ? 0 : -1;
}

/* Returns the whole file (caller frees) or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long  n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

static char *
day_file(const char *day)
{
	static char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/pgsched-%s.log", logdir, day);
	return path;
}

static void
validate(const char *path)
{
	const char *py = getenv("PYTHON");
	char	    cmd[3 * PATH_MAX + 128];

	/* $PYTHON (set by the build) or python3 from PATH */
	snprintf(cmd, sizeof(cmd), "'%s' '%s' --utf8-msg '%s' >/dev/null",
	    py != NULL ? py : "python3", validator, path);
	if (system(cmd) != 0)
		fail_msg("rfc5424.py rejected %s", path);
}

/* Returns the last line of today's file (static), after "MSGID ". */
static const char *
last_tail(const char *msgid)
{
	static char line[LOG_LINE_MAX + 1];
	char	   *text, *p, *e, pfx[64];

	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(text);
	e = text + strlen(text);
	assert_true(e > text && e[-1] == '\n');
	e[-1] = '\0';
	p = strrchr(text, '\n');
	p = p == NULL ? text : p + 1;
	snprintf(pfx, sizeof(pfx), " %d %s ", (int)getpid(), msgid);
	p = strstr(p, pfx);
	assert_non_null(p);
	snprintf(line, sizeof(line), "%s", p + strlen(pfx));
	free(text);
	return line;
}

#define TAIL(msgid, want) \
	do { \
		const char *got_ = last_tail(msgid); \
		if (strcmp(got_, (want)) != 0) \
			fail_msg("line %d:\n got  %s\n want %s", __LINE__, \
			    got_, (want)); \
	} while (0)

static void
t_format(void **state)
{
	char want[2048], *text;

	(void)state;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_info("run_finish", "run=%ld query=%ld status=%s done in %d ms", 42L,
	    7L, "success", 12);
	log_err("db_error", "rc=%s", "timeout");
	log_warn("plain", "no parameters here");
	log_debug("hidden", "debug is below LOG_LEVEL=info");
	set_clock(2026, 11, 22, 23, 59, 59, 7);
	log_info("late", "%s", "");
	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(text);
	snprintf(want, sizeof(want),
	    "<134>1 2026-11-22T23:01:02.123456Z %s pgsched-test %d run_finish "
	    "[pgsched@32473 run=\"42\" query=\"7\" status=\"success\"] "
	    "done in 12 ms\n"
	    "<131>1 2026-11-22T23:01:02.123456Z %s pgsched-test %d db_error "
	    "[pgsched@32473 rc=\"timeout\"]\n"
	    "<132>1 2026-11-22T23:01:02.123456Z %s pgsched-test %d plain - "
	    "no parameters here\n"
	    "<134>1 2026-11-22T23:59:59.000007Z %s pgsched-test %d late -\n",
	    host, (int)getpid(), host, (int)getpid(), host, (int)getpid(), host,
	    (int)getpid());
	assert_string_equal(text, want);
	free(text);
	validate(day_file("2026-11-22"));
	assert_int_equal(log_dropped(), 0); /* the first test */
}

static void
t_app_default(void **state)
{
	char *text;

	(void)state;
	conf.rfc_enterprise_id = 99;
	log_open(&conf, NULL, LOG_TO_FILE);
	log_info("ev", "a=1");
	log_close();
	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(strstr(text, " pgsched-api "));
	free(text);
	TAIL("ev", "[pgsched@99 a=\"1\"]");
}

static void
t_sd_convention(void **state)
{
	(void)state;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_info("e", "a=1 b=\"x y\" the rest a=2");
	TAIL("e", "[pgsched@32473 a=\"1\" b=\"x y\"] the rest a=2");
	log_info("e", "a=1   b=2   spaced");
	TAIL("e", "[pgsched@32473 a=\"1\" b=\"2\"] spaced");
	log_info("e", "k= empty=\"\" x");
	TAIL("e", "[pgsched@32473 k=\"\" empty=\"\"] x");
	log_info("e", "bad!=1 stays text");
	TAIL("e", "- bad!=1 stays text");
	log_info("e", "a=\"unterminated rest");
	TAIL("e", "- a=\"unterminated rest");
	log_info("e", "a=\"x\"y z");
	TAIL("e", "- a=\"x\"y z");
	log_info("e", "=1 text");
	TAIL("e", "- =1 text");
	log_info("e", "a.b-c_d=1");
	TAIL("e", "[pgsched@32473 a.b-c_d=\"1\"]");
	log_info("e", "k23456789012345678901234567890123=1 long name");
	TAIL("e", "- k23456789012345678901234567890123=1 long name");
	log_info("e", "k2345678901234567890123456789012=1 ok");
	TAIL("e", "[pgsched@32473 k2345678901234567890123456789012=\"1\"] ok");
	validate(day_file("2026-11-22"));
}

static void
t_escaping(void **state)
{
	(void)state;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	/* quoted value with \" and \\ escapes, bare value with specials */
	log_info("esc", "q=\"a\\\"b]c\\\\\" w=x\"y]z\\ msg \"q\" ] \\ end");
	TAIL("esc",
	    "[pgsched@32473 q=\"a\\\"b\\]c\\\\\" "
	    "w=\"x\\\"y\\]z\\\\\"] msg \"q\" ] \\ end");
	/* control characters and invalid UTF-8 */
	log_info("esc", "c=\"a\tb\" line1\nline2\r\x01 \xc3\xa9 \xff\xc0\xaf");
	TAIL("esc",
	    "[pgsched@32473 c=\"a#011b\"] line1#012line2#015#001 "
	    "\xc3\xa9 ???");
	/* MSGID: printable ASCII only, at most 32 */
	log_info("has space\x01", "x");
	TAIL("has_space_", "- x");
	log_info("0123456789012345678901234567890123456789", "x");
	TAIL("01234567890123456789012345678901", "- x");
	log_info("", "x");
	TAIL("-", "- x");
	validate(day_file("2026-11-22"));
}

/* A value that may hold quotes (an SQL text, a path) stays one SD-PARAM
 * once log_quote() has escaped it. */
static void
t_quote(void **state)
{
	static const char sql[] = "SELECT to_char(t, 'YYYY\"T\"HH') \\ x";
	char		  q[128], small[8];

	(void)state;
	assert_string_equal(log_quote(sql, 200, q, sizeof(q)),
	    "SELECT to_char(t, 'YYYY\\\"T\\\"HH') \\\\ x");
	assert_string_equal(log_quote(sql, 20, q, sizeof(q)),
	    "SELECT to_char(t, 'Y");
	assert_string_equal(log_quote("\xc3\xa9\xc3\xa9", 3, q, sizeof(q)),
	    "\xc3\xa9"); /* never half a character */
	assert_string_equal(log_quote(NULL, 10, q, sizeof(q)), "-");
	assert_string_equal(log_quote("", 10, q, sizeof(q)), "-");
	assert_string_equal(log_quote("\"\"\"\"\"", 10, small, sizeof(small)),
	    "\\\"\\\"\\\"");
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_err("db_error", "rc=%s stmt=\"%s\" it failed", "db",
	    log_quote(sql, 40, q, sizeof(q)));
	TAIL("db_error",
	    "[pgsched@32473 rc=\"db\" stmt=\"SELECT to_char(t, "
	    "'YYYY\\\"T\\\"HH') \\\\ x\"] it failed");
	validate(day_file("2026-11-22"));
}

static void
t_line_cap(void **state)
{
	char  *big, *text, *line, *msg;
	size_t n = 100000, len;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_info("big", "k=v %s", big);
	text = slurp(day_file("2026-11-22"), &len);
	assert_true(len <= LOG_LINE_MAX);
	line = strstr(text, "...(truncated ");
	assert_non_null(line);
	assert_string_equal(line + strcspn(line, ")"), ")\n");
	msg = strchr(text, ']') + 2;
	/* kept + cut = the whole message */
	assert_int_equal((size_t)(line - msg) + strtoul(line + 14, NULL, 10),
	    n);
	free(text);
	free(big);
	validate(day_file("2026-11-22"));
}

static void
t_payload(void **state)
{
	static const char deep[] =
	    "{\"user\":{\"password\":\"p1\",\"Email\":\"a@b\",\"list\":["
	    "{\"Token\":\"t2\"},{\"x\":{\"SECRET\":{\"nested\":\"s3\"}}},"
	    "[{\"new_password\":[\"n4\"]}]]},\"authorization\":null,"
	    "\"ok\":1,\"tokens\":\"kept\"}";
	char bad[] = "{\"password\":\"hunter2\"";

	(void)state;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_payload(LOG_LEVEL_INFO, "req_body", deep, strlen(deep));
	TAIL("req_body",
	    "- {\"user\":{\"password\":\"***\",\"Email\":\"a@b\","
	    "\"list\":[{\"Token\":\"***\"},{\"x\":{\"SECRET\":\"***\"}},"
	    "[{\"new_password\":\"***\"}]]},\"authorization\":\"***\","
	    "\"ok\":1,\"tokens\":\"kept\"}");
	log_payload(LOG_LEVEL_INFO, "req_body", bad, strlen(bad));
	TAIL("req_body", "- <unparseable 21 bytes>");
	log_payload(LOG_LEVEL_INFO, "req_body", "{\"a\":1}", 5);
	TAIL("req_body", "- <unparseable 5 bytes>");
	log_payload(LOG_LEVEL_DEBUG, "req_body", "{}", 2);
	TAIL("req_body", "- <unparseable 5 bytes>"); /* below level */
	/* strings in a payload are escaped JSON: still one line */
	log_payload(LOG_LEVEL_WARN, "req_body", "[\"a\\nb\"]", 8);
	TAIL("req_body", "- [\"a\\nb\"]");
	validate(day_file("2026-11-22"));
}

#define Z58 "0000000000000000000000000000000000000000000000000000000000"

static void
t_payload_truncate(void **state)
{
	char json[256];

	(void)state;
	conf.max_log_bytes = 64;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	snprintf(json, sizeof(json), "{\"a\":\"%090d\",\"password\":\"x\"}", 0);
	log_payload(LOG_LEVEL_INFO, "p", json, strlen(json));
	/* 115 bytes printed, 64 kept */
	TAIL("p", "- {\"a\":\"" Z58 "...(truncated 51 bytes)");
	/* never cut inside a UTF-8 character: 62 bytes then a 3-byte one */
	snprintf(json, sizeof(json), "[\"%060d\xe2\x82\xac\xe2\x82\xac\"]", 0);
	log_payload(LOG_LEVEL_INFO, "p", json, strlen(json));
	TAIL("p", "- [\"" Z58 "00...(truncated 8 bytes)");
	validate(day_file("2026-11-22"));
}

static void
t_day_files(void **state)
{
	char *text;

	(void)state;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	set_clock(2026, 11, 22, 23, 59, 59, 999999);
	log_info("tick", "n=1");
	set_clock(2026, 11, 23, 0, 0, 0, 0);
	log_info("tick", "n=2");
	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(strstr(text, "n=\"1\""));
	assert_null(strstr(text, "n=\"2\""));
	free(text);
	text = slurp(day_file("2026-11-23"), NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "<134>1 2026-11-23T00:00:00.000000Z "));
	free(text);
	/* ROTATE_UTC=0: the day of the local clock, timestamps in UTC */
	setenv("TZ", "XXX5", 1);
	tzset();
	conf.rotate_utc = false;
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	set_clock(2026, 11, 24, 2, 0, 0, 0); /* 21:00 on the 23rd */
	log_info("tick", "n=3");
	text = slurp(day_file("2026-11-23"), NULL);
	assert_non_null(strstr(text, "2026-11-24T02:00:00.000000Z"));
	free(text);
	assert_null(slurp(day_file("2026-11-24"), NULL));
	set_clock(2026, 11, 24, 5, 0, 0, 0); /* local midnight */
	log_info("tick", "n=4");
	text = slurp(day_file("2026-11-24"), NULL);
	assert_non_null(text);
	free(text);
	unsetenv("TZ");
	tzset();
	validate(day_file("2026-11-23"));
}

/* Runs fn with stderr sent to a file; returns what it wrote (free it). */
static char *
capture_stderr(void (*fn)(void))
{
	int   saved, fd;
	char *text;

	fflush(stderr);
	saved = dup(2);
	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = slurp("stderr.txt", NULL);
	assert_non_null(text);
	return text;
}

static void
log_three(void)
{
	log_err("e1", "first");
	log_warn("e2", "second");
	log_info("e3", "third");
}

static void
t_unwritable(void **state)
{
	unsigned long before = log_dropped();
	char	     *err;

	(void)state;
	/* LOG_DIR below a regular file: it can be neither made nor used */
	fclose(fopen("plainfile", "w"));
	snprintf(logdir, sizeof(logdir), "plainfile/logs");
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	err = capture_stderr(log_three);
	assert_int_equal(log_dropped() - before, 3);
	/* reported once, naming the directory and the cause */
	assert_string_equal(err,
	    "pgsched-test: cannot open log file in "
	    "plainfile/logs: Not a directory (log lines are dropped and "
	    "counted from now on)\n");
	free(err);
}

static void
t_make_dir(void **state)
{
	unsigned long before = log_dropped();
	struct stat   st;

	(void)state;
	snprintf(logdir, sizeof(logdir), "a/b/logs");
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_info("x", "y");
	assert_int_equal(stat("a/b/logs/pgsched-2026-11-22.log", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~umask(umask(0)));
	assert_int_equal(stat("a/b/logs", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750 & ~umask(umask(0)));
	assert_int_equal(log_dropped(), before);
}

static void
t_stderr_cli(void **state)
{
	char *err;

	(void)state;
	log_open(&conf, "pgsched-admin", LOG_TO_STDERR);
	err = capture_stderr(log_three);
	assert_string_equal(err,
	    "pgsched-admin: first\n"
	    "pgsched-admin: second\n");
	free(err);
	log_close();
	/* before log_open: warnings and errors still reach stderr */
	err = capture_stderr(log_three);
	assert_non_null(strstr(err, ": first\n"));
	free(err);
	assert_null(slurp(day_file("2026-11-22"), NULL));
}

static void
log_params(void)
{
	log_warn("dsn_test", "source=%d rc=%s cannot connect: %s", 3, "timeout",
	    "timed out");
	log_err("no_msg", "k=1");
}

static void
t_stderr_params(void **state)
{
	char *err;

	(void)state;
	log_open(&conf, "pgsched-admin", LOG_TO_STDERR | LOG_TO_FILE);
	err = capture_stderr(log_params);
	assert_string_equal(err,
	    "pgsched-admin: cannot connect: timed out "
	    "(source=3 rc=timeout)\npgsched-admin: no_msg (k=1)\n");
	free(err);
	TAIL("no_msg", "[pgsched@32473 k=\"1\"]");
}

static void
t_fatal(void **state)
{
	char *err, *text;
	int   status, fd;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		log_open(&conf, "pgsched-runner", LOG_TO_FILE);
		fatal(78, "KEEP_DAYS=%s is bad", "x");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 78);
	err = slurp("stderr.txt", NULL);
	assert_string_equal(err, "pgsched-runner: KEEP_DAYS=x is bad\n");
	free(err);
	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(text);
	/* crit, and the text is not parsed into SD-PARAMs */
	assert_true(strncmp(text, "<130>1 ", 7) == 0);
	assert_non_null(strstr(text, " fatal - KEEP_DAYS=x is bad\n"));
	free(text);
	validate(day_file("2026-11-22"));
}

static void
t_level(void **state)
{
	char *text;

	(void)state;
	conf.log_level = "warn";
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_WARN));
	log_info("i", "x");
	log_warn("w", "x");
	log_payload(LOG_LEVEL_INFO, "p", "{}", 2);
	conf.log_level = "debug";
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	log_debug("d", "x");
	text = slurp(day_file("2026-11-22"), NULL);
	assert_null(strstr(text, " i - "));
	assert_null(strstr(text, " p - "));
	assert_non_null(strstr(text, "<132>1 "));
	assert_non_null(strstr(text, "<135>1 "));
	free(text);
}

#define NPROC  8
#define NLINES 10000

static void
t_concurrent(void **state)
{
	static unsigned char seen[NPROC][NLINES];
	char		     pad[301], want[512], *text, *line, *nl;
	int		     p, i, status, n = 0, proc, seq, off;
	pid_t		     pids[NPROC];
	unsigned long	     before = log_dropped();

	(void)state;
	memset(pad, 'z', 300);
	pad[300] = '\0';
	log_open(&conf, "pgsched-test", LOG_TO_FILE);
	for (p = 0; p < NPROC; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] != 0)
			continue;
		for (i = 0; i < NLINES; i++)
			log_info("conc", "proc=%d seq=%d %.*s", p, i,
			    100 + (i * 7 + p) % 200, pad);
		_exit(log_dropped() == before ? 0 : 1);
	}
	for (p = 0; p < NPROC; p++) {
		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	text = slurp(day_file("2026-11-22"), NULL);
	assert_non_null(text);
	for (line = text; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		off = 0;
		if (sscanf(strstr(line, " conc ") + 6,
			"[pgsched@32473 proc=\"%d\" seq=\"%d\"]%n", &proc, &seq,
			&off) != 2 ||
		    off == 0)
			fail_msg("bad line %d: %.200s", n + 1, line);
		assert_true(proc >= 0 && proc < NPROC && seq >= 0 &&
		    seq < NLINES && !seen[proc][seq]);
		seen[proc][seq] = 1;
		snprintf(want, sizeof(want),
		    " conc [pgsched@32473 proc=\"%d\" "
		    "seq=\"%d\"] %.*s",
		    proc, seq, 100 + (seq * 7 + proc) % 200, pad);
		assert_string_equal(strstr(line, " conc "), want);
		n++;
	}
	assert_int_equal(n, NPROC * NLINES);
	free(text);
	validate(day_file("2026-11-22"));
}

static void
make_file(const char *name, const char *text)
{
	char  path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", logdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool
exists(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", logdir, name);
	return access(path, F_OK) == 0;
}

static void
check_gz(const char *name, const char *want)
{
	char   path[PATH_MAX + 64], buf[256];
	gzFile z;
	int    n;

	snprintf(path, sizeof(path), "%s/%s", logdir, name);
	z = gzopen(path, "rb");
	assert_non_null(z);
	n = gzread(z, buf, sizeof(buf) - 1);
	gzclose(z);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
t_prune(void **state)
{
	char  *report = NULL, path[PATH_MAX + 64];
	size_t len = 0;
	FILE  *fp;
	time_t now;
	int    fd;

	(void)state;
	assert_int_equal(mkdir(logdir, 0750), 0);
	make_file("pgsched-2026-11-22.log", "today\n");
	make_file("pgsched-2026-11-21.log", "age 1\n");
	make_file("pgsched-2026-11-16.log", "age 6\n");
	make_file("pgsched-2026-11-15.log", "age 7\n");
	make_file("pgsched-2026-05-07.log", "age 199\n");
	make_file("pgsched-2026-05-06.log", "age 200\n");
	make_file("pgsched-2026-01-01.log.gz", "old gz\n");
	make_file("pgsched-2026-11-01.log.gz.tmp", "leftover\n");
	make_file("pgsched-notaday.log", "other\n");
	make_file("other-2020-01-01.log", "other\n");
	set_clock(2026, 11, 22, 12, 0, 0, 0);
	now = fake.tv_sec;
	fp = open_memstream(&report, &len);
	assert_int_equal(log_prune(&conf, now, fp), PGS_OK);
	fclose(fp);
	assert_true(exists("pgsched-2026-11-22.log"));
	assert_true(exists("pgsched-2026-11-21.log"));
	assert_true(exists("pgsched-2026-11-16.log"));
	assert_false(exists("pgsched-2026-11-15.log"));
	check_gz("pgsched-2026-11-15.log.gz", "age 7\n");
	check_gz("pgsched-2026-05-07.log.gz", "age 199\n");
	assert_false(exists("pgsched-2026-05-07.log"));
	assert_false(exists("pgsched-2026-05-06.log"));
	assert_false(exists("pgsched-2026-01-01.log.gz"));
	assert_false(exists("pgsched-2026-11-01.log.gz.tmp"));
	assert_true(exists("pgsched-notaday.log"));
	assert_true(exists("other-2020-01-01.log"));
	assert_non_null(strstr(report, "gzip pgsched-2026-11-15.log\n"));
	assert_non_null(strstr(report, "delete pgsched-2026-05-06.log\n"));
	assert_non_null(strstr(report, "delete pgsched-2026-01-01.log.gz\n"));
	assert_null(strstr(report, "error"));
	free(report);
	/* a second run has nothing left to do */
	report = NULL;
	fp = open_memstream(&report, &len);
	assert_int_equal(log_prune(&conf, now, fp), PGS_OK);
	fclose(fp);
	assert_string_equal(report, "");
	free(report);
	/* one process at a time */
	snprintf(path, sizeof(path), "%s/.pgsched-prune.lock", logdir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0 && flock(fd, LOCK_EX) == 0);
	assert_int_equal(log_prune(&conf, now, NULL), PGS_CONFLICT);
	close(fd);
	/* the next day the age-6 file crosses GZIP_AFTER_DAYS */
	assert_int_equal(log_prune(&conf, now + 86400, NULL), PGS_OK);
	check_gz("pgsched-2026-11-16.log.gz", "age 6\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_format),
		T(t_app_default),
		T(t_sd_convention),
		T(t_escaping),
		T(t_quote),
		T(t_line_cap),
		T(t_payload),
		T(t_payload_truncate),
		T(t_day_files),
		T(t_unwritable),
		T(t_make_dir),
		T(t_stderr_cli),
		T(t_stderr_params),
		T(t_fatal),
		T(t_level),
		T(t_concurrent),
		T(t_prune),
#undef T
	};
	const char *srcdir = getenv("srcdir");
	char	    dir[PATH_MAX];

	if (getcwd(topdir, sizeof(topdir)) == NULL ||
	    realpath(srcdir != NULL ? srcdir : ".", dir) == NULL)
		return 1;
	snprintf(validator, sizeof(validator), "%s/tests/py/rfc5424.py", dir);
	if (access(validator, R_OK) != 0) {
		fprintf(stderr, "t_log: no %s (set srcdir)\n", validator);
		return 1;
	}
	gethostname(host, sizeof(host) - 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
