/* test_channels.c - unit tests for the Teams, Slack, GOV.UK Notify and OAuth parts of notifiers/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "chat.h"
#include "notifier.h"
#include "notify.h"
#include "oauth.h"
#include "ratelimit.h"
#include "xalloc.h"

#define SERVICE_ID "26785a09-ab16-4eb0-8407-a37497a57506"
#define SECRET "3d844edf-8d35-48ac-975b-e847b4f122b0"
#define API_KEY "escalator_live-" SERVICE_ID "-" SECRET
#define TEMPLATE "f33517ff-2a88-4f6e-b855-c550268ce08a"

/* A delivery with ordinary values. */
static struct delivery
sample(enum channel kind)
{
	struct delivery d = {
	    .id = 42,
	    .uid = "esc-1a2b3c4d5e6f-42",
	    .kind = kind,
	    .recipient = kind == CHANNEL_GOVUK_NOTIFY ? "iro.manager@council.example"
	                                              : "https://hooks.example/x",
	    .attempts = 1,
	    .rule = "cic-first-review",
	    .title = "First Child in Care review",
	    .case_ref = "C1042",
	    .stage = "overdue",
	    .start = "2026-10-01",
	    .due = "2026-10-29",
	    .fires = "2026-10-30T08:00:00",
	    .days_late = 12,
	    .status = "12 working days overdue",
	    .subject = "subject",
	    .body = "body",
	    .expected = "hold the review within 5 working days",
	};
	if (kind == CHANNEL_GOVUK_NOTIFY) {
		d.secret = API_KEY;
		d.template_id = TEMPLATE;
		d.base_url = "https://api.notifications.service.gov.uk";
	}
	return d;
}

/* A JSON object from text (a delivery's fields), failing the test if it is not one. */
static json_t *
object(const char *text)
{
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(o))
		fail_msg("not a JSON object: %s", text);
	return o;
}

/* Parse text as JSON, failing the test if it is not. */
static json_t *
parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("not JSON (%s): %.200s", err.text, text);
	return j;
}

/* ---- base64url and the Notify JWT ------------------------------------------------------ */

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
		char *got = notify_base64url((const unsigned char *)v[i].in, v[i].len);

		assert_string_equal(got, v[i].out);
		free(got);
	}
}

/* The API key splits into the service id and the secret; anything else is refused. */
static void
test_notify_key(void **state)
{
	char sid[37], secret[37];

	assert_int_equal(notify_key_parts(API_KEY, sid, secret), 0);
	assert_string_equal(sid, SERVICE_ID);
	assert_string_equal(secret, SECRET);
	/* A key name with dashes of its own. */
	assert_int_equal(notify_key_parts("my-team-key-" SERVICE_ID "-" SECRET, sid, secret), 0);
	assert_string_equal(sid, SERVICE_ID);
	assert_int_equal(notify_key_parts(SERVICE_ID "-" SECRET, sid, secret), -1); /* no name */
	assert_int_equal(notify_key_parts("name-" SERVICE_ID SECRET, sid, secret), -1);
	assert_int_equal(notify_key_parts("name-" SERVICE_ID
	                                  "-3d844edf-8d35-48ac-975b-e847b4f122bX",
	                                  sid, secret),
	                 -1);
	assert_int_equal(notify_key_parts("short", sid, secret), -1);
	assert_int_equal(notify_key_parts(NULL, sid, secret), -1);
}

/* The JWT matches one made independently (Python hmac + base64) and decodes as Notify expects. */
static void
test_notify_jwt(void **state)
{
	static const char want[] =
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
	    "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3OTM3NzkyMDB9."
	    "xMF68h88HAQvUaRrJxVTxMWGLKSNJnzSkyCdJ9SFoUw";
	char *jwt = notify_jwt(API_KEY, (time_t)1793779200);

	assert_non_null(jwt);
	assert_string_equal(jwt, want);
	free(jwt);
	/* Fresh per request: another iat, another token. */
	jwt = notify_jwt(API_KEY, (time_t)1793779201);
	assert_string_not_equal(jwt, want);
	assert_null(strchr(jwt, '='));
	free(jwt);
	assert_null(notify_jwt("not a key", 0));
}

/* ---- the Notify request ---------------------------------------------------------------- */

/* The body: address, template, reference = delivery id, personalisation all strings. */
static void
test_notify_body(void **state)
{
	struct delivery d = sample(CHANNEL_GOVUK_NOTIFY);
	char *cause = NULL, *body;
	json_t *j, *p;

	d.fields = object("{\"legal_status\":\"C2\",\"title\":\"not this\",\"placement\":null}");
	body = notify_build_body(&d, &cause);
	assert_non_null(body);
	j = parse(body);
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
	/* Nothing else: no subject, body, API key. */
	assert_int_equal(json_object_size(j), 4);
	assert_null(strstr(body, SECRET));
	json_decref(j);
	free(body);

	/* No expected text: the key is still there (a template may use it). */
	d.expected = NULL;
	json_decref(d.fields);
	d.fields = NULL;
	body = notify_build_body(&d, &cause);
	j = parse(body);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "personalisation"), "expected")),
	    "");
	json_decref(j);
	free(body);

	d.fields = json_pack("[i]", 1);
	assert_null(notify_build_body(&d, &cause));
	assert_non_null(cause);
	free(cause);
	json_decref(d.fields);
}

/* The send and lookup URLs; the reference is escaped. */
static void
test_notify_urls(void **state)
{
	char *u = notify_send_url("https://api.notifications.service.gov.uk");

	assert_string_equal(u, "https://api.notifications.service.gov.uk/v2/notifications/email");
	free(u);
	u = notify_lookup_url("http://127.0.0.1:8080", "esc-ab-1 &x");
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

	detail = notify_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_SENT);
	free(detail);

	resp = (struct http_response){400, err400, strlen(err400), NULL};
	detail = notify_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_FAILED);
	assert_string_equal(r.detail, "HTTP 400: BadRequestError: Template not found");
	free(detail);

	resp = (struct http_response){403, "{}", 2, NULL};
	detail = notify_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);

	resp = (struct http_response){429, "", 0, "7"};
	detail = notify_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_int_equal(r.retry_after, 7);
	assert_int_equal(r.code, 429);
	free(detail);

	resp = (struct http_response){500, "oops", 4, NULL};
	detail = notify_classify(0, &resp, 0, "", &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);

	resp = (struct http_response){0, "", 0, NULL};
	detail = notify_classify(28, &resp, 0, "Operation timed out after 3001 milliseconds", &r);
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
	struct http_response resp = {200, found, strlen(found), NULL};
	struct delivery_result r;
	char *detail;

	assert_int_equal(notify_lookup_result(0, &resp, 0, "", &r, &detail), 1);
	assert_null(detail);
	resp = (struct http_response){200, none, strlen(none), NULL};
	assert_int_equal(notify_lookup_result(0, &resp, 0, "", &r, &detail), 0);
	resp = (struct http_response){200, cut, strlen(cut), NULL};
	assert_int_equal(notify_lookup_result(0, &resp, 0, "", &r, &detail), 1);
	resp = (struct http_response){500, "", 0, NULL};
	assert_int_equal(notify_lookup_result(0, &resp, 0, "", &r, &detail), -1);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_non_null(strstr(r.detail, "looking up the reference"));
	free(detail);
	/* A 400 to a lookup is no reason to give the alert up. */
	resp = (struct http_response){400, "{}", 2, NULL};
	assert_int_equal(notify_lookup_result(0, &resp, 0, "", &r, &detail), -1);
	assert_int_equal(r.status, DELIVERY_RETRY);
	free(detail);
}

/* ---- Teams and Slack ------------------------------------------------------------------- */

/* The facts of a Teams message's FactSet as one "title=value;" string. */
static char *
teams_facts(json_t *msg, json_t **body_out)
{
	json_t *att = json_array_get(json_object_get(msg, "attachments"), 0);
	json_t *card = json_object_get(att, "content"), *body = json_object_get(card, "body"), *b;
	size_t i, k;
	char *out = xstrdup(""), *next;

	*body_out = body;
	json_array_foreach(body, i, b)
	{
		json_t *facts = json_object_get(b, "facts"), *f;

		json_array_foreach(facts, k, f)
		{
			next = xasprintf("%s%s=%s;", out,
			                 json_string_value(json_object_get(f, "title")),
			                 json_string_value(json_object_get(f, "value")));
			free(out);
			out = next;
		}
	}
	return out;
}

/* The Teams message: an Adaptive Card attachment with the title, facts and expected text. */
static void
test_teams_shape(void **state)
{
	struct delivery d = sample(CHANNEL_TEAMS);
	char *cause = NULL, *text, *facts;
	json_t *j, *att, *card, *body;

	d.fields = object("{\"legal_status\":\"C2\"}");
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_non_null(text);
	j = parse(text);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "message");
	assert_int_equal(json_array_size(json_object_get(j, "attachments")), 1);
	att = json_array_get(json_object_get(j, "attachments"), 0);
	assert_string_equal(json_string_value(json_object_get(att, "contentType")),
	                    "application/vnd.microsoft.card.adaptive");
	card = json_object_get(att, "content");
	assert_string_equal(json_string_value(json_object_get(card, "type")), "AdaptiveCard");
	assert_non_null(json_string_value(json_object_get(card, "version")));
	facts = teams_facts(j, &body);
	assert_string_equal(json_string_value(json_object_get(json_array_get(body, 0), "text")),
	                    "First Child in Care review");
	assert_string_equal(json_string_value(json_object_get(json_array_get(body, 1), "text")),
	                    "Case C1042: 12 working days overdue");
	assert_string_equal(facts, "Case=C1042;Stage=overdue;Due=2026-10-29;Days overdue=12;"
	                           "Started=2026-10-01;legal_status=C2;");
	assert_non_null(strstr(text, "Expected: hold the review within 5 working days"));
	assert_non_null(strstr(text, "esc-1a2b3c4d5e6f-42"));
	free(facts);
	json_decref(j);
	free(text);

	/* Not yet due: the alert's status as it is, and no subject or body (data minimisation). */
	d.days_late = 0;
	d.status = "due in 3 working days";
	json_decref(d.fields);
	d.fields = NULL;
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_non_null(strstr(text, "Case C1042: due in 3 working days"));
	assert_null(strstr(text, "\"Attention\""));
	assert_null(strstr(text, "subject"));
	free(text);
}

/* Long values are cut with "…" and many fields left out until the message fits. */
static void
test_teams_size_cap(void **state)
{
	struct delivery d = sample(CHANNEL_TEAMS);
	json_t *o = json_object(), *j, *body;
	char *big = xmalloc(100001), *text, *cause = NULL, *facts;

	memset(big, 'x', 100000);
	big[100000] = '\0';
	json_object_set_new(o, "notes", json_string(big));
	d.fields = o;
	d.title = big;
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_true(strlen(text) <= CHAT_TEAMS_MAX);
	assert_non_null(strstr(text, "x\xe2\x80\xa6\""));
	json_decref(parse(text));
	free(text);

	/* 1000 fields of 1000 bytes: smaller values first, then fewer fields. */
	for (int i = 0; i < 1000; i++) {
		char name[16];

		snprintf(name, sizeof name, "f%04d", i);
		big[1000] = '\0';
		json_object_set_new(o, name, json_string(big));
	}
	d.title = "Title";
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_true(strlen(text) <= CHAT_TEAMS_MAX);
	j = parse(text);
	facts = teams_facts(j, &body);
	/* The alert's own facts always stay; a note says how many fields were left out. */
	assert_non_null(strstr(facts, "Case=C1042;Stage=overdue;Due=2026-10-29;"));
	assert_non_null(strstr(facts, "more not shown"));
	free(facts);
	json_decref(j);
	free(text);
	json_decref(o);
	free(big);
}

/* Slack: text for notifications, header + fields + expected + context blocks, escaped. */
static void
test_slack_shape(void **state)
{
	struct delivery d = sample(CHANNEL_SLACK);
	char *cause = NULL, *text;
	json_t *j, *blocks, *f;

	d.case_ref = "C<1042>&co";
	d.fields = object("{\"legal_status\":\"<!channel>\"}");
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	j = parse(text);
	assert_string_equal(json_string_value(json_object_get(j, "text")),
	                    "First Child in Care review: case C&lt;1042&gt;&amp;co, overdue, due "
	                    "2026-10-29 (12 working days overdue)");
	blocks = json_object_get(j, "blocks");
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")),
	                    "header");
	f = json_object_get(json_array_get(blocks, 1), "fields");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "text")),
	                    "*Case*\nC&lt;1042&gt;&amp;co");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f, 3), "text")),
	                    "*Days overdue*\n12");
	f = json_object_get(json_array_get(blocks, 2), "fields");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "text")),
	                    "*legal_status*\n&lt;!channel&gt;");
	assert_non_null(strstr(text, "Expected: hold the review"));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(blocks, json_array_size(blocks) - 1), "type")),
	                    "context");
	/* No mention, link or channel ping can be smuggled in through case data. */
	assert_null(strstr(text, "<!channel>"));
	json_decref(j);
	free(text);
	json_decref(d.fields);
}

/* Slack's limits: header 150, field 2000, 10 fields a section, 50 blocks, and the byte cap. */
static void
test_slack_limits(void **state)
{
	struct delivery d = sample(CHANNEL_SLACK);
	json_t *o = json_object(), *j, *blocks, *b;
	char *big = xmalloc(5001), *text, *cause = NULL;
	size_t i;

	memset(big, 'y', 5000);
	big[5000] = '\0';
	for (int k = 0; k < 700; k++) {
		char name[16];

		snprintf(name, sizeof name, "c%03d", k);
		json_object_set_new(o, name, json_string(big));
	}
	d.fields = o;
	d.title = big;
	d.expected = big;
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	assert_true(strlen(text) <= CHAT_SLACK_MAX);
	j = parse(text);
	blocks = json_object_get(j, "blocks");
	assert_true(json_array_size(blocks) <= CHAT_SLACK_BLOCKS_MAX);
	json_array_foreach(blocks, i, b)
	{
		json_t *t = json_object_get(b, "text"), *fs = json_object_get(b, "fields"), *f;
		size_t k;

		if (strcmp(json_string_value(json_object_get(b, "type")), "header") == 0)
			assert_true(strlen(json_string_value(json_object_get(t, "text"))) <=
			            CHAT_SLACK_HEADER_MAX);
		if (t != NULL)
			assert_true(strlen(json_string_value(json_object_get(t, "text"))) <=
			            CHAT_SLACK_TEXT_MAX);
		assert_true(json_array_size(fs) <= CHAT_SLACK_FIELDS_PER_SECTION);
		json_array_foreach(fs, k, f)
		{
			assert_true(strlen(json_string_value(json_object_get(f, "text"))) <=
			            CHAT_SLACK_FIELD_MAX);
		}
	}
	assert_non_null(strstr(text, "more fields not shown"));
	json_decref(j);
	free(text);
	json_decref(o);
	free(big);
}

/*
 * Escaping on its own. (The status line is the alert's own, made by
 * rules/eval.c: test_eval's test_status and test_status_recorded.)
 */
static void
test_chat_helpers(void **state)
{
	char *s;

	s = chat_slack_escape("a&b<c>d");
	assert_string_equal(s, "a&amp;b&lt;c&gt;d");
	free(s);
}

/* Invalid UTF-8 and control characters from the case store never reach a payload. */
static void
test_chat_hostile_values(void **state)
{
	struct delivery d = sample(CHANNEL_TEAMS);
	char *cause = NULL, *text;

	d.case_ref = "C1\r\n\x01\xff\xfe";
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	json_decref(parse(text));
	assert_null(strstr(text, "\\r"));
	assert_null(strstr(text, "\\u0001"));
	free(text);
	/* Fields that are not an object (damaged ones never get here: test_queue). */
	d.kind = CHANNEL_SLACK;
	d.fields = json_pack("[i]", 1);
	assert_null(chat_slack_body(&d, CHAT_SLACK_MAX, &cause));
	assert_string_equal(cause, "the alert's fields are not a JSON object");
	free(cause);
	cause = NULL;
	d.kind = CHANNEL_TEAMS;
	assert_null(chat_teams_body(&d, CHAT_TEAMS_MAX, &cause));
	assert_string_equal(cause, "the alert's fields are not a JSON object");
	free(cause);
	json_decref(d.fields);
}

/* ---- OAuth 2.0 ------------------------------------------------------------------------- */

/* The form body: every value escaped, the grant and scope as Exchange Online wants them. */
static void
test_oauth_request(void **state)
{
	char *b = oauth_request_body("6731de76-14a6", "a+b/c=d&e~f g",
	                             "https://outlook.office365.com/.default");

	assert_string_equal(b, "grant_type=client_credentials&client_id=6731de76-14a6&"
	                       "client_secret=a%2Bb%2Fc%3Dd%26e~f%20g&scope=https%3A%2F%2Foutlook."
	                       "office365.com%2F.default");
	free(b);
}

/* v2.0 (number) and v1.0 (string) expires_in; missing token_type is accepted. */
static void
test_oauth_parse_ok(void **state)
{
	static const char v2[] = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
	                         "\"ext_expires_in\":3599,\"access_token\":\"eyJ0.abc.def\"}";
	static const char v1[] = "{\"token_type\":\"bearer\",\"expires_in\":\"3600\","
	                         "\"access_token\":\"tok1\"}";
	struct oauth_result r;

	assert_int_equal(oauth_parse_response(200, v2, strlen(v2), &r), 0);
	assert_string_equal(r.token, "eyJ0.abc.def");
	assert_int_equal(r.expires_in, 3599);
	assert_null(r.error);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(200, v1, strlen(v1), &r), 0);
	assert_int_equal(r.expires_in, 3600);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(200, "{\"access_token\":\"t\"}", 20, &r), 0);
	assert_true(r.expires_in > 0);
	oauth_result_clear(&r);
}

/* Errors: the identity platform's AADSTS code and first line, never the rest. */
static void
test_oauth_parse_errors(void **state)
{
	static const char aad[] =
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
	    "secret provided.\\r\\nTrace ID: 0e4c\\r\\nCorrelation ID: 9b2f\\r\\nTimestamp: x\","
	    "\"error_codes\":[7000215],\"trace_id\":\"0e4c\"}";
	static const char codes_only[] =
	    "{\"error\":\"unauthorized_client\",\"error_description\":"
	    "\"The client is not authorised\",\"error_codes\":[700016]}";
	struct oauth_result r;

	assert_int_equal(oauth_parse_response(401, aad, strlen(aad), &r), -1);
	assert_string_equal(r.code, "AADSTS7000215");
	assert_string_equal(
	    r.error, "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided.");
	assert_null(r.token);
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(400, codes_only, strlen(codes_only), &r), -1);
	assert_string_equal(r.code, "AADSTS700016");
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(500, "<html>\n<h1>Oops</h1>", 20, &r), -1);
	assert_string_equal(r.error, "HTTP 500: <html>");
	assert_string_equal(r.code, "");
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(200, "{\"token_type\":\"Bearer\"}", 23, &r), -1);
	assert_non_null(strstr(r.error, "no access_token"));
	oauth_result_clear(&r);
	assert_int_equal(
	    oauth_parse_response(200, "{\"token_type\":\"mac\",\"access_token\":\"t\"}", 39, &r),
	    -1);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(503, NULL, 0, &r), -1);
	assert_string_equal(r.error, "HTTP 503");
	oauth_result_clear(&r);
}

/* Cached until shortly before expiry, refreshed ahead of time. */
static void
test_oauth_cache(void **state)
{
	struct oauth_cache c = {0};
	long long usable, refresh;

	oauth_times(3599, 0, &usable, &refresh);
	assert_int_equal(usable, (3599 - 60) * 1000LL);
	assert_int_equal(refresh, (3599 - 300) * 1000LL);
	oauth_times(10, 1000, &usable, &refresh);
	assert_int_equal(usable, 1000 + 8000);
	assert_int_equal(refresh, 1000 + 5000);

	assert_null(oauth_cache_get(&c, 0));
	assert_true(oauth_cache_refresh_due(&c, 0));
	oauth_cache_store(&c, xstrdup("tok"), 10, 1000);
	assert_string_equal(oauth_cache_get(&c, 1000), "tok");
	assert_false(oauth_cache_refresh_due(&c, 5999));
	assert_true(oauth_cache_refresh_due(&c, 6000));
	assert_string_equal(oauth_cache_get(&c, 8999), "tok"); /* still handed out */
	assert_null(oauth_cache_get(&c, 9000));                /* too close to expiry */
	oauth_cache_store(&c, xstrdup("tok2"), 3600, 9000);
	assert_string_equal(oauth_cache_get(&c, 9000), "tok2");
	oauth_cache_clear(&c);
	assert_null(oauth_cache_get(&c, 9000));
}

/* ---- the rate limiter ------------------------------------------------------------------ */

/* 4 a second: one every 250 ms; a charge past the limit is waited out. */
static void
test_ratelimit(void **state)
{
	struct ratelimit rl;
	int sent = 0;

	/* 4 a second: 250 ms each, plus a quarter for arrival jitter = 312 ms. */
	ratelimit_init(&rl, 4, 1);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
	ratelimit_charge(&rl, 1000, 1);
	assert_int_equal(ratelimit_wait(&rl, 1000), 312);
	assert_int_equal(ratelimit_wait(&rl, 1100), 212);
	assert_int_equal(ratelimit_wait(&rl, 1312), 0);
	/* Idle time is not saved up: no burst after a quiet spell. */
	ratelimit_charge(&rl, 5000, 1);
	assert_int_equal(ratelimit_wait(&rl, 5000), 312);
	/* Two requests at once (a Notify lookup and send) cost two slots. */
	ratelimit_charge(&rl, 5312, 2);
	assert_int_equal(ratelimit_wait(&rl, 5312), 624);

	/* In any second of a busy stretch, at most 4 go (here 1 every 320 ms: 32 in 10 s). */
	ratelimit_init(&rl, 4, 1);
	for (long long t = 0; t < 10000; t += 10) {
		if (ratelimit_wait(&rl, t) == 0) {
			ratelimit_charge(&rl, t, 1);
			sent++;
		}
	}
	assert_int_equal(sent, 32);

	/* Slack: 1 a second. Notify: 3,000 a minute. Exchange: 30 a minute. None: no wait. */
	ratelimit_init(&rl, 1, 1);
	assert_int_equal(rl.interval, 1250);
	ratelimit_init(&rl, 3000, 60);
	assert_int_equal(rl.interval, 25);
	ratelimit_init(&rl, 30, 60);
	assert_int_equal(rl.interval, 2500);
	ratelimit_init(&rl, 3, 1);
	assert_int_equal(rl.interval, 417); /* rounded up, then the quarter: never faster */
	ratelimit_init(&rl, 0, 0);
	ratelimit_charge(&rl, 0, 100);
	assert_int_equal(ratelimit_wait(&rl, 0), 0);
	assert_true(ratelimit_now() > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64url),           cmocka_unit_test(test_notify_key),
	    cmocka_unit_test(test_notify_jwt),          cmocka_unit_test(test_notify_body),
	    cmocka_unit_test(test_notify_urls),         cmocka_unit_test(test_notify_classify),
	    cmocka_unit_test(test_notify_lookup),       cmocka_unit_test(test_teams_shape),
	    cmocka_unit_test(test_teams_size_cap),      cmocka_unit_test(test_slack_shape),
	    cmocka_unit_test(test_slack_limits),        cmocka_unit_test(test_chat_helpers),
	    cmocka_unit_test(test_chat_hostile_values), cmocka_unit_test(test_oauth_request),
	    cmocka_unit_test(test_oauth_parse_ok),      cmocka_unit_test(test_oauth_parse_errors),
	    cmocka_unit_test(test_oauth_cache),         cmocka_unit_test(test_ratelimit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
