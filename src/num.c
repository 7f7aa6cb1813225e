/*
 * num.c: integers from text, by hand rather than with strtol(), which
 * skips leading blanks, takes a '+' and tells an overflow only through
 * errno: each caller used to check a different part of that.
 */
#include <limits.h>
#include <string.h>

#include "num.h"

/* Returns the value of the digit c in base, or -1 when it is none. */
static int
num_digit(char c, int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < base ? d : -1;
}

/*
 * Parses the len bytes at s: an optional '-', then (base 0: after the
 * prefix that picks the base, as in C) at least one digit of base.
 * Returns true with the value in *out when it lies within min..max.
 */
static bool
num_scan(const char *s, size_t len, int base, long min, long max, long *out)
{
	unsigned long mag = 0, limit;
	size_t	      i;
	bool	      neg;
	long	      v;
	int	      d;

	neg = len > 0 && s[0] == '-';
	i = neg ? 1 : 0;
	if (base == 0 && len - i >= 2 && s[i] == '0' &&
	    (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	} else if (base == 0)
		base = len - i >= 2 && s[i] == '0' ? 8 : 10;
	if (i >= len)
		return false;
	limit = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
	for (; i < len; i++) {
		d = num_digit(s[i], base);
		if (d < 0 || mag > (limit - (unsigned long)d) / (unsigned)base)
			return false;
		mag = mag * (unsigned)base + (unsigned long)d;
	}
	/* -(LONG_MAX + 1) is LONG_MIN, but not as a long computed first. */
	v = !neg ? (long)mag : mag == 0 ? 0 : -(long)(mag - 1) - 1;
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
num_parse(const char *s, long min, long max, long *out)
{
	if (s == NULL)
		return false;
	return num_scan(s, strlen(s), 10, min, max, out);
}

bool
num_parse_n(const char *s, size_t len, long min, long max, long *out)
{
	if (s == NULL)
		return false;
	return num_scan(s, len, 10, min, max, out);
}

bool
num_parse_c(const char *s, long min, long max, long *out)
{
	if (s == NULL)
		return false;
	return num_scan(s, strlen(s), 0, min, max, out);
}
