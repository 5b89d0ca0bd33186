/* test_evaluate.c - unit tests for daemon/evaluate.c: passes over a real engine and stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "answers.h"
#include "casestore.h"
#include "date.h"
#include "engine.h"
#include "eval.h"
#include "evaluate.h"
#include "queue.h"
#include "statestore.h"
#include "diag.h"
#include "testdir.h"

/*
 * The fixture: one rule, the first Child in Care review, due 20 working days after the
 * start, with stages reminder (-5 working days, iro), overdue (+1 working day,
 * team_manager and iro) and escalated (+10 working days, service_manager and
 * team_manager), all at 08:00. England and Wales holidays 2026-2027; counted by hand:
 *
 *   case  start       due         reminder    overdue     escalated
 *   A01   2026-12-18  2027-01-20  2027-01-13  2027-01-21  2027-02-03
 *   A02   2026-11-02  2026-11-30  2026-11-23  2026-12-01  2026-12-14
 *   A03   2026-12-24  2027-01-26  2027-01-19  2027-01-27  2027-02-09
 *
 * A01: 12-21..24 (4), 12-25 and 12-28 holidays, 12-29..31 (7), 01-01 holiday, 01-04..08
 * (12), 01-11..15 (17), 01-18..20 (20). A02: 11-03..06 (4), then four full weeks to
 * Mon 11-30 (20). A03: 12-29..31 (3), 01-04..08 (8), 11..15 (13), 18..22 (18), 25, 26 (20).
 * Four more rows are bad: a NULL case_ref, 2024-02-30, a NULL start and "31/01/2027".
 */
static const char holidays[] = "# England and Wales\n"
                               "# covers: 2026-2027\n"
                               "2026-01-01\n2026-04-03\n2026-04-06\n2026-05-04\n2026-05-25\n"
                               "2026-08-31\n2026-12-25\n2026-12-28\n2027-01-01\n2027-03-26\n"
                               "2027-03-29\n2027-05-03\n2027-05-31\n2027-08-30\n2027-12-27\n"
                               "2027-12-28\n";

static const char config[] =
    "case_store = \"cases.sqlite\";\n"
    "state = \"state.sqlite\";\n"
    "rules = \"rules\";\n"
    "holidays = [ \"holidays.txt\" ];\n"
    "contacts = {\n"
    "  iro = { email = \"iro-service@council.example\"; };\n"
    "  service_manager = { email = \"service.manager@council.example\"; };\n"
    "};\n";

static const char rule_cic[] =
    "rules = ( {\n"
    "  id = \"cic-first-review\";\n"
    "  title = \"First Child in Care review\";\n"
    "  query = \"SELECT case_ref, start, team_manager_email FROM looked_after ORDER BY "
    "case_ref\";\n"
    "  due = \"20 working days\";\n"
    "  stages = (\n"
    "    { name = \"reminder\"; at = \"-5 working days\"; notify = [ \"iro\" ]; },\n"
    "    { name = \"overdue\"; at = \"1 working day\"; notify = [ \"team_manager\", \"iro\" ]; },\n"
    "    { name = \"escalated\"; at = \"10 working days\";\n"
    "      notify = [ \"service_manager\", \"team_manager\" ]; }\n"
    "  );\n"
    "} );\n";

static const char cases_sql[] =
    "CREATE TABLE looked_after (case_ref TEXT, start TEXT, team_manager_email TEXT);"
    "INSERT INTO looked_after VALUES"
    " ('A01', '2026-12-18', 'tm.north@council.example'),"
    " ('A02', '2026-11-02', 'tm.south@council.example'),"
    " ('A03', '2026-12-24T10:15:00', 'tm.west@council.example'),"
    " (NULL, '2026-12-01', 'tm.north@council.example'),"
    " ('B01', '2024-02-30', 'tm.north@council.example'),"
    " ('B02', NULL, 'tm.north@council.example'),"
    " ('B03', '31/01/2027', 'tm.north@council.example');"
    "CREATE TABLE reviews (case_ref TEXT, start TEXT);"
    "INSERT INTO reviews VALUES ('R01', '2026-07-13');";

/* One alert as the callback saw it, copied. */
struct seen {
	char rule[64];
	char case_ref[16];
	char stage[16];
	char due[DATE_STRLEN];
	char fires[DATETIME_STRLEN];
	int days_late;
	char recipients[256];
	long long alert_id;
};

/* One test's scratch directory, engine, state store and the alerts seen. */
struct fixture {
	struct testdir *td;
	char *config_path;
	struct engine *e;
	struct statestore *ss;
	struct seen seen[32];
	size_t nseen;
};

/* Run sql on the case store through a separate connection. */
static void
cases_exec(const struct fixture *fx, const char *sql)
{
	char *path = testdir_path(fx->td, "cases.sqlite");
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	free(path);
}

/* Write the configuration, holidays, rule file and case store. */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);

	fx->td = testdir_new();
	fx->config_path = testdir_write(fx->td, "escalator.conf", config);
	free(testdir_write(fx->td, "holidays.txt", holidays));
	free(testdir_write(fx->td, "rules/10-cic.conf", rule_cic));
	cases_exec(fx, cases_sql);
	*state = fx;
	return 0;
}

/* Free everything and remove the scratch directory. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	statestore_close(fx->ss);
	engine_free(fx->e);
	testdir_free(fx->td);
	free(fx->config_path);
	free(fx);
	return 0;
}

/* Load the engine and open the state store (read-only for a dry run). */
static void
load(struct fixture *fx, bool dry_run)
{
	struct diag d;
	char *cause = NULL;

	diag_init(&d);
	fx->e = engine_load(fx->config_path, &d);
	if (fx->e == NULL || d.errors != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_message("  diag: %s\n", d.v[i].text);
		fail_msg("engine_load failed");
	}
	diag_free(&d);
	fx->ss = statestore_open(engine_config(fx->e)->state, dry_run, &cause);
	if (fx->ss == NULL)
		fail_msg("statestore_open: %s", cause);
}

/* The evaluate_alert_fn: copy what matters of each alert. */
static void
collect(void *arg, const struct alert *a, long long alert_id)
{
	struct fixture *fx = arg;
	struct seen *s;

	assert_true(fx->nseen < sizeof fx->seen / sizeof fx->seen[0]);
	s = &fx->seen[fx->nseen++];
	snprintf(s->rule, sizeof s->rule, "%s", a->rule->id);
	snprintf(s->case_ref, sizeof s->case_ref, "%s", a->case_ref);
	snprintf(s->stage, sizeof s->stage, "%s", a->rule->stages[a->stage].name);
	date_format(a->due, s->due);
	localtime_format(a->fires, s->fires);
	s->days_late = a->days_late;
	s->recipients[0] = '\0';
	for (size_t i = 0; i < a->nrecipients; i++) {
		size_t len = strlen(s->recipients);

		snprintf(s->recipients + len, sizeof s->recipients - len, "%s%s", i ? "," : "",
		         a->recipients[i].address);
	}
	s->alert_id = alert_id;
}

/* Local minutes of a date at hh:mm. */
static localtime_min_t
T(const char *day, int hh, int mm)
{
	date_t d = 0;

	if (date_parse_strict(day, &d) != 0)
		fail_msg("bad date literal \"%s\"", day);
	return (localtime_min_t)d * 1440 + hh * 60 + mm;
}

/* Run one pass at now, starting a fresh list of alerts seen. */
static void
pass(struct fixture *fx, localtime_min_t now, struct evaluate_stats *stats)
{
	char *cause = NULL;

	fx->nseen = 0;
	if (evaluate_pass(fx->e, fx->ss, now, collect, fx, stats, &cause) != 0)
		fail_msg("evaluate_pass: %s", cause);
}

/* Assert alert i of the last pass. */
static void
expect_seen(const struct fixture *fx, size_t i, const char *case_ref, const char *stage,
            const char *fires, int days_late, const char *recipients)
{
	const struct seen *s;

	if (i >= fx->nseen)
		fail_msg("only %zu alerts, expected one for %s %s", fx->nseen, case_ref, stage);
	s = &fx->seen[i];
	assert_string_equal(s->case_ref, case_ref);
	assert_string_equal(s->stage, stage);
	assert_string_equal(s->fires, fires);
	assert_int_equal(s->days_late, days_late);
	assert_string_equal(s->recipients, recipients);
}

/* The first column of the first row of sql on the state store, as text ("" for none). */
static char *
state_text(const struct fixture *fx, const char *sql)
{
	char *path = testdir_path(fx->td, "state.sqlite");
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	out = xstrdup(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL
	                  ? (const char *)sqlite3_column_text(st, 0)
	                  : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return out;
}

/* The clock_stage rows of one case as "stage:status,..." in stage name order. */
static char *
stages_of(const struct fixture *fx, const char *case_ref)
{
	char *sql =
	    sqlite3_mprintf("SELECT group_concat(stage || ':' || status, ',') FROM "
	                    "(SELECT * FROM clock_stage WHERE case_ref = %Q ORDER BY stage)",
	                    case_ref);
	char *out = state_text(fx, sql);

	sqlite3_free(sql);
	return out;
}

/* Assert the recorded stages of a case. */
static void
expect_stages(const struct fixture *fx, const char *case_ref, const char *want)
{
	char *got = stages_of(fx, case_ref);

	if (strcmp(got, want) != 0)
		fail_msg("case %s: recorded \"%s\", expected \"%s\"", case_ref, got, want);
	free(got);
}

/* Assert sql on the state store gives want. */
static void
expect_state(const struct fixture *fx, const char *sql, const char *want)
{
	char *got = state_text(fx, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", sql, got, want);
	free(got);
}

/* The first pass records what is owed; a second pass at the same now owes nothing. */
static void
test_evaluate_first_pass_then_same_now(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	load(fx, false);
	/* 2027-01-13 08:00: A01's reminder fires; A02 is past every stage; A03 has none yet. */
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	assert_int_equal(fx->nseen, 2);
	expect_seen(fx, 0, "A01", "reminder", "2027-01-13T08:00:00", 0,
	            "iro-service@council.example");
	/* A02: due 2026-11-30; late 12-01..12-24 (18), 12-29..31 (21), 01-04..08 (26), 11-13. */
	expect_seen(fx, 1, "A02", "escalated", "2026-12-14T08:00:00", 29,
	            "service.manager@council.example,tm.south@council.example");
	assert_string_equal(fx->seen[0].rule, "cic-first-review");
	assert_string_equal(fx->seen[0].due, "2027-01-20");
	assert_string_equal(fx->seen[1].due, "2026-11-30");
	assert_true(fx->seen[0].alert_id > 0);
	assert_true(fx->seen[1].alert_id > fx->seen[0].alert_id);
	/* A02's overdue stage was skipped: its IRO is copied in (the team manager is told anyway).
	 */
	assert_int_equal(queue_depth(fx->ss), 4);
	expect_state(fx,
	             "SELECT group_concat(recipient || ' ' || copied || ' ' || copied_on) FROM "
	             "delivery WHERE copied IS NOT NULL",
	             "iro-service@council.example Overdue 2026-12-01");

	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.alerts, 0);
	assert_int_equal(fx->nseen, 0);
	assert_int_equal(stats.clocks, 7);
	assert_int_equal(queue_depth(fx->ss), 4);
}

/* A pass at a later now owes only the stages newly reached since. */
static void
test_evaluate_later_pass_new_stages_only(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);

	/* 2027-01-21 08:00: A01's overdue (today) and A03's reminder (01-19) are new. */
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	assert_int_equal(fx->nseen, 2);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 1,
	            "tm.north@council.example,iro-service@council.example");
	expect_seen(fx, 1, "A03", "reminder", "2027-01-19T08:00:00", 0,
	            "iro-service@council.example");

	/* 2027-01-27 07:59: A03's overdue is a minute away: nothing. */
	pass(fx, T("2027-01-27", 7, 59), &stats);
	assert_int_equal(stats.alerts, 0);
	/* 2027-01-27 08:00: A03 overdue, one working day after its due date 01-26. */
	pass(fx, T("2027-01-27", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A03", "overdue", "2027-01-27T08:00:00", 1,
	            "tm.west@council.example,iro-service@council.example");
	/* 2027-02-03 07:59: A01's escalation is a minute away: nothing. */
	pass(fx, T("2027-02-03", 7, 59), &stats);
	assert_int_equal(stats.alerts, 0);
	/* 2027-02-03 08:00: A01 escalated, ten working days late; nothing else. */
	pass(fx, T("2027-02-03", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 10,
	            "service.manager@council.example,tm.north@council.example");
	expect_stages(fx, "A01", "escalated:alerted,overdue:alerted,reminder:alerted");
}

/* Catch-up: stages passed over are recorded as skipped and never alerted later. */
static void
test_evaluate_catch_up_skips(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	load(fx, false);
	/* First ever pass on 2027-02-09 08:00: every clock is past its last stage. */
	pass(fx, T("2027-02-09", 8, 0), &stats);
	assert_int_equal(stats.alerts, 3);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 14,
	            "service.manager@council.example,tm.north@council.example");
	expect_seen(fx, 1, "A02", "escalated", "2026-12-14T08:00:00", 48,
	            "service.manager@council.example,tm.south@council.example");
	expect_seen(fx, 2, "A03", "escalated", "2027-02-09T08:00:00", 10,
	            "service.manager@council.example,tm.west@council.example");
	expect_stages(fx, "A01", "escalated:alerted,overdue:skipped,reminder:skipped");
	expect_stages(fx, "A02", "escalated:alerted,overdue:skipped,reminder:skipped");
	expect_stages(fx, "A03", "escalated:alerted,overdue:skipped,reminder:skipped");

	/* Later passes never alert the skipped stages. */
	pass(fx, T("2027-02-10", 8, 0), &stats);
	assert_int_equal(stats.alerts, 0);
	pass(fx, T("2027-06-01", 8, 0), &stats);
	assert_int_equal(stats.alerts, 0);
	expect_stages(fx, "A02", "escalated:alerted,overdue:skipped,reminder:skipped");
	/* One delivery per recipient of the three alerts, and each one's IRO copied in. */
	assert_int_equal(queue_depth(fx->ss), 9);
}

/* A catch-up in the middle: only the earlier stages not yet recorded are skipped. */
static void
test_evaluate_catch_up_partial(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	load(fx, false);
	/* 2027-01-19 08:00: A01's reminder (01-13) and A03's reminder (01-19). */
	pass(fx, T("2027-01-19", 8, 0), &stats);
	assert_int_equal(stats.alerts, 3);
	expect_seen(fx, 2, "A03", "reminder", "2027-01-19T08:00:00", 0,
	            "iro-service@council.example");
	/* The daemon was down until 2027-02-09: A03 jumps to escalated, overdue skipped. */
	pass(fx, T("2027-02-09", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 14,
	            "service.manager@council.example,tm.north@council.example");
	expect_seen(fx, 1, "A03", "escalated", "2027-02-09T08:00:00", 10,
	            "service.manager@council.example,tm.west@council.example");
	expect_stages(fx, "A01", "escalated:alerted,overdue:skipped,reminder:alerted");
	expect_stages(fx, "A03", "escalated:alerted,overdue:skipped,reminder:alerted");
}

/* Bad rows are skipped and counted; the good rows around them are evaluated. */
static void
test_evaluate_bad_rows_skipped(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	load(fx, false);
	pass(fx, T("2027-02-09", 8, 0), &stats);
	/* Seven rows: NULL case_ref, 2024-02-30, NULL start and 31/01/2027 are skipped. */
	assert_int_equal(stats.clocks, 7);
	assert_int_equal(stats.skipped_rows, 4);
	assert_int_equal(stats.failed_rules, 0);
	assert_int_equal(stats.alerts, 3);
	assert_int_equal(fx->nseen, 3);
	assert_string_equal(fx->seen[0].case_ref, "A01");
	assert_string_equal(fx->seen[1].case_ref, "A02");
	assert_string_equal(fx->seen[2].case_ref, "A03");
	expect_stages(fx, "B01", "");
	expect_stages(fx, "B02", "");
	expect_stages(fx, "B03", "");
}

/* stats.next is the earliest stage firing after now, over every clock. */
static void
test_evaluate_next(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	/*
	 * A04, the last row: start Mon 2027-01-04; 01-05..08 (4), 11..15 (9), 18..22 (14),
	 * 25..29 (19), 02-01 (20): due Mon 2027-02-01; reminder 01-29, 28, 27, 26, 25 ->
	 * 2027-01-25; overdue 2027-02-02; escalated 02-02..05 (4), 08..12 (9), 15 -> 2027-02-15.
	 */
	cases_exec(fx, "INSERT INTO looked_after VALUES ('A04', '2027-01-04', "
	               "'tm.east@council.example')");
	load(fx, false);
	/* 01-13: next A01 01-21, A02 never, A03 01-19, A04 01-25: the earliest is A03's. */
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.next, T("2027-01-19", 8, 0));
	/* A minute before A03's reminder, it is still next. */
	pass(fx, T("2027-01-19", 7, 59), &stats);
	assert_int_equal(stats.next, T("2027-01-19", 8, 0));
	/* 01-21 08:00: A01 next 02-03, A03 01-27, A04 01-25. */
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.next, T("2027-01-25", 8, 0));
	/* 02-03 08:00: A01 done, A03 next 02-09, A04 next 02-15. */
	pass(fx, T("2027-02-03", 8, 0), &stats);
	assert_int_equal(stats.next, T("2027-02-09", 8, 0));
	/* 02-09 08:00: only A04's escalation is left. */
	pass(fx, T("2027-02-09", 8, 0), &stats);
	assert_int_equal(stats.next, T("2027-02-15", 8, 0));
	/* After every stage: nothing is ever due again. */
	pass(fx, T("2027-02-15", 8, 0), &stats);
	assert_true(stats.next == EVAL_NEVER);
}

/* A rule whose query fails at pass time is counted; the other rules go on. */
static void
test_evaluate_failed_rule(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	/* A second rule: a later review 6 months after R01's 2026-07-13, due 2027-01-13. */
	free(testdir_write(
	    fx->td, "rules/20-later.conf",
	    "rules = ( { id = \"cic-later-review\"; title = \"Later review\";\n"
	    "  query = \"SELECT case_ref, start FROM reviews\"; due = \"6 months\";\n"
	    "  stages = ( { name = \"due\"; at = \"0 days\"; notify = \"iro\"; } ); } );\n"));
	load(fx, false);
	cases_exec(fx, "DROP TABLE looked_after");
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.failed_rules, 1);
	assert_int_equal(stats.alerts, 1);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].rule, "cic-later-review");
	expect_seen(fx, 0, "R01", "due", "2027-01-13T08:00:00", 0, "iro-service@council.example");
}

/* A dry run (read-only state store, no file yet) reports alerts, records nothing. */
static void
test_evaluate_dry_run(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	char *path = testdir_path(fx->td, "state.sqlite");

	load(fx, true);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	assert_int_equal(fx->seen[0].alert_id, 0);
	assert_int_equal(fx->seen[1].alert_id, 0);
	/* Nothing recorded: the same alerts are owed again. */
	pass(fx, T("2027-01-13", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

/* A threshold rule alerts once per crossing: again only after recovering or vanishing. */
static void
test_evaluate_threshold_crossings(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	cases_exec(fx, "CREATE TABLE caseload (iro TEXT, n INTEGER, mgr TEXT);"
	               "INSERT INTO caseload VALUES ('IRO-1', 71, 'iro.sm@council.example'),"
	               " ('IRO-2', 70, 'iro.sm@council.example'),"
	               " ('IRO-3', 'many', 'iro.sm@council.example');");
	free(testdir_write(
	    fx->td, "rules/20-load.conf",
	    "rules = ( { id = \"iro-caseload\"; title = \"IRO caseload\";\n"
	    "  kind = \"threshold\"; above = 70;\n"
	    "  query = \"SELECT iro AS key, n AS value, mgr AS iro_service_manager_email "
	    "FROM caseload ORDER BY iro\";\n"
	    "  notify = [ \"iro_service_manager\" ]; } );\n"));
	load(fx, false);

	/*
	 * 71 > 70 alerts; 70 is not above 70; "many" is skipped with a warning (the four
	 * bad rows of the clock rule are the other skipped rows; none of its stages is due yet).
	 */
	pass(fx, T("2026-11-02", 9, 0), &stats);
	assert_int_equal(stats.skipped_rows, 4 + 1);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].rule, "iro-caseload");
	assert_string_equal(fx->seen[0].case_ref, "IRO-1");
	assert_string_equal(fx->seen[0].stage, "above");
	assert_string_equal(fx->seen[0].fires, "2026-11-02T09:00:00");
	assert_string_equal(fx->seen[0].recipients, "iro.sm@council.example");

	/* Still over: no second alert. */
	cases_exec(fx, "UPDATE caseload SET n = 80 WHERE iro = 'IRO-1'");
	pass(fx, T("2026-11-03", 9, 0), &stats);
	assert_int_equal(fx->nseen, 0);

	/* Back to 70, then over again: a new crossing, a new alert. */
	cases_exec(fx, "UPDATE caseload SET n = 70 WHERE iro = 'IRO-1'");
	pass(fx, T("2026-11-04", 9, 0), &stats);
	assert_int_equal(fx->nseen, 0);
	cases_exec(fx, "UPDATE caseload SET n = 72 WHERE iro = 'IRO-1'");
	pass(fx, T("2026-11-05", 9, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].case_ref, "IRO-1");

	/* A key that vanishes while over is forgotten: its return alerts again. */
	cases_exec(fx, "DELETE FROM caseload WHERE iro = 'IRO-1'");
	pass(fx, T("2026-11-06", 9, 0), &stats);
	assert_int_equal(fx->nseen, 0);
	cases_exec(fx, "INSERT INTO caseload VALUES ('IRO-1', 90, 'iro.sm@council.example')");
	pass(fx, T("2026-11-09", 9, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].case_ref, "IRO-1");
}

/* The configuration with allowed_domains and an admin contact, and a rule telling one person. */
static void
recipients_setup(struct fixture *fx)
{
	free(fx->config_path);
	fx->config_path =
	    testdir_write(fx->td, "escalator.conf",
	                  "case_store = \"cases.sqlite\";\n"
	                  "state = \"state.sqlite\";\n"
	                  "rules = \"rules\";\n"
	                  "holidays = [ \"holidays.txt\" ];\n"
	                  "allowed_domains = [ \"council.example\" ];\n"
	                  "admin = \"escalator_admin\";\n"
	                  "contacts = {\n"
	                  "  iro = { email = \"iro-service@council.example\"; };\n"
	                  "  service_manager = { email = \"service.manager@council.example\"; };\n"
	                  "  escalator_admin = { email = \"it.admin@council.example\"; };\n"
	                  "};\n");
	free(testdir_write(fx->td, "rules/20-solo.conf",
	                   "rules = ( { id = \"solo\"; title = \"One person told\";\n"
	                   "  query = \"SELECT case_ref, start, sw_email FROM solo ORDER BY "
	                   "case_ref\";\n"
	                   "  due = \"20 working days\";\n"
	                   "  stages = ( { name = \"due\"; at = \"0 days\"; notify = [ \"sw\" ]; "
	                   "} ); } );\n"));
	cases_exec(fx, "CREATE TABLE solo (case_ref TEXT, start TEXT, sw_email TEXT);"
	               "INSERT INTO solo VALUES ('S01', '2026-11-02', 'jane.smith@gmial.com'),"
	               " ('S02', '2026-11-02', ''),"
	               " ('S03', '2026-11-02', 'victim%evil.example@council.example'),"
	               " ('S04', '2026-11-02', 'sw.four@council.example');"
	               "UPDATE looked_after SET team_manager_email = 'tm.south@gmial.com' "
	               "WHERE case_ref = 'A02';");
	load(fx, false);
}

/*
 * A stage whose recipients are all missing, invalid or refused is not recorded:
 * the admin is told once (rule, case, stage, the domain, never the address), and
 * the person gets the stage once the row is corrected.
 */
static void
test_evaluate_undeliverable_not_recorded(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	char *body;

	recipients_setup(fx);
	/* S0x due 2026-11-30 08:00. */
	pass(fx, T("2026-12-01", 9, 0), &stats);
	for (size_t i = 0; i < fx->nseen; i++)
		assert_false(strcmp(fx->seen[i].case_ref, "S01") == 0 ||
		             strcmp(fx->seen[i].case_ref, "S02") == 0 ||
		             strcmp(fx->seen[i].case_ref, "S03") == 0);
	expect_stages(fx, "S01", "");
	expect_stages(fx, "S02", "");
	expect_stages(fx, "S03", "");
	expect_stages(fx, "S04", "due:alerted");
	/* Nothing to gmial.com, nothing outside council.example at all. */
	expect_state(
	    fx, "SELECT count(*) FROM delivery WHERE recipient NOT LIKE '%@council.example'", "0");
	expect_state(fx,
	             "SELECT count(*) FROM alert WHERE rule = 'escalator-undeliverable' AND "
	             "case_ref IN ('solo/S01/due', 'solo/S02/due', 'solo/S03/due')",
	             "3");
	expect_state(fx,
	             "SELECT d.recipient FROM alert a JOIN delivery d ON d.alert_id = a.id "
	             "WHERE a.case_ref = 'solo/S01/due'",
	             "it.admin@council.example");
	body = state_text(fx, "SELECT subject || ' ' || body FROM alert WHERE case_ref = "
	                      "'solo/S01/due'");
	assert_non_null(strstr(body, "solo"));
	assert_non_null(strstr(body, "S01"));
	assert_non_null(strstr(body, "column sw_email"));
	assert_non_null(strstr(body, "gmial.com"));
	assert_null(strstr(body, "jane.smith"));
	free(body);
	body = state_text(fx, "SELECT body FROM alert WHERE case_ref = 'solo/S02/due'");
	assert_non_null(strstr(body, "empty"));
	free(body);
	body = state_text(fx, "SELECT body FROM alert WHERE case_ref = 'solo/S03/due'");
	assert_non_null(strstr(body, "not an email address"));
	assert_null(strstr(body, "victim"));
	free(body);

	/* The next pass: still owed, still not recorded, the admin not told twice. */
	pass(fx, T("2026-12-01", 10, 0), &stats);
	expect_stages(fx, "S01", "");
	expect_state(fx,
	             "SELECT count(*) FROM alert WHERE rule = 'escalator-undeliverable' AND "
	             "case_ref = 'solo/S01/due'",
	             "1");

	/* Corrected: the intended person gets the stage. */
	cases_exec(
	    fx, "UPDATE solo SET sw_email = 'jane.smith@council.example' WHERE case_ref = 'S01'");
	pass(fx, T("2026-12-02", 9, 0), &stats);
	expect_stages(fx, "S01", "due:alerted");
	expect_state(fx,
	             "SELECT d.recipient FROM alert a JOIN delivery d ON d.alert_id = a.id "
	             "WHERE a.rule = 'solo' AND a.case_ref = 'S01'",
	             "jane.smith@council.example");
}

/* Some recipients refused: the others are sent the alert, the admin hears of the refused. */
static void
test_evaluate_partly_refused(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	char *body;

	recipients_setup(fx);
	/* A02 is past escalated: service_manager (a contact) and team_manager (gmial.com). */
	pass(fx, T("2026-12-14", 9, 0), &stats);
	expect_stages(fx, "A02", "escalated:alerted,overdue:skipped,reminder:skipped");
	expect_state(fx,
	             "SELECT group_concat(d.recipient) FROM alert a JOIN delivery d ON "
	             "d.alert_id = a.id WHERE a.rule = 'cic-first-review' AND a.case_ref = "
	             "'A02' AND d.copied IS NULL",
	             "service.manager@council.example");
	/* The skipped overdue stage's IRO (a contact) is copied in; its team manager is refused. */
	expect_state(fx,
	             "SELECT group_concat(d.recipient || ' ' || d.copied) FROM alert a JOIN "
	             "delivery d ON d.alert_id = a.id WHERE a.case_ref = 'A02' AND d.copied IS "
	             "NOT NULL",
	             "iro-service@council.example Overdue");
	body = state_text(fx, "SELECT subject || ' ' || body FROM alert WHERE rule = "
	                      "'escalator-undeliverable' AND case_ref = "
	                      "'cic-first-review/A02/escalated'");
	assert_non_null(strstr(body, "column team_manager_email"));
	assert_non_null(strstr(body, "gmial.com"));
	assert_null(strstr(body, "tm.south"));
	free(body);
}

/* A threshold key nobody could be told about alerts once its address is corrected. */
static void
test_evaluate_threshold_undeliverable(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	cases_exec(fx, "CREATE TABLE caseload (iro TEXT, n INTEGER, mgr TEXT);"
	               "INSERT INTO caseload VALUES ('IRO-1', 71, 'iro.sm@gmial.com');");
	free(testdir_write(
	    fx->td, "rules/30-load.conf",
	    "rules = ( { id = \"iro-caseload\"; title = \"IRO caseload\";\n"
	    "  kind = \"threshold\"; above = 70;\n"
	    "  query = \"SELECT iro AS key, n AS value, mgr AS iro_service_manager_email "
	    "FROM caseload ORDER BY iro\";\n"
	    "  notify = [ \"iro_service_manager\" ]; } );\n"));
	recipients_setup(fx);
	pass(fx, T("2026-11-02", 9, 0), &stats);
	expect_stages(fx, "IRO-1", "");
	expect_state(fx, "SELECT count(*) FROM alert WHERE case_ref = 'iro-caseload/IRO-1/above'",
	             "1");
	cases_exec(fx, "UPDATE caseload SET mgr = 'iro.sm@council.example'");
	pass(fx, T("2026-11-02", 10, 0), &stats);
	expect_stages(fx, "IRO-1", "above:alerted");
}

/*
 * hold: the fixture's rule with hold and max_hold (extra, on the rule), or
 * without them (extra ""), replacing rules/10-cic.conf.
 */
static void
hold_rule(struct fixture *fx, const char *extra)
{
	char *text = xasprintf(
	    "rules = ( {\n"
	    "  id = \"cic-first-review\";\n"
	    "  title = \"First Child in Care review\";\n"
	    "  query = \"SELECT case_ref, start, team_manager_email FROM looked_after ORDER BY "
	    "case_ref\";\n"
	    "  due = \"20 working days\";\n"
	    "  %s\n"
	    "  stages = (\n"
	    "    { name = \"reminder\"; at = \"-5 working days\"; notify = [ \"iro\" ]; },\n"
	    "    { name = \"overdue\"; at = \"1 working day\"; notify = [ \"team_manager\", "
	    "\"iro\" "
	    "]; },\n"
	    "    { name = \"escalated\"; at = \"10 working days\";\n"
	    "      notify = [ \"service_manager\", \"team_manager\" ]; }\n"
	    "  );\n"
	    "} );\n",
	    extra);

	free(testdir_write(fx->td, "rules/10-cic.conf", text));
	free(text);
}

/*
 * Answer the first delivery of case_ref's alert at stage as the listener does
 * (answers_target, answers_add): a second answer through it amends the first.
 */
static void
answer(struct fixture *fx, const char *case_ref, const char *stage, enum answer_kind kind,
       const char *agreed_on)
{
	char *sql = sqlite3_mprintf("SELECT min(d.id) FROM delivery d JOIN alert a ON a.id = "
	                            "d.alert_id WHERE a.case_ref = %Q AND a.stage = %Q",
	                            case_ref, stage);
	char *id = state_text(fx, sql);
	struct answer an = {.kind = kind, .agreed_on = agreed_on};
	struct delivery *d = NULL;
	char *cause = NULL;

	if (*id == '\0')
		fail_msg("no delivery of %s %s to answer", case_ref, stage);
	if (answers_target(fx->ss, atoll(id), &d, &cause) != 0)
		fail_msg("answers_target(%s): %s", id, cause ? cause : "not an alert's delivery");
	if (answers_add(fx->ss, d, &an, &cause) < 0)
		fail_msg("answers_add: %s", cause);
	delivery_free(d);
	sqlite3_free(sql);
	free(id);
}

/*
 * Action agreed for Mon 2027-01-25 in answer to A01's reminder: the overdue
 * stage (Thu 01-21, on or before that date) waits until the working day
 * after it, Tue 01-26, then goes; the escalation (02-03, after it) is not held.
 */
static void
test_evaluate_hold_until_day_after(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	hold_rule(fx, "hold = true; max_hold = \"10 working days\";");
	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	expect_seen(fx, 0, "A01", "reminder", "2027-01-13T08:00:00", 0,
	            "iro-service@council.example");
	answer(fx, "A01", "reminder", ANSWER_AGREED, "2027-01-25");

	/* 01-21 08:00: A01's overdue is held (nothing recorded); A03's reminder is not. */
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A03", "reminder", "2027-01-19T08:00:00", 0,
	            "iro-service@council.example");
	expect_stages(fx, "A01", "reminder:alerted");
	/* The wake timer: A01's hold ends 01-26 08:00, before A03's overdue (01-27). */
	assert_int_equal(stats.next, T("2027-01-26", 8, 0));
	/* The agreed day itself, and a minute before the hold ends: still held. */
	pass(fx, T("2027-01-25", 8, 0), &stats);
	assert_int_equal(stats.alerts, 0);
	pass(fx, T("2027-01-26", 7, 59), &stats);
	assert_int_equal(stats.alerts, 0);
	assert_int_equal(stats.next, T("2027-01-26", 8, 0));
	/* Not done by the agreed date: the overdue stage goes, to everyone it names. */
	pass(fx, T("2027-01-26", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 4,
	            "tm.north@council.example,iro-service@council.example");
	expect_stages(fx, "A01", "overdue:alerted,reminder:alerted");
	assert_int_equal(stats.next, T("2027-01-27", 8, 0));
	/* The escalation, dated after the agreed date, goes on its own date. */
	pass(fx, T("2027-02-03", 8, 0), &stats);
	assert_int_equal(stats.alerts, 2);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 10,
	            "service.manager@council.example,tm.north@council.example");
	/* The answer is kept: nothing about it was removed by the hold. */
	expect_state(fx, "SELECT count(*) FROM response", "1");
}

/*
 * Renamed with renamed_from: the rule (cic-first-review -> cic-first) and the
 * answered stage (reminder -> reminder-iro). The answer, recorded under the
 * old names, still holds A01's overdue stage; A01's reminder is not owed
 * again; A03's reminder, never sent, goes under the new name.
 */
static void
test_evaluate_hold_renamed(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	hold_rule(fx, "hold = true; max_hold = \"10 working days\";");
	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	answer(fx, "A01", "reminder", ANSWER_AGREED, "2027-01-25");
	engine_free(fx->e);
	statestore_close(fx->ss);
	free(testdir_write(
	    fx->td, "rules/10-cic.conf",
	    "rules = ( {\n"
	    "  id = \"cic-first\"; renamed_from = \"cic-first-review\";\n"
	    "  title = \"First Child in Care review\";\n"
	    "  query = \"SELECT case_ref, start, team_manager_email FROM looked_after ORDER BY "
	    "case_ref\";\n"
	    "  due = \"20 working days\"; hold = true; max_hold = \"10 working days\";\n"
	    "  stages = (\n"
	    "    { name = \"reminder-iro\"; renamed_from = \"reminder\"; at = \"-5 working "
	    "days\";\n"
	    "      notify = [ \"iro\" ]; },\n"
	    "    { name = \"overdue\"; at = \"1 working day\"; notify = [ \"team_manager\" ]; },\n"
	    "    { name = \"escalated\"; at = \"10 working days\"; notify = [ \"team_manager\" ]; "
	    "}\n"
	    "  );\n"
	    "} );\n"));
	load(fx, false);
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A03", "reminder-iro", "2027-01-19T08:00:00", 0,
	            "iro-service@council.example");
	/* A01: held until 01-26 as before the rename, then its overdue stage goes. */
	assert_int_equal(stats.next, T("2027-01-26", 8, 0));
	pass(fx, T("2027-01-26", 8, 0), &stats);
	assert_int_equal(stats.alerts, 1);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 4, "tm.north@council.example");
	expect_state(fx,
	             "SELECT group_concat(rule || '/' || stage, ',') FROM (SELECT * FROM "
	             "clock_stage WHERE case_ref = 'A01' ORDER BY rule, stage)",
	             "cic-first/overdue,cic-first-review/reminder");
}

/*
 * The cap: action agreed for 2027-03-01 in answer to A01's overdue stage
 * holds the escalation (02-03) for at most 10 working days: until Wed
 * 02-17 (02-04, 05, 08..12, 15, 16, 17).
 */
static void
test_evaluate_hold_cap(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	hold_rule(fx, "hold = true; max_hold = \"10 working days\";");
	load(fx, false);
	pass(fx, T("2027-01-21", 8, 0), &stats);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 1,
	            "tm.north@council.example,iro-service@council.example");
	answer(fx, "A01", "overdue", ANSWER_AGREED, "2027-03-01");
	pass(fx, T("2027-02-03", 8, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].case_ref, "A03");    /* A03's overdue, not held */
	assert_int_equal(stats.next, T("2027-02-09", 8, 0)); /* A03's escalation first */
	pass(fx, T("2027-02-09", 8, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	assert_string_equal(fx->seen[0].case_ref, "A03"); /* A03's escalation */
	assert_int_equal(stats.next, T("2027-02-17", 8, 0));
	pass(fx, T("2027-02-16", 8, 0), &stats);
	assert_int_equal(fx->nseen, 0);
	pass(fx, T("2027-02-17", 7, 59), &stats);
	assert_int_equal(fx->nseen, 0);
	pass(fx, T("2027-02-17", 8, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 20,
	            "service.manager@council.example,tm.north@council.example");
	expect_stages(fx, "A01", "escalated:alerted,overdue:alerted,reminder:skipped");
}

/*
 * Two stages waiting: the earliest's cap ends the hold. Agreed for 03-01 in
 * answer to the reminder: overdue (01-21) may wait until 02-04, the
 * escalation (02-03) until 02-17; on 02-04 the escalation goes, the overdue
 * stage skipped with its recipients told, as in any catch-up.
 */
static void
test_evaluate_hold_cap_earliest(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	hold_rule(fx, "hold = true; max_hold = \"10 working days\";");
	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	answer(fx, "A01", "reminder", ANSWER_AGREED, "2027-03-01");
	pass(fx, T("2027-02-03", 8, 0), &stats);
	expect_stages(fx, "A01", "reminder:alerted");
	assert_int_equal(stats.next, T("2027-02-04", 8, 0));
	pass(fx, T("2027-02-04", 8, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	expect_seen(fx, 0, "A01", "escalated", "2027-02-03T08:00:00", 11,
	            "service.manager@council.example,tm.north@council.example");
	expect_stages(fx, "A01", "escalated:alerted,overdue:skipped,reminder:alerted");
}

/* An agreed answer amended (by the same link) no longer holds; the latest one does. */
static void
test_evaluate_hold_amended(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	hold_rule(fx, "hold = true; max_hold = \"10 working days\";");
	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	/* Agreed for 01-25, then amended to "acknowledged": nothing holds A01. */
	answer(fx, "A01", "reminder", ANSWER_AGREED, "2027-01-25");
	answer(fx, "A01", "reminder", ANSWER_ACKNOWLEDGED, NULL);
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(fx->nseen, 2);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 1,
	            "tm.north@council.example,iro-service@council.example");
	/* A03: agreed for 01-29, amended to 01-27 (its own overdue date): held until 01-28. */
	answer(fx, "A03", "reminder", ANSWER_AGREED, "2027-01-29");
	answer(fx, "A03", "reminder", ANSWER_AGREED, "2027-01-27");
	pass(fx, T("2027-01-27", 8, 0), &stats);
	assert_int_equal(fx->nseen, 0);
	assert_int_equal(stats.next, T("2027-01-28", 8, 0));
	pass(fx, T("2027-01-28", 8, 0), &stats);
	assert_int_equal(fx->nseen, 1);
	expect_seen(fx, 0, "A03", "overdue", "2027-01-27T08:00:00", 2,
	            "tm.west@council.example,iro-service@council.example");
	/* Both answers of each link are kept; the earlier ones marked as amended. */
	expect_state(fx, "SELECT count(*) || ':' || count(amends) FROM response", "4:2");
}

/*
 * A rule without hold ignores answers: the overdue stage goes on its date.
 * A threshold rule in the same engine alerts as ever.
 */
static void
test_evaluate_hold_not_asked(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	cases_exec(fx, "CREATE TABLE caseload (iro TEXT, n INTEGER, mgr TEXT);"
	               "INSERT INTO caseload VALUES ('IRO-1', 71, 'iro.sm@council.example');");
	free(testdir_write(
	    fx->td, "rules/20-load.conf",
	    "rules = ( { id = \"iro-caseload\"; title = \"IRO caseload\";\n"
	    "  kind = \"threshold\"; above = 70;\n"
	    "  query = \"SELECT iro AS key, n AS value, mgr AS iro_service_manager_email "
	    "FROM caseload ORDER BY iro\";\n"
	    "  notify = [ \"iro_service_manager\" ]; } );\n"));
	hold_rule(fx, "hold = false;");
	load(fx, false);
	pass(fx, T("2027-01-13", 8, 0), &stats);
	answer(fx, "A01", "reminder", ANSWER_AGREED, "2027-01-25");
	answer(fx, "IRO-1", "above", ANSWER_AGREED, "2027-01-25");
	cases_exec(fx, "UPDATE caseload SET n = 60; ");
	pass(fx, T("2027-01-14", 8, 0), &stats);
	cases_exec(fx, "UPDATE caseload SET n = 75; ");
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(fx->nseen, 3);
	expect_seen(fx, 0, "A01", "overdue", "2027-01-21T08:00:00", 1,
	            "tm.north@council.example,iro-service@council.example");
	assert_string_equal(fx->seen[2].rule, "iro-caseload");
	assert_string_equal(fx->seen[2].case_ref, "IRO-1");
}

/* Register one test with the engine fixture. */
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Count the alerts recorded in the state store, read through a separate connection. */
static int
alerts_committed(const struct fixture *fx)
{
	char *n = state_text(fx, "SELECT count(*) FROM alert");
	int count = atoi(n);

	free(n);
	return count;
}

/* A pass in slices of one row: the same alerts as one pass, each slice committed as it ends. */
static void
test_evaluate_slices(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	struct evaluate_run *run;
	char *cause = NULL;
	int rc, steps = 0, committed_mid = -1;

	load(fx, false);
	fx->nseen = 0;
	run = evaluate_start(fx->e, fx->ss, T("2027-01-21", 8, 0), collect, fx);
	while ((rc = evaluate_step(run, 1, 0, &cause)) == 1) {
		steps++;
		/* Another connection sees each slice's alerts as soon as the slice returns. */
		if (fx->nseen == 1 && committed_mid < 0)
			committed_mid = alerts_committed(fx);
	}
	if (rc != 0)
		fail_msg("evaluate_step: %s", cause);
	evaluate_finish(run, &stats);
	/* 7 rows of cic-first-review: a slice each. */
	assert_true(steps >= 6);
	assert_int_equal(committed_mid, 1);
	assert_false(stats.stopped);
	assert_int_equal(stats.clocks, 7);
	assert_int_equal(stats.skipped_rows, 4);
	assert_int_equal(stats.alerts, (long long)fx->nseen);
	assert_int_equal(alerts_committed(fx), (int)fx->nseen);
	assert_true(fx->nseen >= 2);
	/* Recorded once: a whole pass at the same time owes nothing more. */
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.alerts, 0);
}

/* Finishing a pass half way keeps what it recorded and says it stopped. */
static void
test_evaluate_finish_early(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	struct evaluate_run *run;
	char *cause = NULL;
	size_t first;

	load(fx, false);
	fx->nseen = 0;
	run = evaluate_start(fx->e, fx->ss, T("2027-01-21", 8, 0), collect, fx);
	assert_int_equal(evaluate_step(run, 1, 0, &cause), 1);
	first = fx->nseen;
	evaluate_finish(run, &stats);
	assert_true(stats.stopped);
	assert_int_equal(alerts_committed(fx), (int)first);
	/* The next pass owes the rest, not what was recorded. */
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.alerts + (long long)first, 3);
}

/* A threshold rule in slices of one row: the sweep still forgets exactly the vanished keys. */
static void
test_evaluate_threshold_sweep_in_slices(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	struct evaluate_run *run;
	char *cause = NULL;
	int rc;

	cases_exec(fx, "CREATE TABLE caseload (iro TEXT, n INTEGER, mgr TEXT);"
	               "INSERT INTO caseload VALUES ('IRO-1', 71, 'iro.sm@council.example'),"
	               " ('IRO-2', 75, 'iro.sm@council.example'),"
	               " ('IRO-3', 80, 'iro.sm@council.example');");
	free(testdir_write(
	    fx->td, "rules/20-load.conf",
	    "rules = ( { id = \"iro-caseload\"; title = \"IRO caseload\";\n"
	    "  kind = \"threshold\"; above = 70;\n"
	    "  query = \"SELECT iro AS key, n AS value, mgr AS iro_service_manager_email "
	    "FROM caseload ORDER BY iro\";\n"
	    "  notify = [ \"iro_service_manager\" ]; } );\n"));
	load(fx, false);
	for (int k = 0; k < 3; k++) {
		fx->nseen = 0;
		run = evaluate_start(fx->e, fx->ss, T("2026-11-02", 9, k), collect, fx);
		while ((rc = evaluate_step(run, 1, 0, &cause)) == 1)
			;
		if (rc != 0)
			fail_msg("evaluate_step: %s", cause);
		evaluate_finish(run, &stats);
		if (k == 0) {
			assert_int_equal(fx->nseen, 3);
			/* IRO-2 vanishes while over; IRO-1 and IRO-3 stay over. */
			cases_exec(fx, "DELETE FROM caseload WHERE iro = 'IRO-2'");
		} else if (k == 1) {
			assert_int_equal(fx->nseen, 0);
			cases_exec(fx, "INSERT INTO caseload VALUES ('IRO-2', 90, "
			               "'iro.sm@council.example')");
		} else {
			/* Only the returning key alerts: the others were marked in every slice. */
			assert_int_equal(fx->nseen, 1);
			assert_string_equal(fx->seen[0].case_ref, "IRO-2");
		}
	}
}

/* The configuration with an admin contact and a short query_timeout. */
static const char config_timeout[] = "case_store = \"cases.sqlite\";\n"
                                     "state = \"state.sqlite\";\n"
                                     "rules = \"rules\";\n"
                                     "holidays = [ \"holidays.txt\" ];\n"
                                     "query_timeout = 1;\n"
                                     "admin = \"iro\";\n"
                                     "contacts = {\n"
                                     "  iro = { email = \"iro-service@council.example\"; };\n"
                                     "  service_manager = { email = "
                                     "\"service.manager@council.example\"; };\n"
                                     "};\n";

/* The link to the case: every value URL-encoded, one path segment; the label recorded. */
static void
test_evaluate_case_url(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;
	char *conf = xasprintf("%scase_url = \"https://cms.council.example/c/{{case}}?due={{due}}"
	                       "&s={{label}}\";\n",
	                       config_timeout);

	free(testdir_write(fx->td, "escalator.conf", conf));
	free(conf);
	load(fx, false);
	cases_exec(fx, "INSERT INTO looked_after VALUES ('A/9 x&y', '2026-11-02', "
	               "'tm.east@council.example')");
	pass(fx, T("2027-01-13", 8, 0), &stats);
	expect_state(fx, "SELECT case_url || ' ' || label FROM alert WHERE case_ref = 'A/9 x&y'",
	             "https://cms.council.example/c/A%2F9%20x%26y?due=2026-11-30&s=Escalated "
	             "Escalated");
	expect_state(fx, "SELECT case_url FROM alert WHERE case_ref = 'A02'",
	             "https://cms.council.example/c/A02?due=2026-11-30&s=Escalated");
}

/* A rule whose query never ends is stopped at query_timeout; the others run; admin told once. */
static void
test_evaluate_query_timeout(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	free(testdir_write(fx->td, "escalator.conf", config_timeout));
	free(testdir_write(fx->td, "rules/05-runaway.conf",
	                   "rules = ( { id = \"runaway\"; title = \"Runaway\";\n"
	                   "  query = \"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
	                   "FROM r) SELECT n AS case_ref, n AS start FROM r WHERE n < 0\";\n"
	                   "  due = \"1 day\";\n"
	                   "  stages = ( { name = \"due\"; at = \"0 days\"; notify = [ \"iro\" "
	                   "]; } ); } );\n"));
	load(fx, false);
	assert_int_equal(engine_config(fx->e)->query_timeout, 1);
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_int_equal(stats.failed_rules, 1);
	/* The query stopped, and cic-first-review's four bad rows. */
	assert_int_equal(stats.notices, 2);
	assert_false(stats.stopped);
	/* The other rules' alerts (and the notices, alerts to the admin) were recorded. */
	assert_int_equal(stats.alerts, 3);
	assert_int_equal(alerts_committed(fx), 3 + 2);
	expect_state(fx,
	             "SELECT subject || ' | ' || substr(body, instr(body, 'Case references')) FROM "
	             "alert WHERE rule = 'escalator-bad-rows'",
	             "escalator: rule cic-first-review skipped 4 rows with bad data | Case "
	             "references: (empty), B01, B02, B03\n\nThe journal has one line per row "
	             "(journalctl -u escalatord --grep 'rule=cic-first-review'). Ask whoever runs "
	             "the nightly extract to correct them.\n");
	/* Later the same day: stopped again, told no more. */
	pass(fx, T("2027-01-21", 9, 0), &stats);
	assert_int_equal(stats.failed_rules, 1);
	assert_int_equal(stats.notices, 0);
	assert_int_equal(alerts_committed(fx), 3 + 2);
}

/* A tick that asks to stop. */
static bool
tick_stop(void *arg)
{
	return true;
}

/* A stop asked for through the case store's tick ends the pass, not as a failed rule. */
static void
test_evaluate_stopped_by_tick(void **state)
{
	struct fixture *fx = *state;
	struct evaluate_stats stats;

	free(testdir_write(fx->td, "rules/05-runaway.conf",
	                   "rules = ( { id = \"runaway\"; title = \"Runaway\";\n"
	                   "  query = \"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
	                   "FROM r) SELECT n AS case_ref, n AS start FROM r WHERE n < 0\";\n"
	                   "  due = \"1 day\";\n"
	                   "  stages = ( { name = \"due\"; at = \"0 days\"; notify = [ \"iro\" "
	                   "]; } ); } );\n"));
	load(fx, false);
	casestore_set_tick(engine_casestore(fx->e), tick_stop, NULL);
	pass(fx, T("2027-01-21", 8, 0), &stats);
	assert_true(stats.stopped);
	assert_int_equal(stats.failed_rules, 0);
	assert_int_equal(stats.alerts, 0);
}

/* Register one test with the engine fixture. */
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_evaluate_first_pass_then_same_now),
	    TEST(test_evaluate_later_pass_new_stages_only),
	    TEST(test_evaluate_catch_up_skips),
	    TEST(test_evaluate_catch_up_partial),
	    TEST(test_evaluate_bad_rows_skipped),
	    TEST(test_evaluate_next),
	    TEST(test_evaluate_failed_rule),
	    TEST(test_evaluate_dry_run),
	    TEST(test_evaluate_threshold_crossings),
	    TEST(test_evaluate_undeliverable_not_recorded),
	    TEST(test_evaluate_partly_refused),
	    TEST(test_evaluate_threshold_undeliverable),
	    TEST(test_evaluate_slices),
	    TEST(test_evaluate_finish_early),
	    TEST(test_evaluate_threshold_sweep_in_slices),
	    TEST(test_evaluate_query_timeout),
	    TEST(test_evaluate_case_url),
	    TEST(test_evaluate_stopped_by_tick),
	    TEST(test_evaluate_hold_until_day_after),
	    TEST(test_evaluate_hold_renamed),
	    TEST(test_evaluate_hold_cap),
	    TEST(test_evaluate_hold_cap_earliest),
	    TEST(test_evaluate_hold_amended),
	    TEST(test_evaluate_hold_not_asked),
	};

	return cmocka_run_group_tests_name("evaluate", tests, NULL, NULL);
}
