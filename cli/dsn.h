/*
 * dsn.h: data-source and query helpers shared by cmd_source.c,
 * cmd_query.c, cmd_run.c and cmd_keys.c (dsn_* are defined in
 * cmd_source.c, queries_lookup in cmd_query.c).
 */
#ifndef PGS_CLI_DSN_H
#define PGS_CLI_DSN_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "cli.h"
#include "cred.h"
#include "exec.h"
#include "source_conn.h"
#include "store.h"

/*
 * Fills s with the data source named by who (an id, else a name).
 * Returns 0, or an exit code after printing one line (EX_DATAERR for an
 * unknown source: "<what> '<who>': no such data source", the words of
 * the API).
 */
int
dsn_lookup(struct cli *c, const char *what, const char *who, struct source *s);
/*
 * Loads the key set into k (the private keys too when need_private; the
 * caller frees it with cred_free).  Returns 0, or an exit code after one
 * line naming the variable and the file.
 */
int dsn_keys(struct cli *c, bool need_private, struct cred_keys *k);
/*
 * Fills o with the settings of a connection to a data source
 * (source_conn_open): connect timeout SOURCE_CONNECT_TIMEOUT_S, statement
 * timeout timeout_ms (or RUNNER_DEFAULT_TIMEOUT_MS when 0), max_rows rows,
 * RESULT_MAX_BYTES.
 */
void dsn_exec_opts(struct cli *c, int timeout_ms, size_t max_rows,
    struct exec_opts *o);
/*
 * Runs SELECT 1 on conn through exec_query; PGS_OK or exec_query's rc
 * with the reason in err.
 */
enum pgs_rc
dsn_ping(PGconn *conn, const struct exec_opts *o, char *err, size_t errlen);
/*
 * Fills q with the query named by who (an id, else a name).  Returns 0, or
 * an exit code after printing one line (EX_DATAERR for an unknown query).
 */
int queries_lookup(struct cli *c, const char *who, struct query *q);

#endif
