/*
 * sched_dump.c: a test-only filter for cross-checking the schedule engine.
 * Reads lines "expr<TAB>tz<TAB>from_epoch<TAB>count" on stdin and prints,
 * for each, one line: "ok<TAB>t1 t2 ..." (the next `count` fire times
 * strictly after from_epoch, epoch seconds, each followed by ":flags" when
 * SCHED_* flags are set) or "error<TAB>message".  With -v it prints the
 * `schedule next` lines instead, one per fire, then a blank line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/sched.h"

#define LINE_MAX_LEN 1024

/* Splits line into four tab-separated fields; false when malformed. */
static bool
split(char *line, char *f[4])
{
	int i;

	line[strcspn(line, "\r\n")] = '\0';
	f[0] = line;
	for (i = 1; i < 4; i++) {
		f[i] = strchr(f[i - 1], '\t');
		if (f[i] == NULL)
			return false;
		*f[i]++ = '\0';
	}
	return true;
}

static void
dump(const struct sched *s, int64_t t, long count, bool verbose)
{
	char	 line[SCHED_LINE_MAX];
	unsigned flags;
	long	 i;

	if (!verbose)
		fputs("ok\t", stdout);
	for (i = 0; i < count; i++) {
		if (sched_next(s, 0, t, &t, &flags) != PGS_OK) {
			fputs(verbose ? "none\n" : " none", stdout);
			break;
		}
		if (verbose) {
			if (sched_describe_line(s, t, flags, line,
				sizeof(line)) == PGS_OK)
				printf("%s\n", line);
			continue;
		}
		printf(i > 0 ? " %lld" : "%lld", (long long)t);
		if (flags != 0)
			printf(":%u", flags);
	}
	putchar('\n');
}

int
main(int argc, char **argv)
{
	char	      line[LINE_MAX_LEN], err[256], *f[4];
	struct sched *s;
	bool	      verbose = argc > 1 && strcmp(argv[1], "-v") == 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (!split(line, f)) {
			printf("error\tmalformed input line\n");
			continue;
		}
		if (sched_parse("cron", f[0], f[1], 0, &s, err, sizeof(err)) !=
		    PGS_OK) {
			printf("error\t%s\n", err);
			continue;
		}
		dump(s, strtoll(f[2], NULL, 10), strtol(f[3], NULL, 10),
		    verbose);
		sched_free(s);
		fflush(stdout);
	}
	return 0;
}
