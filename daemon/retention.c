/*
 * retention.c - removing what the state store keeps longer than the
 * retention setting, in small batches from a timer on the loop.
 *
 * What goes once older than the cut-off: audit rows (by the time written);
 * answers (response rows, by the time answered: they hold no foreign keys,
 * and an amended answer is older than the one amending it, so it goes first);
 * sent and failed deliveries (by their last attempt, or for those finished
 * before deliveries kept it, their sending or their alert's recording) with
 * their audit rows; then alerts (rendered subject, body, fields, expected
 * text) recorded before it that have no delivery left. A pending delivery and
 * so its alert are never touched. clock_stage rows stay: they are what stops
 * a stage from being alerted again; an alert removed is unlinked from its
 * stage (alert_id NULL), found by the stage's primary key.
 *
 * Each table is read from its oldest row (lowest id: rows are written in time
 * order) in windows of batch rows, so a step costs the same however big the
 * file is, and a step that removes nothing means the oldest rows are all
 * young enough: done until the next sweep.
 */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>

#include "statestore_impl.h"
#include "xalloc.h"

/* Old audit rows among the oldest ?2. ?1 the cut-off. */
#define RETENTION_AUDIT                                                                            \
	"DELETE FROM audit WHERE id IN (SELECT id FROM (SELECT id, at FROM audit ORDER BY id "     \
	"LIMIT ?2) old WHERE at < ?1)"
/* Old answers among the oldest ?2. ?1 the cut-off. */
#define RETENTION_ANSWERS                                                                          \
	"DELETE FROM response WHERE id IN (SELECT id FROM (SELECT id, answered_at FROM response "  \
	"ORDER BY id LIMIT ?2) old WHERE answered_at < ?1)"
/*
 * Finished deliveries among the oldest ?2 finished, finished before ?1; with
 * their alert (none for a digest or a closed clock's note: those always
 * have their last attempt's time). A digest's items finish with it, at the
 * same time, so they go in the same sweep.
 */
#define RETENTION_DELIVERIES                                                                       \
	"SELECT d.id, d.alert_id FROM (SELECT id, alert_id, sent_at, last_attempt FROM delivery "  \
	"WHERE status IN ('sent', 'failed') ORDER BY id LIMIT ?2) d LEFT JOIN alert a ON a.id = "  \
	"d.alert_id WHERE coalesce(d.last_attempt, d.sent_at, a.created_at) < ?1"
/* Alerts recorded before ?1 among the oldest ?2 (each removed only if no delivery is left). */
#define RETENTION_ALERTS                                                                           \
	"SELECT id FROM (SELECT id, created_at FROM alert ORDER BY id LIMIT ?2) old WHERE "        \
	"created_at "                                                                              \
	"< ?1"

/* The statements of one step, prepared for it. */
enum {
	R_AUDIT,     /* old audit rows */
	R_ANSWERS,   /* old answers */
	R_DLIST,     /* old finished deliveries */
	R_DAUDIT,    /* a delivery's audit rows */
	R_DDEL,      /* a finished delivery */
	R_ALIST,     /* old alerts */
	R_AGET,      /* an alert's clock and stage, if it is old and has no delivery left */
	R_AUNLINK,   /* its clock_stage row no longer points at it */
	R_ADEL,      /* the alert */
	R_NSTATEMENT /* (count) */
};
static const char *const retention_sql[R_NSTATEMENT] = {
    [R_AUDIT] = RETENTION_AUDIT,
    [R_ANSWERS] = RETENTION_ANSWERS,
    [R_DLIST] = RETENTION_DELIVERIES,
    [R_DAUDIT] = "DELETE FROM audit WHERE delivery_id = ?1",
    [R_DDEL] = "DELETE FROM delivery WHERE id = ?1 AND status IN ('sent', 'failed')",
    [R_ALIST] = RETENTION_ALERTS,
    [R_AGET] = "SELECT rule, case_ref, start, stage FROM alert WHERE id = ?1 AND created_at < "
               "?2 AND NOT EXISTS (SELECT 1 FROM delivery WHERE alert_id = ?1)",
    [R_AUNLINK] = "UPDATE clock_stage SET alert_id = NULL WHERE rule = ?1 AND case_ref = ?2 AND "
                  "start = ?3 AND stage = ?4 AND alert_id = ?5",
    [R_ADEL] = "DELETE FROM alert WHERE id = ?1",
};

/* The cut-off: keep before now, on the calendar, as a UTC time. */
int
retention_cutoff(const struct duration *keep, time_t now, char *buf, size_t len)
{
	struct tm tm;
	date_t d;
	int y, m, day;

	if (keep->n < 1 || gmtime_r(&now, &tm) == NULL)
		return -1;
	d = date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	switch (keep->unit) {
	case DUR_DAYS:
		d -= keep->n;
		break;
	case DUR_WEEKS:
		d -= 7 * keep->n;
		break;
	case DUR_MONTHS:
		d = date_add_months(d, -keep->n);
		break;
	default:
		/* Working days need a calendar; the configuration refuses them. */
		return -1;
	}
	date_to_ymd(d, &y, &m, &day);
	if (y < 1)
		return -1;
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, day, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
	return 0;
}

/* Step a bound statement that returns nothing; rows it changed, or -1. */
static int
retention_exec(struct dbstmt *st)
{
	int rc = db_step(st);
	long long n = db_stmt_changes(st);

	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? (int)n : -1;
}

/* Remove alert id if it is older than cut and has no delivery left. Rows removed, or -1. */
static int
retention_alert(struct dbstmt **st, long long id, const char *cut)
{
	struct dbstmt *get = st[R_AGET], *unlink = st[R_AUNLINK];
	int rc;

	db_bind_int64(get, 1, id);
	db_bind_text(get, 2, cut, -1, DB_STATIC);
	if ((rc = db_step(get)) == DB_ROW) {
		for (int i = 0; i < 4; i++)
			db_bind_text(unlink, i + 1, db_column_text(get, i), -1, DB_TRANSIENT);
		db_bind_int64(unlink, 5, id);
		rc = retention_exec(unlink) < 0 ? DB_ERROR : DB_ROW;
	}
	db_reset(get);
	db_clear_bindings(get);
	if (rc == DB_DONE)
		return 0;
	if (rc != DB_ROW)
		return -1;
	db_bind_int64(st[R_ADEL], 1, id);
	return retention_exec(st[R_ADEL]);
}

/*
 * Remove the alerts ids[0], ids[stride], ... (n of them) where old enough and
 * left without deliveries (retention_alert). Rows removed, or -1.
 */
static int
retention_alert_list(struct dbstmt **st, const long long *ids, int n, int stride, const char *cut)
{
	int removed = 0, k;

	for (int i = 0; i < n; i++) {
		if ((k = retention_alert(st, ids[(size_t)i * (size_t)stride], cut)) < 0)
			return -1;
		removed += k;
	}
	return removed;
}

/*
 * Old finished deliveries among the oldest batch, with their audit rows, and
 * then their alerts if nothing else is left of them. Rows removed, or -1.
 */
static int
retention_deliveries(struct dbstmt **st, const char *cut, int batch)
{
	long long(*ids)[2] = xreallocarray(NULL, (size_t)batch, sizeof *ids);
	int n = 0, removed = 0, rc, k;

	db_bind_text(st[R_DLIST], 1, cut, -1, DB_STATIC);
	db_bind_int(st[R_DLIST], 2, batch);
	while (n < batch && (rc = db_step(st[R_DLIST])) == DB_ROW) {
		ids[n][0] = db_column_int64(st[R_DLIST], 0);
		ids[n][1] = db_column_int64(st[R_DLIST], 1);
		n++;
	}
	db_reset(st[R_DLIST]);
	db_clear_bindings(st[R_DLIST]);
	for (int i = 0; i < n && removed >= 0; i++) {
		db_bind_int64(st[R_DAUDIT], 1, ids[i][0]);
		db_bind_int64(st[R_DDEL], 1, ids[i][0]);
		if ((k = retention_exec(st[R_DAUDIT])) < 0 || (rc = retention_exec(st[R_DDEL])) < 0)
			removed = -1;
		else
			removed += k + rc;
	}
	/* The alerts last: an alert of two deliveries goes with its second. */
	if (removed >= 0 && (k = retention_alert_list(st, &ids[0][1], n, 2, cut)) < 0)
		removed = -1;
	else if (removed >= 0)
		removed += k;
	free(ids);
	return removed;
}

/* Old alerts among the oldest batch with no delivery left (none ever, say). Rows removed, or -1. */
static int
retention_alerts(struct dbstmt **st, const char *cut, int batch)
{
	long long *ids = xreallocarray(NULL, (size_t)batch, sizeof *ids);
	int n = 0, removed;

	db_bind_text(st[R_ALIST], 1, cut, -1, DB_STATIC);
	db_bind_int(st[R_ALIST], 2, batch);
	while (n < batch && db_step(st[R_ALIST]) == DB_ROW)
		ids[n++] = db_column_int64(st[R_ALIST], 0);
	db_reset(st[R_ALIST]);
	db_clear_bindings(st[R_ALIST]);
	removed = retention_alert_list(st, ids, n, 1, cut);
	free(ids);
	return removed;
}

/* The removals of one step inside its transaction. Rows removed, or -1. */
static int
retention_remove(struct statestore *ss, struct dbstmt **st, const char *cut, int batch)
{
	int removed, k;

	for (int i = 0; i < R_NSTATEMENT; i++)
		if (db_prepare(ss->db, retention_sql[i], &st[i]) != DB_OK)
			return -1;
	db_bind_text(st[R_AUDIT], 1, cut, -1, DB_STATIC);
	db_bind_int(st[R_AUDIT], 2, batch);
	db_bind_text(st[R_ANSWERS], 1, cut, -1, DB_STATIC);
	db_bind_int(st[R_ANSWERS], 2, batch);
	if ((removed = retention_exec(st[R_AUDIT])) < 0 || (k = retention_exec(st[R_ANSWERS])) < 0)
		return -1;
	removed += k;
	if ((k = retention_deliveries(st, cut, batch)) < 0)
		return -1;
	removed += k;
	if ((k = retention_alerts(st, cut, batch)) < 0)
		return -1;
	return removed + k;
}

/* One step: remove up to batch rows of each kind older than keep, give pages back. */
int
retention_step(struct statestore *ss, const struct duration *keep, time_t now, int batch,
               char **cause)
{
	struct dbstmt *st[R_NSTATEMENT] = {NULL};
	char cut[32], *sql;
	int removed;
	bool lite = ss->db != NULL && !db_is_pg(ss->db);

	if (ss->db == NULL || ss->readonly || batch <= 0 || ss->depth > 0)
		return 0;
	if (retention_cutoff(keep, now, cut, sizeof cut) != 0) {
		*cause = xstrdup("retention: not a positive number of days, weeks or months");
		return -1;
	}
	/*
	 * Foreign keys off for this transaction (it can be changed only outside
	 * one): removing an alert would otherwise scan all of clock_stage for
	 * rows pointing at it (there is no index on clock_stage.alert_id, and one
	 * would cost as much as the table). The removals above go children first
	 * and unlink the stage, so nothing is left pointing at a removed row.
	 * (PostgreSQL keeps them: it has the index, statestore_pg.c.)
	 */
	if (!lite)
		;
	else if (db_exec(ss->db, "PRAGMA foreign_keys = OFF", NULL) != DB_OK)
		return statestore_fail(ss, cause, "retention");
	if (statestore_begin(ss, cause) != 0) {
		if (lite)
			db_exec(ss->db, "PRAGMA foreign_keys = ON", NULL);
		return -1;
	}
	if ((removed = retention_remove(ss, st, cut, batch)) < 0)
		statestore_fail(ss, cause, "removing rows older than the retention period");
	for (int i = 0; i < R_NSTATEMENT; i++)
		db_finalize(st[i]);
	if (removed < 0 || statestore_commit(ss, cause) != 0) {
		statestore_rollback(ss);
		removed = -1;
	}
	if (lite)
		db_exec(ss->db, "PRAGMA foreign_keys = ON", NULL);
	if (removed < 0 || !lite)
		return removed;
	/*
	 * Give freed pages back, a few at a time (a no-op without incremental
	 * auto_vacuum, or with nothing free): enough for what a step frees.
	 * PostgreSQL's autovacuum does this on its own.
	 */
	sql = xasprintf("PRAGMA incremental_vacuum(%d)", 4 * batch);
	if (db_exec(ss->db, sql, NULL) != DB_OK) {
		free(sql);
		return statestore_fail(ss, cause, "giving freed space back");
	}
	free(sql);
	return removed;
}

/* Is the store's auto_vacuum incremental? */
bool
retention_reclaims(struct statestore *ss)
{
	struct dbstmt *st;
	bool yes = false;

	if (ss->db == NULL || db_is_pg(ss->db))
		return true;
	if (db_prepare(ss->db, "PRAGMA auto_vacuum", &st) != DB_OK)
		return false;
	if (db_step(st) == DB_ROW)
		yes = db_column_int(st, 0) == 2;
	db_finalize(st);
	return yes;
}
