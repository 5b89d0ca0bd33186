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
};

/*
 * Resolve the stage's notify list against a row's column values (cols[i] is
 * column i as text, or NULL): deduplicated, in notify order. Row addresses
 * that are NULL, empty or not an email address are dropped with a warning to
 * d naming the rule and the case. Returns the number written to out (out must
 * hold st->nnotify entries).
 */
size_t eval_recipients(const struct rule *r, const struct stage *st, const char *const *cols,
                       const char *case_ref, struct recipient *out, struct diag *d);

#endif
