/*
 * utf8.c: strict UTF-8 checks shared by the JSON and logging modules.
 */
#include "utf8.h"

static bool
is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t
utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char	     lo = 0x80, hi = 0xBF;
	size_t		     len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return 0; /* continuation byte, C0/C1 overlong, F5+ */
	if (n < len)
		return 0;
	/* The second byte's range excludes overlongs, surrogates and
	 * code points above U+10FFFF (RFC 3629 section 4). */
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (!is_cont(p[i]))
			return 0;
	return len;
}

bool
utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

size_t
utf8_cut(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     m = n, back = 0, need;

	/* Step back over at most three continuation bytes to the lead. */
	while (m > 0 && back < 3 && is_cont(p[m - 1])) {
		m--;
		back++;
	}
	if (m == 0 || p[m - 1] < 0xC0)
		return n; /* ASCII end or stray bytes: nothing to split */
	need = p[m - 1] >= 0xF0 ? 4 : p[m - 1] >= 0xE0 ? 3 : 2;
	return back + 1 >= need ? n : m - 1;
}

int
utf8_hex4(const char *p)
{
	int v = 0, i, c;

	for (i = 0; i < 4; i++) {
		c = (unsigned char)p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}
