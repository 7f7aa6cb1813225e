/*
 * fuzz_sqlguard.c: libFuzzer target for sqlguard_check().  Besides the
 * sanitizers' own findings, it aborts when an answer breaks the API's
 * promises: PGS_OK with a code or message, PGS_INVALID without them, a
 * message that is not NUL-terminated UTF-8, a position past the end, or
 * PGS_INTERNAL (libpg_query handed back something unreadable).
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *	-Isrc fuzz/fuzz_sqlguard.c src/sqlguard.c src/sqlguard_deny.c \
 *	-lpg_query -lcjson -o fuzz_sqlguard
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns the number of characters of valid UTF-8 s, or -1 if invalid. */
static long
utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     off = 0, n, i;
	long		     chars = 0;

	while (off < len) {
		if (p[off] < 0x80)
			n = 1;
		else if (p[off] >= 0xc2 && p[off] <= 0xdf)
			n = 2;
		else if (p[off] >= 0xe0 && p[off] <= 0xef)
			n = 3;
		else if (p[off] >= 0xf0 && p[off] <= 0xf4)
			n = 4;
		else
			return -1;
		if (n > len - off)
			return -1;
		for (i = 1; i < n; i++)
			if ((p[off + i] & 0xc0) != 0x80)
				return -1;
		off += n;
		chars++;
	}
	return chars;
}

static void
broken(const char *what, const char *sql, const struct sqlguard_err *why)
{
	fprintf(stderr,
	    "sqlguard promise broken: %s\n  code=%s pos=%d "
	    "message=%s\n  sql=%s\n",
	    what, why->code ? why->code : "(null)", why->position, why->message,
	    sql);
	abort();
}

static void
check_answer(const char *sql, enum pgs_rc rc, const struct sqlguard_err *why)
{
	size_t mlen;
	long   chars;

	mlen = strnlen(why->message, sizeof(why->message));
	if (mlen == sizeof(why->message))
		broken("message not NUL-terminated", sql, why);
	if (why->code == NULL)
		broken("NULL code", sql, why);
	if (rc == PGS_OK) {
		if (why->code[0] != '\0' || mlen != 0)
			broken("PGS_OK with a code or message", sql, why);
		return;
	}
	if (rc != PGS_INVALID)
		broken("neither PGS_OK nor PGS_INVALID", sql, why);
	if (why->code[0] == '\0' || mlen == 0)
		broken("PGS_INVALID without code or message", sql, why);
	if (utf8_chars(why->message, mlen) < 0)
		broken("message is not UTF-8", sql, why);
	chars = utf8_chars(sql, strlen(sql));
	if (why->position < 0 || (chars >= 0 && why->position > chars + 1))
		broken("position out of range", sql, why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sqlguard_err why;
	enum pgs_rc	    rc;
	char		   *sql;

	sql = malloc(size + 1);
	if (sql == NULL)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	rc = sqlguard_check(sql, &why);
	check_answer(sql, rc, &why);
	free(sql);
	return 0;
}
