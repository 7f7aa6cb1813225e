/*
 * floor.c: the least a cold "run this query now" can do, for scale beside
 * a cold pgsched-runner --query.  One process, libpq only:
 *
 *   1. connect to the metadata database (argv[1], a conninfo string);
 *   2. read the job's SQL and its source's address (argv[2]: the job id);
 *   3. start the source connection (no password: the bench cluster trusts
 *      loopback) and, while it is being set up, read the job's latest
 *      stored document on the metadata connection;
 *   4. finish the source connection and run the SQL through the extended
 *      protocol;
 *   5. store the latest document again into bench_floor (doc jsonb), one
 *      statement, so that the server parses the same jsonb as a real run;
 *   6. close both connections and exit.
 *
 * Nothing of pg-sched's own work is in it: no schema or standby check, no
 * SQL validation, no password decryption, no advisory lock, no run row,
 * no serialisation (the stored document is the last run's).  Prints
 * nothing on success; on failure, one line on stderr and exit status 1.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

static void
die(PGconn *c, const char *what)
{
	fprintf(stderr, "floor: %s: %s", what, c ? PQerrorMessage(c) : "\n");
	exit(1);
}

static PGresult *
exec(PGconn *c, const char *sql, int n, const char *const *p,
    ExecStatusType status)
{
	PGresult *res;

	res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != status)
		die(c, sql);
	return res;
}

/*
 * Drives a connection started by PQconnectStartParams until it reaches
 * state `until': PGRES_POLLING_READING once the startup packet is out (the
 * server then works on it while the caller does something else),
 * PGRES_POLLING_OK for the end.
 */
static PostgresPollingStatusType
drive(PGconn *c, PostgresPollingStatusType st, PostgresPollingStatusType until)
{
	struct pollfd pfd;

	while (st != until && st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			die(c, "source connection");
		pfd.fd = PQsocket(c);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, 10000) != 1)
			die(NULL, "source connection: timeout");
		st = PQconnectPoll(c);
	}
	return st;
}

int
main(int argc, char **argv)
{
	static const char sql_job[] =
	    "SELECT j.sql_text, s.host, s.port::text, s.dbname, s.username"
	    " FROM query_job j JOIN data_source s ON s.id = j.data_source_id"
	    " WHERE j.id = $1";
	static const char sql_doc[] =
	    "SELECT b.df_json::text FROM query_run r JOIN query_run_blob b"
	    " ON b.run_id = r.id WHERE r.query_id = $1 ORDER BY r.id DESC"
	    " LIMIT 1";
	const char *keys[] = { "host", "port", "dbname", "user", "sslmode",
		"gssencmode", NULL };
	const char *vals[7], *p[1];
	PostgresPollingStatusType st;
	PGconn			 *meta, *src;
	PGresult		 *job, *doc, *res;
	long			  bytes = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: floor META-CONNINFO JOB-ID\n");
		return 2;
	}
	meta = PQconnectdb(argv[1]);
	if (PQstatus(meta) != CONNECTION_OK)
		die(meta, "metadata connection");
	p[0] = argv[2];
	job = exec(meta, sql_job, 1, p, PGRES_TUPLES_OK);
	if (PQntuples(job) != 1)
		die(NULL, "no such job");
	for (int i = 0; i < 4; i++)
		vals[i] = PQgetvalue(job, 0, i + 1);
	/* No SSL or GSS negotiation: one round trip less than a real run. */
	vals[4] = "disable";
	vals[5] = "disable";
	vals[6] = NULL;
	src = PQconnectStartParams(keys, vals, 0);
	if (src == NULL || PQstatus(src) == CONNECTION_BAD)
		die(src, "source connection");
	st = drive(src, PGRES_POLLING_WRITING, PGRES_POLLING_READING);
	doc = exec(meta, sql_doc, 1, p, PGRES_TUPLES_OK);
	if (PQntuples(doc) != 1)
		die(NULL, "no stored run of the job");
	drive(src, st, PGRES_POLLING_OK);
	res = exec(src, PQgetvalue(job, 0, 0), 0, NULL, PGRES_TUPLES_OK);
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < PQnfields(res); c++)
			bytes += PQgetlength(res, r, c);
	PQclear(res);
	if (bytes == 0)
		die(NULL, "the source returned nothing");
	p[0] = PQgetvalue(doc, 0, 0);
	PQclear(exec(meta, "INSERT INTO bench_floor (doc) VALUES ($1::jsonb)",
	    1, p, PGRES_COMMAND_OK));
	PQclear(doc);
	PQclear(job);
	PQfinish(src);
	PQfinish(meta);
	return 0;
}
