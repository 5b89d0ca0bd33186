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

/* The text of a Teams block's first run (or "" if it has none). */
static const char *
teams_block_text(json_t *b)
{
	const char *t = json_string_value(
	    json_object_get(json_array_get(json_object_get(b, "inlines"), 0), "text"));

	return t != NULL ? t : "";
}

/*
 * The facts of a Teams message (blocks of a bold "title: " run and a value run) as one
 * "title=value;" string; the card's body in *body_out.
 */
static char *
teams_facts(json_t *msg, json_t **body_out)
{
	json_t *att = json_array_get(json_object_get(msg, "attachments"), 0);
	json_t *card = json_object_get(att, "content"), *body = json_object_get(card, "body"), *b;
	size_t i;
	char *out = xstrdup(""), *next;

	*body_out = body;
	json_array_foreach(body, i, b)
	{
		json_t *runs = json_object_get(b, "inlines");
		const char *title, *value;
		size_t n;

		if (json_array_size(runs) != 2)
			continue;
		title = json_string_value(json_object_get(json_array_get(runs, 0), "text"));
		value = json_string_value(json_object_get(json_array_get(runs, 1), "text"));
		n = strlen(title);
		assert_true(n >= 2 && strcmp(title + n - 2, ": ") == 0);
		next = xasprintf("%s%.*s=%s;", out, (int)(n - 2), title, value);
		free(out);
		out = next;
	}
	return out;
}

/*
 * Nothing in the card is parsed as Markdown: every block is a RichTextBlock of TextRuns
 * (no TextBlock, no FactSet, whose text Teams renders as Markdown).
 */
static void
assert_teams_plain(json_t *body)
{
	size_t i, k;
	json_t *b, *r;

	assert_true(json_array_size(body) > 0);
	json_array_foreach(body, i, b)
	{
		assert_string_equal(json_string_value(json_object_get(b, "type")), "RichTextBlock");
		assert_true(json_array_size(json_object_get(b, "inlines")) > 0);
		json_array_foreach(json_object_get(b, "inlines"), k, r)
		{
			assert_string_equal(json_string_value(json_object_get(r, "type")),
			                    "TextRun");
			assert_non_null(json_string_value(json_object_get(r, "text")));
		}
	}
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
	assert_teams_plain(body);
	assert_string_equal(teams_block_text(json_array_get(body, 0)),
	                    "First Child in Care review");
	assert_string_equal(teams_block_text(json_array_get(body, 1)),
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

/*
 * Markdown in case data stays text: a case reference "[click](https://evil.example)" or
 * "**x**" reaches the card as it is, inside TextRuns, which Teams does not parse.
 */
static void
test_teams_markdown_is_text(void **state)
{
	static char *const refs[] = {
	    "[click](https://evil.example)",    "**x**", "_y_", "- item\r- item", "<at>all</at>",
	    "![i](https://evil.example/p.png)",
	};
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
	char *cause = NULL, *text, *facts, *want;
	json_t *j, *body;

	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
		d.case_ref = refs[i];
		d.fields = fixture_json_object("{\"note\":\"see [here](https://evil.example)\"}");
		text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
		j = fixture_parse_json(text);
		facts = teams_facts(j, &body);
		assert_teams_plain(body);
		/* "\r" is a control character: one space (test_chat_hostile_values). */
		want = xasprintf("Case=%s;Stage=overdue;", i == 3 ? "- item - item" : refs[i]);
		assert_non_null(strstr(facts, want));
		assert_non_null(strstr(facts, "note=see [here](https://evil.example);"));
		free(want);
		free(facts);
		json_decref(j);
		free(text);
		json_decref(d.fields);
	}
}

/* Slack shows no preview of a link in case data: unfurling is off. */
static void
test_slack_no_unfurl(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
	char *cause = NULL, *text;
	json_t *j;

	d.case_ref = "https://evil.example/track.png";
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	j = fixture_parse_json(text);
	assert_true(json_is_false(json_object_get(j, "unfurl_links")));
	assert_true(json_is_false(json_object_get(j, "unfurl_media")));
	json_decref(j);
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
slack_limits_with(char fill)
{
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
	json_t *o = json_object(), *j, *blocks, *b;
	char *big = xmalloc(5001), *text, *cause = NULL;
	size_t i;

	memset(big, fill, 5000);
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
 * Every Slack limit holds for long values, and for values of '&' that grow
 * fivefold when escaped (they are escaped first, then cut: once 5x the limit).
 */
static void
test_slack_limits(void **state)
{
	(void)state;
	slack_limits_with('y');
	slack_limits_with('&');
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
	    cmocka_unit_test(test_teams_shape),
	    cmocka_unit_test(test_teams_size_cap),
	    cmocka_unit_test(test_slack_shape),
	    cmocka_unit_test(test_slack_limits),
	    cmocka_unit_test(test_chat_helpers),
	    cmocka_unit_test(test_chat_hostile_values),
	    cmocka_unit_test(test_teams_markdown_is_text),
	    cmocka_unit_test(test_slack_no_unfurl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
