/* test_chat.c - unit tests for the Teams and Slack messages (chat.c). */
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
#include "notifier_fixture.h"
#include "xalloc.h"

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
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
	char *cause = NULL, *text, *facts;
	json_t *j, *att, *card, *body;

	d.fields = fixture_json_object("{\"legal_status\":\"C2\"}");
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_non_null(text);
	j = fixture_parse_json(text);
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
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
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
	json_decref(fixture_parse_json(text));
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
	j = fixture_parse_json(text);
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
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
	char *cause = NULL, *text;
	json_t *j, *blocks, *f;

	d.case_ref = "C<1042>&co";
	d.fields = fixture_json_object("{\"legal_status\":\"<!channel>\"}");
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	j = fixture_parse_json(text);
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
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
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
	j = fixture_parse_json(text);
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
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
	char *cause = NULL, *text;

	d.case_ref = "C1\r\n\x01\xff\xfe";
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	json_decref(fixture_parse_json(text));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_teams_shape),  cmocka_unit_test(test_teams_size_cap),
	    cmocka_unit_test(test_slack_shape),  cmocka_unit_test(test_slack_limits),
	    cmocka_unit_test(test_chat_helpers), cmocka_unit_test(test_chat_hostile_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
