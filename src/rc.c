/*
 * rc.c: names of return codes, used in logs and error bodies.
 */
#include "rc.h"

const char *
rc_name(enum pgs_rc rc)
{
	switch (rc) {
	case PGS_OK:
		return "ok";
	case PGS_NOTFOUND:
		return "not_found";
	case PGS_INVALID:
		return "invalid";
	case PGS_CONFLICT:
		return "conflict";
	case PGS_DENIED:
		return "denied";
	case PGS_TIMEOUT:
		return "timeout";
	case PGS_DB:
		return "db_unavailable";
	case PGS_INTERNAL:
		return "internal";
	}
	return "internal";
}
