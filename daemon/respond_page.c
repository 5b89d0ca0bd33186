/*
 * respond_page.c - the answer page: the alert as its recipient got it, the
 * clock's history and answers, and the form; one self-contained document
 * (respond_html.c), readable at 320 pixels wide and with a screen reader.
 * Every value is cleaned (digest_clean: invalid UTF-8, controls,
 * bidirectional overrides) and escaped, in text and attributes alike; the
 * only link out is the case's own (digest_case_url).
 */
#include "respond_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "respond_html.h"
#include "xalloc.h"

/*
 * The kinds of answer in the order the form offers them: the names the
 * state store keeps (answer_kind_name: test_respond_page checks they agree),
 * the label of each choice and its hint.
 */
static const struct page_kind {
	const char *name, *label, *hint;
} page_kinds[] = {
    {"acknowledged", "Acknowledged", "You have seen this and are dealing with it."},
    {"agreed", "Action agreed", "Something is arranged: give the date below."},
    {"disagree", "Disagree", "The alert is wrong or the action is not due: say why below."},
};
#define PAGE_NKINDS (sizeof page_kinds / sizeof page_kinds[0])

static const char page_privacy[] =
    "Everyone told about this case will see your answer. Do not write the child\xe2\x80\x99s "
    "name or other personal details.";
static const char page_recorded[] =
    "Your answer was recorded. Everyone told about this case will see it in their next message.";

/* Write a value from the state store cleaned and cut to one line, escaped. */
static void
page_value(FILE *f, const char *s)
{
	digest_html_put(f, digest_clean(s, DIGEST_VALUE_MAX, false));
}

/* The id of the field v->error is about: v->error_field, else a guess from its words. */
static const char *
page_error_field(const struct respond_view *v)
{
	static const char *const fields[][2] = {
	    {"date", "agreed_on"}, {"reason", "reason"}, {"note", "note"}, {"name", "name"}};
	const char *e = v->error;

	if (v->error_field != NULL) {
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			if (strcmp(v->error_field, fields[i][1]) == 0)
				return fields[i][1];
		return "kind-acknowledged";
	}
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		size_t n = strlen(fields[i][0]);

		/* A whole word: "date" but not "update". */
		for (const char *p = e; (p = strcasestr(p, fields[i][0])) != NULL; p += n) {
			char before = p == e ? ' ' : p[-1], after = p[n];

			if ((before < 'a' || before > 'z') && (before < 'A' || before > 'Z') &&
			    (after < 'a' || after > 'z') && (after < 'A' || after > 'Z'))
				return fields[i][1];
		}
	}
	/* Anything else (no choice made, an expired form): the first choice. */
	return "kind-acknowledged";
}

/* The "recorded" panel or the error summary, when there is one. */
static void
page_banner(FILE *f, const struct respond_view *v)
{
	if (v->recorded)
		fprintf(f,
		        "<div class=\"panel\" role=\"status\">\n<h2>Answer recorded</h2>\n"
		        "<p>%s</p>\n</div>\n",
		        page_recorded);
	if (v->error == NULL)
		return;
	fputs("<div class=\"errors\" role=\"alert\" aria-labelledby=\"errors-title\">\n"
	      "<h2 id=\"errors-title\">There is a problem</h2>\n<ul>\n<li><a href=\"#",
	      f);
	fputs(page_error_field(v), f);
	fputs("\">", f);
	digest_html_put(f, digest_clean(v->error, DIGEST_VALUE_MAX, false));
	fputs("</a></li>\n</ul>\n</div>\n", f);
}

/* One fact of the alert ("Due", "Fri 30 Oct 2026"); nothing when value is empty. Frees value. */
static void
page_fact(FILE *f, const char *name, char *value)
{
	if (value == NULL || *value == '\0') {
		free(value);
		return;
	}
	fputs("<dt>", f);
	digest_html_esc(f, name);
	fputs("</dt><dd>", f);
	digest_html_put(f, value);
	fputs("</dd>\n", f);
}

/* The heading, the status in plain words and the alert's facts. */
static void
page_alert(FILE *f, const struct delivery *d)
{
	const char *url = digest_case_url(d), *key;
	char *ref = digest_clean(d->case_ref, DIGEST_VALUE_MAX, false);
	size_t n = 0;
	json_t *val;

	fputs("<h1>", f);
	page_value(f, d->label != NULL ? d->label : d->stage);
	fputs(": ", f);
	page_value(f, d->title != NULL ? d->title : d->rule);
	fputs(" for ", f);
	digest_html_esc(f, *ref != '\0' ? ref : "(no case reference)");
	/* Red once it is late; ink while it is not yet due. */
	fprintf(f, "</h1>\n<p class=\"status%s\">", d->days_late > 0 ? " late" : "");
	{
		char *status = d->status != NULL && *d->status != '\0'
		                   ? digest_clean(d->status, DIGEST_VALUE_MAX, false)
		               : d->days_late > 0
		                   ? xasprintf("%d working day%s overdue", d->days_late,
		                               d->days_late == 1 ? "" : "s")
		                   : xstrdup("Not yet due");

		/* A line of its own starts with a capital ("due in 3 working days"). */
		if (*status >= 'a' && *status <= 'z')
			*status = (char)(*status - 'a' + 'A');
		digest_html_put(f, status);
	}
	fputs("</p>\n<dl>\n", f);
	if (d->due != NULL)
		page_fact(f, "Due", digest_date(d->due));
	page_fact(f, "Working days late",
	          d->days_late > 0 ? xasprintf("%d", d->days_late) : xstrdup("None yet"));
	if (d->fires != NULL) {
		char *label = digest_clean(d->label != NULL ? d->label : d->stage, DIGEST_VALUE_MAX,
		                           false),
		     *on = digest_date(d->fires);

		page_fact(f, "This stage", xasprintf("%s, from %s", label, on));
		free(label);
		free(on);
	}
	page_fact(f, "Expected", digest_clean(d->expected, DIGEST_VALUE_MAX, false));
	if (json_is_object(d->fields)) {
		json_object_foreach(d->fields, key, val)
		{
			char *name;

			if (n++ == DIGEST_FIELDS_MAX)
				break;
			name = digest_clean(key, DIGEST_VALUE_MAX, false);
			page_fact(f, *name != '\0' ? name : "(unnamed)", digest_field_value(val));
			free(name);
		}
	}
	if (url != NULL && *ref != '\0') {
		fputs("<dt>Case</dt><dd><a href=\"", f);
		digest_html_esc(f, url);
		fputs("\">Open ", f);
		digest_html_esc(f, ref);
		fputs(" in the case management system</a></dd>\n", f);
	}
	fputs("</dl>\n", f);
	free(ref);
}

/* The notes under the facts: the clock seen done since, a copied recipient's. */
static void
page_notes(FILE *f, const struct delivery *d)
{
	char *copied = digest_copied_note(d);

	if (d->closed) {
		fputs("<p class=\"note done\"><strong>Done since this alert.</strong> ", f);
		if (d->closed_on != NULL) {
			fputs("escalator saw it done on ", f);
			digest_html_put(f, digest_date(d->closed_on));
			fputs(". ", f);
		}
		fputs("You can still answer, for the record.</p>\n", f);
	}
	if (copied != NULL) {
		fputs("<p class=\"note copied\"><strong>Why you were told late.</strong> ", f);
		digest_html_put(f, copied);
		fputs("</p>\n", f);
	}
}

/* The clock's history: who was told at which stage, when, and how it went. */
static void
page_history(FILE *f, const struct delivery *d)
{
	fputs("<h2 id=\"history\">Who has been told</h2>\n", f);
	if (d->nhistory == 0) {
		fputs("<p>No other messages about this case so far.</p>\n", f);
		return;
	}
	fputs("<ol>\n", f);
	for (size_t i = 0; i < d->nhistory; i++) {
		fputs("<li>", f);
		digest_html_put(f, digest_event(&d->history[i]));
		fputs("</li>\n", f);
	}
	fputs("</ol>\n", f);
}

/* One answer: "3 Dec 2026 10:15 UTC, Jo Bloggs (Overdue: team manager): action agreed for …". */
static void
page_response(FILE *f, const struct delivery_response *r)
{
	const char *kind = r->kind != NULL ? r->kind : "";

	fprintf(f, "<li%s>", r->amended ? " class=\"amended\"" : "");
	if (r->amended)
		fputs("<span class=\"tag\">Replaced</span>", f);
	digest_html_put(f, digest_when(r->answered_at));
	fputs(", <strong>", f);
	page_value(f, r->who);
	fputs("</strong>", f);
	if (r->stage != NULL) {
		fputs(" (", f);
		page_value(f, r->stage);
		fputs(")", f);
	}
	fputs(": ", f);
	if (strcmp(kind, "agreed") == 0) {
		fputs("action agreed", f);
		if (r->agreed_on != NULL) {
			fputs(" for ", f);
			digest_html_put(f, digest_date(r->agreed_on));
		}
	} else if (strcmp(kind, "disagree") == 0) {
		fputs("disagrees", f);
		if (r->reason != NULL) {
			fputs(": \xe2\x80\x9c", f);
			digest_html_put(f, digest_clean(r->reason, RESPOND_REASON_MAX * 4, true));
			fputs("\xe2\x80\x9d", f);
		}
	} else if (strcmp(kind, "acknowledged") == 0) {
		fputs("acknowledged", f);
	} else {
		page_value(f, kind);
	}
	if (r->note != NULL && *r->note != '\0') {
		fputs(". Note: \xe2\x80\x9c", f);
		digest_html_put(f, digest_clean(r->note, RESPOND_NOTE_MAX * 4, true));
		fputs("\xe2\x80\x9d", f);
	}
	if (r->amended)
		fputs(" <span class=\"small\">(replaced by a later answer from the same link; both "
		      "are kept)</span>",
		      f);
	fputs("</li>\n", f);
}

/* The answers so far, oldest first. */
static void
page_responses(FILE *f, const struct delivery *d)
{
	fputs("<h2 id=\"answers\">Answers so far</h2>\n", f);
	if (d->nresponses == 0) {
		fputs("<p>No one has answered yet.</p>\n", f);
		return;
	}
	fputs("<ol>\n", f);
	for (size_t i = 0; i < d->nresponses; i++)
		page_response(f, &d->responses[i]);
	fputs("</ol>\n", f);
}

/* The id the error summary links to, if v has an error and it is about field; else NULL. */
static const char *
page_bad(const struct respond_view *v, const char *field)
{
	if (v->error == NULL)
		return NULL;
	return strcmp(page_error_field(v), field) == 0 ? field : NULL;
}

/* The error message beside field (its id "<field>-error"), when the error is about it. */
static void
page_field_error(FILE *f, const struct respond_view *v, const char *field)
{
	if (page_bad(v, field) == NULL)
		return;
	fprintf(f, "<p class=\"error\" id=\"%s-error\"><span>Error:</span> ", field);
	digest_html_put(f, digest_clean(v->error, DIGEST_VALUE_MAX, false));
	fputs("</p>\n", f);
}

/* A field's aria-describedby (its hints, then its error) and aria-invalid. */
static void
page_described(FILE *f, const struct respond_view *v, const char *field, const char *hints)
{
	bool bad = page_bad(v, field) != NULL;

	fprintf(f, " aria-describedby=\"%s%s%s%s\"%s", hints, bad ? " " : "", bad ? field : "",
	        bad ? "-error" : "", bad ? " aria-invalid=\"true\"" : "");
}

/* The value typed before, escaped for an attribute or a textarea. */
static void
page_typed_value(FILE *f, const char *s)
{
	char *t = respond_html_typed(s);

	digest_html_esc(f, t);
	free(t);
}

/* The three choices, in a fieldset whose legend is "Your answer". */
static void
page_choices(FILE *f, const struct respond_view *v)
{
	bool bad = page_bad(v, "kind-acknowledged") != NULL;

	fprintf(f,
	        "<fieldset aria-describedby=\"kind-hint%s\">\n<legend>Your answer</legend>\n"
	        "<p class=\"hint\" id=\"kind-hint\">You can answer again from this link at any "
	        "time: a new answer replaces your earlier one, and both are kept.</p>\n",
	        bad ? " kind-acknowledged-error" : "");
	page_field_error(f, v, "kind-acknowledged");
	for (size_t i = 0; i < PAGE_NKINDS; i++) {
		const struct page_kind *k = &page_kinds[i];
		bool on = v->kind != NULL && strcmp(v->kind, k->name) == 0;

		fprintf(f,
		        "<div class=\"choice\"><input type=\"radio\" id=\"kind-%s\" name=\"kind\" "
		        "value=\"%s\" aria-describedby=\"kind-%s-hint\"%s>\n"
		        "<div><label for=\"kind-%s\">%s</label>\n"
		        "<p class=\"hint\" id=\"kind-%s-hint\">%s</p></div></div>\n",
		        k->name, k->name, k->name, on ? " checked" : "", k->name, k->label, k->name,
		        k->hint);
	}
	fputs("</fieldset>\n", f);
}

/* A textarea: label, hint, error, the value typed before; after is written below it. */
static void
page_textarea(FILE *f, const struct respond_view *v, const char *field, const char *label,
              const char *hint, const char *hints, int max, const char *value, const char *after)
{
	fprintf(f,
	        "<div class=\"field\">\n<label for=\"%s\">%s</label>\n"
	        "<p class=\"hint\" id=\"%s-hint\">%s</p>\n",
	        field, label, field, hint);
	page_field_error(f, v, field);
	fprintf(f, "<textarea id=\"%s\" name=\"%s\" rows=\"4\" maxlength=\"%d\"", field, field,
	        max);
	page_described(f, v, field, hints);
	/* The parser drops one line break straight after <textarea>: this one, not the value's. */
	fputs(">\n", f);
	page_typed_value(f, value);
	fputs("</textarea>\n", f);
	if (after != NULL)
		fputs(after, f);
	fputs("</div>\n", f);
}

/* The form: the choices, the date, the reason, the note, the name, the button. */
static void
page_form(FILE *f, const struct respond_view *v)
{
	char *privacy = xasprintf("<p class=\"hint\" id=\"privacy-hint\"><strong>%s</strong></p>\n",
	                          page_privacy);

	/*
	 * novalidate: what is wrong is said by the server's error summary, the
	 * same way in every browser (min and maxlength still guide the input).
	 */
	fputs("<form method=\"post\" action=\"", f);
	page_typed_value(f, v->action);
	fputs("\" novalidate>\n<input type=\"hidden\" name=\"form\" value=\"", f);
	page_typed_value(f, v->form_token);
	fputs("\">\n", f);
	page_choices(f, v);

	fputs("<div class=\"field\">\n<label for=\"agreed_on\">Agreed for (date)</label>\n"
	      "<p class=\"hint\" id=\"agreed_on-hint\">For \xe2\x80\x9c"
	      "action agreed\xe2\x80\x9d: "
	      "the date the action is agreed for, today or later.</p>\n",
	      f);
	page_field_error(f, v, "agreed_on");
	fputs("<input type=\"date\" id=\"agreed_on\" name=\"agreed_on\"", f);
	if (v->today != NULL) {
		fputs(" min=\"", f);
		page_typed_value(f, v->today);
		fputs("\"", f);
	}
	fputs(" value=\"", f);
	page_typed_value(f, v->agreed_on);
	fputs("\"", f);
	page_described(f, v, "agreed_on", "agreed_on-hint");
	fputs(">\n</div>\n", f);

	page_textarea(f, v, "reason", "Reason",
	              "For \xe2\x80\x9c"
	              "disagree\xe2\x80\x9d: why the alert is wrong or the action is "
	              "not due.",
	              "reason-hint privacy-hint", RESPOND_REASON_MAX, v->reason, NULL);
	page_textarea(f, v, "note", "Note", "Anything else people should know (optional).",
	              "note-hint privacy-hint", RESPOND_NOTE_MAX, v->note, privacy);
	free(privacy);

	fputs("<div class=\"field\">\n<label for=\"name\">Your name (optional)</label>\n"
	      "<p class=\"hint\" id=\"name-hint\">Shown with your answer. Left empty, the address "
	      "this alert was sent to is shown.</p>\n",
	      f);
	page_field_error(f, v, "name");
	fprintf(f,
	        "<input type=\"text\" id=\"name\" name=\"name\" maxlength=\"%d\" "
	        "autocomplete=\"name\" spellcheck=\"false\" value=\"",
	        RESPOND_NAME_MAX);
	page_typed_value(f, v->name);
	fputs("\"", f);
	page_described(f, v, "name", "name-hint");
	fputs(">\n</div>\n<button type=\"submit\">Send answer</button>\n</form>\n", f);
}

/* The <title>: what the page is, for which case; "Error: " first after a bad submission. */
static char *
page_title(const struct respond_view *v)
{
	const struct delivery *d = v->d;
	char *label = digest_clean(d->label != NULL ? d->label : d->stage, 120, false);
	char *ref = digest_clean(d->case_ref, 120, false);
	char *t = xasprintf("%sAnswer the alert \xe2\x80\x9c%s\xe2\x80\x9d for %s \xe2\x80\x93 "
	                    "escalator",
	                    v->error != NULL ? "Error: "
	                    : v->recorded    ? "Answer recorded: "
	                                     : "",
	                    label, *ref != '\0' ? ref : "a case");

	free(label);
	free(ref);
	return t;
}

/* The answer page's body. */
static void
page_answer_body(FILE *f, const void *arg)
{
	const struct respond_view *v = arg;

	page_banner(f, v);
	page_alert(f, v->d);
	page_notes(f, v->d);
	page_history(f, v->d);
	page_responses(f, v->d);
	page_form(f, v);
	fputs(
	    "<p class=\"small\">To protect children\xe2\x80\x99s privacy this page names the case "
	    "by its reference only: open the case in your case management system for "
	    "details.</p>\n",
	    f);
}

char *
respond_page(const struct respond_view *v)
{
	return respond_html_document(page_title(v), page_answer_body, v);
}
