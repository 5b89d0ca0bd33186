/* webhook.h - one alert as a signed JSON POST over HTTP(S). */
#ifndef ESCALATOR_WEBHOOK_H
#define ESCALATOR_WEBHOOK_H

#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

#include "notifier.h"
#include "transport.h"

/* Longest Retry-After honoured, in seconds. */
#define WEBHOOK_RETRY_AFTER_MAX 86400
/* How much of a response body is kept (for the detail of a failure). */
#define WEBHOOK_RESPONSE_MAX 1024

/* Per-delivery HTTP state: the start of the response body. */
struct webhook_state;

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
 * Seconds a Retry-After value asks for (delay-seconds, or an HTTP-date
 * relative to now), capped at WEBHOOK_RETRY_AFTER_MAX; 0 if absent or invalid.
 */
int webhook_retry_after(const char *value, time_t now);
/*
 * Classify a finished HTTP transfer: rc from curl, code the HTTP status, body
 * the start of the response body (len bytes, may be NULL), retry_after the
 * Retry-After header or NULL, errbuf curl's error buffer. Fills r; returns the
 * allocated one-line detail r->detail points to.
 */
char *webhook_classify(CURLcode rc, long code, const char *body, size_t len,
                       const char *retry_after, time_t now, const char *errbuf,
                       struct delivery_result *r);

/* What came back for a finished HTTP request. */
struct http_response {
	long code;               /* HTTP status, 0 if none */
	const char *body;        /* the start of the body (NUL-terminated), "" if none */
	size_t len;              /* its length */
	const char *retry_after; /* the Retry-After header, or NULL */
};

/*
 * Set up t for one HTTP request to url (TLS verified, no redirects, the
 * timeouts of s): a POST of body when body is not NULL, else a GET. body and
 * headers (may be NULL) must be kept by t. At most max_response bytes of the
 * response are kept (0: WEBHOOK_RESPONSE_MAX). Returns the state
 * webhook_response needs, or NULL with *cause set.
 */
struct webhook_state *webhook_request(struct transfer *t, const struct notifier_settings *s,
                                      const char *url, const char *body, struct curl_slist *headers,
                                      size_t max_response, char **cause);
/* Content-Type: application/json, User-Agent, no Expect, X-Escalator-Delivery (uid may be NULL). */
struct curl_slist *webhook_json_headers(const char *uid);
/* The response of the finished transfer t (valid until t is freed). */
void webhook_response(struct transfer *t, struct webhook_state *st, struct http_response *out);

/*
 * Set up t to POST d to d->recipient. Everything the transfer needs is kept
 * by t. Returns the state webhook_finish needs, or NULL with *cause set.
 */
struct webhook_state *webhook_setup(struct transfer *t, const struct notifier_settings *s,
                                    const struct delivery *d, time_t now, char **cause);
/* Classify the finished transfer t; returns the allocated detail r->detail points to. */
char *webhook_finish(struct transfer *t, struct webhook_state *st, CURLcode rc,
                     struct delivery_result *r);

#endif
