/* notify.c - one alert as a GOV.UK Notify email (POST /v2/notifications/email, JWT auth). */
#include "notify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "oauth.h"
#include "transport.h"
#include "utf8.h"
#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define NOTIFY_DETAIL_MAX 300

/* n bytes as base64url without padding. */
char *
notify_base64url(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *c = out; *c != '\0'; c++) {
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
	}
	return out;
}

/* Is s a UUID (8-4-4-4-12 hexadecimal digits)? */
bool
notify_valid_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[36] == '\0';
}

/* Check a Notify API key and take its service id. */
int
notify_service_id(const char *key, char **service_id)
{
	size_t len = strlen(key);
	char sid[37];

	*service_id = NULL;
	/* "{name}-{service id}-{secret}": the two UUIDs are the last 73 characters. */
	if (len < 74 || key[len - 37] != '-' || key[len - 74] != '-')
		return -1;
	memcpy(sid, key + len - 73, 36);
	sid[36] = '\0';
	if (!notify_valid_uuid(sid) || !notify_valid_uuid(key + len - 36))
		return -1;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return -1;
	*service_id = xstrdup(sid);
	return 0;
}

/* The API key's service id and secret. */
int
notify_key_parts(const char *key, char service_id[37], char secret[37])
{
	char *sid = NULL;
	size_t len;

	if (key == NULL || notify_service_id(key, &sid) != 0)
		return -1;
	len = strlen(key);
	memcpy(service_id, sid, 37);
	memcpy(secret, key + len - 36, 37);
	free(sid);
	return 0;
}

/* JSON text of j as base64url. */
static char *
notify_b64_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *out;

	if (text == NULL)
		fatalx("json_dumps failed");
	out = notify_base64url((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

/* An HS256 JWT for the key, issued at iat. */
char *
notify_jwt(const char *api_key, time_t iat)
{
	char sid[37], secret[37], *header, *payload, *input, *sig, *jwt;
	unsigned char mac[32];
	json_t *h, *p;

	if (notify_key_parts(api_key, sid, secret) != 0)
		return NULL;
	h = json_pack("{s:s, s:s}", "typ", "JWT", "alg", "HS256");
	p = json_pack("{s:s, s:I}", "iss", sid, "iat", (json_int_t)iat);
	if (h == NULL || p == NULL)
		fatalx("json_pack failed building a JWT");
	header = notify_b64_json(h);
	payload = notify_b64_json(p);
	json_decref(h);
	json_decref(p);
	input = xasprintf("%s.%s", header, payload);
	webhook_hmac_sha256(secret, strlen(secret), input, strlen(input), mac);
	sig = notify_base64url(mac, sizeof mac);
	jwt = xasprintf("%s.%s", input, sig);
	explicit_bzero(secret, sizeof secret);
	explicit_bzero(mac, sizeof mac);
	free(header);
	free(payload);
	free(input);
	free(sig);
	return jwt;
}

/* A JSON string of s (invalid UTF-8 replaced), "" for NULL. */
static json_t *
notify_text(const char *s)
{
	char *valid = utf8_sanitize(s != NULL ? s : "");
	json_t *j = json_string(valid);

	free(valid);
	if (j == NULL)
		fatalx("json_string failed on sanitised text");
	return j;
}

/* The request body for d. */
char *
notify_build_body(const struct delivery *d, char **cause)
{
	json_t *root, *pers, *v;
	const char *key;
	char late[16], *out;

	if (d->fields != NULL && !json_is_object(d->fields)) {
		*cause = xstrdup("the alert's fields are not a JSON object");
		return NULL;
	}
	root = json_object();
	pers = json_object();
	snprintf(late, sizeof late, "%d", d->days_late);
	json_object_set_new(pers, "rule", notify_text(d->rule));
	json_object_set_new(pers, "title", notify_text(d->title));
	json_object_set_new(pers, "case", notify_text(d->case_ref));
	json_object_set_new(pers, "stage", notify_text(d->stage));
	json_object_set_new(pers, "start", notify_text(d->start));
	json_object_set_new(pers, "due", notify_text(d->due));
	json_object_set_new(pers, "days_overdue", json_string(late));
	json_object_set_new(pers, "expected", notify_text(d->expected));
	/* The rule's fields, as strings; they never replace the values above. */
	json_object_foreach(d->fields, key, v)
	{
		if (json_object_get(pers, key) != NULL)
			continue;
		if (json_is_string(v))
			json_object_set(pers, key, v);
		else if (json_is_null(v))
			json_object_set_new(pers, key, json_string(""));
		else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			json_object_set_new(pers, key, notify_text(text));
			free(text);
		}
	}
	json_object_set_new(root, "email_address", notify_text(d->recipient));
	json_object_set_new(root, "template_id", notify_text(d->template_id));
	json_object_set_new(root, "personalisation", pers);
	json_object_set_new(root, "reference", notify_text(d->uid));
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
		fatalx("json_dumps failed");
	return out;
}

/* base_url + "/v2/notifications/email". */
char *
notify_send_url(const char *base_url)
{
	return xasprintf("%s/v2/notifications/email", base_url);
}

/* base_url + "/v2/notifications?reference=" + the escaped reference. */
char *
notify_lookup_url(const char *base_url, const char *reference)
{
	char *esc = oauth_form_escape(reference), *url;

	url = xasprintf("%s/v2/notifications?reference=%s", base_url, esc);
	free(esc);
	return url;
}

/* "HTTP <code>", with Notify's first "error: message" when the body has one. */
static char *
notify_detail(const struct http_response *resp)
{
	json_t *j = resp->len > 0 ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *error = json_string_value(json_object_get(e, "error"));
	const char *message = json_string_value(json_object_get(e, "message"));
	char *detail;

	if (error != NULL || message != NULL)
		detail = xasprintf("HTTP %ld: %s%s%s", resp->code, error != NULL ? error : "",
		                   error != NULL && message != NULL ? ": " : "",
		                   message != NULL ? message : "");
	else
		detail = xasprintf("HTTP %ld", resp->code);
	json_decref(j);
	return detail;
}

/* Classify the answer to a send. */
char *
notify_classify(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                struct delivery_result *r)
{
	long code = resp->code;
	char *detail, *clean;

	memset(r, 0, sizeof *r);
	r->code = code;
	if (rc != CURLE_OK) {
		r->status = DELIVERY_RETRY;
		detail = xstrdup(
		    errbuf != NULL && *errbuf != '\0' ? errbuf : curl_easy_strerror((CURLcode)rc));
	} else if (code >= 200 && code <= 299) {
		r->status = DELIVERY_SENT;
		detail = xasprintf("HTTP %ld", code);
	} else if (code == 403 || code == 408 || code == 429 || code >= 500 || code < 200) {
		/* 403: a revoked key or a skewed clock (iat): fixable, so keep the alert. */
		r->status = DELIVERY_RETRY;
		r->retry_after = webhook_retry_after(resp->retry_after, now);
		detail = notify_detail(resp);
	} else {
		/* 400 (template, address, team-only key...) and the rest: sending again cannot
		 * help. */
		r->status = DELIVERY_FAILED;
		detail = notify_detail(resp);
	}
	clean = transport_clean_text(detail, NOTIFY_DETAIL_MAX, 0);
	free(detail);
	r->detail = clean;
	return clean;
}

/* What a reference lookup found. */
int
notify_lookup_result(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                     struct delivery_result *r, char **detail)
{
	json_t *j, *list;
	char *text;
	int found;

	memset(r, 0, sizeof *r);
	*detail = NULL;
	if (rc == CURLE_OK && resp->code == 200) {
		j = json_loadb(resp->body, resp->len, 0, NULL);
		list = json_object_get(j, "notifications");
		if (json_is_array(list)) {
			found = json_array_size(list) > 0;
			json_decref(j);
			return found;
		}
		json_decref(j);
		/* Cut short (or not JSON): look for an opening '{' after the list's '['. */
		if ((text = strstr(resp->body, "\"notifications\"")) != NULL &&
		    (text = strchr(text, '[')) != NULL) {
			for (text++; isspace((unsigned char)*text); text++)
				;
			if (*text == '{')
				return 1;
			if (*text == ']')
				return 0;
		}
	}
	notify_classify(rc, resp, now, errbuf, r);
	/* Whatever the lookup got, it is a temporary failure of this attempt. */
	text = xasprintf("looking up the reference before sending again: %s", r->detail);
	free((char *)r->detail);
	*detail = transport_clean_text(text, NOTIFY_DETAIL_MAX, 0);
	free(text);
	r->status = DELIVERY_RETRY;
	r->detail = *detail;
	if (rc == CURLE_OK && resp->code == 200)
		r->code = 200;
	return -1;
}
