/* timeliness.c - on time or late, by the rule's own due date; the report's periods and figures. */
#include "timeliness.h"

#include <stdlib.h>

#include "duration.h"
#include "eval.h"
#include "xalloc.h"

/* A completed clock: its due date, and on time or late by how many working days. */
enum timeliness_result
timeliness_classify(const struct rule *r, const struct calendar *cal, date_t start, date_t done,
                    date_t *due, int *late)
{
	*due = duration_apply(&r->due, cal, start);
	*late = 0;
	if (done < start)
		return TIMELINESS_BEFORE_START;
	if (done <= *due)
		return TIMELINESS_ON_TIME;
	/* As a stage counts: the working days after due up to and including done. */
	*late = eval_working_days_late(cal, *due, done);
	return TIMELINESS_LATE;
}

/* Set the periods up. */
int
timeliness_periods_init(struct timeliness_periods *p, date_t from, date_t to, int months)
{
	if (to < from || months <= 0)
		return -1;
	p->from = from;
	p->to = to;
	p->months = months;
	p->n = 0;
	while (timeliness_period_start(p, p->n) <= to)
		p->n++;
	return 0;
}

/* The first day of period i: from + i * months, from `from` itself so a clamp never drifts. */
date_t
timeliness_period_start(const struct timeliness_periods *p, size_t i)
{
	return date_add_months(p->from, (int)i * p->months);
}

/* The period holding day, or -1. */
long
timeliness_period_of(const struct timeliness_periods *p, date_t day)
{
	size_t lo = 0, hi = p->n;

	if (day < p->from || day > p->to)
		return -1;
	/* The last period whose start is on or before day (starts ascend). */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (timeliness_period_start(p, mid) <= day)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

/* Count one classified clock. */
void
timeliness_add(struct timeliness_tally *t, enum timeliness_result res, int late)
{
	if (res == TIMELINESS_BEFORE_START)
		return;
	t->completed++;
	if (res == TIMELINESS_ON_TIME) {
		t->on_time++;
		return;
	}
	if ((size_t)t->late == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->late_days = xreallocarray(t->late_days, t->cap, sizeof *t->late_days);
	}
	t->late_days[t->late++] = late;
}

void
timeliness_tally_free(struct timeliness_tally *t)
{
	free(t->late_days);
	t->late_days = NULL;
	t->cap = 0;
}

static int
timeliness_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The figures of a tally. */
void
timeliness_figures(struct timeliness_tally *t, struct timeliness_figures *f)
{
	size_t n = (size_t)t->late;

	f->has_percent = t->completed > 0;
	f->percent = f->has_percent ? 100.0 * (double)t->on_time / (double)t->completed : 0;
	f->has_late = n > 0;
	f->median = 0;
	f->max = 0;
	if (n == 0)
		return;
	qsort(t->late_days, n, sizeof *t->late_days, timeliness_cmp);
	f->median =
	    n % 2 ? t->late_days[n / 2] : (t->late_days[n / 2 - 1] + t->late_days[n / 2]) / 2.0;
	f->max = t->late_days[n - 1];
}
