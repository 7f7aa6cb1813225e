/*
 * token.h: API tokens (CONTRACT section 9), for both doors: their format
 * ("pgs_" and 43 characters of base64url of 32 random bytes), the hash
 * that is all the database holds (lower-case hex SHA-256 of the whole
 * token), the rules of a new token, and the SQL of api_token and
 * api_token_query.
 */
#ifndef PGS_TOKEN_H
#define PGS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth.h"
#include "db.h"
#include "rc.h"

#define TOKEN_PREFIX	  "pgs_"
#define TOKEN_PREFIX_LEN  4
#define TOKEN_LEN	  (TOKEN_PREFIX_LEN + AUTH_TOKEN_LEN)
#define TOKEN_HASH_LEN	  AUTH_TOKEN_HASH_LEN
#define TOKEN_NAME_MAX	  100
#define TOKEN_QUERIES_MAX 100 /* queries one token may name */
#define TOKEN_TOUCH_S	  60  /* last_used_at: one write a minute */

struct token {
	long  id;
	char *name;
	long  created_by; /* 0: made with pgsched-admin */
	char *created_by_email;
	char *created_at;
	char *expires_at;
	char *last_used_at;
	char *revoked_at;
	long *qids; /* sorted */
	int   nqids;
	long  expires_in;    /* seconds left (<= 0: expired) */
	bool  used_recently; /* last_used_at within TOKEN_TOUCH_S */
	bool  active;	     /* neither revoked nor expired */
};

struct token_list {
	struct token *items;
	int	      n;
};

/* Field errors of a new token, at most one per field. */
struct token_errors {
	const char *field[4];
	const char *message[4];
	int	    n;
};

/* Writes a new token and a NUL into out (caller-owned; wipe it after
 * use).  Returns PGS_OK or PGS_INTERNAL. */
enum pgs_rc token_new(char out[TOKEN_LEN + 1]) PGS_MUSTCHECK;
/* Returns true when s has the shape token_new() gives. */
bool token_valid(const char *s);
/* Returns true when s (n bytes) holds a token-shaped run of characters
 * anywhere: what a URL must not carry. */
bool token_in_text(const char *s, size_t n);
/* Writes the hash the database stores of token into out. */
void token_hash(const char *token, char out[TOKEN_HASH_LEN + 1]);
/*
 * Checks a new token: name 1-100 bytes of UTF-8, 1 to TOKEN_QUERIES_MAX
 * query ids (each a positive id, duplicates allowed), expires_in_days
 * 1 to max_days.  Fills e (messages static or from a) and returns true
 * when all is well.
 */
bool token_rules_check(struct arena *a, const char *name, int nqids, long days,
    int max_days, struct token_errors *e);

/*
 * Stores a token of hash for queries qids[0..n), expiring in days days,
 * made by created_by (0: the CLI); *id gets its id.  PGS_INVALID (a
 * field error: an unknown query) when a query does not exist.
 */
enum pgs_rc token_create(struct db *db, struct arena *a, const char *name,
    const long *qids, int n, long days, long created_by, const char *hash,
    long *id) PGS_MUSTCHECK;
/* Fills t (arena-owned) with the token stored under hash, revoked or
 * expired ones too (t->active says).  PGS_NOTFOUND when none. */
enum pgs_rc token_lookup(struct db *db, struct arena *a, const char *hash,
    struct token *t) PGS_MUSTCHECK;
/* The tokens made by created_by (0: all), newest first. */
enum pgs_rc token_list(struct db *db, struct arena *a, long created_by,
    struct token_list *out) PGS_MUSTCHECK;
/* Fills t with token id (PGS_NOTFOUND when none). */
enum pgs_rc token_get(struct db *db, struct arena *a, long id,
    struct token *t) PGS_MUSTCHECK;
/* Revokes token id (by: who, 0 for the CLI); PGS_OK also when it was
 * revoked already, PGS_NOTFOUND when there is no such token. */
enum pgs_rc
token_revoke(struct db *db, struct arena *a, long id, long by) PGS_MUSTCHECK;
/* Records a use of token id now, unless one was recorded less than
 * TOKEN_TOUCH_S ago (also by another process). */
enum pgs_rc token_touch(struct db *db, struct arena *a, long id) PGS_MUSTCHECK;

#endif
