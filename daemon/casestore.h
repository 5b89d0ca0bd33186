/* casestore.h - the council's case store: SQLite, opened read-only. */
#ifndef ESCALATOR_CASESTORE_H
#define ESCALATOR_CASESTORE_H

#include <stdbool.h>
#include <stddef.h>

struct casestore;

/*
 * Open the case store read-only (SQLITE_OPEN_READONLY, PRAGMA query_only).
 * Returns NULL with *cause set if it is missing or not a SQLite database.
 */
struct casestore *casestore_open(const char *path, char **cause);
void casestore_close(struct casestore *cs);
const char *casestore_path(const struct casestore *cs);

/*
 * Compile a rule query: exactly one statement that only reads (an authorizer
 * allows SELECT and reads only, and sqlite3_stmt_readonly must agree), and
 * return its column names. A ruleset_query_fn: arg is the casestore.
 */
int casestore_compile(void *arg, const char *sql, char ***columns, size_t *ncolumns, char **cause);

/*
 * The time limits of a pass. The steps of one query (the time SQLite spends
 * executing it, summed over its rows, not the time between them) may take
 * seconds in all (0: no limit); then the step in progress is interrupted
 * (SQLite's progress handler) and the query fails. While a query runs, tick
 * (may be NULL) is called every few milliseconds, even inside one long step:
 * it may do quick work (a watchdog ping) and returns true to stop the query.
 */
typedef bool (*casestore_tick_fn)(void *arg);
void casestore_set_timeout(struct casestore *cs, double seconds);
void casestore_set_tick(struct casestore *cs, casestore_tick_fn tick, void *arg);

/* One rule query's rows, read in a pass; the case store's own types stay inside casestore.c. */
struct casestore_rows;

/*
 * Start reading the rows of a rule query (same checks as casestore_compile).
 * Returns NULL with *cause set if it is refused or does not compile.
 */
struct casestore_rows *casestore_query(struct casestore *cs, const char *sql, char **cause);
/* The number of columns the query returns. */
size_t casestore_rows_ncolumns(const struct casestore_rows *q);
/*
 * Step to the next row: 1 a row, 0 no more rows, -1 reading failed (*cause
 * set; casestore_rows_timed_out tells a query stopped for its time limit), -2
 * the tick asked to stop (nothing set). After -1 or -2 the query is over.
 */
int casestore_rows_next(struct casestore_rows *q, char **cause);
/* Did the query stop because its steps took longer than casestore_set_timeout allows? */
bool casestore_rows_timed_out(const struct casestore_rows *q);
/* Time spent inside the query's steps so far (not between them), in seconds. */
double casestore_rows_seconds(const struct casestore_rows *q);
/* Column i of the current row as text (NULL for SQL NULL), valid until the next step. */
const char *casestore_rows_text(struct casestore_rows *q, size_t i);
/*
 * Is column i of the current row stored as a number? Then set *value. Ask
 * before reading the same column as text.
 */
bool casestore_rows_number(struct casestore_rows *q, size_t i, double *value);
/* Stop reading and free q (NULL is fine). */
void casestore_rows_free(struct casestore_rows *q);

/*
 * Has the case store changed since the last call? Another connection's
 * commit shows in PRAGMA data_version; a new file renamed over the old one
 * (the nightly extract) shows as a new inode: then *replaced is set and the
 * caller reopens. A missing file sets *missing. Returns true when changed.
 */
bool casestore_changed(struct casestore *cs, bool *replaced, bool *missing);

/* Did the last operation fail because another process holds the case store? */
bool casestore_busy(const struct casestore *cs);

#endif
