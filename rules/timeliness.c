/* timeliness.c - on time or late, by the rule's own due date; the report's periods and figures. */
#include "timeliness.h"

#include <stdlib.h>
#include <string.h>

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

/* Set the periods up: every start computed once, from `from` itself so a clamp never drifts. */
int
timeliness_periods_init(struct timeliness_periods *p, date_t from, date_t to, int months)
{
	size_t cap = 16;

	memset(p, 0, sizeof *p);
	if (to < from || months <= 0)
		return -1;
	p->from = from;
	p->to = to;
	p->months = months;
	p->starts = xcalloc(cap, sizeof *p->starts);
	for (;;) {
		date_t s = date_add_months(from, (int)p->n * months);

		if (p->n + 1 == cap) {
			cap *= 2;
			p->starts = xreallocarray(p->starts, cap, sizeof *p->starts);
		}
		p->starts[p->n] = s;
		if (s > to)
			break;
		p->n++;
	}
	return 0;
}

void
timeliness_periods_free(struct timeliness_periods *p)
{
	free(p->starts);
	p->starts = NULL;
}

/* The first day of period i (i may be n: the day after the last period's end, at most). */
date_t
timeliness_period_start(const struct timeliness_periods *p, size_t i)
{
	if (i <= p->n && p->starts != NULL)
		return p->starts[i];
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

		if (p->starts[mid] <= day)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

void
timeliness_days_add(struct timeliness_days *d, int days)
{
	size_t v = days > 0 ? (size_t)days : 0;

	if (v >= d->len) {
		size_t len = d->len ? d->len : 64;

		while (len <= v)
			len *= 2;
		d->count = xreallocarray(d->count, len, sizeof *d->count);
		memset(d->count + d->len, 0, (len - d->len) * sizeof *d->count);
		d->len = len;
	}
	d->count[v]++;
	d->n++;
}

/* The value at rank k (0-based) of d, counting up. */
static int
timeliness_days_rank(const struct timeliness_days *d, long long k)
{
	long long seen = 0;

	for (size_t v = 0; v < d->len; v++) {
		seen += d->count[v];
		if (seen > k)
			return (int)v;
	}
	return 0;
}

bool
timeliness_days_figures(const struct timeliness_days *d, double *median, int *max)
{
	*median = 0;
	*max = 0;
	if (d->n == 0)
		return false;
	*median =
	    (timeliness_days_rank(d, (d->n - 1) / 2) + timeliness_days_rank(d, d->n / 2)) / 2.0;
	for (size_t v = d->len; v-- > 0;)
		if (d->count[v] > 0) {
			*max = (int)v;
			break;
		}
	return true;
}

void
timeliness_days_free(struct timeliness_days *d)
{
	free(d->count);
	memset(d, 0, sizeof *d);
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
	t->late++;
	timeliness_days_add(&t->late_days, late);
}

void
timeliness_tally_free(struct timeliness_tally *t)
{
	timeliness_days_free(&t->late_days);
}

/* The figures of a tally. */
void
timeliness_figures(const struct timeliness_tally *t, struct timeliness_figures *f)
{
	f->has_percent = t->completed > 0;
	f->percent = f->has_percent ? 100.0 * (double)t->on_time / (double)t->completed : 0;
	f->has_late = timeliness_days_figures(&t->late_days, &f->median, &f->max);
}
