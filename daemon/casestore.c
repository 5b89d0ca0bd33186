/* casestore.c - the council's case store: SQLite, opened read-only. */
#include "casestore.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "xalloc.h"

struct casestore {
	sqlite3 *db;
	char *path;
	bool restricted; /* while compiling rule queries: reads only */
	long long data_version;
	dev_t dev;
	ino_t ino;
	int denied;        /* the first action the authorizer refused */
	bool schema_write; /* it refused a write to the schema table (CREATE, DROP) */

	/* Time limits of a pass (casestore_set_timeout, casestore_set_tick). */
	long long timeout_ns;   /* a query's steps may take this long in all; 0 no limit */
	casestore_tick_fn tick; /* asked now and then while a query runs: stop? */
	void *tick_arg;
	long long last_tick;             /* monotonic ns of the last call of tick */
	struct casestore_rows *stepping; /* the query inside sqlite3_step, if any */
};

/* Name of an authorizer action, for the error message. */
static const char *
casestore_action_name(int action)
{
	switch (action) {
	case SQLITE_INSERT:
		return "INSERT";
	case SQLITE_UPDATE:
		return "UPDATE";
	case SQLITE_DELETE:
		return "DELETE";
	case SQLITE_PRAGMA:
		return "PRAGMA";
	case SQLITE_ATTACH:
		return "ATTACH";
	case SQLITE_DETACH:
		return "DETACH";
	case SQLITE_TRANSACTION:
		return "a transaction (BEGIN/COMMIT)";
	case SQLITE_SAVEPOINT:
		return "SAVEPOINT";
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_VTABLE:
		return "CREATE";
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_VIEW:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_VTABLE:
		return "DROP";
	case SQLITE_ALTER_TABLE:
		return "ALTER TABLE";
	case SQLITE_REINDEX:
		return "REINDEX";
	case SQLITE_ANALYZE:
		return "ANALYZE";
	default:
		return "a statement that is not a plain SELECT";
	}
}

/* While compiling rule queries, allow reading and nothing else. */
static int
casestore_authorize(void *arg, int action, const char *a, const char *b, const char *c,
                    const char *d)
{
	struct casestore *cs = arg;

	if (!cs->restricted)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/*
		 * SQLite asks this of the schema table while it sets up an eponymous
		 * virtual table such as json_each; the statement is still checked by
		 * sqlite3_stmt_readonly and the connection is read-only.
		 */
		if (a != NULL &&
		    (strcmp(a, "sqlite_master") == 0 || strcmp(a, "sqlite_schema") == 0))
			return SQLITE_OK;
		/* FALLTHROUGH */
	default:
		/* CREATE and DROP first write the schema table: name the statement, not that. */
		if (a != NULL && strncmp(a, "sqlite_", 7) == 0 &&
		    (action == SQLITE_INSERT || action == SQLITE_DELETE || action == SQLITE_UPDATE))
			cs->schema_write = true;
		else if (cs->denied == 0)
			cs->denied = action;
		return SQLITE_DENY;
	}
}

/* Open the case store read-only. */
struct casestore *
casestore_open(const char *path, char **cause)
{
	struct casestore *cs;
	struct stat sb;
	char *err = NULL;
	int rc;

	if (stat(path, &sb) != 0) {
		*cause = xasprintf("%s: cannot open the case store: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		*cause = xasprintf("%s: the case store is not a regular file", path);
		return NULL;
	}
	cs = xcalloc(1, sizeof *cs);
	cs->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &cs->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*cause = xasprintf("%s: cannot open the case store: %s", path,
		                   cs->db ? sqlite3_errmsg(cs->db) : sqlite3_errstr(rc));
		casestore_close(cs);
		return NULL;
	}
	/*
	 * Short: a pass runs on the event loop, and a writer holding the store (the nightly
	 * extract) must not stall deliveries; a locked pass fails fast and is retried at the
	 * next poll.
	 */
	sqlite3_busy_timeout(cs->db, 100);
	/* query_only also refuses writes through any path the read-only open might miss. */
	if (sqlite3_exec(cs->db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_schema;", NULL,
	                 NULL, &err) != SQLITE_OK) {
		*cause = xasprintf("%s: cannot read the case store: %s", path, err ? err : "?");
		sqlite3_free(err);
		casestore_close(cs);
		return NULL;
	}
	sqlite3_set_authorizer(cs->db, casestore_authorize, cs);
	cs->dev = sb.st_dev;
	cs->ino = sb.st_ino;
	casestore_changed(cs, &(bool){false}, &(bool){false});
	return cs;
}

/* Close the case store. */
void
casestore_close(struct casestore *cs)
{
	if (cs == NULL)
		return;
	sqlite3_close(cs->db);
	free(cs->path);
	free(cs);
}

/* The path the case store was opened from. */
const char *
casestore_path(const struct casestore *cs)
{
	return cs->path;
}

/* Is the rest of a statement only whitespace and comments? */
static bool
casestore_only_comments(sqlite3 *db, const char *tail)
{
	sqlite3_stmt *st = NULL;
	const char *next = NULL;

	while (tail != NULL && *tail != '\0') {
		if (sqlite3_prepare_v2(db, tail, -1, &st, &next) != SQLITE_OK)
			return false;
		if (st != NULL) {
			sqlite3_finalize(st);
			return false;
		}
		if (next == tail)
			break;
		tail = next;
	}
	return true;
}

/* Prepare a rule query: one statement, reads only. */
static sqlite3_stmt *
casestore_prepare(struct casestore *cs, const char *sql, char **cause)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	cs->restricted = true;
	cs->denied = 0;
	cs->schema_write = false;
	rc = sqlite3_prepare_v2(cs->db, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		if (cs->denied != 0)
			*cause = xasprintf("the query may only read (SELECT), but it uses %s",
			                   casestore_action_name(cs->denied));
		else if (cs->schema_write)
			*cause = xstrdup("the query may only read (SELECT), but it uses CREATE or "
			                 "DROP (it changes the schema)");
		else
			*cause = xasprintf("the query does not compile against %s: %s", cs->path,
			                   sqlite3_errmsg(cs->db));
		cs->restricted = false;
		return NULL;
	}
	if (st == NULL) {
		*cause = xstrdup("the query is empty");
		cs->restricted = false;
		return NULL;
	}
	if (!casestore_only_comments(cs->db, tail)) {
		*cause = xstrdup("the query must be exactly one SQL statement; remove what follows "
		                 "the first ';'");
		sqlite3_finalize(st);
		cs->restricted = false;
		return NULL;
	}
	cs->restricted = false;
	if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) == 0) {
		*cause = xstrdup("the query may only read: it must be a SELECT that returns rows");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Compile a rule query and return its column names. */
int
casestore_compile(void *arg, const char *sql, char ***columns, size_t *ncolumns, char **cause)
{
	struct casestore *cs = arg;
	sqlite3_stmt *st = casestore_prepare(cs, sql, cause);
	int n;

	if (st == NULL)
		return -1;
	n = sqlite3_column_count(st);
	*columns = xcalloc((size_t)n, sizeof **columns);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		(*columns)[i] = xstrdup(name ? name : "");
	}
	*ncolumns = (size_t)n;
	sqlite3_finalize(st);
	return 0;
}

/* Has the case store changed since the last call? */
bool
casestore_changed(struct casestore *cs, bool *replaced, bool *missing)
{
	sqlite3_stmt *st;
	struct stat sb;
	long long v = -1;

	*replaced = *missing = false;
	if (stat(cs->path, &sb) != 0) {
		*missing = true;
		return false;
	}
	if (sb.st_dev != cs->dev || sb.st_ino != cs->ino) {
		*replaced = true;
		return true;
	}
	if (sqlite3_prepare_v2(cs->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (v != cs->data_version) {
		cs->data_version = v;
		return true;
	}
	return false;
}

/* Did the last operation fail because another process holds the case store? */
bool
casestore_busy(const struct casestore *cs)
{
	int rc = sqlite3_errcode(cs->db);

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* One rule query's rows, read in a pass. */
struct casestore_rows {
	struct casestore *cs;
	sqlite3_stmt *st;
	long long spent;   /* ns spent inside sqlite3_step so far */
	long long started; /* monotonic ns at the start of the step in progress */
	bool timed_out;    /* stopped: its steps took longer than the time limit */
	bool stopped;      /* stopped: the tick asked to stop */
};

/*
 * How many virtual machine instructions between two calls of the progress
 * handler: a few microseconds of work, so a time limit or a stop request is
 * seen within a millisecond, for a cost too small to measure.
 */
#define CASESTORE_PROGRESS_OPS 1000
/* How often the tick is asked while a query runs. */
#define CASESTORE_TICK_NS (10 * 1000 * 1000LL)

/* The monotonic clock in nanoseconds. */
static long long
casestore_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Has q run out of time, or does the tick ask to stop? Sets q's reason. */
static bool
casestore_rows_must_stop(struct casestore_rows *q, long long now)
{
	struct casestore *cs = q->cs;

	if (cs->timeout_ns > 0 && q->spent + (q->started ? now - q->started : 0) > cs->timeout_ns) {
		q->timed_out = true;
		return true;
	}
	if (cs->tick != NULL && now - cs->last_tick >= CASESTORE_TICK_NS) {
		cs->last_tick = now;
		if (cs->tick(cs->tick_arg)) {
			q->stopped = true;
			return true;
		}
	}
	return false;
}

/* SQLite's progress handler: a nonzero return interrupts the step in progress. */
static int
casestore_progress(void *arg)
{
	struct casestore *cs = arg;

	if (cs->stepping == NULL)
		return 0;
	return casestore_rows_must_stop(cs->stepping, casestore_monotonic()) ? 1 : 0;
}

/* Set how long the steps of one query may take in all (seconds; 0 no limit). */
void
casestore_set_timeout(struct casestore *cs, double seconds)
{
	cs->timeout_ns = seconds > 0 ? (long long)(seconds * 1e9) : 0;
}

/* Set the function asked every few milliseconds while a query runs (NULL: none). */
void
casestore_set_tick(struct casestore *cs, casestore_tick_fn tick, void *arg)
{
	cs->tick = tick;
	cs->tick_arg = arg;
	cs->last_tick = casestore_monotonic();
}

/* Start reading the rows of a rule query. */
struct casestore_rows *
casestore_query(struct casestore *cs, const char *sql, char **cause)
{
	struct casestore_rows *q;
	sqlite3_stmt *st = casestore_prepare(cs, sql, cause);

	if (st == NULL)
		return NULL;
	q = xcalloc(1, sizeof *q);
	q->cs = cs;
	q->st = st;
	/* Idempotent; here rather than at open, so the limit holds whoever opened the file. */
	sqlite3_progress_handler(cs->db, CASESTORE_PROGRESS_OPS, casestore_progress, cs);
	return q;
}

/* The number of columns the query returns. */
size_t
casestore_rows_ncolumns(const struct casestore_rows *q)
{
	return (size_t)sqlite3_column_count(q->st);
}

/* Step to the next row, within the time limit. */
int
casestore_rows_next(struct casestore_rows *q, char **cause)
{
	struct casestore *cs = q->cs;
	long long now = casestore_monotonic();
	int rc;

	/* Checked here too: a query of many short steps never reaches the progress handler. */
	q->started = 0;
	if (q->timed_out || q->stopped || casestore_rows_must_stop(q, now))
		rc = SQLITE_INTERRUPT;
	else {
		q->started = now;
		cs->stepping = q;
		rc = sqlite3_step(q->st);
		cs->stepping = NULL;
		q->spent += casestore_monotonic() - q->started;
		q->started = 0;
	}
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (q->stopped)
		return -2;
	if (q->timed_out)
		*cause =
		    xasprintf("the query ran longer than query_timeout (%.3g s) and was stopped",
		              (double)cs->timeout_ns / 1e9);
	else
		*cause = xstrdup(sqlite3_errmsg(cs->db));
	return -1;
}

/* Did the query stop because its steps took longer than the time limit? */
bool
casestore_rows_timed_out(const struct casestore_rows *q)
{
	return q->timed_out;
}

/* Time spent inside the query's steps so far, in seconds. */
double
casestore_rows_seconds(const struct casestore_rows *q)
{
	return (double)q->spent / 1e9;
}

/* Column i of the current row as text. */
const char *
casestore_rows_text(struct casestore_rows *q, size_t i)
{
	return (const char *)sqlite3_column_text(q->st, (int)i);
}

/* Column i of the current row as a number, if it is one. */
bool
casestore_rows_number(struct casestore_rows *q, size_t i, double *value)
{
	int type = sqlite3_column_type(q->st, (int)i);

	if (type != SQLITE_INTEGER && type != SQLITE_FLOAT)
		return false;
	*value = sqlite3_column_double(q->st, (int)i);
	return true;
}

/* Stop reading and free q. */
void
casestore_rows_free(struct casestore_rows *q)
{
	if (q == NULL)
		return;
	sqlite3_finalize(q->st);
	free(q);
}
