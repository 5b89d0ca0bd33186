/*
 * chat.h - one alert or a digest as a Microsoft Teams Adaptive Card or a Slack
 * message (incoming webhooks).
 */
#ifndef ESCALATOR_CHAT_H
#define ESCALATOR_CHAT_H

#include <stddef.h>

#include "http.h"
#include "notifier.h"
#include "transport.h"

/* Teams refuses messages over about 28 KB; keep the whole request body under this. */
#define CHAT_TEAMS_MAX 28000
/* Slack cuts text after 40,000 characters; keep the whole request body under this. */
#define CHAT_SLACK_MAX 40000
/* Slack's own limits: a header's text, a field's text, a section's text, fields per section. */
#define CHAT_SLACK_HEADER_MAX 150
#define CHAT_SLACK_FIELD_MAX 2000
#define CHAT_SLACK_TEXT_MAX 3000
#define CHAT_SLACK_FIELDS_PER_SECTION 10
#define CHAT_SLACK_BLOCKS_MAX 50
/*
 * A digest's request body is kept well under those limits (4 KB of room under
 * Teams' 28 KB for what the workflow adds; Slack's 40,000 counts characters,
 * this bytes), and a Slack digest section's text under 2,900 bytes (Slack: 3,000
 * characters).
 */
#define CHAT_TEAMS_DIGEST_MAX 24000
#define CHAT_SLACK_DIGEST_MAX 36000
#define CHAT_SLACK_SECTION_MAX 2900

/*
 * The Teams workflow request body for d: {"type":"message","attachments":[{
 * "contentType":"application/vnd.microsoft.card.adaptive","content":{an
 * Adaptive Card with the title, the case (a link to case_url), the stage's
 * label, due date, days overdue, the rule's fields, the answers so far and the
 * history in one line each, what is expected, and when the alert has an answer
 * link an "Answer this alert" button (Action.OpenUrl)}}]}, at most max bytes: long values are cut
 * (ending in "…"), then fields left out, until it fits. A digest is chat_teams_digest. Returns NULL
 * with *cause set if d->fields is not a JSON object.
 */
char *chat_teams_body(const struct delivery *d, size_t max, char **cause);
/*
 * The Slack request body for d: "text" (the one-line summary, shown in
 * notifications) and "blocks" (header, fields, what is expected, an
 * "Answer this alert" link, the answers so far, history, context), within Slack's limits and at
 * most max bytes. A digest is chat_slack_digest.
 */
char *chat_slack_body(const struct delivery *d, size_t max, char **cause);
/*
 * Digest d as one Teams card: the subject (digest_subject) as its title, then
 * per section that has items its title (digest_section_title) and one line
 * per item in reading order: the case reference (a link to case_url), label,
 * rule title, status and due date, a copied recipient's note, a closed
 * clock's "done <date> (N working days late)", and an "Answer this alert"
 * link when the item has one; under it a line of the answers so far. Answers
 * never carry a reason or a note (chat is a third party's platform). Values are cut, then trailing
 * lines left out for "… and N more", until the body is at most max bytes
 * (when max leaves room for the title and footer). Never fails.
 */
char *chat_teams_digest(const struct delivery *d, size_t max);
/*
 * Digest d as one Slack message: "text" (the subject), a header, per section
 * mrkdwn sections of "• " lines (the case reference as <case_url|case>, the
 * answer link as <link|Answer this alert>, the answers so far under it), at
 * most CHAT_SLACK_SECTION_MAX bytes each and CHAT_SLACK_BLOCKS_MAX blocks in
 * all, a context; cut and shortened as chat_teams_digest to at most max bytes.
 */
char *chat_slack_digest(const struct delivery *d, size_t max);
/* s with Slack's mrkdwn control characters escaped (&, <, >). */
char *chat_slack_escape(const char *s);
/*
 * Set up t to POST d (CHANNEL_TEAMS or CHANNEL_SLACK) to the incoming webhook
 * d->recipient. Everything is kept by t. Returns the state http_finish needs,
 * or NULL with *cause set.
 */
struct http_state *chat_setup(struct transfer *t, const struct notifier_settings *s,
                              const struct delivery *d, char **cause);

#endif
