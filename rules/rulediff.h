/* rulediff.h - what changed between two versions of one rule, setting by setting. */
#ifndef ESCALATOR_RULEDIFF_H
#define ESCALATOR_RULEDIFF_H

#include <stddef.h>

#include "ruleset.h"

/* One setting that changed. */
enum rulediff_kind {
	RULEDIFF_ID,    /* the rule's id (renamed_from) */
	RULEDIFF_TITLE, /* the settings of the rule */
	RULEDIFF_QUERY,
	RULEDIFF_DUE,
	RULEDIFF_WORKING_DAYS_ONLY,
	RULEDIFF_HOLD,
	RULEDIFF_MAX_HOLD,
	RULEDIFF_LIMIT, /* a threshold rule's above or below */
	RULEDIFF_FIELDS,
	RULEDIFF_SUBJECT,
	RULEDIFF_BODY,
	RULEDIFF_EXPECTED,
	RULEDIFF_CASE_URL,
	RULEDIFF_STAGE_ADDED, /* then one stage's */
	RULEDIFF_STAGE_REMOVED,
	RULEDIFF_STAGE_RENAMED, /* with renamed_from */
	RULEDIFF_STAGE_AT,      /* it fires at another offset from the due date */
	RULEDIFF_STAGE_NOTIFY,
	RULEDIFF_STAGE_LABEL,
	RULEDIFF_STAGE_IMMEDIATE,
	RULEDIFF_STAGE_EXPECTED,
};

struct rulediff_item {
	enum rulediff_kind kind;
	const char *stage; /* its stage (the new name; a removed one's old name), or NULL */
	/*
	 * The setting before and after as people read it ("20 working days",
	 * "iro, team_manager"), or NULL: not there (a stage added has no
	 * before), or too long to show (a query, a template).
	 */
	char *before, *after;
};

struct rulediff {
	struct rulediff_item *v;
	size_t n;
};

/*
 * The changes from a to b (two versions of one rule) into out (zeroed
 * first): the rule's settings, then its stages in b's order, then the
 * stages removed. A stage of b is a's stage of the same name, else the one
 * it says it was renamed from. Borrowed names point into a and b.
 */
void rulediff_rules(const struct rule *a, const struct rule *b, struct rulediff *out);
void rulediff_free(struct rulediff *d);
/* The stage of a that stage j of b is (same name, else renamed from), or -1: added. */
int rulediff_stage_of(const struct rule *a, const struct rule *b, size_t j);
/* The name a change has in JSON: "due", "stage_added", ... */
const char *rulediff_name(enum rulediff_kind k);

#endif
