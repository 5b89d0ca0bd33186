/*
 * test_report_html.c - unit tests for daemon/report_html*.c: the report as one
 * printable page. The report model is built by hand (figures counted in the
 * comments), written to memory, and every page is read by html_check.h (only
 * the writer's own elements and attributes, quoted values, balanced tags, no
 * raw markup from a value, one style sheet that fetches nothing, valid UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_text.h"

#include "ew_fixture.h"
#include "html_check.h"
#include "report.h"
#include "xalloc.h"

/* Markup, attribute break-outs, bad bytes: what a value from a store could carry. */
#define HOSTILE "<script>alert('x')</script>\"><img src=x> & \xff\xfe"
#define HOSTILE_ESC                                                                                \
	"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x&gt; &amp; "        \
	"\xef\xbf\xbd\xef\xbf\xbd"

/* The rules the report points at (a report borrows them from the rule set). */
static struct rule rule_cic, rule_practice, rule_visit;

static void
make_rule(struct rule *r, const char *id, const char *title, const char *due, double target,
          bool history)
{
	memset(r, 0, sizeof *r);
	r->kind = RULE_CLOCK;
	r->id = (char *)id;
	r->title = (char *)title;
	r->due = dur(due);
	r->working_days_only = true;
	r->target = target;
	r->history = history ? (char *)"SELECT case_ref, start, done FROM h" : NULL;
}

/* Count clocks into a tally: on on time, then the late ones by their working days late. */
static void
tally(struct timeliness_tally *t, struct timeliness_figures *fig, int on, const int *late,
      size_t nlate)
{
	for (int i = 0; i < on; i++)
		timeliness_add(t, TIMELINESS_ON_TIME, 0);
	for (size_t i = 0; i < nlate; i++)
		timeliness_add(t, TIMELINESS_LATE, late[i]);
	timeliness_figures(t, fig);
}

/* A group of a rule's history (a theme or the stage resolved at). */
static void
group(struct report_group *g, const char *name, long long raised, int on, const int *late,
      size_t nlate, const int *to_done, size_t ndone)
{
	memset(g, 0, sizeof *g);
	g->name = xstrdup(name);
	g->raised = raised;
	tally(&g->tally, &g->fig, on, late, nlate);
	for (size_t i = 0; i < ndone; i++)
		timeliness_days_add(&g->to_done, to_done[i]);
	g->has_to_done = timeliness_days_figures(&g->to_done, &g->median_to_done, &g->max_to_done);
}

/*
 * The report for Jan-Mar 2026 by month, made on Tue 10 Mar 2026 09:00:
 * - cic-review (target 90): Jan 2 on time + 1 late by 3: 66.7%, median 3.0, max 3, 4 open
 *   and overdue at 31 Jan; Feb 1 on time + 2 late by 1 and 5: 33.3%, median 3.0, max 5, 0
 *   open and overdue; Mar nothing completed (dashes), 2 open and overdue. The whole range: 3
 *   on time, 3 late (1, 3, 5): 50.0%, median 3.0, max 5; 2 open and overdue.
 * - practice-alert (no target; its live query failed: open and overdue not known): Jan 1 on
 *   time; stages "1" (2 resolved) and "2" (1); themes HOSTILE (raised 3) and "safeguarding"
 *   (raised 1).
 * - cp-visit: no history query.
 */
static void
make_report(struct report *rep, bool state_known)
{
	static const int late_jan[] = {3}, late_feb[] = {5, 1}, late_all[] = {1, 3, 5};
	static const int late_p[] = {4}, done_1[] = {2, 3}, done_2[] = {9};
	struct report_rule *rr;

	memset(rep, 0, sizeof *rep);
	make_rule(&rule_cic, "cic-review", "Child in Care review", "20 working days", 90, true);
	make_rule(&rule_practice, "practice-alert", "Practice alert " HOSTILE, "5 working days", -1,
	          true);
	make_rule(&rule_visit, "cp-visit", "Child protection visit", "10 working days", -1, false);
	rep->from = D("2026-01-01");
	rep->to = D("2026-03-31");
	rep->months = 1;
	rep->by = "month";
	assert_int_equal(timeliness_periods_init(&rep->periods, rep->from, rep->to, 1), 0);
	assert_int_equal(rep->periods.n, 3);
	rep->made = T("2026-03-10", 9, 0);
	rep->config_path = xstrdup("/etc/escalator/escalator.conf");
	rep->rules = xcalloc(3, sizeof *rep->rules);
	rep->nrules = 3;

	rr = &rep->rules[0];
	rr->rule = &rule_cic;
	rr->has_history = true;
	rr->open_known = true;
	rr->cells = xcalloc(3, sizeof *rr->cells);
	tally(&rr->cells[0].tally, &rr->cells[0].fig, 2, late_jan, 1);
	rr->cells[0].open_overdue = 4;
	tally(&rr->cells[1].tally, &rr->cells[1].fig, 1, late_feb, 2);
	rr->cells[1].open_overdue = 0;
	tally(&rr->cells[2].tally, &rr->cells[2].fig, 0, NULL, 0);
	rr->cells[2].open_overdue = 2;
	tally(&rr->total.tally, &rr->total.fig, 3, late_all, 3);
	rr->total.open_overdue = 2;
	rr->bad_rows = 1;

	rr = &rep->rules[1];
	rr->rule = &rule_practice;
	rr->has_history = true;
	rr->open_known = false;
	rr->open_why = xstrdup("its query failed: no such table: " HOSTILE);
	rr->cells = xcalloc(3, sizeof *rr->cells);
	for (size_t k = 0; k < 3; k++)
		rr->cells[k].open_overdue = -1;
	tally(&rr->cells[0].tally, &rr->cells[0].fig, 2, late_p, 1);
	tally(&rr->total.tally, &rr->total.fig, 2, late_p, 1);
	rr->total.open_overdue = -1;
	rr->total.started = 4;
	timeliness_days_add(&rr->to_done, 2);
	timeliness_days_add(&rr->to_done, 3);
	timeliness_days_add(&rr->to_done, 9);
	rr->has_to_done =
	    timeliness_days_figures(&rr->to_done, &rr->median_to_done, &rr->max_to_done);
	rr->stages = xcalloc(2, sizeof *rr->stages);
	rr->nstages = 2;
	group(&rr->stages[0], "1", 2, 2, NULL, 0, done_1, 2);
	group(&rr->stages[1], "2", 1, 0, late_p, 1, done_2, 1);
	rr->themes = xcalloc(2, sizeof *rr->themes);
	rr->nthemes = 2;
	group(&rr->themes[0], HOSTILE, 3, 1, late_p, 1, done_2, 1);
	group(&rr->themes[1], "safeguarding", 1, 1, NULL, 0, done_1, 1);

	rr = &rep->rules[2];
	rr->rule = &rule_visit;
	rr->total.open_overdue = -1;

	report_warn(rep, "rule \"cic-review\": history: %s", HOSTILE);
	rep->state_known = state_known;
	if (!state_known)
		return;
	rep->stages = xcalloc(1, sizeof *rep->stages);
	rep->nstages = 1;
	rep->stages[0] = (struct report_stage_alerts){
	    xstrdup("cic-review"), xstrdup("overdue"), xstrdup("Overdue: " HOSTILE), 7, 12, 1, 2};
	rep->recipients = xcalloc(1, sizeof *rep->recipients);
	rep->nrecipients = 1;
	rep->recipients[0] = (struct report_recipient){
	    xstrdup("email"), xstrdup("tm" HOSTILE "@council.example"), 5, 4, 1, 3};
	rep->closed = xcalloc(1, sizeof *rep->closed);
	rep->nclosed = 1;
	rep->closed[0].rule = xstrdup("gone-rule");
	rep->closed[0].closed = 6;
	rep->closed[0].in_time = 4;
	rep->closed[0].late = 2;
	timeliness_days_add(&rep->closed[0].late_days, 2);
	timeliness_days_add(&rep->closed[0].late_days, 7);
	rep->closed[0].has_late = timeliness_days_figures(
	    &rep->closed[0].late_days, &rep->closed[0].median_late, &rep->closed[0].max_late);
	rep->answers = xcalloc(1, sizeof *rep->answers);
	rep->nanswers = 1;
	rep->answers[0].rule = xstrdup("cic-review");
	rep->answers[0].acknowledged = 3;
	rep->answers[0].agreed = 2;
	rep->answers[0].disagree = 1;
}

/* The page of rep, checked by html_check; allocated. */
static char *
render(const struct report *rep)
{
	struct html_check c;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	assert_non_null(f);
	report_html(f, rep);
	assert_int_equal(fclose(f), 0);
	if (!html_check(doc, NULL, NULL, &c))
		fail_msg("%s\nin:\n%s", c.problem, doc);
	assert_string_equal(c.title, "IRO service report: 1 Jan 2026 to 31 Mar 2026");
	assert_int_equal(c.nlinks, 0);
	/* Self-contained: nothing fetched, nothing run. */
	assert_lacks(doc, "http");
	assert_lacks(doc, "src=\"");
	assert_lacks(doc, "<script");
	assert_lacks(doc, "url(");
	assert_lacks(doc, "<img");
	/* Never a number that is not one. */
	assert_lacks(doc, "nan");
	assert_lacks(doc, "inf<");
	assert_lacks(doc, ">-1<");
	assert_lacks(doc, "-1%");
	return doc;
}

/* A table row: its header cell, then numeric cells (NULL-ended). */
static char *
row(const char *head, ...)
{
	/* A leading \x01: the period header's class. */
	char *s = head[0] == '\x01'
	              ? xasprintf("<tr><th scope=\"row\" class=\"p\">%s</th>", head + 1)
	              : xasprintf("<tr><th scope=\"row\">%s</th>", head),
	     *t;
	const char *cell;
	va_list ap;

	va_start(ap, head);
	while ((cell = va_arg(ap, const char *)) != NULL) {
		t = xasprintf("%s<td class=\"n\">%s</td>", s, cell);
		free(s);
		s = t;
	}
	va_end(ap);
	t = xasprintf("%s</tr>", s);
	free(s);
	return t;
}

/* A row of a table by period: its header cell is a period label (kept on one line). */
#define assert_period(doc, label, ...)                                                             \
	do {                                                                                       \
		char *want_ = row("\x01" label, __VA_ARGS__, NULL);                                \
		assert_contains(doc, want_);                                                       \
		free(want_);                                                                       \
	} while (0)

#define assert_row(doc, ...)                                                                       \
	do {                                                                                       \
		char *want_ = row(__VA_ARGS__, NULL);                                              \
		assert_contains(doc, want_);                                                       \
		free(want_);                                                                       \
	} while (0)

#define DASH "\xe2\x80\x93"

/* The title, the summary against the target, the timeliness table and its notes. */
static void
test_timeliness(void **state)
{
	struct report rep;
	char *doc;

	(void)state;
	make_report(&rep, true);
	doc = render(&rep);
	assert_contains(doc, "<h1>IRO service report: 1 Jan 2026 to 31 Mar 2026</h1>");
	assert_contains(doc, "Made Tue 10 Mar 2026 09:00 from /etc/escalator/escalator.conf");
	/* Summary: 6 completed, 3 on time, 50.0% against 90: 40.0 points below. */
	assert_contains(doc, "Open and overdue on 10 Mar 2026</th>");
	assert_row(doc, "Child in Care review", "6", "3", "50.0%", "90%",
	           "not met (40.0 points below)", "2");
	/* Practice alert: no target; open and overdue not known. */
	assert_row(doc, "Practice alert " HOSTILE_ESC, "3", "2", "66.7%", "none set", "",
	           "not known");
	/* By month: period, completed, on time, late, %, median, max, open and overdue. */
	assert_period(doc, "Jan 2026", "3", "2", "1", "66.7%", "3.0", "3", "4");
	assert_period(doc, "Feb 2026", "3", "1", "2", "33.3%", "3.0", "5", "0");
	assert_period(doc, "Mar 2026", "0", "0", "0", DASH, DASH, DASH, "2");
	assert_contains(doc, "<tfoot>"
	                     "<tr><th scope=\"row\" class=\"p\">Whole period</th>"
	                     "<td class=\"n\">6</td><td class=\"n\">3</td><td class=\"n\">3</td>"
	                     "<td class=\"n\">50.0%</td><td class=\"n\">3.0</td>"
	                     "<td class=\"n\">5</td><td class=\"n\">2</td></tr></tfoot>");
	/* The dash is explained under its table. */
	assert_contains(doc, "<p class=\"note\">" DASH " none completed in the period");
	assert_contains(doc, "Due 20 working days after the clock starts. Target: 90% on time; "
	                     "over the whole period 50.0%, not met (40.0 points below).");
	assert_contains(doc, "Rows left out: 1 with a missing or bad date");
	/* Not known, and why, in words. */
	assert_period(doc, "Jan 2026", "3", "2", "1", "66.7%", "4.0", "4", "not known");
	assert_contains(doc, "Open and overdue: not known, because its query failed: no such "
	                     "table: " HOSTILE_ESC);
	/* The rule without history, named once. */
	assert_int_equal(text_count(doc, "Child protection visit"), 1);
	assert_contains(doc, "Not measured (no history query): Child protection visit.");
	/* Order: most important first. */
	assert_true(strstr(doc, "id=\"summary\"") < strstr(doc, "id=\"timeliness\""));
	assert_true(strstr(doc, "id=\"timeliness\"") < strstr(doc, "id=\"practice\""));
	assert_true(strstr(doc, "id=\"practice\"") < strstr(doc, "id=\"service\""));
	assert_true(strstr(doc, "id=\"service\"") < strstr(doc, "id=\"warnings\""));
	free(doc);
	report_free(&rep);
}

/* The chart: one bar per period with a figure, each labelled, the target a dashed line. */
static void
test_chart(void **state)
{
	struct report rep;
	char *doc, *svg, *end;

	(void)state;
	make_report(&rep, true);
	doc = render(&rep);
	assert_int_equal(text_count(doc, "<svg "), 2);
	svg = strstr(doc, "<svg ");
	end = strstr(svg, "</svg>");
	*end = '\0';
	assert_contains(svg, "role=\"img\" aria-labelledby=\"chart-0-t chart-0-d\"");
	assert_contains(svg, "<title id=\"chart-0-t\">Child in Care review: % on time by "
	                     "month</title>");
	assert_contains(svg, "<desc id=\"chart-0-d\">Jan 2026: 66.7% on time (2 of 3). Feb 2026: "
	                     "33.3% on time (1 of 3). Mar 2026: none completed. Target: "
	                     "90%.</desc>");
	/* Two bars (March has none), each figure as text; March says none. */
	assert_int_equal(text_count(svg, "<rect "), 2);
	assert_contains(svg, ">66.7%</text>");
	assert_contains(svg, ">33.3%</text>");
	assert_contains(svg, ">none</text>");
	assert_contains(svg, ">Jan 2026</text>");
	assert_contains(svg, ">Mar 2026</text>");
	/* The target: one dashed line, labelled. */
	assert_int_equal(text_count(svg, "stroke-dasharray"), 1);
	assert_contains(svg, ">Target 90%</text>");
	/* Bar heights in proportion: 180 units for 100%, so 66.7% is 120 and 33.3% is 60. */
	assert_contains(svg, "height=\"120.0\"");
	assert_contains(svg, "height=\"60.0\"");
	/* The second chart (no target) has no target line. */
	svg = strstr(end + 1, "<svg ");
	assert_non_null(svg);
	assert_lacks(svg, "stroke-dasharray");
	assert_contains(svg, "No target set.</desc>");
	free(doc);
	/*
	 * A figure where the target line runs (85.0% under a 90% line) goes inside its bar, in
	 * white; on a bar too short for it (2.0% under a 5% line), above the line.
	 */
	rep.rules[0].cells[1].fig.percent = 85.0;
	doc = render(&rep);
	assert_contains(doc, "fill=\"#ffffff\" font-weight=\"bold\">85.0%</text>");
	assert_int_equal(text_count(doc, "fill=\"#ffffff\" font-weight"), 1);
	free(doc);
	rule_cic.target = 5;
	rep.rules[0].cells[1].fig.percent = 2;
	doc = render(&rep);
	assert_int_equal(text_count(doc, "fill=\"#ffffff\" font-weight"), 0);
	/* The line at 5% is at y 199.0: the figure's baseline 6 above it. */
	assert_contains(doc, "y=\"193.0\" text-anchor=\"middle\" fill=\"#0b0c0c\" "
	                     "font-weight=\"bold\" paint-order=\"stroke\" stroke=\"#ffffff\" "
	                     "stroke-width=\"4\" stroke-linejoin=\"round\">2.0%</text>");
	free(doc);
	report_free(&rep);
}

/* Practice resolution by stage (share of resolved) and theme (share of raised). */
static void
test_practice(void **state)
{
	struct report rep;
	char *doc;

	(void)state;
	make_report(&rep, true);
	doc = render(&rep);
	assert_contains(doc, "Raised in the period: 4. Resolved: 3, 66.7% on time; median 3.0 "
	                     "working days to resolve.");
	/* Stage 1: 2 of 3 resolved (66.7%), both on time; days 2 and 3: median 2.5, max 3. */
	assert_row(doc, "1", "2", "66.7%", "2", "100.0%", "2.5", "3");
	assert_row(doc, "2", "1", "33.3%", "0", "0.0%", "9.0", "9");
	/* Themes: raised 3 and 1 of 4 (75.0%, 25.0%). */
	assert_row(doc, HOSTILE_ESC, "3", "75.0%", "2", "1", "50.0%", "9.0");
	assert_row(doc, "safeguarding", "1", "25.0%", "1", "1", "100.0%", "2.0");
	free(doc);
	report_free(&rep);
}

/* What the service sent, and the warnings, escaped; a rule no longer loaded by its id. */
static void
test_service(void **state)
{
	struct report rep;
	char *doc;

	(void)state;
	make_report(&rep, true);
	doc = render(&rep);
	assert_contains(doc,
	                "<tr><th scope=\"row\">Child in Care review</th><td>Overdue: " HOSTILE_ESC
	                "</td><td class=\"n\">7</td><td class=\"n\">12</td>"
	                "<td class=\"n\">1</td><td class=\"n\">2</td></tr>");
	assert_contains(doc, "<tr><th scope=\"row\">tm" HOSTILE_ESC "@council.example</th>"
	                     "<td>email</td><td class=\"n\">5</td><td class=\"n\">4</td>"
	                     "<td class=\"n\">1</td><td class=\"n\">3</td></tr>");
	/* The text columns are headed as text, the counts as numbers. */
	assert_contains(doc, "<th scope=\"col\">Rule</th><th scope=\"col\">Stage</th><th "
	                     "scope=\"col\" class=\"n\">Alerts</th>");
	assert_contains(doc, "<th scope=\"col\">Recipient</th><th scope=\"col\">Sent by</th><th "
	                     "scope=\"col\" class=\"n\">Alerts</th>");
	/* Closed late by 2 and 7: median 4.5, max 7. */
	assert_row(doc, "gone-rule", "6", "4", "2", "4.5", "7");
	/* No answer time known: a dash, and why. */
	assert_row(doc, "Child in Care review", "3", "2", "1", DASH);
	assert_contains(doc, DASH " no answer to time.");
	assert_contains(doc, "<li>rule &quot;cic-review&quot;: history: " HOSTILE_ESC);
	assert_lacks(doc, "no record yet");
	free(doc);
	report_free(&rep);
}

/* No state store yet: said in words; no history at all: said in words. */
static void
test_nothing_known(void **state)
{
	struct report rep;
	char *doc;

	(void)state;
	make_report(&rep, false);
	doc = render(&rep);
	assert_contains(doc, "The state store has no record yet");
	assert_lacks(doc, "Alerts by rule and stage");
	free(doc);
	/* A state store with nothing in the period: each part says so. */
	rep.state_known = true;
	doc = render(&rep);
	assert_lacks(doc, "no record yet");
	assert_contains(doc, "<p>No alert was raised in the period.</p>");
	assert_contains(doc, "<p>No alert was sent to anyone in the period.</p>");
	assert_contains(doc, "<p>No alerted clock closed in the period.</p>");
	assert_contains(doc, "<p>No alert was answered in the period.</p>");
	free(doc);
	/* Without any history: no summary table, no chart, the rules named. */
	for (size_t i = 0; i < rep.nrules; i++) {
		struct report_rule *rr = &rep.rules[i];

		rr->has_history = false;
	}
	rule_cic.history = rule_practice.history = NULL;
	doc = render(&rep);
	assert_contains(doc, "No rule has a history query");
	assert_contains(doc, "Not measured (no history query): Child in Care review; Practice "
	                     "alert " HOSTILE_ESC "; Child protection visit.");
	assert_lacks(doc, "<svg");
	free(doc);
	report_free(&rep);
}

/*
 * A quiet year: groups are made for every history row, so a theme seen only outside the range
 * has a row of zeros: it is left out; a rule with nothing completed has no chart.
 */
static void
test_quiet(void **state)
{
	struct report rep;
	struct report_rule *rr;
	char *doc;

	(void)state;
	make_report(&rep, false);
	rr = &rep.rules[1];
	rr->themes[1].raised = 0;
	rr->themes[1].tally.completed = 0;
	doc = render(&rep);
	assert_lacks(doc, "safeguarding");
	assert_contains(doc, "Practice alert " HOSTILE_ESC ": by theme");
	free(doc);
	for (size_t k = 0; k < rep.periods.n; k++)
		rr->cells[k].fig.has_percent = false;
	for (size_t i = 0; i < rr->nstages; i++)
		rr->stages[i].raised = rr->stages[i].tally.completed = 0;
	rr->themes[0].raised = rr->themes[0].tally.completed = 0;
	doc = render(&rep);
	assert_int_equal(text_count(doc, "<svg "), 1);
	assert_contains(doc, "<p class=\"note\">None was completed in the period, so there is no "
	                     "chart.</p>");
	assert_contains(doc, "<p>None was raised or resolved in the period.</p>");
	assert_lacks(doc, ": resolved at each stage");
	assert_lacks(doc, ": by theme");
	free(doc);
	report_free(&rep);
}

/* Five years by month: 60 periods, a thinner chart labelled every fifth month, still valid. */
static void
test_many_periods(void **state)
{
	struct report rep;
	struct report_rule *rr;
	char *doc;

	(void)state;
	memset(&rep, 0, sizeof rep);
	make_rule(&rule_cic, "cic-review", "Child in Care review", "20 working days", 92.5, true);
	rep.from = D("2021-04-01");
	rep.to = D("2026-03-31");
	rep.months = 1;
	rep.by = "month";
	assert_int_equal(timeliness_periods_init(&rep.periods, rep.from, rep.to, 1), 0);
	assert_int_equal(rep.periods.n, 60);
	rep.made = T("2026-04-20", 9, 0);
	rep.rules = xcalloc(1, sizeof *rep.rules);
	rep.nrules = 1;
	rr = &rep.rules[0];
	rr->rule = &rule_cic;
	rr->has_history = true;
	rr->open_known = true;
	rr->cells = xcalloc(60, sizeof *rr->cells);
	for (size_t k = 0; k < 60; k++)
		tally(&rr->cells[k].tally, &rr->cells[k].fig, (int)(k % 7), NULL, 0);
	tally(&rr->total.tally, &rr->total.fig, 10, NULL, 0);
	struct html_check c;
	FILE *f;
	size_t len = 0;

	doc = NULL;
	f = open_memstream(&doc, &len);
	report_html(f, &rep);
	fclose(f);
	if (!html_check(doc, NULL, NULL, &c))
		fail_msg("%s", c.problem);
	assert_string_equal(c.title, "IRO service report: 1 Apr 2021 to 31 Mar 2026");
	assert_contains(doc, ">Target 92.5%</text>");
	assert_contains(doc, "Target: 92.5% on time");
	/* Period labels every fifth month: Apr 2021, Sep 2021, ...; 12 in all. */
	assert_contains(doc, ">Apr 2021</text>");
	assert_contains(doc, ">Sep 2021</text>");
	assert_lacks(doc, ">May 2021</text>");
	/* 60 rows in the table, the figures not crowded onto the bars. */
	assert_int_equal(text_count(doc, "<tr><th scope=\"row\" class=\"p\">"), 60 + 1);
	assert_lacks(doc, "font-weight=\"bold\"");
	free(doc);
	report_free(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timeliness),    cmocka_unit_test(test_chart),
	    cmocka_unit_test(test_practice),      cmocka_unit_test(test_service),
	    cmocka_unit_test(test_nothing_known), cmocka_unit_test(test_quiet),
	    cmocka_unit_test(test_many_periods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
