/*
 * statestore_impl.h - the state store's insides, shared by the four files
 * that work on it (statestore.c, alertstore.c, queue.c, retention.c) and
 * nothing else.
 */
#ifndef ESCALATOR_STATESTORE_IMPL_H
#define ESCALATOR_STATESTORE_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "delivery.h"
#include "statestore.h"

struct statestore {
	sqlite3 *db; /* NULL: an empty read-only store (dry run, no file yet) */
	bool readonly;
	int depth; /* transactions open: the outermost and its savepoints */
	char instance[32];

	/* alertstore.c: stages, alerts and their deliveries, threshold keys. */
	sqlite3_stmt *q_recorded;
	sqlite3_stmt *q_stage;
	sqlite3_stmt *q_alert;
	sqlite3_stmt *q_delivery;
	sqlite3_stmt *q_thr_get;
	sqlite3_stmt *q_thr_set;
	sqlite3_stmt *q_thr_clear;
	sqlite3_stmt *q_thr_sweep;

	/* queue.c: taking due deliveries, destinations, results. */
	sqlite3_stmt *q_take_dest;
	sqlite3_stmt *q_take_kind;
	sqlite3_stmt *q_dest_next;
	sqlite3_stmt *q_kind_next;
	sqlite3_stmt *q_dest_stats;
	sqlite3_stmt *q_kind_stats;
	sqlite3_stmt *q_lease;
	sqlite3_stmt *q_state;
	sqlite3_stmt *q_finish;
	sqlite3_stmt *q_audit;

	/* bundle.c: digests. */
	sqlite3_stmt *q_held_next;
	sqlite3_stmt *q_held_any;
	sqlite3_stmt *q_held_dests;
	sqlite3_stmt *q_held_members;
	sqlite3_stmt *q_digest_new;
	sqlite3_stmt *q_bundle;
	sqlite3_stmt *q_items;
	sqlite3_stmt *q_history;
	sqlite3_stmt *q_members_finish;

	/* closing.c: closed clocks. */
	sqlite3_stmt *q_close_open;
	sqlite3_stmt *q_close_add;
	sqlite3_stmt *q_close_told;
	sqlite3_stmt *q_close_note;
	sqlite3_stmt *q_reopen;

	/* answers.c: answers to alerts. */
	sqlite3_stmt *q_ans_target;
	sqlite3_stmt *q_ans_last;
	sqlite3_stmt *q_ans_add;
	sqlite3_stmt *q_ans_audit;
	sqlite3_stmt *q_ans_clock;
	sqlite3_stmt *q_ans_agreed;
	sqlite3_stmt *q_ans_kinds;
};

/* A statement the store keeps prepared: where its handle is, and whether it writes. */
struct statestore_sql {
	size_t offset; /* of its sqlite3_stmt * in struct statestore */
	bool writes;   /* not prepared on a read-only store */
	const char *sql;
};

/* Each file's statements, prepared by statestore_open and finalized by statestore_close. */
extern const struct statestore_sql alertstore_statements[];
extern const size_t alertstore_nstatements;
extern const struct statestore_sql queue_statements[];
extern const size_t queue_nstatements;
extern const struct statestore_sql bundle_statements[];
extern const size_t bundle_nstatements;
extern const struct statestore_sql closing_statements[];
extern const size_t closing_nstatements;
extern const struct statestore_sql answers_statements[];
extern const size_t answers_nstatements;

/* An alert's columns as a delivery record reads them (alert a), for bundle_read_alert. */
#define BUNDLE_ALERT_COLUMNS                                                                       \
	"a.rule, a.title, a.case_ref, a.stage, a.start, a.due, a.fires, a.subject, a.body, "       \
	"a.fields, a.days_late, a.expected, a.status, a.label, a.case_url, a.urgency"
#define BUNDLE_NALERT_COLUMNS 16
/* Read BUNDLE_ALERT_COLUMNS, from column col of st on, into d (bundle.c). */
void bundle_read_alert(sqlite3_stmt *st, int col, struct delivery *d);

/* Read the answers to item's clock into item->responses (answers.c). 0, or -1. */
int answers_read(struct statestore *ss, struct delivery *item);

/* Set *cause to "state store: what: <SQLite's message>"; returns -1. */
int statestore_fail(struct statestore *ss, char **cause, const char *what);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void statestore_utc_now(char *buf, size_t len);
/* Column i of st's current row as allocated text, or NULL. */
char *statestore_col(sqlite3_stmt *st, int i);
/* Step a statement that returns nothing, then reset it; -1 with *cause ("what") if it failed. */
int statestore_step_done(struct statestore *ss, sqlite3_stmt *st, char **cause, const char *what);

#endif
