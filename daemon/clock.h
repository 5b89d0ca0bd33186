/* clock.h - the clock seam and local time in the configured time zone. */
#ifndef ESCALATOR_CLOCK_H
#define ESCALATOR_CLOCK_H

#include <time.h>

#include "date.h"

/*
 * Use the time zone tz (an IANA name such as "Europe/London") for all local
 * times of this process. Returns -1 with *cause set if no such zone exists.
 */
int clock_set_timezone(const char *tz, char **cause);
/* Does the time zone tz exist? Returns 0, or -1 with *cause set. Changes nothing. */
int clock_check_timezone(const char *tz, char **cause);
/* The current time: the real clock, or the time fixed by clock_fix. */
time_t clock_now(void);
/* The monotonic clock in nanoseconds: for measuring how long something took, never a date. */
long long clock_monotonic_ns(void);
/* Fix the clock at t (for --now and tests); 0 returns to the real clock. */
void clock_fix(time_t t);
/* Local wall-clock minutes of an instant; *sec receives the seconds if not NULL. */
localtime_min_t clock_local(time_t t, int *sec);
/* The instant of a local wall-clock time (the earlier one if ambiguous). */
time_t clock_instant(localtime_min_t t, int sec);

#endif
