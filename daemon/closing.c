/*
 * closing.c - clocks that were alerted and are now done. A pass remembers
 * the key of every row of a clock rule (closing_key: 8 bytes a row, no
 * write); when the rule's rows have all been read, each alerted clock not
 * among them is recorded in closed_clock, and each person who was told about
 * it gets a note held for their next digest ("done since your last
 * message"). A rule whose query failed or was stopped is not swept: a
 * missing row then proves nothing.
 */
#include "closing.h"

#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "log.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* The statements of this file. */
const struct statestore_sql closing_statements[] = {
    /* The alerted clocks of rule ?1 not recorded closed, with their latest alert. */
    {offsetof(struct statestore, q_close_open), false,
     "SELECT k.case_ref, k.start, a.due, a.title, coalesce(a.label, a.stage), a.stage, "
     "k.alert_id FROM (SELECT cs.case_ref, cs.start, max(cs.alert_id) AS alert_id FROM "
     "clock_stage cs WHERE cs.rule = ?1 AND cs.status = 'alerted' AND NOT EXISTS (SELECT 1 "
     "FROM closed_clock c WHERE c.rule = ?1 AND c.case_ref = cs.case_ref AND c.start = "
     "cs.start AND c.reopened_on IS NULL) GROUP BY cs.case_ref, cs.start) k LEFT JOIN alert a "
     "ON a.id = k.alert_id"},
    {offsetof(struct statestore, q_close_add), true,
     "INSERT INTO closed_clock (rule, case_ref, start, title, due, last_stage, label, "
     "closed_on, days_late, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON "
     "CONFLICT (rule, case_ref, start) DO UPDATE SET title = excluded.title, due = "
     "excluded.due, last_stage = excluded.last_stage, label = excluded.label, closed_on = "
     "excluded.closed_on, days_late = excluded.days_late, recorded_at = excluded.recorded_at, "
     "reopened_on = NULL RETURNING id"},
    /* Who was told about the clock (or is about to be): not those that failed for good. */
    {offsetof(struct statestore, q_close_told), false,
     "SELECT DISTINCT d.kind, d.recipient FROM alert a JOIN delivery d ON d.alert_id = a.id "
     "WHERE a.rule = ?1 AND a.case_ref = ?2 AND a.start = ?3 AND d.status != 'failed'"},
    {offsetof(struct statestore, q_close_note), true,
     "INSERT INTO delivery (closed_id, kind, recipient, status, next_attempt) VALUES (?1, ?2, "
     "?3, 'held', ?4)"},
    {offsetof(struct statestore, q_reopen), true,
     "UPDATE closed_clock SET reopened_on = ?4 WHERE rule = ?1 AND case_ref = ?2 AND start = "
     "?3 AND reopened_on IS NULL"},
};
const size_t closing_nstatements = sizeof closing_statements / sizeof closing_statements[0];

/* The key a clock is remembered by: FNV-1a over the case reference and the start. */
uint64_t
closing_key(const char *case_ref, date_t start)
{
	uint64_t h = 14695981039346656037ULL;
	uint32_t s = (uint32_t)start;

	for (const unsigned char *p = (const unsigned char *)case_ref; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	for (int i = 0; i < 4; i++) {
		h ^= (s >> (8 * i)) & 0xff;
		h *= 1099511628211ULL;
	}
	return h;
}

/* qsort order of keys. */
static int
closing_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

/* Is key in seen[0..n) (sorted)? */
static bool
closing_seen(const uint64_t *seen, size_t n, uint64_t key)
{
	return bsearch(&key, seen, n, sizeof *seen, closing_cmp) != NULL;
}

/* A clock to record closed. */
struct closing_clock {
	char *case_ref, *start, *due, *title, *label, *stage;
};

/* Free what a closing_clock holds. */
static void
closing_clear(struct closing_clock *c)
{
	free(c->case_ref);
	free(c->start);
	free(c->due);
	free(c->title);
	free(c->label);
	free(c->stage);
}

/* Record one clock of rule as closed and hold a note for each person told of it. */
static int
closing_record(struct statestore *ss, const struct config *cfg, const struct rule *r,
               const struct calendar *cal, const struct closing_clock *c, date_t today,
               long long digest_at, char **cause)
{
	struct dbstmt *st = ss->q_close_add;
	char on[DATE_STRLEN], now[32];
	date_t due;
	long long id = 0;
	int late = 0, rc;

	if (c->due != NULL && date_parse(c->due, &due) == 0)
		late = eval_working_days_late(cal, due, today);
	statestore_utc_now(now, sizeof now);
	db_bind_text(st, 1, r->id, -1, DB_STATIC);
	db_bind_text(st, 2, c->case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, c->start, -1, DB_STATIC);
	db_bind_text(st, 4, c->title != NULL ? c->title : r->title, -1, DB_STATIC);
	if (c->due != NULL)
		db_bind_text(st, 5, c->due, -1, DB_STATIC);
	if (c->stage != NULL)
		db_bind_text(st, 6, c->stage, -1, DB_STATIC);
	if (c->label != NULL)
		db_bind_text(st, 7, c->label, -1, DB_STATIC);
	db_bind_text(st, 8, date_format(today, on), -1, DB_STATIC);
	db_bind_int(st, 9, late);
	db_bind_text(st, 10, now, -1, DB_STATIC);
	if ((rc = db_step(st)) == DB_ROW)
		id = db_column_int64(st, 0);
	/* RETURNING: the statement ends after its one row. */
	while (rc == DB_ROW)
		rc = db_step(st);
	db_reset(st);
	db_clear_bindings(st);
	if (rc != DB_DONE || id == 0)
		return statestore_fail(ss, cause, "recording a closed clock");

	/* Read who was told first: the notes are written after the read ends. */
	struct {
		char *kind, *recipient;
	} *told = NULL;
	size_t n = 0, cap = 0;

	st = ss->q_close_told;
	db_bind_text(st, 1, r->id, -1, DB_STATIC);
	db_bind_text(st, 2, c->case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, c->start, -1, DB_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			told = xreallocarray(told, cap, sizeof *told);
		}
		told[n].kind = statestore_col(st, 0);
		told[n].recipient = statestore_col(st, 1);
		n++;
	}
	db_reset(st);
	db_clear_bindings(st);
	if (rc != DB_DONE)
		rc = statestore_fail(ss, cause, "reading who was told of a closed clock");
	else
		rc = 0;
	for (size_t i = 0; i < n; i++) {
		st = ss->q_close_note;
		/* A note is a digest item: a Notify contact without digest_template cannot take
		 * one. */
		bool takes = cfg == NULL || told[i].kind == NULL ||
		             strcmp(told[i].kind, "notify") != 0 ||
		             config_digest_for(cfg, told[i].recipient);

		if (rc == 0 && takes && told[i].kind != NULL && told[i].recipient != NULL) {
			db_bind_int64(st, 1, id);
			db_bind_text(st, 2, told[i].kind, -1, DB_STATIC);
			db_bind_text(st, 3, told[i].recipient, -1, DB_STATIC);
			db_bind_int64(st, 4, digest_at);
			rc = statestore_step_done(ss, st, cause, "recording a closed clock's note");
		}
		free(told[i].kind);
		free(told[i].recipient);
	}
	free(told);
	return rc;
}

/* Record as closed every alerted clock of r whose row was not seen. */
int
closing_sweep(struct statestore *ss, const struct config *cfg, const struct rule *r,
              const struct calendar *cal, uint64_t *seen, size_t n, date_t today,
              long long digest_at, long long *nclosed, char **cause)
{
	struct dbstmt *st = ss->q_close_open;
	struct closing_clock *gone = NULL;
	size_t ngone = 0, cap = 0;
	int rc;

	if (!statestore_records(ss) || r->kind != RULE_CLOCK)
		return 0;
	qsort(seen, n, sizeof *seen, closing_cmp);
	db_bind_text(st, 1, r->id, -1, DB_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *case_ref = db_column_text(st, 0);
		const char *start = db_column_text(st, 1);
		date_t sd;

		if (case_ref == NULL || start == NULL || date_parse(start, &sd) != 0 ||
		    closing_seen(seen, n, closing_key(case_ref, sd)))
			continue;
		if (ngone == cap) {
			cap = cap ? cap * 2 : 16;
			gone = xreallocarray(gone, cap, sizeof *gone);
		}
		gone[ngone].case_ref = xstrdup(case_ref);
		gone[ngone].start = xstrdup(start);
		gone[ngone].due = statestore_col(st, 2);
		gone[ngone].title = statestore_col(st, 3);
		gone[ngone].label = statestore_col(st, 4);
		gone[ngone].stage = statestore_col(st, 5);
		ngone++;
	}
	db_reset(st);
	db_clear_bindings(st);
	rc = rc == DB_DONE ? 0 : statestore_fail(ss, cause, "reading the alerted clocks");
	for (size_t i = 0; i < ngone; i++) {
		if (rc == 0 &&
		    closing_record(ss, cfg, r, cal, &gone[i], today, digest_at, cause) != 0)
			rc = -1;
		closing_clear(&gone[i]);
	}
	free(gone);
	if (rc == 0) {
		*nclosed += (long long)ngone;
		if (ngone > 0)
			log_info(
			    "rule=%s: %zu alerted clock%s no longer in the case store: recorded "
			    "as done; those told will hear in their next digest",
			    r->id, ngone, ngone == 1 ? "" : "s");
	}
	return rc;
}

/* A clock recorded closed has a row again. */
int
closing_reopen(struct statestore *ss, const char *rule, const char *case_ref, date_t start,
               date_t today, char **cause)
{
	struct dbstmt *st = ss->q_reopen;
	char sbuf[DATE_STRLEN], tbuf[DATE_STRLEN];

	if (!statestore_records(ss))
		return 0;
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_text(st, 2, case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, date_format(start, sbuf), -1, DB_STATIC);
	db_bind_text(st, 4, date_format(today, tbuf), -1, DB_STATIC);
	return statestore_step_done(ss, st, cause, "recording a clock reopened");
}
