/* config.h - the main configuration file (escalatord -c FILE). */
#ifndef ESCALATOR_CONFIG_H
#define ESCALATOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum contact_kind { CONTACT_EMAIL, CONTACT_WEBHOOK };

/* A named recipient from the contacts group. */
struct contact {
	char *name;
	enum contact_kind kind;
	char *address; /* an email address or a webhook URL */
	char *secret;  /* webhook HMAC-SHA256 key read from secret_file, or NULL */
};

enum starttls_mode { STARTTLS_REQUIRED, STARTTLS_OPPORTUNISTIC };

/* The mail server alerts are sent through. */
struct smtp_config {
	char *url;       /* smtp://host:port (STARTTLS) or smtps://host:port (TLS) */
	char *from;      /* envelope sender and From: address */
	char *from_name; /* display name in From:, default "escalator" */
	char *username;  /* NULL: no AUTH */
	char *password;  /* read from password_file; never logged */
	enum starttls_mode starttls;
	bool allow_plaintext_auth; /* AUTH without TLS: refused unless true */
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
#define CONFIG_DEFAULT_CONNECT_TIMEOUT 10
#define CONFIG_DEFAULT_DELIVERY_TIMEOUT 60
#define CONFIG_DEFAULT_RETRY_MIN 30
#define CONFIG_DEFAULT_RETRY_MAX 3600
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10
#define CONFIG_DEFAULT_STORE_ALERT_AFTER 1800

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
