/* test_calendar.c - unit tests for rules/calendar.c. */
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
#include "diag.h"
#include "testdir.h"

/* England and Wales bank holidays 2015-2030 (shared/domain.md). */
static const char *const ew_holidays[] = {
    "2015-01-01", "2015-04-03", "2015-04-06", "2015-05-04", "2015-05-25", "2015-08-31",
    "2015-12-25", "2015-12-28", "2016-01-01", "2016-03-25", "2016-03-28", "2016-05-02",
    "2016-05-30", "2016-08-29", "2016-12-26", "2016-12-27", "2017-01-02", "2017-04-14",
    "2017-04-17", "2017-05-01", "2017-05-29", "2017-08-28", "2017-12-25", "2017-12-26",
    "2018-01-01", "2018-03-30", "2018-04-02", "2018-05-07", "2018-05-28", "2018-08-27",
    "2018-12-25", "2018-12-26", "2019-01-01", "2019-04-19", "2019-04-22", "2019-05-06",
    "2019-05-27", "2019-08-26", "2019-12-25", "2019-12-26", "2020-01-01", "2020-04-10",
    "2020-04-13", "2020-05-08", "2020-05-25", "2020-08-31", "2020-12-25", "2020-12-28",
    "2021-01-01", "2021-04-02", "2021-04-05", "2021-05-03", "2021-05-31", "2021-08-30",
    "2021-12-27", "2021-12-28", "2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02",
    "2022-06-02", "2022-06-03", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27",
    "2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29",
    "2023-08-28", "2023-12-25", "2023-12-26", "2024-01-01", "2024-03-29", "2024-04-01",
    "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26", "2025-01-01",
    "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25",
    "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25",
    "2026-08-31", "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29",
    "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28", "2028-01-03",
    "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25",
    "2028-12-26", "2029-01-01", "2029-03-30", "2029-04-02", "2029-05-07", "2029-05-28",
    "2029-08-27", "2029-12-25", "2029-12-26", "2030-01-01", "2030-04-19", "2030-04-22",
    "2030-05-06", "2030-05-27", "2030-08-26", "2030-12-25", "2030-12-26",
};
#define EW_COUNT ((int)(sizeof ew_holidays / sizeof ew_holidays[0]))

/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
static date_t
D(const char *s)
{
	date_t d = 0;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date literal \"%s\"", s);
	return d;
}

/* The reference holiday set: a plain sorted list searched with bsearch(3). */
struct ref {
	date_t v[512];
	int n;
};

/* Order two days for qsort(3) and bsearch(3). */
static int
ref_cmp(const void *a, const void *b)
{
	date_t x = *(const date_t *)a, y = *(const date_t *)b;

	return (x > y) - (x < y);
}

/* Is d in the reference set? */
static int
ref_is_holiday(const struct ref *r, date_t d)
{
	return bsearch(&d, r->v, (size_t)r->n, sizeof r->v[0], ref_cmp) != NULL;
}

/* A working day by the reference set: Monday-Friday and not listed. */
static int
ref_is_working(const struct ref *r, date_t d)
{
	return date_weekday(d) <= 5 && !ref_is_holiday(r, d);
}

/* The product contract, literally: step one day at a time counting working days. */
static date_t
ref_add(const struct ref *r, date_t d, int n)
{
	int step = n > 0 ? 1 : -1, counted = 0;

	while (counted != (n > 0 ? n : -n)) {
		d += step;
		if (ref_is_working(r, d))
			counted++;
	}
	return d;
}

/* Add a holiday to both the calendar and the reference. */
static void
both_add(struct calendar *cal, struct ref *r, date_t d)
{
	calendar_add_holiday(cal, d);
	if (!ref_is_holiday(r, d)) {
		assert_true(r->n < (int)(sizeof r->v / sizeof r->v[0]));
		r->v[r->n++] = d;
		qsort(r->v, (size_t)r->n, sizeof r->v[0], ref_cmp);
	}
}

/* A calendar holding the England and Wales list. */
static struct calendar *
ew_calendar(struct ref *r)
{
	struct calendar *cal = calendar_new();

	if (r != NULL)
		r->n = 0;
	for (int i = 0; i < EW_COUNT; i++) {
		if (r != NULL)
			both_add(cal, r, D(ew_holidays[i]));
		else
			calendar_add_holiday(cal, D(ew_holidays[i]));
	}
	return cal;
}

/* Fail unless entry i of d is at level and reads exactly "path" + rest. */
static void
assert_diag(const struct diag *d, size_t i, enum diag_level level, const char *path,
            const char *rest)
{
	char *want = xasprintf("%s%s", path, rest);

	if (i >= d->n)
		fail_msg("no message %zu (only %zu); wanted: %s", i, d->n, want);
	if (strcmp(d->v[i].text, want) != 0)
		fail_msg("message %zu:\n  got:  %s\n  want: %s", i, d->v[i].text, want);
	assert_int_equal(d->v[i].level, level);
	free(want);
}

/* Format a day into buf for failure messages. */
static const char *
fmt(date_t d, char *buf)
{
	return date_format(d, buf);
}

/* Check one calendar_add_working_days case. */
static void
check_add(const struct calendar *cal, const char *from, int n, const char *want)
{
	char a[DATE_STRLEN];
	date_t got = calendar_add_working_days(cal, D(from), n);

	if (got != D(want))
		fail_msg("%s %+d working days: %s, want %s", from, n, fmt(got, a), want);
}

/* An empty calendar: weekends only, the contract's own examples. */
static void
test_calendar_weekends(void **state)
{
	struct calendar *cal = calendar_new();

	(void)state;
	assert_int_equal(calendar_count(cal), 0);
	assert_int_equal(calendar_first_year(cal), 0);
	assert_int_equal(calendar_last_year(cal), 0);

	check_add(cal, "2024-03-01", 1, "2024-03-04");  /* Friday + 1 = Monday */
	check_add(cal, "2024-03-02", 1, "2024-03-04");  /* Saturday + 1 = Monday */
	check_add(cal, "2024-03-03", 1, "2024-03-04");  /* Sunday + 1 = Monday */
	check_add(cal, "2024-03-03", -1, "2024-03-01"); /* Sunday - 1 = Friday */
	check_add(cal, "2024-03-02", -1, "2024-03-01"); /* Saturday - 1 = Friday */
	check_add(cal, "2024-03-04", -1, "2024-03-01"); /* Monday - 1 = Friday */
	check_add(cal, "2024-03-05", -1, "2024-03-04"); /* Tuesday - 1 = Monday */
	check_add(cal, "2024-03-04", 1, "2024-03-05");  /* Monday + 1 = Tuesday */
	check_add(cal, "2024-03-02", 0, "2024-03-02");  /* 0 on a Saturday: same day */
	check_add(cal, "2024-03-03", 0, "2024-03-03");  /* 0 on a Sunday: same day */
	check_add(cal, "2024-03-04", 0, "2024-03-04");
	check_add(cal, "2024-03-04", 5, "2024-03-11"); /* a week */
	check_add(cal, "2024-03-11", -5, "2024-03-04");
	check_add(cal, "2024-03-02", 5, "2024-03-08");  /* Saturday + 5 = Friday */
	check_add(cal, "2024-03-03", -5, "2024-02-26"); /* Sunday - 5 = Monday */
	check_add(cal, "2024-03-01", 20, "2024-03-29");
	check_add(cal, "2024-03-29", -20, "2024-03-01");
	check_add(cal, "1970-01-01", 1, "1970-01-02");
	check_add(cal, "1970-01-02", 1, "1970-01-05");
	check_add(cal, "1969-12-31", 2, "1970-01-02");
	check_add(cal, "1970-01-05", -1, "1970-01-02");
	check_add(cal, "1970-01-01", -3, "1969-12-29");

	assert_true(calendar_is_working_day(cal, D("2024-03-01")));
	assert_false(calendar_is_working_day(cal, D("2024-03-02")));
	assert_false(calendar_is_working_day(cal, D("2024-03-03")));
	assert_true(calendar_is_working_day(cal, D("2024-03-04")));
	assert_false(calendar_is_holiday(cal, D("2024-03-02")));
	assert_int_equal(calendar_next_working_day(cal, D("2024-03-02")), D("2024-03-04"));
	assert_int_equal(calendar_next_working_day(cal, D("2024-03-03")), D("2024-03-04"));
	assert_int_equal(calendar_next_working_day(cal, D("2024-03-04")), D("2024-03-04"));
	assert_int_equal(calendar_next_working_day(cal, D("2024-03-01")), D("2024-03-01"));
	calendar_free(cal);
}

/* calendar_add_holiday keeps one sorted copy of each day. */
static void
test_calendar_add_holiday(void **state)
{
	struct calendar *cal = calendar_new();

	(void)state;
	calendar_add_holiday(cal, D("2025-04-21"));
	calendar_add_holiday(cal, D("2025-04-18"));
	calendar_add_holiday(cal, D("2025-04-21"));
	calendar_add_holiday(cal, D("2025-04-19")); /* a Saturday */
	calendar_add_holiday(cal, D("2025-04-18"));
	assert_int_equal(calendar_count(cal), 3);
	assert_true(calendar_is_holiday(cal, D("2025-04-18")));
	assert_true(calendar_is_holiday(cal, D("2025-04-19")));
	assert_true(calendar_is_holiday(cal, D("2025-04-21")));
	assert_false(calendar_is_holiday(cal, D("2025-04-20")));
	assert_false(calendar_is_holiday(cal, D("2025-04-22")));
	assert_false(calendar_is_holiday(cal, D("2025-04-17")));
	assert_false(calendar_is_working_day(cal, D("2025-04-18")));
	assert_false(calendar_is_working_day(cal, D("2025-04-21")));
	assert_true(calendar_is_working_day(cal, D("2025-04-17")));
	assert_true(calendar_is_working_day(cal, D("2025-04-22")));
	/* Adding holidays is not loading a file: no coverage. */
	assert_int_equal(calendar_first_year(cal), 0);
	assert_int_equal(calendar_last_year(cal), 0);

	/* A holiday added after a computation changes later answers. */
	check_add(cal, "2025-04-22", 1, "2025-04-23");
	calendar_add_holiday(cal, D("2025-04-23"));
	check_add(cal, "2025-04-22", 1, "2025-04-24");
	assert_int_equal(calendar_count(cal), 4);
	calendar_free(cal);
}

/* 20 working days over Christmas and New Year 2026 with England and Wales holidays. */
static void
test_calendar_christmas_2026(void **state)
{
	struct calendar *cal = ew_calendar(NULL);

	(void)state;
	assert_int_equal(calendar_count(cal), EW_COUNT);
	check_add(cal, "2026-12-14", 20, "2027-01-14");
	check_add(cal, "2026-12-18", 20, "2027-01-20");
	check_add(cal, "2026-12-24", 20, "2027-01-26");
	check_add(cal, "2026-12-24", 1, "2026-12-29");
	check_add(cal, "2026-12-24", 4, "2027-01-04");
	check_add(cal, "2027-01-04", -4, "2026-12-24");
	check_add(cal, "2027-01-22", -20, "2026-12-22");
	check_add(cal, "2027-01-14", -20, "2026-12-14");
	assert_int_equal(calendar_next_working_day(cal, D("2026-12-25")), D("2026-12-29"));
	assert_int_equal(calendar_next_working_day(cal, D("2027-01-01")), D("2027-01-04"));
	assert_false(calendar_is_working_day(cal, D("2026-12-28")));
	calendar_free(cal);
}

/* Easter 2025, starting on and around the holidays. */
static void
test_calendar_easter_2025(void **state)
{
	struct calendar *cal = ew_calendar(NULL);

	(void)state;
	check_add(cal, "2025-04-17", 1, "2025-04-22");  /* Thursday before Good Friday */
	check_add(cal, "2025-04-18", 1, "2025-04-22");  /* starting on Good Friday */
	check_add(cal, "2025-04-19", 1, "2025-04-22");  /* Easter Saturday */
	check_add(cal, "2025-04-21", 1, "2025-04-22");  /* starting on Easter Monday */
	check_add(cal, "2025-04-21", -1, "2025-04-17"); /* back from Easter Monday */
	check_add(cal, "2025-04-22", -1, "2025-04-17");
	check_add(cal, "2025-04-18", -1, "2025-04-17");
	check_add(cal, "2025-04-18", 0, "2025-04-18"); /* 0 on a holiday: same day */
	check_add(cal, "2025-04-21", 0, "2025-04-21");
	check_add(cal, "2025-04-14", 10, "2025-04-30");
	check_add(cal, "2025-04-28", -10, "2025-04-10");
	assert_int_equal(calendar_next_working_day(cal, D("2025-04-18")), D("2025-04-22"));
	assert_int_equal(calendar_next_working_day(cal, D("2025-04-17")), D("2025-04-17"));
	calendar_free(cal);
}

/* A tiny deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* An integer in [lo, hi]. */
static int
rnd_range(uint64_t *s, int lo, int hi)
{
	return lo + (int)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* Compare with the step-by-step reference for one start and n. */
static void
check_against_ref(const struct calendar *cal, const struct ref *r, date_t start, int n)
{
	char a[DATE_STRLEN], b[DATE_STRLEN], c[DATE_STRLEN];
	date_t got = calendar_add_working_days(cal, start, n);
	date_t want = n == 0 ? start : ref_add(r, start, n);

	if (got != want)
		fail_msg("%s %+d working days: %s, want %s", fmt(start, a), n, fmt(got, b),
		         fmt(want, c));
}

/* Random starts and offsets in [-400, 400], inside and far outside the holiday years. */
static void
test_calendar_property_random(void **state)
{
	struct ref r;
	struct calendar *cal = ew_calendar(&r);
	uint64_t seed = 0x5eed2026c0ffeeULL;
	static const struct {
		const char *from, *to;
	} ranges[] = {
	    {"2013-01-01", "2032-12-31"}, /* around the holidays */
	    {"1989-06-01", "1991-06-01"}, /* far before */
	    {"2079-06-01", "2081-06-01"}, /* far after */
	    {"2014-12-01", "2015-01-31"}, /* the first holiday's edge */
	    {"2030-12-01", "2031-01-31"}, /* the last holiday's edge */
	};

	(void)state;
	/* Weekend holidays must change nothing; add a few. */
	both_add(cal, &r, D("2026-12-26"));
	both_add(cal, &r, D("2020-05-09"));
	both_add(cal, &r, D("2031-01-05"));
	/* And an isolated one far from the rest, and a run of consecutive days. */
	both_add(cal, &r, D("2045-06-14"));
	for (date_t d = D("2033-08-01"); d <= D("2033-08-20"); d++)
		both_add(cal, &r, d);

	for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
		int from = D(ranges[k].from), to = D(ranges[k].to);

		for (int i = 0; i < 4000; i++) {
			date_t start = rnd_range(&seed, from, to);
			int n = rnd_range(&seed, -400, 400);

			check_against_ref(cal, &r, start, n);
		}
	}
	/* Large offsets that cross the whole holiday range from outside it. */
	for (int i = 0; i < 200; i++) {
		date_t start = rnd_range(&seed, D("2005-01-01"), D("2014-06-30"));

		check_against_ref(cal, &r, start, rnd_range(&seed, 4000, 6000));
		start = rnd_range(&seed, D("2034-01-01"), D("2045-12-31"));
		check_against_ref(cal, &r, start, -rnd_range(&seed, 4000, 6000));
	}
	calendar_free(cal);
}

/* Every start day over 2014-2032 with every small offset, plus next_working_day. */
static void
test_calendar_property_exhaustive(void **state)
{
	struct ref r;
	struct calendar *cal = ew_calendar(&r);
	char a[DATE_STRLEN];

	(void)state;
	for (date_t d = D("2014-11-01"); d <= D("2031-02-28"); d++) {
		date_t want_next = d;

		for (int n = -12; n <= 12; n++)
			check_against_ref(cal, &r, d, n);
		assert_int_equal(calendar_is_holiday(cal, d), ref_is_holiday(&r, d));
		assert_int_equal(calendar_is_working_day(cal, d), ref_is_working(&r, d));
		while (!ref_is_working(&r, want_next))
			want_next++;
		if (calendar_next_working_day(cal, d) != want_next)
			fail_msg("next working day from %s", fmt(d, a));
		/* Stepping forward then back returns to the working day itself. */
		if (ref_is_working(&r, d)) {
			assert_int_equal(calendar_add_working_days(
			                     cal, calendar_add_working_days(cal, d, 7), -7),
			                 d);
		}
	}
	calendar_free(cal);
}

/* The empty calendar against the reference, including before 1970 and near year 9999. */
static void
test_calendar_property_no_holidays(void **state)
{
	struct ref r = {.n = 0};
	struct calendar *cal = calendar_new();
	uint64_t seed = 42;

	(void)state;
	for (date_t d = D("1969-12-01"); d <= D("1970-02-01"); d++) {
		for (int n = -15; n <= 15; n++)
			check_against_ref(cal, &r, d, n);
	}
	for (int i = 0; i < 5000; i++) {
		check_against_ref(cal, &r, rnd_range(&seed, D("0002-01-01"), D("9998-01-01")),
		                  rnd_range(&seed, -400, 400));
	}
	calendar_free(cal);
}

/* Holiday file contents with every allowed form. */
static const char good_file[] = "\xef\xbb\xbf# England and Wales\r\n"
                                "\r\n"
                                "2025-01-01\r\n"
                                "  2025-04-18   # Good Friday\n"
                                "\t2025-04-21\t#Easter Monday\n"
                                "2025-05-05 \n"
                                "   \n"
                                "   # indented comment\n"
                                "2025-04-18\n"
                                "2026-12-28";

/* A good file: comments, blanks, spaces, CRLF, a BOM, duplicates, no final newline. */
static void
test_calendar_load_good(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "holidays.txt", good_file);
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_count(cal), 5);
	assert_true(calendar_is_holiday(cal, D("2025-01-01")));
	assert_true(calendar_is_holiday(cal, D("2025-04-18")));
	assert_true(calendar_is_holiday(cal, D("2025-04-21")));
	assert_true(calendar_is_holiday(cal, D("2025-05-05")));
	assert_true(calendar_is_holiday(cal, D("2026-12-28")));
	assert_false(calendar_is_holiday(cal, D("2025-04-19")));
	/* No covers line: from the first date's year to the last's. */
	assert_int_equal(calendar_first_year(cal), 2025);
	assert_int_equal(calendar_last_year(cal), 2026);
	check_add(cal, "2025-04-17", 1, "2025-04-22");

	/* Loading it again changes nothing. */
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(calendar_count(cal), 5);
	assert_int_equal(d.n, 0);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* The whole England and Wales list from a file, with a covers line. */
static void
test_calendar_load_covers(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	struct diag d;
	char *text = xstrdup("# England and Wales\n# covers: 2015-2030\n"), *path, *more;

	for (int i = EW_COUNT - 1; i >= 0; i--) { /* unsorted on purpose */
		more = xasprintf("%s%s\n", text, ew_holidays[i]);
		free(text);
		text = more;
	}
	path = testdir_write(td, "ew.txt", text);
	free(text);
	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_count(cal), EW_COUNT);
	assert_int_equal(calendar_first_year(cal), 2015);
	assert_int_equal(calendar_last_year(cal), 2030);
	check_add(cal, "2026-12-14", 20, "2027-01-14");
	free(path);

	/* A covers line wider than the dates wins over them. */
	path = testdir_write(td, "wide.txt", "2024-12-25\n#covers:2020-2035\n2025-12-25\n");
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_first_year(cal), 2015);
	assert_int_equal(calendar_last_year(cal), 2035);
	assert_int_equal(calendar_count(cal), EW_COUNT);
	free(path);

	/* Another file only widens coverage: min of first years, max of last years. */
	path = testdir_write(td, "old.txt", "# covers: 2010 - 2012\n2011-01-03\n");
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_first_year(cal), 2010);
	assert_int_equal(calendar_last_year(cal), 2035);
	assert_int_equal(calendar_count(cal), EW_COUNT + 1);
	assert_true(calendar_is_holiday(cal, D("2011-01-03")));
	free(path);

	/* Duplicates between files are merged. */
	path = testdir_write(td, "dups.txt", "2025-04-18\n2025-04-21\n");
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(calendar_count(cal), EW_COUNT + 1);
	assert_int_equal(d.n, 0);
	free(path);
	diag_free(&d);
	calendar_free(cal);
}

/* Without a covers line an unsorted file covers its earliest to its latest year. */
static void
test_calendar_load_unsorted(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path =
	    testdir_write(td, "holidays.txt", "2026-01-01\n2024-12-25\n2027-12-27\n2025-12-25\n");
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_count(cal), 4);
	assert_int_equal(calendar_first_year(cal), 2024);
	assert_int_equal(calendar_last_year(cal), 2027);
	check_add(cal, "2027-12-24", 1, "2027-12-28");
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* The shipped holiday files load cleanly; England and Wales equals the domain list. */
static void
test_calendar_load_shipped(void **state)
{
	static const char *files[] = {"england-and-wales.txt", "scotland.txt",
	                              "northern-ireland.txt"};
	const char *srcdir = getenv("SRCDIR");
	struct calendar *all = calendar_new();
	struct diag d;
	char *path;

	(void)state;
	if (srcdir == NULL)
		skip();
	diag_init(&d);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct calendar *cal = calendar_new();

		path = xasprintf("%s/etc/holidays/%s", srcdir, files[i]);
		if (calendar_load_file(cal, path, &d) != 0 || d.n != 0)
			fail_msg("%s: %s", path, d.n != 0 ? d.v[0].text : "failed");
		assert_int_equal(calendar_first_year(cal), 2015);
		assert_int_equal(calendar_last_year(cal), 2030);
		assert_true(calendar_count(cal) >= 16 * 8);
		if (i == 0) {
			assert_int_equal(calendar_count(cal), EW_COUNT);
			for (int j = 0; j < EW_COUNT; j++)
				assert_true(calendar_is_holiday(cal, D(ew_holidays[j])));
			check_add(cal, "2026-12-14", 20, "2027-01-14");
			assert_string_equal(calendar_holiday_name(cal, D("2026-12-25")),
			                    "Christmas Day");
			assert_string_equal(calendar_holiday_name(cal, D("2026-12-28")),
			                    "Boxing Day (substitute day)");
			assert_string_equal(calendar_holiday_name(cal, D("2027-03-26")),
			                    "Good Friday");
			/* Every holiday of the shipped file is named. */
			for (int j = 0; j < EW_COUNT; j++)
				assert_non_null(calendar_holiday_name(cal, D(ew_holidays[j])));
		}
		assert_int_equal(calendar_load_file(all, path, &d), 0);
		free(path);
		calendar_free(cal);
	}
	/* Together: the union, deduplicated. */
	assert_true(calendar_count(all) > EW_COUNT);
	assert_true(calendar_is_holiday(all, D("2025-03-17"))); /* St Patrick's Day */
	assert_true(calendar_is_holiday(all, D("2025-01-02"))); /* Scotland */
	assert_true(calendar_is_holiday(all, D("2025-04-21"))); /* Easter Monday */
	diag_free(&d);
	calendar_free(all);
}

/* A covers line with the dates outside it: a warning per date, still loaded. */
static void
test_calendar_load_outside_covers(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "holidays.txt",
	                           "2024-12-25\n# covers: 2025-2025\n2025-12-25\n2026-01-01\n");
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.errors, 0);
	assert_diag(&d, 0, DIAG_WARNING, path,
	            ":1: 2024-12-25 is outside the years the file covers (2025-2025, line 2)");
	assert_diag(&d, 1, DIAG_WARNING, path,
	            ":4: 2026-01-01 is outside the years the file covers (2025-2025, line 2)");
	assert_int_equal(calendar_count(cal), 3);
	assert_int_equal(calendar_first_year(cal), 2025);
	assert_int_equal(calendar_last_year(cal), 2025);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* An empty or comment-only file loads nothing and states no coverage. */
static void
test_calendar_load_empty(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "comments.txt", "# nothing yet\n\n");
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_count(cal), 0);
	assert_int_equal(calendar_first_year(cal), 0);
	assert_int_equal(calendar_last_year(cal), 0);
	free(path);
	path = testdir_write(td, "empty.txt", "");
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(calendar_count(cal), 0);
	free(path);
	diag_free(&d);
	calendar_free(cal);
}

/* Every bad line is reported with its line number and the calendar is unchanged. */
static void
test_calendar_load_errors(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "holidays.txt",
	                           "# holidays\n"                /* 1 */
	                           "2025-01-01\n"                /* 2 */
	                           "2024-02-30\n"                /* 3 */
	                           "\n"                          /* 4 */
	                           "31/01/2024\n"                /* 5 */
	                           "2024-01-01 2024-01-02\n"     /* 6 */
	                           "  2024-1-05  # short\r\n"    /* 7 */
	                           "2025-12-25 # fine\n"         /* 8 */
	                           "2024-13-01\n"                /* 9 */
	                           "2024-01-01#x\n"              /* 10 */
	                           "2023-02-29\n"                /* 11 */
	                           "2024-01-00\n"                /* 12 */
	                           "0000-01-01\n"                /* 13 */
	                           "2024-01-01 junk # comment\n" /* 14 */
	                           "2026-01-01\n");              /* 15 */
	struct diag d;
	size_t i = 0;

	calendar_add_holiday(cal, D("2020-01-01"));
	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), -1);
	assert_int_equal(d.errors, 10);
	assert_int_equal(d.n, 10);
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":3: \"2024-02-30\" is not a date (February 2024 has 29 days); expected one "
	            "YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":5: \"31/01/2024\" is not a date; expected one YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":6: unexpected \"2024-01-02\" after the date; expected one YYYY-MM-DD date "
	            "per line, optionally followed by a # comment");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":7: \"2024-1-05\" is not a date; expected one YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":9: \"2024-13-01\" is not a date (there is no month 13); expected one "
	            "YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":10: \"2024-01-01#x\" is not a date; expected one YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":11: \"2023-02-29\" is not a date (February 2023 has 28 days); expected one "
	            "YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":12: \"2024-01-00\" is not a date (there is no day 00); expected one "
	            "YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":13: \"0000-01-01\" is not a date (there is no year 0000); expected one "
	            "YYYY-MM-DD date per line");
	assert_diag(&d, i++, DIAG_ERROR, path,
	            ":14: unexpected \"junk # comment\" after the date; expected one YYYY-MM-DD "
	            "date per line, optionally followed by a # comment");

	/* Nothing from the file was added, not even its good lines. */
	assert_int_equal(calendar_count(cal), 1);
	assert_false(calendar_is_holiday(cal, D("2025-01-01")));
	assert_false(calendar_is_holiday(cal, D("2025-12-25")));
	assert_false(calendar_is_holiday(cal, D("2026-01-01")));
	assert_true(calendar_is_holiday(cal, D("2020-01-01")));
	assert_int_equal(calendar_first_year(cal), 0);
	assert_int_equal(calendar_last_year(cal), 0);
	check_add(cal, "2024-12-31", 1, "2025-01-01");
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* A very long bad line is quoted only in part. */
static void
test_calendar_load_long_line(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char line[300], *path, *want;
	struct diag d;

	memset(line, 'x', sizeof line - 2);
	line[sizeof line - 2] = '\n';
	line[sizeof line - 1] = '\0';
	path = testdir_write(td, "holidays.txt", line);
	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), -1);
	want = xasprintf(":1: \"%.60s...\" is not a date; expected one YYYY-MM-DD date per line",
	                 line);
	assert_diag(&d, 0, DIAG_ERROR, path, want);
	free(want);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* Bad covers lines are errors; other comments mentioning covers are not. */
static void
test_calendar_load_bad_covers(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "holidays.txt",
	                           "# covers: 2015\n"             /* 1 */
	                           "# covers: 2030-2015\n"        /* 2 */
	                           "# covers: 15-30\n"            /* 3 */
	                           "# covers: 2015-2030 please\n" /* 4 */
	                           "# covers: 2015-2030\n"        /* 5 */
	                           "# covers: 2016-2031\n"        /* 6 */
	                           "# covers the whole country\n" /* 7: an ordinary comment */
	                           "# covers: 0000-2030\n"        /* 8 */
	                           "2025-01-01\n");
	struct diag d;
	const char *bad = "bad covers line; expected \"# covers: YYYY-YYYY\", e.g. \"# covers: "
	                  "2015-2030\"";
	char *want;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), -1);
	assert_int_equal(d.n, 6);
	want = xasprintf(":1: %s", bad);
	assert_diag(&d, 0, DIAG_ERROR, path, want);
	free(want);
	assert_diag(&d, 1, DIAG_ERROR, path,
	            ":2: covers: first year 2030 is after last year 2015; expected \"# covers: "
	            "FIRST-LAST\"");
	want = xasprintf(":3: %s", bad);
	assert_diag(&d, 2, DIAG_ERROR, path, want);
	free(want);
	want = xasprintf(":4: %s", bad);
	assert_diag(&d, 3, DIAG_ERROR, path, want);
	free(want);
	assert_diag(&d, 4, DIAG_ERROR, path,
	            ":6: second \"# covers:\" line (the first is line 5); expected at most one "
	            "per file");
	assert_diag(&d, 5, DIAG_ERROR, path,
	            ":8: covers: year 0000 does not exist; expected years 0001 to 9999");
	assert_int_equal(calendar_count(cal), 0);
	assert_int_equal(calendar_first_year(cal), 0);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* A file that cannot be read: "path: strerror", calendar unchanged. */
static void
test_calendar_load_unreadable(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	struct diag d;
	char *want;

	calendar_add_holiday(cal, D("2025-01-01"));
	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, "/nonexistent/holidays.txt", &d), -1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.v[0].text, "/nonexistent/holidays.txt: No such file or directory");
	/* A directory opens but cannot be read. */
	want = xasprintf("%s: Is a directory", testdir_root(td));
	assert_int_equal(calendar_load_file(cal, testdir_root(td), &d), -1);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[1].text, want);
	free(want);
	assert_int_equal(calendar_count(cal), 1);
	assert_int_equal(calendar_first_year(cal), 0);
	diag_free(&d);
	calendar_free(cal);
}

/* A NUL byte inside a line is an error, not a silently shortened line. */
static void
test_calendar_load_nul(void **state)
{
	struct testdir *td = *state;
	static const char text[] = "2025-01-01\n2025-04-18\0junk\n2025-04-21\n";
	struct calendar *cal = calendar_new();
	char *path = testdir_write_len(td, "holidays.txt", text, sizeof text - 1);
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), -1);
	assert_int_equal(d.n, 1);
	assert_diag(&d, 0, DIAG_ERROR, path,
	            ":2: contains a NUL byte; expected one YYYY-MM-DD date per line");
	assert_int_equal(calendar_count(cal), 0);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* Loading with no diagnostic list still fails cleanly. */
static void
test_calendar_load_null_diag(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char *path = testdir_write(td, "holidays.txt", "2025-02-30\n");

	assert_int_equal(calendar_load_file(cal, path, NULL), -1);
	assert_int_equal(calendar_load_file(cal, "/nonexistent/holidays.txt", NULL), -1);
	assert_int_equal(calendar_count(cal), 0);
	free(path);
	calendar_free(cal);
}

/* The comment after a date names the holiday; the first file to name a day wins. */
static void
test_calendar_names(void **state)
{
	struct testdir *td = *state;
	struct calendar *cal = calendar_new();
	char long_name[160];
	char *text, *path, *other;
	struct diag d;

	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	text = xasprintf("# Christmas 2026\n"
	                 "2026-12-25  # Christmas Day\n"
	                 "2026-12-28\t#   Boxing Day (substitute day)   \n"
	                 "2027-01-01\n"
	                 "2027-03-26 #\n"
	                 "2027-03-29 # Easter\tMonday\n"
	                 "2027-08-30 #\x01 Summer\x1b\x7f\x02\n"
	                 "2027-05-03 # %s\n",
	                 long_name);
	path = testdir_write(td, "holidays.txt", text);
	other = testdir_write(td, "other.txt",
	                      "2026-12-25 # Xmas\n2027-01-01 # New Year's Day\n"
	                      "2027-01-04 # Scottish substitute\n");
	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(calendar_holiday_name(cal, D("2026-12-25")), "Christmas Day");
	assert_string_equal(calendar_holiday_name(cal, D("2026-12-28")),
	                    "Boxing Day (substitute day)");
	assert_null(calendar_holiday_name(cal, D("2027-01-01"))); /* no comment */
	assert_null(calendar_holiday_name(cal, D("2027-03-26"))); /* an empty one */
	assert_string_equal(calendar_holiday_name(cal, D("2027-03-29")), "Easter Monday");
	/* Control characters are spaces, and spaces at either end go. */
	assert_string_equal(calendar_holiday_name(cal, D("2027-08-30")), "Summer");
	assert_int_equal(strlen(calendar_holiday_name(cal, D("2027-05-03"))), 100);
	assert_null(calendar_holiday_name(cal, D("2026-12-24"))); /* not a holiday */
	assert_null(calendar_holiday_name(cal, D("2026-12-26")));

	/* A second file: a day already named keeps its name, an unnamed one takes it. */
	assert_int_equal(calendar_load_file(cal, other, &d), 0);
	assert_string_equal(calendar_holiday_name(cal, D("2026-12-25")), "Christmas Day");
	assert_string_equal(calendar_holiday_name(cal, D("2027-01-01")), "New Year's Day");
	assert_string_equal(calendar_holiday_name(cal, D("2027-01-04")), "Scottish substitute");
	assert_int_equal(calendar_count(cal), 8);

	/* Added by hand: named or not. */
	calendar_add_named_holiday(cal, D("2027-05-31"), "Spring bank holiday");
	calendar_add_holiday(cal, D("2027-12-27"));
	assert_string_equal(calendar_holiday_name(cal, D("2027-05-31")), "Spring bank holiday");
	assert_null(calendar_holiday_name(cal, D("2027-12-27")));
	assert_true(calendar_is_holiday(cal, D("2027-12-27")));
	/* Inserting before named days keeps each name with its day. */
	calendar_add_named_holiday(cal, D("2026-01-01"), "New Year's Day 2026");
	assert_string_equal(calendar_holiday_name(cal, D("2026-12-25")), "Christmas Day");
	assert_string_equal(calendar_holiday_name(cal, D("2026-01-01")), "New Year's Day 2026");

	/* A file with an error adds nothing, names included. */
	free(path);
	path = testdir_write(td, "bad.txt", "2028-12-25 # Christmas Day\nnot a date\n");
	assert_int_equal(calendar_load_file(cal, path, &d), -1);
	assert_null(calendar_holiday_name(cal, D("2028-12-25")));
	assert_null(calendar_holiday_name(NULL, D("2026-12-25")));
	diag_free(&d);
	free(text);
	free(path);
	free(other);
	calendar_free(cal);
}

/* A test with a scratch directory in *state. */
#define TD(f) cmocka_unit_test_setup_teardown(f, testdir_setup, testdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calendar_weekends),
	    cmocka_unit_test(test_calendar_add_holiday),
	    cmocka_unit_test(test_calendar_christmas_2026),
	    cmocka_unit_test(test_calendar_easter_2025),
	    cmocka_unit_test(test_calendar_property_random),
	    cmocka_unit_test(test_calendar_property_exhaustive),
	    cmocka_unit_test(test_calendar_property_no_holidays),
	    TD(test_calendar_load_good),
	    TD(test_calendar_names),
	    TD(test_calendar_load_covers),
	    TD(test_calendar_load_unsorted),
	    cmocka_unit_test(test_calendar_load_shipped),
	    TD(test_calendar_load_outside_covers),
	    TD(test_calendar_load_empty),
	    TD(test_calendar_load_errors),
	    TD(test_calendar_load_long_line),
	    TD(test_calendar_load_bad_covers),
	    TD(test_calendar_load_unreadable),
	    TD(test_calendar_load_nul),
	    TD(test_calendar_load_null_diag),
	};

	return cmocka_run_group_tests_name("calendar", tests, NULL, NULL);
}
