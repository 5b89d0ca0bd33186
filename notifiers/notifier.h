/* notifier.h - every channel's delivery on one libcurl multi handle driven by libevent. */
#ifndef ESCALATOR_NOTIFIER_H
#define ESCALATOR_NOTIFIER_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "channel.h"
#include "delivery.h"

/* Defaults the daemon's configuration uses when it does not say. */
#define NOTIFIER_DEFAULT_CONNECT_TIMEOUT 10  /* seconds */
#define NOTIFIER_DEFAULT_DELIVERY_TIMEOUT 60 /* seconds for one attempt */
/* Microsoft identity platform v2.0 token endpoint; %s is the tenant. */
#define SMTP_TOKEN_URL_FMT "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
#define SMTP_DEFAULT_SCOPE "https://outlook.office365.com/.default"

enum starttls_mode { STARTTLS_REQUIRED, STARTTLS_OPPORTUNISTIC };
/* How escalatord logs in to the mail server. */
enum smtp_auth {
	SMTP_AUTH_NONE,     /* no AUTH: a relay that trusts the sender's address (port 25) */
	SMTP_AUTH_PASSWORD, /* username and password_file (PLAIN or LOGIN) */
	SMTP_AUTH_XOAUTH2,  /* OAuth 2.0 client credentials, SASL XOAUTH2 (Exchange Online) */
};

/* The mail server alerts are sent through. */
struct smtp_settings {
	char *url;       /* smtp://host:port (STARTTLS) or smtps://host:port (TLS) */
	char *from;      /* envelope sender and From: address */
	char *from_name; /* display name in From:, default "escalator" */
	char *reply_to;  /* Reply-To: address (e.g. the IRO service's mailbox), or NULL */
	char *username;  /* NULL: no AUTH */
	char *password;  /* read from password_file; never logged */
	enum starttls_mode starttls;
	bool allow_plaintext_auth; /* AUTH without TLS: refused unless true */
	enum smtp_auth auth;
	/* auth = "xoauth2": the client credentials grant. username defaults to from. */
	char *tenant;        /* directory (tenant) id or domain */
	char *client_id;     /* the application (client) id */
	char *client_secret; /* read from client_secret_file; never logged */
	char *token_url;     /* default SMTP_TOKEN_URL_FMT with the tenant */
	char *scope;         /* default SMTP_DEFAULT_SCOPE */
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
	const struct smtp_settings *smtp; /* NULL: email cannot be sent */
	const char *ca_file;              /* NULL: the system's CA certificates */
	int connect_timeout;              /* seconds */
	int delivery_timeout;             /* seconds for a whole attempt */
	/*
	 * The HTTP(S) proxy every transfer goes through, or NULL: none. Set on
	 * every transfer ("" when NULL), so that http_proxy, https_proxy and
	 * ALL_PROXY in the environment never send alerts somewhere else.
	 */
	const char *proxy;
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
/*
 * How fast one destination of channel ch may be sent to with n's settings:
 * at most *count requests in any *seconds (0: no limit), and at most *cap at
 * once (lowered from the cap given, never raised). The receivers' own limits,
 * so that requests past them wait in the outbox instead of failing with 429.
 */
void notifier_pacing(const struct notifier *n, enum channel ch, int *count, int *seconds, int *cap);
/*
 * The most items one digest message of channel ch carries: a digest with more
 * travels in numbered parts, each its own delivery (the receivers' size
 * limits: Teams' 28 KB card, Slack's 50 blocks, a readable email).
 */
int notifier_digest_limit(enum channel ch);
/* Deliveries started and not yet finished. */
size_t notifier_in_flight(const struct notifier *n);
/* Abort every transfer in flight (no callbacks) and free everything. */
void notifier_free(struct notifier *n);

#endif
