/*
 * notify_render.c: the Slack and e-mail forms of a notification, made
 * from its stored webhook payload (see notify.h).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "notify.h"
#include "utf8.h"

/* What each event says, as a subject's start. */
static const struct {
	const char *event;
	const char *says;
} notify_says[] = {
	{ "run.failed", "Run failed" },
	{ "run.succeeded", "Run succeeded" },
	{ "job.paused", "Job paused" },
	{ "job.stale", "Job stale" },
	{ "alert.firing", "Alert firing" },
	{ "alert.resolved", "Alert resolved" },
	{ "result.changed", "Result changed" },
	{ "ping", "Test notification" },
};

/* Returns the string at path a.b (NULL when absent or not a string). */
static const char *
notify_str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Returns the number at path a.b as a long, or -1. */
static long
notify_num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

/* Appends the lines about the run, the alert and the job of data. */
static void
notify_lines(struct buf *b, const cJSON *data)
{
	const cJSON *alert = cJSON_GetObjectItemCaseSensitive(data, "alert");
	const char  *s;
	char	    *v;

	if (notify_num(data, "run", "id") >= 0) {
		buf_printf(b, "Run %ld: %s", notify_num(data, "run", "id"),
		    (s = notify_str(data, "run", "status")) ? s : "?");
		if ((s = notify_str(data, "run", "scheduled_at")) != NULL)
			buf_printf(b, ", scheduled %s", s);
		if (notify_num(data, "run", "duration_ms") >= 0)
			buf_printf(b, ", %ld ms",
			    notify_num(data, "run", "duration_ms"));
		if (notify_num(data, "run", "rows_returned") >= 0)
			buf_printf(b, ", %ld rows",
			    notify_num(data, "run", "rows_returned"));
		buf_puts(b, "\n");
	}
	if ((s = notify_str(data, "run", "error_message")) != NULL)
		buf_printf(b, "Error: %s\n", s);
	if (cJSON_IsObject(alert)) {
		const char *kind = notify_str(alert, "kind", NULL),
			   *col = notify_str(alert, "column", NULL),
			   *op = notify_str(alert, "op", NULL),
			   *state = notify_str(alert, "state", NULL);

		v = cJSON_PrintUnformatted(
		    cJSON_GetObjectItemCaseSensitive(alert, "value"));
		buf_printf(b, "Alert: %s%s%s %s %s is %s\n", kind ? kind : "?",
		    col ? " " : "", col ? col : "", op ? op : "?",
		    v != NULL ? v : "?", state ? state : "?");
		cJSON_free(v);
	}
	if ((s = notify_str(data, "job", "pause_reason")) != NULL)
		buf_printf(b, "Job: %s\n", s);
	if ((s = notify_str(data, "job", "stale_since")) != NULL)
		buf_printf(b,
		    "Stale since %s (no successful run within %ld s)\n", s,
		    notify_num(data, "job", "max_staleness_s"));
	if ((s = notify_str(data, "links", "run")) != NULL)
		buf_printf(b, "Run: %s\n", s);
	if ((s = notify_str(data, "links", "latest")) != NULL)
		buf_printf(b, "Latest: %s\n", s);
}

/*
 * Parses payload and writes the subject ("<what>: <query name>") into
 * subj and the summary text into text (both the caller's).  Returns
 * PGS_INVALID when payload is not an event.
 */
static enum pgs_rc
notify_render(const char *payload, size_t len, struct buf *subj,
    struct buf *text)
{
	const char *type, *name, *title, *says = NULL;
	cJSON	   *root, *data;
	char	    err[64];
	size_t	    i;

	if (json_parse(payload, len, &root, err, sizeof(err)) != PGS_OK)
		return PGS_INVALID;
	type = notify_str(root, "type", NULL);
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	for (i = 0;
	     type != NULL && i < sizeof(notify_says) / sizeof(notify_says[0]);
	     i++)
		if (strcmp(type, notify_says[i].event) == 0)
			says = notify_says[i].says;
	if (says == NULL || !cJSON_IsObject(data)) {
		cJSON_Delete(root);
		return PGS_INVALID;
	}
	name = notify_str(data, "query", "name");
	title = notify_str(data, "query", "title");
	buf_printf(subj, "%s: %s", says, name != NULL ? name : "pg-sched");
	buf_printf(text, "%s\n", subj->data);
	if (name != NULL)
		buf_printf(text, "Query: %s (id %ld)%s%s\n", name,
		    notify_num(data, "query", "id"), title ? ", " : "",
		    title ? title : "");
	notify_lines(text, data);
	cJSON_Delete(root);
	return PGS_OK;
}

enum pgs_rc
notify_render_slack(const char *payload, size_t len, struct buf *out)
{
	struct buf  subj = BUF_INIT, text = BUF_INIT;
	enum pgs_rc rc;

	rc = notify_render(payload, len, &subj, &text);
	if (rc == PGS_OK) {
		buf_puts(out, "{\"text\":");
		buf_json_str(out, text.data, text.len);
		buf_puts(out, "}");
	}
	buf_free(&subj);
	buf_free(&text);
	return rc;
}

enum pgs_rc
notify_render_mail(struct arena *a, const char *payload, size_t len,
    const char **subject, const char **text)
{
	struct buf  subj = BUF_INIT, body = BUF_INIT;
	enum pgs_rc rc;
	size_t	    i;

	rc = notify_render(payload, len, &subj, &body);
	if (rc == PGS_OK) {
		/* One line, cut on a character boundary. */
		for (i = 0; i < subj.len; i++)
			if (subj.data[i] == '\r' || subj.data[i] == '\n')
				subj.data[i] = ' ';
		*subject = arena_printf(a, "[pg-sched] %.*s",
		    (int)utf8_cut(subj.data, subj.len < 180 ? subj.len : 180),
		    subj.data);
		*text = arena_strdup(a, body.data);
	}
	buf_free(&subj);
	buf_free(&body);
	return rc;
}
