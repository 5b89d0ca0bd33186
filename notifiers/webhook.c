/* webhook.c - one alert as a signed JSON POST over HTTP(S). */
#include "webhook.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "utf8.h"
#include "xalloc.h"

/* An urgency's name in the JSON: "escalation", "overdue" or "reminder". */
static const char *
webhook_urgency(enum delivery_urgency u)
{
	switch (u) {
	case DELIVERY_ESCALATION:
		return "escalation";
	case DELIVERY_OVERDUE:
		return "overdue";
	case DELIVERY_REMINDER:
		break;
	}
	return "reminder";
}

/* The clock's history: [{"stage","when","recipient","status","copied"}], oldest first. */
static json_t *
webhook_history(const struct delivery *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->nhistory; i++) {
		const struct delivery_event *e = &d->history[i];
		json_t *o = json_object();

		json_object_set_new(o, "stage", delivery_json(e->stage));
		json_object_set_new(o, "when", delivery_json(e->when));
		json_object_set_new(o, "recipient", delivery_json(e->recipient));
		json_object_set_new(o, "status", delivery_json(e->status));
		json_object_set_new(o, "copied", json_boolean(e->copied));
		json_array_append_new(a, o);
	}
	return a;
}

/* The JSON object of one alert, with uid as its "delivery". */
json_t *
webhook_alert_json(const struct delivery *d, const char *uid)
{
	json_t *root = json_object();

	json_object_set_new(root, "rule", delivery_json(d->rule));
	json_object_set_new(root, "title", delivery_json(d->title));
	json_object_set_new(root, "case", delivery_json(d->case_ref));
	json_object_set_new(root, "stage", delivery_json(d->stage));
	json_object_set_new(root, "start", delivery_json(d->start));
	json_object_set_new(root, "due", delivery_json(d->due));
	json_object_set_new(root, "fires", delivery_json(d->fires));
	json_object_set_new(root, "days_late", json_integer(d->days_late));
	json_object_set_new(root, "delivery", delivery_json(uid));
	json_object_set_new(root, "label", delivery_json(d->label));
	json_object_set_new(root, "urgency", json_string(webhook_urgency(d->urgency)));
	json_object_set_new(root, "status", delivery_json(d->status));
	if (d->case_url != NULL)
		json_object_set_new(root, "case_url", delivery_json(d->case_url));
	if (d->copied != NULL) {
		json_t *c = json_object();

		json_object_set_new(c, "stage", delivery_json(d->copied));
		json_object_set_new(c, "on", delivery_json(d->copied_on));
		json_object_set_new(root, "copied", c);
	}
	json_object_set_new(root, "history", webhook_history(d));
	/*
	 * Where this recipient answers it, and every answer so far: each only when
	 * there is one, as case_url and copied (a council without answers sends
	 * exactly what it sent before).
	 */
	if (d->response_link != NULL)
		json_object_set_new(root, "response_url", delivery_json(d->response_link));
	if (d->nresponses > 0)
		json_object_set_new(root, "responses", delivery_responses_json(d));
	/* Only what the rule configured (data minimisation). */
	if (json_is_object(d->fields))
		json_object_set(root, "fields", d->fields);
	return root;
}

/* A closed clock of a digest:
 * {"rule","title","case","start","due","closed_on","days_late","label"}. */
static json_t *
webhook_closed_json(const struct delivery *it)
{
	json_t *o = json_object();

	json_object_set_new(o, "rule", delivery_json(it->rule));
	json_object_set_new(o, "title", delivery_json(it->title));
	json_object_set_new(o, "case", delivery_json(it->case_ref));
	json_object_set_new(o, "start", delivery_json(it->start));
	json_object_set_new(o, "due", delivery_json(it->due));
	json_object_set_new(o, "closed_on", delivery_json(it->closed_on));
	json_object_set_new(o, "days_late", json_integer(it->closed_late));
	json_object_set_new(o, "label", delivery_json(it->label));
	return o;
}

/* The JSON of digest d: its alerts and closed clocks in reading order. */
static json_t *
webhook_digest_json(const struct delivery *d)
{
	const struct delivery **order = xcalloc(d->nitems + 1, sizeof *order);
	json_t *root = json_object(), *alerts = json_array(), *closed = json_array();

	digest_order(d, order, NULL);
	for (size_t i = 0; i < d->nitems; i++) {
		const struct delivery *it = order[i];

		if (it->closed)
			json_array_append_new(closed, webhook_closed_json(it));
		else
			/* An item has no delivery id of its own: the digest's is the one to drop a
			 * repeat by. */
			json_array_append_new(
			    alerts, webhook_alert_json(it, it->uid != NULL ? it->uid : d->uid));
	}
	free(order);
	json_object_set_new(root, "digest", json_true());
	json_object_set_new(root, "contact", delivery_json(d->contact));
	json_object_set_new(root, "delivery", delivery_json(d->uid));
	json_object_set_new(root, "part", json_integer(d->part > 0 ? d->part : 1));
	json_object_set_new(root, "parts", json_integer(d->parts > 0 ? d->parts : 1));
	json_object_set_new(root, "alerts", alerts);
	json_object_set_new(root, "closed", closed);
	return root;
}

/* The JSON body for d. */
char *
webhook_build_body(const struct delivery *d, char **cause)
{
	json_t *root;
	char *out;

	if (d->digest) {
		root = webhook_digest_json(d);
	} else {
		if (d->fields != NULL && !json_is_object(d->fields)) {
			*cause = xstrdup("webhook fields are not a JSON object");
			return NULL;
		}
		root = webhook_alert_json(d, d->uid);
	}
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

/* Set up t to POST d to d->recipient. */
struct http_state *
webhook_setup(struct transfer *t, const struct notifier_settings *s, const struct delivery *d,
              time_t now, char **cause)
{
	struct curl_slist *h;
	char *body, ts[32];

	if ((body = webhook_build_body(d, cause)) == NULL)
		return NULL;
	transfer_keep(t, body, free);

	snprintf(ts, sizeof ts, "%lld", (long long)now);
	h = http_json_headers(d->uid);
	h = transport_add_header(h, xasprintf("X-Escalator-Timestamp: %s", ts));
	if (d->secret != NULL) {
		char *sig = webhook_signature(d->secret, ts, body, strlen(body));

		h = transport_add_header(h, xasprintf("X-Escalator-Signature: %s", sig));
		free(sig);
	}
	transfer_keep_slist(t, h);
	return http_request(t, s, d->recipient, body, h, 0, cause);
}
