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

/* Start and end the transaction of one evaluation pass. */
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

/* Number of deliveries still pending (the outbox depth). */
long long statestore_outbox_depth(struct statestore *ss);

#endif
