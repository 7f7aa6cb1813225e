/*
 * result_check.h: the value checks behind result.c's type rules: does a
 * number read back exactly through pandas' JSON reader and jsonb, is a
 * json value safe to embed, is a byte sequence valid UTF-8.  Pure
 * functions; the rules are documented in result.c.
 */
#ifndef PGS_RESULT_CHECK_H
#define PGS_RESULT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns whether the n bytes at s are a JSON number that pandas 1.5's
 * reader (precise_float=False) turns into the double strtod() gives, both
 * as written and as jsonb prints it.  With shortest, the text must also
 * be that double's shortest decimal form.
 */
bool result_check_number(const char *s, size_t n, bool shortest);

/*
 * Returns whether the n bytes at s are one JSON value that jsonb accepts
 * and pandas reads back equal (numbers as result_check_number, no \u0000,
 * no lone surrogate, valid UTF-8, nesting below 512); with dupkeys, also
 * that no object repeats a key (json, unlike jsonb, keeps duplicates).
 * On success *extra is what escaping s as a JSON string would add and
 * *top_null tells whether s is the literal null.
 */
bool result_check_json(const char *s, size_t n, bool dupkeys, size_t *extra,
    bool *top_null);

/*
 * Returns the length (1-4) of the valid UTF-8 sequence at s (n > 0 bytes
 * available), or 0 when it is invalid (overlong, surrogate, beyond
 * U+10FFFF, truncated, or a NUL byte).
 */
size_t result_check_utf8(const unsigned char *s, size_t n);

#endif
