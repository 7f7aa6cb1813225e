/*
 * backoff.h: when a notification is tried again (CONTRACT section 8).
 *
 * After a failed attempt the next one waits about 1 min, 5 min, 30 min,
 * 2 h, 6 h, then 12 h for every further attempt, each with a random
 * jitter of +-20 % so that the deliveries of one outage do not all come
 * back at once.  A Retry-After (429 or 503) is honoured instead: never
 * sooner than the server asked, and never sooner than one minute (the
 * runner's tick).  An event is given up ("dead") NOTIFY_GIVE_UP_HOURS
 * after it was created: an attempt that would fall later is moved to the
 * give-up time itself, so the last attempt is made then; a failure at or
 * after that time is final.
 */
#ifndef PGS_BACKOFF_H
#define PGS_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "rc.h"

#define BACKOFF_JITTER_PERMILLE 200 /* +-20 % */
#define BACKOFF_MIN_S		60  /* the earliest retry, whatever */

enum backoff_verdict {
	BACKOFF_RETRY, /* try again at *next */
	BACKOFF_DEAD   /* give up: mark the delivery dead */
};

/*
 * Returns the delay in seconds before attempt attempts + 1, after
 * attempts >= 1 failed ones (0 or less counts as 1), with jitter in
 * permille (-BACKOFF_JITTER_PERMILLE..BACKOFF_JITTER_PERMILLE; clamped).
 */
int64_t backoff_delay_s(int attempts, int jitter);

/* Returns a uniformly random jitter for backoff_delay_s (libsodium). */
int backoff_jitter(void);

/*
 * Decides what follows a failed attempt at time now (Unix seconds) of an
 * event created at created, after attempts failed attempts (this one
 * included).  retry_after_s is the server's Retry-After in seconds, or -1
 * when it gave none; give_up_hours is NOTIFY_GIVE_UP_HOURS; jitter as for
 * backoff_delay_s.  Returns BACKOFF_DEAD, or BACKOFF_RETRY with the time
 * of the next attempt in *next.
 */
enum backoff_verdict backoff_next(int64_t created, int64_t now, int attempts,
    int64_t retry_after_s, int give_up_hours, int jitter, int64_t *next);

/*
 * Parses a Retry-After header value (RFC 9110: delay-seconds or an
 * HTTP-date; surrounding blanks ignored) received at now into *secs
 * (>= 0; a date in the past is 0).  Returns false when v is neither.
 */
bool backoff_retry_after(const char *v, time_t now, int64_t *secs);

#endif
