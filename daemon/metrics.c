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
 * year). Then two stat() of the case store (none with max_store_age set: the
 * age is the last poll's reading, freshness_watch.c), and the text itself
 * (metrics_page.c: a line per rule and stage).
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
#include "freshness.h"
#include "log.h"
#include "metrics_impl.h"
#include "queue.h"
#include "xalloc.h"

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
	free(m->fresh_why);
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
metrics_lead(struct metrics *m, bool leads, long long epoch)
{
	m->lead_known = true;
	m->leads = leads;
	m->lead_epoch = leads ? epoch : 0;
}

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

/* The stale-extract alarm as the last check left it (r NULL: max_store_age is not set). */
void
metrics_freshness(struct metrics *m, const struct freshness_reading *r, bool stale,
                  long long max_age)
{
	free(m->fresh_why);
	m->fresh_why = NULL;
	m->fresh_max_age = r != NULL ? max_age : 0;
	m->fresh_known = r != NULL && r->known;
	m->fresh_data_time = r != NULL ? r->data_time : 0;
	m->stale = r != NULL && stale;
	if (r != NULL && r->why != NULL) {
		size_t n = strlen(r->why);

		m->fresh_why = xstrndup(r->why, n < METRICS_REASON_MAX ? n : METRICS_REASON_MAX);
		for (char *p = m->fresh_why; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
}

/*
 * The case store's age at now: with max_store_age set, as the last check
 * measured it (the freshness_query's time, or the file's); else the file's
 * last change (or its -wal file's), looked at now. False if unknown.
 */
static bool
metrics_case_age(const struct metrics *m, const char *path, time_t now, long long *age)
{
	struct freshness_reading r;

	if (m->fresh_max_age > 0) {
		if (!m->fresh_known)
			return false;
		*age = now > m->fresh_data_time ? (long long)(now - m->fresh_data_time) : 0;
		return true;
	}
	if (path == NULL)
		return false;
	freshness_measure(path, NULL, NULL, &r);
	*age = freshness_age(&r, now);
	freshness_reading_clear(&r);
	return *age >= 0;
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
	v.case_age_known = metrics_case_age(dm->metrics, engine_config(dm->engine)->case_store,
	                                    v.now, &v.case_age);
	return metrics_format(dm->metrics, &v);
}

/* What /healthz judges besides the counters. */
struct metrics_state {
	bool stopping;
	bool standby;      /* another node leads (leader.h): no passes here, by design */
	bool store_bad;    /* the case store cannot be read */
	long long bad_for; /* for how many seconds */
	int poll_interval; /* seconds */
	long long now_ns;  /* monotonic */
	time_t now;        /* the clock: how old the case store's data is */
};

/*
 * /healthz, in this order: stopping; starting (no pass has ended yet); the
 * case store unreadable; the last pass failed (the state store); stalled (the
 * loop has not looked at the case store for METRICS_STALL_POLLS poll
 * intervals); the case store's data older than max_store_age. A pass runs
 * only when the case store changed or a stage falls due, so how recent the
 * service's look is, is the poll's, not the pass's.
 *
 * Stale data is a 503 like an unreadable store: the alerts going out are
 * worked out from data that may be wrong, which whoever watches /healthz
 * should hear. Nothing restarts escalatord on /healthz (systemd's watchdog
 * is separate), so the 503 cannot start a restart loop that would not help.
 */
static int
metrics_judge(const struct metrics *m, const struct metrics_state *s, char **reason)
{
	long long last = m->polled_ns > m->created_ns ? m->polled_ns : m->created_ns;
	long long quiet = (s->now_ns - last) / 1000000000LL;

	if (s->stopping)
		*reason = xstrdup("stopping");
	else if (s->standby && quiet < (long long)METRICS_STALL_POLLS * s->poll_interval)
		return 0; /* ready to take over: the leader's /healthz speaks for the work */
	else if (m->passes[0] + m->passes[1] == 0 && !s->standby)
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
	else if (m->stale && m->fresh_known)
		*reason = xasprintf(
		    "case store stale: its data is %llds old, over max_store_age "
		    "(%llds); alerts keep going out",
		    s->now > m->fresh_data_time ? (long long)(s->now - m->fresh_data_time) : 0LL,
		    m->fresh_max_age);
	else if (m->stale)
		*reason = xasprintf("case store stale: its age cannot be told: %s; alerts keep "
		                    "going out",
		                    m->fresh_why != NULL ? m->fresh_why : "see the log");
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
	s.standby = dm->standby;
	s.store_bad = dm->store_broken || since != 0;
	s.bad_for = since != 0 && clock_now() > since ? (long long)(clock_now() - since) : 0;
	s.poll_interval = engine_config(dm->engine)->poll_interval;
	s.now_ns = clock_monotonic_ns();
	s.now = clock_now();
	return metrics_judge(dm->metrics, &s, reason);
}
