/* test_ratelimit.c - unit tests for notifiers/ratelimit.c (pacing requests to one destination). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>

#include "notifier.h"
#include "ratelimit.h"

/* 4 a second: one every 250 ms; a charge past the limit is waited out. */
static void
test_ratelimit(void **state)
{
	struct ratelimit rl;
	int sent = 0;

	/* 4 a second: 250 ms each, plus a quarter for arrival jitter = 312 ms. */
	ratelimit_init(&rl, 4, 1);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
	ratelimit_charge(&rl, 1000, 1);
	assert_int_equal(ratelimit_wait(&rl, 1000), 312);
	assert_int_equal(ratelimit_wait(&rl, 1100), 212);
	assert_int_equal(ratelimit_wait(&rl, 1312), 0);
	/* Idle time is not saved up: no burst after a quiet spell. */
	ratelimit_charge(&rl, 5000, 1);
	assert_int_equal(ratelimit_wait(&rl, 5000), 312);
	/* Two requests at once (a Notify lookup and send) cost two slots. */
	ratelimit_charge(&rl, 5312, 2);
	assert_int_equal(ratelimit_wait(&rl, 5312), 624);

	/* In any second of a busy stretch, at most 4 go (here 1 every 320 ms: 32 in 10 s). */
	ratelimit_init(&rl, 4, 1);
	for (long long t = 0; t < 10000; t += 10) {
		if (ratelimit_wait(&rl, t) == 0) {
			ratelimit_charge(&rl, t, 1);
			sent++;
		}
	}
	assert_int_equal(sent, 32);

	/* Slack: 1 a second. Notify: 3,000 a minute. Exchange: 30 a minute. None: no wait. */
	ratelimit_init(&rl, 1, 1);
	assert_int_equal(rl.interval, 1250);
	ratelimit_init(&rl, 3000, 60);
	assert_int_equal(rl.interval, 25);
	ratelimit_init(&rl, 30, 60);
	assert_int_equal(rl.interval, 2500);
	ratelimit_init(&rl, 3, 1);
	assert_int_equal(rl.interval, 417); /* rounded up, then the quarter: never faster */
	ratelimit_init(&rl, 0, 0);
	ratelimit_charge(&rl, 0, 100);
	assert_int_equal(ratelimit_wait(&rl, 0), 0);
	assert_true(ratelimit_now() > 0);
}

/* The pace the notifiers ask for, per channel: their receivers' documented limits. */
static void
test_ratelimit_pacing(void **state)
{
	struct event_base *base = event_base_new();
	struct notifier *n = notifier_new(base, NULL, NULL);
	int count, seconds, cap;

	cap = 16;
	notifier_pacing(n, CHANNEL_TEAMS, &count, &seconds, &cap);
	assert_int_equal(count, 4);
	assert_int_equal(seconds, 1);
	assert_int_equal(cap, 16);
	notifier_pacing(n, CHANNEL_SLACK, &count, &seconds, &cap);
	assert_int_equal(count, 1);
	assert_int_equal(seconds, 1);
	notifier_pacing(n, CHANNEL_GOVUK_NOTIFY, &count, &seconds, &cap);
	assert_int_equal(count, 3000);
	assert_int_equal(seconds, 60);
	notifier_pacing(n, CHANNEL_WEBHOOK, &count, &seconds, &cap);
	assert_int_equal(count, 0);
	assert_int_equal(cap, 16);
	/* Email through a plain relay: no pace; through Exchange Online (XOAUTH2): 30 a minute, 3
	 * at once. */
	notifier_pacing(n, CHANNEL_EMAIL, &count, &seconds, &cap);
	assert_int_equal(count, 0);
	assert_int_equal(cap, 16);
	{
		struct smtp_settings smtp = {
		    .url = (char *)"smtp://127.0.0.1:2525",
		    .from = (char *)"escalator@council.example",
		    .auth = SMTP_AUTH_XOAUTH2,
		    .client_id = (char *)"id",
		    .client_secret = (char *)"secret",
		    .token_url = (char *)"https://login.example/token",
		};
		struct notifier_settings s = {.smtp = &smtp};

		notifier_configure(n, &s);
	}
	notifier_pacing(n, CHANNEL_EMAIL, &count, &seconds, &cap);
	assert_int_equal(count, 30);
	assert_int_equal(seconds, 60);
	assert_int_equal(cap, 3);
	cap = 2;
	notifier_pacing(n, CHANNEL_EMAIL, &count, &seconds, &cap);
	assert_int_equal(cap, 2); /* lowered, never raised */
	notifier_free(n);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ratelimit),
	    cmocka_unit_test(test_ratelimit_pacing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
