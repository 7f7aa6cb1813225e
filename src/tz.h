/*
 * tz.h: IANA time zones read from the system tz database (TZif v1-v3
 * files under $TZDIR, else /usr/share/zoneinfo), including the POSIX TZ
 * rule in the file footer for instants after the last transition.
 *
 * A struct tz is immutable once loaded and reference-counted (atomically),
 * so one zone can be shared by many schedules and threads.  "UTC" (and an
 * empty or NULL name) is built in and needs no file.
 */
#ifndef PGS_TZ_H
#define PGS_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

struct tz;
struct tz_cache;

/* What an instant looks like on the wall clock of a zone. */
struct tz_info {
	int32_t	    utoff; /* seconds east of UTC */
	bool	    is_dst;
	const char *abbr; /* "CEST"; owned by the struct tz */
};

/* How a wall-clock time maps to instants (tz_resolve). */
enum tz_kind {
	TZ_ONCE,     /* exists once: t1 */
	TZ_GAP,	     /* skipped by a forward shift: t1 = first instant
			   after the gap (the transition) */
	TZ_AMBIGUOUS /* repeated by a backward shift: t1 < t2 */
};

struct tz_local {
	enum tz_kind kind;
	int64_t	     t1;
	int64_t	     t2; /* == t1 unless TZ_AMBIGUOUS */
};

/* Returns true when name is a syntactically safe zone name: 1-255 chars of
 * [A-Za-z0-9_+-/], no leading '/', no empty, "." or ".." component. */
bool tz_name_valid(const char *name);

/*
 * Loads zone name (NULL or "" means UTC) into *out; the caller owns the
 * result and releases it with tz_free().  Returns PGS_OK, or PGS_INVALID
 * with "unknown time zone 'X'" (or a more precise reason) in err.
 */
enum pgs_rc tz_load(const char *name, struct tz **out, char *err,
    size_t errlen) PGS_MUSTCHECK;

/* Adds a reference to tz and returns it; each reference needs a tz_free. */
struct tz *tz_ref(struct tz *tz);

/* Drops one reference; the zone is freed with the last one.  NULL is ok. */
void tz_free(struct tz *tz);

/* Returns the zone's name (owned by tz). */
const char *tz_name(const struct tz *tz);

/* Returns the UTC offset in seconds at instant t (epoch seconds) and, when
 * info is not NULL, fills it (abbr owned by tz). */
int32_t tz_utc_offset(const struct tz *tz, int64_t t, struct tz_info *info);

/* Returns true and sets *next to the first instant > t at which the
 * offset, DST flag or abbreviation changes, or false when none does. */
bool tz_next_transition(const struct tz *tz, int64_t t, int64_t *next);

/* Resolves wall-clock time w (local seconds counted like epoch seconds,
 * i.e. days_from_civil * 86400 + seconds of day) into out and returns its
 * kind. */
enum tz_kind tz_resolve(const struct tz *tz, int64_t w, struct tz_local *out);

/* Returns a new empty zone cache; the caller owns it (tz_cache_free).
 * A cache is not locked: use one per thread (the zones it hands out may
 * be shared freely). */
struct tz_cache *tz_cache_new(void);

/* Looks name up in the cache, loading it on first use.  *out is borrowed:
 * it stays valid until tz_cache_free() (tz_ref() it to keep it longer).
 * Failures are not cached.  Returns like tz_load(). */
enum pgs_rc tz_cache_get(struct tz_cache *c, const char *name, struct tz **out,
    char *err, size_t errlen) PGS_MUSTCHECK;

/* Drops the cache's references and frees it.  NULL is ok. */
void tz_cache_free(struct tz_cache *c);

#endif
