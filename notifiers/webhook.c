/* webhook.c - one alert as a signed JSON POST over HTTP(S). */
#include "webhook.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "utf8.h"
#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define WEBHOOK_DETAIL_MAX 300

struct webhook_state {
	char *response; /* the start of the response body, NUL-terminated */
	size_t len, cap, max;
};

/* Free a webhook_state and the response it kept, wiping it (a token may be in it). */
static void
webhook_state_free(void *p)
{
	struct webhook_state *st = p;

	if (st->response != NULL) {
		explicit_bzero(st->response, st->cap);
		free(st->response);
	}
	free(st);
}

/* A JSON string of s with invalid UTF-8 replaced, or null. */
static json_t *
json_text(const char *s)
{
	json_t *j;
	char *valid;

	if (s == NULL)
		return json_null();
	valid = utf8_sanitize(s);
	j = json_string(valid);
	free(valid);
	if (j == NULL)
		fatalx("json_string failed on sanitised text");
	return j;
}

/* The JSON body for d. */
char *
webhook_build_body(const struct delivery *d, char **cause)
{
	json_t *root;
	char *out;

	if (d->fields != NULL && !json_is_object(d->fields)) {
		*cause = xstrdup("webhook fields are not a JSON object");
		return NULL;
	}
	root = json_object();
	json_object_set_new(root, "rule", json_text(d->rule));
	json_object_set_new(root, "title", json_text(d->title));
	json_object_set_new(root, "case", json_text(d->case_ref));
	json_object_set_new(root, "stage", json_text(d->stage));
	json_object_set_new(root, "start", json_text(d->start));
	json_object_set_new(root, "due", json_text(d->due));
	json_object_set_new(root, "fires", json_text(d->fires));
	json_object_set_new(root, "days_late", json_integer(d->days_late));
	json_object_set_new(root, "delivery", json_text(d->uid));
	/* Only what the rule configured (data minimisation). */
	if (d->fields != NULL)
		json_object_set(root, "fields", d->fields);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (out == NULL)
		fatalx("json_dumps failed");
	return out;
}

/* HMAC-SHA256 of msg under key. */
void
webhook_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                    unsigned char out[32])
{
	static const unsigned char empty[1];
	unsigned int outlen = 32;
	unsigned char *ok;

	ok = HMAC(EVP_sha256(), key, (int)keylen, len > 0 ? msg : empty, len, out, &outlen);
	if (ok == NULL || outlen != 32)
		fatalx("HMAC-SHA256 failed");
}

/* "sha256=<hex>" over timestamp "." body. */
char *
webhook_signature(const char *secret, const char *timestamp, const char *body, size_t len)
{
	size_t tlen = strlen(timestamp);
	unsigned char *msg = xmalloc(tlen + 1 + len), mac[32];
	char *sig = xmalloc(7 + 64 + 1);

	memcpy(msg, timestamp, tlen);
	msg[tlen] = '.';
	memcpy(msg + tlen + 1, body, len);
	webhook_hmac_sha256(secret, strlen(secret), msg, tlen + 1 + len, mac);
	free(msg);
	memcpy(sig, "sha256=", 7);
	for (size_t i = 0; i < 32; i++)
		snprintf(sig + 7 + i * 2, 3, "%02x", mac[i]);
	return sig;
}

/* Seconds asked for by a Retry-After value. */
int
webhook_retry_after(const char *value, time_t now)
{
	long long secs = 0;
	const char *p;
	time_t when;

	if (value == NULL)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		for (p = value; isdigit((unsigned char)*p); p++) {
			secs = secs * 10 + (*p - '0');
			if (secs > WEBHOOK_RETRY_AFTER_MAX)
				secs = WEBHOOK_RETRY_AFTER_MAX + 1;
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return 0;
	} else {
		/* An HTTP-date. */
		if ((when = curl_getdate(value, NULL)) == -1 || when <= now)
			return 0;
		secs = (long long)(when - now);
	}
	return secs > WEBHOOK_RETRY_AFTER_MAX ? WEBHOOK_RETRY_AFTER_MAX : (int)secs;
}

/* "HTTP <code>" plus the first non-empty line of the response body. */
static char *
http_detail(long code, const char *body, size_t len)
{
	const char *p = body, *end, *nl;
	char *line, *clean, *detail;

	/* No body: NULL + 0 would be undefined. */
	if (body == NULL || len == 0)
		return xasprintf("HTTP %ld", code);
	end = body + len;
	while (p != NULL && p < end && (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t'))
		p++;
	if (p == NULL || p >= end)
		return xasprintf("HTTP %ld", code);
	nl = memchr(p, '\n', (size_t)(end - p));
	line = xstrndup(p, (size_t)((nl != NULL ? nl : end) - p));
	clean = transport_clean_text(line, 200, 0);
	detail =
	    *clean != '\0' ? xasprintf("HTTP %ld: %s", code, clean) : xasprintf("HTTP %ld", code);
	free(line);
	free(clean);
	return detail;
}

/* Classify a finished HTTP transfer. */
char *
webhook_classify(CURLcode rc, long code, const char *body, size_t len, const char *retry_after,
                 time_t now, const char *errbuf, struct delivery_result *r)
{
	char *detail, *clean;

	memset(r, 0, sizeof *r);
	r->code = code;
	if (rc != CURLE_OK) {
		r->status = DELIVERY_RETRY;
		detail =
		    xstrdup(errbuf != NULL && *errbuf != '\0' ? errbuf : curl_easy_strerror(rc));
	} else if (code >= 200 && code <= 299) {
		r->status = DELIVERY_SENT;
		detail = xasprintf("HTTP %ld", code);
	} else if (code == 408 || code == 429 || (code >= 500 && code <= 599)) {
		r->status = DELIVERY_RETRY;
		r->retry_after = webhook_retry_after(retry_after, now);
		detail = http_detail(code, body, len);
	} else if (code >= 300 && code <= 499) {
		/* Redirects are not followed, and the request itself was refused: do not repeat it.
		 */
		r->status = DELIVERY_FAILED;
		detail = http_detail(code, body, len);
	} else {
		r->status = DELIVERY_RETRY;
		detail = http_detail(code, body, len);
	}
	clean = transport_clean_text(detail, WEBHOOK_DETAIL_MAX, 0);
	free(detail);
	r->detail = clean;
	return clean;
}

/* CURLOPT_WRITEFUNCTION: keep the start of the response body, drop the rest. */
static size_t
webhook_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct webhook_state *st = arg;
	size_t len = size * n, room = st->max - st->len;

	if (len < room)
		room = len;
	if (room == 0)
		return len;
	if (st->len + room + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 1024;
		char *grown;

		while (cap < st->len + room + 1)
			cap *= 2;
		/* Not realloc: the old buffer is wiped before it is given back. */
		grown = xmalloc(cap);
		if (st->response != NULL) {
			memcpy(grown, st->response, st->len);
			explicit_bzero(st->response, st->cap);
			free(st->response);
		}
		st->response = grown;
		st->cap = cap;
	}
	memcpy(st->response + st->len, data, room);
	st->len += room;
	st->response[st->len] = '\0';
	return len;
}

/* Set an option, or jump to fail with its name. */
#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if ((rc = curl_easy_setopt(easy, opt, val)) != CURLE_OK) {                         \
			optname = #opt;                                                            \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)

/* Set up t for one HTTP request. */
struct webhook_state *
webhook_request(struct transfer *t, const struct notifier_settings *s, const char *url,
                const char *body, struct curl_slist *headers, size_t max_response, char **cause)
{
	CURL *easy = transfer_easy(t);
	struct webhook_state *st;
	const char *optname = "";
	CURLcode rc;

	st = xcalloc(1, sizeof *st);
	st->max = max_response > 0 ? max_response : WEBHOOK_RESPONSE_MAX;
	transfer_keep(t, st, webhook_state_free);

	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, s->ca_file);
	SETOPT(CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
	SETOPT(CURLOPT_TIMEOUT, (long)s->delivery_timeout);
	if (headers != NULL)
		SETOPT(CURLOPT_HTTPHEADER, headers);
	if (body != NULL) {
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		SETOPT(CURLOPT_POSTFIELDS, body);
	}
	SETOPT(CURLOPT_WRITEFUNCTION, webhook_write_cb);
	SETOPT(CURLOPT_WRITEDATA, st);
	return st;

fail:
	*cause = xasprintf("cannot set up the request: %s: %s", optname, curl_easy_strerror(rc));
	return NULL;
}

/* The usual headers of a JSON POST, plus X-Escalator-Delivery with uid if not NULL. */
struct curl_slist *
webhook_json_headers(const char *uid)
{
	struct curl_slist *h = NULL;

	h = transport_add_header(h, xstrdup("Content-Type: application/json"));
	h = transport_add_header(h, xstrdup("User-Agent: escalatord"));
	/* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
	h = transport_add_header(h, xstrdup("Expect:"));
	if (uid != NULL) {
		char *clean = transport_clean_text(uid, 200, 1);

		h = transport_add_header(h, xasprintf("X-Escalator-Delivery: %s", clean));
		free(clean);
	}
	return h;
}

/* Set up t to POST d to d->recipient. */
struct webhook_state *
webhook_setup(struct transfer *t, const struct notifier_settings *s, const struct delivery *d,
              time_t now, char **cause)
{
	struct curl_slist *h;
	char *body, ts[32];

	if ((body = webhook_build_body(d, cause)) == NULL)
		return NULL;
	transfer_keep(t, body, free);

	snprintf(ts, sizeof ts, "%lld", (long long)now);
	h = webhook_json_headers(d->uid);
	h = transport_add_header(h, xasprintf("X-Escalator-Timestamp: %s", ts));
	if (d->secret != NULL) {
		char *sig = webhook_signature(d->secret, ts, body, strlen(body));

		h = transport_add_header(h, xasprintf("X-Escalator-Signature: %s", sig));
		free(sig);
	}
	transfer_keep_slist(t, h);
	return webhook_request(t, s, d->recipient, body, h, 0, cause);
}

/* The response of a finished transfer. */
void
webhook_response(struct transfer *t, struct webhook_state *st, struct http_response *out)
{
	struct curl_header *h;

	memset(out, 0, sizeof *out);
	curl_easy_getinfo(transfer_easy(t), CURLINFO_RESPONSE_CODE, &out->code);
	if (curl_easy_header(transfer_easy(t), "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		out->retry_after = h->value;
	out->body = st->response != NULL ? st->response : "";
	out->len = st->len;
}

/* Classify the finished transfer t. */
char *
webhook_finish(struct transfer *t, struct webhook_state *st, CURLcode rc, struct delivery_result *r)
{
	struct http_response resp;

	webhook_response(t, st, &resp);
	return webhook_classify(rc, resp.code, resp.body, resp.len, resp.retry_after, time(NULL),
	                        transfer_error(t), r);
}
