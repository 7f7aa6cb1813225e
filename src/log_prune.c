/*
 * log_prune.c: retention of the day files written by log.c: gzip (zlib)
 * after GZIP_AFTER_DAYS, delete after KEEP_DAYS, one process at a time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <zlib.h>

#include "arena.h"
#include "log.h"

#define LOCK_NAME ".pgsched-prune.lock"

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Parses "pgsched-YYYY-MM-DD.log" or ".log.gz" (or a leftover
 * ".log.gz.tmp"); returns the day number, or -1 for any other name.
 * *kind is 0 (.log), 1 (.log.gz), 2 (.tmp).
 */
static long
parse_name(const char *name, int *kind)
{
	int y, m, d, n = -1;

	if (sscanf(name, "pgsched-%4d-%2d-%2d.log%n", &y, &m, &d, &n) != 3 ||
	    n != 22 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	if (name[n] == '\0')
		*kind = 0;
	else if (strcmp(name + n, ".gz") == 0)
		*kind = 1;
	else if (strcmp(name + n, ".gz.tmp") == 0)
		*kind = 2;
	else
		return -1;
	return days_from_civil(y, m, d);
}

/* Compresses dir/name into dir/name.gz, then removes dir/name. */
static enum pgs_rc
gzip_file(int dfd, const char *name, FILE *report)
{
	char	gz[NAME_MAX + 1], tmp[NAME_MAX + 1], data[65536];
	int	in, out, zfd;
	ssize_t n;
	gzFile	z;
	bool	ok = true;

	snprintf(gz, sizeof(gz), "%s.gz", name);
	snprintf(tmp, sizeof(tmp), "%s.gz.tmp", name);
	in = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		goto fail;
	out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out == -1) {
		close(in);
		goto fail;
	}
	zfd = dup(out);
	z = zfd != -1 ? gzdopen(zfd, "wb6") : NULL;
	if (z == NULL && zfd != -1)
		close(zfd);
	ok = z != NULL;
	for (n = 1; ok && n > 0;) {
		n = read(in, data, sizeof(data));
		ok = n >= 0 &&
		    (n == 0 || gzwrite(z, data, (unsigned)n) == (int)n);
	}
	if (z != NULL && gzclose(z) != Z_OK)
		ok = false;
	ok = ok && fsync(out) == 0;
	close(out);
	close(in);
	if (!ok || renameat(dfd, tmp, dfd, gz) == -1 ||
	    unlinkat(dfd, name, 0) == -1) {
		unlinkat(dfd, tmp, 0);
		goto fail;
	}
	if (report != NULL)
		fprintf(report, "gzip %s\n", name);
	return PGS_OK;
fail:
	if (report != NULL)
		fprintf(report, "error: cannot gzip %s: %s\n", name,
		    strerror(errno != 0 ? errno : EIO));
	return PGS_INTERNAL;
}

/* Applies the rules to one directory entry. */
static enum pgs_rc
prune_one(const struct conf *c, int dfd, const char *name, long today,
    FILE *report)
{
	long day, age;
	int  kind;

	day = parse_name(name, &kind);
	if (day < 0)
		return PGS_OK;
	age = today - day;
	if (kind == 2 || age >= c->keep_days) {
		if (unlinkat(dfd, name, 0) == -1) {
			if (report != NULL)
				fprintf(report,
				    "error: cannot delete %s: "
				    "%s\n",
				    name, strerror(errno));
			return PGS_INTERNAL;
		}
		if (report != NULL && kind != 2)
			fprintf(report, "delete %s\n", name);
		return PGS_OK;
	}
	if (kind == 0 && age >= 1 && age >= c->gzip_after_days)
		return gzip_file(dfd, name, report);
	return PGS_OK;
}

/* Returns the names of dir's entries (NULL-terminated); caller frees. */
static char **
list_dir(int dfd, size_t *count)
{
	DIR	      *d;
	struct dirent *de;
	char	     **v = NULL;
	size_t	       n = 0;

	d = fdopendir(dup(dfd));
	if (d == NULL)
		return NULL;
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		if (strncmp(de->d_name, "pgsched-", 8) != 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	*count = n;
	return v != NULL ? v : xcalloc(1, sizeof(*v));
}

enum pgs_rc
log_prune(const struct conf *c, time_t now, FILE *report)
{
	struct tm   tm;
	char	  **names;
	size_t	    n = 0, i;
	long	    today;
	int	    dfd, lfd;
	enum pgs_rc rc = PGS_OK, rc1;

	dfd = open(c->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 && errno == ENOENT)
		return PGS_OK; /* nothing was ever logged there */
	if (dfd == -1) {
		if (report != NULL)
			fprintf(report, "error: cannot open LOG_DIR %s: %s\n",
			    c->log_dir, strerror(errno));
		return PGS_INTERNAL;
	}
	lfd = openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lfd == -1 || flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		rc = lfd != -1 && errno == EWOULDBLOCK ? PGS_CONFLICT :
							 PGS_INTERNAL;
		if (report != NULL)
			fprintf(report, "%s: %s\n",
			    rc == PGS_CONFLICT ?
				"skipped: another process is pruning" :
				"error: cannot lock",
			    c->log_dir);
		goto out;
	}
	if (c->rotate_utc)
		gmtime_r(&now, &tm);
	else
		localtime_r(&now, &tm);
	today = days_from_civil(tm.tm_year + 1900L, tm.tm_mon + 1L, tm.tm_mday);
	names = list_dir(dfd, &n);
	for (i = 0; names != NULL && i < n; i++) {
		rc1 = prune_one(c, dfd, names[i], today, report);
		if (rc1 != PGS_OK)
			rc = rc1;
		free(names[i]);
	}
	free(names);
out:
	if (lfd != -1)
		close(lfd); /* releases the lock */
	close(dfd);
	return rc;
}
