/* evaluate.h - one evaluation pass: case store rows -> rules -> alerts owed. */
#ifndef ESCALATOR_EVALUATE_H
#define ESCALATOR_EVALUATE_H

#include "engine.h"
#include "alertstore.h"
#include "statestore.h"

/* Called for each alert owed, after it has been recorded (alert_id 0 on a dry run). */
typedef void (*evaluate_alert_fn)(void *arg, const struct alert *a, long long alert_id);

struct evaluate_stats {
	long long clocks;       /* rows seen */
	long long skipped_rows; /* rows skipped for bad data */
	long long alerts;       /* alerts owed and recorded */
	long long failed_rules; /* rules whose query failed this pass */
	bool store_busy;        /* the pass stopped early: another process holds the case store */
	localtime_min_t next;   /* the earliest stage firing after now, or EVAL_NEVER */
};

/*
 * Evaluate every rule as of local time now: run each query, evaluate each
 * clock, and record each alert owed (with its skipped stages and deliveries)
 * in the state store in one transaction. A bad row is skipped with a warning
 * naming rule and case; a rule whose query fails is logged and the others go
 * on. Returns 0, or -1 with *cause set if the state store failed (nothing of
 * this pass is then recorded).
 */
int evaluate_pass(struct engine *e, struct statestore *ss, localtime_min_t now,
                  evaluate_alert_fn fn, void *arg, struct evaluate_stats *stats, char **cause);

#endif
