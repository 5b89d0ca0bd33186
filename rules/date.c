/* date.c - proleptic Gregorian civil dates as day numbers, by integer arithmetic only. */
#include "date.h"

#include <stdio.h>
#include <string.h>

/* Floor division for a positive divisor. */
static int64_t
date_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

/* Days since 1970-01-01 of any proleptic Gregorian y/m/d (Hinnant's days_from_civil). */
static int64_t
date_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = date_floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The day number of a valid year/month/day. */
date_t
date_from_ymd(int year, int month, int day)
{
	return (date_t)date_days_from_civil(year, month, day);
}

/* Split a day number into year, month and day (Hinnant's civil_from_days). */
void
date_to_ymd(date_t d, int *year, int *month, int *day)
{
	int64_t z = (int64_t)d + 719468;
	int64_t era = date_floordiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = m;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

/* Is year a leap year? */
static int
date_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days in the month (1-12) of a year; 0 for a month out of range. */
int
date_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && date_is_leap(year))
		return 29;
	return days[month - 1];
}

/* Is year/month/day a real calendar date between years 1 and 9999? */
bool
date_valid_ymd(int year, int month, int day)
{
	if (year < 1 || year > 9999 || month < 1 || month > 12)
		return false;
	return day >= 1 && day <= date_days_in_month(year, month);
}

/* ISO weekday: 1 = Monday ... 7 = Sunday (1970-01-01 was a Thursday). */
int
date_weekday(date_t d)
{
	int r = (int)(((int64_t)d + 3) % 7);

	if (r < 0)
		r += 7;
	return r + 1;
}

/* Read n decimal digits from s into *out; -1 if any is not a digit. */
static int
date_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parse the leading "YYYY-MM-DD" of s (exact digit counts, a real date). */
static int
date_parse_prefix(const char *s, date_t *out)
{
	int y, m, d;

	if (date_digits(s, 4, &y) != 0 || s[4] != '-')
		return -1;
	if (date_digits(s + 5, 2, &m) != 0 || s[7] != '-')
		return -1;
	if (date_digits(s + 8, 2, &d) != 0)
		return -1;
	if (!date_valid_ymd(y, m, d))
		return -1;
	*out = date_from_ymd(y, m, d);
	return 0;
}

/* Parse "YYYY-MM-DD", optionally followed by 'T' or ' ' and anything. */
int
date_parse(const char *s, date_t *out)
{
	date_t d;

	if (s == NULL || date_parse_prefix(s, &d) != 0)
		return -1;
	if (s[10] != '\0' && s[10] != 'T' && s[10] != ' ')
		return -1;
	*out = d;
	return 0;
}

/* Parse exactly "YYYY-MM-DD" with nothing after it. */
int
date_parse_strict(const char *s, date_t *out)
{
	date_t d;

	if (s == NULL || date_parse_prefix(s, &d) != 0 || s[10] != '\0')
		return -1;
	*out = d;
	return 0;
}

/* Write the last n decimal digits of v (0 <= v) into buf. */
static void
date_put_digits(char *buf, int n, int v)
{
	while (n-- > 0) {
		buf[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Write "YYYY-MM-DD" into buf (DATE_STRLEN bytes); "0000-00-00" outside years 1..9999. */
char *
date_format(date_t d, char *buf)
{
	int y, m, day;

	date_to_ymd(d, &y, &m, &day);
	if (y < 1 || y > 9999)
		y = m = day = 0;
	date_put_digits(buf, 4, y);
	buf[4] = '-';
	date_put_digits(buf + 5, 2, m);
	buf[7] = '-';
	date_put_digits(buf + 8, 2, day);
	buf[10] = '\0';
	return buf;
}

/* Add n calendar months keeping the day of month, clamped to the month's end. */
date_t
date_add_months(date_t d, int n)
{
	int y, m, day, dim;
	int64_t months;

	date_to_ymd(d, &y, &m, &day);
	months = (int64_t)y * 12 + (m - 1) + n;
	y = (int)date_floordiv(months, 12);
	m = (int)(months - (int64_t)y * 12) + 1;
	dim = date_days_in_month(y, m);
	if (day > dim)
		day = dim;
	return (date_t)date_days_from_civil(y, m, day);
}

/* "Jan" .. "Dec". */
const char *
date_month_abbrev(int month)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

	return month >= 1 && month <= 12 ? months[month - 1] : "?";
}

/* "Mon 21 Dec 2026". */
char *
date_human(date_t d, char *buf)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	int y, m, day;

	date_to_ymd(d, &y, &m, &day);
	snprintf(buf, DATE_HUMAN_LEN, "%s %d %s %d", days[date_weekday(d) - 1], day,
	         date_month_abbrev(m), y);
	return buf;
}

/* "Mon 21 Dec 2026 08:00". */
char *
localtime_human(localtime_min_t t, char *buf)
{
	int64_t day = date_floordiv(t, 1440);
	/* 0..1439 (the % tells the compiler so: the text fits LOCALTIME_HUMAN_LEN). */
	unsigned minute = (unsigned)(t - day * 1440) % 1440u;
	char d[DATE_HUMAN_LEN];

	snprintf(buf, LOCALTIME_HUMAN_LEN, "%s %02u:%02u", date_human((date_t)day, d), minute / 60,
	         minute % 60);
	return buf;
}

/* Write "YYYY-MM-DDTHH:MM:SS" (seconds always 00) for a local minute count. */
char *
localtime_format(localtime_min_t t, char *buf)
{
	int64_t day = date_floordiv(t, 1440);
	int minute = (int)(t - day * 1440);

	date_format((date_t)day, buf);
	buf[10] = 'T';
	date_put_digits(buf + 11, 2, minute / 60);
	buf[13] = ':';
	date_put_digits(buf + 14, 2, minute % 60);
	memcpy(buf + 16, ":00", 4);
	return buf;
}

/* Parse "YYYY-MM-DD[THH:MM[:SS]]" into local minutes and seconds. */
int
localtime_parse(const char *s, localtime_min_t *out, int *sec)
{
	date_t d;
	int hh = 0, mm = 0, ss = 0;

	if (s == NULL || date_parse_prefix(s, &d) != 0)
		return -1;
	s += 10;
	if (*s == 'T') {
		if (date_digits(s + 1, 2, &hh) != 0 || s[3] != ':')
			return -1;
		if (date_digits(s + 4, 2, &mm) != 0)
			return -1;
		s += 6;
		if (*s == ':') {
			if (date_digits(s + 1, 2, &ss) != 0)
				return -1;
			s += 3;
		}
	}
	if (*s != '\0' || hh > 23 || mm > 59 || ss > 59)
		return -1;
	*out = (localtime_min_t)d * 1440 + hh * 60 + mm;
	if (sec != NULL)
		*sec = ss;
	return 0;
}
