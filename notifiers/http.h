/* http.h - the HTTP client of the channels: one request on a transfer, its answer classified. */
#ifndef ESCALATOR_HTTP_H
#define ESCALATOR_HTTP_H

#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

#include "notifier.h"
#include "transport.h"

/* Longest Retry-After honoured, in seconds. */
#define HTTP_RETRY_AFTER_MAX 86400
/* How much of a response body is kept by default (for the detail of a failure). */
#define HTTP_RESPONSE_MAX 1024
/*
 * Bytes of a response body read at most (or the max_response asked for, if
 * larger): past it the transfer is stopped and the answer is what came first.
 */
#define HTTP_BODY_LIMIT 65536

/* Per-request state: the start of the response body. */
struct http_state;

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
 * response are kept (0: HTTP_RESPONSE_MAX). Returns the state
 * http_get_response needs, or NULL with *cause set.
 */
struct http_state *http_request(struct transfer *t, const struct notifier_settings *s,
                                const char *url, const char *body, struct curl_slist *headers,
                                size_t max_response, char **cause);
/* Content-Type: application/json, User-Agent, no Expect, X-Escalator-Delivery (uid may be NULL). */
struct curl_slist *http_json_headers(const char *uid);
/*
 * The result of a finished transfer set up by http_request: rc, except that a
 * body stopped at its limit (CURLE_WRITE_ERROR from us) counts as CURLE_OK.
 */
CURLcode http_result(const struct http_state *st, CURLcode rc);
/* The response of the finished transfer t (valid until t is freed). */
void http_get_response(struct transfer *t, struct http_state *st, struct http_response *out);

/*
 * Seconds a Retry-After value asks for (delay-seconds, or an HTTP-date
 * relative to now), capped at HTTP_RETRY_AFTER_MAX; 0 if absent or invalid.
 */
int http_retry_after(const char *value, time_t now);
/*
 * Classify a finished HTTP transfer: rc from curl, code the HTTP status, body
 * the start of the response body (len bytes, may be NULL), retry_after the
 * Retry-After header or NULL, errbuf curl's error buffer. Fills r; returns the
 * allocated one-line detail r->detail points to.
 */
char *http_classify(CURLcode rc, long code, const char *body, size_t len, const char *retry_after,
                    time_t now, const char *errbuf, struct delivery_result *r);
/* Classify the finished transfer t with http_classify; returns the detail r->detail points to. */
char *http_finish(struct transfer *t, struct http_state *st, CURLcode rc,
                  struct delivery_result *r);

#endif
