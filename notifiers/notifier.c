/* notifier.c - email and webhook delivery on one libcurl multi handle driven by libevent. */
#include "notifier.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "email.h"
#include "transport.h"
#include "util.h"
#include "webhook.h"

struct notifier {
	struct transport *tp;
	notifier_done_fn fn;
	void *arg;

	/* Copies of the settings, used for deliveries started from now on. */
	struct smtp_config smtp;
	int have_smtp;
	char *ca_file;
	int connect_timeout;
	int delivery_timeout;
};

/* One delivery in flight; kept (and freed) by its transfer. */
struct job {
	struct notifier *n;
	long long id;
	enum contact_kind kind;
	void *state; /* struct email_state or struct webhook_state, also kept by the transfer */
};

/* A notifier on base. */
struct notifier *
notifier_new(struct event_base *base, notifier_done_fn fn, void *arg)
{
	struct notifier *n = xcalloc(1, sizeof *n);

	n->tp = transport_new(base);
	n->fn = fn;
	n->arg = arg;
	n->connect_timeout = CONFIG_DEFAULT_CONNECT_TIMEOUT;
	n->delivery_timeout = CONFIG_DEFAULT_DELIVERY_TIMEOUT;
	return n;
}

/* strdup that keeps NULL. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Free the copied smtp settings, wiping the password first. */
static void
clear_smtp(struct notifier *n)
{
	if (n->smtp.password != NULL) {
		explicit_bzero(n->smtp.password, strlen(n->smtp.password));
		free(n->smtp.password);
	}
	free(n->smtp.url);
	free(n->smtp.from);
	free(n->smtp.from_name);
	free(n->smtp.username);
	memset(&n->smtp, 0, sizeof n->smtp);
	n->have_smtp = 0;
}

/* Copy the settings used for deliveries started from now on. */
void
notifier_configure(struct notifier *n, const struct notifier_settings *s)
{
	clear_smtp(n);
	free(n->ca_file);
	n->ca_file = NULL;
	if (s == NULL)
		return;
	if (s->smtp != NULL && s->smtp->url != NULL && s->smtp->from != NULL) {
		n->smtp.url = xstrdup(s->smtp->url);
		n->smtp.from = xstrdup(s->smtp->from);
		n->smtp.from_name = dup_or_null(s->smtp->from_name);
		n->smtp.username = dup_or_null(s->smtp->username);
		n->smtp.password = dup_or_null(s->smtp->password);
		n->smtp.starttls = s->smtp->starttls;
		n->smtp.allow_plaintext_auth = s->smtp->allow_plaintext_auth;
		n->have_smtp = 1;
	}
	n->ca_file = dup_or_null(s->ca_file);
	n->connect_timeout =
	    s->connect_timeout > 0 ? s->connect_timeout : CONFIG_DEFAULT_CONNECT_TIMEOUT;
	n->delivery_timeout =
	    s->delivery_timeout > 0 ? s->delivery_timeout : CONFIG_DEFAULT_DELIVERY_TIMEOUT;
}

/* A transfer finished: classify it and tell the caller. */
static void
notifier_done_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct job *job = arg;
	struct delivery_result r;
	char *detail;

	if (job->kind == CONTACT_EMAIL)
		detail = email_finish(t, job->state, rc, &r);
	else
		detail = webhook_finish(t, job->state, rc, &r);
	job->n->fn(job->n->arg, job->id, &r);
	free(detail);
}

/* Start one delivery. */
int
notifier_send(struct notifier *n, const struct delivery *d, char **cause)
{
	struct notifier_settings s;
	struct transfer *t;
	struct job *job;
	char *clean;

	if (d->recipient == NULL || d->uid == NULL) {
		*cause = xstrdup("delivery has no recipient or no uid");
		return -1;
	}
	if (d->kind == CONTACT_EMAIL) {
		if (!n->have_smtp) {
			*cause = xstrdup("email cannot be sent: no smtp server is configured");
			return -1;
		}
		if (!config_valid_email(d->recipient)) {
			clean = transport_clean_text(d->recipient, 100, 1);
			*cause = xasprintf("\"%s\" is not a valid email address", clean);
			free(clean);
			return -1;
		}
	} else if (!config_valid_url(d->recipient)) {
		clean = transport_clean_text(d->recipient, 100, 1);
		*cause = xasprintf("\"%s\" is not an http:// or https:// URL", clean);
		free(clean);
		return -1;
	}

	memset(&s, 0, sizeof s);
	s.smtp = n->have_smtp ? &n->smtp : NULL;
	s.ca_file = n->ca_file;
	s.connect_timeout = n->connect_timeout;
	s.delivery_timeout = n->delivery_timeout;

	t = transfer_new();
	job = xcalloc(1, sizeof *job);
	job->n = n;
	job->id = d->id;
	job->kind = d->kind;
	transfer_keep(t, job, free);
	if (d->kind == CONTACT_EMAIL)
		job->state = email_setup(t, &s, d, time(NULL), cause);
	else
		job->state = webhook_setup(t, &s, d, time(NULL), cause);
	if (job->state == NULL) {
		transfer_free(t);
		return -1;
	}
	transfer_set_done(t, notifier_done_cb, job);
	/* Only queues the transfer: results arrive later from the event loop. */
	return transport_start(n->tp, t, cause);
}

/* Deliveries started and not yet finished. */
size_t
notifier_in_flight(const struct notifier *n)
{
	return transport_running(n->tp);
}

/* Abort every transfer in flight (no callbacks) and free everything. */
void
notifier_free(struct notifier *n)
{
	if (n == NULL)
		return;
	transport_free(n->tp);
	clear_smtp(n);
	free(n->ca_file);
	free(n);
}
