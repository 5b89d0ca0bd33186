/* webhook.c - one alert as a signed JSON POST over HTTP(S). */
#include "webhook.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "utf8.h"
#include "xalloc.h"

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
	json_object_set_new(root, "rule", delivery_json(d->rule));
	json_object_set_new(root, "title", delivery_json(d->title));
	json_object_set_new(root, "case", delivery_json(d->case_ref));
	json_object_set_new(root, "stage", delivery_json(d->stage));
	json_object_set_new(root, "start", delivery_json(d->start));
	json_object_set_new(root, "due", delivery_json(d->due));
	json_object_set_new(root, "fires", delivery_json(d->fires));
	json_object_set_new(root, "days_late", json_integer(d->days_late));
	json_object_set_new(root, "delivery", delivery_json(d->uid));
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
