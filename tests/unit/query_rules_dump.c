/*
 * query_rules_dump.c: a test-only dump of the settings table both doors
 * ask (src/query_rules.c), so that tests/api/test_two_doors.py drives
 * every setting there is, and fails when one has no row of its own.
 * Prints one line per setting:
 *
 *	field<TAB>option<TAB>int|text|duration<TAB>min<TAB>max<TAB>nullable<TAB>required
 *
 * nullable and required are 0 or 1.
 */
#include <stdio.h>

#include "../../src/query_rules.h"

int
main(void)
{
	const struct query_setting *t = query_rules_table();
	int			    i;

	for (i = 0; i < QF_COUNT; i++)
		printf("%s\t%s\t%s\t%ld\t%ld\t%d\t%d\n", t[i].field,
		    t[i].option,
		    t[i].kind == QUERY_INT	    ? "int" :
			t[i].kind == QUERY_DURATION ? "duration" :
						      "text",
		    t[i].min, t[i].max, t[i].nullable, t[i].required);
	return fflush(stdout) == 0 ? 0 : 1;
}
