/*
 * renames.c - carrying history over a rename in the state store itself.
 *
 * alertstore_recorded and the hold look-up already count a record made under
 * an old name (renamed_from) as the new name's, which is enough to send
 * nothing again. The service moves the records too, when it loads the rules,
 * so that everything else keyed by the name follows: closing (a renamed
 * rule's clocks are swept under its new id), the history and answers every
 * message shows, holds, threshold keys, status and explain; and so that
 * renamed_from may later be deleted from the rule file without anything being
 * sent again. The alerts' text, title and label stay as they were sent.
 */
#include "renames.h"

#include <stdlib.h>

#include "log.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* A rule's old id ?2 becomes ?1. (OR IGNORE: a row the new id already has stays as it was.) */
static const char *const renames_rule_sql[] = {
    "UPDATE OR IGNORE clock_stage SET rule = ?1 WHERE rule = ?2",
    "UPDATE alert SET rule = ?1 WHERE rule = ?2",
    "UPDATE OR IGNORE closed_clock SET rule = ?1 WHERE rule = ?2",
    "UPDATE response SET rule = ?1 WHERE rule = ?2",
    "UPDATE OR IGNORE threshold_state SET rule = ?1 WHERE rule = ?2",
};
/* Rule ?1's stage called ?3 is now called ?2. */
static const char *const renames_stage_sql[] = {
    "UPDATE OR IGNORE clock_stage SET stage = ?2 WHERE rule = ?1 AND stage = ?3",
    "UPDATE alert SET stage = ?2 WHERE rule = ?1 AND stage = ?3",
    "UPDATE closed_clock SET last_stage = ?2 WHERE rule = ?1 AND last_stage = ?3",
    "UPDATE response SET stage = ?2 WHERE rule = ?1 AND stage = ?3",
};
#define RENAMES_N(a) (sizeof(a) / sizeof((a)[0]))

/* Run the n statements of sql with a, b, c (c may be NULL) bound; add the rows changed. */
static int
renames_run(struct statestore *ss, const char *const *sql, size_t n, const char *a, const char *b,
            const char *c, long long *changed, char **cause)
{
	struct dbstmt *st;

	for (size_t i = 0; i < n; i++) {
		if (db_prepare(ss->db, sql[i], &st) != DB_OK)
			return statestore_fail(ss, cause, "moving renamed records");
		db_bind_text(st, 1, a, -1, DB_STATIC);
		db_bind_text(st, 2, b, -1, DB_STATIC);
		if (c != NULL)
			db_bind_text(st, 3, c, -1, DB_STATIC);
		if (db_step(st) != DB_DONE) {
			db_finalize(st);
			return statestore_fail(ss, cause, "moving renamed records");
		}
		*changed += db_changes(ss->db);
		db_finalize(st);
	}
	return 0;
}

/* Move one rule's records from its old ids and its stages' old names. */
static int
renames_rule(struct statestore *ss, const struct rule *r, long long *moved, char **cause)
{
	long long n;

	/* The id first: the stages' records are then all under the new id. */
	for (size_t k = 0; k < r->nrenamed; k++) {
		n = 0;
		if (renames_run(ss, renames_rule_sql, RENAMES_N(renames_rule_sql), r->id,
		                r->renamed_from[k], NULL, &n, cause) != 0)
			return -1;
		if (n > 0)
			log_notice("renamed rule=%s from=%s: %lld records moved to the new id",
			           r->id, r->renamed_from[k], n);
		*moved += n;
	}
	for (size_t i = 0; r->stage_renames && i < r->nstages; i++)
		for (size_t k = 0; k < r->stages[i].nrenamed; k++) {
			n = 0;
			if (renames_run(ss, renames_stage_sql, RENAMES_N(renames_stage_sql), r->id,
			                r->stages[i].name, r->stages[i].renamed_from[k], &n,
			                cause) != 0)
				return -1;
			if (n > 0)
				log_notice(
				    "renamed rule=%s stage=%s from=%s: %lld records moved to "
				    "the new name",
				    r->id, r->stages[i].name, r->stages[i].renamed_from[k], n);
			*moved += n;
		}
	return 0;
}

/* Move every record of an old name to the new one, in one transaction. */
int
renames_apply(struct statestore *ss, const struct ruleset *rs, long long *moved, char **cause)
{
	bool any = false;

	*moved = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].nrenamed > 0 || rs->rules[i].stage_renames)
			any = true;
	/* Nothing renamed (the usual case): not even a transaction. */
	if (!any || !statestore_records(ss))
		return 0;
	if (statestore_begin(ss, cause) != 0)
		return -1;
	for (size_t i = 0; i < rs->nrules; i++)
		if (renames_rule(ss, &rs->rules[i], moved, cause) != 0) {
			statestore_rollback(ss);
			*moved = 0;
			return -1;
		}
	if (statestore_commit(ss, cause) != 0) {
		statestore_rollback(ss);
		*moved = 0;
		return -1;
	}
	return 0;
}
