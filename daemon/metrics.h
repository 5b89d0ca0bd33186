/*
 * metrics.h - what the service says about its health: the counters the loop
 * keeps, /metrics in the Prometheus text format, /healthz.
 */
#ifndef ESCALATOR_METRICS_H
#define ESCALATOR_METRICS_H

#include <stdbool.h>

#include "channel.h"
#include "notifier.h"

struct daemon;
struct metrics;
struct rule;
struct ruleset;
struct evaluate_rule_stats;
struct freshness_reading;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* The /metrics page (text exposition format 0.0.4), allocated. */
char *metrics_render(struct daemon *dm);
/* /healthz: 0 when healthy, else -1 with *reason (allocated, one line) saying why. */
int metrics_health(struct daemon *dm, char **reason);

/*
 * Recording hooks, called on the loop (daemon.c, pass.c, and the observers
 * of the pass and the outbox). None of them reads the state store.
 */

/* The rules in force (at start and after each reload): their series show, at zero at first. */
void metrics_rules(struct metrics *m, const struct ruleset *rs);
/* An evaluation pass has started. */
void metrics_pass_start(struct metrics *m);
/* It has ended: ok, or failed (the state store could not record it). */
void metrics_pass_end(struct metrics *m, bool ok);
/* What the pass made of one rule: an evaluate_rule_fn, arg is the struct metrics. */
void metrics_rule_cb(void *arg, const struct evaluate_rule_stats *rs);
/* An alert of stage (an index into r's stages) was recorded. */
void metrics_alert(struct metrics *m, const struct rule *r, int stage);
/* A delivery attempt ended: an outbox_result_fn, arg is the struct metrics. */
void metrics_delivery_cb(void *arg, enum channel kind, enum delivery_status status);
/* A reload ended, ok or failed (the previous configuration kept). */
void metrics_reload(struct metrics *m, bool ok);
/* Several nodes on a PostgreSQL state store: this one leads (with epoch) or stands by. */
void metrics_lead(struct metrics *m, bool leads, long long epoch);
/* The loop looked at the case store (the poll timer): /healthz's sign of life. */
void metrics_polled(struct metrics *m);
/* The case store cannot be read, for reason (what /healthz then says). */
void metrics_store_bad(struct metrics *m, const char *reason);
/*
 * The stale-extract alarm after a check: the reading, whether the alarm is
 * raised, max_store_age in seconds; r NULL when max_store_age is not set.
 */
void metrics_freshness(struct metrics *m, const struct freshness_reading *r, bool stale,
                       long long max_age);

#endif
