/*
 * log.c: RFC 5424 lines into the day file, one write(2) per line.
 *
 * O_APPEND makes each write land at the end of the file atomically with
 * respect to other appenders on a local filesystem, so processes sharing
 * a day file never interleave lines as long as each line is one write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "log.h"
#include "utf8.h"

#define SEV_CRIT  2
#define FACILITY  16 /* local0 */
#define SD_BUDGET (LOG_LINE_MAX / 2)

struct log_state {
	char	      prog[64]; /* progname for stderr lines */
	char	      app[49];	/* RFC 5424 APP-NAME */
	char	      host[256];
	char	      dir[PATH_MAX];
	char	     *redact; /* REDACT_KEYS copy */
	int	      eid;
	int	      flags;
	int	      level;
	int	      max_payload;
	bool	      rotate_utc;
	bool	      opened;
	int	      fd;     /* day file, or -1 */
	long	      fd_day; /* yyyymmdd of fd */
	unsigned long dropped;
	bool	      reported;
	void (*now)(struct timespec *);
};

static struct log_state L = {
	.fd = -1,
	.level = LOG_LEVEL_INFO,
	.eid = 32473,
	.max_payload = 4096,
	.rotate_utc = true,
};
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;

static const int sev_of[] = { 3, 4, 6, 7 };

static void
clock_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

void
log_set_clock(void (*now)(struct timespec *))
{
	L.now = now;
}

/* Copies s into dst (size n) keeping bytes 33..126 (RFC 5424
 * PRINTUSASCII), others as '_'; "-" when empty. */
static void
copy_printus(char *dst, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < n; i++)
		dst[i] = s[i] > 32 && s[i] < 127 ? s[i] : '_';
	if (i == 0)
		dst[i++] = '-';
	dst[i] = '\0';
}

static int
level_of(const char *s)
{
	if (s == NULL)
		return LOG_LEVEL_INFO;
	if (strcmp(s, "error") == 0)
		return LOG_LEVEL_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_LEVEL_WARN;
	if (strcmp(s, "debug") == 0)
		return LOG_LEVEL_DEBUG;
	return LOG_LEVEL_INFO;
}

void
log_open(const struct conf *c, const char *appname, int flags)
{
	char host[256] = "";

	pthread_mutex_lock(&lk);
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	free(L.redact);
	L.redact = xstrdup(c->redact_keys != NULL ? c->redact_keys : "");
	if (appname == NULL)
		appname = c->app_name != NULL ? c->app_name : "pgsched";
	copy_printus(L.app, sizeof(L.app), appname);
	snprintf(L.prog, sizeof(L.prog), "%s", appname);
	gethostname(host, sizeof(host) - 1);
	copy_printus(L.host, sizeof(L.host), host);
	snprintf(L.dir, sizeof(L.dir), "%s",
	    c->log_dir != NULL ? c->log_dir : "./logs");
	L.eid = c->rfc_enterprise_id;
	L.rotate_utc = c->rotate_utc;
	L.max_payload = c->max_log_bytes > 0 ? c->max_log_bytes : 4096;
	L.level = level_of(c->log_level);
	L.flags = flags;
	L.opened = true;
	L.reported = false;
	pthread_mutex_unlock(&lk);
}

void
log_close(void)
{
	pthread_mutex_lock(&lk);
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	free(L.redact);
	L.redact = NULL;
	L.opened = false;
	L.flags = 0;
	L.level = LOG_LEVEL_INFO;
	pthread_mutex_unlock(&lk);
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= L.level;
}

unsigned long
log_dropped(void)
{
	unsigned long n;

	pthread_mutex_lock(&lk);
	n = L.dropped;
	pthread_mutex_unlock(&lk);
	return n;
}

char *
log_quote(const char *s, size_t max, char *out, size_t n)
{
	size_t len, i, o = 0;

	if (n == 0)
		return out;
	if (s == NULL || *s == '\0')
		s = "-";
	len = strnlen(s, max);
	if (len == max && s[len] != '\0')
		len = utf8_cut(s, len);
	for (i = 0; i < len && o + 2 < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[o++] = '\\';
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static const char *
progname(void)
{
	return L.prog[0] != '\0' ? L.prog : program_invocation_short_name;
}

/* Breaks t into a day by the rotation rule. */
static void
day_of(time_t t, struct tm *tm)
{
	if (L.rotate_utc)
		gmtime_r(&t, tm);
	else
		localtime_r(&t, tm);
}

void
log_day_path(time_t t, char *path, size_t n)
{
	struct tm tm;

	day_of(t, &tm);
	snprintf(path, n, "%s/pgsched-%04d-%02d-%02d.log", L.dir,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* mkdir -p dir with mode 0750; returns 0 or -1 with errno set. */
static int
mkdir_p(const char *dir)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0750) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Counts a dropped line; reports the first failure.  Called locked. */
static void
drop(const char *what, int err)
{
	char path[PATH_MAX];

	L.dropped++;
	if (L.reported)
		return;
	L.reported = true;
	snprintf(path, sizeof(path), "%s", L.dir);
	fprintf(stderr,
	    "%s: cannot %s log file in %s: %s (log lines are "
	    "dropped and counted from now on)\n",
	    progname(), what, path, strerror(err));
}

/*
 * A day file that root creates (an admin command run as root) in a log
 * directory owned by the service user is handed to that user and group, so
 * the services can keep appending to it.
 */
static void
give_to_dir_owner(int fd)
{
	struct stat d, f;

	if (geteuid() != 0 || stat(L.dir, &d) != 0 || fstat(fd, &f) != 0)
		return;
	if (d.st_uid != 0 && f.st_uid == 0 &&
	    fchown(fd, d.st_uid, d.st_gid) != 0)
		return; /* best effort: the line still goes out */
}

/* Opens the day file for t when needed.  Called locked. */
static void
open_day(time_t t)
{
	struct tm tm;
	char	  path[PATH_MAX + 32];
	long	  day;

	day_of(t, &tm);
	day = (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	if (L.fd >= 0 && L.fd_day == day)
		return;
	if (L.fd >= 0)
		close(L.fd);
	log_day_path(t, path, sizeof(path));
	L.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (L.fd == -1 && errno == ENOENT && mkdir_p(L.dir) == 0)
		L.fd =
		    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (L.fd >= 0)
		give_to_dir_owner(L.fd);
	L.fd_day = day;
}

/* Appends one line to the day file with a single write(2). */
static void
write_line(const char *line, size_t n, time_t t)
{
	ssize_t w;

	pthread_mutex_lock(&lk);
	open_day(t);
	if (L.fd == -1) {
		drop("open", errno);
	} else {
		w = write(L.fd, line, n);
		if (w != (ssize_t)n)
			drop("write", w == -1 ? errno : ENOSPC);
	}
	pthread_mutex_unlock(&lk);
}

/*
 * Appends n bytes of s: control characters as #ooo, invalid UTF-8 bytes
 * as '?', and in an SD value '"', '\' and ']' escaped with '\'.
 */
static void
put_text(struct buf *b, const char *s, size_t n, bool sd)
{
	unsigned char c;
	size_t	      i = 0, k;

	while (i < n) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "#%03o", c);
			k = 1;
		} else if (c >= 0x80) {
			k = utf8_seq_len(s + i, n - i);
			if (k == 0) {
				buf_putc(b, '?');
				k = 1;
			} else
				buf_append(b, s + i, k);
		} else {
			if (sd && (c == '"' || c == '\\' || c == ']'))
				buf_putc(b, '\\');
			buf_putc(b, (char)c);
			k = 1;
		}
		i += k;
	}
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/*
 * Parses one key=value token at p into ` key="value"` appended to sd;
 * returns the end of the token, or NULL when p does not start one (or it
 * would overflow the SD budget).
 */
static const char *
parse_param(const char *p, struct buf *sd)
{
	struct buf  val = BUF_INIT;
	const char *v, *e;
	size_t	    klen = 0;

	while (klen <= 32 && name_char(p[klen]))
		klen++;
	if (klen == 0 || klen > 32 || p[klen] != '=')
		return NULL;
	v = p + klen + 1;
	if (*v == '"') {
		for (e = v + 1; *e != '\0' && *e != '"'; e++) {
			if (*e == '\\' && (e[1] == '"' || e[1] == '\\'))
				e++;
			buf_putc(&val, *e);
		}
		if (*e != '"') {
			buf_free(&val);
			return NULL;
		}
		e++;
	} else {
		e = v + strcspn(v, " ");
		buf_append(&val, v, (size_t)(e - v));
	}
	if ((*e != '\0' && *e != ' ') ||
	    sd->len + klen + 4 + 4 * val.len > SD_BUDGET) {
		buf_free(&val);
		return NULL;
	}
	buf_putc(sd, ' ');
	buf_append(sd, p, klen);
	buf_puts(sd, "=\"");
	put_text(sd, val.data != NULL ? val.data : "", val.len, true);
	buf_putc(sd, '"');
	buf_free(&val);
	return e;
}

/* Appends the sanitized msg to line, cut to keep the line in bounds. */
static void
put_msg(struct buf *line, const char *msg)
{
	struct buf m = BUF_INIT;
	size_t	   room, cut;

	put_text(&m, msg, strlen(msg), false);
	/* room for " ", the text and "\n" */
	room = LOG_LINE_MAX - line->len - 2;
	buf_putc(line, ' ');
	if (m.len <= room) {
		buf_append(line, m.data, m.len);
	} else {
		cut = utf8_cut(m.data, room - 40);
		buf_append(line, m.data, cut);
		buf_printf(line, "...(truncated %zu bytes)", m.len - cut);
	}
	buf_free(&m);
}

/* Writes "prog: msg (params)" to stderr for a CLI user. */
static void
put_human(const char *msgid, const char *params, size_t plen, const char *msg)
{
	struct buf h = BUF_INIT;

	while (plen > 0 && params[plen - 1] == ' ')
		plen--;
	buf_printf(&h, "%s: ", progname());
	if (*msg != '\0')
		put_text(&h, msg, strlen(msg), false);
	else
		buf_puts(&h, msgid);
	if (plen > 0) {
		buf_puts(&h, " (");
		put_text(&h, params, plen, false);
		buf_putc(&h, ')');
	}
	buf_putc(&h, '\n');
	fwrite(h.data, 1, h.len, stderr);
	buf_free(&h);
}

/* Formats and writes one event; parse=false keeps all text as MSG. */
static void
emit(int sev, const char *msgid, const char *text, bool parse)
{
	struct buf	line = BUF_INIT, sd = BUF_INIT;
	struct timespec ts;
	struct tm	tm;
	const char     *p = text, *e;
	char		id[33];

	while (parse && p != NULL) {
		e = parse_param(p, &sd);
		if (e == NULL)
			break;
		for (p = e; *p == ' '; p++)
			;
	}
	if ((L.flags & LOG_TO_FILE) != 0) {
		(L.now != NULL ? L.now : clock_now)(&ts);
		gmtime_r(&ts.tv_sec, &tm);
		copy_printus(id, sizeof(id), msgid);
		buf_printf(&line,
		    "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ "
		    "%s %s %ld %s ",
		    FACILITY * 8 + sev, tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    ts.tv_nsec / 1000, L.host, L.app, (long)getpid(), id);
		if (sd.len > 0)
			buf_printf(&line, "[pgsched@%d%s]", L.eid, sd.data);
		else
			buf_putc(&line, '-');
		if (*p != '\0')
			put_msg(&line, p);
		buf_putc(&line, '\n');
		write_line(line.data, line.len, ts.tv_sec);
	}
	if (((L.flags & LOG_TO_STDERR) != 0 || !L.opened) && sev <= 4 && parse)
		put_human(msgid, text, (size_t)(p - text), p);
	buf_free(&line);
	buf_free(&sd);
}

/* Returns the formatted text; the caller frees it. */
static char *
format(const char *fmt, va_list ap)
{
	va_list aq;
	char   *s;
	int	n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return xstrdup(fmt);
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void
log_vmsg(enum log_level level, const char *msgid, const char *fmt, va_list ap)
{
	char *text;

	if (!log_enabled(level))
		return;
	text = format(fmt, ap);
	emit(sev_of[level], msgid, text, true);
	free(text);
}

void
log_msg(enum log_level level, const char *msgid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, msgid, fmt, ap);
	va_end(ap);
}

#define LOG_FN(fn, level) \
	void fn(const char *msgid, const char *fmt, ...) \
	{ \
		va_list ap; \
\
		va_start(ap, fmt); \
		log_vmsg(level, msgid, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(int exit_code, const char *fmt, ...)
{
	struct buf h = BUF_INIT;
	va_list	   ap;
	char	  *text;

	va_start(ap, fmt);
	text = format(fmt, ap);
	va_end(ap);
	buf_printf(&h, "%s: ", progname());
	put_text(&h, text, strlen(text), false);
	buf_putc(&h, '\n');
	fwrite(h.data, 1, h.len, stderr);
	fflush(stderr);
	emit(SEV_CRIT, "fatal", text, false);
	buf_free(&h);
	free(text);
	exit(exit_code);
}

static bool
redact_elem(const char *p, size_t n, const char *key)
{
	return n > 0 && strlen(key) == n && strncasecmp(p, key, n) == 0;
}

/* true when key is one of REDACT_KEYS (case-insensitive). */
static bool
is_redacted(const char *key)
{
	const char *p = L.redact, *e, *q;

	while (p != NULL && key != NULL) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		for (q = e; q > p && q[-1] == ' '; q--)
			;
		while (*p == ' ')
			p++;
		if (p < q && redact_elem(p, (size_t)(q - p), key))
			return true;
		p = *e == ',' ? e + 1 : NULL;
	}
	return false;
}

/* Replaces the values of redacted members at any depth. */
static void
redact(cJSON *v)
{
	cJSON *c, *next, *r;

	for (c = v->child; c != NULL; c = next) {
		next = c->next;
		if (cJSON_IsObject(v) && is_redacted(c->string)) {
			/* The replacement takes over the member name, which
			 * cJSON_ReplaceItemViaPointer does not copy. */
			r = cJSON_CreateString("***");
			r->string = c->string;
			r->type |= c->type & cJSON_StringIsConst;
			c->string = NULL;
			c->type &= ~cJSON_StringIsConst;
			cJSON_ReplaceItemViaPointer(v, c, r);
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			redact(c);
	}
}

void
log_payload(enum log_level level, const char *msgid, const char *json_text,
    size_t len)
{
	struct buf m = BUF_INIT;
	cJSON	  *root;
	char	  *s;
	size_t	   n, cut;

	if (!log_enabled(level))
		return;
	root = json_text != NULL ? cJSON_ParseWithLength(json_text, len) : NULL;
	if (root == NULL) {
		buf_printf(&m, "<unparseable %zu bytes>", len);
	} else {
		redact(root);
		s = cJSON_PrintUnformatted(root);
		n = s != NULL ? strlen(s) : 0;
		cut = n > (size_t)L.max_payload ?
		    utf8_cut(s, (size_t)L.max_payload) :
		    n;
		buf_append(&m, s != NULL ? s : "", cut);
		if (cut < n)
			buf_printf(&m, "...(truncated %zu bytes)", n - cut);
		cJSON_free(s);
		cJSON_Delete(root);
	}
	emit(sev_of[level], msgid, m.data, false);
	buf_free(&m);
}
