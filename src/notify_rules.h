/*
 * notify_rules.h: what a notification channel, a query's subscriptions
 * and its alert may hold (CONTRACT section 8), asked by both doors (the
 * API's fcgi/h_channel.c and fcgi/h_notify.c, the CLI's cli/cmd_channel.c
 * and cli/cmd_notify.c) so that one value gets one answer whichever door
 * it comes through: channel kinds and names, target URLs (the SSRF rule
 * of ssrf.h, checked when a channel is created and when its URL
 * changes), e-mail addresses (mail.h), event names, alert definitions
 * and the delivery statuses a list may filter on.
 *
 * A door reads its own form (JSON members, command-line options) into an
 * input struct and the check returns field errors named after the API's
 * members ("url", "addresses", "events", "column", "op", "value"...),
 * which the door prints in its own form (the "fields" of a 422, one line
 * on stderr naming its option).
 */
#ifndef PGS_NOTIFY_RULES_H
#define PGS_NOTIFY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "field_errors.h"
#include "rc.h"
#include "ssrf.h"

#define NOTIFY_NAME_MAX	   128	/* bytes of a channel name */
#define NOTIFY_ADDRS_MAX   50	/* recipients of an e-mail channel */
#define NOTIFY_EVENTS_MAX  7	/* event names there are */
#define NOTIFY_SUBS_MAX	   100	/* channels of one query */
#define NOTIFY_COLUMN_MAX  128	/* bytes of an alert's column name */
#define NOTIFY_VALUE_MAX   1024 /* bytes of an alert's value */
#define NOTIFY_NUMBER_MAX  64	/* bytes of a number an alert compares */
#define NOTIFY_DISPLAY_MAX 2048 /* bytes of target_display */

enum notify_kind {
	NOTIFY_WEBHOOK,
	NOTIFY_SLACK,
	NOTIFY_EMAIL
};

/* What a door read of a channel; NULL (naddr 0, !addresses_given): not
 * given. */
struct notify_channel_input {
	const char	  *name;
	const char	  *kind;
	const char	  *url;
	const char *const *addresses;
	size_t		   naddr;
	bool		   addresses_given;
};

/* What a door read of an alert; NULL: not given. */
struct notify_alert_input {
	const char *kind;   /* "rows" | "value" */
	const char *column; /* value alerts */
	const char *op;
	const char *value; /* text of a number or a string */
	bool	    value_is_number;
	bool	    value_bad_type; /* given, but neither number nor string */
};

/* Returns "webhook", "slack" or "email". */
const char *notify_rules_kind_name(enum notify_kind k);
/* Parses a kind name into *k; false when it is none. */
bool notify_rules_kind_parse(const char *s, enum notify_kind *k);
/* Returns true when s is a channel name: 1 to NOTIFY_NAME_MAX ASCII
 * letters, digits, '_', '.' or '-', starting with a letter or digit (the
 * CHECK of notify_channel.name). */
bool notify_rules_name_valid(const char *s);

/* Returns the static NULL-terminated list of the event names, in the
 * order CONTRACT section 8 gives them. */
const char *const *notify_rules_events(void);
/* Returns true when s is one of the event names. */
bool notify_rules_event_valid(const char *s);
/*
 * Checks the n event names ev of one subscription: each known, none
 * twice, at least one.  A refusal is an error of field in e naming the
 * bad name and listing the good ones.  Returns PGS_OK or PGS_INVALID.
 */
enum pgs_rc notify_rules_events_check(struct field_errors *e, const char *field,
    const char *const *ev, size_t n) PGS_MUSTCHECK;

/*
 * Checks a channel as a door read it (create: a new one, whose name, kind
 * and target must be given; else an edit of a channel of kind `stored`):
 * the name, the kind (which an edit cannot change), the URL of a webhook
 * or Slack channel (ssrf_check_url against allow: only http and https,
 * at most SSRF_URL_MAX bytes, no credentials, no address that is not
 * public unless NOTIFY_ALLOW_HOSTS allows it; this resolves the host),
 * the addresses of an e-mail channel (1 to NOTIFY_ADDRS_MAX, each
 * mail_addr_valid, none twice), and that a channel has only the target of
 * its kind.  Returns PGS_OK, or PGS_INVALID with the field errors in e.
 */
enum pgs_rc notify_rules_channel(const struct notify_channel_input *in,
    bool create, enum notify_kind stored, const struct ssrf_allow *allow,
    struct field_errors *e) PGS_MUSTCHECK;
/*
 * Returns what a channel shows of its target URL (checked): scheme, host
 * and port (when not the scheme's), then "/..." (the path and query may
 * be a credential, as a Slack webhook's is), arena-owned.
 */
char *notify_rules_url_display(struct arena *a, const char *url);
/* Returns what an e-mail channel shows of its n addresses: the first one,
 * then "(+N more)", arena-owned, at most NOTIFY_DISPLAY_MAX bytes. */
char *notify_rules_addresses_display(struct arena *a, const char *const *addr,
    size_t n);

/* Returns true when s is a number an alert compares with, in JSON's
 * grammar: an optional '-', digits without a leading zero, optionally '.'
 * and digits, optionally an exponent, at most NOTIFY_NUMBER_MAX bytes. */
bool notify_rules_number_valid(const char *s);
/* Returns true when s is a comparison of an alert: > >= < <= = !=. */
bool notify_rules_op_valid(const char *s);
/*
 * Checks an alert definition: kind rows (the row count against a number;
 * no column) or value (a named column of the first row against a number
 * or a string of at most NOTIFY_VALUE_MAX bytes), an op, a value.
 * Returns PGS_OK, or PGS_INVALID with the field errors in e.
 */
enum pgs_rc notify_rules_alert(const struct notify_alert_input *in,
    struct field_errors *e) PGS_MUSTCHECK;

/* Returns true when s is a delivery status a list may filter on:
 * pending, delivered or dead. */
bool notify_rules_status_valid(const char *s);

/*
 * Returns true while the previous signing secret of a channel rotated
 * rotated_age_s seconds ago (-1: never) still signs: for
 * overlap_hours (NOTIFY_ROTATE_OVERLAP_HOURS) after the rotation.
 */
bool notify_rules_prev_signs(long rotated_age_s, int overlap_hours);

#endif
