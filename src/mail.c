/*
 * mail.c: SMTP_URL and address checks, and the RFC 5322 message of a
 * notification (mail.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "b64.h"
#include "mail.h"
#include "utf8.h"
#include "webhook.h"

#define QP_LINE	 76 /* RFC 2045: encoded line length */
#define EW_CHUNK 39 /* bytes per RFC 2047 encoded-word */

bool
mail_addr_valid(const char *addr)
{
	const char *at = NULL, *p;
	size_t	    n;

	if (addr == NULL)
		return false;
	n = strlen(addr);
	if (n < 3 || n > MAIL_ADDR_MAX)
		return false;
	for (p = addr; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[],;:\\\"", *p) != NULL)
			return false;
		if (*p == '@') {
			if (at != NULL)
				return false;
			at = p;
		}
	}
	return at != NULL && at != addr && at[1] != '\0';
}

bool
mail_url_check(const char *url, char *why, size_t n)
{
	CURLU	   *h;
	char	   *host = NULL;
	const char *p;
	bool	    ok;

	if (strncasecmp(url, "smtp://", 7) != 0 &&
	    strncasecmp(url, "smtps://", 8) != 0) {
		snprintf(why, n, "must be an smtp:// or smtps:// URL");
		return false;
	}
	if (strlen(url) > MAIL_URL_MAX) {
		snprintf(why, n, "is longer than %d bytes", MAIL_URL_MAX);
		return false;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(why, n,
			    "must be printable ASCII without "
			    "spaces (percent-encode the rest)");
			return false;
		}
	h = curl_url();
	if (h == NULL)
		abort();
	ok = curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    host[0] != '\0';
	curl_free(host);
	curl_url_cleanup(h);
	if (!ok)
		snprintf(why, n,
		    "is not a valid smtp:// or smtps:// URL with "
		    "a host");
	return ok;
}

bool
mail_url_is_smtps(const char *url)
{
	return url != NULL && strncasecmp(url, "smtps://", 8) == 0;
}

/* Appends the RFC 5322 date of now (UTC, English names). */
static void
put_date(struct buf *b, time_t now)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm		 tm;

	gmtime_r(&now, &tm);
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends "To: a, b, ..." folded before a line would pass 78 columns. */
static void
put_to(struct buf *b, const struct mail_msg *m)
{
	size_t i, col = 4, n;

	buf_puts(b, "To: ");
	for (i = 0; i < m->nto; i++) {
		n = strlen(m->to[i]);
		if (i > 0) {
			buf_putc(b, ',');
			col++;
			if (col + 1 + n > 78) {
				buf_puts(b, "\r\n");
				col = 0;
			}
			buf_putc(b, ' ');
			col++;
		}
		buf_puts(b, m->to[i]);
		col += n;
	}
	buf_puts(b, "\r\n");
}

/*
 * Copies the subject into out (cap bytes): control characters become
 * spaces, cut at MAIL_SUBJECT_MAX bytes on a character boundary.
 * Returns its length, or -1 when it is not valid UTF-8.
 */
static long
clean_subject(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s), i;

	if (!utf8_valid(s, n))
		return -1;
	if (n > MAIL_SUBJECT_MAX)
		n = utf8_cut(s, MAIL_SUBJECT_MAX);
	if (n >= cap)
		n = utf8_cut(s, cap - 1);
	for (i = 0; i < n; i++)
		out[i] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	out[n] = '\0';
	return (long)n;
}

/* true when the subject can go as is: printable ASCII, no "=?". */
static bool
subject_plain(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x7f)
			return false;
	return strstr(s, "=?") == NULL;
}

/* Appends "Subject: ..." as RFC 2047 B words of whole characters. */
static void
put_subject(struct buf *b, const char *s, size_t n)
{
	char   enc[80];
	size_t off = 0, take;

	buf_puts(b, "Subject:");
	if (subject_plain(s)) {
		buf_printf(b, " %s\r\n", s);
		return;
	}
	while (off < n) {
		take =
		    n - off > EW_CHUNK ? utf8_cut(s + off, EW_CHUNK) : n - off;
		if (b64_encode(s + off, take, enc, sizeof(enc), B64_STD) !=
		    PGS_OK)
			break; /* cannot happen: 39 bytes are 52 */
		buf_printf(b, "%s=?UTF-8?B?%s?=", off > 0 ? "\r\n " : " ", enc);
		off += take;
	}
	buf_puts(b, "\r\n");
}

/* Appends one byte c quoted-printable, breaking softly at QP_LINE. */
static void
qp_byte(struct buf *b, unsigned char c, bool literal, size_t *col)
{
	size_t w = literal ? 1 : 3;

	if (*col + w > QP_LINE - 1) {
		buf_puts(b, "=\r\n");
		*col = 0;
	}
	if (literal)
		buf_putc(b, (char)c);
	else
		buf_printf(b, "=%02X", c);
	*col += w;
}

/* Appends text as quoted-printable body lines (RFC 2045, CRLF). */
static void
put_qp(struct buf *b, const char *t, size_t n)
{
	size_t	      i, col = 0;
	unsigned char c;
	bool	      eol, literal;

	for (i = 0; i < n; i++) {
		c = (unsigned char)t[i];
		if (c == '\r' && i + 1 < n && t[i + 1] == '\n')
			continue;
		if (c == '\n') {
			buf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		eol = i + 1 == n || t[i + 1] == '\n' || t[i + 1] == '\r';
		literal = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !eol);
		/* a dot opening a line is encoded: no SMTP end-of-data */
		if (c == '.' && col == 0)
			literal = false;
		qp_byte(b, c, literal, &col);
	}
	if (col > 0 || n == 0)
		buf_puts(b, "\r\n");
}

/* Checks m; returns PGS_OK or PGS_INVALID. */
static enum pgs_rc
msg_check(const struct mail_msg *m)
{
	size_t i;

	if (!mail_addr_valid(m->from) || !webhook_id_valid(m->id) ||
	    m->nto == 0 || m->nto > MAIL_RCPT_MAX || m->subject == NULL ||
	    m->text == NULL || m->text_len > MAIL_TEXT_MAX ||
	    !utf8_valid(m->text, m->text_len) ||
	    memchr(m->text, '\0', m->text_len) != NULL)
		return PGS_INVALID;
	for (i = 0; i < m->nto; i++)
		if (!mail_addr_valid(m->to[i]))
			return PGS_INVALID;
	return PGS_OK;
}

enum pgs_rc
mail_compose(struct buf *b, const struct mail_msg *m, time_t now)
{
	char subject[MAIL_SUBJECT_MAX + 1];
	long slen;

	if (msg_check(m) != PGS_OK)
		return PGS_INVALID;
	slen = clean_subject(m->subject, subject, sizeof(subject));
	if (slen < 0)
		return PGS_INVALID;
	put_date(b, now);
	buf_printf(b, "From: pg-sched <%s>\r\n", m->from);
	put_to(b, m);
	put_subject(b, subject, (size_t)slen);
	buf_printf(b, "Message-ID: <%s@%s>\r\n", m->id,
	    strchr(m->from, '@') + 1);
	buf_puts(b,
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n");
	put_qp(b, m->text, m->text_len);
	return PGS_OK;
}
