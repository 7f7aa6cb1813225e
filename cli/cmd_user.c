/*
 * cmd_user.c: pgsched-admin users add|list|show|passwd|roles|disable|
 * enable|rm.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "auth.h"
#include "cli.h"
#include "shape.h"
#include "store.h"

/* Loads and decodes the pepper into pepper/len; 0 or an exit code. */
static int
cmd_user_pepper(struct cli *c, unsigned char *pepper, size_t *len)
{
	char err[256];
	int  ex;

	ex = cli_require(c, "ARGON2_SECRET_KEY_B64");
	if (ex != 0)
		return ex;
	if (auth_pepper_decode(c->conf.argon2_secret_b64, pepper, len, err,
		sizeof(err)) != PGS_OK)
		return cli_fail(EX_CONFIG, "%s", err);
	return 0;
}

/* Splits a comma list of roles into roles[3], checking each against
 * ALLOWED_ROLES; returns 0 or EX_DATAERR. */
static int
cmd_user_roles(struct cli *c, const char *list, const char **roles, int *n)
{
	char *copy, *tok, *save;
	int   i;

	*n = 0;
	copy = arena_strdup(&c->arena, list);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (role_parse(tok) == ROLE_NONE ||
		    !conf_list_has(c->conf.allowed_roles, tok))
			return cli_fail(EX_DATAERR,
			    "%s: unknown role '%s' "
			    "(allowed: %s)",
			    c->path, tok, c->conf.allowed_roles);
		for (i = 0; i < *n && strcmp(roles[i], tok) != 0; i++)
			;
		if (i == *n && *n < 3)
			roles[(*n)++] = tok;
	}
	if (*n == 0)
		return cli_fail(EX_DATAERR, "%s: --roles is empty", c->path);
	return 0;
}

/* Reads, checks and hashes a new password into phc. */
static int
cmd_user_new_hash(struct cli *c, const char *file, const char *inline_pw,
    char *phc, size_t phclen)
{
	unsigned char pepper[AUTH_PEPPER_MAX];
	char	      pw[AUTH_PW_MAX_BYTES + 2], err[256];
	size_t	      plen;
	int	      ex;

	ex = cmd_user_pepper(c, pepper, &plen);
	if (ex != 0)
		return ex;
	ex = cli_password(file, inline_pw, "New password: ", true, pw,
	    sizeof(pw));
	if (ex == 0 && auth_password_check(pw, err, sizeof(err)) != PGS_OK)
		ex = cli_fail(EX_DATAERR, "%s: %s", c->path, err);
	if (ex == 0 &&
	    auth_password_hash(pepper, plen, pw, phc, phclen) != PGS_OK)
		ex = cli_fail(EX_SOFTWARE, "%s: hashing failed", c->path);
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(pepper, sizeof(pepper));
	return ex;
}

/* Looks a user up by numeric id or e-mail. */
static int
cmd_user_lookup(struct cli *c, const char *who, struct user *u)
{
	enum pgs_rc rc;
	long	    id;
	bool	    numeric = num_parse(who, 1, 2147483647, &id);

	rc = user_get(&c->db, &c->arena, numeric ? who : NULL,
	    numeric ? NULL : who, u);
	if (rc == PGS_NOTFOUND)
		return cli_fail(EX_NOUSER, "%s: no user '%s'", c->path, who);
	return cli_db_fail(c, rc, c->path);
}

static void
cmd_user_print(const struct user *u)
{
	int i;

	printf("id:         %ld\nemail:      %s\nname:       %s\n"
	       "active:     %s\nroles:      ",
	    u->id, u->email, u->name ? u->name : "",
	    u->is_active ? "yes" : "no");
	for (i = 0; i < u->nroles; i++)
		printf("%s%s", i ? "," : "", u->roles[i]);
	printf("\ncreated_at: %s\nupdated_at: %s\n", u->created_at,
	    u->updated_at);
}

static int
users_add(struct cli *c, int argc, char **argv)
{
	const char	    *email = NULL, *name = NULL, *roles_s = "viewer";
	const char	    *pwfile = NULL, *pw = NULL, *roles[3];
	const struct cli_opt opts[] = { { "email", true, &email, NULL },
		{ "name", true, &name, NULL },
		{ "roles", true, &roles_s, NULL },
		{ "password", true, &pw, NULL },
		{ "password-file", true, &pwfile, NULL }, { NULL, 0, 0, 0 } };
	char		     phc[AUTH_PHC_MAX];
	enum pgs_rc	     rc;
	long		     id;
	int		     ex, nroles;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (email == NULL)
		return cli_fail(EX_USAGE, "%s: --email is required", c->path);
	if (!user_email_valid(email))
		return cli_fail(EX_DATAERR, "%s: invalid e-mail address '%s'",
		    c->path, email);
	ex = cmd_user_roles(c, roles_s, roles, &nroles);
	if (ex == 0)
		ex = cli_connect(c, true);
	if (ex == 0)
		ex = cmd_user_new_hash(c, pwfile, pw, phc, sizeof(phc));
	if (ex != 0)
		return ex;
	rc = user_create(&c->db, &c->arena, email, name, phc, roles, nroles,
	    &id);
	if (rc == PGS_CONFLICT)
		return cli_fail(EX_DATAERR,
		    "%s: a user with e-mail '%s' "
		    "already exists",
		    c->path, email);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("created user %ld (%s)\n", id, email);
	return 0;
}

static int
cmd_user_list(struct cli *c, int argc, char **argv)
{
	const char	    *limit_s = "500", *offset_s = "0";
	const struct cli_opt opts[] = { { "limit", true, &limit_s, NULL },
		{ "offset", true, &offset_s, NULL }, { NULL, 0, 0, 0 } };
	struct user_list     l;
	enum pgs_rc	     rc;
	long		     limit, offset;
	int		     ex, i, j;

	ex = cli_parse(c, argc, argv, opts, NULL, 0, NULL);
	if (ex != 0)
		return ex;
	if (!num_parse(limit_s, 1, 100000, &limit) ||
	    !num_parse(offset_s, 0, 2147483647, &offset))
		return cli_fail(EX_USAGE,
		    "%s: --limit is 1..100000 and "
		    "--offset >= 0",
		    c->path);
	ex = cli_connect(c, true);
	if (ex != 0)
		return ex;
	rc = user_list(&c->db, &c->arena, (int)limit, (int)offset, &l);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (c->json) {
		cli_print_json(shape_user_list(&l, limit, offset));
		return 0;
	}
	printf("%-6s %-32s %-6s %s\n", "ID", "EMAIL", "ACTIVE", "ROLES");
	for (i = 0; i < l.n; i++) {
		printf("%-6ld %-32s %-6s ", l.items[i].id, l.items[i].email,
		    l.items[i].is_active ? "yes" : "no");
		for (j = 0; j < l.items[i].nroles; j++)
			printf("%s%s", j ? "," : "", l.items[i].roles[j]);
		putchar('\n');
	}
	return 0;
}

/* Parses "VERB USER" with extra options; connects; looks the user up. */
static int
users_target(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    struct user *u)
{
	const char *who;
	int	    ex;

	ex = cli_target(c, argc, argv, opts, "user (e-mail)", &who);
	if (ex != 0)
		return ex;
	return cmd_user_lookup(c, who, u);
}

static int
cmd_user_show(struct cli *c, int argc, char **argv)
{
	struct user u;
	int	    ex;

	ex = users_target(c, argc, argv, NULL, &u);
	if (ex != 0)
		return ex;
	if (c->json)
		cli_print_json(shape_user(&u));
	else
		cmd_user_print(&u);
	return 0;
}

static int
users_passwd(struct cli *c, int argc, char **argv)
{
	const char	    *pwfile = NULL, *pw = NULL;
	const struct cli_opt opts[] = { { "password", true, &pw, NULL },
		{ "password-file", true, &pwfile, NULL }, { NULL, 0, 0, 0 } };
	char		     phc[AUTH_PHC_MAX];
	struct user	     u;
	enum pgs_rc	     rc;
	int		     ex;

	ex = users_target(c, argc, argv, opts, &u);
	if (ex == 0)
		ex = cmd_user_new_hash(c, pwfile, pw, phc, sizeof(phc));
	if (ex != 0)
		return ex;
	rc = user_set_password(&c->db, &c->arena, u.id, phc);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("password of %s changed; their sessions are revoked\n", u.email);
	return 0;
}

/* Refuses to leave the system without an active admin. */
static int
users_keep_admin(struct cli *c, const struct user *u)
{
	enum pgs_rc rc;
	long	    others;
	int	    i;

	for (i = 0; i < u->nroles; i++)
		if (strcmp(u->roles[i], "admin") == 0)
			break;
	if (i == u->nroles || !u->is_active)
		return 0;
	rc = user_count_admins(&c->db, &c->arena, u->id, &others);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	if (others == 0)
		return cli_fail(EX_DATAERR, "%s: %s is the last active admin",
		    c->path, u->email);
	return 0;
}

static int
users_roles(struct cli *c, int argc, char **argv)
{
	const char	    *set = NULL, *roles[3];
	const struct cli_opt opts[] = { { "set", true, &set, NULL },
		{ NULL, 0, 0, 0 } };
	struct user	     u;
	enum pgs_rc	     rc;
	int		     ex, n, i;

	ex = users_target(c, argc, argv, opts, &u);
	if (ex != 0)
		return ex;
	if (set == NULL) {
		for (i = 0; i < u.nroles; i++)
			printf("%s\n", u.roles[i]);
		return 0;
	}
	ex = cmd_user_roles(c, set, roles, &n);
	for (i = 0; ex == 0 && i < n && strcmp(roles[i], "admin") != 0; i++)
		;
	if (ex == 0 && i == n)
		ex = users_keep_admin(c, &u);
	if (ex != 0)
		return ex;
	rc = user_set_roles(&c->db, &c->arena, u.id, roles, n);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("roles of %s set to %s\n", u.email, set);
	return 0;
}

static int
users_active(struct cli *c, int argc, char **argv, bool active)
{
	struct user u;
	enum pgs_rc rc;
	int	    ex;

	ex = users_target(c, argc, argv, NULL, &u);
	if (ex == 0 && !active)
		ex = users_keep_admin(c, &u);
	if (ex != 0)
		return ex;
	rc = user_set_active(&c->db, &c->arena, u.id, active);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("%s %s\n", u.email,
	    active ? "enabled" : "disabled; their sessions are revoked");
	return 0;
}

static int
users_disable(struct cli *c, int argc, char **argv)
{
	return users_active(c, argc, argv, false);
}

static int
users_enable(struct cli *c, int argc, char **argv)
{
	return users_active(c, argc, argv, true);
}

static int
users_rm(struct cli *c, int argc, char **argv)
{
	struct user u;
	enum pgs_rc rc;
	int	    ex;

	ex = users_target(c, argc, argv, NULL, &u);
	if (ex == 0)
		ex = users_keep_admin(c, &u);
	if (ex != 0)
		return ex;
	rc = user_delete(&c->db, &c->arena, u.id);
	if (rc != PGS_OK)
		return cli_db_fail(c, rc, c->path);
	printf("deleted user %s\n", u.email);
	return 0;
}

static const struct cli_cmd user_cmds[] = {
	{ "add", users_add, "create a user",
	    "  --email EMAIL          login e-mail (required)\n"
	    "  --name NAME            display name\n"
	    "  --roles LIST           comma list of viewer,editor,admin "
	    "(default viewer)\n"
	    "  --password-file FILE   read the password from FILE (- for "
	    "stdin)\n"
	    "  --password PW          the password (shows in the process "
	    "list)\n" },
	{ "list", cmd_user_list, "list users",
	    "  --limit N              at most N users (default 500)\n"
	    "  --offset N             skip N users\n" },
	{ "show", cmd_user_show, "show one user (by e-mail or id)", NULL },
	{ "passwd", users_passwd, "set a user's password (revokes sessions)",
	    "  --password-file FILE   read the password from FILE\n"
	    "  --password PW          the password (shows in the process "
	    "list)\n" },
	{ "roles", users_roles, "show or set a user's roles",
	    "  --set LIST             replace the roles by LIST\n" },
	{ "disable", users_disable, "disable a user (revokes sessions)", NULL },
	{ "enable", users_enable, "enable a disabled user", NULL },
	{ "rm", users_rm, "delete a user", NULL }, { NULL, NULL, NULL, NULL }
};

int
cmd_users(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "users", user_cmds, argc - 1, argv + 1);
}
