/*
 * deliver_int.h: what deliver.c and deliver_xfer.c share: the engine of
 * one deliver_batch call and its transfers.  Not for other modules.
 */
#ifndef PGS_DELIVER_INT_H
#define PGS_DELIVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "deliver.h"
#include "rc.h"
#include "ssrf.h"

/* One transfer slot: an easy handle, reused for item after item. */
struct xfer {
	CURL			  *easy; /* NULL until first used */
	struct deliver_item	  *item; /* NULL: the slot is free */
	const struct deliver_conf *dc;
	struct curl_slist	  *headers; /* HTTP request headers */
	struct curl_slist	  *rcpt;    /* SMTP recipients */
	struct buf		   msg;	    /* the e-mail being sent */
	size_t			   msg_off; /* bytes of msg handed over */
	struct ssrf_url		   url;	    /* the parsed target */
	char			   retry_after[64]; /* the answer's, or "" */
	size_t			   answer_len;	    /* body bytes read */
	bool			   answer_cut;	    /* stopped at the cap */
	char			   refused[128];    /* SSRF refusal, or "" */
	bool			   kind_email;
	int			   timeout_ms;
	int64_t			   started; /* mono_ms */
};

/* The state of one deliver_batch call. */
struct engine {
	const struct deliver_conf *dc;
	CURLM			  *multi;
	struct deliver_item	  *items;
	size_t			   n;
	size_t			   next; /* first item not started */
	struct xfer		  *x;	 /* nx transfer slots */
	size_t			   nx;
	size_t			   active; /* slots in the multi handle */
	size_t			   abandoned;
};

/* Sets it FAILED with a formatted error text. */
void
deliver_fail(struct deliver_item *it, const char *fmt, ...) PGS_PRINTF(2, 3);

/*
 * Prepares slot x for item it with a timeout of timeout_ms (signs a
 * webhook, composes an e-mail, sets every libcurl option).  Returns
 * PGS_OK, or PGS_INVALID after failing it (the slot stays free).
 */
enum pgs_rc xfer_start(struct engine *e, struct xfer *x,
    struct deliver_item *it, int timeout_ms) PGS_MUSTCHECK;
/* Frees what the transfer held and frees the slot (keeps the handle). */
void xfer_release(struct xfer *x);
/* xfer_release and the easy handle too. */
void xfer_free(struct xfer *x);

#endif
