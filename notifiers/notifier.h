/* notifier.h - every channel's delivery on one libcurl multi handle driven by libevent. */
#ifndef ESCALATOR_NOTIFIER_H
#define ESCALATOR_NOTIFIER_H

#include <event2/event.h>
#include <stddef.h>

#include "config.h"

/* One delivery to start: everything is copied by notifier_send. */
struct delivery {
	long long id;
	const char *uid; /* stable delivery id: Message-ID / X-Escalator-Delivery */
	enum contact_kind kind;
	/* email, notify: the address; webhook, teams, slack: the URL */
	const char *recipient;
	const char *secret;      /* webhook HMAC-SHA256 key, or the notify API key; NULL if none */
	int attempts;            /* this attempt's number: 1 for the first */
	const char *template_id; /* notify: the template */
	const char *base_url;    /* notify: the API, e.g. CONFIG_DEFAULT_NOTIFY_URL */

	/* The alert. Every value may come from the case store: treat as hostile. */
	const char *rule;
	const char *title;
	const char *case_ref;
	const char *stage;
	const char *start;    /* YYYY-MM-DD */
	const char *due;      /* YYYY-MM-DD */
	const char *fires;    /* YYYY-MM-DDTHH:MM:SS local */
	int days_late;        /* working days past due, 0 if not yet due */
	const char *subject;  /* email: rendered subject (one line after sanitising) */
	const char *body;     /* email: rendered plain-text body (UTF-8) */
	const char *fields;   /* JSON object text of the rule's fields, or NULL */
	const char *expected; /* chat and notify: what is expected, or NULL */
};

enum delivery_status {
	DELIVERY_SENT,   /* the server accepted it (SMTP 250 after DATA, HTTP 2xx) */
	DELIVERY_RETRY,  /* temporary failure: try again later */
	DELIVERY_FAILED, /* permanent failure: do not try again */
};

struct delivery_result {
	enum delivery_status status;
	long code;          /* SMTP or HTTP response code, 0 if none */
	const char *detail; /* the server's reply or curl's error, one line, no secrets */
	int retry_after;    /* seconds the server asked us to wait (HTTP Retry-After), 0 if none */
};

/* Called once per delivery started, from the event loop, when it has finished. */
typedef void (*notifier_done_fn)(void *arg, long long id, const struct delivery_result *r);
/* Told about events that concern no single delivery (an OAuth token failed), once each. */
typedef void (*notifier_log_fn)(void *arg, int priority, const char *message);

/* Settings copied from the config at start and on every reload. */
struct notifier_settings {
	const struct smtp_config *smtp; /* NULL: email cannot be sent */
	const char *ca_file;            /* NULL: the system's CA certificates */
	int connect_timeout;            /* seconds */
	int delivery_timeout;           /* seconds for a whole attempt */
};

struct notifier;

/* A notifier on base; fn is told about each finished delivery. */
struct notifier *notifier_new(struct event_base *base, notifier_done_fn fn, void *arg);
/* Copy the settings used for deliveries started from now on. */
void notifier_configure(struct notifier *n, const struct notifier_settings *s);
/* Send log lines (syslog priorities, no secrets in them) to fn. */
void notifier_set_log(struct notifier *n, notifier_log_fn fn, void *arg);
/*
 * Start one delivery. Returns 0 (fn will be called later, never from inside
 * this call), or -1 with *cause set if it cannot be started at all (e.g. an
 * email with no smtp configured); fn is then not called.
 */
int notifier_send(struct notifier *n, const struct delivery *d, char **cause);
/* Deliveries started and not yet finished. */
size_t notifier_in_flight(const struct notifier *n);
/* Abort every transfer in flight (no callbacks) and free everything. */
void notifier_free(struct notifier *n);

#endif
