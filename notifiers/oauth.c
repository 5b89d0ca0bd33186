/* oauth.c - OAuth 2.0 client credentials tokens for SMTP XOAUTH2 (Microsoft identity platform). */
#include "oauth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http.h"
#include "xalloc.h"

/* Longest error detail kept from the token endpoint. */
#define OAUTH_DETAIL_MAX 300
/* Assumed lifetime when the endpoint does not say (seconds): short, to be safe. */
#define OAUTH_DEFAULT_EXPIRES_IN 300

struct oauth_fetch {
	struct http_state *http;
	char *secret;         /* the client secret, to keep it out of any error text */
	char *escaped_secret; /* and as it appears in the request body */
};

/* Free a string after wiping it. */
static void
wipe_free(void *p)
{
	char *s = p;

	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Free a fetch's state. */
static void
oauth_fetch_free(void *p)
{
	struct oauth_fetch *f = p;

	wipe_free(f->secret);
	wipe_free(f->escaped_secret);
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
	wipe_free(secret);
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

/* "HTTP <code>" plus what the body says, one clean line. */
static char *
oauth_error_text(long code, const char *body, size_t len, json_t *j)
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
	                        json_is_object(j) ? j : NULL);
	r->error = transport_clean_text(text, OAUTH_DETAIL_MAX, 0);
	free(text);
	json_decref(j);
	return -1;
}

/* Free and wipe what r holds. */
void
oauth_result_clear(struct oauth_result *r)
{
	wipe_free(r->token);
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
	wipe_free(c->token);
	memset(c, 0, sizeof *c);
}

/* Set up t to fetch a token. */
struct oauth_fetch *
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
	transfer_keep(t, body, wipe_free);
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

/* Replace every occurrence of secret in *text by "[redacted]". */
static void
oauth_redact(char **text, const char *secret)
{
	char *p, *out;

	if (*text == NULL || secret == NULL || *secret == '\0')
		return;
	while ((p = strstr(*text, secret)) != NULL) {
		*p = '\0';
		out = xasprintf("%s[redacted]%s", *text, p + strlen(secret));
		free(*text);
		*text = out;
	}
}

/* Parse the finished fetch t. */
int
oauth_fetch_finish(struct transfer *t, struct oauth_fetch *f, int rc, struct oauth_result *r)
{
	struct http_response resp;
	const char *err;

	http_get_response(t, f->http, &resp);
	if (rc != CURLE_OK) {
		memset(r, 0, sizeof *r);
		err = transfer_error(t);
		r->error = transport_clean_text(
		    *err != '\0' ? err : curl_easy_strerror((CURLcode)rc), OAUTH_DETAIL_MAX, 0);
		return -1;
	}
	if (oauth_parse_response(resp.code, resp.body, resp.len, r) == 0)
		return 0;
	/* An endpoint (or a proxy) that echoes the request must not put the secret in a log. */
	oauth_redact(&r->error, f->secret);
	oauth_redact(&r->error, f->escaped_secret);
	return -1;
}
