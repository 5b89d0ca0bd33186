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

#endif
