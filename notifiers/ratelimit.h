/* ratelimit.h - pacing requests to one destination (GCRA, a leaky bucket used as a meter). */
#ifndef ESCALATOR_RATELIMIT_H
#define ESCALATOR_RATELIMIT_H

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
