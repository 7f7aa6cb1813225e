/*
 * t_proc.c: the process module (src/proc.c): what an exec'd program
 * inherits (descriptors, signals), a tied child dying with its parent, a
 * detached program belonging to no one, waiting and reaping.
 *
 * Started as `t_proc --report FILE`, the program writes what it inherited
 * to FILE instead (the tests start it through the module).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

struct report {
	long pid, ppid, sid;
	char fds[256];	       /* "0 1 2 ..." */
	char stdio[3][64];     /* where 0, 1 and 2 lead */
	char ign[32], blk[32]; /* SigIgn and SigBlk of status */
	char env[3][16];       /* T_PROC_A, _B, _C, "-" when unset */
};

static const char *const env_names[] = { "T_PROC_A", "T_PROC_B", "T_PROC_C" };

static char self[PATH_MAX];
static char dir[] = "/tmp/t_proc.XXXXXX";

/* --report: writes the report of this process to path (then renamed into
 * place, so a reader never sees half of it). */
static int
report_write(const char *path)
{
	char	tmp[PATH_MAX + 8], line[256], lnk[32], to[64];
	FILE   *fp, *st;
	ssize_t n;
	int	fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (fp == NULL)
		return 1;
	fprintf(fp, "%ld %ld %ld\n", (long)getpid(), (long)getppid(),
	    (long)getsid(0));
	for (fd = 0; fd < 3; fd++)
		fprintf(fp, "%s ",
		    getenv(env_names[fd]) != NULL ? getenv(env_names[fd]) :
						    "-");
	fprintf(fp, "\n");
	for (fd = 0; fd < 1024; fd++)
		if (fd != fileno(fp) && fcntl(fd, F_GETFD) >= 0)
			fprintf(fp, "%d ", fd);
	fprintf(fp, "\n");
	for (fd = 0; fd < 3; fd++) {
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", fd);
		n = readlink(lnk, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = '\0';
		fprintf(fp, "%s\n", n > 0 ? to : "-");
	}
	st = fopen("/proc/self/status", "r");
	while (st != NULL && fgets(line, sizeof(line), st) != NULL)
		if (strncmp(line, "SigIgn:", 7) == 0 ||
		    strncmp(line, "SigBlk:", 7) == 0)
			fputs(line, fp);
	if (st != NULL)
		fclose(st);
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		return 1;
	return 0;
}

/* Reads the report at path, waiting up to 10 s for it to appear. */
static void
report_read(const char *path, struct report *r)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	char		line[256];
	FILE	       *fp = NULL;
	int		i, k;

	for (i = 0; i < 1000 && fp == NULL; i++) {
		fp = fopen(path, "r");
		if (fp == NULL)
			nanosleep(&nap, NULL);
	}
	if (fp == NULL)
		fail_msg("no report in %s", path);
	memset(r, 0, sizeof(*r));
	assert_int_equal(fscanf(fp, "%ld %ld %ld\n", &r->pid, &r->ppid,
			     &r->sid),
	    3);
	assert_int_equal(fscanf(fp, "%15s %15s %15s\n", r->env[0], r->env[1],
			     r->env[2]),
	    3);
	assert_non_null(fgets(r->fds, sizeof(r->fds), fp));
	for (k = 0; k < 3; k++) {
		assert_non_null(fgets(r->stdio[k], sizeof(r->stdio[k]), fp));
		r->stdio[k][strcspn(r->stdio[k], "\n")] = '\0';
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "SigIgn:", 7) == 0)
			sscanf(line + 7, "%31s", r->ign);
		else if (strncmp(line, "SigBlk:", 7) == 0)
			sscanf(line + 7, "%31s", r->blk);
	}
	fclose(fp);
	unlink(path);
}

/* Returns true when the hex signal mask of /proc's status holds no
 * signal but the C library's own (32 up to SIGRTMIN, which it lets no
 * program set, so a parent may pass them on ignored). */
static bool
mask_empty(const char *hex)
{
	unsigned long long m;
	char		  *end;
	int		   sig;

	if (hex[0] == '\0')
		return false;
	m = strtoull(hex, &end, 16);
	if (*end != '\0')
		return false;
	for (sig = 32; sig < SIGRTMIN; sig++)
		m &= ~(1ULL << (sig - 1));
	return m == 0;
}

/* An exec'd program has 0, 1, 2 and the kept descriptors (close-on-exec
 * or not), nothing else, every signal at its default, none blocked. */
static void
t_exec_inherits(void **state)
{
	const char   *argv[4];
	char	      path[PATH_MAX], want[64];
	struct report r;
	sigset_t      blk, old;
	int	      keep[2], other, st;
	pid_t	      pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/exec", dir);
	argv[0] = "t_proc";
	argv[1] = "--report";
	argv[2] = path;
	argv[3] = NULL;
	setenv("T_PROC_A", "parent", 1);
	unsetenv("T_PROC_B");
	setenv("T_PROC_C", "kept", 1);
	keep[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	other = open("/dev/null", O_RDONLY); /* no close-on-exec */
	keep[1] = open("/dev/null", O_RDONLY);
	assert_true(keep[0] > 2 && other > keep[0] && keep[1] > other);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blk, &old);
	pid = proc_fork(0);
	if (pid == 0)
		proc_exec(self, argv, keep, 2);
	assert_true(pid > 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGHUP, SIG_DFL);
	assert_int_equal(proc_wait(pid, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	report_read(path, &r);
	snprintf(want, sizeof(want), "0 1 2 %d %d \n", keep[0], keep[1]);
	assert_string_equal(r.fds, want);
	assert_true(mask_empty(r.ign));
	assert_true(mask_empty(r.blk));
	assert_string_equal(r.env[0], "parent");
	assert_string_equal(r.env[1], "-");
	assert_string_equal(r.env[2], "kept");
	/* The kept descriptor keeps its flag here, in the parent. */
	assert_int_equal(fcntl(keep[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	signal(SIGPIPE, SIG_DFL);
	close(keep[0]);
	close(keep[1]);
	close(other);
}

/* A program that cannot be exec'd: its child exits 127. */
static void
t_exec_fails(void **state)
{
	const char *argv[] = { "nothing", NULL };
	int	    st = -1;
	pid_t	    pid;

	(void)state;
	pid = proc_fork(0);
	if (pid == 0)
		proc_exec("/nonexistent/program", argv, NULL, 0);
	assert_true(pid > 0);
	assert_int_equal(proc_wait(pid, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);
	/* It is reaped: no such child any more. */
	assert_int_equal(proc_wait(pid, &st), -1);
	assert_int_equal(st, 0);
	assert_int_equal(proc_reap(&st), -1);
}

/*
 * Forks a middle process whose child is tied to it with
 * proc_fork(SIGKILL).  With settle, the middle process waits until the
 * child has returned from proc_fork (the tie is made) before it exits;
 * without, it exits at once, possibly before the tie is made.  Returns
 * the child's pid once the middle process is gone; this process is the
 * child's subreaper by then.
 */
static pid_t
tied_orphan(bool settle)
{
	int   ready[2], pidp[2], st = 0;
	pid_t mid, child = 0;
	char  c = 0;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(pidp), 0);
	mid = fork();
	if (mid == 0) {
		child = proc_fork(SIGKILL);
		if (child == 0) {
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		if (child < 0 || (settle && read(ready[0], &c, 1) != 1) ||
		    write(pidp[1], &child, sizeof(child)) != sizeof(child))
			_exit(1);
		_exit(0);
	}
	assert_int_equal(proc_wait(mid, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(read(pidp[0], &child, sizeof(child)), sizeof(child));
	assert_true(child > 0);
	close(ready[0]);
	close(ready[1]);
	close(pidp[0]);
	close(pidp[1]);
	return child;
}

/* Waits up to 10 s for the orphan child to end and returns its status;
 * fails (killing it) when it is still alive. */
static int
wait_orphan(pid_t child)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	pid_t		got = 0;
	int		st = 0, i;

	for (i = 0; i < 1000 && got == 0; i++) {
		got = waitpid(child, &st, WNOHANG);
		if (got == 0)
			nanosleep(&nap, NULL);
	}
	if (got == 0) {
		kill(child, SIGKILL);
		(void)proc_wait(child, NULL);
		fail_msg("the tied child outlived its parent by 10 s");
	}
	assert_int_equal(got, child);
	return st;
}

/* A child tied with proc_fork(SIGKILL) gets SIGKILL when its parent
 * exits. */
static void
t_fork_tied(void **state)
{
	int st;

	(void)state;
	/* Orphans come back to this process, so their end can be seen. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	st = wait_orphan(tied_orphan(true));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/*
 * Whatever the timing, a tied child does not outlive its parent: when the
 * parent exits before the tie is made, the child sees it and exits
 * EX_SOFTWARE (70) instead of waiting for a signal that never comes.
 */
static void
t_fork_tied_race(void **state)
{
	int st, i, killed = 0, left = 0;

	(void)state;
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	for (i = 0; i < 50; i++) {
		st = wait_orphan(tied_orphan(false));
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 70)
			left++;
		else
			fail_msg("round %d: status %#x", i, st);
	}
	print_message("tied children: %d killed, %d left on their own\n",
	    killed, left);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* A detached program: not our child, in another session, stdio on
 * /dev/null, no other descriptor, default signals, this environment with
 * the given variables replaced or added. */
static void
t_spawn_detached(void **state)
{
	const char   *argv[4];
	const char   *env[] = { "T_PROC_A=child", "T_PROC_B=new", NULL };
	char	      path[PATH_MAX];
	struct report r;
	int	      fd, k, st;

	(void)state;
	/* Not a subreaper (even after a failed test above): the program
	 * must go to another process. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	snprintf(path, sizeof(path), "%s/detached", dir);
	argv[0] = "t_proc";
	argv[1] = "--report";
	argv[2] = path;
	argv[3] = NULL;
	fd = open("/dev/null", O_RDONLY); /* not to be inherited */
	setenv("T_PROC_A", "parent", 1);
	unsetenv("T_PROC_B");
	setenv("T_PROC_C", "kept", 1);
	signal(SIGHUP, SIG_IGN);
	assert_int_equal(proc_spawn_detached(self, argv, env), PGS_OK);
	signal(SIGHUP, SIG_DFL);
	report_read(path, &r);
	assert_true(r.pid != (long)getpid() && r.ppid != (long)getpid());
	assert_true(r.sid != (long)getsid(0));
	assert_int_equal(waitpid((pid_t)r.pid, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_string_equal(r.fds, "0 1 2 \n");
	for (k = 0; k < 3; k++)
		assert_string_equal(r.stdio[k], "/dev/null");
	assert_true(mask_empty(r.ign));
	assert_true(mask_empty(r.blk));
	assert_string_equal(r.env[0], "child");
	assert_string_equal(r.env[1], "new");
	assert_string_equal(r.env[2], "kept");
	assert_string_equal(getenv("T_PROC_A"), "parent");
	assert_null(getenv("T_PROC_B"));
	/* Without env, the environment as it is. */
	assert_int_equal(proc_spawn_detached(self, argv, NULL), PGS_OK);
	report_read(path, &r);
	assert_string_equal(r.env[0], "parent");
	assert_string_equal(r.env[1], "-");
	/* Nothing is left to reap here. */
	assert_int_equal(proc_reap(&st), -1);
	close(fd);
}

/* proc_signal's handler interrupts a blocking call. */
static volatile sig_atomic_t got_alarm;

static void
on_alarm(int sig)
{
	(void)sig;
	got_alarm = 1;
}

static void
t_signal_interrupts(void **state)
{
	char	c;
	int	p[2];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	proc_signal(SIGALRM, on_alarm);
	alarm(1);
	n = read(p[0], &c, 1); /* nothing comes: only the signal ends it */
	assert_int_equal(n, -1);
	assert_int_equal(errno, EINTR);
	assert_true(got_alarm);
	signal(SIGALRM, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_exec_inherits),
		cmocka_unit_test(t_exec_fails),
		cmocka_unit_test(t_fork_tied),
		cmocka_unit_test(t_fork_tied_race),
		cmocka_unit_test(t_spawn_detached),
		cmocka_unit_test(t_signal_interrupts),
	};
	ssize_t n;
	int	rc;

	if (argc == 3 && strcmp(argv[1], "--report") == 0)
		return report_write(argv[2]);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || mkdtemp(dir) == NULL)
		return 1;
	self[n] = '\0';
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
