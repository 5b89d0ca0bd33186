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
#include "digest.h"
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

/* A single alert's card: the stage's label, a link to the case, the history in one line. */
static void
test_teams_label_link_history(void **state)
{
	struct delivery_event history[2] = {
	    {"Reminder: IRO", "2026-10-22T08:00:04Z", "jo.iro@council.example", "sent", false},
	    {"Overdue: team manager", "2026-10-30T08:00:02Z", "tm@council.example", "failed", true},
	};
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
	char *cause = NULL, *text, *facts;
	json_t *j, *body, *run;

	d.label = "Overdue: team manager";
	d.case_url = "https://cms.council.example/case/C1042";
	d.history = history;
	d.nhistory = 2;
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	j = fixture_parse_json(text);
	facts = teams_facts(j, &body);
	assert_string_equal(facts, "Case=C1042;Stage=Overdue: team manager;Due=2026-10-29;"
	                           "Days overdue=12;Started=2026-10-01;History=Reminder: IRO "
	                           "2026-10-22 to jo.iro@council.example (sent); Overdue: team "
	                           "manager 2026-10-30 to tm@council.example (failed, copied);");
	/* The case reference's run opens the case. */
	run = json_array_get(json_object_get(json_array_get(body, 2), "inlines"), 1);
	assert_string_equal(json_string_value(json_object_get(run, "text")), "C1042");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(run, "selectAction"), "type")),
	    "Action.OpenUrl");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(run, "selectAction"), "url")),
	    d.case_url);
	free(facts);
	json_decref(j);
	free(text);

	/* A link that is not an http(s) URL is no link. */
	d.case_url = "javascript:alert(1)";
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_null(strstr(text, "selectAction"));
	assert_null(strstr(text, "javascript"));
	free(text);
}

/* A single Slack alert: the label, <case_url|case> with the reference escaped, the history. */
static void
test_slack_label_link_history(void **state)
{
	struct delivery_event history[1] = {
	    {"Reminder: IRO", "2026-10-22T08:00:04Z", "jo.iro@council.example", "sent", false}};
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
	char *cause = NULL, *text;
	json_t *j, *blocks, *f;

	d.label = "Overdue: team manager";
	d.case_ref = "<!channel>*x*";
	d.case_url = "https://cms.council.example/case?id=1&x=2";
	d.history = history;
	d.nhistory = 1;
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	j = fixture_parse_json(text);
	blocks = json_object_get(j, "blocks");
	f = json_object_get(json_array_get(blocks, 1), "fields");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(f, 0), "text")),
	    "*Case*\n<https://cms.council.example/case?id=1&amp;x=2|&lt;!channel&gt;*x*>");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "text")),
	                    "*Stage*\nOverdue: team manager");
	assert_true(json_is_true(json_object_get(json_array_get(f, 0), "verbatim")));
	assert_non_null(strstr(text, "*History*\\nReminder: IRO 2026-10-22 to "
	                             "jo.iro@council.example (sent)"));
	assert_null(strstr(text, "<!channel>"));
	json_decref(j);
	free(text);

	/* A link that would end <url|text> early is no link. */
	d.case_url = "https://cms.council.example/a|<!here>";
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	assert_null(strstr(text, "<https"));
	assert_null(strstr(text, "<!here>"));
	free(text);
}

/* The number of UTF-8 characters in s. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* s starts with the value v as a digest line shows it: whole, or cut to a prefix and "…". */
static void
assert_shown(const char *s, const char *v, const char *what)
{
	const char *ell = strstr(s, "\xe2\x80\xa6");
	size_t n = strlen(v);

	if (strncmp(s, v, n) == 0)
		return;
	/* Cut: what is shown before the "…" is the start of the value. */
	if (ell == NULL || ell == s || strncmp(s, v, (size_t)(ell - s)) != 0)
		fail_msg("%s: \"%.80s\" does not show \"%.80s\"", what, s, v);
}

/* Is item's case_url one a message links to (the fixture's, not a hostile one)? */
static bool
linkable(const struct delivery *it)
{
	return it->case_url != NULL && strpbrk(it->case_url, "|<>") == NULL;
}

/* The "… and N more" note for n items not shown. */
static char *
more_note(size_t n)
{
	return xasprintf("\xe2\x80\xa6 and %zu more not shown here (message size limit)", n);
}

/*
 * Check a Teams digest card: at most max bytes, only RichTextBlocks of
 * TextRuns (links only to the items' case_url), the subject, then section
 * titles and one line per item in reading order, the note for what was left
 * out, the footer. Returns how many items are shown.
 */
static size_t
check_teams_digest(const struct delivery *d, const char *text, size_t max, bool links)
{
	const struct delivery **order = xcalloc(d->nitems + 1, sizeof *order);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	json_t *j = fixture_parse_json(text), *body, *b, *r;
	size_t i, k, at = 1, shown = 0;
	char *subject = digest_subject(d), *tmp;
	int section = -1;

	assert_true(strlen(text) <= max);
	body = json_object_get(
	    json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "content"),
	    "body");
	json_array_foreach(body, i, b)
	{
		assert_string_equal(json_string_value(json_object_get(b, "type")), "RichTextBlock");
		json_array_foreach(json_object_get(b, "inlines"), k, r)
		{
			json_t *a = json_object_get(r, "selectAction");

			assert_string_equal(json_string_value(json_object_get(r, "type")),
			                    "TextRun");
			if (a != NULL) {
				assert_string_equal(json_string_value(json_object_get(a, "type")),
				                    "Action.OpenUrl");
				assert_int_equal(json_object_size(a), 2);
			}
		}
	}
	assert_string_equal(teams_block_text(json_array_get(body, 0)), subject);
	digest_order(d, order, sec);
	for (i = 0; i < d->nitems && at + 1 < json_array_size(body); i++) {
		const struct delivery *it = order[i];
		json_t *runs, *a;

		if ((int)sec[i] != section) {
			section = (int)sec[i];
			assert_string_equal(teams_block_text(json_array_get(body, at)),
			                    digest_section_title(sec[i]));
			at++;
		}
		runs = json_object_get(json_array_get(body, at), "inlines");
		if (strncmp(json_string_value(json_object_get(json_array_get(runs, 0), "text")),
		            "\xe2\x80\xa6 and ", 6) == 0)
			break; /* the note: the rest were left out */
		/* The case, the rest of the line, and "Answer this alert" when it has a link. */
		assert_int_equal(json_array_size(runs), it->response_link != NULL ? 3 : 2);
		if (it->response_link != NULL) {
			json_t *ans = json_array_get(runs, 2);

			assert_string_equal(json_string_value(json_object_get(ans, "text")),
			                    "Answer this alert");
			assert_string_equal(json_string_value(json_object_get(
			                        json_object_get(ans, "selectAction"), "url")),
			                    it->response_link);
		}
		assert_shown(json_string_value(json_object_get(json_array_get(runs, 0), "text")),
		             it->case_ref, "case");
		a = json_object_get(json_array_get(runs, 0), "selectAction");
		if (a != NULL)
			assert_string_equal(json_string_value(json_object_get(a, "url")),
			                    it->case_url);
		else
			assert_false(links && linkable(it));
		tmp = xasprintf(" \xc2\xb7 %s", it->label);
		assert_shown(json_string_value(json_object_get(json_array_get(runs, 1), "text")),
		             tmp, "label");
		free(tmp);
		at++;
		shown++;
		/* Its answers so far in a block of their own under it. */
		if (digest_answers_shown(it) > 0) {
			assert_shown(teams_block_text(json_array_get(body, at)),
			             "Answers so far: ", "answers");
			at++;
		}
	}
	if (shown < d->nitems) {
		tmp = more_note(d->nitems - shown);
		assert_string_equal(teams_block_text(json_array_get(body, at)), tmp);
		free(tmp);
		at++;
	}
	tmp = xasprintf("Digest for %s \xc2\xb7 delivery %s", d->contact, d->uid);
	assert_string_equal(teams_block_text(json_array_get(body, at)), tmp);
	assert_int_equal(at + 1, json_array_size(body));
	free(tmp);
	free(subject);
	free(order);
	free(sec);
	json_decref(j);
	return shown;
}

/*
 * Check a Slack digest: at most max bytes and CHAT_SLACK_BLOCKS_MAX blocks,
 * each section's text within CHAT_SLACK_SECTION_MAX bytes (and Slack's 3,000
 * characters), no '<' but our links' to the items' case_url, the header, then
 * section titles and one "• " line per item in reading order, the note for
 * what was left out, the context. Returns how many items are shown.
 */
static size_t
check_slack_digest(const struct delivery *d, const char *text, size_t max, bool links)
{
	const struct delivery **order = xcalloc(d->nitems + 1, sizeof *order);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	json_t *j = fixture_parse_json(text), *blocks = json_object_get(j, "blocks"), *b;
	char *all = xstrdup(""), *next, *line, *save = NULL, *tmp;
	char *subject = digest_subject(d);
	size_t i, shown = 0, nblocks = json_array_size(blocks);
	int section = -1;

	assert_true(strlen(text) <= max);
	assert_true(nblocks <= CHAT_SLACK_BLOCKS_MAX);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(blocks, 0), "text"), "text")),
	                    subject);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(blocks, nblocks - 1), "type")),
	    "context");
	json_array_foreach(blocks, i, b)
	{
		const char *t =
		    json_string_value(json_object_get(json_object_get(b, "text"), "text"));

		if (i == 0 || i + 1 == nblocks)
			continue;
		assert_string_equal(json_string_value(json_object_get(b, "type")), "section");
		assert_true(json_is_true(json_object_get(json_object_get(b, "text"), "verbatim")));
		assert_true(strlen(t) <= CHAT_SLACK_SECTION_MAX);
		assert_true(utf8_chars(t) <= CHAT_SLACK_TEXT_MAX);
		next = xasprintf("%s%s\n", all, t);
		free(all);
		all = next;
	}
	/* Every '<' opens a link to a case, every '>' closes one. */
	for (const char *p = strchr(all, '<'); p != NULL; p = strchr(p + 1, '<'))
		assert_true(strncmp(p, "<https://", 9) == 0);
	digest_order(d, order, sec);
	line = strtok_r(all, "\n", &save);
	for (i = 0; i < d->nitems && line != NULL; i++) {
		const struct delivery *it = order[i];
		char *ref, *want;

		if ((int)sec[i] != section) {
			section = (int)sec[i];
			tmp = xasprintf("*%s*", digest_section_title(sec[i]));
			assert_string_equal(line, tmp);
			free(tmp);
			line = strtok_r(NULL, "\n", &save);
		}
		if (line == NULL || strncmp(line, "\xe2\x80\xa2 ", 4) != 0)
			break;
		ref = chat_slack_escape(it->case_ref);
		if (strncmp(line + 4, "<https://", 9) == 0) {
			want = xasprintf("<%s|", it->case_url);
			assert_true(strncmp(line + 4, want, strlen(want)) == 0);
			assert_shown(line + 4 + strlen(want), ref, "case");
		} else {
			want = xstrdup("");
			assert_false(links && linkable(it));
			assert_shown(line + 4, ref, "case");
		}
		free(want);
		free(ref);
		/* The answer link ends the line; the answers so far are the next line. */
		if (it->response_link != NULL) {
			want = xasprintf(" \xc2\xb7 <%s|Answer this alert>", it->response_link);
			assert_true(strlen(line) > strlen(want) &&
			            strcmp(line + strlen(line) - strlen(want), want) == 0);
			free(want);
		}
		line = strtok_r(NULL, "\n", &save);
		shown++;
		if (digest_answers_shown(it) > 0) {
			assert_non_null(line);
			assert_shown(line, "        Answers so far: ", "answers");
			line = strtok_r(NULL, "\n", &save);
		}
	}
	if (shown < d->nitems) {
		tmp = more_note(d->nitems - shown);
		assert_non_null(line);
		assert_string_equal(line, tmp);
		free(tmp);
		line = strtok_r(NULL, "\n", &save);
	}
	assert_null(line);
	free(all);
	free(subject);
	free(order);
	free(sec);
	json_decref(j);
	return shown;
}

/* A Teams digest: every item in reading order under its section, links, notes. */
static void
test_teams_digest_shape(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_TEAMS, 12, 0);
	char *cause = NULL, *text = chat_teams_body(d, CHAT_TEAMS_DIGEST_MAX, &cause);

	assert_int_equal(check_teams_digest(d, text, CHAT_TEAMS_DIGEST_MAX, true), 12);
	assert_non_null(strstr(text, "\"Escalated past you\""));
	assert_non_null(strstr(text, " \xc2\xb7 you were not told earlier: escalator first saw "
	                             "this case after 2026-10-30"));
	assert_non_null(strstr(text, " \xc2\xb7 done 2026-11-20 (15 working days late)"));
	assert_non_null(strstr(text, "\"url\":\"https://cms.council.example/case/C1000\""));
	assert_non_null(strstr(text, "12 working days overdue (due 2026-10-29)"));
	free(text);
	delivery_free(d);
}

/* A Slack digest: header, "*Section*" and "• <url|case> · …" lines, context. */
static void
test_slack_digest_shape(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_SLACK, 12, 0);
	char *cause = NULL, *text = chat_slack_body(d, CHAT_SLACK_DIGEST_MAX, &cause);
	json_t *j;

	assert_int_equal(check_slack_digest(d, text, CHAT_SLACK_DIGEST_MAX, true), 12);
	assert_non_null(strstr(text,
	                       "\u2022 <https://cms.council.example/case/C1000|C1000> "
	                       "\u00b7 Escalated: service manager \u00b7 First Child in "
	                       "Care review \u00b7 12 working days overdue (due 2026-10-29)"));
	assert_non_null(strstr(text, "done 2026-11-20 (15 working days late)"));
	assert_non_null(strstr(text, "you were not told earlier: escalator first saw this case "
	                             "after 2026-10-30"));
	j = fixture_parse_json(text);
	assert_true(json_is_false(json_object_get(j, "unfurl_links")));
	json_decref(j);
	free(text);
	delivery_free(d);
}

/* Slack mrkdwn and Teams Markdown in case data stay text: no link, no mention. */
static void
test_digest_escaping(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_SLACK, 6, 0);
	char *cause = NULL, *text;
	json_t *j;

	for (size_t i = 0; i < d->nitems; i++) {
		free(d->items[i]->case_ref);
		d->items[i]->case_ref = xstrdup(i % 2 ? "<!channel>*x*" : "[x](http://evil)");
		free(d->items[i]->title);
		d->items[i]->title = xstrdup("<http://evil|click> & <@U123>");
	}
	/* A case_url that would end <url|text> early is not made a link. */
	free(d->items[1]->case_url);
	d->items[1]->case_url = xstrdup("https://cms.council.example/a|<!here>");
	text = chat_slack_body(d, CHAT_SLACK_DIGEST_MAX, &cause);
	assert_int_equal(check_slack_digest(d, text, CHAT_SLACK_DIGEST_MAX, true), 6);
	assert_null(strstr(text, "<!"));
	assert_null(strstr(text, "<@"));
	assert_null(strstr(text, "<http://"));
	assert_non_null(strstr(text, "|&lt;!channel&gt;*x*>"));
	assert_non_null(strstr(text, "\u2022 &lt;!channel&gt;*x* \u00b7"));
	assert_non_null(strstr(text, "&lt;http://evil|click&gt; &amp; &lt;@U123&gt;"));
	free(text);

	/* Teams: the same values sit in TextRuns, which are never Markdown. */
	d->kind = CHANNEL_TEAMS;
	text = chat_teams_body(d, CHAT_TEAMS_DIGEST_MAX, &cause);
	assert_int_equal(check_teams_digest(d, text, CHAT_TEAMS_DIGEST_MAX, true), 6);
	assert_non_null(strstr(text, "\"text\":\"[x](http://evil)\""));
	assert_null(strstr(text, "\"url\":\"http://evil"));
	j = fixture_parse_json(text);
	json_decref(j);
	free(text);
	delivery_free(d);
}

/* Set every item's case reference, title and label to len bytes of c. */
static void
fill_items(struct delivery *d, char c, size_t len)
{
	for (size_t i = 0; i < d->nitems; i++) {
		char **v[] = {&d->items[i]->case_ref, &d->items[i]->title, &d->items[i]->label,
		              &d->items[i]->status};

		for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
			free(*v[k]);
			*v[k] = xmalloc(len + 1);
			memset(*v[k], c, len);
			(*v[k])[len] = '\0';
		}
	}
}

/*
 * The limits at notifier_digest_limit items of 2,000-byte values: every item
 * shown, the body well under the limit; then values that grow when escaped
 * (Slack's '&', JSON's '"') and far more items than the limit: cut and
 * shortened, never over the limits.
 */
static void
test_digest_limits(void **state)
{
	static const enum channel kinds[] = {CHANNEL_TEAMS, CHANNEL_SLACK};

	for (size_t k = 0; k < 2; k++) {
		enum channel ch = kinds[k];
		size_t limit = (size_t)notifier_digest_limit(ch), n;
		size_t max = ch == CHANNEL_TEAMS ? CHAT_TEAMS_DIGEST_MAX : CHAT_SLACK_DIGEST_MAX;
		struct delivery *d = fixture_digest(ch, limit, 2000);
		char *cause = NULL, *text;
		json_t *j;

		text = ch == CHANNEL_TEAMS ? chat_teams_body(d, max, &cause)
		                           : chat_slack_body(d, max, &cause);
		n = ch == CHANNEL_TEAMS ? check_teams_digest(d, text, max, true)
		                        : check_slack_digest(d, text, max, true);
		assert_int_equal(n, limit);
		j = fixture_parse_json(text);
		print_message("%s digest: %zu items of 2,000-byte values: %zu bytes, %zu blocks\n",
		              ch == CHANNEL_TEAMS ? "Teams" : "Slack", limit, strlen(text),
		              ch == CHANNEL_SLACK ? json_array_size(json_object_get(j, "blocks"))
		                                  : (size_t)0);
		/* Room to spare: under 80% of the receiver's own limit. */
		assert_true(strlen(text) <
		            (ch == CHANNEL_TEAMS ? CHAT_TEAMS_MAX : CHAT_SLACK_MAX) * 8 / 10);
		if (ch == CHANNEL_SLACK)
			assert_true(json_array_size(json_object_get(j, "blocks")) <= 20);
		json_decref(j);
		free(text);

		/* Values that double (Teams) or grow fivefold (Slack) when escaped. */
		fill_items(d, ch == CHANNEL_TEAMS ? '"' : '&', 2000);
		text = ch == CHANNEL_TEAMS ? chat_teams_body(d, max, &cause)
		                           : chat_slack_body(d, max, &cause);
		n = ch == CHANNEL_TEAMS ? check_teams_digest(d, text, max, false)
		                        : check_slack_digest(d, text, max, false);
		assert_int_equal(n, limit);
		free(text);
		delivery_free(d);

		/* Far more than fits: trailing lines left out, "… and N more" says how many. */
		d = fixture_digest(ch, 400, 2000);
		text = ch == CHANNEL_TEAMS ? chat_teams_body(d, max, &cause)
		                           : chat_slack_body(d, max, &cause);
		n = ch == CHANNEL_TEAMS ? check_teams_digest(d, text, max, false)
		                        : check_slack_digest(d, text, max, false);
		assert_true(n > 0 && n < 400);
		free(text);
		delivery_free(d);
	}
}

/* Give every alert item of d (not a notice or a closed clock) its link and fixture_answers. */
static void
answer_items(struct delivery *d)
{
	for (size_t i = 0; i < d->nitems; i++) {
		char *link = xasprintf("%s%zu", FIXTURE_LINK, i);

		if (!d->items[i]->notice && !d->items[i]->closed)
			fixture_answers(d->items[i], link);
		free(link);
	}
}

/* Chat carries who answered, what and when, never a reason, a note or an amended answer. */
static void
assert_no_private_text(const char *text)
{
	assert_null(strstr(text, FIXTURE_NOTE));
	assert_null(strstr(text, FIXTURE_REASON));
	assert_null(strstr(text, FIXTURE_AMENDED_NOTE));
	assert_null(strstr(text, "Review booked"));
	assert_null(strstr(text, "acknowledged"));
}

/* The short answers of fixture_answers, as chat shows them. */
#define SHORT_ANSWERS                                                                              \
	"Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): action agreed for Mon 14 Dec "  \
	"2026; sm.north@council.example answered on 4 Dec 2026 (Escalated: service manager): "     \
	"disagrees"

/*
 * A single Teams alert: an "Answer this alert" button (Action.OpenUrl to the
 * link) and the answers so far as a fact; hostile names stay text; a link that
 * is not an http(s) URL is no button.
 */
static void
test_teams_answers(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_TEAMS);
	char *cause = NULL, *text, *facts;
	json_t *j, *body, *card, *act;

	fixture_answers(&d, FIXTURE_LINK);
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	j = fixture_parse_json(text);
	facts = teams_facts(j, &body);
	assert_teams_plain(body);
	assert_string_equal(facts, "Case=C1042;Stage=overdue;Due=2026-10-29;Days overdue=12;"
	                           "Started=2026-10-01;Answers so far=" SHORT_ANSWERS ";");
	card = json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "content");
	assert_int_equal(json_array_size(json_object_get(card, "actions")), 1);
	act = json_array_get(json_object_get(card, "actions"), 0);
	assert_string_equal(json_string_value(json_object_get(act, "type")), "Action.OpenUrl");
	assert_string_equal(json_string_value(json_object_get(act, "title")), "Answer this alert");
	assert_string_equal(json_string_value(json_object_get(act, "url")), FIXTURE_LINK);
	assert_no_private_text(text);
	free(facts);
	json_decref(j);
	free(text);

	/* Markdown in a name is text in a TextRun; a bad link makes no button. */
	free(d.responses[1].who);
	d.responses[1].who = xstrdup("[click](https://evil.example) **Jo**\r\n<at>x</at>");
	free(d.response_link);
	d.response_link = xstrdup("javascript:alert(1)");
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	j = fixture_parse_json(text);
	facts = teams_facts(j, &body);
	assert_teams_plain(body);
	assert_non_null(strstr(facts, "Answers so far=[click](https://evil.example) **Jo** "
	                              "<at>x</at> answered on 3 Dec 2026"));
	assert_null(strstr(text, "\"actions\""));
	assert_null(strstr(text, "javascript"));
	free(facts);
	json_decref(j);
	free(text);

	/* No answers, no link: neither the fact nor the button. */
	fixture_answers_clear(&d);
	text = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
	assert_null(strstr(text, "Answer"));
	free(text);
}

/*
 * A single Slack alert: a section "*<link|Answer this alert>*" and "*Answers so
 * far*" with the short answers escaped as mrkdwn; no mention from a name.
 */
static void
test_slack_answers(void **state)
{
	struct delivery d = fixture_delivery(CHANNEL_SLACK);
	char *cause = NULL, *text;
	json_t *j, *blocks, *b;
	size_t i, link = 0, answers = 0;

	fixture_answers(&d, FIXTURE_LINK);
	free(d.responses[2].who);
	d.responses[2].who = xstrdup("<!channel> & <@U123>");
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	j = fixture_parse_json(text);
	blocks = json_object_get(j, "blocks");
	json_array_foreach(blocks, i, b)
	{
		const char *t =
		    json_string_value(json_object_get(json_object_get(b, "text"), "text"));

		if (t != NULL && strcmp(t, "*<" FIXTURE_LINK "|Answer this alert>*") == 0)
			link++;
		if (t != NULL && strncmp(t, "*Answers so far*\n", 17) == 0) {
			assert_string_equal(
			    t + 17, "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): "
			            "action agreed for Mon 14 Dec 2026; &lt;!channel&gt; &amp; "
			            "&lt;@U123&gt; answered on 4 Dec 2026 (Escalated: service "
			            "manager): disagrees");
			assert_true(
			    json_is_true(json_object_get(json_object_get(b, "text"), "verbatim")));
			answers++;
		}
	}
	assert_int_equal(link, 1);
	assert_int_equal(answers, 1);
	assert_null(strstr(text, "<!channel>"));
	assert_null(strstr(text, "<@U123>"));
	assert_no_private_text(text);
	json_decref(j);
	free(text);

	/* A link that would end <url|text> early is no link. */
	free(d.response_link);
	d.response_link = xstrdup("https://escalator.council.example/r/x|<!here>");
	text = chat_slack_body(&d, CHAT_SLACK_MAX, &cause);
	assert_null(strstr(text, "Answer this alert"));
	assert_null(strstr(text, "<!here>"));
	free(text);

	/* Nor is one with a byte past ASCII (not UTF-8: JSON could not carry it), here or in
	 * the case link (fuzz_chat_payload once found a field without its text). */
	free(d.response_link);
	d.response_link = xstrdup("https://escalator.council.example/r/\xf7\xf7");
	d.case_url = "https://cms.council.exam\xf7\xf7ple/case/C1042";
	for (int k = 0; k < 2; k++) {
		text = k == 0 ? chat_slack_body(&d, CHAT_SLACK_MAX, &cause)
		              : chat_teams_body(&d, CHAT_TEAMS_MAX, &cause);
		j = fixture_parse_json(text);
		assert_null(strstr(text, "Answer this alert"));
		assert_null(strstr(text, "cms.council.exam"));
		assert_non_null(strstr(text, k == 0 ? "*Case*\\nC1042" : "\"text\":\"C1042\""));
		json_decref(j);
		free(text);
	}
	fixture_answers_clear(&d);
}

/* Teams and Slack digests: each item's own link and its answers, nothing private. */
static void
test_digest_answers(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_TEAMS, 12, 0);
	char *cause = NULL, *text;

	answer_items(d);
	free(d->items[0]->responses[1].who);
	d->items[0]->responses[1].who = xstrdup("<!channel> [x](http://evil)");
	text = chat_teams_body(d, CHAT_TEAMS_DIGEST_MAX, &cause);
	assert_int_equal(check_teams_digest(d, text, CHAT_TEAMS_DIGEST_MAX, true), 12);
	assert_non_null(strstr(text, "\"url\":\"" FIXTURE_LINK "0\""));
	assert_non_null(strstr(text, "\"text\":\"Answers so far: " SHORT_ANSWERS "\""));
	assert_non_null(strstr(text, "Answers so far: <!channel> [x](http://evil) answered"));
	assert_null(strstr(text, "\"url\":\"http://evil"));
	assert_no_private_text(text);
	free(text);

	d->kind = CHANNEL_SLACK;
	text = chat_slack_body(d, CHAT_SLACK_DIGEST_MAX, &cause);
	assert_int_equal(check_slack_digest(d, text, CHAT_SLACK_DIGEST_MAX, true), 12);
	assert_non_null(strstr(text, " \u00b7 <" FIXTURE_LINK "1|Answer this alert>\\n"
	                             "        Answers so far: " SHORT_ANSWERS));
	assert_non_null(strstr(text, "&lt;!channel&gt; [x](http://evil) answered"));
	assert_null(strstr(text, "<!channel>"));
	assert_no_private_text(text);
	free(text);
	delivery_free(d);

	/* At each channel's limit of items, every item still shown with its link and answers. */
	for (int k = 0; k < 2; k++) {
		enum channel ch = k == 0 ? CHANNEL_TEAMS : CHANNEL_SLACK;
		size_t limit = (size_t)notifier_digest_limit(ch);
		size_t max = ch == CHANNEL_TEAMS ? CHAT_TEAMS_DIGEST_MAX : CHAT_SLACK_DIGEST_MAX;

		d = fixture_digest(ch, limit, 0);
		answer_items(d);
		text = ch == CHANNEL_TEAMS ? chat_teams_body(d, max, &cause)
		                           : chat_slack_body(d, max, &cause);
		assert_int_equal(ch == CHANNEL_TEAMS ? check_teams_digest(d, text, max, true)
		                                     : check_slack_digest(d, text, max, true),
		                 limit);
		free(text);
		/* 2,000-byte values: cut and shortened, never over the limit, links kept. */
		fill_items(d, ch == CHANNEL_TEAMS ? '"' : '&', 2000);
		text = ch == CHANNEL_TEAMS ? chat_teams_body(d, max, &cause)
		                           : chat_slack_body(d, max, &cause);
		print_message("%s digest with answers: %zu items of 2,000-byte values: %zu items "
		              "shown, %zu bytes\n",
		              ch == CHANNEL_TEAMS ? "Teams" : "Slack", limit,
		              ch == CHANNEL_TEAMS ? check_teams_digest(d, text, max, false)
		                                  : check_slack_digest(d, text, max, false),
		              strlen(text));
		free(text);
		delivery_free(d);
	}
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
	    cmocka_unit_test(test_teams_label_link_history),
	    cmocka_unit_test(test_slack_label_link_history),
	    cmocka_unit_test(test_teams_digest_shape),
	    cmocka_unit_test(test_slack_digest_shape),
	    cmocka_unit_test(test_digest_escaping),
	    cmocka_unit_test(test_digest_limits),
	    cmocka_unit_test(test_teams_answers),
	    cmocka_unit_test(test_slack_answers),
	    cmocka_unit_test(test_digest_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
