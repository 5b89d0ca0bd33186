/*
 * db.h - one SQL connection for the state store, on SQLite or on PostgreSQL,
 * with SQLite's own calling convention: prepare, bind, step through the rows,
 * reset. The state store's files write their statements once, in SQL both
 * engines run (numbered parameters ?1..?N, ON CONFLICT, RETURNING), and call
 * these instead of sqlite3_* so the same code keeps its promises on either.
 *
 * On SQLite each call is the sqlite3 call itself (inline, no copy). On
 * PostgreSQL (db_pg.c) a statement is prepared on the server the first time it
 * runs; db_step sends it with the values bound (as text) and then walks the
 * rows of its result.
 */
#ifndef ESCALATOR_DB_H
#define ESCALATOR_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* Step results and return codes: SQLite's own values. */
enum {
	DB_OK = SQLITE_OK,
	DB_ERROR = SQLITE_ERROR,
	DB_ROW = SQLITE_ROW,
	DB_DONE = SQLITE_DONE,
};

/* Text bound with DB_STATIC must stay as it is until the statement is reset. */
#define DB_STATIC SQLITE_STATIC
#define DB_TRANSIENT SQLITE_TRANSIENT

struct db_pg;     /* db_pg.c */
struct db_pgstmt; /* db_pg.c */

struct db {
	sqlite3 *lite; /* one of these two */
	struct db_pg *pg;
};

struct dbstmt {
	sqlite3_stmt *lite; /* one of these two */
	struct db_pgstmt *pg;
};

/* A db over an open SQLite handle (the db then owns it: db_close closes it). */
struct db *db_sqlite(sqlite3 *handle);
/*
 * Connect to PostgreSQL at url (a libpq URL) for the setting what ("state").
 * NULL with *cause set (in words) if it fails, or if this build has no libpq.
 */
struct db *db_pg_connect(const char *url, const char *what, char **cause);
/* Close the connection and free db (NULL is fine). Statements must be finalized first. */
void db_close(struct db *db);

/* Compile sql; DB_OK with *st set, or DB_ERROR (db_errmsg says why). */
int db_prepare(struct db *db, const char *sql, struct dbstmt **st);
/* The same for a statement kept prepared for the connection's life. */
int db_prepare_kept(struct db *db, const char *sql, struct dbstmt **st);
/* Free the statement (NULL is fine). */
void db_finalize(struct dbstmt *st);
/* Run statements that return nothing; on error, DB_ERROR with *err (free) if err is not NULL. */
int db_exec(struct db *db, const char *sql, char **err);
/* The last error's message. */
const char *db_errmsg(struct db *db);
/* Rows the last INSERT, UPDATE or DELETE changed. */
long long db_changes(struct db *db);
/* Is a transaction open? */
bool db_in_transaction(struct db *db);
/* Has a statement failed inside the open transaction, so that it can only roll back (PostgreSQL)?
 */
bool db_transaction_failed(struct db *db);
/* Rows the statement's last run changed. */
long long db_stmt_changes(struct dbstmt *st);

/* Which engine (for messages and engine-specific statements). */
static inline bool
db_is_pg(const struct db *db)
{
	return db->pg != NULL;
}

int db_pg_step(struct dbstmt *st);
int db_pg_reset(struct dbstmt *st);
void db_pg_clear_bindings(struct dbstmt *st);
void db_pg_finalize(struct dbstmt *st);
int db_pg_bind(struct dbstmt *st, int i, const char *text, int n);
const char *db_pg_column_text(struct dbstmt *st, int i);
bool db_pg_column_null(struct dbstmt *st, int i);
int db_pg_parameter_count(struct dbstmt *st);

/* Run the statement: DB_ROW for each row, then DB_DONE, or DB_ERROR. */
static inline int
db_step(struct dbstmt *st)
{
	return st->lite ? sqlite3_step(st->lite) : db_pg_step(st);
}

/* Make the statement ready to run again (its bindings stay). */
static inline int
db_reset(struct dbstmt *st)
{
	return st->lite ? sqlite3_reset(st->lite) : db_pg_reset(st);
}

static inline void
db_clear_bindings(struct dbstmt *st)
{
	if (st->lite)
		sqlite3_clear_bindings(st->lite);
	else
		db_pg_clear_bindings(st);
}

/* Bind parameter i (from 1): text (n bytes, or to its NUL if n < 0), integers, NULL. */
static inline int
db_bind_text(struct dbstmt *st, int i, const char *s, int n, void (*keep)(void *))
{
	return st->lite ? sqlite3_bind_text(st->lite, i, s, n, keep) : db_pg_bind(st, i, s, n);
}

int db_pg_bind_int64(struct dbstmt *st, int i, long long v);

static inline int
db_bind_int64(struct dbstmt *st, int i, long long v)
{
	return st->lite ? sqlite3_bind_int64(st->lite, i, v) : db_pg_bind_int64(st, i, v);
}

static inline int
db_bind_int(struct dbstmt *st, int i, int v)
{
	return db_bind_int64(st, i, v);
}

static inline int
db_bind_null(struct dbstmt *st, int i)
{
	return st->lite ? sqlite3_bind_null(st->lite, i) : db_pg_bind(st, i, NULL, 0);
}

/* How many parameters the statement takes. */
static inline int
db_bind_parameter_count(struct dbstmt *st)
{
	return st->lite ? sqlite3_bind_parameter_count(st->lite) : db_pg_parameter_count(st);
}

/* Column i (from 0) of the current row: text (NULL for NULL), integer (0 for NULL). */
static inline const char *
db_column_text(struct dbstmt *st, int i)
{
	return st->lite ? (const char *)sqlite3_column_text(st->lite, i) : db_pg_column_text(st, i);
}

long long db_pg_column_int64(struct dbstmt *st, int i);

static inline long long
db_column_int64(struct dbstmt *st, int i)
{
	return st->lite ? sqlite3_column_int64(st->lite, i) : db_pg_column_int64(st, i);
}

static inline int
db_column_int(struct dbstmt *st, int i)
{
	return (int)db_column_int64(st, i);
}

static inline bool
db_column_null(struct dbstmt *st, int i)
{
	return st->lite ? sqlite3_column_type(st->lite, i) == SQLITE_NULL
	                : db_pg_column_null(st, i);
}

#endif
