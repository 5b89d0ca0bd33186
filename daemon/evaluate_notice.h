/*
 * evaluate_notice.h - what an evaluation pass tells the admin contact: the
 * recipients an alert lost (and why), a rule query stopped by query_timeout.
 * Both go through notice_admin (once per key and day).
 */
#ifndef ESCALATOR_EVALUATE_NOTICE_H
#define ESCALATOR_EVALUATE_NOTICE_H

#include <stddef.h>

#include "alertstore.h"
#include "config.h"
#include "date.h"
#include "eval.h"
#include "ruleset.h"
#include "statestore.h"

/*
 * Tell the admin about the ndropped recipients (dropped[]) that alert a of
 * rule r lost (all of them when none is left): what was wrong with each,
 * never an address in full. Once per clock stage (key rule/case/stage, day
 * the clock's start). Returns 0, or -1 on a state store failure with *cause
 * set.
 */
int evaluate_notice_dropped(struct statestore *ss, const struct config *cfg, const struct rule *r,
                            const struct alert *a, const struct eval_dropped *dropped,
                            size_t ndropped, char **cause);

/*
 * Tell the admin (once a day: day) that rule r's query was stopped by
 * query_timeout. Returns notice_admin's answer: 1 when recorded, 0 when
 * already told or nobody to tell, -1 on a state store failure with *cause set.
 */
int evaluate_notice_timeout(struct statestore *ss, const struct config *cfg, const struct rule *r,
                            date_t day, char **cause);

/* The rows of one rule a pass skipped for bad data (kept for the admin's digest). */
struct evaluate_bad_rows {
	long long count;
#define EVALUATE_BAD_REFS 20
	char *refs[EVALUATE_BAD_REFS]; /* the first few case references (or keys), allocated */
	size_t nrefs;
};
/* Note one row of case reference ref (NULL or empty: none) skipped for bad data. */
void evaluate_bad_row(struct evaluate_bad_rows *b, const char *ref);
/* Forget the rows noted. */
void evaluate_bad_clear(struct evaluate_bad_rows *b);
/*
 * Tell the admin (once a day: day) that rule r skipped b's rows for bad data,
 * with their count and first case references, in the digest at digest_at.
 * Returns as evaluate_notice_timeout does.
 */
int evaluate_notice_bad_rows(struct statestore *ss, const struct config *cfg, const struct rule *r,
                             const struct evaluate_bad_rows *b, date_t day, long long digest_at,
                             char **cause);

#endif
