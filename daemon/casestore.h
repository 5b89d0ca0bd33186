/* casestore.h - the council's case store: SQLite, opened read-only. */
#ifndef ESCALATOR_CASESTORE_H
#define ESCALATOR_CASESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "date.h"

struct casestore;

/*
 * Limits on the case store, which is untrusted input (it is also opened in SQLite's
 * defensive mode, with trusted_schema off and ATTACH limited to none).
 *
 * CASESTORE_VALUE_MAX: characters of one value as casestore_rows_text gives it (so in
 * any message, field, log line or key): longer values are cut on a character boundary
 * and end in CASESTORE_CUT_MARK. 2,000 characters is ten times the longest thing a
 * message names (an address is at most 254, a name or team a few dozen) and a page of a
 * free-text note, while a row of 20 columns stays under 160 KB.
 *
 * CASESTORE_MAX_LENGTH: SQLite's LENGTH limit, the largest string or blob it will read
 * or make. A value over it fails the whole rule query (SQLite cannot skip a row), so it
 * must be above any value a real extract holds: it is not the message cap. It is there
 * so that one value cannot take the service past its MemoryMax (512M): SQLite reads a
 * value whole, and may hold a copy or two (a sorter for ORDER BY), so 64 MiB a value
 * keeps even that inside the limit, and a larger value fails only its own rule, with
 * SQLite's "string or blob too big", while the other rules run.
 *
 * CASESTORE_MAX_SQL_LENGTH: bytes of one SQL statement, a rule query or an entry of the
 * file's schema (a view): the shipped ones are under 2 KB.
 * CASESTORE_MAX_COLUMNS: SQLite's own compiled maximum, set explicitly: a lower one would
 * refuse a wide extract at open (the whole schema fails to parse).
 * CASESTORE_MAX_EXPR_DEPTH: the parser's recursion in the file's schema and the rule
 * queries (SQLite's default is 1000); the shipped views nest less than 20.
 */
#define CASESTORE_VALUE_MAX 2000
#define CASESTORE_CUT_MARK "\xe2\x80\xa6" /* "…" (U+2026) in UTF-8 */
#define CASESTORE_MAX_LENGTH (64 * 1024 * 1024)
#define CASESTORE_MAX_SQL_LENGTH (1024 * 1024)
#define CASESTORE_MAX_COLUMNS 2000
#define CASESTORE_MAX_EXPR_DEPTH 100

/*
 * Open the case store read-only (SQLITE_OPEN_READONLY, PRAGMA query_only), hardened
 * (the limits above). A WAL-mode file whose -shm this service cannot create (a directory
 * it cannot write) is opened immutable when it has no -wal file or an empty one: the
 * file then holds every committed change; casestore_changed watches it by stat. Returns
 * NULL with *cause set if it is missing, not a SQLite database, or cannot be read here
 * (then *cause says what to change).
 */
struct casestore *casestore_open(const char *path, char **cause);
/*
 * Is case_store a PostgreSQL URL ("postgresql://..." or "postgres://...")
 * rather than a file? Then casestore_open connects with libpq (casestore_pg.c).
 */
bool casestore_is_url(const char *s);
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
/*
 * The date and time the queries that follow are evaluated as of: a rule query
 * may use :today ("YYYY-MM-DD") and :now ("YYYY-MM-DD HH:MM:SS", local time),
 * so that --now, dry runs and the daemon agree (date('now') would not). Until
 * it is set they are the current local time.
 */
void casestore_set_clock(struct casestore *cs, localtime_min_t now);
void casestore_set_timeout(struct casestore *cs, double seconds);
void casestore_set_tick(struct casestore *cs, casestore_tick_fn tick, void *arg);

/*
 * One rule query's rows, read in a pass (caserows.c); the case store's own types stay inside
 * casestore.c and caserows.c.
 */
struct casestore_rows;

/*
 * Start reading the rows of a rule query (same checks as casestore_compile).
 * Returns NULL with *cause set if it is refused or does not compile.
 */
struct casestore_rows *casestore_query(struct casestore *cs, const char *sql, char **cause);
/* The number of columns the query returns. */
size_t casestore_rows_ncolumns(const struct casestore_rows *q);
/* The name of column i. */
const char *casestore_rows_column_name(const struct casestore_rows *q, size_t i);
/*
 * Step to the next row: 1 a row, 0 no more rows, -1 reading failed (*cause
 * set; casestore_rows_timed_out tells a query stopped for its time limit), -2
 * the tick asked to stop (nothing set). After -1 or -2 the query is over.
 * With casestore_set_async on a PostgreSQL store, also 2: no row has arrived
 * yet; call again once casestore_wait_fd is readable (or a little later).
 */
int casestore_rows_next(struct casestore_rows *q, char **cause);
/*
 * Let casestore_rows_next say 2 rather than wait for the server (the service's
 * passes on PostgreSQL, so that the loop goes on delivering meanwhile); off
 * for every other reader. A no-op on SQLite, whose steps are short.
 */
void casestore_set_async(struct casestore *cs, bool on);
/* The socket to wait on after a 2, or -1. */
int casestore_wait_fd(const struct casestore *cs);
/* Did the query stop because its steps took longer than casestore_set_timeout allows? */
bool casestore_rows_timed_out(const struct casestore_rows *q);
/* Time spent inside the query's steps so far (not between them), in seconds. */
double casestore_rows_seconds(const struct casestore_rows *q);
/*
 * Column i of the current row as text (NULL for SQL NULL), valid until the next step:
 * at most CASESTORE_VALUE_MAX characters, longer values cut with CASESTORE_CUT_MARK.
 */
const char *casestore_rows_text(struct casestore_rows *q, size_t i);
/* How many bytes of s (len bytes) hold at most max characters, cut on a character boundary. */
size_t casestore_cut_len(const char *s, size_t len, size_t max);
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
 * caller reopens. A store opened immutable (see casestore_open) also counts any
 * change to its file or its -wal file (size, times) as replaced. A missing file
 * sets *missing. Returns true when changed.
 */
bool casestore_changed(struct casestore *cs, bool *replaced, bool *missing);

/*
 * Hold one read snapshot across the queries that follow until
 * casestore_read_end, so they all see the same extract (the report's history
 * and live queries). Returns 0, or -1 with *cause set.
 */
int casestore_read_begin(struct casestore *cs, char **cause);
void casestore_read_end(struct casestore *cs);

/*
 * Tell changes by a query instead (change_query): casestore_changed runs it
 * and counts a change when its one value differs from the last time (or it
 * fails: evaluating again is safe). sql NULL: by the file (SQLite) or at
 * every poll (PostgreSQL, where nothing else tells).
 */
void casestore_set_change_query(struct casestore *cs, const char *sql);

/* Did the last operation fail because another process holds the case store? */
bool casestore_busy(const struct casestore *cs);

#endif
