/* outbox.c - hands due deliveries to the notifier and records what became of them. */
#include "outbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

/* Seconds before a delivery in flight counts as lost (beyond the transfer timeout). */
#define OUTBOX_LEASE_SLACK 60

/* A delivery in flight: what the log line needs when it ends. */
struct outbox_flight {
	long long id;
	int attempts;
	enum contact_kind kind;
	char *recipient;
	char *rule;
	char *case_ref;
	char *stage;
	time_t started;
};

struct outbox {
	struct event_base *base;
	struct statestore *ss;
	struct notifier *nt;
	const struct config *cfg;
	struct event *retry_ev; /* the next retry falls due */
	struct event *flush_ev; /* record finished deliveries at the end of this loop turn */
	void (*idle_fn)(void *);
	void *idle_arg;
	bool stopped;
	unsigned int seed;

	struct outbox_flight *flights; /* in flight, unordered */
	size_t nflights, capflights;
	struct outcome_record *done; /* finished, not yet recorded */
	size_t ndone, capdone;
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
		if (ob->flights[i].id == id)
			return &ob->flights[i];
	return NULL;
}

/* The secret of the webhook contact with this URL, or NULL. */
static const char *
outbox_secret(const struct outbox *ob, const char *url)
{
	for (size_t i = 0; i < ob->cfg->ncontacts; i++)
		if (ob->cfg->contacts[i].kind == CONTACT_WEBHOOK &&
		    strcmp(ob->cfg->contacts[i].address, url) == 0)
			return ob->cfg->contacts[i].secret;
	return NULL;
}

/* Is nothing in flight, nothing finished unrecorded, and nothing due now? */
static bool
outbox_is_idle(struct outbox *ob)
{
	long long when;
	int found;

	if (ob->nflights > 0 || ob->ndone > 0)
		return false;
	found = statestore_next_due(ob->ss, &when);
	return found <= 0 || when > (long long)clock_now() || ob->stopped;
}

/* Record every finished delivery in one transaction. */
void
outbox_flush(struct outbox *ob)
{
	char *cause = NULL;

	if (ob->ndone == 0)
		return;
	if (statestore_finish(ob->ss, ob->done, ob->ndone, &cause) != 0) {
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

/* Timer: record finished deliveries, then start more. */
static void
outbox_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	struct outbox *ob = arg;

	outbox_flush(ob);
	outbox_kick(ob);
}

/* Timer: a retry fell due. */
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
	char *to = log_quote(f->recipient), *cs = log_quote(f->case_ref);
	char *detail = log_quote(r->detail ? r->detail : "");
	int pri = r->status == DELIVERY_SENT    ? LOG_INFO
	          : r->status == DELIVERY_RETRY ? LOG_WARNING
	                                        : LOG_ERR;

	if (r->status == DELIVERY_RETRY)
		log_msg(pri,
		        "delivery id=%lld rule=%s case=%s stage=%s kind=%s to=%s status=retry "
		        "code=%ld attempts=%d retry_in=%llds detail=%s",
		        f->id, f->rule, cs, f->stage,
		        f->kind == CONTACT_EMAIL ? "email" : "webhook", to, r->code, f->attempts,
		        retry_in, detail);
	else
		log_msg(
		    pri,
		    "delivery id=%lld rule=%s case=%s stage=%s kind=%s to=%s status=%s code=%ld "
		    "attempts=%d delay=%llds%s%s",
		    f->id, f->rule, cs, f->stage, f->kind == CONTACT_EMAIL ? "email" : "webhook",
		    to, status[r->status], r->code, f->attempts,
		    (long long)(clock_now() - f->started),
		    r->status == DELIVERY_SENT ? "" : " detail=",
		    r->status == DELIVERY_SENT ? "" : detail);
	free(to);
	free(cs);
	free(detail);
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
		retry_in =
		    outbox_backoff(f->attempts, ob->cfg->retry_min, ob->cfg->retry_max, &ob->seed);
		if (r->retry_after > retry_in)
			retry_in = r->retry_after;
		o->next_attempt = (long long)clock_now() + retry_in;
		break;
	}
	outbox_log(f, r, retry_in);

	free(f->recipient);
	free(f->rule);
	free(f->case_ref);
	free(f->stage);
	*f = ob->flights[--ob->nflights];
	/* Record at the end of this loop turn, with whatever else finished in it. */
	event_active(ob->flush_ev, 0, 0);
}

/* Start one delivery taken from the outbox. */
static void
outbox_start(struct outbox *ob, struct outbox_item *it)
{
	struct delivery d;
	struct outbox_flight *f;
	char *cause = NULL;

	memset(&d, 0, sizeof d);
	d.id = it->id;
	d.uid = it->uid;
	d.kind = it->kind;
	d.recipient = it->recipient;
	d.secret = it->kind == CONTACT_WEBHOOK ? outbox_secret(ob, it->recipient) : NULL;
	d.rule = it->rule;
	d.title = it->title;
	d.case_ref = it->case_ref;
	d.stage = it->stage;
	d.start = it->start;
	d.due = it->due;
	d.fires = it->fires;
	d.days_late = it->days_late;
	d.subject = it->subject;
	d.body = it->body;
	d.fields = it->fields;

	if (ob->nflights == ob->capflights) {
		ob->capflights = ob->capflights ? ob->capflights * 2 : 16;
		ob->flights = xreallocarray(ob->flights, ob->capflights, sizeof *ob->flights);
	}
	f = &ob->flights[ob->nflights++];
	f->id = it->id;
	f->attempts = it->attempts;
	f->kind = it->kind;
	f->recipient = xstrdup(it->recipient);
	f->rule = xstrdup(it->rule);
	f->case_ref = xstrdup(it->case_ref);
	f->stage = xstrdup(it->stage);
	f->started = clock_now();
	if (notifier_send(ob->nt, &d, &cause) != 0) {
		struct delivery_result r = {DELIVERY_RETRY, 0, cause, 0};

		outbox_done_cb(ob, it->id, &r);
		free(cause);
	}
}

/* Start due deliveries up to the limit; arm the retry timer. */
void
outbox_kick(struct outbox *ob)
{
	struct outbox_item items[64];
	char *cause = NULL;
	long long now = (long long)clock_now(), when;
	int room, n, found;

	if (ob->stopped || ob->cfg == NULL) {
		/* Shutting down: say so once the last delivery in flight has been recorded. */
		if (ob->stopped && ob->idle_fn != NULL && ob->nflights == 0 && ob->ndone == 0)
			ob->idle_fn(ob->idle_arg);
		return;
	}
	for (;;) {
		room = ob->cfg->max_deliveries - (int)ob->nflights;
		if (room <= 0)
			break;
		if (room > (int)(sizeof items / sizeof items[0]))
			room = (int)(sizeof items / sizeof items[0]);
		n = statestore_take(ob->ss, now,
		                    now + ob->cfg->delivery_timeout + ob->cfg->connect_timeout +
		                        OUTBOX_LEASE_SLACK,
		                    items, room, &cause);
		if (n < 0) {
			log_err("%s; will try again", cause);
			free(cause);
			break;
		}
		for (int i = 0; i < n; i++) {
			outbox_start(ob, &items[i]);
			outbox_item_clear(&items[i]);
		}
		if (n < room)
			break;
	}
	/* Wake for the next retry that falls due. */
	evtimer_del(ob->retry_ev);
	found = statestore_next_due(ob->ss, &when);
	if (found > 0 && (int)ob->nflights < ob->cfg->max_deliveries) {
		struct timeval tv = {when > now ? (time_t)(when - now) : 1, 0};
		evtimer_add(ob->retry_ev, &tv);
	}
	if (ob->idle_fn != NULL && outbox_is_idle(ob))
		ob->idle_fn(ob->idle_arg);
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
		free(ob->flights[i].recipient);
		free(ob->flights[i].rule);
		free(ob->flights[i].case_ref);
		free(ob->flights[i].stage);
	}
	free(ob->flights);
	free(ob->done);
	event_free(ob->retry_ev);
	event_free(ob->flush_ev);
	free(ob);
}
