/* test_govuk_notify.c - unit tests for notifiers/govuk_notify.c: JWT, body, answers, lookup. */
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

#include "curlrec.h"
#include "digest.h"
#include "govuk_notify.h"
#include "notifier_fixture.h"
#include "transport.h"
#include "xalloc.h"

#define SERVICE_ID FIXTURE_SERVICE_ID
#define SECRET FIXTURE_SECRET
#define API_KEY FIXTURE_API_KEY
#define TEMPLATE FIXTURE_TEMPLATE

/* base64url: no padding, '-' and '_' for '+' and '/' (vectors from Python's base64). */
static void
test_base64url(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} v[] = {
	    {"", 0, ""},
	    {"f", 1, "Zg"},
	    {"fo", 2, "Zm8"},
	    {"foo", 3, "Zm9v"},
	    {"\xfb\xff\xfe", 3, "-__-"},
	    {"\xff\xff\xbe", 3, "__--"},
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *got = govuk_base64url((const unsigned char *)v[i].in, v[i].len);

		assert_string_equal(got, v[i].out);
		free(got);
	}
}

/* The API key splits into the service id and the secret; anything else is refused. */
static void
test_notify_key(void **state)
{
	char sid[37], secret[37];

	assert_int_equal(govuk_key_parts(API_KEY, sid, secret), 0);
	assert_string_equal(sid, SERVICE_ID);
	assert_string_equal(secret, SECRET);
	/* A key name with dashes of its own. */
	assert_int_equal(govuk_key_parts("my-team-key-" SERVICE_ID "-" SECRET, sid, secret), 0);
	assert_string_equal(sid, SERVICE_ID);
	assert_int_equal(govuk_key_parts(SERVICE_ID "-" SECRET, sid, secret), -1); /* no name */
	assert_int_equal(govuk_key_parts("name-" SERVICE_ID SECRET, sid, secret), -1);
	assert_int_equal(govuk_key_parts("name-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122bX",
	                                 sid, secret),
	                 -1);
	assert_int_equal(govuk_key_parts("short", sid, secret), -1);
	assert_int_equal(govuk_key_parts(NULL, sid, secret), -1);
}

/* The JWT matches one made independently (Python hmac + base64) and decodes as Notify expects. */
static void
test_notify_jwt(void **state)
{
	static const char want[] =
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
	    "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3OTM3NzkyMDB9."
	    "xMF68h88HAQvUaRrJxVTxMWGLKSNJnzSkyCdJ9SFoUw";
	char *jwt = govuk_jwt(API_KEY, (time_t)1793779200);

	assert_non_null(jwt);
	assert_string_equal(jwt, want);
	free(jwt);
	/* Fresh per request: another iat, another token. */
	jwt = govuk_jwt(API_KEY, (time_t)1793779201);
	assert_string_not_equal(jwt, want);
	assert_null(strchr(jwt, '='));
	free(jwt);
	assert_null(govuk_jwt("not a key", 0));
}

/* The body: address, template, reference = delivery id, personalisation all strings. */
static void
test_notify_body(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	char *cause = NULL, *body;
	json_t *j, *p;

	d.fields = fixture_json_object(
	    "{\"legal_status\":\"C2\",\"title\":\"not this\",\"placement\":null}");
	body = govuk_build_body(&d, &cause);
	assert_non_null(body);
	j = fixture_parse_json(body);
	assert_string_equal(json_string_value(json_object_get(j, "email_address")),
	                    "iro.manager@council.example");
	assert_string_equal(json_string_value(json_object_get(j, "template_id")), TEMPLATE);
	assert_string_equal(json_string_value(json_object_get(j, "reference")),
	                    "esc-1a2b3c4d5e6f-42");
	p = json_object_get(j, "personalisation");
	assert_string_equal(json_string_value(json_object_get(p, "title")),
	                    "First Child in Care review");
	assert_string_equal(json_string_value(json_object_get(p, "case")), "C1042");
	assert_string_equal(json_string_value(json_object_get(p, "stage")), "overdue");
	assert_string_equal(json_string_value(json_object_get(p, "due")), "2026-10-29");
	assert_string_equal(json_string_value(json_object_get(p, "days_overdue")), "12");
	assert_string_equal(json_string_value(json_object_get(p, "expected")),
	                    "hold the review within 5 working days");
	assert_string_equal(json_string_value(json_object_get(p, "legal_status")), "C2");
	assert_string_equal(json_string_value(json_object_get(p, "placement")), "");
	/* The fields never replace the alert's own values. */
	assert_string_not_equal(json_string_value(json_object_get(p, "title")), "not this");
	/* The stage's label (its id when it has none), the status, the link ("" if none). */
	assert_string_equal(json_string_value(json_object_get(p, "label")), "overdue");
	assert_string_equal(json_string_value(json_object_get(p, "status")),
	                    "12 working days overdue");
	assert_string_equal(json_string_value(json_object_get(p, "case_url")), "");
	/* Nothing else: no subject, body, API key. */
	assert_int_equal(json_object_size(j), 4);
	assert_null(strstr(body, SECRET));
	json_decref(j);
	free(body);

	/* No expected text: the key is still there (a template may use it). */
	d.expected = NULL;
	json_decref(d.fields);
	d.fields = NULL;
	body = govuk_build_body(&d, &cause);
	j = fixture_parse_json(body);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "personalisation"), "expected")),
	    "");
	json_decref(j);
	free(body);

	d.fields = json_pack("[i]", 1);
	assert_null(govuk_build_body(&d, &cause));
	assert_non_null(cause);
	free(cause);
	json_decref(d.fields);
}

/* A single alert's label and link when it has them. */
static void
test_notify_label_link(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	char *cause = NULL, *body;
	json_t *j, *p;

	d.label = "Overdue: team manager";
	d.case_url = "https://cms.council.example/case/C1042";
	body = govuk_build_body(&d, &cause);
	j = fixture_parse_json(body);
	p = json_object_get(j, "personalisation");
	assert_string_equal(json_string_value(json_object_get(p, "label")),
	                    "Overdue: team manager");
	assert_string_equal(json_string_value(json_object_get(p, "stage")), "overdue");
	assert_string_equal(json_string_value(json_object_get(p, "case_url")), d.case_url);
	/* No listener, no answers: both keys there, empty (a template may use them). */
	assert_string_equal(json_string_value(json_object_get(p, "answer_url")), "");
	assert_string_equal(json_string_value(json_object_get(p, "answers")), "");
	assert_int_equal(json_object_size(p), 13);
	json_decref(j);
	free(body);
}

/*
 * A single alert's answer link as ((answer_url)) and its answers so far as
 * ((answers)), one line each: who, what, which stage and the dates, never the
 * reason or the note, never an amended answer; fields cannot replace them.
 */
static void
test_notify_answers(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	char *cause = NULL, *body;
	json_t *j, *p;

	fixture_answers(&d, FIXTURE_LINK);
	d.fields = fixture_json_object("{\"answers\":\"not these\",\"answer_url\":\"x\"}");
	body = govuk_build_body(&d, &cause);
	assert_non_null(body);
	j = fixture_parse_json(body);
	p = json_object_get(j, "personalisation");
	assert_string_equal(json_string_value(json_object_get(p, "answer_url")), FIXTURE_LINK);
	assert_string_equal(json_string_value(json_object_get(p, "answers")),
	                    "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): action "
	                    "agreed for Mon 14 Dec 2026\n"
	                    "sm.north@council.example answered on 4 Dec 2026 (Escalated: service "
	                    "manager): disagrees");
	assert_null(strstr(body, FIXTURE_NOTE));
	assert_null(strstr(body, FIXTURE_REASON));
	assert_null(strstr(body, FIXTURE_AMENDED_NOTE));
	assert_null(strstr(body, "Review booked"));
	assert_null(strstr(body, "acknowledged"));
	json_decref(j);
	free(body);
	json_decref(d.fields);
	d.fields = NULL;

	/* Hostile names cannot format the message or make a link; a bad link is left out. */
	free(d.responses[1].who);
	d.responses[1].who = xstrdup("# [Click](https://evil.example) *now*");
	free(d.response_link);
	d.response_link = xstrdup("javascript:alert(1)");
	body = govuk_build_body(&d, &cause);
	j = fixture_parse_json(body);
	p = json_object_get(j, "personalisation");
	assert_string_equal(json_string_value(json_object_get(p, "answer_url")), "");
	assert_string_equal(json_string_value(json_object_get(p, "answers")),
	                    "(Click)(https: //evil.example) *now* answered on 3 Dec 2026 "
	                    "(Overdue: team manager): action agreed for Mon 14 Dec 2026\n"
	                    "sm.north@council.example answered on 4 Dec 2026 (Escalated: service "
	                    "manager): disagrees");
	json_decref(j);
	free(body);
	fixture_answers_clear(&d);
}

/*
 * Check a digest body: at most max bytes; "# " section headings and "* "
 * bullets only (every other line empty or the note); one bullet per item in
 * reading order starting with its case reference (cut to a prefix and "…" at
 * most); the "… and N more" note for what was left out. Returns how many
 * items are shown.
 */
static size_t
check_digest_body(const struct delivery *d, const char *body, size_t max)
{
	const struct delivery **order = xcalloc(d->nitems + 1, sizeof *order);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	char *copy = xstrdup(body), *save = NULL, *line, *want;
	size_t i, shown = 0;
	int section = -1;

	assert_true(strlen(body) <= max);
	digest_order(d, order, sec);
	line = strtok_r(copy, "\n", &save);
	for (i = 0; i < d->nitems && line != NULL; i++) {
		const char *ref = order[i]->case_ref, *ell;

		if ((int)sec[i] != section) {
			section = (int)sec[i];
			want = xasprintf("# %s", digest_section_title(sec[i]));
			assert_string_equal(line, want);
			free(want);
			line = strtok_r(NULL, "\n", &save);
		}
		if (line == NULL || strncmp(line, "* ", 2) != 0)
			break;
		ell = strstr(line, "\xe2\x80\xa6");
		if (strncmp(line + 2, ref, strlen(ref)) != 0 &&
		    (ell == NULL || strncmp(line + 2, ref, (size_t)(ell - line - 2)) != 0))
			fail_msg("item %zu: \"%.60s\" is not case %.40s", i, line, ref);
		line = strtok_r(NULL, "\n", &save);
		shown++;
	}
	if (shown < d->nitems) {
		want = xasprintf("\xe2\x80\xa6 and %zu more not shown here (message size limit)",
		                 d->nitems - shown);
		assert_non_null(line);
		assert_string_equal(line, want);
		free(want);
		line = strtok_r(NULL, "\n", &save);
	}
	assert_null(line);
	free(copy);
	free(order);
	free(sec);
	return shown;
}

/* A digest: the digest template, reference, and subject, body, count, part, parts. */
static void
test_notify_digest(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_GOVUK_NOTIFY, 12, 0);
	char *cause = NULL, *body, *subject;
	json_t *j, *p;
	const char *text;

	d->part = 2;
	d->parts = 3;
	free(d->template_id);
	d->template_id = xstrdup("0b3d6a37-9a6c-4d4e-8f4b-2d2c1f0e9a11");
	body = govuk_build_body(d, &cause);
	assert_non_null(body);
	j = fixture_parse_json(body);
	assert_string_equal(json_string_value(json_object_get(j, "template_id")),
	                    "0b3d6a37-9a6c-4d4e-8f4b-2d2c1f0e9a11");
	assert_string_equal(json_string_value(json_object_get(j, "reference")), d->uid);
	assert_string_equal(json_string_value(json_object_get(j, "email_address")),
	                    "iro.manager@council.example");
	p = json_object_get(j, "personalisation");
	assert_int_equal(json_object_size(p), 5);
	subject = digest_subject(d);
	assert_string_equal(json_string_value(json_object_get(p, "subject")), subject);
	assert_string_equal(json_string_value(json_object_get(p, "count")), "12");
	assert_string_equal(json_string_value(json_object_get(p, "part")), "2");
	assert_string_equal(json_string_value(json_object_get(p, "parts")), "3");
	text = json_string_value(json_object_get(p, "body"));
	assert_int_equal(check_digest_body(d, text, GOVUK_DIGEST_BODY_MAX), 12);
	assert_non_null(strstr(text, "# Escalated to you\n\n* C1000 \xe2\x80\x93 Escalated: "
	                             "service manager \xe2\x80\x93 First Child in Care review "
	                             "\xe2\x80\x93 12 working days overdue, due 2026-10-29. "
	                             "Expected: Hold the review now and record why it was late. "
	                             "History: Reminder: IRO 2026-10-22 to jo.iro@council.example "
	                             "(sent); Escalated: service manager 2026-10-30 to "
	                             "tm.north@council.example (sent). Open the case: "
	                             "https://cms.council.example/case/C1000\n"));
	assert_non_null(strstr(text, "done 2026-11-20 (15 working days late)"));
	/* No answer link, no answers: nothing said about answering. */
	assert_null(strstr(text, "Answer"));
	assert_non_null(strstr(text, "You were not told earlier: escalator first saw this case "
	                             "after 2026-10-30"));
	free(subject);
	json_decref(j);
	free(body);
	delivery_free(d);
}

/*
 * A digest's items each end with their own answer link and carry their answers
 * so far (short: never a reason, a note or an amended answer); the link stays
 * when the body must shrink.
 */
static void
test_notify_digest_answers(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_GOVUK_NOTIFY, 6, 0);
	char *body, *want;
	size_t links = 0;

	for (size_t i = 0; i < d->nitems; i++) {
		char *link = xasprintf("%s%zu", FIXTURE_LINK, i);

		if (!d->items[i]->notice && !d->items[i]->closed)
			fixture_answers(d->items[i], link);
		free(link);
	}
	body = govuk_digest_body(d, GOVUK_DIGEST_BODY_MAX);
	assert_int_equal(check_digest_body(d, body, GOVUK_DIGEST_BODY_MAX), 6);
	assert_non_null(strstr(
	    body,
	    "* C1000 \xe2\x80\x93 Escalated: service manager \xe2\x80\x93 First Child in "
	    "Care review \xe2\x80\x93 12 working days overdue, due 2026-10-29. Expected: Hold "
	    "the review now and record why it was late. History: Reminder: IRO 2026-10-22 to "
	    "jo.iro@council.example (sent); Escalated: service manager 2026-10-30 to "
	    "tm.north@council.example (sent). Answers so far: Jo Bloggs answered on 3 Dec "
	    "2026 (Overdue: team manager): action agreed for Mon 14 Dec 2026; "
	    "sm.north@council.example answered on 4 Dec 2026 (Escalated: service manager): "
	    "disagrees. Open the case: https://cms.council.example/case/C1000. Answer this "
	    "alert: " FIXTURE_LINK "0\n"));
	for (size_t i = 0; i < 4; i++) {
		want = xasprintf("Answer this alert: %s%zu\n", FIXTURE_LINK, i);
		links += strstr(body, want) != NULL;
		free(want);
	}
	assert_int_equal(links, 4);
	assert_null(strstr(body, FIXTURE_NOTE));
	assert_null(strstr(body, FIXTURE_REASON));
	assert_null(strstr(body, FIXTURE_AMENDED_NOTE));
	assert_null(strstr(body, "acknowledged"));
	free(body);

	/* Squeezed: the case links go, the answer links stay. */
	body = govuk_digest_body(d, 2500);
	assert_null(strstr(body, "Open the case"));
	assert_non_null(strstr(body, "Answer this alert: " FIXTURE_LINK "0\n"));
	free(body);
	delivery_free(d);
}

/* Case data cannot make a heading, bullet, inset, Markdown link or autolink in a digest. */
static void
test_notify_digest_formatting(void **state)
{
	static const char *const hostile[] = {
	    "[x](http://evil)",     "# Heading",        "* bullet",     "^ inset", "---",
	    "https://evil.example", "\xe2\x80\xa2 dot", "1. one\n# two"};
	struct delivery *d = fixture_digest(CHANNEL_GOVUK_NOTIFY, 8, 0);
	char *body, *save = NULL, *line;
	size_t i;

	for (i = 0; i < d->nitems; i++) {
		free(d->items[i]->case_ref);
		d->items[i]->case_ref = xstrdup(hostile[i]);
		free(d->items[i]->expected);
		d->items[i]->expected = xstrdup("see [the policy](https://evil.example/p)");
	}
	body = govuk_digest_body(d, GOVUK_DIGEST_BODY_MAX);
	/* No Markdown link, and the only URLs are the case links. */
	assert_null(strstr(body, "]("));
	assert_null(strchr(body, '['));
	assert_null(strstr(body, "://evil"));
	assert_non_null(strstr(body, "* (x)(http: //evil) \xe2\x80\x93 "));
	assert_non_null(strstr(body, "* Heading \xe2\x80\x93 "));
	assert_non_null(strstr(body, "* inset \xe2\x80\x93 "));
	assert_non_null(strstr(body, "* dot \xe2\x80\x93 "));
	assert_non_null(strstr(body, "* 1. one # two \xe2\x80\x93 "));
	assert_non_null(strstr(body, "see (the policy)(https: //evil.example/p)"));
	/* Every line is ours: a heading, a bullet or empty. */
	for (line = strtok_r(body, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		assert_true(strncmp(line, "# ", 2) == 0 || strncmp(line, "* ", 2) == 0);
	free(body);
	delivery_free(d);
}

/*
 * At notifier_digest_limit items of 2,000-byte values every item is in the
 * body, under GOVUK_DIGEST_BODY_MAX (Notify: about 100,000 characters); far
 * more items are left out with a note, never over it.
 */
static void
test_notify_digest_limit(void **state)
{
	size_t limit = (size_t)notifier_digest_limit(CHANNEL_GOVUK_NOTIFY), n;
	struct delivery *d = fixture_digest(CHANNEL_GOVUK_NOTIFY, limit, 2000);
	char *cause = NULL, *body = govuk_build_body(d, &cause), *text;
	json_t *j = fixture_parse_json(body);

	text = xstrdup(
	    json_string_value(json_object_get(json_object_get(j, "personalisation"), "body")));
	assert_int_equal(check_digest_body(d, text, GOVUK_DIGEST_BODY_MAX), limit);
	print_message("Notify digest: %zu items of 2,000-byte values: body %zu bytes, request "
	              "%zu bytes\n",
	              limit, strlen(text), strlen(body));
	assert_true(strlen(text) < 100000 * 6 / 10);
	free(text);
	json_decref(j);
	free(body);
	delivery_free(d);

	d = fixture_digest(CHANNEL_GOVUK_NOTIFY, 1000, 2000);
	text = govuk_digest_body(d, GOVUK_DIGEST_BODY_MAX);
	n = check_digest_body(d, text, GOVUK_DIGEST_BODY_MAX);
	assert_true(n > limit && n < 1000);
	free(text);
	delivery_free(d);
}

/* The send and lookup URLs; the reference is escaped. */
static void
test_notify_urls(void **state)
{
	char *u = govuk_send_url("https://api.notifications.service.gov.uk");

	assert_string_equal(u, "https://api.notifications.service.gov.uk/v2/notifications/email");
	free(u);
	u = govuk_lookup_url("http://127.0.0.1:8080", "esc-ab-1 &x");
	assert_string_equal(u, "http://127.0.0.1:8080/v2/notifications?reference=esc-ab-1%20%26x");
	free(u);
}

/* 201 sent; 400 failed; 403, 429, 500 and curl errors retried; Notify's message kept. */
static void
test_notify_classify(void **state)
{
	static const char err400[] = "{\"errors\":[{\"error\":\"BadRequestError\",\"message\":"
	                             "\"Template not found\"}],\"status_code\":400}";
	struct http_response resp = {201, "{\"id\":\"x\"}", 10, NULL};
	struct delivery_result r;
	char *detail;

	detail = govuk_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_SENT);
	free(detail);

	resp = (struct http_response){400, err400, strlen(err400), NULL};
	detail = govuk_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_FAILED);
	assert_string_equal(r.detail, "HTTP 400: BadRequestError: Template not found");
	free(detail);

	resp = (struct http_response){403, "{}", 2, NULL};
	detail = govuk_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);

	resp = (struct http_response){429, "", 0, "7"};
	detail = govuk_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_int_equal(r.retry_after, 7);
	assert_int_equal(r.code, 429);
	free(detail);

	resp = (struct http_response){500, "oops", 4, NULL};
	detail = govuk_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);

	resp = (struct http_response){0, "", 0, NULL};
	detail = govuk_classify(28, &resp, 0, "Operation timed out after 3001 milliseconds", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_string_equal(r.detail, "Operation timed out after 3001 milliseconds");
	free(detail);
}

/* A lookup: found, not found, cut short, or failed (a temporary failure). */
static void
test_notify_lookup(void **state)
{
	static const char found[] = "{\"notifications\":[{\"id\":\"1\",\"reference\":\"r\"}],"
	                            "\"links\":{}}";
	static const char none[] = "{\"notifications\": [ ], \"links\":{}}";
	static const char cut[] = "{\"links\":{},\"notifications\": [ {\"id\":\"1\",\"body\":\"abc";
	static const char odd[] =
	    "{\"notifications\":\"none\",\"links\":{\"x\":\"\\\"notifications\\\": [{\"}}";
	struct http_response resp = {200, found, strlen(found), NULL};
	struct delivery_result r;
	char *detail;

	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), 1);
	assert_null(detail);
	resp = (struct http_response){200, none, strlen(none), NULL};
	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), 0);
	resp = (struct http_response){200, cut, strlen(cut), NULL};
	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), 1);
	resp = (struct http_response){500, "", 0, NULL};
	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), -1);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_non_null(strstr(r.detail, "looking up the reference"));
	free(detail);
	/* JSON without the list is no answer, whatever its text holds: never "found". */
	resp = (struct http_response){200, odd, strlen(odd), NULL};
	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), -1);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);
	/* A 400 to a lookup is no reason to give the alert up. */
	resp = (struct http_response){400, "{}", 2, NULL};
	assert_int_equal(govuk_lookup_result(0, &resp, 0, "", &r, &detail), -1);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);
}

/* Whether the header list has an entry starting with prefix. */
static int
has_header(const struct curl_slist *h, const char *prefix)
{
	for (; h != NULL; h = h->next)
		if (strncmp(h->data, prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

/*
 * Set up the first request of d's send (options recorded), check it carries a
 * JWT, then finish it as curl error rc: a temporary failure. Returns its detail.
 */
static char *
send_failed(const struct delivery *d, CURLcode rc)
{
	struct notifier_settings s = {.connect_timeout = 4, .delivery_timeout = 9};
	struct transfer *t = transfer_new();
	struct delivery_result r;
	struct govuk_send *g;
	char *cause = NULL, *detail;

	g = govuk_new(d, &cause);
	assert_non_null(g);
	curlrec_clear();
	assert_int_equal(govuk_setup(g, t, &s, &cause), 0);
	assert_true(has_header(curlrec_find(CURLOPT_HTTPHEADER)->ptr, "Authorization: Bearer ey"));
	assert_true(has_header(curlrec_find(CURLOPT_HTTPHEADER)->ptr, "Accept: application/json"));
	assert_int_equal(govuk_finish(g, t, rc, &r, &detail), 0);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_ptr_equal(r.detail, detail);
	transfer_free(t);
	govuk_free(g);
	return detail;
}

/* A first attempt: one POST of the body to the send URL; its answer is final. */
static void
test_send_first_attempt(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	char *detail = send_failed(&d, CURLE_COULDNT_CONNECT);

	assert_string_equal(curlrec_find(CURLOPT_URL)->str,
	                    "https://api.notifications.service.gov.uk/v2/notifications/email");
	assert_non_null(strstr(curlrec_find(CURLOPT_POSTFIELDS)->str, "\"reference\""));
	assert_null(strstr(detail, "looking up the reference"));
	free(detail);
	curlrec_clear();
}

/* A later attempt: a GET of the reference first; a failed lookup is a temporary failure. */
static void
test_send_lookup_first(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	char *detail;

	d.attempts = 2;
	detail = send_failed(&d, CURLE_OPERATION_TIMEDOUT);
	assert_string_equal(curlrec_find(CURLOPT_URL)->str,
	                    "https://api.notifications.service.gov.uk/v2/"
	                    "notifications?reference=esc-1a2b3c4d5e6f-42");
	assert_null(curlrec_find(CURLOPT_POSTFIELDS));
	assert_non_null(strstr(detail, "looking up the reference"));
	free(detail);
	curlrec_clear();
}

/* What cannot be sent at all: fields that are not an object, a key that is not a Notify key. */
static void
test_send_refused(void **state)
{
	struct notifier_settings s = {.connect_timeout = 4, .delivery_timeout = 9};
	struct delivery d = fixture_delivery(CHANNEL_GOVUK_NOTIFY);
	struct govuk_send *g;
	struct transfer *t = transfer_new();
	char *cause = NULL;

	d.fields = json_pack("[i]", 1);
	assert_null(govuk_new(&d, &cause));
	assert_string_equal(cause, "the alert's fields are not a JSON object");
	free(cause);
	cause = NULL;
	json_decref(d.fields);
	d.fields = NULL;
	d.secret = "not-a-key";
	g = govuk_new(&d, &cause);
	assert_non_null(g);
	assert_int_equal(govuk_setup(g, t, &s, &cause), -1);
	assert_string_equal(cause, "the contact's api_key_file does not hold a Notify API key");
	free(cause);
	transfer_free(t);
	govuk_free(g);
	curlrec_clear();
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64url),
	    cmocka_unit_test(test_notify_key),
	    cmocka_unit_test(test_notify_jwt),
	    cmocka_unit_test(test_notify_body),
	    cmocka_unit_test(test_notify_urls),
	    cmocka_unit_test(test_notify_classify),
	    cmocka_unit_test(test_notify_lookup),
	    cmocka_unit_test(test_send_first_attempt),
	    cmocka_unit_test(test_send_lookup_first),
	    cmocka_unit_test(test_send_refused),
	    cmocka_unit_test(test_notify_label_link),
	    cmocka_unit_test(test_notify_answers),
	    cmocka_unit_test(test_notify_digest_answers),
	    cmocka_unit_test(test_notify_digest),
	    cmocka_unit_test(test_notify_digest_formatting),
	    cmocka_unit_test(test_notify_digest_limit),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
