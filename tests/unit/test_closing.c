/*
 * test_closing.c - unit tests for daemon/closing.c: alerted clocks that left
 * their rule's rows recorded as done, with a note held for each person told,
 * and a clock whose row comes back opened again.
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
#include "calendar.h"
#include "closing.h"
#include "config.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

#define T0 1800000000LL

/* Sweep fx's rule as if the rows read were cases[0..n) (start 2026-12-18), with cfg. */
static long long
sweep_cfg(struct fixture *fx, const struct config *cfg, const char *const *cases, size_t n,
          date_t today)
{
	struct calendar *cal = calendar_new();
	uint64_t *seen = xcalloc(n + 1, sizeof *seen);
	long long closed = 0;
	char *cause = NULL;

	for (size_t i = 0; i < n; i++)
		seen[i] = closing_key(cases[i], D("2026-12-18"));
	if (statestore_begin(fx->ss, &cause) != 0 ||
	    closing_sweep(fx->ss, cfg, &fx->r, cal, seen, n, today, T0, &closed, &cause) != 0 ||
	    statestore_commit(fx->ss, &cause) != 0)
		fail_msg("closing_sweep: %s", cause);
	free(seen);
	calendar_free(cal);
	return closed;
}

/* Sweep without a configuration. */
static long long
sweep(struct fixture *fx, const char *const *cases, size_t n, date_t today)
{
	return sweep_cfg(fx, NULL, cases, n, today);
}

/* A GOV.UK Notify contact without digest_template cannot take a digest: no note for it. */
static void
test_closing_notify_without_digest(void **state)
{
	static const char *const none[] = {"X"};
	static const struct recipient rc[] = {
	    {.kind = CHANNEL_GOVUK_NOTIFY, .address = "plain", .contact = "plain"},
	    {.kind = CHANNEL_GOVUK_NOTIFY, .address = "digests", .contact = "digests"},
	    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"},
	};
	struct contact contacts[] = {
	    {.name = "plain", .kind = CHANNEL_GOVUK_NOTIFY, .digest = CONFIG_DIGEST_INHERIT},
	    {.name = "digests",
	     .kind = CHANNEL_GOVUK_NOTIFY,
	     .digest = CONFIG_DIGEST_INHERIT,
	     .digest_template = "0b6f3a2e-98c7-4a8e-b3e1-3b5c4c1a9d10"},
	};
	struct config cfg = {.contacts = contacts, .ncontacts = 2, .digest = CONFIG_DIGEST_DAILY};
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 0);

	fx->ss = open_store(fx, false);
	fx->r.kind = RULE_CLOCK;
	a.recipients = rc;
	a.nrecipients = 3;
	record(fx->ss, &a, (bool[4]){false});
	assert_int_equal(sweep_cfg(fx, &cfg, none, 1, D("2027-02-01")), 1);
	expect_sql(fx->path,
	           "SELECT group_concat(recipient, ' ') FROM (SELECT recipient FROM delivery WHERE "
	           "closed_id IS NOT NULL ORDER BY recipient)",
	           "digests tm.north@council.example");
}

/* An alerted clock no longer in the rows is done: recorded once, with how late it was. */
static void
test_closing_gone(void **state)
{
	static const char *const both[] = {"A01", "A02"}, *const one[] = {"A01"};
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 2), b = make_alert(fx, "A02", 2, 3);

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, (bool[4]){false});
	b.label = "Escalated";
	record(fx->ss, &b, (bool[4]){false});
	/* A02's email to tm.north was sent; its webhook failed for good; the other pending. */
	exec_sql(fx->path, "UPDATE delivery SET status = 'sent' WHERE alert_id = 2 AND recipient = "
	                   "'tm.north@council.example';"
	                   "UPDATE delivery SET status = 'failed' WHERE alert_id = 2 AND kind = "
	                   "'webhook'");
	fx->r.kind = RULE_CLOCK;
	assert_int_equal(sweep(fx, both, 2, D("2027-02-01")), 0);
	expect_sql(fx->path, "SELECT count(*) FROM closed_clock", "0");

	/* A02's row is gone on Mon 1 Feb 2027: due 20 Jan, 8 working days late. */
	assert_int_equal(sweep(fx, one, 1, D("2027-02-01")), 1);
	expect_sql(
	    fx->path,
	    "SELECT case_ref || ' ' || due || ' ' || closed_on || ' ' || days_late || ' ' || "
	    "last_stage || ' ' || label FROM closed_clock",
	    "A02 2027-01-20 2027-02-01 8 escalated Escalated");
	/* A note for each person told (not the webhook that failed), held for the digest. */
	expect_sql(fx->path,
	           "SELECT group_concat(recipient || ' ' || status || ' ' || next_attempt, ', ') "
	           "FROM (SELECT * FROM delivery WHERE closed_id IS NOT NULL ORDER BY recipient)",
	           "service.manager@council.example held 1800000000, tm.north@council.example "
	           "held 1800000000");
	/* Recorded once: a second pass without it changes nothing. */
	assert_int_equal(sweep(fx, one, 1, D("2027-02-02")), 0);
	expect_sql(fx->path, "SELECT count(*) FROM closed_clock", "1");
	expect_sql(fx->path, "SELECT closed_on FROM closed_clock", "2027-02-01");
}

/* A clock closed whose row comes back is open again, and closes again later. */
static void
test_closing_reopened(void **state)
{
	static const char *const none[] = {"X"}, *const back[] = {"A01"};
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 1);
	bool rec[4], closed = false;
	char *cause = NULL;

	fx->ss = open_store(fx, false);
	fx->r.kind = RULE_CLOCK;
	record(fx->ss, &a, (bool[4]){false});
	assert_int_equal(sweep(fx, none, 1, D("2027-01-18")), 1);
	expect_sql(fx->path, "SELECT days_late FROM closed_clock", "0"); /* in time */
	assert_int_equal(
	    alertstore_recorded(fx->ss, &fx->r, "A01", D("2026-12-18"), rec, &closed, &cause), 0);
	assert_true(closed);
	assert_true(rec[1]);

	assert_int_equal(
	    closing_reopen(fx->ss, fx->r.id, "A01", D("2026-12-18"), D("2027-01-19"), &cause), 0);
	assert_int_equal(
	    alertstore_recorded(fx->ss, &fx->r, "A01", D("2026-12-18"), rec, &closed, &cause), 0);
	assert_false(closed);
	expect_sql(fx->path, "SELECT reopened_on FROM closed_clock", "2027-01-19");
	/* While its row is there it stays open; gone again, it is closed again. */
	assert_int_equal(sweep(fx, back, 1, D("2027-01-20")), 0);
	assert_int_equal(sweep(fx, none, 1, D("2027-01-25")), 1);
	expect_sql(fx->path,
	           "SELECT closed_on || ' ' || ifnull(reopened_on, '-') || ' ' || days_late FROM "
	           "closed_clock",
	           "2027-01-25 - 3");
}

/* Threshold rules and read-only stores close nothing. */
static void
test_closing_not_for_thresholds(void **state)
{
	static const char *const none[] = {"X"};
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 1);

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, (bool[4]){false});
	fx->r.kind = RULE_THRESHOLD;
	assert_int_equal(sweep(fx, none, 1, D("2027-02-01")), 0);
	expect_sql(fx->path, "SELECT count(*) FROM closed_clock", "0");
}

/* The key depends on both the case reference and the start. */
static void
test_closing_key(void **state)
{
	(void)state;
	assert_true(closing_key("A01", D("2026-12-18")) != closing_key("A01", D("2026-12-19")));
	assert_true(closing_key("A01", D("2026-12-18")) != closing_key("A02", D("2026-12-18")));
	assert_true(closing_key("A01", D("2026-12-18")) == closing_key("A01", D("2026-12-18")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_closing_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_closing_reopened, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_closing_not_for_thresholds, setup, teardown),
	    cmocka_unit_test(test_closing_key),
	    cmocka_unit_test_setup_teardown(test_closing_notify_without_digest, setup, teardown),
	};

	return cmocka_run_group_tests_name("closing", tests, NULL, NULL);
}
