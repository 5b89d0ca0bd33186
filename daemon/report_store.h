/*
 * report_store.h - what the report's two readers of the state store share
 * (report_state.c, report_footprint.c): the range as UTC times, a delivery's
 * result as the report counts it, a recipient as people may read it.
 */
#ifndef ESCALATOR_REPORT_STORE_H
#define ESCALATOR_REPORT_STORE_H

#include "db.h"

#include "date.h"
#include "statestore.h"

/* A UTC time as the state store records it ("YYYY-MM-DDTHH:MM:SSZ"), with room to spare. */
#define REPORT_UTC_LEN 32

/*
 * A delivery d's result as the report counts it: a row bundled into a digest
 * (LEFT JOIN delivery g ON g.id = d.digest_id) has the digest's status, so
 * 'sent', 'failed', or 'held', 'pending', 'bundled' (waiting). NULL when the
 * alert has no delivery. (bundle_finish copies a digest's result to its rows
 * in the same transaction; the report reads it from the digest, which
 * carries it, rather than rely on that.)
 */
#define REPORT_DELIVERY_RESULT                                                                     \
	"CASE WHEN d.status = 'bundled' THEN coalesce(g.status, 'bundled') ELSE d.status END"

/* The service's own notices to the admin contact (notice.h): not about a case. */
#define REPORT_NOT_NOTICE(col) "substr(" col ", 1, 10) <> 'escalator-'"

/*
 * The local dates from..to (inclusive) as UTC times: a time t recorded by
 * the state store is in the range when lo <= t < hi (the strings compare as
 * the times do). The configured time zone must be in force.
 */
void report_utc_range(date_t from, date_t to, char lo[REPORT_UTC_LEN], char hi[REPORT_UTC_LEN]);

/*
 * Prepare sql on ss's handle, with the range lo..hi bound to its first two
 * parameters unless lo is NULL; NULL with *cause set. lo and hi must outlive
 * the statement's use (bound without a copy).
 */
struct dbstmt *report_prepare(struct statestore *ss, const char *sql, const char *lo,
                              const char *hi, char **cause);

/*
 * A recipient as recorded, fit to print: an email address or a contact's
 * name as it is; a store written before chat and webhook deliveries recorded
 * their contact's name may hold the URL, which carries a token: then "kind
 * (host)". Allocated.
 */
char *report_recipient_name(const char *kind, const char *recorded);

#endif
