/* webhook.h - one alert as a signed JSON POST over HTTP(S). */
#ifndef ESCALATOR_WEBHOOK_H
#define ESCALATOR_WEBHOOK_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "http.h"
#include "notifier.h"
#include "transport.h"

/*
 * The JSON body for d. One alert: {"rule","title","case","stage","start",
 * "due","fires","days_late","delivery","label","urgency" ("escalation",
 * "overdue" or "reminder"),"status","history":[{"stage","when","recipient",
 * "status","copied"}],"response_url" (where the recipient answers it, or
 * null),"responses":[{"who","stage","kind","agreed_on","reason","note",
 * "answered_at","amended"}] (every answer so far, oldest first, amended ones
 * marked: delivery_responses_json)}, with "case_url" when the alert has one, "copied":
 * {"stage","on"} for a copied recipient and "fields" when d->fields is not
 * NULL. A digest: {"digest":true,"contact","delivery","part","parts",
 * "alerts":[one alert's object per item, in reading order],"closed":[{"rule",
 * "title","case","start","due","closed_on","days_late","label"}]}. Values are
 * never cut; invalid UTF-8 is replaced. Returns NULL with *cause set if a
 * single alert's d->fields is not a JSON object (a digest item's such fields
 * are left out).
 */
char *webhook_build_body(const struct delivery *d, char **cause);
/*
 * One alert's JSON object, with uid as its "delivery": the body of a single
 * alert's webhook and each element of a digest's "alerts" (fields left out
 * unless they are an object).
 */
json_t *webhook_alert_json(const struct delivery *d, const char *uid);
/* HMAC-SHA256 of msg under key (OpenSSL libcrypto). */
void webhook_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                         unsigned char out[32]);
/* "sha256=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>". */
char *webhook_signature(const char *secret, const char *timestamp, const char *body, size_t len);

/*
 * Set up t to POST d to d->recipient. Everything the transfer needs is kept
 * by t. Returns the state http_finish needs, or NULL with *cause set.
 */
struct http_state *webhook_setup(struct transfer *t, const struct notifier_settings *s,
                                 const struct delivery *d, time_t now, char **cause);

#endif
