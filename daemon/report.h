/*
 * report.h - escalatord report: the IRO annual report's figures from the same
 * rules that chased the work. Timeliness per rule and period from each rule's
 * history query, measured against the rule's own due date on the working-day
 * calendar (rules/timeliness.c); what the service did from the state store
 * (alerts by rule and stage, by recipient, clocks closed, answers); practice
 * resolution by stage and theme. Built once (report_build), then written as
 * text, CSV, JSON or one HTML page. Reads only.
 */
#ifndef ESCALATOR_REPORT_H
#define ESCALATOR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "date.h"
#include "engine.h"
#include "ruleset.h"
#include "statestore.h"
#include "timeliness.h"

/* One rule's clocks in one period (or over the whole range). */
struct report_cell {
	struct timeliness_tally tally; /* completed clocks whose done falls in the period */
	struct timeliness_figures fig; /* of tally (report_build fills it) */
	long long started;             /* clocks whose start falls in the period: history + open */
	long long open_overdue;        /* open at the period's last day and past due; -1 unknown */
};

/*
 * A breakdown of a rule's completed clocks by the value of one history
 * column: "theme" (the concern's category) or "stage" (the stage it was
 * resolved at). Rows in the order of first appearance, then sorted by name.
 */
struct report_group {
	char *name;                    /* the column's value ("" when NULL) */
	long long raised;              /* started in the range (history + open) */
	struct timeliness_tally tally; /* completed in the range, on time or late */
	struct timeliness_figures fig;
	struct timeliness_days to_done; /* working days from start to done, of those completed */
	bool has_to_done;
	double median_to_done;
	int max_to_done;
};

struct report_rule {
	const struct rule *rule;   /* id, title, due, target (-1 none) */
	bool has_history;          /* the rule has a history query */
	struct report_cell *cells; /* one per period (report.periods.n), NULL without history */
	struct report_cell total;  /* the whole range; open_overdue at the range's end */
	struct timeliness_days to_done; /* working days from start to done, completed in range */
	bool has_to_done;
	double median_to_done;
	int max_to_done;
	long long bad_rows;     /* history rows skipped: bad case_ref, start or done */
	long long before_start; /* history rows done before start: skipped as bad data */
	bool open_known;        /* the live query ran: open_overdue counts are known */
	char *open_why;         /* when !open_known and has_history: why not (NULL otherwise) */
	struct report_group *themes; /* history's "theme" column, when it returns one */
	size_t nthemes;
	struct report_group *stages; /* history's "stage" column: resolved at each stage */
	size_t nstages;
};

/* Alerts the service raised in the range for one rule and stage (state store). */
struct report_stage_alerts {
	char *rule, *stage, *label;
	long long alerts;  /* alerts created in the range */
	long long sent;    /* of their deliveries: accepted by the server */
	long long failed;  /* failed for good */
	long long waiting; /* held, pending or bundled at the time of the report */
};

/* Alerts each recipient was sent in the range (state store). */
struct report_recipient {
	char *kind;      /* email, webhook, teams, slack, notify */
	char *recipient; /* the address or contact, as the delivery names it */
	long long alerts, sent, failed;
	long long answered; /* of those alerts, answered through this recipient's link */
};

/* Clocks that closed in the range after being alerted (state store closed_clock). */
struct report_closed {
	char *rule;
	long long closed, in_time, late;
	struct timeliness_days late_days; /* working days late of the late ones */
	bool has_late;
	double median_late;
	int max_late;
};

/* Answers given in the range (state store response), per rule. */
struct report_answers {
	char *rule;
	long long acknowledged, agreed, disagree;
	struct timeliness_days hours; /* hours from the alert to its first answer */
	bool has_median;
	double median_hours;
};

/*
 * Periods a report may hold: 100 years by month. Each rule keeps a cell per
 * period, so a mistyped year (--from 0202-04-01) is refused rather than
 * filling memory.
 */
#define REPORT_MAX_PERIODS 1200

struct report {
	date_t from, to; /* inclusive */
	int months;      /* 1, 3 or 12 */
	const char *by;  /* "month", "quarter", "year" */
	struct timeliness_periods periods;
	localtime_min_t made;          /* when it was made (local time) */
	char *config_path;             /* the escalator.conf it was made from */
	const struct ruleset *ruleset; /* every rule loaded (threshold ones too), or NULL */
	struct report_rule *rules;     /* clock rules, in load order (threshold rules left out) */
	size_t nrules;
	bool state_known; /* the state store exists: the sections below are filled */
	struct report_stage_alerts *stages;
	size_t nstages;
	struct report_recipient *recipients;
	size_t nrecipients;
	struct report_closed *closed;
	size_t nclosed;
	struct report_answers *answers;
	size_t nanswers;
	char **warnings; /* said at the end: rows skipped (counted per rule), queries failed */
	size_t nwarnings;
	/*
	 * Each bad row, naming its rule and case: for whoever runs the report
	 * (standard error), never in the document itself, which is pasted into
	 * an annual report (the warnings above count them per rule instead).
	 */
	char **case_warnings;
	size_t ncase_warnings;
};

/* Add a warning (printf-style). */
void report_warn(struct report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add a warning that names a case (printf-style): standard error only. */
void report_warn_case(struct report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Build the report for from..to in periods of months, as of now: run every
 * clock rule's history and live queries against e's case store (one read
 * snapshot, :today/:now bound to now), then read the state store ss (NULL or
 * empty: state_known false). Returns 0, or -1 with *cause set when the case
 * store could not be read at all (a single rule's failed query is a warning).
 */
int report_build(struct report *rep, struct engine *e, struct statestore *ss, date_t from,
                 date_t to, int months, localtime_min_t now, char **cause);
/* The state store's sections of rep (report_state.c): called by report_build. */
int report_state(struct report *rep, struct statestore *ss, char **cause);
void report_free(struct report *rep);

/* The writers: text for a terminal or an email, CSV for a spreadsheet, JSON, HTML to print. */
void report_text(FILE *f, const struct report *rep);
/*
 * One CSV table: "timeliness" (the columns rule,period,completed,on_time,late,
 * percent_on_time,median_working_days_late,max_working_days_late), "open",
 * "alerts", "recipients", "closed", "answers", "practice". Returns -1 for an
 * unknown table.
 */
int report_csv(FILE *f, const struct report *rep, const char *table);
void report_json(FILE *f, const struct report *rep);
void report_html(FILE *f, const struct report *rep);

/*
 * The footprint export (report_footprint.c): one CSV row per alert created in
 * from..to (local dates), or only case_ref's when it is not NULL, with its
 * clock, stage, dates, recipients, delivery results and answers. Returns 0, or
 * -1 with *cause set.
 */
int report_footprint(FILE *f, struct statestore *ss, date_t from, date_t to, const char *case_ref,
                     char **cause);

/* The title of the rule with this id (any rule loaded, threshold ones too), or NULL. */
const char *report_rule_title(const struct report *rep, const char *id);

/* Formatting shared by the writers. */
/* One CSV value (report_csv.c): RFC 4180 quoting, a formula's first character guarded. */
void report_csv_field(FILE *f, const char *s);
/* "12.5" (one decimal) into buf (at least 16 bytes). */
const char *report_fmt1(double v, char *buf, size_t len);
/*
 * The day clocks open and overdue at day end are counted on: end itself, or
 * the day the report was made when end is after it (the future is unknown).
 */
date_t report_counted_on(const struct report *rep, date_t end);
/* The last day of period i (the range's end for the last one). */
date_t report_period_end(const struct report *rep, size_t i);
/* Period i for people: "Apr 2026", "Apr-Jun 2026", "Apr 2026-Mar 2027", or dates. */
const char *report_period_label(const struct report *rep, size_t i, char *buf, size_t len);

#endif
