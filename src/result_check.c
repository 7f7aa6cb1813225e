/*
 * result_check.c: can a value be written as JSON that pandas reads back
 * unchanged, after PostgreSQL's jsonb has rewritten it?
 *
 * pandas' reader (its bundled ujson, precise_float=False) reads a number
 * with a fraction or an exponent as
 *	(double)int_part + frac * 10^-k   (k = first 15 fraction digits)
 * then multiplied by pow(10, exp), and an integer as a 64-bit integer
 * (error beyond -2^63..2^64-1).  The check replays that arithmetic, with
 * and without a fused multiply-add (pandas builds for arm64 contract it),
 * and compares with strtod(), which is what Python's float() gives.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "result_check.h"
#include "utf8.h"

#define NUM_MAX_EXP    1000 /* numeric_in rejects larger exponents */
#define JSON_MAX_DEPTH 512

/* A JSON number token, split up. */
struct num {
	bool	    neg;
	bool	    dot;
	bool	    has_exp;
	const char *ip; /* integer digits */
	size_t	    ni;
	const char *fp; /* fraction digits */
	size_t	    nf;
	long	    exp;
};

/* ujson's table; the literals are the same doubles as its own. */
static const double g_pow10[] = { 1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7,
	1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15 };

static const double p10[] = { 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* Returns whether s is a JSON number (RFC 8259 grammar), split into x. */
static bool
num_parse(const char *s, size_t n, struct num *x)
{
	size_t i = 0, j;
	long   e = 0;
	bool   eneg;

	memset(x, 0, sizeof(*x));
	if (i < n && s[i] == '-') {
		x->neg = true;
		i++;
	}
	x->ip = s + i;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && is_digit(s[i]))
		i = digits(s, i, n);
	else
		return false;
	x->ni = (size_t)(s + i - x->ip);
	if (i < n && s[i] == '.') {
		x->dot = true;
		x->fp = s + ++i;
		i = digits(s, i, n);
		x->nf = (size_t)(s + i - x->fp);
		if (x->nf == 0)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		x->has_exp = true;
		i++;
		eneg = i < n && s[i] == '-';
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		for (j = i; i < n && is_digit(s[i]); i++)
			if (e <= NUM_MAX_EXP)
				e = e * 10 + (s[i] - '0');
		if (i == j)
			return false;
		x->exp = eneg ? -e : e;
	}
	return i == n;
}

/* Returns digit i of x's digits (integer then fraction), 0 outside. */
static int
num_digit(const struct num *x, long i)
{
	if (i < 0)
		return 0;
	if ((size_t)i < x->ni)
		return x->ip[i] - '0';
	i -= (long)x->ni;
	if ((size_t)i < x->nf)
		return x->fp[i] - '0';
	return 0;
}

/*
 * Replays ujson on the number whose integer part is digits [0, ilen) of
 * x and fraction [ilen, ilen + flen), as an integer token when is_int,
 * times 10^exp when has_exp.  Returns false where ujson fails, else
 * r[0] (separate multiply and add) and r[1] (fused).
 */
static bool
uj_read(const struct num *x, long ilen, long flen, bool is_int, bool has_exp,
    long exp, double r[2])
{
	uint64_t	iv = 0, lim = x->neg ? (1ULL << 63) : UINT64_MAX;
	double		f = 0.0, a, sign = x->neg ? -1.0 : 1.0, e;
	volatile double m; /* keeps the compiler from fusing */
	long		i, k;

	for (i = 0; i < ilen; i++) {
		unsigned d = (unsigned)num_digit(x, i);

		if (iv > (lim - d) / 10)
			return false;
		iv = iv * 10 + d;
	}
	a = (double)iv;
	if (is_int) {
		r[0] = r[1] = a * sign;
		return true;
	}
	k = flen < 15 ? flen : 15;
	for (i = 0; i < k; i++)
		f = f * 10.0 + num_digit(x, ilen + i);
	m = f * g_pow10[k];
	r[0] = (a + m) * sign;
	r[1] = fma(f, g_pow10[k], a) * sign;
	if (has_exp) {
		e = pow(10.0, (double)exp);
		r[0] *= e;
		r[1] *= e;
	}
	return true;
}

/* Returns whether x's text is the shortest decimal that reads as d. */
static bool
is_shortest(double d, const struct num *x)
{
	char tmp[64];
	long i, first = -1, last = -1, total = (long)(x->ni + x->nf);
	int  n, p;

	for (i = 0; i < total; i++)
		if (num_digit(x, i) != 0) {
			first = first < 0 ? i : first;
			last = i;
		}
	if (first < 0)
		return true;
	n = (int)(last - first + 1);
	if (n > 17)
		return false;
	if (n <= 15 && fabs(d) >= DBL_MIN)
		return true; /* DBL_DIG: any 15 digits round-trip */
	snprintf(tmp, sizeof(tmp), "%.*e", n - 1, fabs(d));
	for (i = 0; i < n; i++)
		if (tmp[i == 0 ? 0 : i + 1] - '0' != num_digit(x, first + i))
			return false;
	if (strtol(strchr(tmp, 'e') + 1, NULL, 10) !=
	    (long)x->ni - 1 - first + x->exp)
		return false;
	for (p = 1; p < n; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, fabs(d));
		if (strtod(tmp, NULL) == fabs(d))
			return false;
	}
	return true;
}

/* Returns strtod() of the n bytes at s (which need no NUL). */
static double
exact_value(const char *s, size_t n)
{
	char   tmp[128], *p = n < sizeof(tmp) ? tmp : xmalloc(n + 1);
	double d;

	memcpy(p, s, n);
	p[n] = '\0';
	d = strtod(p, NULL);
	if (p != tmp)
		free(p);
	return d;
}

bool
result_check_number(const char *s, size_t n, bool shortest)
{
	struct num x;
	double	   want, r[2];
	uint64_t   m = 0;
	long	   scale;
	size_t	   i;

	if (!num_parse(s, n, &x) || x.exp > NUM_MAX_EXP || x.exp < -NUM_MAX_EXP)
		return false;
	if (!x.has_exp && x.ni + x.nf <= 15) {
		/* Clinger's fast path: both operands exact, one rounding. */
		for (i = 0; i < x.ni + x.nf; i++)
			m = m * 10 + (uint64_t)num_digit(&x, (long)i);
		want = (double)m / p10[x.nf] * (x.neg ? -1.0 : 1.0);
	} else
		want = exact_value(s, n);
	if (!isfinite(want))
		return false;
	if (!uj_read(&x, (long)x.ni, (long)x.nf, !x.dot && !x.has_exp,
		x.has_exp, x.exp, r) ||
	    r[0] != want || r[1] != want)
		return false;
	if (x.has_exp) {
		/* jsonb prints numeric_out's form: no exponent, and
		 * max(0, fraction digits - exp) decimals. */
		scale = (long)x.nf - x.exp;
		scale = scale < 0 ? 0 : scale;
		if (!uj_read(&x, (long)x.ni + x.exp, scale, scale == 0, false,
			0, r) ||
		    r[0] != want || r[1] != want)
			return false;
	}
	return !shortest || is_shortest(want, &x);
}

size_t
result_check_utf8(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xC2 && c < 0xE0)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xF0 && c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
			return 0; /* overlong, beyond U+10FFFF */
		return 4;
	}
	return 0;
}

/* A JSON value being checked. */
struct jscan {
	const unsigned char *p, *end;
	bool		     dupkeys;
	int		     depth;
};

/* A key seen in an object: its raw bytes between the quotes. */
struct jkey {
	const unsigned char *s;
	size_t		     n;
};

static void
j_ws(struct jscan *j)
{
	while (j->p < j->end &&
	    (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Checks a \u escape at p (the backslash); returns its length or 0. */
static size_t
j_uescape(const unsigned char *p, const unsigned char *end)
{
	int cp, lo;

	if (end - p < 6 || p[1] != 'u')
		return 0;
	cp = utf8_hex4((const char *)p + 2);
	if (cp <= 0)
		return 0; /* \u0000 is rejected by jsonb */
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return 0;
	if (cp < 0xD800 || cp > 0xDBFF)
		return 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return 0;
	lo = utf8_hex4((const char *)p + 8);
	return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* Checks the string at j->p (its opening quote); *esc: it had escapes. */
static bool
j_string(struct jscan *j, bool *esc)
{
	size_t len;

	*esc = false;
	for (j->p++; j->p < j->end; j->p += len) {
		if (*j->p == '"') {
			j->p++;
			return true;
		}
		if (*j->p < 0x20)
			return false;
		if (*j->p == '\\') {
			*esc = true;
			if (j->end - j->p >= 2 &&
			    strchr("\"\\/bfnrt", j->p[1]) != NULL &&
			    j->p[1] != '\0')
				len = 2;
			else
				len = j_uescape(j->p, j->end);
		} else
			len = result_check_utf8(j->p, (size_t)(j->end - j->p));
		if (len == 0)
			return false;
	}
	return false;
}

static int
jkey_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return memcmp(x->s, y->s, x->n);
}

/* Returns whether the keys are distinct; an escaped key counts as a
 * possible duplicate, since its raw bytes need not be its value. */
static bool
keys_distinct(struct jkey *k, size_t n, bool escaped)
{
	size_t i;

	if (n < 2)
		return true;
	if (escaped)
		return false;
	qsort(k, n, sizeof(*k), jkey_cmp);
	for (i = 1; i < n; i++)
		if (jkey_cmp(&k[i - 1], &k[i]) == 0)
			return false;
	return true;
}

static bool j_value(struct jscan *j);

static bool
j_object(struct jscan *j)
{
	struct jkey *keys = NULL;
	size_t	     nkeys = 0, cap = 0;
	bool	     ok = false, esc, anyesc = false;

	j->p++;
	j_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		j_ws(j);
		if (j->p >= j->end || *j->p != '"')
			goto out;
		if (j->dupkeys && nkeys == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		if (j->dupkeys)
			keys[nkeys] = (struct jkey){ j->p + 1, 0 };
		if (!j_string(j, &esc))
			goto out;
		if (j->dupkeys)
			keys[nkeys].n = (size_t)(j->p - 1 - keys[nkeys].s);
		nkeys++;
		anyesc = anyesc || esc;
		j_ws(j);
		if (j->p >= j->end || *j->p++ != ':' || !j_value(j))
			goto out;
		j_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p >= j->end || *j->p++ != '}')
			goto out;
		break;
	}
	ok = !j->dupkeys || keys_distinct(keys, nkeys, anyesc);
out:
	free(keys);
	return ok;
}

static bool
j_array(struct jscan *j)
{
	j->p++;
	j_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		if (!j_value(j))
			return false;
		j_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return j->p < j->end && *j->p++ == ']';
	}
}

static bool
j_literal(struct jscan *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
j_value(struct jscan *j)
{
	const unsigned char *s;
	bool		     ok, esc;

	j_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > JSON_MAX_DEPTH)
			return false;
		ok = *j->p == '{' ? j_object(j) : j_array(j);
		j->depth--;
		return ok;
	case '"':
		return j_string(j, &esc);
	case 't':
		return j_literal(j, "true");
	case 'f':
		return j_literal(j, "false");
	case 'n':
		return j_literal(j, "null");
	default:
		for (s = j->p; j->p < j->end &&
		     (is_digit((char)*j->p) ||
			 strchr("+-.eE", *j->p) != NULL) &&
		     *j->p != '\0';
		     j->p++)
			;
		return result_check_number((const char *)s, (size_t)(j->p - s),
		    false);
	}
}

bool
result_check_json(const char *s, size_t n, bool dupkeys, size_t *extra,
    bool *top_null)
{
	struct jscan j = { (const unsigned char *)s,
		(const unsigned char *)s + n, dupkeys, 0 };
	size_t	     i, x = 2;

	if (!j_value(&j))
		return false;
	j_ws(&j);
	if (j.p != j.end)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '"' || s[i] == '\\' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\t')
			x++;
	*extra = x;
	j.p = (const unsigned char *)s;
	j_ws(&j);
	*top_null = (size_t)(j.end - j.p) >= 4 && memcmp(j.p, "null", 4) == 0;
	return true;
}
