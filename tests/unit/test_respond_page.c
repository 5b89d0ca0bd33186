/*
 * test_respond_page.c - unit tests for daemon/respond_page.c: the answer page
 * and the refusal page. Every document is read by html_check.h (a strict
 * tokenizer: only the writer's own elements and attributes, quoted values,
 * balanced tags, labelled controls, links only to the case and to #ids).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "assert_text.h"

#include "answers.h"
#include "html_check.h"
#include "respond_page.h"
#include "xalloc.h"

#define CASE_URL "https://cms.council.example/case/CIC-1001?tab=reviews&x=1"
#define CASE_URL_ESC "https://cms.council.example/case/CIC-1001?tab=reviews&amp;x=1"
#define TOKEN "AQAAAAAAAAAqAAAAAGdAbCdefGhijKlmnOpqRstuvWxyz0"
#define FORM "1730800000.abcdefABCDEF0123456789-_abcdefABCDEF01"
#define RECORDED                                                                                   \
	"Your answer was recorded. Everyone told about this case will see it in their next "       \
	"message."
#define PRIVACY                                                                                    \
	"Everyone told about this case will see your answer. Do not write the child\xe2\x80\x99s " \
	"name or other personal details."

/* Every kind of trouble a value can carry: markup, attribute break-outs, bad bytes, overrides. */
#define HOSTILE                                                                                    \
	"<script>alert(1)</script>\"><img src=x onerror=alert(1)>' onmouseover='alert(2)' "        \
	"&amp;&#x3c; \xff\xfe\xc3 \xe2\x80\xae reversed </textarea><style>url(http://evil)"

/* Check doc with html_check, failing with its problem. */
static void
check_doc(const char *doc, const char *case_url, const char *action)
{
	const char *links[] = {case_url, NULL};
	struct html_check c;

	if (!html_check(doc, links, action, &c))
		fail_msg("%s\nin:\n%s", c.problem, doc);
}

/* An event of the history. */
static void
event(struct delivery *d, const char *stage, const char *when, const char *to, const char *st)
{
	struct delivery_event *e;

	d->history = xreallocarray(d->history, d->nhistory + 1, sizeof *d->history);
	e = &d->history[d->nhistory++];
	memset(e, 0, sizeof *e);
	e->stage = xstrdup(stage);
	e->when = xstrdup(when);
	e->recipient = xstrdup(to);
	e->status = xstrdup(st);
}

/* An answer of the clock. */
static void
answer(struct delivery *d, const char *who, const char *kind, const char *agreed_on,
       const char *reason, const char *note, const char *at, bool amended)
{
	struct delivery_response *r;

	d->responses = xreallocarray(d->responses, d->nresponses + 1, sizeof *d->responses);
	r = &d->responses[d->nresponses++];
	memset(r, 0, sizeof *r);
	r->who = xstrdup(who);
	r->stage = xstrdup("Overdue: team manager");
	r->kind = xstrdup(kind);
	r->agreed_on = xstrdup_or_null(agreed_on);
	r->reason = xstrdup_or_null(reason);
	r->note = xstrdup_or_null(note);
	r->answered_at = xstrdup(at);
	r->amended = amended;
}

/* An alert as answers_target gives it: the team manager's overdue stage of a review. */
static struct delivery *
alert(void)
{
	struct delivery *d = xcalloc(1, sizeof *d);

	d->id = 42;
	d->kind = CHANNEL_EMAIL;
	d->recipient = xstrdup("tm.north@council.example");
	d->rule = xstrdup("cic-review");
	d->title = xstrdup("Child in care review");
	d->case_ref = xstrdup("CIC-1001");
	d->stage = xstrdup("overdue-tm");
	d->label = xstrdup("Overdue: team manager");
	d->start = xstrdup("2026-05-01");
	d->due = xstrdup("2026-10-30");
	d->fires = xstrdup("2026-11-04T08:00:00");
	d->days_late = 3;
	d->status = xstrdup("3 working days overdue");
	d->expected = xstrdup("Hold the review, or agree a date with the IRO.");
	d->case_url = xstrdup(CASE_URL);
	delivery_parse_fields(d, "{\"Team\":\"North\"}");
	event(d, "Reminder: IRO", "2026-10-23T08:00:00Z", "jo.iro@council.example", "sent");
	event(d, "Overdue: IRO manager", "2026-11-04T08:00:00Z", "iro.manager@council.example",
	      "failed");
	return d;
}

/* The view of d as the listener shows it on a first visit. */
static struct respond_view
view(const struct delivery *d)
{
	return (struct respond_view){
	    .d = d, .action = TOKEN, .form_token = FORM, .today = "2026-11-04"};
}

/* The ordinary page: everything the recipient needs, in order, and a form that is all there. */
static void
test_page(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	char *doc = respond_page(&v);
	const char *h1, *form;

	(void)state;
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_contains(doc, "<html lang=\"en-GB\">");
	assert_contains(doc, "<meta charset=\"utf-8\">");
	assert_contains(doc, "<meta name=\"viewport\" content=\"width=device-width, "
	                     "initial-scale=1\">");
	assert_contains(doc,
	                "<title>Answer the alert \xe2\x80\x9cOverdue: team manager\xe2\x80\x9d "
	                "for CIC-1001 \xe2\x80\x93 escalator</title>");
	h1 = strstr(doc, "<h1>Overdue: team manager: Child in care review for CIC-1001</h1>");
	assert_non_null(h1);
	assert_contains(h1, "<p class=\"status late\">3 working days overdue</p>");
	assert_contains(h1, "<dt>Due</dt><dd>Fri 30 Oct 2026</dd>");
	assert_contains(h1, "<dt>Working days late</dt><dd>3</dd>");
	assert_contains(h1,
	                "<dt>This stage</dt><dd>Overdue: team manager, from Wed 4 Nov 2026</dd>");
	assert_contains(h1, "<dt>Expected</dt><dd>Hold the review, or agree a date with the "
	                    "IRO.</dd>");
	assert_contains(h1, "<dt>Team</dt><dd>North</dd>");
	assert_contains(h1, "<a href=\"" CASE_URL_ESC "\">Open CIC-1001 in the case management "
	                    "system</a>");
	/* The history, oldest first, in plain words. */
	assert_contains(doc,
	                "<li>23 Oct 2026 08:00 UTC: Reminder: IRO \xe2\x86\x92 "
	                "jo.iro@council.example, sent</li>\n<li>4 Nov 2026 08:00 UTC: Overdue: "
	                "IRO manager \xe2\x86\x92 iro.manager@council.example, could not be "
	                "delivered</li>");
	assert_contains(doc, "No one has answered yet.");
	/* No banner, no note. */
	assert_lacks(doc, RECORDED);
	assert_lacks(doc, "role=\"alert\"");
	assert_lacks(doc, "Done since");
	assert_lacks(doc, "told late");
	assert_lacks(doc, " checked");
	assert_lacks(doc, "aria-invalid=\"true\"");
	/* The form, after the alert. */
	form = strstr(doc, "<form method=\"post\" action=\"" TOKEN "\" novalidate>");
	assert_non_null(form);
	assert_true(form > h1);
	assert_contains(form, "<input type=\"hidden\" name=\"form\" value=\"" FORM "\">");
	assert_contains(form, "<legend>Your answer</legend>");
	for (int k = 0; k < ANSWER_NKINDS; k++) {
		char *radio =
		    xasprintf("<input type=\"radio\" id=\"kind-%s\" name=\"kind\" "
		              "value=\"%s\" aria-describedby=\"kind-%s-hint\">",
		              answer_kind_name(k), answer_kind_name(k), answer_kind_name(k));

		assert_contains(form, radio);
		free(radio);
	}
	assert_contains(form, "<label for=\"kind-acknowledged\">Acknowledged</label>");
	assert_contains(form, "<label for=\"kind-agreed\">Action agreed</label>");
	assert_contains(form, "<label for=\"kind-disagree\">Disagree</label>");
	assert_contains(form, "<label for=\"agreed_on\">Agreed for (date)</label>");
	assert_contains(form, "<input type=\"date\" id=\"agreed_on\" name=\"agreed_on\" "
	                      "min=\"2026-11-04\" value=\"\" aria-describedby=\"agreed_on-hint\">");
	assert_contains(form, "id=\"agreed_on-hint\">For \xe2\x80\x9c"
	                      "action agreed\xe2\x80\x9d");
	assert_contains(form, "id=\"reason-hint\">For \xe2\x80\x9c"
	                      "disagree\xe2\x80\x9d");
	assert_contains(form,
	                "<textarea id=\"reason\" name=\"reason\" rows=\"4\" maxlength=\"1000\" "
	                "aria-describedby=\"reason-hint privacy-hint\">\n</textarea>");
	assert_contains(form, "<textarea id=\"note\" name=\"note\" rows=\"4\" maxlength=\"2000\" "
	                      "aria-describedby=\"note-hint privacy-hint\">\n</textarea>");
	assert_contains(form,
	                "<p class=\"hint\" id=\"privacy-hint\"><strong>" PRIVACY "</strong></p>");
	/* The privacy hint is right under the note. */
	assert_true(strstr(form, "id=\"privacy-hint\"") - strstr(form, "id=\"note\"") < 200);
	assert_contains(form, "<label for=\"name\">Your name (optional)</label>");
	assert_contains(form, "<input type=\"text\" id=\"name\" name=\"name\" maxlength=\"100\"");
	assert_contains(form, "<button type=\"submit\">Send answer</button>\n</form>");
	/* Nothing but the case URL and #anchors: no src, no url(), no other http. */
	assert_lacks(doc, "src=");
	assert_lacks(doc, "url(");
	assert_lacks(doc, "@import");
	assert_lacks(doc, "<script");
	assert_int_equal(text_count(doc, "http"), 1);
	assert_int_equal(text_count(doc, "<style>"), 1);
	free(doc);
	delivery_free(d);
}

/* The radio buttons post what the state store calls each kind (answer_kind_parse reads them). */
static void
test_kinds(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	char *doc;

	(void)state;
	for (int k = 0; k < ANSWER_NKINDS; k++) {
		char *want =
		    xasprintf("id=\"kind-%s\" name=\"kind\" value=\"%s\" "
		              "aria-describedby=\"kind-%s-hint\" checked>",
		              answer_kind_name(k), answer_kind_name(k), answer_kind_name(k));

		v.kind = answer_kind_name(k);
		v.error = "x";
		doc = respond_page(&v);
		check_doc(doc, CASE_URL_ESC, TOKEN);
		assert_contains(doc, want);
		assert_int_equal(text_count(doc, " checked"), 1);
		assert_int_equal(answer_kind_parse(answer_kind_name(k)), k);
		free(want);
		free(doc);
	}
	delivery_free(d);
}

/* Hostile text in every value the page shows, and in what was typed: all of it escaped. */
static void
test_hostile(void **state)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	struct respond_view v = {.d = d,
	                         .action = TOKEN,
	                         .form_token = HOSTILE,
	                         .today = HOSTILE,
	                         .error = HOSTILE,
	                         .kind = HOSTILE,
	                         .agreed_on = HOSTILE,
	                         .reason = HOSTILE,
	                         .note = HOSTILE,
	                         .name = HOSTILE,
	                         .recorded = true};
	char *doc, *refusal;

	(void)state;
	d->rule = xstrdup(HOSTILE);
	d->title = xstrdup(HOSTILE);
	d->case_ref = xstrdup(HOSTILE);
	d->stage = xstrdup(HOSTILE);
	d->label = xstrdup(HOSTILE);
	d->due = xstrdup(HOSTILE);
	d->fires = xstrdup(HOSTILE);
	d->status = xstrdup(HOSTILE);
	d->expected = xstrdup(HOSTILE);
	d->copied = xstrdup(HOSTILE);
	d->copied_on = xstrdup(HOSTILE);
	d->closed = true;
	d->closed_on = xstrdup(HOSTILE);
	/* Not a link: a script URL, and an http one that would break out of href. */
	d->case_url = xstrdup("javascript:alert(1)");
	d->fields = json_pack("{ss}", HOSTILE, HOSTILE);
	event(d, HOSTILE, HOSTILE, HOSTILE, HOSTILE);
	answer(d, HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, true);
	answer(d, HOSTILE, "agreed", HOSTILE, NULL, HOSTILE, HOSTILE, false);
	answer(d, HOSTILE, "disagree", NULL, HOSTILE, HOSTILE, HOSTILE, false);
	doc = respond_page(&v);
	check_doc(doc, NULL, TOKEN);
	assert_null(strcasestr(doc, "<script"));
	assert_null(strcasestr(doc, "<img"));
	assert_null(strcasestr(doc, "javascript:"));
	assert_null(strstr(doc, "\xe2\x80\xae"));
	assert_int_equal(text_count(doc, "<style>"), 1);
	assert_int_equal(text_count(doc, "</textarea>"), 2);
	/* Shown, escaped, where it belongs. */
	assert_contains(doc, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x "
	                     "onerror=alert(1)&gt;&#39; onmouseover=&#39;alert(2)&#39; "
	                     "&amp;amp;&amp;#x3c; \xef\xbf\xbd");
	assert_contains(doc, "<input type=\"hidden\" name=\"form\" value=\"&lt;script&gt;");
	assert_contains(doc, "min=\"&lt;script&gt;");
	assert_contains(doc, "<textarea id=\"note\" name=\"note\" rows=\"4\" maxlength=\"2000\" "
	                     "aria-describedby=\"note-hint privacy-hint\">\n&lt;script&gt;");
	assert_int_equal(text_count(doc, " checked"), 0);
	/* The case the URL was for is still named, unlinked. */
	assert_lacks(doc, "Open ");
	free(doc);

	/* A case URL with a quote in it is not linked either. */
	free(d->case_url);
	d->case_url = xstrdup("https://cms.council.example/case/\"onmouseover=\"alert(1)");
	doc = respond_page(&v);
	check_doc(doc, NULL, TOKEN);
	assert_lacks(doc, "href=\"https");
	free(doc);

	refusal = respond_refusal(HOSTILE, HOSTILE);
	check_doc(refusal, NULL, NULL);
	assert_null(strcasestr(refusal, "<script"));
	assert_contains(refusal, "<h1>&lt;script&gt;");
	free(refusal);
	delivery_free(d);
}

/* After an answer is recorded: the panel comes first, and says what happens next. */
static void
test_recorded(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	char *doc;

	(void)state;
	answer(d, "Sam Patel", "agreed", "2026-12-14", NULL, "Review booked.",
	       "2026-11-04T10:15:00Z", false);
	v.recorded = true;
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_contains(doc, "<title>Answer recorded: ");
	assert_contains(
	    doc, "<div class=\"panel\" role=\"status\">\n<h2>Answer recorded</h2>\n<p>" RECORDED
	         "</p>\n</div>\n<h1>");
	assert_contains(doc,
	                "<li>4 Nov 2026 10:15 UTC, <strong>Sam Patel</strong> (Overdue: team "
	                "manager): action agreed for Mon 14 Dec 2026. Note: \xe2\x80\x9cReview "
	                "booked.\xe2\x80\x9d</li>");
	assert_lacks(doc, "No one has answered yet.");
	/* The form is still there: another answer from the link amends this one. */
	assert_contains(doc, "a new answer replaces your earlier one, and both are kept");
	assert_int_equal(text_count(doc, " checked"), 0);
	free(doc);
	delivery_free(d);
}

/* After a bad submission: a summary linking to the field, the field marked, the values kept. */
static void
test_error(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	const char *summary, *h1;
	char *doc;

	(void)state;
	v.error = "Give the date the action is agreed for, today or later.";
	v.kind = "agreed";
	v.agreed_on = "2026-10-01";
	v.reason = "";
	v.note = "\nFirst line\n\nsecond <b>bold</b> & \"quoted\"";
	v.name = "Sam \"SP\" Patel";
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_contains(doc, "<title>Error: Answer the alert");
	summary = strstr(doc, "<div class=\"errors\" role=\"alert\" "
	                      "aria-labelledby=\"errors-title\">\n<h2 id=\"errors-title\">There is "
	                      "a problem</h2>\n<ul>\n<li><a href=\"#agreed_on\">Give the date the "
	                      "action is agreed for, today or later.</a></li>");
	h1 = strstr(doc, "<h1>");
	assert_non_null(summary);
	assert_true(summary < h1);
	assert_contains(doc, "<p class=\"error\" id=\"agreed_on-error\"><span>Error:</span> Give "
	                     "the date");
	assert_contains(doc, "<input type=\"date\" id=\"agreed_on\" name=\"agreed_on\" "
	                     "min=\"2026-11-04\" value=\"2026-10-01\" "
	                     "aria-describedby=\"agreed_on-hint agreed_on-error\" "
	                     "aria-invalid=\"true\">");
	assert_int_equal(text_count(doc, "aria-invalid=\"true\""), 1);
	assert_contains(doc, "value=\"agreed\" aria-describedby=\"kind-agreed-hint\" checked>");
	/* The note exactly as typed: its leading line break kept (after the one the parser drops).
	 */
	assert_contains(doc, "privacy-hint\">\n\nFirst line\n\nsecond &lt;b&gt;bold&lt;/b&gt; "
	                     "&amp; &quot;quoted&quot;</textarea>");
	assert_contains(doc, "id=\"name\" name=\"name\" maxlength=\"100\" autocomplete=\"name\" "
	                     "spellcheck=\"false\" value=\"Sam &quot;SP&quot; Patel\"");
	assert_lacks(doc, RECORDED);
	free(doc);

	/* Each field, named or guessed from the words. */
	{
		static const struct {
			const char *field, *error, *href;
		} cases[] = {
		    {"reason", "x", "#reason"},
		    {"note", "x", "#note"},
		    {"name", "x", "#name"},
		    {"kind", "x", "#kind-acknowledged"},
		    {"agreed_on", "x", "#agreed_on"},
		    {"bogus\"", "x", "#kind-acknowledged"},
		    {NULL, "Say why you disagree: a reason is needed.", "#reason"},
		    {NULL, "The note is longer than 2000 characters.", "#note"},
		    {NULL, "Your name is longer than 100 characters.", "#name"},
		    {NULL, "Choose one of the answers.", "#kind-acknowledged"},
		    {NULL, "The form has expired (an update?): send your answer again.",
		     "#kind-acknowledged"},
		    {NULL, "Date: give a real date", "#agreed_on"},
		};

		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			char *want = xasprintf("<li><a href=\"%s\">", cases[i].href);

			v.error_field = cases[i].field;
			v.error = cases[i].error;
			doc = respond_page(&v);
			check_doc(doc, CASE_URL_ESC, TOKEN);
			assert_contains(doc, want);
			/* The field it links to carries the error message. */
			assert_int_equal(text_count(doc, "class=\"error\" id="), 1);
			free(want);
			free(doc);
		}
	}
	delivery_free(d);
}

/* Answers so far, oldest first; an amended one is kept and marked as replaced. */
static void
test_answers(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	const char *first, *second, *third;
	char *doc;

	(void)state;
	answer(d, "tm.north@council.example", "acknowledged", NULL, NULL, NULL,
	       "2026-11-04T09:00:00Z", true);
	answer(d, "Sam Patel", "agreed", "2026-12-14", NULL, "Review booked.",
	       "2026-11-04T10:15:00Z", false);
	answer(d, "Alex Jones", "disagree", NULL,
	       "The review was held on 28 Oct.\nMinutes to follow.", NULL, "2026-11-05T16:40:00Z",
	       false);
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	first = strstr(doc, "<li class=\"amended\"><span class=\"tag\">Replaced</span>4 Nov 2026 "
	                    "09:00 UTC, <strong>tm.north@council.example</strong> (Overdue: team "
	                    "manager): acknowledged <span class=\"small\">(replaced by a later "
	                    "answer from the same link; both are kept)</span></li>");
	second = strstr(doc, "<li>4 Nov 2026 10:15 UTC, <strong>Sam Patel</strong>");
	third = strstr(doc, "<li>5 Nov 2026 16:40 UTC, <strong>Alex Jones</strong> (Overdue: team "
	                    "manager): disagrees: \xe2\x80\x9cThe review was held on 28 Oct.<br>"
	                    "Minutes to follow.\xe2\x80\x9d</li>");
	assert_non_null(first);
	assert_non_null(second);
	assert_non_null(third);
	assert_true(first < second && second < third);
	assert_int_equal(text_count(doc, "class=\"amended\""), 1);
	assert_int_equal(text_count(doc, "Replaced</span>"), 1);
	free(doc);
	delivery_free(d);
}

/* A clock seen done since the alert, and a copied recipient: each says so. */
static void
test_notes(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	char *doc;

	(void)state;
	d->closed = true;
	d->closed_on = xstrdup("2026-11-20");
	d->copied = xstrdup("Overdue: team manager");
	d->copied_on = xstrdup("2026-10-30");
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_contains(doc, "<p class=\"note done\"><strong>Done since this alert.</strong> "
	                     "escalator saw it done on Fri 20 Nov 2026. You can still answer, for "
	                     "the record.</p>");
	assert_contains(doc, "<p class=\"note copied\"><strong>Why you were told late.</strong> "
	                     "This case reached");
	/* The form stays: an answer is still worth keeping. */
	assert_contains(doc, "<button type=\"submit\">Send answer</button>");
	free(doc);

	/* No history yet, not yet due. */
	for (size_t i = 0; i < d->nhistory; i++) {
		free(d->history[i].stage);
		free(d->history[i].when);
		free(d->history[i].recipient);
		free(d->history[i].status);
	}
	d->nhistory = 0;
	d->days_late = 0;
	free(d->status);
	d->status = xstrdup("due in 3 working days");
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_contains(doc, "<p class=\"status\">Due in 3 working days</p>");
	assert_contains(doc, "<dt>Working days late</dt><dd>None yet</dd>");
	assert_contains(doc, "No other messages about this case so far.");
	free(doc);
	delivery_free(d);
}

/* Long values and long lists: cut, and the page stays a sensible size. */
static void
test_long(void **state)
{
	struct delivery *d = alert();
	struct respond_view v = view(d);
	char *big = xmalloc(200001), *doc;

	(void)state;
	memset(big, 'x', 200000);
	big[200000] = '\0';
	free(d->title);
	d->title = xstrdup(big);
	for (int i = 0; i < 50; i++)
		event(d, big, "2026-11-04T08:00:00Z", big, "sent");
	for (int i = 0; i < 20; i++)
		answer(d, big, "disagree", NULL, big, big, "2026-11-04T08:00:00Z", i < 19);
	v.note = "typed";
	doc = respond_page(&v);
	check_doc(doc, CASE_URL_ESC, TOKEN);
	assert_true(strlen(doc) < 1024 * 1024);
	assert_int_equal(text_count(doc, "class=\"amended\""), 19);
	free(doc);
	free(big);
	delivery_free(d);
}

/* The refusal page: what happened, what to do, in the same style; nothing else. */
static void
test_refusal(void **state)
{
	char *doc = respond_refusal("This link cannot be used",
	                            "The link has expired: links work for 30 days.");
	struct html_check c;

	(void)state;
	assert_true(html_check(doc, NULL, NULL, &c));
	assert_string_equal(c.title, "This link cannot be used");
	assert_contains(doc, "<html lang=\"en-GB\">");
	assert_contains(doc, "<meta name=\"viewport\"");
	assert_contains(doc, "<h1>This link cannot be used</h1>\n<p>The link has expired: links "
	                     "work for 30 days.</p>\n<p>Open the link in your latest message "
	                     "about this case, or contact the IRO service.</p>");
	assert_contains(doc, "<p class=\"small\">Nothing was recorded or changed.</p>");
	assert_int_equal(c.nlinks, 0);
	assert_int_equal(c.nforms, 0);
	assert_lacks(doc, "<form");
	free(doc);

	/* The reason says what happened; what to do and that nothing changed, once each. */
	doc = respond_refusal(
	    "This link has expired",
	    "Answer links work for a limited time, and this one's time has passed.");
	assert_true(html_check(doc, NULL, NULL, &c));
	assert_int_equal(text_count(doc, "message about this case"), 1);
	assert_int_equal(text_count(doc, "othing was"), 1);
	assert_contains(doc, "<p>Answer links work for a limited time, and this one&#39;s time has "
	                     "passed.</p>\n<p>Open the link in your latest message about this "
	                     "case, or contact the IRO service.</p>");
	free(doc);

	doc = respond_refusal(NULL, NULL);
	assert_true(html_check(doc, NULL, NULL, &c));
	assert_contains(doc, "<h1>This link cannot be used</h1>");
	free(doc);
}

/* The checker itself refuses what it is there to catch (a test must be able to fail). */
static void
test_checker(void **state)
{
	static const char *const bad[] = {
	    "<html></html>",
	    "<!DOCTYPE html>\n<html><p>a</html>",
	    "<!DOCTYPE html>\n<html><script>x</script></html>",
	    "<!DOCTYPE html>\n<html><p onclick=\"x\">a</p></html>",
	    "<!DOCTYPE html>\n<html><p class=x>a</p></html>",
	    "<!DOCTYPE html>\n<html><p>a > b</p></html>",
	    "<!DOCTYPE html>\n<html><p>&nbsp;</p></html>",
	    "<!DOCTYPE html>\n<html><p>\"</p></html>",
	    "<!DOCTYPE html>\n<html><style>a{b:url(x)}</style></html>",
	    "<!DOCTYPE html>\n<html><style></style><a href=\"https://x\">x</a></html>",
	    "<!DOCTYPE html>\n<html><style></style><a href=\"#nowhere\">x</a></html>",
	    "<!DOCTYPE html>\n<html><style></style><input id=\"a\"></html>",
	    "<!DOCTYPE html>\n<html><style></style><p id=\"a\"></p><p id=\"a\"></p></html>",
	    "<!DOCTYPE html>\n<html><style></style><p aria-describedby=\"zz\"></p></html>",
	    "<!DOCTYPE html>\n<html><style></style><p>\xff</p></html>",
	    "<!DOCTYPE html>\n<html><style></style><!-- x --></html>",
	};
	struct html_check c;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (html_check(bad[i], NULL, NULL, &c))
			fail_msg("the checker passed: %s", bad[i]);
	assert_true(html_check("<!DOCTYPE html>\n<html><style>p{}</style><label "
	                       "for=\"a\">A</label><input id=\"a\"><a href=\"#a\">x</a></html>",
	                       NULL, NULL, &c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page),    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_hostile), cmocka_unit_test(test_recorded),
	    cmocka_unit_test(test_error),   cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_notes),   cmocka_unit_test(test_long),
	    cmocka_unit_test(test_refusal), cmocka_unit_test(test_checker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
