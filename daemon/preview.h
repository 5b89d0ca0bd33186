/*
 * preview.h - escalatord preview: what an edit of the rules (or the holiday
 * files) would change against what the running service has loaded and
 * recorded. Shared by preview.c (loading both sides, the command),
 * preview_compare.c (the comparison, rule by rule) and preview_text.c (text
 * for people, JSON for machines). Private to those files.
 */
#ifndef ESCALATOR_PREVIEW_H
#define ESCALATOR_PREVIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "calendar.h"
#include "casestore.h"
#include "config.h"
#include "eval.h"
#include "rulediff.h"
#include "ruleset.h"
#include "statestore.h"

/* Cases named as examples in each list: enough to look one up, few enough to read. */
#define PREVIEW_EXAMPLES 3

/* A case named as an example, with two dates (what they are depends on the list; 0: none). */
struct preview_example {
	char *case_ref;
	date_t a, b;
};

/* Who an alert goes to: a contact, or a notify name's column (its addresses counted). */
struct preview_who {
	char *name;  /* the notify name */
	bool column; /* the row's <name>_email (else the contact called name) */
	bool copied; /* copied in because their stage was skipped */
	long long alerts;
	char **addresses; /* column: the distinct addresses, only ever counted */
	size_t naddresses, capaddresses;
};

/* Alerts of one stage of one rule, and whom they go to. */
struct preview_alerts {
	long long alerts;
	long long backdated; /* the stage's date is before today */
	date_t first, last;  /* the earliest and latest stage date */
	struct preview_who *who;
	size_t nwho;
	struct preview_example ex[PREVIEW_EXAMPLES]; /* a: the stage's date, b: due */
	size_t nex;
};

/* Why an alert already sent would be sent again. */
enum preview_why {
	PREVIEW_STAGE_RENAMED, /* its stage was renamed without renamed_from */
	PREVIEW_RULE_RENAMED,  /* its rule's id changed without renamed_from */
	PREVIEW_START_CHANGED, /* the query gives the clock another start: a new clock */
};

/* Alerts sent again, by stage, reason and what is gone. */
struct preview_resend {
	int stage; /* the stage of the new rule that goes again */
	enum preview_why why;
	char *gone; /* the old stage name, the old rule id, or the old start date */
	struct preview_alerts al;
};

/* One rule before and after the edit. */
struct preview_rule {
	const struct rule *before, *after; /* NULL: added, removed */
	struct rulediff diff;
	long long clocks_before, clocks_after; /* rows */
	char *failed;                          /* a query failed: why (nothing else is known) */
	long long skipped_rows;                /* rows with no case_ref or start */
	long long due_moved, due_earlier;
	struct preview_example due_ex[PREVIEW_EXAMPLES]; /* a: due before, b: after */
	size_t ndue_ex;
	struct preview_alerts *owed; /* per stage of after: owed at once on reload (new) */
	struct preview_alerts *lost; /* per stage of before: owed now, but no more */
	long long *unfired;          /* per stage of before that is gone: open clocks before it */
	struct preview_resend *resend;
	size_t nresend;
	long long anyway;           /* alerts owed now before and after alike */
	long long leaving;          /* open clocks no longer in the rule's rows */
	long long leaving_alerted;  /* of those, alerted: recorded done, the people told */
	long long start_changed;    /* clocks whose start changed */
	long long removed_watching; /* a removed rule: open clocks no longer watched */
};

/* The whole comparison. */
struct preview {
	const struct config *cfg;
	struct casestore *cs;
	struct statestore *ss;
	const struct calendar *cal_before, *cal_after;
	localtime_min_t now;
	date_t today;
	localtime_min_t next_digest; /* when alerts held for a digest on reload go */

	const char *rules_dir;   /* the rules previewed */
	bool before_loaded;      /* the before is what the service recorded (else: disk) */
	const char *before_note; /* why the before is the rules on disk, or NULL */
	time_t loaded_at;        /* when the service loaded them */
	bool holidays_changed;

	struct preview_rule *rules;
	size_t nrules;
	/* Totals. */
	long long at_once, backdated, due_moved, resent, lost, unfired, leaving_alerted;
	size_t added, removed, changed;
};

/*
 * Compare every rule of before with after (matched by id or renamed_from)
 * against the case store and the state store, into p->rules and the totals.
 * Returns 0, or -1 with *cause set on a state store failure.
 */
int preview_compare(struct preview *p, const struct ruleset *before, const struct ruleset *after,
                    char **cause);
/* Free what preview_compare made. */
void preview_clear(struct preview *p);
/* Is there nothing at all to say? */
bool preview_no_change(const struct preview *p);

/* Write the preview for people (preview_text.c). */
void preview_print_text(const struct preview *p, FILE *f);
/* Write it as one JSON document. Returns 0, or -1 if it cannot be encoded. */
int preview_print_json(const struct preview *p, FILE *f);

#endif
