/*
 * coredump.c: the dumpable flag and the core size limit of a process.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "coredump.h"

void
coredump_set(bool allow)
{
	struct rlimit rl;

	(void)prctl(PR_SET_DUMPABLE, allow ? 1 : 0, 0, 0, 0);
	if (getrlimit(RLIMIT_CORE, &rl) != 0)
		return;
	rl.rlim_cur = allow ? rl.rlim_max : 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
}
