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
};

#define CONFIG_DEFAULT_TIMEZONE "Europe/London"
#define CONFIG_DEFAULT_SEND_TIME (8 * 60)
#define CONFIG_DEFAULT_POLL_INTERVAL 60

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
/* Resolve path against dir unless it is absolute. Allocated. */
char *config_resolve_path(const char *dir, const char *path);

#endif
