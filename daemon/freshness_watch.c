/*
 * freshness_watch.c - the stale-extract alarm in the service. At each poll
 * (and at start) the case store's age is measured (a stat, or freshness_query
 * once) and judged against max_store_age (freshness.c). The admin is told
 * once when the data is too old and once when new data arrives, as an alert
 * of a made-up rule, like the case store's unreadable alarm. The alarm's state
 * is kept in the state store's meta table, recorded in the same transaction
 * as the alert, so a restart neither tells twice nor forgets to tell.
 *
 * Alerts keep going out meanwhile: holding them would miss every clock that
 * is really late, while a reminder about a review already held costs its
 * reader a minute. The admin's message says so.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon_impl.h"
#include "freshness.h"
#include "log.h"
#include "metrics.h"
#include "runinfo.h"
#include "xalloc.h"

struct freshness_watch {
	struct freshness_state st;
	bool loaded; /* st read back from the state store */
	char *why;   /* why the age was unknown at the last check (logged once), or NULL */
};

/* Is the stale-extract alarm raised (for systemd's STATUS line)? */
bool
freshness_watch_stale(const struct freshness_watch *w)
{
	return w != NULL && w->st.stale;
}

/* The made-up rule under which the alarm's alerts are recorded. */
static struct stage freshness_stages[] = {
    {.name = (char *)"stale", .label = (char *)"Case store data too old"},
    {.name = (char *)"fresh", .label = (char *)"Case store data new again"},
};
static struct rule freshness_rule = {
    .id = (char *)"escalator-case-store-age",
    .title = (char *)"The case store's data is older than max_store_age",
    .stages = freshness_stages,
    .nstages = 2,
};

/* A watch with nothing known yet. */
struct freshness_watch *
freshness_watch_new(void)
{
	return xcalloc(1, sizeof(struct freshness_watch));
}

/* Free w. */
void
freshness_watch_free(struct freshness_watch *w)
{
	if (w == NULL)
		return;
	freshness_state_clear(&w->st);
	free(w->why);
	free(w);
}

/* Read the alarm's state back from the state store (once). */
static void
freshness_watch_load(struct daemon *dm, struct freshness_watch *w)
{
	json_t *j = NULL;
	char *cause = NULL;

	w->loaded = true;
	if (runinfo_get(dm->ss, FRESHNESS_META, &j, &cause) != 0) {
		log_warn("%s; the stale-extract alarm starts as not raised", cause);
		free(cause);
		return;
	}
	if (freshness_state_load(j, &w->st) != 0)
		log_warn("the state store's %s record is not one this escalatord wrote; the "
		         "stale-extract alarm starts as not raised",
		         FRESHNESS_META);
	json_decref(j);
}

/* Log why the age is unknown when that changes, and when it is known again. */
static void
freshness_watch_log(const struct config *cfg, struct freshness_watch *w,
                    const struct freshness_reading *r)
{
	char *path = log_quote(cfg->case_store);

	if (!r->known && (w->why == NULL || strcmp(w->why, r->why) != 0)) {
		log_err("case store age unknown path=%s: %s; this counts as old data, not new, "
		        "once it lasts max_store_age (%s)",
		        path, r->why, cfg->max_store_age_text);
		free(w->why);
		w->why = xstrdup(r->why);
	} else if (r->known && w->why != NULL) {
		log_notice("case store age known again path=%s", path);
		free(w->why);
		w->why = NULL;
	}
	free(path);
}

/* Record the alert about ev and the alarm's new state in one transaction; then log it. */
static int
freshness_watch_tell(struct daemon *dm, struct freshness_watch *w, enum freshness_event ev,
                     const struct freshness_reading *r, time_t now)
{
	const struct config *cfg = engine_config(dm->engine);
	int stage = ev == FRESHNESS_STALE ? 0 : 1;
	char *subject, *body, *json, *cause = NULL, *path, data[DATETIME_STRLEN];
	long long id = 0, age = freshness_age(r, now);
	struct freshness_state next = w->st; /* (shallow: admin is set below, borrowed) */
	int rc = -1;

	freshness_message(ev, &w->st, r, cfg->case_store, cfg->max_store_age_text, now, &subject,
	                  &body);
	next.admin = NULL;
	next.told = 0;
	if (statestore_begin(dm->ss, &cause) == 0) {
		if (daemon_admin_record(dm, &freshness_rule, stage, w->st.since, subject, body, &id,
		                        &cause) == 0) {
			if (id != 0) {
				next.told = now;
				next.admin = cfg->admin;
			}
			json = freshness_state_json(&next);
			if (runinfo_set(dm->ss, FRESHNESS_META, json, &cause) == 0 &&
			    statestore_commit(dm->ss, &cause) == 0)
				rc = 0;
			free(json);
		}
		if (rc != 0)
			statestore_rollback(dm->ss);
	}
	free(subject);
	free(body);
	if (rc != 0) {
		log_err("cannot record the stale-extract alarm (%s): %s; trying again at the next "
		        "poll",
		        freshness_stages[stage].name, cause);
		free(cause);
		return -1;
	}
	free(w->st.admin);
	w->st.admin = next.admin != NULL ? xstrdup(next.admin) : NULL;
	w->st.told = next.told;
	path = log_quote(cfg->case_store);
	localtime_format(clock_local(r->known ? r->data_time : now, NULL), data);
	if (ev == FRESHNESS_STALE)
		log_warn("case store stale path=%s data_time=%s age=%llds max_store_age=%llds "
		         "source=%s: alerts keep going out from the data escalator has; check the "
		         "extract",
		         path, r->known ? data : "unknown", age, cfg->max_store_age,
		         r->from_query ? "freshness_query" : "file");
	else
		log_notice("case store fresh again path=%s data_time=%s age=%llds source=%s", path,
		           data, age, r->from_query ? "freshness_query" : "file");
	free(path);
	if (id != 0) {
		log_notice("alert id=%lld rule=%s stage=%s to=%s", id, freshness_rule.id,
		           freshness_stages[stage].name, cfg->admin);
		metrics_alert(dm->metrics, &freshness_rule, stage); /* metrics */
		outbox_kick(dm->ob);
	} else if (ev == FRESHNESS_STALE)
		log_warn("nobody was told the case store is stale: admin is not set");
	return 0;
}

/* Measure, judge, tell. */
void
freshness_watch_check(struct daemon *dm)
{
	const struct config *cfg = engine_config(dm->engine);
	struct freshness_watch *w = dm->fresh;
	struct casestore *cs = engine_casestore(dm->engine);
	struct freshness_reading r;
	struct freshness_state was;
	enum freshness_event ev;
	time_t now = clock_now();

	if (dm->standby) /* the leader watches and tells */
		return;

	if (dm->once || cfg->max_store_age == 0) {
		metrics_freshness(dm->metrics, NULL, false, 0);
		return;
	}
	/* A missing or unopenable file is casehealth's alarm: this one waits for a readable one. */
	if (dm->store_broken)
		return;
	if (!w->loaded)
		freshness_watch_load(dm, w);
	if (cfg->freshness_query != NULL) {
		/* As a rule query runs: :now and :today, query_timeout, the watchdog fed meanwhile.
		 */
		casestore_set_clock(cs, clock_local(now, NULL));
		casestore_set_timeout(cs, cfg->query_timeout);
		casestore_set_tick(cs, daemon_tick_cb, dm);
	}
	freshness_measure(cfg->case_store, cfg->freshness_query, cs, &r);
	freshness_watch_log(cfg, w, &r);
	was = w->st;
	ev = freshness_judge(&w->st, &r, cfg->max_store_age, now);
	if (ev != FRESHNESS_SAME && freshness_watch_tell(dm, w, ev, &r, now) != 0) {
		/* Not recorded: as it was, so the next poll tries again. */
		w->st.stale = was.stale;
		w->st.since = was.since;
		w->st.data_time = was.data_time;
	}
	metrics_freshness(dm->metrics, &r, w->st.stale, cfg->max_store_age);
	freshness_reading_clear(&r);
}
