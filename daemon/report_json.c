/*
 * report_json.c - the report as one JSON document, for the council's BI
 * tools: the same figures as the text and CSV, with null where a figure is
 * undefined (no clock completed, none late, open clocks not known). The keys
 * are documented in escalatord(8).
 */
#include <jansson.h>
#include <stdlib.h>

#include "report.h"
#include "utf8.h"

/* A JSON string for a value that may come from a file or a store. */
static json_t *
rj_text(const char *s)
{
	char *clean;
	json_t *j;

	if (s == NULL)
		return json_null();
	clean = utf8_sanitize(s);
	j = json_string(clean);
	free(clean);
	return j;
}

static json_t *
rj_date(date_t d)
{
	char buf[DATE_STRLEN];

	return json_string(date_format(d, buf));
}

/* A figure rounded to one decimal as printed, or null. */
static json_t *
rj_fig(bool has, double v)
{
	char buf[32];

	return has ? json_real(strtod(report_fmt1(v, buf, sizeof buf), NULL)) : json_null();
}

static json_t *
rj_count(long long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

/* The timeliness figures of a tally. */
static void
rj_tally(json_t *o, const struct timeliness_tally *t, const struct timeliness_figures *f)
{
	json_object_set_new(o, "completed", json_integer(t->completed));
	json_object_set_new(o, "on_time", json_integer(t->on_time));
	json_object_set_new(o, "late", json_integer(t->late));
	json_object_set_new(o, "percent_on_time", rj_fig(f->has_percent, f->percent));
	json_object_set_new(o, "median_working_days_late", rj_fig(f->has_late, f->median));
	json_object_set_new(o, "max_working_days_late",
	                    f->has_late ? json_integer(f->max) : json_null());
}

static json_t *
rj_cell(const struct report_cell *c)
{
	json_t *o = json_object();

	rj_tally(o, &c->tally, &c->fig);
	json_object_set_new(o, "started", json_integer(c->started));
	json_object_set_new(o, "open_overdue_at_end", rj_count(c->open_overdue));
	return o;
}

static json_t *
rj_groups(const struct report_group *g, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", rj_text(g[i].name));
		json_object_set_new(o, "raised", json_integer(g[i].raised));
		rj_tally(o, &g[i].tally, &g[i].fig);
		json_object_set_new(o, "median_working_days_to_done",
		                    rj_fig(g[i].has_to_done, g[i].median_to_done));
		json_object_set_new(o, "max_working_days_to_done",
		                    g[i].has_to_done ? json_integer(g[i].max_to_done)
		                                     : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
rj_rule(const struct report *rep, const struct report_rule *rr)
{
	const struct rule *r = rr->rule;
	json_t *o = json_object(), *periods;
	char due[64], label[64];

	json_object_set_new(o, "id", rj_text(r->id));
	json_object_set_new(o, "title", rj_text(r->title));
	json_object_set_new(o, "due", json_string(duration_format(&r->due, due, sizeof due)));
	json_object_set_new(o, "history", json_boolean(rr->has_history));
	json_object_set_new(o, "target", r->target >= 0 ? json_real(r->target) : json_null());
	if (!rr->has_history)
		return o;
	periods = json_array();
	for (size_t k = 0; k < rep->periods.n; k++) {
		json_t *p = rj_cell(&rr->cells[k]);

		json_object_set_new(p, "start", rj_date(timeliness_period_start(&rep->periods, k)));
		json_object_set_new(p, "end", rj_date(report_period_end(rep, k)));
		json_object_set_new(p, "label",
		                    json_string(report_period_label(rep, k, label, sizeof label)));
		json_array_append_new(periods, p);
	}
	json_object_set_new(o, "periods", periods);
	json_object_set_new(o, "total", rj_cell(&rr->total));
	json_object_set_new(o, "median_working_days_to_done",
	                    rj_fig(rr->has_to_done, rr->median_to_done));
	json_object_set_new(o, "skipped_rows", json_integer(rr->bad_rows + rr->before_start));
	json_object_set_new(o, "open_known", json_boolean(rr->open_known));
	if (rr->open_why != NULL)
		json_object_set_new(o, "open_why", rj_text(rr->open_why));
	json_object_set_new(o, "themes", rj_groups(rr->themes, rr->nthemes));
	json_object_set_new(o, "stages", rj_groups(rr->stages, rr->nstages));
	return o;
}

/* What the service did: alerts, recipients, closed clocks, answers. */
static void
rj_state(json_t *doc, const struct report *rep)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rep->nstages; i++) {
		const struct report_stage_alerts *s = &rep->stages[i];

		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I}", "rule", rj_text(s->rule),
		                 "stage", rj_text(s->stage), "label", rj_text(s->label), "alerts",
		                 (json_int_t)s->alerts, "sent", (json_int_t)s->sent, "failed",
		                 (json_int_t)s->failed, "waiting", (json_int_t)s->waiting));
	}
	json_object_set_new(doc, "alerts", a);
	a = json_array();
	for (size_t i = 0; i < rep->nrecipients; i++) {
		const struct report_recipient *r = &rep->recipients[i];

		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:I, s:I, s:I, s:I}", "kind", rj_text(r->kind),
		                 "recipient", rj_text(r->recipient), "alerts",
		                 (json_int_t)r->alerts, "sent", (json_int_t)r->sent, "failed",
		                 (json_int_t)r->failed, "answered", (json_int_t)r->answered));
	}
	json_object_set_new(doc, "recipients", a);
	a = json_array();
	for (size_t i = 0; i < rep->nclosed; i++) {
		const struct report_closed *c = &rep->closed[i];

		json_array_append_new(
		    a, json_pack("{s:o, s:I, s:I, s:I, s:o, s:o}", "rule", rj_text(c->rule),
		                 "closed", (json_int_t)c->closed, "in_time", (json_int_t)c->in_time,
		                 "late", (json_int_t)c->late, "median_working_days_late",
		                 rj_fig(c->has_late, c->median_late), "max_working_days_late",
		                 c->has_late ? json_integer(c->max_late) : json_null()));
	}
	json_object_set_new(doc, "closed", a);
	a = json_array();
	for (size_t i = 0; i < rep->nanswers; i++) {
		const struct report_answers *r = &rep->answers[i];

		json_array_append_new(
		    a, json_pack("{s:o, s:I, s:I, s:I, s:o}", "rule", rj_text(r->rule),
		                 "acknowledged", (json_int_t)r->acknowledged, "agreed",
		                 (json_int_t)r->agreed, "disagree", (json_int_t)r->disagree,
		                 "median_hours_to_answer", rj_fig(r->has_median, r->median_hours)));
	}
	json_object_set_new(doc, "answers", a);
}

void
report_json(FILE *f, const struct report *rep)
{
	json_t *doc = json_object(), *rules = json_array(), *warnings = json_array();
	char made[DATETIME_STRLEN];

	json_object_set_new(doc, "from", rj_date(rep->from));
	json_object_set_new(doc, "to", rj_date(rep->to));
	json_object_set_new(doc, "by", json_string(rep->by));
	json_object_set_new(doc, "made", json_string(localtime_format(rep->made, made)));
	json_object_set_new(doc, "config", rj_text(rep->config_path));
	for (size_t i = 0; i < rep->nrules; i++)
		json_array_append_new(rules, rj_rule(rep, &rep->rules[i]));
	json_object_set_new(doc, "rules", rules);
	json_object_set_new(doc, "state_known", json_boolean(rep->state_known));
	if (rep->state_known)
		rj_state(doc, rep);
	for (size_t i = 0; i < rep->nwarnings; i++)
		json_array_append_new(warnings, rj_text(rep->warnings[i]));
	json_object_set_new(doc, "warnings", warnings);
	json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(doc);
}
