/*
 * test_bundle.c - unit tests for daemon/bundle.c: deliveries held for a
 * digest, bundled at their time into one digest per recipient (in parts),
 * read back with their items and history, and finished together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alertstore.h"
#include "bundle.h"
#include "notifier.h"
#include "queue.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

#define T0 1800000000LL /* a sending time (unix seconds) */

/* Record alert a with every recipient held until at. */
static long long
record_held(struct fixture *fx, struct alert *a, long long at)
{
	static const bool held[3] = {true, true, true};
	bool none[4] = {false, false, false, false};

	a->held = held;
	a->digest_at = at;
	return record(fx->ss, a, none);
}

/* Bundle what is held until now, batch after batch; returns how many digests were made. */
static int
form(struct fixture *fx, long long now, long long *next)
{
	char *cause = NULL;
	bool more = true;
	int made = 0, k;

	while (more) {
		if ((k = bundle_form(fx->ss, now, 20000, next, &more, &cause)) < 0)
			fail_msg("bundle_form: %s", cause);
		made += k;
	}
	return made;
}

/* Take up to max due deliveries of kind (NULL recipient: any) as of now. */
static int
take(struct fixture *fx, long long now, enum channel kind, const char *recipient,
     struct delivery **out, int max)
{
	struct queue_request req = {kind, recipient, max};
	char *cause = NULL;
	int n = queue_take(fx->ss, now, now + 600, &req, 1, out, max, &cause);

	if (n < 0)
		fail_msg("queue_take: %s", cause);
	return n;
}

/* Held deliveries wait for their time, then become one digest per recipient. */
static void
test_bundle_at_time(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 3), b = make_alert(fx, "A02", 2, 2);
	long long next = -1;

	fx->ss = open_store(fx, false);
	record_held(fx, &a, T0);
	record_held(fx, &b, T0);
	/* Before the time: nothing bundled, nothing to take, the time to wake for. */
	assert_int_equal(form(fx, T0 - 1, &next), 0);
	assert_int_equal(next, T0);
	assert_int_equal(queue_depth(fx->ss), 5);
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'pending'", "0");

	/* At the time: tm.north (2 alerts), service.manager (2), the webhook (1). */
	assert_int_equal(form(fx, T0, &next), 3);
	assert_int_equal(next, 0);
	expect_sql(fx->path,
	           "SELECT group_concat(recipient || '=' || n, ' ') FROM (SELECT d.recipient, "
	           "count(m.id) AS n FROM delivery d JOIN delivery m ON m.digest_id = d.id WHERE "
	           "d.alert_id IS NULL GROUP BY d.id ORDER BY d.recipient)",
	           "https://hooks.council.example/hos=1 service.manager@council.example=2 "
	           "tm.north@council.example=2");
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'bundled'", "5");
	/* The depth counts the digests now, not their items. */
	assert_int_equal(queue_depth(fx->ss), 3);
	/* Bundling again finds nothing more. */
	assert_int_equal(form(fx, T0 + 60, &next), 0);
}

/* A digest reads back as one record with its items, labels, links and history. */
static void
test_bundle_read(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 0, 1), b = make_alert(fx, "A01", 2, 1);
	struct alert c = make_alert(fx, "B07", 1, 1);
	struct delivery *d[4];
	long long next;
	const struct delivery *late = NULL, *reminder = NULL;

	fx->ss = open_store(fx, false);
	/* A01's reminder went earlier, on its own, and was sent. */
	a.label = "Reminder: IRO";
	a.urgency = EVAL_REMINDER;
	record(fx->ss, &a, (bool[4]){false});
	exec_sql(fx->path, "UPDATE delivery SET status = 'sent', sent_at = '2027-01-13T08:00:01Z'");
	b.label = "Escalated: service manager";
	b.urgency = EVAL_ESCALATION;
	b.case_url = "https://cms.council.example/case/A01";
	record_held(fx, &b, T0);
	c.urgency = EVAL_REMINDER;
	c.days_late = 0;
	record_held(fx, &c, T0);
	assert_int_equal(form(fx, T0, &next), 1);
	assert_int_equal(take(fx, T0, CHANNEL_EMAIL, NULL, d, 4), 1);
	assert_true(d[0]->digest);
	assert_string_equal(d[0]->recipient, "tm.north@council.example");
	assert_null(d[0]->contact);
	assert_int_equal(d[0]->part, 1);
	assert_int_equal(d[0]->parts, 1);
	assert_int_equal(d[0]->nitems, 2);
	assert_null(d[0]->rule);
	for (size_t i = 0; i < d[0]->nitems; i++)
		if (strcmp(d[0]->items[i]->case_ref, "A01") == 0)
			late = d[0]->items[i];
		else
			reminder = d[0]->items[i];
	assert_non_null(late);
	assert_non_null(reminder);
	assert_string_equal(late->label, "Escalated: service manager");
	assert_int_equal(late->urgency, DELIVERY_ESCALATION);
	assert_string_equal(late->case_url, "https://cms.council.example/case/A01");
	assert_string_equal(late->status, "10 working days overdue");
	/* Its history: the reminder sent before (its own delivery is not in it). */
	assert_int_equal(late->nhistory, 1);
	assert_string_equal(late->history[0].stage, "Reminder: IRO");
	assert_string_equal(late->history[0].status, "sent");
	assert_string_equal(late->history[0].recipient, "tm.north@council.example");
	/* An alert recorded without a label reads as its stage's name. */
	assert_string_equal(reminder->label, "overdue");
	assert_int_equal(reminder->urgency, DELIVERY_REMINDER);
	assert_null(reminder->case_url);
	assert_int_equal(reminder->nhistory, 0);
	delivery_free(d[0]);
}

/* More items than the channel takes in one message: numbered parts, most urgent first. */
static void
test_bundle_parts(void **state)
{
	struct fixture *fx = *state;
	int per = notifier_digest_limit(CHANNEL_EMAIL), n = per + 5;
	struct delivery *d[4];
	long long next;
	char ref[16];

	fx->ss = open_store(fx, false);
	for (int i = 0; i < n; i++) {
		struct alert a;

		snprintf(ref, sizeof ref, "P%04d", i);
		a = make_alert(fx, ref, 1, 1);
		/* The last one recorded is the one escalation: it must lead part 1. */
		a.urgency = i == n - 1 ? EVAL_ESCALATION : EVAL_OVERDUE;
		a.days_late = i % 7;
		record_held(fx, &a, T0);
	}
	assert_int_equal(form(fx, T0, &next), 2);
	assert_int_equal(take(fx, T0, CHANNEL_EMAIL, NULL, d, 4), 2);
	assert_int_equal(d[0]->part + d[1]->part, 3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(d[i]->parts, 2);
		assert_int_equal(d[i]->nitems, d[i]->part == 1 ? (size_t)per : 5);
		if (d[i]->part == 1) {
			bool found = false;

			for (size_t j = 0; j < d[i]->nitems; j++)
				if (strcmp(d[i]->items[j]->case_ref, ref) == 0)
					found = d[i]->items[j]->urgency == DELIVERY_ESCALATION;
			assert_true(found);
		}
	}
	delivery_free(d[0]);
	delivery_free(d[1]);
}

/* A digest's result is its items': sent, retried (items wait), failed. */
static void
test_bundle_finish(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 2), b = make_alert(fx, "A02", 1, 2);
	struct outcome_record o = {0};
	struct delivery *d[4];
	char *cause = NULL;
	long long next;
	int n;

	fx->ss = open_store(fx, false);
	record_held(fx, &a, T0);
	record_held(fx, &b, T0);
	assert_int_equal(form(fx, T0, &next), 2);
	n = take(fx, T0, CHANNEL_EMAIL, NULL, d, 4);
	assert_int_equal(n, 2);

	/* The first digest: a retry leaves its items bundled. */
	o.id = d[0]->id;
	o.outcome = OUTCOME_RETRY;
	o.next_attempt = T0 + 30;
	o.detail = "421 try later";
	o.recipient = d[0]->recipient;
	assert_int_equal(queue_finish(fx->ss, &o, 1, &cause), 0);
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'bundled'", "4");
	/* Then sent: both its items are sent, at the same time. */
	o.outcome = OUTCOME_SENT;
	o.detail = NULL;
	assert_int_equal(queue_finish(fx->ss, &o, 1, &cause), 0);
	expect_sql(fx->path,
	           "SELECT count(*) FROM delivery m JOIN delivery d ON d.id = m.digest_id WHERE "
	           "m.status = 'sent' AND m.sent_at = d.sent_at",
	           "2");
	/* The second: failed for good, and so are its items. */
	o.id = d[1]->id;
	o.outcome = OUTCOME_FAILED;
	o.detail = "550 no such user";
	o.recipient = d[1]->recipient;
	assert_int_equal(queue_finish(fx->ss, &o, 1, &cause), 0);
	expect_sql(fx->path,
	           "SELECT group_concat(DISTINCT last_error) FROM delivery WHERE status = "
	           "'failed' AND alert_id IS NOT NULL",
	           "550 no such user");
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status IN ('held', 'bundled')",
	           "0");
	delivery_free(d[0]);
	delivery_free(d[1]);
}

/* A digest leased when escalatord died is taken again, with the same id and items. */
static void
test_bundle_resumed(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 1), b = make_alert(fx, "A02", 1, 1);
	struct delivery *d[2];
	char *cause = NULL, *uid;
	long long next;

	fx->ss = open_store(fx, false);
	record_held(fx, &a, T0);
	record_held(fx, &b, T0);
	assert_int_equal(form(fx, T0, &next), 1);
	assert_int_equal(take(fx, T0, CHANNEL_EMAIL, NULL, d, 2), 1);
	uid = xstrdup(d[0]->uid);
	delivery_free(d[0]);
	/* kill -9: the store is reopened, what was in flight is due again. */
	statestore_close(fx->ss);
	fx->ss = open_store(fx, false);
	assert_int_equal(queue_reset_in_flight(fx->ss, &cause), 1);
	/* Nothing is bundled twice. */
	assert_int_equal(form(fx, T0 + 5, &next), 0);
	assert_int_equal(take(fx, T0 + 5, CHANNEL_EMAIL, NULL, d, 2), 1);
	assert_string_equal(d[0]->uid, uid);
	assert_int_equal(d[0]->nitems, 2);
	assert_int_equal(d[0]->attempts, 2);
	delivery_free(d[0]);
	free(uid);
}

/* A backlog of many destinations is bundled in batches, each destination whole. */
static void
test_bundle_batches(void **state)
{
	struct fixture *fx = *state;
	int n = BUNDLE_DESTS + 44, k;
	struct recipient *rc = xcalloc((size_t)n, sizeof *rc);
	char **addr = xcalloc((size_t)n, sizeof *addr);
	long long next;
	char *cause = NULL;
	bool more;

	fx->ss = open_store(fx, false);
	for (int i = 0; i < n; i++) {
		addr[i] = xasprintf("iro.%03d@council.example", i);
		rc[i].kind = CHANNEL_EMAIL;
		rc[i].address = addr[i];
	}
	for (int c = 0; c < 3; c++) {
		char ref[16];
		bool *held = xcalloc((size_t)n, sizeof *held);
		struct alert a;

		snprintf(ref, sizeof ref, "B%d", c);
		a = make_alert(fx, ref, 1, 0);
		for (int i = 0; i < n; i++)
			held[i] = true;
		a.recipients = rc;
		a.nrecipients = (size_t)n;
		a.held = held;
		a.digest_at = T0;
		record(fx->ss, &a, (bool[4]){false});
		free(held);
	}
	/* At most BUNDLE_DESTS destinations a call, and fewer when the items pass max_items. */
	k = bundle_form(fx->ss, T0, 20000, &next, &more, &cause);
	assert_int_equal(k, BUNDLE_DESTS);
	assert_true(more);
	k = bundle_form(fx->ss, T0, 5, &next, &more, &cause);
	assert_int_equal(k, 2); /* 3 items each: the second destination passes 5 */
	assert_true(more);
	k = bundle_form(fx->ss, T0, 20000, &next, &more, &cause);
	assert_int_equal(k, 42);
	assert_false(more);
	assert_int_equal(bundle_form(fx->ss, T0, 20000, &next, &more, &cause), 0);
	assert_false(more);
	/* Every destination's three items in one digest. */
	expect_sql(fx->path,
	           "SELECT count(*) FROM (SELECT digest_id FROM delivery WHERE digest_id IS NOT "
	           "NULL GROUP BY digest_id HAVING count(*) = 3 AND count(DISTINCT recipient) = 1)",
	           "300");
	for (int i = 0; i < n; i++)
		free(addr[i]);
	free(addr);
	free(rc);
}

/* A delivery sent on its own (not held) is never bundled. */
static void
test_bundle_not_held(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 2);
	bool held[3] = {true, false, false};
	long long next;

	fx->ss = open_store(fx, false);
	a.held = held;
	a.digest_at = T0;
	record(fx->ss, &a, (bool[4]){false});
	assert_int_equal(form(fx, T0, &next), 1);
	expect_sql(
	    fx->path,
	    "SELECT status FROM delivery WHERE recipient = 'service.manager@council.example'",
	    "pending");
	expect_sql(fx->path,
	           "SELECT status FROM delivery WHERE recipient = 'tm.north@council.example' AND "
	           "alert_id IS NOT NULL",
	           "bundled");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bundle_at_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_parts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_finish, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_resumed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_not_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_batches, setup, teardown),
	};

	return cmocka_run_group_tests_name("bundle", tests, NULL, NULL);
}
