/*
 * log_access.h: one access line per API request (CONTRACT section 7).
 *
 * MSGID "access", SD params method, route (the route table's pattern, or
 * "-" when no route matched), path (cut at LOG_ACCESS_PATH_MAX bytes),
 * status, ms (duration, 0.1 ms), user (id, or "-" when not logged in)
 * and client (the address the API trusts: X-Forwarded-For's last hop
 * when TRUST_PROXY=1, else REMOTE_ADDR).  The query string is never
 * logged.  Severity info, warning for a 5xx status.
 */
#ifndef PGS_LOG_ACCESS_H
#define PGS_LOG_ACCESS_H

#define LOG_ACCESS_PATH_MAX 512

struct log_access {
	const char *method;
	const char *route; /* pattern, or NULL when unmatched */
	const char *path;  /* without the query string */
	int	    status;
	double	    seconds; /* time spent on the request */
	long	    user_id; /* 0 when not logged in */
	const char *client;  /* NULL: "-" */
};

/* Writes the access line of one request (see above); returns nothing. */
void log_access(const struct log_access *a);

#endif
