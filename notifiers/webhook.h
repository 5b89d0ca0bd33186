/* webhook.h - one alert as a signed JSON POST over HTTP(S). */
#ifndef ESCALATOR_WEBHOOK_H
#define ESCALATOR_WEBHOOK_H

#include <stddef.h>
#include <time.h>

#include "http.h"
#include "notifier.h"
#include "transport.h"

/*
 * The JSON body for d: {"rule","title","case","stage","start","due","fires",
 * "days_late","delivery"} plus "fields" when d->fields is not NULL. Invalid
 * UTF-8 is replaced. Returns NULL with *cause set if d->fields is not a JSON
 * object.
 */
char *webhook_build_body(const struct delivery *d, char **cause);
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
