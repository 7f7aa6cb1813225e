/*
 * cmd_token.c: pgsched-admin tokens create|list|revoke: API tokens
 * (CONTRACT section 9) by the rules and the SQL the API uses
 * (src/token.c).  The token is printed once, by create; it is stored
 * only as a hash.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "shape.h"
#include "token.h"

/* Parses "ID[,ID...]" into arena-owned ids; 0 or EX_USAGE. */
static int
cmd_token_ids(struct cli *c, const char *s, long **ids, int *n)
{
	char *copy, *tok, *save;

	*ids = arena_alloc(&c->arena, sizeof(**ids) * (strlen(s) / 2 + 2));
	*n = 0;
	copy = arena_strdup(&c->arena, s);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		if (*n >= TOKEN_QUERIES_MAX ||
		    !num_parse(tok, 1, 2147483647, &(*ids)[(*n)++]))
			return cli_fail(EX_USAGE,
			    "%s: --queries takes 1 to %d query ids, "
			    "comma-separated",
			    c->path, TOKEN_QUERIES_MAX);
	return 0;
}

/* Checks the options by the rules of src/token.c; 0 or EX_DATAERR. */
static int
cmd_token_check(struct cli *c, const char *name, int n, const char *days_s,
    long *days)
{
	struct token_errors e;

	if (!num_parse(days_s, -2147483647L, 2147483647L, days))
		*days = 0;
	if (token_rules_check(&c->arena, name, n, *days, c->conf.token_max_days,
		&e))
		return 0;
	return cli_fail(EX_DATAERR, "%s: --%s: %s", c->path,
	    strcmp(e.field[0], "query_ids") == 0	   ? "queries" :
		strcmp(e.field[0], "expires_in_days") == 0 ? "expires-days" :
							     "name",
	    e.message[0]);
}

static int
cmd_token_create(struct cli *c, int argc, char **argv)
{
	const char	    *name = NULL, *queries = NULL, *days_s = NULL;
	const struct cli_opt opts[] = { { "name", true, &name, NULL },
		{ "queries", true, &queries, NULL },
		{ "expires-days", true, &days_s, NULL }, { NULL, 0, 0, 0 } };
	char		     t[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	long		    *ids, days, id;
	enum pgs_rc	     rc;
	int		     ex, n;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (name == NULL || queries == NULL || days_s == NULL)
		return cli_fail(EX_USAGE,
		    "%s: --name, --queries and --expires-days are required",
		    c->path);
	ex = cmd_token_ids(c, queries, &ids, &n);
	if (ex == 0)
		ex = cmd_token_check(c, name, n, days_s, &days);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	if (token_new(t) != PGS_OK)
		return cli_fail(EX_SOFTWARE, "%s: no random bytes", c->path);
	token_hash(t, hash);
	rc = token_create(&c->db, &c->arena, name, ids, n, days, 0, hash, &id);
	if (rc == PGS_OK)
		printf("created token %ld (%s), expires in %ld days; it is "
		       "shown only now:\n%s\n",
		    id, name, days, t);
	sodium_memzero(t, sizeof(t));
	if (rc == PGS_INVALID)
		return cli_fail(EX_DATAERR,
		    "%s: --queries names a query that "
		    "does not exist",
		    c->path);
	return rc == PGS_OK ? 0 : cli_db_fail(c, rc, c->path);
}

static int
cmd_token_list(struct cli *c, int argc, char **argv)
{
	struct token_list l;
	enum pgs_rc	  rc;
	int		  ex, i, k;

	ex = cli_parse(c, argc, argv, NULL, NULL, 0, NULL);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = token_list(&c->db, &c->arena, 0, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_token_list(&l));
		return 0;
	}
	printf("%-6s %-24s %-8s %-20s %s\n", "ID", "NAME", "STATE", "QUERIES",
	    "EXPIRES");
	for (i = 0; i < l.n; i++) {
		printf("%-6ld %-24.24s %-8s ", l.items[i].id, l.items[i].name,
		    l.items[i].revoked_at != NULL ? "revoked" :
			l.items[i].active	  ? "active" :
						    "expired");
		for (k = 0; k < l.items[i].nqids; k++)
			printf("%s%ld", k > 0 ? "," : "", l.items[i].qids[k]);
		printf(" %s\n", l.items[i].expires_at);
	}
	return 0;
}

static int
cmd_token_revoke(struct cli *c, int argc, char **argv)
{
	const char *who;
	long	    id;
	enum pgs_rc rc;
	int	    ex;

	ex = cli_target(c, argc, argv, NULL, "token", &who);
	if (ex != 0)
		return ex;
	if (!num_parse(who, 1, 2147483647, &id))
		return cli_fail(EX_USAGE, "%s: '%s' is not a token id", c->path,
		    who);
	rc = token_revoke(&c->db, &c->arena, id, 0);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_DATAERR,
		    "%s: no token %ld (see 'pgsched-admin tokens list')",
		    c->path, id);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("revoked token %ld\n", id);
	return 0;
}

static const struct cli_cmd token_cmds[] = {
	{ "create", cmd_token_create,
	    "create an API token (printed once) for queries",
	    "  --name NAME            what it is for, 1-100 bytes\n"
	    "  --queries ID[,ID...]   the queries it reads (at least one)\n"
	    "  --expires-days N       lifetime, 1..TOKEN_MAX_DAYS (365)\n" },
	{ "list", cmd_token_list, "list API tokens (never the tokens)", NULL },
	{ "revoke", cmd_token_revoke, "revoke an API token at once", NULL },
	{ NULL, NULL, NULL, NULL }
};

int
cmd_tokens(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "tokens", token_cmds, argc - 1, argv + 1);
}
