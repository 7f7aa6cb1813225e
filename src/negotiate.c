/*
 * negotiate.c: the Accept header (see negotiate.h).  The header is read
 * in one pass per list element; each element is parsed into a range
 * (type and subtype spans) and a weight, then scored against every
 * offer.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "negotiate.h"

/* Most offers a caller may pass (more are ignored). */
#define NEGOTIATE_MAX_OFFERS 16

/* One media range of the header. */
struct negotiate_range {
	const char *type, *sub;
	size_t	    ntype, nsub;
	int	    q; /* weight in thousandths, 0 .. 1000 */
};

/* Returns whether c is a token character (RFC 9110 section 5.6.2). */
static bool
negotiate_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Skips blanks (OWS) from p; returns where they end. */
static const char *
negotiate_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Reads a token at *p; returns its length (0: none) and moves *p. */
static size_t
negotiate_token(const char **p, const char *end)
{
	const char *s = *p;

	while (*p < end && negotiate_tchar(**p))
		(*p)++;
	return (size_t)(*p - s);
}

/*
 * Parses the qvalue of n bytes at s ("0", "0.5", "1.000"...) into
 * thousandths; returns false when it is not one.
 */
static bool
negotiate_qvalue(const char *s, size_t n, int *q)
{
	size_t i;
	int    v, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1') || n > 5 ||
	    (n > 1 && (s[1] != '.')))
		return false;
	v = (s[0] - '0') * 1000;
	for (i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v += (s[i] - '0') * scale;
		scale /= 10;
	}
	if (v > 1000)
		return false;
	*q = v;
	return true;
}

/* Reads a parameter value (token or quoted string) at *p; false when
 * there is none. */
static bool
negotiate_value(const char **p, const char *end, const char **v, size_t *n)
{
	const char *s = *p;

	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++)
			if (*s == '\\' && s + 1 < end)
				s++;
		if (s >= end)
			return false;
		*v = *p + 1;
		*n = (size_t)(s - *v);
		*p = s + 1;
		return true;
	}
	*v = s;
	*n = negotiate_token(p, end);
	return *n > 0;
}

/*
 * Parses the parameters after a range (from p to end): sets r->q from
 * "q=" (1000 without one).  Returns false when they are malformed.
 */
static bool
negotiate_params(const char *p, const char *end, struct negotiate_range *r)
{
	const char *name, *v;
	size_t	    nname, nv;

	r->q = 1000;
	for (;;) {
		p = negotiate_ows(p, end);
		if (p == end)
			return true;
		if (*p != ';')
			return false;
		p = negotiate_ows(p + 1, end);
		name = p;
		nname = negotiate_token(&p, end);
		if (nname == 0 || p == end || *p != '=')
			return false;
		p++;
		if (!negotiate_value(&p, end, &v, &nv))
			return false;
		if (nname == 1 && (*name == 'q' || *name == 'Q') &&
		    !negotiate_qvalue(v, nv, &r->q))
			return false;
	}
}

/* Parses one list element (s to end, blanks around it allowed) into r;
 * returns false when it is not a media range. */
static bool
negotiate_range(const char *s, const char *end, struct negotiate_range *r)
{
	const char *p = negotiate_ows(s, end);

	r->type = p;
	r->ntype = negotiate_token(&p, end);
	if (r->ntype == 0 || p == end || *p != '/')
		return false;
	p++;
	r->sub = p;
	r->nsub = negotiate_token(&p, end);
	if (r->nsub == 0)
		return false;
	/* "* / subtype" is no range. */
	if (r->ntype == 1 && *r->type == '*' &&
	    !(r->nsub == 1 && *r->sub == '*'))
		return false;
	return negotiate_params(p, end, r);
}

/* Returns the end of the list element that starts at p: the next comma
 * outside a quoted string, or end. */
static const char *
negotiate_element_end(const char *p, const char *end)
{
	bool quoted = false;

	for (; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			break;
	}
	return p;
}

/* Returns how specifically r matches the offer "type/subtype": 3 exact,
 * 2 type / any, 1 any / any, 0 not at all. */
static int
negotiate_match(const struct negotiate_range *r, const char *offer)
{
	size_t nt = strcspn(offer, "/");
	bool   any_sub = r->nsub == 1 && *r->sub == '*';

	if (r->ntype == 1 && *r->type == '*')
		return 1;
	if (r->ntype != nt || strncasecmp(r->type, offer, nt) != 0)
		return 0;
	if (any_sub)
		return 2;
	if (offer[nt] != '/' || strlen(offer + nt + 1) != r->nsub ||
	    strncasecmp(r->sub, offer + nt + 1, r->nsub) != 0)
		return 0;
	return 3;
}

int
negotiate_media(const char *accept, const char *const offers[], size_t n)
{
	struct negotiate_range r;
	const char	      *p, *end, *e;
	int		       spec[NEGOTIATE_MAX_OFFERS] = { 0 };
	int		       q[NEGOTIATE_MAX_OFFERS] = { 0 };
	int		       best = -1, s;
	size_t		       i, len;

	if (n > NEGOTIATE_MAX_OFFERS)
		n = NEGOTIATE_MAX_OFFERS;
	len = accept == NULL ? 0 : strnlen(accept, NEGOTIATE_MAX_LEN + 1);
	if (len > NEGOTIATE_MAX_LEN)
		return -1;
	p = accept == NULL ? "" : accept;
	end = p + len;
	if (n == 0)
		return -1;
	if (negotiate_ows(p, end) == end)
		return 0;
	for (; p <= end; p = e + 1) {
		e = negotiate_element_end(p, end);
		if (!negotiate_range(p, e, &r))
			continue;
		for (i = 0; i < n; i++) {
			s = negotiate_match(&r, offers[i]);
			if (s > spec[i] ||
			    (s > 0 && s == spec[i] && r.q > q[i])) {
				spec[i] = s;
				q[i] = r.q;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (q[i] > 0 && (best < 0 || q[i] > q[best]))
			best = (int)i;
	return best;
}
