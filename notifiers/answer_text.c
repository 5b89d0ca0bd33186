/*
 * answer_text.c - the clock's answers as every channel words them: which of
 * them a message shows (none amended, the latest few) and one line per answer
 * for people, with or without the reason and the note.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "xalloc.h"

/* Longest name of whoever answered that a message shows. */
#define ANSWER_WHO_MAX 100

/* Is r one a message shows: not replaced by a later answer from the same link? */
static bool
answer_shown(const struct delivery_response *r)
{
	return !r->amended;
}

/* How many of item's answers a message shows. */
size_t
digest_answers_shown(const struct delivery *item)
{
	size_t n = 0;

	for (size_t i = 0; i < item->nresponses; i++)
		n += answer_shown(&item->responses[i]);
	return n < DIGEST_ANSWERS_MAX ? n : DIGEST_ANSWERS_MAX;
}

/* The answers a message shows, oldest first; *earlier: how many older ones are left out. */
size_t
digest_answers_list(const struct delivery *item, const struct delivery_response **out,
                    size_t *earlier)
{
	size_t all = 0, skip, n = 0;

	for (size_t i = 0; i < item->nresponses; i++)
		all += answer_shown(&item->responses[i]);
	/* The latest are the ones that matter: the oldest give way. */
	skip = all > DIGEST_ANSWERS_MAX ? all - DIGEST_ANSWERS_MAX : 0;
	if (earlier != NULL)
		*earlier = skip;
	for (size_t i = 0; i < item->nresponses; i++) {
		if (!answer_shown(&item->responses[i]))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		out[n++] = &item->responses[i];
	}
	return n;
}

/* What an answer says, "action agreed for Mon 14 Dec 2026"; with detail a disagreement's reason.
 */
static char *
answer_what(const struct delivery_response *r, enum digest_answer_detail detail)
{
	const char *kind = r->kind != NULL ? r->kind : "";
	char *date, *reason, *s;

	if (strcmp(kind, "acknowledged") == 0)
		return xstrdup("acknowledged");
	if (strcmp(kind, "agreed") == 0) {
		if (r->agreed_on == NULL || *r->agreed_on == '\0')
			return xstrdup("action agreed");
		date = digest_date(r->agreed_on);
		s = xasprintf("action agreed for %s", date);
		free(date);
		return s;
	}
	if (strcmp(kind, "disagree") == 0) {
		reason = detail == DIGEST_ANSWER_FULL
		             ? digest_clean(r->reason, DIGEST_NOTE_MAX, false)
		             : xstrdup("");
		s = *reason != '\0' ? xasprintf("disagrees \xe2\x80\x94 %s", reason)
		                    : xstrdup("disagrees");
		free(reason);
		return s;
	}
	/* A kind this version does not know (a newer one wrote it): as it is. */
	s = digest_clean(kind, 40, false);
	if (*s == '\0') {
		free(s);
		s = xstrdup("answered");
	}
	return s;
}

/* One answer for people, one line. */
char *
digest_answer(const struct delivery_response *r, enum digest_answer_detail detail)
{
	char *who = digest_clean(r->who, ANSWER_WHO_MAX, false);
	char *day = digest_day(r->answered_at);
	char *stage = digest_clean(r->stage, DIGEST_VALUE_MAX, false);
	char *what = answer_what(r, detail), *s, *note, *t;
	size_t len;

	s = xasprintf("%s answered%s%s%s%s%s: %s", *who != '\0' ? who : "Someone",
	              *day != '\0' ? " on " : "", day, *stage != '\0' ? " (" : "", stage,
	              *stage != '\0' ? ")" : "", what);
	if (detail == DIGEST_ANSWER_FULL) {
		note = digest_clean(r->note, DIGEST_NOTE_MAX, false);
		if (*note != '\0') {
			/* "… 2 Dec." and "Note:" make one full stop. */
			len = strlen(s);
			t = xasprintf("%s%sNote: %s", s,
			              len > 0 && strchr(".!?", s[len - 1]) != NULL ? " " : ". ",
			              note);
			free(s);
			s = t;
		}
		free(note);
	}
	free(who);
	free(day);
	free(stage);
	free(what);
	return s;
}
