/*
 * digest_html.c - the HTML of a message: one complete document laid out with
 * tables and inline CSS (what Outlook's Word engine and phone mail apps both
 * show well), no scripts, images, style sheets or outside resources. The only
 * links are the items' case_url (digest_case_url) and answer links
 * (digest_answer_url); every value is cleaned, cut and escaped, in text and in
 * attributes alike.
 */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The font every cell sets (Outlook does not inherit it from the body). */
#define HTML_FONT "font-family:Arial,Helvetica,sans-serif;"
#define HTML_INK "#0b0c0c"
#define HTML_GREY "#505a5f"
#define HTML_LINE "#b1b4b6"
#define HTML_LINK "#1d70b8"

/* Write s with &, <, >, " and ' escaped (fit for text and for quoted attributes). */
void
digest_html_esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* Write s escaped, each line break as <br>, then free s. */
void
digest_html_put(FILE *f, char *s)
{
	const char *p = s;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n);

		digest_html_esc(f, line);
		free(line);
		p += n;
		if (*p == '\n') {
			fputs("<br>", f);
			p++;
		}
	}
	free(s);
}

/* The colour that marks a section (its heading's rule and its items' left edge). */
static const char *
html_colour(enum digest_section s)
{
	switch (s) {
	case DIGEST_ESCALATIONS:
		return "#d4351c";
	case DIGEST_OVERDUE:
		return "#f47738";
	case DIGEST_REMINDERS:
		return HTML_LINK;
	case DIGEST_COPIED:
		return "#4c2c92";
	case DIGEST_DONE:
		return "#00703c";
	case DIGEST_NOTICES:
	case DIGEST_NSECTIONS:
		break;
	}
	return HTML_GREY;
}

/* The colour of an item's status line (text: dark enough to read on white). */
static const char *
html_status_colour(enum digest_section s)
{
	switch (s) {
	case DIGEST_ESCALATIONS:
	case DIGEST_OVERDUE:
		return "#d4351c";
	case DIGEST_REMINDERS:
		return HTML_LINK;
	case DIGEST_COPIED:
		return "#4c2c92";
	case DIGEST_DONE:
		return "#00703c";
	case DIGEST_NOTICES:
	case DIGEST_NSECTIONS:
		break;
	}
	return HTML_INK;
}

/* The document up to the first row of the message's table; title is freed. */
static void
html_begin(FILE *f, char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>",
	      f);
	digest_html_put(f, title);
	fputs("</title>\n</head>\n"
	      "<body style=\"margin:0;padding:0;background-color:#f3f2f1;\">\n"
	      "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
	      "border=\"0\" style=\"background-color:#f3f2f1;\">\n"
	      "<tr><td align=\"center\" style=\"padding:12px 6px;\">\n"
	      /* Outlook on Windows ignores max-width: a fixed 640 there. */
	      "<!--[if mso]><table role=\"presentation\" width=\"640\" cellpadding=\"0\" "
	      "cellspacing=\"0\" border=\"0\" align=\"center\"><tr><td><![endif]-->\n"
	      "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
	      "border=\"0\" align=\"center\" style=\"max-width:640px;background-color:#ffffff;"
	      "border-collapse:collapse;\">\n",
	      f);
}

/* The end of the document. */
static void
html_end(FILE *f)
{
	fputs("</table>\n<!--[if mso]></td></tr></table><![endif]-->\n</td></tr>\n</table>\n"
	      "</body>\n</html>\n",
	      f);
}

/* The opening row: "escalator", a heading and a paragraph under it; the strings are freed. */
static void
html_masthead(FILE *f, char *heading, char *para)
{
	fputs("<tr><td style=\"padding:20px 20px 8px;" HTML_FONT "color:" HTML_INK ";\">\n"
	      "<p style=\"margin:0 0 6px;font-size:14px;color:" HTML_GREY ";\">escalator</p>\n"
	      "<h1 style=\"margin:0;font-size:24px;line-height:1.25;font-weight:bold;\">",
	      f);
	digest_html_put(f, heading);
	fputs("</h1>\n", f);
	if (para != NULL && *para != '\0') {
		fputs("<p style=\"margin:8px 0 0;font-size:16px;line-height:1.4;\">", f);
		digest_html_put(f, para);
		fputs("</p>\n", f);
	} else {
		free(para);
	}
	fputs("</td></tr>\n", f);
}

/* A section's heading row, "Overdue (3)". */
static void
html_section(FILE *f, enum digest_section s, size_t n)
{
	fprintf(f,
	        "<tr><td style=\"padding:20px 20px 4px;" HTML_FONT "\">\n"
	        "<h2 style=\"margin:0;padding:0 0 4px;font-size:19px;line-height:1.3;"
	        "font-weight:bold;color:" HTML_INK ";border-bottom:3px solid %s;\">",
	        html_colour(s));
	digest_html_esc(f, digest_section_title(s));
	fprintf(f, " (%zu)</h2>\n</td></tr>\n", n);
}

/* One row of an item's facts ("Due", "Thu 29 Oct 2026"); nothing when value is empty. Frees
 * value. */
static void
html_fact(FILE *f, const char *label, char *value)
{
	if (value == NULL || *value == '\0') {
		free(value);
		return;
	}
	fputs("<tr><td style=\"padding:2px 12px 2px 0;vertical-align:top;white-space:nowrap;"
	      "color:" HTML_GREY ";\">",
	      f);
	digest_html_esc(f, label);
	fputs("</td><td style=\"padding:2px 0;vertical-align:top;\">", f);
	digest_html_put(f, value);
	fputs("</td></tr>\n", f);
}

/* An item's facts (due date, stage, what is expected, the rule's fields) as a table, if any. */
static void
html_facts(FILE *f, const struct delivery *item)
{
	char *rows = NULL;
	size_t len = 0, n = 0;
	FILE *r = open_memstream(&rows, &len);
	const char *key;
	json_t *v;

	if (r == NULL)
		fatalx("out of memory building a message");
	if (item->due != NULL)
		html_fact(r, "Due", digest_date(item->due));
	html_fact(
	    r, item->closed ? "Last stage" : "Stage",
	    digest_clean(item->label != NULL ? item->label : item->stage, DIGEST_VALUE_MAX, false));
	if (!item->closed)
		html_fact(r, "Expected", digest_clean(item->expected, DIGEST_VALUE_MAX, false));
	if (json_is_object(item->fields)) {
		json_object_foreach(item->fields, key, v)
		{
			char *name;

			if (n++ == DIGEST_FIELDS_MAX) {
				html_fact(
				    r, "More",
				    xasprintf("%zu more details not shown",
				              json_object_size(item->fields) - DIGEST_FIELDS_MAX));
				break;
			}
			name = digest_clean(key, DIGEST_VALUE_MAX, false);
			html_fact(r, *name != '\0' ? name : "(unnamed)", digest_field_value(v));
			free(name);
		}
	}
	if (fclose(r) != 0)
		fatalx("out of memory building a message");
	if (len > 0)
		fprintf(f,
		        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" "
		        "border=\"0\" style=\"margin:8px 0 0;border-collapse:collapse;"
		        "font-size:15px;line-height:1.4;color:" HTML_INK ";\">\n%s</table>\n",
		        rows);
	free(rows);
}

/*
 * Where to answer the item: a link that reads "Answer this alert" (its
 * accessible name; among several in a digest, the item's heading above it says
 * which), drawn as a button. No outline is set, so the reader's own focus ring
 * shows when it is reached with the keyboard.
 */
static void
html_answer_link(FILE *f, const struct delivery *item)
{
	const char *url = digest_answer_url(item);

	if (url == NULL)
		return;
	fputs("<p style=\"margin:12px 0 0;\"><a href=\"", f);
	digest_html_esc(f, url);
	fputs("\" style=\"display:inline-block;padding:8px 14px;background-color:#00703c;"
	      "border:2px solid #00703c;border-radius:2px;color:#ffffff;font-size:16px;"
	      "font-weight:bold;line-height:1.25;text-decoration:underline;\">Answer this alert"
	      "</a></p>\n",
	      f);
}

/* The clock's answers so far, reasons and notes included (the council's own mail). */
static void
html_answers(FILE *f, const struct delivery *item)
{
	const struct delivery_response *shown[DIGEST_ANSWERS_MAX];
	size_t earlier, n = digest_answers_list(item, shown, &earlier);

	if (n == 0)
		return;
	fputs("<p style=\"margin:10px 0 2px;font-size:15px;font-weight:bold;\">Answers so far</p>\n"
	      "<ul style=\"margin:0;padding:0 0 0 18px;font-size:15px;line-height:1.4;\">\n",
	      f);
	if (earlier > 0)
		fprintf(f, "<li>%zu earlier not shown</li>\n", earlier);
	for (size_t i = 0; i < n; i++) {
		fputs("<li style=\"margin:0 0 2px;\">", f);
		digest_html_put(f, digest_answer(shown[i], DIGEST_ANSWER_FULL));
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

/* An item's copied note, answers and history. */
static void
html_trail(FILE *f, const struct delivery *item)
{
	char *note = digest_copied_note(item);
	size_t first = 0;

	if (note != NULL) {
		fputs("<p style=\"margin:10px 0 0;padding:8px 10px;background-color:#f3f2f1;"
		      "border-left:4px solid #4c2c92;font-size:15px;line-height:1.4;\">"
		      "<strong>Told late.</strong> ",
		      f);
		digest_html_put(f, note);
		fputs("</p>\n", f);
	}
	if (item->notice)
		return;
	html_answers(f, item);
	if (item->nhistory == 0)
		return;
	fputs("<p style=\"margin:10px 0 2px;font-size:14px;font-weight:bold;color:" HTML_GREY
	      ";\">History</p>\n"
	      "<ul style=\"margin:0;padding:0 0 0 "
	      "18px;font-size:14px;line-height:1.4;color:" HTML_GREY ";\">\n",
	      f);
	if (item->nhistory > DIGEST_HISTORY_MAX) {
		first = item->nhistory - DIGEST_HISTORY_MAX;
		fprintf(f, "<li>%zu earlier not shown</li>\n", first);
	}
	for (size_t i = first; i < item->nhistory; i++) {
		fputs("<li style=\"margin:0 0 2px;\">", f);
		digest_html_put(f, digest_event(&item->history[i]));
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

/* One item as a row; its heading is an <h3> in a digest, the <h1> of a single alert. */
static void
html_item(FILE *f, const struct delivery *item, enum digest_section s, const char *h)
{
	char *ref = digest_clean(item->case_ref, DIGEST_VALUE_MAX, false);
	char *title =
	    digest_clean(item->notice && item->subject != NULL ? item->subject : item->title,
	                 DIGEST_VALUE_MAX, false);
	const char *url = digest_case_url(item);
	char *status;

	fprintf(f,
	        "<tr><td style=\"padding:14px 20px 14px 16px;border-top:1px solid " HTML_LINE ";"
	        "border-left:4px solid %s;" HTML_FONT "font-size:16px;line-height:1.4;"
	        "color:" HTML_INK ";word-wrap:break-word;overflow-wrap:anywhere;\">\n"
	        "<%s style=\"margin:0;font-size:%s;line-height:1.3;font-weight:bold;\">",
	        html_colour(s), h, h[1] == '1' ? "22px" : "18px");
	if (item->notice) {
		digest_html_esc(f, title);
		if (*ref != '\0') {
			fputs(" (", f);
			digest_html_esc(f, ref);
			fputs(")", f);
		}
		fprintf(f, "</%s>\n", h);
		fputs("<p style=\"margin:6px 0 0;\">", f);
		digest_html_put(f, item->body != NULL
		                       ? digest_clean(item->body, DIGEST_BODY_MAX, true)
		                       : digest_clean(item->expected, DIGEST_VALUE_MAX, false));
		fputs("</p>\n</td></tr>\n", f);
		free(ref);
		free(title);
		return;
	}
	if (url != NULL && *ref != '\0') {
		fputs("<a href=\"", f);
		digest_html_esc(f, url);
		fputs("\" style=\"color:" HTML_LINK ";text-decoration:underline;\">", f);
		digest_html_esc(f, ref);
		fputs("</a>", f);
	} else {
		digest_html_esc(f, *ref != '\0' ? ref : "(no case reference)");
	}
	if (*title != '\0') {
		fputs(": ", f);
		digest_html_esc(f, title);
	}
	fprintf(f, "</%s>\n<p style=\"margin:4px 0 0;font-weight:bold;color:%s;\">", h,
	        html_status_colour(s));
	status = digest_status(item);
	/* A line of its own starts with a capital ("due in 3 working days"). */
	if (*status >= 'a' && *status <= 'z')
		*status = (char)(*status - 'a' + 'A');
	digest_html_put(f, status);
	fputs("</p>\n", f);
	html_facts(f, item);
	html_answer_link(f, item);
	html_trail(f, item);
	fputs("</td></tr>\n", f);
	free(ref);
	free(title);
}

/* The footer row: one paragraph a sentence; text is freed. */
static void
html_footer(FILE *f, char *text)
{
	const char *p = text;

	fputs("<tr><td style=\"padding:16px 20px 20px;border-top:1px solid " HTML_LINE ";" HTML_FONT
	      "font-size:13px;line-height:1.4;color:" HTML_GREY ";\">\n",
	      f);
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		fputs("<p style=\"margin:0 0 6px;\">", f);
		digest_html_put(f, xstrndup(p, n));
		fputs("</p>\n", f);
		p += n;
		if (*p == '\n')
			p++;
	}
	fputs("</td></tr>\n", f);
	free(text);
}

/* A digest's document. */
static void
html_digest(FILE *f, const struct delivery *d)
{
	const struct delivery **items = xcalloc(d->nitems + 1, sizeof *items);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	size_t count[DIGEST_NSECTIONS];

	digest_order(d, items, sec);
	digest_count(d, count);
	html_begin(f, digest_subject(d));
	html_masthead(f, digest_headline(d), digest_summary(d));
	for (size_t i = 0; i < d->nitems; i++) {
		if (ftell(f) > DIGEST_HTML_BUDGET) {
			fprintf(
			    f,
			    "<tr><td style=\"padding:14px 20px;border-top:1px solid " HTML_LINE
			    ";" HTML_FONT "font-size:16px;\"><p style=\"margin:0;\">"
			    "\xe2\x80\xa6 and %zu more not shown here (this message reached its "
			    "size limit). Ask your escalator administrator for the full list."
			    "</p></td></tr>\n",
			    d->nitems - i);
			break;
		}
		if (i == 0 || sec[i] != sec[i - 1])
			html_section(f, sec[i], count[sec[i]]);
		html_item(f, items[i], sec[i], "h3");
	}
	html_footer(f, digest_footer(d));
	html_end(f);
	free(items);
	free(sec);
}

/* A single alert's document: the same layout for its one item. */
static void
html_single(FILE *f, const struct delivery *d)
{
	const char *subject = d->subject != NULL ? d->subject : d->title;

	html_begin(f, digest_clean(subject != NULL ? subject : "escalator alert", DIGEST_VALUE_MAX,
	                           false));
	fputs("<tr><td style=\"padding:16px 20px 8px;" HTML_FONT "font-size:14px;color:" HTML_GREY
	      ";\">escalator: ",
	      f);
	digest_html_esc(f, digest_section_title(digest_section_of(d)));
	fputs("</td></tr>\n", f);
	html_item(f, d, digest_section_of(d), "h1");
	html_footer(f, digest_footer(d));
	html_end(f);
}

/* The HTML of d. */
char *
digest_html(const struct delivery *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatalx("out of memory building a message");
	if (d->digest)
		html_digest(f, d);
	else
		html_single(f, d);
	if (fclose(f) != 0)
		fatalx("out of memory building a message");
	return buf;
}
