/*
 * test_retention.c - unit tests for daemon/retention.c on a real state store
 * file: what goes once older than retention (audit rows, answers, finished
 * deliveries, alerts with nothing left), what never goes (pending deliveries, the stages
 * recorded of each clock), batches, and the space given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "alertstore.h"
#include "answers.h"
#include "queue.h"
#include "retention.h"
#include "statestore.h"
#include "statestore_impl.h" /* the connection, to check foreign keys are on */
#include "store_fixture.h"
#include "xalloc.h"

/* 13 months, the default. */
static const struct duration thirteen = {13, DUR_MONTHS};

/* A UTC time as a time_t. */
static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};

	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* The cut-off is now moved back on the calendar, in UTC, same time of day. */
static void
test_retention_cutoff(void **state)
{
	struct duration d30 = {30, DUR_DAYS}, w2 = {2, DUR_WEEKS}, wd = {5, DUR_WORKING_DAYS},
	                zero = {0, DUR_MONTHS}, neg = {-1, DUR_DAYS};
	char buf[32];

	(void)state;
	/* 13 months before 31 March 2027 is 28 February 2026 (clamped to the month's end). */
	assert_int_equal(retention_cutoff(&thirteen, utc(2027, 3, 31, 10, 4, 5), buf, sizeof buf),
	                 0);
	assert_string_equal(buf, "2026-02-28T10:04:05Z");
	assert_int_equal(retention_cutoff(&thirteen, utc(2027, 1, 15, 0, 0, 0), buf, sizeof buf),
	                 0);
	assert_string_equal(buf, "2025-12-15T00:00:00Z");
	assert_int_equal(retention_cutoff(&d30, utc(2027, 3, 1, 23, 59, 59), buf, sizeof buf), 0);
	assert_string_equal(buf, "2027-01-30T23:59:59Z");
	assert_int_equal(retention_cutoff(&w2, utc(2027, 1, 3, 12, 0, 0), buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-12-20T12:00:00Z");
	/* Never "everything": a period that is not positive, or needs a calendar, is refused. */
	assert_int_equal(retention_cutoff(&zero, utc(2027, 1, 3, 12, 0, 0), buf, sizeof buf), -1);
	assert_int_equal(retention_cutoff(&neg, utc(2027, 1, 3, 12, 0, 0), buf, sizeof buf), -1);
	assert_int_equal(retention_cutoff(&wd, utc(2027, 1, 3, 12, 0, 0), buf, sizeof buf), -1);
}

/* Take every due delivery (leasing it) and record outcome for each. */
static void
finish_all(struct fixture *fx, enum outcome outcome, const char *detail)
{
	struct queue_request reqs[2] = {{CHANNEL_EMAIL, NULL, 64},
	                                {CHANNEL_WEBHOOK, "https://hooks.council.example/hos", 64}};
	struct delivery *d[128];
	struct outcome_record o[128];
	char *cause = NULL;
	int n = queue_take(fx->ss, 100, 300, reqs, 2, d, 128, &cause);

	if (n < 0)
		fail_msg("queue_take: %s", cause);
	if (n == 0)
		return;
	for (int i = 0; i < n; i++) {
		o[i] = (struct outcome_record){.id = d[i]->id,
		                               .outcome = outcome,
		                               .detail = (char *)detail,
		                               .recipient = d[i]->recipient};
	}
	if (queue_finish(fx->ss, o, (size_t)n, &cause) != 0)
		fail_msg("queue_finish: %s", cause);
	for (int i = 0; i < n; i++)
		delivery_free(d[i]);
	finish_all(fx, outcome, detail);
}

/* Run steps until one removes nothing; returns the rows removed in all. */
static int
sweep(struct fixture *fx, const struct duration *keep, time_t now, int batch, int *steps)
{
	char *cause = NULL;
	int n, total = 0;

	*steps = 0;
	while ((n = retention_step(fx->ss, keep, now, batch, &cause)) > 0) {
		total += n;
		(*steps)++;
		if (*steps > 100000)
			fail_msg("retention never ends");
	}
	if (n < 0)
		fail_msg("retention_step: %s", cause);
	return total;
}

/* Make everything about the alerts of these cases look recorded and finished on day. */
static void
age(struct fixture *fx, const char *cases, const char *day)
{
	char *sql = xasprintf(
	    "UPDATE alert SET created_at = '%1$sT09:00:00Z' WHERE case_ref IN (%2$s);"
	    "UPDATE delivery SET last_attempt = '%1$sT09:05:00Z', sent_at = CASE WHEN sent_at IS "
	    "NULL THEN NULL ELSE '%1$sT09:05:00Z' END WHERE alert_id IN (SELECT id FROM alert "
	    "WHERE case_ref IN (%2$s));"
	    "UPDATE audit SET at = '%1$sT09:05:00Z' WHERE delivery_id IN (SELECT d.id FROM "
	    "delivery d JOIN alert a ON a.id = d.alert_id WHERE a.case_ref IN (%2$s));",
	    day, cases);

	exec_sql(fx->path, sql);
	free(sql);
}

/*
 * Old and finished goes; pending stays with its alert; the stages stay, so
 * nothing is alerted again; young stays; nothing is left dangling.
 */
static void
test_retention_removes_old_keeps_pending_and_stages(void **state)
{
	struct fixture *fx = *state;
	bool none[4] = {false}, rec[4];
	struct alert a;
	int steps;
	time_t now = time(NULL);

	fx->ss = open_store(fx, false);
	/* OLD: three deliveries, finished (two emails sent, the webhook failed). */
	a = make_alert(fx, "OLD", 2, 3);
	record(fx->ss, &a, none);
	finish_all(fx, OUTCOME_SENT, NULL);
	exec_sql(fx->path, "UPDATE delivery SET status = 'failed', sent_at = NULL, last_error = "
	                   "'HTTP 404' WHERE kind = 'webhook'");
	/* YOUNG: sent today (between old ones in the order written). */
	a = make_alert(fx, "YOUNG", 2, 1);
	record(fx->ss, &a, none);
	finish_all(fx, OUTCOME_SENT, NULL);
	/* STUCK: recorded as long ago, still pending (no mail server for a year). */
	a = make_alert(fx, "STUCK", 1, 2);
	record(fx->ss, &a, none);
	/* HALF: one email sent long ago, the webhook still pending. */
	a = make_alert(fx, "HALF", 3, 3);
	a.recipients = &three[1];
	a.nrecipients = 2;
	record(fx->ss, &a, none);
	{
		struct queue_request req = {CHANNEL_EMAIL, NULL, 1};
		struct delivery *d[2];
		struct outcome_record o;
		char *cause = NULL;

		/* Retries of STUCK's emails: an audit row, then the same error again. */
		assert_int_equal(queue_take(fx->ss, 100, 300, &req, 1, d, 1, &cause), 1);
		o = (struct outcome_record){.id = d[0]->id,
		                            .outcome = OUTCOME_RETRY,
		                            .detail = "no mail server",
		                            .recipient = d[0]->recipient};
		assert_int_equal(queue_finish(fx->ss, &o, 1, &cause), 0);
		delivery_free(d[0]);
		exec_sql(fx->path,
		         "UPDATE delivery SET status = 'sent', sent_at = 'x', last_error = "
		         "NULL WHERE kind = 'email' AND alert_id = (SELECT id FROM alert "
		         "WHERE case_ref = 'HALF')");
	}
	age(fx, "'OLD', 'STUCK', 'HALF'", "2020-01-06");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "8");
	expect_sql(fx->path, "SELECT count(*) FROM audit", "5");

	assert_int_equal(sweep(fx, &thirteen, now, RETENTION_BATCH, &steps),
	                 /* OLD: 3 audit rows, 3 deliveries, the alert; STUCK: 1 audit row;
	                    HALF: the sent email */
	                 3 + 3 + 1 + 1 + 1);
	assert_int_equal(steps, 1);

	/* OLD is gone but for its stages, which no longer point at an alert. */
	expect_sql(fx->path, "SELECT count(*) FROM alert WHERE case_ref = 'OLD'", "0");
	expect_sql(
	    fx->path,
	    "SELECT group_concat(stage || ':' || status || ':' || ifnull(alert_id, '-'), ',') "
	    "FROM (SELECT * FROM clock_stage WHERE case_ref = 'OLD' ORDER BY stage)",
	    "escalated:alerted:-,overdue:skipped:-,reminder:skipped:-");
	recorded(fx, fx->ss, "OLD", rec);
	assert_true(rec[0] && rec[1] && rec[2]);
	assert_false(rec[3]);
	/* STUCK: its alert (text and all) and both pending deliveries stay; its old audit row goes.
	 */
	expect_sql(fx->path,
	           "SELECT count(*) || ':' || min(body != '') FROM alert WHERE case_ref = 'STUCK'",
	           "1:1");
	expect_sql(
	    fx->path,
	    "SELECT group_concat(status || ':' || attempts || ':' || ifnull(last_error, '-'), "
	    "',') FROM (SELECT d.* FROM delivery d JOIN alert a ON a.id = d.alert_id WHERE "
	    "a.case_ref = 'STUCK' ORDER BY d.id)",
	    "pending:1:no mail server,pending:0:-");
	/* HALF: the sent email goes, the pending webhook and the alert stay. */
	expect_sql(fx->path,
	           "SELECT group_concat(d.kind || ':' || d.status, ',') FROM alert a LEFT JOIN "
	           "delivery d ON d.alert_id = a.id WHERE a.case_ref = 'HALF'",
	           "webhook:pending");
	/* YOUNG: all of it. */
	expect_sql(fx->path,
	           "SELECT count(*) FROM alert a JOIN delivery d ON d.alert_id = a.id JOIN audit u "
	           "ON u.delivery_id = d.id WHERE a.case_ref = 'YOUNG'",
	           "1");
	expect_sql(fx->path, "SELECT count(*) FROM audit", "1");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "4");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage", "12");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
	expect_sql(fx->path, "PRAGMA integrity_check", "ok");
	/* Foreign keys are on again for everything else. */
	{
		char *cause = NULL;

		assert_int_equal(statestore_begin(fx->ss, &cause), 0);
		assert_int_equal(
		    sqlite3_exec(fx->ss->db->lite,
		                 "INSERT INTO delivery (alert_id, kind, recipient) VALUES (999, "
		                 "'email', 'x@council.example')",
		                 NULL, NULL, NULL),
		    SQLITE_CONSTRAINT);
		statestore_rollback(fx->ss);
	}
	/* A second sweep finds nothing more. */
	assert_int_equal(sweep(fx, &thirteen, now, RETENTION_BATCH, &steps), 0);
}

/* Deliveries finished before last_attempt was kept go by their sending, or their alert's date. */
static void
test_retention_older_rows(void **state)
{
	struct fixture *fx = *state;
	bool none[4] = {false};
	struct alert a = make_alert(fx, "A01", 1, 3);
	int steps;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	exec_sql(
	    fx->path,
	    "UPDATE alert SET created_at = '2024-05-01T08:00:00Z';"
	    "UPDATE delivery SET status = 'sent', sent_at = '2024-05-01T08:01:00Z' WHERE id = 1;"
	    "UPDATE delivery SET status = 'sent', sent_at = '2025-09-01T08:01:00Z' WHERE id = 2;"
	    "UPDATE delivery SET status = 'failed', last_error = 'HTTP 410' WHERE id = 3;");
	/* As of 2025-07-01 (cut-off 2024-06-01): 1 (sent) and 3 (failed, by the alert) go. */
	assert_int_equal(sweep(fx, &thirteen, utc(2025, 7, 1, 12, 0, 0), 64, &steps), 2);
	expect_sql(fx->path, "SELECT group_concat(id) FROM delivery", "2");
	expect_sql(fx->path, "SELECT count(*) FROM alert", "1");
	/* A year later, the last delivery and then the alert. */
	assert_int_equal(sweep(fx, &thirteen, utc(2026, 12, 1, 12, 0, 0), 64, &steps), 2);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage WHERE alert_id IS NULL", "2");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
}

/* Small steps: each takes at most a batch of each table, and the last removes nothing. */
static void
test_retention_batches(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	int n, steps = 0, total = 0;

	fx->ss = open_store(fx, false);
	record_many(fx, "B", 90, three, 1);
	finish_all(fx, OUTCOME_SENT, NULL);
	/* Alerts with nobody to tell (no delivery at all) go too. */
	record_many(fx, "Z", 30, three, 0);
	age(fx, "SELECT case_ref FROM alert", "2021-03-01");
	/* 90 alerts + 90 deliveries + 90 audit rows + 30 alerts, 10 of a kind per step. */
	while ((n = retention_step(fx->ss, &thirteen, time(NULL), 10, &cause)) > 0) {
		/* Audit rows, deliveries with theirs and their alerts, other alerts: 10 each. */
		assert_true(n <= 10 + 10 * 3 + 10);
		total += n;
		steps++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, 300);
	assert_true(steps >= 9);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage", "240");
	/* Inside an open transaction (a pass in progress) it waits: nothing is done. */
	record_many(fx, "C", 1, three, 0);
	age(fx, "'C00'", "2021-03-01");
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(retention_step(fx->ss, &thirteen, time(NULL), 10, &cause), 0);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "1");
}

/* A new store gives the space back: the file shrinks after a sweep. */
static void
test_retention_reclaims_space(void **state)
{
	struct fixture *fx = *state;
	char *body = xmalloc(4001), *pages_before, *pages_after;
	bool none[4] = {false};
	int steps;

	memset(body, 'x', 4000);
	body[4000] = '\0';
	fx->ss = open_store(fx, false);
	assert_true(retention_reclaims(fx->ss));
	expect_sql(fx->path, "PRAGMA auto_vacuum", "2");
	for (int i = 0; i < 400; i++) {
		char case_ref[16];
		struct alert a;

		snprintf(case_ref, sizeof case_ref, "R%03d", i);
		a = make_alert(fx, case_ref, 1, 1);
		a.body = body;
		record(fx->ss, &a, none);
	}
	finish_all(fx, OUTCOME_SENT, NULL);
	age(fx, "SELECT case_ref FROM alert", "2021-03-01");
	exec_sql(fx->path, "PRAGMA wal_checkpoint(TRUNCATE)");
	pages_before = query1(fx->path, "PRAGMA page_count");
	assert_int_equal(sweep(fx, &thirteen, time(NULL), 64, &steps), 1200);
	exec_sql(fx->path, "PRAGMA wal_checkpoint(TRUNCATE)");
	pages_after = query1(fx->path, "PRAGMA page_count");
	if (atoi(pages_after) * 4 > atoi(pages_before))
		fail_msg("page_count %s before, %s after: the space was not given back",
		         pages_before, pages_after);
	expect_sql(fx->path, "PRAGMA freelist_count", "0");
	free(pages_before);
	free(pages_after);
	free(body);
}

/* A store made before auto_vacuum says so, and retention still works on it. */
static void
test_retention_older_store(void **state)
{
	struct fixture *fx = *state;
	bool none[4] = {false};
	struct alert a = make_alert(fx, "A01", 1, 1);
	int steps;

	/* A file with a table already: auto_vacuum can no longer be set on it. */
	exec_sql(fx->path, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
	fx->ss = open_store(fx, false);
	expect_sql(fx->path, "PRAGMA auto_vacuum", "0");
	assert_false(retention_reclaims(fx->ss));
	record(fx->ss, &a, none);
	finish_all(fx, OUTCOME_FAILED, "550 no such user");
	age(fx, "'A01'", "2021-03-01");
	assert_int_equal(sweep(fx, &thirteen, time(NULL), 64, &steps), 3);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
}

/* Answer delivery id through answers.c, as the listener does; the answer's id. */
static long long
answer(struct fixture *fx, long long id, enum answer_kind kind, const char *agreed_on)
{
	struct answer an = {.kind = kind, .agreed_on = agreed_on, .note = "booked"};
	struct delivery *d = NULL;
	char *cause = NULL;
	long long aid;

	if (answers_target(fx->ss, id, &d, &cause) != 0)
		fail_msg("answers_target(%lld): %s", id, cause ? cause : "no such delivery");
	if ((aid = answers_add(fx->ss, d, &an, &cause)) < 0)
		fail_msg("answers_add: %s", cause);
	delivery_free(d);
	return aid;
}

/*
 * Answers go by their own age (answered_at), whatever is left of the alert
 * they answered; an old answer amended by a young one goes, the young one
 * stays; nothing else of the clock is touched.
 */
static void
test_retention_answers(void **state)
{
	struct fixture *fx = *state;
	bool none[4] = {false};
	struct alert a;
	char agreed[DATE_STRLEN], stage[32], *cause = NULL;
	int steps;

	fx->ss = open_store(fx, false);
	a = make_alert(fx, "OLD", 1, 2);
	record(fx->ss, &a, none);
	a = make_alert(fx, "YOUNG", 1, 1);
	record(fx->ss, &a, none);
	finish_all(fx, OUTCOME_SENT, NULL);
	/* OLD: agreed through delivery 1, then amended from the same link; 2 acknowledged. */
	answer(fx, 1, ANSWER_AGREED, "2020-01-20");
	answer(fx, 1, ANSWER_ACKNOWLEDGED, NULL);
	answer(fx, 2, ANSWER_AGREED, "2020-01-24");
	/* YOUNG: agreed today. */
	answer(fx, 3, ANSWER_AGREED, "2027-02-01");
	exec_sql(fx->path, "UPDATE response SET answered_at = '2020-01-06T10:00:00Z' WHERE "
	                   "case_ref = 'OLD' AND id < 3;"
	                   "UPDATE response SET answered_at = '2020-01-07T10:00:00Z' WHERE id = 3");
	expect_sql(fx->path, "SELECT count(*) FROM response", "4");
	/* The old answers only: the deliveries and their audit rows are today's. */
	assert_int_equal(sweep(fx, &thirteen, time(NULL), RETENTION_BATCH, &steps), 3);
	expect_sql(fx->path, "SELECT group_concat(case_ref || ':' || agreed_on) FROM response",
	           "YOUNG:2027-02-01");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "3");
	expect_sql(fx->path, "SELECT count(*) FROM alert", "2");
	/* The answers' audit rows are audit rows: they go by their own time, not yet. */
	expect_sql(fx->path, "SELECT count(*) FROM audit WHERE result = 'answered'", "4");
	assert_int_equal(answers_agreed(fx->ss, "cic-first-review", "OLD", "2026-12-18", agreed,
	                                stage, sizeof stage, &cause),
	                 0);
	assert_int_equal(answers_agreed(fx->ss, "cic-first-review", "YOUNG", "2026-12-18", agreed,
	                                stage, sizeof stage, &cause),
	                 1);
	assert_string_equal(agreed, "2027-02-01");
	assert_string_equal(stage, "overdue");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
	assert_int_equal(sweep(fx, &thirteen, time(NULL), RETENTION_BATCH, &steps), 0);
}

/* Old answers go a batch at a time, oldest first, like audit rows. */
static void
test_retention_answers_batches(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	int n, total = 0, steps = 0;

	fx->ss = open_store(fx, false);
	record_many(fx, "B", 25, three, 1);
	finish_all(fx, OUTCOME_SENT, NULL);
	for (long long id = 1; id <= 25; id++)
		answer(fx, id, ANSWER_ACKNOWLEDGED, NULL);
	/* Only the answers are old: 25 of them, 10 a step. */
	exec_sql(fx->path, "UPDATE response SET answered_at = '2021-03-01T09:00:00Z'");
	while ((n = retention_step(fx->ss, &thirteen, time(NULL), 10, &cause)) > 0) {
		assert_true(n <= 10);
		total += n;
		steps++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, 25);
	assert_int_equal(steps, 3);
	expect_sql(fx->path, "SELECT count(*) FROM response", "0");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "25");
}

/* Register one test with the state store fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retention_cutoff),
	    T(test_retention_removes_old_keeps_pending_and_stages),
	    T(test_retention_older_rows),
	    T(test_retention_batches),
	    T(test_retention_reclaims_space),
	    T(test_retention_older_store),
	    T(test_retention_answers),
	    T(test_retention_answers_batches),
	};

	return cmocka_run_group_tests_name("retention", tests, NULL, NULL);
}
