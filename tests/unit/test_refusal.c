/* test_refusal.c - unit tests for daemon/refusal.c: the send-time check and the admin's notices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "refusal.h"

/* An email address checked again before sending: the strict syntax, then allowed_domains. */
static void
test_refusal_check(void **state)
{
	static const char *const allowed[] = {"council.example"};
	struct config cfg = {0};
	struct delivery d = {.kind = CHANNEL_EMAIL, .recipient = "jane.smith@council.example"};
	char *why;

	assert_null(refusal_check(&cfg, &d));
	cfg.allowed_domains = (char **)allowed;
	cfg.nallowed_domains = 1;
	assert_null(refusal_check(&cfg, &d));
	d.recipient = "jane.smith@gmial.com";
	why = refusal_check(&cfg, &d);
	assert_string_equal(why,
	                    "the recipient's domain gmial.com is not in allowed_domains; never "
	                    "sent");
	free(why);
	d.recipient = "victim%evil.example@council.example";
	why = refusal_check(&cfg, &d);
	assert_non_null(strstr(why, "strict syntax"));
	free(why);
	/* A webhook's URL is not an email address: not checked here. */
	d.kind = CHANNEL_WEBHOOK;
	d.recipient = "https://hooks.council.example/x";
	assert_null(refusal_check(&cfg, &d));
}

/* The notice shows the domain and the reason without any address's local part; none for a notice.
 */
static void
test_refusal_keep(void **state)
{
	struct refusals rs = {0};
	struct delivery d = {.kind = CHANNEL_EMAIL,
	                     .recipient = "jane.smith@council.example",
	                     .rule = "cic-first-review",
	                     .case_ref = "C1",
	                     .stage = "overdue",
	                     .attempts = 1};
	struct delivery_result r = {DELIVERY_FAILED, 550,
	                            "550 5.1.1 <jane.smith@council.example>: user unknown", 0};

	refusal_keep(&rs, &d, &r);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.v[0].key, "cic-first-review/C1/overdue email council.example");
	assert_non_null(strstr(rs.v[0].subject, "(email at council.example)"));
	assert_non_null(
	    strstr(rs.v[0].body, "Reason: 550 5.1.1 <...@council.example>: user unknown"));
	assert_null(strstr(rs.v[0].body, "jane.smith"));

	d.kind = CHANNEL_WEBHOOK;
	d.recipient = "https://user:pw@hooks.council.example/secret?x=1";
	r.code = 404;
	r.detail = "HTTP 404 from https://user:pw@hooks.council.example/secret?x=1";
	refusal_keep(&rs, &d, &r);
	assert_int_equal(rs.n, 2);
	assert_non_null(strstr(rs.v[1].key, "webhook hooks.council.example"));
	assert_non_null(strstr(rs.v[1].body, "Reason: HTTP 404 from (the URL)"));
	assert_null(strstr(rs.v[1].body, "secret"));

	d.rule = "escalator-delivery-failed";
	refusal_keep(&rs, &d, &r);
	assert_int_equal(rs.n, 2);
	refusal_clear(&rs);
	assert_int_equal(rs.n, 0);
	refusal_free(&rs);
}

/* A digest refused for good: one notice listing its alerts; the admin's own digest: none. */
static void
test_refusal_keep_digest(void **state)
{
	struct refusals rs = {0};
	struct delivery a = {.rule = "cic-first-review", .case_ref = "C1", .stage = "overdue"};
	struct delivery b = {.rule = "cp-icpc",
	                     .case_ref = "C2",
	                     .stage = "escalated",
	                     .copied = "Overdue: team manager"};
	struct delivery c = {.rule = "cic-later-review", .case_ref = "C3", .closed = true};
	struct delivery n = {.rule = "escalator-bad-rows", .case_ref = "cic", .notice = true};
	struct delivery *items[] = {&a, &b, &c, &n};
	struct delivery d = {.kind = CHANNEL_EMAIL,
	                     .recipient = "jane.smith@council.example",
	                     .uid = "esc-1a2b-77",
	                     .digest = true,
	                     .part = 1,
	                     .parts = 2,
	                     .items = items,
	                     .nitems = 4,
	                     .attempts = 3};
	struct delivery_result r = {DELIVERY_FAILED, 550, "550 5.1.1 user unknown", 0};

	(void)state;
	refusal_keep(&rs, &d, &r);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.v[0].key, "digest email council.example/esc-1a2b-77");
	assert_string_equal(rs.v[0].subject,
	                    "Delivery failed: a digest of 3 alerts (email at council.example)");
	assert_non_null(strstr(rs.v[0].body, "part 1 of 2"));
	assert_non_null(strstr(rs.v[0].body, "  cic-first-review case C1: overdue\n"
	                                     "  cp-icpc case C2: escalated (copied)\n"
	                                     "  cic-later-review case C3: done\n"));
	assert_null(strstr(rs.v[0].body, "escalator-bad-rows"));
	assert_null(strstr(rs.v[0].body, "jane.smith"));
	/* A digest of the admin's notices only: never a notice about it. */
	d.items = items + 3;
	d.nitems = 1;
	refusal_keep(&rs, &d, &r);
	assert_int_equal(rs.n, 1);
	refusal_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusal_check),
	    cmocka_unit_test(test_refusal_keep),
	    cmocka_unit_test(test_refusal_keep_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
