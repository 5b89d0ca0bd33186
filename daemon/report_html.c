/*
 * report_html.c - the report as one printable page: inline CSS and inline SVG
 * charts, no scripts, no links out, nothing fetched, so that it opens the same
 * in a browser, prints on A4 and pastes into the council's annual report.
 * Most important first: the summary, timeliness per rule with its chart,
 * practice resolution, what the service sent, then the warnings. Every value
 * from a store is cleaned and escaped (report_html_value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "duration.h"
#include "report_html.h"
#include "xalloc.h"

/* Longest warning shown, in bytes (a failed query's message can be long). */
#define REPORT_HTML_WARNING_MAX 2000

/*
 * Light and plain: black text on white, grey rules, the one colour (the bars)
 * dark enough to print as a mid grey. Tables and charts are kept whole on a
 * page where they fit; headings stay with what follows them.
 */
static const char report_html_css[] =
    "@page{size:A4;margin:15mm 12mm}"
    "html{color:#0b0c0c;background:#fff}"
    "body{font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.4;"
    "margin:0 auto;max-width:62em;padding:1em}"
    "h1{font-size:1.8em;margin:0 0 .2em}"
    "h2{font-size:1.4em;margin:1.6em 0 .4em;padding-bottom:.1em;border-bottom:2px solid #0b0c0c}"
    "h3{font-size:1.15em;margin:1.4em 0 .3em}"
    "p{margin:.4em 0;max-width:45em}"
    ".made,.note{color:#505a5f}"
    ".note{font-size:.9em}"
    "table{border-collapse:collapse;margin:.5em 0 .3em;font-size:.95em}"
    "caption{text-align:left;font-weight:bold;padding:.2em 0}"
    "th,td{border:1px solid #b1b4b6;padding:.25em .5em;vertical-align:top;text-align:left}"
    "thead th{background:#f3f2f1;vertical-align:bottom}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}"
    ".p{white-space:nowrap}"
    "tfoot th,tfoot td{font-weight:bold;border-top:2px solid #0b0c0c}"
    ".chart{display:block;max-width:100%;height:auto;margin:.6em 0}"
    "section{margin-bottom:1.2em}"
    "table,.chart,.keep{break-inside:avoid;page-break-inside:avoid}"
    "thead{display:table-header-group}"
    "h2,h3{break-after:avoid;page-break-after:avoid}"
    "ul{margin:.4em 0;padding-left:1.4em}"
    "@media print{body{font-size:10.5pt;max-width:none;padding:0}"
    "h2{margin-top:1.2em}}";

void
report_html_value(FILE *f, const char *s, size_t max)
{
	digest_html_put(f, digest_clean(s, max, false));
}

const char *
report_html_day(date_t d, char *buf)
{
	int y, m, day;

	date_to_ymd(d, &y, &m, &day);
	snprintf(buf, DATE_HUMAN_LEN, "%d %s %d", day, date_month_abbrev(m), y);
	return buf;
}

/* The dash in a numeric cell, remembered so the table's note is written. */
static void
report_html_dash(struct report_html *h)
{
	fputs("<td class=\"n\">" REPORT_HTML_DASH "</td>", h->f);
	h->dash = true;
}

void
report_html_count(struct report_html *h, long long v)
{
	fprintf(h->f, "<td class=\"n\">%lld</td>", v);
}

void
report_html_percent(struct report_html *h, bool has, double v)
{
	char buf[32];

	if (!has)
		report_html_dash(h);
	else
		fprintf(h->f, "<td class=\"n\">%s%%</td>", report_fmt1(v, buf, sizeof buf));
}

void
report_html_fig(struct report_html *h, bool has, double v)
{
	char buf[32];

	if (!has)
		report_html_dash(h);
	else
		fprintf(h->f, "<td class=\"n\">%s</td>", report_fmt1(v, buf, sizeof buf));
}

void
report_html_int(struct report_html *h, bool has, int v)
{
	if (!has)
		report_html_dash(h);
	else
		fprintf(h->f, "<td class=\"n\">%d</td>", v);
}

void
report_html_head(FILE *f, const char *caption, const char *columns, int ntext)
{
	const char *p = columns;

	fputs("<div class=\"keep\">\n<table>\n<caption>", f);
	report_html_value(f, caption, REPORT_HTML_WARNING_MAX);
	fputs("</caption>\n<thead><tr>", f);
	while (*p != '\0') {
		size_t n = strcspn(p, "|");
		char *col = xstrndup(p, n);

		fputs(ntext-- > 0 ? "<th scope=\"col\">" : "<th scope=\"col\" class=\"n\">", f);
		digest_html_esc(f, col);
		fputs("</th>", f);
		free(col);
		p += n;
		if (*p == '|')
			p++;
	}
	fputs("</tr></thead>\n<tbody>\n", f);
}

void
report_html_end(struct report_html *h, const char *note)
{
	fputs("</table>\n", h->f);
	if (h->dash && note != NULL) {
		fputs("<p class=\"note\">" REPORT_HTML_DASH " ", h->f);
		digest_html_esc(h->f, note);
		fputs("</p>\n", h->f);
	}
	fputs("</div>\n", h->f);
	h->dash = false;
}

const char *
report_html_rule_title(const struct report *rep, const char *id)
{
	const char *title = report_rule_title(rep, id);

	return title != NULL ? title : id;
}

const char *
report_html_target(double target, char *buf, size_t len)
{
	if (target == (double)(long long)target)
		snprintf(buf, len, "%lld", (long long)target);
	else
		report_fmt1(target, buf, len);
	return buf;
}

/* The rule's name as people read it: its title (its id when it has none). */
static const char *
report_html_name(const struct rule *r)
{
	return r->title != NULL ? r->title : r->id;
}

/* "met" or "not met (3.2 points below)", against the rule's target. */
static void
report_html_against(FILE *f, const struct report_rule *rr)
{
	const struct timeliness_figures *fig = &rr->total.fig;
	char buf[32];

	if (rr->rule->target < 0 || !fig->has_percent)
		return;
	if (fig->percent >= rr->rule->target)
		fputs("met", f);
	else
		fprintf(f, "not met (%s points below)",
		        report_fmt1(rr->rule->target - fig->percent, buf, sizeof buf));
}

/* An open and overdue count, or "not known" (the rule's notes say why). */
static void
report_html_open(struct report_html *h, long long v)
{
	if (v < 0)
		fputs("<td class=\"n\">not known</td>", h->f);
	else
		report_html_count(h, v);
}

/* The title, when and from what it was made, and how the figures are counted. */
static void
report_html_top(FILE *f, const struct report *rep)
{
	char a[DATE_HUMAN_LEN], b[DATE_HUMAN_LEN], made[LOCALTIME_HUMAN_LEN];

	report_html_day(rep->from, a);
	report_html_day(rep->to, b);
	fprintf(f,
	        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
	        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	        "<title>IRO service report: %s to %s</title>\n<style>%s</style>\n</head>\n"
	        "<body>\n<main>\n<h1>IRO service report: %s to %s</h1>\n",
	        a, b, report_html_css, a, b);
	fprintf(f, "<p class=\"made\">Made %s", localtime_human(rep->made, made));
	if (rep->config_path != NULL) {
		fputs(" from ", f);
		report_html_value(f, rep->config_path, REPORT_HTML_WARNING_MAX);
	}
	fprintf(f, ", by %s (%zu period%s).</p>\n", rep->by, rep->periods.n,
	        rep->periods.n == 1 ? "" : "s");
	fputs("<p>A clock is on time when it was completed on or before its due date, which each "
	      "rule sets from the day the clock started. Working days leave out weekends and bank "
	      "holidays; a late clock is counted late by the working days after its due date. A "
	      "clock belongs to the period in which it was completed. Open and overdue: clocks not "
	      "yet completed and past their due date at the end of the period.</p>\n",
	      f);
}

/* Rules without a history query: one line naming them. */
static void
report_html_unmeasured(FILE *f, const struct report *rep)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->nrules; i++) {
		if (rep->rules[i].has_history)
			continue;
		fputs(n++ == 0 ? "<p class=\"note\">Not measured (no history query): " : "; ", f);
		report_html_value(f, report_html_name(rep->rules[i].rule), DIGEST_VALUE_MAX);
	}
	if (n > 0)
		fputs(". Add history = &quot;SELECT case_ref, start, done FROM ...&quot; to a rule "
		      "to "
		      "measure it.</p>\n",
		      f);
}

/* The summary: each measured rule over the whole range against its target. */
static void
report_html_summary(FILE *f, const struct report *rep)
{
	struct report_html h = {f, rep, false};
	char day[DATE_HUMAN_LEN], cols[160], buf[32];
	size_t measured = 0;

	fputs("<h2 id=\"summary\">Summary</h2>\n", f);
	for (size_t i = 0; i < rep->nrules; i++)
		measured += rep->rules[i].has_history;
	if (measured == 0)
		fputs("<p>No rule has a history query, so no timeliness can be measured.</p>\n", f);
	else {
		snprintf(cols, sizeof cols,
		         "Rule|Completed|On time|%% on time|Target|Against target|Open and overdue "
		         "on %s",
		         report_html_day(report_counted_on(rep, rep->to), day));
		report_html_head(f, "Completed on time over the whole period", cols, 1);
		for (size_t i = 0; i < rep->nrules; i++) {
			const struct report_rule *rr = &rep->rules[i];

			if (!rr->has_history)
				continue;
			fputs("<tr><th scope=\"row\">", f);
			report_html_value(f, report_html_name(rr->rule), DIGEST_VALUE_MAX);
			fputs("</th>", f);
			report_html_count(&h, rr->total.tally.completed);
			report_html_count(&h, rr->total.tally.on_time);
			report_html_percent(&h, rr->total.fig.has_percent, rr->total.fig.percent);
			if (rr->rule->target >= 0)
				fprintf(f, "<td class=\"n\">%s%%</td>",
				        report_html_target(rr->rule->target, buf, sizeof buf));
			else
				fputs("<td class=\"n\">none set</td>", f);
			if (rr->rule->target >= 0 && !rr->total.fig.has_percent)
				report_html_dash(&h);
			else {
				fputs("<td class=\"n\">", f);
				report_html_against(f, rr);
				fputs("</td>", f);
			}
			report_html_open(&h, rr->total.open_overdue);
			fputs("</tr>\n", f);
		}
		fputs("</tbody>\n", f);
		report_html_end(&h, "no clock of the rule was completed in the period, so there is "
		                    "no percentage.");
	}
}

/* What the rule measures against: its due and target, and how the whole range did. */
static void
report_html_rule_intro(FILE *f, const struct report_rule *rr)
{
	char due[64], buf[32];

	fprintf(f, "<p>Due %s after the clock starts. ",
	        duration_format(&rr->rule->due, due, sizeof due));
	if (rr->rule->target >= 0) {
		fprintf(f, "Target: %s%% on time",
		        report_html_target(rr->rule->target, buf, sizeof buf));
		if (rr->total.fig.has_percent) {
			fprintf(f, "; over the whole period %s%%, ",
			        report_fmt1(rr->total.fig.percent, buf, sizeof buf));
			report_html_against(f, rr);
		}
		fputs(".</p>\n", f);
	} else
		fputs("No target is set (add target = 90; to the rule to show one).</p>\n", f);
}

/* Notes under a rule's table: why open clocks are not known, rows skipped. */
static void
report_html_rule_notes(FILE *f, const struct report *rep, const struct report_rule *rr)
{
	char day[DATE_HUMAN_LEN];
	date_t today = (date_t)(rep->made / 1440);

	if (!rr->open_known) {
		fputs("<p class=\"note\">Open and overdue: not known", f);
		if (rr->open_why != NULL) {
			fputs(", because ", f);
			report_html_value(f, rr->open_why, REPORT_HTML_WARNING_MAX);
		}
		fputs(".</p>\n", f);
	} else if (rep->to > today)
		fprintf(f,
		        "<p class=\"note\">Open and overdue at the end of a period that ends after "
		        "today: counted on %s.</p>\n",
		        report_html_day(today, day));
	if (rr->bad_rows > 0 || rr->before_start > 0)
		fprintf(f,
		        "<p class=\"note\">Rows left out: %lld with a missing or bad date, %lld "
		        "completed before they started (see Warnings).</p>\n",
		        rr->bad_rows, rr->before_start);
}

/* One measured rule: intro, chart, the table by period with the whole range at the foot. */
static void
report_html_rule(FILE *f, const struct report *rep, const struct report_rule *rr, size_t n)
{
	struct report_html h = {f, rep, false};
	char caption[400], label[64];

	/* The heading stays with its chart, the table with its notes. */
	fprintf(f, "<section id=\"rule-%zu\">\n<div class=\"keep\">\n<h3>", n);
	report_html_value(f, report_html_name(rr->rule), DIGEST_VALUE_MAX);
	fputs("</h3>\n", f);
	report_html_rule_intro(f, rr);
	report_html_chart(f, rep, rr, n);
	fputs("</div>\n<div class=\"keep\">\n", f);
	snprintf(caption, sizeof caption, "%s by %s", report_html_name(rr->rule), rep->by);
	report_html_head(f, caption,
	                 "Period|Completed|On time|Late|% on time|Median working days late|Most "
	                 "working days late|Open and overdue at the end",
	                 1);
	for (size_t k = 0; k < rep->periods.n; k++) {
		const struct report_cell *c = &rr->cells[k];

		fputs("<tr><th scope=\"row\" class=\"p\">", f);
		digest_html_esc(f, report_period_label(rep, k, label, sizeof label));
		fputs("</th>", f);
		report_html_count(&h, c->tally.completed);
		report_html_count(&h, c->tally.on_time);
		report_html_count(&h, c->tally.late);
		report_html_percent(&h, c->fig.has_percent, c->fig.percent);
		report_html_fig(&h, c->fig.has_late, c->fig.median);
		report_html_int(&h, c->fig.has_late, c->fig.max);
		report_html_open(&h, c->open_overdue);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n<tfoot><tr><th scope=\"row\" class=\"p\">Whole period</th>", f);
	report_html_count(&h, rr->total.tally.completed);
	report_html_count(&h, rr->total.tally.on_time);
	report_html_count(&h, rr->total.tally.late);
	report_html_percent(&h, rr->total.fig.has_percent, rr->total.fig.percent);
	report_html_fig(&h, rr->total.fig.has_late, rr->total.fig.median);
	report_html_int(&h, rr->total.fig.has_late, rr->total.fig.max);
	report_html_open(&h, rr->total.open_overdue);
	fputs("</tr></tfoot>\n", f);
	report_html_end(&h, "none completed in the period (no percentage), or none was late (no "
	                    "working days late).");
	report_html_rule_notes(f, rep, rr);
	fputs("</div>\n</section>\n", f);
}

/* Timeliness: one section per measured rule, then the ones not measured. */
static void
report_html_timeliness(FILE *f, const struct report *rep)
{
	size_t n = 0;

	fputs("<h2 id=\"timeliness\">Timeliness</h2>\n", f);
	for (size_t i = 0; i < rep->nrules; i++)
		if (rep->rules[i].has_history && rep->rules[i].cells != NULL)
			report_html_rule(f, rep, &rep->rules[i], n++);
	if (n == 0)
		fputs("<p>No rule was measured.</p>\n", f);
	report_html_unmeasured(f, rep);
}

/* The warnings, plainly, at the end. */
static void
report_html_warnings(FILE *f, const struct report *rep)
{
	fputs("<h2 id=\"warnings\">Warnings</h2>\n", f);
	if (rep->nwarnings == 0) {
		fputs("<p>None: every row was read.</p>\n", f);
		return;
	}
	fputs("<p>These rows or queries were left out of the figures above.</p>\n<ul>\n", f);
	for (size_t i = 0; i < rep->nwarnings; i++) {
		fputs("<li>", f);
		report_html_value(f, rep->warnings[i], REPORT_HTML_WARNING_MAX);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

void
report_html(FILE *f, const struct report *rep)
{
	report_html_top(f, rep);
	report_html_summary(f, rep);
	report_html_timeliness(f, rep);
	report_html_practice(f, rep);
	report_html_service(f, rep);
	report_html_warnings(f, rep);
	fputs("</main>\n</body>\n</html>\n", f);
}
