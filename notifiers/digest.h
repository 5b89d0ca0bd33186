/*
 * digest.h - what every channel's message says, in reading order: a digest's
 * items grouped by urgency and days late, and the plain text and HTML of a
 * message (a digest, or one alert on its own) for email and Notify.
 */
#ifndef ESCALATOR_DIGEST_H
#define ESCALATOR_DIGEST_H

#include <stddef.h>

#include "delivery.h"

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

#endif
