/* pass.c - the evaluation pass: run whole (--once) or in slices from the loop. */
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "casestore.h"
#include "clock.h"
#include "daemon_impl.h"
#include "evaluate.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "runinfo.h"

/*
 * One slice of a pass holds the loop this long at most (plus its commit and
 * the row in progress): deliveries, timers and signals are served between.
 * Shorter while deliveries are in flight: each of their round trips waits for
 * the loop, i.e. for the end of a slice.
 */
#define PASS_SLICE_SECONDS 0.05
#define PASS_SLICE_SENDING 0.01
/*
 * During a pass, the outbox is kicked after a slice only when nothing is in
 * flight (otherwise each finished delivery's cycle takes the new ones), and
 * at most this often: each kick reads the whole queue.
 */
#define PASS_KICK_EVERY 0.25

/* Log one alert recorded by a pass. */
static void
pass_alert_cb(void *arg, const struct alert *a, long long alert_id)
{
	struct daemon *dm = arg;
	char due[DATE_STRLEN], fires[DATETIME_STRLEN];
	char *cs = log_quote(a->case_ref);

	log_info("alert id=%lld rule=%s case=%s stage=%s due=%s fires=%s recipients=%zu", alert_id,
	         a->rule->id, cs, a->rule->stages[a->stage].name, date_format(a->due, due),
	         localtime_format(a->fires, fires), a->nrecipients);
	free(cs);
	metrics_alert(dm->metrics, a->rule, a->stage); /* metrics */
	if (dm->on_alert != NULL)
		dm->on_alert(dm->ss, a, alert_id);
}

/* A pass has ended (with stats): its figures, the case store's health, the next firing. */
static void
pass_done(struct daemon *dm, const char *why, time_t started, const struct evaluate_stats *stats)
{
	char *cause = NULL;

	if (stats->stopped) {
		log_info("evaluation why=%s stopped before its end: clocks=%lld alerts=%lld "
		         "(what it recorded stays recorded)",
		         why, stats->clocks, stats->alerts);
		outbox_kick(dm->ob);
		return;
	}
	dm->passes++;
	dm->clocks = stats->clocks;
	/* For escalatord status: when the last whole pass ran, how long it took, what it found. */
	if (runinfo_pass(dm->ss, why, started,
	                 (double)(clock_monotonic_ns() - dm->run_started_ns) / 1e9, stats,
	                 &cause) != 0) {
		log_warn("%s", cause);
		free(cause);
	}
	metrics_pass_end(dm->metrics, true); /* metrics */
	if (stats->failed_rules > 0)
		dm->failed = true;
	if (stats->failed_rules > 0 &&
	    stats->failed_rules == (long long)engine_rules(dm->engine)->nrules) {
		daemon_store_bad(dm, started,
		                 stats->store_busy
		                     ? "another process holds it locked"
		                     : "every rule's query failed (see the errors above)");
		/* Try again at the next poll. */
		dm->next_fire = clock_now();
	} else
		daemon_store_ok(dm);
	log_debug("evaluated why=%s clocks=%lld alerts=%lld skipped_rows=%lld failed_rules=%lld "
	          "slices=%lld longest_slice_ms=%.1f",
	          why, stats->clocks, stats->alerts, stats->skipped_rows, stats->failed_rules,
	          dm->slices, dm->longest_slice * 1e3);
	if (stats->alerts > 0 || stats->failed_rules > 0 || stats->skipped_rows > 0)
		log_info("evaluated why=%s clocks=%lld alerts=%lld skipped_rows=%lld "
		         "failed_rules=%lld",
		         why, stats->clocks, stats->alerts, stats->skipped_rows,
		         stats->failed_rules);
	if (!dm->once)
		daemon_arm_wake(dm, stats->next);
	outbox_kick(dm->ob);
	daemon_status(dm);
}

/* A pass failed in the state store: log it, try again at the next poll. */
static void
pass_failed(struct daemon *dm, char *cause, bool partly)
{
	log_err("%s; %s; will try again at the next poll", cause,
	        partly ? "the evaluation stopped there (what it recorded before stays recorded)"
	               : "nothing from this evaluation was recorded");
	free(cause);
	dm->failed = true;
	metrics_pass_end(dm->metrics, false); /* metrics */
	/* Try again at the next poll rather than wait for a firing time. */
	dm->next_fire = clock_now();
}

/*
 * One evaluation pass as of now; then deliver what it recorded. With --once
 * it runs whole; the service runs it in slices from the loop (pass_slice_cb).
 */
void
pass_start(struct daemon *dm, const char *why)
{
	struct evaluate_stats stats;
	char *cause = NULL;
	time_t started = clock_now();
	localtime_min_t now = clock_local(started, NULL);
	struct timeval tv = {0, 0};

	if (dm->run != NULL || dm->stopping || dm->standby)
		return;
	casestore_set_tick(engine_casestore(dm->engine), daemon_tick_cb, dm);
	metrics_pass_start(dm->metrics); /* metrics */
	dm->run_started_ns = clock_monotonic_ns();
	if (dm->once) {
		if (evaluate_pass(dm->engine, dm->ss, now, pass_alert_cb, dm, &stats, &cause) !=
		    0) {
			pass_failed(dm, cause, false);
			return;
		}
		pass_done(dm, why, started, &stats);
		return;
	}
	/* The rows of a PostgreSQL case store are read as they come, between deliveries. */
	casestore_set_async(engine_casestore(dm->engine), true);
	dm->run = evaluate_start(dm->engine, dm->ss, now, pass_alert_cb, dm);
	evaluate_observe(dm->run, metrics_rule_cb, dm->metrics); /* metrics: per rule */
	/* The first pass finds what fell due while escalatord was stopped: it goes now. */
	if (!dm->passed)
		evaluate_digest_now(dm->run);
	/* A digest waits for the whole pass: one per recipient, not one per slice. */
	outbox_hold_digests(dm->ob, true);
	dm->run_why = why;
	dm->run_started = started;
	dm->slices = 0;
	dm->longest_slice = 0;
	sd_notifyf(0, "STATUS=evaluating why=%s rules=%zu", why, engine_rules(dm->engine)->nrules);
	evtimer_add(dm->pass_ev, &tv);
}

/* dm->pass_ev as a plain timer again (after a wait on the case store's socket). */
static void
pass_slice_timer(struct daemon *dm)
{
	if (event_get_fd(dm->pass_ev) == -1)
		return;
	event_del(dm->pass_ev);
	evtimer_assign(dm->pass_ev, dm->base, pass_slice_cb, dm);
}

/* End the pass in progress, finished or not. */
void
pass_end(struct daemon *dm, int rc, char *cause)
{
	struct evaluate_stats stats;

	evtimer_del(dm->pass_ev);
	pass_slice_timer(dm);
	evaluate_finish(dm->run, &stats);
	dm->run = NULL;
	casestore_set_async(engine_casestore(dm->engine), false);
	outbox_hold_digests(dm->ob, false);
	if (rc >= 0)
		dm->passed = true;
	if (rc < 0)
		pass_failed(dm, cause, true);
	else
		pass_done(dm, dm->run_why, dm->run_started, &stats);
	if (dm->reload_wanted && !dm->stopping) {
		dm->reload_wanted = false;
		daemon_reload(dm);
	}
}

/* Pass timer: evaluate the next slice, commit it, let the loop run, come back. */
void
pass_slice_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;
	struct timeval tv = {0, 0};
	char *cause = NULL;
	long long t0 = clock_monotonic_ns();
	double took;
	int rc;

	if (dm->run == NULL)
		return;
	rc = evaluate_step(dm->run, 0,
	                   outbox_in_flight(dm->ob) > 0 ? PASS_SLICE_SENDING : PASS_SLICE_SECONDS,
	                   &cause);
	if (rc == 1 && outbox_in_flight(dm->ob) == 0 &&
	    clock_monotonic_ns() - dm->last_kick >= (long long)(PASS_KICK_EVERY * 1e9)) {
		/* The slice is committed: its deliveries may go out while the pass goes on. */
		outbox_kick(dm->ob);
		dm->last_kick = clock_monotonic_ns();
	}
	took = (double)(clock_monotonic_ns() - t0) / 1e9;
	dm->slices++;
	if (took > dm->longest_slice)
		dm->longest_slice = took;
	if (rc == 1) {
		int wfd = evaluate_wait_fd(dm->run);

		/*
		 * Waiting for PostgreSQL's rows: the loop delivers meanwhile, and the
		 * next slice runs when they arrive (or in a second, to look again).
		 */
		if (wfd >= 0) {
			struct timeval wait = {1, 0};

			event_del(dm->pass_ev);
			event_assign(dm->pass_ev, dm->base, wfd, EV_READ | EV_TIMEOUT,
			             pass_slice_cb, dm);
			event_add(dm->pass_ev, &wait);
		} else {
			pass_slice_timer(dm);
			evtimer_add(dm->pass_ev, &tv);
		}
		return;
	}
	pass_end(dm, rc, cause);
}
