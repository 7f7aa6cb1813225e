/*
 * tz.c: a TZif reader (RFC 8536, versions 1-3) and POSIX TZ rule
 * evaluator.  Only the file format is read here; nothing from the host's
 * own time zone (TZ, localtime) is ever used.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "isotime.h"
#include "tz.h"

#define TZ_MAXFILE (256 * 1024) /* real zone files are < 4 KiB */
#define TZ_MAXOFF  (26 * 3600)	/* RFC 8536: |utoff| < 25 h (+slack) */
#define TZ_MARGIN  (27 * 3600)	/* wider than any offset */

struct tz_type {
	int32_t utoff;
	bool	is_dst;
	uint8_t abbr; /* index into tz->abbrs */
};

/* One POSIX TZ rule date: Jn, n or Mm.w.d, plus a time of day. */
struct tz_rdate {
	char	kind; /* 'J', 'D' (plain n) or 'M' */
	int	day, mon, week, wday;
	int32_t secs; /* local time of the change */
};

struct tz_posix {
	int32_t		std_off, dst_off; /* seconds east of UTC */
	char		std_abbr[16], dst_abbr[16];
	bool		has_dst;
	struct tz_rdate start, end;
};

struct tz {
	atomic_int	refs;
	char	       *name;
	int64_t	       *trans; /* ascending transition instants */
	uint8_t	       *idx;   /* type index per transition */
	size_t		ntrans;
	struct tz_type *types;
	size_t		ntypes;
	char	       *abbrs; /* NUL-separated, NUL-terminated */
	size_t		nabbrs;
	bool		has_posix;
	struct tz_posix posix;
};

bool
tz_name_valid(const char *name)
{
	size_t	    i, n, comp = 0;
	const char *c;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '/' || name[n - 1] == '/')
		return false;
	for (i = 0; i < n; i++) {
		c = &name[i];
		if (*c == '/') {
			if (comp == 0)
				return false;
			comp = 0;
			continue;
		}
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			(*c >= '0' && *c <= '9') || *c == '_' || *c == '+' ||
			*c == '-'))
			return false;
		comp++;
	}
	return true;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Returns whether path, reached through relative symbolic links only,
 * resolves inside the tree dir.  An absolute link leaves the tree even
 * when it comes back: the tree's "localtime" points at the host's
 * /etc/localtime, and a job's zone must never follow the host's. */
static bool
zone_path_inside(const char *dir, const char *path)
{
	char	root[PATH_MAX], real[PATH_MAX], cur[PATH_MAX], link[PATH_MAX];
	char	next[PATH_MAX * 2];
	size_t	rl;
	ssize_t n;
	int	hops;

	if (realpath(dir, root) == NULL || realpath(path, real) == NULL)
		return false;
	rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(real, root, rl) != 0 || real[rl] != '/')
		return false;
	snprintf(cur, sizeof(cur), "%s", path);
	for (hops = 0; hops < 40; hops++) {
		n = readlink(cur, link, sizeof(link) - 1);
		if (n < 0)
			return true; /* the file itself: checked above */
		link[n] = '\0';
		if (link[0] == '/')
			return false;
		/* cur always holds a '/': it starts as dir/name. */
		snprintf(next, sizeof(next), "%.*s/%s",
		    (int)(strrchr(cur, '/') - cur), cur, link);
		if (strlen(next) >= sizeof(cur))
			return false;
		memcpy(cur, next, strlen(next) + 1);
	}
	return false;
}

/* Reads the whole regular file dir/name into a malloc'd buffer. */
static enum pgs_rc
read_zone_file(const char *name, unsigned char **data, size_t *len)
{
	const char *dir = getenv("TZDIR");
	char	    path[4096];
	struct stat st;
	ssize_t	    r;
	size_t	    got = 0;
	int	    fd;

	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		sizeof(path) ||
	    !zone_path_inside(dir, path))
		return PGS_INVALID;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return PGS_INVALID;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44 ||
	    st.st_size > TZ_MAXFILE) {
		close(fd);
		return PGS_INVALID;
	}
	*data = xmalloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		r = read(fd, *data + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return PGS_OK;
}

/* The six counts of a TZif header. */
struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static bool
read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return h->time < 100000 && h->type >= 1 && h->type <= 256 &&
	    h->chars >= 1 && h->chars < 10000 && h->leap < 100000 &&
	    (h->isut == 0 || h->isut == h->type) &&
	    (h->isstd == 0 || h->isstd == h->type);
}

/* Returns the size of a data block described by h with tsz-byte times. */
static size_t
block_len(const struct tzif_hdr *h, size_t tsz)
{
	return h->time * tsz + h->time + h->type * 6 + h->chars +
	    h->leap * (tsz + 4) + h->isstd + h->isut;
}

static bool
same_type(const struct tz *tz, uint8_t a, uint8_t b)
{
	return tz->types[a].utoff == tz->types[b].utoff &&
	    tz->types[a].is_dst == tz->types[b].is_dst &&
	    strcmp(tz->abbrs + tz->types[a].abbr,
		tz->abbrs + tz->types[b].abbr) == 0;
}

/* Removes transitions that change nothing ("fat" files add one at
 * 2038-01-19 for 32-bit readers), so segments are real changes. */
static void
drop_noops(struct tz *tz)
{
	size_t	i, n = 0;
	uint8_t prev = 0;

	for (i = 0; i < tz->ntrans; i++) {
		if (same_type(tz, prev, tz->idx[i]))
			continue;
		prev = tz->idx[i];
		tz->trans[n] = tz->trans[i];
		tz->idx[n++] = tz->idx[i];
	}
	tz->ntrans = n;
}

/* Copies the data block at p (tsz = 4 or 8) into tz; false if invalid. */
static bool
load_block(struct tz *tz, const struct tzif_hdr *h, const unsigned char *p,
    size_t tsz)
{
	const unsigned char *q;
	size_t		     i;

	tz->ntrans = h->time;
	tz->trans = xcalloc(h->time + 1, sizeof(*tz->trans));
	tz->idx = xcalloc(h->time + 1, 1);
	for (i = 0; i < h->time; i++) {
		tz->trans[i] =
		    tsz == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return false;
	}
	q = p + h->time * tsz;
	memcpy(tz->idx, q, h->time);
	q += h->time;
	tz->ntypes = h->type;
	tz->types = xcalloc(h->type, sizeof(*tz->types));
	for (i = 0; i < h->type; i++, q += 6) {
		tz->types[i].utoff = (int32_t)be32(q);
		tz->types[i].is_dst = q[4] != 0;
		tz->types[i].abbr = q[5];
		if (q[4] > 1 || q[5] >= h->chars ||
		    tz->types[i].utoff <= -TZ_MAXOFF ||
		    tz->types[i].utoff >= TZ_MAXOFF)
			return false;
	}
	for (i = 0; i < h->time; i++)
		if (tz->idx[i] >= h->type)
			return false;
	tz->nabbrs = h->chars;
	tz->abbrs = xcalloc(h->chars + 1, 1);
	memcpy(tz->abbrs, q, h->chars);
	drop_noops(tz);
	return true;
}

/* Parses a POSIX zone name ("CET" or "<+0545>") into out; NULL on error. */
static const char *
posix_name(const char *p, char *out, size_t outsz)
{
	size_t n = 0;
	char   end;

	if (*p == '<') {
		end = '>';
		p++;
	} else
		end = '\0';
	while (*p != '\0' && *p != end && n + 1 < outsz) {
		if (end == '\0' &&
		    !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
			break;
		if (end != '\0' &&
		    !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
			return NULL;
		out[n++] = *p++;
	}
	out[n] = '\0';
	if (end != '\0') {
		if (*p != '>')
			return NULL;
		p++;
	}
	return n >= 3 ? p : NULL;
}

/* Parses [+-]h[h[h]][:mm[:ss]] with hours <= maxh into *secs. */
static const char *
posix_hms(const char *p, int maxh, int32_t *secs)
{
	int sign = 1, part[3] = { 0, 0, 0 }, i, n;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != ':')
				break;
			p++;
		}
		for (n = 0; *p >= '0' && *p <= '9' && n < 3; n++, p++)
			part[i] = part[i] * 10 + (*p - '0');
		if (n == 0 || (i > 0 && (n != 2 || part[i] > 59)))
			return NULL;
	}
	if (part[0] > maxh)
		return NULL;
	*secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return p;
}

static const char *
posix_num(const char *p, int lo, int hi, int *v)
{
	int n;

	*v = 0;
	for (n = 0; *p >= '0' && *p <= '9' && n < 3; n++, p++)
		*v = *v * 10 + (*p - '0');
	return n == 0 || *v < lo || *v > hi ? NULL : p;
}

/* Parses ",date[/time]" into r. */
static const char *
posix_rdate(const char *p, struct tz_rdate *r)
{
	if (*p++ != ',')
		return NULL;
	r->secs = 7200;
	if (*p == 'M') {
		r->kind = 'M';
		p = posix_num(p + 1, 1, 12, &r->mon);
		if (p == NULL || *p++ != '.')
			return NULL;
		p = posix_num(p, 1, 5, &r->week);
		if (p == NULL || *p++ != '.')
			return NULL;
		p = posix_num(p, 0, 6, &r->wday);
	} else if (*p == 'J') {
		r->kind = 'J';
		p = posix_num(p + 1, 1, 365, &r->day);
	} else {
		r->kind = 'D';
		p = posix_num(p, 0, 365, &r->day);
	}
	if (p != NULL && *p == '/')
		p = posix_hms(p + 1, 167, &r->secs);
	return p;
}

/* Parses a TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
static bool
posix_parse(const char *s, struct tz_posix *z)
{
	const char *p;
	int32_t	    off;

	memset(z, 0, sizeof(*z));
	p = posix_name(s, z->std_abbr, sizeof(z->std_abbr));
	if (p == NULL || (p = posix_hms(p, 24, &off)) == NULL)
		return false;
	z->std_off = -off;
	if (*p == '\0')
		return true;
	p = posix_name(p, z->dst_abbr, sizeof(z->dst_abbr));
	if (p == NULL)
		return false;
	z->has_dst = true;
	z->dst_off = z->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		p = posix_hms(p, 24, &off);
		if (p == NULL)
			return false;
		z->dst_off = -off;
	}
	if (*p == '\0')
		p = ",M3.2.0,M11.1.0"; /* POSIX leaves it open: US rule */
	p = posix_rdate(p, &z->start);
	if (p != NULL)
		p = posix_rdate(p, &z->end);
	return p != NULL && *p == '\0';
}

/* Returns the day number of rule date r in year y. */
static int64_t
rdate_day(int64_t y, const struct tz_rdate *r)
{
	int64_t first, day;
	int	leap;

	if (r->kind == 'J') {
		leap = isotime_month_days(y, 2) == 29;
		return isotime_days_from_civil(y, 1, 1) + r->day - 1 +
		    (leap && r->day >= 60 ? 1 : 0);
	}
	if (r->kind == 'D')
		return isotime_days_from_civil(y, 1, 1) + r->day;
	first = isotime_days_from_civil(y, r->mon, 1);
	day = first + (r->wday - isotime_weekday(first) + 7) % 7 +
	    (r->week - 1) * 7;
	while (day >= first + isotime_month_days(y, r->mon))
		day -= 7;
	return day;
}

/* Sets the UTC instants DST starts and ends in year y. */
static void
posix_year(const struct tz_posix *z, int64_t y, int64_t *s, int64_t *e)
{
	*s = rdate_day(y, &z->start) * 86400 + z->start.secs - z->std_off;
	*e = rdate_day(y, &z->end) * 86400 + z->end.secs - z->dst_off;
}

static int64_t
year_of(int64_t t)
{
	int64_t y;
	int	m, d;

	isotime_civil_from_days(isotime_floordiv(t, 86400), &y, &m, &d);
	return y;
}

static bool
posix_is_dst(const struct tz_posix *z, int64_t t)
{
	int64_t s, e;

	if (!z->has_dst)
		return false;
	posix_year(z, year_of(t + z->std_off), &s, &e);
	if (s < e)
		return t >= s && t < e;
	return !(t >= e && t < s);
}

/* Returns the first rule change after t, or false. */
static bool
posix_next(const struct tz_posix *z, int64_t t, int64_t *next)
{
	int64_t y, s, e, best = INT64_MAX;
	int	i;

	if (!z->has_dst)
		return false;
	y = year_of(t + z->std_off);
	for (i = -1; i <= 1; i++) {
		posix_year(z, y + i, &s, &e);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	*next = best;
	return best != INT64_MAX;
}

static bool
load_footer(struct tz *tz, const unsigned char *p, size_t len)
{
	char   buf[128];
	size_t n;

	if (len < 2 || p[0] != '\n')
		return false;
	for (n = 1; n < len && p[n] != '\n'; n++)
		;
	if (n >= len || n - 1 >= sizeof(buf))
		return false;
	if (n == 1)
		return true; /* empty footer: no rule */
	memcpy(buf, p + 1, n - 1);
	buf[n - 1] = '\0';
	tz->has_posix = posix_parse(buf, &tz->posix);
	return tz->has_posix;
}

/* Parses a whole TZif file into tz; false when it is not a valid one. */
static bool
parse_tzif(struct tz *tz, const unsigned char *p, size_t len)
{
	struct tzif_hdr h;
	size_t		b;

	if (!read_hdr(p, len, &h))
		return false;
	b = block_len(&h, 4);
	if (44 + b > len)
		return false;
	if (p[4] == '\0')
		return h.leap == 0 && load_block(tz, &h, p + 44, 4);
	p += 44 + b;
	len -= 44 + b;
	if (!read_hdr(p, len, &h) || h.leap != 0)
		return false; /* leap-second ("right/") zones: unsupported */
	b = block_len(&h, 8);
	if (44 + b > len || !load_block(tz, &h, p + 44, 8))
		return false;
	return load_footer(tz, p + 44 + b, len - 44 - b);
}

static struct tz *
tz_new(const char *name)
{
	struct tz *tz = xcalloc(1, sizeof(*tz));

	atomic_init(&tz->refs, 1);
	tz->name = xstrdup(name);
	return tz;
}

static struct tz *
tz_utc(void)
{
	struct tz *tz = tz_new("UTC");

	tz->ntypes = 1;
	tz->types = xcalloc(1, sizeof(*tz->types));
	tz->abbrs = xstrdup("UTC");
	tz->nabbrs = 4;
	tz->trans = xcalloc(1, sizeof(*tz->trans));
	tz->idx = xcalloc(1, 1);
	return tz;
}

enum pgs_rc
tz_load(const char *name, struct tz **out, char *err, size_t errlen)
{
	unsigned char *data = NULL;
	size_t	       len = 0;
	struct tz     *tz = NULL;
	enum pgs_rc    rc;

	*out = NULL;
	if (name == NULL || *name == '\0' || strcmp(name, "UTC") == 0) {
		*out = tz_utc();
		return PGS_OK;
	}
	rc = PGS_INVALID;
	if (!tz_name_valid(name))
		goto out;
	rc = read_zone_file(name, &data, &len);
	if (rc != PGS_OK)
		goto out;
	tz = tz_new(name);
	if (!parse_tzif(tz, data, len)) {
		rc = PGS_INVALID;
		goto out;
	}
	*out = tz;
	tz = NULL;
out:
	free(data);
	tz_free(tz);
	if (rc != PGS_OK)
		snprintf(err, errlen, "unknown time zone '%.64s'",
		    name == NULL ? "" : name);
	return rc;
}

struct tz *
tz_ref(struct tz *tz)
{
	atomic_fetch_add(&tz->refs, 1);
	return tz;
}

void
tz_free(struct tz *tz)
{
	if (tz == NULL || atomic_fetch_sub(&tz->refs, 1) != 1)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->idx);
	free(tz->types);
	free(tz->abbrs);
	free(tz);
}

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

/* Returns the number of transitions <= t (binary search). */
static size_t
trans_upto(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntrans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int32_t
tz_utc_offset(const struct tz *tz, int64_t t, struct tz_info *info)
{
	const struct tz_type  *ty;
	const struct tz_posix *z = &tz->posix;
	size_t		       n;
	bool		       dst;

	n = trans_upto(tz, t);
	if (n == tz->ntrans && tz->has_posix) {
		dst = posix_is_dst(z, t);
		if (info != NULL) {
			info->utoff = dst ? z->dst_off : z->std_off;
			info->is_dst = dst;
			info->abbr = dst ? z->dst_abbr : z->std_abbr;
		}
		return dst ? z->dst_off : z->std_off;
	}
	/* RFC 8536: type 0 applies before the first transition. */
	ty = &tz->types[n == 0 ? 0 : tz->idx[n - 1]];
	if (info != NULL) {
		info->utoff = ty->utoff;
		info->is_dst = ty->is_dst;
		info->abbr = tz->abbrs + ty->abbr;
	}
	return ty->utoff;
}

bool
tz_next_transition(const struct tz *tz, int64_t t, int64_t *next)
{
	size_t n;

	n = trans_upto(tz, t);
	if (n < tz->ntrans) {
		*next = tz->trans[n];
		return true;
	}
	if (!tz->has_posix)
		return false;
	return posix_next(&tz->posix, t, next);
}

enum tz_kind
tz_resolve(const struct tz *tz, int64_t w, struct tz_local *out)
{
	int64_t t = w - TZ_MARGIN, e, cand[2], gap = w;
	int32_t o, onext;
	int	n = 0;

	o = tz_utc_offset(tz, t, NULL);
	for (;;) {
		if (!tz_next_transition(tz, t, &e) || e > w + TZ_MARGIN)
			e = w + TZ_MARGIN;
		/* w exists in segment [t, e) when w - o falls inside it. */
		if (w - o >= t && w - o < e)
			cand[n == 2 ? 1 : n++] = w - o;
		if (e >= w + TZ_MARGIN)
			break;
		onext = tz_utc_offset(tz, e, NULL);
		if (e + o <= w && w < e + onext)
			gap = e;
		t = e;
		o = onext;
	}
	out->kind = n == 0 ? TZ_GAP : n == 1 ? TZ_ONCE : TZ_AMBIGUOUS;
	out->t1 = n == 0 ? gap : cand[0];
	out->t2 = n == 2 ? cand[1] : out->t1;
	return out->kind;
}

struct tz_cache {
	struct tz **zones;
	size_t	    n;
};

struct tz_cache *
tz_cache_new(void)
{
	return xcalloc(1, sizeof(struct tz_cache));
}

enum pgs_rc
tz_cache_get(struct tz_cache *c, const char *name, struct tz **out, char *err,
    size_t errlen)
{
	const char *key = name == NULL || *name == '\0' ? "UTC" : name;
	enum pgs_rc rc;
	size_t	    i;

	for (i = 0; i < c->n; i++) {
		if (strcmp(c->zones[i]->name, key) == 0) {
			*out = c->zones[i];
			return PGS_OK;
		}
	}
	rc = tz_load(key, out, err, errlen);
	if (rc != PGS_OK)
		return rc;
	c->zones = xrealloc(c->zones, (c->n + 1) * sizeof(*c->zones));
	c->zones[c->n++] = *out;
	return PGS_OK;
}

void
tz_cache_free(struct tz_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		tz_free(c->zones[i]);
	free(c->zones);
	free(c);
}
