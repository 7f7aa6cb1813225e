/*
 * backoff.c: the retry schedule of notifications (backoff.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "backoff.h"

/* The delays after the 1st, 2nd, ... failed attempt; the last repeats. */
static const int64_t steps[] = { 60, 300, 1800, 7200, 21600, 43200 };

#define NSTEPS		(sizeof(steps) / sizeof(steps[0]))
#define RETRY_AFTER_MAX (10L * 366 * 86400) /* beyond: a bogus value */

int64_t
backoff_delay_s(int attempts, int jitter)
{
	int64_t base;

	if (attempts < 1)
		attempts = 1;
	if (jitter > BACKOFF_JITTER_PERMILLE)
		jitter = BACKOFF_JITTER_PERMILLE;
	if (jitter < -BACKOFF_JITTER_PERMILLE)
		jitter = -BACKOFF_JITTER_PERMILLE;
	base =
	    (size_t)attempts > NSTEPS ? steps[NSTEPS - 1] : steps[attempts - 1];
	return base * (1000 + jitter) / 1000;
}

int
backoff_jitter(void)
{
	return (int)randombytes_uniform(2 * BACKOFF_JITTER_PERMILLE + 1) -
	    BACKOFF_JITTER_PERMILLE;
}

enum backoff_verdict
backoff_next(int64_t created, int64_t now, int attempts, int64_t retry_after_s,
    int give_up_hours, int jitter, int64_t *next)
{
	int64_t give_up = created + (int64_t)give_up_hours * 3600, delay;

	*next = 0;
	if (now >= give_up)
		return BACKOFF_DEAD;
	if (retry_after_s >= 0)
		delay = retry_after_s < BACKOFF_MIN_S ? BACKOFF_MIN_S :
							retry_after_s;
	else
		delay = backoff_delay_s(attempts, jitter);
	/* the last attempt is made at the give-up time itself */
	*next = delay > give_up - now ? give_up : now + delay;
	return BACKOFF_RETRY;
}

bool
backoff_retry_after(const char *v, time_t now, int64_t *secs)
{
	char   buf[64];
	size_t n, i;
	time_t t;

	*secs = 0;
	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 &&
	    (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' ||
		v[n - 1] == '\n'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	for (i = 0; i < n && isdigit((unsigned char)buf[i]); i++)
		;
	if (i == n) {
		if (n > 9) /* more than 31 years: cap it */
			*secs = RETRY_AFTER_MAX;
		else
			*secs = strtoll(buf, NULL, 10);
		if (*secs > RETRY_AFTER_MAX)
			*secs = RETRY_AFTER_MAX;
		return true;
	}
	t = curl_getdate(buf, NULL);
	if (t == -1)
		return false;
	*secs = t > now ? (int64_t)(t - now) : 0;
	if (*secs > RETRY_AFTER_MAX)
		*secs = RETRY_AFTER_MAX;
	return true;
}
