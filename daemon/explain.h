/*
 * explain.h - escalatord explain RULE CASE, inside: what explain.c finds
 * (the case's rows of the rule, their clocks worked out, what the state
 * store remembers, what happens next) and the two ways it is printed,
 * explain_text.c for people and explain_json.c for machines. The model is
 * filled once and printed by either; nothing here writes anywhere.
 */
#ifndef ESCALATOR_EXPLAIN_H
#define ESCALATOR_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "command.h"
#include "delivery.h"
#include "eval.h"
#include "trail.h"
#include "xalloc.h"

/* One delivery of a recorded alert, as the state store has it. */
struct explain_delivery {
	long long id;
	char *kind;      /* "email", "webhook", "teams", "slack", "notify" */
	char *recipient; /* an address, or a contact's name: never a URL (see explain_state.c) */
	char *status;    /* "held", "pending", "bundled", "sent", "failed" */
	int attempts;
	char *sent_at;          /* UTC "YYYY-MM-DDTHH:MM:SSZ", or NULL */
	char *last_attempt;     /* UTC, or NULL */
	char *last_error;       /* control characters made spaces, or NULL */
	long long next_attempt; /* unix seconds: held, its digest's time; pending, its next try */
	/* bundled: the digest (a delivery of its own) carrying it, and how that stands */
	long long digest_id;
	char *digest_status;
	char *digest_error;
	long long digest_next;
	/* copied in late: the label of the stage that skipped them and that stage's date */
	char *copied;
	char *copied_on;
};

/* One alert the state store recorded for the clock. */
struct explain_alert {
	long long id;
	char *stage;      /* the stage's name as recorded */
	char *label;      /* its label then */
	char *created_at; /* UTC */
	char *due;        /* YYYY-MM-DD */
	int days_late;
	char *status; /* "3 working days overdue", as it stood; or NULL */
	struct explain_delivery *deliveries;
	size_t ndeliveries;
};

/* One stage recorded for the clock (clock_stage). */
struct explain_record {
	char *stage;  /* its name */
	char *status; /* "alerted" or "skipped" */
	long long alert_id;
	char *recorded_at; /* UTC */
};

/* What the state store remembers of one clock (rule, case, start), or a threshold key. */
struct explain_memory {
	char *start; /* YYYY-MM-DD; NULL for a threshold key (every alert of the key) */
	struct explain_record *records;
	size_t nrecords;
	struct explain_alert *alerts;
	size_t nalerts;
	struct delivery_response *answers; /* oldest first, the latest 20 */
	size_t nanswers;
	/* closed_clock: seen done */
	bool closed;
	char *closed_on; /* YYYY-MM-DD */
	int closed_late; /* working days after due */
	char *closed_stage;
	char *reopened_on; /* its row came back on this date, or NULL */
	/* rules with hold: the latest agreed date not since amended, and the stage answered */
	bool agreed;
	char agreed_on[DATE_STRLEN];
	char agreed_stage[80];
	/* threshold rules: recorded over the limit since (UTC), or NULL */
	char *over_since;
};

/* How one stage of a clock stands. */
enum explain_state {
	EXPLAIN_NOT_REACHED, /* its time is still to come */
	EXPLAIN_ALERTED,     /* recorded: sent (or sending) */
	EXPLAIN_SKIPPED,     /* recorded skipped: a later stage was owed when escalator saw it */
	EXPLAIN_OWED,        /* reached, not recorded: goes out at the next pass */
	EXPLAIN_HELD,        /* owed, but an agreed action holds it */
	EXPLAIN_PASSED,      /* reached, not recorded, and a later stage is: never sent */
};

struct explain_stage {
	localtime_min_t fires;
	enum explain_state state;
	const struct explain_record *record; /* or NULL */
	const struct explain_alert *alert;   /* the alert that recorded it, or NULL */
	date_t held_until;                   /* EXPLAIN_HELD (and the next stage held): until */
	bool held;
};

/* What happens next to a clock. */
enum explain_next_kind {
	EXPLAIN_NEXT_NOT_YET, /* nothing reached yet: the first stage comes */
	EXPLAIN_NEXT_STAGE,   /* a later stage comes (maybe held) */
	EXPLAIN_NEXT_OWED,    /* a stage is owed now: the next pass sends it */
	EXPLAIN_NEXT_HELD,    /* a stage is owed but held until an agreed date has passed */
	EXPLAIN_NEXT_NOBODY,  /* a stage is owed but nobody can be sent it */
	EXPLAIN_NEXT_DONE,    /* every stage is behind it */
};

/* One recipient of the next stage, resolved from the row as the daemon would. */
struct explain_recipient {
	enum channel kind;
	const char *address; /* email: the address; else NULL (a URL or key is never shown) */
	const char *contact; /* the contact's name, or NULL */
	const char *column;  /* the row's column it came from (<name>_email), or NULL */
	int copied_stage;    /* copied in for this skipped stage, else -1 */
};

struct explain_next {
	enum explain_next_kind kind;
	int stage;          /* the stage concerned, or -1 */
	localtime_min_t at; /* when it goes (its firing time, or the end of its hold) */
	bool held;          /* at is the end of a hold, later than the stage's own time */
	date_t held_until;  /* held: the date it waits until */
	int last_sent;      /* DONE: the last stage alerted, or -1 */
	struct explain_recipient *to;
	size_t nto;
	struct eval_dropped *dropped; /* recipients of the stage who cannot be told */
	size_t ndropped;
};

/* One row of the rule whose case_ref (or key) is the case asked about. */
struct explain_clock {
	char **cols;    /* the row's values, owned (NULL for SQL NULL) */
	bool bad_start; /* start is not a date: escalatord skips the row */
	date_t start;
	struct eval_clock ev;
	struct trail trail;
	char status[EVAL_STATUS_LEN];
	struct explain_memory mem;
	struct explain_stage *stages; /* rule's nstages */
	struct explain_next next;
	/* threshold rules */
	bool has_value;
	double value;
	bool over;
};

/* Everything explain found. */
struct explain {
	const struct command *c;
	const struct config *cfg;
	const struct calendar *cal;
	const struct rule *r;
	const char *case_ref;
	localtime_min_t now;
	int send_time;
	bool state_missing; /* no state file yet: nothing recorded */
	struct explain_clock *clocks;
	size_t nclocks;
	/* What the state store remembers of clocks of this case with no row now. */
	struct explain_memory *gone;
	size_t ngone;
};

/* explain_state.c: read what the state store remembers of (rule, case, start). 0 or -1. */
int explain_state_read(struct statestore *ss, const struct config *cfg, const char *rule,
                       const char *case_ref, const char *start, struct explain_memory *m,
                       char **cause);
/* The starts the state store remembers for (rule, case), allocated; 0 or -1. */
int explain_state_starts(struct statestore *ss, const char *rule, const char *case_ref,
                         char ***starts, size_t *n, char **cause);
void explain_memory_free(struct explain_memory *m);

/* explain_text.c: print x for people. */
void explain_text(FILE *f, const struct explain *x);

/* The text's pieces, shared by explain_text.c and explain_text_state.c. */
#define EXPLAIN_WHEN_LEN 32 /* "Mon 21 Dec 2026 08:00" */
/*
 * Print one paragraph wrapped at 78 columns: the first line indented by
 * indent spaces, the next ones by hang.
 */
void explain_say(FILE *f, int indent, int hang, const char *fmt, ...) PRINTFLIKE(4, 5);
/* "Mon 21 Dec 2026 08:00" for local minutes t, into buf (EXPLAIN_WHEN_LEN). */
char *explain_when(localtime_min_t t, char *buf);
/* A recorded UTC time as explain_when says it (the text itself if it is not one). */
const char *explain_when_utc(const char *utc, char *buf);
/* A recorded YYYY-MM-DD as "Mon 21 Dec 2026" into buf (DATE_HUMAN_LEN), else as is. */
const char *explain_day(const char *ymd, char *buf);
/* Who the next stage goes to, and who cannot be told. */
void explain_print_recipients(FILE *f, const struct explain *x, const struct explain_next *n);
/* The row found: the case, the start (or value) and the rule's fields only. */
void explain_print_row(FILE *f, const struct explain *x, const struct explain_clock *k);
/* explain_text_state.c: an alert and its deliveries, indented. */
void explain_print_alert(FILE *f, int indent, const struct explain_alert *a);
/* The answers to a clock. */
void explain_print_answers(FILE *f, int indent, const struct explain_memory *m);
/* What the state store remembers of a clock with no row now, or of a threshold key. */
void explain_print_memory(FILE *f, const struct explain *x, const struct explain_memory *m);
/* A threshold rule's key: its value against the limit, what was alerted, what is next. */
void explain_print_threshold(FILE *f, const struct explain *x, const struct explain_clock *k);
/* explain_json.c: print x as one JSON document. */
void explain_json(FILE *f, const struct explain *x);

/* Shared by the printers. */
/* A UTC time as recorded ("YYYY-MM-DDTHH:MM:SSZ") in local minutes; -1 if it is not one. */
localtime_min_t explain_local(const char *utc);
/* Unix seconds in local minutes. */
localtime_min_t explain_local_unix(long long t);
/* "YYYY-MM-DDTHH:MM" (local), into buf (at least 17 bytes). */
char *explain_minute(localtime_min_t t, char *buf);
/* A value from the case store or the state store, fit for a terminal: allocated. */
char *explain_clean(const char *s);

#endif
