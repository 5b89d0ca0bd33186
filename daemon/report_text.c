/*
 * report_text.c - the report as plain text an IRO manager can read on screen
 * or paste into the annual report: the summary against each target first,
 * then each rule's table by period, practice resolution by stage and theme,
 * what the service sent, and what could not be counted.
 */
#include <string.h>

#include "report.h"

/* Recipients listed in text; the rest are counted (the CSV has them all). */
#define REPORT_TEXT_RECIPIENTS 20

/* "94.2%" or an en dash when undefined. */
static const char *
rt_pct(bool has, double v, char *buf, size_t len)
{
	if (!has)
		return "\xe2\x80\x93";
	snprintf(buf, len, "%.1f%%", v);
	return buf;
}

/* "1.5" or an en dash. */
static const char *
rt_fig(bool has, double v, char *buf, size_t len)
{
	return has ? report_fmt1(v, buf, len) : "\xe2\x80\x93";
}

/* "3" or an en dash. */
static const char *
rt_int(bool has, long long v, char *buf, size_t len)
{
	if (!has)
		return "\xe2\x80\x93";
	snprintf(buf, len, "%lld", v);
	return buf;
}

/*
 * Print s right-aligned in width columns: the en dash is three bytes but one
 * column, so widths are counted in characters, not bytes.
 */
static void
rt_cell(FILE *f, const char *s, int width)
{
	int chars = 0;

	for (const char *p = s; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	for (int i = chars; i < width; i++)
		fputc(' ', f);
	fputs(s, f);
}

/* Characters (not bytes) in s. */
static int
rt_chars(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/*
 * s left-aligned in width characters; a longer one is cut on a character
 * boundary and ends in an ellipsis, so columns stay straight.
 */
static void
rt_left(FILE *f, const char *s, int width)
{
	int n = rt_chars(s);

	if (n > width) {
		int keep = width - 1;
		const char *p = s;

		for (int c = 0; *p && c < keep; c++)
			for (p++; ((unsigned char)*p & 0xc0) == 0x80; p++)
				;
		fwrite(s, 1, (size_t)(p - s), f);
		fputs("\xe2\x80\xa6", f);
		return;
	}
	fputs(s, f);
	for (; n < width; n++)
		fputc(' ', f);
}

/* The widest of the strings a rule's column shows (at least min, at most max). */
static int
rt_width(int w, const char *s, int max)
{
	int n = rt_chars(s);

	if (n > w)
		w = n;
	return w < max ? w : max;
}

/* The widest period label, for the first column. */
static int
rt_label_width(const struct report *rep)
{
	char label[64];
	int w = (int)strlen("Whole period");

	for (size_t k = 0; k < rep->periods.n; k++) {
		int n = (int)strlen(report_period_label(rep, k, label, sizeof label));

		if (n > w)
			w = n;
	}
	return w;
}

/* One row of a rule's table. */
static void
rt_row(FILE *f, const char *label, int lw, const struct report_cell *c, bool open_known)
{
	char a[32], b[32], d[32], e[32];

	fprintf(f, "  %-*s", lw, label);
	snprintf(a, sizeof a, "%lld", c->tally.completed);
	rt_cell(f, a, 10);
	snprintf(a, sizeof a, "%lld", c->tally.on_time);
	rt_cell(f, a, 9);
	snprintf(a, sizeof a, "%lld", c->tally.late);
	rt_cell(f, a, 6);
	rt_cell(f, rt_pct(c->fig.has_percent, c->fig.percent, b, sizeof b), 11);
	rt_cell(f, rt_fig(c->fig.has_late, c->fig.median, d, sizeof d), 10);
	rt_cell(f, rt_int(c->fig.has_late, c->fig.max, e, sizeof e), 8);
	rt_cell(f, rt_int(open_known && c->open_overdue >= 0, c->open_overdue, a, sizeof a), 10);
	fputc('\n', f);
}

/* The summary: each rule with history over the whole range, against its target. */
static void
rt_summary(FILE *f, const struct report *rep)
{
	char a[32], b[32];
	bool any = false;
	int tw = 10;

	for (size_t i = 0; i < rep->nrules; i++)
		if (rep->rules[i].has_history) {
			any = true;
			tw = rt_width(tw, rep->rules[i].rule->title, 60);
		}
	if (!any)
		return;
	fprintf(f, "Done in timescale, the whole period\n  ");
	rt_left(f, "", tw);
	fprintf(f, " %9s %8s %9s %7s\n", "Completed", "On time", "% on time", "Target");
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];
		const struct timeliness_figures *fg = &rr->total.fig;

		if (!rr->has_history)
			continue;
		fputs("  ", f);
		rt_left(f, rr->rule->title, tw);
		snprintf(a, sizeof a, "%lld", rr->total.tally.completed);
		rt_cell(f, a, 10);
		snprintf(a, sizeof a, "%lld", rr->total.tally.on_time);
		rt_cell(f, a, 9);
		rt_cell(f, rt_pct(fg->has_percent, fg->percent, b, sizeof b), 10);
		if (rr->rule->target >= 0) {
			snprintf(a, sizeof a, "%g%%", rr->rule->target);
			rt_cell(f, a, 8);
			if (fg->has_percent && fg->percent < rr->rule->target)
				fputs("  below target", f);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
}

/* One rule's table by period. */
static void
rt_rule(FILE *f, const struct report *rep, const struct report_rule *rr, int lw)
{
	const struct rule *r = rr->rule;
	char due[64], label[64], m[32];

	fprintf(f, "%s (%s)\n", r->title, r->id);
	fprintf(f, "  Due %s after the start", duration_format(&r->due, due, sizeof due));
	if (r->target >= 0)
		fprintf(f, "; target %g%% on time", r->target);
	fprintf(f, ".\n");
	fprintf(f, "  %-*s %9s %8s %5s %10s %17s %9s\n", lw, "", "Completed", "On time", "Late",
	        "% on time", "Working days late", "Open and");
	fprintf(f, "  %-*s %9s %8s %5s %10s %9s %7s %9s\n", lw, "", "", "", "", "", "median", "max",
	        "overdue");
	for (size_t k = 0; k < rep->periods.n; k++)
		rt_row(f, report_period_label(rep, k, label, sizeof label), lw, &rr->cells[k],
		       rr->open_known);
	rt_row(f, "Whole period", lw, &rr->total, rr->open_known);
	if (rr->has_to_done)
		fprintf(f, "  Median working days from start to done: %s.\n",
		        report_fmt1(rr->median_to_done, m, sizeof m));
	if (!rr->open_known && rr->open_why != NULL)
		fprintf(f, "  Clocks open and overdue are not known: %s.\n", rr->open_why);
	if (rr->bad_rows + rr->before_start > 0)
		fprintf(f, "  %lld rows skipped as bad data (see the warnings at the end).\n",
		        rr->bad_rows + rr->before_start);
	fputc('\n', f);
}

/* A rule's completed clocks by stage resolved at or by theme. */
static void
rt_groups(FILE *f, const char *by, const struct report_group *g, size_t n, int w)
{
	char a[32], b[32], c[32];

	if (n == 0)
		return;
	fputs("  ", f);
	rt_left(f, by, w);
	fprintf(f, " %7s %9s %8s %10s %13s\n", "Raised", "Resolved", "On time", "% on time",
	        "Median days");
	for (size_t i = 0; i < n; i++) {
		fputs("  ", f);
		rt_left(f, g[i].name[0] ? g[i].name : "(none recorded)", w);
		snprintf(a, sizeof a, "%lld", g[i].raised);
		rt_cell(f, a, 8);
		snprintf(a, sizeof a, "%lld", g[i].tally.completed);
		rt_cell(f, a, 10);
		snprintf(a, sizeof a, "%lld", g[i].tally.on_time);
		rt_cell(f, a, 9);
		rt_cell(f, rt_pct(g[i].fig.has_percent, g[i].fig.percent, b, sizeof b), 11);
		rt_cell(f, rt_fig(g[i].has_to_done, g[i].median_to_done, c, sizeof c), 14);
		fputc('\n', f);
	}
}

static void
rt_practice(FILE *f, const struct report *rep)
{
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];

		if (rr->nstages == 0 && rr->nthemes == 0)
			continue;
		fprintf(f, "%s (%s), by stage and theme\n", rr->rule->title, rr->rule->id);
		/* One width for both tables, so their columns line up. */
		int w = rt_width(17, "Resolved at stage", 48);

		for (size_t j = 0; j < rr->nstages; j++)
			w = rt_width(w, rr->stages[j].name, 48);
		for (size_t j = 0; j < rr->nthemes; j++)
			w = rt_width(w, rr->themes[j].name, 48);
		rt_groups(f, "Resolved at stage", rr->stages, rr->nstages, w);
		if (rr->nstages > 0 && rr->nthemes > 0)
			fputc('\n', f);
		rt_groups(f, "By theme", rr->themes, rr->nthemes, w);
		fprintf(f,
		        "  Raised: started in the period; resolved: completed in it (some raised "
		        "before).\n  Median days: working days from raised to resolved.\n\n");
	}
}

/* What the service sent, from the state store. */
static void
rt_state(FILE *f, const struct report *rep)
{
	char a[32], b[32];

	if (!rep->state_known) {
		fprintf(f, "What the service sent: the state store has no record yet.\n\n");
		return;
	}
	fprintf(f, "Alerts sent, by rule and stage\n");
	int w = 20;

	for (size_t i = 0; i < rep->nstages; i++)
		w = rt_width(w, rep->stages[i].label ? rep->stages[i].label : rep->stages[i].stage,
		             44);
	for (size_t i = 0; i < rep->nstages; i++) {
		const struct report_stage_alerts *s = &rep->stages[i];

		/* The rule's title once, over its stages (they come rule by rule). */
		if (i == 0 || strcmp(s->rule, rep->stages[i - 1].rule) != 0) {
			const char *title = report_rule_title(rep, s->rule);

			if (title != NULL)
				fprintf(f, "  %s (%s)\n    ", title, s->rule);
			else
				fprintf(f, "  %s\n    ", s->rule);
			rt_left(f, "", w);
			fprintf(f, " %7s %10s %7s %8s\n", "Alerts", "Delivered", "Failed",
			        "Waiting");
		}
		fputs("    ", f);
		rt_left(f, s->label ? s->label : s->stage, w);
		fprintf(f, " %7lld %10lld %7lld %8lld\n", s->alerts, s->sent, s->failed,
		        s->waiting);
	}
	if (rep->nstages > 0)
		fprintf(f, "  Delivered, failed, waiting: the messages to each of an alert's "
		           "recipients.\n");
	if (rep->nstages == 0)
		fprintf(f, "  None in this period.\n");
	fprintf(f, "\nAlerts by recipient\n");
	for (size_t i = 0; i < rep->nrecipients && i < REPORT_TEXT_RECIPIENTS; i++) {
		const struct report_recipient *r = &rep->recipients[i];

		fputs("  ", f);
		rt_left(f, r->recipient, 44);
		fprintf(f, " %5lld alerts, %lld delivered, %lld failed, %lld answered\n", r->alerts,
		        r->sent, r->failed, r->answered);
	}
	if (rep->nrecipients > REPORT_TEXT_RECIPIENTS)
		fprintf(f, "  and %zu more (--format csv --table recipients lists them all)\n",
		        rep->nrecipients - REPORT_TEXT_RECIPIENTS);
	if (rep->nrecipients == 0)
		fprintf(f, "  None in this period.\n");
	fprintf(f, "\nClocks closed after an alert\n");
	for (size_t i = 0; i < rep->nclosed; i++) {
		const struct report_closed *c = &rep->closed[i];

		fprintf(f,
		        "  %-44.44s %lld closed: %lld in time, %lld late (median %s, max %s "
		        "working days)\n",
		        c->rule, c->closed, c->in_time, c->late,
		        rt_fig(c->has_late, c->median_late, a, sizeof a),
		        rt_int(c->has_late, c->max_late, b, sizeof b));
	}
	if (rep->nclosed == 0)
		fprintf(f, "  None in this period.\n");
	fprintf(f, "\nAnswers to alerts\n");
	for (size_t i = 0; i < rep->nanswers; i++) {
		const struct report_answers *r = &rep->answers[i];

		fprintf(f,
		        "  %-44.44s %lld acknowledged, %lld action agreed, %lld disagreed; "
		        "median %s hours to answer\n",
		        r->rule, r->acknowledged, r->agreed, r->disagree,
		        rt_fig(r->has_median, r->median_hours, a, sizeof a));
	}
	if (rep->nanswers == 0)
		fprintf(f, "  None in this period.\n");
	fputc('\n', f);
}

void
report_text(FILE *f, const struct report *rep)
{
	char from[DATE_HUMAN_LEN], to[DATE_HUMAN_LEN], made[LOCALTIME_HUMAN_LEN];
	int lw = rt_label_width(rep);
	bool missing = false;

	/* "1 Jan 2024": date_human leads with the weekday, which a range does not need. */
	fprintf(f, "IRO service report: %s to %s, by %s\n",
	        strchr(date_human(rep->from, from), ' ') + 1,
	        strchr(date_human(rep->to, to), ' ') + 1, rep->by);
	fprintf(f, "Made %s from %s.\n", localtime_human(rep->made, made), rep->config_path);
	fprintf(f, "A clock is on time when it was done on or before its due date; late ones are\n"
	           "counted in working days after it (weekends and bank holidays not counted).\n"
	           "Open and overdue: clocks not yet done and past due at the period's end.\n\n");
	rt_summary(f, rep);
	for (size_t i = 0; i < rep->nrules; i++)
		if (rep->rules[i].has_history)
			rt_rule(f, rep, &rep->rules[i], lw);
	rt_practice(f, rep);
	rt_state(f, rep);
	for (size_t i = 0; i < rep->nrules; i++)
		missing |= !rep->rules[i].has_history;
	if (missing) {
		fprintf(f, "Not measured (no history query):\n");
		for (size_t i = 0; i < rep->nrules; i++)
			if (!rep->rules[i].has_history)
				fprintf(f, "  %s (%s)\n", rep->rules[i].rule->title,
				        rep->rules[i].rule->id);
		fprintf(f, "  Add history = \"SELECT case_ref, start, done FROM ...\"; to measure "
		           "them.\n\n");
	}
	if (rep->nwarnings > 0) {
		fprintf(f, "Warnings\n");
		for (size_t i = 0; i < rep->nwarnings; i++)
			fprintf(f, "  %s\n", rep->warnings[i]);
	}
}
