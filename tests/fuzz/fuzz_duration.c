/*
 * fuzz_duration.c - duration_parse on arbitrary text; a parsed duration must
 * format back to something that parses to the same duration, and applying it
 * to a few dates (with a calendar holding a few bank holidays) must agree
 * with the README's definition of each unit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "date.h"
#include "duration.h"
#include "fuzz_common.h"

static struct calendar *cal;

/* England and Wales bank holidays around the dates used below, and a run of them. */
static const char *const holidays[] = {
    "2024-12-25", "2024-12-26", "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05",
    "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03",
    "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    "2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05", "2027-03-08",
};

/* Dates the durations are applied to: ordinary, month ends, leap days, holidays, edges. */
static const char *const starts[] = {
    "2026-10-01", "2024-01-31", "2024-02-29", "2025-12-24", "2026-12-25",
    "2027-02-26", "2026-05-02", "0001-01-01", "9999-12-31",
};

/* Is the date inside years 1..9999? */
static bool
in_range(date_t d)
{
	return d >= -719162 && d <= 2932896;
}

/* Working days in (a, b] counted one day at a time (a <= b). */
static int
count_working(date_t a, date_t b)
{
	int n = 0;

	for (date_t x = a + 1; x <= b; x++)
		n += calendar_is_working_day(cal, x);
	return n;
}

/* Check one application of dur to d against the definition of its unit. */
static void
check_apply(const struct duration *dur, date_t d)
{
	date_t r = duration_apply(dur, cal, d);
	char a[DATE_STRLEN], b[DATE_STRLEN], fmt[32];
	int y, m, day, y2, m2, day2;

	duration_format(dur, fmt, sizeof fmt);
	date_format(d, a);
	date_format(r, b);
	switch (dur->unit) {
	case DUR_DAYS:
		FUZZ_CHECK(r == d + dur->n, "%s + %s = %s", a, fmt, b);
		break;
	case DUR_WEEKS:
		FUZZ_CHECK(r == d + 7 * dur->n, "%s + %s = %s", a, fmt, b);
		break;
	case DUR_MONTHS: {
		int64_t months;
		int ey, em, ed;

		date_to_ymd(d, &y, &m, &day);
		months = (int64_t)y * 12 + (m - 1) + dur->n;
		ey = (int)(months / 12);
		em = (int)(months % 12) + 1;
		if (ey < 1 || ey > 9999)
			break; /* outside the range dates are defined for */
		ed = day < date_days_in_month(ey, em) ? day : date_days_in_month(ey, em);
		date_to_ymd(r, &y2, &m2, &day2);
		FUZZ_CHECK(y2 == ey && m2 == em && day2 == ed, "%s + %s = %s", a, fmt, b);
		break;
	}
	case DUR_WORKING_DAYS:
		if (dur->n == 0) {
			FUZZ_CHECK(r == d, "%s + %s = %s", a, fmt, b);
			break;
		}
		if (!in_range(r))
			break;
		FUZZ_CHECK(calendar_is_working_day(cal, r), "%s + %s = %s, not a working day", a,
		           fmt, b);
		/* Counting one day at a time: exactly |n| working days in between. */
		if (dur->n > 0)
			FUZZ_CHECK(r > d && count_working(d, r) == dur->n,
			           "%s + %s = %s, %d working days later", a, fmt, b,
			           r > d ? count_working(d, r) : -1);
		else
			FUZZ_CHECK(r < d && count_working(r - 1, d - 1) == -dur->n,
			           "%s + %s = %s, %d working days earlier", a, fmt, b,
			           r < d ? count_working(r - 1, d - 1) : -1);
		break;
	default:
		FUZZ_CHECK(0, "unit %d", (int)dur->unit);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), *cause = NULL, *cause2 = NULL;
	struct duration dur, again;
	char buf[64];
	int max = 0;

	if (cal == NULL) {
		cal = calendar_new();
		for (size_t i = 0; i < sizeof holidays / sizeof holidays[0]; i++) {
			date_t h;

			if (date_parse_strict(holidays[i], &h) != 0)
				abort();
			calendar_add_holiday(cal, h);
		}
	}

	memset(&dur, 0, sizeof dur);
	if (duration_parse(s, &dur, &cause) != 0) {
		FUZZ_CHECK(cause != NULL && *cause != '\0', "no cause for \"%s\"", s);
		free(cause);
		free(s);
		return 0;
	}
	FUZZ_CHECK(cause == NULL, "cause set on success for \"%s\"", s);

	switch (dur.unit) {
	case DUR_DAYS:
		max = DURATION_MAX_DAYS;
		break;
	case DUR_WORKING_DAYS:
		max = DURATION_MAX_WORKING_DAYS;
		break;
	case DUR_WEEKS:
		max = DURATION_MAX_WEEKS;
		break;
	case DUR_MONTHS:
		max = DURATION_MAX_MONTHS;
		break;
	default:
		FUZZ_CHECK(0, "\"%s\" parsed to unit %d", s, (int)dur.unit);
	}
	FUZZ_CHECK(dur.n >= -max && dur.n <= max, "\"%s\" parsed to %d, over %d", s, dur.n, max);
	FUZZ_CHECK(duration_uses_calendar(&dur) == (dur.unit == DUR_WORKING_DAYS), "\"%s\"", s);

	/* The canonical form parses back to the same duration. */
	duration_format(&dur, buf, sizeof buf);
	memset(&again, 0, sizeof again);
	FUZZ_CHECK(duration_parse(buf, &again, &cause2) == 0, "\"%s\" -> \"%s\" does not parse: %s",
	           s, buf, cause2 ? cause2 : "?");
	FUZZ_CHECK(again.n == dur.n && again.unit == dur.unit,
	           "\"%s\" -> \"%s\" parses to %d unit %d", s, buf, again.n, (int)again.unit);

	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		date_t d;

		if (date_parse_strict(starts[i], &d) != 0)
			abort();
		/* Counting one day at a time is slow: keep big working-day offsets near the middle.
		 */
		if (dur.unit == DUR_WORKING_DAYS && (dur.n > 2000 || dur.n < -2000) && i > 0)
			continue;
		check_apply(&dur, d);
	}
	free(s);
	return 0;
}
