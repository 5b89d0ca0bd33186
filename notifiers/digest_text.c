/*
 * digest_text.c - the plain text of a message: a digest's items in reading
 * order under their sections, or a single alert's own body followed by its
 * links, copied note, answers and history. Email's text/plain part; any channel that
 * shows plain text may use it. Under each alert: where to answer it and the
 * answers so far, reasons and notes included (the council's own mail).
 */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A stream writing to memory (fatal when it cannot be made). */
static FILE *
text_open(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f == NULL)
		fatalx("out of memory building a message");
	return f;
}

/* Close f and give back what was written. */
static char *
text_close(FILE *f, char **buf)
{
	if (fclose(f) != 0)
		fatalx("out of memory building a message");
	return *buf;
}

/* Write "<indent><label>s\n" and free s (nothing when s is NULL or empty). */
static void
text_line(FILE *f, const char *indent, const char *label, char *s)
{
	if (s != NULL && *s != '\0')
		fprintf(f, "%s%s%s\n", indent, label, s);
	free(s);
}

/* Write text of several lines, each line indented. */
static void
text_block(FILE *f, const char *indent, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n > 0)
			fprintf(f, "%s%.*s\n", indent, (int)n, p);
		else
			fputc('\n', f);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* The answers so far of item ("Answers so far:" and one "- " line each), if any. */
static void
text_answers(FILE *f, const struct delivery *item, const char *indent)
{
	const struct delivery_response *shown[DIGEST_ANSWERS_MAX];
	size_t earlier, n = digest_answers_list(item, shown, &earlier);

	if (n == 0)
		return;
	fprintf(f, "%sAnswers so far:\n", indent);
	if (earlier > 0)
		fprintf(f, "%s- (%zu earlier not shown)\n", indent, earlier);
	for (size_t i = 0; i < n; i++) {
		char *a = digest_answer(shown[i], DIGEST_ANSWER_FULL);

		fprintf(f, "%s- %s\n", indent, a);
		free(a);
	}
}

/* The links, copied note, answers and history of item, each line indented. */
static void
text_trail(FILE *f, const struct delivery *item, const char *indent)
{
	const char *url = digest_case_url(item), *answer = digest_answer_url(item);
	size_t first = 0;

	if (url != NULL)
		fprintf(f, "%sOpen the case: %s\n", indent, url);
	if (answer != NULL && !item->notice)
		fprintf(f, "%sAnswer this alert: %s\n", indent, answer);
	text_line(f, indent, "Told late: ", digest_copied_note(item));
	if (!item->notice)
		text_answers(f, item, indent);
	if (item->nhistory == 0 || item->notice)
		return;
	fprintf(f, "%sHistory:\n", indent);
	if (item->nhistory > DIGEST_HISTORY_MAX) {
		first = item->nhistory - DIGEST_HISTORY_MAX;
		fprintf(f, "%s- (%zu earlier not shown)\n", indent, first);
	}
	for (size_t i = first; i < item->nhistory; i++) {
		char *e = digest_event(&item->history[i]);

		fprintf(f, "%s- %s\n", indent, e);
		free(e);
	}
}

/* The rule's fields of item, one "name: value" line each. */
static void
text_fields(FILE *f, const struct delivery *item, const char *indent)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(item->fields))
		return;
	json_object_foreach(item->fields, key, v)
	{
		if (n++ == DIGEST_FIELDS_MAX) {
			fprintf(f, "%s(%zu more details not shown)\n", indent,
			        json_object_size(item->fields) - DIGEST_FIELDS_MAX);
			break;
		}
		char *name = digest_clean(key, DIGEST_VALUE_MAX, false);
		char *value = digest_field_value(v);

		fprintf(f, "%s%s: %s\n", indent, name, value);
		free(name);
		free(value);
	}
}

/* One item of a digest (or a single alert without a body of its own). */
static void
text_item(FILE *f, const struct delivery *item)
{
	char *ref = digest_clean(item->case_ref, DIGEST_VALUE_MAX, false);
	char *title =
	    digest_clean(item->notice && item->subject != NULL ? item->subject : item->title,
	                 DIGEST_VALUE_MAX, false);
	char *status;

	if (item->notice) {
		/* Escalator's own notice: what happened, and its text. */
		fprintf(f, "* %s%s%s%s\n", title, *ref != '\0' ? " (" : "", ref,
		        *ref != '\0' ? ")" : "");
		if (item->body != NULL) {
			char *body = digest_clean(item->body, DIGEST_BODY_MAX, true);

			text_block(f, "  ", body);
			free(body);
		} else {
			text_line(f, "  ", "",
			          digest_clean(item->expected, DIGEST_VALUE_MAX, false));
		}
		free(ref);
		free(title);
		return;
	}
	fprintf(f, "* %s%s%s\n", *ref != '\0' ? ref : "(no case reference)",
	        *title != '\0' ? ": " : "", title);
	status = digest_status(item);
	/* A line of its own starts with a capital ("due in 3 working days"). */
	if (*status >= 'a' && *status <= 'z')
		*status = (char)(*status - 'a' + 'A');
	text_line(f, "  ", "", status);
	if (item->due != NULL)
		text_line(f, "  ", "Due: ", digest_date(item->due));
	text_line(
	    f, "  ", item->closed ? "Last stage: " : "Stage: ",
	    digest_clean(item->label != NULL ? item->label : item->stage, DIGEST_VALUE_MAX, false));
	if (!item->closed)
		text_line(f, "  ",
		          "Expected: ", digest_clean(item->expected, DIGEST_VALUE_MAX, false));
	text_fields(f, item, "  ");
	text_trail(f, item, "  ");
	free(ref);
	free(title);
}

/* A digest's text. */
static void
text_digest(FILE *f, const struct delivery *d)
{
	const struct delivery **items = xcalloc(d->nitems + 1, sizeof *items);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	size_t count[DIGEST_NSECTIONS], actionable;
	char *headline = digest_headline(d), *summary = digest_summary(d), *footer;

	digest_order(d, items, sec);
	digest_count(d, count);
	actionable = count[DIGEST_ESCALATIONS] + count[DIGEST_OVERDUE] + count[DIGEST_REMINDERS] +
	             count[DIGEST_COPIED];
	if (*summary == '\0')
		fprintf(f, "%s.\n", headline);
	else
		fprintf(f, "%s%s%s\n", headline, actionable > 0 ? ": " : ". ", summary);
	free(headline);
	free(summary);
	for (size_t i = 0; i < d->nitems; i++) {
		if (ftell(f) > DIGEST_TEXT_BUDGET) {
			fprintf(
			    f,
			    "\n\xe2\x80\xa6 and %zu more not shown here (this message reached its "
			    "size limit). Ask your escalator administrator for the full list.\n",
			    d->nitems - i);
			break;
		}
		if (i == 0 || sec[i] != sec[i - 1]) {
			const char *t = digest_section_title(sec[i]);
			int n = fprintf(f, "\n%s (%zu)\n", t, count[sec[i]]);

			for (int k = 2; k < n; k++)
				fputc('-', f);
			fputc('\n', f);
		}
		fputc('\n', f);
		text_item(f, items[i]);
	}
	footer = digest_footer(d);
	fprintf(f, "\n-- \n%s\n", footer);
	free(footer);
	free(items);
	free(sec);
}

/* A single alert's text: its own body, then what the body may not say. */
static void
text_single(FILE *f, const struct delivery *d)
{
	char *body = digest_clean(d->body, DIGEST_BODY_MAX, true);

	if (*body == '\0') {
		text_item(f, d);
	} else {
		fprintf(f, "%s\n", body);
		if (digest_case_url(d) != NULL || digest_answer_url(d) != NULL ||
		    d->copied != NULL || d->nhistory > 0 || digest_answers_shown(d) > 0)
			fputc('\n', f);
		text_trail(f, d, "");
	}
	free(body);
}

/* The plain text of d. */
char *
digest_text(const struct delivery *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = text_open(&buf, &len);

	if (d->digest)
		text_digest(f, d);
	else
		text_single(f, d);
	return text_close(f, &buf);
}
