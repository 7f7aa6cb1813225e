/*
 * query_rules.h: what a saved query may hold, asked by both doors (the
 * API's fcgi/h_query.c and the CLI's cli/cmd_query.c) so that one value
 * gets one answer whichever door it comes through: the table of settings
 * with their bounds, the name grammar, and the checks of the SQL
 * (sqlguard), the schedule (sched, tz) and start_at (isotime).
 *
 * A door reads its own form (JSON members, command-line options) into a
 * struct query_input, one value per setting, and query_rules_apply()
 * checks the values and writes them over a struct query, returning field
 * errors that the door prints in its own form (the JSON "fields" of a
 * 422, one line on stderr).  Whether the data source exists is checked by
 * each door against the database, with QUERY_RULES_NO_SOURCE.
 *
 * The integer bounds are those of the CHECK constraints of sql/ and of
 * the integer columns (tests/db/test_settings_bounds.py holds the two
 * together).  keep_days stops at 365000 days (1000 years): the runner's
 * retention computes now() - keep_days days, which is out of PostgreSQL's
 * timestamp range beyond about 2.4 million days and then fails for every
 * query; sql/0008-keep-days-bound.sql clamps larger values older CLIs
 * stored and adds that bound to the CHECK.
 */
#ifndef PGS_QUERY_RULES_H
#define PGS_QUERY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "field_errors.h"
#include "rc.h"
#include "store.h"

/* The settings of a query, in the order of the table (and of errors). */
enum query_field {
	QF_NAME,
	QF_TITLE,
	QF_DESCRIPTION,
	QF_SQL_TEXT,
	QF_SCHEDULE_TYPE,
	QF_SCHEDULE_EXPR,
	QF_TIMEZONE,
	QF_START_AT,
	QF_TIMEOUT_MS,
	QF_MAX_ROWS,
	QF_MAX_RETRIES,
	QF_RETRY_DELAY_S,
	QF_PAUSE_AFTER_FAILURES,
	QF_KEEP_RUNS,
	QF_KEEP_DAYS,
	QF_MAX_STALENESS,
	QF_VISIBILITY,
	QF_COUNT
};

enum query_kind {
	QUERY_TEXT,    /* a char * member; min/max are lengths in bytes */
	QUERY_INT,     /* an int member; min/max are values */
	QUERY_DURATION /* an int member of seconds, given as text: an ISO
			 * 8601 duration or digits; min/max are seconds */
};

/* One setting of a query. */
struct query_setting {
	const char     *field;	/* JSON member; what errors name */
	const char     *option; /* option of `queries add`, no "--" */
	enum query_kind kind;
	long		min, max;
	size_t		off;	  /* offsetof(struct query, member) */
	bool		nullable; /* null unsets it (0 or NULL) */
	bool		required; /* a new query must have it */
};

/* The bounds of max_staleness in seconds (the CHECK of
 * query_job.max_staleness_s): a minute to 366 days. */
#define QUERY_STALENESS_MIN 60
#define QUERY_STALENESS_MAX 31622400

/* What a door read for one setting. */
enum query_given {
	QUERY_ABSENT = 0, /* not given: q keeps what it holds */
	QUERY_NULL,	  /* null: unset (absent when not nullable) */
	QUERY_VALUE,	  /* text (QUERY_TEXT) or num (QUERY_INT) */
	QUERY_BADTYPE	  /* given, but not a string / an integer */
};

struct query_value {
	enum query_given given;
	const char	*text; /* borrowed: must outlive the query */
	long		 num;
};

/* A door's input: v[f] is the value of setting f (all zero: nothing). */
struct query_input {
	struct query_value v[QF_COUNT];
};

_Static_assert(QF_COUNT <= FIELD_ERRORS_MAX, "a field error per setting");

/* The message a door gives for a data source that does not exist. */
#define QUERY_RULES_NO_SOURCE "no such data source"

/* Returns the static table of settings (QF_COUNT entries, indexed by
 * enum query_field). */
const struct query_setting *query_rules_table(void);
/* Returns the setting whose JSON field is name, or NULL. */
const struct query_setting *query_rules_find(const char *name);
/* Fills q with the settings of a new query before any input: enabled,
 * time zone UTC, no retries, a first retry after 60 s, visibility public
 * while runs_public (RUNS_PUBLIC) else internal, the rest unset. */
void query_rules_defaults(struct query *q, bool runs_public);
/*
 * Returns true when s is a name of the grammar of query and channel names:
 * 1 to max ASCII letters, digits, '_', '.' or '-', starting with a letter
 * or digit (the CHECKs of query_job.name and notify_channel.name).
 */
bool query_rules_name_grammar(const char *s, size_t max);
/* Returns true when s is a query name: the grammar, 1 to QUERY_NAME_MAX. */
bool query_rules_name_valid(const char *s);
/*
 * Checks sql with the save-time SELECT-only guard; a refusal is an error
 * of field in e (the guard's sentence, or "cannot be checked").  Returns
 * PGS_OK, PGS_INVALID (refused) or PGS_INTERNAL (the guard failed).
 */
enum pgs_rc query_rules_sql(struct field_errors *e, const char *field,
    const char *sql) PGS_MUSTCHECK;
/*
 * Checks the values in (create: a new query, whose required settings
 * must be given; else an edit of q, which holds the stored query) and
 * writes the good ones over q; then checks the resulting schedule (type,
 * expression and zone together, an empty expression meaning
 * default_interval_s seconds).  Text in q points into in (start_at is
 * written again in UTC, owned by e's arena).  Returns PGS_OK, or
 * PGS_INVALID with the field errors in e.
 */
enum pgs_rc query_rules_apply(const struct query_input *in, bool create,
    int default_interval_s, struct query *q,
    struct field_errors *e) PGS_MUSTCHECK;

#endif
