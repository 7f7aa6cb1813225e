/*
 * utf8.h: strict UTF-8 validation (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
#ifndef PGS_UTF8_H
#define PGS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when the n bytes at s are valid UTF-8 (NUL bytes allowed;
 * callers that forbid them check separately). */
bool utf8_valid(const char *s, size_t n);
/*
 * Returns the length (1-4) of the valid UTF-8 sequence starting at s,
 * whose n bytes remain, or 0 when the bytes there are not a valid sequence.
 */
size_t utf8_seq_len(const char *s, size_t n);
/* Returns the largest m <= n such that s[0..m) does not end in the middle
 * of a multi-byte sequence (used to cut strings without splitting a
 * character). */
size_t utf8_cut(const char *s, size_t n);
/* Returns the value of the 4 hex digits at p (those of a JSON \u escape),
 * or -1 when one is not a hex digit. */
int utf8_hex4(const char *p);

#endif
