/*
 * alertstore.c - the alerts owed, as the state store records them: the stages
 * of each clock (alerted or skipped), each alert with its text and one
 * pending delivery per recipient, and threshold keys over their limit.
 */
#include "alertstore.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "statestore_impl.h"

/* The statements of this file. */
const struct statestore_sql alertstore_statements[] = {
    {offsetof(struct statestore, q_recorded), false,
     /* A NULL stage: the clock is recorded as closed (closing.c). */
     "SELECT stage FROM clock_stage WHERE rule = ?1 AND case_ref = ?2 AND start = ?3 UNION ALL "
     "SELECT NULL FROM closed_clock WHERE rule = ?1 AND case_ref = ?2 AND start = ?3 AND "
     "reopened_on IS NULL"},
    {offsetof(struct statestore, q_stage), true,
     "INSERT INTO clock_stage (rule, case_ref, start, stage, status, alert_id, recorded_at) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"},
    {offsetof(struct statestore, q_alert), true,
     "INSERT INTO alert (rule, title, case_ref, start, stage, due, fires, days_late, subject, "
     "body, fields, created_at, expected, status, label, case_url, urgency) VALUES (?1, ?2, ?3, "
     "?4, ?5, ?6, ?7, ?8, ?10, ?11, ?12, ?9, ?13, ?14, ?15, ?16, ?17) RETURNING id"},
    {offsetof(struct statestore, q_delivery), true,
     "INSERT INTO delivery (alert_id, kind, recipient, status, next_attempt, copied, copied_on, "
     "queued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
    {offsetof(struct statestore, q_thr_get), false,
     "SELECT 1 FROM threshold_state WHERE rule = ?1 AND key = ?2"},
    {offsetof(struct statestore, q_thr_set), true,
     "INSERT INTO threshold_state (rule, key, since, pass) VALUES (?1, ?2, ?4, ?3) ON CONFLICT "
     "(rule, key) DO UPDATE SET pass = ?3"},
    {offsetof(struct statestore, q_thr_clear), true,
     "DELETE FROM threshold_state WHERE rule = ?1 AND key = ?2"},
    {offsetof(struct statestore, q_thr_sweep), true,
     "DELETE FROM threshold_state WHERE rule = ?1 AND pass != ?2"},
};
const size_t alertstore_nstatements =
    sizeof alertstore_statements / sizeof alertstore_statements[0];

/* Which stages are already recorded for a clock. */
int
alertstore_recorded(struct statestore *ss, const struct rule *r, const char *case_ref, date_t start,
                    bool *recorded, bool *closed, char **cause)
{
	char sbuf[DATE_STRLEN];
	struct dbstmt *st = ss->q_recorded;
	int rc = DB_DONE;

	memset(recorded, 0, r->nstages * sizeof *recorded);
	if (closed != NULL)
		*closed = false;
	if (ss->db == NULL)
		return 0;
	date_format(start, sbuf);
	/*
	 * The rule's id, then each id it was renamed from (renamed_from: the service moves
	 * those records to the new id when it loads the rules, but --once and dry runs read
	 * them where they are). A rule without renamed_from runs the statement once.
	 */
	for (size_t k = 0; k <= r->nrenamed && rc == DB_DONE; k++) {
		db_bind_text(st, 1, k == 0 ? r->id : r->renamed_from[k - 1], -1, DB_STATIC);
		db_bind_text(st, 2, case_ref, -1, DB_STATIC);
		db_bind_text(st, 3, sbuf, -1, DB_STATIC);
		while ((rc = db_step(st)) == DB_ROW) {
			const char *stage = db_column_text(st, 0);
			/*
			 * A stage removed since it was recorded no longer counts; one renamed
			 * counts as its new name only if the rule says renamed_from.
			 */
			int i = stage != NULL ? rule_stage_recorded(r, stage) : -1;

			if (i >= 0)
				recorded[i] = true;
			else if (stage == NULL && closed != NULL && k == 0)
				*closed = true;
		}
		db_reset(st);
		db_clear_bindings(st);
	}
	if (rc != DB_DONE)
		return statestore_fail(ss, cause, "reading recorded stages");
	return 0;
}

/* Insert one clock_stage row. */
static int
alertstore_stage(struct statestore *ss, const struct alert *a, const char *start, int stage,
                 const char *status, long long alert_id, const char *now, char **cause)
{
	struct dbstmt *st = ss->q_stage;

	db_bind_text(st, 1, a->rule->id, -1, DB_STATIC);
	db_bind_text(st, 2, a->case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, start, -1, DB_STATIC);
	db_bind_text(st, 4, a->rule->stages[stage].name, -1, DB_STATIC);
	db_bind_text(st, 5, status, -1, DB_STATIC);
	if (alert_id > 0)
		db_bind_int64(st, 6, alert_id);
	else
		db_bind_null(st, 6);
	db_bind_text(st, 7, now, -1, DB_STATIC);
	return statestore_step_done(ss, st, cause, "recording a stage");
}

/*
 * Insert one delivery of alert_id to rc: held for a digest until digest_at,
 * or pending now; copied (the skipped stage's label) and its date, or NULL.
 */
static int
alertstore_delivery(struct statestore *ss, long long alert_id, const struct recipient *rc,
                    bool held, long long digest_at, const char *copied, date_t copied_on,
                    char **cause)
{
	struct dbstmt *st = ss->q_delivery;
	char on[DATE_STRLEN];

	db_bind_int64(st, 1, alert_id);
	db_bind_text(st, 2, channel_name(rc->kind), -1, DB_STATIC);
	db_bind_text(st, 3, rc->address, -1, DB_STATIC);
	db_bind_text(st, 4, held ? "held" : "pending", -1, DB_STATIC);
	db_bind_int64(st, 5, held ? digest_at : 0);
	if (copied != NULL) {
		db_bind_text(st, 6, copied, -1, DB_STATIC);
		db_bind_text(st, 7, date_format(copied_on, on), -1, DB_TRANSIENT);
	}
	db_bind_int64(st, 8, (long long)time(NULL));
	return statestore_step_done(ss, st, cause, "recording a delivery");
}

/* Record an alert, its skipped stages and its deliveries. */
int
alertstore_record(struct statestore *ss, const struct alert *a, const bool *recorded,
                  long long *alert_id, char **cause)
{
	char start[DATE_STRLEN], due[DATE_STRLEN], fires[DATETIME_STRLEN], now[32];
	struct dbstmt *st;

	*alert_id = 0;
	if (ss->db == NULL || ss->readonly)
		return 0;
	statestore_utc_now(now, sizeof now);
	date_format(a->start, start);

	st = ss->q_alert;
	db_bind_text(st, 1, a->rule->id, -1, DB_STATIC);
	db_bind_text(st, 2, a->rule->title, -1, DB_STATIC);
	db_bind_text(st, 3, a->case_ref, -1, DB_STATIC);
	db_bind_text(st, 4, start, -1, DB_STATIC);
	db_bind_text(st, 5, a->rule->stages[a->stage].name, -1, DB_STATIC);
	db_bind_text(st, 6, date_format(a->due, due), -1, DB_STATIC);
	db_bind_text(st, 7, localtime_format(a->fires, fires), -1, DB_STATIC);
	db_bind_int(st, 8, a->days_late);
	db_bind_text(st, 9, now, -1, DB_STATIC);
	db_bind_text(st, 10, a->subject, -1, DB_STATIC);
	db_bind_text(st, 11, a->body, -1, DB_STATIC);
	if (a->fields != NULL)
		db_bind_text(st, 12, a->fields, -1, DB_STATIC);
	if (a->expected != NULL)
		db_bind_text(st, 13, a->expected, -1, DB_STATIC);
	if (a->status != NULL)
		db_bind_text(st, 14, a->status, -1, DB_STATIC);
	db_bind_text(st, 15, a->label != NULL ? a->label : a->rule->stages[a->stage].label, -1,
	             DB_STATIC);
	if (a->case_url != NULL)
		db_bind_text(st, 16, a->case_url, -1, DB_STATIC);
	db_bind_text(st, 17, eval_urgency_name(a->urgency), -1, DB_STATIC);
	if (statestore_step_id(ss, st, alert_id, cause, "recording an alert") != 0)
		return -1;

	if (alertstore_stage(ss, a, start, a->stage, "alerted", *alert_id, now, cause) != 0)
		return -1;
	for (int i = 0; i < a->stage; i++)
		if (!recorded[i] &&
		    alertstore_stage(ss, a, start, i, "skipped", 0, now, cause) != 0)
			return -1;

	for (size_t i = 0; i < a->nrecipients; i++)
		if (alertstore_delivery(ss, *alert_id, &a->recipients[i],
		                        a->held != NULL && a->held[i], a->digest_at, NULL, 0,
		                        cause) != 0)
			return -1;
	for (size_t i = 0; i < a->ncopied; i++)
		if (alertstore_delivery(ss, *alert_id, &a->copied[i],
		                        a->copied_held != NULL && a->copied_held[i], a->digest_at,
		                        a->rule->stages[a->copied_stage[i]].label, a->copied_on[i],
		                        cause) != 0)
			return -1;
	return 0;
}

/* Threshold rules: is key recorded as over the limit? */
int
alertstore_threshold_get(struct statestore *ss, const char *rule, const char *key, bool *over,
                         char **cause)
{
	struct dbstmt *st = ss->q_thr_get;
	int rc;

	*over = false;
	if (ss->db == NULL)
		return 0;
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_text(st, 2, key, -1, DB_STATIC);
	rc = db_step(st);
	*over = rc == DB_ROW;
	db_reset(st);
	db_clear_bindings(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return statestore_fail(ss, cause, "reading threshold state");
	return 0;
}

/* Record key as over the limit, or back within it. */
int
alertstore_threshold_set(struct statestore *ss, const char *rule, const char *key, bool over,
                         long long pass, char **cause)
{
	struct dbstmt *st = over ? ss->q_thr_set : ss->q_thr_clear;
	char now[32];

	if (ss->db == NULL || ss->readonly)
		return 0;
	statestore_utc_now(now, sizeof now);
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_text(st, 2, key, -1, DB_STATIC);
	if (over) {
		db_bind_int64(st, 3, pass);
		db_bind_text(st, 4, now, -1, DB_STATIC);
	}
	return statestore_step_done(ss, st, cause, "recording threshold state");
}

/* Forget keys over the limit that this pass did not see. */
int
alertstore_threshold_sweep(struct statestore *ss, const char *rule, long long pass, char **cause)
{
	struct dbstmt *st = ss->q_thr_sweep;

	if (ss->db == NULL || ss->readonly)
		return 0;
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_int64(st, 2, pass);
	return statestore_step_done(ss, st, cause, "clearing threshold state");
}
