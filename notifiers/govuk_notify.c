/*
 * govuk_notify.c - one alert or a digest as a GOV.UK Notify email (POST
 * /v2/notifications/email, JWT auth).
 */
#include "govuk_notify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "digest.h"
#include "oauth.h"
#include "transport.h"
#include "utf8.h"
#include "webhook.h"
#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define GOVUK_DETAIL_MAX 300
/* Longest "answers" a single alert's personalisation holds (its ten lines at most). */
#define GOVUK_ANSWERS_MAX 4000

/* Which request of a send is the current one. */
enum govuk_phase {
	GOVUK_LOOKUP, /* is the reference already known (an earlier attempt got through)? */
	GOVUK_SEND,   /* the email itself */
};

/* One delivery's send: what each of its requests needs. */
struct govuk_send {
	enum govuk_phase phase;
	char *api_key;    /* wiped when freed */
	char *lookup_url; /* NULL on a first attempt */
	char *send_url;
	char *body;
	struct http_state *http; /* the current request's, kept by its transfer */
};

/* n bytes as base64url without padding. */
char *
govuk_base64url(const unsigned char *p, size_t n)
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
govuk_valid_uuid(const char *s)
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
govuk_service_id(const char *key, char **service_id)
{
	size_t len = strlen(key);
	char sid[37];

	*service_id = NULL;
	/* "{name}-{service id}-{secret}": the two UUIDs are the last 73 characters. */
	if (len < 74 || key[len - 37] != '-' || key[len - 74] != '-')
		return -1;
	memcpy(sid, key + len - 73, 36);
	sid[36] = '\0';
	if (!govuk_valid_uuid(sid) || !govuk_valid_uuid(key + len - 36))
		return -1;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return -1;
	*service_id = xstrdup(sid);
	return 0;
}

/* The API key's service id and secret. */
int
govuk_key_parts(const char *key, char service_id[37], char secret[37])
{
	char *sid = NULL;
	size_t len;

	if (key == NULL || govuk_service_id(key, &sid) != 0)
		return -1;
	len = strlen(key);
	memcpy(service_id, sid, 37);
	memcpy(secret, key + len - 36, 37);
	free(sid);
	return 0;
}

/* JSON text of j as base64url. */
static char *
govuk_b64_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *out;

	if (text == NULL)
		fatalx("json_dumps failed");
	out = govuk_base64url((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

/* An HS256 JWT for the key, issued at iat. */
char *
govuk_jwt(const char *api_key, time_t iat)
{
	char sid[37], secret[37], *header, *payload, *input, *sig, *jwt;
	unsigned char mac[32];
	json_t *h, *p;

	if (govuk_key_parts(api_key, sid, secret) != 0)
		return NULL;
	h = json_pack("{s:s, s:s}", "typ", "JWT", "alg", "HS256");
	p = json_pack("{s:s, s:I}", "iss", sid, "iat", (json_int_t)iat);
	if (h == NULL || p == NULL)
		fatalx("json_pack failed building a JWT");
	header = govuk_b64_json(h);
	payload = govuk_b64_json(p);
	json_decref(h);
	json_decref(p);
	input = xasprintf("%s.%s", header, payload);
	webhook_hmac_sha256(secret, strlen(secret), input, strlen(input), mac);
	sig = govuk_base64url(mac, sizeof mac);
	jwt = xasprintf("%s.%s", input, sig);
	explicit_bzero(secret, sizeof secret);
	explicit_bzero(mac, sizeof mac);
	free(header);
	free(payload);
	free(input);
	free(sig);
	return jwt;
}

/* A JSON string of s (invalid UTF-8 replaced), "" for NULL: every personalisation value is one. */
static json_t *
govuk_text(const char *s)
{
	return delivery_json(s != NULL ? s : "");
}

/* One alert's personalisation: its values and the rule's fields, all strings. */
static json_t *
govuk_alert_personalisation(const struct delivery *d)
{
	json_t *pers = json_object(), *v;
	const char *key;
	char late[16], *answers;

	snprintf(late, sizeof late, "%d", d->days_late);
	json_object_set_new(pers, "rule", govuk_text(d->rule));
	json_object_set_new(pers, "title", govuk_text(d->title));
	json_object_set_new(pers, "case", govuk_text(d->case_ref));
	json_object_set_new(pers, "stage", govuk_text(d->stage));
	json_object_set_new(pers, "start", govuk_text(d->start));
	json_object_set_new(pers, "due", govuk_text(d->due));
	json_object_set_new(pers, "days_overdue", json_string(late));
	json_object_set_new(pers, "expected", govuk_text(d->expected));
	/* The stage as people read it ("Overdue: team manager"), else its id. */
	json_object_set_new(pers, "label", govuk_text(d->label != NULL ? d->label : d->stage));
	json_object_set_new(pers, "status", govuk_text(d->status));
	json_object_set_new(pers, "case_url", govuk_text(d->case_url));
	/*
	 * Where to answer, and who answered what so far (never a reason or a
	 * note: Notify is a third party). The template shows them only if it says
	 * ((answer_url)) and ((answers)).
	 */
	json_object_set_new(pers, "answer_url",
	                    govuk_text(govuk_url_ok(d->response_link) ? d->response_link : ""));
	answers = govuk_answers(d, GOVUK_ANSWERS_MAX, "\n");
	json_object_set_new(pers, "answers", govuk_text(answers));
	free(answers);
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

			json_object_set_new(pers, key, govuk_text(text));
			free(text);
		}
	}
	return pers;
}

/* A digest's personalisation: subject, body, count, part and parts, all strings. */
static json_t *
govuk_digest_personalisation(const struct delivery *d)
{
	json_t *pers = json_object();
	char *subject = digest_subject(d), *body = govuk_digest_body(d, GOVUK_DIGEST_BODY_MAX);
	char num[32];

	json_object_set_new(pers, "subject", govuk_text(subject));
	json_object_set_new(pers, "body", govuk_text(body));
	snprintf(num, sizeof num, "%zu", d->nitems);
	json_object_set_new(pers, "count", json_string(num));
	snprintf(num, sizeof num, "%d", d->part > 0 ? d->part : 1);
	json_object_set_new(pers, "part", json_string(num));
	snprintf(num, sizeof num, "%d", d->parts > 0 ? d->parts : 1);
	json_object_set_new(pers, "parts", json_string(num));
	free(subject);
	free(body);
	return pers;
}

/* The request body for d. */
char *
govuk_build_body(const struct delivery *d, char **cause)
{
	json_t *root;
	char *out;

	if (!d->digest && d->fields != NULL && !json_is_object(d->fields)) {
		*cause = xstrdup("the alert's fields are not a JSON object");
		return NULL;
	}
	root = json_object();
	json_object_set_new(root, "email_address", govuk_text(d->recipient));
	json_object_set_new(root, "template_id", govuk_text(d->template_id));
	json_object_set_new(root, "personalisation",
	                    d->digest ? govuk_digest_personalisation(d)
	                              : govuk_alert_personalisation(d));
	json_object_set_new(root, "reference", govuk_text(d->uid));
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
		fatalx("json_dumps failed");
	return out;
}

/* base_url + "/v2/notifications/email". */
char *
govuk_send_url(const char *base_url)
{
	return xasprintf("%s/v2/notifications/email", base_url);
}

/* base_url + "/v2/notifications?reference=" + the escaped reference. */
char *
govuk_lookup_url(const char *base_url, const char *reference)
{
	char *esc = oauth_form_escape(reference), *url;

	url = xasprintf("%s/v2/notifications?reference=%s", base_url, esc);
	free(esc);
	return url;
}

/* "HTTP <code>", with Notify's first "error: message" when the body has one. */
static char *
govuk_detail(const struct http_response *resp)
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
govuk_classify(int rc, const struct http_response *resp, time_t now, const char *errbuf,
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
		r->retry_after = http_retry_after(resp->retry_after, now);
		detail = govuk_detail(resp);
	} else {
		/* 400 (template, address, team-only key...) and the rest: sending again cannot
		 * help. */
		r->status = DELIVERY_FAILED;
		detail = govuk_detail(resp);
	}
	clean = transport_clean_text(detail, GOVUK_DETAIL_MAX, 0);
	free(detail);
	r->detail = clean;
	return clean;
}

/* What a reference lookup found. */
int
govuk_lookup_result(int rc, const struct http_response *resp, time_t now, const char *errbuf,
                    struct delivery_result *r, char **detail)
{
	json_t *j, *list;
	char *text;
	int found, parsed;

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
		/* JSON without the list says nothing: never guess at its text. */
		parsed = j != NULL;
		json_decref(j);
		/* Cut short (or not JSON): look for an opening '{' after the list's '['. */
		if (!parsed && (text = strstr(resp->body, "\"notifications\"")) != NULL &&
		    (text = strchr(text, '[')) != NULL) {
			for (text++; isspace((unsigned char)*text); text++)
				;
			if (*text == '{')
				return 1;
			if (*text == ']')
				return 0;
		}
	}
	govuk_classify(rc, resp, now, errbuf, r);
	/* Whatever the lookup got, it is a temporary failure of this attempt. */
	text = xasprintf("looking up the reference before sending again: %s", r->detail);
	free((char *)r->detail);
	*detail = transport_clean_text(text, GOVUK_DETAIL_MAX, 0);
	free(text);
	r->status = DELIVERY_RETRY;
	r->detail = *detail;
	if (rc == CURLE_OK && resp->code == 200)
		r->code = 200;
	return -1;
}

/* The send of d. */
struct govuk_send *
govuk_new(const struct delivery *d, char **cause)
{
	struct govuk_send *g = xcalloc(1, sizeof *g);

	g->api_key = xstrdup(d->secret);
	g->send_url = govuk_send_url(d->base_url);
	if ((g->body = govuk_build_body(d, cause)) == NULL) {
		govuk_free(g);
		return NULL;
	}
	if (d->attempts > 1)
		g->lookup_url = govuk_lookup_url(d->base_url, d->uid);
	g->phase = g->lookup_url != NULL ? GOVUK_LOOKUP : GOVUK_SEND;
	return g;
}

/* Set up t for g's next request: a GET of the lookup, or a POST of the body. */
int
govuk_setup(struct govuk_send *g, struct transfer *t, const struct notifier_settings *s,
            char **cause)
{
	struct curl_slist *h;
	const char *url = g->phase == GOVUK_SEND ? g->send_url : g->lookup_url;
	char *jwt, *body = NULL;

	/* A fresh token for every request: Notify refuses one more than 30 s old. */
	if ((jwt = govuk_jwt(g->api_key, time(NULL))) == NULL) {
		*cause = xstrdup("the contact's api_key_file does not hold a Notify API key");
		return -1;
	}
	h = http_json_headers(NULL);
	h = curl_slist_append(h, "Accept: application/json");
	if (h != NULL) {
		char *auth = xasprintf("Authorization: Bearer %s", jwt);

		h = curl_slist_append(h, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
	if (h == NULL)
		fatalx("out of memory building a Notify request");
	transfer_keep_slist(t, h);
	if (g->phase == GOVUK_SEND) {
		body = xstrdup(g->body);
		transfer_keep(t, body, free);
	}
	if ((g->http = http_request(t, s, url, body, h, GOVUK_RESPONSE_MAX, cause)) == NULL)
		return -1;
	return 0;
}

/* Take the answer to g's request: after a lookup, send unless it was found; after a send, done. */
int
govuk_finish(struct govuk_send *g, struct transfer *t, CURLcode rc, struct delivery_result *r,
             char **detail)
{
	struct http_response resp;
	int found;

	*detail = NULL;
	rc = http_result(g->http, rc);
	http_get_response(t, g->http, &resp);
	if (g->phase == GOVUK_SEND) {
		*detail = govuk_classify(rc, &resp, time(NULL), transfer_error(t), r);
		return 0;
	}
	found = govuk_lookup_result(rc, &resp, time(NULL), transfer_error(t), r, detail);
	if (found > 0) {
		/* The earlier attempt reached Notify: sending again would mail twice. */
		static const struct delivery_result sent = {
		    DELIVERY_SENT, 200,
		    "Notify already has this reference (an earlier attempt got through)", 0};

		*r = sent;
		return 0;
	}
	if (found < 0)
		return 0;
	g->phase = GOVUK_SEND;
	return 1;
}

/* Free g. */
void
govuk_free(struct govuk_send *g)
{
	if (g == NULL)
		return;
	if (g->api_key != NULL) {
		explicit_bzero(g->api_key, strlen(g->api_key));
		free(g->api_key);
	}
	free(g->lookup_url);
	free(g->send_url);
	free(g->body);
	free(g);
}
