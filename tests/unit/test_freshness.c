/*
 * test_freshness.c - unit tests for daemon/freshness.c: max_store_age, the
 * times a freshness_query may return, measuring a real file and a real case
 * store, the alarm's transitions (told once when the data gets old, once when
 * new data arrives, unknown is not fresh), its record in the state store's
 * meta table, and the admin's message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "casestore.h"
#include "clock.h"
#include "freshness.h"
#include "testdir.h"
#include "xalloc.h"

#define HOUR 3600LL
#define DAY 86400LL
/* 2026-12-21T02:10:00Z, a Monday (GMT in December: local time is UTC). */
#define MON_0210 1797819000LL

/* Parse max_store_age; assert it gives want seconds. */
static void
age_ok(const char *s, long long want)
{
	long long got = -1;
	char *cause = NULL;

	if (freshness_parse_age(s, &got, &cause) != 0)
		fail_msg("\"%s\" refused: %s", s, cause);
	assert_int_equal(got, want);
}

/* Parse max_store_age; assert it is refused with a message containing text. */
static void
age_refused(const char *s, const char *text)
{
	long long got = -1;
	char *cause = NULL;

	assert_int_equal(freshness_parse_age(s, &got, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, text) == NULL)
		fail_msg("\"%s\": \"%s\" does not say \"%s\"", s, cause, text);
	free(cause);
}

/* Minutes, hours, days and weeks; refusals say what was meant. */
static void
test_parse_age(void **state)
{
	(void)state;
	age_ok("26 hours", 26 * HOUR);
	age_ok("1 hour", HOUR);
	age_ok("90 minutes", 90 * 60);
	age_ok("1 minute", 60);
	age_ok("3 days", 3 * DAY);
	age_ok("1 day", DAY);
	age_ok("2 weeks", 14 * DAY);
	age_ok("  74 hours  ", 74 * HOUR);
	age_ok("26  hours", 26 * HOUR);
	age_ok("366 days", 366 * DAY);

	age_refused("26 hous", "did you mean \"hours\"?");
	age_refused("3 dyas", "did you mean \"days\"?");
	age_refused("26 Hours", "did you mean \"hours\"?");
	age_refused("2 fortnights", "expected minutes, hours, days or weeks");
	age_refused("3 working days", "not working days");
	age_refused("26", "is not an age");
	age_refused("26hours", "is not an age");
	age_refused("hours", "is not an age");
	age_refused("-5 hours", "is not an age");
	age_refused("", "is not an age");
	age_refused("0 hours", "out of range");
	age_refused("30 seconds", "unknown unit");
	age_refused("367 days", "out of range");
	age_refused("53 weeks", "out of range");
	age_refused("99999999999999999999 hours", "out of range");
}

/* Parse a freshness_query value; assert it gives want (unix seconds). */
static void
time_ok(const char *s, long long want)
{
	time_t got = 0;

	if (freshness_parse_time(s, &got) != 0)
		fail_msg("\"%s\" refused", s);
	assert_int_equal((long long)got, want);
}

/* Every documented form; without a zone, local time (Europe/London: BST in summer). */
static void
test_parse_time(void **state)
{
	const char *const bad[] = {
	    "",
	    "yesterday",
	    "21/12/2026",
	    "2026-12-21 25:00:00",
	    "2026-12-21 02:61",
	    "2026-02-30 00:00:00",
	    "2026-12-21T02:10:00+1",
	    "2026-12-21T02:10:00 GMT",
	    "2026-12-21T02",
	    "2026-12-21 02:10:00.",
	    "1797819000.5x",
	    "-1797819000",
	    "2026-12-21x",
	};
	time_t t;

	(void)state;
	time_ok("2026-12-21 02:10:00", MON_0210);
	time_ok("2026-12-21T02:10:00", MON_0210);
	time_ok("2026-12-21 02:10", MON_0210);
	time_ok("2026-12-21T02:10:00.123456", MON_0210);
	time_ok("2026-12-21T02:10:00Z", MON_0210);
	time_ok("2026-12-21T03:10:00+01:00", MON_0210);
	time_ok("2026-12-21T03:10:00+0100", MON_0210);
	time_ok("2026-12-20T21:10:00-05:00", MON_0210);
	time_ok("2026-12-21", MON_0210 - 2 * HOUR - 10 * 60);
	time_ok("1797819000", MON_0210);
	/* 1 July 2026 02:10 BST is 01:10 UTC. */
	time_ok("2026-07-01 02:10:00", 1782868200LL);
	time_ok("2026-07-01T01:10:00Z", 1782868200LL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (freshness_parse_time(bad[i], &t) == 0)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)t);
}

/* A reading of known data from t. */
static struct freshness_reading
known(time_t t)
{
	struct freshness_reading r = {.known = true, .data_time = t};

	return r;
}

/* Told once when it gets old, never while it stays old, once when new data arrives. */
static void
test_judge_stale_then_fresh(void **state)
{
	struct freshness_state st = {0};
	struct freshness_reading extract = known(MON_0210);
	time_t now = MON_0210;
	long long max = 26 * HOUR;

	(void)state;
	/* New data, then older and older: within max_store_age, nothing. */
	assert_int_equal(freshness_judge(&st, &extract, max, now), FRESHNESS_SAME);
	assert_int_equal(freshness_judge(&st, &extract, max, now + max), FRESHNESS_SAME);
	assert_false(st.stale);
	/* One second over: told, once. */
	assert_int_equal(freshness_judge(&st, &extract, max, now + max + 1), FRESHNESS_STALE);
	assert_true(st.stale);
	assert_int_equal(st.since, now + max + 1);
	assert_int_equal(st.data_time, MON_0210);
	for (int i = 2; i < 100; i++)
		assert_int_equal(freshness_judge(&st, &extract, max, now + max + i * 60),
		                 FRESHNESS_SAME);
	/* The next extract: told, once. */
	extract = known(now + 2 * DAY);
	assert_int_equal(freshness_judge(&st, &extract, max, now + 2 * DAY + 60), FRESHNESS_FRESH);
	assert_false(st.stale);
	assert_int_equal(st.since, now + 2 * DAY + 60);
	assert_int_equal(st.data_time, now + 2 * DAY);
	assert_int_equal(freshness_judge(&st, &extract, max, now + 2 * DAY + 120), FRESHNESS_SAME);
	/* A restart with the alarm recorded as raised and the data still old: nothing. */
	st.stale = true;
	extract = known(now);
	assert_int_equal(freshness_judge(&st, &extract, max, now + 3 * DAY), FRESHNESS_SAME);
	freshness_state_clear(&st);
}

/* Unknown is not fresh: it clears nothing, and once it lasts max_store_age it is stale. */
static void
test_judge_unknown(void **state)
{
	struct freshness_state st = {0};
	struct freshness_reading unknown = {.known = false, .why = (char *)"no row"};
	struct freshness_reading old = known(MON_0210 - 3 * DAY);
	struct freshness_reading now_data = known(MON_0210);
	long long max = 26 * HOUR;

	(void)state;
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210), FRESHNESS_SAME);
	assert_int_equal(st.unknown_since, MON_0210);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + max - 1), FRESHNESS_SAME);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + max), FRESHNESS_STALE);
	assert_true(st.stale);
	assert_int_equal(st.data_time, 0);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + 2 * max), FRESHNESS_SAME);
	/* Known and new: fresh, and the unknown spell is over. */
	now_data = known(MON_0210 + 2 * max - 60);
	assert_int_equal(freshness_judge(&st, &now_data, max, MON_0210 + 2 * max), FRESHNESS_FRESH);
	assert_int_equal(st.unknown_since, 0);

	/* Raised for old data, then unknown for days: not cleared, not told again. */
	assert_int_equal(freshness_judge(&st, &old, max, MON_0210), FRESHNESS_STALE);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + 60), FRESHNESS_SAME);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + 5 * DAY), FRESHNESS_SAME);
	assert_true(st.stale);

	/* A short unknown spell between fresh readings starts over. */
	freshness_state_clear(&st);
	now_data = known(MON_0210);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210), FRESHNESS_SAME);
	assert_int_equal(freshness_judge(&st, &now_data, max, MON_0210 + 60), FRESHNESS_SAME);
	assert_int_equal(freshness_judge(&st, &unknown, max, MON_0210 + max + 120), FRESHNESS_SAME);
	assert_false(st.stale);
}

/* A time in the future (a skewed clock) is age 0: fresh. */
static void
test_judge_future(void **state)
{
	struct freshness_state st = {.stale = true};
	struct freshness_reading ahead = known(MON_0210 + HOUR);

	(void)state;
	assert_int_equal(freshness_age(&ahead, MON_0210), 0);
	assert_int_equal(freshness_judge(&st, &ahead, HOUR, MON_0210), FRESHNESS_FRESH);
}

/* The meta record round trip; nothing recorded is not stale; a foreign record is refused. */
static void
test_state_json(void **state)
{
	struct freshness_state st = {.stale = true,
	                             .since = MON_0210,
	                             .data_time = MON_0210 - 2 * DAY,
	                             .told = MON_0210 + 5,
	                             .admin = xstrdup("ops")};
	struct freshness_state back = {0};
	char *text = freshness_state_json(&st);
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	(void)state;
	assert_non_null(j);
	assert_int_equal(freshness_state_load(j, &back), 0);
	assert_true(back.stale);
	assert_int_equal(back.since, st.since);
	assert_int_equal(back.data_time, st.data_time);
	assert_int_equal(back.told, st.told);
	assert_string_equal(back.admin, "ops");
	json_decref(j);
	free(text);

	assert_int_equal(freshness_state_load(NULL, &back), 0);
	assert_false(back.stale);
	assert_null(back.admin);
	j = json_pack("{s:s}", "stale", "yes");
	assert_int_equal(freshness_state_load(j, &back), -1);
	json_decref(j);
	freshness_state_clear(&st);
	freshness_state_clear(&back);
}

/* What the admin reads: the file, how old, the setting, that alerts keep going out. */
static void
test_message(void **state)
{
	struct freshness_state st = {.stale = true, .since = MON_0210};
	struct freshness_reading old = known(MON_0210 - 2 * DAY - 6 * HOUR);
	struct freshness_reading unknown = {
	    .known = false, .from_query = true, .why = (char *)"freshness_query returned no row"};
	char *subject, *body;

	(void)state;
	freshness_message(FRESHNESS_STALE, &st, &old, "/var/lib/cases.db", "26 hours", MON_0210,
	                  &subject, &body);
	assert_string_equal(subject,
	                    "escalator: the case store's data is 2 days 6 hours old; check the "
	                    "extract");
	assert_non_null(strstr(body, "/var/lib/cases.db is 2 days 6 hours old"));
	assert_non_null(strstr(body, "the file last changed on Fri 18 Dec 2026 20:10"));
	assert_non_null(strstr(body, "at least every 26 hours (max_store_age)"));
	assert_non_null(
	    strstr(body, "Alerts keep going out from the data escalator has; check the extract."));
	assert_non_null(strstr(body, "tells you again when new data arrives"));
	assert_null(strchr(subject, '\n'));
	free(subject);
	free(body);

	st.unknown_since = MON_0210 - 26 * HOUR;
	freshness_message(FRESHNESS_STALE, &st, &unknown, "/var/lib/cases.db", "26 hours", MON_0210,
	                  &subject, &body);
	assert_non_null(strstr(subject, "cannot tell how old"));
	assert_non_null(strstr(body, "since Sun 20 Dec 2026 00:10 (1 day 2 hours): freshness_query "
	                             "returned no row."));
	free(subject);
	free(body);

	old = known(MON_0210 - 5 * 60);
	old.from_query = true;
	freshness_message(FRESHNESS_FRESH, &st, &old, "/var/lib/cases.db", "26 hours", MON_0210,
	                  &subject, &body);
	assert_string_equal(subject, "escalator: the case store has new data again");
	assert_non_null(strstr(body, "its freshness_query says it is from Mon 21 Dec 2026 02:05 "
	                             "(5 minutes old)"));
	free(subject);
	free(body);
}

/* Spans and times for people. */
static void
test_span_and_when(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(freshness_span(0, buf, sizeof buf), "0 seconds");
	assert_string_equal(freshness_span(1, buf, sizeof buf), "1 second");
	assert_string_equal(freshness_span(59, buf, sizeof buf), "59 seconds");
	assert_string_equal(freshness_span(60, buf, sizeof buf), "1 minute");
	assert_string_equal(freshness_span(119, buf, sizeof buf), "1 minute");
	assert_string_equal(freshness_span(HOUR, buf, sizeof buf), "1 hour");
	assert_string_equal(freshness_span(HOUR + 61, buf, sizeof buf), "1 hour 1 minute");
	assert_string_equal(freshness_span(26 * HOUR, buf, sizeof buf), "1 day 2 hours");
	assert_string_equal(freshness_span(2 * DAY + 59 * 60, buf, sizeof buf), "2 days");
	assert_string_equal(freshness_span(-5, buf, sizeof buf), "0 seconds");
	assert_string_equal(freshness_when(MON_0210, buf, sizeof buf), "Mon 21 Dec 2026 02:10");
	/* 1 July 2026 01:10 UTC is 02:10 BST. */
	assert_string_equal(freshness_when(1782868200LL, buf, sizeof buf), "Wed 1 Jul 2026 02:10");
}

/* Set path's modification time to t. */
static void
touch_at(const char *path, time_t t)
{
	struct utimbuf u = {t, t};

	assert_int_equal(utime(path, &u), 0);
}

/* The file's last change, or its -wal file's when that is newer and not empty. */
static void
test_measure_file(void **state)
{
	struct testdir *td = *state;
	char *db = testdir_write(td, "cases.db", "x");
	char *wal = testdir_write(td, "cases.db-wal", "");
	char *missing = testdir_path(td, "gone.db");
	struct freshness_reading r;

	touch_at(db, MON_0210 - 2 * DAY);
	touch_at(wal, MON_0210);
	freshness_measure(db, NULL, NULL, &r);
	assert_true(r.known);
	assert_false(r.from_query);
	/* An empty -wal (a reader made it) is no new data. */
	assert_int_equal(r.data_time, MON_0210 - 2 * DAY);
	freshness_reading_clear(&r);
	free(testdir_write(td, "cases.db-wal", "frames"));
	touch_at(wal, MON_0210);
	freshness_measure(db, NULL, NULL, &r);
	assert_int_equal(r.data_time, MON_0210);
	freshness_reading_clear(&r);

	freshness_measure(missing, NULL, NULL, &r);
	assert_false(r.known);
	assert_non_null(strstr(r.why, "No such file"));
	freshness_reading_clear(&r);
	free(db);
	free(wal);
	free(missing);
}

/* freshness_query: a text time, unix seconds, NULL, no row, a value that is not a time. */
static void
test_measure_query(void **state)
{
	struct testdir *td = *state;
	char *path = testdir_path(td, "cases.db");
	struct casestore *cs;
	struct freshness_reading r;
	char *cause = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TABLE extract_log (extracted_at);"
	                              "INSERT INTO extract_log VALUES ('2026-12-20 02:10:00');"
	                              "INSERT INTO extract_log VALUES ('2026-12-21 02:10:00');"
	                              "CREATE TABLE other (v);"
	                              "INSERT INTO other VALUES ('21/12/2026');",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	cs = casestore_open(path, &cause);
	if (cs == NULL)
		fail_msg("%s", cause);

	freshness_measure(path, "SELECT max(extracted_at) FROM extract_log", cs, &r);
	assert_true(r.known);
	assert_true(r.from_query);
	assert_int_equal(r.data_time, MON_0210);
	freshness_reading_clear(&r);

	freshness_measure(path, "SELECT strftime('%s', '2026-12-21 02:10:00') + 0", cs, &r);
	assert_true(r.known);
	assert_int_equal(r.data_time, MON_0210);
	freshness_reading_clear(&r);

	freshness_measure(path, "SELECT max(extracted_at) FROM extract_log WHERE 0", cs, &r);
	assert_false(r.known);
	assert_string_equal(r.why, "freshness_query returned NULL (no extract recorded?)");
	freshness_reading_clear(&r);

	freshness_measure(path, "SELECT extracted_at FROM extract_log WHERE 0", cs, &r);
	assert_false(r.known);
	assert_string_equal(r.why, "freshness_query returned no row");
	freshness_reading_clear(&r);

	freshness_measure(path, "SELECT v FROM other", cs, &r);
	assert_false(r.known);
	assert_non_null(strstr(r.why, "returned \"21/12/2026\", not a time"));
	freshness_reading_clear(&r);

	freshness_measure(path, "SELECT v FROM missing_table", cs, &r);
	assert_false(r.known);
	assert_non_null(strstr(r.why, "freshness_query failed: "));
	freshness_reading_clear(&r);

	casestore_close(cs);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_age),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_judge_stale_then_fresh),
	    cmocka_unit_test(test_judge_unknown),
	    cmocka_unit_test(test_judge_future),
	    cmocka_unit_test(test_state_json),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_span_and_when),
	    cmocka_unit_test_setup_teardown(test_measure_file, testdir_setup, testdir_teardown),
	    cmocka_unit_test_setup_teardown(test_measure_query, testdir_setup, testdir_teardown),
	};
	char *cause = NULL;

	if (clock_set_timezone("Europe/London", &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
