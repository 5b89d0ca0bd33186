/*
 * queue.c - the deliveries waiting in the state store: the destinations they
 * wait for (a skip scan of an index), taking and leasing the due ones as
 * delivery records, recording each attempt's outcome, and an audit row for
 * each change of a delivery's state.
 */
#include "queue.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "eval.h"
#include "statestore_impl.h"
#include "xalloc.h"

/*
 * What queue_take reads of a delivery and its alert (none for a digest: its
 * part is set, and bundle.c reads its items).
 */
#define QUEUE_ITEM_COLUMNS                                                                         \
	"d.id, d.alert_id, d.attempts, d.kind, d.recipient, d.copied, d.copied_on, d.part, "       \
	"d.parts, " BUNDLE_ALERT_COLUMNS
#define QUEUE_ITEM_ALERT 9 /* where BUNDLE_ALERT_COLUMNS start */

/*
 * Due deliveries of one kind (with DEST: of one recipient too), the LIMIT
 * applied on an index in due order (rowid last) and only those rows joined
 * to alert: a take costs the same with 10 or 100,000 deliveries pending.
 * ?1 now, ?2 how many, ?3 kind, ?4 recipient.
 */
#define QUEUE_TAKE(DEST)                                                                           \
	"SELECT " QUEUE_ITEM_COLUMNS " FROM (SELECT id AS pid, next_attempt AS pna FROM "          \
	"delivery WHERE status = 'pending' AND kind = ?3 " DEST "AND next_attempt <= ?1 ORDER BY " \
	"next_attempt, id LIMIT ?2) p JOIN delivery d ON d.id = pid LEFT JOIN alert a ON a.id = "  \
	"d.alert_id ORDER BY pna, pid"

/*
 * One destination, all on its index: how many are due (up to ?4), the
 * earliest due and the first in due order (for fairness between
 * destinations), the next after now. ?1 kind, ?2 recipient, ?3 now.
 */
#define QUEUE_PENDING(DEST) "FROM delivery WHERE status = 'pending' AND kind = ?1 " DEST
#define QUEUE_DUE(DEST) QUEUE_PENDING(DEST) "AND next_attempt <= ?3"
/* (clang-format would break these lines at the macro calls.) */
/* clang-format off */
#define QUEUE_STATS(DEST)                                                    \
	"SELECT (SELECT count(*) FROM (SELECT 1 " QUEUE_DUE(DEST) " LIMIT ?4) n), " \
	"(SELECT min(next_attempt) " QUEUE_DUE(DEST) "), "                       \
	"(SELECT id " QUEUE_DUE(DEST) " ORDER BY next_attempt, id LIMIT 1), "    \
	"(SELECT min(next_attempt) " QUEUE_PENDING(DEST) "AND next_attempt > ?3)"
/* clang-format on */

/* The statements of this file. */
const struct statestore_sql queue_statements[] = {
    /* ("?4 IS NULL OR recipient = ?4" would keep SQLite off the recipient column.) */
    {offsetof(struct statestore, q_take_dest), true, QUEUE_TAKE("AND recipient = ?4 ")},
    /* Email all goes through the one mail server: one destination for every address. */
    {offsetof(struct statestore, q_take_kind), true, QUEUE_TAKE("")},
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
    {offsetof(struct statestore, q_dest_stats), false, QUEUE_STATS("AND recipient = ?2 ")},
    {offsetof(struct statestore, q_kind_stats), false, QUEUE_STATS("")},
    {offsetof(struct statestore, q_lease), true,
     "UPDATE delivery SET in_flight = 1, attempts = attempts + 1, next_attempt = ?2 WHERE id = "
     "?1"},
    {offsetof(struct statestore, q_finish), true,
     "UPDATE delivery SET in_flight = 0, status = ?2, next_attempt = ?3, last_error = ?4, "
     "sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END, last_attempt = ?5 WHERE id = "
     "?1"},
    /* A delivery's state before a result is recorded: is it a change? */
    {offsetof(struct statestore, q_state), true,
     "SELECT status, last_error, attempts FROM delivery WHERE id = ?1"},
    {offsetof(struct statestore, q_audit), true,
     "INSERT INTO audit (delivery_id, at, recipient, result, detail) VALUES (?1, ?2, ?3, ?4, "
     "?5)"},
};
const size_t queue_nstatements = sizeof queue_statements / sizeof queue_statements[0];

/* The channel recorded as name (the schema's CHECK allows only known ones). */
static enum channel
queue_channel(const char *name)
{
	int ch = channel_parse(name);

	return ch >= 0 ? (enum channel)ch : CHANNEL_WEBHOOK;
}

/*
 * The current row of a take statement as a delivery record: a single alert
 * with its clock's history, or a digest with its items. NULL if reading
 * them failed.
 */
static struct delivery *
queue_read(struct statestore *ss, struct dbstmt *st)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	long long alert_id = db_column_int64(st, 1);
	int rc;

	d->id = db_column_int64(st, 0);
	d->uid = xasprintf("esc-%s-%lld", ss->instance, d->id);
	d->attempts = db_column_int(st, 2) + 1;
	d->kind = queue_channel(db_column_text(st, 3));
	d->recipient = statestore_col(st, 4);
	if (!db_column_null(st, 7)) {
		d->digest = true;
		d->part = db_column_int(st, 7);
		d->parts = db_column_int(st, 8);
		/* Chat, webhook and Notify deliveries are recorded by the contact's name. */
		if (d->kind != CHANNEL_EMAIL)
			d->contact = xstrdup(d->recipient);
		rc = bundle_items(ss, d);
	} else {
		d->copied = statestore_col(st, 5);
		d->copied_on = statestore_col(st, 6);
		bundle_read_alert(st, QUEUE_ITEM_ALERT, d);
		rc = d->notice ? 0 : bundle_history(ss, d, alert_id);
	}
	if (rc != 0) {
		delivery_free(d);
		return NULL;
	}
	return d;
}

/* Step a take statement (bound) into out[*n...max), then reset it. */
static int
queue_read_all(struct statestore *ss, struct dbstmt *st, struct delivery **out, int max, int *n)
{
	int rc = DB_DONE;

	while (*n < max && (rc = db_step(st)) == DB_ROW) {
		if ((out[*n] = queue_read(ss, st)) == NULL) {
			rc = DB_ERROR;
			break;
		}
		(*n)++;
	}
	if (*n >= max)
		rc = DB_DONE;
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : -1;
}

/* Lease out[0..n): in flight until lease_until, one more attempt. */
static int
queue_lease(struct statestore *ss, struct delivery **out, int n, long long lease_until)
{
	int rc;

	for (int i = 0; i < n; i++) {
		db_bind_int64(ss->q_lease, 1, out[i]->id);
		db_bind_int64(ss->q_lease, 2, lease_until);
		rc = db_step(ss->q_lease);
		db_reset(ss->q_lease);
		if (rc != DB_DONE)
			return -1;
	}
	return 0;
}

/*
 * End a take inside its open transaction: when read_ok, lease the n records
 * read and commit; otherwise, or if that fails, roll back and free them.
 * Returns n or -1.
 */
static int
queue_take_commit(struct statestore *ss, struct delivery **out, int n, long long lease_until,
                  bool read_ok, char **cause)
{
	if (read_ok && queue_lease(ss, out, n, lease_until) == 0) {
		if (statestore_commit(ss, cause) == 0)
			return n;
	} else
		statestore_fail(ss, cause, "taking deliveries from the outbox");
	statestore_rollback(ss);
	for (int i = 0; i < n; i++) {
		delivery_free(out[i]);
		out[i] = NULL;
	}
	return -1;
}

/* Take due deliveries of the given destinations and lease them, in one transaction. */
int
queue_take(struct statestore *ss, long long now, long long lease_until,
           const struct queue_request *reqs, size_t nreqs, struct delivery **out, int max,
           char **cause)
{
	int n = 0;

	if (ss->db == NULL || ss->readonly || max <= 0 || nreqs == 0)
		return 0;
	if (statestore_begin(ss, cause) != 0)
		return -1;
	for (size_t i = 0; i < nreqs && n < max; i++) {
		int want = reqs[i].count < max - n ? reqs[i].count : max - n;
		struct dbstmt *st;

		if (want <= 0)
			continue;
		st = reqs[i].recipient != NULL ? ss->q_take_dest : ss->q_take_kind;
		db_bind_int64(st, 1, now);
		db_bind_int(st, 2, want);
		db_bind_text(st, 3, channel_name(reqs[i].kind), -1, DB_STATIC);
		if (reqs[i].recipient != NULL)
			db_bind_text(st, 4, reqs[i].recipient, -1, DB_STATIC);
		if (queue_read_all(ss, st, out, n + want, &n) != 0)
			return queue_take_commit(ss, out, n, lease_until, false, cause);
	}
	return queue_take_commit(ss, out, n, lease_until, true, cause);
}

/* Groups with a due delivery first, in due order of their first; then by destination. */
static int
queue_group_cmp(const void *pa, const void *pb)
{
	const struct queue_group *a = pa, *b = pb;

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
queue_group_stats(struct statestore *ss, struct queue_group *g, const char *kind, long long now,
                  int due_cap)
{
	struct dbstmt *st = g->recipient != NULL ? ss->q_dest_stats : ss->q_kind_stats;
	int rc;

	db_bind_text(st, 1, kind, -1, DB_STATIC);
	if (g->recipient != NULL)
		db_bind_text(st, 2, g->recipient, -1, DB_STATIC);
	db_bind_int64(st, 3, now);
	db_bind_int(st, 4, due_cap);
	if ((rc = db_step(st)) == DB_ROW) {
		g->due = db_column_int(st, 0);
		g->oldest = db_column_int64(st, 1);
		g->first = db_column_int64(st, 2);
		g->next = db_column_int64(st, 3);
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_ROW ? 0 : -1;
}

/*
 * Pending deliveries grouped by destination, each probed on the
 * delivery_destination index: O(destinations x log n), so a kick costs the
 * same however many deliveries wait.
 */
int
queue_groups(struct statestore *ss, long long now, int due_cap, struct queue_group **out,
             size_t *nout, char **cause)
{
	struct queue_group *g = NULL;
	size_t n = 0, cap = 0;
	char *kind = xstrdup(""), *rcpt = xstrdup("");
	int rc = DB_DONE;

	*out = NULL;
	*nout = 0;
	while (ss->db != NULL) {
		bool email = strcmp(kind, "email") == 0;
		struct dbstmt *st = email ? ss->q_kind_next : ss->q_dest_next;

		/* After email (one destination), step over every address at once. */
		db_bind_text(st, 1, kind, -1, DB_TRANSIENT);
		if (!email)
			db_bind_text(st, 2, rcpt, -1, DB_TRANSIENT);
		if ((rc = db_step(st)) == DB_ROW) {
			free(kind);
			free(rcpt);
			kind = statestore_col(st, 0);
			rcpt = statestore_col(st, 1);
		}
		db_reset(st);
		db_clear_bindings(st);
		if (rc != DB_ROW || kind == NULL || rcpt == NULL)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			g = xreallocarray(g, cap, sizeof *g);
		}
		memset(&g[n], 0, sizeof g[n]);
		g[n].kind = queue_channel(kind);
		g[n].recipient = strcmp(kind, "email") == 0 ? NULL : xstrdup(rcpt);
		n++;
		if (queue_group_stats(ss, &g[n - 1], kind, now, due_cap) != 0) {
			rc = DB_ERROR;
			break;
		}
	}
	free(kind);
	free(rcpt);
	if (rc != DB_DONE) {
		queue_groups_free(g, n);
		return statestore_fail(ss, cause, "reading the outbox");
	}
	if (n > 1)
		qsort(g, n, sizeof *g, queue_group_cmp);
	*out = g;
	*nout = n;
	return 0;
}

/* Free what queue_groups returned. */
void
queue_groups_free(struct queue_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].recipient);
	free(g);
}

/* Does a run of digits end at s followed by a unit of time or size ("10001 milliseconds")? */
static bool
queue_measure(const char *s)
{
	static const char *const units[] = {" ms", " millisecond", " second", " byte", " out of "};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strncmp(s, units[i], strlen(units[i])) == 0)
			return true;
	return false;
}

/*
 * Is error b the same as a, but for the measures in it (curl's "timed out
 * after 10001 milliseconds with 0 bytes received" differs at every attempt)?
 * Any other number, a status code say, must be the same.
 */
static bool
queue_error_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");

			if ((na != nb || strncmp(a, b, na) != 0) && !queue_measure(a + na))
				return false;
			a += na;
			b += nb;
		} else if (*a++ != *b++)
			return false;
	}
	return *a == *b;
}

/*
 * Is outcome o (status, error) a change of the delivery's state? Its first
 * attempt always is. Sets *changed; -1 if the row cannot be read.
 */
static int
queue_changed(struct statestore *ss, long long id, const char *status, const char *error,
              bool *changed)
{
	struct dbstmt *st = ss->q_state;
	int rc;

	*changed = true;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == DB_ROW)
		*changed = db_column_int(st, 2) <= 1 ||
		           strcmp(db_column_text(st, 0), status) != 0 ||
		           !queue_error_same(db_column_text(st, 1), error);
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

/* Record the outcomes of finished attempts. */
int
queue_finish(struct statestore *ss, const struct outcome_record *o, size_t n, char **cause)
{
	static const char *const names[] = {"sent", "pending", "failed"};
	static const char *const results[] = {"sent", "retry", "failed"};
	char now[32];

	if (ss->db == NULL || ss->readonly || n == 0)
		return 0;
	statestore_utc_now(now, sizeof now);
	if (statestore_begin(ss, cause) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* The error kept in the delivery row: none once sent. */
		const char *error = o[i].outcome != OUTCOME_SENT ? o[i].detail : NULL;
		struct dbstmt *st = ss->q_audit;
		bool changed;

		/* Before q_finish: the row still holds the last state. */
		if (queue_changed(ss, o[i].id, names[o[i].outcome], error, &changed) != 0) {
			statestore_fail(ss, cause, "recording delivery results");
			goto fail;
		}
		if (changed) {
			db_bind_int64(st, 1, o[i].id);
			db_bind_text(st, 2, now, -1, DB_STATIC);
			db_bind_text(st, 3, o[i].recipient ? o[i].recipient : "", -1, DB_STATIC);
			db_bind_text(st, 4, results[o[i].outcome], -1, DB_STATIC);
			if (o[i].detail != NULL)
				db_bind_text(st, 5, o[i].detail, -1, DB_STATIC);
			if (statestore_step_done(ss, st, cause, "recording delivery results") != 0)
				goto fail;
		}

		st = ss->q_finish;
		db_bind_int64(st, 1, o[i].id);
		db_bind_text(st, 2, names[o[i].outcome], -1, DB_STATIC);
		db_bind_int64(st, 3, o[i].outcome == OUTCOME_RETRY ? o[i].next_attempt : 0);
		if (error != NULL)
			db_bind_text(st, 4, error, -1, DB_STATIC);
		db_bind_text(st, 5, now, -1, DB_STATIC);
		if (statestore_step_done(ss, st, cause, "recording delivery results") != 0)
			goto fail;
		/* A digest's items share its result (a no-op for any other delivery). */
		if (o[i].outcome != OUTCOME_RETRY &&
		    bundle_finish(ss, o[i].id, names[o[i].outcome], error, now, cause) != 0)
			goto fail;
	}
	if (statestore_commit(ss, cause) == 0)
		return 0;
fail:
	statestore_rollback(ss);
	return -1;
}

/* After a restart, make interrupted deliveries due now. */
int
queue_reset_in_flight(struct statestore *ss, char **cause)
{
	static const char sql[] =
	    "UPDATE delivery SET in_flight = 0, next_attempt = 0 WHERE in_flight = 1";

	if (ss->db == NULL || ss->readonly)
		return 0;
	if (db_exec(ss->db, sql, NULL) != DB_OK)
		return statestore_fail(ss, cause, sql);
	return db_changes(ss->db);
}

/* Number of deliveries still pending. */
long long
queue_depth(struct statestore *ss)
{
	struct dbstmt *st;
	long long n = 0;

	if (ss->db == NULL)
		return 0;
	if (db_prepare(ss->db, "SELECT count(*) FROM delivery WHERE status IN ('pending', 'held')",
	               &st) != DB_OK)
		return -1;
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

/*
 * The outbox's figures, each on a partial index (measured on a million-row
 * table with 100,000 pending and 100,000 held: about 30 ms in all): counts
 * by kind on delivery_kind_due and delivery_held_dest, and the oldest
 * pending as the lowest id on delivery_pending (ids grow with queued_at; a
 * min(queued_at) would read every pending row's table entry, ten times the
 * cost). Rows recorded before queued_at existed have none: then the slower
 * min over those that do.
 */
static const char *const queue_stats_sql[] = {
    "SELECT kind, count(*) FROM delivery WHERE status = 'pending' GROUP BY kind",
    "SELECT kind, count(*) FROM delivery WHERE status = 'held' GROUP BY kind",
    /* (Unprompted, SQLite walks the table in id order until a pending row: a scan.) */
    ("SELECT queued_at FROM delivery WHERE id = (SELECT min(id) FROM delivery INDEXED BY "
     "delivery_pending WHERE status = 'pending')"),
    "SELECT min(queued_at) FROM delivery WHERE status = 'pending'",
};

/* The outbox's figures for /metrics. */
int
queue_stats(struct statestore *ss, struct queue_stats *out, char **cause)
{
	struct dbstmt *st;
	int ch, rc;

	memset(out, 0, sizeof *out);
	if (ss->db == NULL)
		return 0;
	for (size_t q = 0; q < 4; q++) {
		/* The slower query only when the oldest pending row has no queued_at. */
		if (q == 3 && out->oldest != 0)
			break;
		if (db_prepare(ss->db, queue_stats_sql[q], &st) != DB_OK)
			return statestore_fail(ss, cause, "reading the outbox's figures");
		while ((rc = db_step(st)) == DB_ROW) {
			if (q >= 2)
				out->oldest = db_column_int64(st, 0);
			else if ((ch = channel_parse(db_column_text(st, 0))) >= 0)
				(q == 0 ? out->pending : out->held)[ch] = db_column_int64(st, 1);
		}
		if (rc != DB_DONE) {
			statestore_fail(ss, cause, "reading the outbox's figures");
			db_finalize(st);
			return -1;
		}
		db_finalize(st);
	}
	return 0;
}
