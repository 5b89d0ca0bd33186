/*
 * test_alertstore.c - unit tests for daemon/alertstore.c: stages recorded as
 * alerted or skipped, alerts with their text and deliveries, threshold keys.
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
#include "renames.h"
#include "statestore.h"
#include "store_fixture.h"

/* Recording stage 2 with nothing recorded: 0 and 1 skipped, 2 alerted, three deliveries. */
static void
test_alertstore_record_skipped(void **state)
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
	assert_int_equal(
	    alertstore_recorded(fx->ss, &fx->r, "A01", D("2026-12-19"), rec, NULL, &cause), 0);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);

	assert_int_equal(queue_depth(fx->ss), 3);
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
	/* The status, as the templates showed it, recorded with the alert. */
	expect_sql(fx->path, "SELECT status FROM alert", "10 working days overdue");
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
test_alertstore_record_partly_recorded(void **state)
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
	assert_int_equal(queue_depth(fx->ss), 3);
}

/* An alert with no status (the case store health alerts) records NULL, not "". */
static void
test_alertstore_no_status(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 0, 1);
	bool none[4] = {false, false, false, false};

	fx->ss = open_store(fx, false);
	a.status = NULL;
	a.fields = "{\"team\":\"North\"}";
	record(fx->ss, &a, none);
	expect_sql(fx->path, "SELECT ifnull(status, 'null') || ' ' || fields FROM alert",
	           "null {\"team\":\"North\"}");
}

/* Threshold keys: over the limit until set back or swept by a pass that did not see them. */
static void
test_alertstore_threshold(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	bool over = true;

	fx->ss = open_store(fx, false);
	assert_int_equal(alertstore_threshold_get(fx->ss, "r", "k1", &over, &cause), 0);
	assert_false(over);
	assert_int_equal(alertstore_threshold_set(fx->ss, "r", "k1", true, 1, &cause), 0);
	assert_int_equal(alertstore_threshold_set(fx->ss, "r", "k2", true, 1, &cause), 0);
	assert_int_equal(alertstore_threshold_set(fx->ss, "other", "k1", true, 1, &cause), 0);
	assert_int_equal(alertstore_threshold_get(fx->ss, "r", "k1", &over, &cause), 0);
	assert_true(over);
	/* Pass 2 sees k1 only: k2 is forgotten, another rule's keys are not. */
	assert_int_equal(alertstore_threshold_set(fx->ss, "r", "k1", true, 2, &cause), 0);
	assert_int_equal(alertstore_threshold_sweep(fx->ss, "r", 2, &cause), 0);
	assert_int_equal(alertstore_threshold_get(fx->ss, "r", "k2", &over, &cause), 0);
	assert_false(over);
	assert_int_equal(alertstore_threshold_get(fx->ss, "other", "k1", &over, &cause), 0);
	assert_true(over);
	/* Back within the limit. */
	assert_int_equal(alertstore_threshold_set(fx->ss, "r", "k1", false, 3, &cause), 0);
	assert_int_equal(alertstore_threshold_get(fx->ss, "r", "k1", &over, &cause), 0);
	assert_false(over);
	expect_sql(fx->path, "SELECT group_concat(rule || ':' || key) FROM threshold_state",
	           "other:k1");
}

/*
 * The rule of the fixture renamed: id "cic-review" (renamed_from the fixture's id when
 * rule_renamed), stage 1 "overdue-tm" (renamed_from "overdue" when stage_renamed).
 */
struct renamed {
	struct rule r;
	struct stage st[4];
	char *old_id[1], *old_stage[1];
};

static void
renamed_rule(struct fixture *fx, struct renamed *rn, bool rule_renamed, bool stage_renamed)
{
	memset(rn, 0, sizeof *rn);
	rn->r = fx->r;
	memcpy(rn->st, fx->st, sizeof rn->st);
	rn->r.stages = rn->st;
	rn->r.id = "cic-review";
	rn->st[1].name = "overdue-tm";
	rn->old_id[0] = "cic-first-review";
	rn->old_stage[0] = "overdue";
	if (rule_renamed) {
		rn->r.renamed_from = rn->old_id;
		rn->r.nrenamed = 1;
	}
	if (stage_renamed) {
		rn->st[1].renamed_from = rn->old_stage;
		rn->st[1].nrenamed = 1;
		rn->r.stage_renames = true;
	}
}

/* Records under an old rule id or stage name count as the new one's only with renamed_from. */
static void
test_alertstore_recorded_renamed(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 1);
	bool none[4] = {false, false, false, false}, rec[4];
	struct renamed rn;
	char *cause = NULL;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none); /* reminder skipped, overdue alerted */
	/* Both renamed, both said: the history carries over, nothing is owed again. */
	renamed_rule(fx, &rn, true, true);
	assert_int_equal(
	    alertstore_recorded(fx->ss, &rn.r, "A01", D("2026-12-18"), rec, NULL, &cause), 0);
	assert_true(rec[0] && rec[1]);
	assert_false(rec[2] || rec[3]);
	/* The stage renamed without renamed_from: only the reminder counts. */
	renamed_rule(fx, &rn, true, false);
	assert_int_equal(
	    alertstore_recorded(fx->ss, &rn.r, "A01", D("2026-12-18"), rec, NULL, &cause), 0);
	assert_true(rec[0]);
	assert_false(rec[1] || rec[2] || rec[3]);
	/* The rule renamed without renamed_from: a new clock, nothing recorded. */
	renamed_rule(fx, &rn, false, true);
	assert_int_equal(
	    alertstore_recorded(fx->ss, &rn.r, "A01", D("2026-12-18"), rec, NULL, &cause), 0);
	assert_false(rec[0] || rec[1] || rec[2] || rec[3]);
}

/* renames_apply moves the old names' records to the new ones, once. */
static void
test_alertstore_renames_apply(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 1), b = make_alert(fx, "A02", 0, 1);
	bool none[4] = {false, false, false, false}, rec[4];
	struct ruleset rs = {0};
	struct renamed rn;
	long long moved = -1;
	char *cause = NULL;

	fx->ss = open_store(fx, false);
	record(fx->ss, &a, none);
	record(fx->ss, &b, none);
	exec_sql(
	    fx->path,
	    "INSERT INTO closed_clock (rule, case_ref, start, last_stage, closed_on, days_late, "
	    "recorded_at) VALUES ('cic-first-review', 'A09', '2026-12-18', 'overdue', "
	    "'2027-01-25', 2, 'x');"
	    "INSERT INTO response (delivery_id, rule, case_ref, start, stage, recipient, kind, "
	    "answered_at) VALUES (1, 'cic-first-review', 'A01', '2026-12-18', 'overdue', 'x', "
	    "'acknowledged', 'x');"
	    "INSERT INTO threshold_state VALUES ('cic-first-review', 'k', 'x', 1);");
	renamed_rule(fx, &rn, true, true);
	rs.rules = &rn.r;
	rs.nrules = 1;
	assert_int_equal(renames_apply(fx->ss, &rs, &moved, &cause), 0);
	/*
	 * The id: 3 clock_stage rows, 2 alerts, 1 closed clock, 1 answer, 1 threshold key;
	 * then the stage: 1 clock_stage row, 1 alert, the closed clock's, the answer's.
	 */
	assert_int_equal(moved, 8 + 4);
	expect_sql(
	    fx->path,
	    "SELECT group_concat(rule || '/' || case_ref || '/' || stage, ',') FROM (SELECT * "
	    "FROM clock_stage ORDER BY case_ref, stage)",
	    "cic-review/A01/overdue-tm,cic-review/A01/reminder,cic-review/A02/reminder");
	expect_sql(fx->path,
	           "SELECT group_concat(rule || '/' || stage, ',') FROM (SELECT * FROM alert ORDER "
	           "BY id)",
	           "cic-review/overdue-tm,cic-review/reminder");
	expect_sql(fx->path, "SELECT rule || '/' || last_stage FROM closed_clock",
	           "cic-review/overdue-tm");
	expect_sql(fx->path, "SELECT rule || '/' || stage FROM response", "cic-review/overdue-tm");
	expect_sql(fx->path, "SELECT rule FROM threshold_state", "cic-review");
	/* The texts as sent stay. */
	expect_sql(fx->path, "SELECT count(*) FROM alert WHERE subject LIKE '%escalated for%'",
	           "2");
	/* The new names count without renamed_from now; a second load moves nothing. */
	assert_int_equal(
	    alertstore_recorded(fx->ss, &rn.r, "A01", D("2026-12-18"), rec, NULL, &cause), 0);
	assert_true(rec[0] && rec[1]);
	assert_int_equal(renames_apply(fx->ss, &rs, &moved, &cause), 0);
	assert_int_equal(moved, 0);
	/* A read-only store (a dry run) moves nothing. */
	statestore_close(fx->ss);
	fx->ss = open_store(fx, true);
	rn.r.id = "cic-review-2";
	rn.old_id[0] = "cic-review";
	assert_int_equal(renames_apply(fx->ss, &rs, &moved, &cause), 0);
	assert_int_equal(moved, 0);
	expect_sql(fx->path, "SELECT count(*) FROM clock_stage WHERE rule = 'cic-review'", "3");
}

/* Register one test with the state store fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_alertstore_record_skipped),   T(test_alertstore_record_partly_recorded),
	    T(test_alertstore_no_status),        T(test_alertstore_threshold),
	    T(test_alertstore_recorded_renamed), T(test_alertstore_renames_apply),
	};

	return cmocka_run_group_tests_name("alertstore", tests, NULL, NULL);
}
