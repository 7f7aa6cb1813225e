/*
 * fuzz_duration.c: libFuzzer target for the text forms of time: interval
 * schedule expressions (sched_parse of type "interval"), ISO 8601
 * durations (isotime_parse_duration) and timestamps (isotime_parse).
 * Byte 0 picks the parser, the rest is the text.  Besides the
 * sanitizers' findings it aborts when an answer breaks a promise:
 * PGS_INVALID without a message, a duration accepted that does not start
 * with P or is negative, an interval outside 60 s .. 100 years or whose
 * fires are not on anchor + k * period, a timestamp outside the supported
 * range, fractions outside 0..999999, or a formatted instant that does
 * not parse back to itself.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_duration.c src/sched.c src/tz.c src/isotime.c \
 *	src/arena.c -o fuzz_duration
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "sched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what, const char *text, int64_t v)
{
	fprintf(stderr,
	    "time promise broken: %s\n  text='%s' value=%" PRId64 "\n", what,
	    text, v);
	abort();
}

static void
check_failure(enum pgs_rc rc, const char *err, const char *text)
{
	if (rc != PGS_INVALID || err[0] == '\0')
		broken("failure without PGS_INVALID and a message", text, 0);
}

static void
fuzz_timestamp(const char *text)
{
	char	    err[256] = "", buf[ISOTIME_BUFSZ];
	int64_t	    t, back;
	int32_t	    usec = -1;
	enum pgs_rc rc;

	rc = isotime_parse(text, &t, &usec, err, sizeof(err));
	if (rc != PGS_OK) {
		check_failure(rc, err, text);
		return;
	}
	if (t < ISOTIME_MIN || t > ISOTIME_MAX)
		broken("instant out of range", text, t);
	if (usec < 0 || usec > 999999)
		broken("fraction out of range", text, usec);
	isotime_format_utc(t, buf);
	if (isotime_parse(buf, &back, NULL, err, sizeof(err)) != PGS_OK ||
	    back != t)
		broken("formatted instant does not parse back", buf, t);
	isotime_format_off(t, (int32_t)(t % 50000), buf);
	if (isotime_parse(buf, &back, NULL, err, sizeof(err)) == PGS_OK &&
	    back != t)
		broken("offset form parses to another instant", buf, t);
}

static void
fuzz_iso_duration(const char *text)
{
	char	    err[256] = "";
	int64_t	    secs;
	enum pgs_rc rc;

	rc = isotime_parse_duration(text, &secs, err, sizeof(err));
	if (rc != PGS_OK) {
		check_failure(rc, err, text);
		return;
	}
	if (text[0] != 'P' && text[0] != 'p')
		broken("duration without a leading P accepted", text, secs);
	if (secs < 0)
		broken("negative duration", text, secs);
}

static void
fuzz_interval(const char *text, int64_t anchor)
{
	struct sched *s = NULL;
	char	      err[256] = "";
	int64_t	      period = 0, next, after = anchor;
	enum pgs_rc   rc;
	int	      i;

	rc = sched_parse("interval", text, "UTC", 3600, &s, err, sizeof(err));
	if (rc != PGS_OK) {
		check_failure(rc, err, text);
		return;
	}
	if (!sched_is_interval(s, &period) || period < SCHED_MIN_INTERVAL_S ||
	    period > 100LL * 366 * 86400)
		broken("interval period out of bounds", text, period);
	for (i = 0; i < 3; i++) {
		rc = sched_next(s, anchor, after, &next, NULL);
		if (rc == PGS_NOTFOUND)
			break;
		if (rc != PGS_OK || next <= after || (next - anchor) % period)
			broken("interval fire off the grid", text, next);
		after = next + (i == 1 ? period / 2 : 0);
	}
	sched_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *text;
	int64_t anchor;

	if (size < 1 || size > 256)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	/* An anchor in 1970..2106 from the selector byte and the length. */
	anchor = (int64_t)data[0] * 16777259 + (int64_t)size * 86413;
	switch (data[0] % 3) {
	case 0:
		fuzz_timestamp(text);
		break;
	case 1:
		fuzz_iso_duration(text);
		break;
	default:
		fuzz_interval(text, anchor);
		break;
	}
	free(text);
	return 0;
}
