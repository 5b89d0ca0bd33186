/*
 * test_report_state.c - unit tests for daemon/report_state.c and
 * daemon/report_footprint.c: what the service did in a year, read from a
 * state store recorded through the real API (alerts, deliveries sent and
 * failed, a digest, closed clocks, answers with one amended), every count
 * worked out by hand below; and the footprint CSV, its quoting and its guard
 * against spreadsheet formulas.
 *
 * The year is 1 Apr 2026 - 31 Mar 2027 in Europe/London: both ends are in
 * summer time (BST starts 29 Mar 2026 and 28 Mar 2027), so an alert recorded
 * at 23:30 UTC on 31 Mar 2026 was raised at 00:30 on 1 Apr (in), and one at
 * 23:30 UTC on 31 Mar 2027 at 00:30 on 1 Apr 2027 (out).
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
#include "answers.h"
#include "bundle.h"
#include "calendar.h"
#include "clock.h"
#include "closing.h"
#include "delivery.h"
#include "queue.h"
#include "report.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

#define T0 1800000000LL /* the digests' sending time (unix seconds) */

/* The other rules: loaded first (pp-review), no longer loaded, and the service's own notice. */
static char *first_name = "first", *gone_name = "gone", *notice_name = "notice";
static struct stage pp_stage = {.name = NULL}, old_stage, notice_stage;
static struct rule pp = {.id = "pp-review", .title = "Pathway plan review", .kind = RULE_CLOCK};
static struct rule old = {.id = "old-rule", .title = "Removed", .kind = RULE_CLOCK};
static struct rule notice_rule = {
    .id = "escalator-stale-extract", .title = "Stale", .kind = RULE_CLOCK};

static const struct recipient tm[] = {
    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"}};
/* An address with a comma and quotes (a quoted local part is a valid address). */
static const struct recipient smith[] = {
    {.kind = CHANNEL_EMAIL, .address = "\"smith, j\"@council.example"}};

/* The id of the delivery of alert id to recipient (a LIKE pattern). */
static long long
delivery_of(struct fixture *fx, long long id, const char *recipient)
{
	char *sql = xasprintf(
	    "SELECT id FROM delivery WHERE alert_id = %lld AND recipient LIKE '%s'", id, recipient);
	char *v = query1(fx->path, sql);
	long long d;

	if (v == NULL)
		fail_msg("no delivery of alert %lld to %s", id, recipient);
	d = atoll(v);
	free(v);
	free(sql);
	return d;
}

/* The digest delivery id went in. */
static long long
digest_of(struct fixture *fx, long long id)
{
	char *sql = xasprintf("SELECT digest_id FROM delivery WHERE id = %lld", id);
	char *v = query1(fx->path, sql);
	long long d = v != NULL ? atoll(v) : 0;

	if (d == 0)
		fail_msg("delivery %lld is in no digest", id);
	free(v);
	free(sql);
	return d;
}

/* Record a, held for a digest at T0 when held, created at the UTC time created; its id. */
static long long
record_at(struct fixture *fx, struct alert *a, bool held, const char *created)
{
	static const bool all[3] = {true, true, true};
	bool none[4] = {false};
	long long id;
	char *sql;

	if (held) {
		a->held = all;
		a->digest_at = T0;
	}
	id = record(fx->ss, a, none);
	sql = xasprintf("UPDATE alert SET created_at = '%s' WHERE id = %lld", created, id);
	exec_sql(fx->path, sql);
	free(sql);
	return id;
}

/* Record delivery id's result. */
static void
finish(struct fixture *fx, long long id, enum outcome outcome)
{
	struct outcome_record o = {.id = id, .outcome = outcome, .recipient = "x"};
	char *cause = NULL;

	o.next_attempt = T0 + 600;
	o.detail = outcome == OUTCOME_SENT ? NULL : "550 no such user";
	if (queue_finish(fx->ss, &o, 1, &cause) != 0)
		fail_msg("queue_finish: %s", cause);
}

/* Answer through delivery id at the UTC time at; the answer's id. */
static long long
answer(struct fixture *fx, long long id, enum answer_kind kind, const char *agreed_on,
       const char *at)
{
	struct answer an = {.kind = kind, .agreed_on = agreed_on, .reason = "not due", .note = "n"};
	struct delivery *d = NULL;
	char *cause = NULL, *sql;
	long long aid;

	if (answers_target(fx->ss, id, &d, &cause) != 0)
		fail_msg("answers_target(%lld): %s", id, cause ? cause : "no such delivery");
	if ((aid = answers_add(fx->ss, d, &an, &cause)) < 0)
		fail_msg("answers_add: %s", cause);
	delivery_free(d);
	sql = xasprintf("UPDATE response SET answered_at = '%s' WHERE id = %lld", at, aid);
	exec_sql(fx->path, sql);
	free(sql);
	return aid;
}

/* Sweep fx's rule on today as if only the cases seen[0..n) were still in its rows. */
static void
sweep(struct fixture *fx, const char *const *seen, size_t n, const char *today)
{
	struct calendar *cal = calendar_new();
	uint64_t *keys = xcalloc(n + 1, sizeof *keys);
	long long closed = 0;
	char *cause = NULL;

	for (size_t i = 0; i < n; i++)
		keys[i] = closing_key(seen[i], D("2026-12-18"));
	if (statestore_begin(fx->ss, &cause) != 0 ||
	    closing_sweep(fx->ss, NULL, &fx->r, cal, keys, n, D(today), T0, &closed, &cause) != 0 ||
	    statestore_commit(fx->ss, &cause) != 0)
		fail_msg("closing_sweep: %s", cause);
	free(keys);
	calendar_free(cal);
}

/*
 * The store every test reads (alert ids in the order recorded):
 *   1 A01 overdue    01 May 10:00 BST  tm sent, manager failed, webhook pending
 *   2 A02 overdue    02 May            tm and manager held: digests, tm's sent, manager's retried
 *   3 A03 escalated  10 Jun            as A02 (same digests); a label that is a formula
 *   4 A04 reminder   01 Apr 00:30 BST  tm pending                        (in: 31 Mar 23:30 UTC)
 *   5 A05 reminder   01 Apr 2027 00:30 tm pending                        (out)
 *   6 A06 reminder   31 Mar 2026 23:30 tm pending                        (out)
 *   7 B01 pp-review  01 Jul            "smith, j" pending; case_ref a formula
 *   8 C01 old-rule   01 Aug            tm pending
 *   9 notice         01 Sep            tm pending                        (never reported)
 */
static void
build(struct fixture *fx)
{
	static const char *const s1[] = {"A01", "A02", "A05", "A06"};
	static const char *const s2[] = {"A02", "A04", "A05", "A06"};
	static const char *const s3[] = {"A04", "A05", "A06"};
	static const char *const s4[] = {"A04", "A05"};
	struct alert a;
	long long next = 0;
	bool more = true;
	char *cause = NULL;

	pp_stage.name = first_name;
	pp.stages = &pp_stage;
	pp.nstages = 1;
	old_stage.name = gone_name;
	old.stages = &old_stage;
	old.nstages = 1;
	notice_stage.name = notice_name;
	notice_rule.stages = &notice_stage;
	notice_rule.nstages = 1;
	fx->r.kind = RULE_CLOCK;
	fx->ss = open_store(fx, false);

	a = make_alert(fx, "A01", 1, 3);
	record_at(fx, &a, false, "2026-05-01T09:00:00Z");
	a = make_alert(fx, "A02", 1, 2);
	record_at(fx, &a, true, "2026-05-02T09:00:00Z");
	a = make_alert(fx, "A03", 2, 2);
	a.label = "=HYPERLINK(\"http://evil.example\",\"click\")\nline 2";
	record_at(fx, &a, true, "2026-06-10T10:00:00Z");
	a = make_alert(fx, "A04", 0, 1);
	record_at(fx, &a, false, "2026-03-31T23:30:00Z");
	a = make_alert(fx, "A05", 0, 1);
	record_at(fx, &a, false, "2027-03-31T23:30:00Z");
	a = make_alert(fx, "A06", 0, 1);
	record_at(fx, &a, false, "2026-03-31T22:30:00Z");
	a = make_alert(fx, "=SUM(A1)", 0, 1);
	a.rule = &pp;
	a.stage = 0;
	a.recipients = smith;
	record_at(fx, &a, false, "2026-07-01T12:00:00Z");
	a = make_alert(fx, "C01", 0, 1);
	a.rule = &old;
	a.recipients = tm;
	record_at(fx, &a, false, "2026-08-01T12:00:00Z");
	a = make_alert(fx, "stale", 0, 1);
	a.rule = &notice_rule;
	a.recipients = tm;
	record_at(fx, &a, false, "2026-09-01T12:00:00Z");

	/* A01: sent to tm, failed for good to the manager, the webhook still pending. */
	finish(fx, delivery_of(fx, 1, "tm.north%"), OUTCOME_SENT);
	finish(fx, delivery_of(fx, 1, "service.manager%"), OUTCOME_FAILED);
	/* A02 and A03 go in one digest to each: tm's is sent, the manager's is retried later. */
	while (more)
		if (bundle_form(fx->ss, T0, 20000, &next, &more, &cause) < 0)
			fail_msg("bundle_form: %s", cause);
	expect_sql(fx->path, "SELECT count(*) FROM delivery WHERE status = 'bundled'", "4");
	finish(fx, digest_of(fx, delivery_of(fx, 2, "tm.north%")), OUTCOME_SENT);
	finish(fx, digest_of(fx, delivery_of(fx, 2, "service.manager%")), OUTCOME_RETRY);

	/*
	 * Answers. A01: acknowledged 2 h after it was raised, then amended to agreed
	 * (the acknowledgement is replaced). A02: acknowledged after 72 h, through
	 * its digest's item. A03: the manager disagrees after 24 h. A06 (raised
	 * before the year): acknowledged 40 min later, at 00:10 on 1 Apr BST (in).
	 * A05: answered on 1 Apr 2027 (out).
	 */
	answer(fx, delivery_of(fx, 1, "tm.north%"), ANSWER_ACKNOWLEDGED, NULL,
	       "2026-05-01T11:00:00Z");
	answer(fx, delivery_of(fx, 1, "tm.north%"), ANSWER_AGREED, "2026-05-20",
	       "2026-05-02T09:00:00Z");
	answer(fx, delivery_of(fx, 2, "tm.north%"), ANSWER_ACKNOWLEDGED, NULL,
	       "2026-05-05T09:00:00Z");
	answer(fx, delivery_of(fx, 3, "service.manager%"), ANSWER_DISAGREE, NULL,
	       "2026-06-11T10:00:00Z");
	answer(fx, delivery_of(fx, 6, "tm.north%"), ANSWER_ACKNOWLEDGED, NULL,
	       "2026-03-31T23:10:00Z");
	answer(fx, delivery_of(fx, 5, "tm.north%"), ANSWER_ACKNOWLEDGED, NULL,
	       "2027-04-01T08:00:00Z");

	/*
	 * Closed clocks (due Wed 20 Jan 2027, no holidays): A03 and A04 on the due
	 * date (in time), A04 reopened two days later; A01 on Mon 25 Jan (3
	 * working days late); A02 on Thu 28 Jan (6); A06 on 5 Apr 2027 (out).
	 */
	sweep(fx, s1, 4, "2027-01-20");
	if (closing_reopen(fx->ss, fx->r.id, "A04", D("2026-12-18"), D("2027-01-22"), &cause) != 0)
		fail_msg("closing_reopen: %s", cause);
	sweep(fx, s2, 4, "2027-01-25");
	sweep(fx, s3, 3, "2027-01-28");
	sweep(fx, s4, 2, "2027-04-05");
	expect_sql(
	    fx->path,
	    "SELECT group_concat(case_ref || ':' || closed_on || ':' || days_late || ':' || "
	    "(reopened_on IS NULL), ' ') FROM (SELECT * FROM closed_clock ORDER BY case_ref)",
	    "A01:2027-01-25:3:1 A02:2027-01-28:6:1 A03:2027-01-20:0:1 A04:2027-01-20:0:0 "
	    "A06:2027-04-05:53:1");
	statestore_close(fx->ss);
	/* Read as escalatord report does: read-only, in one read transaction. */
	fx->ss = open_store(fx, true);
	if (statestore_begin(fx->ss, &cause) != 0)
		fail_msg("begin: %s", cause);
}

static int
setup_tz(void **state)
{
	char *cause = NULL;

	if (clock_set_timezone("Europe/London", &cause) != 0)
		fail_msg("%s", cause);
	return setup(state);
}

/* The report of 1 Apr 2026 - 31 Mar 2027 with the loaded rules pp-review, then fx's. */
static void
report_year(struct fixture *fx, struct report *rep, struct report_rule rules[2])
{
	char *cause = NULL;

	memset(rep, 0, sizeof *rep);
	memset(rules, 0, 2 * sizeof *rules);
	rules[0].rule = &pp;
	rules[1].rule = &fx->r;
	rep->from = D("2026-04-01");
	rep->to = D("2027-03-31");
	rep->rules = rules;
	rep->nrules = 2;
	if (report_state(rep, fx->ss, &cause) != 0)
		fail_msg("report_state: %s", cause);
	/* report_free frees rep->rules: the caller's array is its own. */
	rep->rules = NULL;
	rep->nrules = 0;
}

/* Alerts by rule and stage: loaded rules in load order, their stages in order, then the rest. */
static void
test_report_stages(void **state)
{
	static const struct {
		const char *rule, *stage, *label;
		long long alerts, sent, failed, waiting;
	} want[] = {
	    /* B01 */
	    {"pp-review", "first", "first", 1, 0, 0, 1},
	    /* A04 (A05 and A06 are out) */
	    {"cic-first-review", "reminder", "reminder", 1, 0, 0, 1},
	    /* A01: sent, failed, pending; A02: sent in tm's digest, waiting in the manager's */
	    {"cic-first-review", "overdue", "overdue", 2, 2, 1, 2},
	    /* A03: the same digests */
	    {"cic-first-review", "escalated",
	     "=HYPERLINK(\"http://evil.example\",\"click\")\nline 2", 1, 1, 0, 1},
	    /* C01: a rule no longer loaded, after the loaded ones */
	    {"old-rule", "gone", "gone", 1, 0, 0, 1},
	};
	struct fixture *fx = *state;
	struct report_rule rules[2];
	struct report rep;

	build(fx);
	report_year(fx, &rep, rules);
	assert_true(rep.state_known);
	assert_int_equal(rep.nstages, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < rep.nstages; i++) {
		const struct report_stage_alerts *s = &rep.stages[i];

		assert_string_equal(s->rule, want[i].rule);
		assert_string_equal(s->stage, want[i].stage);
		assert_string_equal(s->label, want[i].label);
		assert_int_equal(s->alerts, want[i].alerts);
		assert_int_equal(s->sent, want[i].sent);
		assert_int_equal(s->failed, want[i].failed);
		assert_int_equal(s->waiting, want[i].waiting);
	}
	report_free(&rep);
}

/* Alerts by recipient, most first: the webhook's URL (a credential) shows as its host. */
static void
test_report_recipients(void **state)
{
	static const struct {
		const char *kind, *recipient;
		long long alerts, sent, failed, answered;
	} want[] = {
	    /* A01 sent, A02 and A03 in the sent digest, A04 and C01 pending; A01, A02 answered */
	    {"email", "tm.north@council.example", 5, 3, 0, 2},
	    /* A01 failed, A02 and A03 in the retried digest; A03 answered */
	    {"email", "service.manager@council.example", 3, 0, 1, 1},
	    /* B01 ('"' sorts before 'w') */
	    {"email", "\"smith, j\"@council.example", 1, 0, 0, 0},
	    {"webhook", "webhook (hooks.council.example)", 1, 0, 0, 0},
	};
	struct fixture *fx = *state;
	struct report_rule rules[2];
	struct report rep;

	build(fx);
	report_year(fx, &rep, rules);
	assert_int_equal(rep.nrecipients, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < rep.nrecipients; i++) {
		const struct report_recipient *r = &rep.recipients[i];

		assert_string_equal(r->kind, want[i].kind);
		assert_string_equal(r->recipient, want[i].recipient);
		assert_int_equal(r->alerts, want[i].alerts);
		assert_int_equal(r->sent, want[i].sent);
		assert_int_equal(r->failed, want[i].failed);
		assert_int_equal(r->answered, want[i].answered);
	}
	report_free(&rep);
}

/* Closed clocks and answers of the year. */
static void
test_report_closed_answers(void **state)
{
	struct fixture *fx = *state;
	struct report_rule rules[2];
	struct report rep;
	char *cause = NULL;

	build(fx);
	report_year(fx, &rep, rules);
	/* A03 in time, A01 3 and A02 6 working days late; A04 reopened, A06 after the year. */
	assert_int_equal(rep.nclosed, 1);
	assert_string_equal(rep.closed[0].rule, "cic-first-review");
	assert_int_equal(rep.closed[0].closed, 3);
	assert_int_equal(rep.closed[0].in_time, 1);
	assert_int_equal(rep.closed[0].late, 2);
	assert_true(rep.closed[0].has_late);
	assert_true(rep.closed[0].median_late == 4.5);
	assert_int_equal(rep.closed[0].max_late, 6);

	/*
	 * In the year, not replaced: acknowledged A02 and A06, agreed A01,
	 * disagree A03 (A01's acknowledgement was replaced; A05's is after).
	 * First answer of each clock: A06 40 min (1 h), A01 2 h (the replaced
	 * acknowledgement was the first), A03 24 h, A02 72 h: median 13.
	 */
	assert_int_equal(rep.nanswers, 1);
	assert_string_equal(rep.answers[0].rule, "cic-first-review");
	assert_int_equal(rep.answers[0].acknowledged, 2);
	assert_int_equal(rep.answers[0].agreed, 1);
	assert_int_equal(rep.answers[0].disagree, 1);
	assert_true(rep.answers[0].has_median);
	assert_int_equal(rep.answers[0].hours.n, 4);
	assert_true(rep.answers[0].median_hours == 13.0);
	report_free(&rep);

	/* A month: May 2026 has A01 and A02 (alerts), their answers, no closed clock. */
	memset(&rep, 0, sizeof rep);
	rep.from = D("2026-05-01");
	rep.to = D("2026-05-31");
	assert_int_equal(report_state(&rep, fx->ss, &cause), 0);
	assert_int_equal(rep.nstages, 1);
	assert_string_equal(rep.stages[0].stage, "overdue");
	assert_int_equal(rep.stages[0].alerts, 2);
	assert_int_equal(rep.nclosed, 0);
	assert_int_equal(rep.nanswers, 1);
	assert_int_equal(rep.answers[0].acknowledged, 1);
	assert_int_equal(rep.answers[0].agreed, 1);
	assert_int_equal(rep.answers[0].hours.n, 2); /* A01 2 h, A02 72 h */
	assert_true(rep.answers[0].median_hours == 37.0);
	report_free(&rep);
}

/* The footprint of from..to (case_ref or NULL), as one string. */
static char *
footprint(struct fixture *fx, const char *from, const char *to, const char *case_ref)
{
	char *out = NULL, *cause = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (report_footprint(f, fx->ss, D(from), D(to), case_ref, &cause) != 0)
		fail_msg("report_footprint: %s", cause);
	fclose(f);
	return out;
}

#define HEADER                                                                                     \
	"alert_id,rule,case_ref,clock_start,due,stage,label,fires,created_at,days_late,"           \
	"recipients,"                                                                              \
	"delivered,failed,waiting,answers\r\n"
#define ROW_A01                                                                                    \
	"1,cic-first-review,A01,2026-12-18,2027-01-20,overdue,overdue,2027-02-03 "                 \
	"08:00,2026-05-01 "                                                                        \
	"10:00,10,email:tm.north@council.example; email:service.manager@council.example; "         \
	"webhook:webhook (hooks.council.example),1,1,1,acknowledged 2026-05-01 by "                \
	"tm.north@council.example (replaced); agreed 2026-05-02 by tm.north@council.example "      \
	"(action by 2026-05-20)\r\n"

/* One row per alert of the year, oldest first, quoted and guarded. */
static void
test_report_footprint(void **state)
{
	struct fixture *fx = *state;
	char *csv;

	build(fx);
	csv = footprint(fx, "2026-04-01", "2027-03-31", NULL);
	assert_string_equal(
	    csv, HEADER
	    /* A04: raised at 00:30 BST on 1 Apr (23:30 UTC the day before) */
	    "4,cic-first-review,A04,2026-12-18,2027-01-20,reminder,reminder,2027-02-03 "
	    "08:00,2026-04-01 00:30,10,email:tm.north@council.example,0,0,1,\r\n" ROW_A01
	    /* A02: in tm's sent digest and the manager's retried one */
	    "2,cic-first-review,A02,2026-12-18,2027-01-20,overdue,overdue,2027-02-03 "
	    "08:00,2026-05-02 10:00,10,email:tm.north@council.example; "
	    "email:service.manager@council.example,1,0,1,acknowledged 2026-05-05 by "
	    "tm.north@council.example\r\n"
	    /* A03: a label that a spreadsheet would run, on two lines: quoted and defused */
	    "3,cic-first-review,A03,2026-12-18,2027-01-20,escalated,\"'=HYPERLINK(\"\"http://"
	    "evil.example\"\",\"\"click\"\")\nline 2\",2027-02-03 08:00,2026-06-10 "
	    "11:00,10,email:tm.north@council.example; "
	    "email:service.manager@council.example,1,0,1,disagree 2026-06-11 by "
	    "service.manager@council.example\r\n"
	    /* B01: a case reference that is a formula, an address with a comma and quotes */
	    "7,pp-review,\"'=SUM(A1)\",2026-12-18,2027-01-20,first,first,2027-02-03 "
	    "08:00,2026-07-01 "
	    "13:00,10,\"email:\"\"smith, j\"\"@council.example\",0,0,1,\r\n"
	    "8,old-rule,C01,2026-12-18,2027-01-20,gone,gone,2027-02-03 08:00,2026-08-01 "
	    "13:00,10,email:tm.north@council.example,0,0,1,\r\n");
	free(csv);

	/* One case's. */
	csv = footprint(fx, "2026-04-01", "2027-03-31", "A01");
	assert_string_equal(csv, HEADER ROW_A01);
	free(csv);
	/* Nothing in range: the header alone. */
	csv = footprint(fx, "2025-04-01", "2026-03-30", NULL);
	assert_string_equal(csv, HEADER);
	free(csv);
}

/* No state file yet: no state sections, and a footprint of the header alone. */
static void
test_report_no_store(void **state)
{
	struct fixture *fx = *state;
	struct report rep;
	char *cause = NULL, *csv;

	fx->ss = open_store(fx, true);
	memset(&rep, 0, sizeof rep);
	rep.from = D("2026-04-01");
	rep.to = D("2027-03-31");
	assert_int_equal(report_state(&rep, fx->ss, &cause), 0);
	assert_false(rep.state_known);
	assert_int_equal(rep.nstages + rep.nrecipients + rep.nclosed + rep.nanswers, 0);
	csv = footprint(fx, "2026-04-01", "2027-03-31", NULL);
	assert_string_equal(csv, HEADER);
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_report_stages, setup_tz, teardown),
	    cmocka_unit_test_setup_teardown(test_report_recipients, setup_tz, teardown),
	    cmocka_unit_test_setup_teardown(test_report_closed_answers, setup_tz, teardown),
	    cmocka_unit_test_setup_teardown(test_report_footprint, setup_tz, teardown),
	    cmocka_unit_test_setup_teardown(test_report_no_store, setup_tz, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
