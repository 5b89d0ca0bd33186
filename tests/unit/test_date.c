/* test_date.c - unit tests for rules/date.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"

/* Leap year by the Gregorian rule, written independently of date.c. */
static int
ref_leap(int y)
{
	if (y % 400 == 0)
		return 1;
	if (y % 100 == 0)
		return 0;
	return y % 4 == 0;
}

/* Days in a month, written independently of date.c. */
static int
ref_dim(int y, int m)
{
	switch (m) {
	case 2:
		return ref_leap(y) ? 29 : 28;
	case 4:
	case 6:
	case 9:
	case 11:
		return 30;
	default:
		return 31;
	}
}

/* Parse with date_parse and return the day, failing the test if it is rejected. */
static date_t
must_parse(const char *s)
{
	date_t d = 0;

	if (date_parse(s, &d) != 0)
		fail_msg("date_parse rejected \"%s\"", s);
	return d;
}

/* The fixed points: the epoch, around it, and both ends of the valid range. */
static void
test_date_known_numbers(void **state)
{
	int y, m, d;

	(void)state;
	assert_int_equal(date_from_ymd(1970, 1, 1), 0);
	assert_int_equal(date_from_ymd(1970, 1, 2), 1);
	assert_int_equal(date_from_ymd(1969, 12, 31), -1);
	assert_int_equal(date_from_ymd(2000, 1, 1), 10957);
	assert_int_equal(date_from_ymd(2000, 3, 1), 11017);
	assert_int_equal(date_from_ymd(2024, 2, 29), 19782);
	assert_int_equal(date_from_ymd(1900, 1, 1), -25567);
	assert_int_equal(date_from_ymd(1, 1, 1), -719162);
	assert_int_equal(date_from_ymd(9999, 12, 31), 2932896);

	date_to_ymd(-719162, &y, &m, &d);
	assert_int_equal(y, 1);
	assert_int_equal(m, 1);
	assert_int_equal(d, 1);
	date_to_ymd(2932896, &y, &m, &d);
	assert_int_equal(y, 9999);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
	date_to_ymd(-1, &y, &m, &d);
	assert_int_equal(y, 1969);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
}

/* Every day from 1900 to 2100 round-trips through ymd, format and parse. */
static void
test_date_roundtrip_1900_2100(void **state)
{
	char buf[DATE_STRLEN], want[32];
	int y = 1900, m = 1, d = 1, gy, gm, gd, count = 0;
	date_t day = date_from_ymd(1900, 1, 1), parsed;
	int wd = date_weekday(day);

	(void)state;
	assert_int_equal(wd, 1); /* 1900-01-01 was a Monday */
	while (y <= 2100) {
		assert_int_equal(date_from_ymd(y, m, d), day);
		date_to_ymd(day, &gy, &gm, &gd);
		if (gy != y || gm != m || gd != d)
			fail_msg("day %d: got %d-%d-%d, want %d-%d-%d", (int)day, gy, gm, gd, y, m,
			         d);
		assert_true(date_valid_ymd(y, m, d));
		snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
		assert_string_equal(date_format(day, buf), want);
		assert_int_equal(strlen(buf), DATE_STRLEN - 1);
		parsed = -1;
		assert_int_equal(date_parse(want, &parsed), 0);
		assert_int_equal(parsed, day);
		parsed = -1;
		assert_int_equal(date_parse_strict(want, &parsed), 0);
		assert_int_equal(parsed, day);
		assert_int_equal(date_weekday(day), wd);

		wd = wd == 7 ? 1 : wd + 1;
		day++;
		count++;
		if (++d > ref_dim(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	/* 201 years, 49 of them leap (1900 and 2100 are not, 2000 is). */
	assert_int_equal(count, 201 * 365 + 49);
	assert_int_equal(day, date_from_ymd(2101, 1, 1));
}

/* Round trip at the ends of the valid range and every 97th day across it. */
static void
test_date_roundtrip_full_range(void **state)
{
	char buf[DATE_STRLEN];
	date_t first = date_from_ymd(1, 1, 1), last = date_from_ymd(9999, 12, 31), parsed;
	int y, m, d;

	(void)state;
	for (date_t day = first; day <= last; day += 97) {
		date_to_ymd(day, &y, &m, &d);
		assert_true(date_valid_ymd(y, m, d));
		assert_int_equal(date_from_ymd(y, m, d), day);
		assert_int_equal(date_parse_strict(date_format(day, buf), &parsed), 0);
		assert_int_equal(parsed, day);
	}
	assert_string_equal(date_format(first, buf), "0001-01-01");
	assert_string_equal(date_format(last, buf), "9999-12-31");
	/* Outside the valid years: a fixed, unparseable placeholder, never an overrun. */
	assert_string_equal(date_format(first - 1, buf), "0000-00-00");
	assert_string_equal(date_format(last + 1, buf), "0000-00-00");
	assert_string_equal(date_format(INT32_MAX, buf), "0000-00-00");
	assert_string_equal(date_format(INT32_MIN, buf), "0000-00-00");
	assert_int_equal(date_parse("0000-00-00", &parsed), -1);
	assert_int_equal(date_parse("0001-01-01", &parsed), 0);
	assert_int_equal(parsed, first);
	assert_int_equal(date_parse("9999-12-31", &parsed), 0);
	assert_int_equal(parsed, last);
}

/* Leap years: 2000 yes, 1900 no, 2024 yes, 2100 no, 2023 no, 1600 yes. */
static void
test_date_leap_years(void **state)
{
	date_t d;

	(void)state;
	assert_int_equal(date_days_in_month(2000, 2), 29);
	assert_int_equal(date_days_in_month(1900, 2), 28);
	assert_int_equal(date_days_in_month(2024, 2), 29);
	assert_int_equal(date_days_in_month(2100, 2), 28);
	assert_int_equal(date_days_in_month(2023, 2), 28);
	assert_int_equal(date_days_in_month(1600, 2), 29);
	assert_int_equal(date_days_in_month(2400, 2), 29);

	assert_true(date_valid_ymd(2000, 2, 29));
	assert_false(date_valid_ymd(1900, 2, 29));
	assert_true(date_valid_ymd(2024, 2, 29));
	assert_false(date_valid_ymd(2100, 2, 29));
	assert_false(date_valid_ymd(2023, 2, 29));

	assert_int_equal(date_parse("2000-02-29", &d), 0);
	assert_int_equal(date_parse("1900-02-29", &d), -1);
	assert_int_equal(date_parse("2024-02-29", &d), 0);
	assert_int_equal(date_parse("2100-02-29", &d), -1);

	/* Year lengths through the day numbers. */
	assert_int_equal(date_from_ymd(2001, 1, 1) - date_from_ymd(2000, 1, 1), 366);
	assert_int_equal(date_from_ymd(1901, 1, 1) - date_from_ymd(1900, 1, 1), 365);
	assert_int_equal(date_from_ymd(2025, 1, 1) - date_from_ymd(2024, 1, 1), 366);
	assert_int_equal(date_from_ymd(2101, 1, 1) - date_from_ymd(2100, 1, 1), 365);
	/* 400 years are always 146097 days. */
	assert_int_equal(date_from_ymd(2401, 3, 1) - date_from_ymd(2001, 3, 1), 146097);
}

/* Days in every month, and months out of range. */
static void
test_date_days_in_month(void **state)
{
	static const int want[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	(void)state;
	for (int m = 1; m <= 12; m++) {
		assert_int_equal(date_days_in_month(2023, m), want[m - 1]);
		assert_int_equal(date_days_in_month(2024, m), m == 2 ? 29 : want[m - 1]);
	}
	assert_int_equal(date_days_in_month(2024, 0), 0);
	assert_int_equal(date_days_in_month(2024, 13), 0);
}

/* date_valid_ymd at every boundary. */
static void
test_date_valid_ymd(void **state)
{
	(void)state;
	assert_true(date_valid_ymd(1, 1, 1));
	assert_true(date_valid_ymd(9999, 12, 31));
	assert_false(date_valid_ymd(0, 1, 1));
	assert_false(date_valid_ymd(10000, 1, 1));
	assert_false(date_valid_ymd(-1, 1, 1));
	assert_false(date_valid_ymd(2024, 0, 1));
	assert_false(date_valid_ymd(2024, 13, 1));
	assert_false(date_valid_ymd(2024, 1, 0));
	assert_false(date_valid_ymd(2024, 1, 32));
	assert_true(date_valid_ymd(2024, 1, 31));
	assert_false(date_valid_ymd(2024, 4, 31));
	assert_true(date_valid_ymd(2024, 4, 30));
	assert_false(date_valid_ymd(2024, 2, 30));
	assert_false(date_valid_ymd(2024, 1, -1));
}

/* Strings that are not dates are rejected and leave *out alone. */
static void
test_date_parse_invalid(void **state)
{
	static const char *bad[] = {"2024-02-30",
	                            "2023-02-29",
	                            "31/01/2024",
	                            "2024-1-05",
	                            "2024-01-5",
	                            "",
	                            "2024-13-01",
	                            "2024-00-10",
	                            "2024-01-00",
	                            "2024-01-32",
	                            "2024-04-31",
	                            "2024-01-01x",
	                            "0000-01-01",
	                            "24-01-01",
	                            "20240101",
	                            "2024/01/01",
	                            " 2024-01-01",
	                            "2024-01",
	                            "2024",
	                            "-2024-01-01",
	                            "+2024-01-01",
	                            "2024-01-0a",
	                            "2024-0a-01",
	                            "x024-01-01",
	                            "2024--1-01",
	                            "2024-01--1",
	                            "2024-01-01\t09:00",
	                            "2024-01-01t09:00",
	                            "2024-01-011",
	                            "10000-01-01",
	                            "2024_01_01"};
	date_t d;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = 12345;
		if (date_parse(bad[i], &d) != -1)
			fail_msg("date_parse accepted \"%s\"", bad[i]);
		assert_int_equal(d, 12345);
		if (date_parse_strict(bad[i], &d) != -1)
			fail_msg("date_parse_strict accepted \"%s\"", bad[i]);
		assert_int_equal(d, 12345);
	}
	assert_int_equal(date_parse(NULL, &d), -1);
	assert_int_equal(date_parse_strict(NULL, &d), -1);
}

/* A time after 'T' or ' ' is ignored by date_parse but not by date_parse_strict. */
static void
test_date_parse_with_time(void **state)
{
	static const char *good[] = {"2024-01-01T09:00:00",
	                             "2024-01-01 09:00",
	                             "2024-01-01T",
	                             "2024-01-01 ",
	                             "2024-01-01T09:00:00.123+01:00",
	                             "2024-01-01 anything at all"};
	date_t want = date_from_ymd(2024, 1, 1), d;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		d = -1;
		if (date_parse(good[i], &d) != 0)
			fail_msg("date_parse rejected \"%s\"", good[i]);
		assert_int_equal(d, want);
		d = -1;
		if (date_parse_strict(good[i], &d) != -1)
			fail_msg("date_parse_strict accepted \"%s\"", good[i]);
		assert_int_equal(d, -1);
	}
	/* The date part must still be valid. */
	assert_int_equal(date_parse("2024-02-30T09:00:00", &d), -1);
	assert_int_equal(must_parse("2026-12-25 00:00:00"), date_from_ymd(2026, 12, 25));
}

/* ISO weekdays of known dates, before and after 1970. */
static void
test_date_weekday(void **state)
{
	static const struct {
		const char *date;
		int weekday;
	} cases[] = {
	    {"1970-01-01", 4}, {"1969-12-31", 3}, {"1969-12-28", 7}, {"1969-12-29", 1},
	    {"2000-01-01", 6}, {"2024-01-01", 1}, {"2024-02-29", 4}, {"2025-04-18", 5},
	    {"2025-04-21", 1}, {"2026-12-25", 5}, {"2026-12-26", 6}, {"2026-12-27", 7},
	    {"2026-12-28", 1}, {"2027-01-01", 5}, {"1900-01-01", 1}, {"0001-01-01", 1},
	    {"9999-12-31", 5}, {"1066-10-14", 7}, {"1752-09-14", 4}, {"2100-03-01", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = date_weekday(must_parse(cases[i].date));

		if (got != cases[i].weekday)
			fail_msg("%s: weekday %d, want %d", cases[i].date, got, cases[i].weekday);
	}
	/* Every weekday number 1..7 appears in a week of negative day numbers. */
	for (date_t d = -21; d < 0; d++) {
		int w = date_weekday(d);

		assert_in_range(w, 1, 7);
		assert_int_equal(date_weekday(d + 1), w == 7 ? 1 : w + 1);
	}
}

/* date_add_months: one case. */
struct month_case {
	const char *from;
	int n;
	const char *want;
};

/* Month arithmetic, clamping at the month's end in both directions. */
static void
test_date_add_months(void **state)
{
	static const struct month_case cases[] = {
	    {"2024-01-31", 1, "2024-02-29"},     {"2023-01-31", 1, "2023-02-28"},
	    {"2024-03-31", -1, "2024-02-29"},    {"2023-03-31", -1, "2023-02-28"},
	    {"2024-01-31", 2, "2024-03-31"},     {"2024-01-31", 3, "2024-04-30"},
	    {"2024-05-31", -1, "2024-04-30"},    {"2024-01-15", 1, "2024-02-15"},
	    {"2024-01-15", 0, "2024-01-15"},     {"2024-01-31", 0, "2024-01-31"},
	    {"2024-12-31", 1, "2025-01-31"},     {"2024-11-30", 3, "2025-02-28"},
	    {"2025-01-31", -1, "2024-12-31"},    {"2025-01-15", -13, "2023-12-15"},
	    {"2024-02-29", 12, "2025-02-28"},    {"2024-02-29", -12, "2023-02-28"},
	    {"2024-02-29", 48, "2028-02-29"},    {"2024-02-29", 1, "2024-03-29"},
	    {"2024-08-31", 6, "2025-02-28"},     {"2024-08-31", -6, "2024-02-29"},
	    {"2024-01-01", -1, "2023-12-01"},    {"2024-01-01", -12, "2023-01-01"},
	    {"2024-01-01", -24, "2022-01-01"},   {"2024-06-30", 1200, "2124-06-30"},
	    {"2024-06-30", -1200, "1924-06-30"}, {"2000-02-29", 1200, "2100-02-28"},
	    {"1999-12-31", 2, "2000-02-29"},     {"1899-12-31", 2, "1900-02-28"},
	    {"1970-01-31", -1, "1969-12-31"},    {"1969-11-30", 3, "1970-02-28"},
	    {"2024-10-31", 1, "2024-11-30"},     {"2024-12-01", 11, "2025-11-01"},
	    {"2024-12-01", 12, "2025-12-01"},    {"2024-12-01", 13, "2026-01-01"},
	};
	char buf[DATE_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		date_format(date_add_months(must_parse(cases[i].from), cases[i].n), buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s %+d months: %s, want %s", cases[i].from, cases[i].n, buf,
			         cases[i].want);
	}
}

/* date_add_months against a reference for many dates and offsets. */
static void
test_date_add_months_property(void **state)
{
	date_t start = date_from_ymd(1950, 1, 1), end = date_from_ymd(2050, 12, 31);
	int y, m, d, gy, gm, gd;

	(void)state;
	for (date_t day = start; day <= end; day += 13) {
		date_to_ymd(day, &y, &m, &d);
		for (int n = -30; n <= 30; n += 7) {
			int months = y * 12 + (m - 1) + n;
			int wy = months / 12, wm = months % 12 + 1;
			int wd = d < ref_dim(wy, wm) ? d : ref_dim(wy, wm);

			date_to_ymd(date_add_months(day, n), &gy, &gm, &gd);
			if (gy != wy || gm != wm || gd != wd)
				fail_msg("%d-%d-%d %+d: %d-%d-%d, want %d-%d-%d", y, m, d, n, gy,
				         gm, gd, wy, wm, wd);
			/* Up to day 28 the operation is exactly reversible. */
			if (d <= 28)
				assert_int_equal(date_add_months(date_add_months(day, n), -n), day);
		}
	}
}

/* Local minute counts: parse every form, format, and round trip. */
static void
test_localtime_parse_format(void **state)
{
	char buf[DATETIME_STRLEN];
	localtime_min_t t = -1;
	int sec = -1;

	(void)state;
	assert_int_equal(localtime_parse("1970-01-01T00:00:00", &t, &sec), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sec, 0);
	assert_int_equal(localtime_parse("1970-01-01T00:01:59", &t, &sec), 0);
	assert_int_equal(t, 1);
	assert_int_equal(sec, 59);
	assert_int_equal(localtime_parse("2024-03-05T09:30:15", &t, &sec), 0);
	assert_int_equal(t, (localtime_min_t)date_from_ymd(2024, 3, 5) * 1440 + 9 * 60 + 30);
	assert_int_equal(sec, 15);
	assert_string_equal(localtime_format(t, buf), "2024-03-05T09:30:00");

	sec = -1;
	assert_int_equal(localtime_parse("2024-03-05T23:59", &t, &sec), 0);
	assert_int_equal(t, (localtime_min_t)date_from_ymd(2024, 3, 5) * 1440 + 1439);
	assert_int_equal(sec, 0);
	sec = -1;
	assert_int_equal(localtime_parse("2024-03-05", &t, &sec), 0);
	assert_int_equal(t, (localtime_min_t)date_from_ymd(2024, 3, 5) * 1440);
	assert_int_equal(sec, 0);
	assert_string_equal(localtime_format(t, buf), "2024-03-05T00:00:00");

	/* sec may be NULL. */
	assert_int_equal(localtime_parse("2024-03-05T01:02:03", &t, NULL), 0);
	assert_int_equal(t, (localtime_min_t)date_from_ymd(2024, 3, 5) * 1440 + 62);

	/* Before 1970: negative minutes still format as wall-clock times. */
	assert_int_equal(localtime_parse("1969-12-31T23:59:00", &t, &sec), 0);
	assert_int_equal(t, -1);
	assert_string_equal(localtime_format(-1, buf), "1969-12-31T23:59:00");
	assert_string_equal(localtime_format(-1440, buf), "1969-12-31T00:00:00");
	assert_string_equal(localtime_format(-1441, buf), "1969-12-30T23:59:00");
	assert_string_equal(localtime_format(0, buf), "1970-01-01T00:00:00");
	assert_int_equal(strlen(buf), DATETIME_STRLEN - 1);
}

/* Out-of-range fields and malformed times are rejected, leaving outputs alone. */
static void
test_localtime_parse_invalid(void **state)
{
	static const char *bad[] = {
	    "2024-03-05T24:00:00",
	    "2024-03-05T23:60:00",
	    "2024-03-05T23:59:60",
	    "2024-03-05T9:00:00",
	    "2024-03-05T09:0:00",
	    "2024-03-05T09:00:0",
	    "2024-03-05T09",
	    "2024-03-05T",
	    "2024-03-05T09:00:00Z",
	    "2024-03-05T09:00:00.5",
	    "2024-03-05x",
	    "2024-02-30T09:00:00",
	    "",
	    "09:00:00",
	    "2024-03-05T09-00-00",
	    "2024-03-05T-1:00:00",
	    "2024-03-05T09:00:",
	    "2024-03-05T99:99:99",
	};
	localtime_min_t t;
	int sec;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = 777;
		sec = 77;
		if (localtime_parse(bad[i], &t, &sec) != -1)
			fail_msg("localtime_parse accepted \"%s\"", bad[i]);
		assert_int_equal(t, 777);
		assert_int_equal(sec, 77);
	}
	assert_int_equal(localtime_parse(NULL, &t, &sec), -1);
}

/* Every minute of two days (one before 1970) round-trips through format and parse. */
static void
test_localtime_roundtrip(void **state)
{
	static const localtime_min_t starts[] = {-1440 * 2, 19782LL * 1440};
	char buf[DATETIME_STRLEN];
	localtime_min_t back;
	int sec;

	(void)state;
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		for (localtime_min_t t = starts[i]; t < starts[i] + 2 * 1440; t++) {
			localtime_format(t, buf);
			sec = -1;
			assert_int_equal(localtime_parse(buf, &back, &sec), 0);
			assert_int_equal(back, t);
			assert_int_equal(sec, 0);
		}
	}
	/* And one minute a day over 1900..2100, at a moving time of day. */
	for (date_t d = date_from_ymd(1900, 1, 1); d <= date_from_ymd(2100, 12, 31); d++) {
		localtime_min_t t = (localtime_min_t)d * 1440 + ((d % 1440) + 1440) % 1440;

		assert_int_equal(localtime_parse(localtime_format(t, buf), &back, NULL), 0);
		assert_int_equal(back, t);
	}
}

/* Dates and times as people read them: weekday, day without a leading zero, month, year. */
static void
test_date_human(void **state)
{
	char d[DATE_HUMAN_LEN], t[LOCALTIME_HUMAN_LEN];

	(void)state;
	assert_string_equal(date_human(date_from_ymd(2026, 12, 21), d), "Mon 21 Dec 2026");
	assert_string_equal(date_human(date_from_ymd(2024, 2, 29), d), "Thu 29 Feb 2024");
	assert_string_equal(date_human(date_from_ymd(1969, 12, 31), d), "Wed 31 Dec 1969");
	assert_string_equal(
	    localtime_human((localtime_min_t)date_from_ymd(2027, 1, 1) * 1440 + 8 * 60 + 5, t),
	    "Fri 1 Jan 2027 08:05");
	/* Before 1970 the minutes count down from the epoch: still the right day and time. */
	assert_string_equal(localtime_human(-1, t), "Wed 31 Dec 1969 23:59");
	assert_string_equal(date_month_abbrev(1), "Jan");
	assert_string_equal(date_month_abbrev(13), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date_known_numbers),
	    cmocka_unit_test(test_date_roundtrip_1900_2100),
	    cmocka_unit_test(test_date_roundtrip_full_range),
	    cmocka_unit_test(test_date_leap_years),
	    cmocka_unit_test(test_date_days_in_month),
	    cmocka_unit_test(test_date_valid_ymd),
	    cmocka_unit_test(test_date_parse_invalid),
	    cmocka_unit_test(test_date_parse_with_time),
	    cmocka_unit_test(test_date_weekday),
	    cmocka_unit_test(test_date_add_months),
	    cmocka_unit_test(test_date_add_months_property),
	    cmocka_unit_test(test_localtime_parse_format),
	    cmocka_unit_test(test_localtime_parse_invalid),
	    cmocka_unit_test(test_localtime_roundtrip),
	    cmocka_unit_test(test_date_human),
	};

	return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
