/*
 * num.h: the one integer parser of the programs, for command-line values,
 * ids in API paths, query-string parameters and settings.
 *
 * A value is the whole string: an optional '-' and decimal digits, nothing
 * else (no '+', no blanks, no base prefix; leading zeros are digits like
 * any other).  It must lie within min..max, and a value beyond the range
 * of a long is refused, never wrapped or clamped.  Each function returns
 * true and stores the value in *out, or returns false and leaves *out as
 * it was; the caller words its own error, naming what it parsed.
 */
#ifndef PGS_NUM_H
#define PGS_NUM_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

/* Parses the NUL-terminated s (NULL is refused) as above. */
bool num_parse(const char *s, long min, long max, long *out) PGS_MUSTCHECK;

/* Parses the len bytes at s (a segment of a longer string, such as an id
 * between two '/' of a path) as above. */
bool num_parse_n(const char *s, size_t len, long min, long max,
    long *out) PGS_MUSTCHECK;

/* Parses s in C notation, as a C literal reads: "0x" or "0X" then hex
 * digits, a leading 0 then octal digits, else decimal (file modes:
 * 0660).  Otherwise as num_parse(). */
bool num_parse_c(const char *s, long min, long max, long *out) PGS_MUSTCHECK;

#endif
