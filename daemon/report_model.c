/* report_model.c - the report's figures held together: lists of days, warnings, labels, freeing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "xalloc.h"

/* Append s to a list of warnings. */
static void
report_warn_add(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = s;
}

void
report_warn(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_warn_add(&rep->warnings, &rep->nwarnings, xvasprintf(fmt, ap));
	va_end(ap);
}

void
report_warn_case(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_warn_add(&rep->case_warnings, &rep->ncase_warnings, xvasprintf(fmt, ap));
	va_end(ap);
}

const char *
report_rule_title(const struct report *rep, const char *id)
{
	for (size_t i = 0; i < rep->nrules; i++)
		if (strcmp(rep->rules[i].rule->id, id) == 0)
			return rep->rules[i].rule->title;
	if (rep->ruleset != NULL)
		for (size_t i = 0; i < rep->ruleset->nrules; i++)
			if (strcmp(rep->ruleset->rules[i].id, id) == 0)
				return rep->ruleset->rules[i].title;
	return NULL;
}

/* One decimal, as the report prints every percentage and median. */
const char *
report_fmt1(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f", v);
	return buf;
}

date_t
report_counted_on(const struct report *rep, date_t end)
{
	date_t today = (date_t)(rep->made / 1440);

	return end < today ? end : today;
}

/* The last day of period i: the day before the next starts, or the range's end. */
date_t
report_period_end(const struct report *rep, size_t i)
{
	date_t next = timeliness_period_start(&rep->periods, i + 1) - 1;

	return next < rep->to ? next : rep->to;
}

/*
 * Period i for people. Whole calendar months read as months: "Apr 2026",
 * "Apr-Jun 2026", "Apr 2026-Mar 2027"; any other span as dates:
 * "15 Jan-14 Feb 2026".
 */
const char *
report_period_label(const struct report *rep, size_t i, char *buf, size_t len)
{
	date_t a = timeliness_period_start(&rep->periods, i), b = report_period_end(rep, i);
	int ay, am, ad, by, bm, bd;

	date_to_ymd(a, &ay, &am, &ad);
	date_to_ymd(b, &by, &bm, &bd);
	if (ad == 1 && bd == date_days_in_month(by, bm)) {
		if (ay == by && am == bm)
			snprintf(buf, len, "%s %d", date_month_abbrev(am), ay);
		else if (ay == by)
			snprintf(buf, len, "%s-%s %d", date_month_abbrev(am), date_month_abbrev(bm),
			         ay);
		else
			snprintf(buf, len, "%s %d-%s %d", date_month_abbrev(am), ay,
			         date_month_abbrev(bm), by);
	} else if (ay == by)
		snprintf(buf, len, "%d %s-%d %s %d", ad, date_month_abbrev(am), bd,
		         date_month_abbrev(bm), by);
	else
		snprintf(buf, len, "%d %s %d-%d %s %d", ad, date_month_abbrev(am), ay, bd,
		         date_month_abbrev(bm), by);
	return buf;
}

static void
report_cell_free(struct report_cell *c)
{
	timeliness_tally_free(&c->tally);
}

static void
report_groups_free(struct report_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].name);
		timeliness_tally_free(&g[i].tally);
		timeliness_days_free(&g[i].to_done);
	}
	free(g);
}

void
report_free(struct report *rep)
{
	for (size_t i = 0; i < rep->nrules; i++) {
		struct report_rule *rr = &rep->rules[i];

		if (rr->cells != NULL)
			for (size_t k = 0; k < rep->periods.n; k++)
				report_cell_free(&rr->cells[k]);
		free(rr->cells);
		report_cell_free(&rr->total);
		timeliness_days_free(&rr->to_done);
		free(rr->open_why);
		report_groups_free(rr->themes, rr->nthemes);
		report_groups_free(rr->stages, rr->nstages);
	}
	free(rep->rules);
	for (size_t i = 0; i < rep->nstages; i++) {
		free(rep->stages[i].rule);
		free(rep->stages[i].stage);
		free(rep->stages[i].label);
	}
	free(rep->stages);
	for (size_t i = 0; i < rep->nrecipients; i++) {
		free(rep->recipients[i].kind);
		free(rep->recipients[i].recipient);
	}
	free(rep->recipients);
	for (size_t i = 0; i < rep->nclosed; i++) {
		free(rep->closed[i].rule);
		timeliness_days_free(&rep->closed[i].late_days);
	}
	free(rep->closed);
	for (size_t i = 0; i < rep->nanswers; i++) {
		free(rep->answers[i].rule);
		timeliness_days_free(&rep->answers[i].hours);
	}
	free(rep->answers);
	for (size_t i = 0; i < rep->nwarnings; i++)
		free(rep->warnings[i]);
	free(rep->warnings);
	for (size_t i = 0; i < rep->ncase_warnings; i++)
		free(rep->case_warnings[i]);
	free(rep->case_warnings);
	free(rep->config_path);
	timeliness_periods_free(&rep->periods);
	memset(rep, 0, sizeof *rep);
}
