/* trail.c - how a clock's dates come about, for people: the days each count passed over. */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Is d outside the years the calendar's files cover (as eval.c asks)? */
static bool
trail_outside(const struct calendar *cal, date_t d)
{
	int first = calendar_first_year(cal), last = calendar_last_year(cal);

	if (last == 0)
		return false;
	return d < date_from_ymd(first, 1, 1) || d > date_from_ymd(last, 12, 31);
}

/* Append day to v (n long, *cap allocated) if it is not a working day. */
static void
trail_note(const struct calendar *cal, date_t day, struct trail_skip **v, size_t *n, size_t *cap)
{
	struct trail_skip *s;

	if (calendar_is_working_day(cal, day))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	s = &(*v)[(*n)++];
	s->day = day;
	s->kind = date_weekday(day) >= 6 ? TRAIL_WEEKEND : TRAIL_HOLIDAY;
	s->name = calendar_holiday_name(cal, day);
}

/* Apply by to from, keeping the days not counted. */
void
trail_step(const struct duration *by, const struct calendar *cal, date_t from,
           struct trail_step *out)
{
	size_t cap = 0;
	int y, m, d, y2, m2, d2;

	memset(out, 0, sizeof *out);
	out->from = from;
	out->by = *by;
	out->to = duration_apply(by, cal, from);
	if (by->unit == DUR_MONTHS) {
		date_to_ymd(from, &y, &m, &d);
		date_to_ymd(out->to, &y2, &m2, &d2);
		out->clamped = d != d2;
	}
	if (by->unit != DUR_WORKING_DAYS || by->n == 0)
		return;
	/* The count starts the day after from (forwards) or the day before it (backwards). */
	if (by->n > 0)
		for (date_t day = from + 1; day <= out->to; day++)
			trail_note(cal, day, &out->skipped, &out->nskipped, &cap);
	else
		for (date_t day = out->to; day < from; day++)
			trail_note(cal, day, &out->skipped, &out->nskipped, &cap);
	for (size_t i = 0; i < out->nskipped; i++) {
		if (out->skipped[i].kind == TRAIL_WEEKEND)
			out->weekend_days++;
		else
			out->holidays++;
	}
}

/* Free what trail_step allocated. */
void
trail_step_free(struct trail_step *s)
{
	free(s->skipped);
	s->skipped = NULL;
	s->nskipped = 0;
}

/* The dates of a clock, spelt out. */
void
trail_clock(const struct rule *r, const struct calendar *cal, date_t start, struct trail *out)
{
	/* eval_clock's test, condition for condition, so that both say "outside" alike. */
	bool uses_cal = r->working_days_only || duration_uses_calendar(&r->due);

	memset(out, 0, sizeof *out);
	out->start = start;
	trail_step(&r->due, cal, start, &out->due);
	out->due_outside = duration_uses_calendar(&r->due) &&
	                   (trail_outside(cal, start) || trail_outside(cal, out->due.to));
	out->outside = out->due_outside;
	out->nstages = r->nstages;
	out->stages = xcalloc(r->nstages > 0 ? r->nstages : 1, sizeof *out->stages);
	for (size_t i = 0; i < r->nstages; i++) {
		struct trail_stage *ts = &out->stages[i];
		const struct duration *at = &r->stages[i].at;
		size_t cap = 0;

		trail_step(at, cal, out->due.to, &ts->at);
		ts->date = ts->at.to;
		/* working_days_only: a stage never fires on a weekend or holiday (eval.c). */
		if (r->working_days_only) {
			ts->date = calendar_next_working_day(cal, ts->at.to);
			for (date_t day = ts->at.to; day < ts->date; day++)
				trail_note(cal, day, &ts->moved, &ts->nmoved, &cap);
		}
		ts->outside = (uses_cal || duration_uses_calendar(at)) &&
		              (trail_outside(cal, ts->date) ||
		               (duration_uses_calendar(at) && trail_outside(cal, out->due.to)));
		if (ts->outside)
			out->outside = true;
	}
}

/* Free what trail_clock allocated. */
void
trail_free(struct trail *t)
{
	trail_step_free(&t->due);
	for (size_t i = 0; i < t->nstages; i++) {
		trail_step_free(&t->stages[i].at);
		free(t->stages[i].moved);
	}
	free(t->stages);
	memset(t, 0, sizeof *t);
}

/* "3 working days after due", "on the due date". */
char *
trail_offset(const struct duration *by, const char *what, char *buf, size_t len)
{
	struct duration abs = *by;
	char dur[48];

	if (by->n == 0) {
		snprintf(buf, len, "on the %s date", what);
		return buf;
	}
	abs.n = by->n < 0 ? -by->n : by->n;
	snprintf(buf, len, "%s %s %s", duration_format(&abs, dur, sizeof dur),
	         by->n < 0 ? "before" : "after", what);
	return buf;
}

/* Append text to the allocated *s. */
static void
trail_append(char **s, const char *text)
{
	char *t = xasprintf("%s%s", *s, text);

	free(*s);
	*s = t;
}

/* The weekend days among v, grouped by weekend. */
char *
trail_weekends(const struct trail_skip *v, size_t n, size_t max)
{
	char *out = xstrdup(""), part[64];
	size_t groups = 0, shown = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i, next;
		int y, m, d, y2, m2, d2, yn = 0, mn, dn;

		if (v[i].kind != TRAIL_WEEKEND) {
			i++;
			continue;
		}
		/* A weekend: this day and the next if it is the following day. */
		if (j + 1 < n && v[j + 1].kind == TRAIL_WEEKEND && v[j + 1].day == v[j].day + 1 &&
		    date_weekday(v[j].day) == 6)
			j++;
		for (next = j + 1; next < n && v[next].kind != TRAIL_WEEKEND; next++)
			;
		groups++;
		if (shown < max) {
			date_to_ymd(v[i].day, &y, &m, &d);
			date_to_ymd(v[j].day, &y2, &m2, &d2);
			if (j == i)
				snprintf(part, sizeof part, "%d %s", d, date_month_abbrev(m));
			else if (m == m2)
				snprintf(part, sizeof part, "%d-%d %s", d, d2,
				         date_month_abbrev(m));
			else
				snprintf(part, sizeof part, "%d %s-%d %s", d, date_month_abbrev(m),
				         d2, date_month_abbrev(m2));
			if (shown > 0)
				trail_append(&out, ", ");
			trail_append(&out, part);
			/* The year after the last weekend shown of each year. */
			if (next < n)
				date_to_ymd(v[next].day, &yn, &mn, &dn);
			if (next >= n || yn != y2 || shown + 1 == max) {
				snprintf(part, sizeof part, " %04d", y2);
				trail_append(&out, part);
			}
			shown++;
		}
		i = j + 1;
	}
	if (groups > shown) {
		snprintf(part, sizeof part, " and %zu more weekend%s", groups - shown,
		         groups - shown == 1 ? "" : "s");
		trail_append(&out, part);
	}
	return out;
}
