/*
 * store_fixture.h - what the state store's tests share: a scratch directory
 * with a state file, a four-stage rule, alerts to record, and SQL through a
 * connection of the test's own.
 */
#ifndef ESCALATOR_STORE_FIXTURE_H
#define ESCALATOR_STORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "alertstore.h"
#include "date.h"
#include "eval.h"
#include "ruleset.h"
#include "statestore.h"

/* One test's scratch directory, state file and a four-stage rule. */
struct fixture {
	char dir[64];
	char *path;
	struct statestore *ss;
	struct rule r;
	struct stage st[4];
};

/* Three recipients: two emails and a webhook. */
extern const struct recipient three[];
/* Five recipients, one of each kind (chat and Notify contacts are recorded by name). */
extern const struct recipient kinds[];

/* cmocka fixture: the scratch directory and the rule (reminder, overdue, escalated, director). */
int setup(void **state);
/* cmocka fixture: close the store and remove the scratch directory. */
int teardown(void **state);
/* Remove a directory tree. */
void rm_rf(const char *dir);
/* A day from "YYYY-MM-DD", failing the test on a bad literal. */
date_t D(const char *s);
/* Open the state store at the fixture's path, failing the test on error. */
struct statestore *open_store(struct fixture *fx, bool readonly);
/* An alert of case_ref (start 2026-12-18, due 2027-01-20) at stage, told to n of three. */
struct alert make_alert(const struct fixture *fx, const char *case_ref, int stage, size_t n);
/* Record a within its own transaction; returns the alert id. */
long long record(struct statestore *ss, const struct alert *a, const bool *recorded);
/* Record n alerts of cases prefix00, prefix01, ... at stage 1, told to r[0..nr). */
void record_many(struct fixture *fx, const char *prefix, int n, const struct recipient *r,
                 size_t nr);
/* Read which stages of (rule, case_ref, 2026-12-18) are recorded into rec[4]. */
void recorded(struct fixture *fx, struct statestore *ss, const char *case_ref, bool *rec);
/* One text or integer value from the state file, through a separate connection, or NULL. */
char *query1(const char *path, const char *sql);
/* Assert the first value of sql is want. */
void expect_sql(const char *path, const char *sql, const char *want);
/* Run sql on the file through a connection of its own. */
void exec_sql(const char *path, const char *sql);

#endif
