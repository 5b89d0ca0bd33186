/* notify.h - one alert as a GOV.UK Notify email (POST /v2/notifications/email, JWT auth). */
#ifndef ESCALATOR_NOTIFY_H
#define ESCALATOR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "notifier.h"
#include "http.h"

/* Largest response kept: a reference lookup returns whole notifications. */
#define NOTIFY_RESPONSE_MAX 262144

/* n bytes as base64url without padding (RFC 7515 2). */
char *notify_base64url(const unsigned char *p, size_t n);
/* Is s a UUID written as 8-4-4-4-12 hexadecimal digits? */
bool notify_valid_uuid(const char *s);
/*
 * Check a GOV.UK Notify API key ("{key name}-{service id}-{secret}", both ids
 * 36-character UUIDs). Returns 0 and the allocated service id, or -1.
 */
int notify_service_id(const char *key, char **service_id);
/*
 * The API key's parts: the service id (the JWT issuer) and the secret (the
 * HMAC key), each 36 characters. Returns 0, or -1 if key is not a Notify key.
 */
int notify_key_parts(const char *key, char service_id[37], char secret[37]);
/* An HS256 JWT {"iss": service id, "iat": iat} signed with the key's secret; NULL if bad key. */
char *notify_jwt(const char *api_key, time_t iat);
/*
 * The request body: {"email_address", "template_id", "reference" (the
 * delivery id), "personalisation": {"rule", "title", "case", "stage",
 * "start", "due", "days_overdue", "expected", and the rule's fields}}, every
 * value a string. NULL with *cause set if d->fields is not a JSON object.
 */
char *notify_build_body(const struct delivery *d, char **cause);
/* base_url + "/v2/notifications/email". */
char *notify_send_url(const char *base_url);
/* base_url + "/v2/notifications?reference=" + the escaped reference. */
char *notify_lookup_url(const char *base_url, const char *reference);

/*
 * Classify the answer to a send: 2xx sent; 400 and other 4xx failed for good,
 * except 403 (a key or clock problem someone can fix), 408 and 429 (and
 * 5xx), which are retried. Fills r; returns the detail r->detail points to
 * (Notify's "error: message" when it gave one).
 */
char *notify_classify(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                      struct delivery_result *r);
/*
 * What a reference lookup found: 1 a notification with this reference exists
 * (the earlier attempt reached Notify), 0 none, -1 the lookup itself failed
 * (r filled as a temporary failure).
 */
int notify_lookup_result(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                         struct delivery_result *r, char **detail);

#endif
