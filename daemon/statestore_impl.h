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

/* Set *cause to "state store: what: <SQLite's message>"; returns -1. */
int statestore_fail(struct statestore *ss, char **cause, const char *what);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void statestore_utc_now(char *buf, size_t len);
/* Step a statement that returns nothing, then reset it; -1 with *cause ("what") if it failed. */
int statestore_step_done(struct statestore *ss, sqlite3_stmt *st, char **cause, const char *what);

#endif
