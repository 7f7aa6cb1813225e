/*
 * source_conn.h: a connection to a data source, opened from its stored
 * row (struct source, store.h).  This is the one place where a source's
 * sealed password is opened (cred_open) and wiped, for every program: the
 * runner's runs, the API's dry-runs and source test, the CLI's `dsn test`,
 * `queries test` and `queries run`, and `keys rotate`, which seals each
 * password again for the next key.  A notification channel's sealed URL
 * and signing secrets are opened here too (source_conn_channel_open,
 * source_conn_channel_reseal).  Callers get a connection or a new
 * ciphertext, never the plaintext.
 *
 * Every connection gets the options of CONTRACT §4: client_encoding UTF8,
 * TimeZone UTC and the ISO output forms the serialiser relies on,
 * standard_conforming_strings and backslash_quote pinned to the lexer
 * settings libpg_query assumes, TCP keepalives and tcp_user_timeout, the
 * connect timeout and application_name of the exec_opts given, and a
 * dbname that is a name, never a conninfo string.  A source without a
 * stored password is connected to by no program ("credential
 * unavailable: no password stored").
 */
#ifndef PGS_SOURCE_CONN_H
#define PGS_SOURCE_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "arena.h"
#include "cred.h"
#include "exec.h"
#include "notify_store.h"
#include "rc.h"
#include "store.h"
#include "webhook.h"

/* Entries of the keyword arrays of source_conn_params (NULL included). */
#define SOURCE_CONN_NPARAMS 14

/*
 * Fills keys and vals (SOURCE_CONN_NPARAMS entries each, NULL-terminated)
 * with the connection parameters of s: password pw, port the caller's
 * text of s->port, appname and the fixed options above.
 * The strings belong to s, pw, port and appname, or are static.
 */
void
source_conn_params(const struct source *s, const char *pw, const char *port,
    const char *appname, const char **keys, const char **vals);
/*
 * Opens s's password with k, connects with o's appname and connect
 * timeout, and wipes the password.  On success *out is the caller's
 * (PQfinish; non-blocking: exec.h's calls wait with deadlines) and *which
 * (may be NULL) tells the key that opened it: 0 the current one, 1 the
 * next one of an unfinished rotation.  Returns PGS_OK; PGS_INVALID with
 * "credential unavailable: ..." in err when no password is stored or
 * neither key opens it; PGS_DB with libpq's reason in err (which never
 * holds the password) when the connection fails.
 */
enum pgs_rc source_conn_open(const struct cred_keys *k, const struct source *s,
    const struct exec_opts *o, PGconn **out, int *which, char *err,
    size_t errlen) PGS_MUSTCHECK;
/*
 * source_conn_open in two halves, so that the server's part of connecting
 * overlaps the caller's other work: _start returns once the startup
 * packet is sent (the password is wiped by then; *out set on PGS_OK),
 * _finish completes it (the caller still owns conn and PQfinish-es it on
 * failure).  Each half has o's connect timeout.  Same rcs.
 */
enum pgs_rc source_conn_start(const struct cred_keys *k, const struct source *s,
    const struct exec_opts *o, PGconn **out, int *which, char *err,
    size_t errlen) PGS_MUSTCHECK;
enum pgs_rc source_conn_finish(PGconn *conn, const struct exec_opts *o,
    char *err, size_t errlen) PGS_MUSTCHECK;
/*
 * Returns whether the ciphertext enc (len bytes) opens with one of k's
 * private keys (the plaintext is wiped at once): a client-sealed password
 * that no program could open is refused when it is saved.
 */
bool source_conn_can_open(const struct cred_keys *k, const unsigned char *enc,
    size_t len);
/*
 * Seals s's password again for k's next key (k->next_pk, `keys rotate`):
 * *enc gets the new ciphertext (arena-owned, *enclen bytes), or NULL when
 * s is already under the next key.  Returns PGS_OK; PGS_INVALID with
 * "credential unavailable: ..." in err when none is stored, neither key
 * opens it, or k has no next key; PGS_INTERNAL when it cannot be sealed.
 */
enum pgs_rc source_conn_reseal(const struct cred_keys *k, struct arena *a,
    const struct source *s, unsigned char **enc, size_t *enclen, char *err,
    size_t errlen) PGS_MUSTCHECK;

/*
 * Opens what a delivery to the notification channel ch needs (CONTRACT
 * section 8: its target and signing secrets are sealed like passwords):
 * its target URL (webhook, slack) into url (cap bytes, the caller's, who
 * wipes it with sodium_memzero), and for a webhook its signing keys into
 * keys (emptied first): the current secret, and the previous one while
 * overlap_hours have not passed since the rotation.  The secrets' text is
 * wiped here; keys are wiped by deliver_batch (or webhook_keys_wipe).
 * Returns PGS_OK; PGS_INVALID with "credential unavailable: ..." in err
 * (never the URL or a secret) when a value does not open or is not a
 * secret; keys are then wiped and url emptied.
 */
enum pgs_rc source_conn_channel_open(const struct cred_keys *k,
    const struct channel *ch, int overlap_hours, char *url, size_t cap,
    struct webhook_keys *keys, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * source_conn_reseal for one sealed value of a notification channel (its
 * URL, secret or previous secret: old, len bytes; nothing when len is 0):
 * *enc gets it sealed for k's next key (arena-owned), or NULL when it is
 * under the next key already or there is nothing.  Same rcs.
 */
enum pgs_rc source_conn_channel_reseal(const struct cred_keys *k,
    struct arena *a, const unsigned char *old, size_t len, unsigned char **enc,
    size_t *enclen, char *err, size_t errlen) PGS_MUSTCHECK;

/*
 * A notification channel's sealed values (notify_channel, sealed like
 * source passwords) are opened here too, only by the delivery that needs
 * them.  source_conn_channel_target opens a webhook or Slack target URL
 * (enc, len bytes) into url (cap bytes, the caller's, who wipes it with
 * sodium_memzero once the delivery is done).  Returns PGS_OK, or
 * PGS_INVALID with "credential unavailable: ..." in err.
 */
enum pgs_rc
source_conn_channel_target(const struct cred_keys *k, const unsigned char *enc,
    size_t len, char *url, size_t cap, char *err, size_t errlen) PGS_MUSTCHECK;
/*
 * Opens a webhook channel's sealed signing secret (enc, len bytes) and
 * adds its key to ks (webhook.h; the caller wipes ks, deliver_batch does
 * it once signed): the secret's text is wiped before it returns.
 * Returns PGS_OK; PGS_INVALID with a sentence in err (never the secret)
 * when it cannot be opened or is not a whsec_ secret.
 */
enum pgs_rc source_conn_channel_key(const struct cred_keys *k,
    const unsigned char *enc, size_t len, struct webhook_keys *ks, char *err,
    size_t errlen) PGS_MUSTCHECK;

#endif
