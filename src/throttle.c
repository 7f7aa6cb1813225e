/*
 * throttle.c: SQL for login_failure, the throttling of failed logins (see
 * throttle.h).
 */
#include <stdio.h>

#include "throttle.h"

enum pgs_rc
throttle_check(struct db *db, struct arena *a, const char *email,
    const char *client, int window_min, int max_account, int max_client,
    long *retry_after)
{
	static const char sql[] =
	    "SELECT count(*) FILTER (WHERE lower(email) = lower($1)),"
	    " ceil(extract(epoch FROM min(failed_at) FILTER (WHERE"
	    "  lower(email) = lower($1)) + make_interval(mins => $3::int)"
	    "  - now())),"
	    " count(*) FILTER (WHERE client = $2),"
	    " ceil(extract(epoch FROM min(failed_at) FILTER (WHERE"
	    "  client = $2) + make_interval(mins => $3::int) - now()))"
	    " FROM login_failure WHERE (lower(email) = lower($1)"
	    " OR client = $2)"
	    " AND failed_at > now() - make_interval(mins => $3::int)";
	const char *p[3];
	PGresult   *res;
	long	    wait = 0;
	enum pgs_rc rc;

	p[0] = email;
	p[1] = client;
	p[2] = arena_printf(a, "%d", window_min);
	rc = db_query(db, a, sql, 3, p, &res);
	if (rc != PGS_OK)
		return rc;
	if (db_long(res, 0, 0) >= max_account)
		wait = db_long(res, 0, 1);
	if (db_long(res, 0, 2) >= max_client && db_long(res, 0, 3) > wait)
		wait = db_long(res, 0, 3);
	if (db_long(res, 0, 0) < max_account && db_long(res, 0, 2) < max_client)
		return PGS_OK;
	*retry_after = wait < 1 ? 1 : wait;
	return PGS_DENIED;
}

enum pgs_rc
throttle_fail(struct db *db, struct arena *a, const char *email,
    const char *client)
{
	static const char sql[] =
	    "INSERT INTO login_failure (email, client) VALUES (left($1, 254),"
	    " $2)";
	static const char sql_gc[] =
	    "DELETE FROM login_failure WHERE failed_at < now()"
	    " - interval '1 day'";
	const char *p[] = { email, client };
	enum pgs_rc rc;

	rc = db_cmd(db, a, sql, 2, p);
	if (rc != PGS_OK)
		return rc;
	return db_cmd(db, a, sql_gc, 0, NULL);
}

enum pgs_rc
throttle_clear(struct db *db, struct arena *a, const char *email)
{
	static const char sql[] =
	    "DELETE FROM login_failure WHERE lower(email) = lower($1)";
	const char *p[] = { email };

	return db_cmd(db, a, sql, 1, p);
}
