/*
 * fuzz_holidays.c - a holiday file (the input) loaded with calendar_load_file;
 * then calendar_add_working_days and calendar_next_working_day, which work by
 * binary search over numbered working days, are compared with a naive walk
 * one day at a time for small offsets from dates chosen from the input, and
 * so is calendar_working_days_between; the names of the dates it lists
 * (calendar_holiday_name) are trimmed, short and free of control characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "date.h"
#include "fuzz_common.h"
#include "diag.h"

/* Years 1..9999 as day numbers. */
#define FIRST_DAY (-719162)
#define LAST_DAY 2932896

/* The walk the README describes: step one day at a time, counting working days. */
static date_t
naive_add(const struct calendar *cal, date_t day, int n)
{
	int step = n > 0 ? 1 : -1;

	while (n != 0) {
		day += step;
		if (calendar_is_working_day(cal, day))
			n -= step;
	}
	return day;
}

/* The day itself if it is a working day, else the next one, one day at a time. */
static date_t
naive_next(const struct calendar *cal, date_t day)
{
	while (!calendar_is_working_day(cal, day))
		day++;
	return day;
}

/* Compare the calendar with the naive walks around day. */
static void
check_around(const struct calendar *cal, date_t day, int n)
{
	char a[DATE_STRLEN], b[DATE_STRLEN], c[DATE_STRLEN];
	date_t got, want;

	if (day < FIRST_DAY + 400 || day > LAST_DAY - 400)
		return;
	got = calendar_add_working_days(cal, day, n);
	want = n == 0 ? day : naive_add(cal, day, n);
	FUZZ_CHECK(got == want, "%s + %d working days = %s, walking gives %s", date_format(day, a),
	           n, date_format(got, b), date_format(want, c));
	got = calendar_next_working_day(cal, day);
	want = naive_next(cal, day);
	FUZZ_CHECK(got == want, "next working day from %s = %s, walking gives %s",
	           date_format(day, a), date_format(got, b), date_format(want, c));
	FUZZ_CHECK(calendar_is_working_day(cal, day) ==
	               (date_weekday(day) <= 5 && !calendar_is_holiday(cal, day)),
	           "is_working_day(%s)", date_format(day, a));
	/* Working days in (day, day + k], counted by walking. */
	for (int k = -2; k <= 2 * (n < 0 ? -n : n) + 2; k += 3) {
		int walked = 0, between = calendar_working_days_between(cal, day, day + k);

		for (date_t x = day + 1; x <= day + k; x++)
			walked += calendar_is_working_day(cal, x);
		FUZZ_CHECK(between == walked,
		           "working days between %s and %s: %d, walking gives %d",
		           date_format(day, a), date_format(day + k, b), between, walked);
	}
}

/* A holiday's name, if any, is at most 100 bytes of text a terminal shows as it is. */
static void
check_name(const struct calendar *cal, date_t day, const char *line)
{
	const char *name = calendar_holiday_name(cal, day);

	if (name == NULL)
		return;
	FUZZ_CHECK(calendar_is_holiday(cal, day), "%s has a name but is not a holiday", line);
	FUZZ_CHECK(*name != '\0' && strlen(name) <= 100, "%s: a name of %zu bytes", line,
	           strlen(name));
	FUZZ_CHECK(name[0] != ' ' && name[strlen(name) - 1] != ' ',
	           "%s: name \"%s\" is not trimmed", line, name);
	for (const char *p = name; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f,
		           "%s: name has control character 0x%02x", line, (unsigned char)*p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_tmp("escalator-fuzz-holidays", data, size);
	struct calendar *cal = calendar_new();
	struct diag d;
	uint64_t rng = fuzz_hash(data, size);
	date_t base, h;
	int rc, count, first, last;

	/* Something already in the calendar, which a failed load must leave alone. */
	if (date_parse_strict("2026-12-25", &h) != 0)
		abort();
	calendar_add_holiday(cal, h);
	diag_init(&d);
	rc = calendar_load_file(cal, path, &d);
	count = calendar_count(cal);
	first = calendar_first_year(cal);
	last = calendar_last_year(cal);
	FUZZ_CHECK(rc == 0 || rc == -1, "calendar_load_file returned %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(d.errors > 0, "failed without an error message");
		FUZZ_CHECK(count == 1 && first == 0 && last == 0,
		           "a failed load changed the calendar: %d holidays, years %d-%d", count,
		           first, last);
	} else {
		FUZZ_CHECK(d.errors == 0, "succeeded with %zu errors", d.errors);
		FUZZ_CHECK(count >= 1, "%d holidays", count);
		FUZZ_CHECK((first == 0) == (last == 0) && first <= last && first >= 0 &&
		               last <= 9999,
		           "covers %d-%d", first, last);
	}
	for (size_t i = 0; i < d.n; i++)
		FUZZ_CHECK(d.v[i].text != NULL && strchr(d.v[i].text, '\n') == NULL,
		           "message %zu has a line break: %s", i, d.v[i].text);
	diag_free(&d);

	/* Loading the same file again adds nothing new. */
	if (rc == 0) {
		diag_init(&d);
		FUZZ_CHECK(calendar_load_file(cal, path, &d) == 0, "second load failed");
		FUZZ_CHECK(calendar_count(cal) == count, "second load: %d holidays, first %d",
		           calendar_count(cal), count);
		diag_free(&d);
	}

	/* Start dates: around the loaded years (or 2026), then offsets small enough to walk. */
	if (date_parse_strict("2026-01-01", &base) != 0)
		abort();
	if (first > 0)
		base = date_from_ymd(first, 1, 1);
	for (int i = 0; i < 24; i++) {
		int span = first > 0 ? (last - first + 1) * 366 : 1000;
		date_t day = base + (date_t)(fuzz_next(&rng) % (uint64_t)span);
		int n = (int)(fuzz_next(&rng) % 81) - 40;

		check_around(cal, day, n);
		check_around(cal, day, n > 0 ? 1 : -1);
	}
	/* And right around the first dates written in the file, where the holidays are. */
	{
		const char *p = (const char *)data, *end = p + size;
		int seen = 0;

		while (p < end && seen < 16) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl != NULL ? nl : end) - p);
			char line[11];
			date_t day;

			while (len > 0 && (*p == ' ' || *p == '\t'))
				p++, len--;
			if (len >= 10) {
				memcpy(line, p, 10);
				line[10] = '\0';
				if (date_parse_strict(line, &day) == 0) {
					/* A file that loaded holds every date it lists. */
					FUZZ_CHECK(rc != 0 || calendar_is_holiday(cal, day),
					           "%s is in the file but not a holiday", line);
					check_name(cal, day, line);
					seen++;
					for (int k = -3; k <= 3; k++)
						check_around(cal, day + k,
						             (int)(fuzz_next(&rng) % 21) - 10);
				}
			}
			p = nl != NULL ? nl + 1 : end;
		}
	}
	calendar_free(cal);
	return 0;
}
