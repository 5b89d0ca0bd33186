/* config.h - the main configuration file (escalatord -c FILE). */
#ifndef ESCALATOR_CONFIG_H
#define ESCALATOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum contact_kind { CONTACT_EMAIL, CONTACT_WEBHOOK, CONTACT_TEAMS, CONTACT_SLACK, CONTACT_NOTIFY };
#define CONTACT_NKINDS 5

/* A named recipient from the contacts group. */
struct contact {
	char *name;
	enum contact_kind kind;
	/*
	 * email: the address; webhook: the URL. teams, slack, notify: the
	 * contact's name: their URLs and keys are credentials, so deliveries
	 * record the name and the outbox looks the rest up when it sends.
	 */
	char *address;
	char *secret;      /* webhook HMAC-SHA256 key, or the notify API key; NULL if none */
	char *url;         /* teams, slack: the incoming webhook URL; notify: the API base URL */
	char *email;       /* notify: the recipient's address */
	char *template_id; /* notify: the email template */
	char *service_id;  /* notify: the service id part of the API key (not secret) */
};

enum starttls_mode { STARTTLS_REQUIRED, STARTTLS_OPPORTUNISTIC };
/* How escalatord logs in to the mail server. */
enum smtp_auth {
	SMTP_AUTH_NONE,     /* no AUTH: a relay that trusts the sender's address (port 25) */
	SMTP_AUTH_PASSWORD, /* username and password_file (PLAIN or LOGIN) */
	SMTP_AUTH_XOAUTH2,  /* OAuth 2.0 client credentials, SASL XOAUTH2 (Exchange Online) */
};

/* The mail server alerts are sent through. */
struct smtp_config {
	char *url;       /* smtp://host:port (STARTTLS) or smtps://host:port (TLS) */
	char *from;      /* envelope sender and From: address */
	char *from_name; /* display name in From:, default "escalator" */
	char *username;  /* NULL: no AUTH */
	char *password;  /* read from password_file; never logged */
	enum starttls_mode starttls;
	bool allow_plaintext_auth; /* AUTH without TLS: refused unless true */
	enum smtp_auth auth;
	/* auth = "xoauth2": the client credentials grant. username defaults to from. */
	char *tenant;        /* directory (tenant) id or domain */
	char *client_id;     /* the application (client) id */
	char *client_secret; /* read from client_secret_file; never logged */
	char *token_url;     /* default CONFIG_TOKEN_URL_FMT with the tenant */
	char *scope;         /* default CONFIG_DEFAULT_SCOPE */
};

struct config {
	char *path; /* the file as given */
	char *dir;  /* its directory: relative paths inside resolve against it */

	char *case_store;
	char *state;
	char *rules_dir;
	char **holidays;
	int *holiday_lines; /* line of each entry in the file, for messages */
	size_t nholidays;
	int case_store_line;
	int rules_line;
	struct contact *contacts;
	size_t ncontacts;

	char *timezone;    /* default "Europe/London" */
	int send_time;     /* minutes after local midnight, default 08:00 */
	int poll_interval; /* seconds, default 60 */

	struct smtp_config *smtp; /* NULL: email alerts wait in the outbox */
	char *ca_file;            /* extra CA certificates for TLS, NULL: the system's */
	int max_deliveries;       /* deliveries in flight at once */
	int max_per_destination;  /* of those, at most this many to one destination */
	int connect_timeout;      /* seconds */
	int delivery_timeout;     /* seconds for one attempt */
	int retry_min;            /* first wait after a temporary failure, seconds */
	int retry_max;            /* longest wait between attempts, seconds */
	int shutdown_timeout;     /* seconds in-flight deliveries get on SIGTERM */
	char *admin;              /* contact told when the case store stays unreadable, or NULL */
	int store_alert_after;    /* seconds the case store may be unreadable before that */
};

#define CONFIG_DEFAULT_TIMEZONE "Europe/London"
#define CONFIG_DEFAULT_SEND_TIME (8 * 60)
#define CONFIG_DEFAULT_POLL_INTERVAL 60
#define CONFIG_DEFAULT_MAX_DELIVERIES 16
#define CONFIG_DEFAULT_MAX_PER_DESTINATION 4
#define CONFIG_DEFAULT_CONNECT_TIMEOUT 10
#define CONFIG_DEFAULT_DELIVERY_TIMEOUT 60
#define CONFIG_DEFAULT_RETRY_MIN 30
#define CONFIG_DEFAULT_RETRY_MAX 3600
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10
#define CONFIG_DEFAULT_STORE_ALERT_AFTER 1800
/* Microsoft identity platform v2.0 token endpoint; %s is the tenant. */
#define CONFIG_TOKEN_URL_FMT "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
#define CONFIG_DEFAULT_SCOPE "https://outlook.office365.com/.default"
#define CONFIG_DEFAULT_NOTIFY_URL "https://api.notifications.service.gov.uk"

/*
 * Parse and validate the main configuration file. Every problem is reported
 * to d as "file:line: message"; returns NULL if there was any error.
 */
struct config *config_load(const char *path, struct diag *d);
void config_free(struct config *cfg);
/* The contact called name, or NULL. */
const struct contact *config_find_contact(const struct config *cfg, const char *name);

/* Is s a plausible single email address (no spaces, controls, commas; one '@')? */
bool config_valid_email(const char *s);
/* Is s an http:// or https:// URL without spaces or control characters? */
bool config_valid_url(const char *s);
/* Is s an https:// URL, or an http:// URL to this machine (127.0.0.1, localhost, [::1])? */
bool config_secure_url(const char *s);
/* The name of a contact kind as the state store records it ("email", "teams"...). */
const char *config_kind_name(enum contact_kind kind);
/* The contact kind called name, or -1. */
int config_kind_parse(const char *name);
/*
 * Check a GOV.UK Notify API key ("{key name}-{service id}-{secret}", both ids
 * 36-character UUIDs). Returns 0 and the allocated service id, or -1.
 */
int config_notify_key(const char *key, char **service_id);
/* Is s a UUID written as 8-4-4-4-12 hexadecimal digits? */
bool config_valid_uuid(const char *s);
/* Parse "HH:MM" into minutes after midnight; -1 if invalid. */
int config_parse_hhmm(const char *s);
/*
 * Read a secret (password, webhook key) from a file that only its owner may
 * read: refused if group or others have any access. Trailing newlines are
 * dropped. Returns 0, or -1 with *cause set (never containing the secret).
 */
int config_read_secret(const char *path, char **out, char **cause);
/* Resolve path against dir unless it is absolute. Allocated. */
char *config_resolve_path(const char *dir, const char *path);

#endif
