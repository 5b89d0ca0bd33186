/*
 * db_pg.h - PostgreSQL's side of db.h (db_pg.c), and what the two PostgreSQL
 * stores (the case store, the state store) share about connecting.
 */
#ifndef ESCALATOR_DB_PG_H
#define ESCALATOR_DB_PG_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct db_pg;
struct dbstmt;

/* Is s a PostgreSQL connection URL ("postgresql://" or "postgres://") rather than a file? */
bool db_pg_is_url(const char *s);

/*
 * Connect with libpq for what ("case_store", "state": the setting, in
 * messages) to to ("the case store"): a password in the URL is refused (libpq
 * reads it from the passfile= the URL names), and a failure is said in words.
 * Returns the PGconn, with *shown the URL as messages name it (free), or NULL
 * with *cause set.
 */
void *db_pg_open_conn(const char *url, const char *what, const char *to, char **shown,
                      char **cause);
/*
 * Where what starts at sql[i] ends, when it is a string literal, a quoted
 * name, or a comment (nothing in it is SQL to translate); i if it is none.
 */
size_t db_pg_skip(const char *sql, size_t i, size_t n);
/* libpq's message's first line, without "ERROR:  " (free). */
char *db_pg_message(const char *msg);
/* How messages name the database of a db on PostgreSQL, and its PGconn. */
const char *db_pg_shown(const struct db *db);
void *db_pg_conn(const struct db *db);

/* Connect again after the connection broke (a new session); 0, or -1 with *cause. */
int db_pg_reconnect(struct db *db, char **cause);
/* Is the connection up (as far as libpq knows)? */
bool db_pg_connected(struct db *db);

/* Called by db.c and db.h's inline calls when the db is on PostgreSQL. */
void db_pg_close(struct db_pg *pg);
int db_pg_prepare(struct db *db, const char *sql, struct dbstmt *st, bool kept);
int db_pg_exec(struct db *db, const char *sql, char **err);
const char *db_pg_errmsg(struct db *db);
long long db_pg_changes(struct db *db);
bool db_pg_in_transaction(struct db *db);
bool db_pg_transaction_failed(struct db *db);
long long db_pg_stmt_changes(struct dbstmt *st);

#endif
