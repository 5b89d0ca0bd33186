/* duration.h - rule offsets: "<signed integer> <unit>". */
#ifndef ESCALATOR_DURATION_H
#define ESCALATOR_DURATION_H

#include "calendar.h"
#include "date.h"

enum duration_unit { DUR_DAYS, DUR_WORKING_DAYS, DUR_WEEKS, DUR_MONTHS };

struct duration {
	int n;
	enum duration_unit unit;
};

/* Largest |n| accepted, per unit: enough for any timescale, small enough to stay fast. */
#define DURATION_MAX_DAYS 36600
#define DURATION_MAX_WORKING_DAYS 26000
#define DURATION_MAX_WEEKS 5200
#define DURATION_MAX_MONTHS 1200

/*
 * Parse "<signed integer> <unit>" where unit is day(s), working day(s),
 * week(s) or month(s); "+" or "-" may lead the number; spaces around the
 * words may be repeated. On error returns -1 and sets *cause to an allocated
 * message saying what was expected.
 */
int duration_parse(const char *s, struct duration *out, char **cause);
/* Apply a duration to a date (working days use cal). */
date_t duration_apply(const struct duration *dur, const struct calendar *cal, date_t d);
/* Write the canonical form ("-5 working days") into buf (at least 32 bytes). */
char *duration_format(const struct duration *dur, char *buf, size_t len);
/* Does applying it depend on the calendar (working days)? */
int duration_uses_calendar(const struct duration *dur);

#endif
