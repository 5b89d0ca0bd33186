/* oauth.c - OAuth 2.0 client credentials tokens for SMTP XOAUTH2 (Microsoft identity platform). */
#include "oauth.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <jansson.h>

#include "http.h"
#include "ratelimit.h"
#include "xalloc.h"

/* Longest error detail kept from the token endpoint. */
#define OAUTH_DETAIL_MAX 300
/* Assumed lifetime when the endpoint does not say (seconds): short, to be safe. */
#define OAUTH_DEFAULT_EXPIRES_IN 300
/* After a failed token request, how long logins fail at once instead of asking again (ms). */
#define OAUTH_TOKEN_HOLD 5000

/* A token request in flight: kept by its transfer. */
struct oauth_fetch {
	struct oauth_broker *b;
	unsigned int generation; /* the broker's when it was asked */
	struct http_state *http;
	char *secret;         /* the client secret, to keep it out of any error text */
	char *escaped_secret; /* and as it appears in the request body */
};

/* The token broker (oauth.h): the cache, the request on its way, the logins waiting. */
struct oauth_broker {
	struct transport *tp;              /* borrowed */
	const struct notifier_settings *s; /* borrowed: the settings in use */
	oauth_ready_fn fn;
	notifier_log_fn log_fn;
	void *log_arg;
	int busy; /* inside oauth_broker_fetch_cb: oauth_broker_free only marks it dead */
	int dead;

	struct oauth_cache token;
	int fetching;            /* a request is on its way */
	unsigned int generation; /* bumped when the credentials change: older answers are stale */
	long long hold_until;    /* after a failed request: no new one before this (ms) */
	char *token_error;       /* what that failure was */
	void **waiting;          /* the logins waiting for a token, in the order they came */
	size_t nwaiting, nalloc;
};

/* Free a fetch's state. */
static void
oauth_fetch_free(void *p)
{
	struct oauth_fetch *f = p;

	xfree_secret(f->secret);
	xfree_secret(f->escaped_secret);
	free(f);
}

/* s percent-encoded for a form body. */
char *
oauth_form_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s), o = 0;
	char *out = xmalloc(len * 3 + 1);

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* The client credentials grant request body. */
char *
oauth_request_body(const char *client_id, const char *client_secret, const char *scope)
{
	char *id = oauth_form_escape(client_id), *secret = oauth_form_escape(client_secret);
	char *sc = oauth_form_escape(scope), *body;

	body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", id,
	                 secret, sc);
	free(id);
	xfree_secret(secret);
	free(sc);
	return body;
}

/* The identity platform's error code: "AADSTS<digits>" at the start of text, or from codes. */
static void
oauth_error_code(const char *text, json_t *codes, char *out, size_t len)
{
	json_t *first = json_is_array(codes) ? json_array_get(codes, 0) : NULL;
	size_t n = 0;

	out[0] = '\0';
	if (text != NULL && strncmp(text, "AADSTS", 6) == 0) {
		for (n = 6; isdigit((unsigned char)text[n]) && n < len - 1; n++)
			;
		if (n > 6) {
			memcpy(out, text, n);
			out[n] = '\0';
			return;
		}
	}
	if (json_is_integer(first))
		snprintf(out, len, "AADSTS%lld", (long long)json_integer_value(first));
}

/*
 * Replace every occurrence of secret in *text by "[redacted]", in one pass
 * from left to right: the replacement is never searched again (a secret such
 * as "a" inside "[redacted]" must not loop).
 */
static void
oauth_redact(char **text, const char *secret)
{
	size_t sl, n = 0, o = 0, count = 0;
	const char *p, *q;
	char *out;

	if (*text == NULL || secret == NULL || *secret == '\0')
		return;
	sl = strlen(secret);
	for (p = *text; (q = strstr(p, secret)) != NULL; p = q + sl)
		count++;
	if (count == 0)
		return;
	n = strlen(*text) - count * sl + count * (sizeof "[redacted]" - 1);
	out = xmalloc(n + 1);
	for (p = *text; (q = strstr(p, secret)) != NULL; p = q + sl) {
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		memcpy(out + o, "[redacted]", sizeof "[redacted]" - 1);
		o += sizeof "[redacted]" - 1;
	}
	strcpy(out + o, p);
	free(*text);
	*text = out;
}

/* Redact from *text each of secrets[0..] (NULL-ended) and the tokens j holds. */
static void
oauth_redact_all(char **text, const char *const *secrets, json_t *j)
{
	static const char *const tokens[] = {"access_token", "refresh_token", "id_token"};

	for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++)
		oauth_redact(text, secrets[i]);
	for (size_t i = 0; json_is_object(j) && i < sizeof tokens / sizeof tokens[0]; i++)
		oauth_redact(text, json_string_value(json_object_get(j, tokens[i])));
}

/* "HTTP <code>" plus what the body says, one clean line, secrets redacted before any cut. */
static char *
oauth_error_text(long code, const char *body, size_t len, json_t *j, const char *const *secrets)
{
	const char *error = json_string_value(json_object_get(j, "error"));
	const char *desc = json_string_value(json_object_get(j, "error_description"));
	char *line, *clean, *text;
	const char *nl;

	if (error == NULL && desc == NULL) {
		/* Not an OAuth error object: the first line of whatever came back. */
		while (len > 0 && isspace((unsigned char)*body))
			body++, len--;
		nl = memchr(body, '\n', len);
		line = xstrndup(body, nl != NULL ? (size_t)(nl - body) : len);
		oauth_redact_all(&line, secrets, j);
		clean = transport_clean_text(line, 200, 0);
		text = *clean != '\0' ? xasprintf("HTTP %ld: %s", code, clean)
		                      : xasprintf("HTTP %ld", code);
		free(line);
		free(clean);
		return text;
	}
	/* The description's first line: the rest is trace and correlation ids. */
	if (desc != NULL) {
		size_t dl = strcspn(desc, "\r\n");

		line = xstrndup(desc, dl);
	} else {
		line = xstrdup("");
	}
	oauth_redact_all(&line, secrets, j);
	clean = transport_clean_text(line, 240, 0);
	text = xasprintf("HTTP %ld: %s%s%s", code, error != NULL ? error : "error",
	                 *clean != '\0' ? ": " : "", clean);
	free(line);
	free(clean);
	return text;
}

/* Parse a token endpoint's response. */
int
oauth_parse_response(long code, const char *body, size_t len, struct oauth_result *r)
{
	return oauth_parse_response_redacted(code, body, len, NULL, r);
}

/* Parse a token endpoint's response, secrets and tokens redacted from the error text. */
int
oauth_parse_response_redacted(long code, const char *body, size_t len, const char *const *secrets,
                              struct oauth_result *r)
{
	json_t *j, *tok, *exp, *type;
	json_error_t err;
	char *text;

	memset(r, 0, sizeof *r);
	j = body != NULL && len > 0 ? json_loadb(body, len, 0, &err) : NULL;
	if (code == 200 && json_is_object(j)) {
		tok = json_object_get(j, "access_token");
		exp = json_object_get(j, "expires_in");
		type = json_object_get(j, "token_type");
		if (json_is_string(tok) && json_string_length(tok) > 0 &&
		    (type == NULL || (json_is_string(type) &&
		                      strcasecmp(json_string_value(type), "Bearer") == 0))) {
			r->expires_in = OAUTH_DEFAULT_EXPIRES_IN;
			/* v2.0 endpoints send a number, v1.0 ones a string. */
			if (json_is_integer(exp))
				r->expires_in = (long)json_integer_value(exp);
			else if (json_is_string(exp))
				r->expires_in = strtol(json_string_value(exp), NULL, 10);
			if (r->expires_in <= 0)
				r->expires_in = OAUTH_DEFAULT_EXPIRES_IN;
			/* A day at most: a huge lifetime must not overflow the cache times. */
			if (r->expires_in > 86400)
				r->expires_in = 86400;
			r->token = xstrdup(json_string_value(tok));
			json_decref(j);
			return 0;
		}
		r->error = xstrdup(
		    json_is_string(tok) && json_string_length(tok) > 0
		        ? "HTTP 200 but the token is not a bearer token (token_type)"
		        : "HTTP 200 but no access_token in the answer of the token endpoint");
		json_decref(j);
		return -1;
	}
	if (json_is_object(j)) {
		const char *desc = json_string_value(json_object_get(j, "error_description"));

		oauth_error_code(desc, json_object_get(j, "error_codes"), r->code, sizeof r->code);
	}
	text = oauth_error_text(code, body != NULL ? body : "", body != NULL ? len : 0,
	                        json_is_object(j) ? j : NULL, secrets);
	r->error = transport_clean_text(text, OAUTH_DETAIL_MAX, 0);
	free(text);
	json_decref(j);
	return -1;
}

/* Free and wipe what r holds. */
void
oauth_result_clear(struct oauth_result *r)
{
	xfree_secret(r->token);
	free(r->error);
	memset(r, 0, sizeof *r);
}

/* When to stop using, and when to replace, a token valid for expires_in seconds from now. */
void
oauth_times(long expires_in, long long now, long long *usable_until, long long *refresh_after)
{
	long margin = expires_in / 5 < 60 ? expires_in / 5 : 60;
	long lead = expires_in / 2 < 300 ? expires_in / 2 : 300;

	*usable_until = now + (long long)(expires_in - margin) * 1000;
	*refresh_after = now + (long long)(expires_in - lead) * 1000;
}

/* Keep token valid for expires_in seconds from now. */
void
oauth_cache_store(struct oauth_cache *c, char *token, long expires_in, long long now)
{
	oauth_cache_clear(c);
	c->token = token;
	oauth_times(expires_in, now, &c->usable_until, &c->refresh_after);
}

/* The cached token if it may be used at now. */
const char *
oauth_cache_get(const struct oauth_cache *c, long long now)
{
	return c->token != NULL && now < c->usable_until ? c->token : NULL;
}

/* Is it time to fetch the next token? */
bool
oauth_cache_refresh_due(const struct oauth_cache *c, long long now)
{
	return c->token == NULL || now >= c->refresh_after;
}

/* Forget the cached token. */
void
oauth_cache_clear(struct oauth_cache *c)
{
	xfree_secret(c->token);
	memset(c, 0, sizeof *c);
}

/*
 * Set up t to ask s->smtp's token endpoint for a token (client credentials
 * grant). Everything is kept by t. Returns the state oauth_fetch_finish
 * needs, or NULL with *cause set.
 */
static struct oauth_fetch *
oauth_fetch_setup(struct transfer *t, const struct notifier_settings *s, char **cause)
{
	const struct smtp_settings *smtp = s->smtp;
	struct oauth_fetch *f;
	struct curl_slist *h = NULL;
	char *body;

	if (smtp == NULL || smtp->token_url == NULL || smtp->client_id == NULL ||
	    smtp->client_secret == NULL) {
		*cause = xstrdup("smtp auth = \"xoauth2\" is not fully configured");
		return NULL;
	}
	f = xcalloc(1, sizeof *f);
	transfer_keep(t, f, oauth_fetch_free);
	f->secret = xstrdup(smtp->client_secret);
	f->escaped_secret = oauth_form_escape(smtp->client_secret);
	body = oauth_request_body(smtp->client_id, smtp->client_secret,
	                          smtp->scope != NULL ? smtp->scope : SMTP_DEFAULT_SCOPE);
	transfer_keep(t, body, xfree_secret);
	if ((h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded")) == NULL ||
	    (h = curl_slist_append(h, "Accept: application/json")) == NULL ||
	    (h = curl_slist_append(h, "User-Agent: escalatord")) == NULL ||
	    (h = curl_slist_append(h, "Expect:")) == NULL)
		fatalx("out of memory building the token request");
	transfer_keep_slist(t, h);
	if ((f->http = http_request(t, s, smtp->token_url, body, h, OAUTH_RESPONSE_MAX, cause)) ==
	    NULL)
		return NULL;
	return f;
}

/* Parse the finished fetch t (curl result rc) into r; returns 0 with a token or -1. */
static int
oauth_fetch_finish(struct transfer *t, struct oauth_fetch *f, int rc, struct oauth_result *r)
{
	struct http_response resp;
	const char *err;

	rc = http_result(f->http, (CURLcode)rc);
	http_get_response(t, f->http, &resp);
	if (rc != CURLE_OK) {
		memset(r, 0, sizeof *r);
		err = transfer_error(t);
		r->error = transport_clean_text(
		    *err != '\0' ? err : curl_easy_strerror((CURLcode)rc), OAUTH_DETAIL_MAX, 0);
		return -1;
	}
	{
		const char *const secrets[] = {f->secret, f->escaped_secret, NULL};

		if (oauth_parse_response_redacted(resp.code, resp.body, resp.len, secrets, r) == 0)
			return 0;
	}
	/* An endpoint (or a proxy) that echoes the request must not put the secret in a log. */
	oauth_redact(&r->error, f->secret);
	oauth_redact(&r->error, f->escaped_secret);
	return -1;
}

static void oauth_broker_log(struct oauth_broker *, int, const char *, ...) PRINTFLIKE(3, 4);

/* Log one line if someone listens. */
static void
oauth_broker_log(struct oauth_broker *b, int pri, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (b->log_fn == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	b->log_fn(b->log_arg, pri, msg);
	free(msg);
}

/* A broker asking s->smtp's token endpoint on tp. */
struct oauth_broker *
oauth_broker_new(struct transport *tp, const struct notifier_settings *s, oauth_ready_fn fn)
{
	struct oauth_broker *b = xcalloc(1, sizeof *b);

	b->tp = tp;
	b->s = s;
	b->fn = fn;
	return b;
}

/* Send log lines to fn. */
void
oauth_broker_set_log(struct oauth_broker *b, notifier_log_fn fn, void *arg)
{
	b->log_fn = fn;
	b->log_arg = arg;
}

/* Are two strings (either may be NULL) the same? */
static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The settings are about to become next: drop a token that is not theirs. */
void
oauth_broker_configure(struct oauth_broker *b, const struct smtp_settings *next)
{
	static const struct smtp_settings none;
	const struct smtp_settings *cur = b->s->smtp != NULL ? b->s->smtp : &none;

	/* Other credentials, or another endpoint: the token in hand is not theirs. */
	if (next == NULL || next->auth != cur->auth || !same(next->token_url, cur->token_url) ||
	    !same(next->client_id, cur->client_id) ||
	    !same(next->client_secret, cur->client_secret) || !same(next->scope, cur->scope)) {
		b->generation++;
		oauth_cache_clear(&b->token);
		b->hold_until = 0;
	}
}

/* A token arrived (or not): tell every login that was waiting for it, in order. */
static void
oauth_broker_release(struct oauth_broker *b, const char *token, const char *error)
{
	void **v = b->waiting;
	size_t count = b->nwaiting;
	/* A copy: a login started here may change the settings, and with them the cache. */
	char *copy = xstrdup_or_null(token);

	/* Logins that start waiting meanwhile wait for the next token. */
	b->waiting = NULL;
	b->nwaiting = b->nalloc = 0;
	for (size_t i = 0; i < count && !b->dead; i++)
		b->fn(v[i], copy, error);
	free(v);
	xfree_secret(copy);
}

static int oauth_broker_fetch(struct oauth_broker *, char **);

/* The token endpoint answered. */
static void
oauth_broker_fetch_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct oauth_fetch *f = arg;
	struct oauth_broker *b = f->b;
	const struct smtp_settings *smtp = b->s->smtp;
	struct oauth_result res;
	char *cause = NULL;
	int ok;

	b->busy++;
	b->fetching = 0;
	ok = oauth_fetch_finish(t, f, rc, &res) == 0;
	if (f->generation != b->generation) {
		/* The credentials changed while it was on its way: ask again with the new ones. */
		if (b->nwaiting > 0 && oauth_broker_fetch(b, &cause) != 0) {
			oauth_broker_release(b, NULL, cause);
			free(cause);
		}
	} else if (ok) {
		long long now = ratelimit_now();

		oauth_cache_store(&b->token, res.token, res.expires_in, now);
		res.token = NULL;
		free(b->token_error);
		b->token_error = NULL;
		b->hold_until = 0;
		oauth_broker_log(
		    b, LOG_INFO,
		    "oauth token=obtained expires_in=%lds refresh_in=%llds waiting=%zu",
		    res.expires_in, (b->token.refresh_after - now) / 1000, b->nwaiting);
		oauth_broker_release(b, b->token.token, NULL);
	} else {
		/* Once per failed request, however many logins were waiting on it. */
		free(b->token_error);
		b->token_error = *res.code != '\0' ? xasprintf("%s (%s)", res.error, res.code)
		                                   : xstrdup(res.error);
		b->hold_until = ratelimit_now() + OAUTH_TOKEN_HOLD;
		for (char *p = res.error; *p != '\0'; p++)
			if (*p == '"')
				*p = '\'';
		oauth_broker_log(b, LOG_ERR,
		                 "oauth token=failed token_url=%s client_id=%s error_code=%s "
		                 "waiting=%zu detail=\"%s\"; email waiting on it is retried later",
		                 smtp != NULL && smtp->token_url != NULL ? smtp->token_url : "",
		                 smtp != NULL && smtp->client_id != NULL ? smtp->client_id : "",
		                 *res.code != '\0' ? res.code : "none", b->nwaiting, res.error);
		oauth_broker_release(b, NULL, b->token_error);
	}
	oauth_result_clear(&res);
	if (--b->busy == 0 && b->dead)
		oauth_broker_free(b);
}

/* Ask the token endpoint for a new access token. */
static int
oauth_broker_fetch(struct oauth_broker *b, char **cause)
{
	struct transfer *t = transfer_new();
	struct oauth_fetch *f;

	if ((f = oauth_fetch_setup(t, b->s, cause)) == NULL) {
		transfer_free(t);
		return -1;
	}
	f->b = b;
	f->generation = b->generation;
	transfer_set_done(t, oauth_broker_fetch_cb, f);
	if (transport_start(b->tp, t, cause) != 0)
		return -1;
	b->fetching = 1;
	return 0;
}

/* A token for one login, now or later. */
int
oauth_broker_get(struct oauth_broker *b, void *arg, const char **token, char **cause)
{
	long long now = ratelimit_now();
	const char *cached = oauth_cache_get(&b->token, now);
	char *why = NULL;

	if (oauth_cache_refresh_due(&b->token, now) && !b->fetching) {
		if (cached == NULL && now < b->hold_until) {
			*cause = xasprintf("no OAuth access token: %s", b->token_error);
			return -1;
		}
		/* Ahead of time when a token is still in hand: nothing waits for this one. */
		if (now >= b->hold_until && oauth_broker_fetch(b, &why) != 0) {
			if (cached == NULL) {
				*cause = xasprintf("cannot ask for an OAuth access token: %s", why);
				free(why);
				return -1;
			}
			oauth_broker_log(
			    b, LOG_WARNING,
			    "oauth token=refresh_failed detail=\"%s\"; the current token "
			    "is used meanwhile",
			    why);
			free(why);
		}
	}
	if (cached == NULL) {
		if (b->nwaiting == b->nalloc) {
			b->nalloc = b->nalloc > 0 ? b->nalloc * 2 : 8;
			b->waiting = xreallocarray(b->waiting, b->nalloc, sizeof *b->waiting);
		}
		b->waiting[b->nwaiting++] = arg;
		return 1;
	}
	*token = cached;
	return 0;
}

/* Forget the token the mail server refused. */
void
oauth_broker_forget(struct oauth_broker *b)
{
	oauth_cache_clear(&b->token);
}

/* Free the broker (only mark it dead inside its callback). */
void
oauth_broker_free(struct oauth_broker *b)
{
	if (b == NULL)
		return;
	b->dead = 1;
	if (b->busy > 0)
		return;
	oauth_cache_clear(&b->token);
	free(b->token_error);
	free(b->waiting);
	free(b);
}
