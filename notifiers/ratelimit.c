/* ratelimit.c - pacing requests to one destination (GCRA, a leaky bucket used as a meter). */
#include "ratelimit.h"

#include <time.h>

/* A limit of count requests per seconds. */
void
ratelimit_init(struct ratelimit *rl, int count, int seconds)
{
	long long window = (long long)seconds * 1000;

	rl->tat = 0;
	if (count <= 0 || seconds <= 0) {
		rl->interval = 0;
		return;
	}
	/*
	 * Rounded up, plus a quarter: requests leave evenly spaced, but arrive with network
	 * and scheduling jitter, and the receiver counts arrivals in a sliding window.
	 */
	rl->interval = (window + count - 1) / count;
	rl->interval += rl->interval / 4;
}

/* Milliseconds until the next request may be made. */
long long
ratelimit_wait(const struct ratelimit *rl, long long now)
{
	if (rl->interval == 0 || rl->tat <= now)
		return 0;
	return rl->tat - now;
}

/* Count cost requests made at now. */
void
ratelimit_charge(struct ratelimit *rl, long long now, int cost)
{
	if (rl->interval == 0 || cost <= 0)
		return;
	if (rl->tat < now)
		rl->tat = now;
	rl->tat += rl->interval * cost;
}

/* The monotonic clock in milliseconds. */
long long
ratelimit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
