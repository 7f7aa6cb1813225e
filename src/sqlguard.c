/*
 * sqlguard.c: the SELECT-only check.  libpg_query parses the statement
 * with PostgreSQL's grammar and hands back the raw parse tree as JSON; the
 * walker below visits every node of it, so a rule holds wherever the
 * construct hides (subqueries, CTEs, set-operation branches, lateral
 * joins, function arguments, casts, VALUES lists).
 *
 * In that JSON a node is {"TypeName": {fields}}: node types start with an
 * upper-case letter, fields with a lower-case one, and some fields hold a
 * node's fields directly (a set operation's larg and rarg, for one).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <pg_query.h>

#include "sqlguard.h"

#define WALK_LEVELS 8	/* query levels a message can describe */
#define WHERE_MAX   256 /* room for "in the ... of a subquery in ..." */

struct walk {
	const char	    *sql;
	size_t		     len;
	struct sqlguard_err *why;
	int		     level;		  /* query nesting, 0 = top */
	const char	    *clause[WALK_LEVELS]; /* clause walked */
	const char	    *cte[WALK_LEVELS];	  /* WITH name, or NULL */
	const char	    *pending_cte;	  /* name for the next level */
};

struct name_map {
	const char *key;
	const char *text;
};

/* Fields of a SelectStmt, as a message names them. */
static const struct name_map clauses[] = {
	{ "targetList", "the select list" },
	{ "fromClause", "the FROM clause" },
	{ "whereClause", "the WHERE clause" },
	{ "groupClause", "the GROUP BY clause" },
	{ "havingClause", "the HAVING clause" },
	{ "windowClause", "the WINDOW clause" },
	{ "distinctClause", "the DISTINCT ON clause" },
	{ "valuesLists", "the VALUES list" },
	{ "sortClause", "the ORDER BY clause" },
	{ "limitCount", "the LIMIT clause" },
	{ "limitOffset", "the OFFSET clause" },
	{ "withClause", "the WITH clause" },
};

/* Statements met instead of a SELECT, named as a user wrote them. */
static const struct name_map stmts[] = {
	{ "InsertStmt", "INSERT" },
	{ "UpdateStmt", "UPDATE" },
	{ "DeleteStmt", "DELETE" },
	{ "MergeStmt", "MERGE" },
	{ "ExplainStmt", "EXPLAIN" },
	{ "CopyStmt", "COPY" },
	{ "DoStmt", "DO" },
	{ "CallStmt", "CALL" },
	{ "VariableSetStmt", "SET or RESET" },
	{ "VariableShowStmt", "SHOW" },
	{ "TransactionStmt", "a transaction command" },
	{ "CreateTableAsStmt", "CREATE TABLE AS" },
	{ "PrepareStmt", "PREPARE" },
	{ "ExecuteStmt", "EXECUTE" },
	{ "DeallocateStmt", "DEALLOCATE" },
	{ "DeclareCursorStmt", "DECLARE CURSOR" },
	{ "FetchStmt", "FETCH" },
	{ "ListenStmt", "LISTEN" },
	{ "UnlistenStmt", "UNLISTEN" },
	{ "NotifyStmt", "NOTIFY" },
	{ "VacuumStmt", "VACUUM or ANALYZE" },
	{ "LockStmt", "LOCK" },
	{ "TruncateStmt", "TRUNCATE" },
	{ "CheckPointStmt", "CHECKPOINT" },
	{ "DiscardStmt", "DISCARD" },
	{ "LoadStmt", "LOAD" },
	{ "CreateStmt", "CREATE TABLE" },
	{ "ViewStmt", "CREATE VIEW" },
	{ "DropStmt", "DROP" },
	{ "AlterTableStmt", "ALTER TABLE" },
	{ "AlterSystemStmt", "ALTER SYSTEM" },
	{ "GrantStmt", "GRANT or REVOKE" },
	{ "CreateFunctionStmt", "CREATE FUNCTION" },
	{ "RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW" },
	{ "RuleStmt", "CREATE RULE" },
	{ "CommentStmt", "COMMENT" },
	{ "SecLabelStmt", "SECURITY LABEL" },
	{ "IndexStmt", "CREATE INDEX" },
	{ "ReindexStmt", "REINDEX" },
	{ "ClusterStmt", "CLUSTER" },
	{ "CreateSeqStmt", "CREATE SEQUENCE" },
	{ "CreateSchemaStmt", "CREATE SCHEMA" },
	{ "CreateTrigStmt", "CREATE TRIGGER" },
	{ "CreateExtensionStmt", "CREATE EXTENSION" },
	{ "CreateRoleStmt", "CREATE ROLE" },
	{ "AlterRoleStmt", "ALTER ROLE" },
	{ "DropRoleStmt", "DROP ROLE" },
	{ "GrantRoleStmt", "GRANT or REVOKE of a role" },
	{ "CreatedbStmt", "CREATE DATABASE" },
	{ "DropdbStmt", "DROP DATABASE" },
	{ "RenameStmt", "ALTER ... RENAME" },
	{ "ClosePortalStmt", "CLOSE" },
	{ "ConstraintsSetStmt", "SET CONSTRAINTS" },
};

static const struct name_map locks[] = {
	{ "LCS_FORKEYSHARE", "FOR KEY SHARE" },
	{ "LCS_FORSHARE", "FOR SHARE" },
	{ "LCS_FORNOKEYUPDATE", "FOR NO KEY UPDATE" },
	{ "LCS_FORUPDATE", "FOR UPDATE" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static enum pgs_rc walk(struct walk *, const cJSON *);
static enum pgs_rc walk_field(struct walk *, const cJSON *);

static const char *
map_find(const struct name_map *map, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(map[i].key, key) == 0)
			return map[i].text;
	return NULL;
}

/* Returns the length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* Returns the offset of the first invalid UTF-8 byte, or len. */
static size_t
utf8_bad(const char *s, size_t len)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = utf8_seq((const unsigned char *)s + off, len - off);
		if (n == 0)
			break;
	}
	return off;
}

/* Ends s before its first invalid byte, such as a character cut short. */
static void
utf8_cut(char *s)
{
	s[utf8_bad(s, strlen(s))] = '\0';
}

/* Fills why (code, position, message); returns PGS_INVALID. */
static enum pgs_rc PGS_PRINTF(4, 5) fail(struct sqlguard_err *why,
    const char *code, int position, const char *fmt, ...)
{
	va_list ap;
	char   *p;

	why->code = code;
	why->position = position;
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof(why->message), fmt, ap);
	va_end(ap);
	utf8_cut(why->message);
	/* Quoted names and tokens may hold newlines: keep one line for logs. */
	for (p = why->message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return PGS_INVALID;
}

/* Returns the 1-based character position of byte offset loc, 0 if none. */
static int
char_pos(const char *sql, size_t len, int loc)
{
	int pos, i;

	if (loc < 0 || (size_t)loc > len)
		return 0;
	pos = 1;
	for (i = 0; i < loc; i++)
		if (((unsigned char)sql[i] & 0xc0) != 0x80)
			pos++;
	return pos;
}

static int
node_location(const cJSON *n)
{
	const cJSON *loc;

	loc = cJSON_GetObjectItemCaseSensitive(n, "location");
	if (!cJSON_IsNumber(loc))
		return -1;
	return loc->valueint;
}

static void
where_add(char *dst, size_t *off, const char *prep, const char *what)
{
	int n;

	if (*off >= WHERE_MAX)
		return;
	n = snprintf(dst + *off, WHERE_MAX - *off, "%s%s", prep, what);
	if (n > 0)
		*off += (size_t)n;
}

/*
 * Writes where the walk stands, innermost first: "in the select list of a
 * subquery in the WHERE clause", "in WITH query \"a\"", or "".
 */
static void
where_str(const struct walk *w, char *dst)
{
	char   name[96];
	size_t off = 0;
	bool   prev_clause = false;
	int    i;

	dst[0] = '\0';
	if (w->level >= WALK_LEVELS) {
		snprintf(dst, WHERE_MAX, "in a subquery nested %d levels deep",
		    w->level);
		return;
	}
	for (i = w->level; i >= 0; i--) {
		/* A CTE body says "of WITH query": "in the WITH clause" adds
		 * nothing. */
		if (w->clause[i] != NULL &&
		    !(i < w->level && w->cte[i + 1] != NULL)) {
			where_add(dst, &off, off == 0 ? "in " : " in ",
			    w->clause[i]);
			prev_clause = true;
		}
		if (i == 0)
			break;
		if (w->cte[i] != NULL)
			snprintf(name, sizeof(name), "WITH query \"%s\"",
			    w->cte[i]);
		else
			snprintf(name, sizeof(name), "a subquery");
		where_add(dst, &off,
		    off == 0	    ? "in " :
			prev_clause ? " of " :
				      " in ",
		    name);
		prev_clause = false;
	}
}

/* Fails with the walk's position appended: " (in ..., position N)". */
static enum pgs_rc
fail_at(struct walk *w, const char *code, int loc, const char *what)
{
	char where[WHERE_MAX];
	int  pos;

	where_str(w, where);
	utf8_cut(where);
	pos = char_pos(w->sql, w->len, loc);
	if (where[0] != '\0' && pos > 0)
		return fail(w->why, code, pos, "%s (%s, position %d)", what,
		    where, pos);
	if (where[0] != '\0')
		return fail(w->why, code, pos, "%s (%s)", what, where);
	if (pos > 0)
		return fail(w->why, code, pos, "%s (position %d)", what, pos);
	return fail(w->why, code, pos, "%s", what);
}

static const char *
string_node(const cJSON *n)
{
	const char *s;

	s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n,
						 "String"),
		"sval"));
	return s != NULL ? s : "";
}

/* Checks one FuncCall against the deny-list. */
static enum pgs_rc
check_call(struct walk *w, const cJSON *call)
{
	const struct sqlguard_deny *deny;
	const cJSON		   *names, *part, *args;
	char			    shown[200], what[SQLGUARD_MSG_MAX];
	size_t			    off = 0;
	int			    n;

	names = cJSON_GetObjectItemCaseSensitive(call, "funcname");
	args = cJSON_GetObjectItemCaseSensitive(call, "args");
	part = cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1);
	deny = sqlguard_deny_find(string_node(part), cJSON_GetArraySize(args));
	if (deny == NULL)
		return PGS_OK;
	shown[0] = '\0';
	cJSON_ArrayForEach(part, names)
	{
		n = snprintf(shown + off, sizeof(shown) - off, "%s%s",
		    off == 0 ? "" : ".", string_node(part));
		if (n < 0 || (size_t)n >= sizeof(shown) - off)
			break;
		off += (size_t)n;
	}
	utf8_cut(shown);
	snprintf(what, sizeof(what), "function %s() is not allowed", shown);
	(void)fail_at(w, "denied_function", node_location(call), what);
	/* The reason goes last, after the place. */
	off = strlen(w->why->message);
	snprintf(w->why->message + off, sizeof(w->why->message) - off,
	    ": it %s", deny->reason);
	utf8_cut(w->why->message);
	return PGS_INVALID;
}

/* A $n placeholder: a saved query is sent without parameters, so the
 * statement could never run. */
static enum pgs_rc
deny_param(struct walk *w, const cJSON *ref)
{
	const cJSON *num;
	char	     what[128];

	num = cJSON_GetObjectItemCaseSensitive(ref, "number");
	snprintf(what, sizeof(what),
	    "parameter $%d is not allowed: a query "
	    "is run without parameter values",
	    cJSON_IsNumber(num) ? num->valueint : 0);
	return fail_at(w, "parameter", node_location(ref), what);
}

static bool
is_dml(const char *key)
{
	return strcmp(key, "InsertStmt") == 0 ||
	    strcmp(key, "UpdateStmt") == 0 || strcmp(key, "DeleteStmt") == 0 ||
	    strcmp(key, "MergeStmt") == 0;
}

/* Returns how a statement node is named in a message. */
static const char *
stmt_name(const char *key)
{
	const char *text;

	text = map_find(stmts, NELEM(stmts), key);
	return text != NULL ? text : key;
}

/* A statement inside the SELECT: only DML can get there in practice. */
static enum pgs_rc
deny_stmt(struct walk *w, const char *key)
{
	char what[128];

	if (is_dml(key)) {
		snprintf(what, sizeof(what), "%s is not allowed inside a query",
		    stmt_name(key));
		return fail_at(w, "data_modifying_cte", -1, what);
	}
	snprintf(what, sizeof(what), "only SELECT is allowed, found %s",
	    stmt_name(key));
	return fail_at(w, "not_select", -1, what);
}

static enum pgs_rc
deny_locking(struct walk *w, const cJSON *list)
{
	const cJSON *lc;
	const char  *text;
	char	     what[64];

	if (cJSON_GetArraySize(list) == 0)
		return PGS_OK;
	lc = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0),
	    "LockingClause");
	text = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(lc, "strength"));
	text = text != NULL ? map_find(locks, NELEM(locks), text) : NULL;
	snprintf(what, sizeof(what), "%s is not allowed",
	    text != NULL ? text : "a locking clause");
	return fail_at(w, "locking_clause", -1, what);
}

static enum pgs_rc
deny_into(struct walk *w, const cJSON *into)
{
	const cJSON *rel;

	rel = cJSON_GetObjectItemCaseSensitive(into, "rel");
	return fail_at(w, "select_into", node_location(rel),
	    "SELECT INTO is not allowed");
}

/* Walks one query (SelectStmt fields) one level deeper. */
static enum pgs_rc
walk_query(struct walk *w, const cJSON *body)
{
	enum pgs_rc rc;

	w->level++;
	if (w->level < WALK_LEVELS) {
		w->clause[w->level] = NULL;
		w->cte[w->level] = w->pending_cte;
	}
	w->pending_cte = NULL;
	rc = walk(w, body);
	w->level--;
	return rc;
}

/* Walks a WITH query, naming it for messages about its body. */
static enum pgs_rc
walk_cte(struct walk *w, const cJSON *cte)
{
	const cJSON *query, *c;
	const char  *name;
	char	     what[160];
	enum pgs_rc  rc;

	name = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(cte, "ctename"));
	if (name == NULL)
		name = "";
	query = cJSON_GetObjectItemCaseSensitive(cte, "ctequery");
	if (query != NULL && query->child != NULL &&
	    query->child->string != NULL && is_dml(query->child->string)) {
		snprintf(what, sizeof(what),
		    "%s is not allowed in WITH query "
		    "\"%s\"",
		    stmt_name(query->child->string), name);
		/* "in the WITH clause" would only repeat the message. */
		if (w->level >= 0 && w->level < WALK_LEVELS)
			w->clause[w->level] = NULL;
		return fail_at(w, "data_modifying_cte", node_location(cte),
		    what);
	}
	cJSON_ArrayForEach(c, cte)
	{
		if (c == query)
			w->pending_cte = name;
		rc = walk_field(w, c);
		w->pending_cte = NULL;
		if (rc != PGS_OK)
			return rc;
	}
	return PGS_OK;
}

/* Walks v under a clause label, restoring the outer label afterwards. */
static enum pgs_rc
walk_clause(struct walk *w, const char *label, const cJSON *v)
{
	const char *saved;
	enum pgs_rc rc;

	if (w->level < 0 || w->level >= WALK_LEVELS)
		return walk(w, v);
	saved = w->clause[w->level];
	w->clause[w->level] = label;
	rc = walk(w, v);
	w->clause[w->level] = saved;
	return rc;
}

static bool
is_stmt(const char *key)
{
	size_t len;

	len = strlen(key);
	return key[0] >= 'A' && key[0] <= 'Z' && len > 4 &&
	    strcmp(key + len - 4, "Stmt") == 0;
}

static enum pgs_rc
walk_field(struct walk *w, const cJSON *v)
{
	const char *key = v->string;
	const char *label;
	enum pgs_rc rc;

	if (strcmp(key, "SelectStmt") == 0)
		return walk_query(w, v);
	if (strcmp(key, "CommonTableExpr") == 0)
		return walk_cte(w, v);
	if (strcmp(key, "intoClause") == 0)
		return deny_into(w, v);
	if (strcmp(key, "lockingClause") == 0) {
		rc = deny_locking(w, v);
		if (rc != PGS_OK)
			return rc;
	}
	if (is_stmt(key))
		return deny_stmt(w, key);
	if (strcmp(key, "ParamRef") == 0)
		return deny_param(w, v);
	if (strcmp(key, "FuncCall") == 0) {
		rc = check_call(w, v);
		if (rc != PGS_OK)
			return rc;
	}
	label = map_find(clauses, NELEM(clauses), key);
	if (label != NULL)
		return walk_clause(w, label, v);
	return walk(w, v);
}

/* Visits every member of an object or array. */
static enum pgs_rc
walk(struct walk *w, const cJSON *n)
{
	const cJSON *c;
	enum pgs_rc  rc;

	cJSON_ArrayForEach(c, n)
	{
		if (c->string != NULL)
			rc = walk_field(w, c);
		else
			rc = walk(w, c);
		if (rc != PGS_OK)
			return rc;
	}
	return PGS_OK;
}

/* Returns the character position where statement i of list starts. */
static int
stmt_start(const char *sql, size_t len, const cJSON *list, int i)
{
	const cJSON *loc;
	size_t	     off = 0;

	loc = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, i),
	    "stmt_location");
	if (cJSON_IsNumber(loc) && loc->valueint > 0)
		off = (size_t)loc->valueint;
	/* The location follows the previous ';': skip to the first word. */
	while (off < len && strchr(" \t\r\n\f\v", sql[off]) != NULL)
		off++;
	return char_pos(sql, len, (int)off);
}

/* Checks the statement list of a parse tree. */
static enum pgs_rc
check_tree(const char *sql, size_t len, const cJSON *root,
    struct sqlguard_err *why)
{
	struct walk  w;
	const cJSON *list, *stmt;
	int	     n;

	list = cJSON_GetObjectItemCaseSensitive(root, "stmts");
	n = cJSON_GetArraySize(list);
	if (n == 0)
		return fail(why, "empty", 0, "the statement is empty");
	if (n > 1)
		return fail(why, "multiple_statements",
		    stmt_start(sql, len, list, 1),
		    "only one statement is allowed, found %d", n);
	stmt = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0),
	    "stmt");
	if (stmt == NULL || stmt->child == NULL || stmt->child->string == NULL)
		return fail(why, "internal", 0,
		    "the parse tree is not readable");
	if (strcmp(stmt->child->string, "SelectStmt") != 0)
		return fail(why, "not_select", stmt_start(sql, len, list, 0),
		    "only SELECT is allowed, found %s",
		    stmt_name(stmt->child->string));
	memset(&w, 0, sizeof(w));
	w.sql = sql;
	w.len = len;
	w.why = why;
	w.level = -1;
	return walk(&w, stmt);
}

/* Checks what can be checked before parsing. */
static enum pgs_rc
check_input(const char *sql, struct sqlguard_err *why, size_t *len)
{
	size_t bad;

	if (sql == NULL)
		return fail(why, "empty", 0, "the statement is empty");
	*len = strnlen(sql, (size_t)SQLGUARD_MAX_LEN + 1);
	if (*len > SQLGUARD_MAX_LEN)
		return fail(why, "too_long", 0,
		    "the statement is longer than "
		    "%d bytes (1 MiB)",
		    SQLGUARD_MAX_LEN);
	bad = utf8_bad(sql, *len);
	if (bad < *len)
		return fail(why, "bad_encoding", char_pos(sql, *len, (int)bad),
		    "the statement is not valid UTF-8 (byte %zu)", bad + 1);
	return PGS_OK;
}

/* Turns libpg_query's answer into a cJSON tree owned by the caller. */
static enum pgs_rc
read_result(const PgQueryParseResult *res, struct sqlguard_err *why,
    cJSON **root)
{
	const PgQueryError *e = res->error;

	if (e != NULL && e->message != NULL &&
	    strncmp(e->message, "stack depth limit exceeded", 26) == 0)
		return fail(why, "too_complex", 0,
		    "the statement is nested "
		    "too deeply to be checked");
	if (e != NULL && e->cursorpos > 0)
		return fail(why, "syntax_error", e->cursorpos,
		    "%s (position %d)", e->message, e->cursorpos);
	if (e != NULL)
		return fail(why, "syntax_error", 0, "%s",
		    e->message != NULL ? e->message : "syntax error");
	if (res->parse_tree == NULL)
		return fail(why, "internal", 0, "the parser gave no answer");
	*root = cJSON_ParseWithLength(res->parse_tree, strlen(res->parse_tree));
	if (*root == NULL) /* cJSON's nesting limit, in practice */
		return fail(why, "too_complex", 0,
		    "the statement is nested "
		    "too deeply to be checked");
	return PGS_OK;
}

enum pgs_rc
sqlguard_check(const char *sql, struct sqlguard_err *why)
{
	struct sqlguard_err scratch;
	PgQueryParseResult  res;
	cJSON		   *root = NULL;
	size_t		    len = 0;
	enum pgs_rc	    rc;

	if (why == NULL)
		why = &scratch;
	why->code = "";
	why->position = 0;
	why->message[0] = '\0';
	rc = check_input(sql, why, &len);
	if (rc != PGS_OK)
		return rc;
	res = pg_query_parse(sql);
	rc = read_result(&res, why, &root);
	if (rc != PGS_OK)
		goto out;
	rc = check_tree(sql, len, root, why);
out:
	cJSON_Delete(root);
	pg_query_free_parse_result(res);
	if (rc != PGS_OK && strcmp(why->code, "internal") == 0)
		rc = PGS_INTERNAL;
	return rc;
}
