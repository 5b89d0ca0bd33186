/* ratelimit.h - pacing requests to one destination (GCRA, a leaky bucket used as a meter). */
#ifndef ESCALATOR_RATELIMIT_H
#define ESCALATOR_RATELIMIT_H

/*
 * What each channel allows, per destination. Requests beyond these wait in
 * the outbox (they are not attempts); the receivers answer 429 past them.
 */
#define RATELIMIT_TEAMS_COUNT 4 /* Teams workflow webhooks: 4 requests a second per URL */
#define RATELIMIT_TEAMS_SECONDS 1
#define RATELIMIT_SLACK_COUNT 1 /* Slack incoming webhooks: 1 message a second per URL */
#define RATELIMIT_SLACK_SECONDS 1
#define RATELIMIT_NOTIFY_COUNT 3000 /* GOV.UK Notify: 3,000 requests a minute per API key */
#define RATELIMIT_NOTIFY_SECONDS 60
#define RATELIMIT_EXCHANGE_COUNT 30 /* Exchange Online SMTP AUTH: 30 messages a minute */
#define RATELIMIT_EXCHANGE_SECONDS 60
#define RATELIMIT_EXCHANGE_CONNECTIONS 3 /* and 3 connections at once per mailbox */

/*
 * At most count requests in any window of seconds (burst 1: requests are
 * spaced evenly), or no limit when count is 0. All times are milliseconds of
 * a monotonic clock.
 */
struct ratelimit {
	long long interval; /* ms one request uses up; 0: no limit */
	long long tat;      /* theoretical arrival time of the next request */
};

/* A limit of count requests per seconds (count 0: none). */
void ratelimit_init(struct ratelimit *rl, int count, int seconds);
/* Milliseconds from now until the next request may be made (0: now). */
long long ratelimit_wait(const struct ratelimit *rl, long long now);
/* Count cost requests made at now (even past the limit: the debt is waited out later). */
void ratelimit_charge(struct ratelimit *rl, long long now, int cost);
/* The monotonic clock in milliseconds. */
long long ratelimit_now(void);

#endif
