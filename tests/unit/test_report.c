/*
 * test_report.c - unit tests for the report's shared pieces (daemon/report_model.c,
 * report_csv.c): period labels people read, the last day of each period, and CSV values as a
 * spreadsheet must read them back (RFC 4180, the formula guard).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static date_t
D(const char *s)
{
	date_t d;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date %s", s);
	return d;
}

/* A report of from..to in periods of months, with nothing in it. */
static void
make(struct report *rep, const char *from, const char *to, int months)
{
	if (rep->periods.starts != NULL)
		timeliness_periods_free(&rep->periods);
	memset(rep, 0, sizeof *rep);
	rep->from = D(from);
	rep->to = D(to);
	rep->months = months;
	assert_int_equal(timeliness_periods_init(&rep->periods, rep->from, rep->to, months), 0);
}

/* Period i's label and last day. */
static void
expect_period(const struct report *rep, size_t i, const char *label, const char *end)
{
	char buf[64], e[DATE_STRLEN];

	assert_string_equal(report_period_label(rep, i, buf, sizeof buf), label);
	assert_string_equal(date_format(report_period_end(rep, i), e), end);
}

static void
test_labels_months_quarters_years(void **state)
{
	struct report rep = {0};

	(void)state;
	make(&rep, "2025-04-01", "2026-03-31", 3);
	assert_int_equal(rep.periods.n, 4);
	expect_period(&rep, 0, "Apr-Jun 2025", "2025-06-30");
	expect_period(&rep, 2, "Oct-Dec 2025", "2025-12-31");
	expect_period(&rep, 3, "Jan-Mar 2026", "2026-03-31");
	make(&rep, "2025-12-01", "2026-02-28", 3);
	expect_period(&rep, 0, "Dec 2025-Feb 2026", "2026-02-28");
	make(&rep, "2024-02-01", "2024-02-29", 1);
	expect_period(&rep, 0, "Feb 2024", "2024-02-29"); /* leap year */
	make(&rep, "2025-04-01", "2027-03-31", 12);
	assert_int_equal(rep.periods.n, 2);
	expect_period(&rep, 1, "Apr 2026-Mar 2027", "2027-03-31");
	timeliness_periods_free(&rep.periods);
}

static void
test_labels_cut_and_odd_starts(void **state)
{
	struct report rep = {0};

	(void)state;
	/* The last period cut short by --to reads as dates. */
	make(&rep, "2026-01-01", "2026-12-07", 3);
	expect_period(&rep, 3, "1 Oct-7 Dec 2026", "2026-12-07");
	/* From the 31st: the next starts on the 29th of February, the one after on 31 March. */
	make(&rep, "2024-01-31", "2024-04-29", 1);
	expect_period(&rep, 0, "31 Jan-28 Feb 2024", "2024-02-28");
	expect_period(&rep, 1, "29 Feb-30 Mar 2024", "2024-03-30");
	expect_period(&rep, 2, "31 Mar-29 Apr 2024", "2024-04-29");
	make(&rep, "2025-12-15", "2026-01-14", 1);
	expect_period(&rep, 0, "15 Dec 2025-14 Jan 2026", "2026-01-14");
	timeliness_periods_free(&rep.periods);
}

/* s as one CSV value. */
static char *
csv_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	report_csv_field(f, s);
	fclose(f);
	return buf;
}

static void
expect_csv(const char *in, const char *want)
{
	char *got = csv_of(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_csv_field(void **state)
{
	(void)state;
	expect_csv("cic-first-review", "cic-first-review");
	expect_csv("", "");
	expect_csv(NULL, "");
	expect_csv("Overdue: team manager, IRO", "\"Overdue: team manager, IRO\"");
	expect_csv("the \"formal\" stage", "\"the \"\"formal\"\" stage\"");
	expect_csv("two\nlines", "\"two\nlines\"");
	/* A spreadsheet would run these: shown as text instead. */
	expect_csv("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
	expect_csv("+44 1234", "\"'+44 1234\"");
	expect_csv("-1", "\"'-1\"");
	expect_csv("@SUM(A1)", "\"'@SUM(A1)\"");
	expect_csv("a=b", "a=b"); /* only the first character matters */
}

static void
test_csv_unknown_table(void **state)
{
	struct report rep = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make(&rep, "2025-04-01", "2026-03-31", 3);
	f = open_memstream(&buf, &len);
	assert_int_equal(report_csv(f, &rep, "nope"), -1);
	assert_int_equal(report_csv(f, &rep, "timeliness"), 0);
	fclose(f);
	timeliness_periods_free(&rep.periods);
	assert_string_equal(buf, "rule,period,completed,on_time,late,percent_on_time,"
	                         "median_working_days_late,max_working_days_late\r\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels_months_quarters_years),
	    cmocka_unit_test(test_labels_cut_and_odd_starts),
	    cmocka_unit_test(test_csv_field),
	    cmocka_unit_test(test_csv_unknown_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
