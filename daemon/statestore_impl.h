/*
 * statestore_impl.h - the state store's insides, shared by the four files
 * that work on it (statestore.c, alertstore.c, queue.c, retention.c) and
 * nothing else.
 */
#ifndef ESCALATOR_STATESTORE_IMPL_H
#define ESCALATOR_STATESTORE_IMPL_H

#include "db.h"
#include <stdbool.h>
#include <stddef.h>

#include "delivery.h"
#include "statestore.h"

struct statestore {
	struct db *db; /* NULL: an empty read-only store (dry run, no file yet) */
	bool readonly;
	int depth; /* transactions open: the outermost and its savepoints */
	char instance[32];

	/*
	 * leader.c: on PostgreSQL, shared by several nodes, a write transaction
	 * may begin only while this node leads (epoch > 0), and checks that the
	 * epoch is still the current one (q_fence). 0 on SQLite: one node.
	 */
	bool fenced;
	long long epoch;
	char lead[64];          /* the instance led */
	struct dbstmt *q_fence; /* SELECT 1 FROM leader WHERE ... FOR SHARE */

	/* alertstore.c: stages, alerts and their deliveries, threshold keys. */
	struct dbstmt *q_recorded;
	struct dbstmt *q_stage;
	struct dbstmt *q_alert;
	struct dbstmt *q_delivery;
	struct dbstmt *q_thr_get;
	struct dbstmt *q_thr_set;
	struct dbstmt *q_thr_clear;
	struct dbstmt *q_thr_sweep;

	/* queue.c: taking due deliveries, destinations, results. */
	struct dbstmt *q_take_dest;
	struct dbstmt *q_take_kind;
	struct dbstmt *q_dest_next;
	struct dbstmt *q_kind_next;
	struct dbstmt *q_dest_stats;
	struct dbstmt *q_kind_stats;
	struct dbstmt *q_lease;
	struct dbstmt *q_state;
	struct dbstmt *q_finish;
	struct dbstmt *q_audit;

	/* bundle.c: digests. */
	struct dbstmt *q_held_next;
	struct dbstmt *q_held_any;
	struct dbstmt *q_held_dests;
	struct dbstmt *q_held_members;
	struct dbstmt *q_digest_new;
	struct dbstmt *q_bundle;
	struct dbstmt *q_items;
	struct dbstmt *q_history;
	struct dbstmt *q_members_finish;

	/* closing.c: closed clocks. */
	struct dbstmt *q_close_open;
	struct dbstmt *q_close_add;
	struct dbstmt *q_close_told;
	struct dbstmt *q_close_note;
	struct dbstmt *q_reopen;

	/* answers.c: answers to alerts. */
	struct dbstmt *q_ans_target;
	struct dbstmt *q_ans_last;
	struct dbstmt *q_ans_add;
	struct dbstmt *q_ans_audit;
	struct dbstmt *q_ans_clock;
	struct dbstmt *q_ans_agreed;
	struct dbstmt *q_ans_kinds;
};

/*
 * The state store's indexes, the same on both engines (statestore.c, statestore_pg.c), made
 * after the tables: the outbox's due deliveries by destination and kind; retention.c's way to a
 * delivery's audit rows and an alert's deliveries without a scan; bundle.c's deliveries waiting
 * for a digest and a digest's items; a clock's alerts (the history each message shows) and its
 * answers.
 */
#define STATESTORE_INDEXES                                                                         \
	"CREATE INDEX IF NOT EXISTS delivery_pending ON delivery (next_attempt) WHERE status = "   \
	"'pending';"                                                                               \
	"CREATE INDEX IF NOT EXISTS delivery_destination ON delivery (kind, recipient, "           \
	"next_attempt) WHERE status = 'pending';"                                                  \
	"CREATE INDEX IF NOT EXISTS delivery_kind_due ON delivery (kind, next_attempt) WHERE "     \
	"status = 'pending';"                                                                      \
	"CREATE INDEX IF NOT EXISTS audit_delivery ON audit (delivery_id);"                        \
	"CREATE INDEX IF NOT EXISTS delivery_alert ON delivery (alert_id);"                        \
	"CREATE INDEX IF NOT EXISTS delivery_held ON delivery (next_attempt) WHERE status = "      \
	"'held';"                                                                                  \
	"CREATE INDEX IF NOT EXISTS delivery_held_dest ON delivery (kind, recipient, "             \
	"next_attempt) WHERE status = 'held';"                                                     \
	"CREATE INDEX IF NOT EXISTS delivery_digest ON delivery (digest_id) WHERE digest_id IS "   \
	"NOT NULL;"                                                                                \
	"CREATE INDEX IF NOT EXISTS delivery_closed ON delivery (closed_id) WHERE closed_id IS "   \
	"NOT NULL;"                                                                                \
	"CREATE INDEX IF NOT EXISTS alert_clock ON alert (rule, case_ref, start);"                 \
	"CREATE INDEX IF NOT EXISTS response_clock ON response (rule, case_ref, start);"           \
	"CREATE INDEX IF NOT EXISTS response_delivery ON response (delivery_id);"

/* A statement the store keeps prepared: where its handle is, and whether it writes. */
struct statestore_sql {
	size_t offset; /* of its struct dbstmt * in struct statestore */
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
void bundle_read_alert(struct dbstmt *st, int col, struct delivery *d);

/* Read the answers to item's clock into item->responses (answers.c). 0, or -1. */
int answers_read(struct statestore *ss, struct delivery *item);

/* Set *cause to "state store: what: <SQLite's message>"; returns -1. */
int statestore_fail(struct statestore *ss, char **cause, const char *what);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void statestore_utc_now(char *buf, size_t len);
/* Column i of st's current row as allocated text, or NULL. */
char *statestore_col(struct dbstmt *st, int i);
/* Step a statement that returns nothing, then reset it; -1 with *cause ("what") if it failed. */
int statestore_step_done(struct statestore *ss, struct dbstmt *st, char **cause, const char *what);
/* The same for an INSERT ... RETURNING id, with *id the new row's id. */
int statestore_step_id(struct statestore *ss, struct dbstmt *st, long long *id, char **cause,
                       const char *what);
/* Prepare the statements the files keep, and read meta.instance (statestore.c). 0, or -1. */
int statestore_ready(struct statestore *ss, char **cause);
/* How a transaction starts on this store (statestore.c). */
const char *statestore_begin_sql(const struct statestore *ss);
/* Open the state store on PostgreSQL (statestore_pg.c). */
struct statestore *statestore_pg_open(const char *url, bool readonly, char **cause);

#endif
