/* eval.h - evaluation: one open clock + its rule + now -> the stage reached. */
#ifndef ESCALATOR_EVAL_H
#define ESCALATOR_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "date.h"
#include "ruleset.h"

#define EVAL_NEVER INT64_MAX

/* What one clock (rule, case, start) looks like as of now. */
struct eval_clock {
	date_t start;
	date_t due;
	int reached;           /* latest stage whose firing time is <= now, or -1 */
	date_t stage_date;     /* the date the reached stage fires on */
	localtime_min_t fires; /* the reached stage's firing time */
	int next_stage;        /* the first stage firing after now, or -1 */
	localtime_min_t next;  /* its firing time, or EVAL_NEVER */
	bool outside_calendar; /* a working-day date fell outside the holiday files' years */
};

/*
 * The date stage i fires on for a clock due on due: due + at, moved to the
 * next working day unless the rule says working_days_only = false.
 */
date_t eval_stage_date(const struct rule *r, const struct calendar *cal, date_t due, size_t i);

/* Evaluate one clock of rule r that started on start, as of local time now. */
void eval_clock(const struct rule *r, const struct calendar *cal, int send_time, date_t start,
                localtime_min_t now, struct eval_clock *out);

/*
 * Catch-up: given the stage reached and which stages are already recorded
 * (alerted or skipped) for this clock, the stage to alert now, or -1. A stage
 * is alerted at most once, and never when a later stage is already recorded.
 * Every unrecorded stage before the one returned is to be recorded as skipped.
 */
int eval_owed(int reached, const bool *recorded, size_t nstages);

/*
 * Rules with hold: the date a stage of r dated stage_date waits until after
 * an answer agreed action for agreed. A stage dated on or before agreed
 * waits until the day after agreed (the action was agreed for that day: not
 * done by then, the escalation goes on), but never later than stage_date +
 * r->max_hold; either date moves to the next working day as stage dates do
 * (unless working_days_only = false). A stage dated after agreed, or a rule
 * without hold, waits for nothing: stage_date is returned.
 */
date_t eval_hold_until(const struct rule *r, const struct calendar *cal, date_t stage_date,
                       date_t agreed);

/*
 * Rules with hold: when the stages of a clock due on due, told up to
 * recorded[], wait until after an answer that agreed action for agreed at
 * stage answered: the earliest firing time (local minutes, at send_time) of
 * eval_hold_until's end for each stage after answered, up to upto, not yet
 * recorded. EVAL_NEVER when nothing is held (or the rule has no hold). The
 * pass, explain and preview all ask this one function.
 */
localtime_min_t eval_held_until(const struct rule *r, const struct calendar *cal, int send_time,
                                date_t due, int answered, date_t agreed, const bool *recorded,
                                int upto);

/* Working days from due to day (0 if day <= due): how late something is. */
int eval_working_days_late(const struct calendar *cal, date_t due, date_t day);

/*
 * How the due date stands on day, for people: "due in 3 working days",
 * "due today", "1 working day overdue", "12 working days overdue".
 */
char *eval_status(const struct calendar *cal, date_t due, date_t day, char *buf, size_t len);
/* Longest status eval_status writes, with its NUL (a threshold rule's is shorter too). */
#define EVAL_STATUS_LEN 64
/*
 * The status of an alert recorded before alerts kept theirs, from its working
 * days late and due date (YYYY-MM-DD): "3 working days overdue" as
 * eval_status says it, else "due 2026-10-29".
 */
char *eval_status_recorded(int days_late, const char *due, char *buf, size_t len);

/* One resolved recipient; address is borrowed from the rule or the row. */
struct recipient {
	enum channel kind;
	const char *address;
	const char *contact; /* the contact's name when it came from one, else NULL (a column) */
};

/* How an alert reads to its recipient: the digest's groups, most urgent first. */
enum eval_urgency {
	EVAL_ESCALATION, /* overdue, and an earlier stage already said so */
	EVAL_OVERDUE,    /* the first stage after the due date */
	EVAL_REMINDER,   /* not yet overdue (due soon, or due today) */
};
/* The urgency names the state store and webhooks use: "escalation", "overdue", "reminder". */
const char *eval_urgency_name(enum eval_urgency u);
/*
 * The urgency of stage i of rule r for a clock due on due: a reminder when
 * the stage's date is not after due; overdue when it is the first stage
 * dated after due; an escalation when an earlier stage was too. Threshold
 * rules' alerts are overdue.
 */
enum eval_urgency eval_urgency(const struct rule *r, const struct calendar *cal, date_t due,
                               size_t i);

/* Is rc among v[0..n)? Email addresses ignore case, as eval_recipients does. */
bool eval_recipient_in(const struct recipient *v, size_t n, const struct recipient *rc);

/* Where email recipients may be: v[0..n), exactly or a subdomain; v NULL: anywhere. */
struct eval_domains {
	const char *const *v;
	size_t n;
};

/* Why a recipient of a stage is not told. */
enum eval_drop {
	EVAL_DROP_MISSING, /* the row's <name>_email is NULL or empty */
	EVAL_DROP_INVALID, /* not an address the strict syntax accepts */
	EVAL_DROP_REFUSED, /* a valid address outside the allowed domains */
};

/* A recipient dropped, for the admin: never the address in full. */
struct eval_dropped {
	const char *name; /* the notify name: the column <name>_email, or the contact */
	bool column;      /* from the row (else a contact) */
	enum eval_drop why;
	/*
	 * INVALID, REFUSED: the address's text after its last '@' (borrowed; for
	 * INVALID it is row text, possibly hostile and not a domain), or NULL.
	 */
	const char *domain;
};

/*
 * Resolve the stage's notify list against a row's column values (cols[i] is
 * column i as text, or NULL): deduplicated, in notify order. Email addresses
 * (from the row or a contact) that are NULL, empty, not valid under the
 * strict syntax, or outside allowed (NULL: anywhere) are dropped with a
 * warning to d naming the rule, the case, the column or contact and, for a
 * refused address, its domain only. Each dropped recipient is also written
 * to dropped (may be NULL), *ndropped of them. Returns the number written to
 * out (out and dropped must each hold st->nnotify entries).
 */
size_t eval_recipients(const struct rule *r, const struct stage *st, const char *const *cols,
                       const char *case_ref, const struct eval_domains *allowed,
                       struct recipient *out, struct eval_dropped *dropped, size_t *ndropped,
                       struct diag *d);

#endif
