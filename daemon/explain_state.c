/*
 * explain_state.c - what the state store remembers of one clock, for
 * escalatord explain: the stages recorded, the alerts with each delivery,
 * the answers, the agreed date that may hold it, whether it was seen done.
 * Ad-hoc read statements on the store opened read-only (command_state):
 * nothing is written, and a missing state file simply remembers nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "answers.h"
#include "explain.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* Prepare sql on ss; NULL with *cause set. */
static struct dbstmt *
explain_prepare(struct statestore *ss, const char *sql, char **cause)
{
	struct dbstmt *st = NULL;

	if (db_prepare(ss->db, sql, &st) != DB_OK) {
		statestore_fail(ss, cause, "reading what is recorded");
		db_finalize(st);
		return NULL;
	}
	return st;
}

/* Bind rule, case_ref and start (NULL: any) as ?1, ?2, ?3. */
static void
explain_bind(struct dbstmt *st, const char *rule, const char *case_ref, const char *start)
{
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_text(st, 2, case_ref, -1, DB_STATIC);
	if (start != NULL && db_bind_parameter_count(st) >= 3)
		db_bind_text(st, 3, start, -1, DB_STATIC);
}

/* Finish st: 0 when it ran to its end, else -1 with *cause set. */
static int
explain_done(struct statestore *ss, struct dbstmt *st, int rc, char **cause)
{
	db_finalize(st);
	if (rc != DB_DONE)
		return statestore_fail(ss, cause, "reading what is recorded");
	return 0;
}

/* Column i as allocated text fit for a terminal, or NULL. */
static char *
explain_col(struct dbstmt *st, int i)
{
	const char *s = db_column_text(st, i);

	return s != NULL ? explain_clean(s) : NULL;
}

/*
 * A delivery's recipient as people may read it: an address, or a contact's
 * name. A store written before chat and webhook deliveries recorded their
 * contact's name may hold the URL itself, which carries a token: its
 * contact's name instead, else "webhook (host)".
 */
static char *
explain_recipient(const struct config *cfg, const char *kind, const char *recorded)
{
	char *host, *out;

	if (recorded == NULL)
		return xstrdup("?");
	if (strcmp(kind, "email") == 0 || strstr(recorded, "://") == NULL)
		return explain_clean(recorded);
	for (size_t i = 0; cfg != NULL && i < cfg->ncontacts; i++)
		if (cfg->contacts[i].url != NULL && strcmp(cfg->contacts[i].url, recorded) == 0)
			return xstrdup(cfg->contacts[i].name);
	host = addr_url_host(recorded);
	out = xasprintf("%s (%s)", kind, host != NULL ? host : "?");
	free(host);
	return out;
}

/* The deliveries of alert a. */
static int
explain_deliveries(struct statestore *ss, const struct config *cfg, struct explain_alert *a,
                   char **cause)
{
	struct dbstmt *st = explain_prepare(
	    ss,
	    "SELECT d.id, d.kind, d.recipient, d.status, d.attempts, d.sent_at, d.last_attempt, "
	    "d.last_error, d.next_attempt, d.digest_id, g.status, g.last_error, g.next_attempt, "
	    "d.copied, d.copied_on FROM delivery d LEFT JOIN delivery g ON g.id = d.digest_id "
	    "WHERE d.alert_id = ?1 ORDER BY d.id",
	    cause);
	size_t cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, a->id);
	while ((rc = db_step(st)) == DB_ROW) {
		struct explain_delivery *d;
		const char *kind = db_column_text(st, 1);

		if (a->ndeliveries == cap) {
			cap = cap ? cap * 2 : 8;
			a->deliveries = xreallocarray(a->deliveries, cap, sizeof *a->deliveries);
		}
		d = &a->deliveries[a->ndeliveries++];
		memset(d, 0, sizeof *d);
		d->id = db_column_int64(st, 0);
		d->kind = xstrdup(kind != NULL ? kind : "email");
		d->recipient = explain_recipient(cfg, d->kind, db_column_text(st, 2));
		d->status = explain_col(st, 3);
		d->attempts = db_column_int(st, 4);
		d->sent_at = explain_col(st, 5);
		d->last_attempt = explain_col(st, 6);
		d->last_error = explain_col(st, 7);
		d->next_attempt = db_column_int64(st, 8);
		d->digest_id = db_column_int64(st, 9);
		d->digest_status = explain_col(st, 10);
		d->digest_error = explain_col(st, 11);
		d->digest_next = db_column_int64(st, 12);
		d->copied = explain_col(st, 13);
		d->copied_on = explain_col(st, 14);
	}
	return explain_done(ss, st, rc, cause);
}

/* The stages recorded for the clock. */
static int
explain_records(struct statestore *ss, const char *rule, const char *case_ref, const char *start,
                struct explain_memory *m, char **cause)
{
	struct dbstmt *st = explain_prepare(ss,
	                                    "SELECT stage, status, alert_id, recorded_at FROM "
	                                    "clock_stage WHERE rule = ?1 AND case_ref = ?2 AND "
	                                    "start = ?3 ORDER BY recorded_at, stage",
	                                    cause);
	size_t cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	explain_bind(st, rule, case_ref, start);
	while ((rc = db_step(st)) == DB_ROW) {
		struct explain_record *r;

		if (m->nrecords == cap) {
			cap = cap ? cap * 2 : 8;
			m->records = xreallocarray(m->records, cap, sizeof *m->records);
		}
		r = &m->records[m->nrecords++];
		r->stage = explain_col(st, 0);
		r->status = explain_col(st, 1);
		r->alert_id = db_column_int64(st, 2);
		r->recorded_at = explain_col(st, 3);
	}
	return explain_done(ss, st, rc, cause);
}

/* The alerts of the clock (start NULL: of the key, whatever their start). */
static int
explain_alerts(struct statestore *ss, const struct config *cfg, const char *rule,
               const char *case_ref, const char *start, struct explain_memory *m, char **cause)
{
	struct dbstmt *st = explain_prepare(
	    ss,
	    start != NULL
	        ? "SELECT id, stage, coalesce(label, stage), created_at, due, days_late, status "
	          "FROM alert WHERE rule = ?1 AND case_ref = ?2 AND start = ?3 ORDER BY id"
	        : "SELECT id, stage, coalesce(label, stage), created_at, due, days_late, status "
	          "FROM alert WHERE rule = ?1 AND case_ref = ?2 ORDER BY id",
	    cause);
	size_t cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	explain_bind(st, rule, case_ref, start);
	while ((rc = db_step(st)) == DB_ROW) {
		struct explain_alert *a;

		if (m->nalerts == cap) {
			cap = cap ? cap * 2 : 8;
			m->alerts = xreallocarray(m->alerts, cap, sizeof *m->alerts);
		}
		a = &m->alerts[m->nalerts++];
		memset(a, 0, sizeof *a);
		a->id = db_column_int64(st, 0);
		a->stage = explain_col(st, 1);
		a->label = explain_col(st, 2);
		a->created_at = explain_col(st, 3);
		a->due = explain_col(st, 4);
		a->days_late = db_column_int(st, 5);
		a->status = explain_col(st, 6);
	}
	if (explain_done(ss, st, rc, cause) != 0)
		return -1;
	for (size_t i = 0; i < m->nalerts; i++)
		if (explain_deliveries(ss, cfg, &m->alerts[i], cause) != 0)
			return -1;
	return 0;
}

/* Whether the clock was seen done, and the threshold key's state. */
static int
explain_closed(struct statestore *ss, const char *rule, const char *case_ref, const char *start,
               struct explain_memory *m, char **cause)
{
	struct dbstmt *st;
	int rc;

	if (start == NULL) {
		st = explain_prepare(
		    ss, "SELECT since FROM threshold_state WHERE rule = ?1 AND key = ?2", cause);
		if (st == NULL)
			return -1;
		explain_bind(st, rule, case_ref, NULL);
		if ((rc = db_step(st)) == DB_ROW) {
			m->over_since = explain_col(st, 0);
			rc = db_step(st);
		}
		return explain_done(ss, st, rc, cause);
	}
	st = explain_prepare(ss,
	                     "SELECT closed_on, days_late, last_stage, reopened_on FROM "
	                     "closed_clock WHERE rule = ?1 AND case_ref = ?2 AND start = ?3",
	                     cause);
	if (st == NULL)
		return -1;
	explain_bind(st, rule, case_ref, start);
	if ((rc = db_step(st)) == DB_ROW) {
		m->closed = true;
		m->closed_on = explain_col(st, 0);
		m->closed_late = db_column_int(st, 1);
		m->closed_stage = explain_col(st, 2);
		m->reopened_on = explain_col(st, 3);
		rc = db_step(st);
	}
	return explain_done(ss, st, rc, cause);
}

/* Read what the state store remembers of (rule, case_ref, start). */
int
explain_state_read(struct statestore *ss, const struct config *cfg, const char *rule,
                   const char *case_ref, const char *start, struct explain_memory *m, char **cause)
{
	struct delivery answers;
	int rc;

	memset(m, 0, sizeof *m);
	m->start = start != NULL ? xstrdup(start) : NULL;
	if (ss->db == NULL)
		return 0;
	if ((start != NULL && explain_records(ss, rule, case_ref, start, m, cause) != 0) ||
	    explain_alerts(ss, cfg, rule, case_ref, start, m, cause) != 0 ||
	    explain_closed(ss, rule, case_ref, start, m, cause) != 0)
		return -1;
	if (start == NULL)
		return 0;
	memset(&answers, 0, sizeof answers);
	if (answers_of_clock(ss, rule, case_ref, start, &answers) != 0) {
		*cause = xstrdup("state store: reading the answers failed");
		return -1;
	}
	m->answers = answers.responses;
	m->nanswers = answers.nresponses;
	for (size_t i = 0; i < m->nanswers; i++) {
		struct delivery_response *a = &m->answers[i];
		char *clean;

		/* Names people typed: shown on a terminal. */
		if (a->who != NULL) {
			clean = explain_clean(a->who);
			free(a->who);
			a->who = clean;
		}
		if (a->stage != NULL) {
			clean = explain_clean(a->stage);
			free(a->stage);
			a->stage = clean;
		}
	}
	rc = answers_agreed(ss, rule, case_ref, start, m->agreed_on, m->agreed_stage,
	                    sizeof m->agreed_stage, cause);
	if (rc < 0)
		return -1;
	m->agreed = rc == 1;
	return 0;
}

/* The starts the state store remembers for (rule, case_ref). */
int
explain_state_starts(struct statestore *ss, const char *rule, const char *case_ref, char ***starts,
                     size_t *n, char **cause)
{
	struct dbstmt *st;
	size_t cap = 0;
	int rc;

	*starts = NULL;
	*n = 0;
	if (ss->db == NULL)
		return 0;
	st = explain_prepare(ss,
	                     "SELECT start FROM clock_stage WHERE rule = ?1 AND case_ref = ?2 "
	                     "UNION SELECT start FROM alert WHERE rule = ?1 AND case_ref = ?2 "
	                     "UNION SELECT start FROM closed_clock WHERE rule = ?1 AND case_ref "
	                     "= ?2 UNION SELECT start FROM response WHERE rule = ?1 AND case_ref "
	                     "= ?2 ORDER BY 1",
	                     cause);
	if (st == NULL)
		return -1;
	explain_bind(st, rule, case_ref, NULL);
	while ((rc = db_step(st)) == DB_ROW) {
		if (db_column_text(st, 0) == NULL)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*starts = xreallocarray(*starts, cap, sizeof **starts);
		}
		(*starts)[(*n)++] = xstrdup(db_column_text(st, 0));
	}
	return explain_done(ss, st, rc, cause);
}

/* Free what explain_state_read allocated. */
void
explain_memory_free(struct explain_memory *m)
{
	struct delivery answers;

	free(m->start);
	for (size_t i = 0; i < m->nrecords; i++) {
		free(m->records[i].stage);
		free(m->records[i].status);
		free(m->records[i].recorded_at);
	}
	free(m->records);
	for (size_t i = 0; i < m->nalerts; i++) {
		struct explain_alert *a = &m->alerts[i];

		for (size_t j = 0; j < a->ndeliveries; j++) {
			struct explain_delivery *d = &a->deliveries[j];

			free(d->kind);
			free(d->recipient);
			free(d->status);
			free(d->sent_at);
			free(d->last_attempt);
			free(d->last_error);
			free(d->digest_status);
			free(d->digest_error);
			free(d->copied);
			free(d->copied_on);
		}
		free(a->deliveries);
		free(a->stage);
		free(a->label);
		free(a->created_at);
		free(a->due);
		free(a->status);
	}
	free(m->alerts);
	/* The answers belong to a delivery record: delivery_free knows how to free them. */
	memset(&answers, 0, sizeof answers);
	answers.responses = m->answers;
	answers.nresponses = m->nanswers;
	if (m->answers != NULL) {
		struct delivery *d = xcalloc(1, sizeof *d);

		*d = answers;
		delivery_free(d);
	}
	free(m->closed_on);
	free(m->closed_stage);
	free(m->reopened_on);
	free(m->over_since);
	memset(m, 0, sizeof *m);
}
