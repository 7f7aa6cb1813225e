/*
 * coredump.h: keeps the memory of the programs, which holds secrets (the
 * pepper, the private key, opened data-source passwords, session ids),
 * out of core files, unless the operator asks for them with
 * ALLOW_CORE_DUMPS=1.
 */
#ifndef PGS_COREDUMP_H
#define PGS_COREDUMP_H

#include <stdbool.h>

/*
 * allow false: makes this process non-dumpable (no core file, whatever
 * kernel.core_pattern says, and no ptrace by other processes of its
 * user) and sets its soft RLIMIT_CORE to 0, which children and the
 * programs they run (pg_dump) inherit.  allow true: dumpable again, and
 * the soft limit raised to the hard one.  Call it with false first thing
 * in main(), before a secret is read, then with the setting once the
 * configuration is loaded, and again after a change of user, since
 * setuid() resets the flag to fs.suid_dumpable.  Failures are ignored:
 * there is nothing better to do than to go on.
 */
void coredump_set(bool allow);

#endif
