/*
 * deliver_xfer.c: one transfer of the delivery engine: the libcurl
 * options of a webhook or Slack POST and of an SMTP message, and the
 * callbacks that read the answer, feed the message and check each
 * connection's address (deliver.h, ssrf.h).
 */
#include <sys/socket.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "deliver_int.h"
#include "mail.h"
#include "mono.h"

#define USER_AGENT "pg-sched/" PACKAGE_VERSION

/* Drops the answer's body; stops reading at DELIVER_ANSWER_MAX. */
static size_t
cb_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	(void)p;
	x->answer_len += size * n;
	if (x->answer_len > DELIVER_ANSWER_MAX) {
		x->answer_cut = true;
		return 0; /* libcurl stops: CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* Keeps the Retry-After of the last answer (1xx answers come first). */
static size_t
cb_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t	     len = size * n, k;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		x->retry_after[0] = '\0';
	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		p += 12;
		len -= 12;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		k = len < sizeof(x->retry_after) ? len : 0;
		memcpy(x->retry_after, p, k);
		x->retry_after[k] = '\0';
	}
	return size * n;
}

/* Hands libcurl the next bytes of the e-mail. */
static size_t
cb_read(char *out, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t	     left = x->msg.len - x->msg_off, k = size * n;

	if (k > left)
		k = left;
	memcpy(out, x->msg.data + x->msg_off, k);
	x->msg_off += k;
	return k;
}

/*
 * The connect-time SSRF check: libcurl asks for a socket to each address
 * it is about to connect to; a refused one gets none, so nothing is
 * ever sent there.
 */
static curl_socket_t
cb_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer	       *x = arg;
	struct sockaddr_storage ss;
	size_t			len = a->addrlen;

	if (purpose != CURLSOCKTYPE_IPCXN || len > sizeof(ss)) {
		snprintf(x->refused, sizeof(x->refused),
		    "not a TCP "
		    "connection");
		return CURL_SOCKET_BAD;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, len);
	if (ssrf_check_addr(x->dc->allow, x->url.host, (struct sockaddr *)&ss,
		x->refused, sizeof(x->refused)) != PGS_OK)
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Options every transfer has. */
static void
common_opts(struct xfer *x, const char *url, const char *protocols)
{
	CURL *h = x->easy;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)x->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
}

/* Adds one header line to x's list (a copy). */
static void
add_header(struct xfer *x, const char *fmt, ...)
{
	char		   line[512];
	struct curl_slist *l;
	va_list		   ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l = curl_slist_append(x->headers, line);
	if (l == NULL)
		abort(); /* out of memory: the xmalloc rule */
	x->headers = l;
}

/* Signs a webhook into the headers; the item's keys are wiped. */
static enum pgs_rc
sign_headers(struct xfer *x, struct deliver_item *it)
{
	char	    sig[WEBHOOK_SIG_SIZE];
	enum pgs_rc rc;

	it->timestamp = (int64_t)time(NULL);
	rc = webhook_sign(&it->keys, it->id, it->timestamp, it->body,
	    it->body_len, sig, sizeof(sig));
	webhook_keys_wipe(&it->keys);
	if (rc != PGS_OK) {
		deliver_fail(it,
		    "cannot sign: no valid secret or a "
		    "malformed webhook id");
		return rc;
	}
	add_header(x, "webhook-id: %s", it->id);
	add_header(x, "webhook-timestamp: %" PRId64, it->timestamp);
	add_header(x, "webhook-signature: %s", sig);
	return PGS_OK;
}

/* Sets x up for a webhook or Slack POST of it. */
static enum pgs_rc
http_start(struct xfer *x, struct deliver_item *it)
{
	char	    why[DELIVER_ERROR_SIZE - 16];
	enum pgs_rc rc;

	rc = ssrf_url_parse(it->url, &x->url, why, sizeof(why));
	if (rc != PGS_OK) {
		deliver_fail(it, "bad URL: %s", why);
		return rc;
	}
	if (it->body == NULL || it->body_len > DELIVER_BODY_MAX) {
		deliver_fail(it, "the body is missing or over %d bytes",
		    DELIVER_BODY_MAX);
		return PGS_INVALID;
	}
	if (it->kind == DELIVER_WEBHOOK) {
		rc = sign_headers(x, it);
		if (rc != PGS_OK)
			return rc;
	}
	add_header(x, "Content-Type: application/json");
	add_header(x, "Expect:"); /* no 100-continue round trip */
	common_opts(x, it->url, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)it->body_len);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, cb_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, cb_open_socket);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
	return PGS_OK;
}

/* Builds the SMTP recipient list "<a>", "<b>", ... */
static void
mail_rcpt(struct xfer *x, const struct deliver_item *it)
{
	struct curl_slist *l;
	char		   a[MAIL_ADDR_MAX + 3];
	size_t		   i;

	for (i = 0; i < it->nrcpt; i++) {
		snprintf(a, sizeof(a), "<%s>", it->rcpt[i]);
		l = curl_slist_append(x->rcpt, a);
		if (l == NULL)
			abort();
		x->rcpt = l;
	}
}

/* Sets x up for the e-mail of it through SMTP_URL. */
static enum pgs_rc
mail_start(struct xfer *x, struct deliver_item *it)
{
	const struct deliver_conf *dc = x->dc;
	struct mail_msg		   m;
	char			   from[MAIL_ADDR_MAX + 3];

	if (dc->smtp_url == NULL || dc->smtp_from == NULL) {
		deliver_fail(it, "SMTP_URL and SMTP_FROM must be set");
		return PGS_INVALID;
	}
	memset(&m, 0, sizeof(m));
	m.from = dc->smtp_from;
	m.to = it->rcpt;
	m.nto = it->nrcpt;
	m.subject = it->subject;
	m.text = it->body;
	m.text_len = it->body_len;
	m.id = it->id;
	if (it->body == NULL ||
	    mail_compose(&x->msg, &m, time(NULL)) != PGS_OK) {
		deliver_fail(it,
		    "bad e-mail: an address, the id, the "
		    "subject or the text is not usable");
		return PGS_INVALID;
	}
	mail_rcpt(x, it);
	snprintf(from, sizeof(from), "<%s>", dc->smtp_from);
	common_opts(x, dc->smtp_url, "smtp,smtps");
	curl_easy_setopt(x->easy, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(x->easy, CURLOPT_MAIL_RCPT, x->rcpt);
	curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, cb_read);
	curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)x->msg.len);
	curl_easy_setopt(x->easy, CURLOPT_USE_SSL,
	    mail_url_is_smtps(dc->smtp_url) || dc->smtp_starttls ?
		(long)CURLUSESSL_ALL :
		(long)CURLUSESSL_NONE);
	if (dc->smtp_ca_file != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, dc->smtp_ca_file);
	return PGS_OK;
}

enum pgs_rc
xfer_start(struct engine *e, struct xfer *x, struct deliver_item *it,
    int timeout_ms)
{
	enum pgs_rc rc;

	if (x->easy == NULL) {
		x->easy = curl_easy_init();
		if (x->easy == NULL)
			abort();
	} else
		curl_easy_reset(x->easy);
	x->dc = e->dc;
	x->item = it;
	x->timeout_ms = timeout_ms;
	x->started = mono_ms();
	x->kind_email = it->kind == DELIVER_EMAIL;
	if (it->kind == DELIVER_EMAIL)
		rc = mail_start(x, it);
	else if (it->kind == DELIVER_WEBHOOK || it->kind == DELIVER_SLACK)
		rc = http_start(x, it);
	else {
		deliver_fail(it, "unknown delivery kind");
		rc = PGS_INVALID;
	}
	if (rc != PGS_OK) {
		it->ms = (int)(mono_ms() - x->started);
		xfer_release(x);
	}
	return rc;
}

void
xfer_release(struct xfer *x)
{
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->rcpt);
	buf_free(&x->msg);
	x->headers = NULL;
	x->rcpt = NULL;
	x->msg_off = 0;
	x->item = NULL;
	x->retry_after[0] = '\0';
	x->answer_len = 0;
	x->answer_cut = false;
	x->refused[0] = '\0';
	memset(&x->url, 0, sizeof(x->url));
}

void
xfer_free(struct xfer *x)
{
	xfer_release(x);
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
}
