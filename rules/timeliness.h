/*
 * timeliness.h - the annual report's first figure, from the rule that chased
 * it: a completed clock is on time when it was done on or before its due
 * date (the rule's due from its start, on the working-day calendar), else
 * late by the working days after due, counted as stages count them. Pure:
 * dates in, figures out.
 */
#ifndef ESCALATOR_TIMELINESS_H
#define ESCALATOR_TIMELINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"
#include "date.h"
#include "ruleset.h"

enum timeliness_result {
	TIMELINESS_ON_TIME,
	TIMELINESS_LATE,
	TIMELINESS_BEFORE_START, /* done before the clock started: bad data, skipped */
};

/*
 * A clock of r that started on start and was done on done: its due date
 * (*due) and whether it was on time, or late by *late working days (0 when
 * on time).
 */
enum timeliness_result timeliness_classify(const struct rule *r, const struct calendar *cal,
                                           date_t start, date_t done, date_t *due, int *late);

/*
 * Reporting periods: from `from` to `to` (inclusive), each `months` long
 * (1, 3 or 12) and starting at from + k * months (date_add_months, so 31
 * January's months start on the 28th/29th or 31st as each month allows).
 */
struct timeliness_periods {
	date_t from, to;
	int months;
	size_t n;       /* periods that start on or before to */
	date_t *starts; /* each period's first day, and one past the last: found by bisection */
};

/* Set p up; -1 when to is before from or months is not positive. */
int timeliness_periods_init(struct timeliness_periods *p, date_t from, date_t to, int months);
void timeliness_periods_free(struct timeliness_periods *p);
/* The first day of period i. */
date_t timeliness_period_start(const struct timeliness_periods *p, size_t i);
/* The period holding day, or -1 when day is outside from..to. */
long timeliness_period_of(const struct timeliness_periods *p, date_t day);

/*
 * Counts of working days (late, or from start to done), kept as how many of
 * each: adding is O(1) and the median needs no sort, which matters at a
 * million clocks. Days are small (a clock late by years is a few hundred);
 * a negative count is taken as 0.
 */
struct timeliness_days {
	long long *count; /* count[d]: how many were d days */
	size_t len;
	long long n;
};
void timeliness_days_add(struct timeliness_days *d, int days);
/* Median (x.5 between two) and maximum; false when d is empty. */
bool timeliness_days_figures(const struct timeliness_days *d, double *median, int *max);
void timeliness_days_free(struct timeliness_days *d);

/* One rule's completed clocks in one period. */
struct timeliness_tally {
	long long completed, on_time, late;
	struct timeliness_days late_days; /* working days late of the late clocks */
};

/* Count one classified clock (late: its working days late). */
void timeliness_add(struct timeliness_tally *t, enum timeliness_result res, int late);
void timeliness_tally_free(struct timeliness_tally *t);

/* What a tally says, for the report's columns. */
struct timeliness_figures {
	bool has_percent; /* completed > 0 */
	double percent;   /* on time, of completed */
	bool has_late;    /* late > 0 */
	double median;    /* of the late ones' working days late (x.5 between two) */
	int max;
};
/* The figures of t. */
void timeliness_figures(const struct timeliness_tally *t, struct timeliness_figures *f);

#endif
