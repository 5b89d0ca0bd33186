/*
 * digest.h - what every channel's message says, in reading order: a digest's
 * items grouped by urgency and days late, and the plain text and HTML of a
 * message (a digest, or one alert on its own) for email and Notify.
 */
#ifndef ESCALATOR_DIGEST_H
#define ESCALATOR_DIGEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

#include "delivery.h"

/* Longest value a message shows, in bytes: a longer one is cut and ends in "…". */
#define DIGEST_VALUE_MAX 300
/*
 * Longest text of several lines a message shows (a single alert's body, a
 * notice's text): as long as a rule's body template can render (64 KiB).
 */
#define DIGEST_BODY_MAX (64 * 1024)
/* Most of an item's fields, and of its history's events, a message shows. */
#define DIGEST_FIELDS_MAX 10
#define DIGEST_HISTORY_MAX 12
/*
 * The most bytes the items of one message may take in plain text and in HTML:
 * items past it are left out with a note saying how many (a part at
 * notifier_digest_limit items of ordinary values is far below it).
 */
#define DIGEST_TEXT_BUDGET (768 * 1024)
#define DIGEST_HTML_BUDGET (1536 * 1024)

/* The groups of a digest, in the order they are read. */
enum digest_section {
	DIGEST_ESCALATIONS, /* "Escalated to you" */
	DIGEST_OVERDUE,     /* "Overdue" */
	DIGEST_REMINDERS,   /* "Coming due" */
	DIGEST_COPIED,      /* "Escalated past you" (copied: you were not told earlier) */
	DIGEST_DONE,        /* "Done since your last message" (closed clocks) */
	DIGEST_NOTICES,     /* "About the service" (escalator's notices, for its admin) */
	DIGEST_NSECTIONS
};

/* A section's heading for people, e.g. "Escalated to you". */
const char *digest_section_title(enum digest_section s);
/* The section an item (or a single alert) belongs to. */
enum digest_section digest_section_of(const struct delivery *item);

/*
 * The items of digest d in reading order: by section, then most working days
 * late first, then case reference. Fills out[0..d->nitems) with borrowed
 * pointers and, when sec is not NULL, sec[i] with item i's section.
 */
void digest_order(const struct delivery *d, const struct delivery **out, enum digest_section *sec);
/* How many of d's items are in each section: count[DIGEST_NSECTIONS]. */
void digest_count(const struct delivery *d, size_t *count);

/*
 * A digest's subject: what it holds, most urgent first, e.g. "2 escalated to
 * you, 5 overdue, 1 coming due" with " (part 2 of 3)" when in parts. Allocated,
 * one line of valid UTF-8.
 */
char *digest_subject(const struct delivery *d);

/*
 * s fit to show people: invalid UTF-8 replaced, line separators and
 * bidirectional controls dealt with (utf8_sanitize), each run of control
 * characters made one space (multiline: line breaks kept as "\n", tabs kept,
 * runs of blank lines made one), outer white space dropped, and cut on a character
 * boundary to at most max bytes (max >= 4) ending in "…" when it was longer.
 * NULL gives "". Allocated.
 */
char *digest_clean(const char *s, size_t max, bool multiline);
/* A date for people, "Fri 30 Oct 2026", from "YYYY-MM-DD" (anything after it ignored); a value
 * that is not a date is given back cleaned. Allocated. */
char *digest_date(const char *ymd);
/* A time of the history, "22 Oct 2026 08:00 UTC", from UTC "YYYY-MM-DDTHH:MM..."; else cleaned.
 */
char *digest_when(const char *utc);
/*
 * Where item's case reference links to: its case_url when that is an http://
 * or https:// URL of at most 2,000 bytes of printable ASCII (no spaces,
 * quotes or angle brackets), else NULL. Borrowed.
 */
const char *digest_case_url(const struct delivery *item);

/*
 * The sentences a message is made of, shared by every renderer. Each is
 * allocated plain text (one line, every value cleaned and cut), for a
 * renderer to escape as its format needs.
 */
/* A digest's headline: "3 cases need you today" (or "Nothing new needs you today"). */
char *digest_headline(const struct delivery *d);
/* What follows it: "1 escalated to you, 2 overdue and 1 coming due. 1 done since your last
 * message." */
char *digest_summary(const struct delivery *d);
/* How an item stands: its status ("12 working days overdue"), or for a closed clock "Done Fri 20
 * Nov 2026, 15 working days late" (or "…, in time"). */
char *digest_status(const struct delivery *item);
/* A copied item's note (why you are told late), or NULL when item is not copied. */
char *digest_copied_note(const struct delivery *item);
/* One event of the history: "22 Oct 2026 08:00 UTC: Reminder: IRO → jo.iro@council.example,
 * sent". */
char *digest_event(const struct delivery_event *e);
/* A value of the rule's fields: a string as it is, anything else as JSON; cleaned and cut. */
char *digest_field_value(const json_t *value);
/* The footer: why the recipient gets the message, what it carries, which part it is; one
 * sentence a line. */
char *digest_footer(const struct delivery *d);

/*
 * Answers to an alert (answer_text.c): the link a recipient answers through,
 * and the clock's answers so far, worded for people. A message never shows an
 * answer a later one from the same link replaced (amended), and never more
 * than DIGEST_ANSWERS_MAX of them (the latest; the earlier are counted).
 */
#define DIGEST_ANSWERS_MAX 10
/* Longest reason or note an email shows, in bytes (cut, ending in "…"). */
#define DIGEST_NOTE_MAX 300
/* How much of an answer a channel carries. */
enum digest_answer_detail {
	/* The council's own mail: the reason of a disagreement and the note too. */
	DIGEST_ANSWER_FULL,
	/*
	 * Third-party platforms (Teams, Slack, Notify): who, what, which stage
	 * and the dates only; never the reason or the note, which may name people.
	 */
	DIGEST_ANSWER_SHORT,
};
/* Where item's recipient answers it: its response_link when it is an http(s) URL fit to be a
 * link (as digest_case_url), else NULL (then a message says nothing about answering). Borrowed. */
const char *digest_answer_url(const struct delivery *item);
/* How many of item's answers a message shows: those not amended, at most DIGEST_ANSWERS_MAX. */
size_t digest_answers_shown(const struct delivery *item);
/*
 * The answers a message shows, oldest first: fills out[0..digest_answers_shown) with borrowed
 * pointers (out has room for DIGEST_ANSWERS_MAX) and returns how many; *earlier (may be NULL)
 * is set to how many more not amended were left out (the oldest).
 */
size_t digest_answers_list(const struct delivery *item, const struct delivery_response **out,
                           size_t *earlier);
/* A day for people, "3 Dec 2026", from UTC "YYYY-MM-DDTHH:MM..." (the local date); else cleaned.
 */
char *digest_day(const char *utc);
/*
 * One answer for people, one line: "Jo Bloggs answered on 3 Dec 2026 (Overdue:
 * team manager): action agreed for Mon 14 Dec 2026" (or ": acknowledged", or
 * ": disagrees"); DIGEST_ANSWER_FULL adds " — <reason>" to a disagreement and
 * ". Note: <note>", each cut to DIGEST_NOTE_MAX. Every value cleaned. Allocated.
 */
char *digest_answer(const struct delivery_response *r, enum digest_answer_detail detail);

/*
 * The plain text (UTF-8, "\n" line ends) of d: for a digest the opening line,
 * each non-empty section with its items, and the footer; for a single alert
 * the rule's own body, then the link to the case, where to answer it, the
 * copied note, the answers so far and the history. Allocated.
 */
char *digest_text(const struct delivery *d);
/*
 * The HTML of d: one complete document (inline CSS only, tables for layout,
 * no scripts, images or outside resources; the only links are the items'
 * case_url and answer links), every value escaped and cut; for a digest laid out as
 * digest_text, for a single alert the same layout for its one item. Allocated.
 */
char *digest_html(const struct delivery *d);
/*
 * Write s with &, <, >, " and ' escaped: fit for HTML text and quoted
 * attributes (the email's HTML and the answer page share it).
 */
void digest_html_esc(FILE *f, const char *s);
/* Write s (allocated) escaped, each line break as <br>, then free s. */
void digest_html_put(FILE *f, char *s);

#endif
