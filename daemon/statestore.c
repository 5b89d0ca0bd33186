/* statestore.c - escalator's own SQLite file: stages alerted, outbox, audit. */
#include "statestore.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

#define STATESTORE_SCHEMA_VERSION 1

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
    "  days_late INTEGER NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS delivery ("
    "  id INTEGER PRIMARY KEY,"
    "  alert_id INTEGER NOT NULL REFERENCES alert(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),"
    "  recipient TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt TEXT NOT NULL,"
    "  last_error TEXT,"
    "  sent_at TEXT);"
    "CREATE INDEX IF NOT EXISTS delivery_pending ON delivery (next_attempt) "
    "  WHERE status = 'pending';"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES delivery(id),"
    "  at TEXT NOT NULL, recipient TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);";

struct statestore {
	sqlite3 *db; /* NULL: an empty read-only store (dry run, no file yet) */
	bool readonly;
	sqlite3_stmt *q_recorded;
	sqlite3_stmt *q_stage;
	sqlite3_stmt *q_alert;
	sqlite3_stmt *q_delivery;
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
	if (statestore_prepare(ss,
	                       "SELECT stage FROM clock_stage WHERE rule = ?1 AND case_ref = ?2 "
	                       "AND start = ?3",
	                       &ss->q_recorded, cause) != 0 ||
	    (!readonly &&
	     (statestore_prepare(
	          ss,
	          "INSERT OR IGNORE INTO clock_stage (rule, case_ref, start, stage, "
	          "status, alert_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	          &ss->q_stage, cause) != 0 ||
	      statestore_prepare(ss,
	                         "INSERT INTO alert (rule, title, case_ref, start, stage, due, "
	                         "fires, days_late, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	                         "?7, ?8, ?9)",
	                         &ss->q_alert, cause) != 0 ||
	      statestore_prepare(ss,
	                         "INSERT INTO delivery (alert_id, kind, recipient, next_attempt) "
	                         "VALUES (?1, ?2, ?3, ?4)",
	                         &ss->q_delivery, cause) != 0))) {
		statestore_close(ss);
		return NULL;
	}
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

/* Start the transaction of one pass. */
int
statestore_begin(struct statestore *ss, char **cause)
{
	return statestore_exec(ss, "BEGIN IMMEDIATE", cause);
}

/* Commit the transaction of one pass. */
int
statestore_commit(struct statestore *ss, char **cause)
{
	return statestore_exec(ss, "COMMIT", cause);
}

/* Abandon the transaction of one pass. */
void
statestore_rollback(struct statestore *ss)
{
	if (ss->db != NULL && !ss->readonly && !sqlite3_get_autocommit(ss->db))
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
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
		sqlite3_bind_text(st, 2,
		                  a->recipients[i].kind == CONTACT_EMAIL ? "email" : "webhook", -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->recipients[i].address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
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
