/*
 * bundle.c - digests in the state store. A delivery waiting for a digest is
 * 'held' until its sending time (next_attempt). When the time comes,
 * bundle_form makes one 'pending' digest delivery per destination (in parts
 * of notifier_digest_limit items) and marks the held rows 'bundled' into it:
 * from then on the digest is an ordinary outbox delivery (leased, retried,
 * resumed after a crash with the same id), and its result is its items'.
 */
#include "bundle.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"
#include "notice.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* An item of a digest: the bundled row, its alert (if any) and its closed clock (if any). */
#define BUNDLE_ITEM                                                                                \
	"SELECT m.id, m.alert_id, m.copied, m.copied_on, m.closed_id, " BUNDLE_ALERT_COLUMNS       \
	", c.rule, c.title, c.case_ref, c.start, c.due, c.last_stage, c.label, c.closed_on, "      \
	"c.days_late FROM delivery m LEFT JOIN alert a ON a.id = m.alert_id LEFT JOIN "            \
	"closed_clock c ON c.id = m.closed_id WHERE m.digest_id = ?1 ORDER BY m.id"
/* Where the closed clock's columns start in BUNDLE_ITEM. */
#define BUNDLE_ITEM_CLOSED (5 + BUNDLE_NALERT_COLUMNS)

/* The statements of this file. */
const struct statestore_sql bundle_statements[] = {
    {offsetof(struct statestore, q_held_next), false,
     "SELECT min(next_attempt) FROM delivery WHERE status = 'held' AND next_attempt > ?1"},
    {offsetof(struct statestore, q_held_any), false,
     "SELECT 1 FROM delivery WHERE status = 'held' AND next_attempt <= ?1 LIMIT 1"},
    /* The next destinations with something due, on delivery_held_dest (no sort). */
    {offsetof(struct statestore, q_held_dests), false,
     "SELECT DISTINCT kind, recipient FROM delivery WHERE status = 'held' AND next_attempt <= "
     "?1 ORDER BY kind, recipient LIMIT ?2"},
    /* One destination's, most urgent first: part 1 of a digest in parts carries what matters. */
    {offsetof(struct statestore, q_held_members), false,
     "SELECT d.id FROM delivery d LEFT JOIN alert a ON a.id = d.alert_id WHERE d.status = "
     "'held' AND d.kind = ?1 AND d.recipient = ?2 AND d.next_attempt <= ?3 ORDER BY "
     "d.closed_id IS NOT NULL, d.copied IS NOT NULL, CASE a.urgency WHEN 'escalation' THEN 0 "
     "WHEN 'reminder' THEN 2 ELSE 1 END, a.days_late DESC, d.id"},
    {offsetof(struct statestore, q_digest_new), true,
     "INSERT INTO delivery (kind, recipient, status, next_attempt, part, parts, queued_at) "
     "VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6) RETURNING id"},
    {offsetof(struct statestore, q_bundle), true,
     "UPDATE delivery SET status = 'bundled', digest_id = ?2 WHERE id = ?1 AND status = "
     "'held'"},
    {offsetof(struct statestore, q_items), false, BUNDLE_ITEM},
    /* Newest first (reversed when read), so that a long history keeps its latest stages. */
    {offsetof(struct statestore, q_history), false,
     "SELECT coalesce(a.label, a.stage), a.created_at, d.recipient, d.status, d.copied IS NOT "
     "NULL FROM alert a JOIN delivery d ON d.alert_id = a.id WHERE a.rule = ?1 AND a.case_ref = "
     "?2 AND a.start = ?3 AND a.id < ?4 AND d.id != ?5 ORDER BY a.id DESC, d.id DESC LIMIT ?6"},
    {offsetof(struct statestore, q_members_finish), true,
     "UPDATE delivery SET status = ?2, in_flight = 0, last_error = ?3, last_attempt = ?4, "
     "sent_at = CASE WHEN ?2 = 'sent' THEN ?4 ELSE sent_at END WHERE digest_id = ?1 AND status "
     "= 'bundled'"},
};
const size_t bundle_nstatements = sizeof bundle_statements / sizeof bundle_statements[0];

/* The urgency recorded as name (NULL in alerts recorded before: overdue). */
static enum delivery_urgency
bundle_urgency(const char *name)
{
	if (name != NULL && strcmp(name, "escalation") == 0)
		return DELIVERY_ESCALATION;
	if (name != NULL && strcmp(name, "reminder") == 0)
		return DELIVERY_REMINDER;
	return DELIVERY_OVERDUE;
}

/* Read BUNDLE_ALERT_COLUMNS from column col of st into d. */
void
bundle_read_alert(struct dbstmt *st, int col, struct delivery *d)
{
	char status[EVAL_STATUS_LEN];

	d->rule = statestore_col(st, col + 0);
	d->title = statestore_col(st, col + 1);
	d->case_ref = statestore_col(st, col + 2);
	d->stage = statestore_col(st, col + 3);
	d->start = statestore_col(st, col + 4);
	d->due = statestore_col(st, col + 5);
	d->fires = statestore_col(st, col + 6);
	d->subject = statestore_col(st, col + 7);
	d->body = statestore_col(st, col + 8);
	delivery_parse_fields(d, db_column_text(st, col + 9));
	d->days_late = db_column_int(st, col + 10);
	d->expected = statestore_col(st, col + 11);
	/* An alert recorded before alerts kept their status: the one place it is made up. */
	if ((d->status = statestore_col(st, col + 12)) == NULL)
		d->status =
		    xstrdup(eval_status_recorded(d->days_late, d->due, status, sizeof status));
	/* Alerts recorded before labels: the stage's name. */
	if ((d->label = statestore_col(st, col + 13)) == NULL)
		d->label = xstrdup_or_null(d->stage);
	d->case_url = statestore_col(st, col + 14);
	d->urgency = bundle_urgency(db_column_text(st, col + 15));
	d->notice = d->rule != NULL && notice_own(d->rule);
}

/* Read the current BUNDLE_ITEM row as an item. */
static struct delivery *
bundle_item(struct statestore *ss, struct dbstmt *st)
{
	struct delivery *it = xcalloc(1, sizeof *it);
	long long alert_id = db_column_int64(st, 1);
	int c = BUNDLE_ITEM_CLOSED;

	it->id = db_column_int64(st, 0);
	it->copied = statestore_col(st, 2);
	it->copied_on = statestore_col(st, 3);
	if (db_column_null(st, 4)) {
		bundle_read_alert(st, 5, it);
		if (!it->notice && bundle_history(ss, it, alert_id) != 0) {
			delivery_free(it);
			return NULL;
		}
		return it;
	}
	it->closed = true;
	it->rule = statestore_col(st, c + 0);
	it->title = statestore_col(st, c + 1);
	it->case_ref = statestore_col(st, c + 2);
	it->start = statestore_col(st, c + 3);
	it->due = statestore_col(st, c + 4);
	it->stage = statestore_col(st, c + 5);
	if ((it->label = statestore_col(st, c + 6)) == NULL)
		it->label = xstrdup_or_null(it->stage);
	it->closed_on = statestore_col(st, c + 7);
	it->closed_late = db_column_int(st, c + 8);
	it->days_late = it->closed_late;
	return it;
}

/* Fill digest d with its items. */
int
bundle_items(struct statestore *ss, struct delivery *d)
{
	struct dbstmt *st = ss->q_items;
	size_t cap = 0;
	int rc;

	db_bind_int64(st, 1, d->id);
	while ((rc = db_step(st)) == DB_ROW) {
		struct delivery *it = bundle_item(ss, st);

		if (it == NULL) {
			rc = DB_ERROR;
			break;
		}
		if (d->nitems == cap) {
			cap = cap ? cap * 2 : 16;
			d->items = xreallocarray(d->items, cap, sizeof *d->items);
		}
		d->items[d->nitems++] = it;
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : -1;
}

/* Read the history of the clock of alert alert_id into item. */
int
bundle_history(struct statestore *ss, struct delivery *item, long long alert_id)
{
	struct dbstmt *st = ss->q_history;
	struct delivery_event *ev;
	int rc;

	if (item->rule == NULL || item->case_ref == NULL || item->start == NULL)
		return 0;
	db_bind_text(st, 1, item->rule, -1, DB_STATIC);
	db_bind_text(st, 2, item->case_ref, -1, DB_STATIC);
	db_bind_text(st, 3, item->start, -1, DB_STATIC);
	db_bind_int64(st, 4, alert_id);
	db_bind_int64(st, 5, item->id);
	db_bind_int(st, 6, BUNDLE_HISTORY_MAX);
	item->history = xcalloc(BUNDLE_HISTORY_MAX, sizeof *item->history);
	while ((rc = db_step(st)) == DB_ROW && item->nhistory < BUNDLE_HISTORY_MAX) {
		const char *status = db_column_text(st, 3);

		ev = &item->history[item->nhistory++];
		ev->stage = statestore_col(st, 0);
		ev->when = statestore_col(st, 1);
		ev->recipient = statestore_col(st, 2);
		ev->status = xstrdup(
		    status != NULL && (strcmp(status, "sent") == 0 || strcmp(status, "failed") == 0)
		        ? status
		        : "waiting");
		ev->copied = db_column_int(st, 4) != 0;
	}
	db_reset(st);
	db_clear_bindings(st);
	if ((rc == DB_DONE || rc == DB_ROW) && answers_read(ss, item) != 0)
		rc = DB_ERROR;
	/* Oldest first. */
	for (size_t i = 0; i < item->nhistory / 2; i++) {
		struct delivery_event t = item->history[i];

		item->history[i] = item->history[item->nhistory - 1 - i];
		item->history[item->nhistory - 1 - i] = t;
	}
	return rc == DB_DONE || rc == DB_ROW ? 0 : -1;
}

/* One destination with deliveries held until now. */
struct bundle_dest {
	char *kind;
	char *recipient;
};

/* Up to max destinations with deliveries held until now into *dests. Returns how many, or -1. */
static int
bundle_dests(struct statestore *ss, long long now, int max, struct bundle_dest **dests)
{
	struct dbstmt *st = ss->q_held_any;
	int rc, n = 0;

	*dests = NULL;
	/* On delivery_held: nothing due costs one probe, however much waits for later. */
	db_bind_int64(st, 1, now);
	rc = db_step(st);
	db_reset(st);
	db_clear_bindings(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? 0 : -1;
	st = ss->q_held_dests;
	*dests = xcalloc((size_t)max, sizeof **dests);
	db_bind_int64(st, 1, now);
	db_bind_int(st, 2, max);
	while (n < max && (rc = db_step(st)) == DB_ROW) {
		(*dests)[n].kind = statestore_col(st, 0);
		(*dests)[n].recipient = statestore_col(st, 1);
		if ((*dests)[n].kind != NULL && (*dests)[n].recipient != NULL)
			n++;
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE || rc == DB_ROW ? n : -1;
}

/* One destination's deliveries held until now, in bundling order. Returns 0 or -1. */
static int
bundle_members(struct statestore *ss, const struct bundle_dest *b, long long now, long long **ids,
               size_t *n, size_t *cap)
{
	struct dbstmt *st = ss->q_held_members;
	int rc;

	*n = 0;
	db_bind_text(st, 1, b->kind, -1, DB_STATIC);
	db_bind_text(st, 2, b->recipient, -1, DB_STATIC);
	db_bind_int64(st, 3, now);
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*ids = xreallocarray(*ids, *cap, sizeof **ids);
		}
		(*ids)[(*n)++] = db_column_int64(st, 0);
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? 0 : -1;
}

/* An item and the digest it goes into. */
struct bundle_pair {
	long long id, digest;
};

/* qsort order of pairs: by item id. */
static int
bundle_pair_cmp(const void *pa, const void *pb)
{
	const struct bundle_pair *a = pa, *b = pb;

	return (a->id > b->id) - (a->id < b->id);
}

/*
 * Make the digests (in parts) of ids[0..n), one destination's items, and
 * note in pairs (from *npairs on) which digest each item goes into. Returns
 * how many digests, or -1.
 */
static int
bundle_dest(struct statestore *ss, const struct bundle_dest *b, const long long *ids, size_t n,
            long long now, struct bundle_pair *pairs, size_t *npairs, char **cause)
{
	struct dbstmt *st = ss->q_digest_new;
	long long digest;
	int ch = channel_parse(b->kind), parts;
	size_t per = (size_t)notifier_digest_limit(ch >= 0 ? (enum channel)ch : CHANNEL_WEBHOOK);

	parts = (int)((n + per - 1) / per);
	for (int p = 0; p < parts; p++) {
		db_bind_text(st, 1, b->kind, -1, DB_STATIC);
		db_bind_text(st, 2, b->recipient, -1, DB_STATIC);
		db_bind_int64(st, 3, now);
		db_bind_int(st, 4, p + 1);
		db_bind_int(st, 5, parts);
		db_bind_int64(st, 6, (long long)time(NULL));
		if (statestore_step_id(ss, st, &digest, cause, "recording a digest") != 0)
			return -1;
		for (size_t i = (size_t)p * per; i < n && i < (size_t)(p + 1) * per; i++) {
			pairs[*npairs].id = ids[i];
			pairs[(*npairs)++].digest = digest;
		}
	}
	return parts;
}

/*
 * Mark each item of pairs[0..n) bundled into its digest, in id order: the
 * rows are then written where they lie, page after page, not all over the
 * table (a first start at a million clocks: seconds instead of a minute).
 */
static int
bundle_mark(struct statestore *ss, struct bundle_pair *pairs, size_t n, char **cause)
{
	qsort(pairs, n, sizeof *pairs, bundle_pair_cmp);
	for (size_t i = 0; i < n; i++) {
		db_bind_int64(ss->q_bundle, 1, pairs[i].id);
		db_bind_int64(ss->q_bundle, 2, pairs[i].digest);
		if (statestore_step_done(ss, ss->q_bundle, cause, "recording a digest") != 0)
			return -1;
	}
	return 0;
}

/* The earliest held time after now, 0 if none. */
static long long
bundle_next(struct statestore *ss, long long now)
{
	struct dbstmt *st = ss->q_held_next;
	long long next = 0;

	db_bind_int64(st, 1, now);
	if (db_step(st) == DB_ROW)
		next = db_column_int64(st, 0);
	db_reset(st);
	db_clear_bindings(st);
	return next;
}

/* Bundle the deliveries held until now, a batch of destinations at a time. */
int
bundle_form(struct statestore *ss, long long now, size_t max_items, long long *next, bool *more,
            char **cause)
{
	struct bundle_dest *dests = NULL;
	struct bundle_pair *pairs = NULL;
	long long *ids = NULL;
	size_t npairs = 0, cappairs = 0, nids = 0, capids = 0;
	int ndests, made = 0, k = 0, i;

	*next = 0;
	*more = false;
	if (ss->db == NULL || ss->readonly)
		return 0;
	if ((ndests = bundle_dests(ss, now, BUNDLE_DESTS, &dests)) < 0) {
		free(dests);
		return statestore_fail(ss, cause, "reading deliveries held for a digest");
	}
	if (ndests > 0 && statestore_begin(ss, cause) != 0)
		k = -1;
	for (i = 0; k >= 0 && i < ndests && (i == 0 || npairs < max_items); i++) {
		if (bundle_members(ss, &dests[i], now, &ids, &nids, &capids) != 0) {
			k = statestore_fail(ss, cause, "reading deliveries held for a digest");
			break;
		}
		if (npairs + nids > cappairs) {
			cappairs = (npairs + nids) * 2;
			pairs = xreallocarray(pairs, cappairs, sizeof *pairs);
		}
		if ((k = bundle_dest(ss, &dests[i], ids, nids, now, pairs, &npairs, cause)) >= 0)
			made += k;
	}
	/* Destinations left for the next call: those not reached, and any beyond this batch. */
	*more = i < ndests || ndests == BUNDLE_DESTS;
	if (ndests > 0 && (k < 0 || bundle_mark(ss, pairs, npairs, cause) != 0 ||
	                   statestore_commit(ss, cause) != 0)) {
		statestore_rollback(ss);
		made = -1;
	}
	for (int j = 0; j < ndests; j++) {
		free(dests[j].kind);
		free(dests[j].recipient);
	}
	free(dests);
	free(pairs);
	free(ids);
	if (made >= 0)
		*next = bundle_next(ss, now);
	return made;
}

/* A digest finished: the same for every item in it. */
int
bundle_finish(struct statestore *ss, long long id, const char *status, const char *error,
              const char *now, char **cause)
{
	struct dbstmt *st = ss->q_members_finish;

	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, status, -1, DB_STATIC);
	if (error != NULL)
		db_bind_text(st, 3, error, -1, DB_STATIC);
	db_bind_text(st, 4, now, -1, DB_STATIC);
	return statestore_step_done(ss, st, cause, "recording a digest's result");
}
