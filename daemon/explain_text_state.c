/*
 * explain_text_state.c - escalatord explain for people, what the state store
 * remembers: each alert with how each delivery went, the answers, clocks
 * with no row now, and a threshold rule's key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "xalloc.h"

/* What one delivery's status means, into buf. */
static void
delivery_words(const struct explain_delivery *d, char *buf, size_t len)
{
	char w[EXPLAIN_WHEN_LEN], n[EXPLAIN_WHEN_LEN];
	const char *status = d->status != NULL ? d->status : "?";

	if (strcmp(status, "bundled") == 0 && d->digest_status != NULL) {
		if (strcmp(d->digest_status, "sent") == 0)
			snprintf(buf, len, "sent in digest %lld", d->digest_id);
		else if (d->digest_error != NULL)
			snprintf(buf, len,
			         "in digest %lld, not sent yet: the last try failed (%s); next try "
			         "%s",
			         d->digest_id, d->digest_error,
			         explain_when(explain_local_unix(d->digest_next), n));
		else
			snprintf(buf, len, "in digest %lld, being sent", d->digest_id);
	} else if (strcmp(status, "sent") == 0 && d->digest_id != 0) {
		snprintf(buf, len, "sent %s in digest %lld", explain_when_utc(d->sent_at, w),
		         d->digest_id);
	} else if (strcmp(status, "sent") == 0) {
		snprintf(buf, len, "sent %s", explain_when_utc(d->sent_at, w));
	} else if (strcmp(status, "failed") == 0) {
		snprintf(buf, len, "FAILED for good %s: %s", explain_when_utc(d->last_attempt, w),
		         d->last_error != NULL ? d->last_error : "no reason recorded");
	} else if (strcmp(status, "held") == 0) {
		snprintf(buf, len, "waiting for the digest at %s",
		         explain_when(explain_local_unix(d->next_attempt), w));
	} else if (strcmp(status, "pending") == 0 && d->attempts > 0) {
		snprintf(buf, len, "not sent yet: %d tr%s failed (%s); next try %s", d->attempts,
		         d->attempts == 1 ? "y" : "ies",
		         d->last_error != NULL ? d->last_error : "no reason recorded",
		         explain_when(explain_local_unix(d->next_attempt), n));
	} else if (strcmp(status, "pending") == 0) {
		snprintf(buf, len, "waiting in the outbox");
	} else {
		snprintf(buf, len, "%s", status);
	}
}

/* An alert recorded and each of its deliveries. */
void
explain_print_alert(FILE *f, int indent, const struct explain_alert *a)
{
	char w[EXPLAIN_WHEN_LEN], day[DATE_HUMAN_LEN], words[1200];

	explain_say(f, indent, indent + 2,
	            "Alerted %s (alert %lld)%s%s:", explain_when_utc(a->created_at, w), a->id,
	            a->status != NULL ? ", when it was " : "", a->status != NULL ? a->status : "");
	if (a->ndeliveries == 0)
		explain_say(f, indent + 2, indent + 4,
		            "no delivery is kept (removed by retention)");
	for (size_t i = 0; i < a->ndeliveries; i++) {
		const struct explain_delivery *d = &a->deliveries[i];
		bool email = strcmp(d->kind, "email") == 0;

		delivery_words(d, words, sizeof words);
		explain_say(f, indent + 2, indent + 4, "%s%s%s%s: %s", d->recipient,
		            email ? "" : " (", email ? "" : d->kind, email ? "" : ")", words);
		if (d->copied != NULL)
			explain_say(f, indent + 4, indent + 4, "copied in: not told at \"%s\" (%s)",
			            d->copied, explain_day(d->copied_on, day));
	}
}

/* The answers to the clock. */
void
explain_print_answers(FILE *f, int indent, const struct explain_memory *m)
{
	char w[EXPLAIN_WHEN_LEN], day[DATE_HUMAN_LEN];

	if (m->nanswers == 0) {
		explain_say(f, indent, indent, "Answers: none recorded.");
		return;
	}
	explain_say(f, indent, indent, "Answers (given through the link in the messages):");
	for (size_t i = 0; i < m->nanswers; i++) {
		const struct delivery_response *a = &m->answers[i];
		bool agreed = a->kind != NULL && strcmp(a->kind, "agreed") == 0;

		explain_say(f, indent + 2, indent + 4, "%s, %s: %s%s%s (to \"%s\")%s",
		            explain_when_utc(a->answered_at, w), a->who ? a->who : "?",
		            agreed                                                ? "action agreed"
		            : a->kind != NULL && strcmp(a->kind, "disagree") == 0 ? "disagrees"
		                                                                  : "acknowledged",
		            agreed && a->agreed_on ? " for " : "",
		            agreed && a->agreed_on ? explain_day(a->agreed_on, day) : "",
		            a->stage ? a->stage : "?",
		            a->amended ? "; replaced by a later answer from the same link" : "");
	}
}

/* What the state store remembers of a clock with no row now (or a threshold key). */
void
explain_print_memory(FILE *f, const struct explain *x, const struct explain_memory *m)
{
	char day[DATE_HUMAN_LEN];
	int in = m->start != NULL ? 4 : 2; /* a threshold key's memory has no clock heading */

	if (m->start != NULL)
		explain_say(f, 2, 4, "Clock started %s:", explain_day(m->start, day));
	if (m->closed && m->reopened_on == NULL)
		explain_say(f, in, in + 2, "Seen done on %s, %d working day%s after its due date.",
		            explain_day(m->closed_on, day), m->closed_late,
		            m->closed_late == 1 ? "" : "s");
	else if (m->closed)
		explain_say(f, in, in + 2, "Seen done, then its row came back on %s.",
		            explain_day(m->reopened_on, day));
	else if (m->start != NULL && x->r->kind == RULE_CLOCK)
		explain_say(
		    f, in, in + 2,
		    "Not recorded as done yet: the service records that at its next whole pass.");
	for (size_t i = 0; i < m->nalerts; i++) {
		explain_say(f, in, in + 2, "\"%s\" (%s):", m->alerts[i].label, m->alerts[i].stage);
		explain_print_alert(f, in + 2, &m->alerts[i]);
	}
	if (m->nalerts == 0)
		explain_say(f, in, in + 2, "No alert of it is kept.");
	if (m->start != NULL)
		explain_print_answers(f, in, m);
}

/* A threshold rule's key. */
void
explain_print_threshold(FILE *f, const struct explain *x, const struct explain_clock *k)
{
	const struct rule *r = x->r;
	const char *side = r->below ? "below" : "above";
	char w[EXPLAIN_WHEN_LEN];

	if (!k->has_value) {
		explain_say(f, 0, 7, "Value: not a number: the service skips this row.");
		return;
	}
	explain_say(f, 0, 7, "Value: %.15g, %s the limit of %.15g.", k->value,
	            k->over ? side : "within", r->limit);
	if (k->mem.over_since != NULL)
		explain_say(f, 0, 7, "Recorded %s the limit since %s.", side,
		            explain_when_utc(k->mem.over_since, w));
	if (k->over && k->mem.over_since == NULL) {
		explain_say(f, 0, 7,
		            "Next:  not alerted yet: the service's next pass sends \"%s\" to:",
		            r->stages[0].label);
		explain_print_recipients(f, x, &k->next);
	} else if (k->over) {
		explain_say(
		    f, 0, 7,
		    "Next:  no new alert while it stays %s %.15g; once it is back within the "
		    "limit, the next crossing alerts again.",
		    side, r->limit);
	} else {
		explain_say(f, 0, 7, "Next:  nothing: an alert goes when it goes %s %.15g.", side,
		            r->limit);
	}
	fprintf(f, "\n");
	explain_print_row(f, x, k);
	fprintf(f, "\n");
	explain_say(f, 0, 2, "What the state store remembers of this key:");
	explain_print_memory(f, x, &k->mem);
}
