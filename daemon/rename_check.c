/*
 * rename_check.c - --check's warning about a rename that would send alerts
 * again.
 *
 * A stage's records are keyed by its name (and its rule's id): rename either
 * without renamed_from and every open clock that had the stage is owed it
 * again. The names compared are those of the rules the running service has
 * loaded (snapshot.c), so the warning is about this edit only and stops once
 * the service runs the new rules. Without that record (a service never
 * started since this version, or one run only with --once), the stage names
 * recorded for each rule are compared instead: a GROUP BY over the rule's
 * range of clock_stage's primary key. Either way a name is counted (open
 * clocks only) only once it is known to be gone, so the usual check, where
 * nothing is gone, costs one look-up of the record and nothing per clock.
 */
#include "rename_check.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "statestore_impl.h"
#include "xalloc.h"

/*
 * Open clocks (not recorded as done) of rule ?1 that have stage ?2 recorded
 * and none of the stages after it (?3: a JSON array of their names), i.e.
 * whose latest alert was that stage: those are the clocks sent it again.
 */
static const char rename_check_stage_sql[] =
    "SELECT count(*) FROM clock_stage cs WHERE cs.rule = ?1 AND cs.stage = ?2 AND NOT EXISTS "
    "(SELECT 1 FROM closed_clock c WHERE c.rule = cs.rule AND c.case_ref = cs.case_ref AND "
    "c.start = cs.start AND c.reopened_on IS NULL) AND NOT EXISTS (SELECT 1 FROM clock_stage l "
    "WHERE l.rule = cs.rule AND l.case_ref = cs.case_ref AND l.start = cs.start AND l.stage IN "
    "(SELECT value FROM json_each(?3)))";
/* The same on PostgreSQL. */
static const char rename_check_stage_pg_sql[] =
    "SELECT count(*) FROM clock_stage cs WHERE cs.rule = ?1 AND cs.stage = ?2 AND NOT EXISTS "
    "(SELECT 1 FROM closed_clock c WHERE c.rule = cs.rule AND c.case_ref = cs.case_ref AND "
    "c.start = cs.start AND c.reopened_on IS NULL) AND NOT EXISTS (SELECT 1 FROM clock_stage l "
    "WHERE l.rule = cs.rule AND l.case_ref = cs.case_ref AND l.start = cs.start AND l.stage IN "
    "(SELECT json_array_elements_text(CAST(?3 AS json))))";
/* Open clocks of rule ?1, and its keys over the limit (threshold rules). */
static const char rename_check_rule_sql[] =
    "SELECT (SELECT count(*) FROM (SELECT DISTINCT case_ref, start FROM clock_stage cs WHERE "
    "cs.rule = ?1 AND NOT EXISTS (SELECT 1 FROM closed_clock c WHERE c.rule = ?1 AND "
    "c.case_ref = cs.case_ref AND c.start = cs.start AND c.reopened_on IS NULL)) k) + (SELECT "
    "count(*) FROM threshold_state WHERE rule = ?1)";
/* The stage names recorded for rule ?1 (the fallback). */
static const char rename_check_names_sql[] =
    "SELECT stage FROM clock_stage WHERE rule = ?1 GROUP BY stage";

/* The one integer sql gives with a, b and c (b, c may be NULL) bound; -1 if it fails. */
static long long
rename_check_count(struct statestore *ss, const char *sql, const char *a, const char *b,
                   const char *c)
{
	struct dbstmt *st;
	long long n = -1;

	if (db_prepare(ss->db, sql, &st) != DB_OK)
		return -1;
	db_bind_text(st, 1, a, -1, DB_STATIC);
	if (b != NULL)
		db_bind_text(st, 2, b, -1, DB_STATIC);
	db_bind_text(st, 3, c != NULL ? c : "[]", -1, DB_STATIC);
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

/*
 * The stage of r that looks like what old became: the one stage whose name
 * before (in was, the rule as the service runs it; NULL: unknown) is not a
 * name r knew, if exactly one is new. NULL otherwise.
 */
static const struct stage *
rename_check_guess(const struct rule *r, const struct rule *was)
{
	const struct stage *found = NULL;

	if (was == NULL)
		return NULL;
	for (size_t i = 0; i < r->nstages; i++) {
		if (rule_stage_index(was, r->stages[i].name) >= 0 || r->stages[i].nrenamed > 0)
			continue;
		if (found != NULL)
			return NULL;
		found = &r->stages[i];
	}
	return found;
}

/*
 * Warn about stage old of rule r if open clocks have it recorded. With was
 * (the rule as the service runs it), only the clocks whose latest alert was
 * that stage count: a clock past it owes it nothing again.
 */
static void
rename_check_stage(struct statestore *ss, const struct rule *r, const struct rule *was,
                   const char *id, const char *old, struct diag *d)
{
	json_t *later = json_array();
	const struct stage *guess = rename_check_guess(r, was);
	const char *how;
	char *names;
	long long n;
	int i = was != NULL ? rule_stage_index(was, old) : -1;

	for (size_t j = i >= 0 ? (size_t)i + 1 : 0; i >= 0 && j < was->nstages; j++)
		json_array_append_new(later, json_string(was->stages[j].name));
	names = json_dumps(later, JSON_COMPACT);
	json_decref(later);
	n = rename_check_count(
	    ss, db_is_pg(ss->db) ? rename_check_stage_pg_sql : rename_check_stage_sql, id, old,
	    names);
	free(names);
	if (n <= 0)
		return;
	if (was != NULL)
		how = n == 1 ? "was last alerted at it" : "were last alerted at it";
	else
		how = n == 1 ? "has it recorded" : "have it recorded";
	if (guess != NULL)
		diag_add(d, DIAG_WARNING,
		         "%s:%d: rule \"%s\": stage \"%s\" is gone but %lld open clock%s %s; if "
		         "it is now \"%s\", add renamed_from = \"%s\" to that stage, or those "
		         "alerts will be sent again",
		         r->file, guess->line, r->id, old, n, n == 1 ? "" : "s", how, guess->name,
		         old);
	else
		diag_add(d, DIAG_WARNING,
		         "%s:%d: rule \"%s\": stage \"%s\" is gone but %lld open clock%s %s; if "
		         "it was renamed, add renamed_from = \"%s\" to the new stage, or those "
		         "alerts will be sent again",
		         r->file, r->line, r->id, old, n, n == 1 ? "" : "s", how, old);
}

/* The rule of rs that o's clocks belong to: o's id, or renamed from it; NULL if none. */
static const struct rule *
rename_check_find(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].id, id) == 0 || rule_renamed_from(&rs->rules[i], id))
			return &rs->rules[i];
	return NULL;
}

/* Against the rules the service runs (was): what the edit (rs) drops. */
static void
rename_check_loaded(struct statestore *ss, const struct ruleset *rs, const struct ruleset *was,
                    struct diag *d)
{
	for (size_t i = 0; i < was->nrules; i++) {
		const struct rule *o = &was->rules[i];
		const struct rule *r = rename_check_find(rs, o->id);
		long long n;

		if (r == NULL) {
			n = rename_check_count(ss, rename_check_rule_sql, o->id, NULL, NULL);
			if (n > 0 && o->kind == RULE_THRESHOLD)
				diag_add(
				    d, DIAG_WARNING,
				    "%s:%d: rule \"%s\" is gone (it is at this line in the rules "
				    "escalatord runs) but %lld key%s %s recorded over its limit; "
				    "if "
				    "it was renamed, add renamed_from = \"%s\" to the rule with "
				    "the "
				    "new id, or those keys will be alerted again",
				    o->file, o->line, o->id, n, n == 1 ? "" : "s",
				    n == 1 ? "is" : "are", o->id);
			else if (n > 0)
				diag_add(
				    d, DIAG_WARNING,
				    "%s:%d: rule \"%s\" is gone (it is at this line in the rules "
				    "escalatord runs) but %lld open clock%s %s it recorded; if it "
				    "was renamed, add renamed_from = \"%s\" to the rule with the "
				    "new id, or those alerts will be sent again",
				    o->file, o->line, o->id, n, n == 1 ? "" : "s",
				    n == 1 ? "has" : "have", o->id);
			continue;
		}
		if (o->kind != RULE_CLOCK || r->kind != RULE_CLOCK)
			continue;
		for (size_t j = 0; j < o->nstages; j++)
			if (rule_stage_recorded(r, o->stages[j].name) < 0)
				rename_check_stage(ss, r, o, o->id, o->stages[j].name, d);
	}
}

/* Without the service's record: every stage name recorded for each rule. */
static void
rename_check_recorded(struct statestore *ss, const struct ruleset *rs, struct diag *d)
{
	struct dbstmt *st;

	if (db_prepare(ss->db, rename_check_names_sql, &st) != DB_OK)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->kind != RULE_CLOCK)
			continue;
		for (size_t k = 0; k <= r->nrenamed; k++) {
			const char *id = k == 0 ? r->id : r->renamed_from[k - 1];
			char **gone = NULL;
			size_t ngone = 0;

			db_bind_text(st, 1, id, -1, DB_STATIC);
			while (db_step(st) == DB_ROW) {
				const char *name = db_column_text(st, 0);

				if (name != NULL && rule_stage_recorded(r, name) < 0) {
					gone = xreallocarray(gone, ngone + 1, sizeof *gone);
					gone[ngone++] = xstrdup(name);
				}
			}
			db_reset(st);
			for (size_t j = 0; j < ngone; j++) {
				rename_check_stage(ss, r, NULL, id, gone[j], d);
				free(gone[j]);
			}
			free(gone);
		}
	}
	db_finalize(st);
}

/* Warn about renames that would send alerts again. */
void
rename_check(const struct engine *e, struct diag *d)
{
	struct ruleset_env env = {0}; /* names only: no queries compiled, no contacts */
	struct snapshot *snap = NULL;
	struct ruleset *was = NULL;
	struct statestore *ss;
	const char *why;
	char *cause = NULL;
	struct diag own;

	if ((ss = statestore_open(engine_config(e)->state, true, &cause)) == NULL) {
		diag_add(d, DIAG_WARNING,
		         "renamed stages were not checked against what was sent: %s", cause);
		free(cause);
		return;
	}
	if (ss->db == NULL) { /* nothing recorded yet: nothing can be sent again */
		statestore_close(ss);
		return;
	}
	diag_init(&own);
	if (snapshot_read(ss, &snap, &why, &cause) < 0) {
		free(cause); /* then compare with what is recorded */
		cause = NULL;
	} else if (snap != NULL)
		was = snapshot_rules(snap, &env, &own);
	diag_free(&own);
	if (was != NULL)
		rename_check_loaded(ss, engine_rules(e), was, d);
	else
		rename_check_recorded(ss, engine_rules(e), d);
	ruleset_free(was);
	snapshot_free(snap);
	statestore_close(ss);
}
