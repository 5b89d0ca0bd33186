/*
 * answers.h - answers to alerts: what the link in a message leads to, the
 * answers recorded (with their audit rows), the links themselves, and what
 * the rest of escalatord reads of them (later messages, holds, metrics).
 */
#ifndef ESCALATOR_ANSWERS_H
#define ESCALATOR_ANSWERS_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "date.h"
#include "delivery.h"
#include "ruleset.h"
#include "statestore.h"

enum answer_kind {
	ANSWER_ACKNOWLEDGED, /* "I have seen it" */
	ANSWER_AGREED,       /* action agreed, for a date */
	ANSWER_DISAGREE,     /* the alert is wrong or not due, with a reason */
	ANSWER_NKINDS
};
/* "acknowledged", "agreed", "disagree": the names the state store, webhooks and metrics use. */
const char *answer_kind_name(enum answer_kind k);
/* A kind from its name; -1 if it is none. */
int answer_kind_parse(const char *s);
/* How people read a kind: "acknowledged", "action agreed", "disagrees". */
const char *answer_kind_words(enum answer_kind k);

/* One answer, as the form gave it (validated by the caller: dates, lengths, UTF-8). */
struct answer {
	enum answer_kind kind;
	const char *agreed_on; /* AGREED: YYYY-MM-DD; else NULL */
	const char *reason;    /* DISAGREE: why (required); else NULL */
	const char *note;      /* anything else, or NULL */
	const char *name;      /* the name they gave, or NULL */
};

/*
 * The delivery an answer link names, as its recipient received it: the alert
 * (bundle_read_alert), the clock's whole history and its answers so far;
 * d->recipient is the recipient as recorded (what a token is checked
 * against), d->closed and d->closed_on say whether the clock has since been
 * seen done. Returns 0 with *out set, 1 when there is no such delivery of an
 * alert (never one, removed by retention, a digest or a notice), -1 with
 * *cause set on a state store error.
 */
int answers_target(struct statestore *ss, long long delivery_id, struct delivery **out,
                   char **cause);

/*
 * Record answer a to delivery d (from answers_target) with an audit row, in
 * one transaction. An earlier answer from the same delivery is amended (kept,
 * marked as replaced). Returns the answer's id, or -1 with *cause set.
 */
long long answers_add(struct statestore *ss, const struct delivery *d, const struct answer *a,
                      char **cause);

/*
 * The latest agreed date for the clock (rule, case_ref, start) among answers
 * not since amended: 1 with agreed (11 bytes) set and, if stage is not NULL,
 * the name of the stage whose message was answered in stage (stage_len
 * bytes; "" if not recorded), 0 when there is none, -1 with *cause set.
 */
int answers_agreed(struct statestore *ss, const char *rule, const char *case_ref, const char *start,
                   char *agreed, char *stage, size_t stage_len, char **cause);

/*
 * The clock (r, case_ref, start)'s latest agreed action as the rule reads
 * it: answers under an id r was renamed from count (not yet moved: --once),
 * and the stage answered is looked up with its renamed_from. 1 with *agreed
 * and *answered (the stage's index in r) set, 0 when there is none (or it
 * names a stage r no longer has, or a date that is not one), -1 with *cause.
 */
int answers_agreed_stage(struct statestore *ss, const struct rule *r, const char *case_ref,
                         const char *start, date_t *agreed, int *answered, char **cause);

/*
 * The answers to the clock (rule, case_ref, start) into into->responses
 * (which must be empty): oldest first, amended ones marked, the latest few
 * as every message reads them (bundle_history). 0, or -1 on a state store
 * error.
 */
int answers_of_clock(struct statestore *ss, const char *rule, const char *case_ref,
                     const char *start, struct delivery *into);

/* Answers recorded by kind (counts[ANSWER_NKINDS]), amended ones included. 0, or -1. */
int answers_count(struct statestore *ss, long long counts[ANSWER_NKINDS], char **cause);

/*
 * The answer link for delivery id to recipient (as recorded), valid for
 * cfg->response_expiry from now; NULL when cfg has no response_url.
 */
char *answers_link(const struct config *cfg, long long id, const char *recipient, time_t now);
/*
 * Give d (a single alert: itself; a digest: each alert item) its answer
 * link, using d's recipient as recorded. Notices and closed clocks get none.
 * Call before the destination is resolved.
 */
void answers_set_links(const struct config *cfg, struct delivery *d, time_t now);

#endif
