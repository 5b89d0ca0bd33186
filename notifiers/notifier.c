/* notifier.c - every channel's delivery on one libcurl multi handle driven by libevent. */
#include "notifier.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <syslog.h>
#include <time.h>

#include "address.h"
#include "chat.h"
#include "email.h"
#include "notify.h"
#include "oauth.h"
#include "ratelimit.h"
#include "transport.h"
#include "xalloc.h"
#include "webhook.h"

/* After a failed token request, how long deliveries fail at once instead of asking again (ms). */
#define NOTIFIER_TOKEN_HOLD 5000

/* What the current transfer of a job is. */
enum job_phase {
	PHASE_SEND,   /* the delivery itself */
	PHASE_LOOKUP, /* notify: is the reference already known (an earlier attempt got through)? */
};

/* One delivery from notifier_send until its done function has been called. */
struct job {
	struct notifier *n;
	long long id;
	enum channel kind;
	enum job_phase phase;
	void *state;              /* the current transfer's state (email or HTTP) */
	struct transfer *waiting; /* an xoauth2 email set up, waiting for a token */
	/* notify: what the send after a lookup needs */
	char *api_key; /* wiped when freed */
	char *send_url;
	char *body;
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(jobs, job);

/* A token request in flight: kept by its transfer. */
struct token_fetch {
	struct notifier *n;
	unsigned int generation;
	struct oauth_fetch *f;
};

struct notifier {
	struct transport *tp;
	notifier_done_fn fn;
	void *arg;
	notifier_log_fn log_fn;
	void *log_arg;
	int busy; /* inside one of our callbacks: notifier_free only marks it dead */
	int dead;

	/* Copies of the settings, used for deliveries started from now on. */
	struct smtp_settings smtp;
	int have_smtp;
	char *ca_file;
	int connect_timeout;
	int delivery_timeout;

	struct jobs jobs; /* every delivery started and not finished */
	size_t njobs;
	size_t nwaiting; /* of those, emails waiting for a token */

	/* SMTP XOAUTH2: the access token, one request for a new one at a time. */
	struct oauth_cache token;
	int fetching;
	unsigned int generation; /* bumped when the credentials change: older answers are stale */
	long long hold_until;    /* after a failed request: no new one before this (ms) */
	char *token_error;       /* what that failure was */
};

static void job_transfer_cb(struct transfer *, CURLcode, void *);
static void notifier_destroy(struct notifier *);

/* A notifier on base. */
struct notifier *
notifier_new(struct event_base *base, notifier_done_fn fn, void *arg)
{
	struct notifier *n = xcalloc(1, sizeof *n);

	n->tp = transport_new(base);
	n->fn = fn;
	n->arg = arg;
	n->connect_timeout = NOTIFIER_DEFAULT_CONNECT_TIMEOUT;
	n->delivery_timeout = NOTIFIER_DEFAULT_DELIVERY_TIMEOUT;
	TAILQ_INIT(&n->jobs);
	return n;
}

/* Send log lines to fn. */
void
notifier_set_log(struct notifier *n, notifier_log_fn fn, void *arg)
{
	n->log_fn = fn;
	n->log_arg = arg;
}

static void notifier_log(struct notifier *, int, const char *, ...) PRINTFLIKE(3, 4);

/* Log one line if someone listens. */
static void
notifier_log(struct notifier *n, int pri, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (n->log_fn == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	n->log_fn(n->log_arg, pri, msg);
	free(msg);
}

/* strdup that keeps NULL. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Free a secret after wiping it. */
static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Free the copied smtp settings, wiping the secrets first. */
static void
clear_smtp(struct notifier *n)
{
	wipe_free(n->smtp.password);
	wipe_free(n->smtp.client_secret);
	free(n->smtp.url);
	free(n->smtp.from);
	free(n->smtp.from_name);
	free(n->smtp.username);
	free(n->smtp.tenant);
	free(n->smtp.client_id);
	free(n->smtp.token_url);
	free(n->smtp.scope);
	memset(&n->smtp, 0, sizeof n->smtp);
	n->have_smtp = 0;
}

/* Are two strings (either may be NULL) the same? */
static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Copy the settings used for deliveries started from now on. */
void
notifier_configure(struct notifier *n, const struct notifier_settings *s)
{
	const struct smtp_settings *new =
	    s != NULL && s->smtp != NULL && s->smtp->url != NULL && s->smtp->from != NULL ? s->smtp
	                                                                                  : NULL;

	/* Other credentials, or another endpoint: the token in hand is not theirs. */
	if (new == NULL || new->auth != n->smtp.auth || !same(new->token_url, n->smtp.token_url) ||
	    !same(new->client_id, n->smtp.client_id) ||
	    !same(new->client_secret, n->smtp.client_secret) || !same(new->scope, n->smtp.scope)) {
		n->generation++;
		oauth_cache_clear(&n->token);
		n->hold_until = 0;
	}
	clear_smtp(n);
	free(n->ca_file);
	n->ca_file = NULL;
	if (s == NULL)
		return;
	if (new != NULL) {
		n->smtp.url = xstrdup(new->url);
		n->smtp.from = xstrdup(new->from);
		n->smtp.from_name = dup_or_null(new->from_name);
		n->smtp.username = dup_or_null(new->username);
		n->smtp.password = dup_or_null(new->password);
		n->smtp.starttls = new->starttls;
		n->smtp.allow_plaintext_auth = new->allow_plaintext_auth;
		n->smtp.auth = new->auth;
		n->smtp.tenant = dup_or_null(new->tenant);
		n->smtp.client_id = dup_or_null(new->client_id);
		n->smtp.client_secret = dup_or_null(new->client_secret);
		n->smtp.token_url = dup_or_null(new->token_url);
		n->smtp.scope = dup_or_null(new->scope);
		n->have_smtp = 1;
	}
	n->ca_file = dup_or_null(s->ca_file);
	n->connect_timeout =
	    s->connect_timeout > 0 ? s->connect_timeout : NOTIFIER_DEFAULT_CONNECT_TIMEOUT;
	n->delivery_timeout =
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
		if (n->have_smtp && n->smtp.auth == SMTP_AUTH_XOAUTH2) {
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

/* The settings deliveries are set up with now. */
static void
notifier_settings(const struct notifier *n, struct notifier_settings *s)
{
	memset(s, 0, sizeof *s);
	s->smtp = n->have_smtp ? &n->smtp : NULL;
	s->ca_file = n->ca_file;
	s->connect_timeout = n->connect_timeout;
	s->delivery_timeout = n->delivery_timeout;
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
	if (job->waiting != NULL) {
		transfer_free(job->waiting);
		n->nwaiting--;
	}
	wipe_free(job->api_key);
	free(job->send_url);
	free(job->body);
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

static int token_fetch_start(struct notifier *n, char **cause);

/* The jobs waiting for a token, detached into an array (they stay in n->jobs). */
static struct job **
waiting_jobs(struct notifier *n, size_t *count)
{
	struct job **v = xcalloc(n->nwaiting + 1, sizeof *v), *job;
	size_t k = 0;

	TAILQ_FOREACH(job, &n->jobs, entry)
	{
		if (job->waiting != NULL && k < n->nwaiting)
			v[k++] = job;
	}
	*count = k;
	return v;
}

/* A token arrived (or not): start or fail every email waiting for it. */
static void
token_release(struct notifier *n, const char *token, const char *error)
{
	struct job **v;
	size_t count;
	char *cause = NULL, *detail;

	v = waiting_jobs(n, &count);
	for (size_t i = 0; i < count && !n->dead; i++) {
		struct job *job = v[i];
		struct transfer *t = job->waiting;

		job->waiting = NULL;
		n->nwaiting--;
		if (token == NULL) {
			transfer_free(t);
			detail = xasprintf("no OAuth access token: %s", error);
			job_retry(job, detail);
			free(detail);
			continue;
		}
		if (email_set_bearer(t, token) != 0) {
			transfer_free(t);
			job_retry(job, "cannot give curl the OAuth access token");
			continue;
		}
		if (job_start(job, t, &cause) != 0) {
			job_retry(job, cause);
			free(cause);
			cause = NULL;
		}
	}
	free(v);
}

/* The token endpoint answered. */
static void
token_fetch_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct token_fetch *tf = arg;
	struct notifier *n = tf->n;
	struct oauth_result res;
	char *cause = NULL;
	int ok;

	notifier_enter(n);
	n->fetching = 0;
	ok = oauth_fetch_finish(t, tf->f, rc, &res) == 0;
	if (tf->generation != n->generation) {
		/* The credentials changed while it was on its way: ask again with the new ones. */
		oauth_result_clear(&res);
		if (n->nwaiting > 0 && token_fetch_start(n, &cause) != 0) {
			token_release(n, NULL, cause);
			free(cause);
		}
		notifier_leave(n);
		return;
	}
	if (ok) {
		long long now = ratelimit_now();

		oauth_cache_store(&n->token, res.token, res.expires_in, now);
		res.token = NULL;
		free(n->token_error);
		n->token_error = NULL;
		n->hold_until = 0;
		notifier_log(n, LOG_INFO,
		             "oauth token=obtained expires_in=%lds refresh_in=%llds waiting=%zu",
		             res.expires_in, (n->token.refresh_after - now) / 1000, n->nwaiting);
		token_release(n, n->token.token, NULL);
	} else {
		/* Once per failed request, however many deliveries were waiting on it. */
		free(n->token_error);
		n->token_error = *res.code != '\0' ? xasprintf("%s (%s)", res.error, res.code)
		                                   : xstrdup(res.error);
		n->hold_until = ratelimit_now() + NOTIFIER_TOKEN_HOLD;
		for (char *p = res.error; *p != '\0'; p++)
			if (*p == '"')
				*p = '\'';
		notifier_log(n, LOG_ERR,
		             "oauth token=failed token_url=%s client_id=%s error_code=%s "
		             "waiting=%zu detail=\"%s\"; email waiting on it is retried later",
		             n->smtp.token_url != NULL ? n->smtp.token_url : "",
		             n->smtp.client_id != NULL ? n->smtp.client_id : "",
		             *res.code != '\0' ? res.code : "none", n->nwaiting, res.error);
		token_release(n, NULL, n->token_error);
	}
	oauth_result_clear(&res);
	notifier_leave(n);
}

/* Ask the token endpoint for a new access token. */
static int
token_fetch_start(struct notifier *n, char **cause)
{
	struct notifier_settings s;
	struct token_fetch *tf;
	struct transfer *t;

	notifier_settings(n, &s);
	t = transfer_new();
	tf = xcalloc(1, sizeof *tf);
	tf->n = n;
	tf->generation = n->generation;
	transfer_keep(t, tf, free);
	if ((tf->f = oauth_fetch_setup(t, &s, cause)) == NULL) {
		transfer_free(t);
		return -1;
	}
	transfer_set_done(t, token_fetch_cb, tf);
	if (transport_start(n->tp, t, cause) != 0)
		return -1;
	n->fetching = 1;
	return 0;
}

/*
 * An xoauth2 email set up in t: start it with the cached token, or park it
 * until a token arrives. Returns 0, or -1 with *cause set (t freed).
 */
static int
email_with_token(struct notifier *n, struct job *job, struct transfer *t, char **cause)
{
	long long now = ratelimit_now();
	const char *token = oauth_cache_get(&n->token, now);
	char *why = NULL;

	if (oauth_cache_refresh_due(&n->token, now) && !n->fetching) {
		if (token == NULL && now < n->hold_until) {
			*cause = xasprintf("no OAuth access token: %s", n->token_error);
			transfer_free(t);
			return -1;
		}
		/* Ahead of time when a token is still in hand: nothing waits for this one. */
		if (now >= n->hold_until && token_fetch_start(n, &why) != 0) {
			if (token == NULL) {
				*cause = xasprintf("cannot ask for an OAuth access token: %s", why);
				free(why);
				transfer_free(t);
				return -1;
			}
			notifier_log(n, LOG_WARNING,
			             "oauth token=refresh_failed detail=\"%s\"; the current token "
			             "is used meanwhile",
			             why);
			free(why);
		}
	}
	if (token == NULL) {
		job->waiting = t;
		n->nwaiting++;
		return 0;
	}
	if (email_set_bearer(t, token) != 0) {
		*cause = xstrdup("cannot give curl the OAuth access token");
		transfer_free(t);
		return -1;
	}
	return job_start(job, t, cause);
}

/* Set up and start one Notify request of job: a GET of url, or a POST of job->body. */
static int
notify_request(struct notifier *n, struct job *job, const char *url, int post, char **cause)
{
	struct notifier_settings s;
	struct curl_slist *h;
	struct transfer *t;
	char *jwt, *body = NULL;

	/* A fresh token for every request: Notify refuses one more than 30 s old. */
	if ((jwt = notify_jwt(job->api_key, time(NULL))) == NULL) {
		*cause = xstrdup("the contact's api_key_file does not hold a Notify API key");
		return -1;
	}
	notifier_settings(n, &s);
	t = transfer_new();
	h = webhook_json_headers(NULL);
	h = curl_slist_append(h, "Accept: application/json");
	if (h != NULL) {
		char *auth = xasprintf("Authorization: Bearer %s", jwt);

		h = curl_slist_append(h, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	wipe_free(jwt);
	if (h == NULL)
		fatalx("out of memory building a Notify request");
	transfer_keep_slist(t, h);
	if (post) {
		body = xstrdup(job->body);
		transfer_keep(t, body, free);
	}
	if ((job->state = webhook_request(t, &s, url, body, h, NOTIFY_RESPONSE_MAX, cause)) ==
	    NULL) {
		transfer_free(t);
		return -1;
	}
	job->phase = post ? PHASE_SEND : PHASE_LOOKUP;
	return job_start(job, t, cause);
}

/* A Notify transfer finished: after a lookup, send unless it was found; after a send, done. */
static void
notify_done(struct job *job, struct transfer *t, CURLcode rc)
{
	struct http_response resp;
	struct delivery_result r;
	char *detail = NULL, *cause = NULL;
	int found;

	webhook_response(t, job->state, &resp);
	if (job->phase == PHASE_SEND) {
		detail = notify_classify(rc, &resp, time(NULL), transfer_error(t), &r);
		job_finish(job, &r);
		free(detail);
		return;
	}
	found = notify_lookup_result(rc, &resp, time(NULL), transfer_error(t), &r, &detail);
	if (found < 0) {
		job_finish(job, &r);
	} else if (found > 0) {
		/* The earlier attempt reached Notify: sending again would mail twice. */
		struct delivery_result sent = {DELIVERY_SENT, 200,
		                               "Notify already has this reference (an earlier "
		                               "attempt got through)",
		                               0};

		job_finish(job, &sent);
	} else if (notify_request(job->n, job, job->send_url, 1, &cause) != 0) {
		job_retry(job, cause);
		free(cause);
	}
	free(detail);
}

/* A delivery's transfer finished: classify it and tell the caller. */
static void
job_transfer_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct job *job = arg;
	struct notifier *n = job->n;
	struct delivery_result r;
	char *detail;

	notifier_enter(n);
	switch (job->kind) {
	case CHANNEL_EMAIL:
		/* A token the server refuses is no use to the next delivery either. */
		if (email_token_refused(job->state, rc))
			oauth_cache_clear(&n->token);
		detail = email_finish(t, job->state, rc, &r);
		job_finish(job, &r);
		free(detail);
		break;
	case CHANNEL_GOVUK_NOTIFY:
		notify_done(job, t, rc);
		break;
	default:
		detail = webhook_finish(t, job->state, rc, &r);
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
		if (!n->have_smtp) {
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
		if (!addr_valid_url(d->recipient)) {
			clean = transport_clean_text(d->recipient, 100, 1);
			*cause = xasprintf("\"%s\" is not an http:// or https:// URL", clean);
			free(clean);
			return -1;
		}
		return 0;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		/* These URLs are credentials: never repeated in a message. */
		if (!addr_valid_url(d->recipient)) {
			*cause = xasprintf("the %s URL is not an http:// or https:// URL",
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
	struct notifier_settings s;
	struct curl_slist *h;
	struct transfer *t;
	struct job *job;
	char *body;

	if (notifier_check(n, d, cause) != 0)
		return -1;
	notifier_settings(n, &s);
	job = job_new(n, d);

	if (d->kind == CHANNEL_GOVUK_NOTIFY) {
		job->api_key = xstrdup(d->secret);
		job->send_url = notify_send_url(d->base_url);
		if ((job->body = notify_build_body(d, cause)) == NULL)
			goto fail;
		/*
		 * Notify has no idempotency key: when an earlier attempt's outcome
		 * is unknown (a timeout, a crash), ask for the reference first.
		 */
		if (d->attempts > 1) {
			char *url = notify_lookup_url(d->base_url, d->uid);
			int rc = notify_request(n, job, url, 0, cause);

			free(url);
			if (rc != 0)
				goto fail;
			return 0;
		}
		if (notify_request(n, job, job->send_url, 1, cause) != 0)
			goto fail;
		return 0;
	}

	t = transfer_new();
	switch (d->kind) {
	case CHANNEL_EMAIL:
		job->state = email_setup(t, &s, d, time(NULL), cause);
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		body = d->kind == CHANNEL_TEAMS ? chat_teams_body(d, CHAT_TEAMS_MAX, cause)
		                                : chat_slack_body(d, CHAT_SLACK_MAX, cause);
		if (body == NULL)
			break;
		transfer_keep(t, body, free);
		h = webhook_json_headers(d->uid);
		transfer_keep_slist(t, h);
		job->state = webhook_request(t, &s, d->recipient, body, h, 0, cause);
		break;
	default:
		job->state = webhook_setup(t, &s, d, time(NULL), cause);
		break;
	}
	if (job->state == NULL) {
		transfer_free(t);
		goto fail;
	}
	if (d->kind == CHANNEL_EMAIL && n->smtp.auth == SMTP_AUTH_XOAUTH2) {
		if (email_with_token(n, job, t, cause) != 0)
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
	oauth_cache_clear(&n->token);
	free(n->token_error);
	n->token_error = NULL;
	clear_smtp(n);
	free(n->ca_file);
	n->ca_file = NULL;
	if (n->busy == 0)
		notifier_destroy(n);
}

/* Free a delivery record. */
void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->uid);
	free(d->recipient);
	wipe_free(d->secret);
	free(d->template_id);
	free(d->base_url);
	free(d->rule);
	free(d->title);
	free(d->case_ref);
	free(d->stage);
	free(d->start);
	free(d->due);
	free(d->fires);
	free(d->status);
	free(d->subject);
	free(d->body);
	json_decref(d->fields);
	free(d->expected);
	free(d->fields_error);
	free(d);
}
