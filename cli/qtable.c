/*
 * qtable.c: printing queries and dry-run rows (see qtable.h).
 *
 * The dry-run table is drawn from the same "columns"/"rows" JSON the API
 * answers with (rs_finish_rows), so both show the same values: numbers
 * as PostgreSQL wrote them, strings decoded, NULL as an empty cell.
 */
#include <stdio.h>
#include <string.h>

#include "qtable.h"
#include "shape.h"

#define QTABLE_CELL_MAX 60 /* characters shown per cell */

void
qtable_print_queries(const struct query_list *l)
{
	const struct query *q;
	int		    i;

	printf("%-6s %-24s %-3s %-8s %-16s %-16s %-16s %-27s %s\n", "ID",
	    "NAME", "ON", "TYPE", "EXPR", "TIMEZONE", "DATA_SOURCE",
	    "NEXT_RUN_AT", "LAST");
	for (i = 0; i < l->n; i++) {
		q = &l->items[i];
		printf("%-6ld %-24s %-3s %-8s %-16s %-16s %-16s %-27s %s\n",
		    q->id, q->name, q->enabled ? "yes" : "no", q->schedule_type,
		    q->schedule_expr && *q->schedule_expr ? q->schedule_expr :
							    "-",
		    q->timezone, q->data_source_name,
		    q->next_run_at ? q->next_run_at : "-",
		    q->last_run_status ? q->last_run_status : "-");
	}
}

/* Prints "label: value" when value is set. */
static void
qtable_line(const char *label, const char *value)
{
	if (value != NULL)
		printf("%-22s %s\n", label, value);
}

/* Prints "label: v" unless v equals none. */
static void
qtable_num(const char *label, long v, long none)
{
	if (v != none)
		printf("%-22s %ld\n", label, v);
}

void
qtable_print_query(const struct query *q)
{
	printf("%-22s %ld\n", "id:", q->id);
	qtable_line("name:", q->name);
	qtable_line("title:", q->title);
	qtable_line("description:", q->description);
	printf("%-22s %s (id %ld)\n", "data_source:", q->data_source_name,
	    q->data_source_id);
	printf("%-22s %s %s (%s)\n", "schedule:", q->schedule_type,
	    q->schedule_expr && *q->schedule_expr ? q->schedule_expr :
						    "(default interval)",
	    q->timezone);
	qtable_line("start_at:", q->start_at);
	printf("%-22s %s\n", "enabled:", q->enabled ? "yes" : "no");
	qtable_line("paused_at:", q->paused_at);
	qtable_line("pause_reason:", q->pause_reason);
	qtable_line("next_run_at:", q->next_run_at ? q->next_run_at : "-");
	qtable_num("timeout_ms:", q->timeout_ms, 0);
	qtable_num("max_rows:", q->max_rows, 0);
	printf("%-22s %d (delay %d s)\n", "max_retries:", q->max_retries,
	    q->retry_delay_s);
	qtable_num("pause_after_failures:", q->pause_after_failures, 0);
	qtable_num("keep_runs:", q->keep_runs, 0);
	qtable_num("keep_days:", q->keep_days, 0);
	qtable_num("max_staleness_s:", q->max_staleness_s, 0);
	printf("%-22s %s\n", "stale:", q->stale ? "yes" : "no");
	qtable_line("alert_state:", q->alert_state ? q->alert_state : "-");
	printf("%-22s %ld total, %ld success, %ld error, %ld skipped, %ld "
	       "failures in a row\n",
	    "runs:", q->total_runs, q->successful_runs, q->failed_runs,
	    q->skipped_runs, q->consecutive_failures);
	if (q->last_run_at != NULL)
		printf("%-22s %s at %s (%ld ms)\n",
		    "last_run:", q->last_run_status ? q->last_run_status : "-",
		    q->last_run_at, q->last_run_duration_ms);
	qtable_line("created_at:", q->created_at);
	qtable_line("updated_at:", q->updated_at);
	printf("sql:\n%s\n", q->sql_text);
}

/* Returns the end of the JSON value starting at p (compact JSON). */
static const char *
qtable_skip(const char *p)
{
	int  depth = 0;
	bool str = false;

	for (; *p != '\0'; p++) {
		if (str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				str = false;
			if (!str && depth == 0)
				return p + 1;
			continue;
		}
		if (*p == '"')
			str = true;
		else if (*p == '[' || *p == '{')
			depth++;
		else if (*p == ']' || *p == '}') {
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return p;
}

/* Returns the display text of one JSON value (arena-owned). */
static char *
qtable_cell(struct arena *a, const char *p, size_t n)
{
	cJSON *v;
	char  *s, *t;

	if (n == 4 && strncmp(p, "null", 4) == 0)
		return "";
	if (*p != '"') {
		s = arena_alloc(a, n + 1);
		memcpy(s, p, n);
		s[n] = '\0';
		return s;
	}
	v = cJSON_ParseWithLength(p, n);
	s = arena_strdup(a,
	    v != NULL && cJSON_IsString(v) ? v->valuestring : "?");
	cJSON_Delete(v);
	for (t = s; *t != '\0'; t++)
		if ((unsigned char)*t < 0x20)
			*t = ' ';
	return s;
}

/* Number of UTF-8 characters in s. */
static size_t
qtable_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Cuts s to QTABLE_CELL_MAX characters, ending it with "..." if cut. */
static void
qtable_cut(char *s)
{
	size_t n = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n++ == QTABLE_CELL_MAX - 3 && qtable_width(s + i) > 3) {
			strcpy(s + i, "...");
			return;
		}
	}
}

struct qtable {
	char **cells; /* rows * cols, row 0 = the column names */
	size_t rows, cols, *width;
};

/* Splits the values of one JSON array at *pp into t's row r. */
static const char *
qtable_row(struct arena *a, struct qtable *t, size_t r, const char *p)
{
	const char *e;
	size_t	    i;

	p++; /* '[' */
	for (i = 0; *p != ']' && *p != '\0'; i++) {
		e = qtable_skip(p);
		if (i < t->cols)
			t->cells[r * t->cols + i] =
			    qtable_cell(a, p, (size_t)(e - p));
		p = *e == ',' ? e + 1 : e;
	}
	return *p == ']' ? p + 1 : p;
}

/* Fills t from `"columns":[...],"rows":[[...],...]`. */
static void
qtable_parse(struct arena *a, const char *json, size_t nrows, struct qtable *t)
{
	const char *p, *q;
	size_t	    i, r;

	t->cols = 0;
	p = strstr(json, "\"columns\":[");
	if (p == NULL)
		return;
	p += 10; /* at '[' */
	for (q = p + 1; *q != ']' && *q != '\0'; t->cols++) {
		q = qtable_skip(q);
		if (*q == ',')
			q++;
	}
	t->rows = nrows + 1;
	t->cells = arena_alloc(a, sizeof(char *) * t->rows * (t->cols + 1));
	for (i = 0; i < t->rows * t->cols; i++)
		t->cells[i] = "";
	qtable_row(a, t, 0, p);
	p = strstr(json, "\"rows\":[");
	for (r = 1, p = p ? p + 8 : ""; r < t->rows && *p == '['; r++) {
		p = qtable_row(a, t, r, p);
		if (*p == ',')
			p++;
	}
}

static void
qtable_draw(struct arena *a, struct qtable *t)
{
	size_t r, i, w;
	char  *s;

	t->width = arena_alloc(a, sizeof(size_t) * (t->cols + 1));
	for (i = 0; i < t->cols; i++)
		t->width[i] = 0;
	for (r = 0; r < t->rows; r++)
		for (i = 0; i < t->cols; i++) {
			qtable_cut(t->cells[r * t->cols + i]);
			w = qtable_width(t->cells[r * t->cols + i]);
			if (w > t->width[i])
				t->width[i] = w;
		}
	for (r = 0; r < t->rows; r++) {
		for (i = 0; i < t->cols; i++) {
			s = t->cells[r * t->cols + i];
			printf("%s%s%*s", i ? " | " : "", s,
			    (int)(t->width[i] - qtable_width(s)), "");
		}
		putchar('\n');
		for (i = 0; r == 0 && i < t->cols; i++) {
			printf("%s", i ? "-+-" : "");
			for (w = 0; w < t->width[i]; w++)
				putchar('-');
			if (i + 1 == t->cols)
				putchar('\n');
		}
	}
}

int
qtable_print_result(struct cli *c, struct result *rs, long ms)
{
	struct buf    b = BUF_INIT;
	struct qtable t;
	size_t	      n = rs_row_count(rs);

	if (c->json) {
		shape_dryrun(&b, rs, ms);
		puts(b.data);
		buf_free(&b);
		return 0;
	}
	rs_finish_rows(rs, &b);
	memset(&t, 0, sizeof(t));
	qtable_parse(&c->arena, b.data, n, &t);
	buf_free(&b);
	qtable_draw(&c->arena, &t);
	printf("(%zu row%s%s, %ld ms)\n", n, n == 1 ? "" : "s",
	    rs_truncated(rs) ? ", limit reached" : "", ms);
	return 0;
}
