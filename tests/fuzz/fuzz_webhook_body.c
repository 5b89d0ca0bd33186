/*
 * fuzz_webhook_body.c - the pure helpers of notifiers/webhook.c and
 * notifiers/http.c fed hostile values (as if from the case store or a hostile
 * receiver).
 *
 * Input: case_ref, rule, title, stage, start, due, fires, uid, fields (JSON
 * text), secret, Retry-After value, response body, HTTP status code (decimal;
 * chosen from a list by a hash of the input when missing), label, status,
 * case_url, copied, the answer link, an answer's name and its note (and
 * reason), separated by NUL bytes. A part that is exactly "\x7f" (or
 * missing) is NULL. A hash of the input makes a digest of up to 15 items from
 * the same values (fuzz_digest.h).
 *
 * Checked: the body parses back as JSON (jansson) into exactly the sanitised
 * values, has no raw C0 control characters and is valid UTF-8; fields come back
 * as the object given; the signature is "sha256=" and 64 lower-case hex
 * digits; Retry-After is within bounds and exact for delay-seconds; a
 * classified response gets the status its code calls for and a clean detail.
 * "response_url" is the answer link (or null) and "responses" every answer,
 * amended ones too, with its eight members as recorded (sanitised, never cut).
 * A digest's body always parses, has exactly its seven members, every item
 * (alerts in reading order, each exactly its single webhook's object; closed
 * clocks apart).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "digest.h"
#include "fuzz_common.h"
#include "fuzz_digest.h"
#include "http.h"
#include "transport.h"
#include "utf8.h"
#include "webhook.h"

enum {
	P_CASE,
	P_RULE,
	P_TITLE,
	P_STAGE,
	P_START,
	P_DUE,
	P_FIRES,
	P_UID,
	P_FIELDS,
	P_SECRET,
	P_RETRY_AFTER,
	P_RESPONSE,
	P_CODE,
	P_LABEL,
	P_STATUS,
	P_URL,
	P_COPIED,
	P_ANSWER_URL,
	P_WHO,
	P_NOTE,
	NPARTS
};

/* Member key of root is the JSON string of utf8_sanitize(want), or null for NULL. */
static void
check_string(json_t *root, const char *key, const char *want)
{
	json_t *j = json_object_get(root, key);
	char *valid;

	FUZZ_CHECK(j != NULL, "\"%s\" is missing", key);
	if (want == NULL) {
		FUZZ_CHECK(json_is_null(j), "\"%s\" is not null", key);
		return;
	}
	FUZZ_CHECK(json_is_string(j), "\"%s\" is not a string", key);
	valid = utf8_sanitize(want);
	FUZZ_CHECK(json_string_length(j) == strlen(valid) &&
	               memcmp(json_string_value(j), valid, strlen(valid)) == 0,
	           "\"%s\" came back as %zu bytes, sanitised value has %zu", key,
	           json_string_length(j), strlen(valid));
	free(valid);
}

/*
 * j's "response_url" and "responses" are d's answer link and every answer, as
 * recorded; each absent when there is none.
 */
static void
check_responses(json_t *j, const struct delivery *d)
{
	json_t *a = json_object_get(j, "responses");

	if (d->response_link != NULL)
		check_string(j, "response_url", d->response_link);
	else
		FUZZ_CHECK(json_object_get(j, "response_url") == NULL,
		           "response_url without a link");
	if (d->nresponses == 0) {
		FUZZ_CHECK(a == NULL, "responses without an answer");
		return;
	}
	FUZZ_CHECK(json_is_array(a) && json_array_size(a) == d->nresponses, "%zu responses for %zu",
	           json_array_size(a), d->nresponses);
	for (size_t i = 0; i < d->nresponses; i++) {
		const struct delivery_response *r = &d->responses[i];
		json_t *o = json_array_get(a, i);

		FUZZ_CHECK(json_object_size(o) == 8, "a response of %zu members",
		           json_object_size(o));
		check_string(o, "who", r->who);
		check_string(o, "stage", r->stage);
		check_string(o, "kind", r->kind);
		check_string(o, "agreed_on", r->agreed_on);
		check_string(o, "reason", r->reason);
		check_string(o, "note", r->note);
		check_string(o, "answered_at", r->answered_at);
		FUZZ_CHECK(json_is_boolean(json_object_get(o, "amended")) &&
		               json_is_true(json_object_get(o, "amended")) == r->amended,
		           "\"amended\"");
	}
}

/* One clean, bounded line. */
static void
check_line(const char *s, size_t max)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n <= max, "detail of %zu bytes", n);
	FUZZ_CHECK(fuzz_valid_utf8(s), "detail is not valid UTF-8");
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "control 0x%02x in detail",
		           (unsigned char)s[i]);
}

/* The delay-seconds form: spaces, digits, then only white space; -1 if not that form. */
static long long
naive_seconds(const char *s)
{
	long long v = 0;
	const char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if (v <= HTTP_RETRY_AFTER_MAX)
			v = v * 10 + (*p - '0');
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p != '\0')
		return 0;
	return v > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : v;
}

/* A digest of the input's values: its body parses back with every item where it belongs. */
static void
check_digest(const char *const *v, json_t *fields, uint64_t *rng)
{
	struct delivery *d =
	    fuzz_digest(CHANNEL_WEBHOOK, v[P_UID], v, NPARTS, fields, fuzz_next(rng) % 16, rng);
	const struct delivery **order = calloc(d->nitems + 1, sizeof *order);
	char *body, *cause = NULL;
	json_t *root, *alerts, *closed;
	json_error_t err;
	size_t na = 0, nc = 0;

	FUZZ_CHECK(order != NULL, "calloc");
	body = webhook_build_body(d, &cause);
	FUZZ_CHECK(body != NULL, "no digest body: %s", cause ? cause : "?");
	FUZZ_CHECK(fuzz_valid_utf8(body), "digest body is not valid UTF-8");
	root = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	FUZZ_CHECK(json_is_object(root), "digest body does not parse back: %s", err.text);
	FUZZ_CHECK(json_object_size(root) == 7, "digest body has %zu members",
	           json_object_size(root));
	FUZZ_CHECK(json_is_true(json_object_get(root, "digest")), "\"digest\"");
	check_string(root, "contact", d->contact);
	check_string(root, "delivery", d->uid);
	alerts = json_object_get(root, "alerts");
	closed = json_object_get(root, "closed");
	FUZZ_CHECK(json_is_array(alerts) && json_is_array(closed), "alerts or closed");
	digest_order(d, order, NULL);
	for (size_t i = 0; i < d->nitems; i++) {
		if (order[i]->closed) {
			json_t *c = json_array_get(closed, nc++);

			FUZZ_CHECK(json_object_size(c) == 8, "closed clock with %zu members",
			           json_object_size(c));
			check_string(c, "case", order[i]->case_ref);
			check_string(c, "closed_on", order[i]->closed_on);
		} else {
			json_t *want = webhook_alert_json(order[i], d->uid);

			FUZZ_CHECK(json_equal(json_array_get(alerts, na++), want),
			           "alert %zu is not its single webhook's object", na - 1);
			check_responses(want, order[i]);
			json_decref(want);
		}
	}
	FUZZ_CHECK(json_array_size(alerts) == na && json_array_size(closed) == nc,
	           "%zu alerts and %zu closed for %zu and %zu", json_array_size(alerts),
	           json_array_size(closed), na, nc);
	json_decref(root);
	free(body);
	free(order);
	delivery_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS];
	const char *v[NPARTS];
	size_t nparts;
	char *buf = fuzz_split(data, size, parts, NPARTS, &nparts);
	uint64_t rng = fuzz_hash(data, size);
	const time_t now = (time_t)1793779200; /* 2026-11-05T08:00:00Z */
	struct delivery d;
	char *body, *cause = NULL;
	json_t *root;
	json_error_t err;

	for (size_t i = 0; i < NPARTS; i++)
		v[i] = parts[i] != NULL && strcmp(parts[i], "\x7f") != 0 ? parts[i] : NULL;

	/* The record as the queue fills it: the input's strings (borrowed here), fields parsed
	 * once. */
	memset(&d, 0, sizeof d);
	d.id = 7;
	d.uid = (char *)v[P_UID];
	d.kind = CHANNEL_WEBHOOK;
	d.recipient = (char *)"https://hooks.council.example/iro";
	d.secret = (char *)v[P_SECRET];
	d.rule = (char *)v[P_RULE];
	d.title = (char *)v[P_TITLE];
	d.case_ref = (char *)v[P_CASE];
	d.stage = (char *)v[P_STAGE];
	d.start = (char *)v[P_START];
	d.due = (char *)v[P_DUE];
	d.fires = (char *)v[P_FIRES];
	d.days_late = (int)(int32_t)fuzz_next(&rng);
	d.label = (char *)v[P_LABEL];
	d.status = (char *)v[P_STATUS];
	d.case_url = (char *)v[P_URL];
	d.copied = d.copied_on = (char *)v[P_COPIED];
	d.urgency = (enum delivery_urgency)(fuzz_next(&rng) % 3);
	{
		static struct delivery_event ev[2];

		ev[0] = (struct delivery_event){(char *)v[P_LABEL], (char *)v[P_FIRES],
		                                (char *)v[P_CASE], (char *)v[P_STATUS], false};
		ev[1] = (struct delivery_event){(char *)v[P_STAGE], NULL, (char *)v[P_TITLE],
		                                (char *)v[P_URL], true};
		d.history = ev;
		d.nhistory = fuzz_next(&rng) % 3;
	}
	d.response_link = (char *)v[P_ANSWER_URL];
	{
		static const char *const kinds[] = {"acknowledged", "agreed", "disagree"};
		static struct delivery_response resp[3];
		uint64_t r = fuzz_next(&rng);

		for (size_t k = 0; k < 3; k++)
			resp[k] = (struct delivery_response){
			    (char *)v[P_WHO],
			    (char *)v[P_LABEL],
			    (r >> (2 + 3 * k)) % 4 < 3 ? (char *)kinds[(r >> (2 + 3 * k)) % 4]
			                               : (char *)v[P_STATUS],
			    (char *)v[P_DUE],
			    (char *)v[P_NOTE],
			    (char *)v[P_NOTE],
			    (char *)v[P_FIRES],
			    (r >> (20 + k)) & 1};
		d.responses = resp;
		d.nresponses = (size_t)(r % 4);
	}
	delivery_parse_fields(&d, v[P_FIELDS]);
	FUZZ_CHECK(v[P_FIELDS] != NULL || (d.fields == NULL && d.fields_error == NULL),
	           "fields from no text");
	FUZZ_CHECK((d.fields == NULL) != (d.fields_error == NULL) || v[P_FIELDS] == NULL,
	           "fields and an error, or neither");
	FUZZ_CHECK(d.fields == NULL || json_is_object(d.fields), "fields not an object");
	if (d.fields_error != NULL) {
		/* (The cause may quote the bad JSON, control characters and all: the log escapes
		 * them.) */
		FUZZ_CHECK(*d.fields_error != '\0', "empty fields error");
		free(d.fields_error);
		d.fields_error = NULL;
		body = NULL; /* the outbox never sends such a record: no body to check */
	} else if ((body = webhook_build_body(&d, &cause)) == NULL) {
		FUZZ_CHECK(0, "no body for a parsed record: %s", cause ? cause : "?");
		free(cause);
	} else {
		size_t len = strlen(body);
		static const char *const keys[] = {"rule", "title", "case",      "stage",   "start",
		                                   "due",  "fires", "days_late", "delivery"};

		FUZZ_CHECK(fuzz_valid_utf8(body), "body is not valid UTF-8");
		/* JSON escapes every C0 control (RFC 8259 section 7): no raw CR or LF. */
		for (size_t i = 0; i < len; i++)
			FUZZ_CHECK((unsigned char)body[i] >= 0x20,
			           "raw control 0x%02x at byte %zu of the body",
			           (unsigned char)body[i], i);
		root = json_loads(body, JSON_REJECT_DUPLICATES, &err);
		FUZZ_CHECK(root != NULL && json_is_object(root), "body does not parse back: %s",
		           root == NULL ? err.text : "not an object");
		FUZZ_CHECK(json_object_size(root) ==
		               13 + (d.fields != NULL) + (d.case_url != NULL) + (d.copied != NULL) +
		                   (d.response_link != NULL) + (d.nresponses > 0),
		           "body has %zu members", json_object_size(root));
		check_responses(root, &d);
		check_string(root, "label", d.label);
		check_string(root, "status", d.status);
		if (d.case_url != NULL)
			check_string(root, "case_url", d.case_url);
		FUZZ_CHECK(json_array_size(json_object_get(root, "history")) == d.nhistory,
		           "history of %zu", json_array_size(json_object_get(root, "history")));
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			FUZZ_CHECK(json_object_get(root, keys[i]) != NULL, "\"%s\" missing",
			           keys[i]);
		check_string(root, "rule", d.rule);
		check_string(root, "title", d.title);
		check_string(root, "case", d.case_ref);
		check_string(root, "stage", d.stage);
		check_string(root, "start", d.start);
		check_string(root, "due", d.due);
		check_string(root, "fires", d.fires);
		check_string(root, "delivery", d.uid);
		FUZZ_CHECK(json_is_integer(json_object_get(root, "days_late")) &&
		               json_integer_value(json_object_get(root, "days_late")) ==
		                   d.days_late,
		           "days_late");
		if (d.fields != NULL) {
			char *valid = utf8_sanitize(v[P_FIELDS]);
			json_t *want = json_loads(valid, JSON_REJECT_DUPLICATES, &err);

			FUZZ_CHECK(want != NULL && json_is_object(want),
			           "fields accepted but do not parse alone");
			FUZZ_CHECK(json_equal(json_object_get(root, "fields"), want),
			           "fields changed on the way through");
			json_decref(want);
			free(valid);
		}
		json_decref(root);

		if (d.secret != NULL) {
			char *sig = webhook_signature(d.secret, "1793779200", body, len);
			char *again = webhook_signature(d.secret, "1793779200", body, len);

			FUZZ_CHECK(strlen(sig) == 71 && strncmp(sig, "sha256=", 7) == 0 &&
			               strspn(sig + 7, "0123456789abcdef") == 64,
			           "signature %s", sig);
			FUZZ_CHECK(strcmp(sig, again) == 0, "signature is not deterministic");
			free(sig);
			free(again);
		}
		free(body);
	}

	/* Retry-After from a hostile server. */
	{
		int secs = http_retry_after(v[P_RETRY_AFTER], now);
		long long want = v[P_RETRY_AFTER] ? naive_seconds(v[P_RETRY_AFTER]) : 0;

		FUZZ_CHECK(secs >= 0 && secs <= HTTP_RETRY_AFTER_MAX, "Retry-After %d", secs);
		if (want >= 0)
			FUZZ_CHECK(secs == want, "Retry-After \"%s\" gave %d, expected %lld",
			           v[P_RETRY_AFTER], secs, want);
	}

	/* A finished transfer with a hostile response. */
	{
		static const long codes[] = {0,   200, 204, 301, 400, 404, 408,  429,
		                             500, 503, 599, 600, 199, -1,  99999};
		long code = v[P_CODE] != NULL && *v[P_CODE] != '\0'
		                ? strtol(v[P_CODE], NULL, 10)
		                : codes[fuzz_next(&rng) % (sizeof codes / sizeof codes[0])];
		CURLcode rc = fuzz_next(&rng) % 4 == 0 ? CURLE_OPERATION_TIMEDOUT : CURLE_OK;
		const char *resp = v[P_RESPONSE];
		struct delivery_result r;
		enum delivery_status want;
		char *detail;

		detail = http_classify(rc, code, resp, resp ? strlen(resp) : 0, v[P_RETRY_AFTER],
		                       now, v[P_TITLE], &r);
		FUZZ_CHECK(detail == r.detail, "detail pointer");
		check_line(detail, 300);
		if (rc != CURLE_OK)
			want = DELIVERY_RETRY;
		else if (code >= 200 && code <= 299)
			want = DELIVERY_SENT;
		else if (code == 408 || code == 429 || (code >= 500 && code <= 599))
			want = DELIVERY_RETRY;
		else if (code >= 300 && code <= 499)
			want = DELIVERY_FAILED;
		else
			want = DELIVERY_RETRY;
		FUZZ_CHECK(r.status == want, "HTTP %ld rc %d: status %d, expected %d", code,
		           (int)rc, (int)r.status, (int)want);
		FUZZ_CHECK(r.retry_after >= 0 && r.retry_after <= HTTP_RETRY_AFTER_MAX,
		           "retry_after %d", r.retry_after);
		free(detail);
	}

	/* The delivery id header value. */
	{
		char *uid = transport_clean_text(d.uid, 200, 1);

		check_line(uid, 200);
		for (const char *p = uid; *p != '\0'; p++)
			FUZZ_CHECK((unsigned char)*p < 0x80, "non-ASCII delivery id");
		free(uid);
	}
	check_digest(v, d.fields, &rng);
	json_decref(d.fields);
	free(buf);
	return 0;
}
