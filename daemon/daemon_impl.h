/*
 * daemon_impl.h - the service's insides, shared by the two files that work on
 * it (daemon.c: the loop, timers, signals, systemd; pass.c: the evaluation
 * pass, run whole or in slices) and nothing else.
 */
#ifndef ESCALATOR_DAEMON_IMPL_H
#define ESCALATOR_DAEMON_IMPL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "casehealth.h"
#include "engine.h"
#include "evaluate.h"
#include "outbox.h"
#include "statestore.h"

struct daemon {
	struct event_base *base;
	const char *config_path;
	struct engine *engine;
	struct statestore *ss;
	struct outbox *ob;
	bool once;
	evaluate_alert_fn on_alert;
	bool failed; /* --once: a pass or a rule failed */
	bool stopping;
	bool ready;

	struct event *poll_ev;     /* every poll_interval: has the case store changed? */
	struct event *wake_ev;     /* at the next stage firing time */
	struct event *watchdog_ev; /* systemd watchdog pings */
	struct event *stop_ev;     /* shutdown deadline for in-flight deliveries */
	struct event *retain_ev;   /* removes what is older than retention, a batch at a time */
	struct event *sig_ev;      /* the signal pipe is readable */
	struct event *pass_ev;     /* run the next slice of the pass in progress */

	bool passed; /* a pass has ended: later ones hold digests for the next digest time */
	struct evaluate_run *run; /* the pass in progress, NULL if none */
	const char *run_why;      /* why it started */
	time_t run_started;       /* when */
	long long run_started_ns; /* when, on the monotonic clock: the pass's duration */
	bool reload_wanted;       /* SIGHUP during a pass: reload when it ends */
	long long slices;         /* slices of the pass in progress */
	long long last_kick;      /* monotonic ns of the last kick of the outbox by a slice */
	double longest_slice;     /* the longest (seconds): how long the loop was held */
	uint64_t wd_usec;         /* systemd's watchdog interval, 0 if none */
	long long last_ping;      /* monotonic ns of the last WATCHDOG=1 */

	time_t next_fire; /* instant of the next stage firing, 0 if none */
	long long clocks; /* open clocks at the last pass */
	uint64_t passes;

	struct casehealth *health; /* is the case store readable, and since when not */
	bool store_broken;         /* do not evaluate: the file is missing or cannot be opened */
	struct freshness_watch
	    *fresh; /* is its data older than max_store_age (freshness_watch.c) */

	/* daemon_lead.c: one of several nodes on a PostgreSQL state store (leader.h). */
	bool standby;              /* another node leads: evaluate and send nothing */
	long long epoch;           /* this node's epoch while it leads */
	char node[96];             /* "host:pid", as the leader table names it */
	struct event *lead_ev;     /* every failover_timeout / 3: try for the lead, or check it */
	long long lead_not_before; /* monotonic ns: after losing the lead, leave it to others */

	struct listener *listener; /* the HTTP listener, or NULL: listen is not set (or --once) */
	struct metrics *metrics;   /* counters for /metrics and /healthz */
};

/* daemon.c and admin.c, for the pass. */

/* Tell systemd how things stand. */
void daemon_status(struct daemon *dm);
/* Arm the wake-up timer for the next stage firing time. */
void daemon_arm_wake(struct daemon *dm, localtime_min_t next);
/* The case store cannot be read (first found so at since), for reason. */
void daemon_store_bad(struct daemon *dm, time_t since, const char *reason);
/* The case store is readable (again). */
void daemon_store_ok(struct daemon *dm);
/* SIGHUP: reload everything; keep the old configuration on any error. */
void daemon_reload(struct daemon *dm);
/* The case store's tick while a query step runs: watchdog pings, stop on a signal. */
bool daemon_tick_cb(void *arg);
/*
 * Record an alert of the made-up rule r (stage, since when) to the admin
 * contact inside the caller's transaction, sent at once; *id 0: no admin.
 */
int daemon_admin_record(struct daemon *dm, const struct rule *r, int stage, time_t since,
                        const char *subject, const char *text, long long *id, char **cause);
/* casehealth's callback (arg: the daemon): record and send the admin's case store alert. */
void daemon_admin_alert(void *arg, enum casehealth_stage stage, time_t bad_since,
                        const char *subject, const char *text);

/* freshness_watch.c, for the loop: the stale-extract alarm. */

struct freshness_watch *freshness_watch_new(void);
void freshness_watch_free(struct freshness_watch *w);
/* Is the alarm raised: the case store's data older than max_store_age? */
bool freshness_watch_stale(const struct freshness_watch *w);
/*
 * At each poll (and at start): measure the case store's age (a stat, or
 * freshness_query once) and tell the admin when it passes max_store_age or
 * comes back within it, once each, remembered in the state store.
 */
void freshness_watch_check(struct daemon *dm);

/* daemon_lead.c, for the loop. */

/*
 * Before the loop: lead, or stand by (leader.h). 0: this node leads (on
 * SQLite, always); 1: it stands by; -1: it cannot tell (logged), or --once
 * found another node leading.
 */
int daemon_lead_start(struct daemon *dm);
/* With the loop: the timer that tries for the lead or checks it (PostgreSQL only). */
void daemon_lead_arm(struct daemon *dm);
/* " leader instance=NAME epoch=N", " standby instance=NAME", or "" on SQLite, in buf. */
const char *daemon_lead_status(const struct daemon *dm, char *buf, size_t len);

/* pass.c, for the loop. */

/*
 * One evaluation pass as of now; then deliver what it recorded. With --once
 * it runs whole; the service runs it in slices from the loop (pass_slice_cb).
 */
void pass_start(struct daemon *dm, const char *why);
/* End the pass in progress, finished or not. */
void pass_end(struct daemon *dm, int rc, char *cause);
/* Pass timer (dm->pass_ev): evaluate the next slice, commit it, let the loop run, come back. */
void pass_slice_cb(evutil_socket_t fd, short events, void *arg);

#endif
