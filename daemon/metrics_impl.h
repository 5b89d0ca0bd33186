/*
 * metrics_impl.h - the counters behind /metrics and /healthz, shared by the
 * two files that work on them (metrics.c: the recording hooks, the state
 * store's figures, /healthz; metrics_page.c: the /metrics page) and nothing
 * else.
 */
#ifndef ESCALATOR_METRICS_IMPL_H
#define ESCALATOR_METRICS_IMPL_H

#include <stdbool.h>
#include <time.h>

#include "answers.h"
#include "channel.h"
#include "queue.h"
#include "ruleset.h"

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
	bool lead_known;     /* the state store is shared by nodes (leader.h) */
	bool leads;
	long long lead_epoch;
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

	/* The stale-extract alarm as the last check left it (metrics_freshness). */
	long long fresh_max_age; /* max_store_age, seconds; 0: not set (nothing judged) */
	bool fresh_known;        /* the data's time is known */
	time_t fresh_data_time;
	bool stale;      /* the alarm is raised */
	char *fresh_why; /* why the age is unknown, or NULL */
};

/* What a scrape reads of the service besides the counters. */
struct metrics_view {
	time_t now;
	long long in_flight;
	bool case_readable;
	bool case_age_known;
	long long case_age;
};

/* The /metrics page from the counters and what the scrape read (v), allocated (metrics_page.c). */
char *metrics_format(const struct metrics *m, const struct metrics_view *v);

#endif
