/* statestore.h - escalator's own SQLite file: stages alerted, outbox, audit. */
#ifndef ESCALATOR_STATESTORE_H
#define ESCALATOR_STATESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "eval.h"
#include "ruleset.h"

struct statestore;

/* One alert owed, as recorded: a stage of a clock and who is told. */
struct alert {
	const struct rule *rule;
	const char *case_ref;
	date_t start;
	date_t due;
	int stage;
	localtime_min_t fires;
	int days_late;
	double value;        /* threshold rules: the value that crossed the limit */
	const char *subject; /* rendered email subject and body */
	const char *body;
	const char *fields;   /* JSON object of the rule's fields, or NULL */
	const char *expected; /* rendered "what is expected" (chat and Notify), or NULL */
	const struct recipient *recipients;
	size_t nrecipients;
};

/*
 * Open (creating if missing, WAL) the state store. With readonly, an existing
 * file is opened read-only and a missing one gives an empty store that records
 * nothing (--dry-run). Returns NULL with *cause set on error.
 */
struct statestore *statestore_open(const char *path, bool readonly, char **cause);
void statestore_close(struct statestore *ss);

/* Does this store record anything (false for a dry run)? */
bool statestore_records(const struct statestore *ss);

/*
 * Start and end a transaction (one evaluation pass, say). They nest: inside
 * an open one, they are savepoints, and only the outermost commit writes (and
 * syncs) the file. On a read-only store, a read transaction: one snapshot.
 * When a commit fails, roll back: that ends the level the commit could not.
 */
int statestore_begin(struct statestore *ss, char **cause);
int statestore_commit(struct statestore *ss, char **cause);
void statestore_rollback(struct statestore *ss);

/*
 * Which stages of rule r are already recorded (alerted or skipped) for the
 * clock (r, case_ref, start): recorded[i] for stage i. Returns 0 or -1.
 */
int statestore_recorded(struct statestore *ss, const struct rule *r, const char *case_ref,
                        date_t start, bool *recorded, char **cause);

/*
 * Record an alert: the stage as alerted, every earlier stage not in recorded
 * as skipped, and one pending delivery per recipient, inside the current
 * transaction. Sets *alert_id. A read-only store records nothing.
 */
int statestore_record(struct statestore *ss, const struct alert *a, const bool *recorded,
                      long long *alert_id, char **cause);

/* A delivery taken from the outbox to be sent; every string is owned. */
struct outbox_item {
	long long id;
	long long alert_id;
	int attempts; /* including this one */
	enum channel kind;
	char *recipient;
	char *rule, *title, *case_ref, *stage, *start, *due, *fires;
	char *subject, *body, *fields, *expected;
	int days_late;
	char uid[64]; /* stable delivery id: "esc-<instance>-<id>" */
};
void outbox_item_clear(struct outbox_item *it);

/* A count of due deliveries to take for one destination. */
struct outbox_take {
	enum channel kind;
	const char *recipient; /* NULL: any recipient of this kind */
	int count;
};

/*
 * Take up to each given destination's count of its pending deliveries due at
 * now (in order, max in all; a delivery in flight is due again only when its
 * lease has run out), marking them in flight until lease_until, in one
 * transaction. Returns how many were taken, or -1 with *cause set.
 */
int statestore_take_batch(struct statestore *ss, long long now, long long lease_until,
                          const struct outbox_take *reqs, size_t nreqs, struct outbox_item *items,
                          int max, char **cause);

/* Pending deliveries of one destination: one kind and recipient (any email address). */
struct outbox_group {
	enum channel kind;
	char *recipient; /* NULL for email: it all goes through the one mail server */
	int due; /* how many are due at now (not in flight, next_attempt <= now), <= due_cap */
	long long oldest; /* the earliest next_attempt of those, 0 if none */
	long long first;  /* the id of the first of those in due order, 0 if none */
	long long next;   /* the earliest next_attempt after now (retry or lease end), 0 if none */
};

/*
 * Every destination with pending deliveries as of now, those with the oldest
 * due delivery first; due counts at most due_cap (the most a kick can take).
 * Returns 0 with an allocated array (free it with outbox_groups_free), or -1
 * with *cause set.
 */
int statestore_outbox_groups(struct statestore *ss, long long now, int due_cap,
                             struct outbox_group **out, size_t *nout, char **cause);
void outbox_groups_free(struct outbox_group *g, size_t n);

enum outcome { OUTCOME_SENT, OUTCOME_RETRY, OUTCOME_FAILED };

/* What became of one attempt. */
struct outcome_record {
	long long id;
	enum outcome outcome;
	long long next_attempt; /* OUTCOME_RETRY: unix seconds */
	long code;
	char *detail;
	char *recipient;
};

/*
 * Record the outcomes of finished attempts and their audit rows in one
 * transaction: sent, retry at next_attempt, or failed for good.
 */
int statestore_finish(struct statestore *ss, const struct outcome_record *o, size_t n,
                      char **cause);
/* The earliest next_attempt (or lease end) of a pending delivery: 1 found, 0 none, -1 error. */
int statestore_next_due(struct statestore *ss, long long *when);
/* After a restart nothing is in flight: make interrupted deliveries due now. Returns how many. */
int statestore_reset_in_flight(struct statestore *ss, char **cause);

/* Threshold rules: is key recorded as over the limit? */
int statestore_threshold_get(struct statestore *ss, const char *rule, const char *key, bool *over,
                             char **cause);
/* Record key as over the limit (marked with pass) or back within it. */
int statestore_threshold_set(struct statestore *ss, const char *rule, const char *key, bool over,
                             long long pass, char **cause);
/* Forget keys recorded over the limit that pass did not see. */
int statestore_threshold_sweep(struct statestore *ss, const char *rule, long long pass,
                               char **cause);

/* Number of deliveries still pending (the outbox depth). */
long long statestore_outbox_depth(struct statestore *ss);

#endif
