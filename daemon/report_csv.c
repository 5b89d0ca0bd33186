/*
 * report_csv.c - the report's tables as CSV for a spreadsheet or the BI team:
 * one table per run (--table), a header row, RFC 4180 quoting, numbers
 * without thousands separators, empty where a figure is undefined.
 */
#include <stdbool.h>
#include <string.h>

#include "report.h"

/*
 * One CSV value: quoted when it holds a comma, quote or line break (quotes
 * doubled). A value a spreadsheet would run as a formula (starting = + - @,
 * tab or carriage return) gets a leading apostrophe (OWASP's advice on CSV
 * injection): labels and themes come from files and the case store.
 */
void
report_csv_field(FILE *f, const char *s)
{
	bool quote;

	if (s == NULL || s[0] == '\0')
		return;
	quote = strpbrk(s, ",\"\r\n") != NULL || strchr("=+-@\t\r", s[0]) != NULL;
	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (strchr("=+-@\t\r", s[0]) != NULL)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A count, or nothing when unknown (negative). */
static void
csv_count(FILE *f, long long v)
{
	if (v >= 0)
		fprintf(f, "%lld", v);
}

/* A figure with one decimal, or nothing. */
static void
csv_fig(FILE *f, bool has, double v)
{
	char buf[32];

	if (has)
		fputs(report_fmt1(v, buf, sizeof buf), f);
}

/* The figures of one cell: completed,on_time,late,percent,median,max. */
static void
csv_cell(FILE *f, const struct report_cell *c)
{
	fprintf(f, ",%lld,%lld,%lld,", c->tally.completed, c->tally.on_time, c->tally.late);
	csv_fig(f, c->fig.has_percent, c->fig.percent);
	fputc(',', f);
	csv_fig(f, c->fig.has_late, c->fig.median);
	fputc(',', f);
	if (c->fig.has_late)
		fprintf(f, "%d", c->fig.max);
}

/* The columns, in its order; one row per rule with history and period. */
static void
csv_timeliness(FILE *f, const struct report *rep)
{
	char day[DATE_STRLEN];

	fputs("rule,period,completed,on_time,late,percent_on_time,median_working_days_late,"
	      "max_working_days_late\r\n",
	      f);
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];

		if (!rr->has_history)
			continue;
		for (size_t k = 0; k < rep->periods.n; k++) {
			report_csv_field(f, rr->rule->id);
			fprintf(f, ",%s",
			        date_format(timeliness_period_start(&rep->periods, k), day));
			csv_cell(f, &rr->cells[k]);
			fputs("\r\n", f);
		}
	}
}

/* Clocks started and open and overdue at each period's end, with the target. */
static void
csv_open(FILE *f, const struct report *rep)
{
	char day[DATE_STRLEN], end[DATE_STRLEN];

	fputs("rule,period,period_end,started,open_overdue_at_end,target_percent\r\n", f);
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];

		if (!rr->has_history)
			continue;
		for (size_t k = 0; k < rep->periods.n; k++) {
			report_csv_field(f, rr->rule->id);
			fprintf(f, ",%s,%s,%lld,",
			        date_format(timeliness_period_start(&rep->periods, k), day),
			        date_format(report_period_end(rep, k), end), rr->cells[k].started);
			csv_count(f, rr->cells[k].open_overdue);
			fputc(',', f);
			csv_fig(f, rr->rule->target >= 0, rr->rule->target);
			fputs("\r\n", f);
		}
	}
}

/* Practice resolution: each rule's completed clocks by stage resolved at and by theme. */
static void
csv_practice(FILE *f, const struct report *rep)
{
	fputs("rule,by,value,raised,completed,on_time,late,percent_on_time,"
	      "median_working_days_to_done,max_working_days_to_done\r\n",
	      f);
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];

		for (int by = 0; by < 2; by++) {
			const struct report_group *g = by ? rr->themes : rr->stages;
			size_t n = by ? rr->nthemes : rr->nstages;

			for (size_t j = 0; j < n; j++) {
				report_csv_field(f, rr->rule->id);
				fputs(by ? ",theme," : ",stage,", f);
				report_csv_field(f, g[j].name);
				fprintf(f, ",%lld,%lld,%lld,%lld,", g[j].raised,
				        g[j].tally.completed, g[j].tally.on_time, g[j].tally.late);
				csv_fig(f, g[j].fig.has_percent, g[j].fig.percent);
				fputc(',', f);
				csv_fig(f, g[j].has_to_done, g[j].median_to_done);
				fputc(',', f);
				if (g[j].has_to_done)
					fprintf(f, "%d", g[j].max_to_done);
				fputs("\r\n", f);
			}
		}
	}
}

static void
csv_alerts(FILE *f, const struct report *rep)
{
	fputs("rule,stage,label,alerts,sent,failed,waiting\r\n", f);
	for (size_t i = 0; i < rep->nstages; i++) {
		const struct report_stage_alerts *s = &rep->stages[i];

		report_csv_field(f, s->rule);
		fputc(',', f);
		report_csv_field(f, s->stage);
		fputc(',', f);
		report_csv_field(f, s->label);
		fprintf(f, ",%lld,%lld,%lld,%lld\r\n", s->alerts, s->sent, s->failed, s->waiting);
	}
}

static void
csv_recipients(FILE *f, const struct report *rep)
{
	fputs("kind,recipient,alerts,sent,failed,answered\r\n", f);
	for (size_t i = 0; i < rep->nrecipients; i++) {
		const struct report_recipient *r = &rep->recipients[i];

		report_csv_field(f, r->kind);
		fputc(',', f);
		report_csv_field(f, r->recipient);
		fprintf(f, ",%lld,%lld,%lld,%lld\r\n", r->alerts, r->sent, r->failed, r->answered);
	}
}

static void
csv_closed(FILE *f, const struct report *rep)
{
	fputs("rule,closed,in_time,late,median_working_days_late,max_working_days_late\r\n", f);
	for (size_t i = 0; i < rep->nclosed; i++) {
		const struct report_closed *c = &rep->closed[i];

		report_csv_field(f, c->rule);
		fprintf(f, ",%lld,%lld,%lld,", c->closed, c->in_time, c->late);
		csv_fig(f, c->has_late, c->median_late);
		fputc(',', f);
		if (c->has_late)
			fprintf(f, "%d", c->max_late);
		fputs("\r\n", f);
	}
}

static void
csv_answers(FILE *f, const struct report *rep)
{
	fputs("rule,acknowledged,agreed,disagree,median_hours_to_answer\r\n", f);
	for (size_t i = 0; i < rep->nanswers; i++) {
		const struct report_answers *a = &rep->answers[i];

		report_csv_field(f, a->rule);
		fprintf(f, ",%lld,%lld,%lld,", a->acknowledged, a->agreed, a->disagree);
		csv_fig(f, a->has_median, a->median_hours);
		fputs("\r\n", f);
	}
}

/* One table by name, or -1 when there is none of that name. */
int
report_csv(FILE *f, const struct report *rep, const char *table)
{
	static const struct {
		const char *name;
		void (*fn)(FILE *f, const struct report *rep);
	} tables[] = {
	    {"timeliness", csv_timeliness}, {"open", csv_open},
	    {"practice", csv_practice},     {"alerts", csv_alerts},
	    {"recipients", csv_recipients}, {"closed", csv_closed},
	    {"answers", csv_answers},
	};

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (strcmp(tables[i].name, table) == 0) {
			tables[i].fn(f, rep);
			return 0;
		}
	return -1;
}
