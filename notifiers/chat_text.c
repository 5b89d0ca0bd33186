/*
 * chat_text.c - the pieces of a Teams or Slack message that one alert (chat.c)
 * and a digest (chat_digest.c) share: clean cut text, Teams TextRuns, Slack
 * mrkdwn, links to the case and the one-line history.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "address.h"
#include "chat.h"
#include "chat_impl.h"
#include "digest.h"
#include "transport.h"
#include "utf8.h"
#include "xalloc.h"

/* Clean text (one line of valid UTF-8) cut to at most max bytes, ending in "…" when cut. */
char *
chat_clip(const char *clean, size_t max)
{
	size_t n = max > 3 ? max - 3 : 0;

	if (strlen(clean) <= max)
		return xstrdup(clean);
	n = utf8_boundary(clean, n);
	while (n > 0 && clean[n - 1] == ' ')
		n--;
	return xasprintf("%.*s\xe2\x80\xa6", (int)n, clean);
}

/* s as one clean line of at most max bytes, ending in "…" when it was cut. */
char *
chat_cut(const char *s, size_t max)
{
	char *full = transport_clean_text(s != NULL ? s : "", SIZE_MAX, 0), *out;

	out = chat_clip(full, max);
	free(full);
	return out;
}

/* A JSON string of s cut to max bytes. */
json_t *
chat_str(const char *s, size_t max)
{
	char *v = chat_cut(s, max);
	json_t *j = json_string(v);

	free(v);
	if (j == NULL)
		fatalx("json_string failed on cleaned text");
	return j;
}

/* Dump j compactly; fatal on failure. */
char *
chat_dump(json_t *j)
{
	char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (out == NULL)
		fatalx("json_dumps failed");
	return out;
}

/* Is url fit to be a link to a case? */
bool
chat_link_ok(const char *url, size_t max)
{
	if (url == NULL || strlen(url) > max || strpbrk(url, "<>|\"") != NULL)
		return false;
	/* Printable ASCII only: a byte past it may not be UTF-8, which JSON cannot carry. */
	for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return addr_valid_url(url);
}

/* The clock's history in one clean line of at most max bytes. */
char *
chat_history(const struct delivery *d, size_t max)
{
	char *line = xstrdup(""), *next, *out;

	for (size_t i = 0; i < d->nhistory && strlen(line) < max; i++) {
		const struct delivery_event *e = &d->history[i];
		char *stage = chat_cut(e->stage, 80), *to = chat_cut(e->recipient, 80);
		char *status = chat_cut(e->status, 20);
		/* "YYYY-MM-DDTHH:MM:SSZ": the date is enough in one line. */
		char *when = transport_clean_text(e->when, 10, 0);

		next = xasprintf("%s%s%s %s to %s (%s%s)", line, i > 0 ? "; " : "", stage, when, to,
		                 status, e->copied ? ", copied" : "");
		free(line);
		line = next;
		free(stage);
		free(to);
		free(status);
		free(when);
	}
	out = chat_cut(line, max);
	free(line);
	return out;
}

/* The clock's answers so far in one clean line of at most max bytes, never a reason or a note. */
char *
chat_answers(const struct delivery *d, size_t max)
{
	const struct delivery_response *shown[DIGEST_ANSWERS_MAX];
	size_t earlier, n = digest_answers_list(d, shown, &earlier);
	char *line = earlier > 0 ? xasprintf("(%zu earlier not shown)", earlier) : xstrdup("");
	char *next, *out;

	for (size_t i = 0; i < n && strlen(line) < max; i++) {
		char *a = digest_answer(shown[i], DIGEST_ANSWER_SHORT);

		next = xasprintf("%s%s%s", line, *line != '\0' ? "; " : "", a);
		free(line);
		free(a);
		line = next;
	}
	out = chat_cut(line, max);
	free(line);
	return out;
}

/*
 * Teams parses Markdown in TextBlock and in a FactSet's titles and values, so a case
 * reference such as "[click](https://evil.example)" would render as a link there, and
 * Teams clients do not agree on backslash escapes. A TextRun is never parsed as
 * Markdown: every piece of text in the card is one.
 */

/* {"type":"TextRun","text":text} */
json_t *
chat_teams_run(json_t *text)
{
	json_t *r = json_object();

	json_object_set_new(r, "type", json_string("TextRun"));
	json_object_set_new(r, "text", text);
	return r;
}

/* {"type":"RichTextBlock","inlines":[run]} */
json_t *
chat_teams_block(json_t *run)
{
	json_t *b = json_object();

	json_object_set_new(b, "type", json_string("RichTextBlock"));
	json_object_set_new(b, "inlines", json_pack("[o]", run));
	return b;
}

/* run opens url when clicked. */
json_t *
chat_teams_link(json_t *run, const char *url)
{
	json_t *a = json_object();

	json_object_set_new(a, "type", json_string("Action.OpenUrl"));
	json_object_set_new(a, "url", json_string(url));
	json_object_set_new(run, "selectAction", a);
	return run;
}

/* The Teams workflow request body around a card body and its actions. */
char *
chat_teams_message(json_t *body, json_t *actions)
{
	json_t *root = json_object(), *att = json_object(), *card = json_object();
	char *out;

	json_object_set_new(card, "$schema",
	                    json_string("http://adaptivecards.io/schemas/adaptive-card.json"));
	json_object_set_new(card, "type", json_string("AdaptiveCard"));
	json_object_set_new(card, "version", json_string("1.4"));
	json_object_set_new(card, "body", body);
	if (actions != NULL)
		json_object_set_new(card, "actions", actions);
	json_object_set_new(att, "contentType",
	                    json_string("application/vnd.microsoft.card.adaptive"));
	json_object_set_new(att, "contentUrl", json_null());
	json_object_set_new(att, "content", card);
	json_object_set_new(root, "type", json_string("message"));
	json_object_set_new(root, "attachments", json_pack("[o]", att));
	out = chat_dump(root);
	json_decref(root);
	return out;
}

/* s with &, < and > escaped for Slack mrkdwn. */
char *
chat_slack_escape(const char *s)
{
	size_t len = 0, o = 0;
	char *out;

	for (const char *p = s; *p != '\0'; p++)
		len += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : 1;
	out = xmalloc(len + 1);
	for (const char *p = s; *p != '\0'; p++) {
		const char *rep = *p == '&'   ? "&amp;"
		                  : *p == '<' ? "&lt;"
		                  : *p == '>' ? "&gt;"
		                              : NULL;

		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

/* Escaped mrkdwn cut to at most max bytes (ending in "…"), never inside a character or entity. */
char *
chat_slack_clip(const char *esc, size_t max)
{
	size_t n = max > 3 ? max - 3 : 0;

	if (strlen(esc) <= max)
		return xstrdup(esc);
	n = utf8_boundary(esc, n);
	for (size_t k = 1; k <= 4 && k <= n; k++) {
		if (esc[n - k] == ';')
			break;
		if (esc[n - k] == '&') {
			n -= k; /* inside an entity: drop all of it */
			break;
		}
	}
	return xasprintf("%.*s\xe2\x80\xa6", (int)n, esc);
}

/*
 * s as one clean line, escaped for Slack mrkdwn, then cut to at most max bytes
 * (ending in "…"): escaping first keeps the limit true however many &, < and >
 * the value holds; the cut never splits a character or an "&amp;" entity.
 */
char *
chat_slack_text(const char *s, size_t max)
{
	char *full = transport_clean_text(s != NULL ? s : "", SIZE_MAX, 0);
	char *esc = chat_slack_escape(full), *out;

	out = chat_slack_clip(esc, max);
	free(full);
	free(esc);
	return out;
}

/* "<url|text>" for Slack mrkdwn, text escaped and cut to max. */
char *
chat_slack_link(const char *url, const char *text, size_t max)
{
	char *u = chat_slack_escape(url), *t = chat_slack_text(text, max), *out;

	out = xasprintf("<%s|%s>", u, t);
	free(u);
	free(t);
	return out;
}
