/*
 * explain.c - escalatord explain RULE CASE: why a case's clock of a rule is
 * due when it is, and what escalator did and will do about it. The rule's
 * query runs as a pass would (:today and :now follow --now); its rows are
 * filtered here by case reference, so the query is never rewritten. Each
 * row's clock is worked out with the same functions the pass uses
 * (eval_clock, eval_owed, eval_hold_until, eval_recipients) and spelt out
 * with rules/trail.c; what the state store remembers is read read-only
 * (explain_state.c). Then it is printed for people or as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "explain.h"
#include "statestore_impl.h"
#include "suggest.h"
#include "utf8.h"
#include "xalloc.h"

/* A UTC time as recorded, in local minutes; -1 if it is not one. */
localtime_min_t
explain_local(const char *utc)
{
	struct tm tm;
	const char *end;

	if (utc == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	end = strptime(utc, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || (*end != 'Z' && *end != '\0'))
		return -1;
	return clock_local(timegm(&tm), NULL);
}

/* Unix seconds in local minutes. */
localtime_min_t
explain_local_unix(long long t)
{
	return clock_local((time_t)t, NULL);
}

/* "YYYY-MM-DDTHH:MM". */
char *
explain_minute(localtime_min_t t, char *buf)
{
	char full[DATETIME_STRLEN];

	localtime_format(t, full);
	memcpy(buf, full, 16);
	buf[16] = '\0';
	return buf;
}

/* A value fit for a terminal: valid UTF-8, no control characters. */
char *
explain_clean(const char *s)
{
	char *out = utf8_sanitize(s);

	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return out;
}

/* The rule called id, or NULL after saying so (with a did-you-mean and the rule ids). */
static const struct rule *
explain_rule(const struct ruleset *rs, const char *id, const char *rules_dir)
{
	const char **ids = xcalloc(rs->nrules + 1, sizeof *ids);
	const char *near;
	size_t col;

	for (size_t i = 0; i < rs->nrules; i++) {
		if (strcmp(rs->rules[i].id, id) == 0) {
			free(ids);
			return &rs->rules[i];
		}
		ids[i] = rs->rules[i].id;
	}
	near = suggest_word(id, ids, rs->nrules);
	fprintf(stderr, "escalatord: there is no rule \"%s\" in %s", id, rules_dir);
	if (near != NULL)
		fprintf(stderr, "; did you mean \"%s\"?\n", near);
	else
		fprintf(stderr, "\n");
	fprintf(stderr, "The rules are:");
	col = 14;
	for (size_t i = 0; i < rs->nrules; i++) {
		if (col + strlen(ids[i]) + 2 > 78) {
			fprintf(stderr, "\n ");
			col = 1;
		}
		fprintf(stderr, " %s", ids[i]);
		col += strlen(ids[i]) + 1;
	}
	fprintf(stderr, "\n");
	free(ids);
	return NULL;
}

/* Add a recipient to n->to unless it is there already (as eval_recipients dedupes). */
static void
explain_add_recipient(struct explain_next *n, const struct rule *r, const struct recipient *rc,
                      char *const *cols, int copied_stage)
{
	struct explain_recipient *to;

	for (size_t i = 0; i < n->nto; i++)
		if (n->to[i].kind == rc->kind &&
		    ((n->to[i].contact != NULL && rc->contact != NULL &&
		      strcmp(n->to[i].contact, rc->contact) == 0) ||
		     (n->to[i].address != NULL && rc->kind == CHANNEL_EMAIL &&
		      strcasecmp(n->to[i].address, rc->address) == 0)))
			return;
	to = &n->to[n->nto++];
	to->kind = rc->kind;
	to->contact = rc->contact;
	/* A URL or key is a credential: only an email address is shown. */
	to->address = rc->kind == CHANNEL_EMAIL ? rc->address : NULL;
	to->column = NULL;
	to->copied_stage = copied_stage;
	if (rc->contact == NULL)
		for (size_t i = 0; i < r->ncolumns; i++)
			if (cols[i] != NULL && strcmp(cols[i], rc->address) == 0 &&
			    strstr(r->columns[i], "_email") != NULL)
				to->column = r->columns[i];
}

/*
 * Who stage s of k's rule goes to, from the row as the pass resolves it,
 * and, copied in, the recipients of the earlier stages not recorded (the
 * pass records them skipped when s goes).
 */
static void
explain_recipients(const struct explain *x, struct explain_clock *k, int s, const bool *recorded)
{
	const struct rule *r = x->r;
	struct eval_domains allowed = {NULL, 0};
	struct explain_next *n = &k->next;
	struct recipient *rc;
	struct eval_dropped *dropped;
	size_t all = 1, got, nd;
	struct diag d;

	if (x->cfg->allowed_domains != NULL) {
		allowed.v = (const char *const *)x->cfg->allowed_domains;
		allowed.n = x->cfg->nallowed_domains;
	}
	for (size_t i = 0; i < r->nstages; i++)
		all += r->stages[i].nnotify;
	n->to = xcalloc(all, sizeof *n->to);
	n->dropped = xcalloc(all, sizeof *n->dropped);
	rc = xcalloc(all, sizeof *rc);
	dropped = xcalloc(all, sizeof *dropped);
	/* The warnings eval_recipients gives the log are said here in the output instead. */
	diag_init(&d);
	got = eval_recipients(r, &r->stages[s], (const char *const *)k->cols, x->case_ref, &allowed,
	                      rc, n->dropped, &n->ndropped, &d);
	for (size_t i = 0; i < got; i++)
		explain_add_recipient(n, r, &rc[i], k->cols, -1);
	/* Nobody to tell: the pass records nothing, so nobody is copied in either. */
	for (int j = s - 1; j >= 0 && got > 0; j--) {
		if (recorded[j])
			continue;
		nd = 0;
		size_t g = eval_recipients(r, &r->stages[j], (const char *const *)k->cols,
		                           x->case_ref, &allowed, rc, dropped, &nd, &d);
		for (size_t i = 0; i < g; i++)
			explain_add_recipient(n, r, &rc[i], k->cols, j);
	}
	diag_free(&d);
	free(rc);
	free(dropped);
}

/*
 * The end of the hold an agreed action puts on stage upto of k (as the
 * pass's evaluate_held works it out: the earliest end among the unrecorded
 * stages after the one answered, up to upto), in local minutes; EVAL_NEVER
 * when nothing holds it.
 */
static localtime_min_t
explain_hold(const struct explain *x, const struct explain_clock *k, int upto, const bool *recorded)
{
	const struct rule *r = x->r;
	date_t agreed;

	if (!r->hold || !k->mem.agreed || date_parse_strict(k->mem.agreed_on, &agreed) != 0)
		return EVAL_NEVER;
	return eval_held_until(r, x->cal, x->send_time, k->ev.due,
	                       rule_stage_recorded(r, k->mem.agreed_stage), agreed, recorded, upto);
}

/* Work out how each stage of clock k stands and what happens next. */
static void
explain_stages(const struct explain *x, struct explain_clock *k)
{
	const struct rule *r = x->r;
	bool *recorded = xcalloc(r->nstages + 1, sizeof *recorded);
	int last_recorded = -1, owed, j;
	localtime_min_t hold;

	k->stages = xcalloc(r->nstages + 1, sizeof *k->stages);
	for (size_t i = 0; i < k->mem.nrecords; i++) {
		const struct explain_record *rec = &k->mem.records[i];
		int s = rec->stage != NULL ? rule_stage_recorded(r, rec->stage) : -1;

		/* A stage removed since it was recorded no longer counts (as in a pass); one
		 * renamed with renamed_from is its new name's. */
		if (s < 0)
			continue;
		recorded[s] = true;
		k->stages[s].record = rec;
		k->stages[s].state = rec->status != NULL && strcmp(rec->status, "skipped") == 0
		                         ? EXPLAIN_SKIPPED
		                         : EXPLAIN_ALERTED;
		for (size_t a = 0; a < k->mem.nalerts; a++)
			if (rec->alert_id != 0 && k->mem.alerts[a].id == rec->alert_id)
				k->stages[s].alert = &k->mem.alerts[a];
		if (s > last_recorded)
			last_recorded = s;
	}
	for (size_t i = 0; i < r->nstages; i++) {
		struct explain_stage *st = &k->stages[i];

		st->fires = (localtime_min_t)k->trail.stages[i].date * 1440 + x->send_time;
		if (recorded[i])
			continue;
		if (st->fires > x->now)
			st->state = EXPLAIN_NOT_REACHED;
		else if ((int)i < last_recorded || (int)i < k->ev.reached)
			st->state = EXPLAIN_PASSED;
		else
			st->state = EXPLAIN_OWED;
	}

	k->next.stage = -1;
	k->next.last_sent = -1;
	k->next.at = EVAL_NEVER;
	if (k->ev.reached < 0) {
		k->next.kind = EXPLAIN_NEXT_NOT_YET;
		k->next.stage = k->ev.next_stage;
		k->next.at = k->ev.next;
	} else if ((owed = eval_owed(k->ev.reached, recorded, r->nstages)) >= 0) {
		k->next.stage = owed;
		hold = explain_hold(x, k, owed, recorded);
		if (hold != EVAL_NEVER && hold > x->now) {
			k->next.kind = EXPLAIN_NEXT_HELD;
			k->next.at = hold;
			k->next.held = true;
			k->next.held_until = (date_t)(hold / 1440);
			k->stages[owed].state = EXPLAIN_HELD;
			k->stages[owed].held = true;
			k->stages[owed].held_until = k->next.held_until;
		} else {
			k->next.kind = EXPLAIN_NEXT_OWED;
			k->next.at = x->now;
		}
	} else {
		/* The first stage after both the one reached and the last one recorded. */
		j = (k->ev.reached > last_recorded ? k->ev.reached : last_recorded) + 1;
		if (j < (int)r->nstages) {
			k->next.kind = EXPLAIN_NEXT_STAGE;
			k->next.stage = j;
			k->next.at = k->stages[j].fires;
			hold = explain_hold(x, k, j, recorded);
			if (hold != EVAL_NEVER && hold > k->next.at) {
				k->next.at = hold;
				k->next.held = true;
				k->next.held_until = (date_t)(hold / 1440);
				k->stages[j].held = true;
				k->stages[j].held_until = k->next.held_until;
			}
		} else {
			k->next.kind = EXPLAIN_NEXT_DONE;
			for (size_t i = 0; i < r->nstages; i++)
				if (k->stages[i].state == EXPLAIN_ALERTED)
					k->next.last_sent = (int)i;
		}
	}
	if (k->next.stage >= 0) {
		explain_recipients(x, k, k->next.stage, recorded);
		if (k->next.kind == EXPLAIN_NEXT_OWED && k->next.nto == 0)
			k->next.kind = EXPLAIN_NEXT_NOBODY;
	}
	free(recorded);
}

/* Work out one row of the rule: its clock (or its threshold value) and its memory. */
static int
explain_row(struct explain *x, struct statestore *ss, struct casestore_rows *rows,
            struct explain_clock *k, char **cause)
{
	const struct rule *r = x->r;
	char start[DATE_STRLEN];
	const char *text;

	memset(k, 0, sizeof *k);
	k->cols = xcalloc(r->ncolumns + 1, sizeof *k->cols);
	if (r->kind == RULE_THRESHOLD) {
		/* Ask for the number before reading the column as text (casestore.h). */
		k->has_value = casestore_rows_number(rows, (size_t)r->value_col, &k->value);
		if (k->has_value)
			k->over = r->below ? k->value < r->limit : k->value > r->limit;
	}
	for (size_t i = 0; i < r->ncolumns; i++) {
		text = casestore_rows_text(rows, i);
		k->cols[i] = text != NULL ? xstrdup(text) : NULL;
	}
	if (r->kind == RULE_THRESHOLD) {
		bool none = false;

		if (explain_state_read(ss, x->cfg, r->id, x->case_ref, NULL, &k->mem, cause) != 0)
			return -1;
		k->next.stage = -1;
		k->next.last_sent = -1;
		k->next.at = EVAL_NEVER;
		/* Over the limit and not recorded so: the next pass alerts its one stage. */
		if (k->over && k->mem.over_since == NULL) {
			k->next.kind = EXPLAIN_NEXT_OWED;
			k->next.stage = 0;
			k->next.at = x->now;
			explain_recipients(x, k, 0, &none);
			if (k->next.nto == 0)
				k->next.kind = EXPLAIN_NEXT_NOBODY;
		}
		return 0;
	}
	text = k->cols[r->start_col];
	if (text == NULL || date_parse(text, &k->start) != 0) {
		k->bad_start = true;
		return 0;
	}
	eval_clock(r, x->cal, x->send_time, k->start, x->now, &k->ev);
	trail_clock(r, x->cal, k->start, &k->trail);
	eval_status(x->cal, k->ev.due, (date_t)(x->now / 1440), k->status, sizeof k->status);
	if (explain_state_read(ss, x->cfg, r->id, x->case_ref, date_format(k->start, start),
	                       &k->mem, cause) != 0)
		return -1;
	explain_stages(x, k);
	return 0;
}

/* Run the rule's query and work out each of its rows whose case is x->case_ref. */
static int
explain_rows(struct explain *x, struct engine *e, struct statestore *ss, char **cause)
{
	struct casestore *cs = engine_casestore(e);
	const struct rule *r = x->r;
	struct casestore_rows *rows;
	size_t cap = 0;
	const char *key;
	int rc;

	casestore_set_clock(cs, x->now);
	casestore_set_timeout(cs, x->cfg->query_timeout);
	if ((rows = casestore_query(cs, r->query, cause)) == NULL)
		return -1;
	if (casestore_rows_ncolumns(rows) != r->ncolumns) {
		casestore_rows_free(rows);
		*cause = xstrdup("the query's columns changed since the rules were checked");
		return -1;
	}
	while ((rc = casestore_rows_next(rows, cause)) == 1) {
		key = casestore_rows_text(rows, (size_t)r->case_ref_col);
		/* Exactly as recorded: the reference is the clock's identity. */
		if (key == NULL || strcmp(key, x->case_ref) != 0)
			continue;
		if (x->nclocks == cap) {
			cap = cap ? cap * 2 : 4;
			x->clocks = xreallocarray(x->clocks, cap, sizeof *x->clocks);
		}
		if (explain_row(x, ss, rows, &x->clocks[x->nclocks++], cause) != 0) {
			casestore_rows_free(rows);
			return -1;
		}
	}
	casestore_rows_free(rows);
	return rc == 0 ? 0 : -1;
}

/* What the state store remembers of the case's other clocks (no row now). */
static int
explain_gone(struct explain *x, struct statestore *ss, char **cause)
{
	char **starts, buf[DATE_STRLEN];
	size_t n;
	bool found;

	if (x->r->kind == RULE_THRESHOLD) {
		if (x->nclocks > 0)
			return 0;
		x->gone = xcalloc(1, sizeof *x->gone);
		if (explain_state_read(ss, x->cfg, x->r->id, x->case_ref, NULL, x->gone, cause) !=
		    0)
			return -1;
		if (x->gone->nalerts > 0 || x->gone->over_since != NULL)
			x->ngone = 1;
		else
			explain_memory_free(x->gone);
		return 0;
	}
	if (explain_state_starts(ss, x->r->id, x->case_ref, &starts, &n, cause) != 0)
		return -1;
	x->gone = xcalloc(n + 1, sizeof *x->gone);
	for (size_t i = 0; i < n; i++) {
		found = false;
		for (size_t k = 0; k < x->nclocks; k++)
			if (!x->clocks[k].bad_start &&
			    strcmp(date_format(x->clocks[k].start, buf), starts[i]) == 0)
				found = true;
		if (!found && explain_state_read(ss, x->cfg, x->r->id, x->case_ref, starts[i],
		                                 &x->gone[x->ngone++], cause) != 0) {
			for (; i < n; i++)
				free(starts[i]);
			free(starts);
			return -1;
		}
		free(starts[i]);
	}
	free(starts);
	return 0;
}

/* Free what x holds. */
static void
explain_free(struct explain *x)
{
	for (size_t i = 0; i < x->nclocks; i++) {
		struct explain_clock *k = &x->clocks[i];

		for (size_t c = 0; c < x->r->ncolumns; c++)
			free(k->cols[c]);
		free(k->cols);
		trail_free(&k->trail);
		explain_memory_free(&k->mem);
		free(k->stages);
		free(k->next.to);
		free(k->next.dropped);
	}
	free(x->clocks);
	for (size_t i = 0; i < x->ngone; i++)
		explain_memory_free(&x->gone[i]);
	free(x->gone);
}

/* escalatord explain RULE CASE. */
int
explain_main(const struct command *c)
{
	struct explain x;
	struct engine *e;
	struct statestore *ss;
	char *cause = NULL;
	int rc = COMMAND_EXIT_FAIL;

	if (c->nargs != 2)
		return COMMAND_EXIT_USAGE;
	if ((e = command_load(c)) == NULL)
		return COMMAND_EXIT_FAIL;
	memset(&x, 0, sizeof x);
	x.c = c;
	x.cfg = engine_config(e);
	x.cal = engine_calendar(e);
	x.case_ref = c->args[1];
	x.send_time = x.cfg->send_time;
	if (command_now(c, &x.now) != 0) {
		engine_free(e);
		return COMMAND_EXIT_USAGE;
	}
	if ((x.r = explain_rule(engine_rules(e), c->args[0], x.cfg->rules_dir)) == NULL) {
		engine_free(e);
		return COMMAND_EXIT_FAIL;
	}
	if ((ss = command_state(e)) == NULL) {
		engine_free(e);
		return COMMAND_EXIT_FAIL;
	}
	x.state_missing = ss->db == NULL;
	/* One snapshot of the state store for everything read (a read transaction). */
	if (statestore_begin(ss, &cause) != 0 || explain_rows(&x, e, ss, &cause) != 0 ||
	    explain_gone(&x, ss, &cause) != 0) {
		fprintf(stderr, "escalatord: rule %s: %s\n", x.r->id, cause ? cause : "failed");
		free(cause);
	} else {
		if (c->json)
			explain_json(stdout, &x);
		else
			explain_text(stdout, &x);
		rc = x.nclocks > 0 ? 0 : COMMAND_EXIT_FAIL;
	}
	statestore_rollback(ss);
	explain_free(&x);
	statestore_close(ss);
	engine_free(e);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "escalatord: writing the explanation failed\n");
		rc = COMMAND_EXIT_FAIL;
	}
	return rc;
}
