/*
 * test_statestore.c - unit tests for daemon/statestore.c: opening, the
 * schema and its upgrades, transactions and their savepoints.
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

#include "alertstore.h"
#include "queue.h"
#include "statestore.h"
#include "statestore_impl.h" /* the connection, to make a commit fail */
#include "store_fixture.h"

/* Opening creates the file, in WAL mode, with user_version 1 and the tables. */
static void
test_statestore_create(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(access(fx->path, F_OK), -1);
	fx->ss = open_store(fx, false);
	assert_int_equal(access(fx->path, F_OK), 0);
	assert_int_equal(queue_depth(fx->ss), 0);
	statestore_close(fx->ss);
	fx->ss = NULL;

	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	sqlite3_close(db);
	expect_sql(fx->path,
	           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('alert', "
	           "'audit', 'clock_stage', 'delivery')",
	           "4");
	/* A new file gives freed pages back (retention.c), and has the indexes retention uses. */
	expect_sql(fx->path, "PRAGMA auto_vacuum", "2");
	expect_sql(fx->path,
	           "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
	           "('audit_delivery', 'delivery_alert')",
	           "2");
}
/* A read-only open of a missing file creates nothing and records nothing. */
static void
test_statestore_readonly_missing(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool rec[4] = {true, true, true, true};
	char *cause = NULL;
	long long id = 99;

	fx->ss = open_store(fx, true);
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	recorded(fx, fx->ss, "A01", rec);
	for (int i = 0; i < 4; i++)
		assert_false(rec[i]);
	assert_int_equal(alertstore_record(fx->ss, &a, rec, &id, &cause), 0);
	assert_int_equal(id, 0);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	assert_int_equal(queue_depth(fx->ss), 0);
	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[2]);
	statestore_close(fx->ss);
	fx->ss = NULL;
	assert_int_equal(access(fx->path, F_OK), -1);
}
/* A rolled-back pass leaves nothing behind. */
static void
test_statestore_rollback(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false}, rec[4];
	char *cause = NULL;
	long long id = 0;

	fx->ss = open_store(fx, false);
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(alertstore_record(fx->ss, &a, none, &id, &cause), 0);
	assert_true(id > 0);
	/* Inside the transaction the pass sees its own writes. */
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[2]);
	statestore_rollback(fx->ss);

	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);
	assert_int_equal(queue_depth(fx->ss), 0);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage", "0");
	/* The store is usable again after a rollback. */
	record(fx->ss, &a, none);
	assert_int_equal(queue_depth(fx->ss), 3);
}
/*
 * Transactions nest: an inner one (results recorded, deliveries taken) is a
 * savepoint that only the outermost commit writes to the file; an inner
 * rollback undoes its own work and no more.
 */
static void
test_statestore_nested(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3), b = make_alert(fx, "B01", 1, 1);
	bool none[4] = {false, false, false, false};
	struct outcome_record done = {.id = 1, .outcome = OUTCOME_SENT, .recipient = "tm"};
	struct queue_request email = {CHANNEL_EMAIL, NULL, 1};
	struct delivery *taken[4];
	char *cause = NULL;
	long long id = 0;
	int n;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none); /* deliveries 1-3 */

	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(queue_finish(fx->ss, &done, 1, &cause), 0);
	n = queue_take(fx->ss, 100, 200, &email, 1, taken, 1, &cause);
	assert_int_equal(n, 1);
	assert_int_equal(taken[0]->id, 2);
	delivery_free(taken[0]);
	/* Committed inside: not yet in the file, as another connection sees it. */
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'sent' OR in_flight",
	           "0");
	/* An inner rollback drops its own work only. */
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(alertstore_record(fx->ss, &b, none, &id, &cause), 0);
	statestore_rollback(fx->ss);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);

	expect_sql(fx->path, "SELECT group_concat(status || in_flight, ' ') FROM delivery",
	           "sent0 pending1 pending0");
	expect_sql(fx->path, "SELECT count(*) FROM audit", "1");
	expect_sql(fx->path, "SELECT count(*) FROM alert", "1");
	/* Nothing is left open: a write from another connection goes through. */
	exec_sql(fx->path, "UPDATE delivery SET next_attempt = 7 WHERE id = 3");
	/* A commit with nothing open is a no-op. */
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
}

/* Begin n levels, failing the test on error. */
static void
begin_levels(struct statestore *ss, int n)
{
	char *cause = NULL;

	for (int i = 0; i < n; i++)
		if (statestore_begin(ss, &cause) != 0)
			fail_msg("begin %d: %s", i, cause);
}

/*
 * SQLite rolls a whole transaction back by itself (here an INSERT OR
 * ROLLBACK that breaks a constraint; an I/O error or a full disk does the
 * same): the commit of every level then fails, none pretends to succeed on
 * nothing, each level's rollback ends it, and nothing of the work is left.
 */
static void
test_statestore_commit_fails_after_rollback(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3), b = make_alert(fx, "B01", 1, 1);
	bool none[4] = {false, false, false, false};
	char *cause = NULL;
	long long id = 0;

	fx->ss = open_store(fx, false);
	begin_levels(fx->ss, 3);
	assert_int_equal(alertstore_record(fx->ss, &a, none, &id, &cause), 0);
	assert_int_equal(sqlite3_exec(fx->ss->db->lite,
	                              "INSERT OR ROLLBACK INTO meta (key, value) VALUES "
	                              "('instance', 'taken')",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	for (int level = 3; level > 0; level--) {
		assert_int_equal(statestore_commit(fx->ss, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause,
		                    "the state store transaction was rolled back after an error");
		free(cause);
		cause = NULL;
		statestore_rollback(fx->ss);
	}
	/* Nothing open is left, and nothing of the work. */
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "0");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage", "0");
	exec_sql(fx->path, "UPDATE meta SET value = value WHERE key = 'instance'");
	/* The store records again. */
	record(fx->ss, &b, none);
	assert_int_equal(queue_depth(fx->ss), 1);
}

/*
 * The outermost COMMIT itself fails (a foreign key checked only then): the
 * inner levels were released into it, the commit reports the failure, its
 * rollback undoes all of it, and the store records again.
 */
static void
test_statestore_commit_fails(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false};
	char *cause = NULL;
	long long id = 0;

	fx->ss = open_store(fx, false);
	assert_int_equal(
	    sqlite3_exec(fx->ss->db->lite, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL),
	    SQLITE_OK);
	begin_levels(fx->ss, 2);
	assert_int_equal(alertstore_record(fx->ss, &a, none, &id, &cause), 0);
	assert_int_equal(sqlite3_exec(fx->ss->db->lite,
	                              "INSERT INTO delivery (alert_id, kind, recipient) VALUES "
	                              "(999, 'email', 'nobody@council.example')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0); /* the savepoint */
	assert_int_equal(statestore_commit(fx->ss, &cause), -1);
	assert_non_null(strstr(cause, "FOREIGN KEY constraint failed"));
	free(cause);
	cause = NULL;
	/* Still open until rolled back: another connection cannot write yet. */
	assert_false(sqlite3_get_autocommit(fx->ss->db->lite));
	statestore_rollback(fx->ss);
	assert_true(sqlite3_get_autocommit(fx->ss->db->lite));
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "0");
	exec_sql(fx->path, "UPDATE meta SET value = value WHERE key = 'instance'");
	a = make_alert(fx, "A02", 2, 3);
	record(fx->ss, &a, none);
	assert_int_equal(queue_depth(fx->ss), 3);
}
/* Closing and reopening keeps what was recorded, read-write or read-only. */
static void
test_statestore_reopen(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 3);
	bool none[4] = {false, false, false, false}, rec[4];
	char *cause = NULL;
	long long id = 7;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	statestore_close(fx->ss);

	fx->ss = open_store(fx, false);
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[0]);
	assert_true(rec[1]);
	assert_false(rec[2]);
	assert_int_equal(queue_depth(fx->ss), 3);
	statestore_close(fx->ss);

	/* Read-only (a dry run): sees the data, records nothing. */
	fx->ss = open_store(fx, true);
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[1]);
	assert_int_equal(queue_depth(fx->ss), 3);
	a = make_alert(fx, "A01", 3, 3);
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(alertstore_record(fx->ss, &a, rec, &id, &cause), 0);
	assert_int_equal(id, 0);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[3]);
	assert_int_equal(queue_depth(fx->ss), 3);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "1");
}
/* A state store written by a newer escalatord (user_version 4) is refused. */
static void
test_statestore_newer_version(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 4;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_null(statestore_open(fx->path, false, &cause));
	assert_non_null(cause);
	if (strncmp(cause, fx->path, strlen(fx->path)) != 0 ||
	    strstr(cause, "schema version 4") == NULL)
		fail_msg("cause \"%s\" should name the file and schema version 4", cause);
	free(cause);
	cause = NULL;
	assert_null(statestore_open(fx->path, true, &cause));
	assert_non_null(strstr(cause, "schema version 4"));
	free(cause);
	/* The file was left as it was. */
	expect_sql(fx->path, "PRAGMA user_version", "4");
}
/*
 * A file made by an earlier build (two kinds, no alert.expected, no
 * alert.status) is brought up to date.
 */
static void
test_statestore_upgrade(void **state)
{
	static const char old[] =
	    "PRAGMA user_version = 1;"
	    "CREATE TABLE alert (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, title TEXT NOT NULL,"
	    "  case_ref TEXT NOT NULL, start TEXT NOT NULL, stage TEXT NOT NULL, due TEXT NOT NULL,"
	    "  fires TEXT NOT NULL, days_late INTEGER NOT NULL, subject TEXT NOT NULL,"
	    "  body TEXT NOT NULL, fields TEXT, created_at TEXT NOT NULL);"
	    "CREATE TABLE delivery (id INTEGER PRIMARY KEY,"
	    "  alert_id INTEGER NOT NULL REFERENCES alert(id),"
	    "  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),"
	    "  recipient TEXT NOT NULL,"
	    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', "
	    "'failed')),"
	    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0,"
	    "  in_flight INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT);"
	    "CREATE TABLE audit (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES "
	    "  delivery(id), at TEXT NOT NULL, recipient TEXT NOT NULL, result TEXT NOT NULL, "
	    "  detail TEXT);"
	    "INSERT INTO alert VALUES (1, 'r', 't', 'A01', '2026-12-18', 'overdue', '2027-01-20',"
	    "  '2027-01-21T08:00:00', 1, 's', 'b', NULL, 'now');"
	    "INSERT INTO delivery (id, alert_id, kind, recipient, status, attempts) VALUES"
	    "  (1, 1, 'email', 'a@b.example', 'sent', 1), (2, 1, 'webhook', 'https://h/x', "
	    "  'pending', 2);"
	    "INSERT INTO audit VALUES (1, 1, 'now', 'a@b.example', 'sent', NULL);";
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A02", 2, 0);
	bool rec[4] = {false};
	sqlite3 *db;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, old, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	fx->ss = open_store(fx, false);
	a.recipients = kinds;
	a.nrecipients = 5;
	a.expected = "what is expected";
	record(fx->ss, &a, rec);
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "7");
	expect_sql(fx->path, "SELECT kind || status || attempts FROM delivery WHERE id = 2",
	           "webhookpending2");
	expect_sql(fx->path, "SELECT expected FROM alert WHERE case_ref = 'A02'",
	           "what is expected");
	/* The status: recorded from now on, NULL in the alerts recorded before. */
	expect_sql(fx->path, "SELECT status FROM alert WHERE case_ref = 'A02'",
	           "10 working days overdue");
	expect_sql(fx->path, "SELECT ifnull(status, 'null') FROM alert WHERE case_ref = 'A01'",
	           "null");
	expect_sql(fx->path, "SELECT count(*) FROM audit a JOIN delivery d ON d.id = a.delivery_id",
	           "1");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
	expect_sql(fx->path, "PRAGMA user_version", "3");
	/* Version 3: answers, and when each delivery was queued (NULL before). */
	expect_sql(fx->path, "SELECT count(*) FROM response", "0");
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE queued_at IS NULL AND id <= 2",
	           "2");
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE queued_at IS NOT NULL AND id > 2",
	           "5");
	/* Version 2: digests and closed clocks; alerts recorded before read as they did. */
	expect_sql(fx->path,
	           "SELECT count(*) FROM pragma_table_info('delivery') WHERE name IN ('digest_id', "
	           "'closed_id', 'copied', 'copied_on', 'part', 'parts')",
	           "6");
	expect_sql(fx->path,
	           "SELECT count(*) FROM pragma_table_info('alert') WHERE name IN ('label', "
	           "'case_url', 'urgency')",
	           "3");
	expect_sql(fx->path, "SELECT count(*) FROM closed_clock", "0");
	expect_sql(fx->path, "SELECT ifnull(label, 'null') FROM alert WHERE case_ref = 'A01'",
	           "null");
	/* Deliveries keep their last attempt's time from now on; the indexes are made. */
	expect_sql(fx->path,
	           "SELECT count(*) FROM pragma_table_info('delivery') WHERE name = 'last_attempt'",
	           "1");
	expect_sql(fx->path,
	           "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
	           "('audit_delivery', 'delivery_alert')",
	           "2");
	/* An existing file keeps its auto_vacuum setting (no VACUUM on upgrade). */
	expect_sql(fx->path, "PRAGMA auto_vacuum", "0");
	statestore_close(fx->ss);
	/* Opening again changes nothing more. */
	fx->ss = open_store(fx, false);
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "7");
}

/*
 * A version 2 file (digests, no answers) is refused read-only with what to do,
 * and upgraded in place by the service: the response table and
 * delivery.queued_at added, its deliveries kept.
 */
static void
test_statestore_upgrade_v2(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3 *db;

	fx->ss = open_store(fx, false);
	statestore_close(fx->ss);
	fx->ss = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TABLE response; ALTER TABLE delivery DROP COLUMN "
	                              "queued_at; INSERT INTO delivery (kind, recipient, status, "
	                              "part, parts) VALUES ('email', 'a@b.example', 'pending', 1, "
	                              "1); PRAGMA user_version = 2;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);

	assert_null(statestore_open(fx->path, true, &cause));
	if (cause == NULL || strstr(cause, "schema version 2") == NULL ||
	    strstr(cause, "start the service once") == NULL)
		fail_msg("cause \"%s\" should say version 2 and what to do", cause);
	free(cause);
	fx->ss = open_store(fx, false);
	expect_sql(fx->path, "PRAGMA user_version", "3");
	expect_sql(fx->path, "SELECT count(*) FROM response", "0");
	expect_sql(fx->path, "SELECT recipient || ifnull(queued_at, '-') FROM delivery",
	           "a@b.example-");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
}

/* Register one test with the state store fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_statestore_create),
	    T(test_statestore_readonly_missing),
	    T(test_statestore_rollback),
	    T(test_statestore_nested),
	    T(test_statestore_commit_fails_after_rollback),
	    T(test_statestore_commit_fails),
	    T(test_statestore_reopen),
	    T(test_statestore_newer_version),
	    T(test_statestore_upgrade),
	    T(test_statestore_upgrade_v2),
	};

	return cmocka_run_group_tests_name("statestore", tests, NULL, NULL);
}
