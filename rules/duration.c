/* duration.c - rule offsets: "<signed integer> <unit>". */
#include "duration.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

/* One unit: its singular and plural spellings and the largest |n|. */
struct duration_unit_info {
	enum duration_unit unit;
	const char *singular;
	const char *plural;
	int max;
};

static const struct duration_unit_info duration_units[] = {
    {DUR_DAYS, "day", "days", DURATION_MAX_DAYS},
    {DUR_WORKING_DAYS, "working day", "working days", DURATION_MAX_WORKING_DAYS},
    {DUR_WEEKS, "week", "weeks", DURATION_MAX_WEEKS},
    {DUR_MONTHS, "month", "months", DURATION_MAX_MONTHS},
};

#define DURATION_NUNITS (sizeof duration_units / sizeof duration_units[0])

/* Any number of digits beyond this is over every limit. */
#define DURATION_BIG 1000000000000LL

/* The table entry for a unit. */
static const struct duration_unit_info *
duration_info(enum duration_unit unit)
{
	for (size_t i = 0; i < DURATION_NUNITS; i++) {
		if (duration_units[i].unit == unit)
			return &duration_units[i];
	}
	return &duration_units[0];
}

/* Is c a space between words? */
static int
duration_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Is c a decimal digit? */
static int
duration_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int duration_error(char **, const char *, ...) PRINTFLIKE(2, 3);

/* Set *cause (if wanted) to an allocated message and return -1. */
static int
duration_error(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Parse "<signed integer> <unit>". */
int
duration_parse(const char *s, struct duration *out, char **cause)
{
	const struct duration_unit_info *info = NULL;
	const char *p, *number, *q;
	char *unit, *u;
	int64_t value = 0;
	int negative = 0;
	int numlen;

	if (s == NULL)
		return duration_error(cause, "no duration; expected \"<number> <unit>\", e.g. "
		                             "\"20 working days\"");
	p = s;
	while (duration_space(*p))
		p++;
	number = p;
	if (*p == '+' || *p == '-')
		negative = *p++ == '-';
	if (!duration_digit(*p))
		return duration_error(
		    cause, "\"%s\": expected \"<number> <unit>\", e.g. \"20 working days\"", s);
	for (; duration_digit(*p); p++) {
		if (value < DURATION_BIG)
			value = value * 10 + (*p - '0');
	}
	numlen = (int)(p - number);
	if (*p != '\0' && !duration_space(*p))
		return duration_error(
		    cause,
		    "\"%s\": expected a whole number, a space and a unit, e.g. \"20 "
		    "working days\"",
		    s);
	while (duration_space(*p))
		p++;
	if (*p == '\0')
		return duration_error(cause,
		                      "\"%s\": missing unit after %.*s; expected day(s), working "
		                      "day(s), week(s) or month(s)",
		                      s, numlen, number);

	/* The unit's words, joined by single spaces. */
	u = unit = xmalloc(strlen(p) + 1);
	for (q = p; *q != '\0';) {
		if (duration_space(*q)) {
			while (duration_space(*q))
				q++;
			if (*q != '\0')
				*u++ = ' ';
		} else
			*u++ = *q++;
	}
	*u = '\0';
	for (size_t i = 0; i < DURATION_NUNITS; i++) {
		if (strcmp(unit, duration_units[i].singular) == 0 ||
		    strcmp(unit, duration_units[i].plural) == 0)
			info = &duration_units[i];
	}
	if (info == NULL) {
		const char *spellings[2 * DURATION_NUNITS], *near;

		for (size_t i = 0; i < DURATION_NUNITS; i++) {
			spellings[2 * i] = duration_units[i].plural;
			spellings[2 * i + 1] = duration_units[i].singular;
		}
		if ((near = suggest_word(unit, spellings, 2 * DURATION_NUNITS)) != NULL)
			duration_error(cause, "\"%s\": unknown unit \"%s\"; did you mean \"%s\"?",
			               s, unit, near);
		else
			duration_error(cause,
			               "\"%s\": unknown unit \"%s\"; expected day(s), working "
			               "day(s), week(s) or month(s)",
			               s, unit);
		free(unit);
		return -1;
	}
	free(unit);

	if (value > info->max)
		return duration_error(cause,
		                      "\"%s\": %.*s is out of range; the number of %s must be "
		                      "between -%d and %d",
		                      s, numlen, number, info->plural, info->max, info->max);
	out->n = negative ? -(int)value : (int)value;
	out->unit = info->unit;
	return 0;
}

/* Apply a duration to a date (working days use cal). */
date_t
duration_apply(const struct duration *dur, const struct calendar *cal, date_t d)
{
	switch (dur->unit) {
	case DUR_DAYS:
		return d + dur->n;
	case DUR_WORKING_DAYS:
		return calendar_add_working_days(cal, d, dur->n);
	case DUR_WEEKS:
		return d + 7 * dur->n;
	case DUR_MONTHS:
		return date_add_months(d, dur->n);
	}
	fatalx("duration_apply: bad unit %d", (int)dur->unit);
}

/* Write the canonical form ("-5 working days", "1 month") into buf. */
char *
duration_format(const struct duration *dur, char *buf, size_t len)
{
	const struct duration_unit_info *info = duration_info(dur->unit);

	snprintf(buf, len, "%d %s", dur->n,
	         dur->n == 1 || dur->n == -1 ? info->singular : info->plural);
	return buf;
}

/* Does applying it depend on the calendar (working days)? */
int
duration_uses_calendar(const struct duration *dur)
{
	return dur->unit == DUR_WORKING_DAYS;
}
