/* date.h - proleptic Gregorian civil dates as day numbers. */
#ifndef ESCALATOR_DATE_H
#define ESCALATOR_DATE_H

#include <stdbool.h>
#include <stdint.h>

/* Days since 1970-01-01 (negative before). Valid for years 1..9999. */
typedef int32_t date_t;

/* Local wall-clock minutes since 1970-01-01T00:00 (day * 1440 + minute of day). */
typedef int64_t localtime_min_t;

#define DATE_STRLEN 11     /* "YYYY-MM-DD" + NUL */
#define DATETIME_STRLEN 20 /* "YYYY-MM-DDTHH:MM:SS" + NUL */

/* The day number of a valid year/month/day; the caller checks validity first. */
date_t date_from_ymd(int year, int month, int day);
/* Split a day number into year, month (1-12) and day (1-31). */
void date_to_ymd(date_t d, int *year, int *month, int *day);
/* Is year/month/day a real calendar date (1 <= year <= 9999)? */
bool date_valid_ymd(int year, int month, int day);
/* Days in the month (1-12) of a year. */
int date_days_in_month(int year, int month);
/* ISO weekday: 1 = Monday ... 7 = Sunday. */
int date_weekday(date_t d);

/*
 * Parse a case store date: exactly "YYYY-MM-DD", optionally followed by 'T' or
 * ' ' and anything at all (a time, which is ignored). Returns 0 and sets *out,
 * or -1 for anything else ("", "2024-02-30", "31/01/2024", "2024-1-5").
 */
int date_parse(const char *s, date_t *out);
/* Parse exactly "YYYY-MM-DD" with nothing after it. */
int date_parse_strict(const char *s, date_t *out);
/* Write "YYYY-MM-DD" into buf (DATE_STRLEN bytes). Returns buf. */
char *date_format(date_t d, char *buf);

/* Add n calendar months keeping the day of month, clamped to the month's end. */
date_t date_add_months(date_t d, int n);

/* Write "YYYY-MM-DDTHH:MM:SS" for a local minute count. Returns buf. */
char *localtime_format(localtime_min_t t, char *buf);

/* Dates and times as people read them, in the commands' and the admin's messages. */
#define DATE_HUMAN_LEN 20      /* "Wed 31 Dec 2026" + NUL, with room for any year */
#define LOCALTIME_HUMAN_LEN 26 /* "Wed 31 Dec 2026 08:00" + NUL */
/* "Mon 21 Dec 2026" into buf (DATE_HUMAN_LEN bytes). Returns buf. */
char *date_human(date_t d, char *buf);
/* "Mon 21 Dec 2026 08:00" for a local minute count, into buf (LOCALTIME_HUMAN_LEN). */
char *localtime_human(localtime_min_t t, char *buf);
/* "Jan" .. "Dec" for month 1..12. */
const char *date_month_abbrev(int month);
/*
 * Parse "YYYY-MM-DDTHH:MM:SS", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD" (midnight)
 * into local minutes (seconds are kept in *sec if sec is not NULL).
 */
int localtime_parse(const char *s, localtime_min_t *out, int *sec);

#endif
