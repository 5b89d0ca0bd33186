/* config.h - the main configuration file (escalatord -c FILE). */
#ifndef ESCALATOR_CONFIG_H
#define ESCALATOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "channel.h"
#include "diag.h"
#include "duration.h"
#include "notifier.h"
#include "template.h"

/* A named recipient from the contacts group. */
struct contact {
	char *name;
	enum channel kind;
	/*
	 * email: the address. webhook, teams, slack, notify: the contact's
	 * name: their URLs and keys are credentials, so deliveries record the
	 * name and the outbox looks the rest up at each attempt.
	 */
	char *address;
	char *secret;         /* webhook HMAC-SHA256 key, or the notify API key; NULL if none */
	bool secret_required; /* webhook: secret_file is set, so never sent unsigned */
	char *url;   /* webhook, teams, slack: the URL (it carries a token); notify: the API base */
	char *email; /* notify: the recipient's address */
	char *template_id;     /* notify: the email template */
	char *service_id;      /* notify: the service id part of the API key (not secret) */
	char *digest_template; /* notify: the template digests use, or NULL: no digests */
	int digest;            /* CONFIG_DIGEST_*: this contact's own digest setting */
};

/* A digest setting: escalator.conf's digest, or a contact's (INHERIT: escalator.conf's). */
enum { CONFIG_DIGEST_INHERIT = -1, CONFIG_DIGEST_OFF = 0, CONFIG_DIGEST_DAILY = 1 };

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

	struct smtp_settings *smtp; /* NULL: email alerts wait in the outbox */
	char *ca_file;              /* extra CA certificates for TLS, NULL: the system's */
	int max_deliveries;         /* deliveries in flight at once */
	int max_per_destination;    /* of those, at most this many to one destination */
	int connect_timeout;        /* seconds */
	int delivery_timeout;       /* seconds for one attempt */
	int retry_min;              /* first wait after a temporary failure, seconds */
	int retry_max;              /* longest wait between attempts, seconds */
	int shutdown_timeout;       /* seconds in-flight deliveries get on SIGTERM */
	char *admin;                /* contact told when the case store stays unreadable, or NULL */
	int store_alert_after;      /* seconds the case store may be unreadable before that */
	long long max_store_age;    /* seconds the case store's data may be old; 0: not checked */
	char *max_store_age_text;   /* as written ("26 hours"), for messages */
	char *freshness_query; /* SQL giving the data's time, or NULL: the file's last change */
	int freshness_query_line;
	/*
	 * SQL returning one value that changes when the extract does (e.g. the time of
	 * the last load), or NULL: the file (SQLite) or every poll (PostgreSQL).
	 */
	char *change_query;
	int change_query_line;

	char **allowed_domains;  /* email recipients must be in one (or a subdomain); NULL: any */
	size_t nallowed_domains; /* 0 with allowed_domains unset: nothing limits recipients */
	int query_timeout;       /* seconds one rule query may run before it is stopped */
	char *instance;       /* what the nodes on one PostgreSQL state store elect a leader for */
	int failover_timeout; /* seconds within which a standby takes over from a dead leader */
	struct duration
	    retention; /* finished deliveries, bodies and audit rows older are removed */
	char *proxy;   /* HTTP(S) proxy for every transfer, or NULL: none (never env) */

	int digest;                /* CONFIG_DIGEST_DAILY (default) or CONFIG_DIGEST_OFF */
	int *digest_times;         /* when digests go: minutes after local midnight, ascending */
	size_t ndigest_times;      /* at least 1: [ send_time ] unless digest_times says */
	char *case_url_text;       /* case_url as written, or NULL */
	struct template *case_url; /* compiled (built-in values only), or NULL */

	/* The HTTP listener (config_listen.c): answers, /metrics, /healthz. */
	char *listen_host; /* address to bind ("127.0.0.1", "::1"), or NULL: no listener */
	int listen_port;
	int listen_line;
	char *response_url; /* public base of answer links, no trailing '/'; NULL: no links */
	unsigned char *response_key; /* from response_key_file (secret), or NULL */
	size_t response_key_len;
	long long response_expiry; /* seconds an answer link stays valid, default 30 days */

	bool without_secrets; /* config_load_public: secret files were not read */
};

#define CONFIG_DEFAULT_TIMEZONE "Europe/London"
#define CONFIG_DEFAULT_SEND_TIME (8 * 60)
#define CONFIG_DEFAULT_POLL_INTERVAL 60
#define CONFIG_DEFAULT_MAX_DELIVERIES 16
#define CONFIG_DEFAULT_MAX_PER_DESTINATION 4
#define CONFIG_DEFAULT_CONNECT_TIMEOUT NOTIFIER_DEFAULT_CONNECT_TIMEOUT
#define CONFIG_DEFAULT_DELIVERY_TIMEOUT NOTIFIER_DEFAULT_DELIVERY_TIMEOUT
#define CONFIG_DEFAULT_RETRY_MIN 30
#define CONFIG_DEFAULT_RETRY_MAX 3600
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10
#define CONFIG_DEFAULT_STORE_ALERT_AFTER 1800
#define CONFIG_DEFAULT_QUERY_TIMEOUT 30
#define CONFIG_DEFAULT_FAILOVER_TIMEOUT 30
#define CONFIG_DEFAULT_INSTANCE "default"
#define CONFIG_DEFAULT_RETENTION_MONTHS 13
#define CONFIG_DEFAULT_RESPONSE_EXPIRY (30LL * 86400)
/*
 * Parse and validate the main configuration file. Every problem is reported
 * to d as "file:line: message"; returns NULL if there was any error.
 */
struct config *config_load(const char *path, struct diag *d);
/*
 * The same, without reading any secret file (the SMTP password, webhook and
 * Notify keys, the answer links' key: they stay NULL): for the read-only
 * commands (status), which send nothing and may run as a user who can read
 * the configuration but not the service's secrets.
 */
struct config *config_load_public(const char *path, struct diag *d);
void config_free(struct config *cfg);
/*
 * A ruleset_contact_fn over cfg (arg): the channel and address of the
 * contact called name; -1 if there is none.
 */
int config_contact_channel(void *arg, const char *name, enum channel *ch, const char **address);
/* The contact called name, or NULL. */
const struct contact *config_find_contact(const struct config *cfg, const char *name);

/*
 * Is the email address's domain one of cfg's allowed_domains, exactly or as a
 * subdomain (case-insensitive)? True when allowed_domains is not set.
 */
bool config_domain_allowed(const struct config *cfg, const char *address);

/*
 * Does the recipient go by digest: the contact's own digest setting (contact
 * NULL: an address from the case store) or else escalator.conf's? A Notify
 * contact without digest_template never does.
 */
bool config_digest_for(const struct config *cfg, const char *contact);
/*
 * The first digest time at or after local time now (minutes since the epoch,
 * local), as local minutes.
 */
long long config_next_digest(const struct config *cfg, long long now);
/* The instant (unix seconds) of the first digest time at or after the instant now. */
long long config_digest_instant(const struct config *cfg, time_t now);

/* Parse "HH:MM" into minutes after midnight; -1 if invalid. */
int config_parse_hhmm(const char *s);
/*
 * Read a secret (password, webhook key) from a regular file owned by the
 * effective user or root, that others cannot read and its group cannot write
 * (group read is allowed: systemd's LoadCredential= files show as 0440).
 * Trailing newlines are dropped. Returns 0, or -1 with *cause set (never
 * containing the secret).
 */
int config_read_secret(const char *path, char **out, char **cause);
/* Resolve path against dir unless it is absolute. Allocated. */
char *config_resolve_path(const char *dir, const char *path);

#endif
