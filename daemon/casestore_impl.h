/*
 * casestore_impl.h - the case store's insides, shared by the two files that
 * work on it (casestore.c: opening, the authorizer, change detection;
 * caserows.c: the row cursor and the time limits of a query) and nothing else.
 */
#ifndef ESCALATOR_CASESTORE_IMPL_H
#define ESCALATOR_CASESTORE_IMPL_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <sqlite3.h>

#include "casestore.h"
#include "date.h"

/* What stat says of a file, to notice a change SQLite cannot see. */
struct casestore_stamp {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct casestore_pg;     /* casestore_pg.c: a PostgreSQL case store's connection */
struct casestore_pgrows; /* casestore_pg.c: one query's rows there */

struct casestore {
	struct casestore_pg *pg; /* non-NULL: on PostgreSQL (db is then NULL) */
	char *change_query;      /* casestore_set_change_query, or NULL */
	char *change_token;      /* its last value ("" for none), NULL before the first run */
	sqlite3 *db;
	char *path;
	bool restricted; /* while compiling rule queries: reads only */
	long long data_version;
	dev_t dev;
	ino_t ino;
	/*
	 * Opened immutable (a WAL-mode file in a directory this service cannot write):
	 * SQLite then sees no change, so the file and its -wal are watched by stat.
	 */
	bool immutable;
	struct casestore_stamp file, wal;
	char today[DATE_STRLEN];   /* :today in rule queries (casestore_set_clock), "" unset */
	char now[DATETIME_STRLEN]; /* :now, "YYYY-MM-DD HH:MM:SS" */
	int denied;                /* the first action the authorizer refused */
	bool schema_write;         /* it refused a write to the schema table (CREATE, DROP) */

	/* caserows.c: the time limits of a pass (casestore_set_timeout, casestore_set_tick). */
	long long timeout_ns;   /* a query's steps may take this long in all; 0 no limit */
	casestore_tick_fn tick; /* asked now and then while a query runs: stop? */
	void *tick_arg;
	long long last_tick;             /* monotonic ns of the last call of tick */
	struct casestore_rows *stepping; /* the query inside sqlite3_step, if any */
};

/*
 * Prepare a rule query: one statement, reads only (the authorizer and
 * sqlite3_stmt_readonly). Returns NULL with *cause set if it is refused.
 */
sqlite3_stmt *casestore_prepare(struct casestore *cs, const char *sql, char **cause);

/* Why a rule query is refused, worded once for both engines. */
#define CASESTORE_NOT_ONE_STATEMENT                                                                \
	"the query must be exactly one SQL statement; remove what follows the first ';'"
#define CASESTORE_NOT_A_READ "the query may only read: it must be a SELECT that returns rows"
/* The query names a parameter other than :today and :now (name: len bytes). */
char *casestore_param_cause(const char *name, int len);

/*
 * casestore_pg.c: the same operations on PostgreSQL (case_store = "postgresql://...").
 * casestore.c and caserows.c hand each call to these when cs->pg is set.
 */
struct casestore *casestore_pg_open(const char *url, char **cause);
void casestore_pg_close(struct casestore *cs);
int casestore_pg_compile(struct casestore *cs, const char *sql, char ***columns, size_t *n,
                         char **cause);
int casestore_pg_read_begin(struct casestore *cs, char **cause);
void casestore_pg_read_end(struct casestore *cs);
struct casestore_pgrows *casestore_pg_query(struct casestore *cs, const char *sql, char **cause);
size_t casestore_pg_ncolumns(const struct casestore_pgrows *q);
const char *casestore_pg_column_name(const struct casestore_pgrows *q, size_t i);
int casestore_pg_next(struct casestore_pgrows *q, char **cause);
void casestore_pg_set_async(struct casestore *cs, bool on);
int casestore_pg_wait_fd(const struct casestore *cs);
/* Column i of the current row (NULL for SQL NULL) and its length in bytes. */
const char *casestore_pg_value(struct casestore_pgrows *q, size_t i, size_t *len);
bool casestore_pg_number(struct casestore_pgrows *q, size_t i, double *value);
bool casestore_pg_timed_out(const struct casestore_pgrows *q);
double casestore_pg_seconds(const struct casestore_pgrows *q);
void casestore_pg_rows_free(struct casestore_pgrows *q);

#endif
