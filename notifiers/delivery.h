/* delivery.h - one delivery record: the alert and where it goes, as the outbox hands it to a
 * notifier. */
#ifndef ESCALATOR_DELIVERY_H
#define ESCALATOR_DELIVERY_H

#include <jansson.h>

#include "channel.h"

/*
 * One delivery of one alert: an owned record (free it with delivery_free),
 * filled once from the state store, with the contact's credentials filled in
 * by the outbox. notifier_send builds what it sends from it and keeps nothing
 * of it.
 */
struct delivery {
	long long id;
	char *uid; /* stable delivery id: Message-ID / X-Escalator-Delivery */
	enum channel kind;
	/* email, notify: the address; webhook, teams, slack: the URL */
	char *recipient;
	char *secret;      /* webhook HMAC-SHA256 key, or the notify API key; NULL if none */
	int attempts;      /* this attempt's number: 1 for the first */
	char *template_id; /* notify: the template */
	char *base_url;    /* notify: the API, e.g. GOVUK_NOTIFY_DEFAULT_URL */

	/* The alert. Every value may come from the case store: treat as hostile. */
	char *rule;
	char *title;
	char *case_ref;
	char *stage;
	char *start;    /* YYYY-MM-DD */
	char *due;      /* YYYY-MM-DD */
	char *fires;    /* YYYY-MM-DDTHH:MM:SS local */
	int days_late;  /* working days past due, 0 if not yet due */
	char *status;   /* as it stood when owed, e.g. "3 working days overdue" */
	char *subject;  /* email: rendered subject (one line after sanitising) */
	char *body;     /* email: rendered plain-text body (UTF-8) */
	json_t *fields; /* the rule's fields: a JSON object (valid UTF-8), or NULL */
	char *expected; /* chat and notify: what is expected, or NULL */
	/* The fields as recorded were not a JSON object: why (fields is then NULL), else NULL. */
	char *fields_error;
};
/* Free a delivery record and everything in it (the secret wiped first). */
void delivery_free(struct delivery *d);
/*
 * Parse text, an alert's fields as recorded, into d->fields: a JSON object
 * (invalid UTF-8 inside it replaced first), or nothing when text is NULL.
 * Anything else leaves d->fields NULL and says why in d->fields_error.
 */
void delivery_parse_fields(struct delivery *d, const char *text);
/* One of a delivery's values (case store text: may be invalid UTF-8) as a JSON string; NULL gives
 * null. */
json_t *delivery_json(const char *s);

#endif
