/*
 * destination.h - where a delivery goes: its recorded recipient (a chat or
 * Notify contact is recorded by name) turned into the URL and credentials it
 * is sent with, and the destination it is paced by.
 */
#ifndef ESCALATOR_DESTINATION_H
#define ESCALATOR_DESTINATION_H

#include <stddef.h>

#include "channel.h"
#include "config.h"
#include "notifier.h"
#include "ratelimit.h"

/*
 * Where deliveries go through one limit: the mail server, one webhook, Teams
 * or Slack URL, or one Notify service. Each has its own pace and its own
 * share of max_deliveries, so one slow or throttled channel never holds up
 * the others.
 */
struct destination {
	char *key;           /* "email", "<kind> <url>", "notify <url> <service id>" */
	struct ratelimit rl; /* the receiver's documented rate */
	int cap;             /* deliveries in flight at once */
	int in_flight;
	int reserved;         /* picked in this kick, not started yet */
	long long hold_until; /* ms (monotonic): the receiver said wait (429, Retry-After) */
};

/* Every destination seen, kept for its pace. */
struct destinations {
	struct destination **v;
	size_t n, cap;
};

/*
 * The destination of deliveries of kind to recipient (as recorded; NULL: any
 * email), with the limits of cfg and nt's pacing, made on first use; NULL if
 * it is unknown (a contact no longer configured).
 */
struct destination *destination_find(struct destinations *ds, const struct config *cfg,
                                     const struct notifier *nt, enum channel kind,
                                     const char *recipient);
/* Free every destination. */
void destinations_free(struct destinations *ds);

/* destination_resolve: d can never be sent (its contact is gone): a permanent failure. */
#define DESTINATION_FAILED (-2)

/*
 * Fill in d's credentials from cfg: the webhook, chat and Notify contacts are
 * looked up by name now, so a changed URL, secret or key is used from the
 * next attempt on (a webhook delivery recorded as a URL by an older
 * escalatord goes to the contact with that URL). Sets what the audit row
 * records (*recipient) and the log shows (*to): never a credential, a webhook
 * only as "name (host)". Returns 0; -1 with *cause set if d cannot be sent
 * now (its fields were damaged, its secret is missing: it is retried); or
 * DESTINATION_FAILED with *cause naming the contact if it never can be (the
 * contact was removed, or no contact has the URL recorded).
 */
int destination_resolve(const struct config *cfg, struct delivery *d, char **recipient, char **to,
                        char **cause);

#endif
