/*
 * test_metrics.c - unit tests for daemon/metrics.c: the /metrics page from
 * synthetic counters (every family with HELP and TYPE, label values escaped,
 * counters that never go down), /healthz's judgement, and the state store
 * figures behind a scrape (read on the partial indexes, not by a scan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "metrics.c"         /* metrics_judge, metrics_refresh */
#include "metrics_page.c"    /* metrics_format */
#include "statestore_impl.h" /* the connection, to count what the figures' queries do */
#include "store_fixture.h"

/* Every family the page must have, in the order it shows them. */
static const char *const families[] = {
    "escalator_build_info",
    "escalator_last_pass_timestamp_seconds",
    "escalator_last_pass_duration_seconds",
    "escalator_last_pass_success",
    "escalator_passes_total",
    "escalator_open_clocks",
    "escalator_clocks_at_stage",
    "escalator_alerts_total",
    "escalator_rule_query_seconds",
    "escalator_rule_failures_total",
    "escalator_skipped_rows_total",
    "escalator_deliveries_total",
    "escalator_deliveries_in_flight",
    "escalator_outbox_pending",
    "escalator_outbox_held",
    "escalator_outbox_oldest_pending_seconds",
    "escalator_case_store_age_seconds",
    "escalator_case_store_readable",
    "escalator_case_store_stale",
    "escalator_case_store_max_age_seconds",
    "escalator_reloads_total",
    "escalator_last_reload_success",
    "escalator_last_reload_timestamp_seconds",
    "escalator_responses_total",
};
#define NFAMILIES (sizeof families / sizeof families[0])

/* Two rules of three and one stage; the second's id and a stage name need escaping. */
struct rules {
	struct stage st[3], th[1];
	struct rule r[2];
	struct ruleset rs;
};

/* Fill rs with the two rules. */
static void
rules_init(struct rules *x)
{
	memset(x, 0, sizeof *x);
	x->st[0].name = "reminder";
	x->st[1].name = "overdue";
	x->st[2].name = "escalated";
	x->th[0].name = "late\nstage";
	x->r[0].id = "cic-review";
	x->r[0].stages = x->st;
	x->r[0].nstages = 3;
	x->r[1].id = "odd\"id\\x";
	x->r[1].kind = RULE_THRESHOLD;
	x->r[1].stages = x->th;
	x->r[1].nstages = 1;
	x->rs.rules = x->r;
	x->rs.nrules = 2;
}

/* A complete read of rule r: rows, skipped, query time and the clocks at each stage. */
static void
read_rule(struct metrics *m, const struct rule *r, long long rows, long long skipped,
          const long long *at_stage)
{
	struct evaluate_rule_stats rs = {r, true, false, rows, skipped, 0.25, at_stage};

	metrics_rule_cb(m, &rs);
}

/* One sample: its series (name and labels) and value. */
struct sample {
	char series[256];
	double value;
};

/*
 * Check page against the text format as promtool reads it: each family's
 * HELP then TYPE, once, before its samples, which follow without a break;
 * names prefixed escalator_, counters end in _total. Fills out (at most max)
 * with the samples; returns how many.
 */
static size_t
check_page(const char *page, struct sample *out, size_t max)
{
	char family[128] = "", *copy = xstrdup(page), *save = NULL;
	bool seen[NFAMILIES] = {false}, typed = false;
	size_t n = 0, fam = 0;

	assert_true(strlen(page) > 0 && page[strlen(page) - 1] == '\n');
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[16], *end;
		size_t len;

		if (sscanf(line, "# HELP %127s", name) == 1) {
			/* The families come in the documented order, each once. */
			while (fam < NFAMILIES && strcmp(families[fam], name) != 0)
				fam++;
			if (fam == NFAMILIES)
				fail_msg("unexpected or repeated family %s", name);
			assert_false(seen[fam]);
			seen[fam] = true;
			assert_true(strlen(line) > strlen("# HELP ") + strlen(name) + 10);
			snprintf(family, sizeof family, "%s", name);
			typed = false;
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			assert_string_equal(name, family);
			assert_false(typed);
			typed = true;
			len = strlen(name);
			if (strcmp(type, "counter") == 0)
				assert_true(len > 6 && strcmp(name + len - 6, "_total") == 0);
			else
				assert_string_equal(type, "gauge");
			continue;
		}
		assert_true(line[0] != '#');
		/* A sample of the family just typed. */
		assert_true(typed);
		len = strcspn(line, "{ ");
		if (len != strlen(family) || strncmp(line, family, len) != 0)
			fail_msg("sample outside its family %s: %s", family, line);
		end = strrchr(line, ' ');
		assert_non_null(end);
		assert_true(n < max);
		snprintf(out[n].series, sizeof out[n].series, "%.*s", (int)(end - line), line);
		out[n].value = strtod(end + 1, &end);
		assert_true(*end == '\0');
		n++;
	}
	for (size_t i = 0; i < NFAMILIES; i++)
		if (!seen[i])
			fail_msg("family %s missing", families[i]);
	free(copy);
	return n;
}

/* The value of series in samples, or fail. */
static double
value_of(const struct sample *s, size_t n, const char *series)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].series, series) == 0)
			return s[i].value;
	fail_msg("series %s missing", series);
	return 0;
}

/* Are the labels of series (name{k="v",...}) only those the page may carry? */
static bool
labels_allowed(const char *series)
{
	static const char *const allowed[] = {"version", "result",  "rule",
	                                      "stage",   "channel", "kind"};
	const char *p = strchr(series, '{');

	while (p != NULL && *p != '}') {
		size_t len = strcspn(p + 1, "=");
		bool ok = false;

		for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
			ok |= strlen(allowed[i]) == len && strncmp(allowed[i], p + 1, len) == 0;
		if (!ok)
			return false;
		/* Past the value: its closing quote is the first one not escaped. */
		p += 1 + len + 2;
		while (*p != '"')
			p += *p == '\\' ? 2 : 1;
		p++;
	}
	return true;
}

/* Counters and gauges from synthetic events. */
static struct metrics *
busy_metrics(struct rules *x)
{
	struct metrics *m = metrics_new();
	long long at[3] = {4, 2, 1}, over[1] = {3};

	rules_init(x);
	metrics_rules(m, &x->rs);
	metrics_pass_start(m);
	read_rule(m, &x->r[0], 9, 2, at);
	read_rule(m, &x->r[1], 5, 0, over);
	metrics_alert(m, &x->r[0], 1);
	metrics_alert(m, &x->r[0], 1);
	metrics_alert(m, &x->r[1], 0);
	metrics_delivery_cb(m, CHANNEL_EMAIL, DELIVERY_SENT);
	metrics_delivery_cb(m, CHANNEL_SLACK, DELIVERY_RETRY);
	metrics_pass_end(m, true);
	metrics_reload(m, false);
	m->store_known = m->answers_known = true;
	m->q.pending[CHANNEL_EMAIL] = 7;
	m->q.held[CHANNEL_TEAMS] = 2;
	m->q.oldest = 1000;
	m->answers[ANSWER_AGREED] = 3;
	return m;
}

/* Every family has HELP and TYPE; the samples say what the events were. */
static void
test_metrics_every_family(void **state)
{
	struct rules x;
	struct metrics *m = busy_metrics(&x);
	struct metrics_view v = {.now = 1600,
	                         .in_flight = 2,
	                         .case_readable = true,
	                         .case_age_known = true,
	                         .case_age = 60};
	struct sample s[200];
	char *page = metrics_format(m, &v);
	size_t n = check_page(page, s, 200);

	(void)state;
	assert_float_equal(
	    value_of(s, n, "escalator_build_info{version=\"" ESCALATOR_VERSION "\"}"), 1, 0);
	assert_float_equal(value_of(s, n, "escalator_passes_total{result=\"ok\"}"), 1, 0);
	assert_float_equal(value_of(s, n, "escalator_last_pass_success"), 1, 0);
	assert_float_equal(value_of(s, n, "escalator_open_clocks{rule=\"cic-review\"}"), 9, 0);
	assert_float_equal(
	    value_of(s, n, "escalator_clocks_at_stage{rule=\"cic-review\",stage=\"overdue\"}"), 2,
	    0);
	assert_float_equal(
	    value_of(s, n, "escalator_alerts_total{rule=\"cic-review\",stage=\"overdue\"}"), 2, 0);
	assert_float_equal(
	    value_of(s, n, "escalator_alerts_total{rule=\"cic-review\",stage=\"reminder\"}"), 0, 0);
	assert_float_equal(value_of(s, n, "escalator_skipped_rows_total{rule=\"cic-review\"}"), 2,
	                   0);
	assert_float_equal(value_of(s, n, "escalator_rule_query_seconds{rule=\"cic-review\"}"),
	                   0.25, 1e-9);
	assert_float_equal(
	    value_of(s, n, "escalator_deliveries_total{channel=\"email\",result=\"sent\"}"), 1, 0);
	assert_float_equal(
	    value_of(s, n, "escalator_deliveries_total{channel=\"slack\",result=\"retry\"}"), 1, 0);
	assert_float_equal(
	    value_of(s, n, "escalator_deliveries_total{channel=\"notify\",result=\"failed\"}"), 0,
	    0);
	assert_float_equal(value_of(s, n, "escalator_deliveries_in_flight"), 2, 0);
	assert_float_equal(value_of(s, n, "escalator_outbox_pending{channel=\"email\"}"), 7, 0);
	assert_float_equal(value_of(s, n, "escalator_outbox_pending{channel=\"webhook\"}"), 0, 0);
	assert_float_equal(value_of(s, n, "escalator_outbox_held{channel=\"teams\"}"), 2, 0);
	assert_float_equal(value_of(s, n, "escalator_outbox_oldest_pending_seconds"), 600, 0);
	assert_float_equal(value_of(s, n, "escalator_case_store_age_seconds"), 60, 0);
	assert_float_equal(value_of(s, n, "escalator_case_store_readable"), 1, 0);
	assert_float_equal(value_of(s, n, "escalator_reloads_total{result=\"failed\"}"), 1, 0);
	assert_float_equal(value_of(s, n, "escalator_last_reload_success"), 0, 0);
	assert_float_equal(value_of(s, n, "escalator_responses_total{kind=\"agreed\"}"), 3, 0);
	assert_float_equal(value_of(s, n, "escalator_responses_total{kind=\"disagree\"}"), 0, 0);
	/* No case reference can appear: no label but these. */
	for (size_t i = 0; i < n; i++)
		assert_true(labels_allowed(s[i].series));
	free(page);
	metrics_free(m);
}

/* Label values are escaped: backslash, double quote, line feed. */
static void
test_metrics_labels_escaped(void **state)
{
	struct rules x;
	struct metrics *m = busy_metrics(&x);
	struct metrics_view v = {.now = 1600};
	struct sample s[200];
	char *page = metrics_format(m, &v);
	size_t n = check_page(page, s, 200);

	(void)state;
	assert_non_null(strstr(page, "escalator_open_clocks{rule=\"odd\\\"id\\\\x\"} 5\n"));
	assert_float_equal(
	    value_of(s, n,
	             "escalator_alerts_total{rule=\"odd\\\"id\\\\x\",stage=\"late\\nstage\"}"),
	    1, 0);
	assert_float_equal(
	    value_of(s, n,
	             "escalator_clocks_at_stage{rule=\"odd\\\"id\\\\x\",stage=\"late\\nstage\"}"),
	    3, 0);
	/* The raw line feed of the stage name never reaches the page. */
	assert_null(strstr(page, "late\nstage"));
	free(page);
	metrics_free(m);
}

/*
 * Counters never go down: through more events, a rule dropped by a reload
 * (its counters stay), a stage renamed (a new series), a failed read.
 */
static void
test_metrics_counters_monotonic(void **state)
{
	struct rules x;
	struct metrics *m = busy_metrics(&x);
	struct metrics_view v = {.now = 1600};
	struct sample a[200], b[200];
	char *page = metrics_format(m, &v);
	size_t na = check_page(page, a, 200), nb;
	struct evaluate_rule_stats failed = {&x.r[0], false, true, 3, 1, 9.0, NULL};
	struct ruleset one = {.rules = x.r, .nrules = 1, .nfiles = 1};

	(void)state;
	free(page);
	metrics_rule_cb(m, &failed);
	metrics_pass_end(m, false);
	metrics_delivery_cb(m, CHANNEL_EMAIL, DELIVERY_FAILED);
	x.st[1].name = "late";
	metrics_rules(m, &one);
	metrics_reload(m, true);
	metrics_alert(m, &x.r[0], 1);
	page = metrics_format(m, &v);
	nb = check_page(page, b, 200);
	for (size_t i = 0; i < na; i++)
		if (strstr(a[i].series, "_total") != NULL &&
		    value_of(b, nb, a[i].series) < a[i].value)
			fail_msg("%s went down", a[i].series);
	assert_float_equal(value_of(b, nb, "escalator_rule_failures_total{rule=\"cic-review\"}"), 1,
	                   0);
	assert_float_equal(value_of(b, nb, "escalator_passes_total{result=\"failed\"}"), 1, 0);
	assert_float_equal(value_of(b, nb, "escalator_last_pass_success"), 0, 0);
	/* The failed read's rows are not a count of the rule's clocks; its query time is. */
	assert_float_equal(value_of(b, nb, "escalator_open_clocks{rule=\"cic-review\"}"), 9, 0);
	assert_float_equal(value_of(b, nb, "escalator_rule_query_seconds{rule=\"cic-review\"}"), 9,
	                   0);
	assert_float_equal(
	    value_of(b, nb, "escalator_alerts_total{rule=\"cic-review\",stage=\"late\"}"), 1, 0);
	assert_float_equal(
	    value_of(b, nb, "escalator_alerts_total{rule=\"cic-review\",stage=\"overdue\"}"), 2, 0);
	/* The dropped rule: counters stay, its gauges go. */
	assert_float_equal(value_of(b, nb,
	                            "escalator_alerts_total{rule=\"odd\\\"id\\\\x\","
	                            "stage=\"late\\nstage\"}"),
	                   1, 0);
	assert_null(strstr(page, "escalator_open_clocks{rule=\"odd"));
	/* Clocks at stage: the stages the rule has now. */
	assert_null(
	    strstr(page, "escalator_clocks_at_stage{rule=\"cic-review\",stage=\"overdue\"}"));
	assert_non_null(
	    strstr(page, "escalator_clocks_at_stage{rule=\"cic-review\",stage=\"late\"}"));
	free(page);
	metrics_free(m);
}

/*
 * An alert of a rule not in force (the case store's own alerts to the admin,
 * or a rule a reload has since dropped) gets its series by id and stage name.
 */
static void
test_metrics_alert_outside_rules(void **state)
{
	struct stage st[2] = {{.name = "unreadable"}, {.name = "readable"}};
	struct rule health = {.id = "escalator-case-store", .stages = st, .nstages = 2};
	struct rules x;
	struct metrics *m = busy_metrics(&x);
	struct metrics_view v = {.now = 1600};
	struct sample s[200];
	char *page;
	size_t n;

	(void)state;
	metrics_alert(m, &health, 0);
	metrics_alert(m, &health, 1);
	metrics_alert(m, &health, 0);
	page = metrics_format(m, &v);
	n = check_page(page, s, 200);
	assert_float_equal(value_of(s, n,
	                            "escalator_alerts_total{rule=\"escalator-case-store\","
	                            "stage=\"unreadable\"}"),
	                   2, 0);
	assert_float_equal(value_of(s, n,
	                            "escalator_alerts_total{rule=\"escalator-case-store\","
	                            "stage=\"readable\"}"),
	                   1, 0);
	/* Not a rule of the case store: no clocks, no query. */
	assert_null(strstr(page, "escalator_open_clocks{rule=\"escalator-case-store\"}"));
	assert_null(strstr(page, "escalator_rule_failures_total{rule=\"escalator-case-store\"}"));
	free(page);
	metrics_free(m);
}

/* /healthz in each state, in order of precedence. */
static void
test_metrics_health(void **state)
{
	struct metrics *m = metrics_new();
	struct metrics_state s = {.poll_interval = 60, .now_ns = m->created_ns + 1000000000LL};
	char *why = NULL;

	(void)state;
	assert_int_equal(metrics_judge(m, &s, &why), -1);
	assert_string_equal(why, "starting: the first evaluation has not finished yet");
	free(why);
	metrics_pass_end(m, true);
	assert_int_equal(metrics_judge(m, &s, &why), 0);

	s.store_bad = true;
	s.bad_for = 42;
	metrics_store_bad(m, "the file is missing\nreally");
	assert_int_equal(metrics_judge(m, &s, &why), -1);
	assert_string_equal(why, "case store unreadable for 42s: the file is missing really");
	free(why);
	s.store_bad = false;

	metrics_pass_end(m, false);
	assert_int_equal(metrics_judge(m, &s, &why), -1);
	assert_non_null(strstr(why, "last evaluation failed"));
	free(why);
	metrics_pass_end(m, true);

	/* Three poll intervals without a look at the case store: stalled. */
	s.now_ns = m->created_ns + 179 * 1000000000LL;
	assert_int_equal(metrics_judge(m, &s, &why), 0);
	s.now_ns = m->created_ns + 181 * 1000000000LL;
	assert_int_equal(metrics_judge(m, &s, &why), -1);
	assert_string_equal(why, "stalled: the case store was last checked 181s ago "
	                         "(poll_interval 60s)");
	free(why);
	m->polled_ns = s.now_ns - 30 * 1000000000LL;
	assert_int_equal(metrics_judge(m, &s, &why), 0);

	s.stopping = true;
	assert_int_equal(metrics_judge(m, &s, &why), -1);
	assert_string_equal(why, "stopping");
	free(why);
	metrics_free(m);
}

/* VM steps of the statements on the delivery table (SQLITE_TRACE_PROFILE). */
static int
count_steps(unsigned type, void *arg, void *p, void *x)
{
	long long *steps = arg;

	(void)type;
	(void)x;
	if (strstr(sqlite3_sql(p), "FROM delivery") != NULL)
		*steps += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
	return 0;
}

/*
 * The outbox's figures come from the partial indexes: with 20,000 deliveries
 * sent and a handful waiting, the queries take a few hundred VM steps (a scan
 * would take 20,000 at least), and they count what waits by channel.
 */
static void
test_metrics_store_figures(void **state)
{
	struct fixture *fx = *state;
	struct alert a = make_alert(fx, "A01", 1, 0);
	bool none[4] = {false, false, false, false};
	struct metrics *m = metrics_new();
	long long steps = 0;

	a.recipients = kinds;
	a.nrecipients = 5;
	fx->ss = open_store(fx, false);
	exec_sql(fx->path, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE "
	                   "x < 20000) INSERT INTO delivery (kind, recipient, status, queued_at) "
	                   "SELECT 'email', 'a@council.example', 'sent', 1 FROM c");
	record(fx->ss, &a, none);
	exec_sql(fx->path, "UPDATE delivery SET status = 'held' WHERE kind = 'teams';"
	                   "UPDATE delivery SET queued_at = 1000 WHERE status = 'pending' AND kind "
	                   "= 'email'");
	sqlite3_trace_v2(fx->ss->db->lite, SQLITE_TRACE_PROFILE, count_steps, &steps);
	metrics_refresh(m, fx->ss, 1);
	sqlite3_trace_v2(fx->ss->db->lite, 0, NULL, NULL);
	assert_true(m->store_known);
	assert_int_equal(m->q.pending[CHANNEL_EMAIL], 1);
	assert_int_equal(m->q.pending[CHANNEL_WEBHOOK], 1);
	assert_int_equal(m->q.pending[CHANNEL_TEAMS], 0);
	assert_int_equal(m->q.held[CHANNEL_TEAMS], 1);
	assert_int_equal(m->q.pending[CHANNEL_GOVUK_NOTIFY], 1);
	assert_int_equal(m->q.oldest, 1000);
	if (steps <= 0 || steps > 2000)
		fail_msg("the outbox's figures took %lld VM steps", steps);
	metrics_free(m);
}

/* Answers by kind: counted from the store, and never down when retention removes some. */
static void
test_metrics_answers_monotonic(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = metrics_new();
	const char *add = "INSERT INTO response (delivery_id, rule, case_ref, start, recipient, "
	                  "kind, answered_at) VALUES (1, 'r', 'A01', '2026-01-01', 'x', "
	                  "'agreed', '2026-01-02T00:00:00Z')";

	fx->ss = open_store(fx, false);
	exec_sql(fx->path, add);
	exec_sql(fx->path, add);
	metrics_refresh(m, fx->ss, 1);
	assert_int_equal(m->answers[ANSWER_AGREED], 2);
	/* Within METRICS_STORE_EVERY the store is not read again. */
	exec_sql(fx->path, add);
	metrics_refresh(m, fx->ss, 2);
	assert_int_equal(m->answers[ANSWER_AGREED], 2);
	/* Retention removes both old answers while one more comes in. */
	exec_sql(fx->path, "DELETE FROM response WHERE id <= 2");
	metrics_refresh(m, fx->ss, 1 + METRICS_STORE_EVERY * 1000000000LL);
	assert_int_equal(m->answers[ANSWER_AGREED], 2);
	exec_sql(fx->path, add);
	metrics_refresh(m, fx->ss, 1 + 2 * METRICS_STORE_EVERY * 1000000000LL);
	assert_int_equal(m->answers[ANSWER_AGREED], 3);
	assert_int_equal(m->answers[ANSWER_DISAGREE], 0);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_every_family),
	    cmocka_unit_test(test_metrics_labels_escaped),
	    cmocka_unit_test(test_metrics_counters_monotonic),
	    cmocka_unit_test(test_metrics_alert_outside_rules),
	    cmocka_unit_test(test_metrics_health),
	    cmocka_unit_test_setup_teardown(test_metrics_store_figures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_answers_monotonic, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
