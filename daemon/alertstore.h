/*
 * alertstore.h - the alerts owed, as the state store records them: which
 * stages of a clock are alerted or skipped, each alert with its pending
 * deliveries, and the keys of threshold rules over their limit.
 */
#ifndef ESCALATOR_ALERTSTORE_H
#define ESCALATOR_ALERTSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "eval.h"
#include "ruleset.h"
#include "statestore.h"

/* One alert owed, as recorded: a stage of a clock and who is told. */
struct alert {
	const struct rule *rule;
	const char *case_ref;
	date_t start;
	date_t due;
	int stage;
	localtime_min_t fires;
	int days_late;
	double value;        /* threshold rules: the value that crossed the limit */
	const char *subject; /* rendered email subject and body */
	const char *body;
	const char *fields;   /* JSON object of the rule's fields, or NULL */
	const char *expected; /* rendered "what is expected" (chat and Notify), or NULL */
	const char *status;   /* {{status}} in the templates: "3 working days overdue"; or NULL */
	const struct recipient *recipients;
	size_t nrecipients;

	const char *label;    /* the stage's label for people */
	const char *case_url; /* the link to the case, or NULL */
	enum eval_urgency urgency;
	/*
	 * held[i]: recipient i waits for its digest at digest_at (unix seconds);
	 * otherwise (or held NULL) it is sent on its own at once.
	 */
	const bool *held;
	long long digest_at;
	/*
	 * Recipients of stages skipped now (escalator first saw the clock after
	 * them), told with this alert: copied[i] would have been told at stage
	 * copied_stage[i], which fell due on copied_on[i]; copied_held[i] as held.
	 */
	const struct recipient *copied;
	const int *copied_stage;
	const date_t *copied_on;
	const bool *copied_held;
	size_t ncopied;
};

/*
 * Which stages of rule r are already recorded (alerted or skipped) for the
 * clock (r, case_ref, start): recorded[i] for stage i; *closed (may be NULL)
 * whether the clock is recorded as closed (done). Returns 0 or -1.
 */
int alertstore_recorded(struct statestore *ss, const struct rule *r, const char *case_ref,
                        date_t start, bool *recorded, bool *closed, char **cause);

/*
 * Record an alert: the stage as alerted, every earlier stage not in recorded
 * as skipped, and one delivery per recipient and per copied recipient
 * (pending, or held for a digest), inside the current transaction. Sets
 * *alert_id. A read-only store records nothing.
 */
int alertstore_record(struct statestore *ss, const struct alert *a, const bool *recorded,
                      long long *alert_id, char **cause);

/* Threshold rules: is key recorded as over the limit? */
int alertstore_threshold_get(struct statestore *ss, const char *rule, const char *key, bool *over,
                             char **cause);
/* Record key as over the limit (marked with pass) or back within it. */
int alertstore_threshold_set(struct statestore *ss, const char *rule, const char *key, bool over,
                             long long pass, char **cause);
/* Forget keys recorded over the limit that pass did not see. */
int alertstore_threshold_sweep(struct statestore *ss, const char *rule, long long pass,
                               char **cause);

#endif
