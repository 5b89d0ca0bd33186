/* test_webhook.c - unit tests for notifiers/webhook.c: JSON body, signature, the signed POST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "curlrec.h"
#include "digest.h"
#include "notifier_fixture.h"
#include "transport.h"
#include "xalloc.h"
#include "webhook.h"

/* A webhook delivery with ordinary values. */
static struct delivery
sample_delivery(void)
{
	struct delivery d = {
	    .id = 9,
	    .uid = "d9-77ab",
	    .kind = CHANNEL_WEBHOOK,
	    .recipient = "https://hooks.council.example/iro",
	    .rule = "cp-icpc",
	    .title = "Initial child protection conference",
	    .case_ref = "C2001",
	    .stage = "late",
	    .start = "2026-09-01",
	    .due = "2026-09-22",
	    .fires = "2026-09-23T08:00:00",
	    .days_late = 3,
	};
	return d;
}

/* Parse the body built for d; fails the test if it is not a JSON object. */
static json_t *
build_and_parse(const struct delivery *d)
{
	char *cause = NULL, *body = webhook_build_body(d, &cause);
	json_error_t err;
	json_t *j;

	assert_null(cause);
	assert_non_null(body);
	j = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fail_msg("%s: %s", err.text, body);
	assert_true(json_is_object(j));
	free(body);
	return j;
}

/* The string member key of o. */
static const char *
member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* The body has exactly the alert's members, with their values, and no fields when none are given.
 */
static void
test_body_shape(void **state)
{
	struct delivery d = sample_delivery();
	json_t *j = build_and_parse(&d);

	/*
	 * The nine members a webhook has always had, then label, urgency, status
	 * and history; response_url and responses only with answers on.
	 */
	assert_int_equal(json_object_size(j), 13);
	assert_string_equal(member(j, "rule"), "cp-icpc");
	assert_string_equal(member(j, "title"), "Initial child protection conference");
	assert_string_equal(member(j, "case"), "C2001");
	assert_string_equal(member(j, "stage"), "late");
	assert_string_equal(member(j, "start"), "2026-09-01");
	assert_string_equal(member(j, "due"), "2026-09-22");
	assert_string_equal(member(j, "fires"), "2026-09-23T08:00:00");
	assert_string_equal(member(j, "delivery"), "d9-77ab");
	assert_true(json_is_integer(json_object_get(j, "days_late")));
	assert_int_equal(json_integer_value(json_object_get(j, "days_late")), 3);
	assert_null(json_object_get(j, "fields"));
	assert_true(json_is_null(json_object_get(j, "label")));
	assert_string_equal(member(j, "urgency"), "escalation");
	assert_true(json_is_null(json_object_get(j, "status")));
	assert_true(json_is_array(json_object_get(j, "history")));
	assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
	/* No listener: no answer link, and no answers yet. */
	assert_null(json_object_get(j, "response_url"));
	assert_null(json_object_get(j, "responses"));
	/* No link, not copied: the members are absent, not null. */
	assert_null(json_object_get(j, "case_url"));
	assert_null(json_object_get(j, "copied"));
	json_decref(j);
}

/* Label, urgency, status, the case link, a copied recipient's stage and the history. */
static void
test_body_digest_members(void **state)
{
	static const char *const urgency[] = {"escalation", "overdue", "reminder"};
	struct delivery_event history[2] = {
	    {"Reminder: IRO", "2026-09-15T08:00:01Z", "jo.iro@council.example", "sent", false},
	    {"Late: team manager", "2026-09-23T08:00:02Z", "tm@council.example", "failed", true},
	};
	struct delivery d = sample_delivery();
	json_t *j, *h, *c;

	d.label = "Late: team manager";
	d.status = "3 working days overdue";
	d.case_url = "https://cms.council.example/case/C2001";
	d.copied = "Late: IRO";
	d.copied_on = "2026-09-22";
	d.history = history;
	d.nhistory = 2;
	for (int u = 0; u < 3; u++) {
		d.urgency = (enum delivery_urgency)u;
		j = build_and_parse(&d);
		assert_string_equal(member(j, "urgency"), urgency[u]);
		json_decref(j);
	}
	j = build_and_parse(&d);
	assert_int_equal(json_object_size(j), 15);
	assert_string_equal(member(j, "stage"), "late");
	assert_string_equal(member(j, "label"), "Late: team manager");
	assert_string_equal(member(j, "status"), "3 working days overdue");
	assert_string_equal(member(j, "case_url"), "https://cms.council.example/case/C2001");
	c = json_object_get(j, "copied");
	assert_int_equal(json_object_size(c), 2);
	assert_string_equal(member(c, "stage"), "Late: IRO");
	assert_string_equal(member(c, "on"), "2026-09-22");
	h = json_object_get(j, "history");
	assert_int_equal(json_array_size(h), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_array_get(h, i);

		assert_int_equal(json_object_size(e), 5);
		assert_string_equal(member(e, "stage"), history[i].stage);
		assert_string_equal(member(e, "when"), history[i].when);
		assert_string_equal(member(e, "recipient"), history[i].recipient);
		assert_string_equal(member(e, "status"), history[i].status);
		assert_true(json_is_boolean(json_object_get(e, "copied")));
		assert_int_equal(json_is_true(json_object_get(e, "copied")), history[i].copied);
	}
	json_decref(j);
}

/*
 * Check that j's "responses" are exactly fixture_answers': every answer, the
 * amended one too (marked), reason and note included (the council's own system).
 */
static void
check_responses(json_t *j)
{
	static const char *const keys[] = {"who",    "stage", "kind",        "agreed_on",
	                                   "reason", "note",  "answered_at", "amended"};
	json_t *a = json_object_get(j, "responses"), *r;

	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	for (size_t i = 0; i < 3; i++) {
		r = json_array_get(a, i);
		assert_int_equal(json_object_size(r), 8);
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			assert_non_null(json_object_get(r, keys[k]));
	}
	r = json_array_get(a, 0);
	assert_string_equal(member(r, "who"), "Jo Bloggs");
	assert_string_equal(member(r, "stage"), "Overdue: team manager");
	assert_string_equal(member(r, "kind"), "acknowledged");
	assert_true(json_is_null(json_object_get(r, "agreed_on")));
	assert_true(json_is_null(json_object_get(r, "reason")));
	assert_string_equal(member(r, "note"), FIXTURE_AMENDED_NOTE);
	assert_string_equal(member(r, "answered_at"), "2026-12-03T10:15:00Z");
	assert_true(json_is_true(json_object_get(r, "amended")));
	r = json_array_get(a, 1);
	assert_string_equal(member(r, "kind"), "agreed");
	assert_string_equal(member(r, "agreed_on"), "2026-12-14");
	assert_true(json_is_false(json_object_get(r, "amended")));
	r = json_array_get(a, 2);
	assert_string_equal(member(r, "who"), "sm.north@council.example");
	assert_string_equal(member(r, "kind"), "disagree");
	assert_string_equal(member(r, "reason"), FIXTURE_REASON);
	assert_string_equal(member(r, "note"), FIXTURE_NOTE);
	assert_true(json_is_false(json_object_get(r, "amended")));
}

/* The answer link and every answer so far, as recorded, with values never cut. */
static void
test_body_responses(void **state)
{
	struct delivery d = sample_delivery();
	json_t *j;
	char big[4001];

	fixture_answers(&d, FIXTURE_LINK);
	j = build_and_parse(&d);
	assert_int_equal(json_object_size(j), 15);
	assert_string_equal(member(j, "response_url"), FIXTURE_LINK);
	check_responses(j);
	json_decref(j);

	/* A long note goes whole (the council's own system), hostile text as JSON strings. */
	memset(big, 'n', 4000);
	big[4000] = '\0';
	free(d.responses[2].note);
	d.responses[2].note = xstrdup(big);
	free(d.responses[1].who);
	d.responses[1].who = xstrdup("\"},{\"x\":1,\"\xff");
	j = build_and_parse(&d);
	assert_int_equal(strlen(member(json_array_get(json_object_get(j, "responses"), 2), "note")),
	                 4000);
	assert_string_equal(member(json_array_get(json_object_get(j, "responses"), 1), "who"),
	                    "\"},{\"x\":1,\"\xef\xbf\xbd");
	json_decref(j);
	fixture_answers_clear(&d);
}

/* The body of digest d, parsed (fails the test unless it is an object). */
static json_t *
digest_parse(const struct delivery *d, size_t *len)
{
	char *cause = NULL, *body = webhook_build_body(d, &cause);
	json_error_t err;
	json_t *j;

	assert_non_null(body);
	*len = strlen(body);
	j = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fail_msg("%s: %.200s", err.text, body);
	assert_true(json_is_object(j));
	free(body);
	return j;
}

/*
 * Check digest d's body j: its members; every alert, in reading order, is
 * exactly the single webhook's object for the same alert (with the digest's
 * delivery id); every closed clock is listed with its members.
 */
static void
check_digest(const struct delivery *d, json_t *j)
{
	const struct delivery **order = xcalloc(d->nitems + 1, sizeof *order);
	json_t *alerts = json_object_get(j, "alerts"), *closed = json_object_get(j, "closed");
	size_t na = 0, nc = 0;

	assert_int_equal(json_object_size(j), 7);
	assert_true(json_is_true(json_object_get(j, "digest")));
	assert_string_equal(member(j, "contact"), d->contact);
	assert_string_equal(member(j, "delivery"), d->uid);
	assert_int_equal(json_integer_value(json_object_get(j, "part")), d->part);
	assert_int_equal(json_integer_value(json_object_get(j, "parts")), d->parts);
	assert_true(json_is_array(alerts));
	assert_true(json_is_array(closed));
	digest_order(d, order, NULL);
	for (size_t i = 0; i < d->nitems; i++) {
		const struct delivery *it = order[i];

		if (it->closed) {
			json_t *c = json_array_get(closed, nc++);

			assert_non_null(c);
			assert_int_equal(json_object_size(c), 8);
			assert_string_equal(member(c, "rule"), it->rule);
			assert_string_equal(member(c, "title"), it->title);
			assert_string_equal(member(c, "case"), it->case_ref);
			assert_string_equal(member(c, "start"), it->start);
			assert_string_equal(member(c, "due"), it->due);
			assert_string_equal(member(c, "closed_on"), it->closed_on);
			assert_string_equal(member(c, "label"), it->label);
			assert_int_equal(json_integer_value(json_object_get(c, "days_late")),
			                 it->closed_late);
		} else {
			struct delivery single = *it;
			json_t *a = json_array_get(alerts, na++), *want;

			/* The same alert sent on its own, as the daemon would. */
			single.uid = d->uid;
			single.kind = CHANNEL_WEBHOOK;
			single.recipient = d->recipient;
			/* (A single alert with such fields is refused: test_body_bad_fields.) */
			if (!json_is_object(single.fields))
				single.fields = NULL;
			want = build_and_parse(&single);
			if (!json_equal(a, want)) {
				char *got = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
				char *exp = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);

				fail_msg("alert %zu differs:\n%.300s\n%.300s", na - 1, got, exp);
			}
			json_decref(want);
		}
	}
	assert_int_equal(json_array_size(alerts), na);
	assert_int_equal(json_array_size(closed), nc);
	free(order);
}

/* A digest: one object with every item, alerts in reading order, notices among them. */
static void
test_digest_body(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_WEBHOOK, 12, 0);
	json_t *j, *alerts;
	size_t len, notices = 0, i;
	json_t *a;

	d->part = 2;
	d->parts = 3;
	/* Fields on one alert go with it; fields that are not an object are left out. */
	d->items[1]->fields = json_pack("{s:s}", "team", "North");
	d->items[7]->fields = json_pack("[i]", 1);
	j = digest_parse(d, &len);
	check_digest(d, j);
	alerts = json_object_get(j, "alerts");
	assert_int_equal(json_array_size(alerts), 10);
	assert_int_equal(json_array_size(json_object_get(j, "closed")), 2);
	/* Reading order: escalations first, "escalator-" notices last. */
	assert_string_equal(member(json_array_get(alerts, 0), "urgency"), "escalation");
	json_array_foreach(alerts, i, a)
	{
		if (strncmp(member(a, "rule"), "escalator-", 10) == 0)
			notices++;
		else
			assert_int_equal(notices, 0);
		if (strcmp(member(a, "case"), "C1001") == 0)
			assert_string_equal(member(json_object_get(a, "fields"), "team"), "North");
		if (strcmp(member(a, "case"), "C1007") == 0)
			assert_null(json_object_get(a, "fields"));
	}
	assert_int_equal(notices, 2);
	json_decref(j);
	delivery_free(d);

	/* Each alert carries its own answer link and its clock's answers; a closed clock none. */
	d = fixture_digest(CHANNEL_WEBHOOK, 6, 0);
	for (i = 0; i < d->nitems; i++) {
		char *link = xasprintf("%s%zu", FIXTURE_LINK, i);

		if (!d->items[i]->notice && !d->items[i]->closed)
			fixture_answers(d->items[i], link);
		free(link);
	}
	j = digest_parse(d, &len);
	check_digest(d, j);
	json_array_foreach(json_object_get(j, "alerts"), i, a)
	{
		const char *ref = member(a, "case");

		if (strncmp(member(a, "rule"), "escalator-", 10) == 0) {
			assert_null(json_object_get(a, "response_url"));
			assert_null(json_object_get(a, "responses"));
			continue;
		}
		char *want = xasprintf("%s%c", FIXTURE_LINK, ref[4]);

		assert_string_equal(member(a, "response_url"), want);
		free(want);
		check_responses(a);
	}
	assert_int_equal(json_object_size(json_array_get(json_object_get(j, "closed"), 0)), 8);
	json_decref(j);
	delivery_free(d);

	/* Nothing but closed clocks: an empty "alerts". */
	d = fixture_digest(CHANNEL_WEBHOOK, 0, 0);
	j = digest_parse(d, &len);
	check_digest(d, j);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
	json_decref(j);
	delivery_free(d);
}

/*
 * At notifier_digest_limit items with 2,000-byte values (the case store's
 * cap) nothing is cut and the body stays well under a receiver's common 1 MB.
 */
static void
test_digest_limit(void **state)
{
	size_t n = (size_t)notifier_digest_limit(CHANNEL_WEBHOOK), len;
	struct delivery *d = fixture_digest(CHANNEL_WEBHOOK, n, 2000);
	json_t *j = digest_parse(d, &len);

	check_digest(d, j);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")) +
	                     json_array_size(json_object_get(j, "closed")),
	                 n);
	assert_int_equal(strlen(member(json_array_get(json_object_get(j, "alerts"), 0), "case")),
	                 2000);
	print_message("webhook digest: %zu items of 2,000-byte values: %zu bytes\n", n, len);
	assert_true(len < 512 * 1024);
	json_decref(j);
	delivery_free(d);
}

/* Missing values are JSON null. */
static void
test_body_nulls(void **state)
{
	struct delivery d = sample_delivery();
	json_t *j;

	d.start = NULL;
	d.stage = NULL;
	j = build_and_parse(&d);
	assert_true(json_is_null(json_object_get(j, "start")));
	assert_true(json_is_null(json_object_get(j, "stage")));
	json_decref(j);
}

/* The rule's fields go in as an object, exactly as configured. */
static void
test_body_fields(void **state)
{
	static const char text[] =
	    "{\"iro\": \"A. Smith\", \"team\": \"North\", \"n\": 2, \"nested\": {\"x\": [1, 2]}}";
	struct delivery d = sample_delivery();
	json_t *j, *f, *want;

	d.fields = json_loads(text, 0, NULL);
	j = build_and_parse(&d);
	f = json_object_get(j, "fields");
	want = json_loads(text, 0, NULL);
	assert_true(json_is_object(f));
	assert_true(json_equal(f, want));
	assert_int_equal(json_object_size(j), 14);
	json_decref(want);
	json_decref(j);
	json_decref(d.fields);
}

/*
 * Fields that are not a JSON object are refused with a cause. (A text that is
 * not JSON at all never gets this far: test_queue's test_queue_bad_fields.)
 */
static void
test_body_bad_fields(void **state)
{
	static const char *bad[] = {"[1, 2]", "\"text\"", "3", "null"};
	struct delivery d = sample_delivery();

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *cause = NULL;

		d.fields = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(d.fields);
		assert_null(webhook_build_body(&d, &cause));
		assert_non_null(cause);
		assert_true(strncmp(cause, "webhook fields are not", 22) == 0);
		free(cause);
		json_decref(d.fields);
	}
}

/*
 * Invalid UTF-8 from the case store is replaced with U+FFFD in members. (In
 * fields it is replaced when the record is filled: test_queue_fields_utf8.)
 */
static void
test_body_invalid_utf8(void **state)
{
	struct delivery d = sample_delivery();
	json_t *j;

	d.case_ref = "C\xff"
	             "1";
	d.title = "Revue \xc3\x28";
	j = build_and_parse(&d);
	assert_string_equal(member(j, "case"), "C\xef\xbf\xbd"
	                                       "1");
	assert_string_equal(member(j, "title"), "Revue \xef\xbf\xbd(");
	json_decref(j);
}

/* CR, LF and quotes stay inside JSON strings: the text has no raw control characters. */
static void
test_body_controls(void **state)
{
	struct delivery d = sample_delivery();
	char *cause = NULL, *body;
	json_t *j;

	d.title = "a\r\nb\"}, \"evil\": true, \"x\": \"";
	d.case_ref = "C1\r\n\r\n{\"injected\": 1}";
	body = webhook_build_body(&d, &cause);
	assert_non_null(body);
	for (const char *p = body; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(member(j, "title"), d.title);
	assert_string_equal(member(j, "case"), d.case_ref);
	assert_null(json_object_get(j, "evil"));
	json_decref(j);
	free(body);
}

/* Lowercase hex of n bytes. */
static void
hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* RFC 4231 test cases 1, 2 and 6 for HMAC-SHA256. */
static void
test_hmac_rfc4231(void **state)
{
	unsigned char key1[20], key6[131], mac[32];
	char h[65];

	memset(key1, 0x0b, sizeof key1);
	webhook_hmac_sha256(key1, sizeof key1, "Hi There", 8, mac);
	hex(mac, 32, h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	webhook_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex(mac, 32, h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key6, 0xaa, sizeof key6);
	webhook_hmac_sha256(key6, sizeof key6,
	                    "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
	hex(mac, 32, h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* HMAC-SHA256 computed independently, with EVP_Q_mac. */
static void
independent_sig(const char *secret, const char *msg, size_t len, char *out)
{
	unsigned char mac[32];
	size_t maclen = 0;

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
	                          (const unsigned char *)msg, len, mac, sizeof mac, &maclen));
	assert_int_equal(maclen, 32);
	memcpy(out, "sha256=", 7);
	hex(mac, 32, out + 7);
}

/* The signature is HMAC-SHA256(secret, timestamp "." body), "sha256=" and lowercase hex. */
static void
test_signature(void **state)
{
	const char *body = "{\"rule\":\"cp-icpc\"}";
	char want[7 + 65], *sig;

	sig = webhook_signature("k3y", "1793347200", body, strlen(body));
	independent_sig("k3y", "1793347200.{\"rule\":\"cp-icpc\"}", 29, want);
	assert_string_equal(sig, want);
	free(sig);
}

/* The value of header name in list, or NULL. */
static const char *
find_header(const struct curl_slist *list, const char *name)
{
	size_t n = strlen(name);

	for (; list != NULL; list = list->next)
		if (strncmp(list->data, name, n) == 0 && list->data[n] == ':')
			return list->data + n + 2;
	return NULL;
}

/* The options and headers of a signed POST; the signature matches the body actually sent. */
static void
test_setup_signed(void **state)
{
	struct notifier_settings s = {
	    .ca_file = "/etc/escalator/ca.pem", .connect_timeout = 5, .delivery_timeout = 20};
	struct delivery d = sample_delivery();
	struct transfer *t = transfer_new();
	const struct curl_slist *h;
	char *cause = NULL, msg[4096], want[7 + 65];
	const char *body, *ts;

	d.secret = "s3cret-key";
	d.uid = "d9\r\nX-Evil: 1";
	fixture_answers(&d, FIXTURE_LINK);
	curlrec_clear();
	assert_non_null(webhook_setup(t, &s, &d, 1793347200, &cause));
	assert_string_equal(curlrec_find(CURLOPT_URL)->str, d.recipient);
	assert_string_equal(curlrec_find(CURLOPT_PROTOCOLS_STR)->str, "http,https");
	assert_int_equal(curlrec_find(CURLOPT_FOLLOWLOCATION)->num, 0);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYPEER)->num, 1);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYHOST)->num, 2);
	assert_string_equal(curlrec_find(CURLOPT_CAINFO)->str, "/etc/escalator/ca.pem");
	assert_int_equal(curlrec_find(CURLOPT_CONNECTTIMEOUT)->num, 5);
	assert_int_equal(curlrec_find(CURLOPT_TIMEOUT)->num, 20);
	assert_null(curlrec_find(CURLOPT_HTTPAUTH));
	body = curlrec_find(CURLOPT_POSTFIELDS)->str;
	assert_int_equal(curlrec_find(CURLOPT_POSTFIELDSIZE_LARGE)->num, (long)strlen(body));

	h = curlrec_find(CURLOPT_HTTPHEADER)->ptr;
	for (const struct curl_slist *it = h; it != NULL; it = it->next)
		assert_null(strpbrk(it->data, "\r\n"));
	assert_string_equal(find_header(h, "Content-Type"), "application/json");
	assert_string_equal(find_header(h, "User-Agent"), "escalatord");
	assert_string_equal(find_header(h, "X-Escalator-Delivery"), "d9 X-Evil: 1");
	ts = find_header(h, "X-Escalator-Timestamp");
	assert_string_equal(ts, "1793347200");
	/* (ts is not NULL: asserted above; said again for -O2's -Wformat-truncation.) */
	snprintf(msg, sizeof msg, "%s.%s", ts ? ts : "", body);
	independent_sig("s3cret-key", msg, strlen(msg), want);
	assert_string_equal(find_header(h, "X-Escalator-Signature"), want);
	/* The signature covers the answers and the link too: they are in the body it signs. */
	assert_non_null(strstr(body, "\"response_url\":\"" FIXTURE_LINK "\""));
	assert_non_null(strstr(body, FIXTURE_NOTE));
	transfer_free(t);
	curlrec_clear();
	fixture_answers_clear(&d);
}

/* No secret, no signature header. */
static void
test_setup_unsigned(void **state)
{
	struct notifier_settings s = {.connect_timeout = 5, .delivery_timeout = 20};
	struct delivery d = sample_delivery();
	struct transfer *t = transfer_new();
	char *cause = NULL;

	curlrec_clear();
	assert_non_null(webhook_setup(t, &s, &d, 1793347200, &cause));
	assert_null(find_header(curlrec_find(CURLOPT_HTTPHEADER)->ptr, "X-Escalator-Signature"));
	assert_non_null(
	    find_header(curlrec_find(CURLOPT_HTTPHEADER)->ptr, "X-Escalator-Timestamp"));
	assert_null(curlrec_find(CURLOPT_CAINFO));
	transfer_free(t);
	curlrec_clear();
}

/* A digest is one signed POST like any other: the signature covers the digest body sent. */
static void
test_setup_digest_signed(void **state)
{
	struct notifier_settings s = {.connect_timeout = 5, .delivery_timeout = 20};
	struct delivery *d = fixture_digest(CHANNEL_WEBHOOK, 8, 0);
	struct transfer *t = transfer_new();
	const struct curl_slist *h;
	char *cause = NULL, *msg, want[7 + 65];
	const char *body, *ts;
	json_t *j;

	d->secret = xstrdup("digest-key");
	curlrec_clear();
	assert_non_null(webhook_setup(t, &s, d, 1793347200, &cause));
	body = curlrec_find(CURLOPT_POSTFIELDS)->str;
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "digest")));
	json_decref(j);
	h = curlrec_find(CURLOPT_HTTPHEADER)->ptr;
	assert_string_equal(find_header(h, "X-Escalator-Delivery"), d->uid);
	ts = find_header(h, "X-Escalator-Timestamp");
	assert_non_null(ts);
	msg = xasprintf("%s.%s", ts ? ts : "", body);
	independent_sig("digest-key", msg, strlen(msg), want);
	assert_string_equal(find_header(h, "X-Escalator-Signature"), want);
	free(msg);
	transfer_free(t);
	curlrec_clear();
	delivery_free(d);
}

/* Bad fields: the setup fails with a cause and the transfer can still be freed. */
static void
test_setup_bad_fields(void **state)
{
	struct notifier_settings s = {.connect_timeout = 5, .delivery_timeout = 20};
	struct delivery d = sample_delivery();
	struct transfer *t = transfer_new();
	char *cause = NULL;

	d.fields = json_array();
	assert_null(webhook_setup(t, &s, &d, 0, &cause));
	assert_non_null(cause);
	free(cause);
	json_decref(d.fields);
	transfer_free(t);
	curlrec_clear();
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_shape),          cmocka_unit_test(test_body_nulls),
	    cmocka_unit_test(test_body_fields),         cmocka_unit_test(test_body_bad_fields),
	    cmocka_unit_test(test_body_invalid_utf8),   cmocka_unit_test(test_body_controls),
	    cmocka_unit_test(test_hmac_rfc4231),        cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_setup_signed),        cmocka_unit_test(test_setup_unsigned),
	    cmocka_unit_test(test_setup_bad_fields),    cmocka_unit_test(test_body_digest_members),
	    cmocka_unit_test(test_digest_body),         cmocka_unit_test(test_digest_limit),
	    cmocka_unit_test(test_setup_digest_signed), cmocka_unit_test(test_body_responses),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
