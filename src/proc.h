/*
 * proc.h: how the programs start and end other processes.
 *
 * There are three kinds of start.  The pool's master forks and execs its
 * workers, tied to it (they die with it), each keeping the listening
 * socket and the metrics mapping (proc_fork + proc_exec).  A pool worker
 * starts `pgsched-runner --run ID` detached, so that the run outlives the
 * worker and a stop of the pool (proc_spawn_detached).  The runner forks
 * its workers without an exec, tied to it, each with one socket to it
 * (proc_fork).  The rules they share are here: a tied child dies with
 * its parent, even a parent that died before the tie was made; a program
 * started by exec begins with the default signal dispositions, no
 * blocked signal, and only the descriptors named (0, 1 and 2 and the
 * kept ones), so every other descriptor may be opened close-on-exec or
 * not, it does not leak.  None of these logs: the caller knows what it
 * was starting.
 */
#ifndef PGS_PROC_H
#define PGS_PROC_H

#include <sys/types.h>

#include "rc.h"

/*
 * fork(), and with deathsig != 0 the child is tied to this process: it
 * gets deathsig when this process ends (PR_SET_PDEATHSIG), and exits at
 * once if this process has already ended.  Returns what fork() returns:
 * the child's pid in this process, 0 in the child, -1 (errno) when no
 * child could be made.
 */
pid_t proc_fork(int deathsig) PGS_MUSTCHECK;

/*
 * In a forked child: execs path with argv (NULL-terminated; argv[0] is
 * the name shown in the process list), after restoring every signal's
 * default disposition, unblocking every signal, and closing every
 * descriptor but 0, 1, 2 and the nkeep descriptors of keep (which lose
 * their close-on-exec flag).  Exits 127 when the exec fails; never
 * returns.
 */
void proc_exec(const char *path, const char *const argv[], const int *keep,
    int nkeep) PGS_NORETURN;

/*
 * Starts path with argv as proc_exec() does, detached: in a session of
 * its own, not a child of this process (a double fork: nothing to reap,
 * and no signal sent to this process group reaches it), with 0, 1 and 2
 * on /dev/null and no other descriptor.  Its environment is this
 * process's, where each "NAME=value" of env (NULL-terminated; env NULL:
 * none) replaces the variable of that name or is added.  Waits only for
 * the intermediate process.  Returns PGS_OK once the program's process
 * exists (whether its exec then succeeds is not known here), PGS_INTERNAL
 * when a fork failed.
 */
enum pgs_rc proc_spawn_detached(const char *path, const char *const argv[],
    const char *const env[]) PGS_MUSTCHECK;

/* Waits for the child pid, again after a signal interrupted the wait;
 * its status goes to *status (when not NULL; 0 on failure).  Returns 0,
 * or -1 (errno) when pid is not a child of this process. */
int proc_wait(pid_t pid, int *status);

/* Reaps one child that has ended, without waiting.  Returns its pid (its
 * status in *status), 0 when no child has ended, -1 when there is no
 * child at all. */
pid_t proc_reap(int *status);

/* Installs fn for sig without SA_RESTART, so that a blocking call
 * (accept, poll, nanosleep) returns when the signal arrives. */
void proc_signal(int sig, void (*fn)(int));

#endif
