/* eval.c - evaluation: one open clock + its rule + now -> the stage reached. */
#include "eval.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"

/* Does a date computed with the calendar fall outside the years its files cover? */
static bool
eval_outside(const struct calendar *cal, date_t d)
{
	int first = calendar_first_year(cal), last = calendar_last_year(cal);

	if (last == 0)
		return false;
	/* Compare day numbers: cheaper than splitting d into a year for every clock. */
	return d < date_from_ymd(first, 1, 1) || d > date_from_ymd(last, 12, 31);
}

/* A date of r moved as stage dates are: to a working day unless working_days_only = false. */
static date_t
eval_rule_day(const struct rule *r, const struct calendar *cal, date_t d)
{
	return r->working_days_only ? calendar_next_working_day(cal, d) : d;
}

/* The date stage i fires on for a clock due on due. */
date_t
eval_stage_date(const struct rule *r, const struct calendar *cal, date_t due, size_t i)
{
	return eval_rule_day(r, cal, duration_apply(&r->stages[i].at, cal, due));
}

/* Evaluate one clock as of now. */
void
eval_clock(const struct rule *r, const struct calendar *cal, int send_time, date_t start,
           localtime_min_t now, struct eval_clock *out)
{
	bool uses_cal = r->working_days_only || duration_uses_calendar(&r->due);

	memset(out, 0, sizeof *out);
	out->start = start;
	out->due = duration_apply(&r->due, cal, start);
	out->reached = -1;
	out->next_stage = -1;
	out->next = EVAL_NEVER;
	/* Counting working days from or to a date outside the files' years misses holidays. */
	if (duration_uses_calendar(&r->due) &&
	    (eval_outside(cal, start) || eval_outside(cal, out->due)))
		out->outside_calendar = true;

	for (size_t i = 0; i < r->nstages; i++) {
		date_t d = eval_stage_date(r, cal, out->due, i);
		localtime_min_t fires = (localtime_min_t)d * 1440 + send_time;

		if ((uses_cal || duration_uses_calendar(&r->stages[i].at)) &&
		    (eval_outside(cal, d) ||
		     (duration_uses_calendar(&r->stages[i].at) && eval_outside(cal, out->due))))
			out->outside_calendar = true;
		if (fires <= now) {
			/* Stages are listed in firing order; the last one passed wins. */
			out->reached = (int)i;
			out->stage_date = d;
			out->fires = fires;
		} else if (fires < out->next) {
			out->next = fires;
			out->next_stage = (int)i;
		}
	}
}

/* Catch-up: which stage to alert now, given what is already recorded. */
int
eval_owed(int reached, const bool *recorded, size_t nstages)
{
	if (reached < 0)
		return -1;
	for (size_t i = (size_t)reached; i < nstages; i++)
		if (recorded[i])
			return -1;
	return reached;
}

/* The date a stage held by an agreed date waits until. */
date_t
eval_hold_until(const struct rule *r, const struct calendar *cal, date_t stage_date, date_t agreed)
{
	date_t until, cap;

	if (!r->hold || r->max_hold.n <= 0 || stage_date > agreed)
		return stage_date;
	until = eval_rule_day(r, cal, agreed + 1);
	/* The cap bounds how long an agreement can keep an escalation quiet, however far off. */
	cap = eval_rule_day(r, cal, duration_apply(&r->max_hold, cal, stage_date));
	return until < cap ? until : cap;
}

/* The earliest end of an agreed action's hold over the stages after answered, up to upto. */
localtime_min_t
eval_held_until(const struct rule *r, const struct calendar *cal, int send_time, date_t due,
                int answered, date_t agreed, const bool *recorded, int upto)
{
	localtime_min_t at = EVAL_NEVER, t;

	if (!r->hold || answered < 0)
		return EVAL_NEVER;
	for (int i = answered + 1; i <= upto && i < (int)r->nstages; i++) {
		if (recorded[i])
			continue; /* told already: nothing to hold */
		t = (localtime_min_t)eval_hold_until(
		        r, cal, eval_stage_date(r, cal, due, (size_t)i), agreed) *
		        1440 +
		    send_time;
		if (t < at)
			at = t;
	}
	return at;
}

/* Is rc among v[0..n)? */
bool
eval_recipient_in(const struct recipient *v, size_t n, const struct recipient *rc)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == rc->kind &&
		    (rc->kind == CHANNEL_EMAIL ? strcasecmp(v[i].address, rc->address) == 0
		                               : strcmp(v[i].address, rc->address) == 0))
			return true;
	return false;
}

/* Working days from due to day. */
int
eval_working_days_late(const struct calendar *cal, date_t due, date_t day)
{
	return calendar_working_days_between(cal, due, day);
}

/* "1 working day overdue", "12 working days overdue". */
static void
eval_status_overdue(int n, char *buf, size_t len)
{
	snprintf(buf, len, "%d working day%s overdue", n, n == 1 ? "" : "s");
}

/* How the due date stands on day, for people. */
char *
eval_status(const struct calendar *cal, date_t due, date_t day, char *buf, size_t len)
{
	int n;

	if (day == due) {
		snprintf(buf, len, "due today");
	} else if (day < due) {
		n = eval_working_days_late(cal, day, due);
		if (n == 0)
			snprintf(buf, len, "due on %s", date_format(due, (char[DATE_STRLEN]){0}));
		else
			snprintf(buf, len, "due in %d working day%s", n, n == 1 ? "" : "s");
	} else {
		n = eval_working_days_late(cal, due, day);
		if (n == 0)
			snprintf(buf, len, "past due on %s",
			         date_format(due, (char[DATE_STRLEN]){0}));
		else
			eval_status_overdue(n, buf, len);
	}
	return buf;
}

/* The status of an alert recorded without one, from what was recorded. */
char *
eval_status_recorded(int days_late, const char *due, char *buf, size_t len)
{
	if (days_late > 0)
		eval_status_overdue(days_late, buf, len);
	else
		snprintf(buf, len, "due %s", due != NULL ? due : "");
	return buf;
}

/* Is address (valid) where email may go? */
static bool
eval_allowed(const struct eval_domains *allowed, const char *address)
{
	return allowed == NULL || allowed->v == NULL ||
	       addr_domain_in(address, allowed->v, allowed->n);
}

/* Note that recipient ref was dropped for why (once per notify name and source). */
static void
eval_drop(const struct notify_ref *ref, enum eval_drop why, const char *address,
          struct eval_dropped *dropped, size_t *ndropped)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;
	bool column = ref->column >= 0;

	if (dropped == NULL || ndropped == NULL)
		return;
	for (size_t i = 0; i < *ndropped; i++)
		if (dropped[i].column == column && strcmp(dropped[i].name, ref->name) == 0)
			return;
	dropped[*ndropped].name = ref->name;
	dropped[*ndropped].column = column;
	dropped[*ndropped].why = why;
	dropped[*ndropped].domain = why != EVAL_DROP_MISSING && at != NULL ? at + 1 : NULL;
	(*ndropped)++;
}

/* Resolve the stage's notify list for one row. */
size_t
eval_recipients(const struct rule *r, const struct stage *st, const char *const *cols,
                const char *case_ref, const struct eval_domains *allowed, struct recipient *out,
                struct eval_dropped *dropped, size_t *ndropped, struct diag *d)
{
	size_t n = 0;

	if (ndropped != NULL)
		*ndropped = 0;
	for (size_t i = 0; i < st->nnotify; i++) {
		const struct notify_ref *ref = &st->notify[i];
		const char *what = ref->column >= 0 ? "column" : "contact";
		const char *suffix = ref->column >= 0 ? "_email" : "";
		struct recipient rc;
		bool dup = false;

		if (ref->column >= 0) {
			const char *v = cols[ref->column];

			if (v == NULL || *v == '\0') {
				diag_add(d, DIAG_WARNING,
				         "rule=%s case=%s stage=%s: column %s_email is empty; that "
				         "recipient is dropped",
				         r->id, case_ref, st->name, ref->name);
				eval_drop(ref, EVAL_DROP_MISSING, NULL, dropped, ndropped);
				continue;
			}
			rc.kind = CHANNEL_EMAIL;
			rc.address = v;
		} else {
			rc.kind = ref->kind;
			rc.address = ref->address;
		}
		rc.contact = ref->column >= 0 ? NULL : ref->name;
		if (rc.kind == CHANNEL_EMAIL && !addr_valid_email(rc.address)) {
			/* Never the address itself: it may be anything, from anywhere. */
			diag_add(d, DIAG_WARNING,
			         "rule=%s case=%s stage=%s: %s %s%s is not an email address; that "
			         "recipient is dropped",
			         r->id, case_ref, st->name, what, ref->name, suffix);
			eval_drop(ref, EVAL_DROP_INVALID, rc.address, dropped, ndropped);
			continue;
		}
		if (rc.kind == CHANNEL_EMAIL && !eval_allowed(allowed, rc.address)) {
			/* A valid address: its domain is plain DNS text. */
			diag_add(d, DIAG_WARNING,
			         "rule=%s case=%s stage=%s: %s %s%s is at %s, which is not in "
			         "allowed_domains; that recipient is dropped",
			         r->id, case_ref, st->name, what, ref->name, suffix,
			         strrchr(rc.address, '@') + 1);
			eval_drop(ref, EVAL_DROP_REFUSED, rc.address, dropped, ndropped);
			continue;
		}
		for (size_t j = 0; j < n; j++)
			/* Mail domains and, in practice, mailboxes ignore case. */
			if (out[j].kind == rc.kind &&
			    (rc.kind == CHANNEL_EMAIL ? strcasecmp(out[j].address, rc.address)
			                              : strcmp(out[j].address, rc.address)) == 0)
				dup = true;
		if (!dup)
			out[n++] = rc;
	}
	return n;
}

/* The name of an urgency. */
const char *
eval_urgency_name(enum eval_urgency u)
{
	switch (u) {
	case EVAL_ESCALATION:
		return "escalation";
	case EVAL_OVERDUE:
		return "overdue";
	case EVAL_REMINDER:
		break;
	}
	return "reminder";
}

/* The urgency of stage i of rule r for a clock due on due. */
enum eval_urgency
eval_urgency(const struct rule *r, const struct calendar *cal, date_t due, size_t i)
{
	if (r->kind == RULE_THRESHOLD)
		return EVAL_OVERDUE;
	if (eval_stage_date(r, cal, due, i) <= due)
		return EVAL_REMINDER;
	if (i > 0 && eval_stage_date(r, cal, due, i - 1) > due)
		return EVAL_ESCALATION;
	return EVAL_OVERDUE;
}
