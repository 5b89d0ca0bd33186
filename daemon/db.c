/*
 * db.c - the connection-level calls of db.h for both engines, and the
 * statement wrapper on SQLite. PostgreSQL's side is db_pg.c.
 */
#include "db.h"

#include <stdlib.h>

#include "db_pg.h"
#include "xalloc.h"

struct db *
db_sqlite(sqlite3 *handle)
{
	struct db *db = xcalloc(1, sizeof *db);

	db->lite = handle;
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->lite)
		sqlite3_close(db->lite);
	if (db->pg)
		db_pg_close(db->pg);
	free(db);
}

static int
db_prepare_flags(struct db *db, const char *sql, struct dbstmt **out, unsigned flags)
{
	struct dbstmt *st = xcalloc(1, sizeof *st);
	int rc;

	if (db->lite)
		rc = sqlite3_prepare_v3(db->lite, sql, -1, flags, &st->lite, NULL);
	else
		rc = db_pg_prepare(db, sql, st, flags != 0);
	if (rc != DB_OK || (db->lite && st->lite == NULL)) {
		if (db->lite)
			sqlite3_finalize(st->lite);
		free(st);
		*out = NULL;
		return DB_ERROR;
	}
	*out = st;
	return DB_OK;
}

int
db_prepare(struct db *db, const char *sql, struct dbstmt **st)
{
	return db_prepare_flags(db, sql, st, 0);
}

int
db_prepare_kept(struct db *db, const char *sql, struct dbstmt **st)
{
	return db_prepare_flags(db, sql, st, SQLITE_PREPARE_PERSISTENT);
}

void
db_finalize(struct dbstmt *st)
{
	if (st == NULL)
		return;
	if (st->lite)
		sqlite3_finalize(st->lite);
	else
		db_pg_finalize(st);
	free(st);
}

int
db_exec(struct db *db, const char *sql, char **err)
{
	char *msg = NULL;

	if (db->pg)
		return db_pg_exec(db, sql, err);
	if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) == SQLITE_OK)
		return DB_OK;
	if (err != NULL)
		*err = xstrdup(msg ? msg : sqlite3_errmsg(db->lite));
	sqlite3_free(msg);
	return DB_ERROR;
}

const char *
db_errmsg(struct db *db)
{
	return db->lite ? sqlite3_errmsg(db->lite) : db_pg_errmsg(db);
}

long long
db_changes(struct db *db)
{
	return db->lite ? sqlite3_changes64(db->lite) : db_pg_changes(db);
}

bool
db_in_transaction(struct db *db)
{
	return db->lite ? !sqlite3_get_autocommit(db->lite) : db_pg_in_transaction(db);
}

bool
db_transaction_failed(struct db *db)
{
	return db->pg != NULL && db_pg_transaction_failed(db);
}

long long
db_stmt_changes(struct dbstmt *st)
{
	return st->lite ? sqlite3_changes64(sqlite3_db_handle(st->lite)) : db_pg_stmt_changes(st);
}
