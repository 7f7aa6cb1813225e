/*
 * mono.c: the monotonic clock in milliseconds (mono.h), written once
 * instead of once per program.
 */
#include <time.h>

#include "mono.h"

long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
