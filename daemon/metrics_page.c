/*
 * metrics_page.c - the /metrics page in the Prometheus text format (0.0.4),
 * from the counters metrics.c keeps and what a scrape read. No label holds
 * a case reference: rule ids, stage names, channels, results and answer
 * kinds only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "metrics_impl.h"
#include "xalloc.h"

#ifndef ESCALATOR_VERSION
#define ESCALATOR_VERSION "0"
#endif

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
char *
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
	if (m->lead_known) {
		metrics_family(f, "escalator_leader", "gauge",
		               "1 if this node leads its instance (evaluates and sends), 0 if it "
		               "stands by; nodes share a state store on PostgreSQL.");
		fprintf(f, "escalator_leader %d\n", m->leads ? 1 : 0);
		metrics_family(f, "escalator_leader_epoch", "gauge",
		               "The fencing epoch this node leads with (0 while it stands by).");
		fprintf(f, "escalator_leader_epoch %lld\n", m->lead_epoch);
	}

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
	               "Seconds since the case store's data changed: the time freshness_query "
	               "returns when it is set, else the last change of the file (or its -wal "
	               "file).");
	if (v->case_age_known)
		fprintf(f, "escalator_case_store_age_seconds %lld\n", v->case_age);
	metrics_family(f, "escalator_case_store_readable", "gauge",
	               "1 if the case store can be read, 0 if not: no alerts are worked out.");
	fprintf(f, "escalator_case_store_readable %d\n", v->case_readable ? 1 : 0);
	metrics_family(f, "escalator_case_store_stale", "gauge",
	               "1 if the case store's data is older than max_store_age (or its age could "
	               "not be told for as long): the admin was told; alerts keep going out. 0 if "
	               "not, or max_store_age is not set.");
	fprintf(f, "escalator_case_store_stale %d\n", m->stale ? 1 : 0);
	metrics_family(f, "escalator_case_store_max_age_seconds", "gauge",
	               "max_store_age: how old the case store's data may be (absent when not "
	               "set).");
	if (m->fresh_max_age > 0)
		fprintf(f, "escalator_case_store_max_age_seconds %lld\n", m->fresh_max_age);

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
