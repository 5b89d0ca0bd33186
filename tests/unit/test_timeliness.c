/*
 * test_timeliness.c - unit tests for rules/timeliness.c: on time or late by the rule's own due
 * date and the working-day calendar, reporting periods, and the figures of a period. Every date
 * is counted by hand in the comments.
 */
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
#include "ew_fixture.h"
#include "timeliness.h"

/* A clock rule due after due (a duration as rule files spell it). */
static void
make_rule(struct rule *r, const char *due)
{
	char *cause = NULL;

	memset(r, 0, sizeof *r);
	r->working_days_only = true;
	if (duration_parse(due, &r->due, &cause) != 0)
		fail_msg("bad duration \"%s\": %s", due, cause);
}

/* Classify (start, done) under r and check the due date, the result and the days late. */
static void
expect(const struct rule *r, const struct calendar *cal, const char *start, const char *done,
       const char *due, enum timeliness_result want, int want_late)
{
	char got[DATE_STRLEN];
	date_t d;
	int late = -1;
	enum timeliness_result res = timeliness_classify(r, cal, D(start), D(done), &d, &late);

	date_format(d, got);
	if (strcmp(got, due) != 0 || res != want || late != want_late)
		fail_msg(
		    "start %s done %s: due %s, result %d, %d late; expected due %s, result %d, "
		    "%d late",
		    start, done, got, res, late, due, want, want_late);
}

/*
 * 20 working days over Christmas: start Fri 2026-12-18; working days after it 12-21..24 (1-4),
 * 12-25 and 12-28 are bank holidays, 12-29..31 (5-7), 2027-01-01 a holiday, 01-04..08 (8-12),
 * 01-11..15 (13-17), 01-18..20 (18-20): due Wed 2027-01-20.
 */
static void
test_timeliness_christmas(void **state)
{
	struct calendar *cal = ew_calendar();
	struct rule r;

	(void)state;
	make_rule(&r, "20 working days");
	/* Done on the due date: on time. */
	expect(&r, cal, "2026-12-18", "2027-01-20", "2027-01-20", TIMELINESS_ON_TIME, 0);
	/* The day it started: on time. */
	expect(&r, cal, "2026-12-18", "2026-12-18", "2027-01-20", TIMELINESS_ON_TIME, 0);
	/* Thu 01-21: 1 working day late; Mon 01-25: 01-21, 01-22, 01-25: 3. */
	expect(&r, cal, "2026-12-18", "2027-01-21", "2027-01-20", TIMELINESS_LATE, 1);
	expect(&r, cal, "2026-12-18", "2027-01-25", "2027-01-20", TIMELINESS_LATE, 3);
	/* Sat 01-23: the working days after due up to it are 01-21 and 01-22: 2. */
	expect(&r, cal, "2026-12-18", "2027-01-23", "2027-01-20", TIMELINESS_LATE, 2);
	/* Done the day before it started: bad data, neither on time nor late. */
	expect(&r, cal, "2026-12-18", "2026-12-17", "2027-01-20", TIMELINESS_BEFORE_START, 0);
	/*
	 * Due just before Christmas and done after it: start Thu 2026-11-26 + 20 working days:
	 * 11-27 (1), 11-30..12-04 (2-6), 12-07..11 (7-11), 12-14..18 (12-16), 12-21..24 (17-20):
	 * due Thu 12-24. Done Tue 12-29: 12-25 and 12-28 are holidays, so 12-29 is 1 day late.
	 */
	expect(&r, cal, "2026-11-26", "2026-12-29", "2026-12-24", TIMELINESS_LATE, 1);
	calendar_free(cal);
}

/*
 * Easter 2026 (Good Friday 04-03, Easter Monday 04-06): start Mon 2026-03-02 + 20 working days:
 * 03-03..06 (1-4), 03-09..13 (5-9), 03-16..20 (10-14), 03-23..27 (15-19), 03-30 (20): due Mon
 * 03-30. Done Wed 04-08: 03-31 (1), 04-01 (2), 04-02 (3), 04-07 (4), 04-08 (5) late.
 */
static void
test_timeliness_easter(void **state)
{
	struct calendar *cal = ew_calendar();
	struct rule r;

	(void)state;
	make_rule(&r, "20 working days");
	expect(&r, cal, "2026-03-02", "2026-04-08", "2026-03-30", TIMELINESS_LATE, 5);
	/* Done on Easter Monday itself: 03-31, 04-01, 04-02: 3 working days late. */
	expect(&r, cal, "2026-03-02", "2026-04-06", "2026-03-30", TIMELINESS_LATE, 3);
	calendar_free(cal);
}

/* Months clamp at a month's end; a leap year has its 29 February. */
static void
test_timeliness_month_ends(void **state)
{
	struct calendar *cal = ew_calendar();
	struct rule r;

	(void)state;
	make_rule(&r, "1 month");
	/* 2024-01-31 + 1 month = Thu 2024-02-29 (leap year): done then, on time; Fri 03-01: 1. */
	expect(&r, cal, "2024-01-31", "2024-02-29", "2024-02-29", TIMELINESS_ON_TIME, 0);
	expect(&r, cal, "2024-01-31", "2024-03-01", "2024-02-29", TIMELINESS_LATE, 1);
	/* 2026-01-31 + 1 month = Sat 2026-02-28: done Mon 03-02 is 1 working day after it. */
	expect(&r, cal, "2026-01-31", "2026-03-02", "2026-02-28", TIMELINESS_LATE, 1);
	/* 3 months from 2025-11-30 is 2026-02-28; done Fri 2026-02-27: on time. */
	make_rule(&r, "3 months");
	expect(&r, cal, "2025-11-30", "2026-02-27", "2026-02-28", TIMELINESS_ON_TIME, 0);
	calendar_free(cal);
}

/* Periods start at from + k months, from `from` itself (no drift after a clamp). */
static void
test_timeliness_periods(void **state)
{
	struct timeliness_periods p;
	char buf[DATE_STRLEN];

	(void)state;
	/* A financial year by quarter: 2026-04-01 .. 2027-03-31, four quarters. */
	assert_int_equal(timeliness_periods_init(&p, D("2026-04-01"), D("2027-03-31"), 3), 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(date_format(timeliness_period_start(&p, 3), buf), "2027-01-01");
	assert_int_equal(timeliness_period_of(&p, D("2026-04-01")), 0);
	assert_int_equal(timeliness_period_of(&p, D("2026-06-30")), 0);
	assert_int_equal(timeliness_period_of(&p, D("2026-07-01")), 1);
	assert_int_equal(timeliness_period_of(&p, D("2027-03-31")), 3);
	assert_int_equal(timeliness_period_of(&p, D("2027-04-01")), -1);
	assert_int_equal(timeliness_period_of(&p, D("2026-03-31")), -1);
	timeliness_periods_free(&p);
	/* Monthly from 31 January: 01-31, 02-28, 03-31, 04-30 (each clamped from the 31st). */
	assert_int_equal(timeliness_periods_init(&p, D("2026-01-31"), D("2026-05-29"), 1), 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(date_format(timeliness_period_start(&p, 1), buf), "2026-02-28");
	assert_string_equal(date_format(timeliness_period_start(&p, 2), buf), "2026-03-31");
	assert_int_equal(timeliness_period_of(&p, D("2026-02-27")), 0);
	assert_int_equal(timeliness_period_of(&p, D("2026-02-28")), 1);
	assert_int_equal(timeliness_period_of(&p, D("2026-03-30")), 1);
	assert_int_equal(timeliness_period_of(&p, D("2026-03-31")), 2);
	assert_int_equal(timeliness_period_of(&p, D("2026-05-29")), 3);
	/* One past the last: the day after the range's last period ends. */
	assert_string_equal(date_format(timeliness_period_start(&p, 4), buf), "2026-05-31");
	timeliness_periods_free(&p);
	/* Monthly over five years: 60 periods, each day found in its own. */
	assert_int_equal(timeliness_periods_init(&p, D("2021-12-08"), D("2026-12-07"), 1), 0);
	assert_int_equal(p.n, 60);
	for (date_t day = D("2021-12-08"); day <= D("2026-12-07"); day++) {
		long k = timeliness_period_of(&p, day);

		assert_true(k >= 0 && k < 60);
		assert_true(timeliness_period_start(&p, (size_t)k) <= day);
		assert_true(timeliness_period_start(&p, (size_t)k + 1) > day);
	}
	timeliness_periods_free(&p);
	/* A year that holds a leap day. */
	assert_int_equal(timeliness_periods_init(&p, D("2024-01-01"), D("2024-12-31"), 12), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(timeliness_period_of(&p, D("2024-02-29")), 0);
	timeliness_periods_free(&p);
	/* Nothing to report on. */
	assert_int_equal(timeliness_periods_init(&p, D("2026-04-01"), D("2026-03-31"), 1), -1);
	assert_int_equal(timeliness_periods_init(&p, D("2026-04-01"), D("2026-04-30"), 0), -1);
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Counts of days kept as a histogram: its median and maximum agree with a sorted list's, for
 * values past the first allocation and a few far out (a clock late by years).
 */
static void
test_timeliness_days(void **state)
{
	struct timeliness_days d = {0};
	int v[2001];
	double median;
	int max;

	(void)state;
	assert_false(timeliness_days_figures(&d, &median, &max));
	srand(7);
	for (int n = 1; n <= 2001; n++) {
		v[n - 1] = n % 97 == 0 ? 400 + rand() % 2000 : rand() % 30;
		timeliness_days_add(&d, v[n - 1]);
		if (n % 250 == 1 || n == 2000 || n == 2001) {
			int *sorted = malloc((size_t)n * sizeof *sorted);

			memcpy(sorted, v, (size_t)n * sizeof *sorted);
			qsort(sorted, (size_t)n, sizeof *sorted, int_cmp);
			assert_true(timeliness_days_figures(&d, &median, &max));
			assert_true(median == (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0);
			assert_int_equal(max, sorted[n - 1]);
			free(sorted);
		}
	}
	timeliness_days_free(&d);
	/* A negative count (bad data upstream) counts as 0 days. */
	timeliness_days_add(&d, -3);
	assert_true(timeliness_days_figures(&d, &median, &max));
	assert_true(median == 0.0 && max == 0);
	timeliness_days_free(&d);
}

/* Completed, on time, late, percent, median and maximum working days late. */
static void
test_timeliness_figures(void **state)
{
	struct timeliness_tally t;
	struct timeliness_figures f;

	(void)state;
	memset(&t, 0, sizeof t);
	timeliness_figures(&t, &f);
	assert_false(f.has_percent);
	assert_false(f.has_late);
	timeliness_add(&t, TIMELINESS_ON_TIME, 0);
	timeliness_add(&t, TIMELINESS_LATE, 5);
	timeliness_add(&t, TIMELINESS_LATE, 1);
	timeliness_add(&t, TIMELINESS_BEFORE_START, 0); /* not counted at all */
	timeliness_add(&t, TIMELINESS_ON_TIME, 0);
	timeliness_add(&t, TIMELINESS_LATE, 3);
	timeliness_add(&t, TIMELINESS_LATE, 3);
	assert_int_equal(t.completed, 6);
	assert_int_equal(t.on_time, 2);
	assert_int_equal(t.late, 4);
	timeliness_figures(&t, &f);
	/* 2 of 6 on time: 33.3 %; late 1, 3, 3, 5: median (3 + 3) / 2 = 3, max 5. */
	assert_true(f.has_percent && f.has_late);
	assert_true(f.percent > 33.33 && f.percent < 33.34);
	assert_true(f.median == 3.0);
	assert_int_equal(f.max, 5);
	/* One more late, 2: 1, 2, 3, 3, 5: median 3. Then 8: 1, 2, 3, 3, 5, 8: median 3. */
	timeliness_add(&t, TIMELINESS_LATE, 2);
	timeliness_figures(&t, &f);
	assert_true(f.median == 3.0);
	timeliness_add(&t, TIMELINESS_LATE, 8);
	timeliness_figures(&t, &f);
	assert_true(f.median == 3.0);
	assert_int_equal(f.max, 8);
	timeliness_tally_free(&t);
	/* Two late, 1 and 2: the median falls between them, 1.5. All on time: 100 %. */
	memset(&t, 0, sizeof t);
	timeliness_add(&t, TIMELINESS_LATE, 2);
	timeliness_add(&t, TIMELINESS_LATE, 1);
	timeliness_figures(&t, &f);
	assert_true(f.median == 1.5);
	assert_true(f.percent == 0.0);
	timeliness_tally_free(&t);
	memset(&t, 0, sizeof t);
	timeliness_add(&t, TIMELINESS_ON_TIME, 0);
	timeliness_figures(&t, &f);
	assert_true(f.percent == 100.0);
	assert_false(f.has_late);
	timeliness_tally_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timeliness_christmas),  cmocka_unit_test(test_timeliness_easter),
	    cmocka_unit_test(test_timeliness_month_ends), cmocka_unit_test(test_timeliness_periods),
	    cmocka_unit_test(test_timeliness_figures),    cmocka_unit_test(test_timeliness_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
