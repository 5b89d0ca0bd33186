/*
 * fuzz_date.c - date_parse, date_parse_strict and localtime_parse on arbitrary
 * text, with round trips through date_format and localtime_format, and the
 * day-number arithmetic checked against itself on values taken from the input.
 */
#include <stdint.h>
#include <string.h>

#include "date.h"
#include "fuzz_common.h"

/* Is c a decimal digit? */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Check the arithmetic around one day number in years 1..9999. */
static void
check_day(date_t d)
{
	char buf[DATE_STRLEN], tbuf[DATETIME_STRLEN];
	int y, m, day, y2, m2, day2;
	date_t back;
	localtime_min_t t;

	date_to_ymd(d, &y, &m, &day);
	FUZZ_CHECK(date_valid_ymd(y, m, day), "day %d -> %d-%d-%d is not valid", (int)d, y, m, day);
	FUZZ_CHECK(date_from_ymd(y, m, day) == d, "day %d -> %04d-%02d-%02d -> %d", (int)d, y, m,
	           day, (int)date_from_ymd(y, m, day));
	FUZZ_CHECK(date_weekday(d) >= 1 && date_weekday(d) <= 7, "weekday %d", date_weekday(d));
	FUZZ_CHECK(date_weekday(d + 1) == date_weekday(d) % 7 + 1, "weekday of %d and %d", (int)d,
	           (int)d + 1);
	date_format(d, buf);
	FUZZ_CHECK(strlen(buf) == 10, "date_format gave \"%s\"", buf);
	FUZZ_CHECK(date_parse_strict(buf, &back) == 0 && back == d, "\"%s\" does not parse back",
	           buf);

	/* The next day is the next calendar date. */
	date_to_ymd(d + 1, &y2, &m2, &day2);
	if (day < date_days_in_month(y, m))
		FUZZ_CHECK(y2 == y && m2 == m && day2 == day + 1, "day after %s", buf);
	else if (m < 12)
		FUZZ_CHECK(y2 == y && m2 == m + 1 && day2 == 1, "day after %s", buf);
	else
		FUZZ_CHECK(y2 == y + 1 && m2 == 1 && day2 == 1, "day after %s", buf);

	/* Months: same day of the month, clamped to the month's end. */
	for (int n = -25; n <= 25; n += 7) {
		int64_t months = (int64_t)y * 12 + (m - 1) + n;
		int ey = (int)(months / 12), em = (int)(months % 12) + 1;
		int ed = day < date_days_in_month(ey, em) ? day : date_days_in_month(ey, em);

		if (ey < 1 || ey > 9999)
			continue;
		date_to_ymd(date_add_months(d, n), &y2, &m2, &day2);
		FUZZ_CHECK(y2 == ey && m2 == em && day2 == ed,
		           "%s + %d months = %04d-%02d-%02d, expected %04d-%02d-%02d", buf, n, y2,
		           m2, day2, ey, em, ed);
	}

	/* Local times on that day format back and parse again. */
	t = (localtime_min_t)d * 1440 + (localtime_min_t)(((unsigned)d * 7919u) % 1440u);
	localtime_format(t, tbuf);
	FUZZ_CHECK(strlen(tbuf) == 19 && memcmp(tbuf, buf, 10) == 0, "localtime_format gave %s",
	           tbuf);
	{
		localtime_min_t t2;
		int sec = -1;

		FUZZ_CHECK(localtime_parse(tbuf, &t2, &sec) == 0 && t2 == t && sec == 0,
		           "\"%s\" does not parse back", tbuf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	size_t len = strlen(s);
	char buf[DATE_STRLEN], tbuf[DATETIME_STRLEN];
	date_t d = 0, d2 = 0;
	localtime_min_t t = 0;
	int sec = -1, lax, strict, local;

	lax = date_parse(s, &d);
	strict = date_parse_strict(s, &d2);
	local = localtime_parse(s, &t, &sec);

	if (lax == 0) {
		/* A parsed date formats back to the same first 10 characters. */
		FUZZ_CHECK(len >= 10, "date_parse accepted \"%s\"", s);
		FUZZ_CHECK(memcmp(date_format(d, buf), s, 10) == 0,
		           "date_parse(\"%.10s\") formats back as \"%s\"", s, buf);
		FUZZ_CHECK(s[10] == '\0' || s[10] == 'T' || s[10] == ' ',
		           "date_parse accepted \"%s\" (byte 10 is 0x%02x)", s,
		           (unsigned char)s[10]);
		check_day(d);
	} else {
		FUZZ_CHECK(strict != 0, "date_parse_strict accepted \"%s\" but date_parse did not",
		           s);
		FUZZ_CHECK(local != 0, "localtime_parse accepted \"%s\" but date_parse did not", s);
	}
	if (strict == 0) {
		FUZZ_CHECK(lax == 0 && d2 == d, "strict and lax disagree on \"%s\"", s);
		FUZZ_CHECK(len == 10 && strcmp(date_format(d2, buf), s) == 0,
		           "date_parse_strict(\"%s\") formats back as \"%s\"", s, buf);
	} else if (lax == 0) {
		FUZZ_CHECK(len != 10, "date_parse_strict rejected \"%s\"", s);
	}
	if (local == 0) {
		/* Same day as date_parse (floor division: days before 1970 are negative). */
		localtime_min_t day = t >= 0 ? t / 1440 : -((-t + 1439) / 1440);

		FUZZ_CHECK(lax == 0 && day == d, "localtime_parse(\"%s\") is on another day", s);
		FUZZ_CHECK(sec >= 0 && sec <= 59, "localtime_parse(\"%s\") gave second %d", s, sec);
		localtime_format(t, tbuf);
		if (len == 10) {
			FUZZ_CHECK(strcmp(tbuf + 10, "T00:00:00") == 0 && sec == 0,
			           "\"%s\" is not midnight: %s", s, tbuf);
		} else {
			FUZZ_CHECK(len == 16 || len == 19, "localtime_parse accepted \"%s\"", s);
			FUZZ_CHECK(memcmp(tbuf, s, 16) == 0,
			           "localtime_parse(\"%s\") formats back as \"%s\"", s, tbuf);
			if (len == 19)
				FUZZ_CHECK(is_digit(s[17]) && is_digit(s[18]) &&
				               sec == (s[17] - '0') * 10 + (s[18] - '0'),
				           "seconds of \"%s\": %d", s, sec);
		}
	} else if (lax == 0 && len == 10) {
		FUZZ_CHECK(0, "localtime_parse rejected the date \"%s\"", s);
	}

	/* Day numbers straight from the input bytes, folded into years 1..9999. */
	if (size >= 4) {
		const date_t first = -719162; /* 0001-01-01 */
		const date_t last = 2932896;  /* 9999-12-31 */
		uint32_t raw;

		memcpy(&raw, data, 4);
		check_day(first + (date_t)(raw % (uint32_t)(last - first + 1)));
		date_format(first, buf);
		FUZZ_CHECK(strcmp(buf, "0001-01-01") == 0, "day %d is %s", (int)first, buf);
		date_format(last, buf);
		FUZZ_CHECK(strcmp(buf, "9999-12-31") == 0, "day %d is %s", (int)last, buf);
	}
	free(s);
	return 0;
}
