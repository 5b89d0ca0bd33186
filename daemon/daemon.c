/* daemon.c - the long-running service: event loop, timers, signals, systemd. */
#include "daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "casehealth.h"
#include "clock.h"
#include "daemon_impl.h"
#include "evaluate.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "queue.h"
#include "retention.h"
#include "renames.h"
#include "runinfo.h"
#include "statestore.h"

/* Longest sleep of the wake-up timer, so a wall-clock step is noticed soon. */
#define DAEMON_WAKE_MAX 3600

/*
 * Signals: the handler only notes the signal and writes its number to a pipe
 * the loop watches. The flag is also read by the case store's tick, so a stop
 * is seen inside a long query step, when the loop cannot run.
 */
static volatile sig_atomic_t daemon_stop_asked;
static int daemon_sig_pipe[2] = {-1, -1};

/* Tell systemd how things stand. */
void
daemon_status(struct daemon *dm)
{
	/* systemctl status shows it: an admin looking there sees the alarm too. */
	char lead[128];

	sd_notifyf(0, "STATUS=rules=%zu clocks=%lld outbox=%lld in_flight=%zu%s%s",
	           engine_rules(dm->engine)->nrules, dm->clocks, queue_depth(dm->ss),
	           outbox_in_flight(dm->ob), daemon_lead_status(dm, lead, sizeof lead),
	           freshness_watch_stale(dm->fresh) ? " case_store=stale" : "");
}

/* Arm the wake-up timer for the next stage firing time. */
void
daemon_arm_wake(struct daemon *dm, localtime_min_t next)
{
	struct timespec ts;
	struct timeval tv;
	double delay;

	evtimer_del(dm->wake_ev);
	dm->next_fire = next == EVAL_NEVER ? 0 : clock_instant(next, 0);
	if (dm->next_fire == 0)
		return;
	/* To the microsecond: an alert should go out on its second, not up to one late. */
	clock_gettime(CLOCK_REALTIME, &ts);
	delay = (double)(dm->next_fire - clock_now()) - ts.tv_nsec / 1e9;
	if (delay < 0)
		delay = 0;
	if (delay > DAEMON_WAKE_MAX)
		delay = DAEMON_WAKE_MAX;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(dm->wake_ev, &tv);
}

/* Poll timer: re-evaluate when the case store changed or a firing time passed. */
static void
daemon_poll_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;
	bool replaced, missing, changed;
	char *cause = NULL, *why;

	/* metrics: /healthz's sign of life (a pass in progress is looking at the case store). */
	metrics_polled(dm->metrics);
	/* A pass in progress holds the case store: look again at the next poll, after it. */
	if (dm->run != NULL || dm->standby)
		return;

	changed = casestore_changed(engine_casestore(dm->engine), &replaced, &missing);
	if (missing) {
		/* Stale data could alert about reviews already held: evaluate nothing. */
		dm->store_broken = true;
		daemon_store_bad(dm, clock_now(), "the file is missing");
		return;
	}
	if (replaced || dm->store_broken) {
		if (engine_reopen_casestore(dm->engine, &cause) != 0) {
			dm->store_broken = true;
			why = xasprintf("it cannot be opened: %s", cause);
			daemon_store_bad(dm, clock_now(), why);
			free(why);
			free(cause);
			return;
		}
		log_info("case store %s %s; reopened", engine_config(dm->engine)->case_store,
		         replaced ? "was replaced" : "is back");
		dm->store_broken = false;
		changed = true;
	}
	freshness_watch_check(dm);
	if (changed)
		pass_start(dm, "changed");
	else if (dm->next_fire != 0 && clock_now() >= dm->next_fire)
		pass_start(dm, "clock");
	else if (casehealth_failing(dm->health))
		/* Still failing (e.g. a writer's lock): try again every poll. */
		pass_start(dm, "retry");
}

/* Wake-up timer: a stage may fire now. */
static void
daemon_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;

	/* The pass in progress arms this timer again when it ends. */
	if (dm->run != NULL || dm->standby)
		return;
	if (dm->next_fire != 0 && clock_now() < dm->next_fire)
		daemon_arm_wake(dm, clock_local(dm->next_fire, NULL));
	else if (!dm->store_broken)
		pass_start(dm, "firing");
}

/* Tell systemd the service is alive. */
static void
daemon_ping(struct daemon *dm)
{
	sd_notify(0, "WATCHDOG=1");
	dm->last_ping = clock_monotonic_ns();
}

/* Watchdog timer: the loop is turning, so tell systemd. */
static void
daemon_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	daemon_ping(arg);
}

/*
 * The case store's tick, every few milliseconds while a query step runs (the
 * loop cannot): keep the watchdog fed (the query is bounded by query_timeout)
 * and stop the query when a signal asked the service to stop.
 */
bool
daemon_tick_cb(void *arg)
{
	struct daemon *dm = arg;

	if (dm->wd_usec > 0 &&
	    clock_monotonic_ns() - dm->last_ping >= (long long)(dm->wd_usec / 2 * 1000))
		daemon_ping(dm);
	return daemon_stop_asked != 0;
}

/* Retention timer: one small batch; again soon while there is more, else in an hour. */
static void
daemon_retain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;
	char *cause = NULL;
	/* (A standby leaves it to the leader.) */
	int n = dm->standby ? 0
	                    : retention_step(dm->ss, &engine_config(dm->engine)->retention,
	                                     clock_now(), RETENTION_BATCH, &cause);
	struct timeval tv = {n > 0 ? 0 : RETENTION_INTERVAL, n > 0 ? 200000 : 0};

	if (n < 0)
		log_err("%s", cause);
	else if (n > 0)
		log_debug("retention removed=%d", n);
	free(cause);
	evtimer_add(dm->retain_ev, &tv);
}

/*
 * Start the HTTP listener when listen is set (the service, not --once).
 * Returns 0, or -1 when the address cannot be bound (logged).
 */
static int
daemon_listen_start(struct daemon *dm)
{
	const struct config *cfg = engine_config(dm->engine);
	char *cause = NULL;

	if (cfg->listen_host == NULL)
		return 0;
	if ((dm->listener = listener_start(dm, &cause)) == NULL) {
		log_err("%s:%d: %s", cfg->path, cfg->listen_line, cause);
		free(cause);
		return -1;
	}
	log_info("listening address=%s", listener_name(dm->listener));
	return 0;
}

/*
 * After a reload: start the listener if listen is newly set, stop it if it
 * is gone. Requests read the new configuration (keys, response_url) at once;
 * only moving to another address waits for a restart.
 */
static void
daemon_listen_reload(struct daemon *dm)
{
	const struct config *cfg = engine_config(dm->engine);

	if (dm->listener == NULL) {
		if (cfg->listen_host != NULL && daemon_listen_start(dm) != 0)
			log_err("the listener did not start; answers, /metrics and /healthz are "
			        "unavailable until it can bind");
	} else if (cfg->listen_host == NULL) {
		log_notice("listen is no longer set: the listener on %s stopped",
		           listener_name(dm->listener));
		listener_free(dm->listener);
		dm->listener = NULL;
	} else if (!listener_at(dm->listener, cfg->listen_host, cfg->listen_port)) {
		log_warn("%s:%d: listen changed, but the listener stays on %s until escalatord "
		         "restarts",
		         cfg->path, cfg->listen_line, listener_name(dm->listener));
	}
}

/*
 * The rules just loaded: records under names they were renamed from move to
 * the new names (renames.c); and, for escalatord status and preview, the rule
 * and holiday files now in force.
 */
static void
daemon_record_loaded(struct daemon *dm)
{
	char *cause = NULL;
	long long moved;

	/* Records under a name the rules say they were renamed from move to the new one. */
	if (renames_apply(dm->ss, engine_rules(dm->engine), &moved, &cause) != 0) {
		log_err("%s; the old names' records stay where they are (renamed_from still counts "
		        "them)",
		        cause);
		free(cause);
		cause = NULL;
	}
	if (runinfo_loaded(dm->ss, dm->engine, clock_now(), &cause) != 0) {
		log_warn("%s", cause);
		free(cause);
	}
}

/* SIGHUP: reload everything; keep the old configuration on any error. */
void
daemon_reload(struct daemon *dm)
{
	struct engine *e;
	struct diag d;
	struct timeval tv;

	/* The pass in progress uses the engine: reload when it ends. */
	if (dm->run != NULL) {
		log_info("reload asked during an evaluation: reloading when it ends");
		dm->reload_wanted = true;
		return;
	}
	sd_notify(0, "RELOADING=1");
	log_info("reloading %s", dm->config_path);
	diag_init(&d);
	e = engine_load(dm->config_path, &d);
	log_diag(&d);
	if (e == NULL) {
		log_err("reload failed: %zu error%s in the configuration or rule files; still "
		        "running the previous configuration",
		        d.errors, d.errors == 1 ? "" : "s");
		diag_free(&d);
		metrics_reload(dm->metrics, false); /* metrics */
		sd_notify(0, "READY=1");
		return;
	}
	diag_free(&d);
	engine_activate(e);
	outbox_configure(dm->ob, engine_config(e));
	/* metrics: the new rules before the old ones are freed */
	metrics_rules(dm->metrics, engine_rules(e));
	metrics_reload(dm->metrics, true);
	engine_free(dm->engine);
	dm->engine = e;
	tv.tv_sec = engine_config(e)->poll_interval;
	tv.tv_usec = 0;
	evtimer_add(dm->poll_ev, &tv);
	daemon_listen_reload(dm);
	daemon_record_loaded(dm);
	log_info("reloaded rules=%zu files=%zu", engine_rules(e)->nrules, engine_rules(e)->nfiles);
	pass_start(dm, "reload");
	sd_notify(0, "READY=1");
}

/* Leave the loop: the outbox has finished or the deadline passed. */
static void
daemon_stop_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;

	if (outbox_in_flight(dm->ob) > 0)
		log_warn("shutdown: %zu deliveries still in flight after %ds; they stay in the "
		         "outbox and are sent after the next start",
		         outbox_in_flight(dm->ob), engine_config(dm->engine)->shutdown_timeout);
	event_base_loopexit(dm->base, NULL);
}

/* SIGTERM/SIGINT: stop evaluating, let in-flight deliveries finish for a while. */
static void
daemon_shutdown(struct daemon *dm, int sig)
{
	struct timeval tv = {engine_config(dm->engine)->shutdown_timeout, 0};

	if (dm->stopping) {
		log_notice("second signal %d: exiting now", sig);
		event_base_loopexit(dm->base, NULL);
		return;
	}
	dm->reload_wanted = false;
	if (dm->run != NULL)
		/* Between slices nothing is open: what was recorded stays, the rest is dropped. */
		pass_end(dm, 0, NULL);
	dm->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_info("stopping on signal %d: %zu deliveries in flight", sig, outbox_in_flight(dm->ob));
	evtimer_del(dm->poll_ev);
	evtimer_del(dm->wake_ev);
	if (dm->lead_ev)
		evtimer_del(dm->lead_ev);
	/* No more requests: each is served whole in one callback, so none is left half done. */
	listener_free(dm->listener);
	dm->listener = NULL;
	outbox_stop(dm->ob);
	if (outbox_in_flight(dm->ob) == 0)
		event_base_loopexit(dm->base, NULL);
	else
		evtimer_add(dm->stop_ev, &tv);
}

/* The signal handler: note it, wake the loop. Async-signal-safe only. */
static void
daemon_signal_handler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		daemon_stop_asked = 1;
	if (write(daemon_sig_pipe[1], &c, 1) < 0) {
		/* Full pipe: signals are already waiting to be read. */
	}
	errno = saved;
}

/* Handle sig with daemon_signal_handler. */
static void
daemon_catch(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = daemon_signal_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(sig, &sa, NULL) != 0)
		fatalx("cannot handle signal %d", sig);
}

/* The signal pipe is readable: handle the signals on the loop. */
static void
daemon_signal_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;
	unsigned char buf[16];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == SIGHUP && !dm->stopping)
				daemon_reload(dm);
			else if (buf[i] == SIGTERM || buf[i] == SIGINT)
				daemon_shutdown(dm, buf[i]);
		}
	}
}

/* The outbox has nothing in flight and nothing due now. */
static void
daemon_idle_cb(void *arg)
{
	struct daemon *dm = arg;

	if (dm->ready)
		daemon_status(dm);
	if (dm->stopping || (dm->once && dm->ready && dm->run == NULL))
		event_base_loopexit(dm->base, NULL);
}

/* Starting failed (logged): free what was made so far; the exit status, 1. */
static int
daemon_start_failed(struct daemon *dm)
{
	if (dm->base != NULL)
		event_base_free(dm->base);
	metrics_free(dm->metrics);
	casehealth_free(dm->health);
	freshness_watch_free(dm->fresh);
	statestore_close(dm->ss);
	engine_free(dm->engine);
	return 1;
}

/* Run the service. */
int
daemon_run(const char *config_path, struct engine *e, bool once, evaluate_alert_fn on_alert)
{
	struct daemon dm;
	struct timeval tv;
	char *cause = NULL, *qstate;

	memset(&dm, 0, sizeof dm);
	dm.config_path = config_path;
	dm.engine = e;
	dm.once = once;
	dm.on_alert = on_alert;
	signal(SIGPIPE, SIG_IGN);
	if ((dm.ss = statestore_open(engine_config(e)->state, false, &cause)) == NULL) {
		log_err("%s", cause);
		free(cause);
		engine_free(e);
		return 1;
	}
	dm.health = casehealth_new(daemon_admin_alert, &dm);
	dm.fresh = freshness_watch_new();
	dm.metrics = metrics_new();
	metrics_rules(dm.metrics, engine_rules(e));
	/* Lead (what was in flight goes again), or stand by: several nodes on PostgreSQL. */
	if (daemon_lead_start(&dm) < 0)
		return daemon_start_failed(&dm);

	if ((dm.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	/* After the state store (answers are recorded there); an address in use is fatal. */
	if (!once && daemon_listen_start(&dm) != 0)
		return daemon_start_failed(&dm);
	dm.ob = outbox_new(dm.base, dm.ss, daemon_idle_cb, &dm);
	outbox_configure(dm.ob, engine_config(e));
	outbox_pause(dm.ob, dm.standby);
	daemon_lead_arm(&dm);
	outbox_observe(dm.ob, metrics_delivery_cb, dm.metrics); /* metrics */
	dm.poll_ev = event_new(dm.base, -1, EV_PERSIST, daemon_poll_cb, &dm);
	dm.wake_ev = evtimer_new(dm.base, daemon_wake_cb, &dm);
	dm.stop_ev = evtimer_new(dm.base, daemon_stop_cb, &dm);
	dm.retain_ev = evtimer_new(dm.base, daemon_retain_cb, &dm);
	dm.pass_ev = evtimer_new(dm.base, pass_slice_cb, &dm);
	daemon_stop_asked = 0;
	if (pipe2(daemon_sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		fatalx("cannot create the signal pipe: %s", strerror(errno));
	dm.sig_ev =
	    event_new(dm.base, daemon_sig_pipe[0], EV_READ | EV_PERSIST, daemon_signal_cb, &dm);
	event_add(dm.sig_ev, NULL);
	daemon_catch(SIGTERM);
	daemon_catch(SIGINT);
	if (sd_watchdog_enabled(0, &dm.wd_usec) <= 0)
		dm.wd_usec = 0;
	dm.last_ping = clock_monotonic_ns();
	if (!once) {
		/* (--once leaves SIGHUP as main set it: ignored.) */
		daemon_catch(SIGHUP);
		tv.tv_sec = engine_config(e)->poll_interval;
		tv.tv_usec = 0;
		evtimer_add(dm.poll_ev, &tv);
		tv.tv_sec = 2; /* after the first pass has had the loop */
		evtimer_add(dm.retain_ev, &tv);
		if (!retention_reclaims(dm.ss))
			log_notice(
			    "%s was made before the state store gave freed space back: it stops "
			    "growing but does not shrink; to shrink it once, stop escalatord and "
			    "run: sqlite3 %s 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM;'",
			    engine_config(e)->state, engine_config(e)->state);
		if (engine_config(e)->smtp == NULL)
			log_warn("no smtp = { ... } in %s: email alerts are recorded and wait in "
			         "the outbox until a mail server is configured",
			         config_path);
	}

	qstate = log_quote(engine_config(e)->state);
	log_info("starting rules=%zu files=%zu state=%s%s", engine_rules(e)->nrules,
	         engine_rules(e)->nfiles, qstate, once ? " once=yes" : "");
	free(qstate);
	if (!once && !dm.standby)
		daemon_record_loaded(&dm);
	if (once)
		pass_start(&dm, "start");
	dm.ready = true;
	if (!once) {
		if (dm.wd_usec > 0) {
			dm.watchdog_ev =
			    event_new(dm.base, -1, EV_PERSIST, daemon_watchdog_cb, &dm);
			tv.tv_sec = (time_t)(dm.wd_usec / 2 / 1000000);
			tv.tv_usec = (suseconds_t)(dm.wd_usec / 2 % 1000000);
			evtimer_add(dm.watchdog_ev, &tv);
		}
		/*
		 * Ready before the first pass, which runs in slices on the loop: however long
		 * it takes, it cannot trip the unit's start timeout, and the watchdog, signals
		 * and deliveries are served meanwhile.
		 */
		sd_notify(0, "READY=1");
		daemon_status(&dm);
		freshness_watch_check(&dm);
		pass_start(&dm, "start");
	}
	/* With --once there may be nothing to send at all. */
	outbox_kick(dm.ob);
	if (!(once && outbox_in_flight(dm.ob) == 0 && dm.stopping))
		event_base_dispatch(dm.base);
	/* --once: what is older than retention goes before it exits (no loop to wait on). */
	cause = NULL;
	while (once && retention_step(dm.ss, &engine_config(dm.engine)->retention, clock_now(),
	                              RETENTION_BATCH, &cause) > 0)
		;
	if (cause != NULL)
		log_err("%s", cause);
	free(cause);

	evaluate_finish(dm.run, NULL);
	listener_free(dm.listener);
	outbox_free(dm.ob);
	statestore_close(dm.ss);
	if (dm.watchdog_ev)
		event_free(dm.watchdog_ev);
	event_free(dm.poll_ev);
	event_free(dm.wake_ev);
	event_free(dm.stop_ev);
	event_free(dm.retain_ev);
	event_free(dm.sig_ev);
	event_free(dm.pass_ev);
	if (dm.lead_ev)
		event_free(dm.lead_ev);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (!once)
		signal(SIGHUP, SIG_DFL);
	close(daemon_sig_pipe[0]);
	close(daemon_sig_pipe[1]);
	daemon_sig_pipe[0] = daemon_sig_pipe[1] = -1;
	event_base_free(dm.base);
	engine_free(dm.engine);
	casehealth_free(dm.health);
	freshness_watch_free(dm.fresh);
	metrics_free(dm.metrics);
	log_info("stopped");
	return once && dm.failed ? 1 : 0;
}
