/*
 * report_state.c - the report's sections from the state store: what the
 * service did in the range. Alerts by rule and stage with what became of
 * their deliveries, by recipient, the clocks seen done and how late, the
 * answers and how long they took. Ad-hoc read statements inside the read
 * transaction report_main opened; each section is one GROUP BY over the
 * rows in range (one scan, index look-ups per row, no correlated scans), so
 * a store of a million alerts is read in seconds and held as a few rows.
 *
 * An alert is in the range by the local date it was recorded (created_at:
 * when the service raised it and queued its deliveries), not by fires (when
 * its stage fell due): a clock first seen after several stages fell due, or
 * a service that was stopped for a week, records alerts whose fires is long
 * before, and the report says what the service did in the year. created_at
 * is UTC: the range's local days become two UTC times once, compared with
 * the column as stored.
 */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "clock.h"
#include "report.h"
#include "report_store.h"
#include "statestore_impl.h"
#include "utf8.h"
#include "xalloc.h"

/*
 * Alerts by rule and stage (?1 <= created_at < ?2), with their deliveries'
 * results; label is the latest alert's (max(id)). The alerts are
 * scanned in rowid order (NOT INDEXED): left to itself SQLite walks
 * alert_clock for a GROUP BY it sorts anyway, a random read per alert and
 * twice as slow on a million.
 */
static const char report_stages_sql[] =
    "SELECT g.rule, g.stage, coalesce(l.label, l.stage), g.m, g.n, g.sent, g.failed, g.waiting "
    "FROM (SELECT rule, stage, max(id) AS m, count(DISTINCT id) AS n, count(CASE WHEN result = "
    "'sent' THEN 1 END) AS sent, count(CASE WHEN result = 'failed' THEN 1 END) AS failed, "
    "count(CASE WHEN result IN ('held', 'pending', 'bundled') THEN 1 END) AS waiting FROM "
    "(SELECT a.id, a.rule, a.stage, " REPORT_DELIVERY_RESULT " AS result FROM alert a NOT "
    "INDEXED LEFT JOIN delivery d ON d.alert_id = a.id LEFT JOIN delivery g ON g.id = "
    "d.digest_id WHERE a.created_at >= ?1 AND a.created_at < ?2 AND " REPORT_NOT_NOTICE(
        "a.rule") ") x GROUP BY rule, stage) g JOIN alert l ON l.id = g.m ORDER BY g.rule, g.stage";
/* The same by recipient, and how many of their alerts they answered (on response_delivery). */
static const char report_recipients_sql[] =
    "SELECT kind, recipient, count(DISTINCT alert_id), count(CASE WHEN result = 'sent' THEN 1 "
    "END), count(CASE WHEN result = 'failed' THEN 1 END), count(DISTINCT CASE WHEN answered "
    "THEN alert_id END) FROM (SELECT d.kind, d.recipient, d.alert_id, " REPORT_DELIVERY_RESULT
    " AS result, EXISTS (SELECT 1 FROM response r WHERE r.delivery_id = d.id) AS answered FROM "
    "alert a JOIN delivery d ON d.alert_id = a.id LEFT JOIN delivery g ON g.id = d.digest_id "
    "WHERE a.created_at >= ?1 AND a.created_at < ?2 AND " REPORT_NOT_NOTICE(
        "a.rule") ") x GROUP BY kind, recipient";
/*
 * Clocks seen done on the local dates ?1..?2 and not reopened, by rule and
 * days late; in rowid order, as the alerts.
 */
static const char report_closed_sql[] =
    "SELECT rule, days_late, count(*) FROM closed_clock NOT INDEXED WHERE closed_on >= ?1 AND "
    "closed_on <= ?2 AND reopened_on IS NULL AND " REPORT_NOT_NOTICE(
        "rule") " GROUP BY rule, days_late";
/*
 * Answers given in the range by rule and kind, but those since replaced: the
 * set of amended ids is read once (NOT IN a list), not searched per row.
 */
static const char report_kinds_sql[] =
    "SELECT rule, kind, count(*) FROM response WHERE answered_at >= ?1 AND answered_at < ?2 AND "
    "id NOT IN (SELECT amends FROM response WHERE amends IS NOT NULL) GROUP BY rule, kind";
/*
 * Each clock's first answer (min(answered_at), alert_id bare: the alert it
 * answered), when it was given in the range: hours from that alert, rounded,
 * counted by rule and hours.
 */
static const char report_hours_sql[] =
    "SELECT f.rule, CAST(max(0, julianday(f.at) - julianday(a.created_at)) * 24 + 0.5 AS "
    "INTEGER) AS h, count(*) FROM (SELECT rule, alert_id, min(answered_at) AS at FROM response "
    "GROUP BY rule, case_ref, start) f JOIN alert a ON a.id = f.alert_id WHERE f.at >= ?1 AND "
    "f.at < ?2 GROUP BY f.rule, h";
/* The same on PostgreSQL: no bare columns, and times through timestamp. */
static const char report_hours_pg_sql[] =
    "SELECT f.rule, CAST(floor(greatest(0, extract(epoch FROM CAST(f.at AS timestamp) - "
    "CAST(a.created_at AS timestamp)) / 3600.0) + 0.5) AS bigint) AS h, count(*) FROM "
    "(SELECT DISTINCT ON (rule, case_ref, start) rule, alert_id, answered_at AS at FROM "
    "response ORDER BY rule, case_ref, start, answered_at) f JOIN alert a ON a.id = f.alert_id "
    "WHERE f.at >= ?1 AND f.at < ?2 GROUP BY f.rule, h";

/* The local dates from..to as UTC times lo <= t < hi. */
void
report_utc_range(date_t from, date_t to, char lo[REPORT_UTC_LEN], char hi[REPORT_UTC_LEN])
{
	time_t a = clock_instant((localtime_min_t)from * 1440, 0);
	time_t b = clock_instant((localtime_min_t)(to + 1) * 1440, 0);
	struct tm tm;

	gmtime_r(&a, &tm);
	strftime(lo, REPORT_UTC_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&b, &tm);
	strftime(hi, REPORT_UTC_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Prepare sql on ss; NULL with *cause set. */
struct dbstmt *
report_prepare(struct statestore *ss, const char *sql, const char *lo, const char *hi, char **cause)
{
	struct dbstmt *st = NULL;

	if (db_prepare(ss->db, sql, &st) != DB_OK) {
		statestore_fail(ss, cause, "reading what the service did");
		db_finalize(st);
		return NULL;
	}
	if (lo != NULL) {
		db_bind_text(st, 1, lo, -1, DB_STATIC);
		db_bind_text(st, 2, hi, -1, DB_STATIC);
	}
	return st;
}

/* A recipient fit to print: never a URL (its token is a credential). */
char *
report_recipient_name(const char *kind, const char *recorded)
{
	char *host, *out;

	if (recorded == NULL)
		return xstrdup("?");
	if (strcmp(kind, "email") == 0 || strstr(recorded, "://") == NULL)
		return utf8_sanitize(recorded);
	host = addr_url_host(recorded);
	out = xasprintf("%s (%s)", kind, host != NULL ? host : "?");
	free(host);
	return out;
}

/* Finish st: 0 when it ran to its end (rc), else -1 with *cause set. */
static int
report_done(struct statestore *ss, struct dbstmt *st, int rc, char **cause)
{
	if (rc != DB_DONE)
		statestore_fail(ss, cause, "reading what the service did");
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

/* Column i as text ("" when NULL). */
static const char *
report_text_col(struct dbstmt *st, int i)
{
	const char *s = db_column_text(st, i);

	return s != NULL ? s : "";
}

/*
 * The loaded clock rule a recorded rule id belongs to: its own id, else one
 * it was renamed from (the service moves those records when it loads the
 * rules; a store last written by --once may still hold them). -1: none (a
 * threshold rule, or one removed since), ordered after the loaded ones.
 */
static long
report_rule_rank(const struct report *rep, const char *id)
{
	for (size_t i = 0; i < rep->nrules; i++)
		if (strcmp(rep->rules[i].rule->id, id) == 0)
			return (long)i;
	for (size_t i = 0; i < rep->nrules; i++)
		if (rule_renamed_from(rep->rules[i].rule, id))
			return (long)i;
	return -1;
}

/* The id a recorded rule id is reported under. */
static const char *
report_rule_id(const struct report *rep, long rank, const char *id)
{
	return rank >= 0 ? rep->rules[rank].rule->id : id;
}

/* Order of two ranks (-1 last), then names. */
static int
report_rank_cmp(long a, const char *na, long b, const char *nb)
{
	if (a != b) {
		if (a < 0 || b < 0)
			return a < 0 ? 1 : -1;
		return a < b ? -1 : 1;
	}
	return strcmp(na, nb);
}

/* One (rule, stage) while read: where it sorts, and its latest alert (whose label it keeps). */
struct report_stage_row {
	long rule;
	int stage;
	long long last;
	struct report_stage_alerts v;
};

static int
report_stage_cmp(const void *pa, const void *pb)
{
	const struct report_stage_row *a = pa, *b = pb;
	int c = report_rank_cmp(a->rule, a->v.rule, b->rule, b->v.rule);

	if (c != 0)
		return c;
	return report_rank_cmp(a->stage, a->v.stage, b->stage, b->v.stage);
}

/* Alerts by rule and stage: a stage renamed since is counted under its new name. */
static int
report_stages(struct report *rep, struct statestore *ss, const char *lo, const char *hi,
              char **cause)
{
	struct dbstmt *st = report_prepare(ss, report_stages_sql, lo, hi, cause);
	struct report_stage_row *rows = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *id = report_text_col(st, 0), *stage = report_text_col(st, 1);
		long rank = report_rule_rank(rep, id);
		int k = rank >= 0 ? rule_stage_recorded(rep->rules[rank].rule, stage) : -1;
		long long last = db_column_int64(st, 3);
		struct report_stage_row *r = NULL;

		id = report_rule_id(rep, rank, id);
		if (k >= 0)
			stage = rep->rules[rank].rule->stages[k].name;
		for (size_t i = 0; i < n && r == NULL; i++)
			if (strcmp(rows[i].v.rule, id) == 0 && strcmp(rows[i].v.stage, stage) == 0)
				r = &rows[i];
		if (r == NULL) {
			rows = xreallocarray(rows, n + 1, sizeof *rows);
			r = &rows[n++];
			memset(r, 0, sizeof *r);
			r->rule = rank;
			r->stage = k;
			r->v.rule = xstrdup(id);
			r->v.stage = xstrdup(stage);
		}
		if (r->v.label == NULL || last > r->last) {
			free(r->v.label);
			r->v.label = utf8_sanitize(report_text_col(st, 2));
			r->last = last;
		}
		r->v.alerts += db_column_int64(st, 4);
		r->v.sent += db_column_int64(st, 5);
		r->v.failed += db_column_int64(st, 6);
		r->v.waiting += db_column_int64(st, 7);
	}
	if (n > 0)
		qsort(rows, n, sizeof *rows, report_stage_cmp);
	rep->stages = xcalloc(n, sizeof *rep->stages);
	for (size_t i = 0; i < n; i++)
		rep->stages[i] = rows[i].v;
	rep->nstages = n;
	free(rows);
	return report_done(ss, st, rc, cause);
}

static int
report_recipient_cmp(const void *pa, const void *pb)
{
	const struct report_recipient *a = pa, *b = pb;
	int c;

	if (a->alerts != b->alerts)
		return a->alerts > b->alerts ? -1 : 1;
	if ((c = strcmp(a->recipient, b->recipient)) != 0)
		return c;
	return strcmp(a->kind, b->kind);
}

/*
 * Alerts by recipient: how many of the range's alerts each was sent, what
 * became of them, and how many they answered through their own link.
 */
static int
report_recipients(struct report *rep, struct statestore *ss, const char *lo, const char *hi,
                  char **cause)
{
	struct dbstmt *st = report_prepare(ss, report_recipients_sql, lo, hi, cause);
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *kind = report_text_col(st, 0);
		char *name = report_recipient_name(kind, db_column_text(st, 1));
		struct report_recipient *r = NULL;

		/* Two URLs of one host read alike: one row. */
		for (size_t i = 0; i < n && r == NULL; i++)
			if (strcmp(rep->recipients[i].kind, kind) == 0 &&
			    strcmp(rep->recipients[i].recipient, name) == 0)
				r = &rep->recipients[i];
		if (r == NULL) {
			rep->recipients = xreallocarray(rep->recipients, n + 1, sizeof *r);
			r = &rep->recipients[n++];
			memset(r, 0, sizeof *r);
			r->kind = xstrdup(kind);
			r->recipient = name;
		} else
			free(name);
		r->alerts += db_column_int64(st, 2);
		r->sent += db_column_int64(st, 3);
		r->failed += db_column_int64(st, 4);
		r->answered += db_column_int64(st, 5);
	}
	rep->nrecipients = n;
	if (n > 0)
		qsort(rep->recipients, n, sizeof *rep->recipients, report_recipient_cmp);
	return report_done(ss, st, rc, cause);
}

/* The index in *rows (n of them, each size bytes, rule at offset 0) of rule id; added when new. */
static size_t
report_rule_row(const struct report *rep, long **ranks, void **rows, size_t *n, size_t size,
                const char *recorded)
{
	long rank = report_rule_rank(rep, recorded);
	const char *id = report_rule_id(rep, rank, recorded);

	for (size_t i = 0; i < *n; i++)
		if (strcmp(*(char **)((char *)*rows + i * size), id) == 0)
			return i;
	*rows = xreallocarray(*rows, *n + 1, size);
	*ranks = xreallocarray(*ranks, *n + 1, sizeof **ranks);
	memset((char *)*rows + *n * size, 0, size);
	*(char **)((char *)*rows + *n * size) = xstrdup(id);
	(*ranks)[*n] = rank;
	return (*n)++;
}

/* Order of two rows by the rule id at their offset 0. */
static int
report_rule_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Put n rows of size bytes (rule id at offset 0, one row per rule) in the
 * order the rules were loaded, then the rest (rules not loaded) by name.
 */
static void
report_rule_sort(const struct report *rep, const long *ranks, void *rows, size_t n, size_t size)
{
	char *sorted;
	size_t k = 0, tail;

	if (n < 2)
		return;
	sorted = xreallocarray(NULL, n, size);
	for (size_t r = 0; r < rep->nrules; r++)
		for (size_t i = 0; i < n; i++)
			if (ranks[i] == (long)r)
				memcpy(sorted + k++ * size, (char *)rows + i * size, size);
	tail = k;
	for (size_t i = 0; i < n; i++)
		if (ranks[i] < 0)
			memcpy(sorted + k++ * size, (char *)rows + i * size, size);
	qsort(sorted + tail * size, k - tail, size, report_rule_name_cmp);
	memcpy(rows, sorted, n * size);
	free(sorted);
}

/*
 * Clocks seen done in the range (closed_on is a local date), not reopened
 * since: in time (days_late 0) or late, and by how many working days.
 */
static int
report_closed(struct report *rep, struct statestore *ss, char **cause)
{
	char from[DATE_STRLEN], to[DATE_STRLEN];
	struct dbstmt *st = report_prepare(ss, report_closed_sql, date_format(rep->from, from),
	                                   date_format(rep->to, to), cause);
	long *ranks = NULL; /* each row's report_rule_rank */
	void *rows = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		size_t i = report_rule_row(rep, &ranks, &rows, &n, sizeof(struct report_closed),
		                           report_text_col(st, 0));
		struct report_closed *c = (struct report_closed *)rows + i;
		int late = db_column_int(st, 1);
		long long count = db_column_int64(st, 2);

		c->closed += count;
		if (late <= 0)
			c->in_time += count;
		else {
			c->late += count;
			for (long long k = 0; k < count; k++)
				timeliness_days_add(&c->late_days, late);
		}
	}
	report_rule_sort(rep, ranks, rows, n, sizeof(struct report_closed));
	rep->closed = rows;
	rep->nclosed = n;
	for (size_t i = 0; i < n; i++)
		rep->closed[i].has_late =
		    timeliness_days_figures(&rep->closed[i].late_days, &rep->closed[i].median_late,
		                            &rep->closed[i].max_late);
	free(ranks);
	return report_done(ss, st, rc, cause);
}

/*
 * Answers given in the range by kind, leaving out those replaced by a later
 * answer from the same link (their id is another's amends: the set of those
 * ids is read once, not looked for row by row); and, for each clock whose
 * first answer (replaced or not: it is when someone first answered) was
 * given in the range, the hours from the alert it answered to it, rounded.
 * A first answer whose alert retention has removed has no hours.
 */
static int
report_answers(struct report *rep, struct statestore *ss, const char *lo, const char *hi,
               char **cause)
{
	struct dbstmt *kinds = report_prepare(ss, report_kinds_sql, lo, hi, cause);
	struct dbstmt *hours = NULL;
	long *ranks = NULL; /* each row's report_rule_rank */
	void *rows = NULL;
	size_t n = 0;
	int rc;

	if (kinds == NULL)
		return -1;
	while ((rc = db_step(kinds)) == DB_ROW) {
		size_t i = report_rule_row(rep, &ranks, &rows, &n, sizeof(struct report_answers),
		                           report_text_col(kinds, 0));
		struct report_answers *a = (struct report_answers *)rows + i;
		const char *kind = report_text_col(kinds, 1);
		long long count = db_column_int64(kinds, 2);

		if (strcmp(kind, "acknowledged") == 0)
			a->acknowledged += count;
		else if (strcmp(kind, "agreed") == 0)
			a->agreed += count;
		else if (strcmp(kind, "disagree") == 0)
			a->disagree += count;
	}
	if (report_done(ss, kinds, rc, cause) != 0)
		goto fail;

	hours = report_prepare(ss, db_is_pg(ss->db) ? report_hours_pg_sql : report_hours_sql, lo,
	                       hi, cause);
	if (hours == NULL)
		goto fail;
	while ((rc = db_step(hours)) == DB_ROW) {
		size_t i = report_rule_row(rep, &ranks, &rows, &n, sizeof(struct report_answers),
		                           report_text_col(hours, 0));
		struct report_answers *a = (struct report_answers *)rows + i;
		int h = db_column_int(hours, 1);
		long long count = db_column_int64(hours, 2);

		for (long long k = 0; k < count; k++)
			timeliness_days_add(&a->hours, h);
	}
	if (report_done(ss, hours, rc, cause) != 0)
		goto fail;
	report_rule_sort(rep, ranks, rows, n, sizeof(struct report_answers));
	rep->answers = rows;
	rep->nanswers = n;
	for (size_t i = 0; i < n; i++) {
		int max;

		rep->answers[i].has_median = timeliness_days_figures(
		    &rep->answers[i].hours, &rep->answers[i].median_hours, &max);
	}
	free(ranks);
	return 0;

fail:
	/* Hand what was read to rep, which frees it. */
	rep->answers = rows;
	rep->nanswers = n;
	free(ranks);
	return -1;
}

/* The state store's sections of rep, read in the caller's read transaction. */
int
report_state(struct report *rep, struct statestore *ss, char **cause)
{
	char lo[REPORT_UTC_LEN], hi[REPORT_UTC_LEN];

	if (ss == NULL || ss->db == NULL)
		return 0;
	rep->state_known = true;
	report_utc_range(rep->from, rep->to, lo, hi);
	if (report_stages(rep, ss, lo, hi, cause) != 0 ||
	    report_recipients(rep, ss, lo, hi, cause) != 0 || report_closed(rep, ss, cause) != 0 ||
	    report_answers(rep, ss, lo, hi, cause) != 0)
		return -1;
	return 0;
}
