/*
 * fuzz_email_headers.c - the pure helpers of notifiers/email.c and
 * transport_clean_text fed hostile values (as if from the case store).
 *
 * Input: case_ref, subject, rule, stage, uid, title, recipient, from_name,
 * from, body, SMTP reply, SMTP command, reply_to, separated by NUL bytes. A
 * part that is exactly "\x7f" (or missing) is NULL. A hash of the input makes
 * it a single alert or a digest of one item holding the same values.
 *
 * Checked: no CR or LF inside any header except CRLF + space folding; headers
 * are 7-bit ASCII with no other control characters; the encoded-words decode
 * back to exactly the cleaned value; lines of the unstructured headers are at
 * most 78 characters; the Message-ID is atext and decodes back to the uid;
 * the body is valid UTF-8 with CRLF line ends; classify details are one
 * clean line. The headers come in their order, Reply-To only when configured,
 * a digest's with its subject and X-Escalator-Digest instead of the case's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "email.h"
#include "fuzz_common.h"
#include "transport.h"
#include "utf8.h"

enum {
	P_CASE,
	P_SUBJECT,
	P_RULE,
	P_STAGE,
	P_UID,
	P_TITLE,
	P_RECIPIENT,
	P_FROM_NAME,
	P_FROM,
	P_BODY,
	P_REPLY,
	P_COMMAND,
	P_REPLY_TO,
	NPARTS
};

/* Longest line RFC 5322 allows at all. */
#define HARD_LINE_MAX 998

/* The value of a base64 digit, or -1. */
static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode n base64 characters (padded) into out; returns the length, or -1. */
static long
b64_decode(const char *s, size_t n, char *out)
{
	long o = 0;

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = b64_value(s[i + k])) < 0) {
				return -1;
			}
		}
		out[o++] = (char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	return o;
}

/* One header as built: only CRLF + WSP folding, ASCII, no controls, bounded lines. */
static void
check_header_syntax(const char *h, size_t line_max)
{
	size_t col = 0;

	for (size_t i = 0; h[i] != '\0'; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '\r') {
			FUZZ_CHECK(h[i + 1] == '\n', "bare CR at byte %zu of header: %s", i, h);
			FUZZ_CHECK(
			    h[i + 2] == ' ' || h[i + 2] == '\t',
			    "CRLF not followed by a space at byte %zu (header injection): %s", i,
			    h);
			/* A continuation line must hold something besides white space. */
			FUZZ_CHECK(strspn(h + i + 2, " \t") < strcspn(h + i + 2, "\r"),
			           "empty continuation line at byte %zu: %s", i, h);
			i++;
			col = 0;
			continue;
		}
		FUZZ_CHECK(c != '\n', "bare LF at byte %zu of header: %s", i, h);
		FUZZ_CHECK(c >= 0x20 && c < 0x7f, "byte 0x%02x at %zu of header: %s", c, i, h);
		col++;
		FUZZ_CHECK(col <= line_max, "line longer than %zu in header: %s", line_max, h);
	}
	FUZZ_CHECK(*h != '\0' && h[strlen(h) - 1] != '\n' && h[strlen(h) - 1] != '\r',
	           "header ends with a line break");
}

/* "Name: value" (or encoded-words) decodes to exactly want. */
static void
check_unstructured(const char *h, const char *name, const char *want)
{
	size_t nlen = strlen(name), wlen = strlen(want);
	const char *p;
	char *got;
	size_t glen = 0;

	FUZZ_CHECK(strncmp(h, name, nlen) == 0 && h[nlen] == ':', "expected %s: got %s", name, h);
	check_header_syntax(h, EMAIL_LINE_MAX);
	p = h + nlen + 1;
	if (strncmp(p, " =?UTF-8?B?", 11) != 0) {
		FUZZ_CHECK(p[0] == ' ' && strcmp(p + 1, want) == 0,
		           "%s: plain value %s, expected %s", name, p, want);
		return;
	}
	got = malloc(strlen(h) + 1);
	if (got == NULL)
		abort();
	while (*p != '\0') {
		const char *b, *e;
		long n;

		if (strncmp(p, "\r\n", 2) == 0)
			p += 2;
		FUZZ_CHECK(strncmp(p, " =?UTF-8?B?", 11) == 0, "%s: not an encoded-word at %s",
		           name, p);
		b = p + 11;
		e = strstr(b, "?=");
		FUZZ_CHECK(e != NULL, "%s: unterminated encoded-word", name);
		FUZZ_CHECK((e + 2) - (p + 1) <= 75, "%s: encoded-word of %ld characters", name,
		           (long)((e + 2) - (p + 1)));
		n = b64_decode(b, (size_t)(e - b), got + glen);
		FUZZ_CHECK(n > 0, "%s: bad base64 in %.*s", name, (int)(e - b), b);
		/* Each word holds whole characters (RFC 2047 section 5). */
		FUZZ_CHECK(fuzz_valid_utf8_n(got + glen, (size_t)n), "%s: word splits a character",
		           name);
		glen += (size_t)n;
		p = e + 2;
		FUZZ_CHECK(*p == '\0' || strncmp(p, "\r\n ", 3) == 0, "%s: junk after a word: %s",
		           name, p);
	}
	FUZZ_CHECK(glen == wlen && memcmp(got, want, wlen) == 0,
	           "%s decodes to %zu bytes that differ from the %zu cleaned bytes", name, glen,
	           wlen);
	free(got);
}

/* s is one bounded, clean, valid line: what transport_clean_text promises. */
static void
check_line(const char *c, size_t max, int ascii_only)
{
	size_t n = strlen(c);

	FUZZ_CHECK(n <= max, "clean text of %zu bytes, max %zu", n, max);
	FUZZ_CHECK(fuzz_valid_utf8(c), "clean text is not valid UTF-8");
	FUZZ_CHECK(n == 0 || (c[0] != ' ' && c[n - 1] != ' '), "clean text has outer spaces");
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)c[i];

		FUZZ_CHECK(b >= 0x20 && b != 0x7f, "control 0x%02x in clean text", b);
		FUZZ_CHECK(!(b == 0xc2 && (unsigned char)c[i + 1] >= 0x80 &&
		             (unsigned char)c[i + 1] <= 0x9f),
		           "C1 control in clean text");
		FUZZ_CHECK(!ascii_only || b < 0x80, "byte 0x%02x in ASCII-only clean text", b);
	}
}

/* transport_clean_text(s, max, ascii_only), checked. */
static char *
check_clean(const char *s, size_t max, int ascii_only)
{
	char *c = transport_clean_text(s, max, ascii_only);

	check_line(c, max, ascii_only);
	return c;
}

/* email_message_id: "<atext%XX@domain>", decoding back to the uid when not cut. */
static void
check_message_id(const char *uid, const char *from)
{
	char *id = email_message_id(uid, from), *at;
	size_t n = strlen(id), enc = 0;

	FUZZ_CHECK(n >= 3 && id[0] == '<' && id[n - 1] == '>', "Message-ID %s", id);
	at = strrchr(id, '@');
	FUZZ_CHECK(at != NULL && strchr(id, '@') == at, "Message-ID %s has no single @", id);
	for (const char *p = id + 1; p < id + n - 1; p++)
		FUZZ_CHECK(strchr("<>\"\\()[],;: \t\r\n", *p) == NULL && (unsigned char)*p > 0x20 &&
		               (unsigned char)*p < 0x7f,
		           "Message-ID %s has 0x%02x", id, (unsigned char)*p);
	for (const char *p = uid ? uid : ""; *p != '\0'; p++)
		enc += strchr("!#$&'*+-/=?^_`{|}~", *p) != NULL || (*p >= 'a' && *p <= 'z') ||
		               (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
		           ? 1
		           : 3;
	if (uid != NULL && *uid != '\0' && enc <= EMAIL_HEADER_MAX) {
		char *dec = malloc(n + 1);
		size_t o = 0;

		if (dec == NULL)
			abort();
		for (const char *p = id + 1; p < at; p++) {
			unsigned v;

			if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
				dec[o++] = (char)v;
				p += 2;
			} else {
				dec[o++] = *p;
			}
		}
		dec[o] = '\0';
		FUZZ_CHECK(strcmp(dec, uid) == 0, "Message-ID %s does not decode to the uid", id);
		free(dec);
	}
	free(id);
}

/* email_build_body: valid UTF-8, CRLF line ends only, a final CRLF, same text. */
static void
check_body(const char *body)
{
	char *b = email_build_body(body), *valid = utf8_sanitize(body ? body : "");
	size_t n = strlen(b), o = 0;
	char *lf = malloc(strlen(valid) + 2);

	if (lf == NULL)
		abort();
	FUZZ_CHECK(fuzz_valid_utf8(b), "body is not valid UTF-8");
	FUZZ_CHECK(n >= 2 && strcmp(b + n - 2, "\r\n") == 0, "body does not end with CRLF");
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\r')
			FUZZ_CHECK(b[i + 1] == '\n', "bare CR in body at %zu", i);
		if (b[i] == '\n')
			FUZZ_CHECK(i > 0 && b[i - 1] == '\r', "bare LF in body at %zu", i);
	}
	/* The text with every CRLF, CR or LF made LF is the same on both sides. */
	for (const char *p = valid; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		lf[o++] = *p == '\r' ? '\n' : *p;
	}
	if (o == 0 || lf[o - 1] != '\n')
		lf[o++] = '\n';
	lf[o] = '\0';
	o = 0;
	for (size_t i = 0; i < n; i++)
		if (b[i] != '\r')
			b[o++] = b[i];
	b[o] = '\0';
	FUZZ_CHECK(strcmp(b, lf) == 0, "body text changed");
	free(lf);
	free(valid);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS];
	const char *v[NPARTS];
	size_t nparts;
	char *buf = fuzz_split(data, size, parts, NPARTS, &nparts);
	struct smtp_settings smtp;
	struct delivery d, dg, *items[1];
	struct curl_slist *headers, *h;
	int digest;
	struct delivery_result r;
	char *c, *detail;
	uint64_t rng = fuzz_hash(data, size);
	const char *subject;

	for (size_t i = 0; i < NPARTS; i++)
		v[i] = parts[i] != NULL && strcmp(parts[i], "\x7f") != 0 ? parts[i] : NULL;

	memset(&smtp, 0, sizeof smtp);
	smtp.url = "smtp://mail.council.example:587";
	smtp.from = (char *)(v[P_FROM] ? v[P_FROM] : "escalator@council.example");
	smtp.from_name = (char *)v[P_FROM_NAME];
	smtp.reply_to = (char *)v[P_REPLY_TO];
	memset(&d, 0, sizeof d);
	d.id = 42;
	d.uid = (char *)v[P_UID];
	d.kind = CHANNEL_EMAIL;
	d.recipient = (char *)(v[P_RECIPIENT] ? v[P_RECIPIENT] : "tm.north@council.example");
	d.rule = (char *)v[P_RULE];
	d.title = (char *)v[P_TITLE];
	d.case_ref = (char *)v[P_CASE];
	d.stage = (char *)v[P_STAGE];
	d.start = (char *)"2026-05-04";
	d.due = (char *)"2026-11-04";
	d.fires = (char *)"2026-11-05T08:00:00";
	d.subject = (char *)v[P_SUBJECT];
	d.body = (char *)v[P_BODY];

	/* Half the time a digest of one item: the same values, one level down. */
	digest = (int)(fuzz_next(&rng) & 1);
	memset(&dg, 0, sizeof dg);
	dg.id = 43;
	dg.uid = d.uid;
	dg.kind = CHANNEL_EMAIL;
	dg.recipient = d.recipient;
	dg.digest = true;
	dg.part = dg.parts = 1;
	items[0] = &d;
	dg.items = items;
	dg.nitems = 1;

	headers = email_build_headers(&smtp, digest ? &dg : &d, (time_t)1793779200);
	subject = d.subject ? d.subject : d.title ? d.title : "escalator alert";
	h = headers;
	FUZZ_CHECK(h != NULL && strncmp(h->data, "From: ", 6) == 0, "first header");
	for (; h != NULL; h = h->next)
		check_header_syntax(h->data, HARD_LINE_MAX);
	h = headers->next;
	if (smtp.reply_to != NULL) {
		c = check_clean(smtp.reply_to, 254, 1);
		if (*c != '\0') {
			FUZZ_CHECK(h != NULL && strncmp(h->data, "Reply-To: ", 10) == 0 &&
			               strcmp(h->data + 10, c) == 0,
			           "Reply-To: %s, expected %s", h ? h->data : "-", c);
			h = h->next;
		}
		free(c);
	}
	FUZZ_CHECK(h != NULL && strncmp(h->data, "To: ", 4) == 0, "To: %s", h ? h->data : "-");
	h = h->next;
	if (digest) {
		char *ds = digest_subject(&dg);

		c = check_clean(ds, EMAIL_HEADER_MAX, 0);
		free(ds);
	} else {
		c = check_clean(subject, EMAIL_HEADER_MAX, 0);
	}
	check_unstructured(h->data, "Subject", c);
	free(c);
	h = h->next;
	FUZZ_CHECK(strncmp(h->data, "Date: ", 6) == 0, "Date: %s", h->data);
	h = h->next;
	FUZZ_CHECK(strncmp(h->data, "Message-ID: <", 13) == 0, "Message-ID: %s", h->data);
	h = h->next;
	FUZZ_CHECK(strcmp(h->data, "MIME-Version: 1.0") == 0, "%s", h->data);
	h = h->next;
	FUZZ_CHECK(strcmp(h->data, "Content-Type: multipart/alternative") == 0, "%s", h->data);
	h = h->next;
	FUZZ_CHECK(strcmp(h->data, "Auto-Submitted: auto-generated") == 0, "%s", h->data);
	h = h->next;
	if (digest) {
		FUZZ_CHECK(h != NULL && strcmp(h->data, "X-Escalator-Digest: 1") == 0, "%s",
		           h ? h->data : "X-Escalator-Digest is missing");
		h = h->next;
		if (d.uid != NULL) {
			c = check_clean(d.uid, EMAIL_HEADER_MAX, 1);
			FUZZ_CHECK(h != NULL, "X-Escalator-Delivery is missing");
			check_unstructured(h->data, "X-Escalator-Delivery", c);
			free(c);
			h = h->next;
		}
	} else {
		static const char *const names[] = {"X-Escalator-Rule", "X-Escalator-Case",
		                                    "X-Escalator-Stage", "X-Escalator-Delivery"};
		const char *vals[] = {d.rule, d.case_ref, d.stage, d.uid};
		const int ascii[] = {0, 1, 0, 1};

		for (size_t i = 0; i < 4; i++) {
			if (vals[i] == NULL)
				continue;
			FUZZ_CHECK(h != NULL, "%s is missing", names[i]);
			c = check_clean(vals[i], EMAIL_HEADER_MAX, ascii[i]);
			check_unstructured(h->data, names[i], c);
			free(c);
			h = h->next;
		}
	}
	FUZZ_CHECK(h == NULL, "unexpected header %s", h->data);
	curl_slist_free_all(headers);

	check_message_id(d.uid, smtp.from);
	check_body(d.body);
	for (size_t i = 0; i < nparts; i++) {
		size_t max = (size_t)(fuzz_next(&rng) % 260);

		free(check_clean(parts[i], max, (int)(fuzz_next(&rng) & 1)));
	}

	/* A finished transfer with a hostile reply: one clean line, never a bad status. */
	{
		static const CURLcode rcs[] = {CURLE_OK, CURLE_LOGIN_DENIED, CURLE_USE_SSL_FAILED,
		                               CURLE_SEND_ERROR, CURLE_COULDNT_CONNECT};
		static const long codes[] = {0, 250, 421, 450, 550, 554, 535, 999, -1};
		CURLcode rc = rcs[fuzz_next(&rng) % (sizeof rcs / sizeof rcs[0])];
		long code = codes[fuzz_next(&rng) % (sizeof codes / sizeof codes[0])];

		detail = email_classify(rc, code, v[P_COMMAND], v[P_REPLY], v[P_BODY], &r);
		FUZZ_CHECK(detail == r.detail, "detail pointer");
		check_line(detail, 300, 0);
		FUZZ_CHECK(r.status == DELIVERY_SENT || r.status == DELIVERY_RETRY ||
		               r.status == DELIVERY_FAILED,
		           "status %d", (int)r.status);
		FUZZ_CHECK((rc == CURLE_OK) == (r.status == DELIVERY_SENT), "status %d for rc %d",
		           (int)r.status, (int)rc);
		free(detail);
	}
	free(buf);
	return 0;
}
