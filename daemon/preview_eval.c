/*
 * preview_eval.c - escalatord preview: one clock (or threshold key)
 * evaluated before and after the edit against what the state store has
 * recorded for it, as the service would (eval_clock, eval_owed, holds,
 * renamed_from), and counted: whom an alert goes to, alerts no longer owed,
 * alerts sent again and why. Reads only.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answers.h"
#include "preview_eval.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* Free a side's clocks. */
void
preview_clocks_free(struct preview_clocks *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].case_ref);
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* Order of clocks: by case, then start. */
int
preview_clock_cmp(const void *x, const void *y)
{
	const struct preview_clock *a = x, *b = y;
	int c = strcmp(a->case_ref, b->case_ref);

	return c != 0 ? c : (a->start > b->start) - (a->start < b->start);
}

/* The first clock of c not before (case_ref, start): an index in [0, n]. */
size_t
preview_lower(const struct preview_clocks *c, const char *case_ref, date_t start)
{
	struct preview_clock key = {(char *)case_ref, start, false, false};
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (preview_clock_cmp(&c->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Forget the names recorded for the last clock. */
void
preview_names_clear(struct preview_cmp *pc)
{
	for (size_t i = 0; i < pc->nnames; i++) {
		free(pc->names[i].id);
		free(pc->names[i].stage);
	}
	pc->nnames = 0;
}

/* Add the stage names recorded for (id, case_ref, start). Returns 0, or -1 with *cause set. */
static int
pc_names_of(struct preview_cmp *pc, const char *id, const char *case_ref, date_t start,
            char **cause)
{
	struct dbstmt *st = pc->q_stages;
	char sbuf[DATE_STRLEN];
	int rc;

	if (st == NULL)
		return 0;
	db_bind_text(st, 1, id, -1, DB_STATIC);
	db_bind_text(st, 2, case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, date_format(start, sbuf), -1, DB_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		if (pc->nnames == pc->capnames) {
			pc->capnames = pc->capnames ? 2 * pc->capnames : 8;
			pc->names = xreallocarray(pc->names, pc->capnames, sizeof *pc->names);
		}
		pc->names[pc->nnames].id = xstrdup(id);
		pc->names[pc->nnames++].stage = statestore_col(st, 0);
	}
	db_reset(st);
	if (rc != DB_DONE)
		return statestore_fail(pc->p->ss, cause, "reading recorded stages");
	return 0;
}

/* Does r read records made under id (its own, or one it was renamed from)? */
static bool
pc_reads(const struct rule *r, const char *id)
{
	return r != NULL && (strcmp(r->id, id) == 0 || rule_renamed_from(r, id));
}

/*
 * The stage names recorded for the clock (case_ref, start) under every id a
 * or b reads (either may be NULL). Returns 0, or -1 with *cause set.
 */
int
preview_records(struct preview_cmp *pc, const struct rule *a, const struct rule *b,
                const char *case_ref, date_t start, char **cause)
{
	const struct rule *rs[2] = {a, b};

	preview_names_clear(pc);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; rs[k] != NULL && i <= rs[k]->nrenamed; i++) {
			const char *id = i == 0 ? rs[k]->id : rs[k]->renamed_from[i - 1];

			if (k == 1 && pc_reads(a, id))
				continue; /* once per id, even when both rules read it */
			if (pc_names_of(pc, id, case_ref, start, cause) != 0)
				return -1;
		}
	return 0;
}

/* Which stages of r the recorded names count as (what alertstore_recorded says). */
void
preview_mask(const struct preview_cmp *pc, const struct rule *r, bool *rec)
{
	memset(rec, 0, r->nstages * sizeof *rec);
	for (size_t i = 0; i < pc->nnames; i++) {
		int s;

		if (pc->names[i].stage != NULL && pc_reads(r, pc->names[i].id) &&
		    (s = rule_stage_recorded(r, pc->names[i].stage)) >= 0)
			rec[s] = true;
	}
}

/*
 * The latest stage the clock had under a (its records as a reads them) that
 * b does not read: a name or id gone in the edit. Sets *why; NULL if none.
 */
const char *
preview_gone(const struct preview_cmp *pc, const struct rule *a, const struct rule *b,
             enum preview_why *why)
{
	const char *gone = NULL;
	int latest = -1, s;

	for (size_t i = 0; i < pc->nnames; i++) {
		const struct preview_name *n = &pc->names[i];

		if (n->stage == NULL || !pc_reads(a, n->id) ||
		    (s = rule_stage_recorded(a, n->stage)) < 0 || s <= latest)
			continue;
		if (!pc_reads(b, n->id)) {
			gone = n->id;
			*why = PREVIEW_RULE_RENAMED;
			latest = s;
		} else if (rule_stage_recorded(b, n->stage) < 0) {
			gone = n->stage;
			*why = PREVIEW_STAGE_RENAMED;
			latest = s;
		}
	}
	return gone;
}

/*
 * A rule with hold: is stage owed of clock c held by an "action agreed"
 * answer as of now (as evaluate.c's evaluate_held decides)? 1 held, 0 not,
 * -1 with *cause set.
 */
static int
pc_held(struct preview *p, const struct rule *r, const struct calendar *cal, const char *case_ref,
        const struct eval_clock *c, int owed, const bool *rec, char **cause)
{
	char start[DATE_STRLEN];
	localtime_min_t at;
	date_t agreed;
	int answered, rc;

	if (!r->hold)
		return 0;
	rc = answers_agreed_stage(p->ss, r, case_ref, date_format(c->start, start), &agreed,
	                          &answered, cause);
	if (rc <= 0)
		return rc;
	at = eval_held_until(r, cal, p->cfg->send_time, c->due, answered, agreed, rec, owed);
	return at != EVAL_NEVER && at > p->now ? 1 : 0;
}

/* The stage owed now for clock c of r with rec recorded, or -1 (-2 on a failure). */
int
preview_owed(struct preview *p, const struct rule *r, const struct calendar *cal,
             const char *case_ref, const struct eval_clock *c, const bool *rec, char **cause)
{
	int owed = eval_owed(c->reached, rec, r->nstages), held;

	if (owed < 0)
		return -1;
	if ((held = pc_held(p, r, cal, case_ref, c, owed, rec, cause)) < 0)
		return -2;
	return held ? -1 : owed;
}

/* Count one more alert for recipient rc (told, or copied) in al. */
static void
pc_who(struct preview_alerts *al, const struct stage *st, const struct recipient *rc,
       const char *const *cols, bool copied)
{
	const char *name = rc->contact;
	bool column = false;
	struct preview_who *w = NULL;

	if (name == NULL) /* from the row: the notify name whose column holds it */
		for (size_t i = 0; i < st->nnotify && name == NULL; i++)
			if (st->notify[i].column >= 0 && cols[st->notify[i].column] != NULL &&
			    strcasecmp(cols[st->notify[i].column], rc->address) == 0) {
				name = st->notify[i].name;
				column = true;
			}
	if (name == NULL)
		return;
	for (size_t i = 0; i < al->nwho && w == NULL; i++)
		if (strcmp(al->who[i].name, name) == 0 && al->who[i].column == column &&
		    al->who[i].copied == copied)
			w = &al->who[i];
	if (w == NULL) {
		al->who = xreallocarray(al->who, al->nwho + 1, sizeof *al->who);
		w = &al->who[al->nwho++];
		memset(w, 0, sizeof *w);
		w->name = xstrdup(name);
		w->column = column;
		w->copied = copied;
	}
	w->alerts++;
	if (column) {
		/* Distinct addresses, kept sorted: counted, never shown. */
		size_t lo = 0, hi = w->naddresses;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcasecmp(w->addresses[mid], rc->address);

			if (c == 0)
				return;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (w->naddresses == w->capaddresses) {
			w->capaddresses = w->capaddresses ? 2 * w->capaddresses : 8;
			w->addresses =
			    xreallocarray(w->addresses, w->capaddresses, sizeof *w->addresses);
		}
		memmove(&w->addresses[lo + 1], &w->addresses[lo],
		        (w->naddresses - lo) * sizeof *w->addresses);
		w->addresses[lo] = xstrdup(rc->address);
		w->naddresses++;
	}
}

/*
 * Count an alert of stage s of r (after the edit) for clock c of case_ref
 * in al: its date, an example, and whom it goes to (the stage's recipients
 * and those of the stages skipped now, copied in) from the row's columns.
 */
void
preview_alert(struct preview_cmp *pc, struct preview_alerts *al, const struct rule *r, int s,
              const char *case_ref, date_t on, date_t due, const bool *rec)
{
	struct eval_domains allowed = {NULL, 0};
	const struct config *cfg = pc->p->cfg;
	size_t n, ndropped = 0, ncopies = 0;
	struct diag d;

	al->alerts++;
	if (on < pc->p->today)
		al->backdated++;
	if (al->alerts == 1 || on < al->first)
		al->first = on;
	if (al->alerts == 1 || on > al->last)
		al->last = on;
	if (al->nex < PREVIEW_EXAMPLES)
		al->ex[al->nex++] = (struct preview_example){xstrdup(case_ref), on, due};
	if (cfg->allowed_domains != NULL) {
		allowed.v = (const char *const *)cfg->allowed_domains;
		allowed.n = cfg->nallowed_domains;
	}
	/* Addresses the service would drop are its warnings to give, not the preview's. */
	diag_init(&d);
	n = eval_recipients(r, &r->stages[s], pc->cols, case_ref, &allowed, pc->rcpt, pc->dropped,
	                    &ndropped, &d);
	for (size_t i = 0; i < n; i++)
		pc_who(al, &r->stages[s], &pc->rcpt[i], pc->cols, false);
	/* Nobody told: the alert waits, and the admin hears of it; no one is copied in. */
	for (int j = s - 1; n > 0 && rec != NULL && j >= 0; j--) {
		struct recipient *got = pc->copies + ncopies;
		size_t m;

		if (rec[j])
			continue;
		ndropped = 0;
		m = eval_recipients(r, &r->stages[j], pc->cols, case_ref, &allowed, got,
		                    pc->dropped, &ndropped, &d);
		for (size_t i = 0; i < m; i++)
			if (!eval_recipient_in(pc->rcpt, n, &got[i]) &&
			    !eval_recipient_in(pc->copies, ncopies, &got[i])) {
				pc_who(al, &r->stages[j], &got[i], pc->cols, true);
				pc->copies[ncopies++] = got[i];
			}
	}
	diag_free(&d);
}

/* The entry for alerts of stage s sent again for why (gone: what is gone), made if new. */
struct preview_alerts *
preview_resend(struct preview_rule *pr, int s, enum preview_why why, const char *gone)
{
	struct preview_resend *rs;

	for (size_t i = 0; i < pr->nresend; i++)
		if (pr->resend[i].stage == s && pr->resend[i].why == why &&
		    strcmp(pr->resend[i].gone, gone) == 0)
			return &pr->resend[i].al;
	pr->resend = xreallocarray(pr->resend, pr->nresend + 1, sizeof *pr->resend);
	rs = &pr->resend[pr->nresend++];
	memset(rs, 0, sizeof *rs);
	rs->stage = s;
	rs->why = why;
	rs->gone = xstrdup(gone);
	return &rs->al;
}

/* Count an alert of stage s of r (before the edit) that is owed now but will not be. */
void
preview_lost(struct preview_rule *pr, const struct preview *p, const struct rule *r, int s,
             const char *case_ref, const struct eval_clock *c)
{
	struct preview_alerts *al = &pr->lost[s];
	date_t on = eval_stage_date(r, p->cal_before, c->due, (size_t)s);

	al->alerts++;
	if (al->alerts == 1 || on < al->first)
		al->first = on;
	if (al->alerts == 1 || on > al->last)
		al->last = on;
	if (al->nex < PREVIEW_EXAMPLES)
		al->ex[al->nex++] = (struct preview_example){xstrdup(case_ref), on, c->due};
}

/* Does the clock (case_ref, start) have anything recorded under an id r reads? -1: failure. */
int
preview_any(struct preview_cmp *pc, const struct rule *r, const char *case_ref, date_t start,
            char **cause)
{
	if (preview_records(pc, r, NULL, case_ref, start, cause) != 0)
		return -1;
	return pc->nnames > 0;
}

/*
 * A new clock (not among the rules' before) owes stage s: is it one the
 * service already alerted under another identity? Its case with another
 * start in the rule before (other), or the same clock under a rule removed
 * by the edit. Sets *why and returns what is gone, or NULL.
 */
const char *
preview_new_identity(struct preview_cmp *pc, const struct preview_clock *other,
                     const char *case_ref, date_t start, enum preview_why *why, char **cause)
{
	const struct ruleset *before = pc->before;
	int rc;

	*cause = NULL;
	if (other != NULL) {
		if ((rc = preview_any(pc, pc->pr->before, case_ref, other->start, cause)) != 0) {
			*why = PREVIEW_START_CHANGED;
			return rc > 0 ? "start" : NULL;
		}
		return NULL;
	}
	if (pc->pr->before != NULL)
		return NULL;
	/* An added rule: under the id of a rule the edit removes? */
	for (size_t i = 0; i < before->nrules; i++) {
		const struct rule *r = &before->rules[i];
		bool kept = false;

		for (size_t j = 0; j < pc->p->nrules && !kept; j++)
			kept = pc->p->rules[j].before == r && pc->p->rules[j].after != NULL;
		if (kept || r->kind != RULE_CLOCK)
			continue;
		if ((rc = preview_any(pc, r, case_ref, start, cause)) < 0)
			return NULL;
		if (rc > 0) {
			*why = PREVIEW_RULE_RENAMED;
			return r->id;
		}
	}
	return NULL;
}

/* The due date of a clock matched on both sides: moved? */
void
preview_due(struct preview_rule *pr, const char *case_ref, date_t before, date_t after)
{
	if (before == after)
		return;
	pr->due_moved++;
	if (after < before)
		pr->due_earlier++;
	if (pr->ndue_ex < PREVIEW_EXAMPLES)
		pr->due_ex[pr->ndue_ex++] =
		    (struct preview_example){xstrdup(case_ref), before, after};
}

/* Is key recorded over the limit under an id r reads? -1 with *cause on a failure. */
static int
pc_over(struct preview_cmp *pc, const struct rule *r, const char *key, char **cause)
{
	struct dbstmt *st;
	int found = 0, rc;

	if (pc->p->ss->db == NULL)
		return 0;
	if (db_prepare(pc->p->ss->db, "SELECT 1 FROM threshold_state WHERE rule = ?1 AND key = ?2",
	               &st) != DB_OK)
		return statestore_fail(pc->p->ss, cause, "reading threshold state");
	for (size_t i = 0; !found && i <= r->nrenamed; i++) {
		db_bind_text(st, 1, i == 0 ? r->id : r->renamed_from[i - 1], -1, DB_STATIC);
		db_bind_text(st, 2, key, -1, DB_STATIC);
		found = (rc = db_step(st)) == DB_ROW;
		db_reset(st);
		if (rc != DB_ROW && rc != DB_DONE) {
			db_finalize(st);
			return statestore_fail(pc->p->ss, cause, "reading threshold state");
		}
	}
	db_finalize(st);
	return found;
}

/* Is the row's value over r's limit? */
static bool
pc_crossed(const struct rule *r, struct casestore_rows *q)
{
	double v;

	if (!casestore_rows_number(q, (size_t)r->value_col, &v))
		return false;
	return r->below ? v < r->limit : v > r->limit;
}

/*
 * A threshold rule before and after the edit: a key over the limit and not
 * recorded so is alerted by the next pass; compare the keys alerted.
 */
int
preview_threshold_rule(struct preview_cmp *pc, char **cause)
{
	struct preview_rule *pr = pc->pr;
	const struct rule *a = pr->before, *b = pr->after;
	struct preview_clocks owe = {0}; /* the keys the rule before owes, start = 1 */
	struct casestore_rows *q;
	const char *key;
	char *why = NULL;
	int rc, over;

	for (int side = 0; side < 2; side++) {
		const struct rule *r = side == 0 ? a : b;

		if (r == NULL)
			continue;
		casestore_set_clock(pc->p->cs, pc->p->now);
		if ((q = casestore_query(pc->p->cs, r->query, &why)) == NULL) {
			pr->failed = why;
			break;
		}
		if (side == 1 && owe.n > 1)
			qsort(owe.v, owe.n, sizeof *owe.v, preview_clock_cmp);
		while ((rc = casestore_rows_next(q, &why)) == 1) {
			key = casestore_rows_text(q, (size_t)r->case_ref_col);
			if (key == NULL || *key == '\0') {
				pr->skipped_rows++;
				continue;
			}
			*(side == 0 ? &pr->clocks_before : &pr->clocks_after) += 1;
			if (!pc_crossed(r, q))
				continue;
			if ((over = pc_over(pc, r, key, cause)) < 0) {
				casestore_rows_free(q);
				preview_clocks_free(&owe);
				return -1;
			}
			if (over)
				continue;
			if (side == 0) {
				if (owe.n == owe.cap) {
					owe.cap = owe.cap ? 2 * owe.cap : 64;
					owe.v = xreallocarray(owe.v, owe.cap, sizeof *owe.v);
				}
				owe.v[owe.n++] =
				    (struct preview_clock){xstrdup(key), 1, false, false};
				continue;
			}
			size_t k = preview_lower(&owe, key, 1);

			if (k < owe.n && strcmp(owe.v[k].case_ref, key) == 0) {
				owe.v[k].matched = true;
				pr->anyway++;
				continue;
			}
			for (size_t i = 0; i < b->ncolumns; i++)
				pc->cols[i] = casestore_rows_text(q, i);
			preview_alert(pc, &pr->owed[0], b, 0, key, pc->p->today, pc->p->today,
			              NULL);
		}
		casestore_rows_free(q);
		if (rc != 0) {
			pr->failed = why != NULL ? why : xstrdup("stopped");
			break;
		}
	}
	for (size_t i = 0; pr->failed == NULL && i < owe.n; i++)
		if (!owe.v[i].matched)
			preview_lost(pr, pc->p, a, 0, owe.v[i].case_ref,
			             &(struct eval_clock){.due = pc->p->today});
	preview_clocks_free(&owe);
	return 0;
}
