/*
 * chat_impl.h - the pieces of a Teams or Slack message chat.c (one alert) and
 * chat_digest.c (a digest) share: clean cut text, Teams TextRuns, Slack mrkdwn
 * text, links and the one-line history. Private to those two files (and their
 * tests).
 */
#ifndef ESCALATOR_CHAT_IMPL_H
#define ESCALATOR_CHAT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "delivery.h"

/* Longest case link shown as a link; a longer one is left out (a URL cannot be cut). */
#define CHAT_LINK_MAX 2048

/* Clean text (one line of valid UTF-8) cut to at most max bytes, ending in "…" when cut. */
char *chat_clip(const char *clean, size_t max);
/* s as one clean line of at most max bytes, ending in "…" when it was cut. */
char *chat_cut(const char *s, size_t max);
/* A JSON string of s cut to max bytes. */
json_t *chat_str(const char *s, size_t max);
/* Dump j compactly (members in the order set); fatal on failure. */
char *chat_dump(json_t *j);
/*
 * Is url fit to be a message's link (to a case, or where to answer): a valid
 * http(s) URL (addr_valid_url) of at most max bytes of printable ASCII, without
 * '<', '>', '|' or '"' (which would end Slack's <url|text> early)? NULL is not.
 */
bool chat_link_ok(const char *url, size_t max);
/*
 * The clock's history in one clean line of at most max bytes: "<stage> <date>
 * to <recipient> (<status>[, copied]); ..." oldest first, each value cut; ""
 * when there is none.
 */
char *chat_history(const struct delivery *d, size_t max);

/*
 * The clock's answers so far in one clean line of at most max bytes: each
 * answer's short form (digest_answer, DIGEST_ANSWER_SHORT: never a reason or a
 * note) joined by "; ", oldest first, amended ones left out; "" when none.
 */
char *chat_answers(const struct delivery *d, size_t max);
/* What the answer link is called where it shows. */
#define CHAT_ANSWER_TEXT "Answer this alert"

/* {"type":"TextRun","text":text} (text is taken). */
json_t *chat_teams_run(json_t *text);
/* run opens url when clicked (Action.OpenUrl); returns run. */
json_t *chat_teams_link(json_t *run, const char *url);
/* {"type":"RichTextBlock","inlines":[run]} (run is taken). */
json_t *chat_teams_block(json_t *run);
/*
 * The Teams workflow request body around a card body (taken) and the card's
 * actions (taken; NULL for none): the message, dumped.
 */
char *chat_teams_message(json_t *body, json_t *actions);

/*
 * s as one clean line, escaped for Slack mrkdwn, then cut to at most max
 * bytes (ending in "…"), never inside a character or an entity.
 */
char *chat_slack_text(const char *s, size_t max);
/* Escaped mrkdwn cut to at most max bytes (ending in "…"), never inside a character or entity. */
char *chat_slack_clip(const char *esc, size_t max);
/* "<url|text>" for Slack mrkdwn, text escaped and cut to max: url must pass chat_link_ok. */
char *chat_slack_link(const char *url, const char *text, size_t max);

#endif
