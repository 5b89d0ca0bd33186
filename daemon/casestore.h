/* casestore.h - the council's case store: SQLite, opened read-only. */
#ifndef ESCALATOR_CASESTORE_H
#define ESCALATOR_CASESTORE_H

#include <sqlite3.h>
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

/* Prepare a rule query for a pass (same checks as casestore_compile). */
sqlite3_stmt *casestore_prepare(struct casestore *cs, const char *sql, char **cause);

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
