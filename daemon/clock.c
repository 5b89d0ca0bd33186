/* clock.c - the clock seam and local time in the configured time zone. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static time_t clock_fixed;

/* Use the time zone tz for local times, after checking it exists. */
int
clock_set_timezone(const char *tz, char **cause)
{
	if (clock_check_timezone(tz, cause) != 0)
		return -1;
	setenv("TZ", tz, 1);
	tzset();
	return 0;
}

/* Does the time zone tz exist? */
int
clock_check_timezone(const char *tz, char **cause)
{
	const char *dir = getenv("TZDIR");
	char *path, magic[4];
	FILE *f;

	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if (*tz == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL) {
		*cause = xasprintf(
		    "\"%s\" is not a time zone name; expected e.g. \"Europe/London\"", tz);
		return -1;
	}
	/* glibc quietly falls back to UTC for an unknown zone: check the file first. */
	path = xasprintf("%s/%s", dir, tz);
	f = fopen(path, "rb");
	if (f == NULL || fread(magic, 1, 4, f) != 4 || memcmp(magic, "TZif", 4) != 0) {
		*cause = xasprintf("unknown time zone \"%s\" (no zone file %s; is the tzdata "
		                   "package installed?)",
		                   tz, path);
		if (f != NULL)
			fclose(f);
		free(path);
		return -1;
	}
	fclose(f);
	free(path);
	return 0;
}

/* The current time. */
time_t
clock_now(void)
{
	return clock_fixed != 0 ? clock_fixed : time(NULL);
}

/* Fix the clock at t. */
void
clock_fix(time_t t)
{
	clock_fixed = t;
}

/* Local wall-clock minutes of an instant. */
localtime_min_t
clock_local(time_t t, int *sec)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (sec != NULL)
		*sec = tm.tm_sec;
	return (localtime_min_t)date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 1440 +
	       tm.tm_hour * 60 + tm.tm_min;
}

/* mktime of a local wall-clock time, taking it as daylight saving time or not. */
static time_t
clock_mktime(date_t day, int min, int sec, int isdst)
{
	struct tm tm;
	int y, m, d;

	date_to_ymd(day, &y, &m, &d);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_sec = sec;
	tm.tm_isdst = isdst;
	return mktime(&tm);
}

/*
 * The instant of a local wall-clock time. When the clocks go back the time
 * happens twice: the first one. When they go forward it does not happen at
 * all: the moment the clocks jump (02:00 BST for a 01:30 that never was).
 */
time_t
clock_instant(localtime_min_t t, int sec)
{
	date_t day = (date_t)(t / 1440);
	int min = (int)(t % 1440), s;
	time_t c[2], lo, hi, best = (time_t)-1;

	if (min < 0) {
		min += 1440;
		day--;
	}
	c[0] = clock_mktime(day, min, sec, 0);
	c[1] = clock_mktime(day, min, sec, 1);
	for (int i = 0; i < 2; i++)
		if (clock_local(c[i], &s) == t && s == sec && (best == (time_t)-1 || c[i] < best))
			best = c[i];
	if (best != (time_t)-1)
		return best;
	/* In the gap: the first instant whose wall-clock time is at or after t. */
	lo = c[0] < c[1] ? c[0] : c[1];
	hi = c[0] < c[1] ? c[1] : c[0];
	while (lo < hi) {
		time_t mid = lo + (hi - lo) / 2;
		localtime_min_t lm = clock_local(mid, &s);

		if (lm > t || (lm == t && s >= sec))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The monotonic clock in nanoseconds. */
long long
clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
