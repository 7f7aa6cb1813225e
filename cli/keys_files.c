/*
 * keys_files.c: pg_dump backup and key file switching for `keys rotate`
 * (see keys.h and the steps at the top of cmd_keys.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "b64.h"
#include "config.h"
#include "keys.h"
#include "proc.h"
#include "secret.h"

/*
 * In the child: exports every setting of the DSN as the libpq environment
 * variable pg_dump reads (PGHOST, PGPASSWORD, ...), so no secret shows in
 * its arguments.  Returns false when the DSN cannot be parsed.
 */
static bool
keys_dsn_env(const char *dsn)
{
	PQconninfoOption *opts, *o;
	char		 *err = NULL, msg[256], *norm;

	norm = db_normalize_dsn(dsn, msg, sizeof(msg));
	if (norm == NULL)
		return false;
	opts = PQconninfoParse(norm, &err);
	free(norm);
	if (opts == NULL) {
		PQfreemem(err);
		return false;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (o->val != NULL && o->envvar != NULL)
			setenv(o->envvar, o->val, 1);
	PQconninfoFree(opts);
	return true;
}

/* Runs pg_dump into path with its stderr into fd errw; returns the pid. */
static pid_t
keys_spawn_dump(const char *dsn, const char *path, int errw)
{
	const char *argv[] = { "pg_dump", "--format=custom", "--no-password",
		"--file", path, NULL };
	pid_t	    pid;

	/* proc_exec cannot say why an exec failed: say it here. */
	if (access(PG_DUMP_PATH, X_OK) != 0) {
		dprintf(errw, "cannot run %s: %s\n", PG_DUMP_PATH,
		    strerror(errno));
		return -1;
	}
	pid = proc_fork(0);
	if (pid != 0)
		return pid;
	dup2(errw, STDERR_FILENO);
	umask(077);
	if (!keys_dsn_env(dsn)) {
		fputs("PG_DSN_APP cannot be parsed\n", stderr);
		_exit(2);
	}
	proc_exec(PG_DUMP_PATH, argv, NULL, 0);
}

/* Reads the child's stderr (the first line is kept in msg). */
static void
keys_read_err(int fd, char *msg, size_t n)
{
	char	chunk[512];
	size_t	len = 0;
	ssize_t r;

	msg[0] = '\0';
	while ((r = read(fd, chunk, sizeof(chunk))) > 0 ||
	    (r < 0 && errno == EINTR)) {
		if (r > 0 && len + 1 < n) {
			if ((size_t)r > n - 1 - len)
				r = (ssize_t)(n - 1 - len);
			memcpy(msg + len, chunk, (size_t)r);
			len += (size_t)r;
			msg[len] = '\0';
		}
	}
	msg[strcspn(msg, "\n")] = '\0';
}

/*
 * Returns dir/pgsched-<UTC time to the microsecond>.dump for the time us
 * (microseconds since the epoch), arena-owned.
 */
static char *
keys_dump_name(struct cli *c, const char *dir, int64_t us)
{
	char	  stamp[32];
	time_t	  sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	return arena_printf(&c->arena, "%s/pgsched-%s.%06ldZ.dump", dir, stamp,
	    (long)(us % 1000000));
}

/*
 * Creates dir (0700) and the empty dump file (0600); its path (arena-owned)
 * in *path.  The name is the time to the microsecond; a name taken already
 * (a second rotation within the same microsecond, or a clock that did not
 * move) is never replaced: the next microsecond is tried, so names stay
 * unique and sort in the order the backups were taken.  Returns 0 or an
 * exit code after one line.
 */
static int
keys_dump_file(struct cli *c, const char *dir, char **path)
{
	struct timespec ts;
	int64_t		us;
	int		fd, tries;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cli_fail(EX_CANTCREAT, "%s: --backup-dir %s: %s",
		    c->path, dir, strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	for (tries = 0; tries < 1000; tries++, us++) {
		*path = keys_dump_name(c, dir, us);
		fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	return cli_fail(EX_CANTCREAT, "%s: backup %s: %s", c->path, *path,
	    strerror(errno));
}

int
keys_backup(struct cli *c, const char *dir)
{
	char *path = NULL, msg[512];
	int   ex, fds[2], status;
	pid_t pid;

	ex = keys_dump_file(c, dir, &path);
	if (ex != 0)
		return ex;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return cli_fail(EX_OSERR, "%s: pipe: %s", c->path,
		    strerror(errno));
	fflush(NULL);
	pid = keys_spawn_dump(c->conf.pg_dsn_app, path, fds[1]);
	close(fds[1]);
	keys_read_err(fds[0], msg, sizeof(msg));
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	if (status == 0) {
		printf("backup written to %s\n", path);
		return 0;
	}
	unlink(path);
	return cli_fail(EX_UNAVAILABLE,
	    "%s: backup with pg_dump failed, "
	    "nothing was rotated: %s",
	    c->path, msg[0] ? msg : "pg_dump did not finish");
}

/* Writes pk in base64 to path (mode 0644) through a temporary file. */
static int
keys_write_pub(struct cli *c, const char *path,
    const unsigned char pk[SECRET_KEY_BYTES])
{
	char b64[64], *tmp;
	int  fd, ok;

	if (b64_encode(pk, SECRET_KEY_BYTES, b64, sizeof(b64), B64_STD) !=
	    PGS_OK)
		return cli_fail(EX_SOFTWARE, "%s: base64", c->path);
	strcat(b64, "\n");
	tmp = arena_printf(&c->arena, "%s.tmp%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return cli_fail(EX_CANTCREAT, "%s: %s: %s", c->path, tmp,
		    strerror(errno));
	ok = write(fd, b64, strlen(b64)) == (ssize_t)strlen(b64) &&
	    fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return cli_fail(EX_CANTCREAT, "%s: %s: %s", c->path, path,
	    strerror(errno));
}

/* Returns the directory of path (arena-owned). */
static const char *
keys_dir(struct cli *c, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return ".";
	if (slash == path)
		return "/";
	return arena_printf(&c->arena, "%.*s", (int)(slash - path), path);
}

/* Makes the renames in path's directory durable. */
static int
keys_sync_dir(struct cli *c, const char *path)
{
	const char *dir = keys_dir(c, path);
	int	    fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd == -1 ? -1 : fsync(fd);
	if (fd != -1)
		close(fd);
	if (r != 0)
		return cli_fail(EX_IOERR, "%s: fsync %s: %s", c->path, dir,
		    strerror(errno));
	return 0;
}

/* Returns true when files a and b hold the same bytes (small files). */
static bool
keys_same_file(const char *a, const char *b)
{
	char   x[512], y[512];
	FILE  *fa, *fb;
	size_t na = 0, nb = 0;

	fa = fopen(a, "r");
	fb = fopen(b, "r");
	if (fa != NULL)
		na = fread(x, 1, sizeof(x), fa);
	if (fb != NULL)
		nb = fread(y, 1, sizeof(y), fb);
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	return fa != NULL && fb != NULL && na == nb && memcmp(x, y, na) == 0;
}

/* Keeps the current private key as priv.vN (a hard link); *out the path. */
static int
keys_keep_old(struct cli *c, int n, const char **out)
{
	const char *priv = c->conf.private_key_path;
	char	   *v;

	for (; n < 100000; n++) {
		v = arena_printf(&c->arena, "%s.v%d", priv, n);
		if (link(priv, v) == 0 ||
		    (errno == EEXIST && keys_same_file(priv, v))) {
			*out = v;
			return n;
		}
		if (errno != EEXIST) {
			cli_fail(EX_CANTCREAT, "%s: %s: %s", c->path, v,
			    strerror(errno));
			return -1;
		}
	}
	cli_fail(EX_CANTCREAT, "%s: no free name for %s.vN", c->path, priv);
	return -1;
}

int
keys_install(struct cli *c, const struct cred_keys *k, int oldver,
    const char **kept)
{
	const char   *pub = c->conf.public_key_path;
	const char   *priv = c->conf.private_key_path;
	const char   *npub, *npriv;
	unsigned char old_pk[SECRET_KEY_BYTES];
	int	      n, ex;

	npub = cred_next_path(&c->arena, pub);
	npriv = cred_next_path(&c->arena, priv);
	n = keys_keep_old(c, oldver > 0 ? oldver : 1, kept);
	if (n < 0)
		return EX_CANTCREAT;
	crypto_scalarmult_base(old_pk, k->sk);
	ex = keys_write_pub(c, arena_printf(&c->arena, "%s.v%d", pub, n),
	    old_pk);
	/* Public key first: from here on nothing is sealed for the old
	 * key, and cred_open still finds the private half under .next. */
	if (ex == 0 && access(npub, F_OK) != 0)
		ex = keys_write_pub(c, pub, k->next_pk);
	else if (ex == 0 && rename(npub, pub) != 0)
		ex = cli_fail(EX_CANTCREAT, "%s: rename %s: %s", c->path, npub,
		    strerror(errno));
	if (ex == 0 && rename(npriv, priv) != 0)
		ex = cli_fail(EX_CANTCREAT, "%s: rename %s: %s", c->path, npriv,
		    strerror(errno));
	if (ex == 0)
		ex = keys_sync_dir(c, priv);
	if (ex == 0 && strcmp(keys_dir(c, priv), keys_dir(c, pub)) != 0)
		ex = keys_sync_dir(c, pub);
	return ex;
}
