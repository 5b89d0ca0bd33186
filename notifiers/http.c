/* http.c - the HTTP client of the channels: one request on a transfer, its answer classified. */
#include "http.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define HTTP_DETAIL_MAX 300

/* What one request keeps: the start of the response body, at most max bytes. */
struct http_state {
	char *response; /* the start of the response body, NUL-terminated */
	size_t len, cap, max;
	size_t received; /* bytes of body received in all */
	size_t limit;    /* past this many the transfer is stopped */
	bool overflow;   /* it was: the answer is what came before */
};

/* Free an http_state and the response it kept, wiping it (a token may be in it). */
static void
http_state_free(void *p)
{
	struct http_state *st = p;

	if (st->response != NULL) {
		explicit_bzero(st->response, st->cap);
		free(st->response);
	}
	free(st);
}

/* Seconds asked for by a Retry-After value. */
int
http_retry_after(const char *value, time_t now)
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
			if (secs > HTTP_RETRY_AFTER_MAX)
				secs = HTTP_RETRY_AFTER_MAX + 1;
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
	return secs > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : (int)secs;
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
http_classify(CURLcode rc, long code, const char *body, size_t len, const char *retry_after,
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
		r->retry_after = http_retry_after(retry_after, now);
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
	clean = transport_clean_text(detail, HTTP_DETAIL_MAX, 0);
	free(detail);
	r->detail = clean;
	return clean;
}

/*
 * CURLOPT_WRITEFUNCTION: keep the start of the response body; past the limit
 * stop the transfer (a server streaming without end must not hold the
 * delivery until its timeout).
 */
static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_state *st = arg;
	size_t len = size * n, room = st->max - st->len;

	st->received += len;
	if (st->received > st->limit) {
		st->overflow = true;
		return 0; /* CURLE_WRITE_ERROR: curl stops reading and closes the connection */
	}
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

/* Set up t for one HTTP request. */
struct http_state *
http_request(struct transfer *t, const struct notifier_settings *s, const char *url,
             const char *body, struct curl_slist *headers, size_t max_response, char **cause)
{
	CURL *easy = transfer_easy(t);
	struct http_state *st;
	const char *optname = "";
	CURLcode rc;

	st = xcalloc(1, sizeof *st);
	st->max = max_response > 0 ? max_response : HTTP_RESPONSE_MAX;
	st->limit = st->max > HTTP_BODY_LIMIT ? st->max : HTTP_BODY_LIMIT;
	transfer_keep(t, st, http_state_free);

	TRANSFER_SETOPT(CURLOPT_URL, url);
	TRANSFER_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	TRANSFER_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	TRANSFER_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	TRANSFER_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	TRANSFER_SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file != NULL)
		TRANSFER_SETOPT(CURLOPT_CAINFO, s->ca_file);
	/* The proxy configured, or none: "" keeps curl off the *_proxy environment variables. */
	TRANSFER_SETOPT(CURLOPT_PROXY, s->proxy != NULL ? s->proxy : "");
	TRANSFER_SETOPT(CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
	TRANSFER_SETOPT(CURLOPT_TIMEOUT, (long)s->delivery_timeout);
	if (headers != NULL)
		TRANSFER_SETOPT(CURLOPT_HTTPHEADER, headers);
	if (body != NULL) {
		TRANSFER_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		TRANSFER_SETOPT(CURLOPT_POSTFIELDS, body);
	}
	TRANSFER_SETOPT(CURLOPT_WRITEFUNCTION, http_write_cb);
	TRANSFER_SETOPT(CURLOPT_WRITEDATA, st);
	return st;

fail:
	*cause = xasprintf("cannot set up the request: %s: %s", optname, curl_easy_strerror(rc));
	return NULL;
}

/* The usual headers of a JSON POST, plus X-Escalator-Delivery with uid if not NULL. */
struct curl_slist *
http_json_headers(const char *uid)
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

/* The transfer's result, a body stopped at its limit counting as complete. */
CURLcode
http_result(const struct http_state *st, CURLcode rc)
{
	return rc == CURLE_WRITE_ERROR && st != NULL && st->overflow ? CURLE_OK : rc;
}

/* The response of a finished transfer. */
void
http_get_response(struct transfer *t, struct http_state *st, struct http_response *out)
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
http_finish(struct transfer *t, struct http_state *st, CURLcode rc, struct delivery_result *r)
{
	struct http_response resp;

	http_get_response(t, st, &resp);
	return http_classify(http_result(st, rc), resp.code, resp.body, resp.len, resp.retry_after,
	                     time(NULL), transfer_error(t), r);
}
