/*
 * test_queue.c - unit tests for daemon/queue.c: the destinations waiting,
 * taking due deliveries as records, recording results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <jansson.h>

#include "alertstore.h"
#include "notifier.h"
#include "queue.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

/* The outbox depth counts pending deliveries only. */
static void
test_queue_depth(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 3), b = make_alert(fx, "A02", 0, 2);
	bool none[4] = {false, false, false, false};
	sqlite3 *db;

	fx->ss = open_store(fx, false);
	assert_int_equal(queue_depth(fx->ss), 0);
	record(fx->ss, &a, none);
	assert_int_equal(queue_depth(fx->ss), 3);
	record(fx->ss, &b, none);
	assert_int_equal(queue_depth(fx->ss), 5);
	/* An alert with nobody left to tell adds no delivery. */
	b = make_alert(fx, "A03", 0, 0);
	record(fx->ss, &b, none);
	assert_int_equal(queue_depth(fx->ss), 5);

	/* Deliveries sent or failed leave the outbox. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE delivery SET status = 'sent' WHERE id = 1;"
	                              "UPDATE delivery SET status = 'failed' WHERE id = 2;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(queue_depth(fx->ss), 3);
}
/* Every kind of delivery is recorded and read back, with the expected text. */
static void
test_queue_channel_kinds(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 0);
	struct queue_request reqs[5];
	struct delivery *taken[8];
	bool rec[4] = {false};
	char *cause = NULL;
	int n;

	fx->ss = open_store(fx, false);
	a.recipients = kinds;
	a.nrecipients = 5;
	a.expected = "hold the review within 5 working days";
	record(fx->ss, &a, rec);
	expect_sql(
	    fx->path,
	    "SELECT group_concat(kind || ':' || recipient, ',') FROM (SELECT kind, recipient "
	    "FROM delivery ORDER BY id)",
	    "email:tm.north@council.example,webhook:https://hooks.council.example/hos,"
	    "teams:managers,slack:iro_team,notify:iro_manager");
	for (int i = 0; i < 5; i++)
		reqs[i] = (struct queue_request){
		    kinds[i].kind, kinds[i].kind == CHANNEL_EMAIL ? NULL : kinds[i].address, 8};
	n = queue_take(fx->ss, 100, 200, reqs, 5, taken, 8, &cause);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++) {
		assert_int_equal(taken[i]->kind, kinds[i].kind);
		assert_string_equal(taken[i]->recipient, kinds[i].address);
		assert_string_equal(taken[i]->expected, "hold the review within 5 working days");
		assert_int_equal(taken[i]->attempts, 1);
		delivery_free(taken[i]);
	}
}
/* Groups by destination (all email as one), and taking a given count from each. */
static void
test_queue_groups_and_batch(void **state)
{
	static const struct recipient slack = {.kind = CHANNEL_SLACK, .address = "iro_team"};
	static const struct recipient mail[] = {
	    {.kind = CHANNEL_EMAIL, .address = "a@council.example"},
	    {.kind = CHANNEL_EMAIL, .address = "b@council.example"},
	};
	struct fixture *fx = *state;
	struct queue_group *g;
	struct queue_request reqs[2];
	struct delivery *items[16];
	size_t ng;
	char *cause = NULL, *sql;
	int n;

	fx->ss = open_store(fx, false);
	record_many(fx, "S", 5, &slack, 1); /* deliveries 1-5 */
	record_many(fx, "M", 3, mail, 2);   /* deliveries 6-11 */
	/* Two slack deliveries wait for a retry at 500. */
	sql = xasprintf("UPDATE delivery SET next_attempt = 500 WHERE id IN (4, 5)");
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	free(sql);

	assert_int_equal(queue_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
	assert_int_equal(ng, 2);
	/* Slack's are older (recorded first, same next_attempt 0): first. */
	assert_int_equal(g[0].kind, CHANNEL_SLACK);
	assert_string_equal(g[0].recipient, "iro_team");
	assert_int_equal(g[0].due, 3);
	assert_int_equal(g[0].next, 500);
	assert_int_equal(g[1].kind, CHANNEL_EMAIL);
	assert_null(g[1].recipient);
	assert_int_equal(g[1].due, 6);
	assert_int_equal(g[1].next, 0);
	queue_groups_free(g, ng);

	/* One from Slack (its pace), four emails (its share). */
	reqs[0] = (struct queue_request){CHANNEL_SLACK, "iro_team", 1};
	reqs[1] = (struct queue_request){CHANNEL_EMAIL, NULL, 4};
	n = queue_take(fx->ss, 100, 300, reqs, 2, items, 16, &cause);
	assert_int_equal(n, 5);
	assert_int_equal(items[0]->kind, CHANNEL_SLACK);
	assert_int_equal(items[0]->id, 1);
	for (int i = 1; i < 5; i++)
		assert_int_equal(items[i]->kind, CHANNEL_EMAIL);
	for (int i = 0; i < n; i++)
		delivery_free(items[i]);
	/* Taken means leased: one attempt each, not due again before the lease ends. */
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE in_flight = 1 AND attempts = 1",
	           "5");
	assert_int_equal(queue_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
	assert_int_equal(g[0].due, 2);
	assert_int_equal(g[0].next, 300); /* the lease of the one in flight */
	assert_int_equal(g[1].due, 2);
	queue_groups_free(g, ng);

	/* Never more than max in all, and nothing not due. */
	reqs[0] = (struct queue_request){CHANNEL_SLACK, "iro_team", 10};
	n = queue_take(fx->ss, 100, 300, reqs, 2, items, 3, &cause);
	assert_int_equal(n, 3);
	assert_int_equal(items[0]->kind, CHANNEL_SLACK);
	assert_int_equal(items[1]->kind, CHANNEL_SLACK);
	assert_int_equal(items[2]->kind, CHANNEL_EMAIL);
	for (int i = 0; i < n; i++)
		delivery_free(items[i]);
	/* Deliveries not taken were not touched: no attempt counted. */
	expect_sql(fx->path, "SELECT group_concat(attempts, '') FROM delivery WHERE id IN (4, 5)",
	           "00");
}
/*
 * Every destination is found however the addresses sort (one a prefix of
 * another, email among the other kinds, many addresses); due counts stop at
 * the cap; groups come in due order; each destination's take is its own.
 */
static void
test_queue_groups_many(void **state)
{
	static const struct recipient rs[] = {
	    {.kind = CHANNEL_WEBHOOK, .address = "https://h.example/a"},
	    {.kind = CHANNEL_WEBHOOK, .address = "https://h.example/a/b"},
	    {.kind = CHANNEL_EMAIL, .address = "z@council.example"},
	    {.kind = CHANNEL_TEAMS, .address = "https://teams.example/x"},
	};
	static const struct recipient more[] = {
	    {.kind = CHANNEL_EMAIL, .address = "a@council.example"},
	    {.kind = CHANNEL_WEBHOOK, .address = "https://h.example/"},
	};
	static const char *const order[] = {"https://h.example/a/b", NULL,
	                                    "https://teams.example/x", "https://h.example/",
	                                    "https://h.example/a"};
	static const long long firsts[] = {2, 3, 4, 18, 1};
	struct fixture *fx = *state;
	struct queue_group *g;
	struct queue_request req;
	struct delivery *items[8];
	size_t ng;
	char *cause = NULL;
	int n;

	fx->ss = open_store(fx, false);
	record_many(fx, "R", 4, rs, 4);   /* deliveries 1-16, four per alert */
	record_many(fx, "Q", 3, more, 2); /* deliveries 17-22 */
	exec_sql(fx->path, "UPDATE delivery SET next_attempt = 50 WHERE recipient = "
	                   "'https://h.example/';"
	                   "UPDATE delivery SET next_attempt = 60 WHERE recipient = "
	                   "'https://h.example/a'");

	/* Due order: the earliest next_attempt first, then the first delivery. */
	assert_int_equal(queue_groups(fx->ss, 100, 2, &g, &ng, &cause), 0);
	assert_int_equal(ng, 5);
	for (size_t i = 0; i < ng; i++) {
		if (order[i] == NULL) {
			assert_int_equal(g[i].kind, CHANNEL_EMAIL);
			assert_null(g[i].recipient);
		} else
			assert_string_equal(g[i].recipient, order[i]);
		assert_int_equal(g[i].first, firsts[i]);
		assert_int_equal(g[i].due, 2); /* the cap: each has 3 or more due */
		assert_int_equal(g[i].next, 0);
	}
	assert_int_equal(g[2].kind, CHANNEL_TEAMS);
	assert_int_equal(g[3].oldest, 50);
	assert_int_equal(g[4].oldest, 60);
	queue_groups_free(g, ng);

	/* Email is one destination: every address, in due order. */
	req = (struct queue_request){CHANNEL_EMAIL, NULL, 8};
	n = queue_take(fx->ss, 100, 300, &req, 1, items, 8, &cause);
	assert_int_equal(n, 7);
	assert_int_equal(items[0]->id, 3);
	assert_int_equal(items[3]->id, 15);
	assert_int_equal(items[4]->id, 17);
	assert_int_equal(items[6]->id, 21);
	for (int i = 0; i < n; i++)
		delivery_free(items[i]);
	/* A webhook's take is its own address only, not one it is a prefix of. */
	req = (struct queue_request){CHANNEL_WEBHOOK, "https://h.example/a", 8};
	n = queue_take(fx->ss, 100, 300, &req, 1, items, 8, &cause);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		assert_string_equal(items[i]->recipient, "https://h.example/a");
		delivery_free(items[i]);
	}
	/* Taken ones are in flight until 300: not due, and due again then; they sort last. */
	assert_int_equal(queue_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
	assert_int_equal(ng, 5);
	assert_string_equal(g[0].recipient, "https://h.example/a/b");
	assert_int_equal(g[0].due, 4);
	assert_int_equal(g[1].kind, CHANNEL_TEAMS);
	assert_int_equal(g[1].due, 4);
	assert_string_equal(g[2].recipient, "https://h.example/");
	assert_int_equal(g[2].due, 3);
	for (size_t i = 3; i < ng; i++) {
		assert_int_equal(g[i].due, 0);
		assert_int_equal(g[i].oldest, 0);
		assert_int_equal(g[i].next, 300);
	}
	queue_groups_free(g, ng);
}
/* Take every due delivery of the webhook three[2] (one request, up to max), failing on error. */
static int
take_hook(struct fixture *fx, struct delivery **out, int max)
{
	struct queue_request req = {CHANNEL_WEBHOOK, "https://hooks.council.example/hos", max};
	char *cause = NULL;
	int n = queue_take(fx->ss, 100, 300, &req, 1, out, max, &cause);

	if (n < 0)
		fail_msg("queue_take: %s", cause);
	return n;
}

/* A delivery taken is a whole record: the alert as recorded, its fields parsed, no credentials. */
static void
test_queue_record(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};
	struct delivery *d;
	char *instance, *uid;

	fx->ss = open_store(fx, false);
	a.fields = "{\"team\":\"North\",\"n\":2,\"placement\":null}";
	a.expected = "hold the review";
	record(fx->ss, &a, none);
	assert_int_equal(take_hook(fx, &d, 1), 1);
	instance = query1(fx->path, "SELECT value FROM meta WHERE key = 'instance'");
	uid = xasprintf("esc-%s-3", instance);
	assert_int_equal(d->id, 3);
	assert_string_equal(d->uid, uid);
	assert_int_equal(d->kind, CHANNEL_WEBHOOK);
	assert_string_equal(d->recipient, "https://hooks.council.example/hos");
	assert_int_equal(d->attempts, 1);
	assert_string_equal(d->rule, "cic-first-review");
	assert_string_equal(d->title, "First Child in Care review");
	assert_string_equal(d->case_ref, "A01");
	assert_string_equal(d->stage, "escalated");
	assert_string_equal(d->start, "2026-12-18");
	assert_string_equal(d->due, "2027-01-20");
	assert_string_equal(d->fires, "2027-02-03T08:00:00");
	assert_int_equal(d->days_late, 10);
	assert_string_equal(d->status, "10 working days overdue");
	assert_string_equal(d->subject, "First Child in Care review: escalated for case A01");
	assert_string_equal(d->body, "First Child in Care review\n\nCase: A01\n");
	assert_string_equal(d->expected, "hold the review");
	assert_true(json_is_object(d->fields));
	assert_int_equal(json_object_size(d->fields), 3);
	assert_string_equal(json_string_value(json_object_get(d->fields, "team")), "North");
	assert_int_equal(json_integer_value(json_object_get(d->fields, "n")), 2);
	assert_true(json_is_null(json_object_get(d->fields, "placement")));
	assert_null(d->fields_error);
	/* Credentials are the outbox's to fill in, from the configuration. */
	assert_null(d->secret);
	assert_null(d->template_id);
	assert_null(d->base_url);
	delivery_free(d);
	free(uid);
	free(instance);
	/* No fields: none. */
	a = make_alert(fx, "A02", 2, 3);
	record(fx->ss, &a, none);
	assert_int_equal(take_hook(fx, &d, 1), 1);
	assert_null(d->fields);
	assert_null(d->fields_error);
	delivery_free(d);
}

/*
 * Fields as recorded that are not a JSON object (only a damaged file holds
 * such) are not parsed: the record says why, and is still taken (leased), so
 * the outbox can record the failure.
 */
static void
test_queue_bad_fields(void **state)
{
	static const struct {
		const char *text, *cause;
	} bad[] = {
	    {"[1, 2]", "the alert's fields are not a JSON object"},
	    {"\"text\"", "the alert's fields are not valid JSON: "}, /* not an array or object */
	    {"{\"a\": ", "the alert's fields are not valid JSON: "},
	    {"{\"a\": 1, \"a\": 2}", "the alert's fields are not valid JSON: "},
	    {"", "the alert's fields are not valid JSON: "},
	};
	struct fixture *fx = *state;
	bool none[4] = {false, false, false, false};
	struct delivery *d;

	fx->ss = open_store(fx, false);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char case_ref[8];
		struct alert a;

		snprintf(case_ref, sizeof case_ref, "B%zu", i);
		a = make_alert(fx, case_ref, 2, 3);
		a.fields = bad[i].text;
		record(fx->ss, &a, none);
		assert_int_equal(take_hook(fx, &d, 1), 1);
		assert_string_equal(d->case_ref, case_ref);
		assert_null(d->fields);
		assert_non_null(d->fields_error);
		if (strncmp(d->fields_error, bad[i].cause, strlen(bad[i].cause)) != 0)
			fail_msg("fields %s: \"%s\"", bad[i].text, d->fields_error);
		delivery_free(d);
	}
	expect_sql(fx->path,
	           "SELECT count(*) FROM delivery WHERE kind = 'webhook' AND in_flight = 1 AND "
	           "attempts = 1",
	           "5");
}

/* Invalid UTF-8 in the fields as recorded is replaced with U+FFFD when they are parsed. */
static void
test_queue_fields_utf8(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};
	struct delivery *d;

	fx->ss = open_store(fx, false);
	a.fields = "{\"iro\": \"J\xe9r\xf4me\"}";
	record(fx->ss, &a, none);
	assert_int_equal(take_hook(fx, &d, 1), 1);
	assert_null(d->fields_error);
	assert_string_equal(json_string_value(json_object_get(d->fields, "iro")),
	                    "J\xef\xbf\xbdr\xef\xbf\xbdme");
	delivery_free(d);
}

/*
 * An alert recorded before alerts kept their status (status NULL) gets one
 * from what was recorded: how late it was, or its due date.
 */
static void
test_queue_status_recorded_without(void **state)
{
	static const struct {
		int days_late;
		const char *status;
	} v[] = {
	    {10, "10 working days overdue"},
	    {1, "1 working day overdue"},
	    {0, "due 2027-01-20"},
	};
	struct fixture *fx = *state;
	bool none[4] = {false, false, false, false};
	struct delivery *d[4];

	fx->ss = open_store(fx, false);
	for (size_t i = 0; i < 3; i++) {
		char case_ref[8];
		struct alert a;

		snprintf(case_ref, sizeof case_ref, "C%zu", i);
		a = make_alert(fx, case_ref, 2, 3);
		a.days_late = v[i].days_late;
		record(fx->ss, &a, none);
	}
	exec_sql(fx->path, "UPDATE alert SET status = NULL");
	assert_int_equal(take_hook(fx, d, 4), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(d[i]->days_late, v[i].days_late);
		assert_string_equal(d[i]->status, v[i].status);
		delivery_free(d[i]);
	}
}

/* Results: sent, retry at a time, failed for good; each with its audit row. */
static void
test_queue_finish(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};
	struct queue_request req = {CHANNEL_EMAIL, NULL, 2};
	struct delivery *d[3];
	struct outcome_record o[3] = {
	    {.id = 1,
	     .outcome = OUTCOME_SENT,
	     .code = 250,
	     .recipient = "tm.north@council.example"},
	    {.id = 2,
	     .outcome = OUTCOME_RETRY,
	     .next_attempt = 4000,
	     .code = 451,
	     .detail = "MAIL: 451 try later",
	     .recipient = "service.manager@council.example"},
	    {.id = 3,
	     .outcome = OUTCOME_FAILED,
	     .code = 404,
	     .detail = "HTTP 404: no such hook",
	     .recipient = "https://hooks.council.example/hos"},
	};
	char *cause = NULL;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	assert_int_equal(queue_take(fx->ss, 100, 300, &req, 1, d, 2, &cause), 2);
	assert_int_equal(take_hook(fx, &d[2], 1), 1);
	for (int i = 0; i < 3; i++)
		delivery_free(d[i]);
	assert_int_equal(queue_finish(fx->ss, o, 3, &cause), 0);
	expect_sql(
	    fx->path,
	    "SELECT group_concat(status || ':' || in_flight || ':' || attempts || ':' || "
	    "next_attempt || ':' || ifnull(last_error, '-') || ':' || (sent_at IS NOT NULL), "
	    "',') FROM (SELECT * FROM delivery ORDER BY id)",
	    "sent:0:1:0:-:1,pending:0:1:4000:MAIL: 451 try later:0,"
	    "failed:0:1:0:HTTP 404: no such hook:0");
	expect_sql(fx->path,
	           "SELECT group_concat(delivery_id || ':' || recipient || ':' || result || ':' || "
	           "ifnull(detail, '-'), ',') FROM (SELECT * FROM audit ORDER BY id)",
	           "1:tm.north@council.example:sent:-,"
	           "2:service.manager@council.example:retry:MAIL: 451 try later,"
	           "3:https://hooks.council.example/hos:failed:HTTP 404: no such hook");
	assert_int_equal(queue_depth(fx->ss), 1);
	/* The retry is due at its time, not before. */
	req.count = 3;
	assert_int_equal(queue_take(fx->ss, 3999, 5000, &req, 1, d, 3, &cause), 0);
	assert_int_equal(queue_take(fx->ss, 4000, 5000, &req, 1, d, 3, &cause), 1);
	assert_int_equal(d[0]->id, 2);
	assert_int_equal(d[0]->attempts, 2);
	delivery_free(d[0]);
}

/* Take the webhook delivery (3) and record one outcome for it. */
static void
attempt(struct fixture *fx, enum outcome outcome, const char *detail)
{
	struct delivery *d;
	struct outcome_record o;
	char *cause = NULL;

	/* A retry is due at once (next_attempt 0): due again at 100. */
	exec_sql(fx->path, "UPDATE delivery SET in_flight = 0 WHERE id = 3");
	assert_int_equal(take_hook(fx, &d, 1), 1);
	o = (struct outcome_record){
	    .id = d->id, .outcome = outcome, .detail = (char *)detail, .recipient = d->recipient};
	if (queue_finish(fx->ss, &o, 1, &cause) != 0)
		fail_msg("queue_finish: %s", cause);
	delivery_free(d);
}

/*
 * One audit row per change of a delivery's state, not per attempt: 100
 * identical retries leave one, a new error another, the end a third. The
 * attempt count and the last attempt's time are in the delivery row.
 */
static void
test_queue_audit_changes(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	for (int i = 0; i < 100; i++)
		attempt(fx, OUTCOME_RETRY, "connect: Connection refused");
	expect_sql(fx->path, "SELECT count(*) FROM audit", "1");
	expect_sql(fx->path,
	           "SELECT attempts || ':' || status || ':' || last_error || ':' || "
	           "(last_attempt LIKE '____-__-__T__:__:__Z') FROM delivery WHERE id = 3",
	           "100:pending:connect: Connection refused:1");
	attempt(fx, OUTCOME_RETRY, "HTTP 503");
	attempt(fx, OUTCOME_RETRY, "HTTP 503");
	/* Another status code is a change; the time an attempt took is not. */
	attempt(fx, OUTCOME_RETRY, "HTTP 500");
	attempt(fx, OUTCOME_RETRY, "Operation timed out after 10001 milliseconds with 0 bytes");
	attempt(fx, OUTCOME_RETRY, "Operation timed out after 9998 milliseconds with 12 bytes");
	attempt(fx, OUTCOME_RETRY, "Failed to connect to mail port 25 after 3 ms");
	attempt(fx, OUTCOME_RETRY, "Failed to connect to mail port 25 after 1204 ms");
	attempt(fx, OUTCOME_RETRY, "Failed to connect to mail port 587 after 1204 ms");
	attempt(fx, OUTCOME_SENT, "HTTP 200");
	expect_sql(fx->path,
	           "SELECT group_concat(result || ':' || ifnull(detail, '-'), ',') FROM (SELECT * "
	           "FROM audit ORDER BY id)",
	           "retry:connect: Connection refused,retry:HTTP 503,retry:HTTP 500,"
	           "retry:Operation timed out after 10001 milliseconds with 0 bytes,"
	           "retry:Failed to connect to mail port 25 after 3 ms,"
	           "retry:Failed to connect to mail port 587 after 1204 ms,sent:HTTP 200");
	/* The delivery row keeps the last error itself. */
	expect_sql(fx->path,
	           "SELECT attempts || ':' || status || ':' || ifnull(last_error, '-') || ':' || "
	           "(last_attempt = sent_at) FROM delivery WHERE id = 3",
	           "109:sent:-:1");
	/* A first attempt always leaves its row, even a retry that gave no reason. */
	exec_sql(fx->path,
	         "UPDATE delivery SET status = 'pending', attempts = 0, last_error = NULL, "
	         "in_flight = 0 WHERE id = 3; DELETE FROM audit");
	attempt(fx, OUTCOME_RETRY, NULL);
	expect_sql(fx->path, "SELECT count(*) FROM audit", "1");
	attempt(fx, OUTCOME_RETRY, NULL);
	attempt(fx, OUTCOME_FAILED, NULL);
	expect_sql(fx->path,
	           "SELECT group_concat(result, ',') FROM (SELECT * FROM audit ORDER BY id)",
	           "retry,failed");
}

/* After a restart, deliveries that were in flight are due at once, their attempts kept. */
static void
test_queue_reset_in_flight(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};
	struct delivery *d[3];
	char *cause = NULL;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	assert_int_equal(take_hook(fx, d, 3), 1);
	delivery_free(d[0]);
	/* Leased until 300: not due at 100. */
	assert_int_equal(take_hook(fx, d, 3), 0);
	assert_int_equal(queue_reset_in_flight(fx->ss, &cause), 1);
	expect_sql(fx->path, "SELECT in_flight || ':' || next_attempt FROM delivery WHERE id = 3",
	           "0:0");
	assert_int_equal(take_hook(fx, d, 3), 1);
	assert_int_equal(d[0]->attempts, 2);
	delivery_free(d[0]);
	assert_int_equal(queue_reset_in_flight(fx->ss, &cause), 1);
	assert_int_equal(queue_reset_in_flight(fx->ss, &cause), 0);
}

/* Register one test with the state store fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_queue_depth),
	    T(test_queue_channel_kinds),
	    T(test_queue_groups_and_batch),
	    T(test_queue_groups_many),
	    T(test_queue_record),
	    T(test_queue_bad_fields),
	    T(test_queue_fields_utf8),
	    T(test_queue_status_recorded_without),
	    T(test_queue_finish),
	    T(test_queue_audit_changes),
	    T(test_queue_reset_in_flight),
	};

	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
