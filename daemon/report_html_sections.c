/*
 * report_html_sections.c - the page's later sections: practice resolution by
 * stage and theme (from the history queries' stage and theme columns), and
 * what the service sent (from the state store): alerts by rule and stage, by
 * recipient, clocks closed after an alert, answers.
 */
#include <stdio.h>

#include "digest.h"
#include "report_html.h"

/* A group's name, or words for an empty one. */
static void
report_html_group_name(FILE *f, const char *name)
{
	if (name == NULL || *name == '\0')
		fputs("(none recorded)", f);
	else
		report_html_value(f, name, DIGEST_VALUE_MAX);
}

/* Did anything of the group happen in the range? (Groups are made for every history row.) */
static bool
report_html_group_seen(const struct report_group *g)
{
	return g->raised > 0 || g->tally.completed > 0;
}

/* How many of the groups were seen in the range. */
static size_t
report_html_groups_seen(const struct report_group *g, size_t n)
{
	size_t seen = 0;

	for (size_t i = 0; i < n; i++)
		seen += report_html_group_seen(&g[i]);
	return seen;
}

/* Resolved at each stage: the share of all resolved, on time, working days to resolution. */
static void
report_html_stages(FILE *f, const struct report *rep, const struct report_rule *rr)
{
	struct report_html h = {f, rep, false};
	long long resolved = 0;
	char caption[400];

	for (size_t i = 0; i < rr->nstages; i++)
		resolved += rr->stages[i].tally.completed;
	snprintf(caption, sizeof caption, "%s: resolved at each stage", rr->rule->title);
	report_html_head(f, caption,
	                 "Stage resolved at|Resolved|% of resolved|On time|% on time|Median "
	                 "working days to resolve|Most working days to resolve",
	                 1);
	for (size_t i = 0; i < rr->nstages; i++) {
		const struct report_group *g = &rr->stages[i];

		if (!report_html_group_seen(g))
			continue;
		fputs("<tr><th scope=\"row\">", f);
		report_html_group_name(f, g->name);
		fputs("</th>", f);
		report_html_count(&h, g->tally.completed);
		report_html_percent(&h, resolved > 0,
		                    resolved > 0 ? 100.0 * g->tally.completed / resolved : 0);
		report_html_count(&h, g->tally.on_time);
		report_html_percent(&h, g->fig.has_percent, g->fig.percent);
		report_html_fig(&h, g->has_to_done, g->median_to_done);
		report_html_int(&h, g->has_to_done, g->max_to_done);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, "none resolved in the period.");
}

/* Raised and resolved by theme. */
static void
report_html_themes(FILE *f, const struct report *rep, const struct report_rule *rr)
{
	struct report_html h = {f, rep, false};
	long long raised = 0;
	char caption[400];

	for (size_t i = 0; i < rr->nthemes; i++)
		raised += rr->themes[i].raised;
	snprintf(caption, sizeof caption, "%s: by theme", rr->rule->title);
	report_html_head(f, caption,
	                 "Theme|Raised|% of raised|Resolved|On time|% on time|Median working days "
	                 "to resolve",
	                 1);
	for (size_t i = 0; i < rr->nthemes; i++) {
		const struct report_group *g = &rr->themes[i];

		if (!report_html_group_seen(g))
			continue;
		fputs("<tr><th scope=\"row\">", f);
		report_html_group_name(f, g->name);
		fputs("</th>", f);
		report_html_count(&h, g->raised);
		report_html_percent(&h, raised > 0, raised > 0 ? 100.0 * g->raised / raised : 0);
		report_html_count(&h, g->tally.completed);
		report_html_count(&h, g->tally.on_time);
		report_html_percent(&h, g->fig.has_percent, g->fig.percent);
		report_html_fig(&h, g->has_to_done, g->median_to_done);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, "none raised or none resolved in the period.");
}

void
report_html_practice(FILE *f, const struct report *rep)
{
	char buf[32];
	size_t n = 0;

	fputs("<h2 id=\"practice\">Practice resolution</h2>\n", f);
	for (size_t i = 0; i < rep->nrules; i++) {
		const struct report_rule *rr = &rep->rules[i];
		size_t stages = report_html_groups_seen(rr->stages, rr->nstages);
		size_t themes = report_html_groups_seen(rr->themes, rr->nthemes);

		if (rr->nthemes == 0 && rr->nstages == 0)
			continue;
		n++;
		/* The heading and its figures stay with the first table. */
		fputs("<section>\n<div class=\"keep\">\n<h3>", f);
		report_html_value(f, rr->rule->title, DIGEST_VALUE_MAX);
		fputs("</h3>\n", f);
		if (stages + themes > 0 || rr->total.started > 0 || rr->total.tally.completed > 0) {
			fprintf(f, "<p>Raised in the period: %lld. Resolved: %lld",
			        rr->total.started, rr->total.tally.completed);
			if (rr->total.fig.has_percent)
				fprintf(f, ", %s%% on time",
				        report_fmt1(rr->total.fig.percent, buf, sizeof buf));
			if (rr->has_to_done)
				fprintf(f, "; median %s working days to resolve",
				        report_fmt1(rr->median_to_done, buf, sizeof buf));
			fputs(".</p>\n", f);
		}
		if (stages > 0)
			report_html_stages(f, rep, rr);
		else if (themes > 0)
			report_html_themes(f, rep, rr);
		else
			fputs("<p>None was raised or resolved in the period.</p>\n", f);
		fputs("</div>\n", f);
		if (stages > 0 && themes > 0)
			report_html_themes(f, rep, rr);
		fputs("</section>\n", f);
	}
	if (n == 0)
		fputs("<p>No history query returns a stage or theme column: add stage (the stage a "
		      "concern was resolved at) or theme to a practice rule&#39;s history query to "
		      "see resolution by stage and theme.</p>\n",
		      f);
}

/* Alerts by rule and stage, and what became of their deliveries. */
static void
report_html_alerts(FILE *f, const struct report *rep)
{
	struct report_html h = {f, rep, false};

	if (rep->nstages == 0) {
		fputs("<p>No alert was raised in the period.</p>\n", f);
		return;
	}
	report_html_head(f, "Alerts by rule and stage",
	                 "Rule|Stage|Alerts|Delivered|Failed|Waiting", 2);
	for (size_t i = 0; i < rep->nstages; i++) {
		const struct report_stage_alerts *s = &rep->stages[i];

		fputs("<tr><th scope=\"row\">", f);
		report_html_value(f, report_html_rule_title(rep, s->rule), DIGEST_VALUE_MAX);
		fputs("</th><td>", f);
		report_html_value(f, s->label != NULL ? s->label : s->stage, DIGEST_VALUE_MAX);
		fputs("</td>", f);
		report_html_count(&h, s->alerts);
		report_html_count(&h, s->sent);
		report_html_count(&h, s->failed);
		report_html_count(&h, s->waiting);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, NULL);
	fputs("<p class=\"note\">Delivered, failed and waiting count deliveries (an alert goes to "
	      "one or more recipients). Waiting: held, pending or bundled into a digest when the "
	      "report was made.</p>\n",
	      f);
}

/* Alerts by recipient. */
static void
report_html_recipients(FILE *f, const struct report *rep)
{
	struct report_html h = {f, rep, false};

	if (rep->nrecipients == 0) {
		fputs("<p>No alert was sent to anyone in the period.</p>\n", f);
		return;
	}
	report_html_head(f, "Alerts by recipient",
	                 "Recipient|Sent by|Alerts|Delivered|Failed|Answered", 2);
	for (size_t i = 0; i < rep->nrecipients; i++) {
		const struct report_recipient *r = &rep->recipients[i];

		fputs("<tr><th scope=\"row\">", f);
		report_html_value(f, r->recipient, DIGEST_VALUE_MAX);
		fputs("</th><td>", f);
		report_html_value(f, r->kind, DIGEST_VALUE_MAX);
		fputs("</td>", f);
		report_html_count(&h, r->alerts);
		report_html_count(&h, r->sent);
		report_html_count(&h, r->failed);
		report_html_count(&h, r->answered);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, NULL);
}

/* Clocks closed after an alert: in time or late, and how late. */
static void
report_html_closed(FILE *f, const struct report *rep)
{
	struct report_html h = {f, rep, false};

	if (rep->nclosed == 0) {
		fputs("<p>No alerted clock closed in the period.</p>\n", f);
		return;
	}
	report_html_head(f, "Clocks closed after an alert",
	                 "Rule|Closed|In time|Late|Median working days late|Most working days "
	                 "late",
	                 1);
	for (size_t i = 0; i < rep->nclosed; i++) {
		const struct report_closed *c = &rep->closed[i];

		fputs("<tr><th scope=\"row\">", f);
		report_html_value(f, report_html_rule_title(rep, c->rule), DIGEST_VALUE_MAX);
		fputs("</th>", f);
		report_html_count(&h, c->closed);
		report_html_count(&h, c->in_time);
		report_html_count(&h, c->late);
		report_html_fig(&h, c->has_late, c->median_late);
		report_html_int(&h, c->has_late, c->max_late);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, "none closed late.");
}

/* Answers to alerts, and how long they took. */
static void
report_html_answers(FILE *f, const struct report *rep)
{
	struct report_html h = {f, rep, false};

	if (rep->nanswers == 0) {
		fputs("<p>No alert was answered in the period.</p>\n", f);
		return;
	}
	report_html_head(f, "Answers to alerts",
	                 "Rule|Acknowledged|Action agreed|Disagree|Median hours to answer", 1);
	for (size_t i = 0; i < rep->nanswers; i++) {
		const struct report_answers *a = &rep->answers[i];

		fputs("<tr><th scope=\"row\">", f);
		report_html_value(f, report_html_rule_title(rep, a->rule), DIGEST_VALUE_MAX);
		fputs("</th>", f);
		report_html_count(&h, a->acknowledged);
		report_html_count(&h, a->agreed);
		report_html_count(&h, a->disagree);
		report_html_fig(&h, a->has_median, a->median_hours);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n", f);
	report_html_end(&h, "no answer to time.");
}

void
report_html_service(FILE *f, const struct report *rep)
{
	fputs("<h2 id=\"service\">What the service sent</h2>\n", f);
	if (!rep->state_known) {
		fputs(
		    "<p>The state store has no record yet: escalatord has not run with this "
		    "configuration, so there are no alerts, deliveries or answers to count.</p>\n",
		    f);
		return;
	}
	report_html_alerts(f, rep);
	report_html_recipients(f, rep);
	report_html_closed(f, rep);
	report_html_answers(f, rep);
}
