/*
 * queue.h - the deliveries waiting in the state store: finding their
 * destinations, taking (leasing) the due ones as delivery records, and
 * recording what became of each attempt (an audit row per change of state).
 */
#ifndef ESCALATOR_QUEUE_H
#define ESCALATOR_QUEUE_H

#include <stddef.h>

#include "channel.h"
#include "notifier.h"
#include "statestore.h"

/* Pending deliveries of one destination: one kind and recipient (any email address). */
struct queue_group {
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
 * Returns 0 with an allocated array (free it with queue_groups_free), or -1
 * with *cause set.
 */
int queue_groups(struct statestore *ss, long long now, int due_cap, struct queue_group **out,
                 size_t *nout, char **cause);
void queue_groups_free(struct queue_group *g, size_t n);

/* A count of due deliveries to take for one destination. */
struct queue_request {
	enum channel kind;
	const char *recipient; /* NULL: any recipient of this kind */
	int count;
};

/*
 * Take up to each destination's count of its due deliveries (in order, max
 * in all; a delivery in flight is due again only when its lease has run
 * out), marking them in flight until lease_until with one more attempt, in
 * one transaction. Each taken is an owned record in out[] (free it with
 * delivery_free): recipient as recorded (the contact's name for chat and
 * Notify), no credentials, the fields parsed. Returns how many were taken,
 * or -1 with *cause set (then nothing was taken).
 */
int queue_take(struct statestore *ss, long long now, long long lease_until,
               const struct queue_request *reqs, size_t nreqs, struct delivery **out, int max,
               char **cause);

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
 * Record the outcomes of finished attempts in one transaction: sent, retry
 * at next_attempt, or failed for good, with the attempt's time. An audit row
 * is written for the first attempt and then only when the status or the
 * error changes (not for the time or byte counts in an error): a hundred
 * identical retries leave one.
 */
int queue_finish(struct statestore *ss, const struct outcome_record *o, size_t n, char **cause);
/* After a restart nothing is in flight: make interrupted deliveries due now. Returns how many. */
int queue_reset_in_flight(struct statestore *ss, char **cause);
/* Number of deliveries pending or held for a digest (the outbox depth), or -1. */
long long queue_depth(struct statestore *ss);

/* The outbox as /metrics shows it. */
struct queue_stats {
	long long pending[CHANNEL_COUNT]; /* waiting to be sent (in flight included), by channel */
	long long held[CHANNEL_COUNT];    /* waiting for a digest, by channel */
	long long oldest;                 /* queued_at of the oldest pending delivery, 0 if none */
};

/*
 * Fill *out from the partial indexes on status = 'pending' and 'held': the
 * cost grows with the deliveries waiting, not with the table. Returns 0, or
 * -1 with *cause set.
 */
int queue_stats(struct statestore *ss, struct queue_stats *out, char **cause);

#endif
