/* delivery.h - one delivery record: the alert and where it goes, as the outbox hands it to a
 * notifier. */
#ifndef ESCALATOR_DELIVERY_H
#define ESCALATOR_DELIVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "channel.h"

/* How an alert reads to its recipient: a digest's groups, most urgent first. */
enum delivery_urgency {
	DELIVERY_ESCALATION, /* overdue, and an earlier stage already said so */
	DELIVERY_OVERDUE,    /* the first stage after the due date */
	DELIVERY_REMINDER,   /* not yet overdue */
};

/* One earlier (or the same) stage of the clock, for the history a message shows. */
struct delivery_event {
	char *stage;     /* the stage's label ("Overdue: team manager") */
	char *when;      /* when it was recorded, UTC "YYYY-MM-DDTHH:MM:SSZ" */
	char *recipient; /* the address, or the contact's name (webhook, chat, Notify) */
	char *status;    /* "sent", "waiting" (not yet sent) or "failed" */
	bool copied;     /* told late: a skipped stage's recipient */
};

/*
 * An answer someone gave to an alert of the clock, through the link in their
 * message (answers.c records them): shown in every later message about the
 * clock. An answer never hides or stops an alert.
 */
struct delivery_response {
	char *who;         /* the name they gave, else the recipient (address or contact name) */
	char *stage;       /* the label of the stage whose message they answered */
	char *kind;        /* "acknowledged", "agreed" (action agreed) or "disagree" */
	char *agreed_on;   /* agreed: the date the action is agreed for (YYYY-MM-DD), else NULL */
	char *reason;      /* disagree: why, else NULL */
	char *note;        /* anything else they wrote, or NULL */
	char *answered_at; /* UTC "YYYY-MM-DDTHH:MM:SSZ" */
	bool amended;      /* a later answer from the same link replaced it (both are kept) */
};

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

	/* How people read it. */
	char *label;    /* the stage as people read it, e.g. "Overdue: team manager" */
	char *case_url; /* a link to the case in the council's system, or NULL */
	enum delivery_urgency urgency;
	bool notice; /* escalator's own notice to its admin (rule "escalator-..."), not a clock */
	/*
	 * A copied recipient: the label of the stage that skipped them (they were
	 * not told then because escalator first saw the clock after it), and the
	 * date that stage fell due; both NULL for an ordinary recipient.
	 */
	char *copied;
	char *copied_on;
	/* The clock's earlier stages: who was told, when, and how it went; oldest first. */
	struct delivery_event *history;
	size_t nhistory;
	/* The clock's answers so far, oldest first (amended ones too, marked). */
	struct delivery_response *responses;
	size_t nresponses;
	/*
	 * Where this recipient answers this alert (response_url + "/r/" + a
	 * token naming this delivery), or NULL: no listener, a notice, a closed
	 * clock. In a digest each item has its own.
	 */
	char *response_link;

	/*
	 * A digest item only: the clock was seen done (its row gone from the case
	 * store) on closed_on (YYYY-MM-DD), closed_late working days after due
	 * (0: in time). rule, title, case_ref, stage, label, start and due say
	 * which clock; subject and body are NULL.
	 */
	bool closed;
	char *closed_on;
	int closed_late;

	/*
	 * A digest: everything waiting for one recipient at a sending time, as
	 * items (each a record of one alert or one closed clock: kind, recipient,
	 * uid and secret unset), in no particular order; digest_order() puts them
	 * in reading order. The alert fields above are unset. A digest too big
	 * for its channel travels in parts (part 1..parts; else 1 of 1).
	 */
	bool digest;
	char *contact; /* the recipient's contact name, or NULL (an address from the case store) */
	int part, parts;
	struct delivery **items;
	size_t nitems;
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
/*
 * d's answers as JSON, oldest first, amended ones too (marked): [{"who",
 * "stage","kind","agreed_on","reason","note","answered_at","amended"}], each
 * value a string or null but "amended" (a boolean). For the council's own
 * systems (webhooks, --once): never cut.
 */
json_t *delivery_responses_json(const struct delivery *d);

#endif
