/*
 * trail.h - how a clock's dates come about, for people (escalatord explain):
 * start + due = the due date, with every weekend day and bank holiday the
 * count of working days passed over; each stage's date from the due date,
 * and the days it was moved over to reach a working day. Pure: the same
 * arithmetic as eval.c, spelt out (trail_clock agrees with eval_clock and
 * eval_stage_date, which the tests check).
 */
#ifndef ESCALATOR_TRAIL_H
#define ESCALATOR_TRAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"
#include "date.h"
#include "duration.h"
#include "ruleset.h"

/* Why a day was not counted as a working day. */
enum trail_skip_kind {
	TRAIL_WEEKEND, /* Saturday or Sunday (a holiday listed on one is a weekend day too) */
	TRAIL_HOLIDAY, /* a weekday listed in a holiday file */
};

/* One day not counted. */
struct trail_skip {
	date_t day;
	enum trail_skip_kind kind;
	const char *name; /* the holiday's name (borrowed from the calendar), or NULL */
};

/* One offset applied to a date: from + by = to. */
struct trail_step {
	date_t from;
	struct duration by;
	date_t to;
	/* months: from's day of the month is not in to's month, so to is that month's last day */
	bool clamped;
	/*
	 * Working days: every day between from and to (after from, up to and
	 * including to; backwards, from to up to the day before from) that was
	 * not counted, in date order. None for other units.
	 */
	struct trail_skip *skipped;
	size_t nskipped;
	int weekend_days; /* how many of skipped are TRAIL_WEEKEND */
	int holidays;     /* how many are TRAIL_HOLIDAY */
};

/* How one stage's date comes about. */
struct trail_stage {
	struct trail_step at; /* due + the stage's at */
	/* The day it fires: at.to, or the next working day after it (working_days_only). */
	date_t date;
	struct trail_skip *moved; /* the days passed over to reach date (at.to .. date - 1) */
	size_t nmoved;
	bool outside; /* its date depends on days outside the holiday files' years */
};

/* A clock's dates, spelt out. */
struct trail {
	date_t start;
	struct trail_step due; /* start + the rule's due */
	bool due_outside;      /* the due count crossed days outside the holiday files' years */
	struct trail_stage *stages;
	size_t nstages;
	bool outside; /* any date outside the files' years: eval_clock's outside_calendar */
};

/* Apply by to from on cal, keeping the days not counted. Free with trail_step_free. */
void trail_step(const struct duration *by, const struct calendar *cal, date_t from,
                struct trail_step *out);
void trail_step_free(struct trail_step *s);

/* The dates of a clock of clock rule r that started on start. Free with trail_free. */
void trail_clock(const struct rule *r, const struct calendar *cal, date_t start, struct trail *out);
void trail_free(struct trail *t);

/*
 * An offset for people, from what ("due", "start"): "3 working days after
 * due", "1 working day before due", "30 days before due", "on the due date"
 * (0; what "start": "on the start date").
 */
char *trail_offset(const struct duration *by, const char *what, char *buf, size_t len);

/*
 * The weekend days among v[0..n) for people, each weekend as one group and
 * the year after the last of each year: "5-6 Dec, 12-13 Dec, 26-27 Dec 2026,
 * 2-3 Jan 2027"; a weekend cut by the start or end of the count is one day
 * ("13 Dec"), one across a month end "31 Oct-1 Nov". At most max groups,
 * then " and N more weekends". Allocated; "" when there are none.
 */
char *trail_weekends(const struct trail_skip *v, size_t n, size_t max);

#endif
