/*
 * ew_fixture.h - what the rules' date tests share: England and Wales bank
 * holidays 2026-2027 with their names (as etc/holidays/england-and-wales.txt
 * has them), a calendar of them, and date and duration literals that fail the
 * test when mistyped. Include after <cmocka.h>; everything is static inline,
 * so a test file uses what it needs.
 */
#ifndef ESCALATOR_EW_FIXTURE_H
#define ESCALATOR_EW_FIXTURE_H

#include <stddef.h>
#include <string.h>

#include "calendar.h"
#include "date.h"
#include "duration.h"

/* Stages fire at the shipped send_time, 08:00. */
#define SEND_TIME (8 * 60)

static const struct {
	const char *day, *name;
} ew_holidays[] = {
    {"2026-01-01", "New Year's Day"},
    {"2026-04-03", "Good Friday"},
    {"2026-04-06", "Easter Monday"},
    {"2026-05-04", "Early May bank holiday"},
    {"2026-05-25", "Spring bank holiday"},
    {"2026-08-31", "Summer bank holiday"},
    {"2026-12-25", "Christmas Day"},
    {"2026-12-28", "Boxing Day (substitute day)"},
    {"2027-01-01", "New Year's Day"},
    {"2027-03-26", "Good Friday"},
    {"2027-03-29", "Easter Monday"},
    {"2027-05-03", "Early May bank holiday"},
    {"2027-05-31", "Spring bank holiday"},
    {"2027-08-30", "Summer bank holiday"},
    {"2027-12-27", "Christmas Day (substitute day)"},
    {"2027-12-28", "Boxing Day (substitute day)"},
};
#define EW_NHOLIDAYS (sizeof ew_holidays / sizeof ew_holidays[0])

/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
static inline date_t
D(const char *s)
{
	date_t d = 0;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date literal \"%s\"", s);
	return d;
}

/* Local minutes of a date at hh:mm. */
static inline localtime_min_t
T(const char *day, int hh, int mm)
{
	return (localtime_min_t)D(day) * 1440 + hh * 60 + mm;
}

/* A duration from its rule-file spelling, failing the test if it does not parse. */
static inline struct duration
dur(const char *s)
{
	struct duration d;
	char *cause = NULL;

	if (duration_parse(s, &d, &cause) != 0)
		fail_msg("bad duration \"%s\": %s", s, cause);
	return d;
}

/* Assert a date equals "YYYY-MM-DD", printing both on failure. */
static inline void
assert_date(date_t got, const char *want)
{
	char buf[DATE_STRLEN];

	date_format(got, buf);
	if (strcmp(buf, want) != 0)
		fail_msg("date %s, expected %s", buf, want);
}

/* The 2026-2027 bank holidays, named. */
static inline struct calendar *
ew_calendar(void)
{
	struct calendar *cal = calendar_new();

	for (size_t i = 0; i < EW_NHOLIDAYS; i++)
		calendar_add_named_holiday(cal, D(ew_holidays[i].day), ew_holidays[i].name);
	return cal;
}

#endif
