/* test_clock.c - unit tests for daemon/clock.c: time zones, the clock seam, local times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"
#include "date.h"
#include "testdir.h"
#include "xalloc.h"

/* TZ and TZDIR as the tests found them (NULL if unset), put back after each test. */
static char *saved_tz, *saved_tzdir;

/* Set or unset an environment variable. */
static void
put_env(const char *name, const char *value)
{
	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* Group setup: remember TZ and TZDIR. */
static int
group_setup(void **state)
{
	(void)state;
	saved_tz = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	saved_tzdir = getenv("TZDIR") ? xstrdup(getenv("TZDIR")) : NULL;
	return 0;
}

/* Group teardown: restore TZ and TZDIR. */
static int
group_teardown(void **state)
{
	(void)state;
	put_env("TZ", saved_tz);
	put_env("TZDIR", saved_tzdir);
	tzset();
	free(saved_tz);
	free(saved_tzdir);
	return 0;
}

/* Each test starts in Europe/London, with the system's zone files and the real clock. */
static int
setup(void **state)
{
	char *cause = NULL;

	(void)state;
	put_env("TZDIR", saved_tzdir);
	clock_fix(0);
	if (clock_set_timezone("Europe/London", &cause) != 0) {
		print_error("clock_set_timezone: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Back to the real clock and the zone files the tests found. */
static int
teardown(void **state)
{
	(void)state;
	clock_fix(0);
	put_env("TZDIR", saved_tzdir);
	return 0;
}

/* The instant of a UTC date and time. */
static time_t
U(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s};

	return timegm(&tm);
}

/* Local minutes of a wall-clock date and time. */
static localtime_min_t
L(int y, int mo, int d, int h, int mi)
{
	return (localtime_min_t)date_from_ymd(y, mo, d) * 1440 + h * 60 + mi;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of an instant, for failure messages. */
static const char *
utc(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Assert clock_local(t) is the wall-clock time want and seconds want_sec. */
static void
expect_local(time_t t, localtime_min_t want, int want_sec)
{
	char a[32], b[DATETIME_STRLEN], c[DATETIME_STRLEN];
	int sec = -1;
	localtime_min_t got = clock_local(t, &sec);

	if (got != want || sec != want_sec)
		fail_msg("%s: local %s +%ds, expected %s +%ds", utc(t, a, sizeof a),
		         localtime_format(got, b), sec, localtime_format(want, c), want_sec);
	/* Without the seconds pointer: the same minute. */
	assert_true(clock_local(t, NULL) == want);
}

/* Assert clock_instant(t, sec) is the instant want. */
static void
expect_instant(localtime_min_t t, int sec, time_t want)
{
	char a[32], b[32], c[DATETIME_STRLEN];
	time_t got = clock_instant(t, sec);

	if (got != want)
		fail_msg("local %s +%ds: instant %s, expected %s", localtime_format(t, c), sec,
		         utc(got, a, sizeof a), utc(want, b, sizeof b));
}

/* Assert clock_check_timezone and clock_set_timezone refuse tz with the cause want. */
static void
expect_zone_refused(const char *tz, const char *want)
{
	const char *before = getenv("TZ");
	char *tz_before = before ? xstrdup(before) : NULL;
	char *cause = NULL;

	assert_int_equal(clock_check_timezone(tz, &cause), -1);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("\"%s\": cause \"%s\", expected \"%s\"", tz, cause, want);
	free(cause);
	cause = NULL;
	assert_int_equal(clock_set_timezone(tz, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
	/* TZ is left as it was. */
	assert_non_null(getenv("TZ"));
	assert_string_equal(getenv("TZ"), tz_before);
	free(tz_before);
}

/* Real zones are accepted; checking one changes nothing, setting one changes local time. */
static void
test_clock_zone_set(void **state)
{
	static const char *const good[] = {"Europe/London", "UTC", "America/New_York",
	                                   "Australia/Lord_Howe", "Asia/Kolkata"};
	time_t summer = U(2026, 7, 1, 12, 0, 0);
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (clock_check_timezone(good[i], &cause) != 0)
			fail_msg("%s: %s", good[i], cause);
	/* Only checked: still London (BST, +1). */
	assert_string_equal(getenv("TZ"), "Europe/London");
	expect_local(summer, L(2026, 7, 1, 13, 0), 0);

	assert_int_equal(clock_set_timezone("America/New_York", &cause), 0);
	assert_string_equal(getenv("TZ"), "America/New_York");
	expect_local(summer, L(2026, 7, 1, 8, 0), 0);
	assert_int_equal(clock_set_timezone("Asia/Kolkata", &cause), 0);
	expect_local(summer, L(2026, 7, 1, 17, 30), 0);
	assert_int_equal(clock_set_timezone("UTC", &cause), 0);
	expect_local(summer, L(2026, 7, 1, 12, 0), 0);
	assert_null(cause);
}

/* Names that are not zone names, or name no zone file, are refused with a reason. */
static void
test_clock_zone_refused(void **state)
{
	static const char *const not_names[] = {"",
	                                        "/etc/localtime",
	                                        "/usr/share/zoneinfo/UTC",
	                                        "../../etc/passwd",
	                                        "Europe/../Europe/London",
	                                        "Europe/London/.."};
	const char *dir =
	    getenv("TZDIR") && *getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
	char *want;

	(void)state;
	for (size_t i = 0; i < sizeof not_names / sizeof not_names[0]; i++) {
		want = xasprintf("\"%s\" is not a time zone name; expected e.g. \"Europe/London\"",
		                 not_names[i]);
		expect_zone_refused(not_names[i], want);
		free(want);
	}
	/* No such file, a directory, a file that is not a zone (glibc would quietly use UTC). */
	static const char *const unknown[] = {"Mars/Olympus_Mons", "Europe", "europe/london",
	                                      "Europe/London ", "zone.tab"};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		want = xasprintf("unknown time zone \"%s\" (no zone file %s/%s; is the tzdata "
		                 "package installed?)",
		                 unknown[i], dir, unknown[i]);
		expect_zone_refused(unknown[i], want);
		free(want);
	}
}

/* TZDIR is where the zone files are looked for; a file must start with "TZif". */
static void
test_clock_zone_tzdir(void **state)
{
	struct testdir *td = testdir_new();
	char *want, *cause = NULL;

	(void)state;
	free(testdir_write(td, "Test/Zone", "TZif2 and whatever follows"));
	free(testdir_write(td, "Test/Text", "# not a zone file\n"));
	free(testdir_write(td, "Test/Short", "TZi"));
	setenv("TZDIR", testdir_root(td), 1);
	assert_int_equal(clock_check_timezone("Test/Zone", &cause), 0);
	assert_null(cause);
	want =
	    xasprintf("unknown time zone \"Test/Text\" (no zone file %s/Test/Text; is the tzdata "
	              "package installed?)",
	              testdir_root(td));
	expect_zone_refused("Test/Text", want);
	free(want);
	want = xasprintf("unknown time zone \"Test/Short\" (no zone file %s/Test/Short; is the "
	                 "tzdata package installed?)",
	                 testdir_root(td));
	expect_zone_refused("Test/Short", want);
	free(want);
	/* The system's zones are not found there. */
	want = xasprintf("unknown time zone \"Europe/London\" (no zone file %s/Europe/London; is "
	                 "the tzdata package installed?)",
	                 testdir_root(td));
	expect_zone_refused("Europe/London", want);
	free(want);
	/* An empty TZDIR means the default directory. */
	setenv("TZDIR", "", 1);
	assert_int_equal(clock_check_timezone("Europe/London", &cause), 0);
	testdir_free(td);
}

/* clock_fix holds the clock still; 0 lets the real clock run again. */
static void
test_clock_fix(void **state)
{
	time_t before, after, now;

	(void)state;
	clock_fix(U(2027, 1, 13, 8, 0, 0));
	assert_true(clock_now() == U(2027, 1, 13, 8, 0, 0));
	assert_true(clock_now() == U(2027, 1, 13, 8, 0, 0));
	clock_fix(1);
	assert_true(clock_now() == 1);
	clock_fix(0);
	before = time(NULL);
	now = clock_now();
	after = time(NULL);
	assert_true(before <= now && now <= after);
}

/* Instants to London wall-clock time: GMT in winter, BST in summer, seconds apart. */
static void
test_clock_local(void **state)
{
	char *cause = NULL;

	(void)state;
	expect_local(U(2026, 1, 15, 8, 0, 0), L(2026, 1, 15, 8, 0), 0);
	expect_local(U(2026, 7, 1, 7, 0, 59), L(2026, 7, 1, 8, 0), 59);
	expect_local(U(2026, 12, 31, 23, 59, 30), L(2026, 12, 31, 23, 59), 30);
	/* BST crosses midnight: 23:30Z on 30 June is 00:30 on 1 July. */
	expect_local(U(2026, 6, 30, 23, 30, 0), L(2026, 7, 1, 0, 30), 0);
	/* The spring change: 00:59:59 GMT, then 02:00:00 BST. */
	expect_local(U(2026, 3, 29, 0, 59, 59), L(2026, 3, 29, 0, 59), 59);
	expect_local(U(2026, 3, 29, 1, 0, 0), L(2026, 3, 29, 2, 0), 0);
	/* The autumn change: 01:30 twice, an hour apart. */
	expect_local(U(2026, 10, 25, 0, 30, 0), L(2026, 10, 25, 1, 30), 0);
	expect_local(U(2026, 10, 25, 1, 30, 0), L(2026, 10, 25, 1, 30), 0);
	expect_local(U(2026, 10, 25, 0, 59, 59), L(2026, 10, 25, 1, 59), 59);
	expect_local(U(2026, 10, 25, 1, 0, 0), L(2026, 10, 25, 1, 0), 0);
	/* Before 1970 the minute count is negative. */
	assert_int_equal(clock_set_timezone("UTC", &cause), 0);
	expect_local(U(1969, 12, 31, 23, 59, 30), -1, 30);
	expect_local(U(1969, 12, 31, 0, 0, 0), -1440, 0);
	expect_local(0, 0, 0);
}

/* Wall-clock times to instants, away from any change. */
static void
test_clock_instant(void **state)
{
	char *cause = NULL;

	(void)state;
	expect_instant(L(2026, 1, 15, 8, 0), 0, U(2026, 1, 15, 8, 0, 0));
	expect_instant(L(2026, 7, 1, 8, 0), 0, U(2026, 7, 1, 7, 0, 0));
	expect_instant(L(2026, 7, 1, 8, 0), 59, U(2026, 7, 1, 7, 0, 59));
	expect_instant(L(2026, 7, 1, 0, 30), 0, U(2026, 6, 30, 23, 30, 0));
	assert_int_equal(clock_set_timezone("UTC", &cause), 0);
	expect_instant(0, 0, 0);
	expect_instant(-1, 30, U(1969, 12, 31, 23, 59, 30));
	expect_instant(-1440, 0, U(1969, 12, 31, 0, 0, 0));
	assert_int_equal(clock_set_timezone("Asia/Kolkata", &cause), 0);
	expect_instant(L(2026, 7, 1, 17, 30), 0, U(2026, 7, 1, 12, 0, 0));
}

/*
 * 2026-03-29 in London: 01:00 GMT becomes 02:00 BST, so 01:00-01:59 never happens. A
 * send_time in it is reached the moment the clocks jump (02:00 BST = 01:00Z), not an hour
 * later.
 */
static void
test_clock_instant_spring_gap(void **state)
{
	time_t jump = U(2026, 3, 29, 1, 0, 0);

	(void)state;
	expect_instant(L(2026, 3, 29, 0, 59), 0, U(2026, 3, 29, 0, 59, 0));
	expect_instant(L(2026, 3, 29, 0, 59), 59, U(2026, 3, 29, 0, 59, 59));
	expect_instant(L(2026, 3, 29, 1, 0), 0, jump);
	expect_instant(L(2026, 3, 29, 1, 30), 0, jump);
	expect_instant(L(2026, 3, 29, 1, 30), 30, jump);
	expect_instant(L(2026, 3, 29, 1, 59), 59, jump);
	expect_instant(L(2026, 3, 29, 2, 0), 0, jump);
	expect_instant(L(2026, 3, 29, 2, 0), 1, jump + 1);
	expect_instant(L(2026, 3, 29, 2, 30), 0, U(2026, 3, 29, 1, 30, 0));
	expect_instant(L(2026, 3, 29, 8, 0), 0, U(2026, 3, 29, 7, 0, 0));
}

/*
 * 2026-10-25 in London: 02:00 BST becomes 01:00 GMT, so 01:00-01:59 happens twice. A
 * send_time in it is the first one (BST), not the second an hour later.
 */
static void
test_clock_instant_autumn_twice(void **state)
{
	(void)state;
	expect_instant(L(2026, 10, 25, 0, 59), 0, U(2026, 10, 24, 23, 59, 0));
	expect_instant(L(2026, 10, 25, 1, 0), 0, U(2026, 10, 25, 0, 0, 0));
	expect_instant(L(2026, 10, 25, 1, 30), 0, U(2026, 10, 25, 0, 30, 0));
	expect_instant(L(2026, 10, 25, 1, 29), 57, U(2026, 10, 25, 0, 29, 57));
	expect_instant(L(2026, 10, 25, 1, 59), 59, U(2026, 10, 25, 0, 59, 59));
	expect_instant(L(2026, 10, 25, 2, 0), 0, U(2026, 10, 25, 2, 0, 0));
	expect_instant(L(2026, 10, 25, 8, 0), 0, U(2026, 10, 25, 8, 0, 0));
}

/* Other zones' changes: New York's, Lord Howe's half hour, Santiago's at midnight, Samoa's day. */
static void
test_clock_instant_other_zones(void **state)
{
	static const struct {
		const char *zone;
		int local[5]; /* y, m, d, hh, mm */
		int utc[5];
	} cases[] = {
	    /* 2026-03-08: 02:00 EST becomes 03:00 EDT. */
	    {"America/New_York", {2026, 3, 8, 1, 59}, {2026, 3, 8, 6, 59}},
	    {"America/New_York", {2026, 3, 8, 2, 30}, {2026, 3, 8, 7, 0}},
	    {"America/New_York", {2026, 3, 8, 3, 0}, {2026, 3, 8, 7, 0}},
	    /* 2026-11-01: 01:00-01:59 twice; the first (EDT). */
	    {"America/New_York", {2026, 11, 1, 1, 30}, {2026, 11, 1, 5, 30}},
	    /* 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11); 02:00-02:29 never happens. */
	    {"Australia/Lord_Howe", {2026, 10, 4, 1, 59}, {2026, 10, 3, 15, 29}},
	    {"Australia/Lord_Howe", {2026, 10, 4, 2, 0}, {2026, 10, 3, 15, 30}},
	    {"Australia/Lord_Howe", {2026, 10, 4, 2, 15}, {2026, 10, 3, 15, 30}},
	    {"Australia/Lord_Howe", {2026, 10, 4, 2, 30}, {2026, 10, 3, 15, 30}},
	    /* 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30); 01:30-01:59 twice: the first. */
	    {"Australia/Lord_Howe", {2026, 4, 5, 1, 30}, {2026, 4, 4, 14, 30}},
	    {"Australia/Lord_Howe", {2026, 4, 5, 1, 45}, {2026, 4, 4, 14, 45}},
	    {"Australia/Lord_Howe", {2026, 4, 5, 2, 0}, {2026, 4, 4, 15, 30}},
	    /* 2026-09-06: midnight (-4) becomes 01:00 (-3): the day starts with the gap. */
	    {"America/Santiago", {2026, 9, 6, 0, 0}, {2026, 9, 6, 4, 0}},
	    {"America/Santiago", {2026, 9, 6, 0, 30}, {2026, 9, 6, 4, 0}},
	    /* 2026-04-05: midnight (-3) becomes 23:00 (-4) the day before: 23:30 twice. */
	    {"America/Santiago", {2026, 4, 4, 23, 30}, {2026, 4, 5, 2, 30}},
	    /* Samoa skipped 2011-12-30 altogether (-10 to +14): any time that day is the jump. */
	    {"Pacific/Apia", {2011, 12, 29, 23, 59}, {2011, 12, 30, 9, 59}},
	    {"Pacific/Apia", {2011, 12, 30, 0, 0}, {2011, 12, 30, 10, 0}},
	    {"Pacific/Apia", {2011, 12, 30, 8, 0}, {2011, 12, 30, 10, 0}},
	    {"Pacific/Apia", {2011, 12, 31, 0, 0}, {2011, 12, 30, 10, 0}},
	};
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const int *l = cases[i].local, *u = cases[i].utc;

		if (clock_set_timezone(cases[i].zone, &cause) != 0)
			fail_msg("%s: %s", cases[i].zone, cause);
		expect_instant(L(l[0], l[1], l[2], l[3], l[4]), 0,
		               U(u[0], u[1], u[2], u[3], u[4], 0));
	}
	/* The second 01:45 of Lord Howe's repeated half hour is still 01:45. */
	assert_int_equal(clock_set_timezone("Australia/Lord_Howe", &cause), 0);
	assert_int_equal(clock_local(U(2026, 4, 4, 15, 15, 0), NULL), L(2026, 4, 5, 1, 45));
}

/*
 * Every minute of both change days, both ways: instant(local) comes back to the same
 * wall-clock time (or to 02:00 for the missing hour), never goes backwards, and
 * instant(local(x)) is x, or x - 1 hour for the second run of the repeated hour.
 */
static void
test_clock_round_trip_change_days(void **state)
{
	static const int days[][3] = {{2026, 3, 29}, {2026, 10, 25}};
	char a[DATETIME_STRLEN], b[DATETIME_STRLEN];

	(void)state;
	for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
		localtime_min_t day = L(days[d][0], days[d][1], days[d][2], 0, 0);
		time_t prev = 0, first = U(days[d][0], days[d][1], days[d][2], 0, 0, 0) - 3600;
		int missing = 0, repeated = 0;

		for (localtime_min_t t = day; t < day + 1440; t++) {
			time_t x = clock_instant(t, 0);
			localtime_min_t back = clock_local(x, NULL);

			if (back != t) {
				if (back != day + 120)
					fail_msg("%s came back as %s", localtime_format(t, a),
					         localtime_format(back, b));
				missing++;
			}
			assert_true(t == day || x >= prev);
			prev = x;
		}
		for (time_t x = first; x < first + 25 * 3600; x += 60) {
			time_t y = clock_instant(clock_local(x, NULL), 0);

			if (y == x - 3600)
				repeated++;
			else if (y != x)
				fail_msg("instant(local(%lld)) = %lld", (long long)x, (long long)y);
		}
		/* March: 60 minutes that never happen; October: 60 that happen twice. */
		assert_int_equal(missing, d == 0 ? 60 : 0);
		assert_int_equal(repeated, d == 0 ? 0 : 60);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_clock_zone_set),
	    T(test_clock_zone_refused),
	    T(test_clock_zone_tzdir),
	    T(test_clock_fix),
	    T(test_clock_local),
	    T(test_clock_instant),
	    T(test_clock_instant_spring_gap),
	    T(test_clock_instant_autumn_twice),
	    T(test_clock_instant_other_zones),
	    T(test_clock_round_trip_change_days),
	};

	return cmocka_run_group_tests_name("clock", tests, group_setup, group_teardown);
}
