/*
 * ssrf.c: address classes, the NOTIFY_ALLOW_HOSTS list, target URLs and
 * the creation-time and connect-time checks (ssrf.h).
 *
 * The ranges are those of the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries that are not globally reachable, plus multicast.  100.64/10
 * (carrier-grade NAT) is refused: inside a provider's network it reaches
 * the provider's own services (one cloud's metadata endpoint lives there).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "arena.h"
#include "ssrf.h"

struct range {
	unsigned char	net[16];
	int		bits;
	enum ssrf_class cls;
};

struct ssrf_net {
	int	      family; /* AF_INET or AF_INET6 */
	unsigned char a[16];
	int	      bits;
};

struct ssrf_allow {
	char	       **hosts; /* lower case, no trailing dot */
	size_t		 nhosts;
	struct ssrf_net *nets;
	size_t		 nnets;
};

/* Most specific first: the first match wins. */
static const struct range v4_ranges[] = {
	{ { 255, 255, 255, 255 }, 32, SSRF_BROADCAST },
	{ { 0 }, 8, SSRF_UNSPECIFIED },
	{ { 10 }, 8, SSRF_PRIVATE },
	{ { 100, 64 }, 10, SSRF_SHARED },
	{ { 127 }, 8, SSRF_LOOPBACK },
	{ { 169, 254 }, 16, SSRF_LINK_LOCAL },
	{ { 172, 16 }, 12, SSRF_PRIVATE },
	{ { 192, 0, 0 }, 24, SSRF_RESERVED },
	{ { 192, 0, 2 }, 24, SSRF_DOCUMENTATION },
	{ { 192, 88, 99 }, 24, SSRF_RESERVED },
	{ { 192, 168 }, 16, SSRF_PRIVATE },
	{ { 198, 18 }, 15, SSRF_RESERVED },
	{ { 198, 51, 100 }, 24, SSRF_DOCUMENTATION },
	{ { 203, 0, 113 }, 24, SSRF_DOCUMENTATION },
	{ { 224 }, 4, SSRF_MULTICAST },
	{ { 240 }, 4, SSRF_RESERVED },
};

static const struct range v6_ranges[] = {
	{ { 0 }, 128, SSRF_UNSPECIFIED }, { { [15] = 1 }, 128, SSRF_LOOPBACK },
	{ { 0xfc }, 7, SSRF_UNIQUE_LOCAL },
	{ { 0xfe, 0x80 }, 10, SSRF_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, SSRF_PRIVATE }, /* site-local, deprecated */
	{ { 0xff }, 8, SSRF_MULTICAST },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, SSRF_DOCUMENTATION },
	{ { 0x3f, 0xff }, 20, SSRF_DOCUMENTATION },
	{ { 0x20, 0x01 }, 23, SSRF_RESERVED }, /* Teredo, ORCHID, ... */
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const unsigned char v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };

const char *
ssrf_class_name(enum ssrf_class c)
{
	switch (c) {
	case SSRF_PUBLIC:
		return "public";
	case SSRF_UNSPECIFIED:
		return "unspecified";
	case SSRF_LOOPBACK:
		return "loopback";
	case SSRF_PRIVATE:
		return "private";
	case SSRF_SHARED:
		return "carrier-grade NAT (shared)";
	case SSRF_LINK_LOCAL:
		return "link-local";
	case SSRF_UNIQUE_LOCAL:
		return "unique-local";
	case SSRF_MULTICAST:
		return "multicast";
	case SSRF_BROADCAST:
		return "broadcast";
	case SSRF_DOCUMENTATION:
		return "documentation";
	case SSRF_RESERVED:
		return "reserved";
	}
	return "reserved";
}

/* true when the first bits of a and net are equal. */
static bool
prefix_eq(const unsigned char *a, const unsigned char *net, int bits)
{
	int	      whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, net, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

static enum ssrf_class
classify_table(const unsigned char *a, const struct range *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix_eq(a, t[i].net, t[i].bits))
			return t[i].cls;
	return SSRF_PUBLIC;
}

static enum ssrf_class
classify_v6(const unsigned char *a)
{
	enum ssrf_class c;

	if (memcmp(a, v4_mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return classify_table(a + 12, v4_ranges, NELEM(v4_ranges));
	if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: 2002:AABB:CCDD:: */
		return classify_table(a + 2, v4_ranges, NELEM(v4_ranges));
	c = classify_table(a, v6_ranges, NELEM(v6_ranges));
	/* outside 2000::/3 (global unicast) nothing is public */
	if (c == SSRF_PUBLIC && (a[0] & 0xe0) != 0x20)
		return SSRF_RESERVED;
	return c;
}

enum ssrf_class
ssrf_classify(const struct sockaddr *sa)
{
	const struct sockaddr_in  *s4;
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return SSRF_RESERVED;
	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		return classify_table((const unsigned char *)&s4->sin_addr,
		    v4_ranges, NELEM(v4_ranges));
	}
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		return classify_v6(s6->sin6_addr.s6_addr);
	}
	return SSRF_RESERVED;
}

/* --- the allow-list --------------------------------------------------- */

/* true when n has a bit set past its prefix (10.1.0.0/8). */
static bool
host_bits_set(const struct ssrf_net *n, int max)
{
	int i;

	for (i = n->bits; i < max; i++)
		if (n->a[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

/*
 * Parses an address or a CIDR network into n; returns false if s is
 * neither, with *hostbits set when only the bits past the prefix are
 * wrong.
 */
static bool
parse_net(const char *s, struct ssrf_net *n, bool *hostbits)
{
	char buf[64], *slash, *end;
	long bits;
	int  max;

	*hostbits = false;
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->a) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->a) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return false;
	n->bits = max;
	if (slash == NULL)
		return true;
	if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
		return false;
	bits = strtol(slash + 1, &end, 10);
	if (*end != '\0' || bits > max)
		return false;
	n->bits = (int)bits;
	*hostbits = host_bits_set(n, max);
	return !*hostbits;
}

/* true when s is a host name: labels of A-Z a-z 0-9 - _ joined by dots. */
static bool
host_name_ok(const char *s)
{
	size_t i, label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 && i + 1 != n)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return s[0] != '.';
}

/* Returns a heap copy of a host name: lower case, no trailing dot. */
static char *
host_norm(const char *s, size_t n)
{
	char  *h = xmalloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = (char)tolower((unsigned char)s[i]);
	if (n > 1 && h[n - 1] == '.')
		n--;
	h[n] = '\0';
	return h;
}

/* Adds one element (len bytes at p) to a; false with err when bad. */
static bool
allow_add(struct ssrf_allow *a, const char *p, size_t len, char *err,
    size_t errlen)
{
	char		elem[300];
	struct ssrf_net n;
	bool		hostbits;

	if (len == 0) {
		snprintf(err, errlen, "has an empty element");
		return false;
	}
	if (len >= sizeof(elem)) {
		snprintf(err, errlen, "has an element longer than %zu bytes",
		    sizeof(elem) - 1);
		return false;
	}
	memcpy(elem, p, len);
	elem[len] = '\0';
	if (parse_net(elem, &n, &hostbits)) {
		a->nets = xrealloc(a->nets, (a->nnets + 1) * sizeof(n));
		a->nets[a->nnets++] = n;
		return true;
	}
	if (hostbits) {
		snprintf(err, errlen,
		    "element \"%s\" has bits set past its "
		    "prefix length",
		    elem);
		return false;
	}
	if (strchr(elem, '/') != NULL || strchr(elem, ':') != NULL ||
	    !host_name_ok(elem)) {
		snprintf(err, errlen,
		    "element \"%.64s\" is not a host name, "
		    "an IP address or a CIDR network",
		    elem);
		return false;
	}
	a->hosts = xrealloc(a->hosts, (a->nhosts + 1) * sizeof(char *));
	a->hosts[a->nhosts++] = host_norm(elem, len);
	return true;
}

enum pgs_rc
ssrf_allow_parse(const char *list, struct ssrf_allow **out, char *err,
    size_t errlen)
{
	struct ssrf_allow *a = xcalloc(1, sizeof(*a));
	const char	  *p = list, *e, *q;

	*out = NULL;
	while (p != NULL && *p != '\0') {
		e = p + strcspn(p, ",");
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		q = e;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (!allow_add(a, p, (size_t)(q - p), err, errlen)) {
			ssrf_allow_free(a);
			return PGS_INVALID;
		}
		if (*e == ',' && e[1] == '\0') {
			snprintf(err, errlen, "has an empty element");
			ssrf_allow_free(a);
			return PGS_INVALID;
		}
		p = *e == ',' ? e + 1 : e;
	}
	*out = a;
	return PGS_OK;
}

void
ssrf_allow_free(struct ssrf_allow *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nhosts; i++)
		free(a->hosts[i]);
	free(a->hosts);
	free(a->nets);
	free(a);
}

bool
ssrf_allow_host(const struct ssrf_allow *a, const char *host)
{
	char  *h;
	size_t i;
	bool   found = false;

	if (a == NULL || host == NULL || a->nhosts == 0)
		return false;
	h = host_norm(host, strlen(host));
	for (i = 0; i < a->nhosts && !found; i++)
		found = strcmp(a->hosts[i], h) == 0;
	free(h);
	return found;
}

/* true when the address (family, bytes) is in one of a's networks. */
static bool
allow_net(const struct ssrf_allow *a, int family, const unsigned char *b)
{
	size_t i;

	for (i = 0; i < a->nnets; i++)
		if (a->nets[i].family == family &&
		    prefix_eq(b, a->nets[i].a, a->nets[i].bits))
			return true;
	return false;
}

bool
ssrf_allow_addr(const struct ssrf_allow *a, const struct sockaddr *sa)
{
	const unsigned char *b;

	if (a == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)&(
		    (const struct sockaddr_in *)(const void *)sa)
			->sin_addr;
		return allow_net(a, AF_INET, b);
	}
	if (sa->sa_family != AF_INET6)
		return false;
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	/* ::ffff:a.b.c.d is a.b.c.d: an IPv4 entry covers it */
	if (memcmp(b, v4_mapped, 12) == 0 && allow_net(a, AF_INET, b + 12))
		return true;
	return allow_net(a, AF_INET6, b);
}

/* --- target URLs ------------------------------------------------------ */

/* true when curl's URL handle h has the part p (user, password, ...). */
static bool
url_has(CURLU *h, CURLUPart p)
{
	char	 *v = NULL;
	CURLUcode uc;

	uc = curl_url_get(h, p, &v, 0);
	curl_free(v);
	return uc == CURLUE_OK;
}

/* Copies curl's host part into u->host: lower case, IPv6 without []. */
static enum pgs_rc
url_host(CURLU *h, struct ssrf_url *u)
{
	char  *v = NULL, *p;
	size_t n;

	if (curl_url_get(h, CURLUPART_HOST, &v, 0) != CURLUE_OK ||
	    v[0] == '\0') {
		curl_free(v);
		return PGS_INVALID;
	}
	p = v;
	n = strlen(p);
	if (p[0] == '[' && n > 2 && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n >= sizeof(u->host)) {
		curl_free(v);
		return PGS_INVALID;
	}
	memcpy(u->host, p, n);
	u->host[n] = '\0';
	for (p = u->host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	curl_free(v);
	return PGS_OK;
}

/* Fills u from the parsed handle h; err says what is wrong. */
static enum pgs_rc
url_parts(CURLU *h, struct ssrf_url *u, char *err, size_t errlen)
{
	char *v = NULL;

	if (curl_url_get(h, CURLUPART_SCHEME, &v, 0) != CURLUE_OK ||
	    (strcmp(v, "http") != 0 && strcmp(v, "https") != 0)) {
		curl_free(v);
		snprintf(err, errlen, "only http and https URLs are allowed");
		return PGS_INVALID;
	}
	snprintf(u->scheme, sizeof(u->scheme), "%s", v);
	curl_free(v);
	if (url_has(h, CURLUPART_USER) || url_has(h, CURLUPART_PASSWORD) ||
	    url_has(h, CURLUPART_OPTIONS)) {
		snprintf(err, errlen,
		    "a URL with credentials "
		    "(user:password@) is refused");
		return PGS_INVALID;
	}
	if (url_host(h, u) != PGS_OK) {
		snprintf(err, errlen, "the URL has no valid host");
		return PGS_INVALID;
	}
	v = NULL;
	if (curl_url_get(h, CURLUPART_PORT, &v, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		curl_free(v);
		snprintf(err, errlen, "the URL has no valid port");
		return PGS_INVALID;
	}
	u->port = atoi(v);
	curl_free(v);
	return PGS_OK;
}

enum pgs_rc
ssrf_url_parse(const char *url, struct ssrf_url *u, char *err, size_t errlen)
{
	CURLU	   *h;
	const char *p;
	enum pgs_rc rc;

	memset(u, 0, sizeof(*u));
	if (url == NULL || url[0] == '\0') {
		snprintf(err, errlen, "the URL is empty");
		return PGS_INVALID;
	}
	if (strlen(url) > SSRF_URL_MAX) {
		snprintf(err, errlen, "the URL is longer than %d bytes",
		    SSRF_URL_MAX);
		return PGS_INVALID;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(err, errlen,
			    "the URL must be printable "
			    "ASCII without spaces (percent-encode the rest)");
			return PGS_INVALID;
		}
	h = curl_url();
	if (h == NULL)
		abort(); /* out of memory: the xmalloc rule */
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "not a valid http or https URL");
		rc = PGS_INVALID;
	} else
		rc = url_parts(h, u, err, errlen);
	curl_url_cleanup(h);
	if (rc != PGS_OK)
		memset(u, 0, sizeof(*u));
	return rc;
}

/* --- the checks ------------------------------------------------------- */

/* Writes the numeric form of sa into out (at least INET6_ADDRSTRLEN). */
static void
addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, out, cap) == NULL)
		snprintf(out, cap, "(family %d)", sa->sa_family);
}

enum pgs_rc
ssrf_check_addr(const struct ssrf_allow *a, const char *host,
    const struct sockaddr *sa, char *err, size_t errlen)
{
	enum ssrf_class c;
	char		txt[INET6_ADDRSTRLEN + 16];

	if (ssrf_allow_host(a, host))
		return PGS_OK;
	c = ssrf_classify(sa);
	if (c == SSRF_PUBLIC || ssrf_allow_addr(a, sa))
		return PGS_OK;
	addr_text(sa, txt, sizeof(txt));
	snprintf(err, errlen,
	    "address %s (%s) is not allowed by "
	    "NOTIFY_ALLOW_HOSTS",
	    txt, ssrf_class_name(c));
	return PGS_DENIED;
}

/* Checks every address host resolves to; err names the first refused. */
static enum pgs_rc
check_resolved(const struct ssrf_allow *a, const struct ssrf_url *u, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char		why[160], txt[INET6_ADDRSTRLEN + 16];
	int		gai;
	enum pgs_rc	rc = PGS_OK;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(u->host, NULL, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "the host %.64s does not resolve (%s)",
		    u->host, gai_strerror(gai));
		return PGS_NOTFOUND;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		rc = ssrf_check_addr(a, NULL, ai->ai_addr, why, sizeof(why));
		if (rc != PGS_OK) {
			addr_text(ai->ai_addr, txt, sizeof(txt));
			snprintf(err, errlen,
			    "refused: %.64s resolves to %s "
			    "(%s), which NOTIFY_ALLOW_HOSTS does not allow",
			    u->host, txt,
			    ssrf_class_name(ssrf_classify(ai->ai_addr)));
			break;
		}
	}
	freeaddrinfo(res);
	return rc;
}

enum pgs_rc
ssrf_check_url(const char *url, const struct ssrf_allow *a, char *err,
    size_t errlen)
{
	struct ssrf_url u;
	enum pgs_rc	rc;

	rc = ssrf_url_parse(url, &u, err, errlen);
	if (rc != PGS_OK)
		return rc;
	if (ssrf_allow_host(a, u.host))
		return PGS_OK;
	return check_resolved(a, &u, err, errlen);
}
