/*
 * log.h: RFC 5424 event lines (CONTRACT section 7).
 *
 * Each event is one line
 *   <PRI>1 2026-11-22T23:01:02.123456Z HOST APP-NAME PID MSGID [SD] MSG
 * appended with one write(2) to LOG_DIR/pgsched-YYYY-MM-DD.log (the day by
 * UTC when ROTATE_UTC=1, else by local time; the timestamp is always UTC).
 * Facility is local0 (16), so PRI is 128 + severity: crit 2 (fatal),
 * err 3, warning 4, info 6, debug 7.  SD is `-` or one element
 * [pgsched@RFC_ENTERPRISE_ID name="value" ...].
 *
 * Caller convention: the formatted text starts with zero or more
 * key=value tokens (a bare value without spaces, or a double-quoted one
 * with \" and \\ escapes); they become SD-PARAMs and the rest is the MSG:
 *   log_info("run_finish", "run=%ld query=%ld status=%s done", ...);
 * Control characters are written as #ooo (octal, rsyslog style) and
 * invalid UTF-8 bytes as '?'.  A line is at most LOG_LINE_MAX bytes; a
 * longer MSG is cut with "...(truncated N bytes)".
 *
 * Writing never blocks the caller on errors: a line that cannot be written
 * (missing or unwritable LOG_DIR, ENOSPC, ...) is dropped and counted, and
 * only the first failure is reported on stderr.  The functions are safe to
 * call from several threads, and from forked children sharing the file.
 */
#ifndef PGS_LOG_H
#define PGS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "conf.h"
#include "rc.h"

#define LOG_TO_STDERR 0x01 /* CLI: plain "prog: message" for warn/err */
#define LOG_TO_FILE   0x02 /* RFC 5424 lines into the day file */

#define LOG_LINE_MAX 65536 /* bytes per line, newline included */

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/*
 * Starts logging for program appname (NULL: APP_NAME from c).  Copies what
 * it needs from c (LOG_DIR, RFC_ENTERPRISE_ID, ROTATE_UTC, MAX_LOG_BYTES,
 * REDACT_KEYS, LOG_LEVEL), so c may be freed afterwards.  The day file is
 * opened lazily at the first line.  Before log_open (and after
 * log_close), warnings and errors go to stderr only.
 */
void log_open(const struct conf *c, const char *appname, int flags);
/* Closes the day file and forgets the settings. */
void log_close(void);
/* Returns true when lines of this level are written (LOG_LEVEL). */
bool log_enabled(enum log_level level);

void log_err(const char *msgid, const char *fmt, ...) PGS_PRINTF(2, 3);
void log_warn(const char *msgid, const char *fmt, ...) PGS_PRINTF(2, 3);
void log_info(const char *msgid, const char *fmt, ...) PGS_PRINTF(2, 3);
void log_debug(const char *msgid, const char *fmt, ...) PGS_PRINTF(2, 3);
void log_msg(enum log_level level, const char *msgid, const char *fmt, ...)
    PGS_PRINTF(3, 4);
void log_vmsg(enum log_level level, const char *msgid, const char *fmt,
    va_list ap) PGS_PRINTF(3, 0);
/*
 * Writes "<progname>: <message>" to stderr and a crit line (MSGID
 * "fatal", no SD parsing) to the log file, then exits with exit_code.
 */
void fatal(int exit_code, const char *fmt, ...) PGS_PRINTF(2, 3) PGS_NORETURN;
/*
 * Logs a JSON payload as the MSG: values of REDACT_KEYS members
 * (case-insensitive, any depth) become "***", then the text is cut at
 * MAX_LOG_BYTES with "...(truncated N bytes)".  Text that is not JSON is
 * logged as "<unparseable N bytes>", never verbatim.
 */
void log_payload(enum log_level level, const char *msgid, const char *json_text,
    size_t len);
/*
 * Writes into out (n bytes) the first max bytes of s (whole UTF-8
 * characters; "-" for NULL or empty) with '"' and '\' escaped, to be
 * logged as a quoted value: log_info("x", "path=\"%s\" ...", log_quote(
 * path, 200, buf, sizeof(buf))).  Returns out.
 */
char *log_quote(const char *s, size_t max, char *out, size_t n);
/* Returns the number of lines dropped because they could not be written. */
unsigned long log_dropped(void);
/* Replaces the clock (tests); NULL restores clock_gettime(CLOCK_REALTIME). */
void log_set_clock(void (*now)(struct timespec *ts));
/*
 * Writes into path (size n) the day file name for instant t under the
 * current settings: LOG_DIR/pgsched-YYYY-MM-DD.log.
 */
void log_day_path(time_t t, char *path, size_t n);
/*
 * Log retention, run by one process at a time (flock on
 * LOG_DIR/.pgsched-prune.lock): day files at least GZIP_AFTER_DAYS old
 * (never today's) are gzipped to .log.gz, files at least KEEP_DAYS old
 * are deleted.  Age is counted in days from `now` (UTC days when
 * ROTATE_UTC=1, else local).  One line per action goes to report (when
 * not NULL).  Returns PGS_CONFLICT when another process holds the lock,
 * PGS_INTERNAL when some file could not be handled (the others are).
 */
enum pgs_rc
log_prune(const struct conf *c, time_t now, FILE *report) PGS_MUSTCHECK;

#endif
