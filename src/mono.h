/*
 * mono.h: the monotonic clock in milliseconds, the one clock of the
 * programs' deadlines, timeouts and durations (a wall clock jumps).
 */
#ifndef PGS_MONO_H
#define PGS_MONO_H

/* Returns CLOCK_MONOTONIC in whole milliseconds (truncated); only the
 * difference of two readings means anything. */
long mono_ms(void);

#endif
