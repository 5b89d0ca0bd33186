/* chat.h - one alert as a Microsoft Teams Adaptive Card or a Slack message (incoming webhooks). */
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
 * The Teams workflow request body for d: {"type":"message","attachments":[{
 * "contentType":"application/vnd.microsoft.card.adaptive","content":{an
 * Adaptive Card with the title, the case, stage, due date, days overdue, what
 * is expected and the rule's fields}}]}, at most max bytes: long values are
 * cut (ending in "…"), then fields left out, until it fits. Returns NULL with
 * *cause set if d->fields is not a JSON object.
 */
char *chat_teams_body(const struct delivery *d, size_t max, char **cause);
/*
 * The Slack request body for d: "text" (the one-line summary, shown in
 * notifications) and "blocks" (header, fields, what is expected, context),
 * within Slack's limits and at most max bytes.
 */
char *chat_slack_body(const struct delivery *d, size_t max, char **cause);
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
