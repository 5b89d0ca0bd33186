/*
 * daemon_lead.c - the service as one of several nodes on a state store on
 * PostgreSQL (leader.h): it leads, evaluating and sending, or it stands by,
 * rules loaded, evaluating and sending nothing, and tries for the lead every
 * failover_timeout / 3. A leader checks it still leads as often; when it has
 * lost the lead (its connection was cut, another node took over) it stops
 * taking deliveries at once and stands by. On SQLite it always leads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "clock.h"
#include "daemon_impl.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "xalloc.h"

/* How often a standby tries for the lead and a leader checks it still has it. */
static int
daemon_lead_every(const struct daemon *dm)
{
	int t = engine_config(dm->engine)->failover_timeout / 3;

	return t < 1 ? 1 : t;
}

/* What was in flight when the last leader (or this process) stopped goes again. */
static void
daemon_lead_resend(struct daemon *dm, bool at_start)
{
	char *cause = NULL;
	int n;

	if ((n = queue_reset_in_flight(dm->ss, &cause)) < 0) {
		log_err("%s", cause);
		free(cause);
	} else if (n > 0)
		log_notice("%d deliveries were in flight when %s; sending them again (receivers "
		           "can drop repeats by their delivery id)",
		           n, at_start ? "escalatord last stopped" : "the last leader stopped");
}

/* This node has just taken the lead. */
static void
daemon_lead_taken(struct daemon *dm, bool at_start)
{
	const struct config *cfg = engine_config(dm->engine);

	dm->standby = false;
	log_notice("leading instance %s (epoch %lld)%s", cfg->instance, dm->epoch,
	           at_start ? "" : ": taking over");
	metrics_lead(dm->metrics, true, dm->epoch); /* metrics */
	daemon_lead_resend(dm, at_start);
	if (!at_start) {
		outbox_pause(dm->ob, false);
		pass_start(dm, "lead");
		daemon_status(dm);
	}
}

int
daemon_lead_start(struct daemon *dm)
{
	const struct config *cfg = engine_config(dm->engine);
	char host[64] = "", *holder = NULL, *cause = NULL;
	int rc;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(dm->node, sizeof dm->node, "%s:%ld", host, (long)getpid());
	if (!leader_shared(dm->ss)) {
		dm->epoch = 0;
		daemon_lead_resend(dm, true); /* one node: it leads, nothing more to say */
		return 0;
	}
	leader_require(dm->ss, cfg->instance);
	rc = leader_try(dm->ss, dm->node, &dm->epoch, &holder, &cause);
	if (rc < 0) {
		log_err("%s", cause);
		free(cause);
		return -1;
	}
	if (rc == 1) {
		daemon_lead_taken(dm, true);
		return 0;
	}
	dm->standby = true;
	if (dm->once)
		log_err("instance %s is led by %s: --once would record and send alongside it; "
		        "stop that node first, or run this on it",
		        cfg->instance, holder ? holder : "another node");
	else
		log_notice("standby: instance %s is led by %s; this node takes over within %ds "
		           "(failover_timeout) of it stopping",
		           cfg->instance, holder ? holder : "another node", cfg->failover_timeout);
	metrics_lead(dm->metrics, false, 0); /* metrics */
	free(holder);
	return dm->once ? -1 : 1;
}

/* The lead timer: a standby tries for the lead, a leader checks it still has it. */
static void
daemon_lead_cb(evutil_socket_t fd, short events, void *arg)
{
	struct daemon *dm = arg;
	const struct config *cfg = engine_config(dm->engine);
	char *cause = NULL, *holder = NULL;
	int rc;

	(void)fd;
	(void)events;
	if (dm->stopping)
		return;
	if (!dm->standby) {
		if (leader_check(dm->ss, &cause) == 1)
			return;
		/* Lost: send nothing more; what is in flight ends unrecorded, and goes again. */
		log_err("lost the lead of instance %s: %s; standing by (another node takes over; "
		        "this one tries for the lead again after %ds)",
		        cfg->instance, cause, cfg->failover_timeout);
		free(cause);
		cause = NULL;
		dm->standby = true;
		dm->epoch = 0;
		/* The standbys first: a node whose connection flapped does not grab the lead back.
		 */
		dm->lead_not_before =
		    clock_monotonic_ns() + (long long)cfg->failover_timeout * 1000000000LL;
		outbox_pause(dm->ob, true);
		if (dm->run != NULL)
			pass_end(dm, 0, NULL);
		metrics_lead(dm->metrics, false, 0); /* metrics */
		daemon_status(dm);
		return;
	}
	if (clock_monotonic_ns() < dm->lead_not_before)
		return;
	rc = leader_try(dm->ss, dm->node, &dm->epoch, &holder, &cause);
	if (rc == 1)
		daemon_lead_taken(dm, false);
	else if (rc < 0) {
		log_warn("standby: %s; trying again in %ds", cause, daemon_lead_every(dm));
		free(cause);
	}
	free(holder);
}

void
daemon_lead_arm(struct daemon *dm)
{
	struct timeval tv = {daemon_lead_every(dm), 0};

	if (!leader_shared(dm->ss) || dm->once)
		return;
	dm->lead_ev = event_new(dm->base, -1, EV_PERSIST, daemon_lead_cb, dm);
	evtimer_add(dm->lead_ev, &tv);
}

/* "leader" or "standby" (with the instance) for systemctl status, or "" on one node. */
const char *
daemon_lead_status(const struct daemon *dm, char *buf, size_t len)
{
	if (!leader_shared(dm->ss))
		return "";
	if (dm->standby)
		snprintf(buf, len, " standby instance=%s", engine_config(dm->engine)->instance);
	else
		snprintf(buf, len, " leader instance=%s epoch=%lld",
		         engine_config(dm->engine)->instance, dm->epoch);
	return buf;
}
