/* notifier.c - every channel's delivery on one libcurl multi handle driven by libevent. */
#include "notifier.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "address.h"
#include "chat.h"
#include "email.h"
#include "govuk_notify.h"
#include "http.h"
#include "oauth.h"
#include "transport.h"
#include "xalloc.h"
#include "webhook.h"

/* One delivery from notifier_send until its done function has been called. */
struct job {
	struct notifier *n;
	long long id;
	enum channel kind;
	void *state;              /* the current transfer's state (email or HTTP) */
	struct transfer *waiting; /* an xoauth2 email set up, waiting for a token */
	struct govuk_send *govuk; /* notify: its lookup and send */
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(jobs, job);

struct notifier {
	struct transport *tp;
	struct oauth_broker *broker; /* SMTP XOAUTH2 tokens */
	notifier_done_fn fn;
	void *arg;
	int busy; /* inside one of our callbacks: notifier_free only marks it dead */
	int dead;

	/* The settings deliveries are set up with now: smtp and ca_file point at the copies. */
	struct notifier_settings view;
	struct smtp_settings smtp;
	char *ca_file;
	char *proxy; /* may hold a user name and password: wiped when freed */

	struct jobs jobs; /* every delivery started and not finished (or waiting for a token) */
	size_t njobs;
};

static void job_transfer_cb(struct transfer *, CURLcode, void *);
static void job_token_cb(void *, const char *, const char *);
static void notifier_destroy(struct notifier *);

/* A notifier on base. */
struct notifier *
notifier_new(struct event_base *base, notifier_done_fn fn, void *arg)
{
	struct notifier *n = xcalloc(1, sizeof *n);

	n->tp = transport_new(base);
	n->broker = oauth_broker_new(n->tp, &n->view, job_token_cb);
	n->fn = fn;
	n->arg = arg;
	n->view.connect_timeout = NOTIFIER_DEFAULT_CONNECT_TIMEOUT;
	n->view.delivery_timeout = NOTIFIER_DEFAULT_DELIVERY_TIMEOUT;
	TAILQ_INIT(&n->jobs);
	return n;
}

/* Send log lines to fn. */
void
notifier_set_log(struct notifier *n, notifier_log_fn fn, void *arg)
{
	oauth_broker_set_log(n->broker, fn, arg);
}

/* Free the copied smtp settings, wiping the secrets first. */
static void
clear_smtp(struct notifier *n)
{
	xfree_secret(n->smtp.password);
	xfree_secret(n->smtp.client_secret);
	free(n->smtp.url);
	free(n->smtp.from);
	free(n->smtp.from_name);
	free(n->smtp.reply_to);
	free(n->smtp.username);
	free(n->smtp.tenant);
	free(n->smtp.client_id);
	free(n->smtp.token_url);
	free(n->smtp.scope);
	memset(&n->smtp, 0, sizeof n->smtp);
	n->view.smtp = NULL;
}

/* Copy the settings used for deliveries started from now on. */
void
notifier_configure(struct notifier *n, const struct notifier_settings *s)
{
	const struct smtp_settings *new =
	    s != NULL && s->smtp != NULL && s->smtp->url != NULL && s->smtp->from != NULL ? s->smtp
	                                                                                  : NULL;

	/* Before the settings the broker borrows change. */
	oauth_broker_configure(n->broker, new);
	clear_smtp(n);
	free(n->ca_file);
	n->ca_file = NULL;
	n->view.ca_file = NULL;
	xfree_secret(n->proxy);
	n->proxy = NULL;
	n->view.proxy = NULL;
	if (s == NULL)
		return;
	if (new != NULL) {
		n->smtp.url = xstrdup(new->url);
		n->smtp.from = xstrdup(new->from);
		n->smtp.from_name = xstrdup_or_null(new->from_name);
		n->smtp.reply_to = xstrdup_or_null(new->reply_to);
		n->smtp.username = xstrdup_or_null(new->username);
		n->smtp.password = xstrdup_or_null(new->password);
		n->smtp.starttls = new->starttls;
		n->smtp.allow_plaintext_auth = new->allow_plaintext_auth;
		n->smtp.auth = new->auth;
		n->smtp.tenant = xstrdup_or_null(new->tenant);
		n->smtp.client_id = xstrdup_or_null(new->client_id);
		n->smtp.client_secret = xstrdup_or_null(new->client_secret);
		n->smtp.token_url = xstrdup_or_null(new->token_url);
		n->smtp.scope = xstrdup_or_null(new->scope);
		n->view.smtp = &n->smtp;
	}
	n->ca_file = xstrdup_or_null(s->ca_file);
	n->view.ca_file = n->ca_file;
	n->proxy = xstrdup_or_null(s->proxy);
	n->view.proxy = n->proxy;
	n->view.connect_timeout =
	    s->connect_timeout > 0 ? s->connect_timeout : NOTIFIER_DEFAULT_CONNECT_TIMEOUT;
	n->view.delivery_timeout =
	    s->delivery_timeout > 0 ? s->delivery_timeout : NOTIFIER_DEFAULT_DELIVERY_TIMEOUT;
}

/*
 * What each channel's receivers allow, per destination. Requests beyond these
 * wait in the outbox (they are not attempts); the receivers answer 429 past them.
 */
#define PACE_TEAMS_COUNT 4 /* Teams workflow webhooks: 4 requests a second per URL */
#define PACE_TEAMS_SECONDS 1
#define PACE_SLACK_COUNT 1 /* Slack incoming webhooks: 1 message a second per URL */
#define PACE_SLACK_SECONDS 1
#define PACE_NOTIFY_COUNT 3000 /* GOV.UK Notify: 3,000 requests a minute per API key */
#define PACE_NOTIFY_SECONDS 60
#define PACE_EXCHANGE_COUNT 30 /* Exchange Online SMTP AUTH: 30 messages a minute */
#define PACE_EXCHANGE_SECONDS 60
#define PACE_EXCHANGE_CONNECTIONS 3 /* and 3 connections at once per mailbox */

/* The pace and share of one destination of channel ch. */
void
notifier_pacing(const struct notifier *n, enum channel ch, int *count, int *seconds, int *cap)
{
	*count = *seconds = 0;
	switch (ch) {
	case CHANNEL_TEAMS:
		*count = PACE_TEAMS_COUNT;
		*seconds = PACE_TEAMS_SECONDS;
		break;
	case CHANNEL_SLACK:
		*count = PACE_SLACK_COUNT;
		*seconds = PACE_SLACK_SECONDS;
		break;
	case CHANNEL_GOVUK_NOTIFY:
		*count = PACE_NOTIFY_COUNT;
		*seconds = PACE_NOTIFY_SECONDS;
		break;
	case CHANNEL_EMAIL:
		/* Exchange Online's limits for SMTP AUTH client submission. */
		if (n->view.smtp != NULL && n->smtp.auth == SMTP_AUTH_XOAUTH2) {
			*count = PACE_EXCHANGE_COUNT;
			*seconds = PACE_EXCHANGE_SECONDS;
			if (*cap > PACE_EXCHANGE_CONNECTIONS)
				*cap = PACE_EXCHANGE_CONNECTIONS;
		}
		break;
	case CHANNEL_WEBHOOK:
		break;
	}
}

/* A new job for d. */
static struct job *
job_new(struct notifier *n, const struct delivery *d)
{
	struct job *job = xcalloc(1, sizeof *job);

	job->n = n;
	job->id = d->id;
	job->kind = d->kind;
	TAILQ_INSERT_TAIL(&n->jobs, job, entry);
	n->njobs++;
	return job;
}

/* Free a job (and a transfer still waiting for a token). */
static void
job_free(struct job *job)
{
	struct notifier *n = job->n;

	TAILQ_REMOVE(&n->jobs, job, entry);
	n->njobs--;
	if (job->waiting != NULL)
		transfer_free(job->waiting);
	govuk_free(job->govuk);
	free(job);
}

/* The delivery is over: free the job, then tell the caller (unless it freed us meanwhile). */
static void
job_finish(struct job *job, const struct delivery_result *r)
{
	struct notifier *n = job->n;
	long long id = job->id;

	job_free(job);
	if (!n->dead)
		n->fn(n->arg, id, r);
}

/* Finish a job as a temporary failure with detail. */
static void
job_retry(struct job *job, const char *detail)
{
	struct delivery_result r = {DELIVERY_RETRY, 0, detail, 0};

	job_finish(job, &r);
}

/* Enter one of our callbacks. */
static void
notifier_enter(struct notifier *n)
{
	n->busy++;
}

/* Leave it; the notifier is freed here if notifier_free was called inside. */
static void
notifier_leave(struct notifier *n)
{
	if (--n->busy == 0 && n->dead)
		notifier_destroy(n);
}

/* Hand t, set up for job, to the transport. */
static int
job_start(struct job *job, struct transfer *t, char **cause)
{
	transfer_set_done(t, job_transfer_cb, job);
	/* Only queues the transfer: results arrive later from the event loop. */
	return transport_start(job->n->tp, t, cause);
}

/* Give an xoauth2 email set up in t the access token, then start it (t freed on failure). */
static int
job_start_email(struct job *job, struct transfer *t, const char *token, char **cause)
{
	if (email_set_bearer(t, token) != 0) {
		*cause = xstrdup("cannot give curl the OAuth access token");
		transfer_free(t);
		return -1;
	}
	return job_start(job, t, cause);
}

/*
 * An xoauth2 email set up in t: start it with the broker's token, or park it
 * until a token arrives. Returns 0, or -1 with *cause set (t freed).
 */
static int
job_start_xoauth2(struct job *job, struct transfer *t, char **cause)
{
	const char *token;

	switch (oauth_broker_get(job->n->broker, job, &token, cause)) {
	case -1:
		transfer_free(t);
		return -1;
	case 1:
		job->waiting = t;
		return 0;
	}
	return job_start_email(job, t, token, cause);
}

/* The broker has the token a parked email waited for (or none): start or fail the email. */
static void
job_token_cb(void *arg, const char *token, const char *error)
{
	struct job *job = arg;
	struct notifier *n = job->n;
	struct transfer *t = job->waiting;
	char *cause = NULL;

	notifier_enter(n);
	job->waiting = NULL;
	if (token == NULL) {
		transfer_free(t);
		cause = xasprintf("no OAuth access token: %s", error);
		job_retry(job, cause);
	} else if (job_start_email(job, t, token, &cause) != 0) {
		job_retry(job, cause);
	}
	free(cause);
	notifier_leave(n);
}

/* Set up and start the next request of a Notify job on a new transfer. */
static int
job_start_govuk(struct job *job, char **cause)
{
	struct transfer *t = transfer_new();

	if (govuk_setup(job->govuk, t, &job->n->view, cause) != 0) {
		transfer_free(t);
		return -1;
	}
	return job_start(job, t, cause);
}

/* A delivery's transfer finished: classify it and tell the caller. */
static void
job_transfer_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct job *job = arg;
	struct notifier *n = job->n;
	struct delivery_result r;
	char *detail, *cause = NULL;

	notifier_enter(n);
	switch (job->kind) {
	case CHANNEL_EMAIL:
		/* A token the server refuses is no use to the next delivery either. */
		if (email_token_refused(job->state, rc))
			oauth_broker_forget(n->broker);
		detail = email_finish(t, job->state, rc, &r);
		job_finish(job, &r);
		free(detail);
		break;
	case CHANNEL_GOVUK_NOTIFY:
		if (govuk_finish(job->govuk, t, rc, &r, &detail) == 0) {
			job_finish(job, &r);
			free(detail);
		} else if (job_start_govuk(job, &cause) != 0) {
			job_retry(job, cause);
			free(cause);
		}
		break;
	default:
		detail = http_finish(t, job->state, rc, &r);
		job_finish(job, &r);
		free(detail);
		break;
	}
	notifier_leave(n);
}

/* Check d's recipient for its kind; -1 with *cause set if it cannot be sent. */
static int
notifier_check(const struct notifier *n, const struct delivery *d, char **cause)
{
	char *clean;

	if (d->recipient == NULL || d->uid == NULL) {
		*cause = xstrdup("delivery has no recipient or no uid");
		return -1;
	}
	switch (d->kind) {
	case CHANNEL_EMAIL:
		if (n->view.smtp == NULL) {
			*cause = xstrdup("email cannot be sent: no smtp server is configured");
			return -1;
		}
		/* FALLTHROUGH */
	case CHANNEL_GOVUK_NOTIFY:
		if (!addr_valid_email(d->recipient)) {
			clean = transport_clean_text(d->recipient, 100, 1);
			*cause = xasprintf("\"%s\" is not a valid email address", clean);
			free(clean);
			return -1;
		}
		if (d->kind == CHANNEL_GOVUK_NOTIFY &&
		    (d->secret == NULL || d->template_id == NULL || d->base_url == NULL)) {
			*cause = xstrdup("the Notify contact has no API key, template or base_url");
			return -1;
		}
		return 0;
	case CHANNEL_WEBHOOK:
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		/* These URLs carry tokens: never repeated in a message. */
		if (!addr_secure_url(d->recipient)) {
			*cause = xasprintf("the %s URL is not an https:// URL (or http:// to this "
			                   "machine)",
			                   channel_name(d->kind));
			return -1;
		}
		return 0;
	}
	*cause = xstrdup("unknown kind of delivery");
	return -1;
}

/* Start one delivery. */
int
notifier_send(struct notifier *n, const struct delivery *d, char **cause)
{
	struct transfer *t;
	struct job *job;

	if (notifier_check(n, d, cause) != 0)
		return -1;
	job = job_new(n, d);

	if (d->kind == CHANNEL_GOVUK_NOTIFY) {
		if ((job->govuk = govuk_new(d, cause)) == NULL || job_start_govuk(job, cause) != 0)
			goto fail;
		return 0;
	}

	t = transfer_new();
	switch (d->kind) {
	case CHANNEL_EMAIL:
		job->state = email_setup(t, &n->view, d, time(NULL), cause);
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		job->state = chat_setup(t, &n->view, d, cause);
		break;
	default:
		job->state = webhook_setup(t, &n->view, d, time(NULL), cause);
		break;
	}
	if (job->state == NULL) {
		transfer_free(t);
		goto fail;
	}
	if (d->kind == CHANNEL_EMAIL && n->smtp.auth == SMTP_AUTH_XOAUTH2) {
		if (job_start_xoauth2(job, t, cause) != 0)
			goto fail;
		return 0;
	}
	if (job_start(job, t, cause) != 0)
		goto fail;
	return 0;

fail:
	job_free(job);
	return -1;
}

/* Deliveries started and not yet finished. */
size_t
notifier_in_flight(const struct notifier *n)
{
	return n->njobs;
}

/* Free what is left once nothing runs inside us any more. */
static void
notifier_destroy(struct notifier *n)
{
	free(n);
}

/* Abort every transfer in flight (no callbacks) and free everything. */
void
notifier_free(struct notifier *n)
{
	struct job *job;

	if (n == NULL || n->dead)
		return;
	n->dead = 1;
	transport_free(n->tp);
	n->tp = NULL;
	while ((job = TAILQ_FIRST(&n->jobs)) != NULL)
		job_free(job);
	oauth_broker_free(n->broker);
	n->broker = NULL;
	clear_smtp(n);
	free(n->ca_file);
	n->ca_file = NULL;
	xfree_secret(n->proxy);
	n->proxy = NULL;
	if (n->busy == 0)
		notifier_destroy(n);
}

/*
 * The most items one digest message of channel ch carries. Measured with every
 * item's values 2,000 bytes long (the case store's cap; test_chat,
 * test_webhook, test_govuk_notify check it):
 *   teams    25: the card is 18 KB with each value cut to 200 bytes, well
 *                under CHAT_TEAMS_DIGEST_MAX (24 KB) and Teams' 28 KB; 30
 *                would leave under 3 KB of room.
 *   slack    40: 22 KB and 13 blocks, against CHAT_SLACK_DIGEST_MAX (36 KB),
 *                Slack's 40,000 characters and 50 blocks; more is a long
 *                message to scroll in a channel.
 *   notify   50: the body fits GOVUK_DIGEST_BODY_MAX (80 KB, Notify allows
 *                about 100,000 characters) with values cut to 160 bytes: 50 KB.
 *   webhook  50: about 6 KB an alert (the JSON carries values whole, history
 *                included): 310 KB, with room for the rules' fields under the
 *                1 MB a receiver commonly accepts (nginx's default).
 * In each, a part with longer values is cut further, never refused.
 */
int
notifier_digest_limit(enum channel ch)
{
	switch (ch) {
	case CHANNEL_EMAIL:
		return 150;
	case CHANNEL_WEBHOOK:
		return 50;
	case CHANNEL_TEAMS:
		return 25;
	case CHANNEL_SLACK:
		return 40;
	case CHANNEL_GOVUK_NOTIFY:
		break;
	}
	return 50;
}
