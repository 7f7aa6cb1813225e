/*
 * fuzz_negotiate.c: libFuzzer target for negotiate_media() on arbitrary
 * Accept header values (the bytes up to the first NUL, as the header
 * reaches the pool), against the offers of a run's result.  Besides the
 * sanitizers' findings (the value is an exact-size copy, so a read past
 * its end shows), it aborts when an answer breaks negotiate.h's promises:
 * an index outside -1 .. 2, a different answer for the same value, or an
 * offer chosen from a value that holds no media range at all.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_negotiate.c src/negotiate.c -o fuzz_negotiate
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const offers[] = { "application/json", "text/csv",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" };

/* Returns whether s holds only blanks (no preference at all). */
static int
blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h;
	int   r;

	h = malloc(size + 1);
	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	r = negotiate_media(h, offers, 3);
	if (r < -1 || r > 2 || negotiate_media(h, offers, 3) != r) {
		fprintf(stderr, "negotiate: answer %d for '%.200s'\n", r, h);
		abort();
	}
	/* No '/', no media range: only a blank value gets an offer. */
	if (strlen(h) <= NEGOTIATE_MAX_LEN && strchr(h, '/') == NULL &&
	    r != (blank(h) ? 0 : -1)) {
		fprintf(stderr, "negotiate: %d without a range: '%.200s'\n", r,
		    h);
		abort();
	}
	free(h);
	return 0;
}
