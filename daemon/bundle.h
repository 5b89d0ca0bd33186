/*
 * bundle.h - digests in the state store: the deliveries held for a
 * recipient's next sending time, bundled into one digest delivery (in parts
 * when the channel's limit forces it) when that time comes; a digest's items
 * and a clock's history read back for the message; a digest's result passed
 * to its items.
 */
#ifndef ESCALATOR_BUNDLE_H
#define ESCALATOR_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "notifier.h"
#include "statestore.h"

/*
 * Bundle the deliveries held until now or before: one digest delivery per
 * destination (kind and recipient), pending at once, in parts of at most
 * notifier_digest_limit items (most urgent first), each item marked bundled
 * into it, in one transaction (nested in the caller's). A batch: whole
 * destinations until about max_items items (at least one destination);
 * *more says whether destinations are left for another call, so that a
 * first start's backlog never holds the loop long. Sets *next to the earliest
 * held time still to come (0: none). Returns the number of digests made, or
 * -1 with *cause set (nothing of this batch was bundled).
 */
int bundle_form(struct statestore *ss, long long now, size_t max_items, long long *next, bool *more,
                char **cause);
/* Destinations one bundle_form call looks at, at most. */
#define BUNDLE_DESTS 256

/*
 * Fill digest d (read from its delivery row, id set) with its items: one
 * record per bundled delivery (an alert, or a closed clock), each with its
 * clock's history. Returns 0 or -1.
 */
int bundle_items(struct statestore *ss, struct delivery *d);
/*
 * Read the history of the clock of alert alert_id into item (its rule,
 * case_ref and start set): each delivery of the clock's earlier alerts
 * (the stages before this one: who was told, when, delivered or not),
 * oldest first, at most BUNDLE_HISTORY_MAX. Returns 0 or -1.
 */
int bundle_history(struct statestore *ss, struct delivery *item, long long alert_id);
#define BUNDLE_HISTORY_MAX 24

/*
 * A digest id finished as status ("sent" or "failed") at now with error (or
 * NULL): the same for every item in it. Inside the caller's transaction.
 */
int bundle_finish(struct statestore *ss, long long id, const char *status, const char *error,
                  const char *now, char **cause);

#endif
