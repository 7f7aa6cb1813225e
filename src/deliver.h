/*
 * deliver.h: the notification delivery engine (CONTRACT section 8).
 *
 * deliver_batch() makes one attempt at each delivery of a batch, several
 * at a time (NOTIFY_CONCURRENCY transfers at once) on libcurl's multi
 * interface, and returns when every one is done or the caller's deadline
 * has come; it never blocks past the deadline.  It knows nothing of the
 * database: the caller claims due rows of the outbox, fills one struct
 * deliver_item per row, calls deliver_batch, and records each outcome
 * (backoff.h says when a failed one is tried again).
 *
 * Kinds:
 *   DELIVER_WEBHOOK  POST body (JSON) to url with Content-Type
 *                    application/json and the Standard Webhooks headers
 *                    webhook-id (item id), webhook-timestamp (the time
 *                    the transfer starts) and webhook-signature (webhook.h,
 *                    one v1 entry per key of item keys).
 *   DELIVER_SLACK    POST body ({"text": ...}) to url, unsigned.
 *   DELIVER_EMAIL    one message (mail.h) through SMTP_URL from SMTP_FROM
 *                    to item rcpt, Message-ID from item id.
 *
 * Every HTTP attempt: http or https only, redirects never followed (a 3xx
 * is a failure), proxies from the environment ignored, certificates
 * verified, the address of each connection checked against the SSRF rule
 * (ssrf.h) before it is opened, a timeout of item timeout_ms (else
 * NOTIFY_TIMEOUT_MS) for the whole transfer, the answer's body read and
 * dropped (at most DELIVER_ANSWER_MAX bytes).  E-mail: smtps:// is TLS
 * from the start; smtp:// requires STARTTLS unless SMTP_STARTTLS=0;
 * certificates are verified against the system's CAs or SMTP_CA_FILE; a
 * user:password in SMTP_URL logs in.  SMTP_URL is the operator's setting,
 * not a user's: the SSRF rule does not apply to it.
 *
 * The time budget: a transfer starts only while the time left before the
 * deadline covers its whole timeout, so a started attempt is never cut
 * short by the budget; deliveries that could not start stay
 * DELIVER_NOT_STARTED (not an attempt: leave them due).  Should a
 * transfer still run at the deadline (libcurl late by a few
 * milliseconds), it is abandoned and reported DELIVER_FAILED "timeout".
 *
 * Memory: the engine holds NOTIFY_CONCURRENCY transfers and one message
 * each, whatever the batch size; the items are the caller's.  Error
 * texts are the engine's own short sentences (never libcurl's messages,
 * which may quote a host or a URL): no URL, no credential, no secret.
 */
#ifndef PGS_DELIVER_H
#define PGS_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "rc.h"
#include "ssrf.h"
#include "webhook.h"

#define DELIVER_ERROR_SIZE 160	       /* bytes of item error */
#define DELIVER_BODY_MAX   (64 * 1024) /* bytes of a request body */
#define DELIVER_ANSWER_MAX (64 * 1024) /* bytes read of an answer */

enum deliver_kind {
	DELIVER_WEBHOOK,
	DELIVER_SLACK,
	DELIVER_EMAIL
};

enum deliver_outcome {
	DELIVER_NOT_STARTED = 0, /* the budget ran out: no attempt */
	DELIVER_DELIVERED,	 /* 2xx, or the SMTP server took the message */
	DELIVER_GONE,		 /* HTTP 410: disable the channel */
	DELIVER_RETRY_AFTER,	 /* 429 or 503 with Retry-After: see
				 * retry_after_s */
	DELIVER_FAILED		 /* anything else: back off (backoff.h) */
};

struct deliver_item {
	/* in: the caller's, unchanged by the engine except keys */
	enum deliver_kind   kind;
	const char	   *url;  /* webhook, slack: the target */
	const char *const  *rcpt; /* email: recipients */
	size_t		    nrcpt;
	const char	   *subject; /* email: one line, UTF-8 */
	const char	   *id;	     /* the stored event id */
	const char	   *body;    /* JSON; email: UTF-8 text */
	size_t		    body_len;
	struct webhook_keys keys;	/* webhook; the engine wipes */
	int		    timeout_ms; /* 0: NOTIFY_TIMEOUT_MS */

	/* out: set by deliver_batch */
	enum deliver_outcome outcome;
	int		     status;	    /* HTTP status or SMTP
						 * reply code; 0: none */
	int64_t		     retry_after_s; /* DELIVER_RETRY_AFTER: >= 0 */
	int64_t		     timestamp;	    /* webhook-timestamp sent */
	int		     ms;	    /* how long the attempt took */
	/* a short sentence unless DELIVERED (never a URL or a secret) */
	char error[DELIVER_ERROR_SIZE];
};

/* The settings of the engine, from struct conf (deliver_conf_init). */
struct deliver_conf {
	int		   timeout_ms;	  /* NOTIFY_TIMEOUT_MS */
	int		   concurrency;	  /* NOTIFY_CONCURRENCY */
	struct ssrf_allow *allow;	  /* NOTIFY_ALLOW_HOSTS, owned */
	const char	  *smtp_url;	  /* SMTP_URL or NULL (c's) */
	const char	  *smtp_from;	  /* SMTP_FROM or NULL */
	const char	  *smtp_ca_file;  /* SMTP_CA_FILE or NULL */
	bool		   smtp_starttls; /* SMTP_STARTTLS */
};

/*
 * Initialises libcurl (curl_global_init).  Call once at program start,
 * before any thread or fork, in each program that delivers.
 */
void deliver_global_init(void);

/*
 * Fills dc from c; the strings stay c's (c must outlive dc).  Returns
 * PGS_INVALID with err when NOTIFY_ALLOW_HOSTS does not parse (conf_load
 * has checked it already).  deliver_conf_free releases dc's allow-list.
 */
enum pgs_rc deliver_conf_init(struct deliver_conf *dc, const struct conf *c,
    char *err, size_t errlen) PGS_MUSTCHECK;
void	    deliver_conf_free(struct deliver_conf *dc);

/*
 * Attempts each of the n items once (see above) and sets its outcome
 * fields, returning by deadline_ms (mono_ms time) at the latest.
 * Every item's keys are wiped before it returns, used or not.  Returns
 * PGS_OK when every item was attempted, PGS_TIMEOUT when some are
 * DELIVER_NOT_STARTED or were abandoned at the deadline.
 */
enum pgs_rc deliver_batch(const struct deliver_conf *dc,
    struct deliver_item *items, size_t n, int64_t deadline_ms);

/* Returns a static name: "not_started", "delivered", "gone",
 * "retry_after", "failed". */
const char *deliver_outcome_name(enum deliver_outcome o);

#endif
