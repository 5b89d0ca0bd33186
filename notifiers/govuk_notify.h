/*
 * govuk_notify.h - one alert or a digest as a GOV.UK Notify email (POST
 * /v2/notifications/email, JWT auth).
 */
#ifndef ESCALATOR_GOVUK_NOTIFY_H
#define ESCALATOR_GOVUK_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http.h"
#include "notifier.h"
#include "transport.h"

/* GOV.UK Notify's API: the base_url a contact has when it does not say. */
#define GOVUK_NOTIFY_DEFAULT_URL "https://api.notifications.service.gov.uk"
/* Largest response kept: a reference lookup returns whole notifications. */
#define GOVUK_RESPONSE_MAX 262144

/* n bytes as base64url without padding (RFC 7515 2). */
char *govuk_base64url(const unsigned char *p, size_t n);
/* Is s a UUID written as 8-4-4-4-12 hexadecimal digits? */
bool govuk_valid_uuid(const char *s);
/*
 * Check a GOV.UK Notify API key ("{key name}-{service id}-{secret}", both ids
 * 36-character UUIDs). Returns 0 and the allocated service id, or -1.
 */
int govuk_service_id(const char *key, char **service_id);
/*
 * The API key's parts: the service id (the JWT issuer) and the secret (the
 * HMAC key), each 36 characters. Returns 0, or -1 if key is not a Notify key.
 */
int govuk_key_parts(const char *key, char service_id[37], char secret[37]);
/* An HS256 JWT {"iss": service id, "iat": iat} signed with the key's secret; NULL if bad key. */
char *govuk_jwt(const char *api_key, time_t iat);
/*
 * The request body: {"email_address", "template_id", "reference" (the
 * delivery id), "personalisation"}, every personalisation value a string. One
 * alert: {"rule", "title", "case", "stage", "start", "due", "days_overdue",
 * "expected", "label", "status", "case_url" ("" when none), "answer_url"
 * (where the recipient answers the alert, "" when none), "answers" (the
 * answers so far, one line each: govuk_answers; "" when none), and the rule's
 * fields (never replacing those)}. A digest (d->template_id is then the contact's digest_template):
 * {"subject" (digest_subject), "body" (govuk_digest_body), "count" (its items),
 * "part", "parts"}. NULL with *cause set if a single alert's d->fields is not a
 * JSON object.
 */
char *govuk_build_body(const struct delivery *d, char **cause);
/*
 * Notify's email limit is about 100,000 characters of content: a digest's
 * body is kept at most this many bytes, with room for the template's own text.
 */
#define GOVUK_DIGEST_BODY_MAX 80000
/*
 * Digest d in Notify's formatting (govuk_digest.c): a "# " heading per section
 * (digest_section_title) and a "* " bullet per item in reading order: case
 * reference, label, rule title, status and due date (or when it was done),
 * what is expected, the history, the answers so far (never a reason or a
 * note), the link to the case and "Answer this alert: <link>"; a copied
 * recipient's note. Every value is one line stripped of what Notify would
 * read as formatting ("#", "*", "^" and the like at its start, "[" and "]",
 * a "://" or "www." that would become a link) and cut; then trailing items are
 * left out for "… and N more" until it is at most max bytes. Never fails.
 */
char *govuk_digest_body(const struct delivery *d, size_t max);
/*
 * s as one line for a Notify message, at most max bytes (ending in "…" when
 * cut): clean, no formatting characters at its start ("#", "*", "^" and the
 * like), "[" and "]" as "(" and ")", "://" as ": //" (no link from data).
 */
char *govuk_value(const char *s, size_t max);
/* Is url fit for Notify to make a link of: valid http(s), printable ASCII, no brackets,
 * parentheses or quotes? */
bool govuk_url_ok(const char *url);
/*
 * The answers so far of item in Notify's formatting: each answer's short form
 * (digest_answer, DIGEST_ANSWER_SHORT: never a reason or a note) as a
 * govuk_value, oldest first, amended ones left out, joined by sep; at most
 * about max bytes. "" when there are none.
 */
char *govuk_answers(const struct delivery *item, size_t max, const char *sep);
/* base_url + "/v2/notifications/email". */
char *govuk_send_url(const char *base_url);
/* base_url + "/v2/notifications?reference=" + the escaped reference. */
char *govuk_lookup_url(const char *base_url, const char *reference);

/*
 * Classify the answer to a send: 2xx sent; 400 and other 4xx failed for good,
 * except 403 (a key or clock problem someone can fix), 408 and 429 (and
 * 5xx), which are retried. Fills r; returns the detail r->detail points to
 * (Notify's "error: message" when it gave one).
 */
char *govuk_classify(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                     struct delivery_result *r);
/*
 * What a reference lookup found: 1 a notification with this reference exists
 * (the earlier attempt reached Notify), 0 none, -1 the lookup itself failed
 * (r filled as a temporary failure).
 */
int govuk_lookup_result(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                        struct delivery_result *r, char **detail);

/*
 * One delivery's send, over one or two requests: Notify has no idempotency
 * key, so when an earlier attempt's outcome is unknown (d->attempts > 1: a
 * timeout, a crash) the reference is looked up first, and the email is sent
 * only if Notify does not have it.
 */
struct govuk_send;

/* The send of d (everything copied); NULL with *cause set if the body cannot be built. */
struct govuk_send *govuk_new(const struct delivery *d, char **cause);
/*
 * Set up t for g's next request (the lookup, then the send), with a fresh
 * JWT. Everything is kept by t. Returns 0, or -1 with *cause set.
 */
int govuk_setup(struct govuk_send *g, struct transfer *t, const struct notifier_settings *s,
                char **cause);
/*
 * Take the answer to g's request in t (curl's result rc). Returns 1 when the
 * send must follow (set it up on a new transfer with govuk_setup), else 0
 * with r filled and *detail set to what to free once r is used (or NULL).
 */
int govuk_finish(struct govuk_send *g, struct transfer *t, CURLcode rc, struct delivery_result *r,
                 char **detail);
/* Free g, wiping the API key. */
void govuk_free(struct govuk_send *g);

#endif
