/*
 * qtable.h: output of cmd_query.c: query listings and details, and the
 * rows of a dry run as a table or as the API's dry-run JSON.
 */
#ifndef PGS_CLI_QTABLE_H
#define PGS_CLI_QTABLE_H

#include <cjson/cJSON.h>

#include "cli.h"
#include "json.h"
#include "result.h"
#include "store.h"

/* Prints a listing of queries as a table on stdout. */
void qtable_print_queries(const struct query_list *l);
/* Prints one query, field per line, on stdout. */
void qtable_print_query(const struct query *q);
/*
 * Prints the rows of rs (taken in ms milliseconds): with c->json the
 * API's dry-run answer (shape_dryrun), values verbatim; else a table.
 * Returns 0.
 */
int qtable_print_result(struct cli *c, struct result *rs, long ms);

#endif
