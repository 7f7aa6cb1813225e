/*
 * rc.h: the return codes every fallible function in pg-sched uses.
 */
#ifndef PGS_RC_H
#define PGS_RC_H

#define PGS_MUSTCHECK	 __attribute__((warn_unused_result))
#define PGS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PGS_NORETURN	 __attribute__((noreturn))

enum pgs_rc {
	PGS_OK = 0,
	PGS_NOTFOUND, /* the row or object does not exist */
	PGS_INVALID,  /* the input is wrong: the caller must change it */
	PGS_CONFLICT, /* a unique key or version clash */
	PGS_DENIED,   /* not allowed for this caller */
	PGS_TIMEOUT,  /* a statement or connect timeout fired */
	PGS_DB,	      /* the database failed or is unreachable */
	PGS_INTERNAL  /* a bug or an environment problem */
};

/* Returns a static lower-case name for rc ("not_found", ...). */
const char *rc_name(enum pgs_rc rc);

#endif
