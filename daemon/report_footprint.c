/*
 * report_footprint.c - the IRO's footprint on a case file or for an audit:
 * one CSV row per alert recorded in the range (by the local date of
 * created_at, as report_state.c counts them), or only one case's, with its
 * clock, stage, dates, who was told, what became of each delivery and the
 * answers given through their links. Nothing from the alert's fields or
 * body (children's data), no answer's reason or note (free text), no URL.
 *
 * Streamed: the alerts are stepped in order and each row written as it is
 * read, with two index look-ups per alert (its deliveries, their answers),
 * so a million alerts take no more memory than one.
 *
 * CSV as the report's tables write it (report_csv_field: RFC 4180 quoting,
 * CRLF line ends, a leading apostrophe on a value a spreadsheet would take
 * for a formula, as OWASP advises for CSV injection).
 */
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "report.h"
#include "report_store.h"
#include "statestore_impl.h"
#include "utf8.h"
#include "xalloc.h"

#define FOOTPRINT_HEADER                                                                           \
	"alert_id,rule,case_ref,clock_start,due,stage,label,fires,created_at,days_late,"           \
	"recipients,"                                                                              \
	"delivered,failed,waiting,answers"

/* The alerts in the range (?1 <= created_at < ?2), or of case ?3 only, oldest first. */
static const char footprint_alerts_sql[] =
    "SELECT id, rule, case_ref, start, due, stage, coalesce(label, stage), fires, created_at, "
    "days_late FROM alert WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR "
    "case_ref = ?3) AND " REPORT_NOT_NOTICE("rule") " ORDER BY created_at, id";
/* Alert ?1's deliveries and their results, on delivery_alert. */
static const char footprint_deliveries_sql[] =
    "SELECT d.kind, d.recipient, " REPORT_DELIVERY_RESULT " FROM delivery d LEFT JOIN delivery "
    "g ON g.id = d.digest_id WHERE d.alert_id = ?1 ORDER BY d.id";
/*
 * The answers through alert ?1's links, on response_delivery: an answer is
 * amended only from its own link, so the one that replaced it (n) is found
 * there too.
 */
static const char footprint_answers_sql[] =
    "SELECT r.kind, r.answered_at, r.agreed_on, r.recipient, EXISTS (SELECT 1 FROM response n "
    "WHERE n.delivery_id = r.delivery_id AND n.amends = r.id), d.kind FROM delivery d JOIN "
    "response r ON r.delivery_id = d.id WHERE d.alert_id = ?1 ORDER BY r.id";

/* A growing string: one row's recipients or answers. */
struct footprint_buf {
	char *s;
	size_t len, cap;
};

/* Append s (then sep before the next) to b. */
static void
footprint_add(struct footprint_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 3 > b->cap) {
		b->cap = (b->len + n + 3) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	if (b->len > 0) {
		memcpy(b->s + b->len, "; ", 2);
		b->len += 2;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* Write a text value as a CSV field (report_csv_field), made valid UTF-8 first. */
static void
footprint_field(FILE *f, const char *s)
{
	char *clean = utf8_sanitize(s != NULL ? s : "");

	report_csv_field(f, clean);
	free(clean);
}

/* A local time as people and spreadsheets read it: "YYYY-MM-DD HH:MM" into buf (17 bytes). */
static const char *
footprint_minute(localtime_min_t t, char *buf)
{
	explain_minute(t, buf);
	buf[10] = ' ';
	return buf;
}

/* fires as recorded (local "YYYY-MM-DDTHH:MM:SS") the same way; as it is when it is not one. */
static const char *
footprint_fires(const char *fires, char *buf, size_t len)
{
	if (fires != NULL && strlen(fires) >= 16 && fires[10] == 'T') {
		snprintf(buf, len, "%.10s %.5s", fires, fires + 11);
		return buf;
	}
	return fires != NULL ? fires : "";
}

/* The per-alert statements. */
struct footprint {
	struct statestore *ss;
	struct dbstmt *deliveries; /* ?1: alert id */
	struct dbstmt *answers;    /* ?1: alert id */
	struct footprint_buf who, said;
	long long delivered, failed, waiting;
};

/* Read alert id's deliveries into fp (who and the counts). 0, or -1 with *cause set. */
static int
footprint_deliveries(struct footprint *fp, long long id, char **cause)
{
	struct dbstmt *st = fp->deliveries;
	int rc;

	fp->who.len = 0;
	fp->delivered = fp->failed = fp->waiting = 0;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *kind = db_column_text(st, 0);
		const char *result = db_column_text(st, 2);
		char *name = report_recipient_name(kind ? kind : "?", db_column_text(st, 1));
		char *one = xasprintf("%s:%s", kind ? kind : "?", name);

		footprint_add(&fp->who, one);
		free(one);
		free(name);
		if (result != NULL && strcmp(result, "sent") == 0)
			fp->delivered++;
		else if (result != NULL && strcmp(result, "failed") == 0)
			fp->failed++;
		else
			fp->waiting++;
	}
	db_reset(st);
	if (rc != DB_DONE)
		return statestore_fail(fp->ss, cause, "reading an alert's deliveries");
	return 0;
}

/*
 * Read the answers given through alert id's links into fp->said: "agreed
 * 2026-03-10 by tm@x (action by 2026-03-20)", on the local date answered;
 * one replaced by a later answer from the same link says so. 0, or -1.
 */
static int
footprint_answers(struct footprint *fp, long long id, char **cause)
{
	struct dbstmt *st = fp->answers;
	int rc;

	fp->said.len = 0;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *kind = db_column_text(st, 0);
		const char *agreed = db_column_text(st, 2);
		localtime_min_t at = explain_local(db_column_text(st, 1));
		const char *kind_sent = db_column_text(st, 5);
		char *who =
		    report_recipient_name(kind_sent ? kind_sent : "?", db_column_text(st, 3));
		char day[DATE_STRLEN], *one;

		if (at >= 0)
			date_format((date_t)(at / 1440), day);
		else
			strcpy(day, "?");
		one =
		    xasprintf("%s %s by %s%s%s%s%s", kind ? kind : "?", day, who,
		              agreed != NULL ? " (action by " : "", agreed != NULL ? agreed : "",
		              agreed != NULL ? ")" : "", db_column_int(st, 4) ? " (replaced)" : "");
		footprint_add(&fp->said, one);
		free(one);
		free(who);
	}
	db_reset(st);
	if (rc != DB_DONE)
		return statestore_fail(fp->ss, cause, "reading an alert's answers");
	return 0;
}

/* Write the current alert row of st (the columns of the main query) with fp's parts. */
static void
footprint_row(FILE *f, struct dbstmt *st, const struct footprint *fp)
{
	char fires[32], created[17];
	localtime_min_t at = explain_local(db_column_text(st, 8));

	fprintf(f, "%lld", db_column_int64(st, 0));
	for (int i = 1; i <= 6; i++) {
		fputc(',', f);
		footprint_field(f, db_column_text(st, i));
	}
	fputc(',', f);
	footprint_field(f, footprint_fires(db_column_text(st, 7), fires, sizeof fires));
	fputc(',', f);
	footprint_field(f, at >= 0 ? footprint_minute(at, created) : db_column_text(st, 8));
	fprintf(f, ",%d,", db_column_int(st, 9));
	footprint_field(f, fp->who.len > 0 ? fp->who.s : "");
	fprintf(f, ",%lld,%lld,%lld,", fp->delivered, fp->failed, fp->waiting);
	footprint_field(f, fp->said.len > 0 ? fp->said.s : "");
	fputs("\r\n", f);
}

/* The footprint export. */
int
report_footprint(FILE *f, struct statestore *ss, date_t from, date_t to, const char *case_ref,
                 char **cause)
{
	char lo[REPORT_UTC_LEN], hi[REPORT_UTC_LEN];
	struct footprint fp = {.ss = ss};
	struct dbstmt *st = NULL;
	int rc, ret = -1;

	fputs(FOOTPRINT_HEADER "\r\n", f);
	if (ss == NULL || ss->db == NULL)
		return 0; /* no state file yet: nothing was alerted */
	report_utc_range(from, to, lo, hi);
	if ((st = report_prepare(ss, footprint_alerts_sql, lo, hi, cause)) == NULL ||
	    (fp.deliveries = report_prepare(ss, footprint_deliveries_sql, NULL, NULL, cause)) ==
	        NULL ||
	    (fp.answers = report_prepare(ss, footprint_answers_sql, NULL, NULL, cause)) == NULL)
		goto out;
	if (case_ref != NULL)
		db_bind_text(st, 3, case_ref, -1, DB_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		long long id = db_column_int64(st, 0);

		if (footprint_deliveries(&fp, id, cause) != 0 ||
		    footprint_answers(&fp, id, cause) != 0)
			goto out;
		footprint_row(f, st, &fp);
	}
	if (rc != DB_DONE)
		statestore_fail(ss, cause, "reading the alerts");
	else
		ret = 0;
out:
	db_finalize(st);
	db_finalize(fp.deliveries);
	db_finalize(fp.answers);
	free(fp.who.s);
	free(fp.said.s);
	return ret;
}
