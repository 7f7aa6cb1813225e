/*
 * keys.h: the file side of `keys rotate` (keys_files.c): the pg_dump
 * backup and switching the key files.
 */
#ifndef PGS_CLI_KEYS_H
#define PGS_CLI_KEYS_H

#include <stdbool.h>

#include "cli.h"
#include "cred.h"

/* One line of the rotation report. */
struct rot_row {
	const char *name;
	int	    old_v; /* 0 when it was rotated before */
	int	    new_v; /* 0 when not rotated */
	const char *decrypt;
	const char *connect;
	bool	    conn_ok;
};

/*
 * Dumps the metadata database (PG_DSN_APP) with pg_dump, custom format,
 * into dir/pgsched-<UTC time to the microsecond>.dump, e.g.
 * pgsched-20260329T010203.042917Z.dump (mode 0600, dir created 0700); a
 * name never replaces a file: names are unique and sort in time order.
 * The DSN reaches pg_dump through its environment, never its arguments.
 * Returns 0, or an exit code after one line (pg_dump's own reason).
 */
int keys_backup(struct cli *c, const char *dir);
/*
 * Switches the key files: keeps the current private key as
 * "<priv>.v<N>" (N = oldver, or the next free number) and its public key
 * as "<pub>.v<N>", then puts the next public key in place, then the next
 * private key.  *kept gets the kept private key's path (arena-owned).
 * Returns 0, or an exit code after one line.
 */
int keys_install(struct cli *c, const struct cred_keys *k, int oldver,
    const char **kept);
/*
 * Puts every notification channel's sealed URL and secrets under k's
 * next key (keys_channels.c; already there: nothing to do), printing a
 * line per channel that fails.  *n gets the number of channels.  Returns
 * the failures, or minus an exit code when they cannot be listed.
 */
int keys_channels_rotate(struct cli *c, const struct cred_keys *k, int *n);

#endif
