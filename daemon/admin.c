/*
 * admin.c - what the service tells its admin contact about the case store:
 * unreadable for store_alert_after (and readable again), recorded as an
 * alert of a made-up rule before it is sent, like any other.
 */
#include <stdlib.h>
#include <string.h>

#include "alertstore.h"
#include "casehealth.h"
#include "clock.h"
#include "daemon_impl.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"

/* The made-up rule under which case store health alerts are recorded. */
static struct stage daemon_health_stages[] = {
    {.name = (char *)"unreadable", .label = (char *)"Case store unreadable"},
    {.name = (char *)"readable", .label = (char *)"Case store readable again"},
};
static struct rule daemon_health_rule = {
    .id = (char *)"escalator-case-store",
    .title = (char *)"escalator cannot read the case store",
    .stages = daemon_health_stages,
    .nstages = 2,
};

/*
 * Record an alert of the made-up rule r to the admin contact, inside the
 * caller's transaction: stage, since when (its clock's start), subject and
 * text as given. Not held for a digest: the admin needs to know now. *id is
 * 0 when there is no admin contact. Returns 0, or -1 with *cause set.
 */
int
daemon_admin_record(struct daemon *dm, const struct rule *r, int stage, time_t since,
                    const char *subject, const char *text, long long *id, char **cause)
{
	const struct config *cfg = engine_config(dm->engine);
	const struct contact *c = cfg->admin ? config_find_contact(cfg, cfg->admin) : NULL;
	struct recipient rc;
	struct alert a;
	/* Every stage counts as recorded: a made-up rule's alert skips none (at most 8 stages). */
	bool recorded[8] = {true, true, true, true, true, true, true, true};

	*id = 0;
	if (c == NULL || r->nstages > 8)
		return 0;
	memset(&a, 0, sizeof a);
	rc.kind = c->kind;
	rc.address = c->address;
	rc.contact = c->name;
	a.rule = r;
	a.case_ref = "case-store";
	a.fires = clock_local(clock_now(), NULL);
	a.start = a.due = (date_t)(clock_local(since, NULL) / 1440);
	a.stage = stage;
	a.recipients = &rc;
	a.nrecipients = 1;
	a.subject = subject;
	a.body = text;
	return alertstore_record(dm->ss, &a, recorded, id, cause);
}

/* Record an alert to the admin contact about the case store, then send it. */
void
daemon_admin_alert(void *arg, enum casehealth_stage stage, time_t bad_since, const char *subject,
                   const char *text)
{
	struct daemon *dm = arg;
	const struct config *cfg = engine_config(dm->engine);
	long long id;
	char *cause = NULL, since[DATETIME_STRLEN];

	if (cfg->admin == NULL)
		return;
	if (statestore_begin(dm->ss, &cause) != 0 ||
	    daemon_admin_record(dm, &daemon_health_rule, (int)stage, bad_since, subject, text, &id,
	                        &cause) != 0 ||
	    statestore_commit(dm->ss, &cause) != 0) {
		log_err("cannot record the case store alert for %s: %s", cfg->admin, cause);
		free(cause);
		statestore_rollback(dm->ss);
		return;
	}
	if (id == 0)
		return;
	localtime_format(clock_local(bad_since, NULL), since);
	log_notice("alert id=%lld rule=%s stage=%s to=%s since=%s", id, daemon_health_rule.id,
	           daemon_health_stages[stage].name, cfg->admin, since);
	metrics_alert(dm->metrics, &daemon_health_rule, (int)stage); /* metrics */
	outbox_kick(dm->ob);
}

/* The case store cannot be read (first found so at since), for reason. */
void
daemon_store_bad(struct daemon *dm, time_t since, const char *reason)
{
	const struct config *cfg = engine_config(dm->engine);

	metrics_store_bad(dm->metrics, reason); /* metrics: what /healthz says */
	casehealth_bad(dm->health, cfg->case_store, cfg->store_alert_after, since, clock_now(),
	               reason);
}

/* The case store is readable (again). */
void
daemon_store_ok(struct daemon *dm)
{
	dm->store_broken = false;
	casehealth_ok(dm->health, engine_config(dm->engine)->case_store, clock_now());
}
