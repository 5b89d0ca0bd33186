/*
 * respond_page.h - the HTML pages of the answer link: the alert with its
 * history, answers and the form; and the plain refusal page. Each is one
 * self-contained document (no external resources, no script), readable on a
 * phone and with a screen reader. Every value from the state store is
 * escaped; case store text may be hostile.
 */
#ifndef ESCALATOR_RESPOND_PAGE_H
#define ESCALATOR_RESPOND_PAGE_H

#include <stdbool.h>

#include "delivery.h"

/* What the answer page shows. */
struct respond_view {
	const struct delivery *d; /* from answers_target: the alert, history, answers, closed */
	const char *action;       /* the form's action, relative: the token itself */
	const char *form_token;   /* the hidden field "form" (token_form) */
	const char *today;        /* local date YYYY-MM-DD: the earliest agreed date accepted */
	const char *error;        /* what was wrong with the last submission, or NULL */
	/*
	 * The field error is about, which its summary links to: "kind",
	 * "agreed_on", "reason", "note" or "name". NULL: guessed from error's
	 * words ("date", "reason", "note", "name"; else the choice of kind).
	 */
	const char *error_field;
	/* The last submission's values, shown again with error; else NULL. */
	const char *kind, *agreed_on, *reason, *note, *name;
	bool recorded; /* the answer was just recorded: say so at the top */
};

/* The answer page: a complete HTML document, allocated. */
char *respond_page(const struct respond_view *v);
/*
 * A refusal page: title ("This link cannot be used") and why, what happened
 * in plain words; the page adds what to do instead ("Open the link in your
 * latest message about this case, or contact the IRO service.") and that
 * nothing was recorded or changed, each unless why already says so. A
 * complete HTML document, allocated.
 */
char *respond_refusal(const char *title, const char *why);

/* Longest values the form accepts (characters). */
#define RESPOND_NOTE_MAX 2000
#define RESPOND_REASON_MAX 1000
#define RESPOND_NAME_MAX 100

#endif
