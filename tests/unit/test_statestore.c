/* test_statestore.c - unit tests for daemon/statestore.c: stages recorded, outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ftw.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "date.h"
#include "eval.h"
#include "ruleset.h"
#include "statestore.h"
#include "xalloc.h"

/* One test's scratch directory, state file and a four-stage rule. */
struct fixture {
	char dir[64];
	char *path;
	struct statestore *ss;
	struct rule r;
	struct stage st[4];
};

/* Remove one entry found by nftw (deepest first). */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a directory tree. */
static void
rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
static date_t
D(const char *s)
{
	date_t d = 0;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date literal \"%s\"", s);
	return d;
}

/* Make the scratch directory and the rule (reminder, overdue, escalated, director). */
static int
setup(void **state)
{
	static char *names[] = {"reminder", "overdue", "escalated", "director"};
	struct fixture *fx = xcalloc(1, sizeof *fx);

	strcpy(fx->dir, "/tmp/test_statestore.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	fx->path = xasprintf("%s/state.sqlite", fx->dir);
	fx->r.id = "cic-first-review";
	fx->r.title = "First Child in Care review";
	fx->r.stages = fx->st;
	fx->r.nstages = 4;
	for (size_t i = 0; i < 4; i++)
		fx->st[i].name = names[i];
	*state = fx;
	return 0;
}

/* Close the store and remove the scratch directory. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	statestore_close(fx->ss);
	rm_rf(fx->dir);
	free(fx->path);
	free(fx);
	return 0;
}

/* Open the state store at the fixture's path, failing the test on error. */
static struct statestore *
open_store(struct fixture *fx, bool readonly)
{
	char *cause = NULL;
	struct statestore *ss = statestore_open(fx->path, readonly, &cause);

	if (ss == NULL)
		fail_msg("statestore_open: %s", cause);
	return ss;
}

/* Three recipients: two emails and a webhook. */
static const struct recipient three[] = {
    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"},
    {.kind = CHANNEL_EMAIL, .address = "service.manager@council.example"},
    {.kind = CHANNEL_WEBHOOK, .address = "https://hooks.council.example/hos"},
};

/* An alert of case A01 (start 2026-12-18, due 2027-01-20) at stage, told to n of three. */
static struct alert
make_alert(const struct fixture *fx, const char *case_ref, int stage, size_t n)
{
	struct alert a;

	memset(&a, 0, sizeof a);
	a.rule = &fx->r;
	a.case_ref = case_ref;
	a.start = D("2026-12-18");
	a.due = D("2027-01-20");
	a.stage = stage;
	a.fires = (localtime_min_t)D("2027-02-03") * 1440 + 8 * 60;
	a.days_late = 10;
	a.subject = "First Child in Care review: escalated for case A01";
	a.body = "First Child in Care review\n\nCase: A01\n";
	a.fields = NULL;
	a.recipients = three;
	a.nrecipients = n;
	return a;
}

/* Record a within its own transaction; returns the alert id. */
static long long
record(struct statestore *ss, const struct alert *a, const bool *recorded)
{
	char *cause = NULL;
	long long id = -1;

	if (statestore_begin(ss, &cause) != 0)
		fail_msg("begin: %s", cause);
	if (statestore_record(ss, a, recorded, &id, &cause) != 0)
		fail_msg("record: %s", cause);
	if (statestore_commit(ss, &cause) != 0)
		fail_msg("commit: %s", cause);
	return id;
}

/* Read which stages of (rule, case_ref, 2026-12-18) are recorded into rec[4]. */
static void
recorded(struct fixture *fx, struct statestore *ss, const char *case_ref, bool *rec)
{
	char *cause = NULL;

	if (statestore_recorded(ss, &fx->r, case_ref, D("2026-12-18"), rec, &cause) != 0)
		fail_msg("statestore_recorded: %s", cause);
}

/* One text or integer value from the state file, through a separate connection. */
static char *
query1(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		out = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* Assert the first value of sql is want. */
static void
expect_sql(const char *path, const char *sql, const char *want)
{
	char *got = query1(path, sql);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", sql, got ? got : "(no row)", want);
	free(got);
}

/* Run sql on the file through a connection of its own. */
static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

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
	assert_int_equal(statestore_outbox_depth(fx->ss), 0);
	statestore_close(fx->ss);
	fx->ss = NULL;

	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	expect_sql(fx->path,
	           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('alert', "
	           "'audit', 'clock_stage', 'delivery')",
	           "4");
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
	assert_int_equal(statestore_record(fx->ss, &a, rec, &id, &cause), 0);
	assert_int_equal(id, 0);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	assert_int_equal(statestore_outbox_depth(fx->ss), 0);
	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[2]);
	statestore_close(fx->ss);
	fx->ss = NULL;
	assert_int_equal(access(fx->path, F_OK), -1);
}

/* Recording stage 2 with nothing recorded: 0 and 1 skipped, 2 alerted, three deliveries. */
static void
test_statestore_record_skipped(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 3);
	bool none[4] = {false, false, false, false}, rec[4];
	char *want, *cause = NULL;
	long long id;

	fx->ss = open_store(fx, false);
	id = record(fx->ss, &a, none);
	assert_true(id > 0);
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[0]);
	assert_true(rec[1]);
	assert_true(rec[2]);
	assert_false(rec[3]);
	/* Another case, or the same case with another start, has nothing recorded. */
	recorded(fx, fx->ss, "A02", rec);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);
	assert_int_equal(statestore_recorded(fx->ss, &fx->r, "A01", D("2026-12-19"), rec, &cause),
	                 0);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);

	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
	want = xasprintf("escalated:alerted:%lld,overdue:skipped:,reminder:skipped:", id);
	expect_sql(
	    fx->path,
	    "SELECT group_concat(stage || ':' || status || ':' || ifnull(alert_id, ''), ',') "
	    "FROM (SELECT * FROM clock_stage WHERE rule = 'cic-first-review' AND "
	    "case_ref = 'A01' AND start = '2026-12-18' ORDER BY stage)",
	    want);
	free(want);
	expect_sql(fx->path,
	           "SELECT rule || '|' || title || '|' || case_ref || '|' || start || '|' || stage "
	           "|| '|' || due || '|' || fires || '|' || days_late || '|' || subject FROM alert",
	           "cic-first-review|First Child in Care review|A01|2026-12-18|escalated|2027-01-"
	           "20|2027-02-03T08:00:00|10|First Child in Care review: escalated for case A01");
	want = xasprintf("%lld:email:tm.north@council.example:pending,"
	                 "%lld:email:service.manager@council.example:pending,"
	                 "%lld:webhook:https://hooks.council.example/hos:pending",
	                 id, id, id);
	expect_sql(fx->path,
	           "SELECT group_concat(alert_id || ':' || kind || ':' || recipient || ':' || "
	           "status, ',') FROM (SELECT * FROM delivery ORDER BY id)",
	           want);
	free(want);
}

/* Stages already recorded are not recorded again as skipped. */
static void
test_statestore_record_partly_recorded(void **state)
{
	struct fixture *fx = *state;
	struct alert a0 = make_alert(fx, "A01", 0, 1), a3 = make_alert(fx, "A01", 3, 2);
	bool rec[4] = {false, false, false, false};
	long long id0, id3;
	char *want;

	fx->ss = open_store(fx, false);
	id0 = record(fx->ss, &a0, rec);
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[0]);
	assert_false(rec[1]);
	id3 = record(fx->ss, &a3, rec);
	assert_true(id3 > id0);
	want = xasprintf("director:alerted:%lld,escalated:skipped:,overdue:skipped:,"
	                 "reminder:alerted:%lld",
	                 id3, id0);
	expect_sql(
	    fx->path,
	    "SELECT group_concat(stage || ':' || status || ':' || ifnull(alert_id, ''), ',') "
	    "FROM (SELECT * FROM clock_stage ORDER BY stage)",
	    want);
	free(want);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "2");
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
}

/* The outbox depth counts pending deliveries only. */
static void
test_statestore_outbox_depth(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 3), b = make_alert(fx, "A02", 0, 2);
	bool none[4] = {false, false, false, false};
	sqlite3 *db;

	fx->ss = open_store(fx, false);
	assert_int_equal(statestore_outbox_depth(fx->ss), 0);
	record(fx->ss, &a, none);
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
	record(fx->ss, &b, none);
	assert_int_equal(statestore_outbox_depth(fx->ss), 5);
	/* An alert with nobody left to tell adds no delivery. */
	b = make_alert(fx, "A03", 0, 0);
	record(fx->ss, &b, none);
	assert_int_equal(statestore_outbox_depth(fx->ss), 5);

	/* Deliveries sent or failed leave the outbox. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE delivery SET status = 'sent' WHERE id = 1;"
	                              "UPDATE delivery SET status = 'failed' WHERE id = 2;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
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
	assert_int_equal(statestore_record(fx->ss, &a, none, &id, &cause), 0);
	assert_true(id > 0);
	/* Inside the transaction the pass sees its own writes. */
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[2]);
	statestore_rollback(fx->ss);

	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);
	assert_int_equal(statestore_outbox_depth(fx->ss), 0);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "0");
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage", "0");
	/* The store is usable again after a rollback. */
	record(fx->ss, &a, none);
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
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
	struct outbox_take email = {CHANNEL_EMAIL, NULL, 1};
	struct outbox_item items[4];
	char *cause = NULL;
	long long id = 0;
	int n;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none); /* deliveries 1-3 */

	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(statestore_finish(fx->ss, &done, 1, &cause), 0);
	n = statestore_take_batch(fx->ss, 100, 200, &email, 1, items, 1, &cause);
	assert_int_equal(n, 1);
	assert_int_equal(items[0].id, 2);
	outbox_item_clear(&items[0]);
	/* Committed inside: not yet in the file, as another connection sees it. */
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'sent' OR in_flight",
	           "0");
	/* An inner rollback drops its own work only. */
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(statestore_record(fx->ss, &b, none, &id, &cause), 0);
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
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
	statestore_close(fx->ss);

	/* Read-only (a dry run): sees the data, records nothing. */
	fx->ss = open_store(fx, true);
	recorded(fx, fx->ss, "A01", rec);
	assert_true(rec[1]);
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
	a = make_alert(fx, "A01", 3, 3);
	assert_int_equal(statestore_begin(fx->ss, &cause), 0);
	assert_int_equal(statestore_record(fx->ss, &a, rec, &id, &cause), 0);
	assert_int_equal(id, 0);
	assert_int_equal(statestore_commit(fx->ss, &cause), 0);
	recorded(fx, fx->ss, "A01", rec);
	assert_false(rec[3]);
	assert_int_equal(statestore_outbox_depth(fx->ss), 3);
	expect_sql(fx->path, "SELECT count(*) FROM alert", "1");
}

/* A state store written by a newer escalatord (user_version 2) is refused. */
static void
test_statestore_newer_version(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 2;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_null(statestore_open(fx->path, false, &cause));
	assert_non_null(cause);
	if (strncmp(cause, fx->path, strlen(fx->path)) != 0 ||
	    strstr(cause, "schema version 2") == NULL)
		fail_msg("cause \"%s\" should name the file and schema version 2", cause);
	free(cause);
	cause = NULL;
	assert_null(statestore_open(fx->path, true, &cause));
	assert_non_null(strstr(cause, "schema version 2"));
	free(cause);
	/* The file was left as it was. */
	expect_sql(fx->path, "PRAGMA user_version", "2");
}

/* Five recipients, one of each kind (chat and Notify contacts are recorded by name). */
static const struct recipient kinds[] = {
    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"},
    {.kind = CHANNEL_WEBHOOK, .address = "https://hooks.council.example/hos"},
    {.kind = CHANNEL_TEAMS, .address = "managers"},
    {.kind = CHANNEL_SLACK, .address = "iro_team"},
    {.kind = CHANNEL_GOVUK_NOTIFY, .address = "iro_manager"},
};

/* Every kind of delivery is recorded and read back, with the expected text. */
static void
test_statestore_channel_kinds(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 2, 0);
	struct outbox_take reqs[5];
	struct outbox_item items[8];
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
	/* One request per destination, in the order they were recorded. */
	for (int i = 0; i < 5; i++)
		reqs[i] = (struct outbox_take){
		    kinds[i].kind, kinds[i].kind == CHANNEL_EMAIL ? NULL : kinds[i].address, 8};
	n = statestore_take_batch(fx->ss, 100, 200, reqs, 5, items, 8, &cause);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++) {
		assert_int_equal(items[i].kind, kinds[i].kind);
		assert_string_equal(items[i].recipient, kinds[i].address);
		assert_string_equal(items[i].expected, "hold the review within 5 working days");
		assert_int_equal(items[i].attempts, 1);
		outbox_item_clear(&items[i]);
	}
}

/* Add n alerts of case_ref told to r, returning nothing. */
static void
record_many(struct fixture *fx, const char *prefix, int n, const struct recipient *r, size_t nr)
{
	bool rec[4] = {false};

	for (int i = 0; i < n; i++) {
		char case_ref[32];
		struct alert a;

		snprintf(case_ref, sizeof case_ref, "%s%02d", prefix, i);
		a = make_alert(fx, case_ref, 1, 0);
		a.recipients = r;
		a.nrecipients = nr;
		record(fx->ss, &a, rec);
	}
}

/* Groups by destination (all email as one), and taking a given count from each. */
static void
test_statestore_groups_and_batch(void **state)
{
	static const struct recipient slack = {.kind = CHANNEL_SLACK, .address = "iro_team"};
	static const struct recipient mail[] = {
	    {.kind = CHANNEL_EMAIL, .address = "a@council.example"},
	    {.kind = CHANNEL_EMAIL, .address = "b@council.example"},
	};
	struct fixture *fx = *state;
	struct outbox_group *g;
	struct outbox_take reqs[2];
	struct outbox_item items[16];
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

	assert_int_equal(statestore_outbox_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
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
	outbox_groups_free(g, ng);

	/* One from Slack (its pace), four emails (its share). */
	reqs[0] = (struct outbox_take){CHANNEL_SLACK, "iro_team", 1};
	reqs[1] = (struct outbox_take){CHANNEL_EMAIL, NULL, 4};
	n = statestore_take_batch(fx->ss, 100, 300, reqs, 2, items, 16, &cause);
	assert_int_equal(n, 5);
	assert_int_equal(items[0].kind, CHANNEL_SLACK);
	assert_int_equal(items[0].id, 1);
	for (int i = 1; i < 5; i++)
		assert_int_equal(items[i].kind, CHANNEL_EMAIL);
	for (int i = 0; i < n; i++)
		outbox_item_clear(&items[i]);
	/* Taken means leased: one attempt each, not due again before the lease ends. */
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE in_flight = 1 AND attempts = 1",
	           "5");
	assert_int_equal(statestore_outbox_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
	assert_int_equal(g[0].due, 2);
	assert_int_equal(g[0].next, 300); /* the lease of the one in flight */
	assert_int_equal(g[1].due, 2);
	outbox_groups_free(g, ng);

	/* Never more than max in all, and nothing not due. */
	reqs[0] = (struct outbox_take){CHANNEL_SLACK, "iro_team", 10};
	n = statestore_take_batch(fx->ss, 100, 300, reqs, 2, items, 3, &cause);
	assert_int_equal(n, 3);
	assert_int_equal(items[0].kind, CHANNEL_SLACK);
	assert_int_equal(items[1].kind, CHANNEL_SLACK);
	assert_int_equal(items[2].kind, CHANNEL_EMAIL);
	for (int i = 0; i < n; i++)
		outbox_item_clear(&items[i]);
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
test_statestore_groups_many(void **state)
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
	struct outbox_group *g;
	struct outbox_take req;
	struct outbox_item items[8];
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
	assert_int_equal(statestore_outbox_groups(fx->ss, 100, 2, &g, &ng, &cause), 0);
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
	outbox_groups_free(g, ng);

	/* Email is one destination: every address, in due order. */
	req = (struct outbox_take){CHANNEL_EMAIL, NULL, 8};
	n = statestore_take_batch(fx->ss, 100, 300, &req, 1, items, 8, &cause);
	assert_int_equal(n, 7);
	assert_int_equal(items[0].id, 3);
	assert_int_equal(items[3].id, 15);
	assert_int_equal(items[4].id, 17);
	assert_int_equal(items[6].id, 21);
	for (int i = 0; i < n; i++)
		outbox_item_clear(&items[i]);
	/* A webhook's take is its own address only, not one it is a prefix of. */
	req = (struct outbox_take){CHANNEL_WEBHOOK, "https://h.example/a", 8};
	n = statestore_take_batch(fx->ss, 100, 300, &req, 1, items, 8, &cause);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		assert_string_equal(items[i].recipient, "https://h.example/a");
		outbox_item_clear(&items[i]);
	}
	/* Taken ones are in flight until 300: not due, and due again then; they sort last. */
	assert_int_equal(statestore_outbox_groups(fx->ss, 100, 64, &g, &ng, &cause), 0);
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
	outbox_groups_free(g, ng);
}

/* A file made by an earlier build (two kinds, no alert.expected) is brought up to date. */
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
	expect_sql(fx->path, "SELECT count(*) FROM audit a JOIN delivery d ON d.id = a.delivery_id",
	           "1");
	assert_null(query1(fx->path, "PRAGMA foreign_key_check"));
	expect_sql(fx->path, "PRAGMA user_version", "1");
	statestore_close(fx->ss);
	/* Opening again changes nothing more. */
	fx->ss = open_store(fx, false);
	expect_sql(fx->path, "SELECT count(*) FROM delivery", "7");
}

/* Register one test with the state store fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_statestore_create),           T(test_statestore_readonly_missing),
	    T(test_statestore_record_skipped),   T(test_statestore_record_partly_recorded),
	    T(test_statestore_outbox_depth),     T(test_statestore_rollback),
	    T(test_statestore_nested),           T(test_statestore_reopen),
	    T(test_statestore_newer_version),    T(test_statestore_channel_kinds),
	    T(test_statestore_groups_and_batch), T(test_statestore_groups_many),
	    T(test_statestore_upgrade),
	};

	return cmocka_run_group_tests_name("statestore", tests, NULL, NULL);
}
