/*
 * answers.c - answers to alerts in the state store (the response table): the
 * delivery an answer link names, recording an answer with its audit row, and
 * reading them back for later messages, holds and metrics.
 */
#include "answers.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "statestore_impl.h"
#include "token.h"
#include "xalloc.h"

/* The answers a message shows at most (the latest). */
#define ANSWERS_MAX 20

const struct statestore_sql answers_statements[] = {
    {offsetof(struct statestore, q_ans_target), false,
     "SELECT d.recipient, d.copied, d.copied_on, d.alert_id, (SELECT c.closed_on FROM "
     "closed_clock c WHERE c.rule = a.rule AND c.case_ref = a.case_ref AND c.start = a.start AND "
     "c.reopened_on IS NULL), " BUNDLE_ALERT_COLUMNS
     " FROM delivery d JOIN alert a ON a.id = d.alert_id WHERE d.id = ?1"},
    {offsetof(struct statestore, q_ans_last), false,
     "SELECT max(id) FROM response WHERE delivery_id = ?1"},
    {offsetof(struct statestore, q_ans_add), true,
     "INSERT INTO response (delivery_id, alert_id, rule, case_ref, start, stage, label, "
     "recipient, name, kind, agreed_on, reason, note, answered_at, amends) VALUES (?1, (SELECT "
     "alert_id FROM delivery WHERE id = ?1), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
     "?15) RETURNING id"},
    {offsetof(struct statestore, q_ans_audit), true,
     "INSERT INTO audit (delivery_id, at, recipient, result, detail) VALUES (?1, ?2, ?3, "
     "'answered', ?4)"},
    /* Newest first (reversed when read): a long list keeps its latest. */
    {offsetof(struct statestore, q_ans_clock), false,
     "SELECT coalesce(r.name, r.recipient), coalesce(r.label, r.stage), r.kind, r.agreed_on, "
     "r.reason, r.note, r.answered_at, EXISTS (SELECT 1 FROM response n WHERE n.amends = r.id) "
     "FROM response r WHERE r.rule = ?1 AND r.case_ref = ?2 AND r.start = ?3 ORDER BY r.id DESC "
     "LIMIT ?4"},
    {offsetof(struct statestore, q_ans_agreed), false,
     "SELECT r.agreed_on, r.stage FROM response r WHERE r.rule = ?1 AND r.case_ref = ?2 AND "
     "r.start = ?3 AND r.kind = 'agreed' AND r.agreed_on IS NOT NULL AND NOT EXISTS (SELECT 1 "
     "FROM response n WHERE n.amends = r.id) ORDER BY r.id DESC LIMIT 1"},
    {offsetof(struct statestore, q_ans_kinds), false,
     "SELECT kind, count(*) FROM response GROUP BY kind"},
};
const size_t answers_nstatements = sizeof answers_statements / sizeof answers_statements[0];

static const char *const answer_names[ANSWER_NKINDS] = {"acknowledged", "agreed", "disagree"};
static const char *const answer_words[ANSWER_NKINDS] = {"acknowledged", "action agreed",
                                                        "disagrees"};

const char *
answer_kind_name(enum answer_kind k)
{
	return k < ANSWER_NKINDS ? answer_names[k] : "unknown";
}

const char *
answer_kind_words(enum answer_kind k)
{
	return k < ANSWER_NKINDS ? answer_words[k] : "answered";
}

int
answer_kind_parse(const char *s)
{
	for (int k = 0; s != NULL && k < ANSWER_NKINDS; k++)
		if (strcmp(s, answer_names[k]) == 0)
			return k;
	return -1;
}

/* Read the answers to item's clock into item->responses, oldest first. */
int
answers_read(struct statestore *ss, struct delivery *item)
{
	struct dbstmt *st = ss->q_ans_clock;
	int rc;

	if (st == NULL || item->rule == NULL || item->case_ref == NULL || item->start == NULL)
		return 0;
	db_bind_text(st, 1, item->rule, -1, DB_STATIC);
	db_bind_text(st, 2, item->case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, item->start, -1, DB_STATIC);
	db_bind_int(st, 4, ANSWERS_MAX);
	while ((rc = db_step(st)) == DB_ROW && item->nresponses < ANSWERS_MAX) {
		struct delivery_response *r;

		if (item->responses == NULL)
			item->responses = xcalloc(ANSWERS_MAX, sizeof *item->responses);
		r = &item->responses[item->nresponses++];
		r->who = statestore_col(st, 0);
		r->stage = statestore_col(st, 1);
		r->kind = statestore_col(st, 2);
		r->agreed_on = statestore_col(st, 3);
		r->reason = statestore_col(st, 4);
		r->note = statestore_col(st, 5);
		r->answered_at = statestore_col(st, 6);
		r->amended = db_column_int(st, 7) != 0;
	}
	db_reset(st);
	db_clear_bindings(st);
	for (size_t i = 0; i < item->nresponses / 2; i++) {
		struct delivery_response t = item->responses[i];

		item->responses[i] = item->responses[item->nresponses - 1 - i];
		item->responses[item->nresponses - 1 - i] = t;
	}
	return rc == DB_DONE || rc == DB_ROW ? 0 : -1;
}

int
answers_of_clock(struct statestore *ss, const char *rule, const char *case_ref, const char *start,
                 struct delivery *into)
{
	/* answers_read reads only the clock's key (borrowed here, never changed). */
	struct delivery key = {
	    .rule = (char *)rule, .case_ref = (char *)case_ref, .start = (char *)start};
	int rc = answers_read(ss, &key);

	into->responses = key.responses;
	into->nresponses = key.nresponses;
	return rc;
}

int
answers_target(struct statestore *ss, long long delivery_id, struct delivery **out, char **cause)
{
	struct dbstmt *st = ss->q_ans_target;
	struct delivery *d;
	int rc;

	*out = NULL;
	if (ss->db == NULL || st == NULL)
		return 1;
	db_bind_int64(st, 1, delivery_id);
	if ((rc = db_step(st)) != DB_ROW) {
		db_reset(st);
		db_clear_bindings(st);
		return rc == DB_DONE ? 1 : statestore_fail(ss, cause, "reading an answered alert");
	}
	d = xcalloc(1, sizeof *d);
	d->id = delivery_id;
	d->recipient = statestore_col(st, 0);
	d->copied = statestore_col(st, 1);
	d->copied_on = statestore_col(st, 2);
	d->closed_on = statestore_col(st, 4);
	d->closed = d->closed_on != NULL;
	bundle_read_alert(st, 5, d);
	db_reset(st);
	db_clear_bindings(st);
	if (d->notice) {
		delivery_free(d);
		return 1;
	}
	/* The whole history of the clock, every stage, but for this delivery itself. */
	if (bundle_history(ss, d, LLONG_MAX) != 0) {
		delivery_free(d);
		return statestore_fail(ss, cause, "reading an answered alert's history");
	}
	*out = d;
	return 0;
}

/* Bind text or NULL. */
static void
answers_bind(struct dbstmt *st, int i, const char *s)
{
	if (s != NULL && *s != '\0')
		db_bind_text(st, i, s, -1, DB_STATIC);
	else
		db_bind_null(st, i);
}

long long
answers_add(struct statestore *ss, const struct delivery *d, const struct answer *a, char **cause)
{
	struct dbstmt *st;
	char now[32], detail[64];
	long long amends = 0, id;

	if (ss->db == NULL || ss->readonly) {
		*cause = xstrdup("the state store is read-only");
		return -1;
	}
	if (statestore_begin(ss, cause) != 0)
		return -1;
	st = ss->q_ans_last;
	db_bind_int64(st, 1, d->id);
	if (db_step(st) == DB_ROW)
		amends = db_column_int64(st, 0);
	db_reset(st);
	db_clear_bindings(st);

	statestore_utc_now(now, sizeof now);
	st = ss->q_ans_add;
	db_bind_int64(st, 1, d->id);
	answers_bind(st, 3, d->rule);
	answers_bind(st, 4, d->case_ref);
	answers_bind(st, 5, d->start);
	answers_bind(st, 6, d->stage);
	answers_bind(st, 7, d->label);
	answers_bind(st, 8, d->recipient);
	answers_bind(st, 9, a->name);
	db_bind_text(st, 10, answer_kind_name(a->kind), -1, DB_STATIC);
	answers_bind(st, 11, a->kind == ANSWER_AGREED ? a->agreed_on : NULL);
	answers_bind(st, 12, a->kind == ANSWER_DISAGREE ? a->reason : NULL);
	answers_bind(st, 13, a->note);
	db_bind_text(st, 14, now, -1, DB_STATIC);
	if (amends > 0)
		db_bind_int64(st, 15, amends);
	else
		db_bind_null(st, 15);
	if (statestore_step_id(ss, st, &id, cause, "recording an answer") != 0)
		goto fail;

	/* The audit row says what kind of answer, never the note (it may name people). */
	if (a->kind == ANSWER_AGREED)
		snprintf(detail, sizeof detail, "agreed for %.10s%s", a->agreed_on,
		         amends > 0 ? " (amends the earlier answer)" : "");
	else
		snprintf(detail, sizeof detail, "%s%s", answer_kind_name(a->kind),
		         amends > 0 ? " (amends the earlier answer)" : "");
	st = ss->q_ans_audit;
	db_bind_int64(st, 1, d->id);
	db_bind_text(st, 2, now, -1, DB_STATIC);
	answers_bind(st, 3, d->recipient);
	db_bind_text(st, 4, detail, -1, DB_STATIC);
	if (statestore_step_done(ss, st, cause, "recording an answer's audit row") != 0 ||
	    statestore_commit(ss, cause) != 0)
		goto fail;
	return id;
fail:
	statestore_rollback(ss);
	return -1;
}

int
answers_agreed(struct statestore *ss, const char *rule, const char *case_ref, const char *start,
               char *agreed, char *stage, size_t stage_len, char **cause)
{
	struct dbstmt *st = ss->q_ans_agreed;
	int rc, found = 0;

	if (ss->db == NULL || st == NULL)
		return 0;
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	db_bind_text(st, 2, case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, start, -1, DB_STATIC);
	if ((rc = db_step(st)) == DB_ROW && db_column_text(st, 0) != NULL) {
		snprintf(agreed, 11, "%s", db_column_text(st, 0));
		if (stage != NULL && stage_len > 0)
			snprintf(stage, stage_len, "%s",
			         db_column_text(st, 1) != NULL ? db_column_text(st, 1) : "");
		found = 1;
	}
	db_reset(st);
	db_clear_bindings(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return statestore_fail(ss, cause, "reading a clock's agreed date");
	return found;
}

int
answers_agreed_stage(struct statestore *ss, const struct rule *r, const char *case_ref,
                     const char *start, date_t *agreed, int *answered, char **cause)
{
	char text[DATE_STRLEN], stage[80];
	int rc = answers_agreed(ss, r->id, case_ref, start, text, stage, sizeof stage, cause);

	for (size_t k = 0; rc == 0 && k < r->nrenamed; k++)
		rc = answers_agreed(ss, r->renamed_from[k], case_ref, start, text, stage,
		                    sizeof stage, cause);
	if (rc <= 0)
		return rc;
	/*
	 * An answer to a stage the rule no longer has cannot say which stages come after it;
	 * one to a stage since renamed (renamed_from) is that stage's.
	 */
	if (date_parse_strict(text, agreed) != 0 || (*answered = rule_stage_recorded(r, stage)) < 0)
		return 0;
	return 1;
}

int
answers_count(struct statestore *ss, long long counts[ANSWER_NKINDS], char **cause)
{
	struct dbstmt *st = ss->q_ans_kinds;
	int rc;

	for (int k = 0; k < ANSWER_NKINDS; k++)
		counts[k] = 0;
	if (ss->db == NULL || st == NULL)
		return 0;
	while ((rc = db_step(st)) == DB_ROW) {
		int k = answer_kind_parse(db_column_text(st, 0));

		if (k >= 0)
			counts[k] = db_column_int64(st, 1);
	}
	db_reset(st);
	return rc == DB_DONE ? 0 : statestore_fail(ss, cause, "counting answers");
}

char *
answers_link(const struct config *cfg, long long id, const char *recipient, time_t now)
{
	char *token, *link;

	if (cfg == NULL || cfg->response_url == NULL || cfg->response_key == NULL ||
	    recipient == NULL || id <= 0)
		return NULL;
	token = token_make(cfg->response_key, cfg->response_key_len, id, recipient,
	                   (long long)now + cfg->response_expiry);
	link = xasprintf("%s/r/%s", cfg->response_url, token);
	free(token);
	return link;
}

void
answers_set_links(const struct config *cfg, struct delivery *d, time_t now)
{
	if (cfg == NULL || cfg->response_url == NULL)
		return;
	if (d->digest) {
		for (size_t i = 0; i < d->nitems; i++) {
			struct delivery *it = d->items[i];

			if (!it->notice && !it->closed && it->response_link == NULL)
				it->response_link = answers_link(cfg, it->id, d->recipient, now);
		}
	} else if (!d->notice && !d->closed && d->response_link == NULL) {
		d->response_link = answers_link(cfg, d->id, d->recipient, now);
	}
}
