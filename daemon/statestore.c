/*
 * statestore.c - escalator's own SQLite file: opening it, its schema and the
 * upgrades of older files, transactions (nested as savepoints), closing it.
 * What is kept in it: alertstore.c (alerts owed, stages, threshold keys) and
 * queue.c (the deliveries waiting to be sent, their results and audit rows);
 * retention.c removes what is older than the retention setting.
 */
#include "statestore.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db_pg.h"
#include "leader.h"
#include "statestore_impl.h"
#include "xalloc.h"

#define STATESTORE_SCHEMA_VERSION 3

/*
 * The delivery table's columns. recipient is an email address (email), or the
 * name of the contact (webhook, teams, slack, notify: their URLs and keys are
 * credentials, looked up in the configuration when sending). A row is one of:
 *   - an alert's delivery to one recipient (alert_id set): 'pending' when it
 *     goes on its own, 'held' until next_attempt when it waits for a digest,
 *     then 'bundled' into the digest digest_id, and 'sent' or 'failed' with it;
 *     copied (the label of the skipped stage) and copied_on (its date) when
 *     the recipient is told late because escalator first saw the clock after
 *     their stage;
 *   - a closed clock's note to someone who was told about it (closed_id set):
 *     'held', 'bundled', then 'sent' or 'failed' with its digest;
 *   - a digest (alert_id and closed_id NULL, part and parts set): the one
 *     outbox delivery its bundled rows travel in, 'pending' until 'sent' or
 *     'failed'.
 */
#define STATESTORE_DELIVERY_COLUMNS                                                                \
	"  id INTEGER PRIMARY KEY,"                                                                \
	"  alert_id INTEGER REFERENCES alert(id),"                                                 \
	"  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'teams', 'slack', 'notify')),"   \
	"  recipient TEXT NOT NULL,"                                                               \
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('held', 'pending', "           \
	"'bundled', 'sent', 'failed')),"                                                           \
	"  attempts INTEGER NOT NULL DEFAULT 0,"                                                   \
	"  next_attempt INTEGER NOT NULL DEFAULT 0," /* unix seconds; 0: now */                    \
	"  in_flight INTEGER NOT NULL DEFAULT 0,"                                                  \
	"  last_error TEXT,"                                                                       \
	"  sent_at TEXT,"                                                                          \
	"  last_attempt TEXT," /* UTC time the last attempt's result was recorded */               \
	"  digest_id INTEGER REFERENCES delivery(id),"                                             \
	"  closed_id INTEGER REFERENCES closed_clock(id),"                                         \
	"  copied TEXT, copied_on TEXT,"                                                           \
	"  part INTEGER, parts INTEGER,"                                                           \
	"  queued_at INTEGER" /* unix seconds it was recorded: the outbox's age */

/*
 * Schema version 2. Times are UTC "YYYY-MM-DDTHH:MM:SSZ"; dates are local
 * "YYYY-MM-DD". Version 2 added digests and closed clocks: the delivery
 * columns above from digest_id on, alert.label, alert.case_url,
 * alert.urgency, and the closed_clock table. Version 3 added answers (the
 * response table) and delivery.queued_at.
 */
static const char statestore_schema[] =
    "CREATE TABLE IF NOT EXISTS clock_stage ("
    "  rule TEXT NOT NULL, case_ref TEXT NOT NULL, start TEXT NOT NULL, stage TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('alerted', 'skipped')),"
    "  alert_id INTEGER REFERENCES alert(id),"
    "  recorded_at TEXT NOT NULL,"
    "  PRIMARY KEY (rule, case_ref, start, stage)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS alert ("
    "  id INTEGER PRIMARY KEY,"
    "  rule TEXT NOT NULL, title TEXT NOT NULL, case_ref TEXT NOT NULL, start TEXT NOT NULL,"
    "  stage TEXT NOT NULL, due TEXT NOT NULL, fires TEXT NOT NULL,"
    "  days_late INTEGER NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, fields TEXT,"
    "  created_at TEXT NOT NULL, expected TEXT, status TEXT, label TEXT, case_url TEXT,"
    "  urgency TEXT);"
    /*
     * A clock that was alerted and then left its rule's rows (the review held):
     * closed_on is the local date it was first seen gone, days_late how many
     * working days after due that was (0: in time). reopened_on is set when its
     * row came back (the extract was wrong); closing again clears it.
     */
    "CREATE TABLE IF NOT EXISTS closed_clock ("
    "  id INTEGER PRIMARY KEY,"
    "  rule TEXT NOT NULL, case_ref TEXT NOT NULL, start TEXT NOT NULL, title TEXT,"
    "  due TEXT, last_stage TEXT, label TEXT, closed_on TEXT NOT NULL,"
    "  days_late INTEGER NOT NULL, recorded_at TEXT NOT NULL, reopened_on TEXT,"
    "  UNIQUE (rule, case_ref, start));"
    "CREATE TABLE IF NOT EXISTS delivery (" STATESTORE_DELIVERY_COLUMNS ");"
    "CREATE TABLE IF NOT EXISTS threshold_state ("
    "  rule TEXT NOT NULL, key TEXT NOT NULL, since TEXT NOT NULL, pass INTEGER NOT NULL,"
    "  PRIMARY KEY (rule, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(6))));"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES delivery(id),"
    "  at TEXT NOT NULL, recipient TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);"
    /*
     * An answer given through the link of delivery delivery_id (alert_id's
     * delivery to recipient): the clock it is about (kept when the alert and
     * delivery are long gone, for the closed record and the report), what
     * was answered, and amends: the earlier answer from the same link it
     * replaces (both are kept). No foreign keys: retention.c removes answers
     * by their own age.
     */
    "CREATE TABLE IF NOT EXISTS response ("
    "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, alert_id INTEGER,"
    "  rule TEXT NOT NULL, case_ref TEXT NOT NULL, start TEXT NOT NULL, stage TEXT, label TEXT,"
    "  recipient TEXT NOT NULL, name TEXT,"
    "  kind TEXT NOT NULL CHECK (kind IN ('acknowledged', 'agreed', 'disagree')),"
    "  agreed_on TEXT, reason TEXT, note TEXT, answered_at TEXT NOT NULL, amends "
    "INTEGER);" STATESTORE_INDEXES;

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void
statestore_utc_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Set *cause from the database's last error. */
int
statestore_fail(struct statestore *ss, char **cause, const char *what)
{
	*cause = xasprintf("state store: %s: %s", what, db_errmsg(ss->db));
	return -1;
}

/* Column i of st's current row as allocated text, or NULL. */
char *
statestore_col(struct dbstmt *st, int i)
{
	return xstrdup_or_null(db_column_text(st, i));
}

/* Step a statement that returns nothing, then reset it. */
int
statestore_step_done(struct statestore *ss, struct dbstmt *st, char **cause, const char *what)
{
	int rc = db_step(st);

	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : statestore_fail(ss, cause, what);
}

/* Step an INSERT ... RETURNING id: *id the new row's id; then reset it. */
int
statestore_step_id(struct statestore *ss, struct dbstmt *st, long long *id, char **cause,
                   const char *what)
{
	int rc = db_step(st);

	if (rc == DB_ROW) {
		*id = db_column_int64(st, 0);
		rc = db_step(st);
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : statestore_fail(ss, cause, what);
}

/* The handle of statement sql in ss. */
static struct dbstmt **
statestore_handle(struct statestore *ss, const struct statestore_sql *sql)
{
	return (struct dbstmt **)((char *)ss + sql->offset);
}

/* Prepare n statements (those that write only when ss may write), or fail. */
static int
statestore_prepare(struct statestore *ss, const struct statestore_sql *sql, size_t n, char **cause)
{
	for (size_t i = 0; i < n; i++) {
		if (ss->readonly && sql[i].writes)
			continue;
		if (db_prepare_kept(ss->db, sql[i].sql, statestore_handle(ss, &sql[i])) != DB_OK)
			return statestore_fail(ss, cause, "preparing a statement");
	}
	return 0;
}

/* Finalize n statements (those never prepared are NULL: a no-op). */
static void
statestore_finalize(struct statestore *ss, const struct statestore_sql *sql, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_finalize(*statestore_handle(ss, &sql[i]));
}

/* Does the table's CREATE statement (or, with column, its column list) contain what? */
static int
statestore_has(sqlite3 *db, const char *table, const char *column, const char *what)
{
	sqlite3_stmt *st;
	int found = 0;

	if (column == NULL) {
		if (sqlite3_prepare_v2(db,
		                       "SELECT sql FROM sqlite_master WHERE type = 'table' AND "
		                       "name = ?1",
		                       -1, &st, NULL) != SQLITE_OK)
			return -1;
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			found =
			    sqlite3_column_text(st, 0) != NULL &&
			            strstr((const char *)sqlite3_column_text(st, 0), what) != NULL
			        ? 1
			        : 0;
		else
			found = 2; /* no such table yet: it is created as it should be */
	} else {
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
		                       -1, &st, NULL) != SQLITE_OK)
			return -1;
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/*
 * Add the column (TEXT unless column says its type: "queued_at INTEGER") to
 * table, unless the table is not there yet (the schema makes it whole) or
 * already has it. Returns 0, or -1 (*err set by SQLite, or the handle's
 * message).
 */
static int
statestore_add_column(sqlite3 *db, const char *table, const char *column, char **err)
{
	char name[64];

	snprintf(name, sizeof name, "%.*s", (int)strcspn(column, " "), column);
	int table_has = statestore_has(db, table, NULL, "CREATE");
	int has = statestore_has(db, table, name, NULL);
	char *sql;
	int rc;

	if (table_has < 0 || has < 0)
		return -1;
	if (table_has != 1 || has == 1)
		return 0;
	sql = xasprintf("ALTER TABLE %s ADD COLUMN %s%s", table, column,
	                strchr(column, ' ') != NULL ? "" : " TEXT");
	rc = sqlite3_exec(db, sql, NULL, NULL, err);
	free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

/* An upgrade failed: *cause says so (err, else the handle's message), rolled back. Returns -1. */
static int
statestore_upgrade_failed(struct statestore *ss, const char *path, const char *what, char *err,
                          char **cause)
{
	*cause = xasprintf("%s: cannot upgrade the state store%s: %s", path, what,
	                   err ? err : db_errmsg(ss->db));
	sqlite3_free(err);
	if (db_in_transaction(ss->db))
		db_exec(ss->db, "ROLLBACK", NULL);
	return -1;
}

/*
 * Bring a file made by an earlier build of schema version 1 up to date: the
 * delivery kinds of the chat and Notify channels, alert.expected and
 * alert.status (NULL in the alerts recorded before), delivery.last_attempt
 * (NULL in the deliveries finished before). Runs before foreign keys are
 * switched on, as SQLite's table rebuild needs. The indexes retention.c uses
 * are made by the schema's CREATE INDEX IF NOT EXISTS: once, on the first
 * open by this build (a sort of the two tables, seconds for millions of rows).
 */
static int
statestore_upgrade(struct statestore *ss, const char *path, char **cause)
{
	static const char rebuild[] =
	    "BEGIN IMMEDIATE;"
	    "CREATE TABLE delivery_upgrade (" STATESTORE_DELIVERY_COLUMNS ");"
	    "INSERT INTO delivery_upgrade (id, alert_id, kind, recipient, status, attempts, "
	    "  next_attempt, in_flight, last_error, sent_at) SELECT id, alert_id, kind, recipient, "
	    "  status, attempts, next_attempt, in_flight, last_error, sent_at FROM delivery;"
	    "DROP TABLE delivery;"
	    "ALTER TABLE delivery_upgrade RENAME TO delivery;"
	    "COMMIT;";
	char *err = NULL;
	int kinds = statestore_has(ss->db->lite, "delivery", NULL, "'notify'");

	/* The rebuild first: it makes delivery.last_attempt. */
	if (kinds < 0 ||
	    (kinds == 0 && sqlite3_exec(ss->db->lite, rebuild, NULL, NULL, &err) != SQLITE_OK) ||
	    statestore_add_column(ss->db->lite, "alert", "expected", &err) != 0 ||
	    statestore_add_column(ss->db->lite, "alert", "status", &err) != 0 ||
	    statestore_add_column(ss->db->lite, "delivery", "last_attempt", &err) != 0)
		return statestore_upgrade_failed(ss, path, "", err, cause);
	return 0;
}

/*
 * Bring a version 1 file to version 2: the delivery table rebuilt with the
 * digest columns (and alert_id free to be NULL), the alert's label, case_url
 * and urgency (NULL in alerts recorded before: read as the stage's name and
 * "overdue"). One transaction; the new tables and indexes are made by the
 * schema that follows.
 */
static int
statestore_upgrade_v2(struct statestore *ss, const char *path, char **cause)
{
	static const char rebuild[] =
	    "CREATE TABLE delivery_upgrade (" STATESTORE_DELIVERY_COLUMNS ");"
	    "INSERT INTO delivery_upgrade (id, alert_id, kind, recipient, status, attempts, "
	    "  next_attempt, in_flight, last_error, sent_at, last_attempt) SELECT id, alert_id, "
	    "  kind, recipient, status, attempts, next_attempt, in_flight, last_error, sent_at, "
	    "  last_attempt FROM delivery;"
	    "DROP TABLE delivery;"
	    "ALTER TABLE delivery_upgrade RENAME TO delivery;";
	char *err = NULL;
	int has = statestore_has(ss->db->lite, "delivery", "digest_id", NULL);

	if (has < 0 ||
	    sqlite3_exec(ss->db->lite, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK ||
	    (has == 0 && sqlite3_exec(ss->db->lite, rebuild, NULL, NULL, &err) != SQLITE_OK) ||
	    statestore_add_column(ss->db->lite, "alert", "label", &err) != 0 ||
	    statestore_add_column(ss->db->lite, "alert", "case_url", &err) != 0 ||
	    statestore_add_column(ss->db->lite, "alert", "urgency", &err) != 0 ||
	    sqlite3_exec(ss->db->lite, "COMMIT", NULL, NULL, &err) != SQLITE_OK)
		return statestore_upgrade_failed(ss, path, " to version 2", err, cause);
	return 0;
}

/* Bring a version 2 file to version 3: delivery.queued_at (NULL in deliveries recorded before). */
static int
statestore_upgrade_v3(struct statestore *ss, const char *path, char **cause)
{
	char *err = NULL;

	if (statestore_add_column(ss->db->lite, "delivery", "queued_at INTEGER", &err) != 0)
		return statestore_upgrade_failed(ss, path, " to version 3", err, cause);
	return 0;
}

/*
 * What a read-only open of path asks SQLite for: the path itself, or, when
 * there is no -wal file (or an empty one), a "file:" URI with immutable=1.
 * With no -wal the service is not running (it keeps one open while it runs)
 * and the file holds every committed change; immutable, SQLite creates no
 * -wal or -shm file, which a read-only command run as root would leave owned
 * by root, and the service, as its own user, could then not open its store.
 * Allocated.
 */
static char *
statestore_readonly_name(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *wal = xasprintf("%s-wal", path), *uri, *q;
	struct stat sb;
	bool quiet = stat(wal, &sb) != 0 || sb.st_size == 0;

	free(wal);
	if (!quiet)
		return xstrdup(path);
	q = uri = xmalloc(5 + 3 * strlen(path) + sizeof "?immutable=1");
	q += sprintf(q, "file:");
	while (path[0] == '/' && path[1] == '/')
		path++; /* ("file://x" would name a host) */
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._~-", *p) != NULL)
			*q++ = (char)*p;
		else
			q += sprintf(q, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	strcpy(q, "?immutable=1");
	return uri;
}

/* Open (creating if missing) the state store. */
struct statestore *
statestore_open(const char *path, bool readonly, char **cause)
{
	struct statestore *ss;
	struct stat sb;
	char *err = NULL, *name;
	int flags, version = 0, opened;
	sqlite3_stmt *st;
	sqlite3 *h = NULL;

	if (db_pg_is_url(path))
		return statestore_pg_open(path, readonly, cause);
	ss = xcalloc(1, sizeof *ss);
	ss->readonly = readonly;
	if (readonly && stat(path, &sb) != 0 && errno == ENOENT)
		return ss;
	flags = readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
	                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	name = readonly ? statestore_readonly_name(path) : xstrdup(path);
	opened = sqlite3_open_v2(name, &h, flags | SQLITE_OPEN_NOMUTEX, NULL);
	free(name);
	ss->db = db_sqlite(h);
	if (opened != SQLITE_OK) {
		*cause = xasprintf("%s: cannot open the state store: %s", path,
		                   h ? sqlite3_errmsg(h) : "out of memory");
		statestore_close(ss);
		return NULL;
	}
	sqlite3_busy_timeout(h, 10000);
	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		*cause = xasprintf("%s: cannot read the state store: %s", path, sqlite3_errmsg(h));
		sqlite3_finalize(st);
		statestore_close(ss);
		return NULL;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > STATESTORE_SCHEMA_VERSION) {
		*cause = xasprintf("%s: the state store has schema version %d, newer than this "
		                   "escalatord understands (%d); upgrade escalatord",
		                   path, version, STATESTORE_SCHEMA_VERSION);
		statestore_close(ss);
		return NULL;
	}
	if (readonly && version > 0 && version < STATESTORE_SCHEMA_VERSION) {
		*cause = xasprintf("%s: the state store was made by an older escalatord (schema "
		                   "version %d); start the service once (or run --once) to upgrade "
		                   "it, then try again",
		                   path, version);
		statestore_close(ss);
		return NULL;
	}
	if (!readonly && version == 1 &&
	    (statestore_upgrade(ss, path, cause) != 0 ||
	     statestore_upgrade_v2(ss, path, cause) != 0)) {
		statestore_close(ss);
		return NULL;
	}
	if (!readonly && version >= 1 && version < 3 &&
	    statestore_upgrade_v3(ss, path, cause) != 0) {
		statestore_close(ss);
		return NULL;
	}
	/*
	 * A new file gives the pages retention.c frees back to the file system
	 * (in small steps: retention.c): only possible before its first table.
	 * An older file keeps auto_vacuum off: its freed pages are reused, so it
	 * stops growing, but it never shrinks (retention_reclaims says so).
	 */
	if (!readonly && version == 0 &&
	    sqlite3_exec(h, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, &err) != SQLITE_OK) {
		*cause = xasprintf("%s: cannot set up the state store: %s", path,
		                   err ? err : sqlite3_errmsg(h));
		sqlite3_free(err);
		statestore_close(ss);
		return NULL;
	}
	if (!readonly) {
		char *sql = xasprintf("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		                      "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE; %s "
		                      "PRAGMA user_version = %d; COMMIT;",
		                      statestore_schema, STATESTORE_SCHEMA_VERSION);
		int rc = sqlite3_exec(h, sql, NULL, NULL, &err);

		free(sql);
		if (rc != SQLITE_OK) {
			*cause = xasprintf("%s: cannot set up the state store: %s", path,
			                   err ? err : sqlite3_errmsg(h));
			sqlite3_free(err);
			statestore_close(ss);
			return NULL;
		}
	} else if (version == 0) {
		/* An existing but empty file: nothing recorded yet. */
		db_close(ss->db);
		ss->db = NULL;
		return ss;
	}
	if (statestore_ready(ss, cause) != 0) {
		statestore_close(ss);
		return NULL;
	}
	return ss;
}

/* Prepare the statements every file keeps, and read the store's own id (meta.instance). */
int
statestore_ready(struct statestore *ss, char **cause)
{
	struct dbstmt *st;

	if (statestore_prepare(ss, alertstore_statements, alertstore_nstatements, cause) != 0 ||
	    statestore_prepare(ss, queue_statements, queue_nstatements, cause) != 0 ||
	    statestore_prepare(ss, bundle_statements, bundle_nstatements, cause) != 0 ||
	    statestore_prepare(ss, closing_statements, closing_nstatements, cause) != 0 ||
	    statestore_prepare(ss, answers_statements, answers_nstatements, cause) != 0)
		return -1;
	if (db_prepare(ss->db, "SELECT value FROM meta WHERE key = 'instance'", &st) == DB_OK) {
		if (db_step(st) == DB_ROW)
			snprintf(ss->instance, sizeof ss->instance, "%s", db_column_text(st, 0));
		db_finalize(st);
	}
	return 0;
}

/* Close the state store. */
void
statestore_close(struct statestore *ss)
{
	if (ss == NULL)
		return;
	statestore_finalize(ss, alertstore_statements, alertstore_nstatements);
	statestore_finalize(ss, queue_statements, queue_nstatements);
	statestore_finalize(ss, bundle_statements, bundle_nstatements);
	statestore_finalize(ss, closing_statements, closing_nstatements);
	statestore_finalize(ss, answers_statements, answers_nstatements);
	db_finalize(ss->q_fence);
	db_close(ss->db);
	free(ss);
}

/* Does this store record anything? */
bool
statestore_records(const struct statestore *ss)
{
	return ss->db != NULL && !ss->readonly;
}

/* Run one transaction-control statement, even on a read-only store. */
static int
statestore_tx_exec(struct statestore *ss, const char *sql, char **cause)
{
	if (db_exec(ss->db, sql, NULL) != DB_OK)
		return statestore_fail(ss, cause, sql);
	return 0;
}

/* SQLite: a writer takes the write lock at once (no deadlock upgrading later). */
const char *
statestore_begin_sql(const struct statestore *ss)
{
	if (db_is_pg(ss->db))
		return ss->readonly ? "BEGIN READ ONLY" : "BEGIN";
	return ss->readonly ? "BEGIN" : "BEGIN IMMEDIATE";
}

/*
 * Start a transaction. They nest: the outermost is a real one, an inner one a
 * savepoint, so a caller can make what would be several commits (an fsync
 * each) one. A read-only store (a dry run) reads in one transaction too: one
 * snapshot for the pass, not a lock and a WAL-index look-up for every clock.
 */
int
statestore_begin(struct statestore *ss, char **cause)
{
	if (ss->db == NULL)
		return 0;
	if (ss->depth > 0) {
		if (statestore_tx_exec(ss, "SAVEPOINT nest", cause) != 0)
			return -1;
	} else if (statestore_tx_exec(ss, statestore_begin_sql(ss), cause) != 0)
		return -1;
	else if (ss->fenced && !ss->readonly && leader_fence(ss, cause) != 0) {
		db_exec(ss->db, "ROLLBACK", NULL);
		return -1;
	}
	ss->depth++;
	return 0;
}

/* Commit the innermost transaction (the outermost: to the file). */
int
statestore_commit(struct statestore *ss, char **cause)
{
	if (ss->db == NULL || ss->depth == 0)
		return 0;
	/* On failure the caller rolls back, which unwinds this level. */
	if (!db_in_transaction(ss->db) || db_transaction_failed(ss->db)) {
		/*
		 * SQLite rolled it all back after an error, or PostgreSQL's
		 * transaction failed (its COMMIT would roll back): nothing is recorded.
		 */
		*cause = xstrdup("the state store transaction was rolled back after an error");
		return -1;
	}
	if (statestore_tx_exec(ss, ss->depth > 1 ? "RELEASE nest" : "COMMIT", cause) != 0)
		return -1;
	ss->depth--;
	return 0;
}

/* Abandon the innermost transaction (also after its commit failed). */
void
statestore_rollback(struct statestore *ss)
{
	if (ss->db == NULL || ss->depth == 0)
		return;
	if (ss->depth > 1 && db_in_transaction(ss->db))
		db_exec(ss->db, "ROLLBACK TO nest; RELEASE nest", NULL);
	else if (db_in_transaction(ss->db))
		db_exec(ss->db, "ROLLBACK", NULL);
	ss->depth--;
}

/*
 * Let the commits that follow skip their fsync (synchronous = NORMAL), or
 * sync again (FULL). Only between transactions; elsewhere (and on a read-only
 * store) it does nothing. In WAL mode the next FULL commit or checkpoint
 * syncs whatever the relaxed ones wrote before it.
 */
int
statestore_relaxed(struct statestore *ss, bool relaxed, char **cause)
{
	if (ss->db == NULL || ss->readonly || ss->depth > 0)
		return 0;
	if (db_is_pg(ss->db)) /* the same promise: a commit returns before its WAL is flushed */
		return statestore_tx_exec(
		    ss, relaxed ? "SET synchronous_commit = off" : "SET synchronous_commit = on",
		    cause);
	return statestore_tx_exec(
	    ss, relaxed ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", cause);
}
