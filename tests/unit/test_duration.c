/* test_duration.c - unit tests for rules/duration.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "date.h"
#include "duration.h"

/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
static date_t
D(const char *s)
{
	date_t d = 0;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date literal \"%s\"", s);
	return d;
}

/* One accepted duration. */
struct good_case {
	const char *text;
	int n;
	enum duration_unit unit;
};

/* Every unit form, signs, repeated and surrounding spaces. */
static void
test_duration_parse_units(void **state)
{
	static const struct good_case cases[] = {
	    {"1 day", 1, DUR_DAYS},
	    {"1 days", 1, DUR_DAYS},
	    {"5 days", 5, DUR_DAYS},
	    {"5 day", 5, DUR_DAYS},
	    {"1 working day", 1, DUR_WORKING_DAYS},
	    {"20 working days", 20, DUR_WORKING_DAYS},
	    {"20 working day", 20, DUR_WORKING_DAYS},
	    {"1 working days", 1, DUR_WORKING_DAYS},
	    {"1 week", 1, DUR_WEEKS},
	    {"6 weeks", 6, DUR_WEEKS},
	    {"6 week", 6, DUR_WEEKS},
	    {"1 month", 1, DUR_MONTHS},
	    {"6 months", 6, DUR_MONTHS},
	    {"6 month", 6, DUR_MONTHS},
	    {"-5 working days", -5, DUR_WORKING_DAYS},
	    {"+5 working days", 5, DUR_WORKING_DAYS},
	    {"-1 month", -1, DUR_MONTHS},
	    {"+3 weeks", 3, DUR_WEEKS},
	    {"0 days", 0, DUR_DAYS},
	    {"-0 days", 0, DUR_DAYS},
	    {"+0 months", 0, DUR_MONTHS},
	    {"007 days", 7, DUR_DAYS},
	    {"  20   working    days  ", 20, DUR_WORKING_DAYS},
	    {"20  working days", 20, DUR_WORKING_DAYS},
	    {"20 working  days", 20, DUR_WORKING_DAYS},
	    {" -3 weeks", -3, DUR_WEEKS},
	    {"3 weeks ", 3, DUR_WEEKS},
	    {"\t15\tworking\tdays\t", 15, DUR_WORKING_DAYS},
	    {"36600 days", 36600, DUR_DAYS},
	    {"-36600 days", -36600, DUR_DAYS},
	    {"26000 working days", 26000, DUR_WORKING_DAYS},
	    {"-26000 working days", -26000, DUR_WORKING_DAYS},
	    {"5200 weeks", 5200, DUR_WEEKS},
	    {"-5200 weeks", -5200, DUR_WEEKS},
	    {"1200 months", 1200, DUR_MONTHS},
	    {"-1200 months", -1200, DUR_MONTHS},
	    {"000000000000000000000000001 day", 1, DUR_DAYS},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct duration dur = {.n = 999, .unit = DUR_MONTHS};
		char *cause = NULL;

		if (duration_parse(cases[i].text, &dur, &cause) != 0)
			fail_msg("\"%s\" rejected: %s", cases[i].text, cause ? cause : "(null)");
		assert_null(cause);
		if (dur.n != cases[i].n || dur.unit != cases[i].unit)
			fail_msg("\"%s\": n %d unit %d, want n %d unit %d", cases[i].text, dur.n,
			         (int)dur.unit, cases[i].n, (int)cases[i].unit);
		/* And cause may be NULL. */
		dur.n = 999;
		assert_int_equal(duration_parse(cases[i].text, &dur, NULL), 0);
		assert_int_equal(dur.n, cases[i].n);
	}
}

/* One rejected duration and its exact message. */
struct bad_case {
	const char *text;
	const char *cause;
};

/* Everything else is rejected with a message saying what was expected. */
static void
test_duration_parse_errors(void **state)
{
	static const struct bad_case cases[] = {
	    {"", "\"\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"   ", "\"   \": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"5", "\"5\": missing unit after 5; expected day(s), working day(s), week(s) or "
	          "month(s)"},
	    {"-5  ", "\"-5  \": missing unit after -5; expected day(s), working day(s), week(s) "
	             "or month(s)"},
	    {"days", "\"days\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"five days", "\"five days\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"1.5 days", "\"1.5 days\": expected a whole number, a space and a unit, e.g. \"20 "
	                 "working days\""},
	    {"5days", "\"5days\": expected a whole number, a space and a unit, e.g. \"20 working "
	              "days\""},
	    {"0x10 days", "\"0x10 days\": expected a whole number, a space and a unit, e.g. \"20 "
	                  "working days\""},
	    {"1,000 days", "\"1,000 days\": expected a whole number, a space and a unit, e.g. "
	                   "\"20 working days\""},
	    {"- 5 days", "\"- 5 days\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"+-5 days", "\"+-5 days\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"--5 days", "\"--5 days\": expected \"<number> <unit>\", e.g. \"20 working days\""},
	    {"5 wrking days", "\"5 wrking days\": unknown unit \"wrking days\"; did you mean "
	                      "\"working days\"?"},
	    {"5  wrking   days ", "\"5  wrking   days \": unknown unit \"wrking days\"; did you "
	                          "mean \"working days\"?"},
	    {"5 Days", "\"5 Days\": unknown unit \"Days\"; did you mean \"days\"?"},
	    {"5 workingdays", "\"5 workingdays\": unknown unit \"workingdays\"; did you mean "
	                      "\"working days\"?"},
	    {"5 working", "\"5 working\": unknown unit \"working\"; expected day(s), working "
	                  "day(s), week(s) or month(s)"},
	    {"5 fortnights", "\"5 fortnights\": unknown unit \"fortnights\"; expected day(s), "
	                     "working day(s), week(s) or month(s)"},
	    {"5 days ago", "\"5 days ago\": unknown unit \"days ago\"; expected day(s), working "
	                   "day(s), week(s) or month(s)"},
	    {"5 dayss", "\"5 dayss\": unknown unit \"dayss\"; did you mean \"days\"?"},
	    {"5 years", "\"5 years\": unknown unit \"years\"; expected day(s), working day(s), "
	                "week(s) or month(s)"},
	    {"5 d", "\"5 d\": unknown unit \"d\"; expected day(s), working day(s), week(s) or "
	            "month(s)"},
	    {"5 5 days", "\"5 5 days\": unknown unit \"5 days\"; did you mean \"days\"?"},
	    {"99999999999 days", "\"99999999999 days\": 99999999999 is out of range; the number "
	                         "of days must be between -36600 and 36600"},
	    {"-99999999999999999999999999 days",
	     "\"-99999999999999999999999999 days\": -99999999999999999999999999 is out of range; "
	     "the number of days must be between -36600 and 36600"},
	    {"36601 days", "\"36601 days\": 36601 is out of range; the number of days must be "
	                   "between -36600 and 36600"},
	    {"-36601 day", "\"-36601 day\": -36601 is out of range; the number of days must be "
	                   "between -36600 and 36600"},
	    {"26001 working days", "\"26001 working days\": 26001 is out of range; the number "
	                           "of working days must be between -26000 and 26000"},
	    {"5201 weeks", "\"5201 weeks\": 5201 is out of range; the number of weeks must be "
	                   "between -5200 and 5200"},
	    {"-1201 months", "\"-1201 months\": -1201 is out of range; the number of months must "
	                     "be between -1200 and 1200"},
	    {"2147483648 months", "\"2147483648 months\": 2147483648 is out of range; the number "
	                          "of months must be between -1200 and 1200"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct duration dur = {.n = 777, .unit = DUR_WEEKS};
		char *cause = NULL;

		if (duration_parse(cases[i].text, &dur, &cause) != -1)
			fail_msg("\"%s\" accepted as %d/%d", cases[i].text, dur.n, (int)dur.unit);
		if (cause == NULL)
			fail_msg("\"%s\": no cause", cases[i].text);
		if (strcmp(cause, cases[i].cause) != 0)
			fail_msg("\"%s\":\n  got:  %s\n  want: %s", cases[i].text, cause,
			         cases[i].cause);
		free(cause);
		/* The output is untouched. */
		assert_int_equal(dur.n, 777);
		assert_int_equal(dur.unit, DUR_WEEKS);
		/* And cause may be NULL. */
		assert_int_equal(duration_parse(cases[i].text, &dur, NULL), -1);
	}
}

/* Each limit in the header is the boundary: n passes, n + 1 fails, both signs. */
static void
test_duration_parse_limits(void **state)
{
	static const struct {
		const char *unit;
		int max;
	} units[] = {
	    {"days", DURATION_MAX_DAYS},
	    {"working days", DURATION_MAX_WORKING_DAYS},
	    {"weeks", DURATION_MAX_WEEKS},
	    {"months", DURATION_MAX_MONTHS},
	};
	char text[64], *cause;
	struct duration dur;

	(void)state;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		for (int sign = -1; sign <= 1; sign += 2) {
			snprintf(text, sizeof text, "%d %s", sign * units[i].max, units[i].unit);
			assert_int_equal(duration_parse(text, &dur, NULL), 0);
			assert_int_equal(dur.n, sign * units[i].max);
			snprintf(text, sizeof text, "%d %s", sign * (units[i].max + 1),
			         units[i].unit);
			cause = NULL;
			assert_int_equal(duration_parse(text, &dur, &cause), -1);
			assert_non_null(cause);
			assert_non_null(strstr(cause, "out of range"));
			free(cause);
		}
	}
}

/* Applying days, weeks and months. */
static void
test_duration_apply_calendar_units(void **state)
{
	static const struct {
		const char *from, *dur, *want;
	} cases[] = {
	    {"2024-01-31", "30 days", "2024-03-01"},  {"2024-01-31", "1 day", "2024-02-01"},
	    {"2024-03-01", "-1 day", "2024-02-29"},   {"2024-12-31", "1 day", "2025-01-01"},
	    {"2024-03-02", "0 days", "2024-03-02"},   {"2024-01-01", "2 weeks", "2024-01-15"},
	    {"2024-01-01", "-1 week", "2023-12-25"},  {"2024-02-26", "1 week", "2024-03-04"},
	    {"2024-01-31", "1 month", "2024-02-29"},  {"2024-03-31", "-1 month", "2024-02-29"},
	    {"2024-08-31", "6 months", "2025-02-28"}, {"2024-06-15", "-18 months", "2022-12-15"},
	    {"2024-06-15", "0 months", "2024-06-15"}, {"2024-02-29", "12 months", "2025-02-28"},
	};
	char buf[DATE_STRLEN];
	struct duration dur;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(duration_parse(cases[i].dur, &dur, NULL), 0);
		date_format(duration_apply(&dur, NULL, D(cases[i].from)), buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s + %s: %s, want %s", cases[i].from, cases[i].dur, buf,
			         cases[i].want);
	}
}

/* Applying working days uses the calendar's holidays. */
static void
test_duration_apply_working_days(void **state)
{
	struct calendar *cal = calendar_new();
	struct calendar *none = calendar_new();
	struct duration dur;

	(void)state;
	calendar_add_holiday(cal, D("2026-12-25"));
	calendar_add_holiday(cal, D("2026-12-28"));
	calendar_add_holiday(cal, D("2027-01-01"));

	assert_int_equal(duration_parse("4 working days", &dur, NULL), 0);
	assert_int_equal(duration_apply(&dur, cal, D("2026-12-24")), D("2027-01-04"));
	assert_int_equal(duration_apply(&dur, none, D("2026-12-24")), D("2026-12-30"));
	assert_int_equal(duration_parse("20 working days", &dur, NULL), 0);
	assert_int_equal(duration_apply(&dur, cal, D("2026-12-14")), D("2027-01-14"));
	assert_int_equal(duration_parse("-4 working days", &dur, NULL), 0);
	assert_int_equal(duration_apply(&dur, cal, D("2027-01-04")), D("2026-12-24"));
	assert_int_equal(duration_parse("1 working day", &dur, NULL), 0);
	assert_int_equal(duration_apply(&dur, cal, D("2026-12-26")), D("2026-12-29"));
	assert_int_equal(duration_apply(&dur, none, D("2026-12-26")), D("2026-12-28"));
	/* Calendar days ignore the holidays. */
	assert_int_equal(duration_parse("4 days", &dur, NULL), 0);
	assert_int_equal(duration_apply(&dur, cal, D("2026-12-24")), D("2026-12-28"));
	calendar_free(cal);
	calendar_free(none);
}

/* Canonical text, and parse(format(x)) == x for every unit and sign. */
static void
test_duration_format(void **state)
{
	static const struct {
		struct duration dur;
		const char *want;
	} cases[] = {
	    {{-5, DUR_WORKING_DAYS}, "-5 working days"},
	    {{1, DUR_WORKING_DAYS}, "1 working day"},
	    {{-1, DUR_WORKING_DAYS}, "-1 working day"},
	    {{0, DUR_DAYS}, "0 days"},
	    {{1, DUR_DAYS}, "1 day"},
	    {{15, DUR_DAYS}, "15 days"},
	    {{1, DUR_WEEKS}, "1 week"},
	    {{6, DUR_WEEKS}, "6 weeks"},
	    {{1, DUR_MONTHS}, "1 month"},
	    {{-6, DUR_MONTHS}, "-6 months"},
	    {{-26000, DUR_WORKING_DAYS}, "-26000 working days"},
	};
	char buf[32];
	struct duration back;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_string_equal(duration_format(&cases[i].dur, buf, sizeof buf), cases[i].want);
		assert_int_equal(duration_parse(buf, &back, NULL), 0);
		assert_int_equal(back.n, cases[i].dur.n);
		assert_int_equal(back.unit, cases[i].dur.unit);
	}
	/* A short buffer is truncated, never overrun. */
	memset(buf, 'z', sizeof buf);
	duration_format(&cases[0].dur, buf, 5);
	assert_string_equal(buf, "-5 w");
	assert_int_equal(buf[5], 'z');
}

/* Only working days depend on the calendar. */
static void
test_duration_uses_calendar(void **state)
{
	struct duration dur;

	(void)state;
	assert_int_equal(duration_parse("5 working days", &dur, NULL), 0);
	assert_true(duration_uses_calendar(&dur));
	assert_int_equal(duration_parse("5 days", &dur, NULL), 0);
	assert_false(duration_uses_calendar(&dur));
	assert_int_equal(duration_parse("5 weeks", &dur, NULL), 0);
	assert_false(duration_uses_calendar(&dur));
	assert_int_equal(duration_parse("5 months", &dur, NULL), 0);
	assert_false(duration_uses_calendar(&dur));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_parse_units),
	    cmocka_unit_test(test_duration_parse_errors),
	    cmocka_unit_test(test_duration_parse_limits),
	    cmocka_unit_test(test_duration_apply_calendar_units),
	    cmocka_unit_test(test_duration_apply_working_days),
	    cmocka_unit_test(test_duration_format),
	    cmocka_unit_test(test_duration_uses_calendar),
	};

	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
