/*
 * metrics.h - what the service says about its health: the counters the loop
 * keeps, /metrics in the Prometheus text format, /healthz.
 */
#ifndef ESCALATOR_METRICS_H
#define ESCALATOR_METRICS_H

struct daemon;
struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* The /metrics page (text exposition format 0.0.4), allocated. */
char *metrics_render(struct daemon *dm);
/* /healthz: 0 when healthy, else -1 with *reason (allocated, one line) saying why. */
int metrics_health(struct daemon *dm, char **reason);

#endif
