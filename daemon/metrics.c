/*
 * metrics.c - what the service says about its health: the counters the loop
 * keeps, /metrics in the Prometheus text format (0.0.4), /healthz.
 *
 * What a scrape costs: the counters are kept in memory as things happen (a
 * pass's rules, each alert, each delivery attempt, reloads); the state
 * store is read at most once every METRICS_STORE_EVERY seconds, however
 * often it is scraped: the outbox's counts and oldest pending delivery on
 * the partial indexes of pending and held deliveries (queue_stats: it grows
 * with what waits, not with the million rows sent, about 30 ms for 100,000
 * waiting) and the answers by kind (the response table: a few thousand rows a
 * year). Then two stat() of the case store, and the text itself (a line per
 * rule and stage). No label holds a case reference: rule ids, stage names,
 * channels, results and answer kinds only.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "answers.h"
#include "clock.h"
#include "daemon_impl.h"
#include "log.h"
#include "queue.h"
#include "xalloc.h"

#ifndef ESCALATOR_VERSION
#define ESCALATOR_VERSION "0"
#endif

/* The state store is read for a scrape at most this often (seconds). */
#define METRICS_STORE_EVERY 5
/* /healthz: stalled when the case store was not looked at for this many poll intervals. */
#define METRICS_STALL_POLLS 3
/* /healthz: the longest reason, in bytes. */
#define METRICS_REASON_MAX 200

/* One rule's series, kept by id: a reload may drop, add or change rules. */
struct metrics_rule {
	char *id;
	const struct rule *r; /* as in force now; NULL: a reload dropped it (its counters stay) */
	char **stages;        /* every stage name it has had (a reload may add some) */
	size_t nstages;
	size_t *slot;         /* r's stage i is stages[slot[i]] */
	long long *alerts;    /* [nstages] counters */
	long long *at_stage;  /* [nstages] clocks at each stage in the last complete read */
	long long open;       /* rows in the last complete read */
	bool read;            /* a complete read has set open and at_stage */
	double query_seconds; /* SQLite's time on the query in the last pass, -1: never ran */
	long long failures, skipped;
};

struct metrics {
	struct metrics_rule *rules;
	size_t nrules;

	long long passes[2]; /* ok, failed */
	bool last_ok;
	time_t last_pass;
	double last_duration;
	long long pass_started_ns;

	long long deliveries[CHANNEL_COUNT][3]; /* by enum delivery_status */
	long long reloads[2];                   /* ok, failed */
	bool last_reload_ok;
	time_t last_reload;

	long long created_ns, polled_ns;
	char *store_reason; /* why the case store cannot be read, as last told */

	/* The state store's figures, read at most every METRICS_STORE_EVERY seconds. */
	long long store_read_ns;
	bool store_known, store_failing;
	struct queue_stats q;
	bool answers_known;
	long long answers[ANSWER_NKINDS];      /* counters: never go down */
	long long answers_seen[ANSWER_NKINDS]; /* as the store last counted them */
};

/* What a scrape reads of the service besides the counters. */
struct metrics_view {
	time_t now;
	long long in_flight;
	bool case_readable;
	bool case_age_known;
	long long case_age;
};

/* Counters for the loop. */
struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof *m);

	m->last_ok = true;
	m->last_reload_ok = true;
	m->created_ns = clock_monotonic_ns();
	return m;
}

/* Free m. */
void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrules; i++) {
		struct metrics_rule *mr = &m->rules[i];

		for (size_t s = 0; s < mr->nstages; s++)
			free(mr->stages[s]);
		free(mr->stages);
		free(mr->slot);
		free(mr->alerts);
		free(mr->at_stage);
		free(mr->id);
	}
	free(m->rules);
	free(m->store_reason);
	free(m);
}

/* The slot of stage name in mr, added (at zero) if it is new. */
static size_t
metrics_stage_slot(struct metrics_rule *mr, const char *name)
{
	size_t s;

	for (s = 0; s < mr->nstages; s++)
		if (strcmp(mr->stages[s], name) == 0)
			return s;
	mr->stages = xreallocarray(mr->stages, s + 1, sizeof *mr->stages);
	mr->alerts = xreallocarray(mr->alerts, s + 1, sizeof *mr->alerts);
	mr->at_stage = xreallocarray(mr->at_stage, s + 1, sizeof *mr->at_stage);
	mr->stages[s] = xstrdup(name);
	mr->alerts[s] = mr->at_stage[s] = 0;
	mr->nstages = s + 1;
	return s;
}

/* The series of rule r: by pointer (rules in force), else by id, else new (not in force). */
static struct metrics_rule *
metrics_find(struct metrics *m, const struct rule *r)
{
	struct metrics_rule *mr;

	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].r == r)
			return &m->rules[i];
	for (size_t i = 0; i < m->nrules; i++)
		if (strcmp(m->rules[i].id, r->id) == 0)
			return &m->rules[i];
	m->rules = xreallocarray(m->rules, m->nrules + 1, sizeof *m->rules);
	mr = &m->rules[m->nrules++];
	memset(mr, 0, sizeof *mr);
	mr->id = xstrdup(r->id);
	mr->query_seconds = -1;
	return mr;
}

/* The rules in force from now on. */
void
metrics_rules(struct metrics *m, const struct ruleset *rs)
{
	/* The old rules are freed after this: no pointer to them may stay. */
	for (size_t i = 0; i < m->nrules; i++)
		m->rules[i].r = NULL;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct metrics_rule *mr = metrics_find(m, r);

		mr->r = r;
		free(mr->slot);
		mr->slot = xcalloc(r->nstages + 1, sizeof *mr->slot);
		for (size_t s = 0; s < r->nstages; s++)
			mr->slot[s] = metrics_stage_slot(mr, r->stages[s].name);
	}
}

/* A pass has started. */
void
metrics_pass_start(struct metrics *m)
{
	m->pass_started_ns = clock_monotonic_ns();
}

/* A pass has ended. */
void
metrics_pass_end(struct metrics *m, bool ok)
{
	m->passes[ok ? 0 : 1]++;
	m->last_ok = ok;
	m->last_pass = clock_now();
	m->last_duration = (double)(clock_monotonic_ns() - m->pass_started_ns) / 1e9;
}

/* What a pass made of one rule. */
void
metrics_rule_cb(void *arg, const struct evaluate_rule_stats *rs)
{
	struct metrics *m = arg;
	struct metrics_rule *mr = metrics_find(m, rs->r);

	mr->skipped += rs->skipped_rows;
	if (rs->failed)
		mr->failures++;
	if ((rs->complete || rs->failed) && rs->query_seconds >= 0)
		mr->query_seconds = rs->query_seconds;
	/* A read cut short (failed, or stopped) would undercount: keep the last whole one. */
	if (!rs->complete || rs->at_stage == NULL || mr->r != rs->r)
		return;
	mr->open = rs->rows;
	for (size_t s = 0; s < mr->nstages; s++)
		mr->at_stage[s] = 0;
	for (size_t s = 0; s < rs->r->nstages; s++)
		mr->at_stage[mr->slot[s]] = rs->at_stage[s];
	mr->read = true;
}

/* An alert was recorded. */
void
metrics_alert(struct metrics *m, const struct rule *r, int stage)
{
	struct metrics_rule *mr = metrics_find(m, r);
	size_t slot;

	if (stage < 0 || (size_t)stage >= r->nstages)
		return;
	/* (The slot first: finding it may move mr->alerts.) */
	slot = mr->r == r ? mr->slot[stage] : metrics_stage_slot(mr, r->stages[stage].name);
	mr->alerts[slot]++;
}

/* A delivery attempt ended. */
void
metrics_delivery_cb(void *arg, enum channel kind, enum delivery_status status)
{
	struct metrics *m = arg;

	if ((int)kind >= 0 && kind < CHANNEL_COUNT && (int)status >= 0 && status <= 2)
		m->deliveries[kind][status]++;
}

/* A reload ended. */
void
metrics_reload(struct metrics *m, bool ok)
{
	m->reloads[ok ? 0 : 1]++;
	m->last_reload_ok = ok;
	m->last_reload = clock_now();
}

/* The loop looked at the case store. */
void
metrics_polled(struct metrics *m)
{
	m->polled_ns = clock_monotonic_ns();
}

/* Why the case store cannot be read: one line, control characters as spaces, clipped. */
void
metrics_store_bad(struct metrics *m, const char *reason)
{
	size_t n = strlen(reason);

	free(m->store_reason);
	m->store_reason = xstrndup(reason, n < METRICS_REASON_MAX ? n : METRICS_REASON_MAX);
	for (char *p = m->store_reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* Read the state store's figures if the last reading is older than METRICS_STORE_EVERY. */
static void
metrics_refresh(struct metrics *m, struct statestore *ss, long long now_ns)
{
	long long counts[ANSWER_NKINDS];
	struct queue_stats q;
	char *cause = NULL;

	if (m->store_read_ns != 0 && now_ns - m->store_read_ns < METRICS_STORE_EVERY * 1000000000LL)
		return;
	m->store_read_ns = now_ns;
	if (queue_stats(ss, &q, &cause) == 0 && answers_count(ss, counts, &cause) == 0) {
		m->q = q;
		m->store_known = true;
		m->store_failing = false;
		/* Retention removes old answers: the counters only take what is new. */
		for (int k = 0; k < ANSWER_NKINDS; k++) {
			if (!m->answers_known)
				m->answers[k] = counts[k];
			else if (counts[k] > m->answers_seen[k])
				m->answers[k] += counts[k] - m->answers_seen[k];
			m->answers_seen[k] = counts[k];
		}
		m->answers_known = true;
		return;
	}
	/* Once per outage, not once per scrape; the figures last read are shown meanwhile. */
	if (!m->store_failing)
		log_warn("metrics: %s; /metrics shows the outbox as last read", cause);
	m->store_failing = true;
	free(cause);
}

/* Seconds since the case store (its file or its -wal file) last changed; false if unknown. */
static bool
metrics_case_age(const char *path, time_t now, long long *age)
{
	struct stat st;
	char *wal;
	time_t newest;

	if (path == NULL || stat(path, &st) != 0)
		return false;
	newest = st.st_mtime;
	wal = xasprintf("%s-wal", path);
	if (stat(wal, &st) == 0 && st.st_mtime > newest)
		newest = st.st_mtime;
	free(wal);
	*age = now > newest ? (long long)(now - newest) : 0;
	return true;
}

/* The HELP and TYPE lines of a family. */
static void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format escapes it: backslash, double quote and line feed. */
static void
metrics_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* The start of a sample: name{k1="v1",k2="v2"} and a space (k1, k2 may be NULL). */
static void
metrics_sample(FILE *f, const char *name, const char *k1, const char *v1, const char *k2,
               const char *v2)
{
	fputs(name, f);
	if (k1 != NULL) {
		fprintf(f, "{%s=\"", k1);
		metrics_label(f, v1);
		if (k2 != NULL) {
			fprintf(f, "\",%s=\"", k2);
			metrics_label(f, v2);
		}
		fputs("\"}", f);
	}
	fputc(' ', f);
}

/* The rules' families (per rule, and per rule and stage). */
static void
metrics_format_rules(FILE *f, const struct metrics *m)
{
	metrics_family(f, "escalator_open_clocks", "gauge",
	               "Rows (clocks, or threshold keys) each rule's query returned in its last "
	               "complete read.");
	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].r != NULL && m->rules[i].read) {
			metrics_sample(f, "escalator_open_clocks", "rule", m->rules[i].id, NULL,
			               NULL);
			fprintf(f, "%lld\n", m->rules[i].open);
		}
	metrics_family(f, "escalator_clocks_at_stage", "gauge",
	               "Clocks whose latest stage reached is this one, in each rule's last "
	               "complete read.");
	for (size_t i = 0; i < m->nrules; i++) {
		const struct metrics_rule *mr = &m->rules[i];

		for (size_t s = 0; mr->r != NULL && mr->read && s < mr->r->nstages; s++) {
			metrics_sample(f, "escalator_clocks_at_stage", "rule", mr->id, "stage",
			               mr->stages[mr->slot[s]]);
			fprintf(f, "%lld\n", mr->at_stage[mr->slot[s]]);
		}
	}
	metrics_family(f, "escalator_alerts_total", "counter",
	               "Alerts recorded, by rule and stage.");
	for (size_t i = 0; i < m->nrules; i++)
		for (size_t s = 0; s < m->rules[i].nstages; s++) {
			metrics_sample(f, "escalator_alerts_total", "rule", m->rules[i].id, "stage",
			               m->rules[i].stages[s]);
			fprintf(f, "%lld\n", m->rules[i].alerts[s]);
		}
	metrics_family(f, "escalator_rule_query_seconds", "gauge",
	               "Time SQLite spent executing each rule's query in the last pass that ran "
	               "it.");
	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].r != NULL && m->rules[i].query_seconds >= 0) {
			metrics_sample(f, "escalator_rule_query_seconds", "rule", m->rules[i].id,
			               NULL, NULL);
			fprintf(f, "%.6f\n", m->rules[i].query_seconds);
		}
	metrics_family(f, "escalator_rule_failures_total", "counter",
	               "Passes in which a rule's query failed or could not run.");
	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].slot != NULL) {
			metrics_sample(f, "escalator_rule_failures_total", "rule", m->rules[i].id,
			               NULL, NULL);
			fprintf(f, "%lld\n", m->rules[i].failures);
		}
	metrics_family(f, "escalator_skipped_rows_total", "counter",
	               "Rows skipped for bad data (no case reference, a start that is not a "
	               "date, a value that is not a number), counted in every pass, by rule.");
	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].slot != NULL) {
			metrics_sample(f, "escalator_skipped_rows_total", "rule", m->rules[i].id,
			               NULL, NULL);
			fprintf(f, "%lld\n", m->rules[i].skipped);
		}
}

/* The page, from the counters and what the scrape read (v). */
static char *
metrics_format(const struct metrics *m, const struct metrics_view *v)
{
	static const char *const results[] = {"sent", "retry", "failed"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatalx("out of memory");
	metrics_family(f, "escalator_build_info", "gauge", "The escalatord version running (1).");
	metrics_sample(f, "escalator_build_info", "version", ESCALATOR_VERSION, NULL, NULL);
	fputs("1\n", f);
	metrics_family(f, "escalator_last_pass_timestamp_seconds", "gauge",
	               "When the last evaluation pass ended (Unix time; 0: none yet).");
	fprintf(f, "escalator_last_pass_timestamp_seconds %lld\n", (long long)m->last_pass);
	metrics_family(f, "escalator_last_pass_duration_seconds", "gauge",
	               "How long the last evaluation pass took, its slices and the loop's turns "
	               "between them.");
	fprintf(f, "escalator_last_pass_duration_seconds %.6f\n", m->last_duration);
	metrics_family(f, "escalator_last_pass_success", "gauge",
	               "1 if the last evaluation pass was recorded, 0 if the state store failed "
	               "it.");
	fprintf(f, "escalator_last_pass_success %d\n", m->last_ok ? 1 : 0);
	metrics_family(f, "escalator_passes_total", "counter",
	               "Evaluation passes ended, by result (failed: the state store could not "
	               "record it).");
	fprintf(f, "escalator_passes_total{result=\"ok\"} %lld\n", m->passes[0]);
	fprintf(f, "escalator_passes_total{result=\"failed\"} %lld\n", m->passes[1]);
	metrics_format_rules(f, m);

	metrics_family(f, "escalator_deliveries_total", "counter",
	               "Delivery attempts ended, by channel and result (sent; retry: to be tried "
	               "again; failed: for good, the admin is told).");
	for (int c = 0; c < CHANNEL_COUNT; c++)
		for (int r = 0; r < 3; r++) {
			metrics_sample(f, "escalator_deliveries_total", "channel", channel_name(c),
			               "result", results[r]);
			fprintf(f, "%lld\n", m->deliveries[c][r]);
		}
	metrics_family(f, "escalator_deliveries_in_flight", "gauge", "Deliveries being sent now.");
	fprintf(f, "escalator_deliveries_in_flight %lld\n", v->in_flight);
	metrics_family(f, "escalator_outbox_pending", "gauge",
	               "Deliveries waiting to be sent or being sent, by channel (read at most "
	               "every 5 s).");
	for (int c = 0; m->store_known && c < CHANNEL_COUNT; c++) {
		metrics_sample(f, "escalator_outbox_pending", "channel", channel_name(c), NULL,
		               NULL);
		fprintf(f, "%lld\n", m->q.pending[c]);
	}
	metrics_family(f, "escalator_outbox_held", "gauge",
	               "Deliveries waiting for their recipient's next digest, by channel.");
	for (int c = 0; m->store_known && c < CHANNEL_COUNT; c++) {
		metrics_sample(f, "escalator_outbox_held", "channel", channel_name(c), NULL, NULL);
		fprintf(f, "%lld\n", m->q.held[c]);
	}
	metrics_family(f, "escalator_outbox_oldest_pending_seconds", "gauge",
	               "How long the oldest delivery waiting to be sent has waited (0: none).");
	if (m->store_known)
		fprintf(f, "escalator_outbox_oldest_pending_seconds %lld\n",
		        m->q.oldest > 0 && v->now > m->q.oldest ? (long long)v->now - m->q.oldest
		                                                : 0);
	metrics_family(f, "escalator_case_store_age_seconds", "gauge",
	               "Seconds since the case store file (or its -wal file) last changed.");
	if (v->case_age_known)
		fprintf(f, "escalator_case_store_age_seconds %lld\n", v->case_age);
	metrics_family(f, "escalator_case_store_readable", "gauge",
	               "1 if the case store can be read, 0 if not: no alerts are worked out.");
	fprintf(f, "escalator_case_store_readable %d\n", v->case_readable ? 1 : 0);

	metrics_family(f, "escalator_reloads_total", "counter",
	               "Reloads (SIGHUP), by result (failed: the previous configuration kept).");
	fprintf(f, "escalator_reloads_total{result=\"ok\"} %lld\n", m->reloads[0]);
	fprintf(f, "escalator_reloads_total{result=\"failed\"} %lld\n", m->reloads[1]);
	metrics_family(f, "escalator_last_reload_success", "gauge",
	               "1 if the last reload succeeded (or there was none), 0 if it failed.");
	fprintf(f, "escalator_last_reload_success %d\n", m->last_reload_ok ? 1 : 0);
	metrics_family(f, "escalator_last_reload_timestamp_seconds", "gauge",
	               "When the last reload ended (Unix time; 0: none yet).");
	fprintf(f, "escalator_last_reload_timestamp_seconds %lld\n", (long long)m->last_reload);
	metrics_family(f, "escalator_responses_total", "counter",
	               "Answers recorded through the links in alerts, by kind (amended ones "
	               "included).");
	for (int k = 0; m->answers_known && k < ANSWER_NKINDS; k++) {
		metrics_sample(f, "escalator_responses_total", "kind", answer_kind_name(k), NULL,
		               NULL);
		fprintf(f, "%lld\n", m->answers[k]);
	}
	if (fclose(f) != 0 || buf == NULL)
		fatalx("out of memory");
	return buf;
}

/* The /metrics page. */
char *
metrics_render(struct daemon *dm)
{
	struct metrics_view v;

	memset(&v, 0, sizeof v);
	v.now = clock_now();
	metrics_refresh(dm->metrics, dm->ss, clock_monotonic_ns());
	v.in_flight = (long long)outbox_in_flight(dm->ob);
	v.case_readable = !dm->store_broken && !casehealth_failing(dm->health);
	v.case_age_known =
	    metrics_case_age(engine_config(dm->engine)->case_store, v.now, &v.case_age);
	return metrics_format(dm->metrics, &v);
}

/* What /healthz judges besides the counters. */
struct metrics_state {
	bool stopping;
	bool store_bad;    /* the case store cannot be read */
	long long bad_for; /* for how many seconds */
	int poll_interval; /* seconds */
	long long now_ns;  /* monotonic */
};

/*
 * /healthz, in this order: stopping; starting (no pass has ended yet); the
 * case store unreadable; the last pass failed (the state store); stalled (the
 * loop has not looked at the case store for METRICS_STALL_POLLS poll
 * intervals). A pass runs only when the case store changed or a stage falls
 * due, so how recent the service's look is, is the poll's, not the pass's.
 */
static int
metrics_judge(const struct metrics *m, const struct metrics_state *s, char **reason)
{
	long long last = m->polled_ns > m->created_ns ? m->polled_ns : m->created_ns;
	long long quiet = (s->now_ns - last) / 1000000000LL;

	if (s->stopping)
		*reason = xstrdup("stopping");
	else if (m->passes[0] + m->passes[1] == 0)
		*reason = xstrdup("starting: the first evaluation has not finished yet");
	else if (s->store_bad)
		*reason = xasprintf("case store unreadable for %llds: %s", s->bad_for,
		                    m->store_reason != NULL ? m->store_reason : "see the log");
	else if (!m->last_ok)
		*reason = xstrdup("last evaluation failed: the state store could not record it "
		                  "(see the log)");
	else if (quiet >= (long long)METRICS_STALL_POLLS * s->poll_interval)
		*reason = xasprintf("stalled: the case store was last checked %llds ago "
		                    "(poll_interval %ds)",
		                    quiet, s->poll_interval);
	else
		return 0;
	return -1;
}

/* /healthz. */
int
metrics_health(struct daemon *dm, char **reason)
{
	struct metrics_state s;
	time_t since = casehealth_since(dm->health);

	memset(&s, 0, sizeof s);
	s.stopping = dm->stopping;
	s.store_bad = dm->store_broken || since != 0;
	s.bad_for = since != 0 && clock_now() > since ? (long long)(clock_now() - since) : 0;
	s.poll_interval = engine_config(dm->engine)->poll_interval;
	s.now_ns = clock_monotonic_ns();
	return metrics_judge(dm->metrics, &s, reason);
}
