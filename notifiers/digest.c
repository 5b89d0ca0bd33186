/* digest.c - what every channel's message says, in reading order. */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A section's heading for people. */
const char *
digest_section_title(enum digest_section s)
{
	switch (s) {
	case DIGEST_ESCALATIONS:
		return "Escalated to you";
	case DIGEST_OVERDUE:
		return "Overdue";
	case DIGEST_REMINDERS:
		return "Coming due";
	case DIGEST_COPIED:
		return "Escalated past you";
	case DIGEST_DONE:
		return "Done since your last message";
	case DIGEST_NOTICES:
	case DIGEST_NSECTIONS:
		break;
	}
	return "About the service";
}

/* The section an item belongs to. */
enum digest_section
digest_section_of(const struct delivery *item)
{
	if (item->closed)
		return DIGEST_DONE;
	if (item->notice)
		return DIGEST_NOTICES;
	if (item->copied != NULL)
		return DIGEST_COPIED;
	switch (item->urgency) {
	case DELIVERY_ESCALATION:
		return DIGEST_ESCALATIONS;
	case DELIVERY_OVERDUE:
		return DIGEST_OVERDUE;
	case DELIVERY_REMINDER:
		break;
	}
	return DIGEST_REMINDERS;
}

/* How late an item is, for ordering: days late, or for a closed clock how late it closed. */
static int
digest_late(const struct delivery *item)
{
	return item->closed ? item->closed_late : item->days_late;
}

/* qsort order of two items: section, most days late, case reference, rule, id. */
static int
digest_cmp(const void *pa, const void *pb)
{
	const struct delivery *a = *(const struct delivery *const *)pa;
	const struct delivery *b = *(const struct delivery *const *)pb;
	int sa = (int)digest_section_of(a), sb = (int)digest_section_of(b), c;

	if (sa != sb)
		return sa - sb;
	if (digest_late(a) != digest_late(b))
		return digest_late(b) - digest_late(a);
	if ((c = strcmp(a->case_ref ? a->case_ref : "", b->case_ref ? b->case_ref : "")) != 0)
		return c;
	if ((c = strcmp(a->rule ? a->rule : "", b->rule ? b->rule : "")) != 0)
		return c;
	return (a->id > b->id) - (a->id < b->id);
}

/* The items of digest d in reading order. */
void
digest_order(const struct delivery *d, const struct delivery **out, enum digest_section *sec)
{
	for (size_t i = 0; i < d->nitems; i++)
		out[i] = d->items[i];
	qsort(out, d->nitems, sizeof *out, digest_cmp);
	if (sec != NULL)
		for (size_t i = 0; i < d->nitems; i++)
			sec[i] = digest_section_of(out[i]);
}

/* How many of d's items are in each section. */
void
digest_count(const struct delivery *d, size_t *count)
{
	memset(count, 0, DIGEST_NSECTIONS * sizeof *count);
	for (size_t i = 0; i < d->nitems; i++)
		count[digest_section_of(d->items[i])]++;
}

/* A digest's subject. */
char *
digest_subject(const struct delivery *d)
{
	static const char *const what[DIGEST_NSECTIONS] = {
	    "escalated to you",   "overdue", "coming due",
	    "escalated past you", "done",    "about the service"};
	size_t count[DIGEST_NSECTIONS];
	char buf[256], *p = buf;
	size_t left = sizeof buf;
	int n;

	digest_count(d, count);
	buf[0] = '\0';
	for (int s = 0; s < DIGEST_NSECTIONS; s++) {
		if (count[s] == 0)
			continue;
		n = snprintf(p, left, "%s%zu %s", p == buf ? "" : ", ", count[s],
		             s == DIGEST_NOTICES
		                 ? (count[s] == 1 ? "service notice" : "service notices")
		                 : what[s]);
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
	if (d->parts > 1)
		snprintf(p, left, " (part %d of %d)", d->part, d->parts);
	return xasprintf("escalator: %s", buf[0] != '\0' ? buf : "nothing new");
}
