/*
 * ssrf.h: which webhook and Slack targets pg-sched may reach (CONTRACT
 * section 8, SSRF).
 *
 * A target is an http or https URL (parsed by libcurl's own URL parser,
 * the one the transfer uses, so the checked host is the connected host)
 * of at most SSRF_URL_MAX bytes of printable ASCII, with a host and
 * without credentials: a URL with user:password@ is refused, since the
 * channel's URL is shown to admins and webhooks authenticate by their
 * signature.  An address that is not public (ssrf_classify: loopback,
 * private, carrier-grade NAT, link-local, unique-local, unspecified,
 * multicast, broadcast, documentation and other reserved ranges, IPv4
 * embedded in IPv6 judged as IPv4) is refused unless the URL's host name
 * or the address is on the allow-list NOTIFY_ALLOW_HOSTS.  The check runs
 * when a channel is created (ssrf_check_url: every address the name
 * resolves to) and again on the address each connection is opened to
 * (ssrf_check_addr, from deliver.c's open-socket callback), so a name
 * that resolves elsewhere later is caught too.
 */
#ifndef PGS_SSRF_H
#define PGS_SSRF_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

#define SSRF_URL_MAX  2048 /* bytes of a target URL */
#define SSRF_HOST_MAX 256  /* bytes of its host, NUL included */

enum ssrf_class {
	SSRF_PUBLIC = 0,    /* globally reachable unicast */
	SSRF_UNSPECIFIED,   /* 0.0.0.0/8, :: */
	SSRF_LOOPBACK,	    /* 127/8, ::1 */
	SSRF_PRIVATE,	    /* 10/8, 172.16/12, 192.168/16, fec0::/10 */
	SSRF_SHARED,	    /* 100.64/10, carrier-grade NAT */
	SSRF_LINK_LOCAL,    /* 169.254/16, fe80::/10 */
	SSRF_UNIQUE_LOCAL,  /* fc00::/7 */
	SSRF_MULTICAST,	    /* 224/4, ff00::/8 */
	SSRF_BROADCAST,	    /* 255.255.255.255 */
	SSRF_DOCUMENTATION, /* 192.0.2/24, ..., 2001:db8::/32 */
	SSRF_RESERVED	    /* the rest of the special-purpose ranges */
};

/* The allow-list: host names and networks (opaque, heap-owned). */
struct ssrf_allow;

/* A parsed target URL. */
struct ssrf_url {
	char scheme[8];		  /* "http" or "https" */
	char host[SSRF_HOST_MAX]; /* lower case; IPv6 without [] */
	int  port;		  /* explicit or the scheme's */
};

/* Returns a static name for c ("loopback", "private", ...). */
const char *ssrf_class_name(enum ssrf_class c);

/*
 * Returns the class of the address sa (AF_INET or AF_INET6; any other
 * family is SSRF_RESERVED).  IPv4-mapped (::ffff:0:0/96), NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) addresses are classed by the IPv4
 * address they carry; IPv6 outside 2000::/3 is never public.
 */
enum ssrf_class ssrf_classify(const struct sockaddr *sa);

/*
 * Parses list (comma-separated host names, IP addresses and CIDR
 * networks such as 10.1.0.0/16 or fd00::/8; spaces around elements
 * ignored; NULL or "" is the empty list) into *out, which the caller
 * frees with ssrf_allow_free.  Host names match a URL's host exactly,
 * case-insensitively (no wildcard).  Returns PGS_INVALID with the reason
 * in err (naming the element) when an element is malformed or a network
 * has bits set beyond its prefix.
 */
enum pgs_rc ssrf_allow_parse(const char *list, struct ssrf_allow **out,
    char *err, size_t errlen) PGS_MUSTCHECK;
void	    ssrf_allow_free(struct ssrf_allow *a);
/* true when host (a URL's host) is a host name of the list a (or NULL). */
bool ssrf_allow_host(const struct ssrf_allow *a, const char *host);
/* true when the address sa is inside a network of the list a. */
bool ssrf_allow_addr(const struct ssrf_allow *a, const struct sockaddr *sa);

/*
 * Parses and validates a target URL into u (the caller's).  Returns
 * PGS_INVALID with a sentence in err when url is empty, too long, not
 * printable ASCII, not a URL, not http or https, has no host, or carries
 * credentials; the sentence never quotes the URL.
 */
enum pgs_rc ssrf_url_parse(const char *url, struct ssrf_url *u, char *err,
    size_t errlen) PGS_MUSTCHECK;

/*
 * The connect-time check of the address sa for a transfer to host (NULL:
 * no host name to match).  Returns PGS_OK when host is allowed by name,
 * the address is public or on the allow-list; PGS_DENIED otherwise, with
 * "address A is C" in err.
 */
enum pgs_rc ssrf_check_addr(const struct ssrf_allow *a, const char *host,
    const struct sockaddr *sa, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * The creation-time check of a target URL: ssrf_url_parse, then, unless
 * the host is allowed by name, every address it resolves to (getaddrinfo,
 * blocking) through ssrf_check_addr.  Returns PGS_OK; PGS_INVALID (bad
 * URL); PGS_NOTFOUND (the host does not resolve); PGS_DENIED (an address
 * is refused).  err gets a sentence for the user in every failure.
 */
enum pgs_rc ssrf_check_url(const char *url, const struct ssrf_allow *a,
    char *err, size_t errlen) PGS_MUSTCHECK;

#endif
