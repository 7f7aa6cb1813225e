/*
 * fuzz_json.c: libFuzzer target for json_parse() and the typed getters.
 * Besides the sanitizers' own findings, it aborts when an answer breaks
 * json.h's promises: PGS_OK without a tree or PGS_INVALID without a
 * message, a string getter handing back something longer than asked or
 * not UTF-8, an integer out of the asked range, json_unknown_keys naming
 * an allowed key (or none when one is unknown), or a parsed tree whose
 * printed form json_parse then rejects.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_json.c src/json.c src/utf8.c src/arena.c \
 *	-lcjson -o fuzz_json
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Member names the API's handlers ask for, as json_unknown_keys lists. */
static const char *const allowed[] = { "name", "email", "password", "sql",
	"schedule", "enabled", "limit", "tz", "", NULL };

static void
broken(const char *what, const char *detail)
{
	fprintf(stderr, "json promise broken: %s (%s)\n", what,
	    detail != NULL ? detail : "");
	abort();
}

static bool
is_allowed(const char *name)
{
	size_t i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(name, allowed[i]) == 0)
			return true;
	return false;
}

/* Asks every getter for member name of obj and checks the answers. */
static void
check_member(const cJSON *obj, const char *name, size_t maxlen)
{
	const char *s = NULL;
	long	    v, lo = -1000, hi = JSON_INT_MAX;
	bool	    b;

	if (json_str(obj, name, maxlen, &s) == PGS_OK) {
		if (s == NULL || strlen(s) > maxlen)
			broken("json_str: too long or NULL", name);
		if (!utf8_valid(s, strlen(s)))
			broken("json_str: not UTF-8", name);
	}
	if (json_int(obj, name, lo, hi, &v) == PGS_OK && (v < lo || v > hi))
		broken("json_int: out of range", name);
	if (json_int(obj, name, 0, 10, &v) == PGS_OK && (v < 0 || v > 10))
		broken("json_int: out of small range", name);
	(void)json_bool(obj, name, &b);
}

static void
check_object(const cJSON *obj, size_t maxlen)
{
	const cJSON *c;
	const char  *first = NULL;
	bool	     any_unknown = false;
	enum pgs_rc  rc;

	cJSON_ArrayForEach(c, obj)
	{
		check_member(obj, c->string, maxlen);
		if (!is_allowed(c->string))
			any_unknown = true;
	}
	check_member(obj, "name", maxlen);
	check_member(obj, "absent", maxlen);
	rc = json_unknown_keys(obj, allowed, &first);
	if (rc == PGS_OK && any_unknown)
		broken("json_unknown_keys: missed an unknown key", NULL);
	if (rc != PGS_OK && (first == NULL || is_allowed(first)))
		broken("json_unknown_keys: named an allowed key", first);
	if (rc == PGS_OK || rc == PGS_INVALID)
		return;
	broken("json_unknown_keys: bad rc", NULL);
}

/* Visits every object of the tree (depth-first). */
static void
walk(const cJSON *node, size_t maxlen)
{
	const cJSON *c;

	if (cJSON_IsObject(node))
		check_object(node, maxlen);
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(c, node) walk(c, maxlen);
}

/* What cJSON prints of a tree json_parse accepted must parse again. */
static void
check_reprint(const cJSON *root)
{
	char  *text, err[128];
	cJSON *again = NULL;

	text = cJSON_PrintUnformatted(root);
	if (text == NULL)
		broken("cJSON_PrintUnformatted failed", NULL);
	if (json_parse(text, strlen(text), &again, err, sizeof(err)) != PGS_OK)
		broken("reprinted tree rejected", err);
	cJSON_Delete(again);
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON	   *root = NULL;
	char	    err[128];
	enum pgs_rc rc;

	memset(err, 0, sizeof(err));
	rc = json_parse((const char *)data, size, &root, err, sizeof(err));
	if (rc == PGS_OK) {
		if (root == NULL)
			broken("PGS_OK without a tree", NULL);
		walk(root, size % 2 == 0 ? 8 : 1000);
		check_reprint(root);
		cJSON_Delete(root);
		return 0;
	}
	if (rc != PGS_INVALID || err[0] == '\0')
		broken("failure without PGS_INVALID and a message", err);
	if (root != NULL)
		broken("failure left a tree", err);
	return 0;
}
