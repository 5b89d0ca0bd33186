/*
 * refusal.h - deliveries refused: the recipient checked again just before
 * sending, and the admin told of each delivery refused for good (where it
 * went and why, never an address's local part or a URL in full).
 */
#ifndef ESCALATOR_REFUSAL_H
#define ESCALATOR_REFUSAL_H

#include <stddef.h>

#include "config.h"
#include "delivery.h"
#include "notifier.h"
#include "statestore.h"

/* A delivery failed for good: what the admin is told once its result is recorded. */
struct refusal {
	char *key; /* rule/case/stage, the channel and where (a domain, a host, a contact) */
	char *subject;
	char *body;
};

/* The notices kept for the deliveries failed for good, until their results are recorded. */
struct refusals {
	struct refusal *v;
	size_t n, cap;
};

/*
 * Why d must not be sent to its (resolved) recipient, allocated, or NULL: an
 * email address is checked again just before sending, with the strict syntax
 * and the allowed_domains of cfg.
 */
char *refusal_check(const struct config *cfg, const struct delivery *d);
/* Keep in rs a notice to the admin about d, failed for good with result r (not for a notice). */
void refusal_keep(struct refusals *rs, const struct delivery *d, const struct delivery_result *r);
/* Record the notices kept in rs to cfg's admin in ss (their results recorded); failures logged. */
void refusal_tell(const struct refusals *rs, struct statestore *ss, const struct config *cfg);
/* Forget the notices kept (rs stays usable). */
void refusal_clear(struct refusals *rs);
/* Forget them and free rs's storage. */
void refusal_free(struct refusals *rs);

#endif
