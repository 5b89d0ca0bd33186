/* outbox.c - hands due deliveries to the notifier and records what became of them. */
#include "outbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answers.h"
#include "bundle.h"
#include "clock.h"
#include "destination.h"
#include "log.h"
#include "queue.h"
#include "ratelimit.h"
#include "refusal.h"

/* Items one cycle bundles into digests at most (whole destinations): a loop turn stays short. */
#define OUTBOX_BUNDLE_BATCH 20000
/* Seconds before a delivery in flight counts as lost (beyond its transfers' timeouts). */
#define OUTBOX_LEASE_SLACK 60
/* When the state store cannot be read, try again after this many milliseconds. */
#define OUTBOX_ERROR_WAIT 5000

/* A delivery in flight: its record, and what the log line and the audit row show. */
struct outbox_flight {
	struct delivery *d;
	char *recipient; /* what the audit row records: an address, a URL or a contact's name */
	char *to;        /* what the log line shows (never a credential-bearing URL) */
	time_t started;
	struct destination *dest; /* NULL: the delivery could not be resolved */
};

struct outbox {
	struct event_base *base;
	struct statestore *ss;
	struct notifier *nt;
	const struct config *cfg;
	struct event *retry_ev; /* the next delivery falls due (a retry, a rate limit slot) */
	struct event *flush_ev; /* record finished deliveries at the end of this loop turn */
	void (*idle_fn)(void *);
	void *idle_arg;
	bool stopped;
	bool paused;       /* this node stands by (leader.h): take nothing, bundle nothing */
	bool hold_digests; /* a pass is recording deliveries for digests: bundle none yet */
	unsigned int seed;

	struct outbox_flight *flights; /* in flight, unordered */
	size_t nflights, capflights;
	struct outcome_record *done; /* finished, not yet recorded */
	size_t ndone, capdone;
	struct refusals notices; /* for the failed among done */
	struct destinations dests;
	outbox_result_fn result_fn; /* metrics */
	void *result_arg;
};

/* Back-off before the next attempt, with +-20% jitter. */
long long
outbox_backoff(int attempts, int min, int max, unsigned int *seed)
{
	double delay = min;
	double jitter;

	for (int i = 1; i < attempts && delay < max; i++)
		delay *= 2;
	if (delay > max)
		delay = max;
	jitter = 0.8 + 0.4 * ((double)rand_r(seed) / RAND_MAX);
	delay *= jitter;
	return delay < 1 ? 1 : (long long)delay;
}

/* Find the flight of delivery id. */
static struct outbox_flight *
outbox_find(struct outbox *ob, long long id)
{
	for (size_t i = 0; i < ob->nflights; i++)
		if (ob->flights[i].d->id == id)
			return &ob->flights[i];
	return NULL;
}

/*
 * Record the finished deliveries (inside the cycle's transaction if one is
 * open), and a notice to the admin for each that failed for good, and forget
 * them. Returns NULL, or why they were not recorded (then no notice either:
 * the delivery is taken again and fails again).
 */
static char *
outbox_record(struct outbox *ob)
{
	char *cause = NULL;

	if (ob->ndone > 0 && queue_finish(ob->ss, ob->done, ob->ndone, &cause) == 0 &&
	    ob->cfg != NULL)
		refusal_tell(&ob->notices, ob->ss, ob->cfg);
	refusal_clear(&ob->notices);
	for (size_t i = 0; i < ob->ndone; i++) {
		free(ob->done[i].detail);
		free(ob->done[i].recipient);
	}
	ob->ndone = 0;
	return cause;
}

/*
 * End a cycle's recording: commit its transaction if tx (the results and the
 * next deliveries' leases at once), and say so if the nresults results were
 * not recorded (lost: why, freed here). Those deliveries stay pending with
 * their lease: they are taken again when it runs out. Returns 0, or -1 if
 * the commit failed (then nothing leased in it holds).
 */
static int
outbox_settle(struct outbox *ob, bool tx, size_t nresults, char *lost)
{
	char *cause = NULL;
	int rc = 0;

	if (tx && statestore_commit(ob->ss, &cause) != 0) {
		statestore_rollback(ob->ss);
		rc = -1;
		if (lost == NULL)
			lost = cause;
		else
			free(cause);
	}
	if (lost != NULL)
		log_err("%s; %zu delivery results not recorded (they will be retried)", lost,
		        nresults);
	free(lost);
	return rc;
}

static void outbox_cycle(struct outbox *ob, bool flush);

/* Timer: record finished deliveries, then start more. */
static void
outbox_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	outbox_cycle(arg, true);
}

/* Timer: a retry or a rate limit slot fell due. */
static void
outbox_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	outbox_kick(arg);
}

/* Log one finished delivery as a key=value line. */
static void
outbox_log(const struct outbox_flight *f, const struct delivery_result *r, long long retry_in)
{
	static const char *const status[] = {"sent", "retry", "failed"};
	const struct delivery *d = f->d;
	char *to = log_quote(f->to), *cs = log_quote(d->case_ref ? d->case_ref : "");
	char *detail = log_quote(r->detail ? r->detail : ""), *what;
	int pri = r->status == DELIVERY_SENT    ? LOG_INFO
	          : r->status == DELIVERY_RETRY ? LOG_WARNING
	                                        : LOG_ERR;

	/* A digest is about many cases: how many, and which part. */
	what = d->digest ? xasprintf("digest=%zu part=%d/%d", d->nitems, d->part, d->parts)
	                 : xasprintf("rule=%s case=%s stage=%s", d->rule, cs, d->stage);
	if (r->status == DELIVERY_RETRY)
		log_msg(pri,
		        "delivery id=%lld %s kind=%s to=%s status=retry code=%ld attempts=%d "
		        "retry_in=%llds detail=%s",
		        d->id, what, channel_name(d->kind), to, r->code, d->attempts, retry_in,
		        detail);
	else
		log_msg(pri,
		        "delivery id=%lld %s kind=%s to=%s status=%s code=%ld attempts=%d "
		        "delay=%llds%s%s",
		        d->id, what, channel_name(d->kind), to, status[r->status], r->code,
		        d->attempts, (long long)(clock_now() - f->started),
		        r->status == DELIVERY_SENT ? "" : " detail=",
		        r->status == DELIVERY_SENT ? "" : detail);
	free(what);
	free(to);
	free(cs);
	free(detail);
}

/* Milliseconds of the real clock's current second (0 when the clock is fixed). */
static long long
outbox_subsecond(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec != clock_now())
		return 0;
	return ts.tv_nsec / 1000000;
}

/* Notifier callback: one delivery finished. */
static void
outbox_done_cb(void *arg, long long id, const struct delivery_result *r)
{
	struct outbox *ob = arg;
	struct outbox_flight *f = outbox_find(ob, id);
	struct outcome_record *o;
	long long retry_in = 0;

	if (f == NULL)
		fatalx("delivery %lld finished but was not in flight", id);
	if (ob->ndone == ob->capdone) {
		ob->capdone = ob->capdone ? ob->capdone * 2 : 16;
		ob->done = xreallocarray(ob->done, ob->capdone, sizeof *ob->done);
	}
	o = &ob->done[ob->ndone++];
	memset(o, 0, sizeof *o);
	o->id = id;
	o->code = r->code;
	o->detail = xstrdup_or_null(r->detail);
	o->recipient = xstrdup(f->recipient);
	switch (r->status) {
	case DELIVERY_SENT:
		o->outcome = OUTCOME_SENT;
		break;
	case DELIVERY_FAILED:
		o->outcome = OUTCOME_FAILED;
		refusal_keep(&ob->notices, f->d, r);
		break;
	case DELIVERY_RETRY:
		o->outcome = OUTCOME_RETRY;
		retry_in = outbox_backoff(f->d->attempts, ob->cfg->retry_min, ob->cfg->retry_max,
		                          &ob->seed);
		if (r->retry_after > retry_in)
			retry_in = r->retry_after;
		/* Rounded up to the second: never sooner than retry_in (or Retry-After). */
		o->next_attempt =
		    ((long long)clock_now() * 1000 + outbox_subsecond() + retry_in * 1000 + 999) /
		    1000;
		/* Told to slow down: everything else for this destination waits as long. */
		if (f->dest != NULL && (r->code == 429 || r->retry_after > 0))
			f->dest->hold_until = ratelimit_now() + retry_in * 1000;
		break;
	}
	outbox_log(f, r, retry_in);
	if (ob->result_fn != NULL)
		ob->result_fn(ob->result_arg, f->d->kind, r->status);

	if (f->dest != NULL)
		f->dest->in_flight--;
	delivery_free(f->d);
	free(f->recipient);
	free(f->to);
	*f = ob->flights[--ob->nflights];
	/* Record at the end of this loop turn, with whatever else finished in it. */
	event_active(ob->flush_ev, 0, 0);
}

/* Start delivery d taken from the queue, owned from now on (its destination's share counted). */
static void
outbox_start(struct outbox *ob, struct delivery *d, struct destination *dest)
{
	struct outbox_flight *f;
	char *cause = NULL, *recipient, *to;
	int resolved;

	/* The answer links name the recipient as recorded: before it is resolved to a URL. */
	answers_set_links(ob->cfg, d, time(NULL));
	resolved = destination_resolve(ob->cfg, d, &recipient, &to, &cause);

	if (ob->nflights == ob->capflights) {
		ob->capflights = ob->capflights ? ob->capflights * 2 : 16;
		ob->flights = xreallocarray(ob->flights, ob->capflights, sizeof *ob->flights);
	}
	f = &ob->flights[ob->nflights++];
	f->d = d;
	f->recipient = recipient;
	f->to = to;
	f->started = clock_now();
	f->dest = dest;
	if (dest != NULL) {
		dest->in_flight++;
		/* A Notify re-attempt asks for its reference first: two requests. */
		if (d->kind == CHANNEL_GOVUK_NOTIFY && d->attempts > 1)
			ratelimit_charge(&dest->rl, ratelimit_now(), 1);
	}
	if (resolved == 0 && (cause = refusal_check(ob->cfg, d)) != NULL) {
		struct delivery_result r = {DELIVERY_FAILED, 0, cause, 0};

		outbox_done_cb(ob, d->id, &r); /* frees d */
		free(cause);
		return;
	}
	if (resolved != 0 || notifier_send(ob->nt, d, &cause) != 0) {
		/* A contact removed: a permanent failure, recorded like any other. */
		struct delivery_result r = {
		    resolved == DESTINATION_FAILED ? DELIVERY_FAILED : DELIVERY_RETRY, 0, cause, 0};

		outbox_done_cb(ob, d->id, &r); /* frees d */
		free(cause);
	}
}

/* Arm the timer for delay_ms from now (or disarm it for -1). */
static void
outbox_arm(struct outbox *ob, long long delay_ms)
{
	struct timeval tv;

	evtimer_del(ob->retry_ev);
	if (delay_ms < 0)
		return;
	if (delay_ms < 1)
		delay_ms = 1;
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000;
	evtimer_add(ob->retry_ev, &tv);
}

/* The earlier of a and b, where -1 means never. */
static long long
outbox_sooner(long long a, long long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * Start what is due now. Results that came in are recorded in the same
 * commit: a kick between the slices of a pass must not lease new deliveries
 * while finished ones still show as in flight (the state store would hold
 * more than max_deliveries in flight, and a crash would send them again).
 */
void
outbox_kick(struct outbox *ob)
{
	outbox_cycle(ob, ob->ndone > 0);
}

/*
 * How many due deliveries to take from each group, within max_deliveries and
 * each destination's share and pace (reserving them): fills reqs (*nreqs) and
 * gdest (each group's destination), brings *wake forward to when one is worth
 * waking for, and sets *waiting when something due waits for us, not for a
 * server. Returns how many in all.
 */
static int
outbox_plan(struct outbox *ob, const struct queue_group *groups, size_t ngroups, long long now,
            struct queue_request *reqs, size_t *nreqs, struct destination **gdest, long long *wake,
            bool *waiting)
{
	long long ms = ratelimit_now();
	int room = ob->cfg->max_deliveries - (int)ob->nflights, total = 0;

	for (size_t i = 0; i < ngroups; i++) {
		const struct queue_group *g = &groups[i];
		struct destination *dest;
		int take = 0;

		if (g->next > 0)
			*wake = outbox_sooner(*wake, (g->next - now) * 1000);
		if (g->due == 0)
			continue;
		dest = gdest[i] =
		    destination_find(&ob->dests, ob->cfg, ob->nt, g->kind, g->recipient);
		while (take < g->due && room > 0) {
			long long w;

			if (dest != NULL) {
				if (dest->in_flight + dest->reserved >= dest->cap) {
					/* A delivery finishing kicks the outbox again. */
					*waiting = true;
					break;
				}
				if (dest->hold_until > ms) {
					*wake = outbox_sooner(*wake, dest->hold_until - ms);
					break;
				}
				if ((w = ratelimit_wait(&dest->rl, ms)) > 0) {
					*wake = outbox_sooner(*wake, w);
					*waiting = true;
					break;
				}
				ratelimit_charge(&dest->rl, ms, 1);
				dest->reserved++;
			}
			take++;
			room--;
		}
		if (take < g->due && room <= 0)
			*waiting = true;
		if (take > 0) {
			reqs[*nreqs].kind = g->kind;
			reqs[*nreqs].recipient = g->recipient;
			reqs[*nreqs].count = take;
			(*nreqs)++;
			total += take;
		}
	}
	return total;
}

/* The destination of d among the groups it was taken from (NULL if unknown). */
static struct destination *
outbox_group_dest(const struct queue_group *groups, struct destination **gdest, size_t ngroups,
                  const struct delivery *d)
{
	for (size_t g = 0; g < ngroups; g++)
		if (groups[g].kind == d->kind &&
		    (groups[g].recipient == NULL || strcmp(groups[g].recipient, d->recipient) == 0))
			return gdest[g];
	return NULL;
}

/*
 * One cycle: with flush, record the finished deliveries; then start due
 * deliveries within max_deliveries and each destination's share and pace,
 * and arm the timer for the next one that falls due. A delivery that waits
 * for its destination is not an attempt: it is simply not taken yet. The
 * results and the next deliveries' leases are committed together (one
 * commit, one fsync, not two), before any new delivery starts.
 */
static void
outbox_cycle(struct outbox *ob, bool flush)
{
	struct queue_group *groups = NULL;
	struct destination **gdest;
	struct queue_request *reqs;
	struct delivery **taken;
	size_t ngroups = 0, nreqs = 0, nresults = flush ? ob->ndone : 0;
	char *cause = NULL, *lost = NULL;
	long long now = (long long)clock_now(), wake = -1, lease;
	int total, n;
	bool waiting = false; /* something due waits for us, not for a server */
	bool tx = false;

	if (nresults > 0 && !ob->stopped && !ob->paused && ob->cfg != NULL) {
		tx = statestore_begin(ob->ss, &cause) == 0;
		if (!tx) {
			log_err("%s; will try again", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (nresults > 0)
		lost = outbox_record(ob);
	if (ob->stopped || ob->paused || ob->cfg == NULL) {
		/*
		 * Standing by, the results of what was in flight when the lead went
		 * cannot be recorded: the leader sends those again (at least once).
		 */
		outbox_settle(ob, false, nresults, lost);
		/* Shutting down: say so once the last delivery in flight has been recorded. */
		if (ob->stopped && ob->idle_fn != NULL && ob->nflights == 0 && ob->ndone == 0)
			ob->idle_fn(ob->idle_arg);
		return;
	}
	/* What waits for a digest and whose time has come becomes one delivery per recipient. */
	if (!ob->hold_digests) {
		long long next;
		bool more;
		int made = bundle_form(ob->ss, now, OUTBOX_BUNDLE_BATCH, &next, &more, &cause);

		if (made < 0) {
			log_err("%s; will try again", cause);
			free(cause);
			cause = NULL;
			wake = OUTBOX_ERROR_WAIT;
		} else {
			if (made > 0)
				log_info(
				    "digests=%d: deliveries held for this sending time bundled, "
				    "one per recipient",
				    made);
			/* A backlog: the next batch on the next turn of the loop. */
			if (more)
				wake = 0;
			else if (next > 0)
				wake = (next - now) * 1000;
		}
	}
	if (queue_groups(ob->ss, now, ob->cfg->max_deliveries, &groups, &ngroups, &cause) != 0) {
		log_err("%s; will try again", cause);
		free(cause);
		outbox_settle(ob, tx, nresults, lost);
		outbox_arm(ob, OUTBOX_ERROR_WAIT);
		return;
	}
	reqs = xcalloc(ngroups + 1, sizeof *reqs);
	gdest = xcalloc(ngroups + 1, sizeof *gdest);
	total = outbox_plan(ob, groups, ngroups, now, reqs, &nreqs, gdest, &wake, &waiting);

	taken = xcalloc((size_t)total + 1, sizeof *taken);
	/* Time for every transfer of an attempt: a token or a lookup, then the delivery. */
	lease = now + 2 * ((long long)ob->cfg->delivery_timeout + ob->cfg->connect_timeout) +
	        OUTBOX_LEASE_SLACK;
	if ((n = queue_take(ob->ss, now, lease, reqs, nreqs, taken, total, &cause)) < 0) {
		log_err("%s; will try again", cause);
		free(cause);
		wake = outbox_sooner(wake, OUTBOX_ERROR_WAIT);
		n = 0;
	}
	if (outbox_settle(ob, tx, nresults, lost) != 0) {
		/* Their leases were not committed: they are not started. */
		for (int i = 0; i < n; i++)
			delivery_free(taken[i]);
		n = 0;
	}
	if (tx && n == 0 && total > 0)
		wake = outbox_sooner(wake, OUTBOX_ERROR_WAIT);
	for (size_t i = 0; i < ob->dests.n; i++)
		ob->dests.v[i]->reserved = 0;
	/* They come back in the order of the groups they were asked for. */
	for (int i = 0; i < n; i++)
		outbox_start(ob, taken[i], outbox_group_dest(groups, gdest, ngroups, taken[i]));
	free(taken);
	free(reqs);
	free(gdest);
	queue_groups_free(groups, ngroups);

	/* Wake for the next delivery that falls due, or the next free slot. */
	outbox_arm(ob, wake);
	if (ob->idle_fn != NULL && ob->nflights == 0 && ob->ndone == 0 && !waiting)
		ob->idle_fn(ob->idle_arg);
}

/* Log lines from the notifier (an OAuth token request failed...). */
static void
outbox_notifier_log(void *arg, int pri, const char *msg)
{
	log_msg(pri, "%s", msg);
}

/* A new outbox. */
struct outbox *
outbox_new(struct event_base *base, struct statestore *ss, void (*idle_fn)(void *), void *idle_arg)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);

	ob->base = base;
	ob->ss = ss;
	ob->idle_fn = idle_fn;
	ob->idle_arg = idle_arg;
	ob->seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)ob;
	ob->retry_ev = evtimer_new(base, outbox_retry_cb, ob);
	ob->flush_ev = event_new(base, -1, 0, outbox_flush_cb, ob);
	ob->nt = notifier_new(base, outbox_done_cb, ob);
	if (ob->retry_ev == NULL || ob->flush_ev == NULL || ob->nt == NULL)
		fatalx("cannot create the outbox's events");
	notifier_set_log(ob->nt, outbox_notifier_log, ob);
	return ob;
}

/* Use cfg from now on. */
void
outbox_configure(struct outbox *ob, const struct config *cfg)
{
	struct notifier_settings s;

	ob->cfg = cfg;
	memset(&s, 0, sizeof s);
	s.smtp = cfg->smtp;
	s.ca_file = cfg->ca_file;
	s.connect_timeout = cfg->connect_timeout;
	s.delivery_timeout = cfg->delivery_timeout;
	s.proxy = cfg->proxy;
	notifier_configure(ob->nt, &s);
}

/* Hold back (or release) the bundling of digests. */
void
outbox_hold_digests(struct outbox *ob, bool hold)
{
	ob->hold_digests = hold;
}

/* This node stands by (or leads again): take and bundle nothing while paused. */
void
outbox_pause(struct outbox *ob, bool pause)
{
	bool was = ob->paused;

	ob->paused = pause;
	/* Only when it leads again: at start the first pass kicks it, with its digests held. */
	if (was && !pause)
		outbox_kick(ob);
}

/* Start nothing new. */
void
outbox_stop(struct outbox *ob)
{
	ob->stopped = true;
	evtimer_del(ob->retry_ev);
}

/* Deliveries in flight. */
size_t
outbox_in_flight(const struct outbox *ob)
{
	return ob->nflights;
}

/* Tell fn the channel and result of every attempt that ends. */
void
outbox_observe(struct outbox *ob, outbox_result_fn fn, void *arg)
{
	ob->result_fn = fn;
	ob->result_arg = arg;
}

/* Free the outbox: in-flight transfers are abandoned and stay pending. */
void
outbox_free(struct outbox *ob)
{
	size_t nresults;
	char *lost;

	if (ob == NULL)
		return;
	nresults = ob->ndone;
	lost = outbox_record(ob);
	outbox_settle(ob, false, nresults, lost);
	notifier_free(ob->nt);
	for (size_t i = 0; i < ob->nflights; i++) {
		delivery_free(ob->flights[i].d);
		free(ob->flights[i].recipient);
		free(ob->flights[i].to);
	}
	destinations_free(&ob->dests);
	free(ob->flights);
	free(ob->done);
	refusal_free(&ob->notices);
	event_free(ob->retry_ev);
	event_free(ob->flush_ev);
	free(ob);
}
