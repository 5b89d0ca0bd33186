/* statestore.c - escalator's own SQLite file: stages alerted, outbox, audit. */
#include "statestore.h"

#include <errno.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "xalloc.h"

#define STATESTORE_SCHEMA_VERSION 1

/*
 * The delivery table's columns. recipient is an email address (email), a URL
 * (webhook), or the name of the contact (teams, slack, notify: their URLs and
 * keys are credentials, looked up in the configuration when sending).
 */
#define STATESTORE_DELIVERY_COLUMNS                                                                \
	"  id INTEGER PRIMARY KEY,"                                                                \
	"  alert_id INTEGER NOT NULL REFERENCES alert(id),"                                        \
	"  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'teams', 'slack', 'notify')),"   \
	"  recipient TEXT NOT NULL,"                                                               \
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', "           \
	"'failed')),"                                                                              \
	"  attempts INTEGER NOT NULL DEFAULT 0,"                                                   \
	"  next_attempt INTEGER NOT NULL DEFAULT 0," /* unix seconds; 0: now */                    \
	"  in_flight INTEGER NOT NULL DEFAULT 0,"                                                  \
	"  last_error TEXT,"                                                                       \
	"  sent_at TEXT"

/* Schema version 1. Times are UTC "YYYY-MM-DDTHH:MM:SSZ"; dates are local "YYYY-MM-DD". */
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
    "  created_at TEXT NOT NULL, expected TEXT);"
    "CREATE TABLE IF NOT EXISTS delivery (" STATESTORE_DELIVERY_COLUMNS ");"
    "CREATE INDEX IF NOT EXISTS delivery_pending ON delivery (next_attempt) "
    "  WHERE status = 'pending';"
    "CREATE INDEX IF NOT EXISTS delivery_destination ON delivery (kind, recipient, "
    "  next_attempt) WHERE status = 'pending';"
    "CREATE INDEX IF NOT EXISTS delivery_kind_due ON delivery (kind, next_attempt) "
    "  WHERE status = 'pending';"
    "CREATE TABLE IF NOT EXISTS threshold_state ("
    "  rule TEXT NOT NULL, key TEXT NOT NULL, since TEXT NOT NULL, pass INTEGER NOT NULL,"
    "  PRIMARY KEY (rule, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(6))));"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES delivery(id),"
    "  at TEXT NOT NULL, recipient TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);";

struct statestore {
	sqlite3 *db; /* NULL: an empty read-only store (dry run, no file yet) */
	bool readonly;
	int depth; /* transactions open: the outermost and its savepoints */
	sqlite3_stmt *q_recorded;
	sqlite3_stmt *q_stage;
	sqlite3_stmt *q_alert;
	sqlite3_stmt *q_delivery;
	sqlite3_stmt *q_take_dest;
	sqlite3_stmt *q_take_kind;
	sqlite3_stmt *q_dest_next;
	sqlite3_stmt *q_kind_next;
	sqlite3_stmt *q_dest_stats;
	sqlite3_stmt *q_kind_stats;
	sqlite3_stmt *q_lease;
	sqlite3_stmt *q_finish;
	sqlite3_stmt *q_audit;
	sqlite3_stmt *q_thr_get;
	sqlite3_stmt *q_thr_set;
	sqlite3_stmt *q_thr_clear;
	sqlite3_stmt *q_thr_sweep;
	char instance[32];
};

/* What statestore_take_batch reads of a delivery and its alert. */
#define STATESTORE_ITEM_COLUMNS                                                                    \
	"d.id, d.alert_id, d.attempts, d.kind, d.recipient, a.rule, a.title, a.case_ref, "         \
	"a.stage, "                                                                                \
	"a.start, a.due, a.fires, a.subject, a.body, a.fields, a.days_late, a.expected"

/*
 * Due deliveries of one kind (with DEST: of one recipient too), the LIMIT
 * applied on an index in due order (rowid last) and only those rows joined
 * to alert: a take costs the same with 10 or 100,000 deliveries pending.
 * ?1 now, ?2 how many, ?3 kind, ?4 recipient.
 */
#define STATESTORE_TAKE(DEST)                                                                      \
	"SELECT " STATESTORE_ITEM_COLUMNS " FROM (SELECT id AS pid, next_attempt AS pna FROM "     \
	"delivery WHERE status = 'pending' AND kind = ?3 " DEST "AND next_attempt <= ?1 ORDER BY " \
	"next_attempt, id LIMIT ?2) JOIN delivery d ON d.id = pid JOIN alert a ON a.id = "         \
	"d.alert_id ORDER BY pna, pid"

/*
 * One destination, all on its index: how many are due (up to ?4), the
 * earliest due and the first in due order (for fairness between
 * destinations), the next after now. ?1 kind, ?2 recipient, ?3 now.
 */
#define STATESTORE_PENDING(DEST) "FROM delivery WHERE status = 'pending' AND kind = ?1 " DEST
#define STATESTORE_DUE(DEST) STATESTORE_PENDING(DEST) "AND next_attempt <= ?3"
/* (clang-format would break these lines at the macro calls.) */
/* clang-format off */
#define STATESTORE_STATS(DEST)                                                    \
	"SELECT (SELECT count(*) FROM (SELECT 1 " STATESTORE_DUE(DEST) " LIMIT ?4)), " \
	"(SELECT min(next_attempt) " STATESTORE_DUE(DEST) "), "                       \
	"(SELECT id " STATESTORE_DUE(DEST) " ORDER BY next_attempt, id LIMIT 1), "    \
	"(SELECT min(next_attempt) " STATESTORE_PENDING(DEST) "AND next_attempt > ?3)"
/* clang-format on */

/* The statements a state store keeps prepared; writes: not needed read-only. */
static const struct {
	size_t offset;
	bool writes;
	const char *sql;
} statements[] = {
    {offsetof(struct statestore, q_recorded), false,
     "SELECT stage FROM clock_stage WHERE rule = ?1 AND case_ref = ?2 AND start = ?3"},
    {offsetof(struct statestore, q_stage), true,
     "INSERT OR IGNORE INTO clock_stage (rule, case_ref, start, stage, status, alert_id, "
     "recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    {offsetof(struct statestore, q_alert), true,
     "INSERT INTO alert (rule, title, case_ref, start, stage, due, fires, days_late, subject, "
     "body, fields, created_at, expected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11, "
     "?12, ?9, ?13)"},
    {offsetof(struct statestore, q_delivery), true,
     "INSERT INTO delivery (alert_id, kind, recipient) VALUES (?1, ?2, ?3)"},
    /* ("?4 IS NULL OR recipient = ?4" would keep SQLite off the recipient column.) */
    {offsetof(struct statestore, q_take_dest), true, STATESTORE_TAKE("AND recipient = ?4 ")},
    /* Email all goes through the one mail server: one destination for every address. */
    {offsetof(struct statestore, q_take_kind), true, STATESTORE_TAKE("")},
    /*
     * The destinations with pending deliveries, by a skip scan of
     * delivery_destination: one probe per destination, not one row per
     * delivery. The third column steps over every entry of the previous
     * destination in one seek.
     */
    {offsetof(struct statestore, q_dest_next), false,
     "SELECT kind, recipient FROM delivery WHERE status = 'pending' AND (kind, recipient, "
     "next_attempt) > (?1, ?2, 9223372036854775807) ORDER BY kind, recipient, next_attempt "
     "LIMIT 1"},
    {offsetof(struct statestore, q_kind_next), false,
     "SELECT kind, recipient FROM delivery WHERE status = 'pending' AND kind > ?1 ORDER BY "
     "kind, recipient, next_attempt LIMIT 1"},
    {offsetof(struct statestore, q_dest_stats), false, STATESTORE_STATS("AND recipient = ?2 ")},
    {offsetof(struct statestore, q_kind_stats), false, STATESTORE_STATS("")},
    {offsetof(struct statestore, q_lease), true,
     "UPDATE delivery SET in_flight = 1, attempts = attempts + 1, next_attempt = ?2 WHERE id = "
     "?1"},
    {offsetof(struct statestore, q_finish), true,
     "UPDATE delivery SET in_flight = 0, status = ?2, next_attempt = ?3, last_error = ?4, "
     "sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1"},
    {offsetof(struct statestore, q_thr_get), false,
     "SELECT 1 FROM threshold_state WHERE rule = ?1 AND key = ?2"},
    {offsetof(struct statestore, q_thr_set), true,
     "INSERT INTO threshold_state (rule, key, since, pass) VALUES (?1, ?2, ?4, ?3) ON CONFLICT "
     "(rule, key) DO UPDATE SET pass = ?3"},
    {offsetof(struct statestore, q_thr_clear), true,
     "DELETE FROM threshold_state WHERE rule = ?1 AND key = ?2"},
    {offsetof(struct statestore, q_thr_sweep), true,
     "DELETE FROM threshold_state WHERE rule = ?1 AND pass != ?2"},
    {offsetof(struct statestore, q_audit), true,
     "INSERT INTO audit (delivery_id, at, recipient, result, detail) VALUES (?1, ?2, ?3, ?4, "
     "?5)"},
};

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
static void
statestore_utc_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Set *cause from the database's last error. */
static int
statestore_fail(struct statestore *ss, char **cause, const char *what)
{
	*cause = xasprintf("state store: %s: %s", what, sqlite3_errmsg(ss->db));
	return -1;
}

/* Prepare one statement or fail. */
static int
statestore_prepare(struct statestore *ss, const char *sql, sqlite3_stmt **st, char **cause)
{
	if (sqlite3_prepare_v3(ss->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return statestore_fail(ss, cause, "preparing a statement");
	return 0;
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
 * Bring a file made by an earlier build of schema version 1 up to date: the
 * delivery kinds of the chat and Notify channels, and alert.expected. Runs
 * before foreign keys are switched on, as SQLite's table rebuild needs.
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
	int kinds = statestore_has(ss->db, "delivery", NULL, "'notify'");
	int expected = statestore_has(ss->db, "alert", "expected", NULL);
	int alert = statestore_has(ss->db, "alert", NULL, "CREATE");

	if (kinds < 0 || expected < 0 || alert < 0)
		goto fail;
	if (kinds == 0 && sqlite3_exec(ss->db, rebuild, NULL, NULL, &err) != SQLITE_OK)
		goto fail;
	if (alert == 1 && expected == 0 &&
	    sqlite3_exec(ss->db, "ALTER TABLE alert ADD COLUMN expected TEXT", NULL, NULL, &err) !=
	        SQLITE_OK)
		goto fail;
	return 0;
fail:
	*cause = xasprintf("%s: cannot upgrade the state store: %s", path,
	                   err ? err : sqlite3_errmsg(ss->db));
	sqlite3_free(err);
	if (!sqlite3_get_autocommit(ss->db))
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Open (creating if missing) the state store. */
struct statestore *
statestore_open(const char *path, bool readonly, char **cause)
{
	struct statestore *ss = xcalloc(1, sizeof *ss);
	struct stat sb;
	char *err = NULL;
	int flags, version = 0;
	sqlite3_stmt *st;

	ss->readonly = readonly;
	if (readonly && stat(path, &sb) != 0 && errno == ENOENT)
		return ss;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &ss->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: cannot open the state store: %s", path,
		                   ss->db ? sqlite3_errmsg(ss->db) : "out of memory");
		statestore_close(ss);
		return NULL;
	}
	sqlite3_busy_timeout(ss->db, 10000);
	if (sqlite3_prepare_v2(ss->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		*cause =
		    xasprintf("%s: cannot read the state store: %s", path, sqlite3_errmsg(ss->db));
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
	if (!readonly && version == STATESTORE_SCHEMA_VERSION &&
	    statestore_upgrade(ss, path, cause) != 0) {
		statestore_close(ss);
		return NULL;
	}
	if (!readonly) {
		char *sql = xasprintf("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		                      "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE; %s "
		                      "PRAGMA user_version = %d; COMMIT;",
		                      statestore_schema, STATESTORE_SCHEMA_VERSION);
		int rc = sqlite3_exec(ss->db, sql, NULL, NULL, &err);

		free(sql);
		if (rc != SQLITE_OK) {
			*cause = xasprintf("%s: cannot set up the state store: %s", path,
			                   err ? err : sqlite3_errmsg(ss->db));
			sqlite3_free(err);
			statestore_close(ss);
			return NULL;
		}
	} else if (version == 0) {
		/* An existing but empty file: nothing recorded yet. */
		sqlite3_close(ss->db);
		ss->db = NULL;
		return ss;
	}
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
		sqlite3_stmt **q = (sqlite3_stmt **)((char *)ss + statements[i].offset);

		if (readonly && statements[i].writes)
			continue;
		if (statestore_prepare(ss, statements[i].sql, q, cause) != 0) {
			statestore_close(ss);
			return NULL;
		}
	}
	if (sqlite3_prepare_v2(ss->db, "SELECT value FROM meta WHERE key = 'instance'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(ss->instance, sizeof ss->instance, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return ss;
}

/* Close the state store. */
void
statestore_close(struct statestore *ss)
{
	if (ss == NULL)
		return;
	sqlite3_finalize(ss->q_recorded);
	sqlite3_finalize(ss->q_stage);
	sqlite3_finalize(ss->q_alert);
	sqlite3_finalize(ss->q_delivery);
	sqlite3_finalize(ss->q_take_dest);
	sqlite3_finalize(ss->q_take_kind);
	sqlite3_finalize(ss->q_dest_next);
	sqlite3_finalize(ss->q_kind_next);
	sqlite3_finalize(ss->q_dest_stats);
	sqlite3_finalize(ss->q_kind_stats);
	sqlite3_finalize(ss->q_lease);
	sqlite3_finalize(ss->q_finish);
	sqlite3_finalize(ss->q_audit);
	sqlite3_finalize(ss->q_thr_get);
	sqlite3_finalize(ss->q_thr_set);
	sqlite3_finalize(ss->q_thr_clear);
	sqlite3_finalize(ss->q_thr_sweep);
	sqlite3_close(ss->db);
	free(ss);
}

/* Run a statement without results. */
static int
statestore_exec(struct statestore *ss, const char *sql, char **cause)
{
	if (ss->db == NULL || ss->readonly)
		return 0;
	if (sqlite3_exec(ss->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return statestore_fail(ss, cause, sql);
	return 0;
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
	if (sqlite3_exec(ss->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return statestore_fail(ss, cause, sql);
	return 0;
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
		if (statestore_tx_exec(ss, "SAVEPOINT inner", cause) != 0)
			return -1;
	} else if (statestore_tx_exec(ss, ss->readonly ? "BEGIN" : "BEGIN IMMEDIATE", cause) != 0)
		return -1;
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
	if (sqlite3_get_autocommit(ss->db)) {
		/* SQLite rolled it all back after an error: nothing is recorded. */
		*cause = xstrdup("the state store transaction was rolled back after an error");
		return -1;
	}
	if (statestore_tx_exec(ss, ss->depth > 1 ? "RELEASE inner" : "COMMIT", cause) != 0)
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
	if (ss->depth > 1 && !sqlite3_get_autocommit(ss->db))
		sqlite3_exec(ss->db, "ROLLBACK TO inner; RELEASE inner", NULL, NULL, NULL);
	else if (!sqlite3_get_autocommit(ss->db))
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	ss->depth--;
}

/* Which stages are already recorded for a clock. */
int
statestore_recorded(struct statestore *ss, const struct rule *r, const char *case_ref, date_t start,
                    bool *recorded, char **cause)
{
	char sbuf[DATE_STRLEN];
	sqlite3_stmt *st = ss->q_recorded;
	int rc;

	memset(recorded, 0, r->nstages * sizeof *recorded);
	if (ss->db == NULL)
		return 0;
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, case_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, date_format(start, sbuf), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* A stage renamed or removed since it was recorded no longer counts. */
		int i = rule_stage_index(r, (const char *)sqlite3_column_text(st, 0));
		if (i >= 0)
			recorded[i] = true;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return statestore_fail(ss, cause, "reading recorded stages");
	return 0;
}

/* Insert one clock_stage row. */
static int
statestore_stage(struct statestore *ss, const struct alert *a, const char *start, int stage,
                 const char *status, long long alert_id, const char *now, char **cause)
{
	sqlite3_stmt *st = ss->q_stage;
	int rc;

	sqlite3_bind_text(st, 1, a->rule->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->case_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, start, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->rule->stages[stage].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
	if (alert_id > 0)
		sqlite3_bind_int64(st, 6, alert_id);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return statestore_fail(ss, cause, "recording a stage");
	return 0;
}

/* Record an alert, its skipped stages and its pending deliveries. */
int
statestore_record(struct statestore *ss, const struct alert *a, const bool *recorded,
                  long long *alert_id, char **cause)
{
	char start[DATE_STRLEN], due[DATE_STRLEN], fires[DATETIME_STRLEN], now[32];
	sqlite3_stmt *st;
	int rc;

	*alert_id = 0;
	if (ss->db == NULL || ss->readonly)
		return 0;
	statestore_utc_now(now, sizeof now);
	date_format(a->start, start);

	st = ss->q_alert;
	sqlite3_bind_text(st, 1, a->rule->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->rule->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->case_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, start, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->rule->stages[a->stage].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, date_format(a->due, due), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, localtime_format(a->fires, fires), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, a->days_late);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, a->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, a->body, -1, SQLITE_STATIC);
	if (a->fields != NULL)
		sqlite3_bind_text(st, 12, a->fields, -1, SQLITE_STATIC);
	if (a->expected != NULL)
		sqlite3_bind_text(st, 13, a->expected, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return statestore_fail(ss, cause, "recording an alert");
	*alert_id = sqlite3_last_insert_rowid(ss->db);

	if (statestore_stage(ss, a, start, a->stage, "alerted", *alert_id, now, cause) != 0)
		return -1;
	for (int i = 0; i < a->stage; i++)
		if (!recorded[i] &&
		    statestore_stage(ss, a, start, i, "skipped", 0, now, cause) != 0)
			return -1;

	st = ss->q_delivery;
	for (size_t i = 0; i < a->nrecipients; i++) {
		sqlite3_bind_int64(st, 1, *alert_id);
		sqlite3_bind_text(st, 2, channel_name(a->recipients[i].kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->recipients[i].address, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			return statestore_fail(ss, cause, "recording a delivery");
	}
	return 0;
}

/* Number of deliveries still pending. */
long long
statestore_outbox_depth(struct statestore *ss)
{
	sqlite3_stmt *st;
	long long n = 0;

	if (ss->db == NULL)
		return 0;
	if (sqlite3_prepare_v2(ss->db, "SELECT count(*) FROM delivery WHERE status = 'pending'", -1,
	                       &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Free the strings of an outbox item. */
void
outbox_item_clear(struct outbox_item *it)
{
	free(it->recipient);
	free(it->rule);
	free(it->title);
	free(it->case_ref);
	free(it->stage);
	free(it->start);
	free(it->due);
	free(it->fires);
	free(it->subject);
	free(it->body);
	free(it->fields);
	free(it->expected);
	memset(it, 0, sizeof *it);
}

/* Copy column i as text, or NULL. */
static char *
statestore_col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? xstrdup((const char *)v) : NULL;
}

/* Read the current row of a take statement into it. */
static void
statestore_read_item(struct statestore *ss, sqlite3_stmt *st, struct outbox_item *it)
{
	int kind;

	memset(it, 0, sizeof *it);
	it->id = sqlite3_column_int64(st, 0);
	it->alert_id = sqlite3_column_int64(st, 1);
	it->attempts = sqlite3_column_int(st, 2) + 1;
	kind = channel_parse((const char *)sqlite3_column_text(st, 3));
	it->kind = kind >= 0 ? (enum channel)kind : CHANNEL_WEBHOOK;
	it->recipient = statestore_col(st, 4);
	it->rule = statestore_col(st, 5);
	it->title = statestore_col(st, 6);
	it->case_ref = statestore_col(st, 7);
	it->stage = statestore_col(st, 8);
	it->start = statestore_col(st, 9);
	it->due = statestore_col(st, 10);
	it->fires = statestore_col(st, 11);
	it->subject = statestore_col(st, 12);
	it->body = statestore_col(st, 13);
	it->fields = statestore_col(st, 14);
	it->days_late = sqlite3_column_int(st, 15);
	it->expected = statestore_col(st, 16);
	snprintf(it->uid, sizeof it->uid, "esc-%s-%lld", ss->instance, it->id);
}

/* Step a take statement (bound) into items[*n...max), then reset it. */
static int
statestore_read_items(struct statestore *ss, sqlite3_stmt *st, struct outbox_item *items, int max,
                      int *n)
{
	int rc = SQLITE_DONE;

	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		statestore_read_item(ss, st, &items[(*n)++]);
	if (*n >= max)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Lease items[0..n): in flight until lease_until, one more attempt. */
static int
statestore_lease(struct statestore *ss, struct outbox_item *items, int n, long long lease_until)
{
	int rc;

	for (int i = 0; i < n; i++) {
		sqlite3_bind_int64(ss->q_lease, 1, items[i].id);
		sqlite3_bind_int64(ss->q_lease, 2, lease_until);
		rc = sqlite3_step(ss->q_lease);
		sqlite3_reset(ss->q_lease);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/*
 * End a take inside its open transaction: when read_ok, lease the n items
 * read and commit; otherwise, or if that fails, roll back and free them.
 * Returns n or -1.
 */
static int
statestore_take_commit(struct statestore *ss, struct outbox_item *items, int n,
                       long long lease_until, bool read_ok, char **cause)
{
	if (read_ok && statestore_lease(ss, items, n, lease_until) == 0) {
		if (statestore_commit(ss, cause) == 0)
			return n;
	} else
		statestore_fail(ss, cause, "taking deliveries from the outbox");
	statestore_rollback(ss);
	for (int i = 0; i < n; i++)
		outbox_item_clear(&items[i]);
	return -1;
}

/* Take due deliveries of the given destinations and lease them, in one transaction. */
int
statestore_take_batch(struct statestore *ss, long long now, long long lease_until,
                      const struct outbox_take *reqs, size_t nreqs, struct outbox_item *items,
                      int max, char **cause)
{
	int n = 0;

	if (ss->db == NULL || ss->readonly || max <= 0 || nreqs == 0)
		return 0;
	if (statestore_begin(ss, cause) != 0)
		return -1;
	for (size_t i = 0; i < nreqs && n < max; i++) {
		int want = reqs[i].count < max - n ? reqs[i].count : max - n;
		sqlite3_stmt *st;

		if (want <= 0)
			continue;
		st = reqs[i].recipient != NULL ? ss->q_take_dest : ss->q_take_kind;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, want);
		sqlite3_bind_text(st, 3, channel_name(reqs[i].kind), -1, SQLITE_STATIC);
		if (reqs[i].recipient != NULL)
			sqlite3_bind_text(st, 4, reqs[i].recipient, -1, SQLITE_STATIC);
		if (statestore_read_items(ss, st, items, n + want, &n) != 0)
			return statestore_take_commit(ss, items, n, lease_until, false, cause);
	}
	return statestore_take_commit(ss, items, n, lease_until, true, cause);
}

/* Groups with a due delivery first, in due order of their first; then by destination. */
static int
statestore_group_cmp(const void *pa, const void *pb)
{
	const struct outbox_group *a = pa, *b = pb;

	if ((a->due > 0) != (b->due > 0))
		return a->due > 0 ? -1 : 1;
	if (a->oldest != b->oldest)
		return a->oldest < b->oldest ? -1 : 1;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->recipient != NULL ? a->recipient : "",
	              b->recipient != NULL ? b->recipient : "");
}

/* Fill in one group's counts and times. */
static int
statestore_group_stats(struct statestore *ss, struct outbox_group *g, const char *kind,
                       long long now, int due_cap)
{
	sqlite3_stmt *st = g->recipient != NULL ? ss->q_dest_stats : ss->q_kind_stats;
	int rc;

	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (g->recipient != NULL)
		sqlite3_bind_text(st, 2, g->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, due_cap);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g->due = sqlite3_column_int(st, 0);
		g->oldest = sqlite3_column_int64(st, 1);
		g->first = sqlite3_column_int64(st, 2);
		g->next = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * Pending deliveries grouped by destination, each probed on the
 * delivery_destination index: O(destinations x log n), so a kick costs the
 * same however many deliveries wait.
 */
int
statestore_outbox_groups(struct statestore *ss, long long now, int due_cap,
                         struct outbox_group **out, size_t *nout, char **cause)
{
	struct outbox_group *g = NULL;
	size_t n = 0, cap = 0;
	char *kind = xstrdup(""), *rcpt = xstrdup("");
	int rc = SQLITE_DONE;

	*out = NULL;
	*nout = 0;
	while (ss->db != NULL) {
		bool email = strcmp(kind, "email") == 0;
		sqlite3_stmt *st = email ? ss->q_kind_next : ss->q_dest_next;
		int k;

		/* After email (one destination), step over every address at once. */
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
		if (!email)
			sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_TRANSIENT);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			free(kind);
			free(rcpt);
			kind = statestore_col(st, 0);
			rcpt = statestore_col(st, 1);
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW || kind == NULL || rcpt == NULL)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			g = xreallocarray(g, cap, sizeof *g);
		}
		memset(&g[n], 0, sizeof g[n]);
		k = channel_parse(kind);
		g[n].kind = k >= 0 ? (enum channel)k : CHANNEL_WEBHOOK;
		g[n].recipient = strcmp(kind, "email") == 0 ? NULL : xstrdup(rcpt);
		n++;
		if (statestore_group_stats(ss, &g[n - 1], kind, now, due_cap) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	free(kind);
	free(rcpt);
	if (rc != SQLITE_DONE) {
		outbox_groups_free(g, n);
		return statestore_fail(ss, cause, "reading the outbox");
	}
	if (n > 1)
		qsort(g, n, sizeof *g, statestore_group_cmp);
	*out = g;
	*nout = n;
	return 0;
}

/* Free what statestore_outbox_groups returned. */
void
outbox_groups_free(struct outbox_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].recipient);
	free(g);
}

/* Record the outcomes of finished attempts. */
int
statestore_finish(struct statestore *ss, const struct outcome_record *o, size_t n, char **cause)
{
	static const char *const names[] = {"sent", "pending", "failed"};
	static const char *const results[] = {"sent", "retry", "failed"};
	char now[32];
	int rc;

	if (ss->db == NULL || ss->readonly || n == 0)
		return 0;
	statestore_utc_now(now, sizeof now);
	if (statestore_begin(ss, cause) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = ss->q_finish;

		sqlite3_bind_int64(st, 1, o[i].id);
		sqlite3_bind_text(st, 2, names[o[i].outcome], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, o[i].outcome == OUTCOME_RETRY ? o[i].next_attempt : 0);
		if (o[i].outcome != OUTCOME_SENT && o[i].detail != NULL)
			sqlite3_bind_text(st, 4, o[i].detail, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			goto fail;

		st = ss->q_audit;
		sqlite3_bind_int64(st, 1, o[i].id);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, o[i].recipient ? o[i].recipient : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, results[o[i].outcome], -1, SQLITE_STATIC);
		if (o[i].detail != NULL)
			sqlite3_bind_text(st, 5, o[i].detail, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (statestore_commit(ss, cause) == 0)
		return 0;
	statestore_rollback(ss);
	return -1;
fail:
	statestore_fail(ss, cause, "recording delivery results");
	statestore_rollback(ss);
	return -1;
}

/* The earliest next_attempt of a pending delivery not in flight. */
int
statestore_next_due(struct statestore *ss, long long *when)
{
	sqlite3_stmt *st;
	int found = 0;

	if (ss->db == NULL)
		return 0;
	if (sqlite3_prepare_v2(ss->db,
	                       "SELECT min(next_attempt) FROM delivery WHERE status = 'pending'",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*when = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* After a restart, make interrupted deliveries due now. */
int
statestore_reset_in_flight(struct statestore *ss, char **cause)
{
	if (ss->db == NULL || ss->readonly)
		return 0;
	if (statestore_exec(
	        ss, "UPDATE delivery SET in_flight = 0, next_attempt = 0 WHERE in_flight = 1",
	        cause) != 0)
		return -1;
	return sqlite3_changes(ss->db);
}

/* Step a statement that returns nothing, then reset it. */
static int
statestore_step_done(struct statestore *ss, sqlite3_stmt *st, char **cause, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : statestore_fail(ss, cause, what);
}

/* Threshold rules: is key recorded as over the limit? */
int
statestore_threshold_get(struct statestore *ss, const char *rule, const char *key, bool *over,
                         char **cause)
{
	sqlite3_stmt *st = ss->q_thr_get;
	int rc;

	*over = false;
	if (ss->db == NULL)
		return 0;
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*over = rc == SQLITE_ROW;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return statestore_fail(ss, cause, "reading threshold state");
	return 0;
}

/* Record key as over the limit, or back within it. */
int
statestore_threshold_set(struct statestore *ss, const char *rule, const char *key, bool over,
                         long long pass, char **cause)
{
	sqlite3_stmt *st = over ? ss->q_thr_set : ss->q_thr_clear;
	char now[32];

	if (ss->db == NULL || ss->readonly)
		return 0;
	statestore_utc_now(now, sizeof now);
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (over) {
		sqlite3_bind_int64(st, 3, pass);
		sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	}
	return statestore_step_done(ss, st, cause, "recording threshold state");
}

/* Forget keys over the limit that this pass did not see. */
int
statestore_threshold_sweep(struct statestore *ss, const char *rule, long long pass, char **cause)
{
	sqlite3_stmt *st = ss->q_thr_sweep;

	if (ss->db == NULL || ss->readonly)
		return 0;
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pass);
	return statestore_step_done(ss, st, cause, "clearing threshold state");
}
