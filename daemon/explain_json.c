/*
 * explain_json.c - escalatord explain --json: the same facts as the text, as
 * one JSON document with stable keys (README, "escalatord explain"). Dates
 * are "YYYY-MM-DD", times "YYYY-MM-DDTHH:MM" local; a fact that does not
 * apply is null, never left out.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "xalloc.h"

/* A date as "YYYY-MM-DD". */
static json_t *
jdate(date_t d)
{
	char buf[DATE_STRLEN];

	return json_string(date_format(d, buf));
}

/* Local minutes as "YYYY-MM-DDTHH:MM"; null for never. */
static json_t *
jtime(localtime_min_t t)
{
	char buf[24];

	if (t == EVAL_NEVER || t < 0)
		return json_null();
	return json_string(explain_minute(t, buf));
}

/* A recorded UTC time as local "YYYY-MM-DDTHH:MM"; null if there is none. */
static json_t *
jutc(const char *utc)
{
	localtime_min_t t = explain_local(utc);

	return t < 0 ? delivery_json(utc) : jtime(t);
}

/* A duration as the rule file spells it. */
static json_t *
jduration(const struct duration *d)
{
	char buf[48];

	return json_string(duration_format(d, buf, sizeof buf));
}

/* Days not counted. */
static json_t *
jskipped(const struct trail_skip *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a,
		                      json_pack("{s:o, s:s, s:o}", "date", jdate(v[i].day), "kind",
		                                v[i].kind == TRAIL_WEEKEND ? "weekend" : "holiday",
		                                "name", delivery_json(v[i].name)));
	return a;
}

/* One count: from + by = to, with the days not counted. */
static json_t *
jstep(const struct trail_step *s)
{
	return json_pack("{s:o, s:o, s:o, s:b, s:i, s:i, s:o}", "from", jdate(s->from), "by",
	                 jduration(&s->by), "to", jdate(s->to), "clamped", s->clamped,
	                 "weekend_days", s->weekend_days, "holidays", s->holidays, "skipped",
	                 jskipped(s->skipped, s->nskipped));
}

/* One delivery. */
static json_t *
jdelivery(const struct explain_delivery *d)
{
	json_t *digest = json_null(), *copied = json_null();

	if (d->digest_id != 0)
		digest = json_pack("{s:I, s:o, s:o, s:o}", "id", (json_int_t)d->digest_id, "status",
		                   delivery_json(d->digest_status), "last_error",
		                   delivery_json(d->digest_error), "next_attempt",
		                   d->digest_status != NULL && strcmp(d->digest_status, "sent") != 0
		                       ? jtime(explain_local_unix(d->digest_next))
		                       : json_null());
	if (d->copied != NULL)
		copied = json_pack("{s:o, s:o}", "label", delivery_json(d->copied), "date",
		                   delivery_json(d->copied_on));
	return json_pack("{s:I, s:s, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
	                 (json_int_t)d->id, "channel", d->kind, "recipient",
	                 delivery_json(d->recipient), "status", delivery_json(d->status),
	                 "attempts", d->attempts, "sent_at", jutc(d->sent_at), "last_attempt",
	                 jutc(d->last_attempt), "last_error", delivery_json(d->last_error),
	                 "next_attempt",
	                 d->status != NULL && (strcmp(d->status, "held") == 0 ||
	                                       strcmp(d->status, "pending") == 0)
	                     ? jtime(explain_local_unix(d->next_attempt))
	                     : json_null(),
	                 "digest", digest, "copied_in", copied);
}

/* One alert with its deliveries. */
static json_t *
jalert(const struct explain_alert *a)
{
	json_t *ds = json_array();

	for (size_t i = 0; i < a->ndeliveries; i++)
		json_array_append_new(ds, jdelivery(&a->deliveries[i]));
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "id", (json_int_t)a->id,
	                 "stage", delivery_json(a->stage), "label", delivery_json(a->label),
	                 "created_at", jutc(a->created_at), "due", delivery_json(a->due),
	                 "days_late", a->days_late, "status", delivery_json(a->status),
	                 "deliveries", ds);
}

/* The answers to a clock. */
static json_t *
janswers(const struct explain_memory *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->nanswers; i++) {
		const struct delivery_response *r = &m->answers[i];

		/* Not the reason or note: free text, shown in the messages themselves. */
		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:o, s:o, s:o, s:b}", "who", delivery_json(r->who),
		                 "stage", delivery_json(r->stage), "kind", delivery_json(r->kind),
		                 "agreed_on", delivery_json(r->agreed_on), "answered_at",
		                 jutc(r->answered_at), "amended", r->amended));
	}
	return a;
}

/* What the state store remembers of a clock (or a threshold key). */
static json_t *
jmemory(const struct explain_memory *m)
{
	json_t *records = json_array(), *alerts = json_array(), *closed = json_null();

	for (size_t i = 0; i < m->nrecords; i++)
		json_array_append_new(
		    records,
		    json_pack("{s:o, s:o, s:o, s:o}", "stage", delivery_json(m->records[i].stage),
		              "status", delivery_json(m->records[i].status), "alert_id",
		              m->records[i].alert_id ? json_integer(m->records[i].alert_id)
		                                     : json_null(),
		              "recorded_at", jutc(m->records[i].recorded_at)));
	for (size_t i = 0; i < m->nalerts; i++)
		json_array_append_new(alerts, jalert(&m->alerts[i]));
	if (m->closed)
		closed = json_pack("{s:o, s:i, s:o, s:o}", "closed_on", delivery_json(m->closed_on),
		                   "days_late", m->closed_late, "last_stage",
		                   delivery_json(m->closed_stage), "reopened_on",
		                   delivery_json(m->reopened_on));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "start", delivery_json(m->start),
	                 "recorded", records, "alerts", alerts, "answers", janswers(m), "closed",
	                 closed, "agreed_on", m->agreed ? json_string(m->agreed_on) : json_null(),
	                 "over_since", jutc(m->over_since));
}

/* The row: the case, the start (or value), and the rule's fields. */
static json_t *
jrow(const struct explain *x, const struct explain_clock *k)
{
	const struct rule *r = x->r;
	int keep = r->kind == RULE_THRESHOLD ? r->value_col : r->start_col;
	json_t *o = json_object();

	json_object_set_new(o, r->columns[r->case_ref_col],
	                    delivery_json(k->cols[r->case_ref_col]));
	if (keep >= 0)
		json_object_set_new(o, r->columns[keep], delivery_json(k->cols[keep]));
	for (size_t i = 0; i < r->nfields; i++)
		json_object_set_new(o, r->columns[r->field_cols[i]],
		                    delivery_json(k->cols[r->field_cols[i]]));
	return o;
}

static const char *const state_names[] = {"not_reached", "alerted", "skipped",
                                          "owed",        "held",    "passed"};
static const char *const next_names[] = {"not_yet_due", "stage",  "owed",
                                         "held",        "nobody", "nothing_more"};
static const char *const drop_names[] = {"missing", "invalid", "refused"};

/* What happens next, with whom. */
static json_t *
jnext(const struct explain *x, const struct explain_clock *k)
{
	const struct explain_next *n = &k->next;
	const struct rule *r = x->r;
	json_t *to = json_array(), *dropped = json_array();

	for (size_t i = 0; i < n->nto; i++) {
		const struct explain_recipient *t = &n->to[i];

		json_array_append_new(
		    to,
		    json_pack("{s:s, s:o, s:o, s:o, s:o}", "channel", channel_name(t->kind),
		              "address", delivery_json(t->address), "contact",
		              delivery_json(t->contact), "column", delivery_json(t->column),
		              "copied_for",
		              t->copied_stage >= 0 ? json_string(r->stages[t->copied_stage].name)
		                                   : json_null()));
	}
	for (size_t i = 0; i < n->ndropped; i++)
		json_array_append_new(
		    dropped, json_pack("{s:s, s:s, s:s, s:o}", "name", n->dropped[i].name, "source",
		                       n->dropped[i].column ? "column" : "contact", "why",
		                       drop_names[n->dropped[i].why], "domain",
		                       n->dropped[i].why == EVAL_DROP_REFUSED
		                           ? delivery_json(n->dropped[i].domain)
		                           : json_null()));
	return json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "what", next_names[n->kind], "stage",
	    n->stage >= 0 ? json_string(r->stages[n->stage].name) : json_null(), "label",
	    n->stage >= 0 ? json_string(r->stages[n->stage].label) : json_null(), "at",
	    n->kind == EXPLAIN_NEXT_NOBODY || n->kind == EXPLAIN_NEXT_DONE ? json_null()
	                                                                   : jtime(n->at),
	    "held_until", n->held ? jdate(n->held_until) : json_null(), "last_alerted",
	    n->last_sent >= 0 ? json_string(r->stages[n->last_sent].name) : json_null(),
	    "recipients", to, "not_told", dropped);
}

/* One stage of a clock. */
static json_t *
jstage(const struct explain *x, const struct explain_clock *k, size_t i)
{
	const struct stage *st = &x->r->stages[i];
	const struct trail_stage *ts = &k->trail.stages[i];
	const struct explain_stage *es = &k->stages[i];
	char off[96];

	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:o, s:b}",
	                 "name", st->name, "label", st->label, "at", jduration(&st->at), "offset",
	                 trail_offset(&st->at, "due", off, sizeof off), "count", jstep(&ts->at),
	                 "date", jdate(ts->date), "moved_over", jskipped(ts->moved, ts->nmoved),
	                 "fires", jtime(es->fires), "reached", es->fires <= x->now, "state",
	                 state_names[es->state], "recorded_at",
	                 es->record != NULL ? jutc(es->record->recorded_at) : json_null(),
	                 "held_until", es->held ? jdate(es->held_until) : json_null(), "alert",
	                 es->alert != NULL ? json_integer(es->alert->id) : json_null(),
	                 "outside_calendar", ts->outside);
}

/* One clock (or threshold key). */
static json_t *
jclock(const struct explain *x, const struct explain_clock *k)
{
	json_t *o = json_object(), *stages;

	json_object_set_new(o, "row", jrow(x, k));
	if (x->r->kind == RULE_THRESHOLD) {
		json_object_set_new(o, "value", k->has_value ? json_real(k->value) : json_null());
		json_object_set_new(o, "over", json_boolean(k->over));
		json_object_set_new(
		    o, "next", k->over && k->mem.over_since == NULL ? jnext(x, k) : json_null());
		json_object_set_new(o, "recorded", jmemory(&k->mem));
		return o;
	}
	json_object_set_new(o, "start_ok", json_boolean(!k->bad_start));
	if (k->bad_start)
		return o;
	stages = json_array();
	for (size_t i = 0; i < x->r->nstages; i++)
		json_array_append_new(stages, jstage(x, k, i));
	json_object_set_new(o, "start", jdate(k->start));
	json_object_set_new(o, "due", jdate(k->ev.due));
	json_object_set_new(o, "status", json_string(k->status));
	json_object_set_new(o, "due_count", jstep(&k->trail.due));
	json_object_set_new(o, "outside_calendar", json_boolean(k->trail.outside));
	json_object_set_new(o, "stages", stages);
	json_object_set_new(o, "next", jnext(x, k));
	json_object_set_new(o, "recorded", jmemory(&k->mem));
	return o;
}

/* Print x as one JSON document. */
void
explain_json(FILE *f, const struct explain *x)
{
	const struct rule *r = x->r;
	json_t *clocks = json_array(), *gone = json_array(), *fields = json_array(), *doc;
	char t[32], dur[48], hold[48];

	for (size_t i = 0; i < r->nfields; i++)
		json_array_append_new(fields, json_string(r->fields[i]));
	for (size_t i = 0; i < x->nclocks; i++)
		json_array_append_new(clocks, jclock(x, &x->clocks[i]));
	for (size_t i = 0; i < x->ngone; i++)
		json_array_append_new(gone, jmemory(&x->gone[i]));
	snprintf(t, sizeof t, "%02d:%02d", x->send_time / 60, x->send_time % 60);
	doc = json_pack(
	    "{s:{s:s, s:s, s:s, s:s, s:i, s:o, s:b, s:b, s:o, s:o, s:b, s:o}, s:o, s:o, s:s, s:b, "
	    "s:{s:i, s:i}, s:b, s:o, s:o}",
	    "rule", "id", r->id, "title", r->title, "kind",
	    r->kind == RULE_THRESHOLD ? "threshold" : "clock", "file", r->file, "line", r->line,
	    "due",
	    r->kind == RULE_CLOCK ? json_string(duration_format(&r->due, dur, sizeof dur))
	                          : json_null(),
	    "working_days_only", r->working_days_only, "hold", r->hold, "max_hold",
	    r->hold ? json_string(duration_format(&r->max_hold, hold, sizeof hold)) : json_null(),
	    "limit", r->kind == RULE_THRESHOLD ? json_real(r->limit) : json_null(), "below",
	    r->below, "fields", fields, "case", delivery_json(x->case_ref), "now", jtime(x->now),
	    "send_time", t, "state_file", !x->state_missing, "calendar", "first_year",
	    calendar_first_year(x->cal), "last_year", calendar_last_year(x->cal), "found",
	    x->nclocks > 0, "clocks", clocks, "remembered", gone);
	if (doc == NULL)
		fatalx("explain: cannot build the JSON document");
	json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(doc);
}
