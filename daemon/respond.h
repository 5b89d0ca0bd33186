/*
 * respond.h - what the answer link /r/<token> does: the page of one alert
 * (GET) and recording an answer to it (POST), each as a reply the listener
 * sends; and the parser of the form's body, which takes untrusted bytes.
 */
#ifndef ESCALATOR_RESPOND_H
#define ESCALATOR_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "answers.h"
#include "config.h"
#include "statestore.h"

/* What the handler answers: the listener adds the headers every page carries. */
struct respond_reply {
	int status;     /* 200, 303, 400, 403, 404, 410, 415, 500 */
	char *body;     /* a complete HTML document, allocated (NULL for a 303) */
	char *location; /* 303: where to go, relative to the link ("<token>?recorded=1") */
};

/*
 * The form's fields as sent, trimmed, with line ends made "\n"; NULL when a
 * field is absent or empty. Allocated; respond_form_free frees.
 */
struct respond_form {
	char *kind;      /* "acknowledged", "agreed" or "disagree" (checked by respond_check) */
	char *agreed_on; /* YYYY-MM-DD */
	char *reason;
	char *note;
	char *name;
	char *form; /* the form token */
};

/* Longest form body the parser takes (the listener refuses longer ones with 413 first). */
#define RESPOND_BODY_MAX 16384

/*
 * Parse an application/x-www-form-urlencoded body of len bytes (untrusted:
 * any bytes, not NUL-terminated). Each field is valid UTF-8 without control
 * characters (a newline and a tab are allowed in the reason and the note),
 * within its length (RESPOND_*_MAX characters); a field may come once;
 * unknown fields are ignored. Returns 0 with *out filled, or -1 with *why
 * (allocated, a sentence for the page) and *out empty.
 */
int respond_parse_form(const char *body, size_t len, struct respond_form *out, char **why);
/* Free the fields of f (not f itself). */
void respond_form_free(struct respond_form *f);
/*
 * Is f an answer that can be recorded on local date today (YYYY-MM-DD)? A
 * kind; for "agreed" a real date from today to a year ahead; for "disagree"
 * a reason. Returns 0 with *a pointing into f, or -1 with *why (allocated).
 */
int respond_check(const struct respond_form *f, const char *today, struct answer *a, char **why);

/*
 * GET /r/<token>: the alert's page with a fresh form token, or a refusal
 * (404 not a link or no such alert, 403 changed or someone else's, 410
 * expired). recorded: the page says the answer was recorded.
 */
void respond_get(const struct config *cfg, struct statestore *ss, const char *token, bool recorded,
                 time_t now, struct respond_reply *r);
/*
 * POST /r/<token>: check the link again, the Origin header (NULL if none),
 * the content type and the form token; record the answer and send the
 * browser back to the page (303), or show the page again with what was
 * wrong (400), or a refusal.
 */
void respond_post(const struct config *cfg, struct statestore *ss, const char *token,
                  const char *origin, const char *content_type, const char *body, size_t len,
                  time_t now, struct respond_reply *r);
/* Free what r holds. */
void respond_reply_free(struct respond_reply *r);

#endif
