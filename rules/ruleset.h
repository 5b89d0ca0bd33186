/* ruleset.h - rule files: what is due when, and who is told at each stage. */
#ifndef ESCALATOR_RULESET_H
#define ESCALATOR_RULESET_H

#include <stdbool.h>
#include <stddef.h>

#include "channel.h"
#include "diag.h"
#include "duration.h"
#include "template.h"

/* One name in a stage's notify list, resolved at load time. */
struct notify_ref {
	char *name;
	int column;        /* index of <name>_email in the query, or -1 */
	enum channel kind; /* when column == -1 */
	char *address;     /* when column == -1: the contact's address or URL */
};

struct stage {
	char *name;
	struct duration at;        /* offset from the due date */
	struct template *expected; /* what is expected at this stage, or NULL: the rule's */
	struct notify_ref *notify;
	size_t nnotify;
	/*
	 * What people read for this stage ("Overdue: team manager"); the
	 * default is made from the name ("escalated-hos" -> "Escalated hos").
	 */
	char *label;
	/* Sent on its own at once, never held for a digest. */
	bool immediate;
	/*
	 * Names the stage had before (renamed_from): what the state store
	 * recorded under them counts as this stage's, so nothing is sent again.
	 */
	char **renamed_from;
	size_t nrenamed;
	int line;
};

enum rule_kind {
	RULE_CLOCK,     /* each row is a clock: case_ref, start; stages after a due date */
	RULE_THRESHOLD, /* each row is a key and a value; alert when it crosses a limit */
};

struct rule {
	enum rule_kind kind;
	char *id;
	char *title;
	char *query;
	struct duration due; /* offset from the start date */
	bool working_days_only;
	/*
	 * Clock rules: an "action agreed" answer holds the stages after the
	 * answered one until the working day after the agreed date, each for at
	 * most max_hold after its own date (eval_hold_until). Off by default:
	 * only where the rule file says hold = true.
	 */
	bool hold;
	struct duration max_hold; /* days, working days or weeks, > 0; set when hold */
	struct stage *stages;
	size_t nstages;

	struct template *subject;  /* email subject (the default when not set) */
	struct template *body;     /* email body (the default when not set) */
	struct template *expected; /* what the recipient is expected to do */
	struct template *case_url; /* link to the case, or NULL: escalator.conf's case_url */
	char **fields;             /* query columns a webhook payload may carry */
	int *field_cols;
	size_t nfields;

	/* Filled from the compiled query. */
	char **columns;
	size_t ncolumns;
	int case_ref_col; /* threshold rules: the key column */
	int start_col;    /* threshold rules: -1 */
	int value_col;    /* threshold rules: the value column, else -1 */

	/* Threshold rules: one stage ("above" or "below") holds notify and expected. */
	double limit;
	bool below; /* alert when value < limit, instead of value > limit */

	/*
	 * Ids the rule had before (renamed_from): its clocks' records under them
	 * are its own. stage_renames: some stage has renamed_from (only then is a
	 * recorded name that is not a stage's looked up again).
	 */
	char **renamed_from;
	size_t nrenamed;
	int renamed_line;
	bool stage_renames;

	/*
	 * Clock rules, for the annual report (issue 16): history is a query of
	 * the clocks that completed, one row each with the columns case_ref,
	 * start and done (their indexes below, -1 until compiled); target is
	 * the percentage on time the council aims for, or -1 when not set.
	 */
	char *history;
	int history_line;
	int history_case_col, history_start_col, history_done_col;
	double target;

	char *file;
	int line;
};

struct ruleset {
	struct rule *rules;
	size_t nrules;
	char **files; /* the rule files read, in the order they were loaded */
	size_t nfiles;
};

/*
 * The case store's side of loading: compile sql (one read-only statement) and
 * return its result column names (allocated array of allocated strings). On
 * failure return -1 with *cause an allocated message.
 */
typedef int (*ruleset_query_fn)(void *arg, const char *sql, char ***columns, size_t *ncolumns,
                                char **cause);

/*
 * The configuration's side of loading: if name is a contact, set *ch and
 * *address (borrowed until loading ends) and return 0; else return -1.
 */
typedef int (*ruleset_contact_fn)(void *arg, const char *name, enum channel *ch,
                                  const char **address);

/* What rule files are checked against while they load. */
struct ruleset_env {
	ruleset_query_fn compile; /* NULL: queries are not checked */
	void *compile_arg;
	ruleset_contact_fn contact; /* NULL: no contacts */
	void *contact_arg;
	const char *contacts_file; /* where contacts are defined, for messages */
};

/*
 * Load every "*.conf" file in dir, in name order, checking each query with
 * env->compile and every notify name against the row's columns and
 * env->contact. Every problem is reported to d as "file:line: message";
 * returns NULL if there was any error at all.
 */
struct ruleset *ruleset_load_dir(const char *dir, const struct ruleset_env *env, struct diag *d);
/* Load one file into rs (used by ruleset_load_dir and tests). */
int ruleset_load_file(struct ruleset *rs, const char *path, const struct ruleset_env *env,
                      struct diag *d);
struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);
/* Index of the stage called name in r, or -1. */
int rule_stage_index(const struct rule *r, const char *name);
/*
 * Index of the stage of r that a record naming stage name belongs to: the
 * stage called name, else the stage renamed from name; -1 if none.
 */
int rule_stage_recorded(const struct rule *r, const char *name);
/* Is id one of the ids r was renamed from? */
bool rule_renamed_from(const struct rule *r, const char *id);
/* Index of the column called name in r's query, or -1. */
int rule_column_index(const struct rule *r, const char *name);
/*
 * The label a stage called name has when its rule gives none: '-' and '_'
 * as spaces, the first letter upper-case ("escalated-hos" -> "Escalated
 * hos"). Allocated.
 */
char *stage_default_label(const char *name);
/* Is s a valid rule id ([a-z0-9-]+, starting with a letter or digit, at most 64)? */
bool ruleset_valid_id(const char *s);

#endif
