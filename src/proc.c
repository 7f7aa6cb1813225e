/*
 * proc.c: forking, exec, detaching and reaping (proc.h has the rules).
 * Between fork and exec only async-signal-safe calls are made.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "arena.h"
#include "proc.h"

pid_t
proc_fork(int deathsig)
{
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid != 0 || deathsig == 0)
		return pid;
	/* A parent that ended before the tie was made sends nothing: its
	 * child has been handed to another process already. */
	if (prctl(PR_SET_PDEATHSIG, deathsig) != 0 || getppid() != parent)
		_exit(EX_SOFTWARE);
	return 0;
}

/* Returns true when fd is one of the n descriptors of keep. */
static bool
proc_kept(int fd, const int *keep, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/* Closes every descriptor from 3 up but the kept ones, which lose their
 * close-on-exec flag. */
static void
proc_close_fds(const int *keep, int nkeep)
{
	int i, fd, fl, top = 2;

	for (i = 0; i < nkeep; i++) {
		if (keep[i] < 0)
			continue;
		if (keep[i] > top)
			top = keep[i];
		fl = fcntl(keep[i], F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC) != 0)
			(void)fcntl(keep[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
	for (fd = 3; fd < top; fd++)
		if (!proc_kept(fd, keep, nkeep))
			(void)close(fd);
	closefrom(top + 1);
}

/* Gives every signal its default disposition (a signal ignored here would
 * stay ignored in the program), then unblocks them all. */
static void
proc_default_signals(void)
{
	struct sigaction sa;
	sigset_t	 none;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    sigaction(sig, NULL, &sa) != 0 || sa.sa_handler == SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* proc_exec() with the environment envp. */
static void PGS_NORETURN
proc_execve(const char *path, const char *const argv[], char *const envp[],
    const int *keep, int nkeep)
{
	proc_default_signals();
	proc_close_fds(keep, nkeep);
	execve(path, (char *const *)argv, envp);
	_exit(127);
}

void
proc_exec(const char *path, const char *const argv[], const int *keep,
    int nkeep)
{
	proc_execve(path, argv, environ, keep, nkeep);
}

/* Returns true when the "NAME=value" entry e names a variable that one of
 * the entries of set names. */
static bool
proc_env_replaced(const char *e, const char *const set[])
{
	size_t n;
	int    i;

	for (i = 0; set[i] != NULL; i++) {
		n = strcspn(set[i], "=");
		if (strncmp(e, set[i], n) == 0 && e[n] == '=')
			return true;
	}
	return false;
}

/* Returns this process's environment with the entries of set in place of
 * (or beside) the variables they name: an array the caller frees, of
 * strings it does not own. */
static char **
proc_environ(const char *const set[])
{
	char **envp;
	size_t n = 0, k = 0, i;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (i = 0; set[i] != NULL; i++)
		n++;
	envp = xcalloc(n + 1, sizeof(*envp));
	for (i = 0; environ[i] != NULL; i++)
		if (!proc_env_replaced(environ[i], set))
			envp[k++] = environ[i];
	for (i = 0; set[i] != NULL; i++)
		envp[k++] = (char *)set[i];
	envp[k] = NULL;
	return envp;
}

/* The intermediate process of proc_spawn_detached(): a session leader
 * whose child, the program, is handed to init (or the subreaper) when it
 * exits now. */
static void PGS_NORETURN
proc_detach(const char *path, const char *const argv[], char *const envp[])
{
	pid_t pid;
	int   fd;

	(void)setsid();
	pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 1 : 0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
	}
	proc_execve(path, argv, envp, NULL, 0);
}

enum pgs_rc
proc_spawn_detached(const char *path, const char *const argv[],
    const char *const env[])
{
	char	  **envp = env != NULL ? proc_environ(env) : environ;
	enum pgs_rc rc = PGS_INTERNAL;
	pid_t	    pid;
	int	    st;

	pid = fork();
	if (pid == 0)
		proc_detach(path, argv, envp);
	if (pid > 0 && proc_wait(pid, &st) == 0 && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0)
		rc = PGS_OK;
	if (envp != environ)
		free(envp);
	return rc;
}

int
proc_wait(pid_t pid, int *status)
{
	pid_t got;
	int   st = 0;

	do
		got = waitpid(pid, &st, 0);
	while (got < 0 && errno == EINTR);
	if (status != NULL)
		*status = got < 0 ? 0 : st;
	return got < 0 ? -1 : 0;
}

pid_t
proc_reap(int *status)
{
	return waitpid(-1, status, WNOHANG);
}

void
proc_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	(void)sigaction(sig, &sa, NULL);
}
