/* evaluate.c - one evaluation pass: case store rows -> rules -> alerts owed. */
#include "evaluate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answers.h"
#include "clock.h"
#include "closing.h"
#include "evaluate_impl.h"
#include "evaluate_notice.h"
#include "log.h"
#include "utf8.h"

/* Warn about and count a row whose key or case_ref is empty. */
static bool
evaluate_empty_key(struct evaluate_rule *er, const char *key, struct evaluate_stats *stats)
{
	if (key != NULL && *key != '\0')
		return false;
	log_warn("rule=%s case=(empty): %s is NULL or empty; row skipped", er->r->id,
	         er->r->kind == RULE_THRESHOLD ? "key" : "case_ref");
	stats->skipped_rows++;
	evaluate_bad_row(&er->bad, NULL);
	return true;
}

/* Evaluate one row of a threshold rule: alert when the value crosses the limit. */
static int
evaluate_threshold_row(struct statestore *ss, struct evaluate_rule *er, struct casestore_rows *st,
                       localtime_min_t now, evaluate_alert_fn fn, void *arg,
                       struct evaluate_stats *stats, char **cause)
{
	const struct rule *r = er->r;
	const char *key = casestore_rows_text(st, (size_t)r->case_ref_col);
	double value;
	bool over, was_over;
	char vbuf[64];
	struct alert a;

	stats->clocks++;
	if (evaluate_empty_key(er, key, stats))
		return 0;
	if (!casestore_rows_number(st, (size_t)r->value_col, &value)) {
		char *qc = log_quote(key);
		log_warn("rule=%s case=%s: value is not a number; row skipped", r->id, qc);
		free(qc);
		stats->skipped_rows++;
		evaluate_bad_row(&er->bad, key);
		return 0;
	}
	over = r->below ? value < r->limit : value > r->limit;
	if (over)
		er->at_stage[0]++; /* metrics: over the limit is its one stage */
	if (alertstore_threshold_get(ss, r->id, key, &was_over, cause) != 0)
		return -1;
	/*
	 * A rule renamed (renamed_from) whose keys were not moved to its new id yet (--once):
	 * a key over the limit under an old id is not a new crossing; the old id's row goes
	 * either way, so that a later crossing is one.
	 */
	for (size_t k = 0; k < r->nrenamed; k++) {
		bool old_over;

		if (alertstore_threshold_get(ss, r->renamed_from[k], key, &old_over, cause) != 0 ||
		    (old_over && alertstore_threshold_set(ss, r->renamed_from[k], key, false,
		                                          er->pass, cause) != 0))
			return -1;
		was_over = was_over || (old_over && over);
	}
	if (!over) {
		/* Back within the limit: the next crossing alerts again. */
		return was_over ? alertstore_threshold_set(ss, r->id, key, false, er->pass, cause)
		                : 0;
	}
	if (alertstore_threshold_set(ss, r->id, key, true, er->pass, cause) != 0)
		return -1;
	if (was_over)
		return 0;
	memset(&a, 0, sizeof a);
	memset(er->recorded, 0, r->nstages * sizeof *er->recorded);
	a.start = a.due = (date_t)(now / 1440);
	a.fires = now;
	a.stage = 0;
	a.value = value;
	snprintf(vbuf, sizeof vbuf, "%.15g", value);
	switch (evaluate_emit(ss, er, st, &a, now, vbuf, fn, arg, stats, cause)) {
	case 0:
		return 0;
	case 1:
		/* Nobody could be told: not over the limit as far as alerts go; try again. */
		return alertstore_threshold_set(ss, r->id, key, false, er->pass, cause);
	default:
		return -1;
	}
}

/*
 * A rule with hold, stage owed on clock c: is it held by an "action agreed"
 * answer? The unrecorded stages after the answered one, up to owed, wait
 * until eval_hold_until; held while now is before the earliest of those
 * ends' firing time, which then becomes stats->next (the wake timer fires
 * then). Nothing is recorded: the stage stays owed. Returns 1 when held, 0
 * when not, -1 on a state store failure.
 */
static int
evaluate_held(struct statestore *ss, struct evaluate_rule *er, const char *case_ref,
              const struct eval_clock *c, int owed, localtime_min_t now,
              struct evaluate_stats *stats, char **cause)
{
	const struct rule *r = er->r;
	char start[DATE_STRLEN], abuf[DATE_STRLEN], ubuf[DATE_STRLEN];
	localtime_min_t at;
	date_t agreed;
	int answered, rc;
	char *qc;

	rc = answers_agreed_stage(ss, r, case_ref, date_format(c->start, start), &agreed, &answered,
	                          cause);
	if (rc <= 0)
		return rc;
	at = eval_held_until(r, er->cal, er->send_time, c->due, answered, agreed, er->recorded,
	                     owed);
	if (at == EVAL_NEVER || at <= now)
		return 0;
	if (at < stats->next)
		stats->next = at;
	qc = log_quote(case_ref);
	log_debug("rule=%s case=%s start=%s stage=%s: held until %s (action agreed for %s at "
	          "stage %s)",
	          r->id, qc, start, r->stages[owed].name, date_format((date_t)(at / 1440), ubuf),
	          date_format(agreed, abuf), r->stages[answered].name);
	free(qc);
	return 1;
}

/* Evaluate one row of rule er. Returns 0, or -1 on a state store failure. */
static int
evaluate_row(struct statestore *ss, struct evaluate_rule *er, struct casestore_rows *st,
             localtime_min_t now, evaluate_alert_fn fn, void *arg, struct evaluate_stats *stats,
             char **cause)
{
	const struct rule *r = er->r;
	const char *case_ref, *start_text;
	struct eval_clock c;
	struct alert a;
	date_t start;
	bool closed;
	int owed, held;

	if (r->kind == RULE_THRESHOLD)
		return evaluate_threshold_row(ss, er, st, now, fn, arg, stats, cause);
	case_ref = casestore_rows_text(st, (size_t)r->case_ref_col);
	start_text = casestore_rows_text(st, (size_t)r->start_col);
	stats->clocks++;
	if (evaluate_empty_key(er, case_ref, stats))
		return 0;
	if (start_text == NULL || date_parse(start_text, &start) != 0) {
		char *q = log_quote(start_text ? start_text : "NULL");
		char *qc = log_quote(case_ref);
		log_warn("rule=%s case=%s: start=%s is not a date (expected YYYY-MM-DD); row "
		         "skipped",
		         r->id, qc, q);
		free(qc);
		free(q);
		stats->skipped_rows++;
		evaluate_bad_row(&er->bad, case_ref);
		return 0;
	}
	if (er->seen != NULL) {
		if (er->nseen == er->capseen) {
			er->capseen *= 2;
			er->seen = xreallocarray(er->seen, er->capseen, sizeof *er->seen);
		}
		er->seen[er->nseen++] = closing_key(case_ref, start);
	}
	eval_clock(r, er->cal, er->send_time, start, now, &c);
	if (c.outside_calendar)
		er->outside++;
	if (c.next < stats->next)
		stats->next = c.next;
	if (c.reached < 0)
		return 0;
	er->at_stage[c.reached]++; /* metrics: the clock's latest stage reached */
	if (alertstore_recorded(ss, r, case_ref, start, er->recorded, &closed, cause) != 0)
		return -1;
	if (closed) {
		char *qc = log_quote(case_ref);

		log_warn("rule=%s case=%s start=%s: recorded as done, but its row is back in the "
		         "case store; it is open again",
		         r->id, qc, start_text);
		free(qc);
		if (closing_reopen(ss, r->id, case_ref, start, er->today, cause) != 0)
			return -1;
	}
	if ((owed = eval_owed(c.reached, er->recorded, r->nstages)) < 0)
		return 0;
	/* Only rules that say hold = true look answers up: the others pay nothing. */
	if (r->hold && (held = evaluate_held(ss, er, case_ref, &c, owed, now, stats, cause)) != 0)
		return held < 0 ? -1 : 0;

	memset(&a, 0, sizeof a);
	a.start = start;
	a.due = c.due;
	a.stage = owed;
	a.fires = c.fires;
	a.days_late = eval_working_days_late(er->cal, c.due, (date_t)(now / 1440));
	/* Not recorded (1): the stage stays owed, for when the row is corrected. */
	return evaluate_emit(ss, er, st, &a, now, "", fn, arg, stats, cause) < 0 ? -1 : 0;
}

/* A pass in progress: where it is, and what it has found so far. */
struct evaluate_run {
	struct engine *e;
	struct statestore *ss;
	localtime_min_t now;
	evaluate_alert_fn fn;
	void *arg;
	struct evaluate_stats stats;
	bool digest_now;           /* held deliveries go at now, not at the next digest time */
	size_t rule;               /* the rule being evaluated, or nrules when done */
	struct casestore_rows *st; /* its query's rows, NULL before the query starts */
	bool waiting;              /* the last step ended waiting for the server's rows */
	struct evaluate_rule er;   /* its scratch space, while st is open */
	evaluate_rule_fn rule_fn;  /* told each rule's figures (metrics), or NULL */
	void *rule_arg;
};

/* When deliveries held by this pass go: now, or the next digest time. */
static long long
evaluate_digest_at(const struct evaluate_run *run)
{
	const struct config *cfg = engine_config(run->e);
	localtime_min_t at = run->digest_now ? run->now : config_next_digest(cfg, run->now);

	return (long long)clock_instant(at, 0);
}

/* Tell the observer (if any) what the pass made of rule r; er NULL: its query never ran. */
static void
evaluate_rule_told(struct evaluate_run *run, const struct rule *r, const struct evaluate_rule *er)
{
	struct evaluate_rule_stats rs;

	if (run->rule_fn == NULL)
		return;
	memset(&rs, 0, sizeof rs);
	rs.r = r;
	rs.failed = true;
	rs.query_seconds = -1;
	if (er != NULL) {
		rs.complete = er->complete;
		rs.failed = er->failed;
		rs.rows = run->stats.clocks - er->rows_before;
		rs.skipped_rows = run->stats.skipped_rows - er->skipped_before;
		rs.query_seconds = casestore_rows_seconds(run->st);
		rs.at_stage = er->at_stage;
	}
	run->rule_fn(run->rule_arg, &rs);
}

/*
 * Start rule run->rule: run its query and set up its scratch space. Returns
 * 1 when its rows are ready to read, 0 when the rule is skipped this pass.
 */
static int
evaluate_rule_open(struct evaluate_run *run)
{
	const struct rule *r = &engine_rules(run->e)->rules[run->rule];
	struct casestore *cs = engine_casestore(run->e);
	struct evaluate_rule *er = &run->er;
	struct casestore_rows *st;
	char *why = NULL;
	size_t most = 1, all = 1;

	casestore_set_clock(cs, run->now);
	if ((st = casestore_query(cs, r->query, &why)) == NULL) {
		log_err("rule=%s: %s; rule skipped this pass", r->id, why);
		free(why);
		run->stats.failed_rules++;
		run->stats.store_busy = casestore_busy(cs);
		evaluate_rule_told(run, r, NULL);
		return 0;
	}
	/* The case store may have been replaced since load: the columns must still match. */
	if (casestore_rows_ncolumns(st) != r->ncolumns) {
		log_err("rule=%s: the query's columns changed since the rules were loaded; reload "
		        "(SIGHUP) or fix the case store; rule skipped this pass",
		        r->id);
		casestore_rows_free(st);
		run->stats.failed_rules++;
		evaluate_rule_told(run, r, NULL);
		return 0;
	}
	memset(er, 0, sizeof *er);
	er->r = r;
	er->cal = engine_calendar(run->e);
	er->cfg = engine_config(run->e);
	er->send_time = engine_config(run->e)->send_time;
	er->cols = xcalloc(r->ncolumns, sizeof *er->cols);
	er->values = xcalloc(TPL_NBUILTIN + r->ncolumns, sizeof *er->values);
	/* One mark for the whole rule, however many slices it takes: the sweep relies on it. */
	er->pass = (long long)run->now * 1000 + (long long)(random() % 1000);
	er->recorded = xcalloc(r->nstages, sizeof *er->recorded);
	for (size_t i = 0; i < r->nstages; i++)
		if (r->stages[i].nnotify > most)
			most = r->stages[i].nnotify;
	er->rcpt = xcalloc(most, sizeof *er->rcpt);
	er->dropped = xcalloc(most, sizeof *er->dropped);
	er->held = xcalloc(most, sizeof *er->held);
	er->scratch = xcalloc(most, sizeof *er->scratch);
	er->scratch_dropped = xcalloc(most, sizeof *er->scratch_dropped);
	for (size_t i = 0; i < r->nstages; i++)
		all += r->stages[i].nnotify;
	er->copies = xcalloc(all, sizeof *er->copies);
	er->copy_stage = xcalloc(all, sizeof *er->copy_stage);
	er->copy_on = xcalloc(all, sizeof *er->copy_on);
	er->copy_held = xcalloc(all, sizeof *er->copy_held);
	er->today = (date_t)(run->now / 1440);
	er->digest_at = evaluate_digest_at(run);
	er->case_url = r->case_url != NULL ? r->case_url : er->cfg->case_url;
	er->at_stage = xcalloc(r->nstages, sizeof *er->at_stage);
	er->rows_before = run->stats.clocks;
	er->skipped_before = run->stats.skipped_rows;
	/* A dry run records nothing, so it closes nothing either: no keys to keep. */
	if (r->kind == RULE_CLOCK && statestore_records(run->ss)) {
		er->capseen = 1024;
		er->seen = xcalloc(er->capseen, sizeof *er->seen);
	}
	run->st = st;
	return 1;
}

/* Free the current rule's query and scratch space. */
static void
evaluate_rule_close(struct evaluate_run *run)
{
	struct evaluate_rule *er = &run->er;

	if (run->st == NULL)
		return;
	if (er->outside > 0)
		log_warn("rule=%s: %lld clocks used dates outside the years the holiday files "
		         "cover (%d-%d); bank holidays were not counted for them; extend the "
		         "holiday files",
		         er->r->id, er->outside, calendar_first_year(er->cal),
		         calendar_last_year(er->cal));
	evaluate_rule_told(run, er->r, er);
	casestore_rows_free(run->st);
	run->st = NULL;
	free(er->cols);
	free(er->values);
	free(er->recorded);
	free(er->rcpt);
	free(er->dropped);
	free(er->held);
	free(er->scratch);
	free(er->scratch_dropped);
	free(er->copies);
	free(er->copy_stage);
	free(er->copy_on);
	free(er->copy_held);
	free(er->seen);
	free(er->at_stage);
	evaluate_bad_clear(&er->bad);
	memset(er, 0, sizeof *er);
}

/* The monotonic clock in seconds. */
static double
evaluate_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Read rows of the current rule until it ends or the budget is spent.
 * Returns 1 when the budget ran out first, 0 when the rule is finished (its
 * query is closed), -1 on a state store failure.
 */
static int
evaluate_rule_rows(struct evaluate_run *run, long max_rows, double deadline, char **cause)
{
	struct evaluate_rule *er = &run->er;
	const struct rule *r = er->r;
	char *why = NULL;
	long n = 0;
	int rc, told;

	run->waiting = false;
	while ((rc = casestore_rows_next(run->st, &why)) == 1) {
		if (evaluate_row(run->ss, er, run->st, run->now, run->fn, run->arg, &run->stats,
		                 cause) != 0)
			return -1;
		n++;
		if (max_rows > 0 && n >= max_rows)
			return 1;
		/* The clock every few rows: a row takes microseconds. */
		if (deadline > 0 && n % 16 == 0 && evaluate_monotonic() >= deadline)
			return 1;
	}
	if (rc == 2) {
		/* No row yet (PostgreSQL, asynchronous): the loop waits on the socket. */
		run->waiting = true;
		return 1;
	}
	if (rc == 0) {
		er->complete = true;
		/* Keys over the limit that no longer appear are reset: their return alerts again.
		 */
		if (r->kind == RULE_THRESHOLD &&
		    alertstore_threshold_sweep(run->ss, r->id, er->pass, cause) != 0)
			return -1;
		/* Every row was read: the admin hears of those skipped, once a day. */
		if (er->bad.count > 0 && statestore_records(run->ss)) {
			told = evaluate_notice_bad_rows(run->ss, engine_config(run->e), r, &er->bad,
			                                er->today, er->digest_at, cause);
			if (told < 0)
				return -1;
			run->stats.notices += told;
		}
		/* Every row was read: an alerted clock not among them is done. */
		if (er->seen != NULL &&
		    closing_sweep(run->ss, er->cfg, r, er->cal, er->seen, er->nseen, er->today,
		                  er->digest_at, &run->stats.closed, cause) != 0)
			return -1;
	} else if (rc == -2) {
		/* Asked to stop (shutting down): the pass ends here, nothing is wrong. */
		run->stats.stopped = true;
	} else {
		run->stats.failed_rules++;
		er->failed = true;
		if (casestore_rows_timed_out(run->st)) {
			log_err("rule=%s: %s; rule skipped this pass", r->id, why);
			free(why);
			told = evaluate_notice_timeout(run->ss, engine_config(run->e), r,
			                               (date_t)(run->now / 1440), cause);
			if (told < 0)
				return -1;
			if (told > 0)
				run->stats.notices++;
		} else {
			run->stats.store_busy = casestore_busy(engine_casestore(run->e));
			log_err(
			    "rule=%s: reading the case store failed: %s; rule skipped this pass",
			    r->id, why);
			free(why);
		}
	}
	evaluate_rule_close(run);
	return 0;
}

/* Start a pass as of local time now. */
struct evaluate_run *
evaluate_start(struct engine *e, struct statestore *ss, localtime_min_t now, evaluate_alert_fn fn,
               void *arg)
{
	struct evaluate_run *run = xcalloc(1, sizeof *run);

	run->e = e;
	run->ss = ss;
	run->now = now;
	run->fn = fn;
	run->arg = arg;
	run->stats.next = EVAL_NEVER;
	casestore_set_timeout(engine_casestore(e), engine_config(e)->query_timeout);
	return run;
}

/* Tell fn about each rule of run as it is done with. */
void
evaluate_observe(struct evaluate_run *run, evaluate_rule_fn fn, void *arg)
{
	run->rule_fn = fn;
	run->rule_arg = arg;
}

/* Held deliveries of this pass go at once (in one digest per recipient). */
void
evaluate_digest_now(struct evaluate_run *run)
{
	run->digest_now = true;
}

/* After a slice: every other commit syncs again. Returns 0 or -1. */
static int
evaluate_step_synced(struct evaluate_run *run)
{
	char *why = NULL;

	if (statestore_relaxed(run->ss, false, &why) == 0)
		return 0;
	log_err("%s", why);
	free(why);
	return -1;
}

/* Did the last slice end waiting for the case store's rows? Its socket, or -1. */
int
evaluate_wait_fd(const struct evaluate_run *run)
{
	return run->waiting ? casestore_wait_fd(engine_casestore(run->e)) : -1;
}

/* Evaluate the next slice of a pass, in its own transaction. */
int
evaluate_step(struct evaluate_run *run, long max_rows, double max_seconds, char **cause)
{
	size_t nrules = engine_rules(run->e)->nrules;
	double deadline = max_seconds > 0 ? evaluate_monotonic() + max_seconds : 0;
	int rc;

	if (run->rule >= nrules)
		return 0;
	/*
	 * No fsync of its own: the outbox's commit that leases a slice's deliveries, before
	 * anything is sent, is synced and syncs the slice with it (WAL). A slice a commit each
	 * would otherwise cost a first pass more in fsyncs than in evaluation.
	 */
	if (statestore_relaxed(run->ss, true, cause) != 0)
		return -1;
	if (statestore_begin(run->ss, cause) != 0) {
		statestore_relaxed(run->ss, false, &(char *){NULL});
		return -1;
	}
	while (run->rule < nrules) {
		if (run->st == NULL && evaluate_rule_open(run) == 0)
			rc = 0;
		else if ((rc = evaluate_rule_rows(run, max_rows, deadline, cause)) < 0) {
			statestore_rollback(run->ss);
			evaluate_step_synced(run);
			/* The pass cannot go on: what earlier slices recorded stays. */
			evaluate_rule_close(run);
			run->rule = nrules;
			return -1;
		}
		if (rc == 1)
			break;
		run->rule++;
		if (run->stats.stopped)
			run->rule = nrules;
		else if (run->stats.store_busy) {
			/* Locked by a writer: the other rules would only wait too. Retry later. */
			run->stats.failed_rules += (long long)(nrules - run->rule);
			for (; run->rule < nrules; run->rule++)
				evaluate_rule_told(run, &engine_rules(run->e)->rules[run->rule],
				                   NULL);
		}
		if (deadline > 0 && evaluate_monotonic() >= deadline)
			break;
	}
	if (statestore_commit(run->ss, cause) != 0) {
		statestore_rollback(run->ss); /* a failed COMMIT can leave the transaction open */
		evaluate_step_synced(run);
		evaluate_rule_close(run);
		run->rule = nrules;
		return -1;
	}
	if (evaluate_step_synced(run) != 0) {
		*cause = xstrdup("cannot set the state store's synchronous mode back to FULL");
		evaluate_rule_close(run);
		run->rule = nrules;
		return -1;
	}
	return run->rule < nrules ? 1 : 0;
}

/* End a pass (finished or not): its figures, and free run. */
void
evaluate_finish(struct evaluate_run *run, struct evaluate_stats *stats)
{
	if (run == NULL)
		return;
	if (run->rule < engine_rules(run->e)->nrules)
		run->stats.stopped = true;
	evaluate_rule_close(run);
	if (stats != NULL)
		*stats = run->stats;
	free(run);
}

/* One evaluation pass over every rule, in one transaction. */
int
evaluate_pass(struct engine *e, struct statestore *ss, localtime_min_t now, evaluate_alert_fn fn,
              void *arg, struct evaluate_stats *stats, char **cause)
{
	struct evaluate_run *run;
	int rc;

	memset(stats, 0, sizeof *stats);
	stats->next = EVAL_NEVER;
	if (statestore_begin(ss, cause) != 0)
		return -1;
	run = evaluate_start(e, ss, now, fn, arg);
	evaluate_digest_now(run);
	while ((rc = evaluate_step(run, 0, 0, cause)) == 1)
		;
	evaluate_finish(run, stats);
	if (rc != 0) {
		statestore_rollback(ss);
		return -1;
	}
	if (statestore_commit(ss, cause) != 0) {
		statestore_rollback(ss); /* a failed COMMIT can leave the transaction open */
		return -1;
	}
	return 0;
}
