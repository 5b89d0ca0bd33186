/*
 * respond_form.c - the answer form's body (untrusted bytes from anyone who
 * can reach the listener) into checked fields, and whether those fields make
 * an answer that can be recorded. No I/O: fuzzed by tests/fuzz/fuzz_form.c.
 */
#include <sys/queue.h> /* TAILQ_FOREACH, before libevent's key-value list */

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "respond.h"
#include "respond_page.h"
#include "utf8.h"
#include "xalloc.h"

/* The fields the form sends: name, where it goes, longest (characters), lines allowed. */
static const struct respond_field {
	const char *name;
	size_t offset;
	size_t max;
	bool lines;      /* a newline or tab may be part of it (a textarea) */
	const char *say; /* how the page names it */
} respond_fields[] = {
    {"kind", offsetof(struct respond_form, kind), 20, false, "The answer"},
    {"agreed_on", offsetof(struct respond_form, agreed_on), 10, false, "The agreed date"},
    {"reason", offsetof(struct respond_form, reason), RESPOND_REASON_MAX, true, "Your reason"},
    {"note", offsetof(struct respond_form, note), RESPOND_NOTE_MAX, true, "Your note"},
    {"name", offsetof(struct respond_form, name), RESPOND_NAME_MAX, false, "Your name"},
    /* No length of its own: a form token of the wrong length is a wrong one (403, not 400). */
    {"form", offsetof(struct respond_form, form), RESPOND_BODY_MAX, false, "The form"},
};
#define RESPOND_NFIELDS (sizeof respond_fields / sizeof respond_fields[0])

void
respond_form_free(struct respond_form *f)
{
	for (size_t i = 0; i < RESPOND_NFIELDS; i++) {
		char **slot = (char **)((char *)f + respond_fields[i].offset);

		free(*slot);
		*slot = NULL;
	}
}

/* Is c white space a value may start or end with? */
static bool
respond_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

/*
 * A decoded value checked and cleaned for field fl: valid UTF-8, no control
 * characters (C0, DEL, C1) but a newline or tab where lines are allowed, line
 * ends made "\n" (a browser sends a textarea's as "\r\n"), white space
 * trimmed, at most fl->max characters. NULL with *why set when it is not
 * acceptable; NULL with *why NULL when it is empty.
 */
static char *
respond_clean(const struct respond_field *fl, const char *v, char **why)
{
	size_t n = strlen(v), chars = 0, start, end;
	char *out = xmalloc(n + 1), *o = out;
	const unsigned char *p = (const unsigned char *)v;

	*why = NULL;
	while (*p != '\0') {
		size_t len = utf8_seq_len(p);

		if (len == 0) {
			*why = xasprintf("%s is not valid text (UTF-8): type it again and send it.",
			                 fl->say);
			goto bad;
		}
		if (*p == '\r' || *p == '\n' || *p == '\t') {
			if (!fl->lines)
				goto control;
			/* "\r\n" and a lone "\r" are both one line end. */
			*o++ = *p == '\t' ? '\t' : '\n';
			p += *p == '\r' && p[1] == '\n' ? 2 : 1;
			chars++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0 && len == 2))
			goto control;
		memcpy(o, p, len);
		o += len;
		p += len;
		chars++;
	}
	*o = '\0';
	/* Trimmed, so that "  " is no answer and spaces count for nothing. */
	for (end = (size_t)(o - out); end > 0 && respond_space(out[end - 1]); end--)
		chars--;
	for (start = 0; start < end && respond_space(out[start]); start++)
		chars--;
	if (start == end) {
		free(out);
		return NULL;
	}
	if (chars > fl->max) {
		*why = xasprintf("%s is longer than %zu characters: shorten it and send it again.",
		                 fl->say, fl->max);
		goto bad;
	}
	memmove(out, out + start, end - start);
	out[end - start] = '\0';
	return out;
control:
	*why = xasprintf("%s holds a control character that cannot be recorded: remove it and "
	                 "send it again.",
	                 fl->say);
bad:
	free(out);
	return NULL;
}

int
respond_parse_form(const char *body, size_t len, struct respond_form *out, char **why)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	bool seen[RESPOND_NFIELDS] = {false};
	char *copy;

	memset(out, 0, sizeof *out);
	*why = NULL;
	if (len > RESPOND_BODY_MAX) {
		*why = xstrdup(
		    "The answer is too long to record: shorten the note and send it again.");
		return -1;
	}
	/*
	 * A NUL, raw or as "%00", would end a value early without a trace (the
	 * decoder's strings are C strings): refuse it like any control character.
	 */
	if (memchr(body, '\0', len) != NULL) {
		*why = xstrdup("The answer holds a control character that cannot be recorded.");
		return -1;
	}
	copy = xstrndup(body, len);
	for (const char *p = copy; (p = strchr(p, '%')) != NULL; p++) {
		if (p[1] == '0' && p[2] == '0') {
			free(copy);
			*why = xstrdup(
			    "The answer holds a control character that cannot be recorded.");
			return -1;
		}
	}
	if (evhttp_parse_query_str(copy, &q) != 0) {
		free(copy);
		*why = xstrdup("The answer could not be read: send it again from the page.");
		return -1;
	}
	free(copy);
	TAILQ_FOREACH(kv, &q, next)
	{
		size_t i;
		char **slot;

		for (i = 0; i < RESPOND_NFIELDS && strcmp(kv->key, respond_fields[i].name) != 0;
		     i++)
			;
		if (i == RESPOND_NFIELDS)
			continue; /* not ours (a browser may add a button's name): ignored */
		if (seen[i]) {
			*why = xasprintf("%s was sent twice: send the answer again from the page.",
			                 respond_fields[i].say);
			goto fail;
		}
		seen[i] = true;
		slot = (char **)((char *)out + respond_fields[i].offset);
		*slot = respond_clean(&respond_fields[i], kv->value, why);
		if (*why != NULL)
			goto fail;
	}
	evhttp_clear_headers(&q);
	return 0;
fail:
	evhttp_clear_headers(&q);
	respond_form_free(out);
	return -1;
}

int
respond_check(const struct respond_form *f, const char *today, struct answer *a, char **why)
{
	int kind = answer_kind_parse(f->kind);
	date_t day, on;
	char last[DATE_STRLEN];

	memset(a, 0, sizeof *a);
	*why = NULL;
	if (f->kind == NULL) {
		*why = xstrdup("Choose an answer: acknowledged, action agreed or disagree.");
		return -1;
	}
	if (kind < 0) {
		*why = xstrdup("Choose one of the three answers: acknowledged, action agreed or "
		               "disagree.");
		return -1;
	}
	if (date_parse_strict(today, &day) != 0)
		fatalx("respond_check: today is not a date: %s", today);
	if (kind == ANSWER_AGREED) {
		if (f->agreed_on == NULL) {
			*why = xstrdup("Give the date the action is agreed for.");
			return -1;
		}
		if (date_parse_strict(f->agreed_on, &on) != 0) {
			*why = xstrdup("The agreed date is not a date: give it as year-month-day, "
			               "e.g. 2025-03-14.");
			return -1;
		}
		if (on < day) {
			*why = xasprintf("The agreed date is before today (%s): give the date the "
			                 "action will be done.",
			                 today);
			return -1;
		}
		if (on > date_add_months(day, 12)) {
			*why =
			    xasprintf("The agreed date is more than a year ahead (after %s): give "
			              "a nearer date.",
			              date_format(date_add_months(day, 12), last));
			return -1;
		}
	}
	if (kind == ANSWER_DISAGREE && f->reason == NULL) {
		*why = xstrdup("Say why you disagree: the reason is kept with the alert.");
		return -1;
	}
	a->kind = (enum answer_kind)kind;
	a->agreed_on = kind == ANSWER_AGREED ? f->agreed_on : NULL;
	a->reason = kind == ANSWER_DISAGREE ? f->reason : NULL;
	a->note = f->note;
	a->name = f->name;
	return 0;
}
