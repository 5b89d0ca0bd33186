/*
 * report.c - escalatord report: each clock rule's history query (the clocks
 * that completed) and live query (the clocks open now), read in one snapshot
 * of the case store and measured with the rule's own due date on the
 * working-day calendar. The state store's sections are report_state.c's.
 *
 * Open and overdue at a period's end E is counted from the same two queries:
 * a completed clock was open and overdue at E when due < E < done, an open
 * one when due < E. That needs the history to hold every completed clock (a
 * clock that ended without completing, a child leaving care, is in neither,
 * and is not counted). A period ending after today is counted as of today.
 */
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "eval.h"
#include "report.h"
#include "xalloc.h"

/* Bad rows named one by one per rule and query, then counted. */
#define REPORT_NAMED_BAD 5

/* What one rule's queries are read into. */
struct report_run {
	struct report *rep;
	struct report_rule *rr;
	const struct calendar *cal;
	date_t today;
	date_t *ends;         /* each period's last day, counted as of today at most */
	long long *stab;      /* difference array over periods: open and overdue at each end */
	long long stab_total; /* the same at the range's end */
	date_t total_end;
	long long named; /* bad rows named so far */
};

/* Index of the column called name in q, or -1. */
static int
report_column(struct casestore_rows *q, const char *name)
{
	size_t n = casestore_rows_ncolumns(q);

	for (size_t i = 0; i < n; i++)
		if (strcmp(casestore_rows_column_name(q, i), name) == 0)
			return (int)i;
	return -1;
}

/* The group called name in *g (added when new). */
static struct report_group *
report_group(struct report_group **g, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*g)[i].name, name) == 0)
			return &(*g)[i];
	*g = xreallocarray(*g, *n + 1, sizeof **g);
	memset(&(*g)[*n], 0, sizeof **g);
	(*g)[*n].name = xstrdup(name);
	return &(*g)[(*n)++];
}

/* Name a bad row's case for whoever runs the report (the first few), then only count it. */
static void
report_bad_row(struct report_run *run, const char *what, const char *case_ref, const char *col,
               const char *value)
{
	const struct rule *r = run->rr->rule;

	if (run->named++ >= REPORT_NAMED_BAD)
		return;
	if (case_ref == NULL)
		report_warn_case(run->rep, "rule \"%s\": %s: a row without a case_ref was skipped",
		                 r->id, what);
	else if (value == NULL)
		report_warn_case(run->rep,
		                 "rule \"%s\": %s: case %s: %s is empty; the row was skipped",
		                 r->id, what, case_ref, col);
	else
		report_warn_case(
		    run->rep,
		    "rule \"%s\": %s: case %s: %s \"%s\" is not a date (YYYY-MM-DD); the row "
		    "was skipped",
		    r->id, what, case_ref, col, value);
}

/*
 * Count a clock that was open and overdue over the days from..to (inclusive)
 * at the period ends it covers: ends ascend, so two binary searches.
 */
static void
report_stab(struct report_run *run, date_t from, date_t to)
{
	size_t n = run->rep->periods.n, lo = 0, hi = n, a, b;

	if (from > to)
		return;
	if (run->total_end >= from && run->total_end <= to)
		run->stab_total++;
	/* a: the first end >= from */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (run->ends[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	a = lo;
	/* b: the first end > to */
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (run->ends[mid] <= to)
			lo = mid + 1;
		else
			hi = mid;
	}
	b = lo;
	if (a < b) {
		run->stab[a]++;
		run->stab[b]--;
	}
}

/* A clock started on start: count it as raised where its start falls. */
static void
report_started(struct report_run *run, date_t start, struct report_group *theme)
{
	long k = timeliness_period_of(&run->rep->periods, start);

	if (k < 0)
		return;
	run->rr->cells[k].started++;
	run->rr->total.started++;
	if (theme != NULL)
		theme->raised++;
}

/* A completed clock: where its done falls, on time or late; open and overdue before done. */
static void
report_completed(struct report_run *run, date_t start, date_t done, struct report_group *theme,
                 struct report_group *stage, const char *case_ref)
{
	struct report_rule *rr = run->rr;
	enum timeliness_result res;
	date_t due;
	int late, to_done;
	long k;

	res = timeliness_classify(rr->rule, run->cal, start, done, &due, &late);
	if (res == TIMELINESS_BEFORE_START) {
		rr->before_start++;
		if (run->named++ < REPORT_NAMED_BAD) {
			char s[DATE_STRLEN], d[DATE_STRLEN];

			report_warn_case(
			    run->rep,
			    "rule \"%s\": history: case %s: done %s is before its start %s; "
			    "the row was skipped",
			    rr->rule->id, case_ref, date_format(done, d), date_format(start, s));
		}
		return;
	}
	report_started(run, start, theme);
	if (stage != NULL && timeliness_period_of(&run->rep->periods, start) >= 0)
		stage->raised++;
	/* Open and overdue on the days after due, before the day it was done. */
	report_stab(run, due + 1, done - 1);
	k = timeliness_period_of(&run->rep->periods, done);
	if (k < 0)
		return;
	timeliness_add(&rr->cells[k].tally, res, late);
	timeliness_add(&rr->total.tally, res, late);
	to_done = eval_working_days_late(run->cal, start, done);
	timeliness_days_add(&rr->to_done, to_done);
	if (theme != NULL) {
		timeliness_add(&theme->tally, res, late);
		timeliness_days_add(&theme->to_done, to_done);
	}
	if (stage != NULL) {
		timeliness_add(&stage->tally, res, late);
		timeliness_days_add(&stage->to_done, to_done);
	}
}

/* The rule's history query: every completed clock. Returns 0, or -1 with *cause set. */
static int
report_history(struct report_run *run, struct casestore *cs, char **cause)
{
	const struct rule *r = run->rr->rule;
	struct casestore_rows *q;
	int theme_col, stage_col, rc;

	if ((q = casestore_query(cs, r->history, cause)) == NULL)
		return -1;
	theme_col = report_column(q, "theme");
	stage_col = report_column(q, "stage");
	while ((rc = casestore_rows_next(q, cause)) == 1) {
		const char *c = casestore_rows_text(q, (size_t)r->history_case_col);
		const char *s = casestore_rows_text(q, (size_t)r->history_start_col);
		const char *d = casestore_rows_text(q, (size_t)r->history_done_col);
		struct report_group *theme = NULL, *stage = NULL;
		date_t start, done;

		if (c == NULL || s == NULL || date_parse(s, &start) != 0) {
			run->rr->bad_rows++;
			report_bad_row(run, "history", c, "start", s);
			continue;
		}
		if (d == NULL || date_parse(d, &done) != 0) {
			run->rr->bad_rows++;
			report_bad_row(run, "history", c, "done", d);
			continue;
		}
		if (theme_col >= 0) {
			const char *t = casestore_rows_text(q, (size_t)theme_col);

			theme = report_group(&run->rr->themes, &run->rr->nthemes, t ? t : "");
		}
		if (stage_col >= 0) {
			const char *t = casestore_rows_text(q, (size_t)stage_col);

			stage = report_group(&run->rr->stages, &run->rr->nstages, t ? t : "");
		}
		report_completed(run, start, done, theme, stage, c);
	}
	casestore_rows_free(q);
	return rc < 0 ? -1 : 0;
}

/* The rule's live query: every clock open now. Returns 0, or -1 with *cause set. */
static int
report_live(struct report_run *run, struct casestore *cs, char **cause)
{
	const struct rule *r = run->rr->rule;
	struct casestore_rows *q;
	int theme_col, rc;

	if ((q = casestore_query(cs, r->query, cause)) == NULL)
		return -1;
	theme_col = report_column(q, "theme");
	while ((rc = casestore_rows_next(q, cause)) == 1) {
		const char *c = casestore_rows_text(q, (size_t)r->case_ref_col);
		const char *s = casestore_rows_text(q, (size_t)r->start_col);
		struct report_group *theme = NULL;
		date_t start, due;

		/* The service warns of these rows at every pass: here they are only counted. */
		if (c == NULL || s == NULL || date_parse(s, &start) != 0) {
			run->rr->bad_rows++;
			report_bad_row(run, "query", c, "start", s);
			continue;
		}
		if (theme_col >= 0 && run->rr->themes != NULL) {
			const char *t = casestore_rows_text(q, (size_t)theme_col);

			theme = report_group(&run->rr->themes, &run->rr->nthemes, t ? t : "");
		}
		report_started(run, start, theme);
		due = duration_apply(&r->due, run->cal, start);
		report_stab(run, due + 1, run->today);
	}
	casestore_rows_free(q);
	return rc < 0 ? -1 : 0;
}

static int
report_group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_group *)a)->name,
	              ((const struct report_group *)b)->name);
}

/* The figures of each group, sorted by name. */
static void
report_groups_finish(struct report_group *g, size_t n)
{
	if (n > 0) /* g is NULL when the history has no such column */
		qsort(g, n, sizeof *g, report_group_cmp);
	for (size_t i = 0; i < n; i++) {
		timeliness_figures(&g[i].tally, &g[i].fig);
		g[i].has_to_done =
		    timeliness_days_figures(&g[i].to_done, &g[i].median_to_done, &g[i].max_to_done);
	}
}

/* One clock rule with a history query, into rr. */
static void
report_rule_run(struct report *rep, struct report_rule *rr, struct casestore *cs,
                const struct calendar *cal, date_t today)
{
	struct report_run run = {rep, rr, cal, today, NULL, NULL, 0, 0, 0};
	size_t n = rep->periods.n;
	char *cause = NULL;

	rr->cells = xcalloc(n, sizeof *rr->cells);
	run.ends = xcalloc(n, sizeof *run.ends);
	run.stab = xcalloc(n + 1, sizeof *run.stab);
	for (size_t k = 0; k < n; k++)
		run.ends[k] = report_counted_on(rep, report_period_end(rep, k));
	run.total_end = report_counted_on(rep, rep->to);
	if (report_history(&run, cs, &cause) != 0) {
		report_warn(rep, "rule \"%s\": history query failed: %s; its figures are missing",
		            rr->rule->id, cause);
		rr->has_history = false;
		free(cause);
	} else if (report_live(&run, cs, &cause) != 0) {
		rr->open_why = xasprintf("its query failed: %s", cause);
		report_warn(rep,
		            "rule \"%s\": query failed: %s; clocks open and overdue are not "
		            "counted",
		            rr->rule->id, cause);
		free(cause);
	} else
		rr->open_known = true;
	long long open = 0;

	for (size_t k = 0; k < n; k++) {
		open += run.stab[k];
		rr->cells[k].open_overdue = rr->open_known ? open : -1;
		timeliness_figures(&rr->cells[k].tally, &rr->cells[k].fig);
	}
	rr->total.open_overdue = rr->open_known ? run.stab_total : -1;
	timeliness_figures(&rr->total.tally, &rr->total.fig);
	rr->has_to_done =
	    timeliness_days_figures(&rr->to_done, &rr->median_to_done, &rr->max_to_done);
	report_groups_finish(rr->themes, rr->nthemes);
	report_groups_finish(rr->stages, rr->nstages);
	if (run.named > REPORT_NAMED_BAD)
		report_warn_case(rep,
		                 "rule \"%s\": %lld more rows were skipped for the same reasons",
		                 rr->rule->id, run.named - REPORT_NAMED_BAD);
	if (rr->bad_rows + rr->before_start > 0)
		report_warn(
		    rep,
		    "rule \"%s\": %lld row%s skipped as bad data: %lld with a case, start or "
		    "done missing or not a date, %lld done before the start (escalatord "
		    "report names the cases on standard error)",
		    rr->rule->id, rr->bad_rows + rr->before_start,
		    rr->bad_rows + rr->before_start == 1 ? "" : "s", rr->bad_rows,
		    rr->before_start);
	free(run.ends);
	free(run.stab);
}

/* Build the report. */
int
report_build(struct report *rep, struct engine *e, struct statestore *ss, date_t from, date_t to,
             int months, localtime_min_t now, char **cause)
{
	const struct ruleset *rs = engine_rules(e);
	struct casestore *cs = engine_casestore(e);
	date_t today = (date_t)(now / 1440);

	rep->from = from;
	rep->to = to;
	rep->months = months;
	rep->by = months == 1 ? "month" : months == 3 ? "quarter" : "year";
	rep->made = now;
	rep->config_path = xstrdup(engine_config(e)->path);
	rep->ruleset = rs;
	if (timeliness_periods_init(&rep->periods, from, to, months) != 0) {
		*cause = xstrdup("--to is before --from");
		return -1;
	}
	rep->rules = xcalloc(rs->nrules, sizeof *rep->rules);
	casestore_set_clock(cs, now);
	if (casestore_read_begin(cs, cause) != 0)
		return -1;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct report_rule *rr;

		if (r->kind != RULE_CLOCK)
			continue;
		rr = &rep->rules[rep->nrules++];
		rr->rule = r;
		rr->total.open_overdue = -1;
		rr->has_history = r->history != NULL;
		if (rr->has_history)
			report_rule_run(rep, rr, cs, engine_calendar(e), today);
	}
	casestore_read_end(cs);
	if (ss != NULL && report_state(rep, ss, cause) != 0)
		return -1;
	return 0;
}
