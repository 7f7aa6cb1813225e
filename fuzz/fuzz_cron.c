/*
 * fuzz_cron.c: libFuzzer target for sched_parse() of cron expressions in
 * a few zones (DST gaps and folds of 1 h and 30 min, odd offsets, a zone
 * with a 2 h DST), then sched_next() and sched_count() from a fuzzed
 * instant.  Input: byte 0 picks the zone, bytes 1-4 the start instant,
 * the rest is the expression.  Besides the sanitizers' findings it
 * aborts when an answer breaks sched.h's promises: PGS_INVALID without a
 * message, a fire time not after the asked instant or out of range,
 * sched_count() disagreeing with sched_next() on (after, next], or a
 * description line that does not fit SCHED_LINE_MAX.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_cron.c src/sched.c src/tz.c src/isotime.c \
 *	src/arena.c -o fuzz_cron
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

static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York",
	"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham",
	"America/Sao_Paulo", "Antarctica/Troll", "Pacific/Apia", "" };
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static void
broken(const char *what, const char *expr, const char *zone, int64_t t)
{
	fprintf(stderr,
	    "sched promise broken: %s\n  expr='%s' zone=%s "
	    "t=%" PRId64 "\n",
	    what, expr, zone, t);
	abort();
}

/* Follows up to four fires from after and checks each against count. */
static void
check_fires(const struct sched *s, const char *expr, const char *zone,
    int64_t after)
{
	char	    line[SCHED_LINE_MAX];
	int64_t	    next, count, last;
	unsigned    flags;
	enum pgs_rc rc;
	int	    i;

	for (i = 0; i < 4; i++) {
		rc = sched_next(s, 0, after, &next, &flags);
		if (rc == PGS_NOTFOUND)
			return;
		if (rc != PGS_OK)
			broken("sched_next failed in range", expr, zone, after);
		if (next <= after || next > ISOTIME_MAX)
			broken("fire not after the asked instant", expr, zone,
			    after);
		rc = sched_count(s, 0, after, next, 1000, &count, &last);
		if (rc != PGS_OK || count != 1 || last != next)
			broken("count of (after, next] is not one fire at next",
			    expr, zone, after);
		if (sched_describe_line(s, next, flags, line, sizeof(line)) !=
		    PGS_OK)
			broken("describe line does not fit", expr, zone, next);
		after = next;
	}
	if (after > ISOTIME_MAX - 86400 * 40)
		return;
	rc = sched_count(s, 0, after, after + 86400 * 40, 50, &count, &last);
	if (rc != PGS_OK || count < 0 || count > 50 ||
	    (count > 0 && (last <= after || last > after + 86400 * 40)))
		broken("sched_count over 40 days", expr, zone, after);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched *s = NULL;
	char	     *expr, err[256];
	const char   *zone;
	int64_t	      after;
	uint32_t      u;
	enum pgs_rc   rc;

	if (size < 5 || size > 512)
		return 0;
	zone = zones[data[0] % NZONES];
	u = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 8 | data[4];
	/* 1901..2037 from the bits, plus a few edges of the range. */
	after = (int64_t)(int32_t)u;
	if (data[0] >= 0xf0)
		after = data[0] & 1 ? ISOTIME_MAX - (u % 86400000) :
				      ISOTIME_MIN + (u % 86400000);
	expr = malloc(size - 5 + 1);
	if (expr == NULL)
		return 0;
	memcpy(expr, data + 5, size - 5);
	expr[size - 5] = '\0';
	err[0] = '\0';
	rc = sched_parse("cron", expr, zone, 3600, &s, err, sizeof(err));
	if (rc == PGS_OK) {
		if (s == NULL || sched_is_interval(s, NULL))
			broken("PGS_OK without a cron schedule", expr, zone, 0);
		check_fires(s, expr, zone, after);
		sched_free(s);
	} else if (rc != PGS_INVALID || err[0] == '\0' || s != NULL)
		broken("failure without PGS_INVALID and a message", expr, zone,
		    0);
	free(expr);
	return 0;
}
