/*
 * preview_compare.c - escalatord preview's comparison, rule by rule: each
 * rule's query is run for the rules before the edit and after it (as of the
 * same time), each clock is evaluated both ways against what the state store
 * has recorded for it (eval_clock, eval_owed, with renamed_from as the
 * service reads it), and the differences are counted: due dates that move,
 * alerts owed at once on reload, alerts no longer owed, alerts that would be
 * sent again, clocks that leave the rule. Reads only.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "preview_eval.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* Read the clocks of rule r's rows (clock rules). Returns 0, or -1 with *why set. */
static int
pc_rows(struct preview *p, const struct rule *r, struct preview_clocks *c, long long *skipped,
        char **why)
{
	struct casestore_rows *q;
	const char *case_ref, *start;
	date_t d;
	int rc;

	casestore_set_clock(p->cs, p->now);
	if ((q = casestore_query(p->cs, r->query, why)) == NULL)
		return -1;
	while ((rc = casestore_rows_next(q, why)) == 1) {
		case_ref = casestore_rows_text(q, (size_t)r->case_ref_col);
		start = casestore_rows_text(q, (size_t)r->start_col);
		if (case_ref == NULL || *case_ref == '\0' || start == NULL ||
		    date_parse(start, &d) != 0) {
			(*skipped)++;
			continue;
		}
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 256;
			c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
		}
		c->v[c->n++] = (struct preview_clock){xstrdup(case_ref), d, false, false};
	}
	casestore_rows_free(q);
	if (rc != 0) {
		if (rc == -2)
			*why = xstrdup("stopped");
		return -1;
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof *c->v, preview_clock_cmp);
	return 0;
}

/* One row of the rule after the edit (clock rules). Returns 0, or -1 with *cause set. */
static int
pc_after_row(struct preview_cmp *pc, struct casestore_rows *q, struct preview_clocks *bc,
             char **cause)
{
	struct preview *p = pc->p;
	struct preview_rule *pr = pc->pr;
	const struct rule *a = pr->before, *b = pr->after;
	const char *case_ref = casestore_rows_text(q, (size_t)b->case_ref_col);
	const char *start_text = casestore_rows_text(q, (size_t)b->start_col);
	struct preview_clock *m = NULL, *other = NULL;
	struct eval_clock ca, cb;
	struct preview_alerts *al;
	enum preview_why why;
	const char *gone = NULL;
	date_t start;
	int oa, ob = -1;

	if (case_ref == NULL || *case_ref == '\0' || start_text == NULL ||
	    date_parse(start_text, &start) != 0) {
		pr->skipped_rows++;
		return 0;
	}
	pr->clocks_after++;
	for (size_t i = 0; i < b->ncolumns; i++)
		pc->cols[i] = casestore_rows_text(q, i);
	eval_clock(b, p->cal_after, p->cfg->send_time, start, p->now, &ca);
	if (a != NULL) {
		size_t k = preview_lower(bc, case_ref, start);

		if (k < bc->n && strcmp(bc->v[k].case_ref, case_ref) == 0 &&
		    bc->v[k].start == start)
			(m = &bc->v[k])->matched = true;
		else
			for (k = preview_lower(bc, case_ref, INT32_MIN);
			     k < bc->n && strcmp(bc->v[k].case_ref, case_ref) == 0; k++) {
				bc->v[k].case_seen = true;
				if (other == NULL)
					other = &bc->v[k];
			}
	}
	if (m != NULL) {
		eval_clock(a, p->cal_before, p->cfg->send_time, start, p->now, &cb);
		preview_due(pr, case_ref, cb.due, ca.due);
	}
	/* Nothing reached either way: nothing owed, nothing to look up. */
	if (ca.reached < 0 && (m == NULL || cb.reached < 0))
		goto unfired;
	if (preview_records(pc, m != NULL ? a : NULL, b, case_ref, start, cause) != 0)
		return -1;
	preview_mask(pc, b, pc->rec_after);
	if ((oa = preview_owed(p, b, p->cal_after, case_ref, &ca, pc->rec_after, cause)) == -2)
		return -1;
	if (m != NULL) {
		preview_mask(pc, a, pc->rec_before);
		if ((ob = preview_owed(p, a, p->cal_before, case_ref, &cb, pc->rec_before,
		                       cause)) == -2)
			return -1;
		if (oa >= 0 && ob >= 0 && rulediff_stage_of(a, b, (size_t)oa) == ob) {
			pr->anyway++; /* owed now, edit or not */
			goto unfired;
		}
		if (ob >= 0)
			preview_lost(pr, p, a, ob, case_ref, &cb);
		if (oa >= 0)
			gone = preview_gone(pc, a, b, &why);
	} else if (oa >= 0) {
		gone = preview_new_identity(pc, other, case_ref, start, &why, cause);
		if (*cause != NULL)
			return -1;
	}
	if (oa >= 0) {
		al = gone != NULL ? preview_resend(pr, oa, why, gone) : &pr->owed[oa];
		preview_alert(pc, al, b, oa, case_ref,
		              eval_stage_date(b, p->cal_after, ca.due, (size_t)oa), ca.due,
		              pc->rec_after);
	}
unfired:
	/* A stage gone in the edit: the open clocks that had not reached it yet never will. */
	if (m != NULL && pr->unfired != NULL)
		for (size_t s = 0; s < a->nstages; s++)
			if (pr->unfired[s] >= 0 && cb.reached < (int)s)
				pr->unfired[s]++;
	return 0;
}

/*
 * The clocks of the rule before the edit that are not among its rows after
 * it (all of them for a rule removed): what each owed now is no longer
 * owed; an alerted one is recorded as done by the next pass (its people told
 * "done"), unless the whole rule is gone (then nothing watches it at all).
 */
static int
pc_before_only(struct preview_cmp *pc, struct preview_clocks *bc, char **cause)
{
	struct preview *p = pc->p;
	struct preview_rule *pr = pc->pr;
	const struct rule *a = pr->before;
	struct eval_clock cb;
	int ob, any;

	for (size_t i = 0; i < bc->n; i++) {
		const struct preview_clock *k = &bc->v[i];

		if (k->matched)
			continue;
		if (pr->after == NULL)
			pr->removed_watching++;
		else {
			pr->leaving++;
			if (k->case_seen)
				pr->start_changed++;
		}
		eval_clock(a, p->cal_before, p->cfg->send_time, k->start, p->now, &cb);
		if ((any = preview_any(pc, a, k->case_ref, k->start, cause)) < 0)
			return -1;
		if (any > 0 && pr->after != NULL)
			pr->leaving_alerted++;
		if (cb.reached < 0)
			continue;
		preview_mask(pc, a, pc->rec_before);
		if ((ob = preview_owed(p, a, p->cal_before, k->case_ref, &cb, pc->rec_before,
		                       cause)) == -2)
			return -1;
		if (ob >= 0)
			preview_lost(pr, p, a, ob, k->case_ref, &cb);
	}
	return 0;
}

/* A clock rule before and after the edit (either may be NULL). */
static int
pc_clock_rule(struct preview_cmp *pc, char **cause)
{
	struct preview_rule *pr = pc->pr;
	struct casestore_rows *q;
	struct preview_clocks bc = {0};
	char *why = NULL;
	int rc = 0;

	if (pr->before != NULL) {
		if (pc_rows(pc->p, pr->before, &bc, &pr->skipped_rows, &why) != 0) {
			pr->failed = why;
			preview_clocks_free(&bc);
			return 0;
		}
		pr->clocks_before = (long long)bc.n;
	}
	if (pr->after != NULL) {
		casestore_set_clock(pc->p->cs, pc->p->now);
		if ((q = casestore_query(pc->p->cs, pr->after->query, &why)) == NULL) {
			pr->failed = why;
			preview_clocks_free(&bc);
			return 0;
		}
		while (rc == 0 && (rc = casestore_rows_next(q, &why)) == 1)
			rc = pc_after_row(pc, q, &bc, cause) != 0 ? -3 : 0;
		casestore_rows_free(q);
		if (rc == -3) {
			preview_clocks_free(&bc);
			return -1;
		}
		if (rc != 0) {
			pr->failed = why != NULL ? why : xstrdup("stopped");
			preview_clocks_free(&bc);
			return 0;
		}
	}
	rc = pr->before != NULL ? pc_before_only(pc, &bc, cause) : 0;
	preview_clocks_free(&bc);
	return rc;
}

/*
 * The stages of a with no stage of b: those the edit removes. One that b
 * has a new stage at the same offset for looks renamed (renamed_from
 * missing: the alerts sent again say so) and still fires, under the new
 * name: it is not counted as never firing.
 */
static long long *
pc_gone_stages(const struct rule *a, const struct rule *b)
{
	long long *v = NULL;

	if (a == NULL || b == NULL || a->kind != RULE_CLOCK || b->kind != RULE_CLOCK)
		return NULL;
	for (size_t i = 0; i < a->nstages; i++) {
		bool kept = false;

		for (size_t j = 0; j < b->nstages && !kept; j++)
			kept = rulediff_stage_of(a, b, j) == (int)i ||
			       (rulediff_stage_of(a, b, j) < 0 &&
			        b->stages[j].at.n == a->stages[i].at.n &&
			        b->stages[j].at.unit == a->stages[i].at.unit);
		if (kept)
			continue;
		if (v == NULL) {
			v = xcalloc(a->nstages, sizeof *v);
			for (size_t k = 0; k < a->nstages; k++)
				v[k] = -1;
		}
		v[i] = 0;
	}
	return v;
}

/* The rule of rs that a's clocks belong to after the edit: a's id, or renamed from it. */
static const struct rule *
pc_match(const struct ruleset *rs, const struct rule *a)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].id, a->id) == 0)
			return &rs->rules[i];
	for (size_t i = 0; i < rs->nrules; i++)
		if (rule_renamed_from(&rs->rules[i], a->id))
			return &rs->rules[i];
	return NULL;
}

/* qsort order of alerts sent again: by stage. */
static int
pc_resend_cmp(const void *x, const void *y)
{
	const struct preview_resend *a = x, *b = y;

	return (a->stage > b->stage) - (a->stage < b->stage);
}

/* Add the totals of one rule. */
static void
pc_totals(struct preview *p, const struct preview_rule *pr)
{
	const struct rule *a = pr->before, *b = pr->after;

	for (size_t s = 0; b != NULL && s < b->nstages; s++) {
		p->at_once += pr->owed[s].alerts;
		p->backdated += pr->owed[s].backdated;
	}
	for (size_t i = 0; i < pr->nresend; i++) {
		p->at_once += pr->resend[i].al.alerts;
		p->backdated += pr->resend[i].al.backdated;
		p->resent += pr->resend[i].al.alerts;
	}
	for (size_t s = 0; a != NULL && s < a->nstages; s++) {
		p->lost += pr->lost[s].alerts;
		if (pr->unfired != NULL && pr->unfired[s] > 0)
			p->unfired += pr->unfired[s];
	}
	p->due_moved += pr->due_moved;
	p->leaving_alerted += pr->leaving_alerted;
	if (a == NULL)
		p->added++;
	else if (b == NULL)
		p->removed++;
	else if (pr->diff.n > 0)
		p->changed++;
}

/* Compare every rule before the edit with the one after. */
int
preview_compare(struct preview *p, const struct ruleset *before, const struct ruleset *after,
                char **cause)
{
	struct preview_cmp pc;
	size_t most = 1, all = 1, cols = 1;
	int rc = 0;

	memset(&pc, 0, sizeof pc);
	pc.p = p;
	pc.before = before;
	pc.after = after;
	/* The rules in the order of the edit, then those it removes. */
	p->rules = xcalloc(before->nrules + after->nrules, sizeof *p->rules);
	for (size_t j = 0; j < after->nrules; j++)
		p->rules[p->nrules++].after = &after->rules[j];
	for (size_t i = 0; i < before->nrules; i++) {
		const struct rule *b = pc_match(after, &before->rules[i]);
		size_t j;

		for (j = 0; b != NULL && j < p->nrules && p->rules[j].after != b; j++)
			;
		if (b != NULL && p->rules[j].before == NULL)
			p->rules[j].before = &before->rules[i];
		else
			p->rules[p->nrules++].before = &before->rules[i];
	}
	for (size_t i = 0; i < p->nrules; i++)
		for (int k = 0; k < 2; k++) {
			const struct rule *r = k ? p->rules[i].after : p->rules[i].before;
			size_t n = 0;

			for (size_t s = 0; r != NULL && s < r->nstages; s++) {
				n += r->stages[s].nnotify;
				if (r->stages[s].nnotify > most)
					most = r->stages[s].nnotify;
				if (r->nstages > all)
					all = r->nstages;
			}
			if (n > cols)
				cols = n;
			if (r != NULL && r->ncolumns > cols)
				cols = r->ncolumns;
		}
	pc.rcpt = xcalloc(most, sizeof *pc.rcpt);
	pc.dropped = xcalloc(most, sizeof *pc.dropped);
	pc.copies = xcalloc(cols + most, sizeof *pc.copies);
	pc.cols = xcalloc(cols, sizeof *pc.cols);
	pc.rec_before = xcalloc(all, sizeof *pc.rec_before);
	pc.rec_after = xcalloc(all, sizeof *pc.rec_after);
	if (p->ss->db != NULL &&
	    db_prepare(p->ss->db,
	               "SELECT stage FROM clock_stage WHERE rule = ?1 AND case_ref = ?2 AND "
	               "start = ?3",
	               &pc.q_stages) != DB_OK)
		rc = statestore_fail(p->ss, cause, "reading recorded stages");
	/* One read transaction: every clock is compared with the same records. */
	if (rc == 0 && statestore_begin(p->ss, cause) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < p->nrules; i++) {
		struct preview_rule *pr = &p->rules[i];
		const struct rule *r = pr->after != NULL ? pr->after : pr->before;

		pc.pr = pr;
		if (pr->before != NULL && pr->after != NULL)
			rulediff_rules(pr->before, pr->after, &pr->diff);
		if (pr->after != NULL)
			pr->owed = xcalloc(pr->after->nstages, sizeof *pr->owed);
		if (pr->before != NULL)
			pr->lost = xcalloc(pr->before->nstages, sizeof *pr->lost);
		pr->unfired = pc_gone_stages(pr->before, pr->after);
		/* A rule that changed kind is compared setting by setting only. */
		if (pr->before != NULL && pr->after != NULL && pr->before->kind != pr->after->kind)
			;
		else if (r->kind == RULE_CLOCK)
			rc = pc_clock_rule(&pc, cause);
		else
			rc = preview_threshold_rule(&pc, cause);
		/* Sent again: in the order of the stages, as the rule lists them. */
		if (pr->nresend > 1)
			qsort(pr->resend, pr->nresend, sizeof *pr->resend, pc_resend_cmp);
		pc_totals(p, pr);
	}
	statestore_rollback(p->ss); /* it read only: nothing to keep */
	preview_names_clear(&pc);
	free(pc.names);
	db_finalize(pc.q_stages);
	free(pc.rcpt);
	free(pc.dropped);
	free(pc.copies);
	free(pc.cols);
	free(pc.rec_before);
	free(pc.rec_after);
	return rc;
}

/* Free one list of alerts. */
static void
pc_alerts_free(struct preview_alerts *al)
{
	for (size_t i = 0; i < al->nwho; i++) {
		for (size_t k = 0; k < al->who[i].naddresses; k++)
			free(al->who[i].addresses[k]);
		free(al->who[i].addresses);
		free(al->who[i].name);
	}
	free(al->who);
	for (size_t i = 0; i < al->nex; i++)
		free(al->ex[i].case_ref);
}

/* Free what preview_compare made. */
void
preview_clear(struct preview *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct preview_rule *pr = &p->rules[i];

		rulediff_free(&pr->diff);
		free(pr->failed);
		for (size_t k = 0; k < pr->ndue_ex; k++)
			free(pr->due_ex[k].case_ref);
		for (size_t s = 0; pr->owed != NULL && s < pr->after->nstages; s++)
			pc_alerts_free(&pr->owed[s]);
		for (size_t s = 0; pr->lost != NULL && s < pr->before->nstages; s++)
			pc_alerts_free(&pr->lost[s]);
		for (size_t k = 0; k < pr->nresend; k++) {
			pc_alerts_free(&pr->resend[k].al);
			free(pr->resend[k].gone);
		}
		free(pr->owed);
		free(pr->lost);
		free(pr->unfired);
		free(pr->resend);
	}
	free(p->rules);
	p->rules = NULL;
	p->nrules = 0;
}

/* Is there nothing at all to say? */
bool
preview_no_change(const struct preview *p)
{
	if (p->at_once || p->due_moved || p->lost || p->unfired || p->leaving_alerted || p->added ||
	    p->removed || p->changed || p->holidays_changed)
		return false;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].failed != NULL || p->rules[i].leaving > 0 || p->rules[i].diff.n > 0)
			return false;
	return true;
}
