/*
 * status.c - escalatord status: how the service stands, at a glance, for its
 * admin. Read-only, and safe next to the running service: the configuration
 * is read without its secret files (config_load_public), the state store is
 * opened read-only and read in one snapshot, the case store is opened
 * read-only and asked at most freshness_query, no rule query runs, nothing
 * is written. What it finds becomes one JSON document (--json prints it,
 * status_text.c renders it for people), with the problems that need the
 * admin (exit 1) and notes worth reading (exit 0), most important first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "answers.h"
#include "casestore.h"
#include "clock.h"
#include "command.h"
#include "freshness.h"
#include "runinfo.h"
#include "status.h"
#include "db_pg.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* Failures for good are listed for this many days. */
#define STATUS_FAILURE_DAYS 7
/* At most this many of them in the document (the count is of all). */
#define STATUS_FAILURES_MAX 50
/* A message waiting longer than this is a problem (as the shipped Prometheus rule says). */
#define STATUS_STUCK_SECONDS 3600
/* No pass for longer than this is a problem (the same). */
#define STATUS_QUIET_SECONDS 86400

/* What the command gathers into its document. */
struct status {
	const struct config *cfg;
	struct statestore *ss; /* NULL: it could not be opened */
	time_t now;
	json_t *doc;
	json_t *problems[STATUS_NPRIORITIES]; /* by priority, merged at the end */
	json_t *notes;
};

/* Add a problem of priority pri (what: a stable key; the text: one line for people). */
static void PRINTFLIKE(4, 5)
    status_problem(struct status *s, int pri, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	json_array_append_new(s->problems[pri],
	                      json_pack("{s:s, s:s}", "what", what, "text", text));
	free(text);
}

/* Add a note. */
static void PRINTFLIKE(3, 4) status_note(struct status *s, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	json_array_append_new(s->notes, json_pack("{s:s, s:s}", "what", what, "text", text));
	free(text);
}

/* The state store cannot be read for cause: one problem, however many queries failed. */
static void
status_state_failed(struct status *s, const char *cause)
{
	if (json_array_size(s->problems[STATUS_PRI_STATE]) == 0)
		status_problem(s, STATUS_PRI_STATE, "state_store_unreadable",
		               "cannot read the state store %s: %s", s->cfg->state, cause);
}

/* Prepare sql on the state store; NULL (after saying so) if it fails. */
static struct dbstmt *
status_prepare(struct status *s, const char *sql)
{
	struct dbstmt *st = NULL;

	if (db_prepare(s->ss->db, sql, &st) != DB_OK) {
		status_state_failed(s, db_errmsg(s->ss->db));
		db_finalize(st);
		return NULL;
	}
	return st;
}

/* Column i as a JSON string, or null. */
static json_t *
status_text_col(struct dbstmt *st, int i)
{
	const char *v = db_column_text(st, i);

	return v != NULL ? json_string(v) : json_null();
}

/* A UTC "YYYY-MM-DDTHH:MM:SSZ" as unix seconds, or 0. */
static time_t
status_utc(const char *v)
{
	time_t t = 0;

	return v != NULL && freshness_parse_time(v, &t) == 0 ? t : 0;
}

/* The last whole pass (meta last_pass). */
static void
status_last_pass(struct status *s)
{
	json_t *p = NULL, *o;
	char *cause = NULL;
	time_t started;

	if (runinfo_get(s->ss, RUNINFO_LAST_PASS, &p, &cause) != 0) {
		status_state_failed(s, cause);
		free(cause);
	}
	if (p == NULL || !json_is_object(p)) {
		json_decref(p);
		json_object_set_new(s->doc, "last_pass", json_null());
		return;
	}
	o = json_deep_copy(p);
	started = (time_t)json_integer_value(json_object_get(p, "started"));
	json_object_set_new(o, "ago_seconds",
	                    json_integer(s->now > started ? (json_int_t)(s->now - started) : 0));
	json_object_set_new(s->doc, "last_pass", o);
	if (json_integer_value(json_object_get(p, "failed_rules")) > 0)
		status_problem(s, STATUS_PRI_RULES, "rules_failed",
		               "%lld rule%s failed in the last pass: their clocks were not "
		               "evaluated; journalctl -u escalatord says why",
		               (long long)json_integer_value(json_object_get(p, "failed_rules")),
		               json_integer_value(json_object_get(p, "failed_rules")) == 1 ? ""
		                                                                           : "s");
	if (s->now - started > STATUS_QUIET_SECONDS)
		status_problem(s, STATUS_PRI_QUIET, "no_recent_pass",
		               "no evaluation for over a day: a pass runs when the case store "
		               "changes or a stage falls due; check that escalatord is running "
		               "(systemctl status escalatord) and that the extract arrives");
	if (json_integer_value(json_object_get(p, "skipped_rows")) > 0)
		status_note(s, "rows_skipped",
		            "the last pass skipped %lld rows for bad data (no case reference, a "
		            "start that is not a date): the admin's digest lists them",
		            (long long)json_integer_value(json_object_get(p, "skipped_rows")));
	json_decref(p);
}

/* What the service loaded (meta loaded), against the files on disk now. */
static void
status_loaded(struct status *s)
{
	json_t *l = NULL;
	char *cause = NULL;
	size_t edited = 0, added = 0;

	if (runinfo_get(s->ss, RUNINFO_LOADED, &l, &cause) != 0) {
		status_state_failed(s, cause);
		free(cause);
	}
	if (l == NULL || !json_is_object(l)) {
		json_decref(l);
		json_object_set_new(s->doc, "loaded", json_null());
		status_note(s, "not_started",
		            "the service has not started on this state store yet (only --once has "
		            "run): the files it will load are not recorded");
		return;
	}
	json_object_set_new(s->doc, "loaded",
	                    status_files(l, s->cfg->rules_dir, s->now, &edited, &added));
	if (edited > 0 || added > 0)
		status_note(s, "files_edited",
		            "rule or holiday files changed since the service loaded them (%zu "
		            "edited or removed, %zu new): run escalatord preview, then reload "
		            "(systemctl reload escalatord)",
		            edited, added);
	json_decref(l);
}

/*
 * Several nodes on a PostgreSQL state store: which one leads the instance (the
 * leader table), and whether any node holds the lead now (its advisory lock).
 */
static void
status_leader(struct status *s)
{
	struct dbstmt *st;
	json_t *o;

	if (!db_is_pg(s->ss->db))
		return;
	st = status_prepare(
	    s,
	    "SELECT l.node, l.epoch, l.since, (SELECT count(*) FROM pg_locks k WHERE k.locktype "
	    "= 'advisory' AND k.granted AND ((CAST(k.classid AS bigint) << 32) | CAST(k.objid AS "
	    "bigint)) = CAST(hashtext(current_schema() || ':escalator-lead:' || ?1) AS bigint)) "
	    "FROM (SELECT 1) one LEFT JOIN leader l ON l.instance = ?1");
	if (st == NULL)
		return;
	db_bind_text(st, 1, s->cfg->instance, -1, DB_STATIC);
	if (db_step(st) != DB_ROW) {
		status_state_failed(s, db_errmsg(s->ss->db));
		db_finalize(st);
		return;
	}
	o = json_pack("{s:s, s:o, s:I, s:o, s:b}", "instance", s->cfg->instance, "node",
	              status_text_col(st, 0), "epoch", (json_int_t)db_column_int64(st, 1), "since",
	              status_text_col(st, 2), "held", db_column_int64(st, 3) > 0);
	if (db_column_int64(st, 3) == 0)
		status_problem(s, STATUS_PRI_STATE, "no_leader",
		               "no node leads instance %s now: is escalatord running on any node "
		               "(systemctl status escalatord@%s)?",
		               s->cfg->instance, s->cfg->instance);
	json_object_set_new(s->doc, "leader", o);
	db_finalize(st);
}

/* The outbox by channel and status, the oldest message waiting, the next digest. */
static void
status_outbox(struct status *s)
{
	static const char *const statuses[] = {"pending", "held", "bundled", "sent", "failed"};
	json_t *out = json_object(), *ch[CHANNEL_COUNT];
	struct dbstmt *st;
	long long stuck = 0;
	int k;

	for (k = 0; k < CHANNEL_COUNT; k++) {
		ch[k] = json_object();
		for (size_t i = 0; i < 5; i++)
			json_object_set_new(ch[k], statuses[i], json_integer(0));
		json_object_set_new(ch[k], "waiting_messages", json_integer(0));
		json_object_set_new(ch[k], "oldest_pending", json_null());
		json_object_set_new(ch[k], "next_digest", json_null());
		json_object_set(out, channel_name(k), ch[k]);
		json_decref(ch[k]);
	}
	json_object_set_new(s->doc, "outbox", out);
	/* Alerts (and done notes) to each recipient, not the digests that carry them. */
	if ((st = status_prepare(s, "SELECT kind, status, count(*) FROM delivery WHERE alert_id "
	                            "IS NOT NULL OR closed_id IS NOT NULL GROUP BY kind, "
	                            "status")) == NULL)
		return;
	while (db_step(st) == DB_ROW)
		if ((k = channel_parse(db_column_text(st, 0))) >= 0)
			json_object_set_new(ch[k], db_column_text(st, 1),
			                    json_integer(db_column_int64(st, 2)));
	db_finalize(st);
	/* Messages on the wire: a pending row is one message, an alert alone or a digest. */
	if ((st = status_prepare(
	         s, "SELECT kind, count(*), (SELECT id FROM delivery i WHERE i.status = 'pending' "
	            "AND i.kind = d.kind ORDER BY coalesce(i.queued_at, 0), i.id LIMIT 1), "
	            "min(next_attempt) FROM delivery d WHERE status = 'pending' GROUP BY "
	            "kind")) == NULL)
		return;
	while (db_step(st) == DB_ROW) {
		struct dbstmt *o;

		if ((k = channel_parse(db_column_text(st, 0))) < 0)
			continue;
		json_object_set_new(ch[k], "waiting_messages",
		                    json_integer(db_column_int64(st, 1)));
		if ((o = status_prepare(s, "SELECT queued_at, attempts, last_error, next_attempt "
		                           "FROM delivery WHERE id = ?")) == NULL)
			break;
		db_bind_int64(o, 1, db_column_int64(st, 2));
		if (db_step(o) == DB_ROW) {
			long long q = db_column_int64(o, 0);
			long long waited = q > 0 && s->now > q ? (long long)s->now - q : 0;

			json_object_set_new(
			    ch[k], "oldest_pending",
			    json_pack("{s:I, s:I, s:I, s:o, s:I}", "queued", (json_int_t)q,
			              "waited_seconds", (json_int_t)waited, "attempts",
			              (json_int_t)db_column_int64(o, 1), "last_error",
			              status_text_col(o, 2), "next_attempt",
			              (json_int_t)db_column_int64(st, 3)));
			if (waited > stuck)
				stuck = waited;
		}
		db_finalize(o);
	}
	db_finalize(st);
	if ((st = status_prepare(s, "SELECT kind, min(next_attempt) FROM delivery WHERE status = "
	                            "'held' GROUP BY kind")) == NULL)
		return;
	while (db_step(st) == DB_ROW)
		if ((k = channel_parse(db_column_text(st, 0))) >= 0)
			json_object_set_new(ch[k], "next_digest",
			                    json_integer(db_column_int64(st, 1)));
	db_finalize(st);
	if (stuck > STATUS_STUCK_SECONDS) {
		char span[64];

		status_problem(s, STATUS_PRI_STUCK, "outbox_stuck",
		               "a message has waited %s to be sent: the mail server or a webhook "
		               "is refusing it or cannot be reached (it is retried, never dropped)",
		               freshness_span(stuck, span, sizeof span));
	}
}

/* Deliveries failed for good in the last STATUS_FAILURE_DAYS days, newest first. */
static void
status_failures(struct status *s)
{
	json_t *items = json_array();
	struct dbstmt *st;
	long long count = 0;
	char since[32];
	time_t from = s->now - STATUS_FAILURE_DAYS * 86400;
	struct tm tm;

	gmtime_r(&from, &tm);
	strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(s->doc, "failures",
	                    json_pack("{s:i, s:I, s:o}", "days", STATUS_FAILURE_DAYS, "count",
	                              (json_int_t)0, "items", items));
	/* What went on the wire: a digest (its items fail with it) or an alert on its own. */
	if ((st = status_prepare(
	         s, "SELECT d.kind, d.recipient, d.last_attempt, d.last_error, a.rule, a.case_ref, "
	            "a.stage, CASE WHEN d.alert_id IS NULL AND d.closed_id IS NULL THEN (SELECT "
	            "count(*) FROM delivery m WHERE m.digest_id = d.id) END FROM delivery d LEFT "
	            "JOIN alert a ON a.id = d.alert_id WHERE d.status = 'failed' AND d.digest_id "
	            "IS NULL AND d.last_attempt >= ? ORDER BY d.last_attempt DESC, d.id DESC")) ==
	    NULL)
		return;
	db_bind_text(st, 1, since, -1, DB_STATIC);
	while (db_step(st) == DB_ROW) {
		if (count++ >= STATUS_FAILURES_MAX)
			continue;
		/* recipient as recorded: an address, or a contact's name (never its URL or key). */
		json_array_append_new(
		    items, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "at",
		                     (json_int_t)status_utc(db_column_text(st, 2)), "channel",
		                     status_text_col(st, 0), "recipient", status_text_col(st, 1),
		                     "error", status_text_col(st, 3), "rule",
		                     status_text_col(st, 4), "case", status_text_col(st, 5),
		                     "stage", status_text_col(st, 6), "digest_items",
		                     db_column_null(st, 7) ? json_null()
		                                           : json_integer(db_column_int64(st, 7))));
	}
	db_finalize(st);
	json_object_set_new(json_object_get(s->doc, "failures"), "count", json_integer(count));
	if (count > 0)
		status_problem(s, STATUS_PRI_FAILED, "deliveries_failed",
		               "%lld deliver%s failed for good in the last %d days: the "
		               "recipient%s did not get %s (listed below)",
		               count, count == 1 ? "y" : "ies", STATUS_FAILURE_DAYS,
		               count == 1 ? "" : "s", count == 1 ? "it" : "them");
}

/* Answers by kind, and what was recorded and sent today (local day). */
static void
status_answers_today(struct status *s)
{
	long long counts[ANSWER_NKINDS];
	json_t *a = json_object();
	char *cause = NULL, midnight[32];
	time_t from = clock_instant(clock_local(s->now, NULL) / 1440 * 1440, 0);
	struct dbstmt *st;
	struct tm tm;

	if (answers_count(s->ss, counts, &cause) != 0) {
		status_state_failed(s, cause);
		free(cause);
		memset(counts, 0, sizeof counts);
	}
	for (int k = 0; k < ANSWER_NKINDS; k++)
		json_object_set_new(a, answer_kind_name(k), json_integer(counts[k]));
	json_object_set_new(s->doc, "answers", a);
	gmtime_r(&from, &tm);
	strftime(midnight, sizeof midnight, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((st = status_prepare(s, "SELECT (SELECT count(*) FROM alert WHERE created_at >= ?1), "
	                            "(SELECT count(*) FROM delivery WHERE digest_id IS NULL AND "
	                            "status = 'sent' AND sent_at >= ?1)")) == NULL)
		return;
	db_bind_text(st, 1, midnight, -1, DB_STATIC);
	if (db_step(st) == DB_ROW)
		json_object_set_new(s->doc, "today",
		                    json_pack("{s:I, s:I}", "alerts",
		                              (json_int_t)db_column_int64(st, 0), "sent",
		                              (json_int_t)db_column_int64(st, 1)));
	db_finalize(st);
}

/* The stale-extract alarm as the service recorded it (meta store_stale), or null. */
static json_t *
status_alarm(struct status *s)
{
	struct freshness_state st = {0};
	json_t *j = NULL, *o;
	char *cause = NULL;

	if (s->ss == NULL || runinfo_get(s->ss, FRESHNESS_META, &j, &cause) != 0) {
		free(cause);
		return json_null();
	}
	if (j == NULL || freshness_state_load(j, &st) != 0) {
		json_decref(j);
		return json_null();
	}
	json_decref(j);
	o = json_pack("{s:b, s:I, s:I, s:s?}", "raised", st.stale, "since", (json_int_t)st.since,
	              "told", (json_int_t)st.told, "admin", st.admin);
	freshness_state_clear(&st);
	return o;
}

/* The case store: readable, how old its data is, against max_store_age. */
static void
status_case_store(struct status *s)
{
	const struct config *cfg = s->cfg;
	struct freshness_reading file, r;
	struct casestore *cs = NULL;
	char *cause = NULL, span[64], when[64];
	json_t *o = json_pack("{s:s}", "file", cfg->case_store), *alarm = status_alarm(s);
	long long age;

	json_object_set_new(s->doc, "case_store", o);
	freshness_measure(cfg->case_store, NULL, NULL, &file);
	json_object_set_new(o, "mtime",
	                    file.known ? json_integer((json_int_t)file.data_time) : json_null());
	if ((cs = casestore_open(cfg->case_store, &cause)) == NULL) {
		status_problem(s, STATUS_PRI_CASES, "case_store_unreadable",
		               "the case store cannot be read: %s; no alerts are worked out until "
		               "it can",
		               cause);
		json_object_set_new(o, "readable", json_false());
		json_object_set_new(o, "error", json_string(cause));
		free(cause);
	} else
		json_object_set_new(o, "readable", json_true());
	if (cfg->freshness_query != NULL) {
		if (cs != NULL)
			casestore_set_timeout(cs, cfg->query_timeout);
		freshness_measure(cfg->case_store, cfg->freshness_query, cs, &r);
	} else
		freshness_measure(cfg->case_store, NULL, NULL, &r);
	age = freshness_age(&r, s->now);
	json_object_set_new(o, "source", json_string(r.from_query ? "freshness_query" : "file"));
	json_object_set_new(o, "data_time",
	                    r.known ? json_integer((json_int_t)r.data_time) : json_null());
	json_object_set_new(o, "age_seconds", age >= 0 ? json_integer(age) : json_null());
	json_object_set_new(o, "why", r.why != NULL ? json_string(r.why) : json_null());
	json_object_set_new(o, "max_age_seconds",
	                    cfg->max_store_age > 0 ? json_integer(cfg->max_store_age)
	                                           : json_null());
	json_object_set_new(o, "max_store_age",
	                    cfg->max_store_age_text != NULL ? json_string(cfg->max_store_age_text)
	                                                    : json_null());
	/* Unknown is not fresh; but an unreadable store is its own problem, not a stale one. */
	json_object_set_new(o, "stale",
	                    cfg->max_store_age == 0 || (age < 0 && cs == NULL)
	                        ? json_null()
	                        : json_boolean(age < 0 || age > cfg->max_store_age));
	json_object_set_new(o, "alarm", alarm);
	if (cfg->max_store_age == 0)
		status_note(
		    s, "max_store_age_unset",
		    "max_store_age is not set: nobody is told if the extract stops arriving; "
		    "set e.g. max_store_age = \"26 hours\"; in %s",
		    cfg->path);
	else if ((cs != NULL && age < 0) || age > cfg->max_store_age) {
		const char *admin = json_string_value(json_object_get(alarm, "admin"));
		char *told;

		/* Whether the admin heard: the service records it when it tells. */
		if (!json_is_true(json_object_get(alarm, "raised")))
			told =
			    xstrdup("the service has not told anyone yet (it checks at each poll)");
		else if (admin == NULL)
			told = xstrdup("nobody was told: admin is not set");
		else
			told = xasprintf(
			    "%s was told on %s", admin,
			    freshness_when(json_integer_value(json_object_get(alarm, "told")), when,
			                   sizeof when));
		if (age < 0)
			status_problem(s, STATUS_PRI_STALE, "case_store_age_unknown",
			               "cannot tell how old the case store's data is: %s; %s",
			               r.why, told);
		else
			status_problem(
			    s, STATUS_PRI_STALE, "case_store_stale",
			    "the case store's data is %s old (from %s), over max_store_age "
			    "(%s): check the extract; alerts keep going out from the data "
			    "escalator has; %s",
			    freshness_span(age, span, sizeof span),
			    freshness_when(r.data_time, when, sizeof when), cfg->max_store_age_text,
			    told);
		free(told);
	}
	freshness_reading_clear(&file);
	freshness_reading_clear(&r);
	casestore_close(cs);
}

/* Gather everything into s->doc. */
static void
status_gather(struct status *s)
{
	json_t *all = json_array();
	char *cause = NULL;
	struct stat sb;

	s->ss = statestore_open(s->cfg->state, true, &cause);
	/* On PostgreSQL, "exists": the store has its tables (the service has run). */
	json_object_set_new(s->doc, "state_store",
	                    json_pack("{s:s, s:b}", "file", s->cfg->state, "exists",
	                              db_pg_is_url(s->cfg->state)
	                                  ? s->ss != NULL && s->ss->db != NULL
	                                  : stat(s->cfg->state, &sb) == 0));
	if (s->ss == NULL) {
		status_problem(s, STATUS_PRI_STATE, "state_store_unreadable", "%s", cause);
		free(cause);
	} else if (s->ss->db == NULL) {
		status_problem(
		    s, STATUS_PRI_STATE, "not_run",
		    "the service has not run yet: there is no state store at %s (escalatord "
		    "makes it when it first starts)",
		    s->cfg->state);
	} else if (statestore_begin(s->ss, &cause) != 0) {
		/* (one snapshot for every figure below) */
		status_state_failed(s, cause);
		free(cause);
	} else {
		status_last_pass(s);
		status_leader(s);
		status_loaded(s);
		status_outbox(s);
		status_failures(s);
		status_answers_today(s);
		statestore_rollback(s->ss);
	}
	status_case_store(s);
	for (int p = 0; p < STATUS_NPRIORITIES; p++) {
		json_array_extend(all, s->problems[p]);
		json_decref(s->problems[p]);
	}
	json_object_set_new(s->doc, "problems", all);
	json_object_set_new(s->doc, "notes", s->notes);
	json_object_set_new(s->doc, "ok", json_boolean(json_array_size(all) == 0));
	statestore_close(s->ss);
}

/* escalatord status [--json]. */
int
status_main(const struct command *c)
{
	struct status s;
	struct config *cfg;
	struct diag d;
	char *cause = NULL, *text;
	int rc;

	diag_init(&d);
	cfg = config_load_public(c->config, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].level == DIAG_ERROR)
			fprintf(stderr, "%s\n", d.v[i].text);
	diag_free(&d);
	if (cfg == NULL) {
		fprintf(stderr, "%s: the configuration has errors; run escalatord --check -c %s\n",
		        c->config, c->config);
		return COMMAND_EXIT_FAIL;
	}
	if (clock_set_timezone(cfg->timezone, &cause) != 0) {
		fprintf(stderr, "%s: timezone: %s\n", cfg->path, cause);
		free(cause);
		config_free(cfg);
		return COMMAND_EXIT_FAIL;
	}
	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.now = clock_now();
	/* Every key there from the start (null: nothing known), in the order they print. */
	s.doc = json_pack("{s:i, s:I, s:s, s:b, s:[], s:[], s:n, s:n, s:n, s:n, s:n, s:n, s:n, "
	                  "s:n}",
	                  "version", 1, "now", (json_int_t)s.now, "config", cfg->path, "ok", 0,
	                  "problems", "notes", "state_store", "last_pass", "loaded", "outbox",
	                  "failures", "answers", "today", "case_store");
	for (int p = 0; p < STATUS_NPRIORITIES; p++)
		s.problems[p] = json_array();
	s.notes = json_array();
	status_gather(&s);
	rc = json_is_true(json_object_get(s.doc, "ok")) ? 0 : STATUS_EXIT_ATTENTION;
	if (c->json) {
		if ((text = json_dumps(s.doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
			fatalx("out of memory");
		printf("%s\n", text);
		free(text);
	} else
		status_print(stdout, s.doc);
	json_decref(s.doc);
	config_free(cfg);
	return rc;
}
