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
	bool stopped;           /* the pass ended before its last rule (a stop request) */
	long long notices;      /* notices to the admin recorded (rule queries stopped) */
	long long closed;       /* alerted clocks seen done (gone from their rule's rows) */
	localtime_min_t next;   /* the earliest stage firing after now, or EVAL_NEVER */
};

/*
 * Evaluate every rule as of local time now: run each query, evaluate each
 * clock, and record each alert owed (with its skipped stages and deliveries,
 * those held for a digest due at now) and each clock seen done in the state
 * store in one transaction. A bad row is skipped with a warning
 * naming rule and case; a rule whose query fails is logged and the others go
 * on; one whose query runs longer than query_timeout is stopped, logged
 * and told to the admin (once a day). Returns 0, or -1 with *cause set if the
 * state store failed (nothing of this pass is then recorded).
 */
int evaluate_pass(struct engine *e, struct statestore *ss, localtime_min_t now,
                  evaluate_alert_fn fn, void *arg, struct evaluate_stats *stats, char **cause);

/*
 * The same pass in slices, so the caller's event loop can run between them:
 *
 *   run = evaluate_start(e, ss, now, fn, arg);
 *   while ((rc = evaluate_step(run, 0, 0.05, &cause)) == 1)
 *           (let the loop run: deliveries of the slices so far may go out)
 *   evaluate_finish(run, &stats);
 *
 * evaluate_start sets the case store's query time limit (query_timeout).
 * Each evaluate_step evaluates rows until max_rows rows (0: no limit) or
 * max_seconds (0: no limit) are spent, within its own transaction, committed
 * before it returns without an fsync of its own (statestore_relaxed: the
 * outbox's synced commit before any sending syncs it too); inside an open
 * transaction it nests, as evaluate_pass does. A rule's query stays open between slices; its time
 * limit counts only the time SQLite spends executing it. Returns 1 when there is more to do, 0 when
 * the pass is over (every rule, or a stop asked for by the case store's tick: stats.stopped), -1
 * with *cause set if the state store failed (this slice is not recorded; earlier slices are, and
 * the pass is over). evaluate_finish may be called at any time, which abandons the rest of the pass
 * (stats.stopped); it sets *stats (may be NULL) and frees run. Between slices the engine must stay
 * as it is (no reload, no reopened case store).
 */
struct evaluate_run;
struct evaluate_run *evaluate_start(struct engine *e, struct statestore *ss, localtime_min_t now,
                                    evaluate_alert_fn fn, void *arg);
int evaluate_step(struct evaluate_run *run, long max_rows, double max_seconds, char **cause);
/*
 * The deliveries run holds for digests go at the pass's time (one digest per
 * recipient as soon as the pass ends), not at the next digest time: the first
 * pass after a start, which finds what fell due while escalatord was stopped.
 * evaluate_pass (--once) always does.
 */
void evaluate_digest_now(struct evaluate_run *run);
void evaluate_finish(struct evaluate_run *run, struct evaluate_stats *stats);
/*
 * After evaluate_step returned 1: the socket to wait on before the next step
 * (the case store's server has not sent the rows yet; casestore_set_async), or
 * -1 to go on at once.
 */
int evaluate_wait_fd(const struct evaluate_run *run);

/* One rule's figures in a pass (for metrics). */
struct evaluate_rule_stats {
	const struct rule *r;
	bool complete;  /* every row was read: rows and at_stage are the rule's whole count */
	bool failed;    /* its query failed, or could not run (the case store was locked) */
	long long rows; /* rows read (clocks, or threshold keys) */
	long long skipped_rows; /* of which skipped for bad data */
	double query_seconds;   /* time SQLite spent executing the query; -1: it never ran */
	const long long
	    *at_stage; /* [r->nstages]: rows whose latest reached stage it is, or NULL */
};
/* Told about each rule once the pass is done with it: read whole, failed or abandoned. */
typedef void (*evaluate_rule_fn)(void *arg, const struct evaluate_rule_stats *rs);
/* Tell fn (with arg) about each rule of run as it is done with. */
void evaluate_observe(struct evaluate_run *run, evaluate_rule_fn fn, void *arg);

#endif
