/*
 * fuzz_tz.c: libFuzzer target for tz_load().  tz.c has no public parser
 * of TZif bytes in memory, so the target works through files:
 *
 *   byte 0 even: the rest is a zone NAME, loaded from the system tree
 *	(TZDIR unset, /usr/share/zoneinfo).  Every path tz.c opens is
 *	recorded (open is wrapped at link time) and must resolve to a
 *	file inside that tree through relative symbolic links only.
 *   byte 0 odd:  the rest is the content of a TZif file, written to a
 *	private temporary TZDIR and loaded by name; on success the zone is
 *	queried around every transition and at a few far instants.
 *
 * Besides the sanitizers' findings it aborts on a broken promise: a
 * failure without a message, an offset of 26 h or more, a NULL
 * abbreviation, a next transition not after the asked instant, or a
 * resolved wall time whose instants are out of order.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_tz.c src/tz.c src/isotime.c src/arena.c \
 *	-Wl,--wrap=open -o fuzz_tz
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isotime.h"
#include "tz.h"

#define SYSTEM_TZDIR "/usr/share/zoneinfo"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

static char	   tmpdir[PATH_MAX];  /* private TZDIR of the TZif mode */
static char	   sysroot[PATH_MAX]; /* realpath of the system tree */
static bool	   watching;	      /* check the paths open() gets */
static const char *cur_name;

static void
broken(const char *what, const char *detail)
{
	fprintf(stderr, "tz promise broken: %s (%s)\n", what,
	    detail != NULL ? detail : "");
	abort();
}

/* Returns whether path ends inside the system tree, reached through
 * relative links only (an absolute link, like the tree's "localtime" to
 * the host's /etc/localtime, leaves the tree even if it comes back). */
static bool
inside_tree(const char *path, char real[PATH_MAX])
{
	char	cur[PATH_MAX], link[PATH_MAX], next[PATH_MAX * 2];
	size_t	n = strlen(sysroot);
	ssize_t k;
	int	hops;

	if (realpath(path, real) == NULL)
		return true; /* nothing there to read */
	if (strncmp(real, sysroot, n) != 0 || real[n] != '/')
		return false;
	snprintf(cur, sizeof(cur), "%s", path);
	for (hops = 0; hops < 40; hops++) {
		k = readlink(cur, link, sizeof(link) - 1);
		if (k < 0)
			return true;
		link[k] = '\0';
		if (link[0] == '/') {
			snprintf(real, PATH_MAX, "%s", link);
			return false;
		}
		snprintf(next, sizeof(next), "%.*s/%s",
		    (int)(strrchr(cur, '/') - cur), cur, link);
		snprintf(cur, sizeof(cur), "%s", next);
	}
	return false;
}

/* Every open() of tz.c lands here: in NAME mode, check where it goes. */
int
__wrap_open(const char *path, int flags, ...)
{
	char	real[PATH_MAX];
	va_list ap;
	int	mode = 0;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	if (watching && !inside_tree(path, real)) {
		fprintf(stderr, "name '%s' opens %s -> %s\n", cur_name, path,
		    real);
		broken("read outside the zoneinfo tree", real);
	}
	return __real_open(path, flags, mode);
}

static void
cleanup(void)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/zone", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (realpath(SYSTEM_TZDIR, sysroot) == NULL)
		broken("no system zoneinfo tree", SYSTEM_TZDIR);
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz_tz.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		broken("mkdtemp failed", tmpdir);
	atexit(cleanup);
	return 0;
}

/* Queries the zone at t and checks the answers; returns the next
 * transition after t, or INT64_MAX. */
static int64_t
probe(const struct tz *tz, int64_t t)
{
	struct tz_info	info;
	struct tz_local loc;
	int32_t		off;
	int64_t		next;

	off = tz_utc_offset(tz, t, &info);
	if (off != info.utoff || off <= -26 * 3600 || off >= 26 * 3600)
		broken("offset out of range", tz_name(tz));
	if (info.abbr == NULL)
		broken("NULL abbreviation", tz_name(tz));
	switch (tz_resolve(tz, t + off, &loc)) {
	case TZ_ONCE:
	case TZ_GAP:
		if (loc.t1 != loc.t2)
			broken("single resolution with two instants", NULL);
		break;
	case TZ_AMBIGUOUS:
		if (loc.t1 >= loc.t2)
			broken("ambiguous instants out of order", NULL);
		break;
	default:
		broken("bad tz_kind", NULL);
	}
	if (!tz_next_transition(tz, t, &next))
		return INT64_MAX;
	if (next <= t)
		broken("next transition not after t", tz_name(tz));
	return next;
}

static void
walk_zone(const struct tz *tz)
{
	static const int64_t far[] = { ISOTIME_MIN + 86400 * 2, -2147483648LL,
		0, 1774746000, 4102444800LL, ISOTIME_MAX - 86400 * 2 };
	int64_t		     t;
	size_t		     i;
	int		     steps;

	for (i = 0; i < sizeof(far) / sizeof(far[0]); i++)
		(void)probe(tz, far[i]);
	t = ISOTIME_MIN + 86400 * 2;
	for (steps = 0; steps < 200 && t < ISOTIME_MAX - 86400 * 2; steps++)
		t = probe(tz, t);
}

static void
load_name(const char *name)
{
	struct tz *tz = NULL;
	char	   err[256] = "";

	unsetenv("TZDIR");
	cur_name = name;
	watching = true;
	if (tz_load(name, &tz, err, sizeof(err)) != PGS_OK) {
		watching = false;
		if (err[0] == '\0' || tz != NULL)
			broken("failure without a message", name);
		return;
	}
	watching = false;
	(void)probe(tz, 1774746000);
	tz_free(tz);
}

static void
load_bytes(const uint8_t *data, size_t size)
{
	struct tz *tz = NULL;
	char	   path[PATH_MAX + 8], err[256] = "";
	FILE	  *fp;

	snprintf(path, sizeof(path), "%s/zone", tmpdir);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp))
		broken("cannot write the zone file", path);
	setenv("TZDIR", tmpdir, 1);
	if (tz_load("zone", &tz, err, sizeof(err)) != PGS_OK) {
		if (err[0] == '\0' || tz != NULL)
			broken("failure without a message", "zone");
		return;
	}
	walk_zone(tz);
	tz_free(tz);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		load_bytes(data + 1, size - 1);
		return 0;
	}
	if (size > 300)
		return 0;
	name = malloc(size);
	if (name == NULL)
		return 0;
	memcpy(name, data + 1, size - 1);
	name[size - 1] = '\0';
	load_name(name);
	free(name);
	return 0;
}
