/* calendar.h - the working-day calendar: weekends and holiday files. */
#ifndef ESCALATOR_CALENDAR_H
#define ESCALATOR_CALENDAR_H

#include <stdbool.h>

#include "date.h"
#include "diag.h"

struct calendar;

/* An empty calendar: Monday to Friday are working days, no holidays. */
struct calendar *calendar_new(void);
void calendar_free(struct calendar *cal);

/*
 * Add the holidays of one file: one ISO date (YYYY-MM-DD) per line, '#'
 * comments (whole-line or after the date) and blank lines allowed. The
 * comment after a date is the holiday's name (calendar_holiday_name). A comment
 * line "# covers: YYYY-YYYY" states the years the file is complete for;
 * without it, the file covers the years from its first to its last date.
 * Every bad line is reported to d as "path:line: what is wrong". Returns 0,
 * or -1 if the file could not be read or had any error (the calendar is then
 * unchanged).
 */
int calendar_load_file(struct calendar *cal, const char *path, struct diag *d);
/* Add one holiday (used by tests and by calendar_load_file). */
void calendar_add_holiday(struct calendar *cal, date_t day);
/* Add one holiday with its name (copied; NULL or "": none), e.g. "Christmas Day". */
void calendar_add_named_holiday(struct calendar *cal, date_t day, const char *name);

/* Is day a holiday listed in a file? */
bool calendar_is_holiday(const struct calendar *cal, date_t day);
/*
 * The name of holiday day: the comment after its date in the file that
 * listed it first ("2026-12-25  # Christmas Day" -> "Christmas Day"), cut to
 * 100 bytes, control characters as spaces. NULL when day is not a holiday
 * or its line had no comment. Borrowed from cal.
 */
const char *calendar_holiday_name(const struct calendar *cal, date_t day);
/* Monday-Friday and not a holiday? */
bool calendar_is_working_day(const struct calendar *cal, date_t day);
/* day itself if it is a working day, otherwise the next working day. */
date_t calendar_next_working_day(const struct calendar *cal, date_t day);
/*
 * n working days after day: step one day at a time from day, counting only
 * working days, until n have been counted (Friday + 1 = Monday, Saturday + 1 =
 * Monday); negative n steps backwards the same way; 0 returns day unchanged.
 */
date_t calendar_add_working_days(const struct calendar *cal, date_t day, int n);

/* Working days d with from < d <= to: how many working days late "to" is (0 if to <= from). */
int calendar_working_days_between(const struct calendar *cal, date_t from, date_t to);

/* First and last year covered by the loaded files; 0 if no file was loaded. */
int calendar_first_year(const struct calendar *cal);
int calendar_last_year(const struct calendar *cal);
/* Number of holidays loaded. */
int calendar_count(const struct calendar *cal);

#endif
