/*
 * notice.h - telling the admin contact about the service's own problems: an
 * alert nobody could be sent, a delivery refused for good, a rule query
 * stopped. A notice is an ordinary alert (recorded, then delivered by the
 * outbox with its promises) under a made-up rule, told once per key and day.
 */
#ifndef ESCALATOR_NOTICE_H
#define ESCALATOR_NOTICE_H

#include <stdbool.h>

#include "config.h"
#include "date.h"
#include "statestore.h"

/* What every notice's rule id starts with (a rule file's id cannot: see notice_own). */
#define NOTICE_PREFIX "escalator-"
/* Made-up rule ids under which notices are recorded (never a rule file's id: they hold a '-'). */
#define NOTICE_UNDELIVERABLE "escalator-undeliverable" /* a stage nobody could be sent */
#define NOTICE_FAILED "escalator-delivery-failed"      /* a delivery refused for good */
#define NOTICE_RULE_FAILED "escalator-rule-failed"     /* a rule query stopped or failing */
#define NOTICE_BAD_ROWS "escalator-bad-rows"           /* rows skipped for bad data */

struct notice {
	const char *kind;    /* one of the NOTICE_ ids above: recorded as the rule */
	const char *title;   /* what kind of problem, in words: recorded as the rule's title */
	const char *key;     /* what it is about (e.g. "rule/case/stage"): recorded as the case */
	date_t day;          /* with kind and key, what makes it one notice: told once per day */
	const char *subject; /* the message: no addresses in full, no secrets */
	const char *body;
	/*
	 * When the admin's digest takes it (unix seconds): 0 for the next digest
	 * time. immediate: sent on its own at once, whatever the admin's digest.
	 */
	long long digest_at;
	bool immediate;
};

/*
 * Record notice n to cfg's admin contact inside the current transaction
 * (statestore_begin nests), unless (kind, key, day) was told already. Returns
 * 1 when recorded (kick the outbox after the commit), 0 when already told or
 * no admin contact is configured (then it is only logged), -1 on a state
 * store failure with *cause set.
 */
int notice_admin(struct statestore *ss, const struct config *cfg, const struct notice *n,
                 char **cause);
/* Is rule_id one of escalator's own (a notice, the case store's health)? Never tell of those. */
bool notice_own(const char *rule_id);
/*
 * Append s[0..slen) to buf (of len, holding *n) as notice text: printable
 * ASCII, a quote or anything else as '?'. Returns false when buf is full.
 */
bool notice_put(char *buf, size_t len, size_t *n, const char *s, size_t slen);

#endif
