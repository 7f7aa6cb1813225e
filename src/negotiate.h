/*
 * negotiate.h: proactive content negotiation by the Accept header of an
 * HTTP request (RFC 9110 section 12.5.1): which of the media types a
 * resource is offered in the client prefers.  Pure: no allocation, no
 * I/O, so it is tested on its own (tests/unit/t_negotiate.c).
 */
#ifndef PGS_NEGOTIATE_H
#define PGS_NEGOTIATE_H

#include <stddef.h>

/* Longest Accept header value read; a longer one is refused whole. */
#define NEGOTIATE_MAX_LEN 4096

/*
 * Returns the index (0 .. n-1) of the offer the Accept header value
 * accept prefers, or -1 when it accepts none.  offers are the media
 * types a resource is offered in ("type/subtype", no parameters), in the
 * server's order of preference; the caller owns them.
 *
 * accept is a comma-separated list of media ranges ("type/subtype",
 * "type/ *" without the blank, or "* / *" likewise), each with optional
 * parameters and a weight ";q=" 0 to 1 with at most three decimals.
 * Type and subtype compare without regard to case; parameters other than
 * q are ignored.  An offer's weight is that of the most specific range
 * that matches it (the highest of equally specific ones), 0 when none
 * does; q=0 means "not acceptable".  The offer of the highest weight
 * above 0 wins, the earlier offer on a tie.  A list element that is not
 * such a media range matches nothing.  NULL, an empty value or one of
 * blanks only (no preference) gives offer 0, as does "* / *"; a value
 * longer than NEGOTIATE_MAX_LEN gives -1.
 */
int negotiate_media(const char *accept, const char *const offers[], size_t n);

#endif
