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

struct oauth_fetch;
/*
 * Set up t to ask s->smtp's token endpoint for a token (client credentials
 * grant). Everything is kept by t. Returns the state oauth_fetch_finish
 * needs, or NULL with *cause set.
 */
struct oauth_fetch *oauth_fetch_setup(struct transfer *t, const struct notifier_settings *s,
                                      char **cause);
/* Parse the finished fetch t (curl result rc) into r; returns 0 with a token or -1. */
int oauth_fetch_finish(struct transfer *t, struct oauth_fetch *f, int rc, struct oauth_result *r);

#endif
