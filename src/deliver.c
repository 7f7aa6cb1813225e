/*
 * deliver.c: the batch loop of the delivery engine on libcurl's multi
 * interface, and what an attempt's end means (deliver.h).  Setting up
 * one transfer (HTTP or SMTP) is deliver_xfer.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "arena.h"
#include "backoff.h"
#include "deliver.h"
#include "deliver_int.h"
#include "mono.h"

void
deliver_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort(); /* only out of memory or a broken TLS library */
}

enum pgs_rc
deliver_conf_init(struct deliver_conf *dc, const struct conf *c, char *err,
    size_t errlen)
{
	enum pgs_rc rc;

	memset(dc, 0, sizeof(*dc));
	dc->timeout_ms = c->notify_timeout_ms;
	dc->concurrency = c->notify_concurrency;
	dc->smtp_url = c->smtp_url;
	dc->smtp_from = c->smtp_from;
	dc->smtp_ca_file = c->smtp_ca_file;
	dc->smtp_starttls = c->smtp_starttls;
	rc = ssrf_allow_parse(c->notify_allow_hosts, &dc->allow, err, errlen);
	return rc;
}

void
deliver_conf_free(struct deliver_conf *dc)
{
	ssrf_allow_free(dc->allow);
	memset(dc, 0, sizeof(*dc));
}

const char *
deliver_outcome_name(enum deliver_outcome o)
{
	switch (o) {
	case DELIVER_NOT_STARTED:
		return "not_started";
	case DELIVER_DELIVERED:
		return "delivered";
	case DELIVER_GONE:
		return "gone";
	case DELIVER_RETRY_AFTER:
		return "retry_after";
	case DELIVER_FAILED:
		return "failed";
	}
	return "failed";
}

/* Sets it FAILED with a formatted error text. */
void
deliver_fail(struct deliver_item *it, const char *fmt, ...)
{
	va_list ap;

	it->outcome = DELIVER_FAILED;
	va_start(ap, fmt);
	vsnprintf(it->error, sizeof(it->error), fmt, ap);
	va_end(ap);
}

/* The outcome of an HTTP answer with status st. */
static void
http_outcome(struct xfer *x, struct deliver_item *it, long st)
{
	int64_t secs;

	it->status = (int)st;
	if (st == 0) {
		deliver_fail(it, "the answer has no HTTP status");
	} else if (st >= 200 && st < 300) {
		it->outcome = DELIVER_DELIVERED;
	} else if (st == 410) {
		deliver_fail(it, "HTTP 410: the endpoint is gone");
		it->outcome = DELIVER_GONE;
	} else if ((st == 429 || st == 503) && x->retry_after[0] != '\0' &&
	    backoff_retry_after(x->retry_after, time(NULL), &secs)) {
		it->outcome = DELIVER_RETRY_AFTER;
		it->retry_after_s = secs;
		snprintf(it->error, sizeof(it->error),
		    "HTTP %ld, retry after "
		    "%lld s",
		    st, (long long)secs);
	} else if (st >= 300 && st < 400)
		deliver_fail(it, "HTTP %ld: redirects are not followed", st);
	else
		deliver_fail(it, "HTTP %ld", st);
}

/* Words for the libcurl errors an operator can act on, or NULL. */
static const char *
known_failure(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return "the host name does not resolve";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "TLS: the server's certificate is not trusted";
	case CURLE_SSL_CONNECT_ERROR:
		return "TLS: the handshake failed";
	case CURLE_LOGIN_DENIED:
		return "SMTP: login denied";
	case CURLE_USE_SSL_FAILED:
		return "SMTP: the server does not offer STARTTLS";
	case CURLE_GOT_NOTHING:
		return "the server closed the connection without an answer";
	default:
		return NULL;
	}
}

/*
 * Sets it FAILED in the engine's own words (never libcurl's error text,
 * which may quote a host or a URL); st is the last reply code or 0.
 */
static void
curl_failure(struct xfer *x, struct deliver_item *it, CURLcode cc, long st)
{
	const char *known = known_failure(cc);
	long	    oserr = 0;

	if (x->refused[0] != '\0')
		deliver_fail(it, "refused: %s", x->refused);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		deliver_fail(it, "timeout after %d ms", x->timeout_ms);
	else if (known != NULL && st > 0)
		deliver_fail(it, "%s (reply %ld)", known, st);
	else if (known != NULL)
		deliver_fail(it, "%s", known);
	else if (x->kind_email && st >= 400)
		deliver_fail(it, "SMTP %ld: the server refused the message",
		    st);
	else if (cc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr != 0)
			deliver_fail(it, "cannot connect: %s",
			    strerror((int)oserr));
		else
			deliver_fail(it, "cannot connect");
	} else /* a fixed text, no data in it */
		deliver_fail(it, "%s", curl_easy_strerror(cc));
}

/* Sets the outcome of the finished transfer x from libcurl's result. */
static void
xfer_outcome(struct xfer *x, CURLcode cc)
{
	struct deliver_item *it = x->item;
	long		     st = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &st);
	if (x->kind_email) {
		if (cc != CURLE_OK && st < 400)
			st = 0; /* a reply before the failure says nothing */
		it->status = (int)st;
		if (cc == CURLE_OK)
			it->outcome = DELIVER_DELIVERED;
		else
			curl_failure(x, it, cc, st);
		return;
	}
	/* an answer larger than we read is judged on its status */
	if (cc == CURLE_OK ||
	    (cc == CURLE_WRITE_ERROR && x->answer_cut && st > 0))
		http_outcome(x, it, st);
	else
		curl_failure(x, it, cc, 0);
}

/* Ends transfer x: sets the outcome, frees what it held. */
static void
xfer_end(struct engine *e, struct xfer *x, CURLcode cc, bool abandoned)
{
	if (abandoned)
		deliver_fail(x->item,
		    "timeout after %d ms (the delivery "
		    "time budget ran out)",
		    x->timeout_ms);
	else
		xfer_outcome(x, cc);
	x->item->ms = (int)(mono_ms() - x->started);
	curl_multi_remove_handle(e->multi, x->easy);
	xfer_release(x);
	e->active--;
}

/* Reads the transfers libcurl has finished. */
static void
reap(struct engine *e)
{
	CURLMsg	    *m;
	struct xfer *x;
	int	     left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &x);
		if (x != NULL && x->item != NULL)
			xfer_end(e, x, m->data.result, false);
	}
}

/* Returns a transfer that is not in use, or NULL. */
static struct xfer *
free_xfer(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nx; i++)
		if (e->x[i].item == NULL)
			return &e->x[i];
	return NULL;
}

/*
 * Starts items in order while a transfer is free and the item's whole
 * timeout fits before the deadline.  An item that cannot even start (a
 * bad URL, no key) is failed at once and the next one is tried.
 */
static void
fill(struct engine *e, int64_t deadline)
{
	struct deliver_item *it;
	struct xfer	    *x;
	int		     t;

	for (;;) {
		if (e->next >= e->n)
			return;
		x = free_xfer(e);
		if (x == NULL)
			return;
		it = &e->items[e->next];
		t = it->timeout_ms > 0 ? it->timeout_ms : e->dc->timeout_ms;
		if (mono_ms() + t > deadline)
			return;
		e->next++;
		if (xfer_start(e, x, it, t) != PGS_OK)
			continue;
		curl_multi_add_handle(e->multi, x->easy);
		e->active++;
	}
}

/* Abandons every transfer still running (deadline reached). */
static void
abandon(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nx; i++)
		if (e->x[i].item != NULL) {
			xfer_end(e, &e->x[i], CURLE_OK, true);
			e->abandoned++;
		}
}

/*
 * The loop: start what may start, wait for libcurl, reap what finished;
 * until nothing runs and nothing more may start, or the deadline.
 */
static void
run(struct engine *e, int64_t deadline)
{
	int64_t left;
	int	running;

	for (;;) {
		fill(e, deadline);
		if (e->active == 0)
			return;
		left = deadline - mono_ms();
		if (left <= 0) {
			abandon(e);
			return;
		}
		curl_multi_poll(e->multi, NULL, 0,
		    left > 1000 ? 1000 : (int)left, NULL);
		curl_multi_perform(e->multi, &running);
		reap(e);
	}
}

enum pgs_rc
deliver_batch(const struct deliver_conf *dc, struct deliver_item *items,
    size_t n, int64_t deadline_ms)
{
	struct engine e;
	size_t	      i;
	bool	      all;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < n; i++) {
		items[i].outcome = DELIVER_NOT_STARTED;
		items[i].status = 0;
		items[i].retry_after_s = 0;
		items[i].timestamp = 0;
		items[i].ms = 0;
		items[i].error[0] = '\0';
	}
	e.dc = dc;
	e.items = items;
	e.n = n;
	e.nx = dc->concurrency > 0 ? (size_t)dc->concurrency : 1;
	if (e.nx > n)
		e.nx = n > 0 ? n : 1;
	e.x = xcalloc(e.nx, sizeof(*e.x));
	e.multi = curl_multi_init();
	if (e.multi == NULL)
		abort();
	curl_multi_setopt(e.multi, CURLMOPT_MAXCONNECTS, (long)e.nx);
	run(&e, deadline_ms);
	for (i = 0; i < e.nx; i++)
		xfer_free(&e.x[i]);
	curl_multi_cleanup(e.multi);
	free(e.x);
	for (i = 0; i < n; i++)
		webhook_keys_wipe(&items[i].keys);
	all = e.next == n && e.abandoned == 0;
	return all ? PGS_OK : PGS_TIMEOUT;
}
