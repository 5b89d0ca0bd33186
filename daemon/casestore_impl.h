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

struct casestore {
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

#endif
