/* outbox.h - hands due deliveries to the notifier and records what became of them. */
#ifndef ESCALATOR_OUTBOX_H
#define ESCALATOR_OUTBOX_H

#include <event2/event.h>
#include <stdbool.h>

#include "config.h"
#include "notifier.h"
#include "statestore.h"

struct outbox;

/*
 * The outbox of state store ss, sending through a notifier it owns on base.
 * idle_fn (may be NULL) is called whenever nothing is in flight and nothing
 * is due now.
 */
struct outbox *outbox_new(struct event_base *base, struct statestore *ss, void (*idle_fn)(void *),
                          void *idle_arg);
void outbox_free(struct outbox *ob);
/* Use cfg's limits, timeouts, smtp and webhook secrets from now on (cfg must outlive use). */
void outbox_configure(struct outbox *ob, const struct config *cfg);
/* Start as many due deliveries as the limit allows; arm the retry timer for the rest. */
void outbox_kick(struct outbox *ob);
/*
 * While hold is true, deliveries held for a digest are not bundled even when
 * their time has come (an evaluation pass is recording more of them); false
 * bundles them at the next kick.
 */
void outbox_hold_digests(struct outbox *ob, bool hold);
/* Take and bundle nothing (this node stands by), or go on (after a pause: kicked). */
void outbox_pause(struct outbox *ob, bool pause);
/* Start nothing new from now on (shutdown). */
void outbox_stop(struct outbox *ob);
/* Deliveries in flight. */
size_t outbox_in_flight(const struct outbox *ob);

/* Told the channel and result of every attempt that ends (for metrics). */
typedef void (*outbox_result_fn)(void *arg, enum channel kind, enum delivery_status status);
void outbox_observe(struct outbox *ob, outbox_result_fn fn, void *arg);

/* Back-off before attempt number attempts + 1: doubling from min, capped, with jitter. */
long long outbox_backoff(int attempts, int min, int max, unsigned int *seed);

#endif
