/*
 * t_notify.c: unit tests of the notification engine's pure parts:
 * src/webhook.c (Standard Webhooks secrets, ids, signatures, with the
 * specification's test vector), src/ssrf.c (address classes, the
 * allow-list, target URLs, the checks on literal addresses and
 * localhost), src/backoff.c (the retry schedule, Retry-After) and
 * src/mail.c (addresses, SMTP_URL, the message).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../../src/backoff.h"
#include "../../src/buf.h"
#include "../../src/mail.h"
#include "../../src/ssrf.h"
#include "../../src/webhook.h"

/*
 * The signing test vector of the Standard Webhooks reference libraries
 * (the same one tests/py/test_receivers.py checks the receiver with).
 */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID	   "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS	   1614265330
#define VEC_BODY   "{\"test\": 2432232314}"
#define VEC_SIG	   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* --- webhook.c ------------------------------------------------------- */

static void
t_spec_vector(void **state)
{
	struct webhook_keys ks;
	char		    sig[WEBHOOK_SIG_SIZE];

	(void)state;
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(webhook_keys_add(&ks, VEC_SECRET), PGS_OK);
	assert_int_equal(ks.key[0].len, 24);
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, VEC_BODY,
			     strlen(VEC_BODY), sig, sizeof(sig)),
	    PGS_OK);
	assert_string_equal(sig, VEC_SIG);
	/* one byte of the body, the id or the time changes everything */
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS + 1, VEC_BODY,
			     strlen(VEC_BODY), sig, sizeof(sig)),
	    PGS_OK);
	assert_string_not_equal(sig, VEC_SIG);
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, VEC_BODY " ",
			     strlen(VEC_BODY) + 1, sig, sizeof(sig)),
	    PGS_OK);
	assert_string_not_equal(sig, VEC_SIG);
	webhook_keys_wipe(&ks);
	assert_int_equal(ks.n, 0);
	assert_int_equal(ks.key[0].len, 0);
	assert_int_equal(ks.key[0].k[0], 0);
}

static void
t_rotation(void **state)
{
	struct webhook_keys ks, one;
	char		    other[WEBHOOK_SECRET_SIZE];
	char		    sig[WEBHOOK_SIG_SIZE], sig2[WEBHOOK_SIG_SIZE];
	char		    want[2 * WEBHOOK_SIG_SIZE];

	(void)state;
	memset(&ks, 0, sizeof(ks));
	memset(&one, 0, sizeof(one));
	webhook_secret_new(other);
	assert_int_equal(webhook_keys_add(&ks, VEC_SECRET), PGS_OK);
	assert_int_equal(webhook_keys_add(&ks, other), PGS_OK);
	assert_int_equal(webhook_keys_add(&one, other), PGS_OK);
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, VEC_BODY,
			     strlen(VEC_BODY), sig, sizeof(sig)),
	    PGS_OK);
	assert_int_equal(webhook_sign(&one, VEC_ID, VEC_TS, VEC_BODY,
			     strlen(VEC_BODY), sig2, sizeof(sig2)),
	    PGS_OK);
	snprintf(want, sizeof(want), "%s %s", VEC_SIG, sig2);
	assert_string_equal(sig, want);
	/* at most WEBHOOK_MAX_KEYS, and they all fit WEBHOOK_SIG_SIZE */
	assert_int_equal(webhook_keys_add(&ks, other), PGS_OK);
	assert_int_equal(webhook_keys_add(&ks, other), PGS_OK);
	assert_int_equal(webhook_keys_add(&ks, other), PGS_INVALID);
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, "", 0, sig,
			     sizeof(sig)),
	    PGS_OK);
	assert_int_equal(strlen(sig), 4 * 47 + 3);
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, "", 0, sig, 100),
	    PGS_INTERNAL);
	webhook_keys_wipe(&ks);
	webhook_keys_wipe(&one);
}

static void
t_secret(void **state)
{
	char			 a[WEBHOOK_SECRET_SIZE], b[WEBHOOK_SECRET_SIZE];
	struct webhook_key	 k;
	static const char *const bad[] = {
		"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   /* not base64 */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", /* a blank */
		"whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw",  /* url-safe */
		"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  /* 22 bytes */
		"whsec_"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 66 bytes */
	};
	size_t i;

	(void)state;
	webhook_secret_new(a);
	webhook_secret_new(b);
	assert_int_equal(strncmp(a, "whsec_", 6), 0);
	assert_int_equal(strlen(a), 6 + 44);
	assert_string_not_equal(a, b);
	assert_int_equal(webhook_secret_parse(a, &k), PGS_OK);
	assert_int_equal(k.len, 32);
	/* the spec's bounds: 24 (the vector's) to 64 bytes */
	assert_int_equal(
	    webhook_secret_parse(
		"whsec_"
		"AAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"==",
		&k),
	    PGS_OK);
	assert_int_equal(k.len, 64);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k.len = 99;
		if (webhook_secret_parse(bad[i], &k) != PGS_INVALID)
			fail_msg("secret \"%s\" accepted", bad[i]);
		assert_int_equal(k.len, 0);
	}
	assert_int_equal(webhook_secret_parse(NULL, &k), PGS_INVALID);
}

static void
t_ids(void **state)
{
	struct webhook_keys ks;
	char		    a[WEBHOOK_ID_SIZE], b[WEBHOOK_ID_SIZE];
	char		    sig[WEBHOOK_SIG_SIZE], longid[80];

	(void)state;
	webhook_id_new(a);
	webhook_id_new(b);
	assert_int_equal(strncmp(a, "msg_", 4), 0);
	assert_int_equal(strlen(a), 26);
	assert_true(webhook_id_valid(a));
	assert_string_not_equal(a, b);
	assert_true(webhook_id_valid(VEC_ID));
	assert_true(webhook_id_valid("evt-42_x"));
	assert_false(webhook_id_valid(""));
	assert_false(webhook_id_valid(NULL));
	assert_false(webhook_id_valid("msg.1"));
	assert_false(webhook_id_valid("msg 1"));
	assert_false(webhook_id_valid("msg\r\nx: y"));
	assert_false(webhook_id_valid("msg/1"));
	memset(longid, 'a', sizeof(longid));
	longid[WEBHOOK_ID_MAX] = '\0';
	assert_true(webhook_id_valid(longid));
	longid[WEBHOOK_ID_MAX] = 'a';
	longid[WEBHOOK_ID_MAX + 1] = '\0';
	assert_false(webhook_id_valid(longid));
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(webhook_sign(&ks, VEC_ID, VEC_TS, "", 0, sig,
			     sizeof(sig)),
	    PGS_INVALID); /* no key */
	assert_int_equal(webhook_keys_add(&ks, VEC_SECRET), PGS_OK);
	assert_int_equal(webhook_sign(&ks, "a.b", VEC_TS, "", 0, sig,
			     sizeof(sig)),
	    PGS_INVALID);
	assert_int_equal(webhook_sign(&ks, VEC_ID, -1, "", 0, sig, sizeof(sig)),
	    PGS_INVALID);
	webhook_keys_wipe(&ks);
}

/* --- ssrf.c ---------------------------------------------------------- */

/* Fills ss with the literal address s (IPv4 or IPv6). */
static const struct sockaddr *
addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in  *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", s);
	return (const struct sockaddr *)ss;
}

static void
t_classify(void **state)
{
	static const struct {
		const char     *a;
		enum ssrf_class c;
	} cases[] = {
		{ "8.8.8.8", SSRF_PUBLIC },
		{ "1.1.1.1", SSRF_PUBLIC },
		{ "11.0.0.1", SSRF_PUBLIC },
		{ "172.32.0.1", SSRF_PUBLIC },
		{ "172.15.255.255", SSRF_PUBLIC },
		{ "192.169.0.1", SSRF_PUBLIC },
		{ "169.255.0.1", SSRF_PUBLIC },
		{ "100.63.255.255", SSRF_PUBLIC },
		{ "100.128.0.1", SSRF_PUBLIC },
		{ "223.255.255.255", SSRF_PUBLIC },
		{ "0.0.0.0", SSRF_UNSPECIFIED },
		{ "0.1.2.3", SSRF_UNSPECIFIED },
		{ "127.0.0.1", SSRF_LOOPBACK },
		{ "127.255.255.254", SSRF_LOOPBACK },
		{ "10.0.0.1", SSRF_PRIVATE },
		{ "10.255.255.255", SSRF_PRIVATE },
		{ "172.16.0.1", SSRF_PRIVATE },
		{ "172.31.255.255", SSRF_PRIVATE },
		{ "192.168.0.1", SSRF_PRIVATE },
		{ "100.64.0.1", SSRF_SHARED },
		{ "100.100.100.200", SSRF_SHARED },
		{ "100.127.255.255", SSRF_SHARED },
		{ "169.254.169.254", SSRF_LINK_LOCAL },
		{ "224.0.0.1", SSRF_MULTICAST },
		{ "239.255.255.250", SSRF_MULTICAST },
		{ "255.255.255.255", SSRF_BROADCAST },
		{ "240.0.0.1", SSRF_RESERVED },
		{ "198.18.0.1", SSRF_RESERVED },
		{ "192.0.0.8", SSRF_RESERVED },
		{ "192.0.2.1", SSRF_DOCUMENTATION },
		{ "203.0.113.9", SSRF_DOCUMENTATION },
		{ "::", SSRF_UNSPECIFIED },
		{ "::1", SSRF_LOOPBACK },
		{ "::ffff:127.0.0.1", SSRF_LOOPBACK },
		{ "::ffff:10.1.2.3", SSRF_PRIVATE },
		{ "::ffff:169.254.169.254", SSRF_LINK_LOCAL },
		{ "::ffff:8.8.8.8", SSRF_PUBLIC },
		{ "64:ff9b::7f00:1", SSRF_LOOPBACK },
		{ "64:ff9b::a9fe:a9fe", SSRF_LINK_LOCAL },
		{ "64:ff9b::808:808", SSRF_PUBLIC },
		{ "2002:7f00:1::1", SSRF_LOOPBACK },
		{ "2002:c0a8:101::", SSRF_PRIVATE },
		{ "2002:808:808::1", SSRF_PUBLIC },
		{ "::127.0.0.1", SSRF_RESERVED }, /* IPv4-compatible */
		{ "100::1", SSRF_RESERVED },
		{ "4000::1", SSRF_RESERVED },
		{ "fc00::1", SSRF_UNIQUE_LOCAL },
		{ "fd00:ec2::254", SSRF_UNIQUE_LOCAL },
		{ "fe80::1", SSRF_LINK_LOCAL },
		{ "febf::1", SSRF_LINK_LOCAL },
		{ "fec0::1", SSRF_PRIVATE },
		{ "ff02::1", SSRF_MULTICAST },
		{ "ff0e::1", SSRF_MULTICAST },
		{ "2001:db8::1", SSRF_DOCUMENTATION },
		{ "2001::1", SSRF_RESERVED }, /* Teredo */
		{ "2606:4700:4700::1111", SSRF_PUBLIC },
		{ "2a00:1450:4001::1", SSRF_PUBLIC },
	};
	struct sockaddr_storage ss;
	struct sockaddr		un = { .sa_family = AF_UNIX };
	size_t			i;
	enum ssrf_class		c;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = ssrf_classify(addr(cases[i].a, &ss));
		if (c != cases[i].c)
			fail_msg("%s: %s, want %s", cases[i].a,
			    ssrf_class_name(c), ssrf_class_name(cases[i].c));
	}
	assert_int_equal(ssrf_classify(&un), SSRF_RESERVED);
	assert_int_equal(ssrf_classify(NULL), SSRF_RESERVED);
	assert_string_equal(ssrf_class_name(SSRF_SHARED),
	    "carrier-grade NAT (shared)");
	assert_string_equal(ssrf_class_name(SSRF_LOOPBACK), "loopback");
}

static void
t_allow_list(void **state)
{
	struct ssrf_allow      *a;
	struct sockaddr_storage ss;
	char			err[256] = "";

	(void)state;
	assert_int_equal(ssrf_allow_parse(NULL, &a, err, sizeof(err)), PGS_OK);
	assert_false(ssrf_allow_host(a, "localhost"));
	assert_false(ssrf_allow_addr(a, addr("127.0.0.1", &ss)));
	ssrf_allow_free(a);
	assert_int_equal(
	    ssrf_allow_parse(" hooks.Example.com , 10.0.0.0/8,"
			     "fd00::/8,127.0.0.1 ,::1, 192.168.7.0/24",
		&a, err, sizeof(err)),
	    PGS_OK);
	assert_true(ssrf_allow_host(a, "hooks.example.com"));
	assert_true(ssrf_allow_host(a, "HOOKS.EXAMPLE.COM."));
	assert_false(ssrf_allow_host(a, "example.com"));
	assert_false(ssrf_allow_host(a, "x.hooks.example.com"));
	assert_false(ssrf_allow_host(a, NULL));
	assert_true(ssrf_allow_addr(a, addr("10.200.3.4", &ss)));
	assert_false(ssrf_allow_addr(a, addr("11.0.0.1", &ss)));
	assert_true(ssrf_allow_addr(a, addr("127.0.0.1", &ss)));
	assert_false(ssrf_allow_addr(a, addr("127.0.0.2", &ss)));
	assert_true(ssrf_allow_addr(a, addr("::ffff:127.0.0.1", &ss)));
	assert_true(ssrf_allow_addr(a, addr("::1", &ss)));
	assert_true(ssrf_allow_addr(a, addr("fd12:3456::1", &ss)));
	assert_false(ssrf_allow_addr(a, addr("fc00::1", &ss)));
	assert_true(ssrf_allow_addr(a, addr("192.168.7.255", &ss)));
	assert_false(ssrf_allow_addr(a, addr("192.168.8.1", &ss)));
	ssrf_allow_free(a);
	assert_int_equal(ssrf_allow_parse("0.0.0.0/0", &a, err, sizeof(err)),
	    PGS_OK);
	assert_true(ssrf_allow_addr(a, addr("169.254.169.254", &ss)));
	assert_false(ssrf_allow_addr(a, addr("::1", &ss)));
	ssrf_allow_free(a);
}

/* ssrf_allow_parse(list) must fail with exactly want. */
static void
allow_fails(const char *list, const char *want)
{
	struct ssrf_allow *a = (void *)1;
	char		   err[256] = "";

	assert_int_equal(ssrf_allow_parse(list, &a, err, sizeof(err)),
	    PGS_INVALID);
	assert_null(a);
	if (strcmp(err, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", list, err, want);
}

static void
t_allow_errors(void **state)
{
	char longname[301];

	(void)state;
	allow_fails("10.0.0.1/8",
	    "element \"10.0.0.1/8\" has bits set past "
	    "its prefix length");
	allow_fails("fd00::1/8",
	    "element \"fd00::1/8\" has bits set past "
	    "its prefix length");
	allow_fails("a,,b", "has an empty element");
	allow_fails("a,", "has an empty element");
	allow_fails(",a", "has an empty element");
	allow_fails("a, ,b", "has an empty element");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	allow_fails(longname, "has an element longer than 299 bytes");
	allow_fails("10.0.0.0/33",
	    "element \"10.0.0.0/33\" is not a host "
	    "name, an IP address or a CIDR network");
	allow_fails("::/129",
	    "element \"::/129\" is not a host name, an IP "
	    "address or a CIDR network");
	allow_fails("10.0.0.0/-1",
	    "element \"10.0.0.0/-1\" is not a host "
	    "name, an IP address or a CIDR network");
	allow_fails("10.0.0.0/",
	    "element \"10.0.0.0/\" is not a host name, "
	    "an IP address or a CIDR network");
	allow_fails("*.example.com",
	    "element \"*.example.com\" is not a "
	    "host name, an IP address or a CIDR network");
	allow_fails("http://x",
	    "element \"http://x\" is not a host name, an "
	    "IP address or a CIDR network");
	allow_fails("a..b",
	    "element \"a..b\" is not a host name, an IP "
	    "address or a CIDR network");
	allow_fails("host name",
	    "element \"host name\" is not a host name, "
	    "an IP address or a CIDR network");
}

/* ssrf_url_parse(url) must fail with exactly want. */
static void
url_fails(const char *url, const char *want)
{
	struct ssrf_url u;
	char		err[256] = "";

	if (ssrf_url_parse(url, &u, err, sizeof(err)) != PGS_INVALID)
		fail_msg("%s accepted", url);
	if (strcmp(err, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", url, err, want);
	assert_string_equal(u.host, "");
}

static void
t_urls(void **state)
{
	struct ssrf_url u;
	char		err[256] = "", big[SSRF_URL_MAX + 2];

	(void)state;
	assert_int_equal(ssrf_url_parse("https://Hooks.Example.COM/x?y=1#z", &u,
			     err, sizeof(err)),
	    PGS_OK);
	assert_string_equal(u.scheme, "https");
	assert_string_equal(u.host, "hooks.example.com");
	assert_int_equal(u.port, 443);
	assert_int_equal(ssrf_url_parse("HTTP://[::1]:8080/", &u, err,
			     sizeof(err)),
	    PGS_OK);
	assert_string_equal(u.scheme, "http");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8080);
	url_fails("", "the URL is empty");
	url_fails(NULL, "the URL is empty");
	url_fails("ftp://example.com/", "only http and https URLs are allowed");
	url_fails("file:///etc/passwd", "only http and https URLs are allowed");
	url_fails("gopher://example.com:70/",
	    "only http and https URLs are "
	    "allowed");
	url_fails("smtp://example.com/",
	    "only http and https URLs are "
	    "allowed");
	url_fails("javascript:alert(1)", "not a valid http or https URL");
	url_fails("//example.com/x", "not a valid http or https URL");
	url_fails("http://user:pw@example.com/",
	    "a URL with credentials "
	    "(user:password@) is refused");
	url_fails("https://token@example.com/",
	    "a URL with credentials "
	    "(user:password@) is refused");
	url_fails("http://:pw@example.com/",
	    "a URL with credentials "
	    "(user:password@) is refused");
	url_fails("http://", "not a valid http or https URL");
	url_fails("http://:80/", "not a valid http or https URL");
	url_fails("http://example.com:99999/",
	    "not a valid http or https "
	    "URL");
	url_fails("http://exa mple.com/",
	    "the URL must be printable ASCII "
	    "without spaces (percent-encode the rest)");
	url_fails("http://example.com/\r\nX: y",
	    "the URL must be printable "
	    "ASCII without spaces (percent-encode the rest)");
	url_fails("http://ex\xc3\xa4mple.com/",
	    "the URL must be printable "
	    "ASCII without spaces (percent-encode the rest)");
	memcpy(big, "http://a/", 9);
	memset(big + 9, 'a', sizeof(big) - 10);
	big[sizeof(big) - 1] = '\0';
	url_fails(big, "the URL is longer than 2048 bytes");
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(ssrf_url_parse(big, &u, err, sizeof(err)), PGS_OK);
}

/* ssrf_check_url(url) with the allow-list list must return want. */
static void
check_url(const char *list, const char *url, enum pgs_rc want, const char *msg)
{
	struct ssrf_allow *a;
	char		   err[256] = "";
	enum pgs_rc	   rc;

	assert_int_equal(ssrf_allow_parse(list, &a, err, sizeof(err)), PGS_OK);
	rc = ssrf_check_url(url, a, err, sizeof(err));
	ssrf_allow_free(a);
	if (rc != want)
		fail_msg("%s (allow \"%s\"): %s \"%s\", want %s", url, list,
		    rc_name(rc), err, rc_name(want));
	if (msg != NULL && strstr(err, msg) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", url, err, msg);
}

static void
t_check(void **state)
{
	struct sockaddr_storage ss;
	char			err[256] = "";

	(void)state;
	check_url("", "http://127.0.0.1:9/", PGS_DENIED,
	    "refused: 127.0.0.1 resolves to 127.0.0.1 (loopback), which "
	    "NOTIFY_ALLOW_HOSTS does not allow");
	check_url("", "http://[::1]/", PGS_DENIED, "::1 (loopback)");
	check_url("", "http://169.254.169.254/latest/meta-data/", PGS_DENIED,
	    "(link-local)");
	check_url("", "http://10.1.2.3/", PGS_DENIED, "(private)");
	check_url("", "http://100.100.100.200/", PGS_DENIED,
	    "carrier-grade NAT");
	check_url("", "http://[::ffff:7f00:1]/", PGS_DENIED, "(loopback)");
	check_url("", "http://[fe80::1%25eth0]/", PGS_DENIED, NULL);
	check_url("", "http://0.0.0.0:80/", PGS_DENIED, "(unspecified)");
	check_url("", "http://localhost:9/", PGS_DENIED, "(loopback)");
	/* the other spellings of 127.0.0.1 resolve to it */
	check_url("", "http://127.1/", PGS_DENIED, "(loopback)");
	check_url("", "http://2130706433/", PGS_DENIED, "(loopback)");
	check_url("", "http://0x7f.0.0.1/", PGS_DENIED, "(loopback)");
	check_url("", "http://017700000001/", PGS_DENIED, "(loopback)");
	check_url("", "https://8.8.8.8/hook", PGS_OK, NULL);
	check_url("", "http://[2606:4700:4700::1111]/", PGS_OK, NULL);
	check_url("", "http://u:p@8.8.8.8/", PGS_INVALID, "credentials");
	/* the allow-list, by address and by name */
	check_url("127.0.0.1", "http://127.0.0.1:9/", PGS_OK, NULL);
	check_url("127.0.0.0/8", "http://127.0.0.2:9/", PGS_OK, NULL);
	check_url("127.0.0.1", "http://[::1]:9/", PGS_DENIED, "::1");
	check_url("localhost", "http://LOCALHOST:9/x", PGS_OK, NULL);
	check_url("localhost", "http://127.0.0.1:9/x", PGS_DENIED, NULL);
	check_url("10.0.0.0/8", "http://10.9.8.7/", PGS_OK, NULL);
	/* connect time: the host's name or the address */
	assert_int_equal(ssrf_check_addr(NULL, "example.com",
			     addr("127.0.0.1", &ss), err, sizeof(err)),
	    PGS_DENIED);
	assert_string_equal(err,
	    "address 127.0.0.1 (loopback) is not "
	    "allowed by NOTIFY_ALLOW_HOSTS");
	assert_int_equal(ssrf_check_addr(NULL, "example.com",
			     addr("93.184.215.14", &ss), err, sizeof(err)),
	    PGS_OK);
}

/* --- backoff.c ------------------------------------------------------- */

static void
t_backoff_delays(void **state)
{
	static const int64_t want[] = { 60, 60, 300, 1800, 7200, 21600, 43200,
		43200, 43200 };
	int		     i, j, lo = 0, hi = 0;

	(void)state;
	for (i = 0; i < 9; i++)
		assert_int_equal(backoff_delay_s(i, 0), want[i]);
	assert_int_equal(backoff_delay_s(1000, 0), 43200);
	assert_int_equal(backoff_delay_s(1, 200), 72);
	assert_int_equal(backoff_delay_s(1, -200), 48);
	assert_int_equal(backoff_delay_s(1, 900), 72); /* clamped */
	assert_int_equal(backoff_delay_s(6, -900), 34560);
	for (i = 0; i < 2000; i++) {
		j = backoff_jitter();
		assert_in_range(j + 200, 0, 400);
		lo += j < -150;
		hi += j > 150;
	}
	/* uniform: about an eighth at each end */
	assert_in_range(lo, 100, 400);
	assert_in_range(hi, 100, 400);
}

static void
t_backoff_schedule(void **state)
{
	/* without jitter: 0, 1 min, 6 min, 36 min, 2h36, 8h36, 20h36, 24 h */
	static const int64_t at[] = { 0, 60, 360, 2160, 9360, 30960, 74160,
		86400 };
	const int64_t	     t0 = 1700000000;
	int64_t		     now = t0, next;
	size_t		     i;

	(void)state;
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(now - t0, at[i]);
		if (i + 1 < sizeof(at) / sizeof(at[0])) {
			assert_int_equal(backoff_next(t0, now, (int)i + 1, -1,
					     24, 0, &next),
			    BACKOFF_RETRY);
			now = next;
		}
	}
	assert_int_equal(backoff_next(t0, now, 8, -1, 24, 0, &next),
	    BACKOFF_DEAD);
	assert_int_equal(next, 0);
	/* Retry-After: honoured, at least a minute, at most the give-up */
	assert_int_equal(backoff_next(t0, t0 + 10, 1, 120, 24, 0, &next),
	    BACKOFF_RETRY);
	assert_int_equal(next, t0 + 130);
	assert_int_equal(backoff_next(t0, t0 + 10, 1, 0, 24, 0, &next),
	    BACKOFF_RETRY);
	assert_int_equal(next, t0 + 70);
	assert_int_equal(backoff_next(t0, t0 + 10, 1, 5, 24, 0, &next),
	    BACKOFF_RETRY);
	assert_int_equal(next, t0 + 70);
	assert_int_equal(backoff_next(t0, t0 + 10, 1, 864000, 24, 0, &next),
	    BACKOFF_RETRY);
	assert_int_equal(next, t0 + 86400);
	/* NOTIFY_GIVE_UP_HOURS=1 */
	assert_int_equal(backoff_next(t0, t0 + 3000, 3, -1, 1, 0, &next),
	    BACKOFF_RETRY);
	assert_int_equal(next, t0 + 3600);
	assert_int_equal(backoff_next(t0, t0 + 3600, 4, -1, 1, 0, &next),
	    BACKOFF_DEAD);
	assert_int_equal(backoff_next(t0, t0 + 99999, 1, 60, 24, 0, &next),
	    BACKOFF_DEAD);
}

static void
t_retry_after(void **state)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT */
	const time_t date = 1445412480;
	int64_t	     s;

	(void)state;
	assert_true(backoff_retry_after("120", date, &s));
	assert_int_equal(s, 120);
	assert_true(backoff_retry_after(" 30 \r\n", date, &s));
	assert_int_equal(s, 30);
	assert_true(backoff_retry_after("0", date, &s));
	assert_int_equal(s, 0);
	assert_true(backoff_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    date - 100, &s));
	assert_int_equal(s, 100);
	assert_true(backoff_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
	    date + 100, &s));
	assert_int_equal(s, 0);
	assert_true(backoff_retry_after("99999999999999999999", date, &s));
	assert_int_equal(s, 10L * 366 * 86400);
	assert_false(backoff_retry_after("", date, &s));
	assert_false(backoff_retry_after("soon", date, &s));
	assert_false(backoff_retry_after("-5", date, &s));
	assert_false(backoff_retry_after("1.5", date, &s));
	assert_false(backoff_retry_after(NULL, date, &s));
}

/* --- mail.c ---------------------------------------------------------- */

static void
t_mail_checks(void **state)
{
	char why[256];

	(void)state;
	assert_true(mail_addr_valid("ops@example.com"));
	assert_true(mail_addr_valid("a+b.c@sub.example.com"));
	assert_false(mail_addr_valid("ops"));
	assert_false(mail_addr_valid("@example.com"));
	assert_false(mail_addr_valid("ops@"));
	assert_false(mail_addr_valid("a@b@c"));
	assert_false(mail_addr_valid("Ops <ops@example.com>"));
	assert_false(mail_addr_valid("ops@example.com\r\nBcc: x@y"));
	assert_false(mail_addr_valid("ops@example.com,x@y"));
	assert_false(mail_addr_valid("\"o p\"@example.com"));
	assert_false(mail_addr_valid(NULL));
	assert_true(mail_url_check("smtp://127.0.0.1:2525", why, sizeof(why)));
	assert_true(mail_url_check("smtps://u:p%40ss@mail.example:465/", why,
	    sizeof(why)));
	assert_true(mail_url_is_smtps("SMTPS://mail.example"));
	assert_false(mail_url_is_smtps("smtp://mail.example"));
	assert_false(mail_url_check("http://mail.example", why, sizeof(why)));
	assert_string_equal(why, "must be an smtp:// or smtps:// URL");
	assert_false(mail_url_check("smtp://", why, sizeof(why)));
	assert_false(mail_url_check("smtp://mail example", why, sizeof(why)));
}

/* Returns the composed message of m at a fixed date (the caller frees). */
static char *
compose(const struct mail_msg *m, enum pgs_rc want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(mail_compose(&b, m, 1445412480), want);
	if (want != PGS_OK)
		assert_int_equal(b.len, 0);
	return buf_steal(&b);
}

/* Every line of s ends in CRLF and is at most max bytes long. */
static void
lines_ok(const char *s, size_t max)
{
	const char *p = s, *e;

	while (*p != '\0') {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		if ((size_t)(e - p) > max)
			fail_msg("line of %zu bytes: %.*s", (size_t)(e - p),
			    (int)(e - p), p);
		assert_null(memchr(p, '\n', (size_t)(e - p)));
		p = e + 2;
	}
}

static void
t_mail_compose(void **state)
{
	const char *const to[] = { "a@example.com", "b@example.org" };
	struct mail_msg	  m = { "pgsched@example.com", to, 2,
		  "Run 7 of orders failed", "Run 7 failed.\nhttps://x/r/7\n", 28,
		  "msg_abc" };
	char		 *s, *body;

	(void)state;
	s = compose(&m, PGS_OK);
	assert_non_null(strstr(s, "Date: Wed, 21 Oct 2015 07:28:00 +0000\r\n"));
	assert_non_null(strstr(s,
	    "\r\nFrom: pg-sched <pgsched@example.com>"
	    "\r\nTo: a@example.com, b@example.org\r\nSubject: Run 7 of "
	    "orders failed\r\nMessage-ID: <msg_abc@example.com>\r\n"));
	assert_non_null(strstr(s,
	    "\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\nAuto-Submitted: auto-generated\r\n\r\n"));
	body = strstr(s, "\r\n\r\n") + 4;
	assert_string_equal(body, "Run 7 failed.\r\nhttps://x/r/7\r\n");
	lines_ok(s, 78);
	free(s);

	/* a header cannot be injected through the subject */
	m.subject = "boom\r\nBcc: evil@example.net";
	s = compose(&m, PGS_OK);
	assert_non_null(strstr(s, "Subject: boom  Bcc: evil@example.net\r\n"));
	assert_null(strstr(s, "\r\nBcc:"));
	free(s);

	/* non-ASCII subject: RFC 2047 words, whole characters, short lines */
	m.subject =
	    "Rapport \xc3\xa9"
	    "chou\xc3\xa9 \xe2\x80\x94 "
	    "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
	    "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc";
	s = compose(&m, PGS_OK);
	assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(s, "?=\r\n =?UTF-8?B?"));
	lines_ok(s, 78);
	free(s);

	/* quoted-printable: long lines, '=', trailing blanks, dots, UTF-8 */
	m.subject = "x";
	m.text =
	    "a=b \n.dot\n\xc3\xbc\n"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789";
	m.text_len = strlen(m.text);
	s = compose(&m, PGS_OK);
	body = strstr(s, "\r\n\r\n") + 4;
	assert_string_equal(body,
	    "a=3Db=20\r\n=2Edot\r\n=C3=BC\r\n"
	    "012345678901234567890123456789012345678901234567890123456789"
	    "012345678901234=\r\n56789\r\n");
	lines_ok(s, 78);
	free(s);
}

static void
t_mail_refusals(void **state)
{
	const char *const to[] = { "a@example.com", "bad address" };
	const char	 *many[MAIL_RCPT_MAX + 1];
	struct mail_msg	  ok = { "pgsched@example.com", to, 1, "s", "t", 1,
		  "msg_1" },
			m;
	size_t i;

	(void)state;
	free(compose(&ok, PGS_OK));
	m = ok;
	m.nto = 2;
	free(compose(&m, PGS_INVALID));
	m = ok;
	m.nto = 0;
	free(compose(&m, PGS_INVALID));
	for (i = 0; i <= MAIL_RCPT_MAX; i++)
		many[i] = "a@example.com";
	m = ok;
	m.to = many;
	m.nto = MAIL_RCPT_MAX + 1;
	free(compose(&m, PGS_INVALID));
	m.nto = MAIL_RCPT_MAX;
	free(compose(&m, PGS_OK));
	m = ok;
	m.from = "pg-sched";
	free(compose(&m, PGS_INVALID));
	m = ok;
	m.id = "msg.1";
	free(compose(&m, PGS_INVALID));
	m = ok;
	m.text = "\xff";
	free(compose(&m, PGS_INVALID));
	m = ok;
	m.text = "a\0b";
	m.text_len = 3;
	free(compose(&m, PGS_INVALID));
	m = ok;
	m.subject = "\xc3";
	free(compose(&m, PGS_INVALID));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_spec_vector),
		cmocka_unit_test(t_rotation),
		cmocka_unit_test(t_secret),
		cmocka_unit_test(t_ids),
		cmocka_unit_test(t_classify),
		cmocka_unit_test(t_allow_list),
		cmocka_unit_test(t_allow_errors),
		cmocka_unit_test(t_urls),
		cmocka_unit_test(t_check),
		cmocka_unit_test(t_backoff_delays),
		cmocka_unit_test(t_backoff_schedule),
		cmocka_unit_test(t_retry_after),
		cmocka_unit_test(t_mail_checks),
		cmocka_unit_test(t_mail_compose),
		cmocka_unit_test(t_mail_refusals),
	};

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
