/* test_digest.c - unit tests for notifiers/digest*.c: order, subject, sentences, text and HTML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_text.h"

#include "digest.h"
#include "notifier.h"
#include "notifier_fixture.h"
#include "utf8.h"
#include "xalloc.h"

#ifndef ESCALATOR_SOURCE_DIR
#define ESCALATOR_SOURCE_DIR "."
#endif

#define ELLIPSIS "\xe2\x80\xa6"

/* Assert that s starts with prefix. */
#define assert_prefix(s, prefix)                                                                   \
	do {                                                                                       \
		if (strncmp((s), (prefix), strlen(prefix)) != 0)                                   \
			fail_msg("expected to start with:\n%s\ngot:\n%.*s", (prefix),              \
			         (int)strlen(prefix) + 40, (s));                                   \
	} while (0)

/* Replace the string *slot with a copy of v. */
static void
set(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup_or_null(v);
}

/* Where item i of fixture_digest links to. */
static char *
case_url(size_t i)
{
	return xasprintf("https://cms.council.example/case/C%04zu", 1000 + i);
}

/* Run "python3 -m harness.mail_check html path" with d's case URLs allowed; its exit status. */
static int
html_check(const char *html, const struct delivery *d, char *out, size_t outlen)
{
	const char *src = getenv("SRCDIR") != NULL && *getenv("SRCDIR") != '\0'
	                      ? getenv("SRCDIR")
	                      : ESCALATOR_SOURCE_DIR;
	char path[] = "/tmp/test_digest.XXXXXX";
	char *cmd, *links = xstrdup("");
	int fd = mkstemp(path), status;
	size_t n;
	FILE *p;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, html, strlen(html)), (ssize_t)strlen(html));
	close(fd);
	for (size_t i = 0; i < 2 * d->nitems + 2; i++) {
		/* Each item's case link and answer link (a single alert: its own). */
		const struct delivery *it = i < 2 * d->nitems ? d->items[i / 2] : d;
		const char *u = i % 2 == 0 ? digest_case_url(it) : digest_answer_url(it);
		char *t;

		if (u == NULL || (it == d && d->digest))
			continue;
		t = xasprintf("%s --link '%s'", links, u);
		free(links);
		links = t;
	}
	cmd = xasprintf("cd '%s/tests' && /usr/bin/python3 -m harness.mail_check html '%s'%s", src,
	                path, links);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	free(cmd);
	free(links);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Is s valid UTF-8 with nothing to repair? */
static int
valid_utf8(const char *s)
{
	char *c = utf8_sanitize(s);
	int same = strcmp(c, s) == 0;

	free(c);
	return same;
}

/* Items in reading order: section, then most days late, then case reference. */
static void
test_order(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 18, 0);
	const struct delivery **items = xcalloc(d->nitems, sizeof *items);
	enum digest_section sec[18];

	/* Three overdue items, out of order, one tie broken by the case reference. */
	d->items[1]->days_late = 3;
	d->items[7]->days_late = 10;
	d->items[13]->days_late = 10;
	set(&d->items[7]->case_ref, "Z9");
	set(&d->items[13]->case_ref, "A1");
	digest_order(d, items, sec);
	for (size_t i = 1; i < d->nitems; i++) {
		assert_true(sec[i - 1] <= sec[i]);
		assert_int_equal(sec[i], digest_section_of(items[i]));
		if (sec[i - 1] == sec[i] && sec[i] != DIGEST_DONE)
			assert_true(items[i - 1]->days_late >= items[i]->days_late);
	}
	assert_int_equal(sec[0], DIGEST_ESCALATIONS);
	assert_int_equal(sec[17], DIGEST_NOTICES);
	assert_int_equal(sec[2], DIGEST_ESCALATIONS);
	assert_int_equal(sec[3], DIGEST_OVERDUE);
	assert_string_equal(items[3]->case_ref, "A1");
	assert_string_equal(items[4]->case_ref, "Z9");
	assert_ptr_equal(items[5], d->items[1]);
	free(items);
	delivery_free(d);
}

/* The subject counts each section; parts say which part; nothing says so. */
static void
test_subject(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	char *s = digest_subject(d);

	assert_string_equal(s,
	                    "escalator: 1 escalated to you, 1 overdue, 1 coming due, 1 escalated "
	                    "past you, 1 done, 1 service notice");
	free(s);
	delivery_free(d);

	d = fixture_digest(CHANNEL_EMAIL, 14, 0);
	d->part = 2;
	d->parts = 3;
	s = digest_subject(d);
	assert_string_equal(s,
	                    "escalator: 3 escalated to you, 3 overdue, 2 coming due, 2 escalated "
	                    "past you, 2 done, 2 service notices (part 2 of 3)");
	free(s);
	delivery_free(d);

	d = fixture_digest(CHANNEL_EMAIL, 0, 0);
	s = digest_subject(d);
	assert_string_equal(s, "escalator: nothing new");
	free(s);
	delivery_free(d);
}

/* Dates for people, from the store's ISO dates and UTC times. */
static void
test_dates(void **state)
{
	static const struct {
		const char *in, *date, *when;
	} cases[] = {
	    {"2026-10-30", "Fri 30 Oct 2026", "2026-10-30"},
	    {"2026-10-22T08:00:04Z", "Thu 22 Oct 2026", "22 Oct 2026 08:00 UTC"},
	    {"2024-02-29T23:59:59Z", "Thu 29 Feb 2024", "29 Feb 2024 23:59 UTC"},
	    {"2000-01-01", "Sat 1 Jan 2000", "2000-01-01"},
	    {"2026-02-29", "2026-02-29", "2026-02-29"},
	    {"2026-13-01", "2026-13-01", "2026-13-01"},
	    {"2026-10-30T24:00Z", "Fri 30 Oct 2026", "2026-10-30T24:00Z"},
	    {"soon\r\n<b>", "soon <b>", "soon <b>"},
	    {"", "", ""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *date = digest_date(cases[i].in), *when = digest_when(cases[i].in);

		assert_string_equal(date, cases[i].date);
		assert_string_equal(when, cases[i].when);
		free(date);
		free(when);
	}
}

/* Values are cleaned: controls made spaces, line breaks kept only when asked, cut with "…". */
static void
test_clean(void **state)
{
	char big[2001], *s;

	s = digest_clean("  a\tb\x01\x02"
	                 "c\r\nd\xff  ",
	                 100, false);
	assert_string_equal(s, "a b c d\xef\xbf\xbd");
	free(s);
	s = digest_clean("line one  \r\n\r\n\r\n\r\n  indented\rlast\n\n", 100, true);
	assert_string_equal(s, "line one\n\n  indented\nlast");
	free(s);
	/* A tab is kept in text of several lines, a space in one line. */
	s = digest_clean("Case:\tC1\x1b\x01 \tend \t\n\tx", 100, true);
	assert_string_equal(s, "Case:\tC1  \tend\n\tx");
	free(s);
	s = digest_clean("Case:\tC1", 100, false);
	assert_string_equal(s, "Case: C1");
	free(s);
	/* Bidirectional controls go; a line separator is a space. */
	s = digest_clean("C1\xe2\x80\xae"
	                 "24\xe2\x80\xa8x",
	                 100, false);
	assert_string_equal(s, "C124 x");
	free(s);
	s = digest_clean(NULL, 10, false);
	assert_string_equal(s, "");
	free(s);
	memset(big, 'x', 2000);
	big[2000] = '\0';
	s = digest_clean(big, DIGEST_VALUE_MAX, false);
	assert_int_equal(strlen(s), DIGEST_VALUE_MAX);
	assert_memory_equal(s + DIGEST_VALUE_MAX - 3, ELLIPSIS, 3);
	free(s);
	/* A cut never splits a character: "é" is two bytes. */
	for (size_t i = 0; i + 1 < 2000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	s = digest_clean(big, 10, false);
	assert_string_equal(s, "\xc3\xa9\xc3\xa9\xc3\xa9" ELLIPSIS);
	free(s);
	s = digest_clean("exactly10!", 10, false);
	assert_string_equal(s, "exactly10!");
	free(s);
}

/* Only an http(s) URL of printable ASCII without quotes or brackets becomes a link. */
static void
test_case_url(void **state)
{
	static const struct {
		const char *url;
		int ok;
	} cases[] = {
	    {"https://cms.council.example/case/C1042", 1},
	    {"HTTP://cms.council.example/case?id=1&x=2", 1},
	    {"javascript:alert(1)", 0},
	    {"data:text/html,<script>", 0},
	    {"//cms.council.example/case", 0},
	    {"https://", 0},
	    {"https:///path", 0},
	    {"https://cms.example/\"><script>alert(1)</script>", 0},
	    {"https://cms.example/a b", 0},
	    {"https://cms.example/'x", 0},
	    {"https://cms.example/\xc3\xa9", 0},
	    {"https://cms.example/\n", 0},
	    {NULL, 0},
	};
	struct delivery item = {0};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		item.case_url = (char *)cases[i].url;
		if (cases[i].ok)
			assert_ptr_equal(digest_case_url(&item), cases[i].url);
		else
			assert_null(digest_case_url(&item));
	}
}

/* The headline counts cases that need the reader; the summary says the rest. */
static void
test_headline(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	char *h, *s, *t;

	h = digest_headline(d);
	s = digest_summary(d);
	assert_string_equal(h, "4 cases need you today");
	assert_string_equal(s, "1 escalated to you, 1 overdue, 1 coming due and 1 escalated past "
	                       "you (told late). 1 done since your last message. 1 notice about "
	                       "escalator itself.");
	free(h);
	free(s);
	/* Two clocks of one case are one case. */
	set(&d->items[1]->case_ref, "C1000");
	h = digest_headline(d);
	assert_string_equal(h, "3 cases need you today");
	free(h);
	delivery_free(d);

	/* Only a closed clock: nothing new, and it says what is done. */
	d = fixture_digest(CHANNEL_EMAIL, 5, 0);
	for (size_t i = 0; i < 4; i++)
		delivery_free(d->items[i]);
	d->items[0] = d->items[4];
	d->nitems = 1;
	h = digest_headline(d);
	s = digest_summary(d);
	t = digest_text(d);
	assert_string_equal(h, "Nothing new needs you today");
	assert_string_equal(s, "1 done since your last message.");
	assert_prefix(t, "Nothing new needs you today. 1 done since your last message.\n\n");
	free(h);
	free(s);
	free(t);
	delivery_free(d);

	d = fixture_digest(CHANNEL_EMAIL, 3, 0);
	d->items[2]->urgency = DELIVERY_OVERDUE;
	d->items[2]->days_late = 1;
	h = digest_headline(d);
	s = digest_summary(d);
	assert_string_equal(h, "3 cases need you today");
	assert_string_equal(s, "1 escalated to you and 2 overdue.");
	free(h);
	free(s);
	delivery_free(d);
}

/* The sentences: status, the done line, the copied note, an event. */
static void
test_sentences(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	struct delivery_event e = {.stage = "Reminder: IRO",
	                           .when = "2026-10-22T08:00:04Z",
	                           .recipient = "jo.iro@council.example",
	                           .status = "waiting"};
	char *s;

	s = digest_status(d->items[4]);
	assert_string_equal(s, "Done Fri 20 Nov 2026, 15 working days late");
	free(s);
	d->items[4]->closed_late = 1;
	s = digest_status(d->items[4]);
	assert_string_equal(s, "Done Fri 20 Nov 2026, 1 working day late");
	free(s);
	d->items[4]->closed_late = 0;
	s = digest_status(d->items[4]);
	assert_string_equal(s, "Done Fri 20 Nov 2026, in time");
	free(s);
	set(&d->items[1]->status, NULL);
	d->items[1]->days_late = 1;
	s = digest_status(d->items[1]);
	assert_string_equal(s, "1 working day overdue");
	free(s);
	assert_null(digest_copied_note(d->items[0]));
	s = digest_copied_note(d->items[3]);
	assert_string_equal(
	    s, "This case reached \xe2\x80\x9c"
	       "Escalated: head of service\xe2\x80\x9d on Thu 5 Nov 2026; you were not told at "
	       "\xe2\x80\x9cOverdue: team manager\xe2\x80\x9d on Fri 30 Oct 2026 because escalator "
	       "first saw this case after that date (a new case in the extract, or escalatord not "
	       "running).");
	free(s);
	s = digest_event(&e);
	assert_string_equal(s, "22 Oct 2026 08:00 UTC: Reminder: IRO \xe2\x86\x92 "
	                       "jo.iro@council.example, not sent yet");
	free(s);
	e.status = "failed";
	e.copied = true;
	s = digest_event(&e);
	assert_string_equal(s, "22 Oct 2026 08:00 UTC: Reminder: IRO \xe2\x86\x92 "
	                       "jo.iro@council.example (told late), could not be delivered");
	free(s);
	delivery_free(d);
}

/* The digest's text: every item with its reference, label, status, link, note and history. */
static void
test_text_digest(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	const char *titles[] = {"Escalated to you (1)\n--------------------",
	                        "Overdue (1)\n-----------",
	                        "Coming due (1)\n--------------",
	                        "Escalated past you (1)",
	                        "Done since your last message (1)",
	                        "About the service (1)",
	                        "\n-- \n"};
	char *t, *note, *prev;

	json_decref(d->items[1]->fields);
	d->items[1]->fields = json_pack("{s:s, s:i}", "team", "North", "review_number", 2);
	t = digest_text(d);
	assert_true(valid_utf8(t));
	assert_prefix(t, "4 cases need you today: 1 escalated to you, ");
	prev = t;
	for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
		char *at = strstr(t, titles[i]);

		if (at == NULL || at < prev)
			fail_msg("\"%s\" missing or out of order in:\n%s", titles[i], t);
		prev = at;
	}
	for (size_t i = 0; i < 5; i++) {
		char *ref = xasprintf("* C%04zu: First Child in Care review\n", 1000 + i);
		char *url = case_url(i), *link = xasprintf("Open the case: %s\n", url);

		assert_contains(t, ref);
		assert_contains(t, link);
		free(ref);
		free(url);
		free(link);
	}
	assert_contains(t, "  12 working days overdue\n  Due: Thu 29 Oct 2026\n"
	                   "  Stage: Escalated: service manager\n"
	                   "  Expected: Hold the review now and record why it was late.\n");
	assert_contains(t, "  Due in 3 working days\n");
	assert_contains(t, "  Stage: Reminder: IRO\n");
	assert_contains(t, "  team: North\n  review_number: 2\n");
	note = digest_copied_note(d->items[3]);
	assert_contains(t, note);
	free(note);
	assert_contains(t, "  Done Fri 20 Nov 2026, 15 working days late\n"
	                   "  Due: Thu 29 Oct 2026\n  Last stage: Overdue: team manager\n");
	assert_contains(t, "  History:\n  - 22 Oct 2026 08:00 UTC: Reminder: IRO \xe2\x86\x92 "
	                   "jo.iro@council.example, sent\n");
	assert_contains(t, "tm.north@council.example, could not be delivered\n");
	assert_contains(t, "tm.north@council.example (told late), sent\n");
	assert_contains(t, "* An alert nobody could be sent (C1005)\n");
	assert_contains(t, "name you (iro_team)");
	assert_contains(t, "by its reference only");
	assert_null(strstr(t, "part "));
	assert_null(strstr(t, "T08:00")); /* no ISO timestamps for people */
	assert_null(strstr(t, "2026-10"));
	free(t);

	d->part = 2;
	d->parts = 3;
	t = digest_text(d);
	assert_contains(t, "This is part 2 of 3;");
	free(t);
	delivery_free(d);
}

/* A single alert's text: the rule's own body first, then the link, the note and the history. */
static void
test_text_single(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 4, 0);
	struct delivery *a = d->items[3];
	char *t;

	set(&a->body, "Case C1003: the review was due on 2026-10-29.\nCall the IRO service.\n");
	t = digest_text(a);
	assert_prefix(t, "Case C1003: the review was due on 2026-10-29.\nCall the IRO service.\n\n"
	                 "Open the case: https://cms.council.example/case/C1003\nTold late: "
	                 "This case reached");
	assert_contains(t, "\nHistory:\n- 22 Oct 2026 08:00 UTC: Reminder: IRO");
	free(t);

	/* Without a body of its own: the item's layout. */
	set(&a->body, NULL);
	t = digest_text(a);
	assert_prefix(t, "* C1003: First Child in Care review\n  12 working days overdue\n");
	free(t);
	delivery_free(d);
}

/* The HTML is one complete document a parser accepts, linking only to the cases. */
static void
test_html_document(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 12, 0);
	char out[65536], *h;
	size_t links = 0;

	d->part = 1;
	d->parts = 2;
	h = digest_html(d);
	assert_true(valid_utf8(h));
	assert_prefix(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
	assert_contains(h, "<title>escalator: 2 escalated to you, 2 overdue, 2 coming due, 2 "
	                   "escalated past you, 2 done, 2 service notices (part 1 of 2)</title>");
	assert_contains(h, "<h1 ");
	assert_contains(h, ">Escalated to you (2)</h2>");
	assert_contains(h, ">About the service (2)</h2>");
	assert_contains(h, "This is part 1 of 2;");
	assert_contains(h, "Told late.");
	assert_contains(h, "Done Fri 20 Nov 2026, 15 working days late");
	assert_contains(h, "Due in 3 working days");
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<img"));
	assert_null(strstr(h, "<style"));
	assert_null(strstr(h, "<link"));
	assert_null(strstr(h, "src="));
	assert_null(strstr(h, "url("));
	/* Every http(s) URL is a case link, written as href="..." with the reference as its text.
	 */
	for (const char *p = h; (p = strstr(p, "http")) != NULL; p += 4) {
		size_t i = (size_t)-1;

		if (strncmp(p, "https://", 8) != 0 && strncmp(p, "http://", 7) != 0)
			continue;
		assert_true(p - h > 6 && strncmp(p - 6, "href=\"", 6) == 0);
		for (size_t k = 0; k < d->nitems; k++)
			if (d->items[k]->case_url != NULL &&
			    strncmp(p, d->items[k]->case_url, strlen(d->items[k]->case_url)) == 0 &&
			    p[strlen(d->items[k]->case_url)] == '"')
				i = k;
		assert_true(i != (size_t)-1);
		links++;
	}
	assert_int_equal(links, 10); /* 12 items, 2 notices without a case_url */
	assert_contains(
	    h, "/case/C1000\" style=\"color:#1d70b8;text-decoration:underline;\">C1000</a>");
	if (html_check(h, d, out, sizeof out) != 0)
		fail_msg("mail_check html: %s", out);
	assert_contains(out, "\"problems\": []");
	free(h);

	/* The check can fail: a link that is not a case's. */
	h = digest_html(d);
	set(&d->items[0]->case_url, "https://elsewhere.example/x");
	assert_int_equal(html_check(h, d, out, sizeof out), 1);
	assert_contains(out, "not one of the case URLs");
	free(h);
	delivery_free(d);
}

/* A single alert's HTML: the same layout for its one item, a complete document. */
static void
test_html_single(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 4, 0);
	struct delivery *a = d->items[3];
	char out[65536], *h;

	h = digest_html(a);
	assert_prefix(h, "<!DOCTYPE html>\n");
	assert_contains(h, "<title>Escalated: head of service: First Child in Care review for "
	                   "C1003</title>");
	assert_contains(h, ">C1003</a>: First Child in Care review</h1>");
	assert_contains(h, "12 working days overdue");
	assert_contains(h, "Told late.");
	assert_contains(h, "names you at its stage \xe2\x80\x9c"
	                   "Escalated: head of service\xe2\x80\x9d");
	assert_null(strstr(h, "<h2"));
	if (html_check(h, a, out, sizeof out) != 0)
		fail_msg("mail_check html: %s", out);
	free(h);
	delivery_free(d);
}

/* Hostile values are escaped in text and attributes; bad URLs are not links. */
static void
test_html_escaping(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	char out[65536], *h, *t;

	set(&d->items[0]->case_ref, "<b>\"x\"&'");
	set(&d->items[0]->case_url, "https://cms.council.example/case?id=1&x=2");
	set(&d->items[1]->title, "<script>alert(1)</script>");
	set(&d->items[1]->case_url, "javascript:alert(1)");
	set(&d->items[2]->case_url, "https://cms.example/\"><img src=x>");
	set(&d->items[2]->label, "Reminder \xff\xfe<i>");
	set(&d->items[3]->history[0].recipient, "\"><a href=\"https://evil.example\">x</a>");
	set(&d->items[5]->body, "Line one <b>\nLine two & more");
	h = digest_html(d);
	assert_true(valid_utf8(h));
	assert_contains(h, "<a href=\"https://cms.council.example/case?id=1&amp;x=2\" "
	                   "style=\"color:#1d70b8;text-decoration:underline;\">"
	                   "&lt;b&gt;&quot;x&quot;&amp;&#39;</a>");
	assert_contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_contains(h, "Reminder \xef\xbf\xbd\xef\xbf\xbd&lt;i&gt;");
	assert_contains(h, "&quot;&gt;&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;");
	assert_contains(h, "Line one &lt;b&gt;<br>Line two &amp; more");
	assert_null(strstr(h, "<b>"));
	assert_null(strstr(h, "<i>"));
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<img"));
	assert_null(strstr(h, "javascript:"));
	assert_null(strstr(h, "href=\"https://cms.example"));
	assert_null(strstr(h, "href=\"https://evil"));
	/* A URL in a value is text, and the checker says so: only the case link may be a URL. */
	assert_int_equal(html_check(h, d, out, sizeof out), 1);
	assert_contains(out, "URL in the text");
	assert_null(strstr(out, "left open"));
	assert_null(strstr(out, "not one of the case URLs"));
	free(h);

	/* The plain text shows the values as they are (cleaned), and no bad link. */
	t = digest_text(d);
	assert_contains(t, "* <b>\"x\"&': First Child in Care review\n");
	assert_contains(t, "Open the case: https://cms.council.example/case?id=1&x=2\n");
	assert_null(strstr(t, "javascript:"));
	assert_null(strstr(t, "Open the case: https://cms.example/"));
	free(t);
	delivery_free(d);
}

/* 2,000-byte values are cut to DIGEST_VALUE_MAX bytes ending in "…", in HTML and text. */
static void
test_cut(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 2000);
	char *h = digest_html(d), *t = digest_text(d), *want, out[65536];

	/* The case reference: 297 bytes and "…"; byte 298 of the value never appears. */
	want = xasprintf("%.297s" ELLIPSIS "</a>", d->items[0]->case_ref);
	assert_contains(h, want);
	free(want);
	want = xasprintf("%.298s", d->items[0]->case_ref);
	assert_null(strstr(h, want));
	assert_null(strstr(t, want));
	free(want);
	want = xasprintf("* %.297s" ELLIPSIS ": %.297s" ELLIPSIS "\n", d->items[0]->case_ref,
	                 d->items[0]->title);
	assert_contains(t, want);
	free(want);
	/* No line of the text is longer than its label and one value (or one event). */
	for (const char *p = t; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		assert_true(n < 2 * DIGEST_VALUE_MAX + 80);
		p += n + (p[n] == '\n');
	}
	assert_true(strlen(h) < 64 * 1024);
	assert_true(strlen(t) < 32 * 1024);
	if (html_check(h, d, out, sizeof out) != 0)
		fail_msg("mail_check html: %s", out);
	free(h);
	free(t);
	delivery_free(d);
}

/* A part at the email limit with hostile values stays under the budget, saying what it left out. */
static void
test_budget(void **state)
{
	size_t n = (size_t)notifier_digest_limit(CHANNEL_EMAIL);
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, n, 2000);
	char quotes[2001], *h, *t;

	memset(quotes, '"', 2000);
	quotes[2000] = '\0';
	for (size_t i = 0; i < d->nitems; i++) {
		struct delivery *it = d->items[i];

		set(&it->case_ref, quotes);
		set(&it->label, quotes);
		set(&it->status, quotes);
		json_decref(it->fields);
		it->fields = json_object();
		for (int k = 0; k < 12; k++) {
			char key[32];

			snprintf(key, sizeof key, "field%02d", k);
			json_object_set_new(it->fields, key, json_string(quotes));
		}
		it->history = xreallocarray(it->history, 20, sizeof *it->history);
		for (size_t k = it->nhistory; k < 20; k++) {
			it->history[k].stage = xstrdup(quotes);
			it->history[k].when = xstrdup("2026-10-30T08:00:02Z");
			it->history[k].recipient = xstrdup(quotes);
			it->history[k].status = xstrdup("sent");
			it->history[k].copied = false;
		}
		it->nhistory = 20;
		/* Twelve answers of 2,000-byte names, reasons and notes: cut to ten of 300. */
		if (!it->notice && !it->closed) {
			fixture_answers(it, FIXTURE_LINK);
			it->responses = xreallocarray(it->responses, 12, sizeof *it->responses);
			for (size_t k = 0; k < 12; k++) {
				struct delivery_response *r = &it->responses[k];

				if (k >= 3)
					memset(r, 0, sizeof *r);
				set(&r->who, quotes);
				set(&r->stage, quotes);
				set(&r->kind, "disagree");
				set(&r->reason, quotes);
				set(&r->note, quotes);
				set(&r->answered_at, "2026-12-03T10:15:00Z");
			}
			it->nresponses = 12;
		}
	}
	h = digest_html(d);
	t = digest_text(d);
	assert_true(strlen(h) < DIGEST_HTML_BUDGET + 256 * 1024);
	assert_true(strlen(t) < DIGEST_TEXT_BUDGET + 128 * 1024);
	assert_contains(h, "more not shown here (this message reached its size limit)");
	assert_contains(t, "more not shown here (this message reached its size limit)");
	assert_contains(h, "2 more details not shown");
	assert_contains(t, "(8 earlier not shown)");
	assert_contains(t, "  - (1 earlier not shown)\n"); /* 12 answers, one amended */
	assert_contains(h, "<li>1 earlier not shown</li>");
	assert_memory_equal(h + strlen(h) - 8, "</html>\n", 8);
	assert_contains(t, "\n-- \nYou get this message");
	free(h);
	free(t);
	delivery_free(d);
}

/* Give every alert item of d (not a notice or a closed clock) its link and fixture_answers. */
static void
answer_items(struct delivery *d)
{
	for (size_t i = 0; i < d->nitems; i++) {
		char *link = xasprintf("%s%zu", FIXTURE_LINK, i);

		if (!d->items[i]->notice && !d->items[i]->closed)
			fixture_answers(d->items[i], link);
		free(link);
	}
}

/* The full words of fixture_answers' two shown answers, as email shows them. */
#define FULL_AGREED                                                                                \
	"Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): action agreed for Mon 14 Dec "  \
	"2026. Note: Review booked with the IRO"
#define FULL_DISAGREE                                                                              \
	"sm.north@council.example answered on 4 Dec 2026 (Escalated: service manager): disagrees " \
	"\xe2\x80\x94 " FIXTURE_REASON ". Note: " FIXTURE_NOTE

/*
 * One answer in words: who, when (the local date), which stage, what; the
 * reason and the note only in full; cut, cleaned; the latest ten shown, amended
 * ones never.
 */
static void
test_answer_words(void **state)
{
	struct delivery_response r = {
	    "Jo Bloggs", "Overdue: team manager", "acknowledged", NULL, NULL,
	    NULL,        "2026-12-03T10:15:00Z",  false};
	struct delivery *d = xcalloc(1, sizeof *d);
	const struct delivery_response *shown[DIGEST_ANSWERS_MAX];
	char *s, big[2001];
	size_t earlier;

	s = digest_answer(&r, DIGEST_ANSWER_FULL);
	assert_string_equal(s, "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): "
	                       "acknowledged");
	free(s);
	r.kind = "agreed";
	r.agreed_on = "2026-12-14";
	r.note = "  Booked\r\nwith the IRO.  ";
	s = digest_answer(&r, DIGEST_ANSWER_FULL);
	assert_string_equal(s, "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): action "
	                       "agreed for Mon 14 Dec 2026. Note: Booked with the IRO.");
	free(s);
	s = digest_answer(&r, DIGEST_ANSWER_SHORT);
	assert_string_equal(s, "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): action "
	                       "agreed for Mon 14 Dec 2026");
	free(s);
	r.kind = "disagree";
	r.agreed_on = NULL;
	r.reason = "Held on 2 Dec.";
	s = digest_answer(&r, DIGEST_ANSWER_FULL);
	assert_string_equal(s,
	                    "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): disagrees "
	                    "\xe2\x80\x94 Held on 2 Dec. Note: Booked with the IRO.");
	free(s);
	s = digest_answer(&r, DIGEST_ANSWER_SHORT);
	assert_string_equal(s, "Jo Bloggs answered on 3 Dec 2026 (Overdue: team manager): "
	                       "disagrees");
	free(s);
	/* A long note and reason are cut to DIGEST_NOTE_MAX; no name, no stage, a new kind. */
	memset(big, 'x', 2000);
	big[2000] = '\0';
	r.reason = big;
	r.note = big;
	s = digest_answer(&r, DIGEST_ANSWER_FULL);
	assert_non_null(strstr(s, "\xe2\x80\x94 xxx"));
	assert_int_equal(strlen(s), strlen("Jo Bloggs answered on 3 Dec 2026 (Overdue: team "
	                                   "manager): disagrees \xe2\x80\x94 . Note: ") +
	                                2 * DIGEST_NOTE_MAX);
	free(s);
	r.who = NULL;
	r.stage = "";
	r.kind = "escalated\n<b>";
	r.note = NULL;
	s = digest_answer(&r, DIGEST_ANSWER_FULL);
	assert_string_equal(s, "Someone answered on 3 Dec 2026: escalated <b>");
	free(s);

	/* The local date: 23:30 UTC on a summer evening is the next day in London. */
	setenv("TZ", "Europe/London", 1);
	tzset();
	s = digest_day("2026-07-01T23:30:00Z");
	assert_string_equal(s, "2 Jul 2026");
	free(s);
	s = digest_day("2026-12-01T23:30:00Z");
	assert_string_equal(s, "1 Dec 2026");
	free(s);
	unsetenv("TZ");
	tzset();
	s = digest_day("not a time\r\n");
	assert_string_equal(s, "not a time");
	free(s);

	/* Amended answers are left out; of the rest, the latest ten, the others counted. */
	d->responses = xcalloc(14, sizeof *d->responses);
	d->nresponses = 14;
	for (size_t i = 0; i < 14; i++) {
		d->responses[i].who = xasprintf("who%zu", i);
		d->responses[i].kind = xstrdup("acknowledged");
		d->responses[i].amended = i == 0 || i == 13;
	}
	assert_int_equal(digest_answers_shown(d), DIGEST_ANSWERS_MAX);
	assert_int_equal(digest_answers_list(d, shown, &earlier), DIGEST_ANSWERS_MAX);
	assert_int_equal(earlier, 2);
	assert_string_equal(shown[0]->who, "who3");
	assert_string_equal(shown[9]->who, "who12");
	delivery_free(d);
}

/*
 * Email text: under each alert "Answer this alert: <link>" and "Answers so
 * far:" with the reason and the note, never the amended answer; a single
 * alert's own body first, as it is.
 */
static void
test_text_answers(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	struct delivery *a;
	size_t nhistory;
	char *t;

	answer_items(d);
	t = digest_text(d);
	assert_contains(t, "  Open the case: https://cms.council.example/case/C1000\n"
	                   "  Answer this alert: " FIXTURE_LINK "0\n"
	                   "  Answers so far:\n  - " FULL_AGREED "\n  - " FULL_DISAGREE "\n"
	                   "  History:\n");
	assert_contains(t, "  Answer this alert: " FIXTURE_LINK "3\n  Told late: ");
	assert_null(strstr(t, FIXTURE_AMENDED_NOTE));
	assert_null(strstr(t, "acknowledged"));
	assert_null(strstr(t, FIXTURE_LINK "4")); /* closed */
	assert_null(strstr(t, FIXTURE_LINK "5")); /* a notice */
	free(t);

	/* A single alert: the rule's body as it is, then the link and the answers. */
	a = d->items[1];
	set(&a->body, "Case C1001: the review was due on 2026-10-29.\n");
	t = digest_text(a);
	assert_prefix(t, "Case C1001: the review was due on 2026-10-29.\n\n"
	                 "Open the case: https://cms.council.example/case/C1001\n"
	                 "Answer this alert: " FIXTURE_LINK "1\n"
	                 "Answers so far:\n- " FULL_AGREED "\n- " FULL_DISAGREE "\nHistory:\n");
	free(t);

	/* No listener: nothing about answering, but the answers recorded still show. */
	set(&a->response_link, NULL);
	set(&a->case_url, NULL);
	nhistory = a->nhistory;
	a->nhistory = 0;
	t = digest_text(a);
	assert_string_equal(t, "Case C1001: the review was due on 2026-10-29.\n\n"
	                       "Answers so far:\n- " FULL_AGREED "\n- " FULL_DISAGREE "\n");
	free(t);
	fixture_answers_clear(a);
	t = digest_text(a);
	assert_string_equal(t, "Case C1001: the review was due on 2026-10-29.\n");
	free(t);
	a->nhistory = nhistory; /* freed with the rest */
	delivery_free(d);
}

/*
 * Email HTML: an "Answer this alert" link per alert whose href is its link,
 * the answers so far escaped; the document passes the mail check with the
 * answer links allowed and fails it without.
 */
static void
test_html_answers(void **state)
{
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	char out[65536], *h, *want;
	size_t links = 0;

	answer_items(d);
	set(&d->items[0]->responses[2].who, "<script>x</script>");
	set(&d->items[0]->responses[2].reason, "\"><a href=\"https://evil.example\">x</a>");
	set(&d->items[0]->responses[2].note, "a & b <i>");
	h = digest_html(d);
	for (size_t i = 0; i < 4; i++) {
		want =
		    xasprintf("<a href=\"%s%zu\" style=\"display:inline-block;", FIXTURE_LINK, i);
		links += strstr(h, want) != NULL;
		free(want);
	}
	assert_int_equal(links, 4);
	assert_contains(h, "text-decoration:underline;\">Answer this alert</a></p>");
	assert_null(strstr(h, "outline"));
	assert_contains(h, ">Answers so far</p>");
	assert_contains(h, "<li style=\"margin:0 0 2px;\">" FULL_AGREED "</li>");
	assert_contains(h, "&lt;script&gt;x&lt;/script&gt; answered on 4 Dec 2026 (Escalated: "
	                   "service manager): disagrees \xe2\x80\x94 &quot;&gt;&lt;a "
	                   "href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;. Note: a &amp; b "
	                   "&lt;i&gt;</li>");
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<i>"));
	assert_null(strstr(h, FIXTURE_AMENDED_NOTE));
	/* The hostile reason's URL is text, which the check reports; without it the rest pass. */
	assert_int_equal(html_check(h, d, out, sizeof out), 1);
	assert_contains(out, "URL in the text");
	assert_null(strstr(out, "not one of the case URLs"));
	free(h);
	set(&d->items[0]->responses[2].reason, "not due");
	h = digest_html(d);
	if (html_check(h, d, out, sizeof out) != 0)
		fail_msg("mail_check html: %s", out);
	/* The check can fail: an answer link it was not told about. */
	set(&d->items[1]->response_link, NULL);
	assert_int_equal(html_check(h, d, out, sizeof out), 1);
	assert_contains(out, "not one of the case URLs");
	free(h);

	/* A single alert: the same link under its facts. */
	h = digest_html(d->items[3]);
	assert_contains(h, "<a href=\"" FIXTURE_LINK "3\"");
	assert_contains(h, ">Answer this alert</a>");
	if (html_check(h, d->items[3], out, sizeof out) != 0)
		fail_msg("mail_check html: %s", out);
	free(h);
	/* A link that is not an http(s) URL is no link. */
	set(&d->items[3]->response_link, "javascript:alert(1)");
	h = digest_html(d->items[3]);
	assert_null(strstr(h, "Answer this alert"));
	assert_null(strstr(h, "javascript"));
	free(h);
	delivery_free(d);
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),        cmocka_unit_test(test_subject),
	    cmocka_unit_test(test_dates),        cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_case_url),     cmocka_unit_test(test_headline),
	    cmocka_unit_test(test_sentences),    cmocka_unit_test(test_text_digest),
	    cmocka_unit_test(test_text_single),  cmocka_unit_test(test_html_document),
	    cmocka_unit_test(test_html_single),  cmocka_unit_test(test_html_escaping),
	    cmocka_unit_test(test_cut),          cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_answer_words), cmocka_unit_test(test_text_answers),
	    cmocka_unit_test(test_html_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
