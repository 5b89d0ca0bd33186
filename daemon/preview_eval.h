/*
 * preview_eval.h - what preview_compare.c (the rules, their rows) and
 * preview_eval.c (one clock or key evaluated both ways, and counted) share.
 * Private to those two files.
 */
#ifndef ESCALATOR_PREVIEW_EVAL_H
#define ESCALATOR_PREVIEW_EVAL_H

#include "db.h"

#include "preview.h"

/* A clock read from one side's rows. */
struct preview_clock {
	char *case_ref;
	date_t start;
	bool matched;   /* the other side has the same clock */
	bool case_seen; /* the other side has the case, with another start */
};

/* One side's clocks, sorted by case and start. */
struct preview_clocks {
	struct preview_clock *v;
	size_t n, cap;
};

/* A stage name recorded for the clock at hand, and the rule id it is under. */
struct preview_name {
	char *id;
	char *stage;
};

/* Scratch space for one rule pair. */
struct preview_cmp {
	struct preview *p;
	struct preview_rule *pr;
	const struct ruleset *before; /* all of them: a removed rule may be one renamed */
	const struct ruleset *after;
	struct dbstmt *q_stages;
	struct preview_name *names;
	size_t nnames, capnames;
	bool *rec_before, *rec_after;
	const char **cols;
	struct recipient *rcpt, *copies;
	struct eval_dropped *dropped;
	size_t ncopies;
};

/* Free a side's clocks. */
void preview_clocks_free(struct preview_clocks *c);
/* qsort order of clocks: by case, then start. */
int preview_clock_cmp(const void *x, const void *y);
/* The first clock of c not before (case_ref, start): an index in [0, c->n]. */
size_t preview_lower(const struct preview_clocks *c, const char *case_ref, date_t start);

/* Forget the names recorded for the last clock. */
void preview_names_clear(struct preview_cmp *pc);
/*
 * The stage names recorded for the clock (case_ref, start) under every id a
 * or b reads (either may be NULL), into pc->names. 0, or -1 with *cause set.
 */
int preview_records(struct preview_cmp *pc, const struct rule *a, const struct rule *b,
                    const char *case_ref, date_t start, char **cause);
/* Which stages of r the recorded names count as (what alertstore_recorded says). */
void preview_mask(const struct preview_cmp *pc, const struct rule *r, bool *rec);
/*
 * The latest stage the clock had under a that b does not read (a stage name
 * or rule id gone in the edit), with *why; NULL if none.
 */
const char *preview_gone(const struct preview_cmp *pc, const struct rule *a, const struct rule *b,
                         enum preview_why *why);
/*
 * The stage owed now for clock c of r with rec recorded (holds as the
 * service decides them), -1 if none, -2 with *cause set on a failure.
 */
int preview_owed(struct preview *p, const struct rule *r, const struct calendar *cal,
                 const char *case_ref, const struct eval_clock *c, const bool *rec, char **cause);
/*
 * Count an alert of stage s of r (after the edit) dated on for the clock of
 * case_ref due on due in al, with whom it goes to from pc->cols (rec: what is
 * recorded, for who is copied in; NULL: nobody).
 */
void preview_alert(struct preview_cmp *pc, struct preview_alerts *al, const struct rule *r, int s,
                   const char *case_ref, date_t on, date_t due, const bool *rec);
/* The alerts of stage s sent again for why (gone: what is gone), made if new. */
struct preview_alerts *preview_resend(struct preview_rule *pr, int s, enum preview_why why,
                                      const char *gone);
/* Count an alert of stage s of r (before the edit) owed now that will not be. */
void preview_lost(struct preview_rule *pr, const struct preview *p, const struct rule *r, int s,
                  const char *case_ref, const struct eval_clock *c);
/* Does the clock have anything recorded under an id r reads? 1, 0, or -1 with *cause. */
int preview_any(struct preview_cmp *pc, const struct rule *r, const char *case_ref, date_t start,
                char **cause);
/*
 * A clock new in the edit owes a stage: was it alerted under another
 * identity (its case with another start, other; or under a rule the edit
 * removes)? What is gone ("start", or the old rule id), with *why; NULL if not (or a failure:
 * *cause set).
 */
const char *preview_new_identity(struct preview_cmp *pc, const struct preview_clock *other,
                                 const char *case_ref, date_t start, enum preview_why *why,
                                 char **cause);
/* A clock on both sides: does its due date move? */
void preview_due(struct preview_rule *pr, const char *case_ref, date_t before, date_t after);
/* A threshold rule before and after the edit (pc->pr). 0, or -1 with *cause set. */
int preview_threshold_rule(struct preview_cmp *pc, char **cause);

#endif
