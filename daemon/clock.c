/* clock.c - the clock seam and local time in the configured time zone. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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

/* The instant of a local wall-clock time. */
time_t
clock_instant(localtime_min_t t, int sec)
{
	struct tm tm;
	int y, m, d;
	date_t day = (date_t)(t / 1440);
	int min = (int)(t % 1440);

	if (min < 0) {
		min += 1440;
		day--;
	}
	date_to_ymd(day, &y, &m, &d);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	return mktime(&tm);
}
