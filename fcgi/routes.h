/*
 * routes.h: the API's route table: for each method and path pattern, the
 * handler, who may call it and what it takes.  The router (route.c)
 * matches requests against it and the metrics (metrics.c) name their
 * counters after it; this header is all either needs of it, and it needs
 * neither of them.
 */
#ifndef PGS_FCGI_ROUTES_H
#define PGS_FCGI_ROUTES_H

#include "rc.h"

struct req;

/* Who may call a route. */
enum route_access {
	ACC_PUBLIC, /* anyone */
	ACC_RUNS,   /* anyone when RUNS_PUBLIC=1, else any logged-in user */
	ACC_AUTH,   /* any logged-in user */
	ACC_EDITOR,
	ACC_ADMIN
};

#define ROUTE_BODY     0x01 /* takes a JSON object body (required) */
#define ROUTE_BODY_OPT 0x02 /* takes an optional JSON object body */
#define ROUTE_NODB     0x04 /* answers without the database */
#define ROUTE_ETAG     0x08 /* 200 answers carry an ETag */

struct route {
	const char *method;
	const char *pattern; /* "{name}" segments are ids */
	enum pgs_rc (*fn)(struct req *r);
	enum route_access access;
	unsigned	  flags;
};

/* Returns the route table (static, never freed) and its length in *n;
 * the index of a route in it labels its metrics. */
const struct route *route_table(int *n);

#endif
