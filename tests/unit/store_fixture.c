/* store_fixture.c - what the state store's tests share (see store_fixture.h). */
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

#include "store_fixture.h"
#include "xalloc.h"

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
void
rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
date_t
D(const char *s)
{
	date_t d = 0;

	if (date_parse_strict(s, &d) != 0)
		fail_msg("bad date literal \"%s\"", s);
	return d;
}

/* Make the scratch directory and the rule (reminder, overdue, escalated, director). */
int
setup(void **state)
{
	static char *names[] = {"reminder", "overdue", "escalated", "director"};
	struct fixture *fx = xcalloc(1, sizeof *fx);

	strcpy(fx->dir, "/tmp/test_store.XXXXXX");
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
int
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
struct statestore *
open_store(struct fixture *fx, bool readonly)
{
	char *cause = NULL;
	struct statestore *ss = statestore_open(fx->path, readonly, &cause);

	if (ss == NULL)
		fail_msg("statestore_open: %s", cause);
	return ss;
}

/* Three recipients: two emails and a webhook. */
const struct recipient three[] = {
    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"},
    {.kind = CHANNEL_EMAIL, .address = "service.manager@council.example"},
    {.kind = CHANNEL_WEBHOOK, .address = "https://hooks.council.example/hos"},
};

/* An alert of case_ref (start 2026-12-18, due 2027-01-20) at stage, told to n of three. */
struct alert
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
	a.status = "10 working days overdue";
	a.subject = "First Child in Care review: escalated for case A01";
	a.body = "First Child in Care review\n\nCase: A01\n";
	a.fields = NULL;
	a.recipients = three;
	a.nrecipients = n;
	return a;
}

/* Record a within its own transaction; returns the alert id. */
long long
record(struct statestore *ss, const struct alert *a, const bool *recorded)
{
	char *cause = NULL;
	long long id = -1;

	if (statestore_begin(ss, &cause) != 0)
		fail_msg("begin: %s", cause);
	if (alertstore_record(ss, a, recorded, &id, &cause) != 0)
		fail_msg("record: %s", cause);
	if (statestore_commit(ss, &cause) != 0)
		fail_msg("commit: %s", cause);
	return id;
}

/* Read which stages of (rule, case_ref, 2026-12-18) are recorded into rec[4]. */
void
recorded(struct fixture *fx, struct statestore *ss, const char *case_ref, bool *rec)
{
	char *cause = NULL;

	if (alertstore_recorded(ss, &fx->r, case_ref, D("2026-12-18"), rec, NULL, &cause) != 0)
		fail_msg("alertstore_recorded: %s", cause);
}

/* One text or integer value from the state file, through a separate connection. */
char *
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
void
expect_sql(const char *path, const char *sql, const char *want)
{
	char *got = query1(path, sql);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", sql, got ? got : "(no row)", want);
	free(got);
}

/* Run sql on the file through a connection of its own. */
void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Five recipients, one of each kind (chat and Notify contacts are recorded by name). */
const struct recipient kinds[] = {
    {.kind = CHANNEL_EMAIL, .address = "tm.north@council.example"},
    {.kind = CHANNEL_WEBHOOK, .address = "https://hooks.council.example/hos"},
    {.kind = CHANNEL_TEAMS, .address = "managers"},
    {.kind = CHANNEL_SLACK, .address = "iro_team"},
    {.kind = CHANNEL_GOVUK_NOTIFY, .address = "iro_manager"},
};

/* Record n alerts at stage 1 told to r[0..nr). */
void
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
