/*
 * notify_tool.c: test driver of the notification engine (no database),
 * for tests/py/test_notify.py.  Settings come from the environment
 * (conf_load: NOTIFY_*, SMTP_*), as in the programs.
 *
 *   notify_tool secret        prints a new secret and a new webhook id
 *   notify_tool check URL     the creation-time SSRF check: prints
 *                             "ok" or "<rc> <message>"; exit 0 or 1
 *   notify_tool deliver       reads a batch (JSON) on stdin, runs
 *                             deliver_batch, prints the outcomes (JSON)
 *   notify_tool seal          seals stdin (one trailing newline dropped)
 *                             with PUBLIC_KEY_B64_PATH (cred_seal, as a
 *                             channel's target and secret are stored);
 *                             prints it as a bytea literal \x<hex>
 *
 * The batch: {"budget_ms": N, "repeat": N, "items": [{"kind": "webhook"
 * | "slack" | "email", "url", "id", "body", "secrets": [...],
 * "timeout_ms", "subject", "rcpt": [...]}]}; "repeat" sends N copies of
 * the first item with ids <id>_<i>.  The answer: {"rc", "elapsed_ms",
 * "rss_before_kb", "rss_after_kb", "items": [{"outcome", "status",
 * "retry_after_s", "timestamp", "ms", "error"}]}.  Exit 0 unless the
 * input or the settings are bad (64, 78).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "arena.h"
#include "buf.h"
#include "conf.h"
#include "cred.h"
#include "deliver.h"
#include "mono.h"
#include "ssrf.h"
#include "webhook.h"

#define INPUT_MAX (4 * 1024 * 1024)

/*
 * Returns the peak resident set size of this program in KiB: VmHWM of
 * /proc/self/status (getrusage's ru_maxrss would include the peak of the
 * process before execve, here the Python test), or -1.
 */
static long
maxrss_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char  line[256];
	long  kb = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

static int
cmd_secret(void)
{
	char s[WEBHOOK_SECRET_SIZE], id[WEBHOOK_ID_SIZE];

	webhook_secret_new(s);
	webhook_id_new(id);
	printf("%s\n%s\n", s, id);
	sodium_memzero(s, sizeof(s));
	return 0;
}

static int
cmd_check(const struct deliver_conf *dc, const char *url)
{
	char	    err[512] = "";
	enum pgs_rc rc;

	rc = ssrf_check_url(url, dc->allow, err, sizeof(err));
	if (rc == PGS_OK) {
		printf("ok\n");
		return 0;
	}
	printf("%s %s\n", rc_name(rc), err);
	return 1;
}

/* Returns the string field name of o, or NULL. */
static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Returns the array of strings name of o as a NULL-ended list (heap). */
static const char **
strs(const cJSON *o, const char *name, size_t *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name), *v;
	const char **out;

	*n = 0;
	out = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*out));
	cJSON_ArrayForEach(v, a) if (cJSON_IsString(v)) out[(*n)++] =
	    v->valuestring;
	return out;
}

/* Fills it from the JSON object o; id overrides o's "id" when set. */
static int
item_from(const cJSON *o, const char *id, struct deliver_item *it)
{
	const char *kind = str(o, "kind"), **secrets;
	size_t	    i, n;
	int	    bad = 0;

	memset(it, 0, sizeof(*it));
	it->kind = kind != NULL && strcmp(kind, "slack") == 0 ? DELIVER_SLACK :
	    kind != NULL && strcmp(kind, "email") == 0	      ? DELIVER_EMAIL :
								DELIVER_WEBHOOK;
	it->url = str(o, "url");
	it->id = id != NULL ? id : str(o, "id");
	it->body = str(o, "body");
	it->body_len = it->body != NULL ? strlen(it->body) : 0;
	it->subject = str(o, "subject");
	it->rcpt = strs(o, "rcpt", &it->nrcpt);
	it->timeout_ms = cJSON_GetObjectItemCaseSensitive(o, "timeout_ms") ?
	    cJSON_GetObjectItemCaseSensitive(o, "timeout_ms")->valueint :
	    0;
	secrets = strs(o, "secrets", &n);
	for (i = 0; i < n; i++)
		if (webhook_keys_add(&it->keys, secrets[i]) != PGS_OK)
			bad = 1;
	free(secrets);
	return bad;
}

/* Reads the whole standard input (at most INPUT_MAX bytes). */
static char *
read_input(void)
{
	struct buf b = BUF_INIT;
	char	   chunk[65536];
	size_t	   n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0 &&
	    b.len < INPUT_MAX)
		buf_append(&b, chunk, n);
	if (b.len == 0)
		buf_puts(&b, "");
	return buf_steal(&b);
}

/* Prints the outcomes of the n items as the answer object. */
static void
print_answer(const struct deliver_item *items, size_t n, enum pgs_rc rc,
    long elapsed, long before, long after)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o;
	char  *text;
	size_t i;

	cJSON_AddStringToObject(root, "rc", rc_name(rc));
	cJSON_AddNumberToObject(root, "elapsed_ms", (double)elapsed);
	cJSON_AddNumberToObject(root, "rss_before_kb", (double)before);
	cJSON_AddNumberToObject(root, "rss_after_kb", (double)after);
	arr = cJSON_AddArrayToObject(root, "items");
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "outcome",
		    deliver_outcome_name(items[i].outcome));
		cJSON_AddNumberToObject(o, "status", items[i].status);
		cJSON_AddNumberToObject(o, "retry_after_s",
		    (double)items[i].retry_after_s);
		cJSON_AddNumberToObject(o, "timestamp",
		    (double)items[i].timestamp);
		cJSON_AddNumberToObject(o, "ms", items[i].ms);
		cJSON_AddStringToObject(o, "error", items[i].error);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_PrintUnformatted(root);
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(root);
}

/* Builds the items of the batch doc; returns their count or -1. */
static long
batch_items(const cJSON *doc, struct deliver_item **out, char ***ids)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(doc, "repeat");
	const cJSON *o;
	size_t	     n, i;
	int	     bad = 0;

	n = cJSON_IsNumber(rep) ? (size_t)rep->valueint :
				  (size_t)cJSON_GetArraySize(arr);
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 || n == 0)
		return -1;
	*out = xcalloc(n, sizeof(**out));
	*ids = xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		o = cJSON_IsNumber(rep) ? cJSON_GetArrayItem(arr, 0) :
					  cJSON_GetArrayItem(arr, (int)i);
		if (cJSON_IsNumber(rep)) {
			(*ids)[i] = xmalloc(WEBHOOK_ID_MAX);
			snprintf((*ids)[i], WEBHOOK_ID_MAX, "%s_%zu",
			    str(o, "id") != NULL ? str(o, "id") : "msg", i);
		}
		bad |= item_from(o, (*ids)[i], &(*out)[i]);
	}
	return bad ? -1 : (long)n;
}

static int
cmd_deliver(const struct deliver_conf *dc)
{
	char		    *text = read_input(), **ids = NULL;
	cJSON		    *doc = cJSON_Parse(text);
	const cJSON	    *budget;
	struct deliver_item *items = NULL;
	long		     n, before, t0;
	enum pgs_rc	     rc;
	long		     i;

	free(text);
	budget = cJSON_GetObjectItemCaseSensitive(doc, "budget_ms");
	n = doc != NULL ? batch_items(doc, &items, &ids) : -1;
	if (n < 0 || !cJSON_IsNumber(budget)) {
		fprintf(stderr, "notify_tool: bad batch\n");
		return 64;
	}
	before = maxrss_kb();
	t0 = mono_ms();
	rc = deliver_batch(dc, items, (size_t)n, mono_ms() + budget->valueint);
	print_answer(items, (size_t)n, rc, mono_ms() - t0, before, maxrss_kb());
	for (i = 0; i < n; i++) {
		free((void *)items[i].rcpt);
		free(ids[i]);
	}
	free(ids);
	free(items);
	cJSON_Delete(doc);
	return 0;
}

static int
cmd_seal(const struct conf *c)
{
	static char	 plain[8192];
	struct cred_keys k;
	struct arena	 a;
	unsigned char	*box;
	size_t		 n, boxlen, i;
	char		 err[512];

	memset(&k, 0, sizeof(k));
	n = fread(plain, 1, sizeof(plain) - 1, stdin);
	if (n > 0 && plain[n - 1] == '\n')
		n--;
	plain[n] = '\0';
	if (cred_load(c, false, &k, err, sizeof(err)) != PGS_OK) {
		fprintf(stderr, "notify_tool: %s\n", err);
		return 78;
	}
	arena_init(&a);
	if (cred_seal(&k, &a, plain, &box, &boxlen) != PGS_OK) {
		arena_free(&a);
		cred_free(&k);
		return 70;
	}
	printf("\\x");
	for (i = 0; i < boxlen; i++)
		printf("%02x", box[i]);
	printf("\n");
	sodium_memzero(plain, sizeof(plain));
	arena_free(&a);
	cred_free(&k);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf	    c;
	struct deliver_conf dc;
	char		    err[512];
	int		    status = 64;

	if (sodium_init() < 0)
		return 70;
	deliver_global_init();
	if (argc == 2 && strcmp(argv[1], "secret") == 0)
		return cmd_secret();
	if (conf_load(&c, NULL, err, sizeof(err)) != PGS_OK ||
	    deliver_conf_init(&dc, &c, err, sizeof(err)) != PGS_OK) {
		fprintf(stderr, "notify_tool: %s\n", err);
		return 78;
	}
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		status = cmd_check(&dc, argv[2]);
	else if (argc == 2 && strcmp(argv[1], "deliver") == 0)
		status = cmd_deliver(&dc);
	else if (argc == 2 && strcmp(argv[1], "seal") == 0)
		status = cmd_seal(&c);
	else
		fprintf(stderr,
		    "usage: notify_tool secret | check URL | "
		    "deliver < batch.json | seal < text\n");
	deliver_conf_free(&dc);
	conf_free(&c);
	curl_global_cleanup();
	return status;
}
