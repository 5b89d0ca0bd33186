/* outbox.c - hands due deliveries to the notifier and records what became of them. */
#include "outbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "queue.h"
#include "ratelimit.h"

/* Seconds before a delivery in flight counts as lost (beyond its transfers' timeouts). */
#define OUTBOX_LEASE_SLACK 60
/* When the state store cannot be read, try again after this many milliseconds. */
#define OUTBOX_ERROR_WAIT 5000

/*
 * Where deliveries go through one limit: the mail server, one webhook, Teams
 * or Slack URL, or one Notify service. Each has its own pace and its own
 * share of max_deliveries, so one slow or throttled channel never holds up
 * the others.
 */
struct outbox_dest {
	char *key;           /* "email", "<kind> <url>", "notify <service id>" */
	struct ratelimit rl; /* the receiver's documented rate */
	int cap;             /* deliveries in flight at once */
	int in_flight;
	int reserved;         /* picked in this kick, not started yet */
	long long hold_until; /* ms (monotonic): the receiver said wait (429, Retry-After) */
};

/* A delivery in flight: its record, and what the log line and the audit row show. */
struct outbox_flight {
	struct delivery *d;
	char *recipient; /* what the audit row records: an address, a URL or a contact's name */
	char *to;        /* what the log line shows (never a credential-bearing URL) */
	time_t started;
	struct outbox_dest *dest; /* NULL: the delivery could not be resolved */
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
	unsigned int seed;

	struct outbox_flight *flights; /* in flight, unordered */
	size_t nflights, capflights;
	struct outcome_record *done; /* finished, not yet recorded */
	size_t ndone, capdone;
	struct outbox_dest **dests; /* every destination seen, kept for its pace */
	size_t ndests, capdests;
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

/* The contact of a chat or Notify delivery (recorded by its name), or NULL. */
static const struct contact *
outbox_contact(const struct outbox *ob, enum channel kind, const char *name)
{
	const struct contact *c = name != NULL ? config_find_contact(ob->cfg, name) : NULL;

	return c != NULL && c->kind == kind ? c : NULL;
}

/* A copy of s, or NULL. */
static char *
outbox_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The secret of the webhook contact with this URL, or NULL. */
static const char *
outbox_secret(const struct outbox *ob, const char *url)
{
	for (size_t i = 0; i < ob->cfg->ncontacts; i++)
		if (ob->cfg->contacts[i].kind == CHANNEL_WEBHOOK &&
		    strcmp(ob->cfg->contacts[i].address, url) == 0)
			return ob->cfg->contacts[i].secret;
	return NULL;
}

/* The destination of deliveries of kind to recipient (NULL: any email), or NULL if unknown. */
static struct outbox_dest *
outbox_dest(struct outbox *ob, enum channel kind, const char *recipient)
{
	const struct contact *c;
	struct outbox_dest *dest;
	char *key;
	int count, seconds;

	switch (kind) {
	case CHANNEL_EMAIL:
		key = xstrdup("email");
		break;
	case CHANNEL_WEBHOOK:
		if (recipient == NULL)
			return NULL;
		key = xasprintf("webhook %s", recipient);
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		if ((c = outbox_contact(ob, kind, recipient)) == NULL)
			return NULL;
		key = xasprintf("%s %s", channel_name(kind), c->url);
		break;
	case CHANNEL_GOVUK_NOTIFY:
		/* Notify's limit is per API key: contacts sharing one share it. */
		if ((c = outbox_contact(ob, kind, recipient)) == NULL)
			return NULL;
		key = xasprintf("notify %s %s", c->url, c->service_id);
		break;
	default:
		return NULL;
	}
	for (size_t i = 0; i < ob->ndests; i++) {
		if (strcmp(ob->dests[i]->key, key) == 0) {
			free(key);
			dest = ob->dests[i];
			goto found;
		}
	}
	if (ob->ndests == ob->capdests) {
		ob->capdests = ob->capdests ? ob->capdests * 2 : 8;
		ob->dests = xreallocarray(ob->dests, ob->capdests, sizeof *ob->dests);
	}
	dest = xcalloc(1, sizeof *dest);
	dest->key = key;
	ob->dests[ob->ndests++] = dest;
found:
	/* The configuration may have changed since: keep the pace, take the limits anew. */
	dest->cap = ob->cfg->max_per_destination > 0 ? ob->cfg->max_per_destination
	                                             : CONFIG_DEFAULT_MAX_PER_DESTINATION;
	notifier_pacing(ob->nt, kind, &count, &seconds, &dest->cap);
	{
		long long tat = dest->rl.tat;

		ratelimit_init(&dest->rl, count, seconds);
		dest->rl.tat = tat;
	}
	return dest;
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

/* Record every finished delivery in one transaction. */
void
outbox_flush(struct outbox *ob)
{
	char *cause = NULL;

	if (ob->ndone == 0)
		return;
	if (queue_finish(ob->ss, ob->done, ob->ndone, &cause) != 0) {
		/* They stay pending with a lease: they are taken again when it runs out. */
		log_err("%s; %zu delivery results not recorded (they will be retried)", cause,
		        ob->ndone);
		free(cause);
	}
	for (size_t i = 0; i < ob->ndone; i++) {
		free(ob->done[i].detail);
		free(ob->done[i].recipient);
	}
	ob->ndone = 0;
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
	char *to = log_quote(f->to), *cs = log_quote(d->case_ref);
	char *detail = log_quote(r->detail ? r->detail : "");
	const char *kind = channel_name(d->kind);
	int pri = r->status == DELIVERY_SENT    ? LOG_INFO
	          : r->status == DELIVERY_RETRY ? LOG_WARNING
	                                        : LOG_ERR;

	if (r->status == DELIVERY_RETRY)
		log_msg(pri,
		        "delivery id=%lld rule=%s case=%s stage=%s kind=%s to=%s status=retry "
		        "code=%ld attempts=%d retry_in=%llds detail=%s",
		        d->id, d->rule, cs, d->stage, kind, to, r->code, d->attempts, retry_in,
		        detail);
	else
		log_msg(
		    pri,
		    "delivery id=%lld rule=%s case=%s stage=%s kind=%s to=%s status=%s code=%ld "
		    "attempts=%d delay=%llds%s%s",
		    d->id, d->rule, cs, d->stage, kind, to, status[r->status], r->code, d->attempts,
		    (long long)(clock_now() - f->started),
		    r->status == DELIVERY_SENT ? "" : " detail=",
		    r->status == DELIVERY_SENT ? "" : detail);
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
	o->detail = r->detail ? xstrdup(r->detail) : NULL;
	o->recipient = xstrdup(f->recipient);
	switch (r->status) {
	case DELIVERY_SENT:
		o->outcome = OUTCOME_SENT;
		break;
	case DELIVERY_FAILED:
		o->outcome = OUTCOME_FAILED;
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

	if (f->dest != NULL)
		f->dest->in_flight--;
	delivery_free(f->d);
	free(f->recipient);
	free(f->to);
	*f = ob->flights[--ob->nflights];
	/* Record at the end of this loop turn, with whatever else finished in it. */
	event_active(ob->flush_ev, 0, 0);
}

/*
 * Fill in d's credentials: the chat and Notify contacts are looked up by name
 * now, so a rotated URL or key is used from the next attempt on. Sets what
 * the audit row and the log show. Returns 0, or -1 with *cause set if d
 * cannot be sent (its contact is gone, its fields were damaged).
 */
static int
outbox_resolve(struct outbox *ob, struct delivery *d, char **recipient, char **to, char **cause)
{
	const struct contact *c;

	*recipient = xstrdup(d->recipient);
	*to = xstrdup(d->recipient);
	switch (d->kind) {
	case CHANNEL_EMAIL:
		break;
	case CHANNEL_WEBHOOK:
		d->secret = outbox_dup(outbox_secret(ob, d->recipient));
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
	case CHANNEL_GOVUK_NOTIFY:
		if ((c = outbox_contact(ob, d->kind, d->recipient)) == NULL) {
			*cause = xasprintf("there is no %s contact \"%s\" in the configuration any "
			                   "more; add it back (and reload) to send this alert",
			                   channel_name(d->kind), d->recipient);
			return -1;
		}
		free(d->recipient);
		if (d->kind == CHANNEL_GOVUK_NOTIFY) {
			/* The audit trail names the person: "contact <address>". */
			free(*recipient);
			*recipient = xasprintf("%s <%s>", c->name, c->email);
			d->recipient = outbox_dup(c->email);
			d->secret = outbox_dup(c->secret);
			d->template_id = outbox_dup(c->template_id);
			d->base_url = outbox_dup(c->url);
		} else
			d->recipient = outbox_dup(c->url);
		break;
	}
	if (d->fields_error != NULL) {
		*cause = xstrdup(d->fields_error);
		return -1;
	}
	return 0;
}

/* Start delivery d taken from the queue, owned from now on (its destination's share counted). */
static void
outbox_start(struct outbox *ob, struct delivery *d, struct outbox_dest *dest)
{
	struct outbox_flight *f;
	char *cause = NULL, *recipient, *to;
	int resolved = outbox_resolve(ob, d, &recipient, &to, &cause);

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
	if (resolved != 0 || notifier_send(ob->nt, d, &cause) != 0) {
		struct delivery_result r = {DELIVERY_RETRY, 0, cause, 0};

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
 * Start due deliveries within max_deliveries and each destination's share and
 * pace; arm the timer for the next one that falls due. A delivery that waits
 * for its destination is not an attempt: it is simply not taken yet.
 */
void
outbox_kick(struct outbox *ob)
{
	outbox_cycle(ob, false);
}

/*
 * Commit the transaction of a cycle: the results recorded and the next
 * deliveries leased. If that fails, the n deliveries taken are not started
 * (they were not leased) and the results stay unrecorded: those deliveries
 * keep their lease and are taken again when it runs out. Returns how many
 * to start.
 */
static int
outbox_cycle_commit(struct outbox *ob, struct delivery **taken, int n, size_t nresults)
{
	char *cause = NULL;

	if (statestore_commit(ob->ss, &cause) == 0)
		return n;
	log_err("%s; %zu delivery results not recorded (they will be retried)", cause, nresults);
	free(cause);
	statestore_rollback(ob->ss);
	for (int i = 0; i < n; i++)
		delivery_free(taken[i]);
	return 0;
}

/*
 * One cycle: with flush, record the finished deliveries first, in the same
 * transaction as the next ones' leases, so a cycle costs one commit (one
 * fsync), not two. The results are committed before any new delivery starts.
 */
static void
outbox_cycle(struct outbox *ob, bool flush)
{
	struct queue_group *groups = NULL;
	struct outbox_dest **gdest;
	struct queue_request *reqs;
	struct delivery **taken;
	size_t ngroups = 0, nreqs = 0;
	char *cause = NULL;
	long long now = (long long)clock_now(), ms = ratelimit_now(), wake = -1, lease;
	int room, total = 0, n;
	bool waiting = false; /* something due waits for us, not for a server */
	size_t nresults = ob->ndone;
	bool tx = false;

	if (flush && nresults > 0 && !ob->stopped && ob->cfg != NULL) {
		tx = statestore_begin(ob->ss, &cause) == 0;
		if (!tx) {
			log_err("%s; will try again", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (flush)
		outbox_flush(ob);
	if (ob->stopped || ob->cfg == NULL) {
		/* Shutting down: say so once the last delivery in flight has been recorded. */
		if (ob->stopped && ob->idle_fn != NULL && ob->nflights == 0 && ob->ndone == 0)
			ob->idle_fn(ob->idle_arg);
		return;
	}
	if (queue_groups(ob->ss, now, ob->cfg->max_deliveries, &groups, &ngroups, &cause) != 0) {
		log_err("%s; will try again", cause);
		free(cause);
		if (tx)
			outbox_cycle_commit(ob, NULL, 0, nresults);
		outbox_arm(ob, OUTBOX_ERROR_WAIT);
		return;
	}
	room = ob->cfg->max_deliveries - (int)ob->nflights;
	reqs = xcalloc(ngroups + 1, sizeof *reqs);
	gdest = xcalloc(ngroups + 1, sizeof *gdest);
	for (size_t i = 0; i < ngroups; i++) {
		struct queue_group *g = &groups[i];
		struct outbox_dest *dest;
		int take = 0;

		if (g->next > 0)
			wake = outbox_sooner(wake, (g->next - now) * 1000);
		if (g->due == 0)
			continue;
		dest = gdest[i] = outbox_dest(ob, g->kind, g->recipient);
		while (take < g->due && room > 0) {
			long long w;

			if (dest != NULL) {
				if (dest->in_flight + dest->reserved >= dest->cap) {
					/* A delivery finishing kicks the outbox again. */
					waiting = true;
					break;
				}
				if (dest->hold_until > ms) {
					wake = outbox_sooner(wake, dest->hold_until - ms);
					break;
				}
				if ((w = ratelimit_wait(&dest->rl, ms)) > 0) {
					wake = outbox_sooner(wake, w);
					waiting = true;
					break;
				}
				ratelimit_charge(&dest->rl, ms, 1);
				dest->reserved++;
			}
			take++;
			room--;
		}
		if (take < g->due && room <= 0)
			waiting = true;
		if (take > 0) {
			reqs[nreqs].kind = g->kind;
			reqs[nreqs].recipient = g->recipient;
			reqs[nreqs].count = take;
			nreqs++;
			total += take;
		}
	}

	taken = xcalloc((size_t)total + 1, sizeof *taken);
	/* Time for every transfer of an attempt: a token or a lookup, then the delivery. */
	lease = now + 2 * ((long long)ob->cfg->delivery_timeout + ob->cfg->connect_timeout) +
	        OUTBOX_LEASE_SLACK;
	n = queue_take(ob->ss, now, lease, reqs, nreqs, taken, total, &cause);
	if (n < 0) {
		log_err("%s; will try again", cause);
		free(cause);
		wake = outbox_sooner(wake, OUTBOX_ERROR_WAIT);
		n = 0;
	}
	if (tx && (n = outbox_cycle_commit(ob, taken, n, nresults)) == 0 && total > 0)
		wake = outbox_sooner(wake, OUTBOX_ERROR_WAIT);
	for (size_t i = 0; i < ob->ndests; i++)
		ob->dests[i]->reserved = 0;
	for (int i = 0; i < n; i++) {
		struct outbox_dest *dest = NULL;

		/* They come back in the order of the groups they were asked for. */
		for (size_t g = 0; g < ngroups; g++) {
			if (groups[g].kind == taken[i]->kind &&
			    (groups[g].recipient == NULL ||
			     strcmp(groups[g].recipient, taken[i]->recipient) == 0)) {
				dest = gdest[g];
				break;
			}
		}
		outbox_start(ob, taken[i], dest);
	}
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
	notifier_configure(ob->nt, &s);
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

/* Free the outbox: in-flight transfers are abandoned and stay pending. */
void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	outbox_flush(ob);
	notifier_free(ob->nt);
	for (size_t i = 0; i < ob->nflights; i++) {
		delivery_free(ob->flights[i].d);
		free(ob->flights[i].recipient);
		free(ob->flights[i].to);
	}
	for (size_t i = 0; i < ob->ndests; i++) {
		free(ob->dests[i]->key);
		free(ob->dests[i]);
	}
	free(ob->dests);
	free(ob->flights);
	free(ob->done);
	event_free(ob->retry_ev);
	event_free(ob->flush_ev);
	free(ob);
}
