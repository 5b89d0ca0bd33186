/*
 * fuzz_chat_payload.c - the request bodies notifiers/chat.c builds for Teams
 * (an Adaptive Card) and Slack (Block Kit), and notifiers/govuk_notify.c for
 * GOV.UK Notify, from a delivery whose every value comes from the case store.
 *
 * Input: case_ref, rule, title, stage, start, due, fires, uid, status,
 * expected, fields (JSON text), a size limit (decimal), label, case_url,
 * the answer link, an answer's name and its note (and reason), separated by
 * NUL bytes. A part that is exactly "\x7f" (or missing) is NULL.
 * A hash of the input gives days_late, the history, and a digest of up to 47
 * items made of the same values (fuzz_digest.h).
 *
 * Checked, for each body: it is valid UTF-8 without raw control characters,
 * parses back as one JSON object (jansson, duplicates refused), and has the
 * shape the channel expects: only the member names escalator writes (a data
 * value never becomes a key or a block), one-line values (Slack's "*label*\n
 * value" texts have exactly that one line break), the number of facts or
 * fields the delivery calls for. Within the channel's size limit; Slack's
 * mrkdwn never holds a raw '<', '>' or a bare '&' (no links, mentions or
 * @channel from data) and keeps within Block Kit's limits (blocks, fields per
 * section, text lengths). Notify's personalisation values are all strings,
 * the built-in ones never replaced by a field. A digest's Teams card, Slack
 * message and Notify body always parse and stay within their digest limits
 * (bytes, blocks, section text); Slack's only '<' open links to http(s) URLs;
 * Notify's lines are only our headings and bullets, with no Markdown link or
 * "://" from the values.
 *
 * Answers: a body is the same whatever the answers' reasons and notes say and
 * whatever amended answers there are (chat and Notify never carry them); a
 * Teams card's only action opens the answer link, and the answers so far are
 * one more fact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat.h"
#include "digest.h"
#include "fuzz_common.h"
#include "fuzz_digest.h"
#include "govuk_notify.h"

enum {
	P_CASE,
	P_RULE,
	P_TITLE,
	P_STAGE,
	P_START,
	P_DUE,
	P_FIRES,
	P_UID,
	P_STATUS,
	P_EXPECTED,
	P_FIELDS,
	P_MAX,
	P_LABEL,
	P_URL,
	P_ANSWER_URL,
	P_WHO,
	P_NOTE,
	NPARTS
};

/*
 * Check Slack's text length limits on the text as sent (seeds amp-expected and
 * many-long-fields once gave 5 x the limit: chat.c cut before escaping).
 */
#ifndef CHECK_SLACK_TEXT_LIMITS
#define CHECK_SLACK_TEXT_LIMITS 1
#endif

/* Member names escalator writes in a Teams or Slack body; anything else came from data. */
static const char *const known_keys[] = {
    /* Teams */
    "type", "attachments", "contentType", "contentUrl", "content", "$schema", "version", "body",
    "text", "inlines", "weight", "size", "color", "isSubtle", "selectAction", "url", "actions",
    "title",
    /* Slack */
    "blocks", "emoji", "fields", "elements", "unfurl_links", "unfurl_media", "verbatim", NULL};

/* Characters (code points) in valid UTF-8 s. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Every member name in j (recursively) is a known one; every string is one clean line. */
static void
check_tree(json_t *j, size_t max_newlines)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
		{
			size_t k = 0;

			while (known_keys[k] != NULL && strcmp(known_keys[k], key) != 0)
				k++;
			FUZZ_CHECK(known_keys[k] != NULL, "unexpected member \"%s\"", key);
			check_tree(v, max_newlines);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) check_tree(v, max_newlines);
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t newlines = 0;

		FUZZ_CHECK(strlen(s) == json_string_length(j), "NUL inside a string");
		FUZZ_CHECK(fuzz_valid_utf8(s), "string is not valid UTF-8");
		for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
			if (*p == '\n') {
				newlines++;
				continue;
			}
			FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "control 0x%02x in \"%s\"", *p, s);
			FUZZ_CHECK(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f),
			           "C1 control in \"%s\"", s);
		}
		FUZZ_CHECK(newlines <= max_newlines, "%zu line breaks in \"%s\"", newlines, s);
	}
}

/* A body as sent: valid UTF-8, no raw controls, one JSON object. */
static json_t *
parse_body(const char *what, const char *body)
{
	json_error_t err;
	json_t *root;

	FUZZ_CHECK(fuzz_valid_utf8(body), "%s body is not valid UTF-8", what);
	for (const unsigned char *p = (const unsigned char *)body; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20, "raw control 0x%02x in the %s body", *p, what);
	root = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	FUZZ_CHECK(root != NULL && json_is_object(root), "%s body does not parse back: %s", what,
	           root == NULL ? err.text : "not an object");
	return root;
}

/* The member key of j, which must be a string; its value. */
static const char *
str_member(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	FUZZ_CHECK(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

/*
 * The Teams card: message -> one adaptive card -> RichTextBlocks of TextRuns only
 * (never Markdown): facts are blocks of two runs ("name: ", value), the title, the
 * status line, what is expected and the footer blocks of one run.
 */
static void
check_teams(const struct delivery *d, size_t nfields, const char *body, size_t max)
{
	json_t *root = parse_body("Teams", body), *att, *card, *blocks, *b, *acts;
	size_t i, facts = 0, texts = 0,
	          want = 4 + (d->start != NULL) + (d->nhistory > 0) + (digest_answers_shown(d) > 0);

	if (max == CHAT_TEAMS_MAX)
		FUZZ_CHECK(strlen(body) <= max, "Teams body of %zu bytes", strlen(body));
	check_tree(root, 0);
	FUZZ_CHECK(strcmp(str_member(root, "type"), "message") == 0, "Teams type");
	att = json_object_get(root, "attachments");
	FUZZ_CHECK(json_is_array(att) && json_array_size(att) == 1, "Teams attachments");
	att = json_array_get(att, 0);
	FUZZ_CHECK(
	    strcmp(str_member(att, "contentType"), "application/vnd.microsoft.card.adaptive") == 0,
	    "Teams contentType");
	card = json_object_get(att, "content");
	FUZZ_CHECK(strcmp(str_member(card, "type"), "AdaptiveCard") == 0, "card type");
	blocks = json_object_get(card, "body");
	FUZZ_CHECK(json_is_array(blocks), "card body");
	if ((acts = json_object_get(card, "actions")) != NULL) {
		json_t *a = json_array_get(acts, 0);
		const char *url = str_member(a, "url");

		FUZZ_CHECK(json_array_size(acts) == 1, "%zu card actions", json_array_size(acts));
		FUZZ_CHECK(strcmp(str_member(a, "type"), "Action.OpenUrl") == 0, "card action");
		FUZZ_CHECK(d->response_link != NULL && strcmp(url, d->response_link) == 0,
		           "a card action to \"%s\", not the answer link", url);
		FUZZ_CHECK(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0,
		           "an answer link to \"%s\"", url);
	}
	json_array_foreach(blocks, i, b)
	{
		json_t *runs = json_object_get(b, "inlines"), *r;
		size_t k;

		FUZZ_CHECK(strcmp(str_member(b, "type"), "RichTextBlock") == 0,
		           "card block of type %s", str_member(b, "type"));
		FUZZ_CHECK(json_is_array(runs) &&
		               (json_array_size(runs) == 1 || json_array_size(runs) == 2),
		           "a block of %zu runs", json_array_size(runs));
		json_array_foreach(runs, k, r)
		{
			FUZZ_CHECK(strcmp(str_member(r, "type"), "TextRun") == 0,
			           "inline of type %s", str_member(r, "type"));
			(void)str_member(r, "text");
		}
		if (json_array_size(runs) == 2)
			facts++;
		else
			texts++;
	}
	/* The fixed facts, the fields that fit, and one saying how many did not. */
	FUZZ_CHECK(facts >= want && facts <= want + nfields + 1, "%zu facts for %zu fields", facts,
	           nfields);
	FUZZ_CHECK(nfields > 0 || facts == want, "%zu facts", facts);
	FUZZ_CHECK(texts == 3 + (d->expected != NULL && *d->expected != '\0'), "%zu text blocks",
	           texts);
	json_decref(root);
}

/*
 * Slack mrkdwn s: every '&' an entity escalator wrote, no raw '<' or '>' but
 * a link's "<http...|text>" (the URL without spaces, '<', '>' or '|').
 */
static void
check_mrkdwn(const char *s)
{
	for (const char *p = strchr(s, '&'); p != NULL; p = strchr(p + 1, '&'))
		FUZZ_CHECK(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
		               strncmp(p, "&gt;", 4) == 0,
		           "bare '&' in Slack mrkdwn \"%s\"", s);
	for (const char *p = s; *p != '\0'; p++) {
		size_t url, text;

		FUZZ_CHECK(*p != '>', "raw '>' in Slack mrkdwn \"%s\"", s);
		if (*p != '<')
			continue;
		FUZZ_CHECK(strncmp(p, "<http://", 8) == 0 || strncmp(p, "<https://", 9) == 0,
		           "'<' that opens no link in Slack mrkdwn \"%s\"", s);
		url = strcspn(p + 1, " <>|");
		FUZZ_CHECK(p[1 + url] == '|', "a link's URL ends at 0x%02x in \"%s\"",
		           (unsigned char)p[1 + url], s);
		text = strcspn(p + 2 + url, "<>");
		FUZZ_CHECK(p[2 + url + text] == '>', "a link's text is not closed in \"%s\"", s);
		p += 2 + url + text;
	}
}

/* A Slack text object: mrkdwn (checked as such) or plain_text, at most max characters. */
static void
check_slack_text(json_t *t, size_t max)
{
	const char *type = str_member(t, "type"), *text = str_member(t, "text");

	FUZZ_CHECK(strcmp(type, "mrkdwn") == 0 || strcmp(type, "plain_text") == 0,
	           "text object of type %s", type);
	if (strcmp(type, "mrkdwn") == 0)
		check_mrkdwn(text);
	if (CHECK_SLACK_TEXT_LIMITS)
		FUZZ_CHECK(utf8_chars(text) <= max, "Slack %s text of %zu characters (limit %zu)",
		           type, utf8_chars(text), max);
}

/* The Slack message: text, then header, sections, context blocks within Block Kit's limits. */
static void
check_slack(const struct delivery *d, size_t nfields, const char *body, size_t max)
{
	json_t *root = parse_body("Slack", body), *blocks, *b;
	size_t i, nfield_items = 0;

	if (max == CHAT_SLACK_MAX)
		FUZZ_CHECK(strlen(body) <= max, "Slack body of %zu bytes", strlen(body));
	check_tree(root, 1);
	check_mrkdwn(str_member(root, "text"));
	FUZZ_CHECK(strchr(str_member(root, "text"), '\n') == NULL, "line break in Slack text");
	blocks = json_object_get(root, "blocks");
	FUZZ_CHECK(json_is_array(blocks) && json_array_size(blocks) >= 3 &&
	               json_array_size(blocks) <= CHAT_SLACK_BLOCKS_MAX,
	           "%zu Slack blocks", json_array_size(blocks));
	json_array_foreach(blocks, i, b)
	{
		const char *type = str_member(b, "type");
		json_t *t, *f;
		size_t k;

		if (strcmp(type, "header") == 0) {
			FUZZ_CHECK(i == 0, "header block at %zu", i);
			t = json_object_get(b, "text");
			FUZZ_CHECK(strcmp(str_member(t, "type"), "plain_text") == 0, "header type");
			check_slack_text(t, CHAT_SLACK_HEADER_MAX);
		} else if (strcmp(type, "section") == 0) {
			f = json_object_get(b, "fields");
			if (f != NULL) {
				FUZZ_CHECK(json_is_array(f) && json_array_size(f) >= 1 &&
				               json_array_size(f) <= CHAT_SLACK_FIELDS_PER_SECTION,
				           "section with %zu fields", json_array_size(f));
				json_array_foreach(f, k, t)
				    check_slack_text(t, CHAT_SLACK_FIELD_MAX);
				if (i > 1)
					nfield_items += json_array_size(f);
			} else {
				FUZZ_CHECK((d->expected != NULL && *d->expected != '\0') ||
				               d->nhistory > 0 || d->response_link != NULL ||
				               digest_answers_shown(d) > 0,
				           "text section without an expected, a history, an answer "
				           "link or answers");
				check_slack_text(json_object_get(b, "text"), CHAT_SLACK_TEXT_MAX);
			}
		} else if (strcmp(type, "context") == 0) {
			FUZZ_CHECK(i + 1 == json_array_size(blocks), "context block at %zu", i);
			json_array_foreach(json_object_get(b, "elements"), k, t)
			    check_slack_text(t, CHAT_SLACK_TEXT_MAX);
		} else {
			FUZZ_CHECK(0, "Slack block of type %s", type);
		}
	}
	FUZZ_CHECK(nfield_items <= nfields, "%zu field items for %zu fields", nfield_items,
	           nfields);
	json_decref(root);
}

/* The Notify body: every personalisation value a string, the built-in ones as built. */
static void
check_notify(const struct delivery *d, const char *body)
{
	static const char *const builtin[] = {
	    "rule",     "title", "case",   "stage",    "start",      "due",    "days_overdue",
	    "expected", "label", "status", "case_url", "answer_url", "answers"};
	json_t *root = parse_body("Notify", body), *pers = json_object_get(root, "personalisation");
	const char *key;
	json_t *v;
	char late[16];

	FUZZ_CHECK(json_is_object(pers), "no personalisation");
	FUZZ_CHECK(json_object_size(root) == 4, "Notify body with %zu members",
	           json_object_size(root));
	json_object_foreach(pers, key, v)
	    FUZZ_CHECK(json_is_string(v), "\"%s\" is not a string", key);
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		FUZZ_CHECK(json_is_string(json_object_get(pers, builtin[i])), "\"%s\" missing",
		           builtin[i]);
	snprintf(late, sizeof late, "%d", d->days_late);
	FUZZ_CHECK(strcmp(str_member(pers, "days_overdue"), late) == 0,
	           "days_overdue replaced by a field");
	FUZZ_CHECK(json_object_size(pers) <= 13 + (d->fields ? json_object_size(d->fields) : 0),
	           "%zu personalisation values", json_object_size(pers));
	json_decref(root);
}

/* A digest's Teams card: RichTextBlocks of TextRuns, links only to http(s) URLs. */
static void
check_teams_digest(const char *body, size_t max)
{
	json_t *root = parse_body("Teams digest", body), *blocks, *b;
	size_t i;

	FUZZ_CHECK(strlen(body) <= max, "Teams digest of %zu bytes", strlen(body));
	check_tree(root, 0);
	blocks = json_object_get(
	    json_object_get(json_array_get(json_object_get(root, "attachments"), 0), "content"),
	    "body");
	FUZZ_CHECK(json_array_size(blocks) >= 2, "Teams digest of %zu blocks",
	           json_array_size(blocks));
	json_array_foreach(blocks, i, b)
	{
		json_t *r, *a;
		size_t k;

		FUZZ_CHECK(strcmp(str_member(b, "type"), "RichTextBlock") == 0, "digest block");
		json_array_foreach(json_object_get(b, "inlines"), k, r)
		{
			FUZZ_CHECK(strcmp(str_member(r, "type"), "TextRun") == 0, "digest run");
			(void)str_member(r, "text");
			if ((a = json_object_get(r, "selectAction")) != NULL) {
				const char *url = str_member(a, "url");

				FUZZ_CHECK(strcmp(str_member(a, "type"), "Action.OpenUrl") == 0,
				           "action");
				FUZZ_CHECK(strncmp(url, "http://", 7) == 0 ||
				               strncmp(url, "https://", 8) == 0,
				           "a link to \"%s\"", url);
			}
		}
	}
	json_decref(root);
}

/* A digest's Slack message: within the bytes, blocks and section text, mrkdwn checked. */
static void
check_slack_digest(const char *body, size_t max)
{
	json_t *root = parse_body("Slack digest", body), *blocks, *b;
	size_t i, n;

	FUZZ_CHECK(strlen(body) <= max, "Slack digest of %zu bytes", strlen(body));
	check_tree(root, SIZE_MAX);
	check_mrkdwn(str_member(root, "text"));
	blocks = json_object_get(root, "blocks");
	n = json_array_size(blocks);
	FUZZ_CHECK(n >= 2 && n <= CHAT_SLACK_BLOCKS_MAX, "%zu Slack digest blocks", n);
	json_array_foreach(blocks, i, b)
	{
		const char *type = str_member(b, "type");
		json_t *t = json_object_get(b, "text");

		if (i == 0) {
			FUZZ_CHECK(strcmp(type, "header") == 0, "first block %s", type);
			check_slack_text(t, CHAT_SLACK_HEADER_MAX);
		} else if (i + 1 == n) {
			FUZZ_CHECK(strcmp(type, "context") == 0, "last block %s", type);
			check_slack_text(json_array_get(json_object_get(b, "elements"), 0),
			                 CHAT_SLACK_TEXT_MAX);
		} else {
			FUZZ_CHECK(strcmp(type, "section") == 0, "digest block %s", type);
			check_slack_text(t, CHAT_SLACK_TEXT_MAX);
			FUZZ_CHECK(strlen(str_member(t, "text")) <= CHAT_SLACK_SECTION_MAX,
			           "section text of %zu bytes", strlen(str_member(t, "text")));
		}
	}
	json_decref(root);
}

/*
 * A digest's Notify request: five string values; the body within its limit,
 * of our headings, bullets and note only, with no Markdown link or "://" but
 * the case and answer links ("Open the case: <url>", "Answer this alert:
 * <url>" ending a bullet).
 */
static void
check_notify_digest(const char *body)
{
	json_t *root = parse_body("Notify digest", body),
	       *pers = json_object_get(root, "personalisation");
	const char *key, *text;
	json_t *v;
	char *copy, *line, *save = NULL;

	FUZZ_CHECK(json_object_size(pers) == 5, "%zu digest personalisation values",
	           json_object_size(pers));
	json_object_foreach(pers, key, v)
	    FUZZ_CHECK(json_is_string(v), "\"%s\" is not a string", key);
	text = str_member(pers, "body");
	FUZZ_CHECK(strlen(text) <= GOVUK_DIGEST_BODY_MAX, "Notify body of %zu bytes", strlen(text));
	copy = strdup(text);
	FUZZ_CHECK(copy != NULL, "strdup");
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		/* Our links end a bullet: the answer link last, the case link before it. */
		static const char *const tails[] = {". Answer this alert: ", ". Open the case: "};

		for (size_t t = 0; t < 2; t++) {
			char *link = NULL;

			for (char *p = strstr(line, tails[t]); p != NULL;
			     p = strstr(p + 1, tails[t]))
				link = p;
			if (link != NULL && strchr(link + strlen(tails[t]), ' ') == NULL)
				*link = '\0';
		}
		FUZZ_CHECK(strncmp(line, "# ", 2) == 0 || strncmp(line, "* ", 2) == 0 ||
		               strncmp(line, "\xe2\x80\xa6 and ", 8) == 0,
		           "Notify body line \"%s\"", line);
		FUZZ_CHECK(strstr(line, "://") == NULL && strchr(line, '[') == NULL,
		           "a link from data in \"%s\"", line);
	}
	free(copy);
	json_decref(root);
}

/*
 * d's answers as a message may use them: amended ones left out, the rest
 * without reason and note (borrowed strings). Puts them in d, the originals in
 * *saved and *nsaved (give them back with unstrip).
 */
static void
strip(struct delivery *d, struct delivery_response **saved, size_t *nsaved)
{
	struct delivery_response *r = calloc(d->nresponses + 1, sizeof *r);
	size_t n = 0;

	FUZZ_CHECK(r != NULL, "calloc");
	for (size_t i = 0; i < d->nresponses; i++) {
		if (d->responses[i].amended)
			continue;
		r[n] = d->responses[i];
		r[n].reason = r[n].note = NULL;
		n++;
	}
	*saved = d->responses;
	*nsaved = d->nresponses;
	d->responses = r;
	d->nresponses = n;
}

/* Give d back the answers strip took. */
static void
unstrip(struct delivery *d, struct delivery_response *saved, size_t nsaved)
{
	free(d->responses);
	d->responses = saved;
	d->nresponses = nsaved;
}

/* body equals what build makes of d with its answers stripped (or of each item's, a digest). */
static void
check_private(struct delivery *d, const char *what, const char *body,
              char *(*build)(const struct delivery *, size_t, char **), size_t max)
{
	struct delivery_response **saved = calloc(d->nitems + 1, sizeof *saved);
	size_t *nsaved = calloc(d->nitems + 1, sizeof *nsaved);
	char *again, *cause = NULL;

	FUZZ_CHECK(saved != NULL && nsaved != NULL, "calloc");
	if (d->digest)
		for (size_t i = 0; i < d->nitems; i++)
			strip(d->items[i], &saved[i], &nsaved[i]);
	else
		strip(d, &saved[0], &nsaved[0]);
	again = build(d, max, &cause);
	FUZZ_CHECK(again != NULL && strcmp(again, body) == 0,
	           "the %s body changes with a reason, a note or an amended answer", what);
	free(again);
	if (d->digest)
		for (size_t i = 0; i < d->nitems; i++)
			unstrip(d->items[i], saved[i], nsaved[i]);
	else
		unstrip(d, saved[0], nsaved[0]);
	free(saved);
	free(nsaved);
}

/* govuk_build_body in check_private's shape. */
static char *
notify_build(const struct delivery *d, size_t max, char **cause)
{
	(void)max;
	return govuk_build_body(d, cause);
}

/* A digest of the input's values in every channel's form. */
static void
check_digests(const char *const *v, json_t *fields, size_t max, uint64_t *rng)
{
	/* Mostly a few items (fast); one input in eight up to 47, past Teams' and Slack's limits.
	 */
	size_t n = fuzz_next(rng) % 8 == 0 ? fuzz_next(rng) % 48 : fuzz_next(rng) % 8;
	struct delivery *d = fuzz_digest(CHANNEL_TEAMS, v[P_UID], v, NPARTS, fields, n, rng);
	char *body, *cause = NULL;

	FUZZ_CHECK((body = chat_teams_body(d, CHAT_TEAMS_DIGEST_MAX, &cause)) != NULL, "Teams");
	check_teams_digest(body, CHAT_TEAMS_DIGEST_MAX);
	check_private(d, "Teams digest", body, chat_teams_body, CHAT_TEAMS_DIGEST_MAX);
	free(body);
	d->kind = CHANNEL_SLACK;
	FUZZ_CHECK((body = chat_slack_body(d, CHAT_SLACK_DIGEST_MAX, &cause)) != NULL, "Slack");
	check_slack_digest(body, CHAT_SLACK_DIGEST_MAX);
	check_private(d, "Slack digest", body, chat_slack_body, CHAT_SLACK_DIGEST_MAX);
	free(body);
	if (max > 0) {
		/* A tighter limit: fewer lines, down to none (then the header and footer alone). */
		body = chat_slack_digest(d, max);
		json_decref(parse_body("Slack digest", body));
		free(body);
		body = chat_teams_digest(d, max);
		json_decref(parse_body("Teams digest", body));
		free(body);
	}
	d->kind = CHANNEL_GOVUK_NOTIFY;
	d->template_id = strdup("f33517ff-2a88-4f6e-b855-c550268ce08a");
	FUZZ_CHECK((body = govuk_build_body(d, &cause)) != NULL, "Notify");
	check_notify_digest(body);
	check_private(d, "Notify digest", body, notify_build, 0);
	free(body);
	delivery_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS];
	const char *v[NPARTS];
	size_t nparts, nfields, max;
	char *buf = fuzz_split(data, size, parts, NPARTS, &nparts);
	uint64_t rng = fuzz_hash(data, size);
	struct delivery d;
	char *body, *cause = NULL;

	for (size_t i = 0; i < NPARTS; i++)
		v[i] = parts[i] != NULL && strcmp(parts[i], "\x7f") != 0 ? parts[i] : NULL;

	memset(&d, 0, sizeof d);
	d.id = 7;
	d.uid = (char *)v[P_UID];
	d.kind = CHANNEL_TEAMS;
	d.recipient = (char *)"iro_teams";
	d.rule = (char *)v[P_RULE];
	d.title = (char *)v[P_TITLE];
	d.case_ref = (char *)v[P_CASE];
	d.stage = (char *)v[P_STAGE];
	d.start = (char *)v[P_START];
	d.due = (char *)v[P_DUE];
	d.fires = (char *)v[P_FIRES];
	d.status = (char *)v[P_STATUS];
	d.expected = (char *)v[P_EXPECTED];
	d.template_id = (char *)"f33517ff-2a88-4f6e-b855-c550268ce08a";
	d.days_late = (int)(int32_t)fuzz_next(&rng);
	d.label = (char *)v[P_LABEL];
	d.case_url = (char *)v[P_URL];
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
	if (d.fields_error != NULL) {
		/* The outbox never sends such a record. */
		free(d.fields_error);
		free(buf);
		return 0;
	}
	nfields = d.fields != NULL ? json_object_size(d.fields) : 0;
	max = v[P_MAX] != NULL ? (size_t)strtoul(v[P_MAX], NULL, 10) % 100000 : 0;

	FUZZ_CHECK((body = chat_teams_body(&d, CHAT_TEAMS_MAX, &cause)) != NULL, "Teams: %s",
	           cause);
	check_teams(&d, nfields, body, CHAT_TEAMS_MAX);
	check_private(&d, "Teams", body, chat_teams_body, CHAT_TEAMS_MAX);
	free(body);
	FUZZ_CHECK((body = chat_slack_body(&d, CHAT_SLACK_MAX, &cause)) != NULL, "Slack: %s",
	           cause);
	check_slack(&d, nfields, body, CHAT_SLACK_MAX);
	check_private(&d, "Slack", body, chat_slack_body, CHAT_SLACK_MAX);
	free(body);
	if (max > 0) {
		/* A tighter limit: the cutting and leaving out of fields. */
		FUZZ_CHECK((body = chat_teams_body(&d, max, &cause)) != NULL, "Teams: %s", cause);
		check_teams(&d, nfields, body, max);
		free(body);
		FUZZ_CHECK((body = chat_slack_body(&d, max, &cause)) != NULL, "Slack: %s", cause);
		check_slack(&d, nfields, body, max);
		free(body);
	}
	FUZZ_CHECK((body = govuk_build_body(&d, &cause)) != NULL, "Notify: %s", cause);
	check_notify(&d, body);
	check_private(&d, "Notify", body, notify_build, 0);
	free(body);
	check_digests(v, d.fields, max, &rng);

	json_decref(d.fields);
	free(buf);
	return 0;
}
