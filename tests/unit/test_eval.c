/* test_eval.c - unit tests for rules/eval.c: due dates, stages, catch-up and recipients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "date.h"
#include "duration.h"
#include "eval.h"
#include "ew_fixture.h"
#include "ruleset.h"
#include "diag.h"
#include "testdir.h"

/*
 * England and Wales bank holidays 2026-2027. The weekdays used below:
 *   2026-12-18 Fri   2026-12-24 Thu   2026-12-25 Fri*  2026-12-28 Mon*  2026-12-29 Tue
 *   2027-01-01 Fri*  2027-01-04 Mon   2027-01-05 Tue   2027-01-10 Sun   2027-01-11 Mon
 *   2027-01-13 Wed   2027-01-20 Wed   2027-01-21 Thu   2027-02-03 Wed   2027-02-28 Sun
 *   2027-03-01 Mon   (* = bank holiday; 2026-12-26/27 and 2027-01-02/03 are a weekend)
 * (ew_fixture.h: ew_holidays, ew_calendar.)
 */

/* Write head and the 2026-2027 holidays to a file in td; returns its allocated path. */
static char *
ew_file(struct testdir *td, const char *head)
{
	char *text = xstrdup(head), *more, *path;

	for (size_t i = 0; i < EW_NHOLIDAYS; i++) {
		more = xasprintf("%s%s\n", text, ew_holidays[i].day);
		free(text);
		text = more;
	}
	path = testdir_write(td, "holidays.txt", text);
	free(text);
	return path;
}

/* A rule built in code, with up to four stages and their notify lists. */
struct fxrule {
	struct rule r;
	struct stage st[4];
	struct notify_ref ref[4][6];
};

/* Fill f: a rule due after due, with n stages at the given offsets, each telling "iro". */
static void
make_rule(struct fxrule *f, const char *due, bool working_days_only, const char *const *at,
          size_t n)
{
	static char *names[] = {"reminder", "overdue", "escalated", "director"};
	static char *columns[] = {"case_ref", "start", "team_manager_email", "iro_email"};

	assert_true(n <= 4);
	memset(f, 0, sizeof *f);
	f->r.id = "cic-first-review";
	f->r.title = "First Child in Care review";
	f->r.query = "SELECT case_ref, start, team_manager_email, iro_email FROM cases";
	f->r.due = dur(due);
	f->r.working_days_only = working_days_only;
	f->r.stages = f->st;
	f->r.nstages = n;
	f->r.columns = columns;
	f->r.ncolumns = 4;
	f->r.case_ref_col = 0;
	f->r.start_col = 1;
	f->r.file = "/etc/escalator/rules/10-cic.conf";
	f->r.line = 3;
	for (size_t i = 0; i < n; i++) {
		f->st[i].name = names[i];
		f->st[i].at = dur(at[i]);
		f->st[i].notify = f->ref[i];
		f->st[i].nnotify = 1;
		f->ref[i][0].name = "iro";
		f->ref[i][0].column = -1;
		f->ref[i][0].kind = CHANNEL_EMAIL;
		f->ref[i][0].address = "iro-service@council.example";
	}
}

/* The CiC first review: due 20 working days after the start, three stages. */
static void
make_first_review(struct fxrule *f)
{
	static const char *const at[] = {"-5 working days", "1 working day", "10 working days"};

	make_rule(f, "20 working days", true, at, 3);
}

/* Due in working days across Christmas and New Year, and the stage dates around it. */
static void
test_eval_due_working_days_christmas(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_first_review(&f);
	/*
	 * Start Fri 2026-12-18. Working days after it: 12-21..12-24 (1-4); 12-25 Fri and
	 * 12-28 Mon are holidays; 12-29..12-31 (5-7); 2027-01-01 is a holiday; 01-04..01-08
	 * (8-12); 01-11..01-15 (13-17); 01-18, 01-19, 01-20 (18-20): due Wed 2027-01-20.
	 */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-12-18"), T("2026-12-18", 12, 0), &c);
	assert_date(c.start, "2026-12-18");
	assert_date(c.due, "2027-01-20");
	/* -5 working days: 01-19, 01-18, 01-15, 01-14, 01-13 -> Wed 2027-01-13. */
	assert_date(eval_stage_date(&f.r, cal, c.due, 0), "2027-01-13");
	/* +1 working day: Thu 2027-01-21. */
	assert_date(eval_stage_date(&f.r, cal, c.due, 1), "2027-01-21");
	/* +10 working days: 01-21, 22, 25, 26, 27, 28, 29, 02-01, 02, 03 -> Wed 2027-02-03. */
	assert_date(eval_stage_date(&f.r, cal, c.due, 2), "2027-02-03");
	assert_int_equal(c.reached, -1);
	assert_int_equal(c.next_stage, 0);
	assert_int_equal(c.next, T("2027-01-13", 8, 0));
	assert_false(c.outside_calendar);

	/*
	 * Start Thu 2026-12-24: 12-29, 30, 31 (1-3); 01-04..01-08 (4-8); 01-11..01-15 (9-13);
	 * 01-18..01-22 (14-18); 01-25, 01-26 (19-20): due Tue 2027-01-26.
	 */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-12-24"), T("2026-12-24", 12, 0), &c);
	assert_date(c.due, "2027-01-26");
	calendar_free(cal);
}

/* A stage at "-5 working days" counts back over New Year's Day and the Christmas holidays. */
static void
test_eval_stage_minus_5_working_days(void **state)
{
	static const char *const at[] = {"-5 working days", "0 days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_rule(&f, "1 month", true, at, 2);
	/*
	 * Start 2026-12-05 + 1 month: due Tue 2027-01-05. Back 5 working days: Mon 01-04 (1);
	 * Fri 01-01 holiday; Thu 12-31 (2), Wed 12-30 (3), Tue 12-29 (4); Mon 12-28 and
	 * Fri 12-25 holidays; Thu 2026-12-24 (5).
	 */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-12-05"), T("2026-12-24", 8, 0), &c);
	assert_date(c.due, "2027-01-05");
	assert_date(eval_stage_date(&f.r, cal, c.due, 0), "2026-12-24");
	assert_int_equal(c.reached, 0);
	assert_date(c.stage_date, "2026-12-24");
	assert_int_equal(c.fires, T("2026-12-24", 8, 0));
	assert_int_equal(c.next_stage, 1);
	assert_int_equal(c.next, T("2027-01-05", 8, 0));
	calendar_free(cal);
}

/* A stage on a holiday or weekend moves to the next working day at send_time. */
static void
test_eval_stage_moved_to_working_day(void **state)
{
	static const char *const at[] = {"-2 weeks", "0 days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_rule(&f, "6 months", true, at, 2);
	/*
	 * Start 2026-06-25 + 6 months: due Fri 2026-12-25 (Christmas Day). Stage "0 days" moves
	 * past Sat 26, Sun 27 and Mon 28 (substitute Boxing Day) to Tue 2026-12-29. "-2 weeks"
	 * is Fri 2026-12-11, a working day, and stays.
	 */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-06-25"), T("2026-12-29", 8, 0), &c);
	assert_date(c.due, "2026-12-25");
	assert_date(eval_stage_date(&f.r, cal, c.due, 0), "2026-12-11");
	assert_date(eval_stage_date(&f.r, cal, c.due, 1), "2026-12-29");
	assert_int_equal(c.reached, 1);
	assert_date(c.stage_date, "2026-12-29");
	assert_int_equal(c.fires, T("2026-12-29", 8, 0));

	/* At 08:00 on Christmas Day nothing new has fired: the stage waits for the 29th. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-06-25"), T("2026-12-25", 8, 0), &c);
	assert_int_equal(c.reached, 0);
	assert_int_equal(c.next_stage, 1);
	assert_int_equal(c.next, T("2026-12-29", 8, 0));

	/* Start 2026-07-10 + 6 months: due Sun 2027-01-10; the stage fires Mon 2027-01-11. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-07-10"), T("2027-01-11", 8, 0), &c);
	assert_date(c.due, "2027-01-10");
	assert_int_equal(c.reached, 1);
	assert_date(c.stage_date, "2027-01-11");
	assert_int_equal(c.fires, T("2027-01-11", 8, 0));
	calendar_free(cal);
}

/* With working_days_only = false a stage fires on its own date, weekend or holiday. */
static void
test_eval_stage_not_moved(void **state)
{
	static const char *const at[] = {"-2 weeks", "0 days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_rule(&f, "6 months", false, at, 2);
	/* Due Fri 2026-12-25: the stage fires on Christmas Day at 08:00. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-06-25"), T("2026-12-25", 8, 0), &c);
	assert_date(eval_stage_date(&f.r, cal, c.due, 1), "2026-12-25");
	assert_int_equal(c.reached, 1);
	assert_date(c.stage_date, "2026-12-25");
	assert_int_equal(c.fires, T("2026-12-25", 8, 0));
	/* Due Sun 2027-01-10: fires that Sunday; "-2 weeks" is Sun 2026-12-27. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-07-10"), T("2027-01-10", 8, 0), &c);
	assert_date(eval_stage_date(&f.r, cal, c.due, 0), "2026-12-27");
	assert_int_equal(c.reached, 1);
	assert_date(c.stage_date, "2027-01-10");
	calendar_free(cal);
}

/* A due date in months keeps the day of month, clamped to the end of a shorter month. */
static void
test_eval_month_due_clamped(void **state)
{
	static const char *const at[] = {"0 days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f, g;
	struct eval_clock c;

	(void)state;
	make_rule(&f, "6 months", false, at, 1);
	make_rule(&g, "6 months", true, at, 1);
	/* 2026-08-31 + 6 months: February 2027 has 28 days -> Sun 2027-02-28. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-08-31"), T("2027-02-28", 8, 0), &c);
	assert_date(c.due, "2027-02-28");
	assert_int_equal(c.reached, 0);
	assert_date(c.stage_date, "2027-02-28");
	/* The same with working days only: the stage moves to Mon 2027-03-01, the due does not. */
	eval_clock(&g.r, cal, SEND_TIME, D("2026-08-31"), T("2027-02-28", 8, 0), &c);
	assert_date(c.due, "2027-02-28");
	assert_int_equal(c.reached, -1);
	assert_int_equal(c.next, T("2027-03-01", 8, 0));
	/* 2027-08-31 + 6 months: 2028 is a leap year -> 2028-02-29. */
	eval_clock(&f.r, cal, SEND_TIME, D("2027-08-31"), T("2027-09-01", 8, 0), &c);
	assert_date(c.due, "2028-02-29");

	make_rule(&f, "1 month", false, at, 1);
	/* 2026-05-31 + 1 month -> 2026-06-30; 2026-01-31 + 1 month -> 2026-02-28. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-05-31"), T("2026-06-01", 8, 0), &c);
	assert_date(c.due, "2026-06-30");
	eval_clock(&f.r, cal, SEND_TIME, D("2026-01-31"), T("2026-02-01", 8, 0), &c);
	assert_date(c.due, "2026-02-28");
	calendar_free(cal);
}

/* A stage is reached at exactly its firing minute, and not one minute before. */
static void
test_eval_reached_inclusive(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;
	date_t start = D("2026-12-18");

	(void)state;
	make_first_review(&f);
	/* Stages fire 2027-01-13, 2027-01-21 and 2027-02-03, each at 08:00. */
	eval_clock(&f.r, cal, SEND_TIME, start, T("2027-01-13", 7, 59), &c);
	assert_int_equal(c.reached, -1);
	assert_int_equal(c.next_stage, 0);
	assert_int_equal(c.next, T("2027-01-13", 8, 0));

	eval_clock(&f.r, cal, SEND_TIME, start, T("2027-01-13", 8, 0), &c);
	assert_int_equal(c.reached, 0);
	assert_date(c.stage_date, "2027-01-13");
	assert_int_equal(c.fires, T("2027-01-13", 8, 0));
	assert_int_equal(c.next_stage, 1);
	assert_int_equal(c.next, T("2027-01-21", 8, 0));

	eval_clock(&f.r, cal, SEND_TIME, start, T("2027-01-21", 7, 59), &c);
	assert_int_equal(c.reached, 0);
	assert_int_equal(c.next_stage, 1);

	eval_clock(&f.r, cal, SEND_TIME, start, T("2027-01-21", 8, 0), &c);
	assert_int_equal(c.reached, 1);
	assert_int_equal(c.fires, T("2027-01-21", 8, 0));
	assert_int_equal(c.next_stage, 2);
	assert_int_equal(c.next, T("2027-02-03", 8, 0));

	/* send_time counts: at 17:30 the reminder fires at 17:30, not at 08:00. */
	eval_clock(&f.r, cal, 17 * 60 + 30, start, T("2027-01-13", 17, 29), &c);
	assert_int_equal(c.reached, -1);
	eval_clock(&f.r, cal, 17 * 60 + 30, start, T("2027-01-13", 17, 30), &c);
	assert_int_equal(c.reached, 0);
	assert_int_equal(c.fires, T("2027-01-13", 17, 30));
	calendar_free(cal);
}

/* After the last stage, next_stage is -1 and next is EVAL_NEVER; the last stage is reached. */
static void
test_eval_next_after_last(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_first_review(&f);
	eval_clock(&f.r, cal, SEND_TIME, D("2026-12-18"), T("2027-02-03", 8, 0), &c);
	assert_int_equal(c.reached, 2);
	assert_date(c.stage_date, "2027-02-03");
	assert_int_equal(c.next_stage, -1);
	assert_true(c.next == EVAL_NEVER);
	/* Years later the last stage is still the one reached. */
	eval_clock(&f.r, cal, SEND_TIME, D("2026-12-18"), T("2030-01-01", 0, 0), &c);
	assert_int_equal(c.reached, 2);
	assert_true(c.next == EVAL_NEVER);
	calendar_free(cal);
}

/* Catch-up: which stage is alerted given what is recorded. */
static void
test_eval_owed(void **state)
{
	bool rec[4];

	(void)state;
	/* Nothing reached: nothing owed. */
	memset(rec, 0, sizeof rec);
	assert_int_equal(eval_owed(-1, rec, 4), -1);
	/* Nothing recorded, stage 2 reached: alert 2 (0 and 1 are recorded as skipped). */
	assert_int_equal(eval_owed(2, rec, 4), 2);
	assert_int_equal(eval_owed(0, rec, 4), 0);
	assert_int_equal(eval_owed(3, rec, 4), 3);
	/* The reached stage is already recorded: -1. */
	rec[2] = true;
	assert_int_equal(eval_owed(2, rec, 4), -1);
	/* A later stage is recorded (e.g. a stage moved earlier): -1. */
	memset(rec, 0, sizeof rec);
	rec[3] = true;
	assert_int_equal(eval_owed(2, rec, 4), -1);
	assert_int_equal(eval_owed(0, rec, 4), -1);
	/* Only earlier stages recorded: the reached stage is owed. */
	memset(rec, 0, sizeof rec);
	rec[0] = true;
	rec[1] = true;
	assert_int_equal(eval_owed(2, rec, 4), 2);
	rec[1] = false;
	assert_int_equal(eval_owed(2, rec, 4), 2);
	assert_int_equal(eval_owed(1, rec, 4), 1);
	assert_int_equal(eval_owed(0, rec, 4), -1);
}

/* A stage of the rule whose notify list is set by the caller. */
static struct stage *
recipients_stage(struct fxrule *f)
{
	static const char *const at[] = {"0 days"};

	make_rule(f, "20 working days", true, at, 1);
	return &f->st[0];
}

/* Set notify entry i of st to column col or, with col -1, a contact. */
static void
set_ref(struct stage *st, size_t i, char *name, int col, enum channel kind, char *address)
{
	st->notify[i].name = name;
	st->notify[i].column = col;
	st->notify[i].kind = kind;
	st->notify[i].address = address;
	if (st->nnotify < i + 1)
		st->nnotify = i + 1;
}

/* Recipients come from columns and contacts, in notify order, each address once. */
static void
test_eval_recipients_dedup(void **state)
{
	struct fxrule f;
	struct stage *st = recipients_stage(&f);
	const char *cols[] = {"A01", "2026-12-18", "tm.north@council.example",
	                      "iro.patel@council.example"};
	struct recipient out[6];
	struct diag d;
	size_t n;

	(void)state;
	set_ref(st, 0, "team_manager", 2, CHANNEL_EMAIL, NULL);
	set_ref(st, 1, "iro", 3, CHANNEL_EMAIL, NULL);
	set_ref(st, 2, "iro_service", -1, CHANNEL_EMAIL, "iro-service@council.example");
	set_ref(st, 3, "head_of_service", -1, CHANNEL_WEBHOOK, "https://hooks.council.example/h");
	set_ref(st, 4, "team_manager", 2, CHANNEL_EMAIL, NULL);
	/* A contact whose address is the team manager's from the row: told once. */
	set_ref(st, 5, "duty_manager", -1, CHANNEL_EMAIL, "tm.north@council.example");
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", NULL, out, NULL, NULL, &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].kind, CHANNEL_EMAIL);
	assert_ptr_equal(out[0].address, cols[2]); /* borrowed from the row */
	assert_int_equal(out[1].kind, CHANNEL_EMAIL);
	assert_string_equal(out[1].address, "iro.patel@council.example");
	assert_int_equal(out[2].kind, CHANNEL_EMAIL);
	assert_string_equal(out[2].address, "iro-service@council.example");
	assert_int_equal(out[3].kind, CHANNEL_WEBHOOK);
	assert_string_equal(out[3].address, "https://hooks.council.example/h");
	diag_free(&d);
}

/* Assert warning i names the rule, the case and the column. */
static void
expect_dropped(const struct diag *d, size_t i, const char *column)
{
	assert_true(i < d->n);
	assert_int_equal(d->v[i].level, DIAG_WARNING);
	if (strstr(d->v[i].text, "rule=cic-first-review") == NULL ||
	    strstr(d->v[i].text, "case=A01") == NULL || strstr(d->v[i].text, column) == NULL ||
	    strstr(d->v[i].text, "dropped") == NULL)
		fail_msg("warning \"%s\" should name the rule, case A01 and %s", d->v[i].text,
		         column);
}

/* A row address that is NULL, empty or not an address is dropped with a warning. */
static void
test_eval_recipients_bad_column(void **state)
{
	struct fxrule f;
	struct stage *st = recipients_stage(&f);
	const char *cols[] = {"A01", "2026-12-18", NULL, ""};
	struct recipient out[4];
	struct diag d;
	size_t n;

	(void)state;
	set_ref(st, 0, "team_manager", 2, CHANNEL_EMAIL, NULL);
	set_ref(st, 1, "iro", 3, CHANNEL_EMAIL, NULL);
	set_ref(st, 2, "service_manager", -1, CHANNEL_EMAIL, "service.manager@council.example");
	diag_init(&d);
	/* NULL and empty: both dropped, the contact stays. */
	n = eval_recipients(&f.r, st, cols, "A01", NULL, out, NULL, NULL, &d);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].address, "service.manager@council.example");
	assert_int_equal(d.warnings, 2);
	assert_int_equal(d.errors, 0);
	expect_dropped(&d, 0, "team_manager_email");
	expect_dropped(&d, 1, "iro_email");
	diag_free(&d);

	/* Not an email address (free text, two addresses): dropped. */
	cols[2] = "Jo Bloggs (team manager)";
	cols[3] = "a@council.example, b@council.example";
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", NULL, out, NULL, NULL, &d);
	assert_int_equal(n, 1);
	assert_int_equal(d.warnings, 2);
	expect_dropped(&d, 0, "team_manager_email");
	expect_dropped(&d, 1, "iro_email");
	assert_non_null(strstr(d.v[0].text, "not an email address"));
	diag_free(&d);

	/* Nobody left: zero recipients, still warnings and no crash. */
	st->nnotify = 2;
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", NULL, out, NULL, NULL, &d);
	assert_int_equal(n, 0);
	assert_int_equal(d.warnings, 2);
	diag_free(&d);
}

/* The strict syntax: what the loose check let through is dropped, and the admin is told why. */
static void
test_eval_recipients_strict(void **state)
{
	struct fxrule f;
	struct stage *st = recipients_stage(&f);
	const char *cols[] = {"victim%evil.example@council.example", "a@[10.0.0.1]", "x@y",
	                      "j\xc3\xb8@council.example", NULL};
	struct recipient out[5];
	struct eval_dropped dropped[5];
	size_t ndropped = 99, n;
	struct diag d;

	(void)state;
	set_ref(st, 0, "iro", 0, CHANNEL_EMAIL, NULL);
	set_ref(st, 1, "tm", 1, CHANNEL_EMAIL, NULL);
	set_ref(st, 2, "sw", 2, CHANNEL_EMAIL, NULL);
	set_ref(st, 3, "hos", 3, CHANNEL_EMAIL, NULL);
	set_ref(st, 4, "pa", 4, CHANNEL_EMAIL, NULL);
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", NULL, out, dropped, &ndropped, &d);
	assert_int_equal(n, 0);
	assert_int_equal(ndropped, 5);
	assert_int_equal(d.warnings, 5);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(dropped[i].why, EVAL_DROP_INVALID);
		assert_true(dropped[i].column);
		assert_non_null(strstr(d.v[i].text, "not an email address"));
		/* Never the whole address in a log line. */
		assert_null(strstr(d.v[i].text, cols[i]));
	}
	assert_string_equal(dropped[0].name, "iro");
	assert_string_equal(dropped[0].domain, "council.example");
	assert_string_equal(dropped[1].domain, "[10.0.0.1]");
	assert_string_equal(dropped[2].domain, "y");
	assert_int_equal(dropped[4].why, EVAL_DROP_MISSING);
	assert_null(dropped[4].domain);
	assert_string_equal(dropped[4].name, "pa");
	diag_free(&d);
}

/* allowed_domains: exactly or a subdomain; a row or contact address outside it is refused. */
static void
test_eval_recipients_allowed(void **state)
{
	struct fxrule f;
	struct stage *st = recipients_stage(&f);
	static const char *const domains[] = {"anyshire.gov.uk", "nhs.net"};
	const struct eval_domains allowed = {domains, 2};
	const char *cols[] = {"jane.smith@gmial.com", "jo@Mail.Anyshire.gov.uk",
	                      "sam@evilanyshire.gov.uk", "gp@nhs.net"};
	struct recipient out[6];
	struct eval_dropped dropped[6];
	size_t ndropped, n;
	struct diag d;

	(void)state;
	set_ref(st, 0, "iro", 0, CHANNEL_EMAIL, NULL);
	set_ref(st, 1, "tm", 1, CHANNEL_EMAIL, NULL);
	set_ref(st, 2, "sw", 2, CHANNEL_EMAIL, NULL);
	set_ref(st, 3, "gp", 3, CHANNEL_EMAIL, NULL);
	set_ref(st, 4, "outsider", -1, CHANNEL_EMAIL, "someone@partner.example");
	set_ref(st, 5, "hook", -1, CHANNEL_WEBHOOK, "https://hooks.partner.example/h");
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", &allowed, out, dropped, &ndropped, &d);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].address, "jo@Mail.Anyshire.gov.uk");
	assert_string_equal(out[1].address, "gp@nhs.net");
	assert_int_equal(out[2].kind, CHANNEL_WEBHOOK); /* not an email: no domain rule */
	assert_int_equal(ndropped, 3);
	assert_int_equal(dropped[0].why, EVAL_DROP_REFUSED);
	assert_string_equal(dropped[0].name, "iro");
	assert_string_equal(dropped[0].domain, "gmial.com");
	assert_int_equal(dropped[1].why, EVAL_DROP_REFUSED);
	assert_string_equal(dropped[1].domain, "evilanyshire.gov.uk");
	assert_int_equal(dropped[2].why, EVAL_DROP_REFUSED);
	assert_false(dropped[2].column);
	assert_string_equal(dropped[2].name, "outsider");
	assert_int_equal(d.warnings, 3);
	/* The domain, never the whole address. */
	assert_non_null(strstr(d.v[0].text, "gmial.com"));
	assert_non_null(strstr(d.v[0].text, "allowed_domains"));
	assert_null(strstr(d.v[0].text, "jane.smith"));
	assert_non_null(strstr(d.v[2].text, "contact outsider"));
	diag_free(&d);

	/* Without allowed_domains (NULL, or v NULL) nothing is refused. */
	diag_init(&d);
	n = eval_recipients(&f.r, st, cols, "A01", &(struct eval_domains){NULL, 0}, out, dropped,
	                    &ndropped, &d);
	assert_int_equal(n, 6);
	assert_int_equal(ndropped, 0);
	diag_free(&d);
}

/* Working days late: counted after the due date up to and including the day. */
static void
test_eval_working_days_late(void **state)
{
	struct calendar *cal = ew_calendar();

	(void)state;
	/* Due Thu 2026-12-24; on Mon 2027-01-04: 12-29, 12-30, 12-31, 01-04 -> 4. */
	assert_int_equal(eval_working_days_late(cal, D("2026-12-24"), D("2027-01-04")), 4);
	/* On the due date, and before it: 0. */
	assert_int_equal(eval_working_days_late(cal, D("2026-12-24"), D("2026-12-24")), 0);
	assert_int_equal(eval_working_days_late(cal, D("2026-12-24"), D("2026-12-01")), 0);
	/* Due Fri 2026-12-18: the weekend adds nothing, Monday makes 1. */
	assert_int_equal(eval_working_days_late(cal, D("2026-12-18"), D("2026-12-20")), 0);
	assert_int_equal(eval_working_days_late(cal, D("2026-12-18"), D("2026-12-21")), 1);
	/* Due Wed 2027-01-20, on Wed 2027-02-03: ten working days. */
	assert_int_equal(eval_working_days_late(cal, D("2027-01-20"), D("2027-02-03")), 10);
	/* Holidays only: Christmas Day to the 28th adds nothing. */
	assert_int_equal(eval_working_days_late(cal, D("2026-12-24"), D("2026-12-28")), 0);
	calendar_free(cal);
}

/* How the due date stands on a day, as every channel shows it (the alert's status). */
static void
test_eval_status(void **state)
{
	struct calendar *cal = ew_calendar();
	char buf[EVAL_STATUS_LEN];

	(void)state;
	assert_string_equal(eval_status(cal, D("2027-01-20"), D("2027-02-03"), buf, sizeof buf),
	                    "10 working days overdue");
	assert_string_equal(eval_status(cal, D("2026-12-18"), D("2026-12-21"), buf, sizeof buf),
	                    "1 working day overdue");
	assert_string_equal(eval_status(cal, D("2026-12-18"), D("2026-12-20"), buf, sizeof buf),
	                    "past due on 2026-12-18");
	assert_string_equal(eval_status(cal, D("2026-12-18"), D("2026-12-18"), buf, sizeof buf),
	                    "due today");
	assert_string_equal(eval_status(cal, D("2026-12-21"), D("2026-12-19"), buf, sizeof buf),
	                    "due in 1 working day");
	/* No working day between (a weekend): the date. */
	assert_string_equal(eval_status(cal, D("2026-12-20"), D("2026-12-19"), buf, sizeof buf),
	                    "due on 2026-12-20");
	assert_string_equal(eval_status(cal, D("2027-01-04"), D("2026-12-24"), buf, sizeof buf),
	                    "due in 4 working days");
	calendar_free(cal);
}

/*
 * The status of an alert recorded without one: the overdue wording of
 * eval_status, else the due date (what chat messages said before alerts kept
 * their status).
 */
static void
test_eval_status_recorded(void **state)
{
	char buf[EVAL_STATUS_LEN];

	(void)state;
	assert_string_equal(eval_status_recorded(1, "2026-10-29", buf, sizeof buf),
	                    "1 working day overdue");
	assert_string_equal(eval_status_recorded(12, "2026-10-29", buf, sizeof buf),
	                    "12 working days overdue");
	assert_string_equal(eval_status_recorded(0, "2026-10-29", buf, sizeof buf),
	                    "due 2026-10-29");
	assert_string_equal(eval_status_recorded(0, NULL, buf, sizeof buf), "due ");
}

/* Dates computed with working days beyond the calendar's years set outside_calendar. */
static void
test_eval_outside_calendar(void **state)
{
	static const char *const wd_at[] = {"-5 working days", "1 working day"};
	static const char *const month_at[] = {"0 days", "1 month"};
	static const char *const mixed_at[] = {"-5 working days", "0 days"};
	char *path = ew_file(*state, "# England and Wales\n# covers: 2026-2027\n");
	struct calendar *cal = calendar_new();
	struct fxrule wd, months, months_wd, mixed;
	struct eval_clock c;
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(calendar_first_year(cal), 2026);
	assert_int_equal(calendar_last_year(cal), 2027);
	diag_free(&d);
	free(path);

	make_rule(&wd, "20 working days", true, wd_at, 2);
	make_rule(&months, "6 months", false, month_at, 2);
	make_rule(&months_wd, "6 months", true, month_at, 2);
	make_rule(&mixed, "6 months", false, mixed_at, 2);

	/* Start 2026-12-18: everything within 2027. */
	eval_clock(&wd.r, cal, SEND_TIME, D("2026-12-18"), T("2027-01-13", 8, 0), &c);
	assert_false(c.outside_calendar);
	/* Start 2027-12-20: due 2028-01-19, beyond the last year. */
	eval_clock(&wd.r, cal, SEND_TIME, D("2027-12-20"), T("2027-12-20", 8, 0), &c);
	assert_date(c.due, "2028-01-19");
	assert_true(c.outside_calendar);
	/* Start 2025-11-03: working days counted in 2025, before the first year. */
	eval_clock(&wd.r, cal, SEND_TIME, D("2025-11-03"), T("2025-11-03", 8, 0), &c);
	assert_true(c.outside_calendar);
	/* Months and days only, no working days: 2028 needs no calendar. */
	eval_clock(&months.r, cal, SEND_TIME, D("2027-08-31"), T("2027-09-01", 8, 0), &c);
	assert_date(c.due, "2028-02-29");
	assert_false(c.outside_calendar);
	/* The same with working_days_only: moving a 2028 date needs 2028's holidays. */
	eval_clock(&months_wd.r, cal, SEND_TIME, D("2027-08-31"), T("2027-09-01", 8, 0), &c);
	assert_true(c.outside_calendar);
	eval_clock(&months_wd.r, cal, SEND_TIME, D("2026-05-31"), T("2026-06-01", 8, 0), &c);
	assert_false(c.outside_calendar);
	/* A stage in working days from a 2028 due date, with working_days_only = false. */
	eval_clock(&mixed.r, cal, SEND_TIME, D("2027-08-31"), T("2027-09-01", 8, 0), &c);
	assert_true(c.outside_calendar);
	calendar_free(cal);
}

/* A working-day count that starts outside the calendar's years is flagged too. */
static void
test_eval_outside_calendar_origin(void **state)
{
	static const char *const wd_at[] = {"0 days"};
	static const char *const back_at[] = {"-5 working days"};
	char *path = ew_file(*state, "# covers: 2026-2027\n");
	struct calendar *cal = calendar_new();
	struct fxrule wd, back;
	struct eval_clock c;
	struct diag d;

	diag_init(&d);
	assert_int_equal(calendar_load_file(cal, path, &d), 0);
	diag_free(&d);
	free(path);

	/*
	 * Start Fri 2025-12-19 + 20 working days. The calendar does not know 2025-12-25/26,
	 * so it counts them: 12-22..26 (5), 12-29..31 (8), 2026-01-02 (9), 01-05..09 (14),
	 * 01-12..16 (19), 01-19 (20) -> 2026-01-19, two working days earlier than the true
	 * 2026-01-21. The due date is inside 2026, but 2025 dates were counted.
	 */
	make_rule(&wd, "20 working days", true, wd_at, 1);
	eval_clock(&wd.r, cal, SEND_TIME, D("2025-12-19"), T("2025-12-19", 8, 0), &c);
	assert_date(c.due, "2026-01-19");
	assert_true(c.outside_calendar);

	/*
	 * Start 2027-07-05 + 6 months: due Wed 2028-01-05. "-5 working days" counts back over
	 * Mon 2028-01-03 (a bank holiday the calendar does not know): 01-04, 01-03, 12-31,
	 * 12-30, 12-29 -> 2027-12-29 instead of the true 2027-12-24. The stage date is inside
	 * 2027, but a 2028 date was counted.
	 */
	make_rule(&back, "6 months", true, back_at, 1);
	eval_clock(&back.r, cal, SEND_TIME, D("2027-07-05"), T("2027-07-05", 8, 0), &c);
	assert_date(c.due, "2028-01-05");
	assert_date(eval_stage_date(&back.r, cal, c.due, 0), "2027-12-29");
	assert_true(c.outside_calendar);
	calendar_free(cal);
}

/* A calendar with no file loaded never says outside. */
static void
test_eval_outside_no_file(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	struct eval_clock c;

	(void)state;
	make_first_review(&f);
	eval_clock(&f.r, cal, SEND_TIME, D("2029-12-20"), T("2029-12-20", 8, 0), &c);
	assert_false(c.outside_calendar);
	calendar_free(cal);
}

/* A test with a scratch directory in *state. */
#define TD(f) cmocka_unit_test_setup_teardown(f, testdir_setup, testdir_teardown)

/* A stage's urgency: reminder until due, then overdue, then escalation. */
static void
test_eval_urgency(void **state)
{
	static const char *const at[] = {"-5 working days", "0 days", "1 working day",
	                                 "10 working days"};
	struct calendar *cal = ew_calendar();
	struct fxrule f;

	(void)state;
	make_rule(&f, "20 working days", true, at, 4);
	/* Due Wed 2027-01-20: the reminder and the stage on the due date are reminders. */
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-20"), 0), EVAL_REMINDER);
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-20"), 1), EVAL_REMINDER);
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-20"), 2), EVAL_OVERDUE);
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-20"), 3), EVAL_ESCALATION);
	/* Due on a Saturday: a "0 days" stage moves to Monday, after due: overdue already. */
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-23"), 1), EVAL_OVERDUE);
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-23"), 2), EVAL_ESCALATION);
	assert_string_equal(eval_urgency_name(EVAL_ESCALATION), "escalation");
	assert_string_equal(eval_urgency_name(EVAL_OVERDUE), "overdue");
	assert_string_equal(eval_urgency_name(EVAL_REMINDER), "reminder");
	f.r.kind = RULE_THRESHOLD;
	assert_int_equal(eval_urgency(&f.r, cal, D("2027-01-20"), 0), EVAL_OVERDUE);
	calendar_free(cal);
}

/* eval_hold_until of rule r for a stage dated stage, agreed for agreed, as a date string. */
static void
expect_hold(const struct rule *r, const struct calendar *cal, const char *stage, const char *agreed,
            const char *want)
{
	char got[DATE_STRLEN];

	date_format(eval_hold_until(r, cal, D(stage), D(agreed)), got);
	if (strcmp(got, want) != 0)
		fail_msg("stage %s, agreed %s: held until %s, expected %s", stage, agreed, got,
		         want);
}

/*
 * An agreed date holds a stage dated on or before it until the next working
 * day after it; a stage dated after it is not held.
 */
static void
test_eval_hold_until(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;

	(void)state;
	make_first_review(&f);
	f.r.hold = true;
	f.r.max_hold = dur("10 working days");
	/* Stage Thu 2027-01-21. Agreed the day before: the stage is after it, not held. */
	expect_hold(&f.r, cal, "2027-01-21", "2027-01-20", "2027-01-21");
	/* Agreed for the stage's own date: held until the next working day, Fri 01-22. */
	expect_hold(&f.r, cal, "2027-01-21", "2027-01-21", "2027-01-22");
	/* Agreed for Fri 01-22: Saturday and Sunday are not working days, Mon 01-25. */
	expect_hold(&f.r, cal, "2027-01-21", "2027-01-22", "2027-01-25");
	/*
	 * Stage Wed 2026-12-23, agreed Thu 12-24: 12-25 (Christmas, Fri), 26-27 (weekend),
	 * 12-28 (Boxing Day substitute, Mon) are not working days: Tue 2026-12-29.
	 */
	expect_hold(&f.r, cal, "2026-12-23", "2026-12-24", "2026-12-29");
	/* A rule without hold never holds, whatever the answer says. */
	f.r.hold = false;
	expect_hold(&f.r, cal, "2027-01-21", "2027-01-22", "2027-01-21");
	calendar_free(cal);
}

/*
 * eval_held_until: the earliest hold end, at send_time, among the stages after the one answered
 * that are not yet told, up to the one owed; nothing without hold or an answered stage.
 */
static void
test_eval_held_until(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;
	bool recorded[3] = {true, false, false};
	date_t due = D("2027-01-20"); /* stages: Wed 01-13, Thu 01-21, Wed 02-03 */

	(void)state;
	make_first_review(&f);
	f.r.hold = true;
	f.r.max_hold = dur("10 working days");
	/* Answered at stage 0, agreed for Mon 01-25: stage 1 (01-21) waits until Tue 01-26. */
	assert_int_equal(
	    eval_held_until(&f.r, cal, SEND_TIME, due, 0, D("2027-01-25"), recorded, 1),
	    T("2027-01-26", 8, 0));
	/* Up to stage 2 as well: stage 2 (02-03) is after the agreed date, not held: its own date.
	 */
	assert_int_equal(
	    eval_held_until(&f.r, cal, SEND_TIME, due, 0, D("2027-01-25"), recorded, 2),
	    T("2027-01-26", 8, 0));
	/* Stage 1 already told: only stage 2 counts, not held (dated after the agreed date). */
	recorded[1] = true;
	assert_int_equal(
	    eval_held_until(&f.r, cal, SEND_TIME, due, 0, D("2027-01-25"), recorded, 2),
	    T("2027-02-03", 8, 0));
	/* Nothing after the answered stage up to the one owed: nothing held. */
	assert_true(eval_held_until(&f.r, cal, SEND_TIME, due, 2, D("2027-01-25"), recorded, 2) ==
	            EVAL_NEVER);
	/* An answer to no stage of the rule, or a rule without hold: nothing held. */
	recorded[1] = false;
	assert_true(eval_held_until(&f.r, cal, SEND_TIME, due, -1, D("2027-01-25"), recorded, 2) ==
	            EVAL_NEVER);
	f.r.hold = false;
	assert_true(eval_held_until(&f.r, cal, SEND_TIME, due, 0, D("2027-01-25"), recorded, 2) ==
	            EVAL_NEVER);
	calendar_free(cal);
}

/* eval_recipient_in: the same channel and address; email addresses ignore case. */
static void
test_eval_recipient_in(void **state)
{
	struct recipient v[] = {{CHANNEL_EMAIL, "Tess.Manager@council.example", NULL},
	                        {CHANNEL_WEBHOOK, "iro_alerts", "iro_alerts"}};
	struct recipient a = {CHANNEL_EMAIL, "tess.manager@COUNCIL.example", NULL};
	struct recipient b = {CHANNEL_WEBHOOK, "IRO_alerts", "IRO_alerts"};
	struct recipient c = {CHANNEL_SLACK, "iro_alerts", "iro_alerts"};

	(void)state;
	assert_true(eval_recipient_in(v, 2, &a));
	assert_false(eval_recipient_in(v, 2, &b)); /* a contact's name is exact */
	assert_false(eval_recipient_in(v, 2, &c)); /* another channel */
	assert_false(eval_recipient_in(v, 1, &v[1]));
	assert_true(eval_recipient_in(v, 2, &v[1]));
}

/* The cap: never later than the stage's own date + max_hold, counted on the calendar. */
static void
test_eval_hold_cap(void **state)
{
	struct calendar *cal = ew_calendar();
	struct fxrule f;

	(void)state;
	make_first_review(&f);
	f.r.hold = true;
	f.r.max_hold = dur("10 working days");
	/*
	 * Stage Thu 2027-01-21 + 10 working days: 01-22 (1), 25-29 (2-6), 02-01..04 (7-10):
	 * Thu 2027-02-04. Agreed for March: held until 02-04 only.
	 */
	expect_hold(&f.r, cal, "2027-01-21", "2027-03-01", "2027-02-04");
	/* Agreed 02-03: the day after is the cap itself. Agreed 02-04: the cap wins. */
	expect_hold(&f.r, cal, "2027-01-21", "2027-02-03", "2027-02-04");
	expect_hold(&f.r, cal, "2027-01-21", "2027-02-04", "2027-02-04");
	/*
	 * Over Christmas: Wed 2026-12-23 + 10 working days: 12-24 (1), 12-29..31 (2-4),
	 * 2027-01-04..08 (5-9; 01-01 is a holiday), Mon 01-11 (10).
	 */
	expect_hold(&f.r, cal, "2026-12-23", "2027-02-01", "2027-01-11");
	/* Over Easter: Thu 2027-03-25 + 2 working days: 03-26 and 03-29 are holidays: Wed 03-31. */
	f.r.max_hold = dur("2 working days");
	expect_hold(&f.r, cal, "2027-03-25", "2027-04-30", "2027-03-31");
	/* Weeks: Thu 2027-01-21 + 2 weeks = Thu 02-04. */
	f.r.max_hold = dur("2 weeks");
	expect_hold(&f.r, cal, "2027-01-21", "2027-03-01", "2027-02-04");
	/* Days: 01-21 + 10 days = Sun 01-31, moved to Mon 02-01 as a stage date would be. */
	f.r.max_hold = dur("10 days");
	expect_hold(&f.r, cal, "2027-01-21", "2027-03-01", "2027-02-01");
	/* working_days_only = false: neither the cap nor the day after is moved. */
	f.r.working_days_only = false;
	expect_hold(&f.r, cal, "2027-01-21", "2027-03-01", "2027-01-31");
	expect_hold(&f.r, cal, "2027-01-21", "2027-01-22", "2027-01-23");
	calendar_free(cal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eval_due_working_days_christmas),
	    cmocka_unit_test(test_eval_stage_minus_5_working_days),
	    cmocka_unit_test(test_eval_stage_moved_to_working_day),
	    cmocka_unit_test(test_eval_stage_not_moved),
	    cmocka_unit_test(test_eval_month_due_clamped),
	    cmocka_unit_test(test_eval_reached_inclusive),
	    cmocka_unit_test(test_eval_next_after_last),
	    cmocka_unit_test(test_eval_owed),
	    cmocka_unit_test(test_eval_recipients_dedup),
	    cmocka_unit_test(test_eval_recipients_bad_column),
	    cmocka_unit_test(test_eval_recipients_strict),
	    cmocka_unit_test(test_eval_recipients_allowed),
	    cmocka_unit_test(test_eval_working_days_late),
	    cmocka_unit_test(test_eval_status),
	    cmocka_unit_test(test_eval_status_recorded),
	    cmocka_unit_test(test_eval_urgency),
	    cmocka_unit_test(test_eval_hold_until),
	    cmocka_unit_test(test_eval_hold_cap),
	    cmocka_unit_test(test_eval_held_until),
	    cmocka_unit_test(test_eval_recipient_in),
	    TD(test_eval_outside_calendar),
	    TD(test_eval_outside_calendar_origin),
	    cmocka_unit_test(test_eval_outside_no_file),
	};

	return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
