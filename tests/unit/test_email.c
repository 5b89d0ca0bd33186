/*
 * test_email.c - unit tests for notifiers/email.c and email_mime.c: headers,
 * sanitising, options, classification, and messages sent to a real SMTP
 * server on 127.0.0.1 read back as a mail client reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "curlrec.h"
#include "digest.h"
#include "email.h"
#include "email_impl.h"
#include "notifier_fixture.h"
#include "transport.h"
#include "xalloc.h"

#ifndef ESCALATOR_SOURCE_DIR
#define ESCALATOR_SOURCE_DIR "."
#endif

/* A delivery with ordinary values. */
static struct delivery
sample_delivery(void)
{
	struct delivery d = {
	    .id = 7,
	    .uid = "d7-3f2a",
	    .kind = CHANNEL_EMAIL,
	    .recipient = "tm.north@council.example",
	    .rule = "cic-first-review",
	    .title = "First Child in Care review",
	    .case_ref = "C1042",
	    .stage = "overdue",
	    .start = "2026-10-01",
	    .due = "2026-10-29",
	    .fires = "2026-10-30T08:00:00",
	    .days_late = 1,
	    .subject = "Overdue: First Child in Care review for C1042",
	    .body = "Case C1042: the first review was due on 2026-10-29.\n",
	};
	return d;
}

/* A plain smtp configuration. */
static struct smtp_settings
sample_smtp(void)
{
	struct smtp_settings s = {
	    .url = "smtp://mail.council.example:587",
	    .from = "alerts@council.example",
	    .from_name = "escalator",
	    .starttls = STARTTLS_REQUIRED,
	};
	return s;
}

/* The header entry of list starting with "name:", or NULL. */
static const char *
find_header(const struct curl_slist *list, const char *name)
{
	size_t n = strlen(name);

	for (; list != NULL; list = list->next)
		if (strncmp(list->data, name, n) == 0 && list->data[n] == ':')
			return list->data;
	return NULL;
}

/* Decode the base64 text of one encoded-word into out; returns the bytes written. */
static size_t
decode_b64(const char *b64, size_t len, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	size_t pad = 0;

	assert_true(n >= 0);
	if (len >= 1 && b64[len - 1] == '=')
		pad++;
	if (len >= 2 && b64[len - 2] == '=')
		pad++;
	return (size_t)n - pad;
}

/*
 * Decode an unstructured header as a mail reader would: unfold, and join
 * adjacent =?UTF-8?B?...?= words. Returns the allocated value.
 */
static char *
decode_header(const char *h)
{
	const char *p = strchr(h, ':');
	unsigned char *out = xmalloc(strlen(h) + 1);
	size_t o = 0;

	assert_non_null(p);
	p++;
	if (strstr(p, "=?") == NULL) {
		/* Plain text after "Name: ". */
		assert_int_equal(*p, ' ');
		free(out);
		return xstrdup(p + 1);
	}
	while (*p != '\0') {
		const char *start, *end;

		while (*p == ' ' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		start = p + 10;
		end = strstr(start, "?=");
		assert_non_null(end);
		o += decode_b64(start, (size_t)(end - start), out + o);
		p = end + 2;
	}
	out[o] = '\0';
	return (char *)out;
}

/* Assert every line of a folded header is at most 78 characters and continuations start with a
 * space. */
static void
assert_folded(const char *h)
{
	const char *line = h;
	int first = 1;

	for (;;) {
		const char *crlf = strstr(line, "\r\n");
		size_t len = crlf ? (size_t)(crlf - line) : strlen(line);

		assert_true(len <= EMAIL_LINE_MAX);
		assert_null(memchr(line, '\r', len));
		assert_null(memchr(line, '\n', len));
		if (!first)
			assert_true(line[0] == ' ' || line[0] == '\t');
		first = 0;
		if (crlf == NULL)
			break;
		line = crlf + 2;
	}
}

/* No header line built from hostile values starts a new header. */
static void
test_headers_no_injection(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l, *it;
	size_t n = 0;

	d.case_ref = "C1\r\nBcc: evil@x";
	d.rule = "rule\nBcc: evil@x";
	d.stage = "stage\r\n\r\nbody text";
	d.subject = "Hello\r\nBcc: evil@x";
	d.uid = "u1\r\nBcc: evil@x";
	d.recipient = "tm@council.example\r\nBcc: evil@x";
	smtp.from_name = "Alerts\r\nBcc: evil@x";
	l = email_build_headers(&smtp, &d, 0);
	for (it = l; it != NULL; it = it->next, n++) {
		assert_folded(it->data);
		assert_true(strncmp(it->data, "Bcc", 3) != 0);
		/* Every CR is part of a CRLF followed by folding white space. */
		for (const char *p = it->data; (p = strchr(p, '\r')) != NULL; p++)
			assert_true(p[1] == '\n' && p[2] == ' ');
	}
	assert_int_equal(n, 12);
	assert_string_equal(find_header(l, "X-Escalator-Case"), "X-Escalator-Case: C1 Bcc: evil@x");
	assert_string_equal(find_header(l, "X-Escalator-Rule"),
	                    "X-Escalator-Rule: rule Bcc: evil@x");
	assert_string_equal(find_header(l, "X-Escalator-Stage"),
	                    "X-Escalator-Stage: stage body text");
	assert_string_equal(find_header(l, "X-Escalator-Delivery"),
	                    "X-Escalator-Delivery: u1 Bcc: evil@x");
	assert_string_equal(find_header(l, "Subject"), "Subject: Hello Bcc: evil@x");
	assert_string_equal(find_header(l, "From"),
	                    "From: \"Alerts Bcc: evil@x\" <alerts@council.example>");
	curl_slist_free_all(l);
}

/* Other control characters (tab, ESC, DEL, C1) are replaced too. */
static void
test_headers_other_controls(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;
	char *v;

	d.case_ref = "C\t1\x1b[31m\x7f";
	d.subject = "A\xc2\x85"
	            "B\x01"
	            "C";
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "X-Escalator-Case"), "X-Escalator-Case: C 1 [31m");
	v = decode_header(find_header(l, "Subject"));
	assert_string_equal(v, "A B C");
	free(v);
	curl_slist_free_all(l);
}

/* Non-ASCII in X-Escalator-Case becomes '?', one per character. */
static void
test_case_non_ascii(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;

	d.case_ref = "\xc3\x87"
	             "42-\xe2\x82\xac-\xff";
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "X-Escalator-Case"), "X-Escalator-Case: ?42-?-?");
	curl_slist_free_all(l);
}

/* Every header an alert needs is there, with the expected fixed values. */
static void
test_headers_complete(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;

	setenv("TZ", "UTC", 1);
	tzset();
	l = email_build_headers(&smtp, &d, 1793347200); /* 2026-10-30 08:00:00 UTC */
	assert_string_equal(find_header(l, "From"), "From: \"escalator\" <alerts@council.example>");
	assert_string_equal(find_header(l, "To"), "To: tm.north@council.example");
	assert_string_equal(find_header(l, "Subject"),
	                    "Subject: Overdue: First Child in Care review for C1042");
	assert_string_equal(find_header(l, "Date"), "Date: Fri, 30 Oct 2026 08:00:00 +0000");
	assert_string_equal(find_header(l, "Message-ID"), "Message-ID: <d7-3f2a@council.example>");
	assert_string_equal(find_header(l, "Auto-Submitted"), "Auto-Submitted: auto-generated");
	assert_string_equal(find_header(l, "X-Escalator-Rule"),
	                    "X-Escalator-Rule: cic-first-review");
	assert_string_equal(find_header(l, "X-Escalator-Case"), "X-Escalator-Case: C1042");
	assert_string_equal(find_header(l, "X-Escalator-Stage"), "X-Escalator-Stage: overdue");
	assert_string_equal(find_header(l, "X-Escalator-Delivery"),
	                    "X-Escalator-Delivery: d7-3f2a");
	assert_string_equal(find_header(l, "MIME-Version"), "MIME-Version: 1.0");
	/* curl's MIME layer adds the boundary to this one and writes the parts' own. */
	assert_string_equal(find_header(l, "Content-Type"), "Content-Type: multipart/alternative");
	assert_null(find_header(l, "Bcc"));
	assert_null(find_header(l, "Reply-To"));
	assert_null(find_header(l, "X-Escalator-Digest"));
	curl_slist_free_all(l);
}

/* Without a subject the title is used; NULL values give no X- header. */
static void
test_headers_missing_values(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;

	d.subject = NULL;
	d.stage = NULL;
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "Subject"), "Subject: First Child in Care review");
	assert_null(find_header(l, "X-Escalator-Stage"));
	curl_slist_free_all(l);
}

/* A short ASCII value is used as is. */
static void
test_header_plain(void **state)
{
	char *h = email_header("Subject", "Review overdue");

	assert_string_equal(h, "Subject: Review overdue");
	free(h);
}

/* A long non-ASCII subject is split into encoded-words on lines of at most 78 characters. */
static void
test_header_encoded_folded(void **state)
{
	const char *subject = "R\xc3\xa9vision en retard \xe2\x80\x94 premi\xc3\xa8re revue pour "
	                      "l'enfant C1042 \xe2\x80\x94 \xc3\xa9tape 2 \xe2\x80\x94 "
	                      "\xe5\xae\xa1\xe6\xa0\xb8\xe9\x80\xbe\xe6\x9c\x9f \xf0\x9f\x93\x85";
	char *clean = transport_clean_text(subject, EMAIL_HEADER_MAX, 0);
	char *h, *back;

	assert_string_equal(clean, subject);
	h = email_header("Subject", clean);
	assert_non_null(strstr(h, "\r\n "));
	assert_memory_equal(h, "Subject: =?UTF-8?B?", 19);
	assert_folded(h);
	back = decode_header(h);
	assert_string_equal(back, subject);
	/* Each word decodes to whole characters: no word starts with a continuation byte. */
	for (const char *p = h; (p = strstr(p, "=?UTF-8?B?")) != NULL; p += 10) {
		unsigned char raw[64];
		const char *end = strstr(p + 10, "?=");
		size_t n = decode_b64(p + 10, (size_t)(end - p - 10), raw);

		assert_true(n > 0);
		assert_true((raw[0] & 0xc0) != 0x80);
	}
	free(back);
	free(h);
	free(clean);
}

/* A long ASCII subject is folded too (as encoded-words), and decodes back. */
static void
test_header_long_ascii(void **state)
{
	char subject[151], *h, *back;

	for (size_t i = 0; i < 150; i++)
		subject[i] = (char)('a' + i % 26);
	subject[150] = '\0';
	h = email_header("Subject", subject);
	assert_folded(h);
	back = decode_header(h);
	assert_string_equal(back, subject);
	free(back);
	free(h);
}

/* Text that looks like an encoded-word is itself encoded, so readers show it literally. */
static void
test_header_lookalike(void **state)
{
	const char *subject = "=?UTF-8?B?QmNjOiBldmls?=";
	char *h = email_header("Subject", subject), *back;

	assert_string_not_equal(h, "Subject: =?UTF-8?B?QmNjOiBldmls?=");
	back = decode_header(h);
	assert_string_equal(back, subject);
	free(back);
	free(h);
}

/* Values are capped at 200 bytes on a character boundary; invalid UTF-8 is replaced. */
static void
test_header_cap_and_invalid(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	char long_subject[601], *back;
	struct curl_slist *l;

	for (size_t i = 0; i < 600; i += 3)
		memcpy(long_subject + i, "\xe2\x82\xac", 3); /* U+20AC */
	long_subject[600] = '\0';
	d.subject = long_subject;
	l = email_build_headers(&smtp, &d, 0);
	assert_folded(find_header(l, "Subject"));
	back = decode_header(find_header(l, "Subject"));
	assert_int_equal(strlen(back), 198);
	assert_memory_equal(back, long_subject, 198);
	free(back);
	curl_slist_free_all(l);

	d.subject = "\xff\xfe"
	            "abc";
	l = email_build_headers(&smtp, &d, 0);
	back = decode_header(find_header(l, "Subject"));
	assert_string_equal(back, "\xef\xbf\xbd\xef\xbf\xbd"
	                          "abc");
	free(back);
	curl_slist_free_all(l);
}

/* The From display name is quoted, escaped, or encoded. */
static void
test_from_header(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;
	const char *h;

	smtp.from_name = "IRO \"alerts\" \\ team";
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "From"),
	                    "From: \"IRO \\\"alerts\\\" \\\\ team\" <alerts@council.example>");
	curl_slist_free_all(l);

	smtp.from_name = "\xc3\x89quipe IRO";
	l = email_build_headers(&smtp, &d, 0);
	h = find_header(l, "From");
	assert_string_equal(h, "From: =?UTF-8?B?w4lxdWlwZSBJUk8=?= <alerts@council.example>");
	assert_folded(h);
	curl_slist_free_all(l);
}

/* Message-ID: the uid (%-encoded where needed) at the From address's domain. */
static void
test_message_id(void **state)
{
	char *id;

	id = email_message_id("d7-3f2a", "alerts@council.example");
	assert_string_equal(id, "<d7-3f2a@council.example>");
	free(id);
	id = email_message_id("a b<c>%.d", "alerts@mail.council.example");
	assert_string_equal(id, "<a%20b%3Cc%3E%25%2Ed@mail.council.example>");
	free(id);
	id = email_message_id("x", "alerts@[127.0.0.1]");
	assert_string_equal(id, "<x@escalator.invalid>");
	free(id);
	id = email_message_id("x", "no-at-sign");
	assert_string_equal(id, "<x@escalator.invalid>");
	free(id);
}

/* The Date header is RFC 5322, in local time with its offset, whatever the locale. */
static void
test_date(void **state)
{
	char *s;

	setenv("TZ", "UTC", 1);
	tzset();
	s = email_date(0);
	assert_string_equal(s, "Thu, 01 Jan 1970 00:00:00 +0000");
	free(s);
	setenv("TZ", "Europe/London", 1);
	tzset();
	s = email_date(1782892800); /* 2026-07-01 08:00:00 UTC */
	assert_string_equal(s, "Wed, 01 Jul 2026 09:00:00 +0100");
	free(s);
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	s = email_date(1767225600); /* 2026-01-01 00:00:00 UTC */
	assert_string_equal(s, "Wed, 31 Dec 2025 20:30:00 -0330");
	free(s);
	setenv("TZ", "UTC", 1);
	tzset();
}

/* The body gets CRLF line endings, a final CRLF, and valid UTF-8. */
static void
test_body(void **state)
{
	char *b;

	b = email_build_body("a\nb\r\nc\rd");
	assert_string_equal(b, "a\r\nb\r\nc\r\nd\r\n");
	free(b);
	b = email_build_body("x\xff\n");
	assert_string_equal(b, "x\xef\xbf\xbd\r\n");
	free(b);
	b = email_build_body(NULL);
	assert_string_equal(b, "\r\n");
	free(b);
}

/* Reply-To: the configured address, cleaned to one ASCII line; none when not configured. */
static void
test_headers_reply_to(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery d = sample_delivery();
	struct curl_slist *l;

	smtp.reply_to = "iro.service@council.example";
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "Reply-To"), "Reply-To: iro.service@council.example");
	/* Right after From, like a mail client writes it. */
	assert_ptr_equal(l->next->data, find_header(l, "Reply-To"));
	curl_slist_free_all(l);

	smtp.reply_to = "iro@council.example\r\nBcc: evil@x";
	l = email_build_headers(&smtp, &d, 0);
	assert_string_equal(find_header(l, "Reply-To"),
	                    "Reply-To: iro@council.example Bcc: evil@x");
	assert_null(find_header(l, "Bcc"));
	curl_slist_free_all(l);

	smtp.reply_to = "\r\n";
	l = email_build_headers(&smtp, &d, 0);
	assert_null(find_header(l, "Reply-To"));
	curl_slist_free_all(l);
}

/* A digest: its subject, X-Escalator-Digest with its number of items, no per-case headers. */
static void
test_headers_digest(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct delivery *d = fixture_digest(CHANNEL_EMAIL, 6, 0);
	struct curl_slist *l;
	char *subject = digest_subject(d), *h = xasprintf("Subject: %s", subject), *back;

	l = email_build_headers(&smtp, d, 0);
	assert_string_equal(find_header(l, "To"), "To: iro.manager@council.example");
	back = decode_header(find_header(l, "Subject"));
	assert_string_equal(back, subject);
	assert_folded(find_header(l, "Subject"));
	assert_string_equal(find_header(l, "X-Escalator-Digest"), "X-Escalator-Digest: 6");
	assert_string_equal(find_header(l, "X-Escalator-Delivery"),
	                    "X-Escalator-Delivery: esc-1a2b3c4d5e6f-7001");
	assert_string_equal(find_header(l, "Message-ID"),
	                    "Message-ID: <esc-1a2b3c4d5e6f-7001@council.example>");
	assert_string_equal(find_header(l, "Auto-Submitted"), "Auto-Submitted: auto-generated");
	assert_string_equal(find_header(l, "Content-Type"), "Content-Type: multipart/alternative");
	assert_null(find_header(l, "X-Escalator-Case"));
	assert_null(find_header(l, "X-Escalator-Rule"));
	assert_null(find_header(l, "X-Escalator-Stage"));
	curl_slist_free_all(l);

	/* In parts, the subject says which. */
	d->part = 2;
	d->parts = 3;
	l = email_build_headers(&smtp, d, 0);
	free(back);
	back = decode_header(find_header(l, "Subject"));
	assert_non_null(strstr(back, " (part 2 of 3)"));
	curl_slist_free_all(l);
	free(back);
	free(h);
	free(subject);
	delivery_free(d);
}

/* Number of lines in path, 0 if it does not exist. */
static size_t
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * Run "python3 -m harness.mail_check mail jsonl --link ..." on what the SMTP
 * sink recorded: one JSON summary per message, in the order received, as an
 * array. Fails the test if the checker finds a problem.
 */
static json_t *
mail_check(const char *jsonl, const char *const *links)
{
	const char *src = getenv("SRCDIR") != NULL && *getenv("SRCDIR") != '\0'
	                      ? getenv("SRCDIR")
	                      : ESCALATOR_SOURCE_DIR;
	char *cmd = xasprintf("cd '%s/tests' && /usr/bin/python3 -m harness.mail_check mail '%s'",
	                      src, jsonl);
	char *line = NULL;
	size_t cap = 0;
	json_t *all = json_array();
	FILE *p;
	int status;

	for (; *links != NULL; links++) {
		char *t = xasprintf("%s --link '%s'", cmd, *links);

		free(cmd);
		cmd = t;
	}
	p = popen(cmd, "r");
	assert_non_null(p);
	while (getline(&line, &cap, p) > 0) {
		json_t *j = fixture_parse_json(line);

		if (json_array_size(json_object_get(j, "problems")) > 0)
			fail_msg("mail_check: %s", line);
		json_array_append_new(all, j);
	}
	status = pclose(p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(line);
	free(cmd);
	return all;
}

/* The summary of the message with X-Escalator-Delivery uid. */
static json_t *
message_by_uid(json_t *all, const char *uid)
{
	size_t i;
	json_t *m;

	json_array_foreach(all, i, m)
	{
		const char *u = json_string_value(json_object_get(m, "x_delivery"));

		if (u != NULL && strcmp(u, uid) == 0)
			return m;
	}
	fail_msg("no message with X-Escalator-Delivery %s", uid);
	return NULL;
}

/* A string member of a JSON object ("" when it is missing or null). */
static const char *
member(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

/* What a transfer sent by test_send_to_sink reported. */
struct sent {
	struct email_state *st;
	struct delivery_result r;
	char *detail;
	int *left;
	struct event_base *base;
};

/* A transfer has finished: classify it; stop the loop after the last. */
static void
sent_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct sent *s = arg;

	s->detail = email_finish(t, s->st, rc, &s->r);
	if (--*s->left == 0)
		event_base_loopbreak(s->base);
}

/*
 * A digest and a single alert sent to a real SMTP server on 127.0.0.1 (set up
 * by email_setup, on a transport driven by the fixture's loop) and read back
 * with Python's email package: multipart/alternative with a plain and an HTML
 * body, Reply-To, the digest's subject and X-Escalator-Digest, and links only
 * to the cases.
 */
static void
test_send_to_sink(void **state)
{
	struct fixture *fx = *state;
	char *out = xasprintf("%s/smtp.jsonl", fx->dir), *cause = NULL, *subject;
	const char *args[] = {"-m", "harness.smtp_sink", "--port", "0", "--out", out, NULL};
	const char *links[16] = {NULL};
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .from_name = "escalator",
	                           .reply_to = "iro.service@council.example",
	                           .starttls = STARTTLS_OPPORTUNISTIC};
	struct notifier_settings ns = {.smtp = &sc, .connect_timeout = 20, .delivery_timeout = 20};
	struct delivery *dg = fixture_digest(CHANNEL_EMAIL, 6, 0);
	struct delivery a = fixture_delivery(CHANNEL_EMAIL);
	const struct delivery *ds[2] = {dg, &a};
	struct transport *tp = transport_new(fx->base);
	struct sent sent[2];
	struct server smtp = {0};
	json_t *all, *m, *l;
	const char *plain, *html;
	int left = 2;

	a.recipient = "tm.north@council.example";
	a.subject = "Overdue: team manager: First Child in Care review for C1042";
	a.body = "Case C1042: the first review was due on 2026-10-29.\nCall the IRO service.\n";
	a.label = "Overdue: team manager";
	a.urgency = DELIVERY_OVERDUE;
	a.case_url = "https://cms.council.example/case/C1042";
	a.history = dg->items[1]->history;
	a.nhistory = dg->items[1]->nhistory;
	/* Where each alert is answered: the digest's alert items, and the single alert. */
	for (size_t i = 0; i < 4; i++) {
		char *link = xasprintf("%s%zu", FIXTURE_LINK, i);

		fixture_answers(dg->items[i], link);
		free(link);
	}
	fixture_answers(&a, FIXTURE_LINK "S");
	for (size_t i = 0; i < 5; i++)
		links[i] = dg->items[i]->case_url;
	links[5] = a.case_url;
	for (size_t i = 0; i < 4; i++)
		links[6 + i] = dg->items[i]->response_link;
	links[10] = a.response_link;

	fixture_server_start(&smtp, args);
	sc.url = xasprintf("smtp://127.0.0.1:%d", smtp.port);
	for (int k = 0; k < 2; k++) {
		struct transfer *t = transfer_new();

		memset(&sent[k], 0, sizeof sent[k]);
		sent[k].left = &left;
		sent[k].base = fx->base;
		sent[k].st = email_setup(t, &ns, ds[k], time(NULL), &cause);
		if (sent[k].st == NULL)
			fail_msg("email_setup: %s", cause);
		transfer_set_done(t, sent_cb, &sent[k]);
		if (transport_start(tp, t, &cause) != 0)
			fail_msg("transport_start: %s", cause);
	}
	event_base_dispatch(fx->base);
	assert_int_equal(left, 0);
	for (int k = 0; k < 2; k++) {
		if (sent[k].r.status != DELIVERY_SENT)
			fail_msg("delivery %d: %s", k, sent[k].detail);
		free(sent[k].detail);
	}
	transport_free(tp);
	/* The sink writes after it answers. */
	for (int i = 0; i < 200 && count_lines(out) < 2; i++)
		usleep(25000);
	fixture_server_stop(&smtp);
	assert_int_equal(count_lines(out), 2);
	all = mail_check(out, links);

	m = message_by_uid(all, dg->uid);
	subject = digest_subject(dg);
	assert_string_equal(member(m, "subject"), subject);
	assert_string_equal(member(m, "content_type"), "multipart/alternative");
	assert_string_equal(member(m, "mime_version"), "1.0");
	assert_string_equal(member(m, "reply_to"), "iro.service@council.example");
	assert_string_equal(member(m, "x_digest"), "6");
	assert_true(json_is_null(json_object_get(m, "x_case")));
	l = json_object_get(m, "parts");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "text/plain");
	assert_string_equal(json_string_value(json_array_get(l, 1)), "text/html");
	plain = member(m, "plain");
	html = member(m, "html");
	assert_non_null(strstr(plain, "4 cases need you today: "));
	assert_non_null(strstr(plain, "Escalated past you (1)\n"));
	for (size_t i = 0; i < 5; i++) {
		char *ref = xasprintf("* %s: First Child in Care review\n", dg->items[i]->case_ref);

		assert_non_null(strstr(plain, ref));
		free(ref);
	}
	assert_non_null(strstr(plain, "Done Fri 20 Nov 2026, 15 working days late"));
	assert_non_null(strstr(html, "<h1 "));
	assert_non_null(strstr(html, "Done Fri 20 Nov 2026, 15 working days late"));
	assert_string_equal(member(m, "title"), subject);
	/* Each alert's case, then where to answer it; a closed clock has no answer link. */
	l = json_object_get(m, "links");
	assert_int_equal(json_array_size(l), 9);
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(json_string_value(json_array_get(l, i)),
		                    i == 8       ? links[4]
		                    : i % 2 == 0 ? links[i / 2]
		                                 : links[6 + i / 2]);
	/* The answers so far, as a reader sees them after the transfer's encoding. */
	assert_non_null(strstr(plain, "  Answer this alert: " FIXTURE_LINK "0\n"
	                              "  Answers so far:\n  - Jo Bloggs answered on 3 Dec 2026 "
	                              "(Overdue: team manager): action agreed for Mon 14 Dec "
	                              "2026. Note: Review booked with the IRO\n"));
	assert_non_null(
	    strstr(plain, "disagrees \xe2\x80\x94 " FIXTURE_REASON ". Note: " FIXTURE_NOTE));
	assert_null(strstr(plain, FIXTURE_AMENDED_NOTE));
	assert_non_null(strstr(html, ">Answer this alert</a>"));
	assert_non_null(
	    strstr(html, "disagrees \xe2\x80\x94 " FIXTURE_REASON ". Note: " FIXTURE_NOTE));
	assert_null(strstr(html, FIXTURE_AMENDED_NOTE));
	free(subject);

	m = message_by_uid(all, a.uid);
	assert_string_equal(member(m, "subject"), a.subject);
	assert_string_equal(member(m, "reply_to"), "iro.service@council.example");
	assert_string_equal(member(m, "x_case"), "C1042");
	assert_true(json_is_null(json_object_get(m, "x_digest")));
	plain = member(m, "plain");
	/* The rule's own body as it is, then the links and the answers appended below it. */
	assert_non_null(strstr(plain, "Case C1042: the first review was due on 2026-10-29.\n"
	                              "Call the IRO service.\n\n"
	                              "Open the case: https://cms.council.example/case/C1042\n"
	                              "Answer this alert: " FIXTURE_LINK "S\n"
	                              "Answers so far:\n- Jo Bloggs answered on 3 Dec 2026"));
	assert_non_null(strstr(plain, FIXTURE_NOTE "\nHistory:\n"));
	assert_null(strstr(plain, FIXTURE_AMENDED_NOTE));
	html = member(m, "html");
	assert_non_null(strstr(html, ">C1042</a>: First Child in Care review</h1>"));
	assert_non_null(strstr(html, ">Answers so far</p>"));
	l = json_object_get(m, "links");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), a.case_url);
	assert_string_equal(json_string_value(json_array_get(l, 1)), a.response_link);

	fixture_answers_clear(&a);
	json_decref(all);
	delivery_free(dg);
	free(sc.url);
	free(out);
}

/* A curl result, SMTP code, last command and reply, and the status they should give. */
struct classify_case {
	CURLcode rc;
	long code;
	const char *command, *reply, *errbuf;
	enum delivery_status status;
	const char *detail; /* expected detail, or a substring if it starts with '~' */
};

/* Every SMTP outcome is classified as the brief says. */
static void
test_classify(void **state)
{
	static const struct classify_case cases[] = {
	    {CURLE_OK, 250, "DATA", "250 2.0.0 Ok: queued as 4F2A", "", DELIVERY_SENT,
	     "250 2.0.0 Ok: queued as 4F2A"},
	    {CURLE_SEND_ERROR, 550, "RCPT", "550 5.1.1 <x@y>: Recipient address rejected",
	     "RCPT failed: 550", DELIVERY_FAILED,
	     "RCPT: 550 5.1.1 <x@y>: Recipient address rejected"},
	    {CURLE_SEND_ERROR, 554, "DATA", "554 5.7.1 Message refused", "DATA failed: 554",
	     DELIVERY_FAILED, "DATA: 554 5.7.1 Message refused"},
	    {CURLE_WEIRD_SERVER_REPLY, 552, "DATA", "552 5.3.4 Message too big", "",
	     DELIVERY_FAILED, "DATA: 552 5.3.4 Message too big"},
	    {CURLE_SEND_ERROR, 450, "RCPT", "450 4.2.0 Mailbox busy", "RCPT failed: 450",
	     DELIVERY_RETRY, "RCPT: 450 4.2.0 Mailbox busy"},
	    {CURLE_WEIRD_SERVER_REPLY, 451, "DATA", "451 4.3.0 Try later", "", DELIVERY_RETRY,
	     "DATA: 451 4.3.0 Try later"},
	    {CURLE_SEND_ERROR, 553, "MAIL", "553 5.7.1 Sender not allowed", "MAIL failed: 553",
	     DELIVERY_RETRY, "MAIL: 553 5.7.1 Sender not allowed"},
	    {CURLE_REMOTE_ACCESS_DENIED, 554, "", "554 No SMTP service here", "", DELIVERY_RETRY,
	     "554 No SMTP service here"},
	    {CURLE_LOGIN_DENIED, 535, "AUTH", "535 5.7.8 bad password hunter2", "", DELIVERY_RETRY,
	     "authentication failed (SMTP 535): check username and password_file"},
	    {CURLE_USE_SSL_FAILED, 250, "EHLO", "250 SIZE 1000", "STARTTLS not supported.",
	     DELIVERY_RETRY, "the server does not offer STARTTLS (starttls = required)"},
	    {CURLE_USE_SSL_FAILED, 454, "STARTTLS", "454 4.7.0 TLS not available", "",
	     DELIVERY_RETRY,
	     "the server refused STARTTLS (starttls = required): 454 4.7.0 TLS not available"},
	    {CURLE_PEER_FAILED_VERIFICATION, 220, "STARTTLS", "220 Ready",
	     "SSL certificate problem: self-signed certificate", DELIVERY_RETRY,
	     "SSL certificate problem: self-signed certificate"},
	    {CURLE_COULDNT_CONNECT, 0, "", "",
	     "Failed to connect to 127.0.0.1 port 1: Connection refused", DELIVERY_RETRY,
	     "Failed to connect to 127.0.0.1 port 1: Connection refused"},
	    {CURLE_OPERATION_TIMEDOUT, 250, "MAIL", "250 ok", "", DELIVERY_RETRY,
	     "Timeout was reached"},
	    {CURLE_GOT_NOTHING, 0, "", "", "line one\r\nline two", DELIVERY_RETRY,
	     "line one line two"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct classify_case *c = &cases[i];
		struct delivery_result r;
		char *detail = email_classify(c->rc, c->code, c->command, c->reply, c->errbuf, &r);

		assert_ptr_equal(detail, r.detail);
		assert_int_equal(r.status, c->status);
		assert_int_equal(r.code, c->code);
		assert_int_equal(r.retry_after, 0);
		assert_string_equal(r.detail, c->detail);
		assert_null(strchr(r.detail, '\n'));
		assert_null(strstr(r.detail, "hunter2"));
		free(detail);
	}
}

/* A multi-line reply with CR/LF stays one line in the detail. */
static void
test_classify_one_line(void **state)
{
	struct delivery_result r;
	char *detail;

	detail = email_classify(CURLE_SEND_ERROR, 550, "RCPT", "550 no\r\nBcc: x\x1b", "", &r);
	assert_string_equal(detail, "RCPT: 550 no Bcc: x");
	free(detail);
}

/* A reply of three or more lines is kept whole: continuation codes dropped, lines joined. */
static void
test_reply_multiline(void **state)
{
	static const char *const lines[] = {
	    "550-5.1.1 The email account that you tried to reach does not exist.\r\n",
	    "550-5.1.1 Please try double-checking the address.\r\n",
	    "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser\r\n",
	    "250-mail.example\r\n",
	    "250 SIZE 1000\r\n",
	};
	struct email_state st;

	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(email_header_cb((char *)lines[i], 1, strlen(lines[i]), &st),
		                 strlen(lines[i]));
	assert_string_equal(st.reply,
	                    "550-5.1.1 The email account that you tried to reach does not exist. "
	                    "5.1.1 Please try double-checking the address. "
	                    "5.1.1 https://support.google.com/mail/?p=NoSuchUser");
	assert_int_equal(st.reply_done, 1);
	/* The next line starts a new reply. */
	email_header_cb((char *)lines[3], 1, strlen(lines[3]), &st);
	email_header_cb((char *)lines[4], 1, strlen(lines[4]), &st);
	assert_string_equal(st.reply, "250-mail.example SIZE 1000");
}

/* Only known SMTP verbs are recognised; credential lines are not. */
static void
test_command(void **state)
{
	static const char *login = "YWxlcnRz\r\n"; /* base64 "alerts" after AUTH LOGIN */

	assert_string_equal(email_command("RCPT TO:<a@b>\r\n", 15), "RCPT");
	assert_string_equal(email_command("DATA\r\n", 6), "DATA");
	assert_string_equal(email_command("MAIL FROM:<a@b>\r\n", 17), "MAIL");
	assert_string_equal(email_command("STARTTLS\r\n", 10), "STARTTLS");
	assert_string_equal(email_command("AUTH PLAIN AGFsZXJ0cwBzM2NyZXQ=\r\n", 33), "AUTH");
	assert_string_equal(email_command("QUIT", 4), "QUIT");
	assert_null(email_command(login, strlen(login)));
	assert_null(email_command("czNjcmV0\r\n", 10));
	assert_null(email_command("DATAX\r\n", 7));
	assert_null(email_command("", 0));
}

/* Set up a transfer for smtp and d, recording the options set; the caller frees it. */
static struct transfer *
setup_with(const struct smtp_settings *smtp, const char *ca_file)
{
	struct notifier_settings s = {
	    .smtp = smtp, .ca_file = ca_file, .connect_timeout = 7, .delivery_timeout = 33};
	struct delivery d = sample_delivery();
	struct transfer *t = transfer_new();
	char *cause = NULL;

	curlrec_clear();
	assert_non_null(email_setup(t, &s, &d, 0, &cause));
	assert_null(cause);
	return t;
}

/* The easy handle options: TLS verified, protocols limited, no HTTPAUTH, envelope, MIME. */
static void
test_setup_options(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct transfer *t;

	smtp.username = "alerts";
	smtp.password = "s3cret";
	t = setup_with(&smtp, "/etc/escalator/ca.pem");
	assert_string_equal(curlrec_find(CURLOPT_URL)->str, smtp.url);
	assert_string_equal(curlrec_find(CURLOPT_PROTOCOLS_STR)->str, "smtp,smtps");
	assert_string_equal(curlrec_find(CURLOPT_MAIL_FROM)->str, "<alerts@council.example>");
	assert_string_equal(((const struct curl_slist *)curlrec_find(CURLOPT_MAIL_RCPT)->ptr)->data,
	                    "<tm.north@council.example>");
	assert_null(((const struct curl_slist *)curlrec_find(CURLOPT_MAIL_RCPT)->ptr)->next);
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_ALL);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYPEER)->num, 1);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYHOST)->num, 2);
	assert_string_equal(curlrec_find(CURLOPT_CAINFO)->str, "/etc/escalator/ca.pem");
	assert_string_equal(curlrec_find(CURLOPT_USERNAME)->str, "alerts");
	assert_string_equal(curlrec_find(CURLOPT_PASSWORD)->str, "s3cret");
	assert_int_equal(curlrec_find(CURLOPT_CONNECTTIMEOUT)->num, 7);
	assert_int_equal(curlrec_find(CURLOPT_TIMEOUT)->num, 33);
	assert_int_equal(curlrec_find(CURLOPT_SERVER_RESPONSE_TIMEOUT)->num, 33);
	assert_non_null(curlrec_find(CURLOPT_MIMEPOST));
	assert_non_null(curlrec_find(CURLOPT_HTTPHEADER));
	assert_null(curlrec_find(CURLOPT_HTTPAUTH));
	assert_null(curlrec_find(CURLOPT_SSL_VERIFYSTATUS));
	transfer_free(t);
	curlrec_clear();
}

/* CURLOPT_USE_SSL for each url / starttls / auth combination. */
static void
test_setup_use_ssl(void **state)
{
	struct smtp_settings smtp = sample_smtp();

	smtp.starttls = STARTTLS_OPPORTUNISTIC;
	transfer_free(setup_with(&smtp, NULL));
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_TRY);
	assert_null(curlrec_find(CURLOPT_USERNAME));
	assert_null(curlrec_find(CURLOPT_CAINFO));

	smtp.url = "smtps://mail.council.example";
	transfer_free(setup_with(&smtp, NULL));
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_ALL);

	/* A password never goes out without TLS unless the config says so. */
	smtp.url = "smtp://mail.council.example";
	smtp.username = "alerts";
	smtp.password = "pw";
	transfer_free(setup_with(&smtp, NULL));
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_ALL);
	smtp.allow_plaintext_auth = true;
	transfer_free(setup_with(&smtp, NULL));
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_TRY);
	assert_null(curlrec_find(CURLOPT_HTTPAUTH));
	curlrec_clear();
}

/*
 * Exchange Online: XOAUTH2 chosen with the login options, the mailbox as the
 * SASL user, the token set afterwards, TLS always, and never CURLOPT_HTTPAUTH
 * (curl 7.88 would then send OAUTHBEARER: curl issue 10259).
 */
static void
test_setup_xoauth2(void **state)
{
	struct smtp_settings smtp = sample_smtp();
	struct notifier_settings s = {.smtp = &smtp, .connect_timeout = 7, .delivery_timeout = 33};
	struct delivery d = sample_delivery();
	struct email_state *st;
	struct transfer *t;
	struct delivery_result r;
	char *detail, *cause = NULL;

	smtp.auth = SMTP_AUTH_XOAUTH2;
	smtp.starttls = STARTTLS_OPPORTUNISTIC;
	smtp.username = "escalator@council.example";
	curlrec_clear();
	t = transfer_new();
	st = email_setup(t, &s, &d, 0, &cause);
	assert_non_null(st);
	assert_string_equal(curlrec_find(CURLOPT_USERNAME)->str, "escalator@council.example");
	assert_string_equal(curlrec_find(CURLOPT_LOGIN_OPTIONS)->str, "AUTH=XOAUTH2");
	assert_null(curlrec_find(CURLOPT_PASSWORD));
	assert_null(curlrec_find(CURLOPT_HTTPAUTH));
	assert_null(curlrec_find(CURLOPT_XOAUTH2_BEARER));
	/* A bearer token is a credential: no plain-text fall-back even when opportunistic. */
	assert_int_equal(curlrec_find(CURLOPT_USE_SSL)->num, CURLUSESSL_ALL);
	assert_int_equal(email_set_bearer(t, "eyJ0eXAi.token"), 0);
	assert_string_equal(curlrec_find(CURLOPT_XOAUTH2_BEARER)->str, "eyJ0eXAi.token");
	assert_null(curlrec_find(CURLOPT_HTTPAUTH));

	/* A refused token is a temporary failure with advice, never the server's reply. */
	detail = email_finish(t, st, CURLE_LOGIN_DENIED, &r);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_non_null(strstr(r.detail, "refused the OAuth token"));
	assert_true(email_token_refused(st, CURLE_LOGIN_DENIED));
	assert_false(email_token_refused(st, CURLE_COULDNT_CONNECT));
	free(detail);
	transfer_free(t);

	/* Without a username the mailbox is the From address. */
	smtp.username = NULL;
	transfer_free(setup_with(&smtp, NULL));
	assert_string_equal(curlrec_find(CURLOPT_USERNAME)->str, "alerts@council.example");
	curlrec_clear();
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers_no_injection),
	    cmocka_unit_test(test_headers_other_controls),
	    cmocka_unit_test(test_case_non_ascii),
	    cmocka_unit_test(test_headers_complete),
	    cmocka_unit_test(test_headers_missing_values),
	    cmocka_unit_test(test_header_plain),
	    cmocka_unit_test(test_header_encoded_folded),
	    cmocka_unit_test(test_header_long_ascii),
	    cmocka_unit_test(test_header_lookalike),
	    cmocka_unit_test(test_header_cap_and_invalid),
	    cmocka_unit_test(test_from_header),
	    cmocka_unit_test(test_message_id),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_one_line),
	    cmocka_unit_test(test_reply_multiline),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_setup_options),
	    cmocka_unit_test(test_setup_use_ssl),
	    cmocka_unit_test(test_setup_xoauth2),
	    cmocka_unit_test(test_headers_reply_to),
	    cmocka_unit_test(test_headers_digest),
	    cmocka_unit_test_setup_teardown(test_send_to_sink, fixture_setup, fixture_teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	setenv("TZ", "UTC", 1);
	tzset();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
