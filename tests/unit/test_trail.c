/*
 * test_trail.c - unit tests for rules/trail.c: the days a count passes over, each stage's
 * date and why, for people; and agreement with eval.c, which computes the same dates.
 *
 * England and Wales bank holidays used (etc/holidays/england-and-wales.txt):
 *   2026: 04-03 Fri (Good Friday) 04-06 Mon (Easter Monday) 12-25 Fri (Christmas Day)
 *         12-28 Mon (Boxing Day, substitute day)
 *   2027: 01-01 Fri (New Year's Day) 03-26 Fri (Good Friday) 03-29 Mon (Easter Monday)
 * Weekdays, counted from a calendar:
 *   2026-04-01 Wed  2026-04-10 Fri  2026-09-26 Sat  2026-10-31 Sat  2026-11-07 Sat
 *   2026-11-13 Fri  2026-11-30 Mon  2026-12-14 Mon  2026-12-26 Sat  2026-12-29 Tue
 *   2027-01-07 Thu  2027-01-14 Thu  2027-01-15 Fri  2027-01-21 Thu  2027-01-29 Fri
 *   2027-01-31 Sun  2027-02-28 Sun  2027-03-01 Mon
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
#include "eval.h"
#include "ew_fixture.h"
#include "ruleset.h"
#include "trail.h"
#include "xalloc.h"

/* A rule built in code: due after due, stages at the given offsets. */
struct fxrule {
	struct rule r;
	struct stage st[5];
};

static void
make_rule(struct fxrule *f, const char *due, bool working_days_only, const char *const *at,
          size_t n)
{
	static char *names[] = {"a", "b", "c", "d", "e"};

	assert_true(n <= 5);
	memset(f, 0, sizeof *f);
	f->r.id = "test-rule";
	f->r.title = "Test rule";
	f->r.due = dur(due);
	f->r.working_days_only = working_days_only;
	f->r.stages = f->st;
	f->r.nstages = n;
	for (size_t i = 0; i < n; i++) {
		f->st[i].name = names[i];
		f->st[i].label = names[i];
		f->st[i].at = dur(at[i]);
	}
}

/* Assert skipped day i: its date, its kind, its name (NULL: none). */
static void
assert_skip(const struct trail_skip *v, size_t n, size_t i, const char *day,
            enum trail_skip_kind kind, const char *name)
{
	if (i >= n)
		fail_msg("only %zu days skipped, expected one more: %s", n, day);
	assert_date(v[i].day, day);
	assert_int_equal(v[i].kind, kind);
	if (name == NULL)
		assert_null(v[i].name);
	else
		assert_string_equal(v[i].name, name);
}

/* The first review over Christmas: 20 working days from Mon 14 Dec 2026. */
static void
test_trail_christmas(void **state)
{
	static const char *const at[] = {"-5 working days", "1 working day", "5 working days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct trail t;
	char *w;
	const struct trail_skip *s;

	(void)state;
	make_rule(&f, "20 working days", true, at, 3);
	trail_clock(&f.r, cal, D("2026-12-14"), &t);
	/*
	 * Dec 15(1) 16(2) 17(3) 18(4) [19 20] 21(5) 22(6) 23(7) 24(8) [25 Christmas Day, 26 27,
	 * 28 Boxing Day substitute] 29(9) 30(10) 31(11) [Jan 1 New Year's Day, 2 3] 4(12) 5(13)
	 * 6(14) 7(15) 8(16) [9 10] 11(17) 12(18) 13(19) 14(20): Thu 14 Jan 2027.
	 */
	assert_date(t.due.to, "2027-01-14");
	assert_date(t.due.from, "2026-12-14");
	assert_int_equal(t.due.nskipped, 11);
	assert_int_equal(t.due.weekend_days, 8);
	assert_int_equal(t.due.holidays, 3);
	assert_false(t.due.clamped);
	s = t.due.skipped;
	assert_skip(s, t.due.nskipped, 0, "2026-12-19", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 1, "2026-12-20", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 2, "2026-12-25", TRAIL_HOLIDAY, "Christmas Day");
	assert_skip(s, t.due.nskipped, 3, "2026-12-26", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 4, "2026-12-27", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 5, "2026-12-28", TRAIL_HOLIDAY,
	            "Boxing Day (substitute day)");
	assert_skip(s, t.due.nskipped, 6, "2027-01-01", TRAIL_HOLIDAY, "New Year's Day");
	assert_skip(s, t.due.nskipped, 7, "2027-01-02", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 8, "2027-01-03", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 9, "2027-01-09", TRAIL_WEEKEND, NULL);
	assert_skip(s, t.due.nskipped, 10, "2027-01-10", TRAIL_WEEKEND, NULL);
	w = trail_weekends(t.due.skipped, t.due.nskipped, 10);
	assert_string_equal(w, "19-20 Dec, 26-27 Dec 2026, 2-3 Jan, 9-10 Jan 2027");
	free(w);
	w = trail_weekends(t.due.skipped, t.due.nskipped, 2);
	assert_string_equal(w, "19-20 Dec, 26-27 Dec 2026 and 2 more weekends");
	free(w);

	/* Reminder, 5 working days before: 13(1) 12(2) 11(3) [10 9] 8(4) 7(5): Thu 7 Jan. */
	assert_date(t.stages[0].at.to, "2027-01-07");
	assert_date(t.stages[0].date, "2027-01-07");
	assert_int_equal(t.stages[0].at.weekend_days, 2);
	assert_int_equal(t.stages[0].at.holidays, 0);
	assert_int_equal(t.stages[0].nmoved, 0);
	/* Overdue, the next working day: Fri 15 Jan. */
	assert_date(t.stages[1].date, "2027-01-15");
	assert_int_equal(t.stages[1].at.nskipped, 0);
	/* Escalated, 5 working days after: 15(1) [16 17] 18(2) 19(3) 20(4) 21(5): Thu 21 Jan. */
	assert_date(t.stages[2].date, "2027-01-21");
	assert_int_equal(t.stages[2].at.weekend_days, 2);
	assert_false(t.outside);
	trail_free(&t);
	calendar_free(cal);
}

/* Easter 2026: 5 working days from Wed 1 Apr pass over Good Friday to Easter Monday. */
static void
test_trail_easter(void **state)
{
	static const char *const at[] = {"-1 working day", "1 working day"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct trail t;
	char *w;

	(void)state;
	make_rule(&f, "5 working days", true, at, 2);
	trail_clock(&f.r, cal, D("2026-04-01"), &t);
	/* Thu 2(1) [Fri 3 Good Friday, 4 5, Mon 6 Easter Monday] 7(2) 8(3) 9(4) 10(5). */
	assert_date(t.due.to, "2026-04-10");
	assert_int_equal(t.due.nskipped, 4);
	assert_skip(t.due.skipped, 4, 0, "2026-04-03", TRAIL_HOLIDAY, "Good Friday");
	assert_skip(t.due.skipped, 4, 1, "2026-04-04", TRAIL_WEEKEND, NULL);
	assert_skip(t.due.skipped, 4, 2, "2026-04-05", TRAIL_WEEKEND, NULL);
	assert_skip(t.due.skipped, 4, 3, "2026-04-06", TRAIL_HOLIDAY, "Easter Monday");
	w = trail_weekends(t.due.skipped, t.due.nskipped, 10);
	assert_string_equal(w, "4-5 Apr 2026");
	free(w);
	/* Reminder Thu 9 Apr, overdue Mon 13 Apr ([11 12]). */
	assert_date(t.stages[0].date, "2026-04-09");
	assert_date(t.stages[1].date, "2026-04-13");
	assert_int_equal(t.stages[1].at.weekend_days, 2);
	trail_free(&t);

	/* A count backwards over Easter: 1 working day before Tue 7 Apr is Thu 2 Apr. */
	make_rule(&f, "4 working days", true, at, 2);
	trail_clock(&f.r, cal, D("2026-04-01"), &t);
	/* Thu 2(1) [3 4 5 6] 7(2) 8(3) 9(4): Thu 9 Apr; reminder 8 Apr. */
	assert_date(t.due.to, "2026-04-09");
	trail_free(&t);
	{
		struct trail_step st;

		trail_step(&(struct duration){-1, DUR_WORKING_DAYS}, cal, D("2026-04-07"), &st);
		assert_date(st.to, "2026-04-02");
		assert_int_equal(st.nskipped, 4);
		assert_skip(st.skipped, st.nskipped, 0, "2026-04-03", TRAIL_HOLIDAY, "Good Friday");
		assert_skip(st.skipped, st.nskipped, 3, "2026-04-06", TRAIL_HOLIDAY,
		            "Easter Monday");
		trail_step_free(&st);
	}
	calendar_free(cal);
}

/* Months at a month's end, and stage dates moved to the next working day. */
static void
test_trail_month_end(void **state)
{
	static const char *const at[] = {"-30 days", "0 days", "1 day", "1 working day"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct trail t;

	(void)state;
	make_rule(&f, "1 month", true, at, 4);
	/* Sun 31 Jan 2027 + 1 month: there is no 31 Feb, so Sun 28 Feb 2027. */
	trail_clock(&f.r, cal, D("2027-01-31"), &t);
	assert_date(t.due.to, "2027-02-28");
	assert_true(t.due.clamped);
	assert_int_equal(t.due.nskipped, 0); /* calendar months count every day */
	/* 30 days before: Fri 29 Jan, a working day. */
	assert_date(t.stages[0].date, "2027-01-29");
	assert_int_equal(t.stages[0].nmoved, 0);
	/* On the due date, a Sunday: moved to Mon 1 Mar. */
	assert_date(t.stages[1].at.to, "2027-02-28");
	assert_date(t.stages[1].date, "2027-03-01");
	assert_int_equal(t.stages[1].nmoved, 1);
	assert_skip(t.stages[1].moved, 1, 0, "2027-02-28", TRAIL_WEEKEND, NULL);
	/* A day after: Mon 1 Mar, nothing to move. */
	assert_date(t.stages[2].date, "2027-03-01");
	assert_int_equal(t.stages[2].nmoved, 0);
	/* 1 working day after a Sunday: Mon 1 Mar, nothing passed over but nothing counted. */
	assert_date(t.stages[3].date, "2027-03-01");
	trail_free(&t);

	/* Sat 31 Oct 2026 + 1 month: Mon 30 Nov 2026 (no 31 Nov). */
	trail_clock(&f.r, cal, D("2026-10-31"), &t);
	assert_date(t.due.to, "2026-11-30");
	assert_true(t.due.clamped);
	trail_free(&t);
	/* Mon 30 Nov + 1 month: Wed 30 Dec, not clamped. */
	trail_clock(&f.r, cal, D("2026-11-30"), &t);
	assert_date(t.due.to, "2026-12-30");
	assert_false(t.due.clamped);
	trail_free(&t);

	/*
	 * Sat 26 Sep 2026 + 3 months = Sat 26 Dec 2026. On the due date: moved over Sat 26, Sun 27
	 * and Mon 28 (Boxing Day, substitute day) to Tue 29 Dec. One working day after the
	 * Saturday: [27, 28] Tue 29 Dec.
	 */
	make_rule(&f, "3 months", true, at, 4);
	trail_clock(&f.r, cal, D("2026-09-26"), &t);
	assert_date(t.due.to, "2026-12-26");
	assert_false(t.due.clamped);
	assert_date(t.stages[1].date, "2026-12-29");
	assert_int_equal(t.stages[1].nmoved, 3);
	assert_skip(t.stages[1].moved, 3, 0, "2026-12-26", TRAIL_WEEKEND, NULL);
	assert_skip(t.stages[1].moved, 3, 1, "2026-12-27", TRAIL_WEEKEND, NULL);
	assert_skip(t.stages[1].moved, 3, 2, "2026-12-28", TRAIL_HOLIDAY,
	            "Boxing Day (substitute day)");
	assert_date(t.stages[3].date, "2026-12-29");
	assert_int_equal(t.stages[3].at.nskipped, 2);
	trail_free(&t);

	/* working_days_only = false: a stage on a Saturday stays there. */
	make_rule(&f, "3 months", false, at, 4);
	trail_clock(&f.r, cal, D("2026-09-26"), &t);
	assert_date(t.stages[1].date, "2026-12-26");
	assert_int_equal(t.stages[1].nmoved, 0);
	trail_free(&t);
	calendar_free(cal);
}

/* A clock that starts on a Saturday: the count starts on the day after, a Sunday. */
static void
test_trail_weekend_start(void **state)
{
	static const char *const at[] = {"-1 working day", "1 working day"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct trail t;
	char *w;

	(void)state;
	make_rule(&f, "5 working days", true, at, 2);
	/* Sat 7 Nov 2026: [Sun 8] Mon 9(1) 10(2) 11(3) 12(4) Fri 13(5). */
	trail_clock(&f.r, cal, D("2026-11-07"), &t);
	assert_date(t.due.to, "2026-11-13");
	assert_int_equal(t.due.nskipped, 1);
	assert_skip(t.due.skipped, 1, 0, "2026-11-08", TRAIL_WEEKEND, NULL);
	w = trail_weekends(t.due.skipped, t.due.nskipped, 10);
	assert_string_equal(w, "8 Nov 2026");
	free(w);
	assert_date(t.stages[0].date, "2026-11-12");
	assert_date(t.stages[1].date, "2026-11-16");
	trail_free(&t);
	calendar_free(cal);
}

/* Dates outside the years the holiday files cover are flagged, as eval_clock does. */
static void
test_trail_outside(void **state)
{
	static const char *const at[] = {"-5 working days", "1 working day"};
	struct calendar *cal = calendar_new();
	struct fxrule f;
	struct trail t;
	struct eval_clock c;
	struct diag d;
	char *path = NULL;
	const char *srcdir = getenv("SRCDIR");

	(void)state;
	if (srcdir == NULL)
		skip();
	diag_init(&d);
	path = xasprintf("%s/etc/holidays/england-and-wales.txt", srcdir);
	if (calendar_load_file(cal, path, &d) != 0)
		fail_msg("%s: %s", path, d.n ? d.v[0].text : "failed");
	make_rule(&f, "20 working days", true, at, 2);
	trail_clock(&f.r, cal, D("2026-12-14"), &t);
	assert_false(t.outside);
	/* The shipped file names its days. */
	assert_string_equal(t.due.skipped[2].name, "Christmas Day");
	trail_free(&t);
	/* Late December 2030: the due date is in 2031, which the file does not cover. */
	trail_clock(&f.r, cal, D("2030-12-20"), &t);
	eval_clock(&f.r, cal, SEND_TIME, D("2030-12-20"), 0, &c);
	assert_true(t.outside);
	assert_true(t.due_outside);
	assert_true(c.outside_calendar);
	trail_free(&t);
	/* Calendar months from a start in 2014: nothing counted in working days, no flag. */
	make_rule(&f, "6 months", false, (const char *const[]){"1 day", "2 days"}, 2);
	trail_clock(&f.r, cal, D("2014-03-01"), &t);
	assert_false(t.outside);
	trail_free(&t);
	diag_free(&d);
	free(path);
	calendar_free(cal);
}

/* People's words: dates and offsets. */
static void
test_trail_words(void **state)
{
	char buf[64], day[DATE_HUMAN_LEN];

	(void)state;
	assert_string_equal(date_human(D("2026-12-21"), day), "Mon 21 Dec 2026");
	assert_string_equal(date_human(D("2027-01-01"), day), "Fri 1 Jan 2027");
	assert_string_equal(date_human(D("2026-11-29"), day), "Sun 29 Nov 2026");
	assert_string_equal(
	    trail_offset(&(struct duration){3, DUR_WORKING_DAYS}, "due", buf, sizeof buf),
	    "3 working days after due");
	assert_string_equal(
	    trail_offset(&(struct duration){-1, DUR_WORKING_DAYS}, "due", buf, sizeof buf),
	    "1 working day before due");
	assert_string_equal(trail_offset(&(struct duration){-30, DUR_DAYS}, "due", buf, sizeof buf),
	                    "30 days before due");
	assert_string_equal(trail_offset(&(struct duration){0, DUR_DAYS}, "due", buf, sizeof buf),
	                    "on the due date");
	assert_string_equal(
	    trail_offset(&(struct duration){6, DUR_MONTHS}, "start", buf, sizeof buf),
	    "6 months after start");
	{
		/* A weekend across a month end, a lone Saturday at the end of a count. */
		struct trail_skip v[] = {
		    {D("2026-10-31"), TRAIL_WEEKEND, NULL},
		    {D("2026-11-01"), TRAIL_WEEKEND, NULL},
		    {D("2026-12-25"), TRAIL_HOLIDAY, "Christmas Day"},
		    {D("2026-12-26"), TRAIL_WEEKEND, NULL},
		};
		char *w = trail_weekends(v, 4, 10);

		assert_string_equal(w, "31 Oct-1 Nov, 26 Dec 2026");
		free(w);
		w = trail_weekends(v, 3, 10);
		assert_string_equal(w, "31 Oct-1 Nov 2026");
		free(w);
		w = trail_weekends(v + 2, 1, 10);
		assert_string_equal(w, "");
		free(w);
	}
}

/*
 * trail_clock agrees with eval_clock and eval_stage_date for every unit, both
 * directions and both working_days_only settings, on starts from 2014 to
 * 2031 (in and outside the files' years); and each count's days not counted
 * are exactly the days between that are not working days.
 */
static void
test_trail_agrees_with_eval(void **state)
{
	static const char *const dues[] = {"20 working days", "15 working days", "3 months",
	                                   "6 months",        "6 weeks",         "10 days",
	                                   "0 working days"};
	static const char *const ats[] = {"-5 working days", "-30 days",      "-10 working days",
	                                  "0 days",          "1 working day", "5 working days"};
	struct calendar *cal = calendar_new();
	unsigned seed = 15;
	struct fxrule f;

	(void)state;
	for (size_t i = 0; i < EW_NHOLIDAYS; i++)
		calendar_add_named_holiday(cal, D(ew_holidays[i].day), ew_holidays[i].name);
	for (int k = 0; k < 4000; k++) {
		const char *at[5];
		date_t start = D("2025-10-01") + (date_t)(rand_r(&seed) % 900);
		struct trail t;
		struct eval_clock c;
		size_t n = 1 + (size_t)(rand_r(&seed) % 5);

		for (size_t i = 0; i < n; i++)
			at[i] = ats[rand_r(&seed) % (sizeof ats / sizeof ats[0])];
		make_rule(&f, dues[rand_r(&seed) % (sizeof dues / sizeof dues[0])],
		          rand_r(&seed) % 4 != 0, at, n);
		trail_clock(&f.r, cal, start, &t);
		eval_clock(&f.r, cal, SEND_TIME, start, 0, &c);
		assert_int_equal(t.due.to, c.due);
		assert_int_equal(t.outside, c.outside_calendar);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(t.stages[i].date, eval_stage_date(&f.r, cal, c.due, i));
		/* Working days: every day between was counted or listed as not counted. */
		if (f.r.due.unit == DUR_WORKING_DAYS)
			assert_int_equal((size_t)(t.due.to - t.due.from) - t.due.nskipped,
			                 (size_t)f.r.due.n);
		for (size_t i = 0; i < n; i++) {
			const struct trail_step *s = &t.stages[i].at;
			date_t lo = s->from < s->to ? s->from : s->to;
			date_t hi = s->from < s->to ? s->to : s->from;

			if (s->by.unit == DUR_WORKING_DAYS)
				assert_int_equal((size_t)(hi - lo) - s->nskipped,
				                 (size_t)(s->by.n < 0 ? -s->by.n : s->by.n));
			for (size_t j = 0; j < s->nskipped; j++)
				assert_false(calendar_is_working_day(cal, s->skipped[j].day));
			for (size_t j = 0; j < t.stages[i].nmoved; j++)
				assert_int_equal(t.stages[i].moved[j].day, s->to + (date_t)j);
			assert_int_equal(t.stages[i].date - s->to, (date_t)t.stages[i].nmoved);
		}
		trail_free(&t);
	}
	calendar_free(cal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trail_christmas),
	    cmocka_unit_test(test_trail_easter),
	    cmocka_unit_test(test_trail_month_end),
	    cmocka_unit_test(test_trail_weekend_start),
	    cmocka_unit_test(test_trail_outside),
	    cmocka_unit_test(test_trail_words),
	    cmocka_unit_test(test_trail_agrees_with_eval),
	};

	return cmocka_run_group_tests_name("trail", tests, NULL, NULL);
}
