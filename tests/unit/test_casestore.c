/* test_casestore.c - unit tests for daemon/casestore.c: the read-only case store. */
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

/*
 * The module itself, to reach its connection and casestore_prepare (style.md); the row
 * cursor, daemon/caserows.c, is compiled beside this file (tests/CMakeLists.txt).
 */
#include "casestore.c"
#include "testdir.h"
#include "xalloc.h"

static const char cases_sql[] =
    "CREATE TABLE cases (case_ref TEXT PRIMARY KEY, start TEXT, status TEXT, flags TEXT);"
    "INSERT INTO cases VALUES ('A01', '2026-12-18', 'open', '[\"cp\"]');"
    "INSERT INTO cases VALUES ('A02', '2026-11-02', 'closed', '[]');"
    "INSERT INTO cases VALUES ('A03', '2026-11-28T09:30:00', 'open', '[\"cic\",\"cp\"]');";

/* One test's scratch directory and open case store. */
struct fixture {
	struct testdir *td;
	const char *dir; /* testdir_root(td) */
	char *path;
	struct casestore *cs;
};

/* Make a case store with the sqlite3 API and open it with casestore_open. */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);
	sqlite3 *db;
	char *cause = NULL;

	fx->td = testdir_new();
	fx->dir = testdir_root(fx->td);
	fx->path = testdir_path(fx->td, "cases.sqlite");
	if (sqlite3_open(fx->path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, cases_sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_close(db);
	if ((fx->cs = casestore_open(fx->path, &cause)) == NULL) {
		print_error("casestore_open: %s\n", cause);
		free(cause);
		return -1;
	}
	*state = fx;
	return 0;
}

/* Close the store and remove the scratch directory. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	casestore_close(fx->cs);
	testdir_free(fx->td);
	free(fx->path);
	free(fx);
	return 0;
}

/* Count the rows of cases through a separate connection. */
static int
count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM cases", -1, &st, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Assert casestore_prepare refuses sql with a cause containing text. */
static void
expect_refused(struct fixture *fx, const char *sql, const char *text)
{
	char *cause = NULL;
	struct casestore_rows *q = casestore_query(fx->cs, sql, &cause);

	if (q != NULL) {
		casestore_rows_free(q);
		fail_msg("\"%s\" should have been refused", sql);
	}
	assert_non_null(cause);
	if (strstr(cause, text) == NULL)
		fail_msg("\"%s\": cause \"%s\" does not contain \"%s\"", sql, cause, text);
	free(cause);
	/* Nothing was written, and the store still answers a plain SELECT. */
	assert_int_equal(count_rows(fx->path), 3);
	q = casestore_query(fx->cs, "SELECT case_ref, start FROM cases", &cause);
	assert_non_null(q);
	assert_int_equal(casestore_rows_ncolumns(q), 2);
	assert_int_equal(casestore_rows_next(q, &cause), 1);
	assert_non_null(casestore_rows_text(q, 0));
	casestore_rows_free(q);
}

/* A missing file is refused with an error naming it. */
static void
test_casestore_missing(void **state)
{
	struct fixture *fx = *state;
	char *path = testdir_path(fx->td, "nope.sqlite");
	char *cause = NULL;
	char *want = xasprintf("%s: cannot open the case store: No such file or directory", path);

	assert_null(casestore_open(path, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, want);
	/* Nothing was created. */
	assert_int_equal(access(path, F_OK), -1);
	free(want);
	free(cause);
	free(path);
}

/* A file that is not a SQLite database is refused, naming it. */
static void
test_casestore_not_sqlite(void **state)
{
	struct fixture *fx = *state;
	char *path = testdir_path(fx->td, "cases.csv");
	char *cause = NULL;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fprintf(f,
		        "case_ref,start,team_manager_email\nA%02d,2026-12-18,tm@council.example\n",
		        i);
	assert_int_equal(fclose(f), 0);
	assert_null(casestore_open(path, &cause));
	assert_non_null(cause);
	if (strncmp(cause, path, strlen(path)) != 0 ||
	    strstr(cause, "cannot read the case store") == NULL)
		fail_msg("cause \"%s\" should name %s and say it cannot be read", cause, path);
	free(cause);
	free(path);
}

/* A directory is not a case store. */
static void
test_casestore_directory(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	char *want = xasprintf("%s: the case store is not a regular file", fx->dir);

	assert_null(casestore_open(fx->dir, &cause));
	assert_string_equal(cause, want);
	free(want);
	free(cause);
}

/* The store remembers its path. */
static void
test_casestore_path(void **state)
{
	struct fixture *fx = *state;

	assert_string_equal(casestore_path(fx->cs), fx->path);
}

/* The connection itself refuses writes, even for a statement prepared outside the checks. */
static void
test_casestore_connection_read_only(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3_stmt *st = casestore_prepare(fx->cs, "SELECT case_ref FROM cases", &cause);
	sqlite3_stmt *w = NULL;
	sqlite3 *db;
	int rc;

	/* The connection is casestore.c's own (this file includes it). */
	assert_non_null(st);
	db = sqlite3_db_handle(st);
	sqlite3_finalize(st);
	assert_ptr_equal(db, fx->cs->db);
	assert_int_equal(sqlite3_db_readonly(db, "main"), 1);

	/* Outside casestore_prepare the authorizer lets this compile, but it cannot run. */
	assert_int_equal(sqlite3_prepare_v2(db, "DELETE FROM cases", -1, &w, NULL), SQLITE_OK);
	assert_non_null(w);
	rc = sqlite3_step(w);
	sqlite3_finalize(w);
	assert_int_not_equal(rc, SQLITE_DONE);
	assert_int_not_equal(sqlite3_exec(db,
	                                  "INSERT INTO cases VALUES ('X', '2026-01-01', 'open', "
	                                  "'[]')",
	                                  NULL, NULL, NULL),
	                     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "CREATE TABLE notes (x)", NULL, NULL, NULL),
	                     SQLITE_OK);
	assert_int_equal(count_rows(fx->path), 3);
}

/* INSERT is refused by name. */
static void
test_casestore_refuse_insert(void **state)
{
	expect_refused(*state, "INSERT INTO cases (case_ref) VALUES ('X99')",
	               "the query may only read (SELECT), but it uses INSERT");
}

/* UPDATE is refused by name. */
static void
test_casestore_refuse_update(void **state)
{
	expect_refused(*state, "UPDATE cases SET status = 'closed' WHERE case_ref = 'A01'",
	               "the query may only read (SELECT), but it uses UPDATE");
}

/* An UPDATE of the schema table itself is refused (reads of it are allowed for json_each). */
static void
test_casestore_refuse_update_schema(void **state)
{
	expect_refused(
	    *state, "UPDATE sqlite_master SET sql = 'CREATE TABLE cases (x)' WHERE name = 'cases'",
	    "table sqlite_master may not be modified");
	expect_refused(*state, "UPDATE sqlite_schema SET name = 'gone'", "may not be modified");
}

/* DELETE is refused by name. */
static void
test_casestore_refuse_delete(void **state)
{
	expect_refused(*state, "DELETE FROM cases WHERE status = 'closed'",
	               "the query may only read (SELECT), but it uses DELETE");
}

/* Assert sql is refused as a write whose message names verb (not the schema-table write). */
static void
expect_refused_naming(struct fixture *fx, const char *sql, const char *verb)
{
	static const char prefix[] = "the query may only read (SELECT), but it uses ";
	char *cause = NULL;
	struct casestore_rows *q = casestore_query(fx->cs, sql, &cause);

	if (q != NULL) {
		casestore_rows_free(q);
		fail_msg("\"%s\" should have been refused", sql);
	}
	if (strncmp(cause, prefix, strlen(prefix)) != 0 ||
	    strstr(cause + strlen(prefix), verb) == NULL)
		fail_msg("\"%s\": cause \"%s\" should say it uses %s", sql, cause, verb);
	free(cause);
	assert_int_equal(count_rows(fx->path), 3);
}

/* CREATE TABLE is refused, and the message names what the query does: CREATE. */
static void
test_casestore_refuse_create_table(void **state)
{
	expect_refused_naming(*state, "CREATE TABLE notes (case_ref TEXT, note TEXT)", "CREATE");
	expect_refused_naming(*state, "CREATE INDEX cases_start ON cases (start)", "CREATE");
}

/* DROP TABLE is refused, and the message names what the query does: DROP. */
static void
test_casestore_refuse_drop(void **state)
{
	expect_refused_naming(*state, "DROP TABLE cases", "DROP");
}

/* PRAGMA is refused by name, a reading one as much as one that would lift query_only. */
static void
test_casestore_refuse_pragma(void **state)
{
	expect_refused(*state, "PRAGMA query_only = 0",
	               "the query may only read (SELECT), but it uses PRAGMA");
	expect_refused(*state, "PRAGMA table_info(cases)",
	               "the query may only read (SELECT), but it uses PRAGMA");
}

/* ATTACH is refused by name. */
static void
test_casestore_refuse_attach(void **state)
{
	struct fixture *fx = *state;
	char *other = testdir_path(fx->td, "other.sqlite");
	char *sql = xasprintf("ATTACH DATABASE '%s' AS other", other);

	expect_refused(fx, sql, "the query may only read (SELECT), but it uses ATTACH");
	assert_int_equal(access(other, F_OK), -1);
	free(sql);
	free(other);
}

/* BEGIN is refused as a transaction. */
static void
test_casestore_refuse_transaction(void **state)
{
	expect_refused(*state, "BEGIN", "but it uses a transaction (BEGIN/COMMIT)");
}

/* VACUUM INTO would copy the whole case store to a file: refused, no file made. */
static void
test_casestore_refuse_vacuum_into(void **state)
{
	struct fixture *fx = *state;
	char *copy = xasprintf("%s/copy.sqlite", fx->dir);
	char *sql = xasprintf("VACUUM INTO '%s'", copy);
	char *cause = NULL;
	sqlite3_stmt *st = casestore_prepare(fx->cs, sql, &cause);

	if (st != NULL) {
		sqlite3_step(st);
		sqlite3_finalize(st);
		fail_msg("\"%s\" should have been refused", sql);
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, "the query may only read"));
	assert_int_equal(access(copy, F_OK), -1);
	free(cause);
	free(sql);
	free(copy);
}

/* Two statements are refused, whatever the second one is. */
static void
test_casestore_refuse_two_statements(void **state)
{
	expect_refused(*state, "SELECT case_ref, start FROM cases; DELETE FROM cases",
	               "the query must be exactly one SQL statement");
	expect_refused(*state, "SELECT case_ref, start FROM cases; SELECT 1",
	               "the query must be exactly one SQL statement");
	expect_refused(*state, "SELECT case_ref FROM cases; -- note\n SELECT 1",
	               "the query must be exactly one SQL statement");
}

/* An empty query, or one with only a comment, is refused. */
static void
test_casestore_refuse_empty(void **state)
{
	expect_refused(*state, "", "the query is empty");
	expect_refused(*state, "  -- nothing here\n", "the query is empty");
}

/* A query against an unknown table does not compile; SQLite's reason is given. */
static void
test_casestore_refuse_unknown_table(void **state)
{
	struct fixture *fx = *state;
	char *want = xasprintf("the query does not compile against %s: no such table: looked_after",
	                       fx->path);

	expect_refused(fx, "SELECT case_ref, start FROM looked_after", want);
	free(want);
}

/* A SELECT with a CTE, a recursive CTE and functions such as date() is accepted and runs. */
static void
test_casestore_accept_cte_functions(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3_stmt *st = casestore_prepare(
	    fx->cs,
	    "WITH open_cases AS (SELECT case_ref, start FROM cases WHERE status = 'open'),\n"
	    "     n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2)\n"
	    "SELECT lower(case_ref) AS case_ref, date(start) AS start,\n"
	    "       date(start, '+1 month') AS later, count(i) AS k\n"
	    "FROM open_cases, n GROUP BY case_ref ORDER BY case_ref; -- trailing comment",
	    &cause);

	if (st == NULL)
		fail_msg("refused: %s", cause);
	assert_int_equal(sqlite3_column_count(st), 4);
	assert_string_equal(sqlite3_column_name(st, 0), "case_ref");
	assert_string_equal(sqlite3_column_name(st, 3), "k");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "a01");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "2026-12-18");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "2027-01-18");
	assert_int_equal(sqlite3_column_int(st, 3), 2);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "a03");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "2026-11-28");
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* A read-only SELECT using the json_each table-valued function only reads: accepted. */
static void
test_casestore_accept_json_each(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	sqlite3_stmt *st =
	    casestore_prepare(fx->cs,
	                      "SELECT c.case_ref, c.start FROM cases c, json_each(c.flags) j "
	                      "WHERE j.value = 'cp' ORDER BY c.case_ref",
	                      &cause);

	if (st == NULL)
		fail_msg("a read-only SELECT with json_each was refused: %s", cause);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "A01");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "A03");
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* casestore_compile returns the result column names; on refusal -1 and the cause. */
static void
test_casestore_compile_columns(void **state)
{
	struct fixture *fx = *state;
	char **cols = NULL, *cause = NULL;
	size_t n = 0;

	assert_int_equal(casestore_compile(fx->cs,
	                                   "SELECT case_ref, start AS start, status || '' AS state "
	                                   "FROM cases",
	                                   &cols, &n, &cause),
	                 0);
	assert_int_equal(n, 3);
	assert_string_equal(cols[0], "case_ref");
	assert_string_equal(cols[1], "start");
	assert_string_equal(cols[2], "state");
	for (size_t i = 0; i < n; i++)
		free(cols[i]);
	free(cols);

	cols = NULL;
	n = 0;
	assert_int_equal(casestore_compile(fx->cs, "DELETE FROM cases", &cols, &n, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "uses DELETE"));
	assert_null(cols);
	assert_int_equal(n, 0);
	free(cause);
	assert_int_equal(count_rows(fx->path), 3);
}

/* Make a case store at path from sql (through a writable connection). */
static void
make_store(const char *path, const char *sql)
{
	sqlite3 *db;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* The connection is hardened: defensive, schema not trusted, limits set. */
static void
test_casestore_hardened(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = fx->cs->db;
	int on = -1;

	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on), SQLITE_OK);
	assert_int_equal(on, 1);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &on), SQLITE_OK);
	assert_int_equal(on, 0);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1), CASESTORE_MAX_LENGTH);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, -1), CASESTORE_MAX_SQL_LENGTH);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_COLUMN, -1), CASESTORE_MAX_COLUMNS);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, -1), CASESTORE_MAX_EXPR_DEPTH);
	assert_int_equal(sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1), 0);
}

/*
 * The file's schema is not trusted: a view that uses a virtual table not marked
 * innocuous (pragma_table_info) fails, while the same view of plain SQL works.
 */
static void
test_casestore_untrusted_view(void **state)
{
	struct fixture *fx = *state;
	char *path = testdir_path(fx->td, "views.sqlite"), *cause = NULL;
	struct casestore *cs;
	struct casestore_rows *q;
	int rc;

	make_store(path, "CREATE TABLE cases (case_ref TEXT, start TEXT);"
	                 "INSERT INTO cases VALUES ('A01', '2026-12-18');"
	                 "CREATE VIEW plain AS SELECT case_ref, start FROM cases;"
	                 "CREATE VIEW sneaky AS SELECT name AS case_ref, type AS start "
	                 "FROM pragma_table_info('cases');");
	cs = casestore_open(path, &cause);
	if (cs == NULL)
		fail_msg("casestore_open: %s", cause);
	q = casestore_query(cs, "SELECT case_ref, start FROM plain", &cause);
	assert_non_null(q);
	assert_int_equal(casestore_rows_next(q, &cause), 1);
	assert_string_equal(casestore_rows_text(q, 0), "A01");
	casestore_rows_free(q);
	q = casestore_query(cs, "SELECT case_ref, start FROM sneaky", &cause);
	rc = q != NULL ? casestore_rows_next(q, &cause) : -1;
	casestore_rows_free(q);
	if (rc != -1)
		fail_msg("a view using pragma_table_info was read (%d)", rc);
	assert_non_null(cause);
	if (strstr(cause, "unsafe use") == NULL)
		fail_msg("cause \"%s\" should say unsafe use", cause);
	free(cause);
	casestore_close(cs);
	free(path);
}

/* casestore_cut_len: at most max characters, never part of one. */
static void
test_casestore_cut_len(void **state)
{
	(void)state;
	assert_int_equal(casestore_cut_len("abcdef", 6, 3), 3);
	assert_int_equal(casestore_cut_len("abc", 3, 3), 3);
	assert_int_equal(casestore_cut_len("ab", 2, 3), 2);
	/* 2-, 3- and 4-byte characters count as one. */
	assert_int_equal(casestore_cut_len("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2), 4);
	assert_int_equal(casestore_cut_len("\xe2\x82\xac\xe2\x82\xac", 6, 1), 3);
	assert_int_equal(casestore_cut_len("a\xf0\x9f\x98\x80"
	                                   "b",
	                                   6, 2),
	                 5);
	/* A NUL ends the value. */
	assert_int_equal(casestore_cut_len("ab\0cdef", 7, 5), 2);
	/*
	 * A run of continuation bytes (not UTF-8) is bounded by bytes, 4 a character (8
	 * here), less the 3 the cut backs up looking for a character's start.
	 */
	assert_int_equal(casestore_cut_len("a\x80\x80\x80\x80\x80\x80\x80\x80\x80", 10, 2), 5);
}

/* A value longer than CASESTORE_VALUE_MAX characters is read cut, with the marker. */
static void
test_casestore_value_cut(void **state)
{
	struct fixture *fx = *state;
	char *path = testdir_path(fx->td, "long.sqlite"), *cause = NULL;
	struct casestore *cs;
	struct casestore_rows *q;
	const char *v, *again;

	/* Row 1: 3,000 "é" (2 bytes each); row 2: exactly the cap in "€"; row 3: short. */
	make_store(path, "CREATE TABLE cases (case_ref TEXT, start TEXT, note TEXT);"
	                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	                 "WHERE i < 3000) INSERT INTO cases SELECT 'A01', '2026-12-18', "
	                 "group_concat('\xc3\xa9', '') FROM n;"
	                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	                 "WHERE i < 2000) INSERT INTO cases SELECT 'A02', '2026-12-19', "
	                 "group_concat('\xe2\x82\xac', '') FROM n;"
	                 "INSERT INTO cases VALUES ('A03', '2026-12-20', 'short');");
	cs = casestore_open(path, &cause);
	if (cs == NULL)
		fail_msg("casestore_open: %s", cause);
	q = casestore_query(cs, "SELECT case_ref, start, note FROM cases ORDER BY case_ref",
	                    &cause);
	assert_non_null(q);

	assert_int_equal(casestore_rows_next(q, &cause), 1);
	v = casestore_rows_text(q, 2);
	assert_int_equal(strlen(v), 2 * CASESTORE_VALUE_MAX + 3);
	assert_string_equal(v + 2 * CASESTORE_VALUE_MAX, CASESTORE_CUT_MARK);
	assert_memory_equal(v, "\xc3\xa9\xc3\xa9", 4);
	/* Read again in the same row: the same text at the same place. */
	again = casestore_rows_text(q, 2);
	assert_ptr_equal(again, v);
	assert_int_equal(strlen(again), 2 * CASESTORE_VALUE_MAX + 3);
	assert_string_equal(casestore_rows_text(q, 0), "A01");
	assert_string_equal(casestore_rows_text(q, 1), "2026-12-18");

	/* Exactly the cap: whole, no marker. */
	assert_int_equal(casestore_rows_next(q, &cause), 1);
	v = casestore_rows_text(q, 2);
	assert_int_equal(strlen(v), 3 * CASESTORE_VALUE_MAX);
	assert_null(strstr(v, CASESTORE_CUT_MARK));

	assert_int_equal(casestore_rows_next(q, &cause), 1);
	assert_string_equal(casestore_rows_text(q, 2), "short");
	assert_int_equal(casestore_rows_next(q, &cause), 0);
	casestore_rows_free(q);
	casestore_close(cs);
	free(path);
}

/* Register one test with the case store fixture. */
/* A query that never ends and never returns a row. */
static const char runaway_sql[] = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)"
                                  " SELECT n AS case_ref, n AS start FROM r WHERE n < 0";

/* A query whose steps run longer than the time limit is stopped, and says why. */
static void
test_casestore_query_timeout(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	struct casestore_rows *q;

	casestore_set_timeout(fx->cs, 0.2);
	if ((q = casestore_query(fx->cs, runaway_sql, &cause)) == NULL)
		fail_msg("refused: %s", cause);
	assert_int_equal(casestore_rows_next(q, &cause), -1);
	assert_true(casestore_rows_timed_out(q));
	assert_non_null(strstr(cause, "the query ran longer than query_timeout (0.2 s)"));
	assert_true(casestore_rows_seconds(q) >= 0.2);
	free(cause);
	cause = NULL;
	/* Over is over: no second try of the same statement. */
	assert_int_equal(casestore_rows_next(q, &cause), -1);
	free(cause);
	casestore_rows_free(q);

	/* The connection is fine afterwards. */
	casestore_set_timeout(fx->cs, 0);
	if ((q = casestore_query(fx->cs, "SELECT case_ref FROM cases ORDER BY case_ref", &cause)) ==
	    NULL)
		fail_msg("refused: %s", cause);
	assert_int_equal(casestore_rows_next(q, &cause), 1);
	assert_string_equal(casestore_rows_text(q, 0), "A01");
	assert_false(casestore_rows_timed_out(q));
	casestore_rows_free(q);
}

/* The limit counts time inside the steps only, not the time between them. */
static void
test_casestore_query_timeout_counts_steps_only(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	struct casestore_rows *q;

	casestore_set_timeout(fx->cs, 0.2);
	if ((q = casestore_query(fx->cs, "SELECT case_ref FROM cases ORDER BY case_ref", &cause)) ==
	    NULL)
		fail_msg("refused: %s", cause);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(casestore_rows_next(q, &cause), 1);
		usleep(150 * 1000); /* the caller's work between rows, 0.45 s in all */
	}
	assert_int_equal(casestore_rows_next(q, &cause), 0);
	assert_false(casestore_rows_timed_out(q));
	assert_true(casestore_rows_seconds(q) < 0.2);
	casestore_rows_free(q);
}

/* Ticks while one long step runs: count them, stop at the third. */
static bool
tick_third(void *arg)
{
	int *n = arg;

	return ++*n >= 3;
}

/* The tick is called inside one long step, and its stop ends the query (not as an error). */
static void
test_casestore_tick_stops_query(void **state)
{
	struct fixture *fx = *state;
	char *cause = NULL;
	struct casestore_rows *q;
	int ticks = 0;

	casestore_set_timeout(fx->cs, 60);
	casestore_set_tick(fx->cs, tick_third, &ticks);
	if ((q = casestore_query(fx->cs, runaway_sql, &cause)) == NULL)
		fail_msg("refused: %s", cause);
	assert_int_equal(casestore_rows_next(q, &cause), -2);
	assert_null(cause);
	assert_int_equal(ticks, 3);
	assert_false(casestore_rows_timed_out(q));
	casestore_rows_free(q);
	casestore_set_tick(fx->cs, NULL, NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/*
 * :today and :now are the evaluation's clock (casestore_set_clock), so --now and
 * dry runs agree with the daemon; any other parameter is refused, not left NULL.
 */
static void
test_casestore_clock_parameters(void **state)
{
	struct fixture *fx = *state;
	struct casestore_rows *q;
	char *cause = NULL, **cols = NULL;
	size_t n = 0;
	date_t d;

	assert_int_equal(date_parse("2024-02-29", &d), 0);
	casestore_set_clock(fx->cs, (localtime_min_t)d * 1440 + 8 * 60 + 5);
	q = casestore_query(fx->cs, "SELECT :today, :now, date(:today, '+1 day')", &cause);
	assert_non_null(q);
	assert_int_equal(casestore_rows_next(q, &cause), 1);
	assert_string_equal(casestore_rows_text(q, 0), "2024-02-29");
	assert_string_equal(casestore_rows_text(q, 1), "2024-02-29 08:05:00");
	assert_string_equal(casestore_rows_text(q, 2), "2024-03-01");
	casestore_rows_free(q);

	/* The same query compiles for --check; other parameters do not. */
	assert_int_equal(casestore_compile(fx->cs, "SELECT :today AS t", &cols, &n, &cause), 0);
	assert_int_equal(n, 1);
	free(cols[0]);
	free(cols);
	expect_refused(fx, "SELECT case_ref FROM cases WHERE start < :yesterday", ":yesterday");
	expect_refused(fx, "SELECT case_ref FROM cases WHERE start < ?", "only :today");
	expect_refused(fx, "SELECT case_ref FROM cases WHERE start < ?1", "?1");
	expect_refused(fx, "SELECT case_ref FROM cases WHERE start < @today", "@today");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_casestore_missing),
	    T(test_casestore_hardened),
	    T(test_casestore_untrusted_view),
	    T(test_casestore_cut_len),
	    T(test_casestore_value_cut),
	    T(test_casestore_not_sqlite),
	    T(test_casestore_directory),
	    T(test_casestore_path),
	    T(test_casestore_connection_read_only),
	    T(test_casestore_refuse_insert),
	    T(test_casestore_refuse_update),
	    T(test_casestore_refuse_update_schema),
	    T(test_casestore_refuse_delete),
	    T(test_casestore_refuse_create_table),
	    T(test_casestore_refuse_drop),
	    T(test_casestore_refuse_pragma),
	    T(test_casestore_refuse_attach),
	    T(test_casestore_refuse_transaction),
	    T(test_casestore_refuse_vacuum_into),
	    T(test_casestore_refuse_two_statements),
	    T(test_casestore_refuse_empty),
	    T(test_casestore_refuse_unknown_table),
	    T(test_casestore_accept_cte_functions),
	    T(test_casestore_accept_json_each),
	    T(test_casestore_query_timeout),
	    T(test_casestore_query_timeout_counts_steps_only),
	    T(test_casestore_tick_stops_query),
	    T(test_casestore_compile_columns),
	    T(test_casestore_clock_parameters),
	};

	return cmocka_run_group_tests_name("casestore", tests, NULL, NULL);
}
