/* chat_digest.c - a digest as one Microsoft Teams Adaptive Card or one Slack message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat.h"
#include "chat_impl.h"
#include "digest.h"
#include "transport.h"
#include "xalloc.h"

/*
 * What a line may hold, tried in turn until a digest fits: each value's bytes,
 * and the longest case link kept (a URL cannot be cut: a longer one is left
 * out; for Slack, the length once escaped). At the first nothing a council
 * writes is cut; at the last a line is a few hundred bytes whatever the values.
 */
struct chat_caps {
	size_t value;
	size_t link;
};
static const struct chat_caps chat_caps[] = {{200, 1200}, {120, 800}, {80, 400}, {40, 0}};
#define CHAT_NLEVELS (sizeof chat_caps / sizeof chat_caps[0])

/* The most parts of a line after the case reference. */
#define CHAT_NPARTS 4
/* Longest answers line kept before a build cuts it (to three values' room). */
#define CHAT_ANSWERS_MAX 1000

/*
 * One item's line, its values cleaned (and escaped for Slack) once: each
 * build of the message only cuts them.
 */
struct chat_line {
	char *ref, *ref_esc; /* the case reference, "" if none */
	char *parts[CHAT_NPARTS], *parts_esc[CHAT_NPARTS];
	size_t nparts;
	const char *url; /* the case link, or NULL when it cannot be one */
	char *url_esc;   /* escaped for Slack */
	/* Where the recipient answers the item, or NULL; never cut (it is the action). */
	const char *answer;
	char *answer_esc;
	/* The answers so far (chat_answers: never a reason or a note), "" if none. */
	char *answers, *answers_esc;
};

/* A digest in reading order. */
struct chat_digest {
	const struct delivery *d;
	enum digest_section *sec;
	struct chat_line *lines;
	size_t n;
	char *subject; /* digest_subject */
};

/* Build the message at caps with the first nshow items. */
typedef char *(*chat_digest_fn)(const struct chat_digest *, const struct chat_caps *, size_t);

static size_t chat_digest_parts(const struct delivery *, char **);

/* Clean s into one line, and *esc the same escaped for Slack. */
static char *
chat_clean(const char *s, char **esc)
{
	char *clean = transport_clean_text(s, SIZE_MAX, 0);

	*esc = chat_slack_escape(clean);
	return clean;
}

/* d's items in reading order, their lines ready to cut. */
static void
chat_digest_init(struct chat_digest *cd, const struct delivery *d)
{
	const struct delivery **items = xcalloc(d->nitems + 1, sizeof *items);

	cd->d = d;
	cd->n = d->nitems;
	cd->sec = xcalloc(d->nitems + 1, sizeof *cd->sec);
	cd->lines = xcalloc(d->nitems + 1, sizeof *cd->lines);
	digest_order(d, items, cd->sec);
	for (size_t i = 0; i < d->nitems; i++) {
		struct chat_line *l = &cd->lines[i];
		char *raw[CHAT_NPARTS], *ans;

		l->ref = chat_clean(items[i]->case_ref, &l->ref_esc);
		l->nparts = chat_digest_parts(items[i], raw);
		for (size_t k = 0; k < l->nparts; k++) {
			l->parts[k] = chat_clean(raw[k], &l->parts_esc[k]);
			free(raw[k]);
		}
		if (chat_link_ok(items[i]->case_url, CHAT_LINK_MAX)) {
			l->url = items[i]->case_url;
			l->url_esc = chat_slack_escape(l->url);
		}
		if (chat_link_ok(items[i]->response_link, CHAT_LINK_MAX)) {
			l->answer = items[i]->response_link;
			l->answer_esc = chat_slack_escape(l->answer);
		}
		ans = chat_answers(items[i], CHAT_ANSWERS_MAX);
		l->answers = chat_clean(ans, &l->answers_esc);
		free(ans);
	}
	free(items);
	cd->subject = digest_subject(d);
}

/* Free what chat_digest_init made. */
static void
chat_digest_clear(struct chat_digest *cd)
{
	for (size_t i = 0; i < cd->n; i++) {
		struct chat_line *l = &cd->lines[i];

		free(l->ref);
		free(l->ref_esc);
		for (size_t k = 0; k < l->nparts; k++) {
			free(l->parts[k]);
			free(l->parts_esc[k]);
		}
		free(l->url_esc);
		free(l->answer_esc);
		free(l->answers);
		free(l->answers_esc);
	}
	free(cd->lines);
	free(cd->sec);
	free(cd->subject);
}

/*
 * The parts of item's line after the case reference, uncut, in parts[] (to
 * free): the label, the rule's title, how it stands (status and due date, or
 * when it was done) and a copied recipient's note. Returns how many.
 */
static size_t
chat_digest_parts(const struct delivery *it, char **parts)
{
	size_t n = 0;
	const char *label = it->label != NULL ? it->label : it->stage;

	if (label != NULL && *label != '\0')
		parts[n++] = xstrdup(label);
	if (it->title != NULL && *it->title != '\0')
		parts[n++] = xstrdup(it->title);
	if (it->closed) {
		if (it->closed_late > 0)
			parts[n++] = xasprintf("done %s (%d working day%s late)",
			                       it->closed_on != NULL ? it->closed_on : "?",
			                       it->closed_late, it->closed_late == 1 ? "" : "s");
		else
			parts[n++] = xasprintf("done %s (in time)",
			                       it->closed_on != NULL ? it->closed_on : "?");
	} else {
		bool status = it->status != NULL && *it->status != '\0';
		bool due = it->due != NULL && *it->due != '\0';

		if (status && due)
			parts[n++] = xasprintf("%s (due %s)", it->status, it->due);
		else if (due)
			parts[n++] = xasprintf("due %s", it->due);
		else if (status)
			parts[n++] = xstrdup(it->status);
	}
	if (it->copied != NULL)
		parts[n++] = xasprintf("you were not told earlier: escalator first saw this case "
		                       "after %s",
		                       it->copied_on != NULL ? it->copied_on : "its due date");
	return n;
}

/* The note that says how many items were left out. */
static char *
chat_digest_more(size_t left)
{
	return xasprintf("\xe2\x80\xa6 and %zu more not shown here (message size limit)", left);
}

/* The footer: who the digest is for and its delivery id. */
static char *
chat_digest_footer(const struct delivery *d)
{
	return xasprintf("Digest for %s \xc2\xb7 delivery %s",
	                 d->contact != NULL ? d->contact : "you", d->uid != NULL ? d->uid : "");
}

/*
 * Build at each caps in turn until the body fits in max bytes; then, at the
 * smallest, leave out as few trailing items as will do (a binary search: the
 * body grows with the items shown).
 */
static char *
chat_digest_fit(const struct chat_digest *cd, size_t max, chat_digest_fn build)
{
	const struct chat_caps *last = &chat_caps[CHAT_NLEVELS - 1];
	size_t lo = 0, hi = cd->n;
	char *out;

	for (size_t i = 0; i < CHAT_NLEVELS; i++) {
		out = build(cd, &chat_caps[i], cd->n);
		if (strlen(out) <= max)
			return out;
		free(out);
	}
	/* build(hi) is too big; find the most items below it that fit (or none). */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		out = build(cd, last, mid);
		if (strlen(out) <= max)
			lo = mid;
		else
			hi = mid;
		free(out);
	}
	return build(cd, last, lo);
}

/* ---- Teams ------------------------------------------------------------------------------ */

/* A block of one run of text cut to max, bold when asked. */
static json_t *
teams_text(const char *text, size_t max, bool bold)
{
	json_t *r = chat_teams_run(chat_str(text, max));

	if (bold)
		json_object_set_new(r, "weight", json_string("Bolder"));
	return chat_teams_block(r);
}

/* parts[0..n) cut to max each and joined by " · ", after a " · " when lead is set. */
static char *
chat_join(char *const *parts, size_t n, size_t max, bool lead, char *(*clip)(const char *, size_t))
{
	char *line = xstrdup(""), *next;

	for (size_t i = 0; i < n; i++) {
		char *v = clip(parts[i], max);

		next = xasprintf("%s%s%s", line, lead || i > 0 ? " \xc2\xb7 " : "", v);
		free(line);
		free(v);
		line = next;
	}
	return line;
}

/* An item's line: the case reference (a link to the case), then " · " and the parts. */
static json_t *
teams_line(const struct chat_line *l, const struct chat_caps *c)
{
	bool link = l->url != NULL && strlen(l->url) <= c->link;
	char *rest, *ref;
	json_t *run, *b = NULL;

	if (*l->ref != '\0' || link) {
		ref = chat_clip(*l->ref != '\0' ? l->ref : "open the case", c->value);
		run = chat_teams_run(json_string(ref));
		free(ref);
		json_object_set_new(run, "weight", json_string("Bolder"));
		if (link)
			chat_teams_link(run, l->url);
		b = chat_teams_block(run);
	}
	rest = chat_join(l->parts, l->nparts, c->value, b != NULL, chat_clip);
	if (l->answer != NULL) {
		/* " · Answer this alert", the last words a link of their own. */
		char *t = xasprintf("%s%s", rest, *rest != '\0' || b != NULL ? " \xc2\xb7 " : "");

		free(rest);
		rest = t;
	}
	run = chat_teams_run(json_string(rest));
	free(rest);
	if (b == NULL)
		b = chat_teams_block(run);
	else
		json_array_append_new(json_object_get(b, "inlines"), run);
	if (l->answer != NULL) {
		run = chat_teams_run(json_string(CHAT_ANSWER_TEXT));
		json_object_set_new(run, "weight", json_string("Bolder"));
		json_array_append_new(json_object_get(b, "inlines"),
		                      chat_teams_link(run, l->answer));
	}
	return b;
}

/* The Teams card of the first nshow items at caps c. */
static char *
teams_digest_build(const struct chat_digest *cd, const struct chat_caps *c, size_t nshow)
{
	json_t *body = json_array(), *r;
	int section = -1;
	char *line;

	r = chat_teams_run(chat_str(cd->subject, 300));
	json_object_set_new(r, "weight", json_string("Bolder"));
	json_object_set_new(r, "size", json_string("Medium"));
	json_array_append_new(body, chat_teams_block(r));
	for (size_t i = 0; i < nshow && i < cd->n; i++) {
		if ((int)cd->sec[i] != section) {
			section = (int)cd->sec[i];
			json_array_append_new(
			    body, teams_text(digest_section_title(cd->sec[i]), 100, true));
		}
		json_array_append_new(body, teams_line(&cd->lines[i], c));
		if (*cd->lines[i].answers != '\0') {
			line = xasprintf("Answers so far: %s", cd->lines[i].answers);
			json_array_append_new(body, teams_text(line, 3 * c->value, false));
			free(line);
		}
	}
	if (nshow < cd->n) {
		line = chat_digest_more(cd->n - nshow);
		json_array_append_new(body, teams_text(line, 200, false));
		free(line);
	}
	line = chat_digest_footer(cd->d);
	r = chat_teams_run(chat_str(line, 300));
	json_object_set_new(r, "isSubtle", json_true());
	json_object_set_new(r, "size", json_string("Small"));
	json_array_append_new(body, chat_teams_block(r));
	free(line);
	return chat_teams_message(body, NULL);
}

/* Digest d as one Teams card of at most max bytes. */
char *
chat_teams_digest(const struct delivery *d, size_t max)
{
	struct chat_digest cd;
	char *out;

	chat_digest_init(&cd, d);
	out = chat_digest_fit(&cd, max, teams_digest_build);
	chat_digest_clear(&cd);
	return out;
}

/* ---- Slack ------------------------------------------------------------------------------ */

/* A mrkdwn section block of text (taken), verbatim: nothing in it is parsed but our links. */
static json_t *
slack_section_text(char *text)
{
	json_t *b = json_object(), *t = json_object();

	json_object_set_new(t, "type", json_string("mrkdwn"));
	json_object_set_new(t, "text", json_string(text));
	json_object_set_new(t, "verbatim", json_true());
	json_object_set_new(b, "type", json_string("section"));
	json_object_set_new(b, "text", t);
	free(text);
	return b;
}

/*
 * An item's line: "• <case_url|case> · label · title · status (due date) ·
 * <answer link|Answer this alert>", escaped, and under it the answers so far.
 */
static char *
slack_line(const struct chat_line *l, const struct chat_caps *c)
{
	char *line, *rest, *ref = NULL, *text;

	/* Escaping can make a URL five times longer: the cap is on what is sent. */
	if (l->url != NULL && strlen(l->url_esc) <= c->link) {
		text =
		    chat_slack_clip(*l->ref_esc != '\0' ? l->ref_esc : "open the case", c->value);
		ref = xasprintf("<%s|%s>", l->url_esc, text);
		free(text);
	} else if (*l->ref_esc != '\0') {
		ref = chat_slack_clip(l->ref_esc, c->value);
	}
	rest = chat_join(l->parts_esc, l->nparts, c->value, ref != NULL, chat_slack_clip);
	line = xasprintf("\xe2\x80\xa2 %s%s", ref != NULL ? ref : "", rest);
	free(ref);
	free(rest);
	if (l->answer_esc != NULL) {
		text = xasprintf("%s%s<%s|" CHAT_ANSWER_TEXT ">", line,
		                 strlen(line) > 4 ? " \xc2\xb7 " : "", l->answer_esc);
		free(line);
		line = text;
	}
	if (*l->answers_esc != '\0') {
		/* The answers so far on a line of their own under the item's. */
		rest = chat_slack_clip(l->answers_esc, 3 * c->value);
		text = xasprintf("%s\n        Answers so far: %s", line, rest);
		free(line);
		free(rest);
		line = text;
	}
	return line;
}

/* Append text + "\n" + line to *text (taken: line). */
static void
slack_append(char **text, char *line)
{
	char *next = **text != '\0' ? xasprintf("%s\n%s", *text, line) : xstrdup(line);

	free(*text);
	free(line);
	*text = next;
}

/*
 * The Slack message of the first nshow items at caps c: lines are gathered
 * into sections of at most CHAT_SLACK_SECTION_MAX bytes; when the blocks run
 * out (two are kept for the note and the context) the rest are left out too.
 */
static char *
slack_digest_build(const struct chat_digest *cd, const struct chat_caps *c, size_t nshow)
{
	json_t *root = json_object(), *blocks = json_array(), *b, *t;
	char *text = xstrdup(""), *line, *out;
	size_t shown = 0, nblocks = 1;
	int section = -1;

	line = chat_slack_text(cd->subject, 300);
	json_object_set_new(root, "text", json_string(line));
	free(line);
	b = json_object();
	t = json_object();
	json_object_set_new(t, "type", json_string("plain_text"));
	json_object_set_new(t, "text", chat_str(cd->subject, CHAT_SLACK_HEADER_MAX));
	json_object_set_new(t, "emoji", json_false());
	json_object_set_new(b, "type", json_string("header"));
	json_object_set_new(b, "text", t);
	json_array_append_new(blocks, b);

	for (size_t i = 0; i < nshow && i < cd->n; i++) {
		char *title = NULL;
		size_t need;

		line = slack_line(&cd->lines[i], c);
		if ((int)cd->sec[i] != section)
			title = xasprintf("*%s*", digest_section_title(cd->sec[i]));
		need = strlen(line) + 1 + (title != NULL ? strlen(title) + 1 : 0);
		if (*text != '\0' &&
		    (title != NULL || strlen(text) + need > CHAT_SLACK_SECTION_MAX)) {
			/* This block is full, or a new section starts: close it. */
			json_array_append_new(blocks, slack_section_text(text));
			text = xstrdup("");
		}
		if (*text == '\0' && nblocks + 1 + 2 > CHAT_SLACK_BLOCKS_MAX) {
			free(line);
			free(title);
			break;
		}
		if (*text == '\0')
			nblocks++;
		if (title != NULL)
			slack_append(&text, title);
		slack_append(&text, line);
		section = (int)cd->sec[i];
		shown++;
	}
	if (*text != '\0')
		json_array_append_new(blocks, slack_section_text(text));
	else
		free(text);
	if (shown < cd->n)
		json_array_append_new(blocks, slack_section_text(chat_digest_more(cd->n - shown)));
	line = chat_digest_footer(cd->d);
	b = json_object();
	json_object_set_new(b, "type", json_string("context"));
	t = json_object();
	json_object_set_new(t, "type", json_string("mrkdwn"));
	json_object_set_new(t, "text", json_string((out = chat_slack_text(line, 300))));
	json_object_set_new(t, "verbatim", json_true());
	json_object_set_new(b, "elements", json_pack("[o]", t));
	json_array_append_new(blocks, b);
	free(out);
	free(line);

	json_object_set_new(root, "blocks", blocks);
	/* No link previews: the case links are enough, and nothing is fetched by Slack. */
	json_object_set_new(root, "unfurl_links", json_false());
	json_object_set_new(root, "unfurl_media", json_false());
	out = chat_dump(root);
	json_decref(root);
	return out;
}

/* Digest d as one Slack message of at most max bytes. */
char *
chat_slack_digest(const struct delivery *d, size_t max)
{
	struct chat_digest cd;
	char *out;

	chat_digest_init(&cd, d);
	out = chat_digest_fit(&cd, max, slack_digest_build);
	chat_digest_clear(&cd);
	return out;
}
