/*
 * mail.h: the e-mail a notification sends (CONTRACT section 8): the
 * SMTP_URL and address checks and the RFC 5322 message itself.  The
 * transfer is deliver.c's (libcurl SMTP).
 *
 * A message is text/plain in UTF-8, quoted-printable (so no line is ever
 * longer than SMTP allows, whatever the text), with Date, From
 * ("pg-sched <SMTP_FROM>"), To, Subject (RFC 2047 encoded when it is not
 * plain ASCII), Message-ID "<event id@domain of SMTP_FROM>" (the same on
 * every retry, so a mail system can drop a duplicate), MIME-Version and
 * Auto-Submitted: auto-generated (RFC 3834: no auto-replies).
 */
#ifndef PGS_MAIL_H
#define PGS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "rc.h"

#define MAIL_ADDR_MAX	 254	     /* bytes of an address */
#define MAIL_RCPT_MAX	 50	     /* recipients of one message */
#define MAIL_SUBJECT_MAX 200	     /* bytes kept of a subject */
#define MAIL_TEXT_MAX	 (64 * 1024) /* bytes of a body */
#define MAIL_URL_MAX	 2048	     /* bytes of SMTP_URL */

struct mail_msg {
	const char	  *from; /* SMTP_FROM */
	const char *const *to;	 /* recipients */
	size_t		   nto;
	const char	  *subject; /* UTF-8, one line */
	const char	  *text;    /* UTF-8, \n or \r\n lines */
	size_t		   text_len;
	const char	  *id; /* the event's webhook id */
};

/*
 * true when addr is a plain address local@domain that SMTP and a To
 * header carry as is: 3 to MAIL_ADDR_MAX bytes of printable ASCII, one
 * '@' with something on both sides, none of the characters
 * space < > ( ) [ ] , ; : \ " (no display names, no quoted local parts).
 */
bool mail_addr_valid(const char *addr);

/*
 * Checks SMTP_URL: smtp:// or smtps://, a host, printable ASCII, at most
 * MAIL_URL_MAX bytes (user:password@ allowed).  Returns false with the
 * reason in why (never the URL, which may hold a password).
 */
bool mail_url_check(const char *url, char *why, size_t n);

/* true when url (checked by mail_url_check) starts with smtps://. */
bool mail_url_is_smtps(const char *url);

/*
 * Appends the whole message m, dated now, with CRLF line ends, to b (the
 * caller's).  Returns PGS_INVALID when an address, the id, the subject
 * or the text is unusable (invalid UTF-8, no recipient or more than
 * MAIL_RCPT_MAX, text over MAIL_TEXT_MAX); b is then unchanged.
 */
enum pgs_rc
mail_compose(struct buf *b, const struct mail_msg *m, time_t now) PGS_MUSTCHECK;

#endif
