/*
 * preview_json.c - escalatord preview --json: the preview as one JSON
 * document (keys documented in the man page). Dates are "YYYY-MM-DD",
 * times local "YYYY-MM-DDTHH:MM:SS"; recipients by notify name only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "preview.h"
#include "utf8.h"

/* A date, or null. */
static json_t *
pj_day(date_t d)
{
	char buf[DATE_STRLEN];

	return d != 0 ? json_string(date_format(d, buf)) : json_null();
}

/* A local time. */
static json_t *
pj_time(localtime_min_t t)
{
	char buf[DATETIME_STRLEN];

	return json_string(localtime_format(t, buf));
}

/* A value from the case store (a case reference): valid UTF-8. */
static json_t *
pj_text(const char *s)
{
	char *clean = utf8_sanitize(s);
	json_t *j = json_string(clean);

	free(clean);
	return j;
}

/* Examples: [{"case", a_key: date, b_key: date}]. */
static json_t *
pj_examples(const struct preview_example *ex, size_t n, const char *a, const char *b)
{
	json_t *v = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "case", pj_text(ex[i].case_ref));
		if (a != NULL)
			json_object_set_new(o, a, pj_day(ex[i].a));
		if (b != NULL)
			json_object_set_new(o, b, pj_day(ex[i].b));
		json_array_append_new(v, o);
	}
	return v;
}

/* Alerts of one stage: counts, dates, examples, recipients. */
static json_t *
pj_alerts(const struct rule *r, int stage, const struct preview_alerts *al, bool dated)
{
	json_t *o = json_object(), *who = json_array();

	json_object_set_new(o, "stage", json_string(r->stages[stage].name));
	json_object_set_new(o, "label", pj_text(r->stages[stage].label));
	json_object_set_new(o, "alerts", json_integer(al->alerts));
	if (dated) {
		json_object_set_new(o, "backdated", json_integer(al->backdated));
		json_object_set_new(o, "first", pj_day(al->first));
		json_object_set_new(o, "last", pj_day(al->last));
	}
	json_object_set_new(
	    o, "examples",
	    pj_examples(al->ex, al->nex, dated ? "date" : NULL, dated ? "due" : NULL));
	for (size_t i = 0; i < al->nwho; i++) {
		const struct preview_who *w = &al->who[i];
		json_t *x = json_pack("{s:s, s:s, s:b, s:I}", "notify", w->name, "kind",
		                      w->column ? "column" : "contact", "copied", w->copied,
		                      "alerts", (json_int_t)w->alerts);

		if (w->column)
			json_object_set_new(x, "addresses",
			                    json_integer((json_int_t)w->naddresses));
		json_array_append_new(who, x);
	}
	json_object_set_new(o, "recipients", who);
	return o;
}

/* What a rule that was sent again needs: the setting to add, and where. */
static json_t *
pj_fix(const struct rule *r, const struct preview_resend *rs)
{
	char *text;
	json_t *j;

	switch (rs->why) {
	case PREVIEW_STAGE_RENAMED:
		text = xasprintf("add renamed_from = \"%s\"; to stage \"%s\" (%s:%d)", rs->gone,
		                 r->stages[rs->stage].name, r->file, r->stages[rs->stage].line);
		break;
	case PREVIEW_RULE_RENAMED:
		text = xasprintf("add renamed_from = \"%s\"; to rule \"%s\" (%s:%d)", rs->gone,
		                 r->id, r->file, r->line);
		break;
	default:
		text = xstrdup("keep the query's start column as it was");
		break;
	}
	j = json_string(text);
	free(text);
	return j;
}

/* One rule, or NULL when there is nothing to say about it. */
static json_t *
pj_rule(const struct preview_rule *pr)
{
	static const char *const whys[] = {"stage_renamed", "rule_renamed", "start_changed"};
	const struct rule *r = pr->after != NULL ? pr->after : pr->before;
	json_t *o = json_object(), *v;
	bool any = pr->before == NULL || pr->after == NULL || pr->diff.n > 0 || pr->failed ||
	           pr->due_moved > 0 || pr->nresend > 0 || pr->leaving > 0;

	json_object_set_new(o, "rule", json_string(r->id));
	json_object_set_new(o, "change",
	                    json_string(pr->before == NULL  ? "added"
	                                : pr->after == NULL ? "removed"
	                                : pr->diff.n > 0    ? "changed"
	                                                    : "same"));
	if (pr->before != NULL && pr->after != NULL && pr->before->id != NULL &&
	    strcmp(pr->before->id, pr->after->id) != 0)
		json_object_set_new(o, "renamed_from", json_string(pr->before->id));
	json_object_set_new(o, "file", json_string(r->file));
	json_object_set_new(o, "line", json_integer(r->line));
	json_object_set_new(o, "clocks_before", json_integer(pr->clocks_before));
	json_object_set_new(o, "clocks_after", json_integer(pr->clocks_after));
	if (pr->failed != NULL)
		json_object_set_new(o, "failed", json_string(pr->failed));
	v = json_array();
	for (size_t k = 0; k < pr->diff.n; k++) {
		const struct rulediff_item *c = &pr->diff.v[k];

		json_array_append_new(
		    v, json_pack("{s:s, s:o, s:o, s:o}", "change", rulediff_name(c->kind), "stage",
		                 c->stage ? json_string(c->stage) : json_null(), "before",
		                 c->before ? json_string(c->before) : json_null(), "after",
		                 c->after ? json_string(c->after) : json_null()));
	}
	json_object_set_new(o, "settings", v);
	json_object_set_new(o, "due_moved",
	                    json_pack("{s:I, s:I, s:o}", "clocks", (json_int_t)pr->due_moved,
	                              "earlier", (json_int_t)pr->due_earlier, "examples",
	                              pj_examples(pr->due_ex, pr->ndue_ex, "before", "after")));
	v = json_array();
	for (size_t s = 0; pr->after != NULL && s < pr->after->nstages; s++)
		if (pr->owed[s].alerts > 0)
			json_array_append_new(v, pj_alerts(pr->after, (int)s, &pr->owed[s],
			                                   pr->after->kind == RULE_CLOCK));
	any = any || json_array_size(v) > 0;
	json_object_set_new(o, "at_once", v);
	v = json_array();
	for (size_t k = 0; k < pr->nresend; k++) {
		json_t *x = pj_alerts(pr->after, pr->resend[k].stage, &pr->resend[k].al, true);

		json_object_set_new(x, "why", json_string(whys[pr->resend[k].why]));
		json_object_set_new(x, "gone", json_string(pr->resend[k].gone));
		json_object_set_new(x, "fix", pj_fix(pr->after, &pr->resend[k]));
		json_array_append_new(v, x);
	}
	json_object_set_new(o, "sent_again", v);
	v = json_array();
	for (size_t s = 0; pr->before != NULL && s < pr->before->nstages; s++)
		if (pr->lost[s].alerts > 0)
			json_array_append_new(v,
			                      pj_alerts(pr->before, (int)s, &pr->lost[s], false));
	any = any || json_array_size(v) > 0;
	json_object_set_new(o, "no_longer_owed", v);
	v = json_array();
	for (size_t s = 0; pr->unfired != NULL && s < pr->before->nstages; s++)
		if (pr->unfired[s] >= 0)
			json_array_append_new(v, json_pack("{s:s, s:I}", "stage",
			                                   pr->before->stages[s].name, "clocks",
			                                   (json_int_t)pr->unfired[s]));
	any = any || json_array_size(v) > 0;
	json_object_set_new(o, "stages_unfired", v);
	json_object_set_new(o, "leaving",
	                    json_pack("{s:I, s:I, s:I}", "clocks", (json_int_t)pr->leaving,
	                              "alerted", (json_int_t)pr->leaving_alerted, "start_changed",
	                              (json_int_t)pr->start_changed));
	json_object_set_new(o, "owed_either_way", json_integer(pr->anyway));
	if (!any) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Write the preview as one JSON document. */
int
preview_print_json(const struct preview *p, FILE *f)
{
	json_t *o = json_object(), *rules = json_array(), *before;
	char *text;
	int rc;

	json_object_set_new(o, "no_change", json_boolean(preview_no_change(p)));
	json_object_set_new(
	    o, "summary",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "at_once",
	              (json_int_t)p->at_once, "backdated", (json_int_t)p->backdated, "due_moved",
	              (json_int_t)p->due_moved, "sent_again", (json_int_t)p->resent,
	              "no_longer_owed", (json_int_t)p->lost, "stages_unfired",
	              (json_int_t)p->unfired, "recorded_done", (json_int_t)p->leaving_alerted,
	              "rules_added", (json_int_t)p->added, "rules_removed", (json_int_t)p->removed,
	              "rules_changed", (json_int_t)p->changed));
	json_object_set_new(o, "now", pj_time(p->now));
	json_object_set_new(o, "rules_dir", json_string(p->rules_dir));
	before = json_object();
	json_object_set_new(before, "source", json_string(p->before_loaded ? "loaded" : "disk"));
	if (p->before_loaded)
		json_object_set_new(before, "loaded_at", pj_time(clock_local(p->loaded_at, NULL)));
	else {
		json_object_set_new(before, "rules_dir", json_string(p->cfg->rules_dir));
		json_object_set_new(before, "note", json_string(p->before_note));
	}
	json_object_set_new(o, "before", before);
	json_object_set_new(o, "holidays_changed", json_boolean(p->holidays_changed));
	json_object_set_new(o, "next_digest", pj_time(p->next_digest));
	for (size_t i = 0; i < p->nrules; i++) {
		json_t *r = pj_rule(&p->rules[i]);

		if (r != NULL)
			json_array_append_new(rules, r);
	}
	json_object_set_new(o, "rules", rules);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return -1;
	rc = fprintf(f, "%s\n", text) < 0 ? -1 : 0;
	free(text);
	return rc;
}
