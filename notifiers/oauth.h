/* oauth.h - OAuth 2.0 client credentials tokens for SMTP XOAUTH2 (Microsoft identity platform). */
#ifndef ESCALATOR_OAUTH_H
#define ESCALATOR_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "notifier.h"
#include "transport.h"

/* Largest token endpoint response kept (access tokens are a few KiB). */
#define OAUTH_RESPONSE_MAX 65536

/* What a token endpoint answered. */
struct oauth_result {
	char *token;     /* the access token (wipe with oauth_result_clear), NULL on failure */
	long expires_in; /* seconds the token is valid for */
	char *error;     /* one line without secrets, NULL on success */
	char code[24];   /* the identity platform's error code ("AADSTS7000215"), or "" */
};

/* A cached access token and when to refresh it; times in ms of a monotonic clock. */
struct oauth_cache {
	char *token;
	long long usable_until;  /* not handed out after this: it could expire in use */
	long long refresh_after; /* from here on a new one is fetched ahead of time */
};

/* s percent-encoded for application/x-www-form-urlencoded (RFC 3986 unreserved kept). */
char *oauth_form_escape(const char *s);
/* The client credentials grant request body (it holds the secret: wipe it after use). */
char *oauth_request_body(const char *client_id, const char *client_secret, const char *scope);
/*
 * Parse a token endpoint's response (HTTP status code, body of len bytes)
 * into r. Returns 0 when it holds a bearer token, -1 otherwise (r->error set).
 */
int oauth_parse_response(long code, const char *body, size_t len, struct oauth_result *r);
/*
 * oauth_parse_response, with every occurrence of secrets[0..] (NULL-ended;
 * the client secret as sent) and of any token in the answer replaced by
 * "[redacted]" in the error text before it is shortened, so that no part of
 * one survives the cut.
 */
int oauth_parse_response_redacted(long code, const char *body, size_t len,
                                  const char *const *secrets, struct oauth_result *r);
/* Free and wipe what r holds. */
void oauth_result_clear(struct oauth_result *r);

/*
 * When a token valid for expires_in seconds from now stops being handed out
 * (a little before it expires) and when a new one is fetched ahead of time.
 */
void oauth_times(long expires_in, long long now, long long *usable_until, long long *refresh_after);
/* Keep token (taken over) valid for expires_in seconds from now. */
void oauth_cache_store(struct oauth_cache *c, char *token, long expires_in, long long now);
/* The cached token if it may still be used at now, else NULL. */
const char *oauth_cache_get(const struct oauth_cache *c, long long now);
/* Is it time to fetch the next token (none usable, or the refresh point passed)? */
bool oauth_cache_refresh_due(const struct oauth_cache *c, long long now);
/* Forget (and wipe) the cached token. */
void oauth_cache_clear(struct oauth_cache *c);

/*
 * The token broker of SMTP XOAUTH2: one cached access token for the client
 * credentials in use, at most one request for a new one at a time (fetched
 * ahead of time, before the token in hand runs out), the logins that wait for
 * it, and a hold-off after a failed request so that each delivery does not ask
 * again.
 */
struct oauth_broker;
/*
 * Told, from the event loop, that the token a waiting login asked for has
 * arrived (token, valid during the call) or will not come (token NULL, error
 * says why). May free the broker.
 */
typedef void (*oauth_ready_fn)(void *arg, const char *token, const char *error);

/*
 * A broker asking s->smtp's token endpoint on tp; fn is told about each login
 * that waited. s is borrowed: it must stay valid and always be the settings in
 * use (see oauth_broker_configure).
 */
struct oauth_broker *oauth_broker_new(struct transport *tp, const struct notifier_settings *s,
                                      oauth_ready_fn fn);
/* Send the broker's log lines (token obtained, failed; no secrets) to fn. */
void oauth_broker_set_log(struct oauth_broker *b, notifier_log_fn fn, void *arg);
/*
 * The smtp settings are about to become next (NULL: none): other credentials
 * or another endpoint, and the token in hand (or on its way) is dropped.
 * Call it before the settings the broker borrows change.
 */
void oauth_broker_configure(struct oauth_broker *b, const struct smtp_settings *next);
/*
 * A token for one login: 0 with *token set (valid until control returns to
 * the event loop); 1 when arg must wait (fn is called with arg later, never
 * from inside this call); or -1 with *cause set when there is none to be had
 * (a request failed moments ago, or one cannot be made).
 */
int oauth_broker_get(struct oauth_broker *b, void *arg, const char **token, char **cause);
/* The mail server refused the token: forget it (the next login asks for a new one). */
void oauth_broker_forget(struct oauth_broker *b);
/*
 * Free the broker; the logins still waiting are not told. Free the transport
 * first (a request in flight points to the broker). May be called from fn.
 */
void oauth_broker_free(struct oauth_broker *b);

#endif
